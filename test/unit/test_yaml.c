/*
 * test_yaml.c - YAML trees read and written through libyaml: positions in
 * errors, aliases and merge keys, yaml.v2's reading of plain scalars and its
 * emitter bytes (contract §5.1, §5.2).
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/strbuf.h"
#include "cfbp/yaml.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- helpers --- */

static void load_ok(struct cfbp_yaml_document *doc, const char *text)
{
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_yaml_load_string(doc, "m.yml", text, strlen(text), &err) != 0)
        fail_msg("loading failed: %s\n--- text ---\n%s", err.message, text);
    assert_null(err.message);
}

static void check_load_error(const char *text, const char *expected)
{
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_yaml_load_string(&doc, "m.yml", text, strlen(text), &err) != -1)
        fail_msg("was accepted:\n%s", text);
    assert_null(doc.root);
    assert_int_equal(err.kind, CFBP_ERROR_INVALID);
    if (strcmp(err.message, expected) != 0)
        fail_msg("error \"%s\", expected \"%s\"", err.message, expected);
    cfbp_error_clear(&err);
    cfbp_yaml_document_release(&doc);
}

static void check_emit(const struct cfbp_yaml_node *root, unsigned flags, const char *expected)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_yaml_emit(&out, root, flags, &err) != 0)
        fail_msg("emit failed: %s", err.message);
    if (strcmp(out.buf, expected) != 0)
        fail_msg("emitted:\n%s--- expected:\n%s---", out.buf, expected);
    cfbp_strbuf_release(&out);
}

/* Emits {key: <string value>} and compares with expected. */
static void check_emit_string(const char *value, const char *expected)
{
    struct cfbp_yaml_node *root = cfbp_yaml_new_mapping();
    cfbp_yaml_set(root, "key", cfbp_yaml_new_string(value));
    check_emit(root, 0, expected);
    cfbp_yaml_free(root);
}

/* Loads text, emits it (sorted) and compares with expected. */
static void check_round_trip(const char *text, const char *expected)
{
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    load_ok(&doc, text);
    check_emit(doc.root, CFBP_YAML_EMIT_SORT_KEYS, expected);
    cfbp_yaml_document_release(&doc);
}

static enum cfbp_yaml_meaning meaning_of_plain(const char *text)
{
    struct cfbp_yaml_node *node = cfbp_yaml_new_plain(text);
    enum cfbp_yaml_meaning meaning = cfbp_yaml_meaning_of(node);
    cfbp_yaml_free(node);
    return meaning;
}

static const char *meaning_name(enum cfbp_yaml_meaning meaning)
{
    switch (meaning) {
    case CFBP_YAML_STRING:
        return "string";
    case CFBP_YAML_NULL:
        return "null";
    case CFBP_YAML_BOOL:
        return "bool";
    case CFBP_YAML_INT:
        return "int";
    case CFBP_YAML_FLOAT:
        return "float";
    case CFBP_YAML_TIMESTAMP:
        return "timestamp";
    case CFBP_YAML_MERGE:
        return "merge";
    }
    return "?";
}

static void check_meanings(const char *const *texts, enum cfbp_yaml_meaning expected)
{
    for (; *texts; texts++) {
        enum cfbp_yaml_meaning meaning = meaning_of_plain(*texts);
        if (meaning != expected)
            fail_msg("plain '%s' means %s, expected %s", *texts, meaning_name(meaning),
                     meaning_name(expected));
    }
}

/* --- loading --- */

static void loads_a_tree_with_positions(void **state)
{
    (void)state;
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    load_ok(&doc, "---\n"
                  "name: app\n"
                  "list:\n"
                  "- a\n"
                  "- 'b'\n"
                  "- \"c\"\n"
                  "nested:\n"
                  "  key: value\n"
                  "flow: {x: [1, 2]}\n");
    assert_string_equal(doc.name, "m.yml");
    struct cfbp_yaml_node *root = doc.root;
    assert_int_equal(root->type, CFBP_YAML_MAPPING);
    assert_int_equal(root->count, 4);
    assert_int_equal(root->line, 2);
    assert_int_equal(root->column, 1);
    assert_string_equal(root->keys[0]->value, "name");
    assert_string_equal(root->keys[3]->value, "flow");

    struct cfbp_yaml_node *name = cfbp_yaml_get(root, "name");
    assert_string_equal(name->value, "app");
    assert_int_equal(name->value_length, 3);
    assert_false(name->quoted);
    assert_int_equal(name->line, 2);
    assert_int_equal(name->column, 7);

    struct cfbp_yaml_node *list = cfbp_yaml_get(root, "list");
    assert_int_equal(list->type, CFBP_YAML_SEQUENCE);
    assert_int_equal(list->count, 3);
    assert_int_equal(list->line, 4);
    assert_int_equal(list->column, 1);
    assert_false(list->items[0]->quoted);
    assert_true(list->items[1]->quoted);
    assert_true(list->items[2]->quoted);
    assert_string_equal(list->items[1]->value, "b");
    assert_int_equal(list->items[2]->line, 6);
    assert_int_equal(list->items[2]->column, 3);

    struct cfbp_yaml_node *nested = cfbp_yaml_get(root, "nested");
    assert_int_equal(nested->type, CFBP_YAML_MAPPING);
    assert_int_equal(nested->line, 8);
    assert_int_equal(nested->column, 3);
    assert_string_equal(cfbp_yaml_get(nested, "key")->value, "value");

    struct cfbp_yaml_node *x = cfbp_yaml_get(cfbp_yaml_get(root, "flow"), "x");
    assert_int_equal(x->type, CFBP_YAML_SEQUENCE);
    assert_string_equal(x->items[1]->value, "2");
    assert_int_equal(x->items[1]->line, 9);
    assert_int_equal(x->items[1]->column, 15);

    assert_null(cfbp_yaml_get(root, "missing"));
    assert_null(cfbp_yaml_get(list, "a")); /* not a mapping */
    assert_null(cfbp_yaml_get(NULL, "a"));
    cfbp_yaml_document_release(&doc);
    assert_null(doc.root);
    assert_null(doc.name);
}

static void keeps_raw_scalar_text(void **state)
{
    (void)state;
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    load_ok(&doc, "plain: 1.10\n"
                  "quoted: '1.10'\n"
                  "octal: 0012\n"
                  "tagged: !!str 80\n"
                  "long_tag: !<tag:yaml.org,2002:str> 81\n"
                  "block: |\n"
                  "  two\n"
                  "  lines\n"
                  "folded: >-\n"
                  "  a\n"
                  "  b\n"
                  "escaped: \"a\\0b\\t\\u00e9\"\n"
                  "empty:\n"
                  "tilde: ~\n"
                  "spaces: '  x  '\n");
    struct cfbp_yaml_node *root = doc.root;
    struct cfbp_yaml_node *plain = cfbp_yaml_get(root, "plain");
    assert_string_equal(plain->value, "1.10");
    assert_false(plain->quoted);
    assert_int_equal(cfbp_yaml_meaning_of(plain), CFBP_YAML_FLOAT);
    struct cfbp_yaml_node *quoted = cfbp_yaml_get(root, "quoted");
    assert_string_equal(quoted->value, "1.10");
    assert_true(quoted->quoted);
    assert_int_equal(cfbp_yaml_meaning_of(quoted), CFBP_YAML_STRING);
    assert_string_equal(cfbp_yaml_get(root, "octal")->value, "0012");
    assert_int_equal(cfbp_yaml_meaning_of(cfbp_yaml_get(root, "octal")), CFBP_YAML_INT);
    struct cfbp_yaml_node *tagged = cfbp_yaml_get(root, "tagged");
    assert_string_equal(tagged->value, "80");
    assert_true(tagged->quoted);
    assert_int_equal(cfbp_yaml_meaning_of(tagged), CFBP_YAML_STRING);
    assert_true(cfbp_yaml_get(root, "long_tag")->quoted);
    struct cfbp_yaml_node *block = cfbp_yaml_get(root, "block");
    assert_string_equal(block->value, "two\nlines\n");
    assert_true(block->quoted);
    assert_string_equal(cfbp_yaml_get(root, "folded")->value, "a b");
    struct cfbp_yaml_node *escaped = cfbp_yaml_get(root, "escaped");
    assert_int_equal(escaped->value_length, 6);
    assert_memory_equal(escaped->value, "a\0b\t\xc3\xa9", 7);
    struct cfbp_yaml_node *empty = cfbp_yaml_get(root, "empty");
    assert_non_null(empty);
    assert_string_equal(empty->value, "");
    assert_true(cfbp_yaml_is_null(empty));
    assert_true(cfbp_yaml_is_null(cfbp_yaml_get(root, "tilde")));
    assert_string_equal(cfbp_yaml_get(root, "spaces")->value, "  x  ");
    cfbp_yaml_document_release(&doc);
}

static void an_empty_document_has_no_root(void **state)
{
    (void)state;
    const char *texts[] = {"", "# just a comment\n", "\n\n"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
        struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
        load_ok(&doc, texts[i]);
        assert_null(doc.root);
        assert_string_equal(doc.name, "m.yml");
        cfbp_yaml_document_release(&doc);
    }
}

static void resolves_aliases_as_copies(void **state)
{
    (void)state;
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    load_ok(&doc, "a: &list [1.10, {k: v}]\n"
                  "b: *list\n"
                  "s: &s '0012'\n"
                  "t: *s\n"
                  "r: &r first\n"
                  "r2: &r second\n"
                  "u: *r\n");
    struct cfbp_yaml_node *a = cfbp_yaml_get(doc.root, "a");
    struct cfbp_yaml_node *b = cfbp_yaml_get(doc.root, "b");
    assert_int_equal(b->type, CFBP_YAML_SEQUENCE);
    assert_ptr_not_equal(a, b);
    assert_int_equal(b->count, 2);
    assert_string_equal(b->items[0]->value, "1.10");
    assert_false(b->items[0]->quoted);
    assert_ptr_not_equal(a->items[1], b->items[1]);
    assert_string_equal(cfbp_yaml_get(b->items[1], "k")->value, "v");
    assert_int_equal(b->line, 2); /* the alias's own position */
    assert_int_equal(b->column, 4);
    struct cfbp_yaml_node *t = cfbp_yaml_get(doc.root, "t");
    assert_string_equal(t->value, "0012");
    assert_true(t->quoted);
    assert_string_equal(cfbp_yaml_get(doc.root, "u")->value, "second"); /* the latest anchor */
    cfbp_yaml_document_release(&doc);
}

static void applies_merge_keys(void **state)
{
    (void)state;
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    load_ok(&doc, "base: &base\n"
                  "  a: 1\n"
                  "  b: 2\n"
                  "other: &other\n"
                  "  b: 20\n"
                  "  z: 26\n"
                  "derived:\n"
                  "  <<: *base\n"
                  "  b: 3\n"
                  "  c: 4\n"
                  "both:\n"
                  "  <<: [*other, *base]\n"
                  "quoted:\n"
                  "  \"<<\": kept\n");
    struct cfbp_yaml_node *derived = cfbp_yaml_get(doc.root, "derived");
    assert_int_equal(derived->count, 3);
    assert_null(cfbp_yaml_get(derived, "<<"));
    assert_string_equal(cfbp_yaml_get(derived, "a")->value, "1");
    assert_string_equal(cfbp_yaml_get(derived, "b")->value, "3"); /* explicit keys win */
    assert_string_equal(cfbp_yaml_get(derived, "c")->value, "4");
    struct cfbp_yaml_node *both = cfbp_yaml_get(doc.root, "both");
    assert_int_equal(both->count, 3);
    assert_string_equal(cfbp_yaml_get(both, "b")->value, "20"); /* the first source wins */
    assert_string_equal(cfbp_yaml_get(both, "z")->value, "26");
    assert_string_equal(cfbp_yaml_get(both, "a")->value, "1");
    struct cfbp_yaml_node *quoted = cfbp_yaml_get(doc.root, "quoted");
    assert_int_equal(quoted->count, 1);
    assert_string_equal(cfbp_yaml_get(quoted, "<<")->value, "kept");
    /* The source mapping is untouched. */
    assert_int_equal(cfbp_yaml_get(doc.root, "base")->count, 2);
    cfbp_yaml_document_release(&doc);
}

static void refuses_a_merge_of_a_scalar(void **state)
{
    (void)state;
    check_load_error("a:\n  <<: 1\n",
                     "m.yml:2:7: a '<<' merge needs a mapping or a list of mappings");
    check_load_error("a: &a [1]\nb:\n  <<: [*a]\n",
                     "m.yml:3:8: a '<<' merge needs a mapping or a list of mappings");
}

/* yaml.v2 (Go, not strict) keeps a repeated key's last value: so does the flag, in place. */
static void last_key_wins_takes_the_later_value(void **state)
{
    (void)state;
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    /* The replaced value holds an anchor that a later alias uses: it must stay alive. */
    const char *text = "a: &x [1, 2]\nb: 2\na: {k: v}\nc: *x\nb: ~\n";
    if (cfbp_yaml_load_string_with_flags(&doc, "m.yml", text, strlen(text), CFBP_YAML_LAST_KEY_WINS,
                                         &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(doc.root->count, 3);
    const struct cfbp_yaml_node *a = cfbp_yaml_get(doc.root, "a");
    assert_int_equal(a->type, CFBP_YAML_MAPPING);
    assert_string_equal(cfbp_yaml_get(a, "k")->value, "v");
    assert_true(cfbp_yaml_is_null(cfbp_yaml_get(doc.root, "b")));
    const struct cfbp_yaml_node *c = cfbp_yaml_get(doc.root, "c");
    assert_int_equal(c->type, CFBP_YAML_SEQUENCE);
    assert_int_equal(c->count, 2);
    assert_string_equal(doc.root->keys[0]->value, "a"); /* the first key's place */
    cfbp_yaml_document_release(&doc);
    /* Without the flag the same text is refused. */
    assert_int_equal(cfbp_yaml_load_string(&doc, "m.yml", text, strlen(text), &err), -1);
    assert_non_null(strstr(err.message, "m.yml:3:1: the key 'a' is already defined on line 1"));
    cfbp_error_clear(&err);
}

static void load_errors_name_file_line_and_column(void **state)
{
    (void)state;
    check_load_error("a:\n  b: 1\n c: 2\n", "m.yml:3:2: invalid YAML: did not find expected key "
                                            "while parsing a block mapping (line 1, column 1)");
    check_load_error("a: [1, 2\nb: 3\n",
                     "m.yml:2:2: invalid YAML: did not find expected ',' or ']' while parsing a "
                     "flow sequence (line 1, column 4)");
    check_load_error("a: 1\nb: 2\na: 3\n", "m.yml:3:1: the key 'a' is already defined on line 1");
    check_load_error("top:\n  x: 1\n  y: 2\n  x: 3\n",
                     "m.yml:4:3: the key 'x' is already defined on line 2");
    check_load_error("a: *nope\n", "m.yml:1:4: the alias *nope has no anchor before it");
    check_load_error("a: *later\nb: &later 1\n",
                     "m.yml:1:4: the alias *later has no anchor before it");
    check_load_error("a: &x\n  b: *x\n",
                     "m.yml:2:6: the alias *x refers to a node that contains it");
    check_load_error("a: &x [1, [2, *x]]\n",
                     "m.yml:1:15: the alias *x refers to a node that contains it");
    check_load_error("a: 1\n---\nb: 2\n", "m.yml:2:1: more than one YAML document");
    check_load_error("--- 1\n--- 2\n", "m.yml:2:1: more than one YAML document");
    check_load_error("? [a]\n: b\n", "m.yml:1:3: a mapping key must be a plain value, not a list");
    check_load_error("a:\n\tb: 1\n", "m.yml:2:1: invalid YAML: found character that cannot start "
                                     "any token while scanning for the next token (line 2, column "
                                     "1)");
    check_load_error("a: 'unclosed\n",
                     "m.yml:2:1: invalid YAML: found unexpected end of stream while scanning a "
                     "quoted scalar (line 1, column 4)");
    check_load_error("a: b: c\n", "m.yml:1:5: invalid YAML: mapping values are not allowed in this "
                                  "context");
    check_load_error("a: \xff\n",
                     "m.yml:1:4: invalid YAML: invalid leading UTF-8 octet (byte 3); save the file "
                     "as UTF-8");
    /* Lines and columns in characters, also for the reader's errors. */
    check_load_error("a: b\nc: \xc3\xa9\x01\n",
                     "m.yml:2:5: invalid YAML: control characters are not allowed (byte 10); save "
                     "the file as UTF-8");
}

static void an_explicit_document_end_is_fine(void **state)
{
    (void)state;
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    load_ok(&doc, "---\na: 1\n...\n");
    assert_string_equal(cfbp_yaml_get(doc.root, "a")->value, "1");
    cfbp_yaml_document_release(&doc);
}

static char *alias_bomb(int levels)
{
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&text, "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int level = 1; level < levels; level++) {
        cfbp_strbuf_append_format(&text, "l%d: &l%d [", level, level);
        for (int i = 0; i < 10; i++)
            cfbp_strbuf_append_format(&text, "%s*l%d", i ? ", " : "", level - 1);
        cfbp_strbuf_append_string(&text, "]\n");
    }
    return cfbp_strbuf_detach(&text, NULL);
}

static void refuses_alias_bombs(void **state)
{
    (void)state;
    /* Five levels expand to 111111 nodes: allowed. */
    char *text = alias_bomb(5);
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    load_ok(&doc, text);
    assert_int_equal(cfbp_yaml_get(doc.root, "l4")->count, 10);
    cfbp_yaml_document_release(&doc);
    free(text);
    /* Nine levels would be a billion nodes. */
    text = alias_bomb(9);
    check_load_error(text, "m.yml:6:25: aliases expand to more than 500000 nodes or 16 MiB of "
                           "text; refusing the document");
    free(text);
}

static void merge_sources_with_anchors_stay_usable(void **state)
{
    (void)state;
    /*
     * An anchor defined inside a '<<' value must still be there for a later
     * alias: the merge copies the source, it must not leave the anchor dangling.
     */
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    load_ok(&doc, "x:\n"
                  "  <<: &m {c: 3}\n"
                  "  d: 4\n"
                  "y: *m\n"
                  "w:\n"
                  "  <<: {k: &inner v}\n"
                  "z: *inner\n");
    struct cfbp_yaml_node *y = cfbp_yaml_get(doc.root, "y");
    assert_non_null(y);
    assert_int_equal(y->type, CFBP_YAML_MAPPING);
    assert_int_equal(y->count, 1);
    assert_string_equal(cfbp_yaml_get(y, "c")->value, "3");
    assert_string_equal(cfbp_yaml_get(cfbp_yaml_get(doc.root, "x"), "c")->value, "3");
    assert_string_equal(cfbp_yaml_get(doc.root, "z")->value, "v");
    cfbp_yaml_document_release(&doc);
}

static void loads_files(void **state)
{
    (void)state;
    char *dir = test_make_dir();
    char *path = test_path(dir, "config.yml");
    test_write_file(path, "a: [1, 2\n", 0644);
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_yaml_load_file(&doc, path, 1024, &err), -1);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected, "%s:2:1: invalid YAML: ", path);
    assert_true(cfbp_string_starts_with(err.message, expected.buf));
    cfbp_error_clear(&err);
    cfbp_yaml_document_release(&doc);

    test_write_file(path, "name: x\n", 0644);
    assert_int_equal(cfbp_yaml_load_file(&doc, path, 1024, &err), 0);
    assert_string_equal(doc.name, path);
    assert_string_equal(cfbp_yaml_get(doc.root, "name")->value, "x");
    cfbp_yaml_document_release(&doc);

    assert_int_equal(cfbp_yaml_load_file(&doc, path, 7, &err), -1);
    assert_int_equal(err.kind, CFBP_ERROR_INVALID);
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected, "%s is larger than 7 bytes", path);
    assert_true(cfbp_string_starts_with(err.message, expected.buf));
    cfbp_error_clear(&err);
    cfbp_yaml_document_release(&doc);

    char *missing = test_path(dir, "missing.yml");
    assert_int_equal(cfbp_yaml_load_file(&doc, missing, 1024, &err), -1);
    assert_int_equal(err.kind, CFBP_ERROR_NOT_FOUND);
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected, "cannot read %s: No such file or directory", missing);
    assert_string_equal(err.message, expected.buf);
    assert_null(doc.root);
    cfbp_error_clear(&err);
    cfbp_yaml_document_release(&doc);

    cfbp_strbuf_release(&expected);
    free(missing);
    free(path);
    test_remove_dir(dir);
}

/* --- meaning of plain scalars (yaml.v2's resolver) --- */

static void meaning_of_nulls_and_bools(void **state)
{
    (void)state;
    const char *nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    check_meanings(nulls, CFBP_YAML_NULL);
    const char *bools[] = {"y",  "Y",  "yes",  "Yes",  "YES",  "n",     "N",     "no",
                           "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
                           "on", "On", "ON",   "off",  "Off",  "OFF",   NULL};
    check_meanings(bools, CFBP_YAML_BOOL);
    const char *strings[] = {"nULL", "yEs",  "tRue",       "ON!", "nil",
                             "None", "none", "yes please", "x",   NULL};
    check_meanings(strings, CFBP_YAML_STRING);
}

static void meaning_of_numbers(void **state)
{
    (void)state;
    const char *ints[] = {"0",     "12",   "-12",   "+12",    "0012",  "00",   "0x1F", "0X1f",
                          "-0x1F", "0o17", "0b101", "-0b101", "1_000", "1__0", "+0",   NULL};
    check_meanings(ints, CFBP_YAML_INT);
    const char *floats[] = {"1.10", "1.",    ".5",        "-.5",    "+.5",   "1e3",  "1.5E-3",
                            "09",   "0089",  ".inf",      "-.Inf",  "+.INF", ".NaN", ".nan",
                            "1:20", "-1:20", "190:20:30", "1:20.5", NULL};
    check_meanings(floats, CFBP_YAML_FLOAT);
    const char *strings[] = {"1.2.3", "1.22.x", "v1.2",  "-",   "+",  ".",    "1e",
                             "0x",    "0xG",    "0b",    "0b2", "e5", "1:60", "1.2.3-rc.1",
                             "- 1",   ".inf.",  "1,000", "0o8", "_1", NULL};
    check_meanings(strings, CFBP_YAML_STRING);
}

static void meaning_of_timestamps(void **state)
{
    (void)state;
    const char *timestamps[] = {"2000-01-01",
                                "2002-1-2",
                                "2001-12-14t21:59:43.10-05:00",
                                "2001-12-14T21:59:43Z",
                                "2001-12-14 21:59:43.10",
                                NULL};
    check_meanings(timestamps, CFBP_YAML_TIMESTAMP);
    const char *strings[] = {
        "2000-01", "200-01-01", "20000-01-01", "2000-01-01x", "2001-12-14 21:59:43.10 -5", NULL};
    check_meanings(strings, CFBP_YAML_STRING);
}

static void meaning_of_impossible_dates_is_string_like_yaml_v2(void **state)
{
    (void)state;
    /*
     * yaml.v2's parseTimestamp uses time.Parse, which refuses month 13 and day
     * 45, and "2000-13-45" is no number either: yaml.v2 reads it as a string and
     * writes it unquoted.
     */
    const char *strings[] = {"2000-13-45", "2000-02-30", "9999-99-99", NULL};
    check_meanings(strings, CFBP_YAML_STRING);
    check_emit_string("2000-13-45", "key: 2000-13-45\n");
}

static void quoted_scalars_always_mean_strings(void **state)
{
    (void)state;
    const char *texts[] = {"", "~", "yes", "12", "1.10", "2000-01-01", NULL};
    for (const char *const *text = texts; *text; text++) {
        struct cfbp_yaml_node *node = cfbp_yaml_new_string(*text);
        assert_int_equal(cfbp_yaml_meaning_of(node), CFBP_YAML_STRING);
        assert_false(cfbp_yaml_is_null(node));
        cfbp_yaml_free(node);
    }
    struct cfbp_yaml_node *list = cfbp_yaml_new_sequence();
    assert_int_equal(cfbp_yaml_meaning_of(list), CFBP_YAML_STRING);
    assert_false(cfbp_yaml_is_null(list));
    cfbp_yaml_free(list);
    assert_true(cfbp_yaml_is_null(NULL));
}

static void describes_nodes(void **state)
{
    (void)state;
    struct cfbp_yaml_node *nodes[] = {
        cfbp_yaml_new_sequence(),          cfbp_yaml_new_mapping(),   cfbp_yaml_new_plain("~"),
        cfbp_yaml_new_plain("yes"),        cfbp_yaml_new_plain("12"), cfbp_yaml_new_plain("1.5"),
        cfbp_yaml_new_plain("2000-01-01"), cfbp_yaml_new_plain("x"),  cfbp_yaml_new_string("12"),
    };
    const char *expected[] = {"a list",   "a mapping", "empty",    "a boolean", "a number",
                              "a number", "a date",    "a string", "a string"};
    for (size_t i = 0; i < sizeof(nodes) / sizeof(*nodes); i++) {
        assert_string_equal(cfbp_yaml_describe(nodes[i]), expected[i]);
        cfbp_yaml_free(nodes[i]);
    }
    assert_string_equal(cfbp_yaml_describe(NULL), "nothing");
}

/* --- reading values --- */

static void read_string_reads_and_refuses(void **state)
{
    (void)state;
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    load_ok(&doc, "dependencies:\n"
                  "- name: thing\n"
                  "  version: 1.10\n"
                  "  uri: ~\n"
                  "  cf_stacks: [cflinuxfs4]\n"
                  "  sha256: {a: b}\n");
    struct cfbp_yaml_node *entry = cfbp_yaml_get(doc.root, "dependencies")->items[0];
    struct cfbp_error err = CFBP_ERROR_INIT;
    char *out = (char *)"unset";

    assert_int_equal(
        cfbp_yaml_read_string(&doc, entry, "version", "dependencies[0]", true, &out, &err), 0);
    assert_string_equal(out, "1.10");
    free(out);

    out = (char *)"unset";
    assert_int_equal(
        cfbp_yaml_read_string(&doc, entry, "source", "dependencies[0]", false, &out, &err), 0);
    assert_null(out);
    out = (char *)"unset";
    assert_int_equal(
        cfbp_yaml_read_string(&doc, entry, "uri", "dependencies[0]", false, &out, &err), 0);
    assert_null(out);
    assert_null(err.message);

    assert_int_equal(
        cfbp_yaml_read_string(&doc, entry, "source", "dependencies[0]", true, &out, &err), -1);
    assert_null(out);
    assert_int_equal(err.kind, CFBP_ERROR_INVALID);
    assert_string_equal(err.message, "m.yml:2:3: dependencies[0] has no 'source'");
    cfbp_error_clear(&err);

    assert_int_equal(cfbp_yaml_read_string(&doc, entry, "uri", "dependencies[0]", true, &out, &err),
                     -1);
    assert_string_equal(err.message, "m.yml:4:8: dependencies[0] has no 'uri'");
    cfbp_error_clear(&err);

    assert_int_equal(
        cfbp_yaml_read_string(&doc, entry, "cf_stacks", "dependencies[0]", true, &out, &err), -1);
    assert_null(out);
    assert_string_equal(err.message,
                        "m.yml:5:14: dependencies[0].cf_stacks must be a single value, not a list");
    cfbp_error_clear(&err);

    assert_int_equal(
        cfbp_yaml_read_string(&doc, entry, "sha256", "dependencies[0]", false, &out, &err), -1);
    assert_string_equal(err.message,
                        "m.yml:6:11: dependencies[0].sha256 must be a single value, not a mapping");
    cfbp_error_clear(&err);
    cfbp_yaml_document_release(&doc);
}

static void expect_and_error_at_name_the_place(void **state)
{
    (void)state;
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    load_ok(&doc, "list:\n  - 1\nmap: {}\nscalar: yes\n");
    struct cfbp_error err = CFBP_ERROR_INIT;
    struct cfbp_yaml_node *list = cfbp_yaml_get(doc.root, "list");
    assert_int_equal(cfbp_yaml_expect(&doc, list, CFBP_YAML_SEQUENCE, "list", &err), 0);
    assert_null(err.message);
    assert_int_equal(cfbp_yaml_expect(&doc, list, CFBP_YAML_MAPPING, "list", &err), -1);
    assert_int_equal(err.kind, CFBP_ERROR_INVALID);
    assert_string_equal(err.message, "m.yml:2:3: list must be a mapping, not a list");
    assert_int_equal(
        cfbp_yaml_expect(&doc, cfbp_yaml_get(doc.root, "map"), CFBP_YAML_SCALAR, "map", &err), -1);
    assert_string_equal(err.message, "m.yml:3:6: map must be a single value, not a mapping");
    assert_int_equal(cfbp_yaml_expect(&doc, cfbp_yaml_get(doc.root, "scalar"), CFBP_YAML_SEQUENCE,
                                      "scalar", &err),
                     -1);
    assert_string_equal(err.message, "m.yml:4:9: scalar must be a list, not a boolean");
    assert_int_equal(cfbp_yaml_expect(&doc, NULL, CFBP_YAML_MAPPING, "root", &err), -1);
    assert_string_equal(err.message, "m.yml: root must be a mapping, not nothing");
    assert_int_equal(cfbp_yaml_error_at(&doc, list, &err, "bad %s %d", "thing", 7), -1);
    assert_int_equal(err.kind, CFBP_ERROR_INVALID);
    assert_string_equal(err.message, "m.yml:2:3: bad thing 7");
    assert_int_equal(cfbp_yaml_error_at(&doc, NULL, &err, "no node"), -1);
    assert_string_equal(err.message, "m.yml: no node");
    cfbp_error_clear(&err);
    cfbp_yaml_document_release(&doc);
}

/* --- building --- */

static void set_remove_and_copy(void **state)
{
    (void)state;
    struct cfbp_yaml_node *map = cfbp_yaml_new_mapping();
    cfbp_yaml_set(map, "a", cfbp_yaml_new_string("1"));
    cfbp_yaml_set(map, "b", cfbp_yaml_new_plain("2"));
    cfbp_yaml_set(map, "c", cfbp_yaml_new_sequence());
    cfbp_yaml_append(cfbp_yaml_get(map, "c"), cfbp_yaml_new_string("x"));
    assert_int_equal(map->count, 3);
    cfbp_yaml_set(map, "a", cfbp_yaml_new_string("replaced")); /* the old value is freed */
    assert_int_equal(map->count, 3);
    assert_string_equal(map->keys[0]->value, "a");
    assert_string_equal(map->values[0]->value, "replaced");

    struct cfbp_yaml_node *copy = cfbp_yaml_copy(map);
    assert_ptr_not_equal(copy, map);
    assert_int_equal(copy->count, 3);
    assert_ptr_not_equal(copy->values[2], map->values[2]);
    assert_ptr_not_equal(copy->values[2]->items[0], map->values[2]->items[0]);
    assert_true(copy->values[0]->quoted);
    assert_false(copy->values[1]->quoted);
    cfbp_yaml_set(copy, "a", cfbp_yaml_new_string("changed"));
    cfbp_yaml_remove(copy, "c");
    assert_string_equal(cfbp_yaml_get(map, "a")->value, "replaced");
    assert_int_equal(cfbp_yaml_get(map, "c")->count, 1);
    assert_int_equal(copy->count, 2);

    cfbp_yaml_remove(map, "b");
    assert_int_equal(map->count, 2);
    assert_string_equal(map->keys[0]->value, "a");
    assert_string_equal(map->keys[1]->value, "c");
    assert_null(cfbp_yaml_get(map, "b"));
    cfbp_yaml_remove(map, "missing");
    assert_int_equal(map->count, 2);
    cfbp_yaml_remove(map, "a");
    cfbp_yaml_remove(map, "c");
    assert_int_equal(map->count, 0);
    cfbp_yaml_set(map, "again", cfbp_yaml_new_string("ok"));
    assert_int_equal(map->count, 1);

    assert_null(cfbp_yaml_copy(NULL));
    cfbp_yaml_free(copy);
    cfbp_yaml_free(map);
    cfbp_yaml_free(NULL);
}

static void copy_keeps_text_with_nuls_and_positions(void **state)
{
    (void)state;
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    load_ok(&doc, "k:\n  - \"a\\0b\"\n");
    struct cfbp_yaml_node *copy = cfbp_yaml_copy(doc.root);
    struct cfbp_yaml_node *item = cfbp_yaml_get(copy, "k")->items[0];
    assert_int_equal(item->value_length, 3);
    assert_memory_equal(item->value, "a\0b", 4);
    assert_int_equal(item->line, 2);
    assert_int_equal(item->column, 5);
    cfbp_yaml_free(copy);
    cfbp_yaml_document_release(&doc);
}

/* --- emitting --- */

static void emits_the_packaged_manifest_like_yaml_v2(void **state)
{
    (void)state;
    /* Contract §5.2, the example packaged with --cached --stack cflinuxfs4. */
    struct cfbp_yaml_node *root = cfbp_yaml_new_mapping();
    cfbp_yaml_set(root, "language", cfbp_yaml_new_string("dotnet-core"));
    cfbp_yaml_set(root, "stack", cfbp_yaml_new_string("cflinuxfs4"));
    struct cfbp_yaml_node *includes = cfbp_yaml_new_sequence();
    cfbp_yaml_append(includes, cfbp_yaml_new_string("VERSION"));
    cfbp_yaml_append(includes, cfbp_yaml_new_string("manifest.yml"));
    cfbp_yaml_set(root, "include_files", includes);
    cfbp_yaml_set(root, "pre_package", cfbp_yaml_new_string("./pre.sh"));
    struct cfbp_yaml_node *dep = cfbp_yaml_new_mapping();
    cfbp_yaml_set(dep, "version", cfbp_yaml_new_string("1.2.3"));
    cfbp_yaml_set(dep, "uri", cfbp_yaml_new_string("file:///tmp/x/dep-1.2.3.txt"));
    cfbp_yaml_set(dep, "source_sha256", cfbp_yaml_new_string("0012"));
    cfbp_yaml_set(dep, "source", cfbp_yaml_new_string("https://example.com/src.tgz"));
    cfbp_yaml_set(dep, "sha256", cfbp_yaml_new_string("90ab757f"));
    cfbp_yaml_set(dep, "name", cfbp_yaml_new_string("thing"));
    cfbp_yaml_set(
        dep, "file",
        cfbp_yaml_new_string("dependencies/0101f766abf2f6f72fa9755b7db19f03/dep-1.2.3.txt"));
    struct cfbp_yaml_node *deps = cfbp_yaml_new_sequence();
    cfbp_yaml_append(deps, dep);
    cfbp_yaml_set(root, "dependencies", deps);
    struct cfbp_yaml_node *eol = cfbp_yaml_new_mapping();
    cfbp_yaml_set(eol, "version_line", cfbp_yaml_new_string("1.2.x"));
    cfbp_yaml_set(eol, "name", cfbp_yaml_new_string("thing"));
    cfbp_yaml_set(eol, "link", cfbp_yaml_new_string("https://example.com/eol"));
    cfbp_yaml_set(eol, "date", cfbp_yaml_new_string("2000-01-01"));
    struct cfbp_yaml_node *eols = cfbp_yaml_new_sequence();
    cfbp_yaml_append(eols, eol);
    cfbp_yaml_set(root, "dependency_deprecation_dates", eols);
    struct cfbp_yaml_node *default_version = cfbp_yaml_new_mapping();
    cfbp_yaml_set(default_version, "version", cfbp_yaml_new_string("1.2.x"));
    cfbp_yaml_set(default_version, "name", cfbp_yaml_new_string("thing"));
    struct cfbp_yaml_node *defaults = cfbp_yaml_new_sequence();
    cfbp_yaml_append(defaults, default_version);
    cfbp_yaml_set(root, "default_versions", defaults);

    check_emit(root, CFBP_YAML_EMIT_SORT_KEYS,
               "default_versions:\n"
               "- name: thing\n"
               "  version: 1.2.x\n"
               "dependencies:\n"
               "- file: dependencies/0101f766abf2f6f72fa9755b7db19f03/dep-1.2.3.txt\n"
               "  name: thing\n"
               "  sha256: 90ab757f\n"
               "  source: https://example.com/src.tgz\n"
               "  source_sha256: \"0012\"\n"
               "  uri: file:///tmp/x/dep-1.2.3.txt\n"
               "  version: 1.2.3\n"
               "dependency_deprecation_dates:\n"
               "- date: \"2000-01-01\"\n"
               "  link: https://example.com/eol\n"
               "  name: thing\n"
               "  version_line: 1.2.x\n"
               "include_files:\n"
               "- VERSION\n"
               "- manifest.yml\n"
               "language: dotnet-core\n"
               "pre_package: ./pre.sh\n"
               "stack: cflinuxfs4\n");
    /* Without sorting, insertion order. */
    check_emit(default_version, 0, "version: 1.2.x\nname: thing\n");
    cfbp_yaml_free(root);
}

static void sorts_keys_the_way_yaml_v2_does(void **state)
{
    (void)state;
    struct cfbp_yaml_node *root = cfbp_yaml_new_mapping();
    const char *keys[] = {"b", "a10", "10", "A", "a2", "9", "_x", "a1", "1", "a01", "B"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
        cfbp_yaml_set(root, keys[i], cfbp_yaml_new_plain("v"));
    check_emit(root, CFBP_YAML_EMIT_SORT_KEYS,
               "_x: v\n"
               "\"1\": v\n"
               "\"9\": v\n"
               "\"10\": v\n"
               "A: v\n"
               "B: v\n"
               "a1: v\n"
               "a01: v\n"
               "a2: v\n"
               "a10: v\n"
               "b: v\n");
    cfbp_yaml_free(root);
}

static void emits_collections_in_block_style(void **state)
{
    (void)state;
    struct cfbp_yaml_node *root = cfbp_yaml_new_mapping();
    cfbp_yaml_set(root, "config", cfbp_yaml_new_mapping());
    cfbp_yaml_set(root, "empty_list", cfbp_yaml_new_sequence());
    struct cfbp_yaml_node *list = cfbp_yaml_new_sequence();
    struct cfbp_yaml_node *inner = cfbp_yaml_new_sequence();
    cfbp_yaml_append(inner, cfbp_yaml_new_string("x"));
    cfbp_yaml_append(list, inner);
    struct cfbp_yaml_node *item = cfbp_yaml_new_mapping();
    cfbp_yaml_set(item, "name", cfbp_yaml_new_string("web"));
    struct cfbp_yaml_node *nested = cfbp_yaml_new_mapping();
    cfbp_yaml_set(nested, "memory", cfbp_yaml_new_plain("10"));
    cfbp_yaml_set(item, "limits", nested);
    cfbp_yaml_append(list, item);
    cfbp_yaml_set(root, "list", list);
    check_emit(root, 0,
               "config: {}\n"
               "empty_list: []\n"
               "list:\n"
               "- - x\n"
               "- name: web\n"
               "  limits:\n"
               "    memory: 10\n");
    cfbp_yaml_free(root);

    struct cfbp_yaml_node *empty = cfbp_yaml_new_mapping();
    check_emit(empty, 0, "{}\n");
    cfbp_yaml_free(empty);
}

static void double_quotes_strings_that_read_as_other_types(void **state)
{
    (void)state;
    check_emit_string("0012", "key: \"0012\"\n");
    check_emit_string("80", "key: \"80\"\n");
    check_emit_string("1.10", "key: \"1.10\"\n");
    check_emit_string("2000-01-01", "key: \"2000-01-01\"\n");
    check_emit_string("", "key: \"\"\n");
    check_emit_string("yes", "key: \"yes\"\n");
    check_emit_string("on", "key: \"on\"\n");
    check_emit_string("true", "key: \"true\"\n");
    check_emit_string("null", "key: \"null\"\n");
    check_emit_string("~", "key: \"~\"\n");
    check_emit_string("1:20", "key: \"1:20\"\n");
    check_emit_string(".inf", "key: \".inf\"\n");
    check_emit_string("1e3", "key: \"1e3\"\n");
    check_emit_string("0x1F", "key: \"0x1F\"\n");
}

static void keeps_ordinary_strings_plain(void **state)
{
    (void)state;
    check_emit_string("1.2.3", "key: 1.2.3\n");
    check_emit_string("1.22.x", "key: 1.22.x\n");
    check_emit_string("hello world", "key: hello world\n");
    check_emit_string("https://example.com/a?b=c", "key: https://example.com/a?b=c\n");
    check_emit_string("caf\xc3\xa9", "key: caf\xc3\xa9\n");
    check_emit_string("it's", "key: it's\n");
    check_emit_string("a,b", "key: a,b\n");
    check_emit_string("a-b", "key: a-b\n");
}

static void single_quotes_strings_that_cannot_be_plain(void **state)
{
    (void)state;
    check_emit_string("*x", "key: '*x'\n");
    check_emit_string("&x", "key: '&x'\n");
    check_emit_string("!x", "key: '!x'\n");
    check_emit_string(": x", "key: ': x'\n");
    check_emit_string("- a", "key: '- a'\n");
    check_emit_string("#c", "key: '#c'\n");
    check_emit_string("a #c", "key: 'a #c'\n");
    check_emit_string("a: b", "key: 'a: b'\n");
    check_emit_string(" lead", "key: ' lead'\n");
    check_emit_string("trail ", "key: 'trail '\n");
    check_emit_string("@x", "key: '@x'\n");
    check_emit_string("%x", "key: '%x'\n");
    check_emit_string("[a]", "key: '[a]'\n");
    check_emit_string("{a}", "key: '{a}'\n");
    check_emit_string("'q'", "key: '''q'''\n");
    check_emit_string("\"q\"", "key: '\"q\"'\n");
}

static void writes_multi_line_strings_as_literal_blocks(void **state)
{
    (void)state;
    check_emit_string("line1\nline2", "key: |-\n  line1\n  line2\n");
    check_emit_string("line1\nline2\n", "key: |\n  line1\n  line2\n");
    check_emit_string("a\n\nb", "key: |-\n  a\n\n  b\n");
}

static void writes_plain_nodes_as_is(void **state)
{
    (void)state;
    struct cfbp_yaml_node *root = cfbp_yaml_new_mapping();
    cfbp_yaml_set(root, "memory", cfbp_yaml_new_plain("10"));
    cfbp_yaml_set(root, "flag", cfbp_yaml_new_plain("true"));
    cfbp_yaml_set(root, "version", cfbp_yaml_new_plain("1.10"));
    check_emit(root, 0, "memory: 10\nflag: true\nversion: 1.10\n");
    cfbp_yaml_free(root);
}

static void round_trips_loaded_documents(void **state)
{
    (void)state;
    check_round_trip("# comment\n"
                     "---\n"
                     "zeta: 1\n"
                     "alpha:   [b,   'c']\n"
                     "source_sha256: '0012'\n"
                     "version: 1.10\n"
                     "quoted_version: '1.10'\n"
                     "nul: \"a\\0b\"\n"
                     "config: {}\n",
                     "alpha:\n"
                     "- b\n"
                     "- c\n"
                     "config: {}\n"
                     "nul: \"a\\0b\"\n"
                     "quoted_version: \"1.10\"\n"
                     "source_sha256: \"0012\"\n"
                     "version: 1.10\n"
                     "zeta: 1\n");
}

/* --- hostile input: nesting, size and time --- */

/*
 * The most CPU time a pathological 1 MiB document may take to load (or be
 * refused) and emit. Process CPU time, not wall time, so that a busy machine
 * does not fail the test; the sanitizers make everything several times slower.
 */
#define HOSTILE_SECONDS 1.0 /* five times that under AddressSanitizer */

#define MIB (1024 * 1024)

/* Appends text count times. */
static void repeat(struct cfbp_strbuf *out, const char *text, size_t count)
{
    for (size_t i = 0; i < count; i++)
        cfbp_strbuf_append_string(out, text);
}

/* Loads text (at most 1 MiB, the manifest cap) and returns the result; *err is filled on failure.
 */
static int load_timed(const char *what, const struct cfbp_strbuf *text,
                      struct cfbp_yaml_document *doc, struct cfbp_error *err)
{
    if (text->len > MIB)
        fail_msg("%s is %zu bytes, over 1 MiB", what, text->len);
    double started = test_cpu_seconds();
    int result = cfbp_yaml_load_string(doc, "m.yml", text->buf, text->len, err);
    if (result == 0 && doc->root) {
        struct cfbp_strbuf out = CFBP_STRBUF_INIT;
        struct cfbp_error ignored = CFBP_ERROR_INIT;
        cfbp_yaml_emit(&out, doc->root, CFBP_YAML_EMIT_SORT_KEYS, &ignored);
        cfbp_error_clear(&ignored);
        cfbp_strbuf_release(&out);
    }
    test_check_cpu_time(what, started, HOSTILE_SECONDS);
    return result;
}

static void check_hostile_error(const char *what, const struct cfbp_strbuf *text,
                                const char *expected)
{
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (load_timed(what, text, &doc, &err) == 0)
        fail_msg("%s was accepted", what);
    assert_null(doc.root);
    assert_int_equal(err.kind, CFBP_ERROR_INVALID);
    if (strcmp(err.message, expected) != 0)
        fail_msg("%s: error \"%s\", expected \"%s\"", what, err.message, expected);
    cfbp_error_clear(&err);
}

/* How deep lists and mappings nest under node (0 for a scalar), following first children. */
static size_t depth_along_first_children(const struct cfbp_yaml_node *node)
{
    size_t depth = 0;
    while (node && node->type != CFBP_YAML_SCALAR && node->count) {
        depth++;
        node = node->type == CFBP_YAML_SEQUENCE ? node->items[0] : node->values[0];
    }
    return depth + (node && node->type != CFBP_YAML_SCALAR ? 1 : 0);
}

static const char too_deep_message[] = "lists and mappings nest more than 1000 levels deep here; "
                                       "flatten the document (no manifest needs that many levels)";

static void refuses_deep_block_nesting(void **state)
{
    (void)state;
    /* The review's crash: 300000 nested block sequences overflowed the stack when freed. */
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&text, "applications:\n- name: a\nx:\n");
    repeat(&text, "- ", 300000);
    cfbp_strbuf_append_string(&text, "x\n");
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    /* Level 1 is the top mapping; level 1001 is the 1000th "- ", at column 2 * 999 + 1. */
    cfbp_strbuf_append_format(&expected, "m.yml:4:1999: %s", too_deep_message);
    check_hostile_error("300000 nested block lists", &text, expected.buf);

    cfbp_strbuf_reset(&text);
    for (size_t level = 0; text.len < MIB - 4096; level++) {
        repeat(&text, " ", level);
        cfbp_strbuf_append_string(&text, "a:\n");
    }
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected, "m.yml:1001:1001: %s", too_deep_message);
    check_hostile_error("indented block mappings", &text, expected.buf);
    cfbp_strbuf_release(&expected);
    cfbp_strbuf_release(&text);
}

static void refuses_deep_flow_nesting(void **state)
{
    (void)state;
    /* libyaml's scanner works in proportion to the flow depth for every token:
     * this took 26 s (and 1 MiB of it over 8 minutes) before loading stopped at the limit. */
    struct cfbp_strbuf text = CFBP_STRBUF_INIT, expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&text, "x: ");
    repeat(&text, "[", 100000);
    repeat(&text, "]", 100000);
    cfbp_strbuf_append_format(&expected, "m.yml:1:1003: %s", too_deep_message);
    check_hostile_error("100000 nested flow lists", &text, expected.buf);

    cfbp_strbuf_reset(&text);
    cfbp_strbuf_append_string(&text, "x: ");
    repeat(&text, "[", MIB / 2 - 8);
    repeat(&text, "]", MIB / 2 - 8);
    check_hostile_error("1 MiB of nested flow lists", &text, expected.buf);

    cfbp_strbuf_reset(&text);
    cfbp_strbuf_append_string(&text, "x: ");
    repeat(&text, "{a: [", MIB / 8);
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected, "m.yml:1:2503: %s", too_deep_message);
    check_hostile_error("1 MiB of nested flow mappings and lists", &text, expected.buf);
    cfbp_strbuf_release(&expected);
    cfbp_strbuf_release(&text);
}

static void nesting_up_to_the_limit_loads_and_emits(void **state)
{
    (void)state;
    /* Exactly CFBP_YAML_MAX_DEPTH levels, in flow and in block style. */
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    repeat(&text, "[", CFBP_YAML_MAX_DEPTH);
    repeat(&text, "]", CFBP_YAML_MAX_DEPTH);
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    load_ok(&doc, text.buf);
    assert_int_equal(depth_along_first_children(doc.root), CFBP_YAML_MAX_DEPTH);
    cfbp_yaml_document_release(&doc);

    cfbp_strbuf_reset(&text);
    for (size_t level = 0; level < CFBP_YAML_MAX_DEPTH; level++) {
        repeat(&text, "  ", level);
        cfbp_strbuf_append_string(&text, level + 1 < CFBP_YAML_MAX_DEPTH ? "a:\n" : "a: x\n");
    }
    load_ok(&doc, text.buf);
    assert_int_equal(depth_along_first_children(doc.root), CFBP_YAML_MAX_DEPTH);
    /* What loads can be written and read back. */
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_yaml_emit(&out, doc.root, CFBP_YAML_EMIT_SORT_KEYS, &err), 0);
    assert_string_equal(out.buf, text.buf);
    cfbp_yaml_document_release(&doc);
    load_ok(&doc, out.buf);
    assert_int_equal(depth_along_first_children(doc.root), CFBP_YAML_MAX_DEPTH);
    cfbp_yaml_document_release(&doc);
    cfbp_strbuf_release(&out);
    cfbp_strbuf_release(&text);
}

static void nesting_one_past_the_limit_names_the_place(void **state)
{
    (void)state;
    struct cfbp_strbuf text = CFBP_STRBUF_INIT, expected = CFBP_STRBUF_INIT;
    repeat(&text, "[", CFBP_YAML_MAX_DEPTH + 1);
    repeat(&text, "]", CFBP_YAML_MAX_DEPTH + 1);
    cfbp_strbuf_append_format(&expected, "m.yml:1:1001: %s", too_deep_message);
    check_load_error(text.buf, expected.buf);

    cfbp_strbuf_reset(&text);
    repeat(&text, "- ", CFBP_YAML_MAX_DEPTH + 1);
    cfbp_strbuf_append_string(&text, "x\n");
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected, "m.yml:1:2001: %s", too_deep_message);
    check_load_error(text.buf, expected.buf);
    cfbp_strbuf_release(&expected);
    cfbp_strbuf_release(&text);
}

static void aliases_cannot_copy_a_node_past_the_limit(void **state)
{
    (void)state;
    /* a's value nests 998 levels; under the top mapping that is 999. */
    struct cfbp_strbuf anchor = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&anchor, "a: &a ");
    repeat(&anchor, "[", CFBP_YAML_MAX_DEPTH - 2);
    repeat(&anchor, "]", CFBP_YAML_MAX_DEPTH - 2);
    cfbp_strbuf_append_string(&anchor, "\n");

    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    cfbp_strbuf_append_format(&text, "%sb: *a\nc: [*a]\n", anchor.buf);
    load_ok(&doc, text.buf);
    assert_int_equal(depth_along_first_children(cfbp_yaml_get(doc.root, "c")),
                     CFBP_YAML_MAX_DEPTH - 1);
    cfbp_yaml_document_release(&doc);

    cfbp_strbuf_reset(&text);
    cfbp_strbuf_append_format(&text, "%sb: [[*a]]\n", anchor.buf);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected, "m.yml:2:6: %s", too_deep_message);
    check_load_error(text.buf, expected.buf);

    /* A chain of aliases, each a hundred levels deeper, stops at the limit too: l9 nests
     * 900 levels, and its alias under l10's hundred lists inside the top list makes 1001. */
    cfbp_strbuf_reset(&text);
    cfbp_strbuf_append_string(&text, "- &l0 x\n");
    for (int level = 1; level <= 10; level++) {
        cfbp_strbuf_append_format(&text, "- &l%d ", level);
        repeat(&text, "[", 100);
        cfbp_strbuf_append_format(&text, "*l%d", level - 1);
        repeat(&text, "]", 100);
        cfbp_strbuf_append_char(&text, '\n');
    }
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected, "m.yml:11:108: %s", too_deep_message);
    check_load_error(text.buf, expected.buf);
    cfbp_strbuf_release(&expected);
    cfbp_strbuf_release(&text);
    cfbp_strbuf_release(&anchor);
}

/* A list nested depth levels deep, built through the API, with a mapping at every other level. */
/*
 * Lists and mappings nested depth levels deep through the API. With siblings,
 * every level has a scalar before the deeper child, and every other level is a
 * mapping; without, it is a plain chain of lists (a million levels of it fit in
 * memory twice, even with the sanitizers).
 */
static struct cfbp_yaml_node *deep_tree(size_t depth, bool siblings)
{
    struct cfbp_yaml_node *root = cfbp_yaml_new_sequence(), *node = root;
    for (size_t level = 1; level < depth; level++) {
        struct cfbp_yaml_node *child =
            siblings && level % 2 ? cfbp_yaml_new_mapping() : cfbp_yaml_new_sequence();
        if (node->type == CFBP_YAML_SEQUENCE) {
            if (siblings)
                cfbp_yaml_append(node, cfbp_yaml_new_string("before"));
            cfbp_yaml_append(node, child);
        } else {
            cfbp_yaml_set(node, "before", cfbp_yaml_new_plain("1"));
            cfbp_yaml_set(node, "k", child);
        }
        node = child;
    }
    if (node->type == CFBP_YAML_SEQUENCE)
        cfbp_yaml_append(node, cfbp_yaml_new_string("leaf"));
    else
        cfbp_yaml_set(node, "k", cfbp_yaml_new_string("leaf"));
    return root;
}

static void frees_copies_and_refuses_to_emit_very_deep_trees(void **state)
{
    (void)state;
    /* A million levels: recursion would need far more than the 8 MiB stack. */
    struct cfbp_yaml_node *tree = deep_tree(1000000, false);
    struct cfbp_yaml_node *copy = cfbp_yaml_copy(tree);
    const struct cfbp_yaml_node *a = tree, *b = copy;
    size_t levels = 0;
    while (a->type != CFBP_YAML_SCALAR) {
        assert_int_equal(a->type, b->type);
        assert_int_equal(a->count, b->count);
        assert_ptr_not_equal(a, b);
        size_t last = a->count - 1;
        a = a->type == CFBP_YAML_SEQUENCE ? a->items[last] : a->values[last];
        b = b->type == CFBP_YAML_SEQUENCE ? b->items[last] : b->values[last];
        levels++;
    }
    assert_int_equal(levels, 1000000);
    assert_string_equal(b->value, "leaf");

    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&out, "kept\n");
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_yaml_emit(&out, copy, 0, &err), -1);
    assert_int_equal(err.kind, CFBP_ERROR_INVALID);
    assert_string_equal(err.message,
                        "cannot write YAML: lists and mappings nest more than 1000 levels deep, "
                        "more than a YAML file may (cfbp_yaml_load would refuse it); flatten the "
                        "tree");
    assert_string_equal(out.buf, "kept\n");
    cfbp_error_clear(&err);
    cfbp_yaml_free(copy);
    cfbp_yaml_free(tree);

    /* One past the limit is refused; the limit itself is written. */
    tree = deep_tree(CFBP_YAML_MAX_DEPTH + 1, true);
    assert_int_equal(cfbp_yaml_emit(&out, tree, 0, &err), -1);
    cfbp_error_clear(&err);
    cfbp_yaml_free(tree);
    tree = deep_tree(CFBP_YAML_MAX_DEPTH, true);
    cfbp_strbuf_reset(&out);
    assert_int_equal(cfbp_yaml_emit(&out, tree, 0, &err), 0);
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    load_ok(&doc, out.buf);
    cfbp_yaml_document_release(&doc);
    cfbp_yaml_free(tree);
    cfbp_strbuf_release(&out);
}

static void refuses_to_emit_runaway_text(void **state)
{
    (void)state;
    /* 6 KB: 240 aliases of a mapping 996 levels deep, each indented ~1000 columns:
     * 240 MB of block style text. */
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&text, "a: &a ");
    repeat(&text, "{a: ", 996);
    cfbp_strbuf_append_string(&text, "x");
    repeat(&text, "}", 996);
    cfbp_strbuf_append_string(&text, "\nb: [*a");
    repeat(&text, ", *a", 239);
    cfbp_strbuf_append_string(&text, "]\n");
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    load_ok(&doc, text.buf);
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    double started = test_cpu_seconds();
    assert_int_equal(cfbp_yaml_emit(&out, doc.root, 0, &err), -1);
    test_check_cpu_time("emitting 240 deep aliases", started, HOSTILE_SECONDS);
    assert_string_equal(err.message, "cannot write YAML: the text would be longer than 16777216 "
                                     "bytes (aliases copied into deep places multiply a "
                                     "document's size); simplify the tree");
    assert_int_equal(out.len, 0);
    cfbp_error_clear(&err);
    cfbp_strbuf_release(&out);
    cfbp_yaml_document_release(&doc);
    cfbp_strbuf_release(&text);
}

static void many_keys_load_in_linear_time(void **state)
{
    (void)state;
    /* Each key used to be compared with every earlier one: 77 s for 1 MiB of keys. */
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    size_t keys = 0;
    while (text.len < MIB - 64)
        cfbp_strbuf_append_format(&text, "k%zu: v\n", keys++);
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(load_timed("1 MiB of block keys", &text, &doc, &err), 0);
    assert_int_equal(doc.root->count, keys);
    assert_string_equal(cfbp_yaml_get(doc.root, "k77777")->value, "v");
    cfbp_yaml_document_release(&doc);

    /* A duplicate at the end is still found, naming the first one's line. */
    cfbp_strbuf_append_string(&text, "k12345: v\n");
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected,
                              "m.yml:%zu:1: the key 'k12345' is already defined on "
                              "line 12346",
                              keys + 1);
    check_hostile_error("1 MiB of keys and a duplicate", &text, expected.buf);

    /* One flow mapping on one line, keys in descending order. */
    cfbp_strbuf_reset(&text);
    cfbp_strbuf_append_char(&text, '{');
    for (size_t i = 90000; i > 0; i--)
        cfbp_strbuf_append_format(&text, "k%zu: 1, ", i);
    cfbp_strbuf_append_string(&text, "k0: 1}\n");
    assert_int_equal(load_timed("90001 flow keys", &text, &doc, &err), 0);
    assert_int_equal(doc.root->count, 90001);
    cfbp_yaml_document_release(&doc);
    cfbp_strbuf_release(&expected);
    cfbp_strbuf_release(&text);
}

static void many_anchors_and_aliases_load_in_linear_time(void **state)
{
    (void)state;
    /* Each alias used to scan every anchor: 13 s for 1 MiB. */
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    size_t anchors = 0;
    for (; text.len < MIB / 2; anchors++)
        cfbp_strbuf_append_format(&text, "a%zu: &a%zu x%zu\n", anchors, anchors, anchors);
    for (size_t i = 0; text.len < MIB - 64; i++)
        cfbp_strbuf_append_format(&text, "b%zu: *a%zu\n", i, (i * 7919) % anchors);
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(load_timed("1 MiB of anchors and aliases", &text, &doc, &err), 0);
    assert_string_equal(cfbp_yaml_get(doc.root, "b1")->value, "x7919");
    cfbp_yaml_document_release(&doc);

    /* Aliases deep inside collections that carry anchors of their own. */
    cfbp_strbuf_reset(&text);
    for (int level = 0; level < 900; level++) {
        repeat(&text, "  ", (size_t)level);
        cfbp_strbuf_append_format(&text, "n: &open%d\n", level);
    }
    repeat(&text, "  ", 900);
    cfbp_strbuf_append_string(&text, "s: &s x\n");
    repeat(&text, "  ", 900);
    cfbp_strbuf_append_string(&text, "l: [*s");
    while (text.len < MIB - 64)
        cfbp_strbuf_append_string(&text, ", *s");
    cfbp_strbuf_append_string(&text, "]\n");
    assert_int_equal(load_timed("aliases under 900 open anchors", &text, &doc, &err), 0);
    cfbp_yaml_document_release(&doc);
    cfbp_strbuf_release(&text);
}

static void merges_load_in_linear_time_and_count_their_copies(void **state)
{
    (void)state;
    /* A big mapping merged into another: every merged key used to be looked up
     * with cfbp_yaml_get, 43 s for 1 MiB. */
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&text, "base: &base {");
    size_t base_keys = 0;
    for (; text.len < MIB / 2; base_keys++)
        cfbp_strbuf_append_format(&text, "%sk%zu: %zu", base_keys ? ", " : "", base_keys,
                                  base_keys);
    cfbp_strbuf_append_string(&text, "}\nderived:\n  <<: *base\n");
    size_t own_keys = 0;
    while (text.len < MIB - 64)
        cfbp_strbuf_append_format(&text, "  k%zu: own\n", own_keys++ * 2);
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(load_timed("a big merge", &text, &doc, &err), 0);
    struct cfbp_yaml_node *derived = cfbp_yaml_get(doc.root, "derived");
    size_t overlap = (base_keys + 1) / 2 < own_keys ? (base_keys + 1) / 2 : own_keys;
    assert_int_equal(derived->count, own_keys + base_keys - overlap);
    assert_string_equal(cfbp_yaml_get(derived, "k2")->value, "own");
    assert_string_equal(cfbp_yaml_get(derived, "k3")->value, "3");
    cfbp_yaml_document_release(&doc);

    /* Many small merges. */
    cfbp_strbuf_reset(&text);
    cfbp_strbuf_append_string(&text, "b: &b {a: 1, b: 2, c: 3}\n");
    for (size_t i = 0; i < 25000; i++)
        cfbp_strbuf_append_format(&text, "m%zu: {<<: *b, x: 1}\n", i);
    assert_int_equal(load_timed("many merges", &text, &doc, &err), 0);
    assert_int_equal(cfbp_yaml_get(doc.root, "m4321")->count, 4);
    cfbp_yaml_document_release(&doc);

    /*
     * 90000 pairs (180001 nodes), an alias of them (180001 more) and the merge's
     * copies (180000 more): the merge's copies put it over the node budget.
     */
    cfbp_strbuf_reset(&text);
    cfbp_strbuf_append_string(&text, "b: &b {");
    for (size_t i = 0; i < 90000; i++)
        cfbp_strbuf_append_format(&text, "%s%zx: 1", i ? ", " : "", i);
    cfbp_strbuf_append_string(&text, "}\nm:\n  <<: *b\n");
    check_hostile_error("merges over the node budget", &text,
                        "m.yml:3:3: merge keys and aliases expand to more than 500000 nodes or "
                        "16 MiB of text; refusing the document");
    cfbp_strbuf_release(&text);
}

static void long_documents_load_in_linear_time(void **state)
{
    (void)state;
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&text, "l:\n");
    while (text.len < MIB - 64)
        cfbp_strbuf_append_string(&text, "- 1.5e3\n");
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(load_timed("a long block list", &text, &doc, &err), 0);
    /* The resolver's patterns are compiled once, not for every scalar. */
    double started = test_cpu_seconds();
    const struct cfbp_yaml_node *list = cfbp_yaml_get(doc.root, "l");
    for (size_t i = 0; i < list->count; i++)
        assert_int_equal(cfbp_yaml_meaning_of(list->items[i]), CFBP_YAML_FLOAT);
    test_check_cpu_time("the meaning of 131000 numbers", started, HOSTILE_SECONDS);
    cfbp_yaml_document_release(&doc);

    cfbp_strbuf_reset(&text);
    cfbp_strbuf_append_string(&text, "l: [1");
    while (text.len < MIB - 64)
        cfbp_strbuf_append_string(&text, ",1");
    cfbp_strbuf_append_string(&text, "]\n");
    check_hostile_error("a long flow list", &text,
                        "m.yml:1:999999: more than 500000 nodes; refusing the document");
    cfbp_strbuf_release(&text);
}

static void sorts_long_digit_runs_the_way_go_does(void **state)
{
    (void)state;
    /*
     * yaml.v2 adds digit runs up in an int64 that wraps: 9223372036854775808 is
     * the smallest number, 11111111111111111111 and 50000000000000000000 are
     * negative and 40000000000000000000 is 3106511852580896768. (Signed
     * overflow here was undefined behaviour, which UBSan reports.)
     */
    struct cfbp_yaml_node *root = cfbp_yaml_new_mapping();
    const char *keys[] = {
        "k2", "k40000000000000000000", "k11111111111111111111", "k30", "k9223372036854775808",
        "k6", "k50000000000000000000"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
        cfbp_yaml_set(root, keys[i], cfbp_yaml_new_plain("v"));
    check_emit(root, CFBP_YAML_EMIT_SORT_KEYS,
               "k9223372036854775808: v\n"
               "k11111111111111111111: v\n"
               "k50000000000000000000: v\n"
               "k2: v\n"
               "k6: v\n"
               "k30: v\n"
               "k40000000000000000000: v\n");
    cfbp_yaml_free(root);

    /* A hundred nines after a zero wrap around to -1, which sorts before 1. */
    root = cfbp_yaml_new_mapping();
    struct cfbp_strbuf key = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&key, "a0");
    repeat(&key, "9", 100);
    cfbp_yaml_set(root, key.buf, cfbp_yaml_new_plain("1"));
    cfbp_yaml_set(root, "a1", cfbp_yaml_new_plain("2"));
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_yaml_emit(&out, root, CFBP_YAML_EMIT_SORT_KEYS, &err), 0);
    cfbp_strbuf_append_string(&key, ": 1\na1: 2\n");
    assert_string_equal(out.buf, key.buf);
    cfbp_strbuf_release(&out);
    cfbp_strbuf_release(&key);
    cfbp_yaml_free(root);
}

static void sorts_many_keys_in_n_log_n(void **state)
{
    (void)state;
    /* Descending keys were the insertion sort's worst case. */
    struct cfbp_yaml_node *root = cfbp_yaml_new_mapping();
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_char(&text, '{');
    for (size_t i = 100000; i > 0; i--)
        cfbp_strbuf_append_format(&text, "k%zu: %zu, ", i - 1, i - 1);
    cfbp_strbuf_append_string(&text, "a001: second, a01: first}");
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    load_ok(&doc, text.buf);
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    double started = test_cpu_seconds();
    assert_int_equal(cfbp_yaml_emit(&out, doc.root, CFBP_YAML_EMIT_SORT_KEYS, &err), 0);
    test_check_cpu_time("sorting 100000 keys", started, HOSTILE_SECONDS);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&expected, "a01: first\na001: second\n");
    for (size_t i = 0; i < 100000; i++)
        cfbp_strbuf_append_format(&expected, "k%zu: %zu\n", i, i);
    assert_string_equal(out.buf, expected.buf);
    cfbp_strbuf_release(&expected);
    cfbp_strbuf_release(&out);
    cfbp_yaml_document_release(&doc);
    cfbp_strbuf_release(&text);
    cfbp_yaml_free(root);
}

static void writes_what_reads_back_the_same(void **state)
{
    (void)state;
    /* Found by fuzzing: a plain scalar over several lines was written in single
     * quotes, read back as quoted and then written as a literal block. */
    check_round_trip("a: x\n\n  y\n", "a: |-\n  x\n  y\n");
    check_round_trip("a: |-\n  x\n  y\n", "a: |-\n  x\n  y\n");
    /* Found by fuzzing: libyaml writes an empty plain key as '' (a string) and an
     * empty plain document as nothing; both are null, as yaml.v2 writes them.
     * Null keys come first, as in yaml.v2, whatever their spelling. */
    check_round_trip("b: 1\n? \n: a\n", "null: a\nb: 1\n");
    check_round_trip("null: a\nb: 1\n", "null: a\nb: 1\n");
    check_round_trip("{b: 1, ~: d, a: 2}", "~: d\na: 2\nb: 1\n");
    /* Every spelling of null is the same key, as for yaml.v2 (Go's nil). */
    check_load_error("a: 1\n~: 2\nnull: 3\n",
                     "m.yml:3:1: the key 'null' means null, and a null key is already defined on "
                     "line 2");
    check_load_error("? \n: 1\nNULL: 2\n",
                     "m.yml:3:1: the key 'NULL' means null, and a null key is already defined on "
                     "line 1");
    /* yaml.v2's key order is not transitive on wrapped digit runs; the result
     * depends on the keys only, not on their order in the file. */
    check_round_trip("{0a: 1, 11b: 2, 01223372036854775808: 3}",
                     "11b: 2\n01223372036854775808: 3\n0a: 1\n");
    check_round_trip("{01223372036854775808: 3, 0a: 1, 11b: 2}",
                     "11b: 2\n01223372036854775808: 3\n0a: 1\n");
    /* Also when a null key is written with another spelling than it was read. */
    check_round_trip("{0a: 1, ? : 0, 11b: 2, 01223372036854775808: 3}",
                     "null: 0\n01223372036854775808: 3\n0a: 1\n11b: 2\n");
    check_round_trip("null: 0\n01223372036854775808: 3\n0a: 1\n11b: 2\n",
                     "null: 0\n01223372036854775808: 3\n0a: 1\n11b: 2\n");
    check_round_trip("---\n", "null\n");
    check_round_trip("? ''\n: v\n", "\"\": v\n");
}

/* An anchor on the "<<" key itself: the key is spent by the merge, the alias must still work. */
static void an_anchor_on_a_merge_key_stays_usable(void **state)
{
    (void)state;
    static const char *const texts[] = {"- {&k <<: {a: 1}}\n- *k\n", "x: {&k <<: {a: 1}}\ny: *k\n"};
    for (size_t i = 0; i < 2; i++) {
        struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
        struct cfbp_error err = CFBP_ERROR_INIT;
        if (cfbp_yaml_load_string(&doc, "m.yml", texts[i], strlen(texts[i]), &err) < 0)
            fail_msg("%s", err.message);
        const struct cfbp_yaml_node *alias =
            i == 0 ? doc.root->items[1] : cfbp_yaml_get(doc.root, "y");
        assert_string_equal(alias->value, "<<");
        cfbp_yaml_document_release(&doc);
    }
}

/* Aliases of a long scalar copy its text: a small file must not grow to gigabytes. */
static void aliases_of_long_text_are_counted_in_bytes(void **state)
{
    (void)state;
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&text, "a: &a ");
    repeat(&text, "x", 500000);
    cfbp_strbuf_append_string(&text, "\nb: [");
    repeat(&text, "*a, ", 2000); /* a billion bytes of copies from half a megabyte */
    cfbp_strbuf_append_string(&text, "*a]\n");
    check_hostile_error("aliases of 500 kB of text", &text,
                        "m.yml:2:133: aliases expand to more than 500000 nodes or 16 MiB of text; "
                        "refusing the document");
    /* The same through merge keys. */
    cfbp_strbuf_reset(&text);
    cfbp_strbuf_append_string(&text, "a: &a {k: ");
    repeat(&text, "y", 500000);
    cfbp_strbuf_append_string(&text, "}\nl:\n");
    for (int i = 0; i < 40; i++)
        cfbp_strbuf_append_format(&text, "- {<<: *a, n: %d}\n", i);
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(load_timed("merges of 500 kB of text", &text, &doc, &err), -1);
    assert_non_null(strstr(err.message, "16 MiB of text"));
    cfbp_error_clear(&err);
    cfbp_strbuf_release(&text);
}

/*
 * yaml.c reads yaml.v2's resolver shapes with plain scans; here the same
 * regular expressions yaml.v2 uses (POSIX extended) decide instead, over
 * strings made of the characters that matter, and the meanings must agree.
 */
static const char *const resolver_patterns[] = {
    "^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$",
    "^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$",
    "^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\\.[0-9]*)?"
    "(Z|[-+][0-9]{1,2}(:[0-9]{2})?)?)?$",
    "^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\\.[0-9_]*)?$",
};

static bool pattern_matches(regex_t *pattern, const char *text)
{
    return regexec(pattern, text, 0, NULL, 0) == 0;
}

static void check_shapes(regex_t patterns[4], const char *text)
{
    struct cfbp_yaml_node node = {.type = CFBP_YAML_SCALAR, .value = (char *)text};
    node.value_length = strlen(text);
    enum cfbp_yaml_meaning meaning = cfbp_yaml_meaning_of(&node);
    if (meaning == CFBP_YAML_NULL || meaning == CFBP_YAML_BOOL || meaning == CFBP_YAML_MERGE)
        return; /* decided by word lists before any shape */
    char plain[64];
    size_t length = 0;
    for (const char *c = text; *c; c++)
        if (*c != '_')
            plain[length++] = *c;
    plain[length] = '\0';
    bool numeric_start = strchr("-+.0123456789", text[0]) && text[0];
    enum cfbp_yaml_meaning expected = CFBP_YAML_STRING;
    if (!numeric_start)
        expected = CFBP_YAML_STRING;
    else if (pattern_matches(&patterns[0], plain))
        expected = CFBP_YAML_INT;
    else if (pattern_matches(&patterns[1], plain))
        expected = CFBP_YAML_FLOAT;
    else if (pattern_matches(&patterns[2], text))
        expected = meaning == CFBP_YAML_TIMESTAMP ? CFBP_YAML_TIMESTAMP : CFBP_YAML_STRING;
    else if (pattern_matches(&patterns[3], text))
        expected = CFBP_YAML_FLOAT;
    /* A date-shaped text that is no real date falls through to base 60 (never matches it). */
    if (meaning == CFBP_YAML_FLOAT && expected == CFBP_YAML_STRING &&
        strstr(".inf.Inf.INF+.inf+.Inf+.INF-.inf-.Inf-.INF.nan.NaN.NAN", text) && text[0])
        return;
    if (meaning != expected)
        fail_msg("'%s': yaml.c says %d, yaml.v2's patterns say %d", text, meaning, expected);
}

static void resolver_shapes_agree_with_yaml_v2_patterns(void **state)
{
    (void)state;
    regex_t patterns[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(regcomp(&patterns[i], resolver_patterns[i], REG_EXTENDED | REG_NOSUB), 0);
    static const char *const known[] = {
        "0",
        "00",
        "0x",
        "0x1F",
        "0o17",
        "0b101",
        "0b2",
        "-0",
        "+12",
        "1_0",
        "1.",
        ".5",
        "1e5",
        "1.5E-3",
        "e5",
        ".",
        "1:2",
        "1:60",
        "1:59.5",
        "2025-4-30",
        "2025-04-30",
        "2025-02-30",
        "2025-04-30T10:00:00Z",
        "2025-04-30 1:2:3.5+01:00",
        "2025-04-30t1:2:3-1",
        "1.2.3",
        "1.10",
        "v1.2",
        "12345-1-1",
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
        check_shapes(patterns, known[i]);
    static const char alphabet[] = "0123456789-+._:eExXoObBTtZ a";
    unsigned long long state_bits = 0x9e3779b97f4a7c15ULL;
    char text[24];
    for (int round = 0; round < 200000; round++) {
        state_bits ^= state_bits << 13;
        state_bits ^= state_bits >> 7;
        state_bits ^= state_bits << 17;
        size_t length = state_bits % 14;
        unsigned long long bits = state_bits;
        for (size_t i = 0; i < length; i++) {
            if (i % 8 == 0) {
                state_bits ^= state_bits << 13;
                state_bits ^= state_bits >> 7;
                state_bits ^= state_bits << 17;
                bits = state_bits;
            }
            /* Mostly digits, so that numbers and dates come up often. */
            unsigned pick = (unsigned)(bits & 0xff);
            bits >>= 8;
            text[i] =
                pick < 150 ? (char)('0' + pick % 10) : alphabet[pick % (sizeof(alphabet) - 1)];
        }
        text[length] = '\0';
        check_shapes(patterns, text);
    }
    for (int i = 0; i < 4; i++)
        regfree(&patterns[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resolver_shapes_agree_with_yaml_v2_patterns),
        cmocka_unit_test(an_anchor_on_a_merge_key_stays_usable),
        cmocka_unit_test(aliases_of_long_text_are_counted_in_bytes),
        cmocka_unit_test(loads_a_tree_with_positions),
        cmocka_unit_test(keeps_raw_scalar_text),
        cmocka_unit_test(an_empty_document_has_no_root),
        cmocka_unit_test(resolves_aliases_as_copies),
        cmocka_unit_test(applies_merge_keys),
        cmocka_unit_test(refuses_a_merge_of_a_scalar),
        cmocka_unit_test(load_errors_name_file_line_and_column),
        cmocka_unit_test(last_key_wins_takes_the_later_value),
        cmocka_unit_test(an_explicit_document_end_is_fine),
        cmocka_unit_test(refuses_alias_bombs),
        cmocka_unit_test(loads_files),
        cmocka_unit_test(meaning_of_nulls_and_bools),
        cmocka_unit_test(meaning_of_numbers),
        cmocka_unit_test(meaning_of_timestamps),
        cmocka_unit_test(meaning_of_impossible_dates_is_string_like_yaml_v2),
        cmocka_unit_test(quoted_scalars_always_mean_strings),
        cmocka_unit_test(describes_nodes),
        cmocka_unit_test(read_string_reads_and_refuses),
        cmocka_unit_test(expect_and_error_at_name_the_place),
        cmocka_unit_test(set_remove_and_copy),
        cmocka_unit_test(copy_keeps_text_with_nuls_and_positions),
        cmocka_unit_test(emits_the_packaged_manifest_like_yaml_v2),
        cmocka_unit_test(sorts_keys_the_way_yaml_v2_does),
        cmocka_unit_test(emits_collections_in_block_style),
        cmocka_unit_test(double_quotes_strings_that_read_as_other_types),
        cmocka_unit_test(keeps_ordinary_strings_plain),
        cmocka_unit_test(single_quotes_strings_that_cannot_be_plain),
        cmocka_unit_test(writes_multi_line_strings_as_literal_blocks),
        cmocka_unit_test(writes_plain_nodes_as_is),
        cmocka_unit_test(round_trips_loaded_documents),
        cmocka_unit_test(refuses_deep_block_nesting),
        cmocka_unit_test(refuses_deep_flow_nesting),
        cmocka_unit_test(nesting_up_to_the_limit_loads_and_emits),
        cmocka_unit_test(nesting_one_past_the_limit_names_the_place),
        cmocka_unit_test(aliases_cannot_copy_a_node_past_the_limit),
        cmocka_unit_test(frees_copies_and_refuses_to_emit_very_deep_trees),
        cmocka_unit_test(refuses_to_emit_runaway_text),
        cmocka_unit_test(many_keys_load_in_linear_time),
        cmocka_unit_test(many_anchors_and_aliases_load_in_linear_time),
        cmocka_unit_test(merges_load_in_linear_time_and_count_their_copies),
        cmocka_unit_test(long_documents_load_in_linear_time),
        cmocka_unit_test(sorts_long_digit_runs_the_way_go_does),
        cmocka_unit_test(sorts_many_keys_in_n_log_n),
        cmocka_unit_test(writes_what_reads_back_the_same),
        /* Last: with the dangling-anchor bug it crashes under ASan. */
        cmocka_unit_test(merge_sources_with_anchors_stay_usable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
