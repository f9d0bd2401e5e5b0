/*
 * fuzz_yaml.c - the YAML loader and emitter (lib/yaml.c) on any bytes.
 *
 * A load either fails with an error naming the file, or gives a tree that
 * keeps the loader's promises: lists and mappings nest at most
 * CFBP_YAML_MAX_DEPTH levels, mapping keys are single values, all different.
 * A loaded tree is copied (the copy must be equal) and written out twice:
 *   - in its own order, and read back: the same tree, value for value, each
 *     scalar meaning the same (a string stays a string, null stays null);
 *   - with sorted keys, read back and written again: the same bytes.
 * Writing may refuse only a runaway text (over CFBP_YAML_MAX_EMIT_BYTES).
 */
#include "fuzz_support.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/strbuf.h"
#include "cfbp/yaml.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Trees bigger than this are checked but not written out: the round trip of a
 * 500000-node alias expansion would take seconds per input. */
#define ROUND_TRIP_NODES 100000

struct pair {
    const struct cfbp_yaml_node *a, *b;
    size_t level;
};

static int compare_texts(const void *a, const void *b)
{
    const struct cfbp_yaml_node *x = *(const struct cfbp_yaml_node *const *)a;
    const struct cfbp_yaml_node *y = *(const struct cfbp_yaml_node *const *)b;
    size_t length = x->value_length < y->value_length ? x->value_length : y->value_length;
    int order = memcmp(x->value, y->value, length);
    if (order)
        return order;
    return x->value_length < y->value_length ? -1 : x->value_length > y->value_length;
}

static void check_keys(const struct cfbp_yaml_node *mapping)
{
    if (mapping->count < 2)
        return;
    const struct cfbp_yaml_node **keys = cfbp_xmalloc(mapping->count * sizeof(*keys));
    for (size_t i = 0; i < mapping->count; i++)
        keys[i] = mapping->keys[i];
    qsort(keys, mapping->count, sizeof(*keys), compare_texts);
    for (size_t i = 1; i < mapping->count; i++)
        if (compare_texts(&keys[i - 1], &keys[i]) == 0)
            fuzz_fail("the key '%s' is in one mapping twice", keys[i]->value);
    free(keys);
}

/*
 * Walks a and b side by side (b may be NULL: then a alone is checked) and
 * returns how many nodes a has. exact: quoting must match too (a copy);
 * otherwise only what a scalar means (writing may quote or unquote it).
 */
static size_t walk(const struct cfbp_yaml_node *a, const struct cfbp_yaml_node *b, bool exact)
{
    struct pair *stack = NULL;
    size_t count = 0, alloc = 0, nodes = 0;
    CFBP_GROW(stack, alloc, 1);
    stack[count++] = (struct pair){a, b, 0};
    while (count) {
        struct pair pair = stack[--count];
        nodes++;
        const struct cfbp_yaml_node *x = pair.a, *y = pair.b;
        size_t level = pair.level + (x->type == CFBP_YAML_SCALAR ? 0 : 1);
        if (level > CFBP_YAML_MAX_DEPTH)
            fuzz_fail("a loaded tree nests %zu levels deep", level);
        if (x->type == CFBP_YAML_SCALAR && (!x->value || strlen(x->value) > x->value_length))
            fuzz_fail("a scalar's text and length disagree");
        if (x->type == CFBP_YAML_MAPPING) {
            for (size_t i = 0; i < x->count; i++)
                if (x->keys[i]->type != CFBP_YAML_SCALAR)
                    fuzz_fail("a mapping key is %s", cfbp_yaml_describe(x->keys[i]));
            if (!y)
                check_keys(x);
        }
        if (y) {
            if (x->type != y->type || x->count != y->count)
                fuzz_fail("%s with %zu entries came back as %s with %zu (line %zu)",
                          cfbp_yaml_describe(x), x->count, cfbp_yaml_describe(y), y->count,
                          x->line);
            /* An empty plain key or root is written as null (yaml.v2's spelling). */
            bool both_null = !exact && cfbp_yaml_is_null(x) && cfbp_yaml_is_null(y);
            if (x->type == CFBP_YAML_SCALAR && !both_null &&
                (x->value_length != y->value_length ||
                 memcmp(x->value, y->value, x->value_length) != 0 ||
                 cfbp_yaml_meaning_of(x) != cfbp_yaml_meaning_of(y) ||
                 (exact && x->quoted != y->quoted)))
                fuzz_fail("the scalar '%s' (%s, line %zu) came back as '%s' (%s)", x->value,
                          cfbp_yaml_describe(x), x->line, y->value, cfbp_yaml_describe(y));
            if (exact && (x->line != y->line || x->column != y->column))
                fuzz_fail("a copy moved from %zu:%zu to %zu:%zu", x->line, x->column, y->line,
                          y->column);
        }
        size_t children = x->type == CFBP_YAML_SEQUENCE  ? x->count
                          : x->type == CFBP_YAML_MAPPING ? 2 * x->count
                                                         : 0;
        CFBP_GROW(stack, alloc, count + children);
        for (size_t i = 0; i < children; i++) {
            const struct cfbp_yaml_node *from_x = x->type == CFBP_YAML_SEQUENCE ? x->items[i]
                                                  : i % 2                       ? x->values[i / 2]
                                                                                : x->keys[i / 2];
            const struct cfbp_yaml_node *from_y = !y                              ? NULL
                                                  : y->type == CFBP_YAML_SEQUENCE ? y->items[i]
                                                  : i % 2                         ? y->values[i / 2]
                                                                                  : y->keys[i / 2];
            stack[count++] = (struct pair){from_x, from_y, level};
        }
    }
    free(stack);
    return nodes;
}

/* Writes root; false when the emitter refused a runaway text (the only refusal allowed). */
static bool emit(const struct cfbp_yaml_node *root, unsigned flags, struct cfbp_strbuf *out)
{
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_yaml_emit(out, root, flags, &err) == 0)
        return true;
    fuzz_expect_prefix(err.message, "cannot write YAML: the text would be longer than");
    cfbp_error_clear(&err);
    return false;
}

static void load_written(struct cfbp_yaml_document *doc, const struct cfbp_strbuf *text)
{
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_yaml_load_string(doc, "out.yml", text->buf, text->len, &err) < 0)
        fuzz_fail("what the emitter wrote does not load: %s\n--- written ---\n%s", err.message,
                  text->buf);
}

static void round_trip(const struct cfbp_yaml_node *root)
{
    struct cfbp_strbuf first = CFBP_STRBUF_INIT, second = CFBP_STRBUF_INIT;
    struct cfbp_yaml_document again = CFBP_YAML_DOCUMENT_INIT;
    if (emit(root, 0, &first)) {
        load_written(&again, &first);
        if (!again.root)
            fuzz_fail("the emitter wrote an empty document:\n%s", first.buf);
        walk(root, again.root, false);
        cfbp_yaml_document_release(&again);
    }
    cfbp_strbuf_reset(&first);
    if (emit(root, CFBP_YAML_EMIT_SORT_KEYS, &first)) {
        load_written(&again, &first);
        if (!emit(again.root, CFBP_YAML_EMIT_SORT_KEYS, &second) ||
            strcmp(first.buf, second.buf) != 0)
            fuzz_fail("writing is not stable:\n--- first ---\n%s--- second ---\n%s", first.buf,
                      second.buf);
        cfbp_yaml_document_release(&again);
    }
    cfbp_strbuf_release(&first);
    cfbp_strbuf_release(&second);
}

/*
 * The lenient load (a repeated key's last value wins, replaced in place while anchors may
 * still point into the old value): whatever the strict load accepts, it accepts with the same
 * tree, and it never fails where the strict one succeeds.
 */
static void last_key_wins(const uint8_t *data, size_t size, const struct cfbp_yaml_node *strict)
{
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_yaml_load_string_with_flags(&doc, "in.yml", (const char *)data, size,
                                         CFBP_YAML_LAST_KEY_WINS, &err) < 0) {
        fuzz_expect_prefix(err.message, "in.yml:");
        if (strict)
            fuzz_fail("the lenient load refused what the strict load took: %s", err.message);
        cfbp_error_clear(&err);
        return;
    }
    if (doc.root) {
        walk(doc.root, NULL, false);
        if (strict)
            walk(strict, doc.root, true);
    }
    cfbp_yaml_document_release(&doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    int loaded = cfbp_yaml_load_string(&doc, "in.yml", (const char *)data, size, &err);
    last_key_wins(data, size, loaded == 0 ? doc.root : NULL);
    if (loaded < 0) {
        fuzz_expect_prefix(err.message, "in.yml:");
        if (doc.root || doc.name)
            fuzz_fail("a failed load left a document behind");
        cfbp_error_clear(&err);
        return 0;
    }
    if (doc.root) {
        size_t nodes = walk(doc.root, NULL, false);
        struct cfbp_yaml_node *copy = cfbp_yaml_copy(doc.root);
        walk(doc.root, copy, true);
        cfbp_yaml_free(copy);
        if (nodes <= ROUND_TRIP_NODES)
            round_trip(doc.root);
    }
    cfbp_yaml_document_release(&doc);
    return 0;
}
