/*
 * fuzz_json.c - the JSON reader and writer (lib/json.c) on any bytes.
 *
 * Parsing either fails with "line L, column C: ..." or gives a tree whose
 * byte spans lie inside the input, where each span (a sub-document passed on
 * verbatim) parses to the same value. Writing a tree and parsing it back
 * writes the same bytes again. Writing the raw input as a JSON string always
 * gives valid JSON that reads back as the input (invalid UTF-8 becoming
 * U+FFFD, as Go writes it).
 */
#include "fuzz_support.h"

#include "cfbp/error.h"
#include "cfbp/json.h"
#include "cfbp/strbuf.h"

#include <stdbool.h>
#include <string.h>

/* Spans checked per input: each check parses its span again. */
#define SPAN_CHECKS 16

static struct cfbp_json *parse_or_fail(const char *text, size_t length, const char *what)
{
    struct cfbp_json *value = NULL;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_json_parse(text, length, &value, &err) < 0)
        fuzz_fail("%s does not parse: %s\n--- text ---\n%.*s", what, err.message, (int)length,
                  text);
    return value;
}

static void check_span(const char *text, size_t size, const struct cfbp_json *value)
{
    if (value->start > value->end || value->end > size)
        fuzz_fail("a span [%zu, %zu) is outside the %zu input bytes", value->start, value->end,
                  size);
    struct cfbp_json *again =
        parse_or_fail(text + value->start, value->end - value->start, "a value's span");
    struct cfbp_strbuf a = CFBP_STRBUF_INIT, b = CFBP_STRBUF_INIT;
    cfbp_json_write(&a, value);
    cfbp_json_write(&b, again);
    if (strcmp(a.buf, b.buf) != 0)
        fuzz_fail("a span reads as %s, the value is %s", b.buf, a.buf);
    cfbp_strbuf_release(&a);
    cfbp_strbuf_release(&b);
    cfbp_json_free(again);
}

static void check_tree(const char *text, size_t size, const struct cfbp_json *root)
{
    check_span(text, size, root);
    for (size_t i = 0; i < root->count && i < SPAN_CHECKS; i++)
        check_span(text, size, root->values[i]);

    struct cfbp_strbuf first = CFBP_STRBUF_INIT, second = CFBP_STRBUF_INIT;
    cfbp_json_write(&first, root);
    struct cfbp_json *again = parse_or_fail(first.buf, first.len, "written JSON");
    cfbp_json_write(&second, again);
    if (first.len != second.len || memcmp(first.buf, second.buf, first.len) != 0)
        fuzz_fail("writing is not stable:\n%s\n%s", first.buf, second.buf);
    cfbp_json_free(again);
    cfbp_strbuf_release(&first);
    cfbp_strbuf_release(&second);
}

static void check_string_writing(const uint8_t *data, size_t size)
{
    struct cfbp_strbuf written = CFBP_STRBUF_INIT, rewritten = CFBP_STRBUF_INIT;
    cfbp_json_write_string(&written, (const char *)data, size);
    struct cfbp_json *value = parse_or_fail(written.buf, written.len, "a written string");
    if (value->type != CFBP_JSON_STRING)
        fuzz_fail("a written string reads as %s", cfbp_json_type_name(value->type));
    bool replaced = strstr(written.buf, "\\ufffd") != NULL;
    if (!replaced && (value->text_length != size || memcmp(value->text, data, size) != 0))
        fuzz_fail("a written string reads back differently: %s", written.buf);
    /* Invalid bytes come back as U+FFFD, which is then written as itself, not as
     * \ufffd: compare what the two texts read as. */
    cfbp_json_write_string(&rewritten, value->text, value->text_length);
    struct cfbp_json *again = parse_or_fail(rewritten.buf, rewritten.len, "a rewritten string");
    if (again->text_length != value->text_length ||
        memcmp(again->text, value->text, value->text_length) != 0)
        fuzz_fail("writing a string twice differs: %s / %s", written.buf, rewritten.buf);
    cfbp_json_free(again);
    cfbp_json_free(value);
    cfbp_strbuf_release(&written);
    cfbp_strbuf_release(&rewritten);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct cfbp_json *root = NULL;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_json_parse(text, size, &root, &err) == 0) {
        check_tree(text, size, root);
        cfbp_json_free(root);
    } else {
        fuzz_expect_prefix(err.message, "line ");
        cfbp_error_clear(&err);
    }
    check_string_writing(data, size);
    return 0;
}
