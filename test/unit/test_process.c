/*
 * test_process.c - running programs without a shell.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/process.h"
#include "cfbp/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* --- environments --- */

/* The list can go to execve as it is: items[count] is NULL after every change. */
static void assert_terminated(const struct cfbp_environment *environment)
{
    assert_non_null(environment->entries.items);
    assert_null(environment->entries.items[environment->entries.count]);
}

static void environment_sets_gets_and_unsets(void **state)
{
    (void)state;
    struct cfbp_environment environment = CFBP_ENVIRONMENT_INIT;
    assert_null(cfbp_environment_get(&environment, "A"));
    cfbp_environment_unset(&environment, "A"); /* nothing there: nothing happens */
    assert_int_equal(environment.entries.count, 0);

    cfbp_environment_set(&environment, "AB", "two");
    assert_terminated(&environment);
    cfbp_environment_set(&environment, "A", "one");
    assert_terminated(&environment);
    cfbp_environment_set(&environment, "EMPTY", "");
    cfbp_environment_set(&environment, "EQUALS", "x=y");
    assert_int_equal(environment.entries.count, 4);
    /* A name matches whole: A is not AB's prefix. */
    assert_string_equal(cfbp_environment_get(&environment, "A"), "one");
    assert_string_equal(cfbp_environment_get(&environment, "AB"), "two");
    assert_string_equal(cfbp_environment_get(&environment, "EMPTY"), "");
    assert_string_equal(cfbp_environment_get(&environment, "EQUALS"), "x=y");
    assert_null(cfbp_environment_get(&environment, "ABC"));

    /* Setting again replaces in place. */
    cfbp_environment_set(&environment, "AB", "2");
    assert_int_equal(environment.entries.count, 4);
    assert_string_equal(environment.entries.items[0], "AB=2");
    assert_string_equal(environment.entries.items[1], "A=one");
    assert_terminated(&environment);

    cfbp_environment_unset(&environment, "AB");
    assert_int_equal(environment.entries.count, 3);
    assert_string_equal(environment.entries.items[0], "A=one");
    assert_string_equal(environment.entries.items[1], "EMPTY=");
    assert_string_equal(environment.entries.items[2], "EQUALS=x=y");
    assert_terminated(&environment);
    assert_null(cfbp_environment_get(&environment, "AB"));
    assert_string_equal(cfbp_environment_get(&environment, "A"), "one");

    cfbp_environment_unset(&environment, "EQUALS");
    cfbp_environment_unset(&environment, "A");
    cfbp_environment_unset(&environment, "EMPTY");
    assert_int_equal(environment.entries.count, 0);
    assert_terminated(&environment);
    cfbp_environment_release(&environment);
    assert_int_equal(environment.entries.count, 0);
    assert_null(cfbp_environment_get(&environment, "A"));
}

static void environment_takes_assignments(void **state)
{
    (void)state;
    struct cfbp_environment environment = CFBP_ENVIRONMENT_INIT;
    assert_true(cfbp_environment_set_assignment(&environment, "NAME=value=more"));
    assert_string_equal(cfbp_environment_get(&environment, "NAME"), "value=more");
    assert_true(cfbp_environment_set_assignment(&environment, "EMPTY="));
    assert_string_equal(cfbp_environment_get(&environment, "EMPTY"), "");
    assert_false(cfbp_environment_set_assignment(&environment, "=value"));
    assert_false(cfbp_environment_set_assignment(&environment, "no-equals"));
    assert_false(cfbp_environment_set_assignment(&environment, ""));
    assert_int_equal(environment.entries.count, 2);
    assert_true(cfbp_environment_set_assignment(&environment, "NAME=again"));
    assert_int_equal(environment.entries.count, 2);
    assert_string_equal(environment.entries.items[0], "NAME=again");
    assert_terminated(&environment);
    cfbp_environment_release(&environment);
}

static void environment_merges(void **state)
{
    (void)state;
    struct cfbp_environment into = CFBP_ENVIRONMENT_INIT, from = CFBP_ENVIRONMENT_INIT;
    cfbp_environment_set(&into, "A", "1");
    cfbp_environment_set(&into, "B", "2");
    cfbp_environment_set(&from, "B", "from");
    cfbp_environment_set(&from, "C", "c=3");
    cfbp_environment_merge(&into, &from);
    cfbp_environment_merge(&into, NULL);
    assert_int_equal(into.entries.count, 3);
    assert_string_equal(into.entries.items[0], "A=1");
    assert_string_equal(into.entries.items[1], "B=from");
    assert_string_equal(into.entries.items[2], "C=c=3");
    assert_terminated(&into);
    assert_int_equal(from.entries.count, 2);
    cfbp_environment_release(&into);
    cfbp_environment_release(&from);
}

static void environment_inherits_named_variables(void **state)
{
    (void)state;
    setenv("CFBP_INHERIT_SET", "from the caller", 1);
    setenv("CFBP_INHERIT_EMPTY", "", 1);
    unsetenv("CFBP_INHERIT_UNSET");
    struct cfbp_environment environment = CFBP_ENVIRONMENT_INIT;
    cfbp_environment_set(&environment, "CFBP_INHERIT_SET", "old");
    cfbp_environment_set(&environment, "CFBP_INHERIT_UNSET", "kept");
    const char *const names[] = {"CFBP_INHERIT_SET", "CFBP_INHERIT_UNSET", "CFBP_INHERIT_EMPTY",
                                 NULL};
    cfbp_environment_inherit(&environment, names);
    unsetenv("CFBP_INHERIT_SET");
    unsetenv("CFBP_INHERIT_EMPTY");
    assert_int_equal(environment.entries.count, 3);
    assert_string_equal(cfbp_environment_get(&environment, "CFBP_INHERIT_SET"), "from the caller");
    assert_string_equal(cfbp_environment_get(&environment, "CFBP_INHERIT_UNSET"), "kept");
    assert_string_equal(cfbp_environment_get(&environment, "CFBP_INHERIT_EMPTY"), "");
    assert_terminated(&environment);
    cfbp_environment_release(&environment);
}

/* --- specs --- */

static int open_file(struct fixture *fixture, const char *name, int flags)
{
    char *path = test_path(fixture->dir, name);
    int fd = open(path, flags | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    free(path);
    return fd;
}

static char *read_back(struct fixture *fixture, const char *name)
{
    char *path = test_path(fixture->dir, name);
    char *text = test_read_file(path);
    free(path);
    return text;
}

static size_t open_descriptors(void)
{
    size_t count = 0;
    DIR *directory = opendir("/proc/self/fd");
    assert_non_null(directory);
    while (readdir(directory))
        count++;
    closedir(directory);
    return count;
}

/* Runs spec capturing its output; fails the test when it cannot start. */
static int capture(struct fixture *fixture, const struct cfbp_process_spec *spec, bool merge,
                   struct cfbp_strbuf *output)
{
    int status = -12345;
    if (cfbp_process_run_capture_spec(spec, merge, &status, output, &fixture->err) != 0)
        fail_msg("cannot run %s: %s", spec->argv[0], fixture->err.message);
    return status;
}

/* Whether a child started now has SIGPIPE ignored (its SigIgn). */
static bool child_ignores_sigpipe(struct fixture *fixture)
{
    char *argv[] = {"/bin/grep", "^SigIgn:", "/proc/self/status", NULL};
    struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
    spec.argv = argv;
    struct cfbp_strbuf output = CFBP_STRBUF_INIT;
    assert_int_equal(capture(fixture, &spec, false, &output), 0);
    unsigned long long ignored = 0;
    assert_int_equal(sscanf(output.buf, "SigIgn: %llx", &ignored), 1);
    cfbp_strbuf_release(&output);
    return ignored & (1ULL << (SIGPIPE - 1));
}

/*
 * A program that ignores SIGPIPE to watch its own output (cfbp package)
 * asks that its children start with SIGPIPE's default action: a script's
 * pipeline then ends as in a shell. Without asking, an ignored SIGPIPE is
 * inherited, as usual (one ignored on entry stays so).
 */
static void a_child_gets_the_default_sigpipe_action(void **state)
{
    struct fixture *fixture = *state;
    struct sigaction ignore = {.sa_handler = SIG_IGN}, previous;
    sigemptyset(&ignore.sa_mask);
    assert_int_equal(sigaction(SIGPIPE, &ignore, &previous), 0);
    bool inherited = child_ignores_sigpipe(fixture);
    cfbp_process_default_sigpipe_in_children(true);
    bool asked = child_ignores_sigpipe(fixture);
    sigaction(SIGPIPE, &previous, NULL);
    assert_true(inherited);
    assert_false(asked);
    struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
    struct cfbp_strbuf output = CFBP_STRBUF_INIT;
    int status;
    /* And a shell pipeline whose reader leaves early ends quietly, as in a terminal. */
    char *pipeline[] = {"/bin/sh", "-c", "yes | head -n 1", NULL};
    spec.argv = pipeline;
    cfbp_strbuf_reset(&output);
    assert_int_equal(sigaction(SIGPIPE, &ignore, &previous), 0);
    status = capture(fixture, &spec, true, &output);
    sigaction(SIGPIPE, &previous, NULL);
    cfbp_process_default_sigpipe_in_children(false);
    assert_int_equal(status, 0);
    assert_string_equal(output.buf, "y\n");
    cfbp_strbuf_release(&output);
}

static void a_custom_environment_is_all_the_child_gets(void **state)
{
    struct fixture *fixture = *state;
    setenv("CFBP_NOT_PASSED", "secret", 1);
    struct cfbp_environment environment = CFBP_ENVIRONMENT_INIT;
    cfbp_environment_set(&environment, "A", "1");
    cfbp_environment_set(&environment, "B", "two words");
    cfbp_environment_set(&environment, "C", "");
    cfbp_environment_set(&environment, "A", "one");
    char *argv[] = {"/usr/bin/env", NULL};
    struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
    spec.argv = argv;
    spec.environment = &environment;
    struct cfbp_strbuf output = CFBP_STRBUF_INIT;
    assert_int_equal(capture(fixture, &spec, false, &output), 0);
    unsetenv("CFBP_NOT_PASSED");
    assert_string_equal(output.buf, "A=one\nB=two words\nC=\n");
    cfbp_strbuf_release(&output);
    cfbp_environment_release(&environment);
}

static void an_empty_environment_is_empty(void **state)
{
    struct fixture *fixture = *state;
    char *argv[] = {"/usr/bin/env", NULL};
    struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
    spec.argv = argv;
    struct cfbp_environment never_set = CFBP_ENVIRONMENT_INIT;
    spec.environment = &never_set;
    struct cfbp_strbuf output = CFBP_STRBUF_INIT;
    assert_int_equal(capture(fixture, &spec, true, &output), 0);
    assert_string_equal(output.buf, "");

    struct cfbp_environment emptied = CFBP_ENVIRONMENT_INIT;
    cfbp_environment_set(&emptied, "GONE", "soon");
    cfbp_environment_unset(&emptied, "GONE");
    spec.environment = &emptied;
    assert_int_equal(capture(fixture, &spec, true, &output), 0);
    assert_string_equal(output.buf, "");

    /* NULL is this process's own environment. */
    setenv("CFBP_OWN_VARIABLE", "mine", 1);
    spec.environment = NULL;
    assert_int_equal(capture(fixture, &spec, true, &output), 0);
    unsetenv("CFBP_OWN_VARIABLE");
    assert_non_null(strstr(output.buf, "\nCFBP_OWN_VARIABLE=mine\n"));
    cfbp_strbuf_release(&output);
    cfbp_environment_release(&emptied);
}

static void redirects_stdin_stdout_and_stderr(void **state)
{
    struct fixture *fixture = *state;
    char *input_path = test_path(fixture->dir, "input");
    test_write_file(input_path, "from stdin\n", 0644);
    free(input_path);
    int in = open_file(fixture, "input", O_RDONLY);
    int out = open_file(fixture, "out", O_WRONLY | O_CREAT | O_TRUNC);
    int err = open_file(fixture, "err", O_WRONLY | O_CREAT | O_TRUNC);
    char *argv[] = {"/bin/sh", "-c", "cat; echo out; echo err >&2; exit 5", NULL};
    struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
    spec.argv = argv;
    spec.stdin_fd = in;
    spec.stdout_fd = out;
    spec.stderr_fd = err;
    pid_t pid = 0;
    assert_int_equal(cfbp_process_start(&spec, &pid, &fixture->err), 0);
    assert_true(pid > 0);
    int status = -1;
    assert_int_equal(cfbp_process_wait(pid, "sh", &status, &fixture->err), 0);
    assert_int_equal(status, 5);
    close(in);
    close(out);
    close(err);
    char *out_text = read_back(fixture, "out");
    char *err_text = read_back(fixture, "err");
    assert_string_equal(out_text, "from stdin\nout\n");
    assert_string_equal(err_text, "err\n");
    free(out_text);
    free(err_text);
}

static void capture_keeps_stderr_apart_unless_merged(void **state)
{
    struct fixture *fixture = *state;
    char *argv[] = {"/bin/sh", "-c", "echo out; echo err >&2; echo more; pwd -P; exit 3", NULL};
    int err = open_file(fixture, "stderr", O_WRONLY | O_CREAT | O_TRUNC);
    struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
    spec.argv = argv;
    spec.directory = fixture->dir;
    spec.stderr_fd = err;
    struct cfbp_strbuf output = CFBP_STRBUF_INIT, expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&output, "kept:");
    char *real = realpath(fixture->dir, NULL);

    assert_int_equal(capture(fixture, &spec, false, &output), 3);
    cfbp_strbuf_append_format(&expected, "kept:out\nmore\n%s\n", real);
    assert_string_equal(output.buf, expected.buf);
    char *text = read_back(fixture, "stderr");
    assert_string_equal(text, "err\n");
    free(text);

    /* Merged: both in order, and nothing more reaches spec.stderr_fd. */
    cfbp_strbuf_reset(&output);
    assert_int_equal(capture(fixture, &spec, true, &output), 3);
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected, "out\nerr\nmore\n%s\n", real);
    assert_string_equal(output.buf, expected.buf);
    text = read_back(fixture, "stderr");
    assert_string_equal(text, "err\n");
    free(text);

    close(err);
    free(real);
    cfbp_strbuf_release(&output);
    cfbp_strbuf_release(&expected);
}

static void capture_failures_leak_nothing(void **state)
{
    struct fixture *fixture = *state;
    size_t before = open_descriptors();
    char *argv[] = {"/no/such/program", NULL};
    struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
    spec.argv = argv;
    struct cfbp_strbuf output = CFBP_STRBUF_INIT;
    int status = 77;
    assert_int_equal(cfbp_process_run_capture_spec(&spec, true, &status, &output, &fixture->err),
                     -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NOT_FOUND);
    assert_string_equal(fixture->err.message,
                        "cannot run /no/such/program: No such file or directory");
    assert_int_equal(status, 77);
    assert_int_equal(output.len, 0);
    cfbp_error_clear(&fixture->err);

    char *missing = test_path(fixture->dir, "missing");
    char *true_argv[] = {"/bin/true", NULL};
    spec.argv = true_argv;
    spec.directory = missing;
    assert_int_equal(cfbp_process_run_capture_spec(&spec, false, &status, &output, &fixture->err),
                     -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NOT_FOUND);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected, "cannot run /bin/true in %s: no such directory", missing);
    assert_string_equal(fixture->err.message, expected.buf);
    assert_int_equal(open_descriptors(), before);
    cfbp_strbuf_release(&expected);
    cfbp_strbuf_release(&output);
    free(missing);
}

static bool wait_until_gone(pid_t pid, double seconds)
{
    for (int i = 0; i < (int)(seconds * 100); i++) {
        if (!test_process_alive(pid))
            return true;
        usleep(10 * 1000);
    }
    return !test_process_alive(pid);
}

static pid_t wait_for_pid_file(const char *path)
{
    for (int i = 0; i < 1000; i++) {
        char *text = test_read_file(path);
        if (text && strchr(text, '\n')) {
            pid_t pid = (pid_t)atoi(text);
            free(text);
            return pid;
        }
        free(text);
        usleep(10 * 1000);
    }
    fail_msg("%s never appeared", path);
    return 0;
}

static void a_new_process_group_takes_the_childs_children_along(void **state)
{
    struct fixture *fixture = *state;
    char *pid_file = test_path(fixture->dir, "grandchild.pid");
    struct cfbp_strbuf script = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&script, "sleep 30 & echo $! > '%s'; wait", pid_file);
    char *argv[] = {"/bin/sh", "-c", script.buf, NULL};
    struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
    spec.argv = argv;
    spec.new_process_group = true;
    pid_t pid = 0;
    assert_int_equal(cfbp_process_start(&spec, &pid, &fixture->err), 0);
    assert_int_equal(getpgid(pid), pid);
    pid_t grandchild = wait_for_pid_file(pid_file);
    assert_int_equal(getpgid(grandchild), pid);
    assert_int_equal(kill(-pid, SIGTERM), 0);
    int status = -1;
    assert_int_equal(cfbp_process_wait(pid, "sh", &status, &fixture->err), 0);
    assert_int_equal(status, 128 + SIGTERM);
    assert_true(wait_until_gone(grandchild, 5));

    /* Without it the child stays in ours. */
    char *sleep_argv[] = {"/bin/sleep", "30", NULL};
    spec.argv = sleep_argv;
    spec.new_process_group = false;
    assert_int_equal(cfbp_process_start(&spec, &pid, &fixture->err), 0);
    assert_int_equal(getpgid(pid), getpgrp());
    kill(pid, SIGKILL);
    assert_int_equal(cfbp_process_wait(pid, "sleep", &status, &fixture->err), 0);
    assert_int_equal(status, 128 + SIGKILL);
    cfbp_strbuf_release(&script);
    free(pid_file);
}

/* Writes to fd once path holds a line (from a child process, so the caller can block). */
static pid_t write_when_file_appears(const char *path, int fd)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (int i = 0; i < 1000 && !test_exists(path); i++)
            usleep(10 * 1000);
        usleep(100 * 1000);
        _exit(write(fd, "x", 1) == 1 ? 0 : 1);
    }
    return pid;
}

static void bounded_output_kills_a_program_that_prints_too_much(void **state)
{
    struct fixture *fixture = *state;
    char *pid_file = test_path(fixture->dir, "yes.pid");
    struct cfbp_strbuf script = CFBP_STRBUF_INIT, output = CFBP_STRBUF_INIT;
    /* Endless output from two processes: only the kill can end it. */
    cfbp_strbuf_append_format(&script, "yes & echo $! > '%s'; exec yes", pid_file);
    char *argv[] = {"/bin/sh", "-c", script.buf, NULL};
    struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
    spec.argv = argv;
    spec.new_process_group = true;
    struct cfbp_process_run run = CFBP_PROCESS_RUN_INIT;
    run.output = &output;
    run.output_limit = 100000;
    int status = 77;
    assert_int_equal(cfbp_process_run_spec(&spec, &run, &status, &fixture->err), -1);
    assert_true(run.output_exceeded);
    assert_false(run.stopped);
    assert_int_equal(status, 128 + SIGKILL);
    assert_int_equal(output.len, 100000);
    assert_true(cfbp_string_starts_with(output.buf, "y\ny\ny\n"));
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    assert_string_equal(fixture->err.message,
                        "/bin/sh wrote more than 100000 bytes of output and was stopped");
    cfbp_error_clear(&fixture->err);
    assert_true(wait_until_gone(wait_for_pid_file(pid_file), 5)); /* the whole group went */

    /* Within the limit it is an ordinary capture, appended to what output held. */
    char *small_argv[] = {"/bin/sh", "-c", "printf 12345", NULL};
    spec.argv = small_argv;
    cfbp_strbuf_set(&output, "kept:");
    run.output_limit = 5;
    assert_int_equal(cfbp_process_run_spec(&spec, &run, &status, &fixture->err), 0);
    assert_false(run.output_exceeded);
    assert_int_equal(status, 0);
    assert_string_equal(output.buf, "kept:12345");
    cfbp_strbuf_release(&script);
    cfbp_strbuf_release(&output);
    free(pid_file);
}

static void a_stop_request_stops_the_whole_group(void **state)
{
    struct fixture *fixture = *state;
    char *pid_file = test_path(fixture->dir, "sleep.pid");
    struct cfbp_strbuf script = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&script, "sleep 30 & echo $! > '%s'; wait", pid_file);
    char *argv[] = {"/bin/sh", "-c", script.buf, NULL};
    struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
    spec.argv = argv;
    spec.new_process_group = true;
    int stop[2];
    assert_int_equal(pipe(stop), 0);
    pid_t writer = write_when_file_appears(pid_file, stop[1]);
    struct cfbp_process_run run = CFBP_PROCESS_RUN_INIT;
    run.stop_fd = stop[0];
    int status = 77;
    struct timespec before, after;
    clock_gettime(CLOCK_MONOTONIC, &before);
    assert_int_equal(cfbp_process_run_spec(&spec, &run, &status, &fixture->err), -1);
    clock_gettime(CLOCK_MONOTONIC, &after);
    assert_true(run.stopped);
    assert_int_equal(status, 128 + SIGTERM);
    assert_string_equal(fixture->err.message, "/bin/sh was stopped");
    assert_true(after.tv_sec - before.tv_sec < 5); /* SIGTERM was enough */
    pid_t sleeper = wait_for_pid_file(pid_file);
    assert_true(wait_until_gone(sleeper, 5));
    waitpid(writer, NULL, 0);
    cfbp_error_clear(&fixture->err);
    char byte;
    assert_int_equal(read(stop[0], &byte, 1), 1); /* a stop request stays until it is taken */

    /* A group that ignores SIGTERM gets SIGKILL after the grace period. */
    unlink(pid_file);
    cfbp_strbuf_reset(&script);
    cfbp_strbuf_append_format(&script, "trap '' TERM; sleep 30 & echo $! > '%s'; wait", pid_file);
    argv[2] = script.buf;
    writer = write_when_file_appears(pid_file, stop[1]);
    clock_gettime(CLOCK_MONOTONIC, &before);
    assert_int_equal(cfbp_process_run_spec(&spec, &run, &status, &fixture->err), -1);
    clock_gettime(CLOCK_MONOTONIC, &after);
    assert_true(run.stopped);
    assert_int_equal(status, 128 + SIGKILL);
    double seconds =
        (double)(after.tv_sec - before.tv_sec) + (double)(after.tv_nsec - before.tv_nsec) / 1e9;
    assert_true(seconds >= CFBP_PROCESS_STOP_GRACE_MS / 1000.0 &&
                seconds < CFBP_PROCESS_STOP_GRACE_MS / 1000.0 + 3);
    sleeper = wait_for_pid_file(pid_file);
    assert_true(wait_until_gone(sleeper, 5));
    waitpid(writer, NULL, 0);
    close(stop[0]);
    close(stop[1]);
    cfbp_strbuf_release(&script);
    free(pid_file);
}

static void what_a_group_leader_leaves_running_goes_with_it(void **state)
{
    struct fixture *fixture = *state;
    char *pid_file = test_path(fixture->dir, "left.pid");
    struct cfbp_strbuf script = CFBP_STRBUF_INIT, output = CFBP_STRBUF_INIT;
    /* The sleep keeps stdout open: without the group kill, reading would wait 30 s. */
    cfbp_strbuf_append_format(&script, "sleep 30 & echo $! > '%s'; echo done", pid_file);
    char *argv[] = {"/bin/sh", "-c", script.buf, NULL};
    struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
    spec.argv = argv;
    spec.new_process_group = true;
    struct cfbp_process_run run = CFBP_PROCESS_RUN_INIT;
    run.output = &output;
    size_t before = open_descriptors();
    int status = 77;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_int_equal(cfbp_process_run_spec(&spec, &run, &status, &fixture->err), 0);
    clock_gettime(CLOCK_MONOTONIC, &end);
    assert_int_equal(status, 0);
    assert_string_equal(output.buf, "done\n");
    assert_true(end.tv_sec - start.tv_sec < 3);
    assert_true(wait_until_gone(wait_for_pid_file(pid_file), 5));
    assert_int_equal(open_descriptors(), before);
    cfbp_strbuf_release(&script);
    cfbp_strbuf_release(&output);
    free(pid_file);
}

static void waiting_for_a_stranger_is_an_error(void **state)
{
    struct fixture *fixture = *state;
    int status = 77;
    assert_int_equal(cfbp_process_wait(1, "init", &status, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_IO);
    assert_string_equal(fixture->err.message, "cannot wait for init: No child processes");
    assert_int_equal(status, 77);
}

/*
 * A program whose child leaves its process group with setsid and forks again:
 * with the orphans adopted, the escapee is ours and is killed when the
 * program ends. Runs in a child process, so that this test program itself
 * does not become a reaper.
 */
static void escapees_from_the_group_are_killed_with_kill_orphans(void **state)
{
    struct fixture *fixture = *state;
    char *pid_file = test_path(fixture->dir, "escapee.pid");
    struct cfbp_strbuf script = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&script,
                              "setsid sh -c 'sleep 60 & echo $! > %s; exec sleep 60' "
                              "</dev/null >/dev/null 2>&1 &\n"
                              "while [ ! -s %s ]; do sleep 0.05; done\n",
                              pid_file, pid_file);
    pid_t tester = fork();
    if (tester == 0) {
        struct cfbp_error err = CFBP_ERROR_INIT;
        if (cfbp_process_adopt_orphans(&err) < 0)
            _exit(3);
        char *argv[] = {"/bin/sh", "-c", script.buf, NULL};
        struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
        spec.argv = argv;
        spec.new_process_group = true;
        struct cfbp_process_run run = CFBP_PROCESS_RUN_INIT;
        run.kill_orphans = true;
        int status;
        _exit(cfbp_process_run_spec(&spec, &run, &status, &err) == 0 && status == 0 ? 0 : 4);
    }
    int status;
    assert_int_equal(waitpid(tester, &status, 0), tester);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    pid_t escapee = wait_for_pid_file(pid_file);
    bool gone = wait_until_gone(escapee, 5);
    if (!gone)
        kill(escapee, SIGKILL);
    assert_true(gone);
    cfbp_strbuf_release(&script);
    free(pid_file);
}

/* An app manifest's env: may hold a hundred thousand variables: set and get in linear time. */
static void environments_stay_fast_with_many_variables(void **state)
{
    (void)state;
    struct cfbp_environment environment = CFBP_ENVIRONMENT_INIT;
    double start = test_cpu_seconds();
    char name[32], value[32];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 100000; i++) {
            snprintf(name, sizeof(name), "VARIABLE_%d", i);
            snprintf(value, sizeof(value), "%d", i + round);
            cfbp_environment_set(&environment, name, value);
        }
    }
    test_check_cpu_time("setting 200000 variables", start, 2.0);
    assert_int_equal(environment.entries.count, 100000);
    assert_string_equal(cfbp_environment_get(&environment, "VARIABLE_99999"), "100000");
    cfbp_environment_unset(&environment, "VARIABLE_5");
    assert_null(cfbp_environment_get(&environment, "VARIABLE_5"));
    assert_string_equal(cfbp_environment_get(&environment, "VARIABLE_6"), "7");
    assert_null(environment.entries.items[environment.entries.count]);
    cfbp_environment_release(&environment);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(reports_exit_statuses),
        TEST(environments_stay_fast_with_many_variables),
        TEST(escapees_from_the_group_are_killed_with_kill_orphans),
        TEST(a_killed_program_gives_128_plus_the_signal),
        TEST(passes_arguments_verbatim),
        TEST(honours_the_working_directory),
        TEST(inherits_the_environment),
        TEST(a_missing_program_is_not_found),
        TEST(a_file_that_is_not_executable_cannot_run),
        TEST(a_missing_directory_is_named_in_the_error),
        cmocka_unit_test(turns_wait_statuses_into_exit_codes),
        cmocka_unit_test(environment_sets_gets_and_unsets),
        cmocka_unit_test(environment_takes_assignments),
        cmocka_unit_test(environment_merges),
        cmocka_unit_test(environment_inherits_named_variables),
        TEST(a_custom_environment_is_all_the_child_gets),
        TEST(an_empty_environment_is_empty),
        TEST(redirects_stdin_stdout_and_stderr),
        TEST(capture_keeps_stderr_apart_unless_merged),
        TEST(a_child_gets_the_default_sigpipe_action),
        TEST(capture_failures_leak_nothing),
        TEST(a_new_process_group_takes_the_childs_children_along),
        TEST(waiting_for_a_stranger_is_an_error),
        TEST(bounded_output_kills_a_program_that_prints_too_much),
        TEST(a_stop_request_stops_the_whole_group),
        TEST(what_a_group_leader_leaves_running_goes_with_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
