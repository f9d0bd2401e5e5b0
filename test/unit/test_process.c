/*
 * test_process.c - running programs without a shell.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/process.h"
#include "cfbp/strbuf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

struct fixture {
    char *dir;
    struct cfbp_error err;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    cfbp_error_clear(&fixture->err);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

/* Runs argv in directory and returns its status; fails the test when it cannot start. */
static int run(struct fixture *fixture, char *const *argv, const char *directory)
{
    int status = -12345;
    if (cfbp_process_run(argv, directory, &status, &fixture->err) != 0)
        fail_msg("cannot run %s: %s", argv[0], fixture->err.message);
    assert_null(fixture->err.message);
    return status;
}

static void reports_exit_statuses(void **state)
{
    struct fixture *fixture = *state;
    char *true_argv[] = {"/bin/true", NULL};
    assert_int_equal(run(fixture, true_argv, NULL), 0);
    char *false_argv[] = {"/bin/false", NULL};
    assert_int_equal(run(fixture, false_argv, NULL), 1);
    char *exit_argv[] = {"/bin/sh", "-c", "exit 42", NULL};
    assert_int_equal(run(fixture, exit_argv, NULL), 42);
    char *max_argv[] = {"/bin/sh", "-c", "exit 255", NULL};
    assert_int_equal(run(fixture, max_argv, NULL), 255);
}

static void a_killed_program_gives_128_plus_the_signal(void **state)
{
    struct fixture *fixture = *state;
    char *term_argv[] = {"/bin/sh", "-c", "kill -TERM $$", NULL};
    assert_int_equal(run(fixture, term_argv, NULL), 128 + SIGTERM);
    char *kill_argv[] = {"/bin/sh", "-c", "kill -KILL $$", NULL};
    assert_int_equal(run(fixture, kill_argv, NULL), 128 + SIGKILL);
}

static void passes_arguments_verbatim(void **state)
{
    struct fixture *fixture = *state;
    char *argv[] = {
        "/bin/sh", "-c", "printf '%s|' \"$@\" > out", "sh", "a b", "$HOME", "*", "'quoted'",
        "",        NULL};
    assert_int_equal(run(fixture, argv, fixture->dir), 0);
    char *out = test_path(fixture->dir, "out");
    char *text = test_read_file(out);
    assert_string_equal(text, "a b|$HOME|*|'quoted'||");
    free(text);
    free(out);
}

static void honours_the_working_directory(void **state)
{
    struct fixture *fixture = *state;
    char *argv[] = {"/bin/sh", "-c", "echo here > marker", NULL};
    assert_int_equal(run(fixture, argv, fixture->dir), 0);
    char *marker = test_path(fixture->dir, "marker");
    char *text = test_read_file(marker);
    assert_string_equal(text, "here\n");
    free(text);
    free(marker);

    char *pwd_argv[] = {"/bin/sh", "-c", "pwd -P > where", NULL};
    assert_int_equal(run(fixture, pwd_argv, fixture->dir), 0);
    char *where = test_path(fixture->dir, "where");
    text = test_read_file(where);
    char *real = realpath(fixture->dir, NULL);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected, "%s\n", real);
    assert_string_equal(text, expected.buf);
    cfbp_strbuf_release(&expected);
    free(real);
    free(text);
    free(where);
}

static void inherits_the_environment(void **state)
{
    struct fixture *fixture = *state;
    setenv("CFBP_PROCESS_TEST", "inherited value", 1);
    char *argv[] = {"/bin/sh", "-c", "printf %s \"$CFBP_PROCESS_TEST\" > env", NULL};
    assert_int_equal(run(fixture, argv, fixture->dir), 0);
    unsetenv("CFBP_PROCESS_TEST");
    char *path = test_path(fixture->dir, "env");
    char *text = test_read_file(path);
    assert_string_equal(text, "inherited value");
    free(text);
    free(path);
}

static void a_missing_program_is_not_found(void **state)
{
    struct fixture *fixture = *state;
    int status = 77;
    char *argv[] = {"/no/such/program", NULL};
    assert_int_equal(cfbp_process_run(argv, NULL, &status, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NOT_FOUND);
    assert_string_equal(fixture->err.message,
                        "cannot run /no/such/program: No such file or directory");
    assert_int_equal(status, 77);
    cfbp_error_clear(&fixture->err);

    /* PATH is not searched. */
    char *bare[] = {"true", NULL};
    assert_int_equal(cfbp_process_run(bare, fixture->dir, &status, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NOT_FOUND);
    assert_string_equal(fixture->err.message, "cannot run true: No such file or directory");
}

static void a_file_that_is_not_executable_cannot_run(void **state)
{
    struct fixture *fixture = *state;
    char *path = test_path(fixture->dir, "script");
    test_write_file(path, "#!/bin/sh\nexit 0\n", 0644);
    int status = 77;
    char *argv[] = {path, NULL};
    assert_int_equal(cfbp_process_run(argv, NULL, &status, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_IO);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected, "cannot run %s: Permission denied", path);
    assert_string_equal(fixture->err.message, expected.buf);
    assert_int_equal(status, 77);
    cfbp_error_clear(&fixture->err);

    test_write_file(path, "#!/bin/sh\nexit 3\n", 0755);
    assert_int_equal(run(fixture, argv, NULL), 3);
    cfbp_strbuf_release(&expected);
    free(path);
}

static void a_missing_directory_is_named_in_the_error(void **state)
{
    struct fixture *fixture = *state;
    char *missing = test_path(fixture->dir, "missing");
    int status = 77;
    char *argv[] = {"/bin/true", NULL};
    assert_int_equal(cfbp_process_run(argv, missing, &status, &fixture->err), -1);
    assert_int_equal(status, 77);
    /* The program exists; the message must point at the directory, not at /bin/true. */
    bool named = strstr(fixture->err.message, missing) != NULL;
    if (!named)
        fprintf(stderr, "\"%s\" does not name %s\n", fixture->err.message, missing);
    free(missing);
    assert_true(named);
}

static void turns_wait_statuses_into_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(cfbp_process_exit_code(0), 0);
    assert_int_equal(cfbp_process_exit_code(3 << 8), 3);
    assert_int_equal(cfbp_process_exit_code(255 << 8), 255);
    assert_int_equal(cfbp_process_exit_code(SIGKILL), 128 + SIGKILL);
    assert_int_equal(cfbp_process_exit_code(SIGSEGV | 0x80), 128 + SIGSEGV); /* core dumped */
    assert_int_equal(cfbp_process_exit_code(0x7f | (SIGSTOP << 8)), 1);      /* stopped */
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(reports_exit_statuses),
        TEST(a_killed_program_gives_128_plus_the_signal),
        TEST(passes_arguments_verbatim),
        TEST(honours_the_working_directory),
        TEST(inherits_the_environment),
        TEST(a_missing_program_is_not_found),
        TEST(a_file_that_is_not_executable_cannot_run),
        TEST(a_missing_directory_is_named_in_the_error),
        cmocka_unit_test(turns_wait_statuses_into_exit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
