/*
 * test_json.c - the strict JSON reader and the Go-compatible writer
 * (result.json and staging_info.yml bytes, contract §5.9).
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/json.h"
#include "cfbp/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses text (length bytes) and fails the test on an error. */
static struct cfbp_json *parse_ok(const char *text, size_t length)
{
    struct cfbp_json *value = NULL;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_json_parse(text, length, &value, &err) != 0)
        fail_msg("parsing '%.*s' failed: %s", (int)length, text, err.message);
    assert_null(err.message);
    assert_non_null(value);
    return value;
}

/* Compact form of a parsed document. */
static void check_round_trip(const char *text, const char *expected)
{
    struct cfbp_json *value = parse_ok(text, strlen(text));
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    cfbp_json_write(&out, value);
    if (strcmp(out.buf, expected) != 0)
        fail_msg("write(parse('%s')) = '%s', expected '%s'", text, out.buf, expected);
    cfbp_strbuf_release(&out);
    cfbp_json_free(value);
}

static void check_refused_length(const char *text, size_t length, const char *expected_message)
{
    struct cfbp_json *value = (struct cfbp_json *)&value; /* must be reset to NULL */
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_json_parse(text, length, &value, &err) != -1)
        fail_msg("'%.*s' was accepted", (int)length, text);
    assert_null(value);
    assert_int_equal(err.kind, CFBP_ERROR_INVALID);
    if (strcmp(err.message, expected_message) != 0)
        fail_msg("'%.*s' gave \"%s\", expected \"%s\"", (int)length, text, err.message,
                 expected_message);
    cfbp_error_clear(&err);
}

static void check_refused(const char *text, const char *expected_message)
{
    check_refused_length(text, strlen(text), expected_message);
}

static void check_write_string(const char *text, size_t length, const char *expected)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&out, ">");
    cfbp_json_write_string(&out, text, length);
    bool same = out.buf[0] == '>' && strcmp(out.buf + 1, expected) == 0; /* appends */
    if (!same)
        fprintf(stderr, "write_string of %zu bytes = '%s', expected '%s'\n", length, out.buf + 1,
                expected);
    cfbp_strbuf_release(&out);
    assert_true(same);
}

/* Writes a string literal (all its bytes, NULs included) and compares. */
#define CHECK_WRITE(literal, expected) check_write_string(literal, sizeof(literal) - 1, expected)

/* --- reading --- */

static void reads_every_type(void **state)
{
    (void)state;
    const char *text = "{\"n\":null,\"t\":true,\"f\":false,\"num\":-1.5e+10,\"s\":\"str\","
                       "\"a\":[1,[],{}],\"o\":{\"k\":\"v\"}}";
    struct cfbp_json *root = parse_ok(text, strlen(text));
    assert_int_equal(root->type, CFBP_JSON_OBJECT);
    assert_int_equal(root->count, 7);
    assert_string_equal(root->keys[0], "n");
    assert_string_equal(root->keys[6], "o");
    assert_int_equal(cfbp_json_get(root, "n")->type, CFBP_JSON_NULL);
    assert_int_equal(cfbp_json_get(root, "t")->type, CFBP_JSON_TRUE);
    assert_int_equal(cfbp_json_get(root, "f")->type, CFBP_JSON_FALSE);
    const struct cfbp_json *number = cfbp_json_get(root, "num");
    assert_int_equal(number->type, CFBP_JSON_NUMBER);
    assert_string_equal(number->text, "-1.5e+10");
    assert_int_equal(number->text_length, 8);
    assert_string_equal(cfbp_json_string(cfbp_json_get(root, "s")), "str");
    const struct cfbp_json *array = cfbp_json_get(root, "a");
    assert_int_equal(array->type, CFBP_JSON_ARRAY);
    assert_int_equal(array->count, 3);
    assert_string_equal(array->values[0]->text, "1");
    assert_int_equal(array->values[1]->type, CFBP_JSON_ARRAY);
    assert_int_equal(array->values[1]->count, 0);
    assert_int_equal(array->values[2]->type, CFBP_JSON_OBJECT);
    assert_int_equal(array->values[2]->count, 0);
    assert_string_equal(cfbp_json_string(cfbp_json_get(cfbp_json_get(root, "o"), "k")), "v");
    cfbp_json_free(root);
}

static void reads_bare_scalars_as_documents(void **state)
{
    (void)state;
    struct cfbp_json *value = parse_ok("null", 4);
    assert_int_equal(value->type, CFBP_JSON_NULL);
    cfbp_json_free(value);
    value = parse_ok(" \t\r\n\"x\" \n", 9);
    assert_string_equal(cfbp_json_string(value), "x");
    cfbp_json_free(value);
    value = parse_ok("-0", 2);
    assert_string_equal(value->text, "-0");
    cfbp_json_free(value);
}

static void writes_back_compact_and_in_order(void **state)
{
    (void)state;
    check_round_trip(
        "{ \"z\" : 1 ,\n\t\"a\" : [ true , false , null ] ,\r\n \"m\" : { } , \"e\":[ ] }",
        "{\"z\":1,\"a\":[true,false,null],\"m\":{},\"e\":[]}");
    check_round_trip("[0, -0, 1E+2, 0.000, 1e-7, 12345678901234567890123456789]",
                     "[0,-0,1E+2,0.000,1e-7,12345678901234567890123456789]");
    check_round_trip("\"\"", "\"\"");
    check_round_trip("{\"html\":\"<b>&amp;</b>\",\"sep\":\"\\u2028\\u2029\"}",
                     "{\"html\":\"\\u003cb\\u003e\\u0026amp;\\u003c/b\\u003e\","
                     "\"sep\":\"\\u2028\\u2029\"}");
    check_round_trip("{\"<key>\":\"\\/\"}", "{\"\\u003ckey\\u003e\":\"/\"}");
}

static void decodes_escapes(void **state)
{
    (void)state;
    const char *text = "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\\ud83d\\ude00\\uFFFF\"";
    struct cfbp_json *value = parse_ok(text, strlen(text));
    const char expected[] = "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbf";
    assert_int_equal(value->text_length, sizeof(expected) - 1);
    assert_memory_equal(value->text, expected, sizeof(expected));
    cfbp_json_free(value);
}

static void keeps_embedded_nuls(void **state)
{
    (void)state;
    const char *text = "{\"a\\u0000b\":\"x\\u0000y\"}";
    struct cfbp_json *value = parse_ok(text, strlen(text));
    assert_int_equal(value->key_lengths[0], 3);
    assert_memory_equal(value->keys[0], "a\0b", 4);
    assert_int_equal(value->values[0]->text_length, 3);
    assert_memory_equal(value->values[0]->text, "x\0y", 4);
    assert_null(cfbp_json_get(value, "a")); /* "a" is not "a\0b" */
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    cfbp_json_write(&out, value);
    assert_string_equal(out.buf, "{\"a\\u0000b\":\"x\\u0000y\"}");
    cfbp_strbuf_release(&out);
    cfbp_json_free(value);
}

static void keeps_valid_utf8_as_is(void **state)
{
    (void)state;
    const char *text = "[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd\"]";
    check_round_trip(text, text);
}

static void skips_a_byte_order_mark(void **state)
{
    (void)state;
    const char *text = "\xef\xbb\xbf{\"a\":1}";
    struct cfbp_json *value = parse_ok(text, strlen(text));
    assert_int_equal(value->type, CFBP_JSON_OBJECT);
    assert_int_equal(value->start, 3);
    assert_int_equal(value->end, strlen(text));
    cfbp_json_free(value);
    /* Only one, and only at the start; the skipped mark is not counted as a column. */
    check_refused("\xef\xbb\xbf\xef\xbb\xbf{}", "line 1, column 1: unexpected character; expected "
                                                "a value");
    check_refused("{}\xef\xbb\xbf", "line 1, column 3: unexpected text after the JSON value");
    check_refused("\xef\xbb\xbf", "line 1, column 1: unexpected end of input; expected a value");
}

static void records_spans(void **state)
{
    (void)state;
    const char *text = "  {\"a\": [1, \"x\\n\"], \"b\" : {\"c\": null}, \"d\": -12.5e3}  ";
    struct cfbp_json *root = parse_ok(text, strlen(text));
    assert_int_equal(root->start, 2);
    assert_int_equal(root->end, strlen(text) - 2);
    const struct cfbp_json *a = cfbp_json_get(root, "a");
    assert_memory_equal(text + a->start, "[1, \"x\\n\"]", a->end - a->start);
    assert_int_equal(a->end - a->start, strlen("[1, \"x\\n\"]"));
    const struct cfbp_json *x = a->values[1];
    assert_int_equal(x->end - x->start, 5);
    assert_memory_equal(text + x->start, "\"x\\n\"", 5);
    const struct cfbp_json *b = cfbp_json_get(root, "b");
    assert_int_equal(b->end - b->start, strlen("{\"c\": null}"));
    assert_memory_equal(text + b->start, "{\"c\": null}", b->end - b->start);
    const struct cfbp_json *c = cfbp_json_get(b, "c");
    assert_memory_equal(text + c->start, "null", 4);
    assert_int_equal(c->end - c->start, 4);
    const struct cfbp_json *d = cfbp_json_get(root, "d");
    assert_int_equal(d->end - d->start, 7);
    assert_memory_equal(text + d->start, "-12.5e3", 7);
    cfbp_json_free(root);
}

static void reads_only_length_bytes(void **state)
{
    (void)state;
    struct cfbp_json *value = parse_ok("[1]garbage", 3);
    assert_int_equal(value->count, 1);
    cfbp_json_free(value);
    value = parse_ok("12345", 2);
    assert_string_equal(value->text, "12");
    cfbp_json_free(value);
    check_refused_length("\"abc\"", 4, "line 1, column 1: a string is not closed");
    check_refused_length("true", 3, "line 1, column 1: unexpected character; expected a value");
    check_refused_length("[1,\0]", 5, "line 1, column 4: unexpected character; expected a value");
}

static void lookups_are_type_safe(void **state)
{
    (void)state;
    struct cfbp_json *value = parse_ok("[{\"k\":1}]", 9);
    assert_null(cfbp_json_get(value, "k")); /* an array, not an object */
    assert_null(cfbp_json_get(NULL, "k"));
    assert_null(cfbp_json_get(value->values[0], "missing"));
    assert_non_null(cfbp_json_get(value->values[0], "k"));
    assert_null(cfbp_json_string(value));
    assert_null(cfbp_json_string(cfbp_json_get(value->values[0], "k")));
    assert_null(cfbp_json_string(NULL));
    cfbp_json_free(value);
    cfbp_json_free(NULL);

    assert_string_equal(cfbp_json_type_name(CFBP_JSON_NULL), "null");
    assert_string_equal(cfbp_json_type_name(CFBP_JSON_TRUE), "boolean");
    assert_string_equal(cfbp_json_type_name(CFBP_JSON_FALSE), "boolean");
    assert_string_equal(cfbp_json_type_name(CFBP_JSON_NUMBER), "number");
    assert_string_equal(cfbp_json_type_name(CFBP_JSON_STRING), "string");
    assert_string_equal(cfbp_json_type_name(CFBP_JSON_ARRAY), "array");
    assert_string_equal(cfbp_json_type_name(CFBP_JSON_OBJECT), "object");
}

/* --- refusing --- */

static void refuses_what_rfc_8259_does_not_allow(void **state)
{
    (void)state;
    check_refused("[1,]", "line 1, column 4: unexpected character; expected a value");
    check_refused("{\"a\":1,}", "line 1, column 8: expected a string as an object key");
    check_refused("// comment\n1", "line 1, column 1: unexpected character; expected a value");
    check_refused("[1 /* c */]", "line 1, column 4: expected ',' or ']' in an array");
    check_refused("01", "line 1, column 2: unexpected text after the JSON value");
    check_refused("-01", "line 1, column 3: unexpected text after the JSON value");
    check_refused("[00]", "line 1, column 3: expected ',' or ']' in an array");
    check_refused("1.", "line 1, column 3: a number needs a digit after '.'");
    check_refused("1.e5", "line 1, column 3: a number needs a digit after '.'");
    check_refused("1e", "line 1, column 3: a number needs a digit in its exponent");
    check_refused("1e+", "line 1, column 4: a number needs a digit in its exponent");
    check_refused("-", "line 1, column 2: a number needs a digit here");
    check_refused("-a", "line 1, column 2: a number needs a digit here");
    check_refused(".5", "line 1, column 1: unexpected character; expected a value");
    check_refused("+1", "line 1, column 1: unexpected character; expected a value");
    check_refused("NaN", "line 1, column 1: unexpected character; expected a value");
    check_refused("tru", "line 1, column 1: unexpected character; expected a value");
    check_refused("True", "line 1, column 1: unexpected character; expected a value");
    check_refused("nulls", "line 1, column 5: unexpected text after the JSON value");
    check_refused("'a'", "line 1, column 1: unexpected character; expected a value");
    check_refused("{a:1}", "line 1, column 2: expected a string as an object key");
    check_refused("{1:2}", "line 1, column 2: expected a string as an object key");
    check_refused("{\"a\" 1}", "line 1, column 6: expected ':' after an object key");
    check_refused("{\"a\":1 \"b\":2}", "line 1, column 8: expected ',' or '}' in an object");
    check_refused("[1 2]", "line 1, column 4: expected ',' or ']' in an array");
    check_refused("[1", "line 1, column 3: an array is not closed");
    check_refused("[", "line 1, column 2: unexpected end of input; expected a value");
    check_refused("{\"a\":1", "line 1, column 7: an object is not closed");
    check_refused("{\"a\":", "line 1, column 6: unexpected end of input; expected a value");
    check_refused("{", "line 1, column 2: expected a string as an object key");
    check_refused("\"abc", "line 1, column 1: a string is not closed");
    check_refused("\"abc\\", "line 1, column 5: a string is not closed");
    check_refused("", "line 1, column 1: unexpected end of input; expected a value");
    check_refused("   ", "line 1, column 4: unexpected end of input; expected a value");
    check_refused("{} x", "line 1, column 4: unexpected text after the JSON value");
    check_refused("1 2", "line 1, column 3: unexpected text after the JSON value");
    check_refused("[]]", "line 1, column 3: unexpected text after the JSON value");
    check_refused("\f1", "line 1, column 1: unexpected character; expected a value");
    check_refused("\xc2\xa0"
                  "1",
                  "line 1, column 1: unexpected character; expected a value");
}

static void refuses_bad_strings(void **state)
{
    (void)state;
    check_refused("\"\\x\"", "line 1, column 2: unknown escape sequence in a string");
    check_refused("\"\\U0041\"", "line 1, column 2: unknown escape sequence in a string");
    check_refused("\"\\'\"", "line 1, column 2: unknown escape sequence in a string");
    check_refused("\"\\u12\"", "line 1, column 4: a \\u escape needs four hex digits");
    check_refused("\"\\u12G4\"", "line 1, column 6: a \\u escape needs four hex digits");
    check_refused("\"a\tb\"", "line 1, column 3: a control character must be escaped in a string");
    check_refused("\"a\nb\"", "line 1, column 3: a control character must be escaped in a string");
    check_refused_length("\"a\0b\"", 5,
                         "line 1, column 3: a control character must be escaped in a string");
}

static void refuses_lone_surrogates(void **state)
{
    (void)state;
    check_refused("\"\\ud800\"", "line 1, column 2: a high surrogate without its low half");
    check_refused("\"\\ud800x\"", "line 1, column 2: a high surrogate without its low half");
    check_refused("\"\\udbff\\n\"", "line 1, column 2: a high surrogate without its low half");
    check_refused("\"\\ud800\\u0041\"", "line 1, column 8: a high surrogate without its low half");
    check_refused("\"\\ud800\\ud800\"", "line 1, column 8: a high surrogate without its low half");
    check_refused("\"\\udc00\"", "line 1, column 2: a lone low surrogate in a \\u escape");
    check_refused("\"\\uDFFF\"", "line 1, column 2: a lone low surrogate in a \\u escape");
}

static void refuses_invalid_utf8(void **state)
{
    (void)state;
    check_refused("\"a\xff"
                  "b\"",
                  "line 1, column 3: invalid UTF-8 in a string");
    check_refused("\"\x80\"", "line 1, column 2: invalid UTF-8 in a string");
    check_refused("\"\xc0\xaf\"", "line 1, column 2: invalid UTF-8 in a string");     /* overlong */
    check_refused("\"\xe0\x80\xaf\"", "line 1, column 2: invalid UTF-8 in a string"); /* overlong */
    check_refused("\"\xed\xa0\x80\"",
                  "line 1, column 2: invalid UTF-8 in a string"); /* surrogate */
    check_refused("\"\xf4\x90\x80\x80\"",
                  "line 1, column 2: invalid UTF-8 in a string");                 /* > 10FFFF */
    check_refused("\"\xe2\x82\"", "line 1, column 2: invalid UTF-8 in a string"); /* truncated */
    check_refused("\"\xe2\x82", "line 1, column 2: invalid UTF-8 in a string");
    check_refused("\"\xf8\x88\x80\x80\x80\"", "line 1, column 2: invalid UTF-8 in a string");
}

static void refuses_duplicate_keys(void **state)
{
    (void)state;
    check_refused("{\"a\":1,\"a\":2}", "line 1, column 8: an object has the same key twice");
    check_refused("{\"a\":1,\"\\u0061\":2}", "line 1, column 8: an object has the same key twice");
    check_refused("{\n  \"name\": \"x\",\n  \"other\": {\"name\": 1},\n  \"name\": \"y\"\n}",
                  "line 4, column 3: an object has the same key twice");
    /* The same name in different objects, or differing only after a NUL, is fine. */
    struct cfbp_json *value = parse_ok("[{\"a\":1},{\"a\":2}]", 17);
    cfbp_json_free(value);
    const char *text = "{\"a\":1,\"a\\u0000\":2}";
    value = parse_ok(text, strlen(text));
    assert_int_equal(value->count, 2);
    cfbp_json_free(value);
}

static void counts_lines_and_characters(void **state)
{
    (void)state;
    check_refused("{\n\n  \"a\": [1,\n   ]\n}", "line 4, column 4: unexpected character; expected "
                                                "a value");
    check_refused("\r\n[1,\r\n x]", "line 3, column 2: unexpected character; expected a value");
    /* Columns count characters, not bytes: "é" is one column. */
    check_refused("[\"\xc3\xa9\" x]", "line 1, column 6: expected ',' or ']' in an array");
    check_refused("[\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\" x]",
                  "line 1, column 7: expected ',' or ']' in an array");
}

static char *nested_arrays(size_t depth, const char *inside)
{
    size_t inside_length = strlen(inside);
    char *text = malloc(2 * depth + inside_length + 1);
    memset(text, '[', depth);
    memcpy(text + depth, inside, inside_length);
    memset(text + depth + inside_length, ']', depth);
    text[2 * depth + inside_length] = '\0';
    return text;
}

static void accepts_nesting_up_to_the_limit(void **state)
{
    (void)state;
    char *text = nested_arrays(CFBP_JSON_MAX_DEPTH, "");
    struct cfbp_json *value = parse_ok(text, strlen(text));
    cfbp_json_free(value);
    free(text);
    text = nested_arrays(CFBP_JSON_MAX_DEPTH, "1");
    value = parse_ok(text, strlen(text));
    const struct cfbp_json *inner = value;
    for (int i = 1; i < CFBP_JSON_MAX_DEPTH; i++)
        inner = inner->values[0];
    assert_int_equal(inner->type, CFBP_JSON_ARRAY);
    assert_string_equal(inner->values[0]->text, "1");
    cfbp_json_free(value);
    free(text);
}

/* True when text is refused as too deeply nested; frees everything before returning. */
static bool refused_as_too_deep(const char *text)
{
    struct cfbp_json *value = NULL;
    struct cfbp_error err = CFBP_ERROR_INIT;
    int result = cfbp_json_parse(text, strlen(text), &value, &err);
    bool refused = result == -1 && value == NULL && err.kind == CFBP_ERROR_INVALID &&
                   cfbp_string_starts_with(err.message, "line 1, column ") &&
                   cfbp_string_ends_with(err.message, ": nesting is too deep");
    if (!refused)
        fprintf(stderr, "%zu nested levels: parse returned %d (%s)\n", strlen(text) / 2, result,
                err.message ? err.message : "no error");
    cfbp_json_free(value);
    cfbp_error_clear(&err);
    return refused;
}

static void refuses_nesting_past_the_limit(void **state)
{
    (void)state;
    char *text = nested_arrays(CFBP_JSON_MAX_DEPTH + 1, "1");
    bool refused = refused_as_too_deep(text);
    free(text);
    assert_true(refused);
    text = nested_arrays(100000, "");
    refused = refused_as_too_deep(text);
    free(text);
    assert_true(refused);
    char *objects = malloc(6 * 1000 + 1);
    for (int i = 0; i < 1000; i++)
        memcpy(objects + 5 * i, "{\"a\":", 5);
    objects[5000] = '\0';
    refused = refused_as_too_deep(objects);
    free(objects);
    assert_true(refused);
}

static void refuses_257_nested_empty_arrays(void **state)
{
    (void)state;
    /*
     * CFBP_JSON_MAX_DEPTH bounds how deep containers nest. 257 nested arrays are
     * 257 levels whether or not the innermost one holds a value.
     */
    char *text = nested_arrays(CFBP_JSON_MAX_DEPTH + 1, "");
    bool refused = refused_as_too_deep(text);
    free(text);
    assert_true(refused);
}

/* --- writing --- */

static void writes_strings_as_go_does(void **state)
{
    (void)state;
    CHECK_WRITE("", "\"\"");
    CHECK_WRITE("plain text/with slash", "\"plain text/with slash\"");
    CHECK_WRITE("<script>&</script>", "\"\\u003cscript\\u003e\\u0026\\u003c/script\\u003e\"");
    CHECK_WRITE("\"\\", "\"\\\"\\\\\"");
    CHECK_WRITE("\n\r\t", "\"\\n\\r\\t\"");
    CHECK_WRITE("\x01\x1f\x0b", "\"\\u0001\\u001f\\u000b\"");
    CHECK_WRITE("a\0b", "\"a\\u0000b\"");
    CHECK_WRITE("\x7f", "\"\x7f\"");
    CHECK_WRITE("'", "\"'\"");
    CHECK_WRITE("\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\"");
    CHECK_WRITE("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    CHECK_WRITE("\xef\xbf\xbd", "\"\xef\xbf\xbd\"");
}

static void replaces_invalid_utf8_byte_by_byte(void **state)
{
    (void)state;
    /* Go's encoding/json writes \ufffd for each byte utf8.DecodeRune cannot take. */
    CHECK_WRITE("a\xff"
                "b",
                "\"a\\ufffdb\"");
    CHECK_WRITE("\x80", "\"\\ufffd\"");
    CHECK_WRITE("\xe2\x82", "\"\\ufffd\\ufffd\"");
    CHECK_WRITE("\xe2\x82x", "\"\\ufffd\\ufffdx\"");
    CHECK_WRITE("\xc0\xaf", "\"\\ufffd\\ufffd\"");
    CHECK_WRITE("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
    CHECK_WRITE("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    /* Only length bytes are read: a cut-off sequence at the end is invalid. */
    check_write_string("\xc3\xa9", 1, "\"\\ufffd\"");
}

static void escapes_backspace_and_form_feed_as_go_does(void **state)
{
    (void)state;
    /*
     * Since Go 1.22 encoding/json writes '\b' and '\f' as \b and \f (before: \u0008 and
     * \u000c). The builder that writes result.json is built with a current Go.
     */
    CHECK_WRITE("\b\f", "\"\\b\\f\"");
}

static void finds_duplicates_in_large_objects(void **state)
{
    (void)state;
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_char(&text, '{');
    for (int i = 0; i < 5000; i++)
        cfbp_strbuf_append_format(&text, "%s\"k%d\":%d", i ? "," : "", i, i);
    size_t open_length = text.len;
    cfbp_strbuf_append_char(&text, '}');
    struct cfbp_json *value = NULL;
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_json_parse(text.buf, text.len, &value, &err), 0);
    assert_int_equal(value->count, 5000);
    assert_string_equal(cfbp_json_get(value, "k4999")->text, "4999");
    cfbp_json_free(value);
    /* The same object with "k2500" again at the end. */
    cfbp_strbuf_set_length(&text, open_length);
    cfbp_strbuf_append_string(&text, ",\"k2500\":0}");
    assert_int_equal(cfbp_json_parse(text.buf, text.len, &value, &err), -1);
    assert_null(value);
    assert_non_null(strstr(err.message, "an object has the same key twice"));
    cfbp_error_clear(&err);
    cfbp_strbuf_release(&text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_duplicates_in_large_objects),
        cmocka_unit_test(reads_every_type),
        cmocka_unit_test(reads_bare_scalars_as_documents),
        cmocka_unit_test(writes_back_compact_and_in_order),
        cmocka_unit_test(decodes_escapes),
        cmocka_unit_test(keeps_embedded_nuls),
        cmocka_unit_test(keeps_valid_utf8_as_is),
        cmocka_unit_test(skips_a_byte_order_mark),
        cmocka_unit_test(records_spans),
        cmocka_unit_test(reads_only_length_bytes),
        cmocka_unit_test(lookups_are_type_safe),
        cmocka_unit_test(refuses_what_rfc_8259_does_not_allow),
        cmocka_unit_test(refuses_bad_strings),
        cmocka_unit_test(refuses_lone_surrogates),
        cmocka_unit_test(refuses_invalid_utf8),
        cmocka_unit_test(refuses_duplicate_keys),
        cmocka_unit_test(counts_lines_and_characters),
        cmocka_unit_test(accepts_nesting_up_to_the_limit),
        cmocka_unit_test(refuses_nesting_past_the_limit),
        cmocka_unit_test(refuses_257_nested_empty_arrays),
        cmocka_unit_test(writes_strings_as_go_does),
        cmocka_unit_test(replaces_invalid_utf8_byte_by_byte),
        cmocka_unit_test(escapes_backspace_and_form_feed_as_go_does),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
