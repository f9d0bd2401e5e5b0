/*
 * test_hooks.c - hooks run before and after supply and finalize, in order,
 * stopping at the first failure with its name and point in the error.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/hooks.h"
#include "cfbp/stager.h"
#include "cfbp/strbuf.h"

#include <string.h>

static int record(struct cfbp_stager *stager, void *data, struct cfbp_error *err)
{
    (void)err;
    struct cfbp_strbuf *trace = data;
    cfbp_strbuf_append_format(trace, "%s;", stager->deps_idx);
    return 0;
}

static int refuse(struct cfbp_stager *stager, void *data, struct cfbp_error *err)
{
    (void)stager;
    struct cfbp_strbuf *trace = data;
    cfbp_strbuf_append_string(trace, "refused;");
    return cfbp_error_set(err, CFBP_ERROR_INVALID, "the app needs a license key");
}

static int fail_silently(struct cfbp_stager *stager, void *data, struct cfbp_error *err)
{
    (void)stager;
    (void)data;
    (void)err;
    return -1;
}

static void hooks_run_at_their_point_in_order(void **state)
{
    (void)state;
    struct cfbp_strbuf first = CFBP_STRBUF_INIT, second = CFBP_STRBUF_INIT,
                       after = CFBP_STRBUF_INIT;
    struct cfbp_hooks hooks = CFBP_HOOKS_INIT;
    cfbp_hooks_add(&hooks, CFBP_HOOK_BEFORE_SUPPLY, "one", record, &first);
    cfbp_hooks_add(&hooks, CFBP_HOOK_AFTER_FINALIZE, "late", record, &after);
    cfbp_hooks_add(&hooks, CFBP_HOOK_BEFORE_SUPPLY, "two", record, &second);
    struct cfbp_stager stager = {.deps_idx = "3"};
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_hooks_run(&hooks, CFBP_HOOK_BEFORE_SUPPLY, &stager, &err), 0);
    assert_string_equal(first.buf, "3;");
    assert_string_equal(second.buf, "3;");
    assert_string_equal(after.buf, "");
    assert_int_equal(cfbp_hooks_run(&hooks, CFBP_HOOK_AFTER_SUPPLY, &stager, &err), 0);
    assert_int_equal(cfbp_hooks_run(&hooks, CFBP_HOOK_AFTER_FINALIZE, &stager, &err), 0);
    assert_string_equal(after.buf, "3;");
    assert_null(err.message);
    cfbp_hooks_release(&hooks);
    assert_int_equal(hooks.count, 0);
    cfbp_strbuf_release(&first);
    cfbp_strbuf_release(&second);
    cfbp_strbuf_release(&after);
}

static void the_first_failure_stops_the_rest_and_is_named(void **state)
{
    (void)state;
    struct cfbp_strbuf trace = CFBP_STRBUF_INIT;
    struct cfbp_hooks hooks = CFBP_HOOKS_INIT;
    cfbp_hooks_add(&hooks, CFBP_HOOK_BEFORE_FINALIZE, "ok", record, &trace);
    cfbp_hooks_add(&hooks, CFBP_HOOK_BEFORE_FINALIZE, "license", refuse, &trace);
    cfbp_hooks_add(&hooks, CFBP_HOOK_BEFORE_FINALIZE, "never", record, &trace);
    struct cfbp_stager stager = {.deps_idx = "0"};
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_hooks_run(&hooks, CFBP_HOOK_BEFORE_FINALIZE, &stager, &err), -1);
    assert_string_equal(trace.buf, "0;refused;");
    assert_int_equal(err.kind, CFBP_ERROR_INVALID);
    assert_string_equal(err.message, "hook license (before finalize): the app needs a license key");
    cfbp_error_clear(&err);
    cfbp_hooks_add(&hooks, CFBP_HOOK_AFTER_SUPPLY, NULL, fail_silently, NULL);
    assert_int_equal(cfbp_hooks_run(&hooks, CFBP_HOOK_AFTER_SUPPLY, &stager, &err), -1);
    assert_string_equal(err.message, "hook unnamed (after supply): failed");
    cfbp_error_clear(&err);
    cfbp_hooks_release(&hooks);
    cfbp_strbuf_release(&trace);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hooks_run_at_their_point_in_order),
        cmocka_unit_test(the_first_failure_stops_the_rest_and_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
