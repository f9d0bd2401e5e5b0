/*
 * test_log.c - the staging log's exact bytes (contract §7).
 */
#include "support.h"

#include "cfbp/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RED   "\033[31;1m"
#define BLUE  "\033[34;1m"
#define RESET "\033[0m"

struct capture {
    char *text;
    size_t length;
    FILE *stream;
    struct cfbp_log log;
};

static void capture_start(struct capture *capture, bool debug)
{
    capture->text = NULL;
    capture->length = 0;
    capture->stream = open_memstream(&capture->text, &capture->length);
    assert_non_null(capture->stream);
    cfbp_log_init(&capture->log, capture->stream, debug);
}

/* Finishes the capture, compares it with expected and frees it. */
static void capture_check(struct capture *capture, const char *expected)
{
    fclose(capture->stream);
    if (strcmp(capture->text, expected) != 0)
        fail_msg("logged \"%s\", expected \"%s\"", capture->text, expected);
    assert_int_equal(capture->length, strlen(expected));
    free(capture->text);
}

static void init_sets_the_fields(void **state)
{
    (void)state;
    struct cfbp_log log;
    cfbp_log_init(&log, stderr, true);
    assert_ptr_equal(log.out, stderr);
    assert_true(log.debug);
    cfbp_log_init(&log, NULL, false);
    assert_null(log.out);
    assert_false(log.debug);
}

static void begin_step_line(void **state)
{
    (void)state;
    struct capture capture;
    capture_start(&capture, false);
    cfbp_log_begin_step(&capture.log, "Installing %s %s", "go", "1.22.5");
    capture_check(&capture, "-----> Installing go 1.22.5\n");
}

static void info_line_has_seven_spaces(void **state)
{
    (void)state;
    struct capture capture;
    capture_start(&capture, false);
    cfbp_log_info(&capture.log, "Download [%s]", "https://example.com/x.tgz");
    capture_check(&capture, "       Download [https://example.com/x.tgz]\n");
}

static void warning_and_error_lines(void **state)
{
    (void)state;
    struct capture capture;
    capture_start(&capture, false);
    cfbp_log_warning(&capture.log, "buildpack version changed from %s to %s", "1.0", "1.1");
    cfbp_log_error(&capture.log, "Stack not supported by buildpack");
    capture_check(&capture,
                  "       " RED "**WARNING**" RESET " buildpack version changed from 1.0 to 1.1\n"
                  "       " RED "**ERROR**" RESET " Stack not supported by buildpack\n");
}

static void debug_only_when_enabled(void **state)
{
    (void)state;
    struct capture capture;
    capture_start(&capture, false);
    cfbp_log_debug(&capture.log, "hidden %d", 1);
    capture_check(&capture, "");

    capture_start(&capture, true);
    cfbp_log_debug(&capture.log, "shown %d", 2);
    capture_check(&capture, "       " BLUE "DEBUG:" RESET " shown 2\n");
}

static void protip_is_two_lines(void **state)
{
    (void)state;
    struct capture capture;
    capture_start(&capture, false);
    cfbp_log_protip(&capture.log, "Use a %d%% tip", "https://docs.cloudfoundry.org/x.html");
    capture_check(&capture, "       " BLUE "PRO TIP:" RESET " Use a %d%% tip\n"
                            "       Visit https://docs.cloudfoundry.org/x.html\n");
}

static void multi_line_messages_stay_indented(void **state)
{
    (void)state;
    struct capture capture;
    capture_start(&capture, false);
    cfbp_log_begin_step(&capture.log, "first\nsecond");
    cfbp_log_info(&capture.log, "a\n\nb");
    cfbp_log_warning(&capture.log, "w1\nw2");
    cfbp_log_error(&capture.log, "DEPENDENCY MISSING IN MANIFEST:\n\nVersion 1 of dependency x is "
                                 "not supported.\n");
    capture_check(&capture, "-----> first\n"
                            "       second\n"
                            "       a\n"
                            "       \n"
                            "       b\n"
                            "       " RED "**WARNING**" RESET " w1\n"
                            "       w2\n"
                            "       " RED "**ERROR**" RESET " DEPENDENCY MISSING IN MANIFEST:\n"
                            "       \n"
                            "       Version 1 of dependency x is not supported.\n"
                            "       \n");
}

static void formats_only_the_format_argument(void **state)
{
    (void)state;
    struct capture capture;
    capture_start(&capture, false);
    cfbp_log_info(&capture.log, "%s", "100% %s %n\\");
    cfbp_log_info(&capture.log, "%s", "");
    capture_check(&capture, "       100% %s %n\\\n"
                            "       \n");
}

static void empty_step_keeps_the_space(void **state)
{
    (void)state;
    struct capture capture;
    capture_start(&capture, true);
    cfbp_log_begin_step(&capture.log, "%s", "");
    capture_check(&capture, "-----> \n");
}

static void a_log_without_a_stream_writes_nothing(void **state)
{
    (void)state;
    struct cfbp_log log;
    cfbp_log_init(&log, NULL, true);
    cfbp_log_begin_step(&log, "nothing");
    cfbp_log_info(&log, "nothing");
    cfbp_log_warning(&log, "nothing");
    cfbp_log_error(&log, "nothing");
    cfbp_log_debug(&log, "nothing");
    cfbp_log_protip(&log, "tip", "url");
    cfbp_log_info(NULL, "nothing");
    cfbp_log_debug(NULL, "nothing");
}

static void writes_through_to_the_stream(void **state)
{
    (void)state;
    /* Each line reaches the file at once (staging output interleaves with child programs). */
    char *dir = test_make_dir();
    char *path = test_path(dir, "log");
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    struct cfbp_log log;
    cfbp_log_init(&log, file, false);
    cfbp_log_begin_step(&log, "visible");
    char *text = test_read_file(path);
    assert_string_equal(text, "-----> visible\n");
    free(text);
    fclose(file);
    free(path);
    test_remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_sets_the_fields),
        cmocka_unit_test(begin_step_line),
        cmocka_unit_test(info_line_has_seven_spaces),
        cmocka_unit_test(warning_and_error_lines),
        cmocka_unit_test(debug_only_when_enabled),
        cmocka_unit_test(protip_is_two_lines),
        cmocka_unit_test(multi_line_messages_stay_indented),
        cmocka_unit_test(formats_only_the_format_argument),
        cmocka_unit_test(empty_step_keeps_the_space),
        cmocka_unit_test(a_log_without_a_stream_writes_nothing),
        cmocka_unit_test(writes_through_to_the_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
