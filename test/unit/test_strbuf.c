/*
 * test_strbuf.c - the growable string type.
 */
#include "support.h"

#include "cfbp/strbuf.h"

#include <stdlib.h>
#include <string.h>

static void starts_empty_and_owns_nothing(void **state)
{
    (void)state;
    struct cfbp_strbuf sb = CFBP_STRBUF_INIT;
    assert_string_equal(sb.buf, "");
    assert_int_equal(sb.len, 0);
    assert_int_equal(sb.alloc, 0);
    cfbp_strbuf_release(&sb);
    assert_string_equal(sb.buf, "");
}

static void appends_and_grows(void **state)
{
    (void)state;
    struct cfbp_strbuf sb = CFBP_STRBUF_INIT;
    for (int i = 0; i < 1000; i++)
        cfbp_strbuf_append_format(&sb, "%d,", i % 10);
    assert_int_equal(sb.len, 2000);
    assert_int_equal(strlen(sb.buf), 2000);
    assert_memory_equal(sb.buf, "0,1,2,", 6);
    cfbp_strbuf_append_char(&sb, 'x');
    assert_int_equal(sb.buf[2000], 'x');
    assert_int_equal(sb.buf[2001], '\0');
    cfbp_strbuf_release(&sb);
}

static void appends_bytes_with_nul(void **state)
{
    (void)state;
    struct cfbp_strbuf sb = CFBP_STRBUF_INIT;
    cfbp_strbuf_append(&sb, "a\0b", 3);
    assert_int_equal(sb.len, 3);
    assert_memory_equal(sb.buf, "a\0b\0", 4);
    cfbp_strbuf_release(&sb);
}

static void trims(void **state)
{
    (void)state;
    struct cfbp_strbuf sb = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&sb, " \t 1.2.3 \n\r\n");
    cfbp_strbuf_trim(&sb);
    assert_string_equal(sb.buf, "1.2.3");
    cfbp_strbuf_set(&sb, "name\r\n\n");
    cfbp_strbuf_trim_newlines(&sb);
    assert_string_equal(sb.buf, "name");
    cfbp_strbuf_set(&sb, "   ");
    cfbp_strbuf_trim(&sb);
    assert_string_equal(sb.buf, "");
    assert_int_equal(sb.len, 0);
    cfbp_strbuf_release(&sb);
}

static void detaches_ownership(void **state)
{
    (void)state;
    struct cfbp_strbuf sb = CFBP_STRBUF_INIT;
    size_t length;
    char *empty = cfbp_strbuf_detach(&sb, &length);
    assert_string_equal(empty, "");
    assert_int_equal(length, 0);
    free(empty);
    cfbp_strbuf_append_string(&sb, "kept");
    char *kept = cfbp_strbuf_detach(&sb, &length);
    assert_string_equal(kept, "kept");
    assert_int_equal(length, 4);
    assert_int_equal(sb.len, 0);
    assert_string_equal(sb.buf, "");
    free(kept);
}

static void prefix_and_suffix(void **state)
{
    (void)state;
    assert_true(cfbp_string_starts_with("config-server", "config"));
    assert_false(cfbp_string_starts_with("con", "config"));
    assert_true(cfbp_string_ends_with("x.tar.gz", ".tar.gz"));
    assert_false(cfbp_string_ends_with("gz", ".tar.gz"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(starts_empty_and_owns_nothing),
        cmocka_unit_test(appends_and_grows),
        cmocka_unit_test(appends_bytes_with_nul),
        cmocka_unit_test(trims),
        cmocka_unit_test(detaches_ownership),
        cmocka_unit_test(prefix_and_suffix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
