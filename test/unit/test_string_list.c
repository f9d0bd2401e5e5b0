/*
 * test_string_list.c - the owned list of strings.
 */
#include "support.h"

#include "cfbp/alloc.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void appends_copies(void **state)
{
    (void)state;
    struct cfbp_string_list list = CFBP_STRING_LIST_INIT;
    char text[] = "cflinuxfs4";
    cfbp_string_list_append(&list, text);
    text[0] = 'X';
    assert_int_equal(list.count, 1);
    assert_string_equal(list.items[0], "cflinuxfs4");
    assert_ptr_not_equal(list.items[0], text);
    cfbp_string_list_clear(&list);
}

static void takes_ownership_of_owned_strings(void **state)
{
    (void)state;
    struct cfbp_string_list list = CFBP_STRING_LIST_INIT;
    char *owned = cfbp_xstrdup("mine");
    cfbp_string_list_append_owned(&list, owned);
    assert_ptr_equal(list.items[0], owned);
    cfbp_string_list_clear(&list); /* frees owned; ASan reports a leak otherwise */
    assert_null(list.items);
    assert_int_equal(list.count, 0);
    assert_int_equal(list.alloc, 0);
}

static void grows_and_keeps_order(void **state)
{
    (void)state;
    struct cfbp_string_list list = CFBP_STRING_LIST_INIT;
    for (int i = 0; i < 1000; i++) {
        char text[16];
        snprintf(text, sizeof(text), "item%d", i);
        cfbp_string_list_append(&list, text);
    }
    assert_int_equal(list.count, 1000);
    assert_true(list.alloc >= 1000);
    assert_string_equal(list.items[0], "item0");
    assert_string_equal(list.items[999], "item999");
    cfbp_string_list_clear(&list);
}

static void contains_is_exact(void **state)
{
    (void)state;
    struct cfbp_string_list list = CFBP_STRING_LIST_INIT;
    assert_false(cfbp_string_list_contains(&list, ""));
    cfbp_string_list_append(&list, "cflinuxfs4");
    cfbp_string_list_append(&list, "");
    assert_true(cfbp_string_list_contains(&list, "cflinuxfs4"));
    assert_true(cfbp_string_list_contains(&list, ""));
    assert_false(cfbp_string_list_contains(&list, "cflinuxfs"));
    assert_false(cfbp_string_list_contains(&list, "cflinuxfs44"));
    assert_false(cfbp_string_list_contains(&list, "CFLINUXFS4"));
    cfbp_string_list_clear(&list);
}

static void sorts_bytewise(void **state)
{
    (void)state;
    struct cfbp_string_list list = CFBP_STRING_LIST_INIT;
    const char *input[] = {"b", "a10", "B", "a2", "", "a", "\xc3\xa9", "_"};
    for (size_t i = 0; i < sizeof(input) / sizeof(*input); i++)
        cfbp_string_list_append(&list, input[i]);
    cfbp_string_list_sort(&list);
    const char *expected[] = {"", "B", "_", "a", "a10", "a2", "b", "\xc3\xa9"};
    assert_int_equal(list.count, sizeof(expected) / sizeof(*expected));
    for (size_t i = 0; i < list.count; i++)
        assert_string_equal(list.items[i], expected[i]);
    cfbp_string_list_clear(&list);

    cfbp_string_list_sort(&list); /* empty list */
    assert_int_equal(list.count, 0);
}

static void joins_with_a_separator(void **state)
{
    (void)state;
    struct cfbp_string_list list = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    cfbp_string_list_join(&list, ", ", &out);
    assert_string_equal(out.buf, "");

    cfbp_string_list_append(&list, "one");
    cfbp_string_list_join(&list, ", ", &out);
    assert_string_equal(out.buf, "one");

    cfbp_strbuf_set(&out, "[");
    cfbp_string_list_append(&list, "two");
    cfbp_string_list_append(&list, "");
    cfbp_string_list_append(&list, "four");
    cfbp_string_list_join(&list, " ", &out);
    assert_string_equal(out.buf, "[one two  four"); /* appends; empty items keep their place */
    cfbp_strbuf_release(&out);
    cfbp_string_list_clear(&list);
}

static void clear_leaves_the_list_reusable(void **state)
{
    (void)state;
    struct cfbp_string_list list = CFBP_STRING_LIST_INIT;
    cfbp_string_list_clear(&list); /* clearing an empty list is fine */
    cfbp_string_list_append(&list, "a");
    cfbp_string_list_clear(&list);
    cfbp_string_list_append(&list, "b");
    assert_int_equal(list.count, 1);
    assert_string_equal(list.items[0], "b");
    cfbp_string_list_clear(&list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appends_copies),
        cmocka_unit_test(takes_ownership_of_owned_strings),
        cmocka_unit_test(grows_and_keeps_order),
        cmocka_unit_test(contains_is_exact),
        cmocka_unit_test(sorts_bytewise),
        cmocka_unit_test(joins_with_a_separator),
        cmocka_unit_test(clear_leaves_the_list_reusable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
