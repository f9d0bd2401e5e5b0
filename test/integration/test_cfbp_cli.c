/*
 * test_cfbp_cli.c - the built cfbp as a person and a CI job meet it: help in
 * every form, one error format, delete-buildpack's options and question,
 * progress lines when stderr is not a terminal, Ctrl-C and SIGTERM during
 * packaging (real signals to the real program, a slow loopback server), and
 * the man pages and bash completion against what the program accepts.
 */
#include "support.h"

#include "http_server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Every command of cfbp; the test also checks `cfbp --help` lists exactly these. */
static const char *const commands[] = {
    "package",    "summary",          "stage",   "run",  "create-buildpack",
    "buildpacks", "delete-buildpack", "tarball", "help", "version",
};
#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

/* The Go packager's flags, which buildpack-packager(1) and its completion must name. */
static const char *const go_flags[] = {"stack",    "any-stack", "cached",  "version",
                                       "cachedir", "profile",   "exclude", "include"};

struct fixture {
    char *dir;
    char *home;   /* CFBP_HOME */
    char *tmp;    /* TMPDIR of the programs: cfbp-package-* copies go here */
    char *cache;  /* --cachedir */
    char *out;    /* --output */
    char *source; /* a buildpack to package */
    char *log;
    struct test_http_server *server;
    struct test_http_response dependency[1];
    char *dependency_file;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->home = test_path(fixture->dir, "cfbp-home");
    fixture->tmp = test_path(fixture->dir, "tmp");
    fixture->cache = test_path(fixture->dir, "cache");
    fixture->out = test_path(fixture->dir, "out");
    fixture->source = test_path(fixture->dir, "buildpack");
    fixture->log = test_path(fixture->dir, "log");
    mkdir(fixture->home, 0755);
    mkdir(fixture->tmp, 0755);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    if (fixture->server)
        test_http_server_stop(fixture->server);
    free(fixture->home);
    free(fixture->tmp);
    free(fixture->cache);
    free(fixture->out);
    free(fixture->source);
    free(fixture->log);
    free(fixture->dependency_file);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

static char *cfbp_program(void)
{
    return test_path(test_program_dir(), "cfbp");
}

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("expected '%s' in:\n%s", needle, text);
}

/* The environment every run gets: its own homes and TMPDIR, and no proxy for loopback. */
static char **environment(const struct fixture *fixture)
{
    static char home[4096], cfbp_home[4096], tmpdir[4096];
    snprintf(home, sizeof(home), "HOME=%s", fixture->dir);
    snprintf(cfbp_home, sizeof(cfbp_home), "CFBP_HOME=%s", fixture->home);
    snprintf(tmpdir, sizeof(tmpdir), "TMPDIR=%s", fixture->tmp);
    static char *env[] = {
        home,           cfbp_home,    tmpdir,       "http_proxy=", "HTTP_PROXY=", "https_proxy=",
        "HTTPS_PROXY=", "all_proxy=", "ALL_PROXY=", "no_proxy=*",  "NO_PROXY=*",  NULL};
    return env;
}

/* Runs cfbp with the arguments (NULL-terminated), stdin from /dev/null. */
static struct test_run run_cfbp(const struct fixture *fixture, const char *first, ...)
{
    char *program = cfbp_program();
    char *argv[64] = {"/bin/sh", "-c", "exec \"$0\" \"$@\" </dev/null", program};
    size_t argc = 4;
    va_list args;
    va_start(args, first);
    for (const char *arg = first; arg && argc < 63; arg = va_arg(args, const char *))
        argv[argc++] = (char *)arg;
    va_end(args);
    argv[argc] = NULL;
    struct test_run run = test_run_program(argv, NULL, environment(fixture));
    free(program);
    return run;
}

/* --- help and errors --- */

static void every_command_has_help_in_every_form(void **state)
{
    struct fixture *fixture = *state;
    struct test_run top = run_cfbp(fixture, "--help", NULL);
    assert_int_equal(top.status, 0);
    assert_string_equal(top.err, "");
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        char listed[64];
        snprintf(listed, sizeof(listed), "\n  %s ", commands[i]);
        assert_contains(top.out, listed);
    }
    static const char *const top_forms[] = {"help", "-h"};
    for (size_t i = 0; i < 2; i++) {
        struct test_run run = run_cfbp(fixture, top_forms[i], NULL);
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out, top.out);
        assert_string_equal(run.err, "");
        test_run_free(&run);
    }
    test_run_free(&top);

    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        char expected[64];
        snprintf(expected, sizeof(expected), "usage: cfbp %s", commands[i]);
        struct test_run forms[3] = {
            run_cfbp(fixture, "help", commands[i], NULL),
            run_cfbp(fixture, commands[i], "--help", NULL),
            run_cfbp(fixture, commands[i], "-h", NULL),
        };
        for (size_t f = 0; f < 3; f++) {
            if (forms[f].status != 0 || strncmp(forms[f].out, expected, strlen(expected)) != 0 ||
                *forms[f].err)
                fail_msg("help form %zu of %s: status %d, stdout:\n%s\nstderr:\n%s", f, commands[i],
                         forms[f].status, forms[f].out, forms[f].err);
            assert_string_equal(forms[f].out, forms[0].out);
        }
        for (size_t f = 0; f < 3; f++)
            test_run_free(&forms[f]);
    }
}

static void help_for_no_such_command_is_an_error(void **state)
{
    struct fixture *fixture = *state;
    struct test_run run = run_cfbp(fixture, "help", "nosuch", NULL);
    assert_int_equal(run.status, 2);
    assert_string_equal(run.out, "");
    assert_string_equal(run.err, "cfbp help: 'nosuch' is not a command\n"
                                 "Run 'cfbp help --help' for usage.\n");
    test_run_free(&run);
    run = run_cfbp(fixture, "nosuch", NULL);
    assert_int_equal(run.status, 2);
    assert_string_equal(run.err, "cfbp: 'nosuch' is not a command\n"
                                 "Run 'cfbp --help' for the list of commands.\n");
    test_run_free(&run);
}

/* Every command: an unknown option is one line naming it, the hint, and status 2. */
static void a_wrong_flag_is_one_line_that_names_it(void **state)
{
    struct fixture *fixture = *state;
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        if (strcmp(commands[i], "help") == 0)
            continue; /* cfbp help --bogus-flag: below */
        struct test_run run = run_cfbp(fixture, commands[i], "--bogus-flag", NULL);
        char expected[256], prefix[64], hint[128];
        snprintf(expected, sizeof(expected),
                 "cfbp %s: unknown option '--bogus-flag'\nRun 'cfbp %s --help' for usage.\n",
                 commands[i], commands[i]);
        snprintf(prefix, sizeof(prefix), "cfbp %s: ", commands[i]);
        snprintf(hint, sizeof(hint), "\nRun 'cfbp %s --help' for usage.\n", commands[i]);
        /* cfbp package words it as the Go packager's flag package does ("flag provided but
         * not defined: -bogus-flag"); the form is the same: one line naming it, the hint. */
        bool same_form = strncmp(run.err, prefix, strlen(prefix)) == 0 &&
                         strstr(run.err, "bogus-flag") &&
                         strchr(run.err, '\n') == strstr(run.err, hint) &&
                         strlen(strstr(run.err, hint)) == strlen(hint);
        bool as_expected =
            strcmp(commands[i], "package") == 0 ? same_form : strcmp(run.err, expected) == 0;
        if (run.status != 2 || !as_expected)
            fail_msg("cfbp %s --bogus-flag: status %d, stderr:\n%s\nexpected:\n%s", commands[i],
                     run.status, run.err, expected);
        test_run_free(&run);
    }
    struct test_run run = run_cfbp(fixture, "help", "--bogus-flag", NULL);
    assert_int_equal(run.status, 2);
    assert_string_equal(run.err, "cfbp help: unknown option '--bogus-flag'\n"
                                 "Run 'cfbp help --help' for usage.\n");
    test_run_free(&run);
}

static void option_values_are_checked_in_the_same_words(void **state)
{
    struct fixture *fixture = *state;
    static const struct {
        const char *command, *option, *expected;
    } cases[] = {
        {"stage", "--droplet", "cfbp stage: option '--droplet' needs a value\n"},
        {"stage", "-b", "cfbp stage: option '-b' needs a value\n"},
        {"stage", "-z", "cfbp stage: unknown option '-z'\n"},
        {"run", "--help=yes", "cfbp run: option '--help' takes no value\n"},
        {"tarball", "--mtime", "cfbp tarball: option '--mtime' needs a value\n"},
        {"summary", "-bogus", "cfbp summary: unknown option '-bogus'\n"},
        {"delete-buildpack", "-x", "cfbp delete-buildpack: unknown option '-x'\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct test_run run = run_cfbp(fixture, cases[i].command, cases[i].option, NULL);
        char expected[256];
        snprintf(expected, sizeof(expected), "%sRun 'cfbp %s --help' for usage.\n",
                 cases[i].expected, cases[i].command);
        if (run.status != 2 || strcmp(run.err, expected) != 0)
            fail_msg("cfbp %s %s: status %d, stderr:\n%s", cases[i].command, cases[i].option,
                     run.status, run.err);
        test_run_free(&run);
    }
}

/* --- delete-buildpack --- */

static void register_buildpack(struct fixture *fixture, const char *name)
{
    char *dir = test_path(fixture->dir, name);
    char *detect = test_path(dir, "bin/detect");
    test_write_file(detect, "#!/bin/sh\nexit 1\n", 0755);
    struct test_run run = run_cfbp(fixture, "create-buildpack", "--", name, dir, NULL);
    if (run.status != 0)
        fail_msg("create-buildpack failed:\n%s", run.err);
    test_run_free(&run);
    free(detect);
    free(dir);
}

static bool is_registered(struct fixture *fixture, const char *name)
{
    struct test_run run = run_cfbp(fixture, "buildpacks", NULL);
    assert_int_equal(run.status, 0);
    char needle[128];
    snprintf(needle, sizeof(needle), " %s ", name);
    bool found = strstr(run.out, needle) != NULL;
    test_run_free(&run);
    return found;
}

static void delete_buildpack_parses_its_options(void **state)
{
    struct fixture *fixture = *state;
    register_buildpack(fixture, "--bogus"); /* create-buildpack -- --bogus DIR */
    register_buildpack(fixture, "kept");
    /* Once taken as a name (and the buildpack named so deleted); now an unknown option. */
    struct test_run run = run_cfbp(fixture, "delete-buildpack", "--bogus", NULL);
    assert_int_equal(run.status, 2);
    test_run_free(&run);
    assert_true(is_registered(fixture, "--bogus"));
    /* The way to name it: after --. */
    run = run_cfbp(fixture, "delete-buildpack", "-f", "--", "--bogus", NULL);
    assert_int_equal(run.status, 0);
    test_run_free(&run);
    assert_false(is_registered(fixture, "--bogus"));
    /* Without -f and with stdin not a terminal (a script): deleted without a question. */
    run = run_cfbp(fixture, "delete-buildpack", "kept", NULL);
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "Deleted buildpack kept\n");
    assert_string_equal(run.err, "");
    test_run_free(&run);
    assert_false(is_registered(fixture, "kept"));
    run = run_cfbp(fixture, "delete-buildpack", "--force", "kept", NULL);
    assert_int_equal(run.status, 1);
    assert_string_equal(run.err, "cfbp delete-buildpack: buildpack kept does not exist\n");
    test_run_free(&run);
}

/* Runs delete-buildpack on a pseudo-terminal, answering answer; returns what it printed. */
static char *delete_on_a_terminal(struct fixture *fixture, const char *name, const char *answer,
                                  int *status)
{
    char *program = cfbp_program();
    char **env = environment(fixture);
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    if (pid < 0)
        fail_msg("forkpty: %s", strerror(errno));
    if (pid == 0) {
        for (char **entry = env; *entry; entry++) {
            char variable[256];
            size_t length = strcspn(*entry, "=");
            snprintf(variable, sizeof(variable), "%.*s", (int)length, *entry);
            if ((*entry)[length + 1])
                setenv(variable, *entry + length + 1, 1);
            else
                unsetenv(variable);
        }
        execl(program, program, "delete-buildpack", name, (char *)NULL);
        _exit(127);
    }
    free(program);
    char output[4096];
    size_t used = 0;
    bool answered = false;
    for (;;) {
        struct pollfd poller = {master, POLLIN, 0};
        if (poll(&poller, 1, 10000) <= 0)
            break;
        ssize_t got = read(master, output + used, sizeof(output) - 1 - used);
        if (got <= 0)
            break; /* EIO once the program has ended */
        used += (size_t)got;
        output[used] = '\0';
        if (!answered && strstr(output, "[yN]: ")) {
            if (write(master, answer, strlen(answer)) < 0)
                fail_msg("cannot answer: %s", strerror(errno));
            answered = true;
        }
    }
    output[used] = '\0';
    int wait_status;
    waitpid(pid, &wait_status, 0);
    close(master);
    *status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
    return strdup(output);
}

static void delete_buildpack_asks_on_a_terminal(void **state)
{
    struct fixture *fixture = *state;
    register_buildpack(fixture, "asked");
    int status;
    char *said = delete_on_a_terminal(fixture, "asked", "n\n", &status);
    if (status != 0)
        fail_msg("status %d:\n%s", status, said);
    assert_contains(said, "Really delete the buildpack asked? [yN]: ");
    assert_contains(said, "Buildpack asked has not been deleted.");
    free(said);
    assert_true(is_registered(fixture, "asked"));
    said = delete_on_a_terminal(fixture, "asked", "y\n", &status);
    assert_int_equal(status, 0);
    assert_contains(said, "Deleted buildpack asked");
    free(said);
    assert_false(is_registered(fixture, "asked"));
}

/* --- cfbp stage's errors --- */

static void stage_errors_have_the_prefix_but_builder_lines_do_not(void **state)
{
    struct fixture *fixture = *state;
    char *app = test_path(fixture->dir, "app");
    char *index = test_path(app, "index.html");
    test_write_file(index, "hello\n", 0644);
    char *droplet = test_path(fixture->dir, "droplet.tgz");
    /* An error of cfbp's own. */
    struct test_run run =
        run_cfbp(fixture, "stage", app, "-b", "no-such-buildpack", "--droplet", droplet, NULL);
    assert_int_not_equal(run.status, 0);
    if (strncmp(run.err, "cfbp stage: ", 12) != 0)
        fail_msg("expected a 'cfbp stage:' error, got:\n%s", run.err);
    assert_contains(run.err, "no-such-buildpack");
    test_run_free(&run);
    /* The builder's own line, exactly as Cloud Foundry prints it (contract §7). */
    run = run_cfbp(fixture, "stage", app, "--droplet", droplet, NULL);
    assert_int_equal(run.status, 222);
    assert_string_equal(run.err, "None of the buildpacks detected a compatible application\n");
    test_run_free(&run);
    free(droplet);
    free(index);
    free(app);
}

/* A relative --cache is the caller's directory, not the scripts' (they run elsewhere): the
 * cache a buildpack writes is kept for restaging (found by an adversarial review: it was
 * written inside the staging temp directory and removed with it). */
static void stage_keeps_a_relative_cache(void **state)
{
    struct fixture *fixture = *state;
    char *app = test_path(fixture->dir, "app");
    char *index = test_path(app, "index.html");
    test_write_file(index, "hello\n", 0644);
    char *bin = test_path(fixture->dir, "bp/bin");
    char *detect = test_path(bin, "detect"), *compile = test_path(bin, "compile"),
         *release = test_path(bin, "release");
    test_write_file(detect, "#!/bin/sh\nexit 0\n", 0755);
    test_write_file(compile, "#!/bin/sh\necho kept > \"$2/marker\"\n", 0755);
    test_write_file(release, "#!/bin/sh\nprintf -- '---\\ndefault_process_types:\\n  web: x\\n'\n",
                    0755);
    char *program = cfbp_program();
    char *argv[] = {"/bin/sh",
                    "-c",
                    "cd \"$1\" && exec \"$0\" stage app -b ./bp --droplet d.tgz --cache rel-cache "
                    "</dev/null",
                    program,
                    fixture->dir,
                    NULL};
    struct test_run run = test_run_program(argv, NULL, environment(fixture));
    if (run.status != 0)
        fail_msg("cfbp stage: %d\n%s", run.status, run.err);
    char *marker = test_path(fixture->dir, "rel-cache/final/marker");
    assert_true(test_exists(marker));
    test_run_free(&run);
    free(marker);
    free(program);
    free(release);
    free(compile);
    free(detect);
    free(bin);
    free(index);
    free(app);
}

/* --- packaging: progress and signals --- */

/* A buildpack whose one dependency is served by the loopback server (size bytes). */
static void make_buildpack(struct fixture *fixture, size_t size, const char *pre_package)
{
    fixture->dependency_file = test_path(fixture->dir, "dep-1.0.0.tgz");
    struct test_entry entry = {"bin/dep", 'r', 0755, NULL, size};
    test_make_archive(fixture->dependency_file, TEST_TAR, &entry, 1);
    fixture->dependency[0] = (struct test_http_response){.body_file = fixture->dependency_file};
    struct test_http_route route = {"/dep-1.0.0.tgz", fixture->dependency, 1};
    fixture->server = test_http_server_start(&route, 1);
    char *url = test_http_server_url(fixture->server, "/dep-1.0.0.tgz");
    char manifest[8192];
    snprintf(manifest, sizeof(manifest),
             "---\n"
             "language: slow\n"
             "%s%s%s"
             "include_files:\n"
             "- VERSION\n"
             "- manifest.yml\n"
             "- README.md\n"
             "dependencies:\n"
             "- name: dep\n"
             "  version: 1.0.0\n"
             "  uri: %s\n"
             "  sha256: %s\n"
             "  cf_stacks:\n"
             "  - cflinuxfs4\n",
             pre_package ? "pre_package: " : "", pre_package ? pre_package : "",
             pre_package ? "\n" : "", url, test_sha256_of_file(fixture->dependency_file));
    char *path = test_path(fixture->source, "manifest.yml");
    test_write_file(path, manifest, 0644);
    free(path);
    path = test_path(fixture->source, "VERSION");
    test_write_file(path, "1.0.0\n", 0644);
    free(path);
    path = test_path(fixture->source, "README.md");
    test_write_file(path, "slow\n", 0644);
    free(path);
    free(url);
}

static char *const *package_argv(struct fixture *fixture)
{
    static char program[4096], cache[4096], out[4096];
    char *cfbp = cfbp_program();
    snprintf(program, sizeof(program), "%s", cfbp);
    free(cfbp);
    snprintf(cache, sizeof(cache), "--cachedir=%s", fixture->cache);
    snprintf(out, sizeof(out), "--output=%s", fixture->out);
    static char *argv[] = {program, "package", "--cached", "--stack=cflinuxfs4",
                           cache,   out,       NULL,       NULL};
    argv[6] = fixture->source;
    return argv;
}

static double now_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* Files under dir (recursively) whose names hold part (or start with it, prefix). */
static size_t count_named(const char *dir, const char *part, bool prefix)
{
    DIR *stream = opendir(dir);
    if (!stream)
        return 0;
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(stream))) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        size_t part_length = strlen(part);
        if (prefix ? strncmp(entry->d_name, part, part_length) == 0
                   : strstr(entry->d_name, part) != NULL)
            count++;
        if (entry->d_type == DT_DIR) {
            char *below = test_path(dir, entry->d_name);
            count += count_named(below, part, prefix);
            free(below);
        }
    }
    closedir(stream);
    return count;
}

static void download_progress_is_shown_without_a_terminal(void **state)
{
    struct fixture *fixture = *state;
    /* 2.4 MB at 240 kB/s: about 10 s, so about three lines 3 s apart, then 100%. */
    make_buildpack(fixture, 2400000, NULL);
    test_http_server_set_rate(fixture->server, "/dep-1.0.0.tgz", 240000);
    struct test_run run = test_run_program(package_argv(fixture), NULL, environment(fixture));
    if (run.status != 0)
        fail_msg("cfbp package failed:\n%s%s", run.out, run.err);
    unsigned percents[64];
    size_t count = 0;
    static const char lead[] = "       Downloading dep 1.0.0: ";
    for (const char *line = run.err; line && *line; line = strchr(line, '\n'), line += !!line) {
        if (strncmp(line, lead, strlen(lead)) != 0)
            continue;
        const char *end = strchr(line, '\n');
        int length = end ? (int)(end - line) : (int)strlen(line);
        unsigned percent;
        if (sscanf(line + strlen(lead), "%u%%", &percent) != 1 || count == 64)
            fail_msg("a progress line without a percentage: %.*s", length, line);
        if (!strstr(line, " of ") || !strstr(line, "B/s") || strstr(line, "\r"))
            fail_msg("a progress line without size or rate, or with \\r: %.*s", length, line);
        percents[count++] = percent;
    }
    if (count < 3)
        fail_msg("expected several progress lines, got %zu in:\n%s", count, run.err);
    for (size_t i = 1; i < count; i++)
        if (percents[i] <= percents[i - 1])
            fail_msg("progress went from %u%% to %u%%:\n%s", percents[i - 1], percents[i], run.err);
    assert_int_equal(percents[count - 1], 100);
    test_run_free(&run);
}

/* Starts cfbp package in the background, its output to the fixture's log. */
static pid_t start_package(struct fixture *fixture)
{
    unlink(fixture->log);
    return test_start_program(package_argv(fixture), NULL, environment(fixture), fixture->log);
}

/* Waits (at most 20 s) until the log holds text; fails the test if the program ends first. */
static void wait_for_log(struct fixture *fixture, pid_t pid, const char *text)
{
    double start = now_seconds();
    while (now_seconds() - start < 20) {
        char *log = test_read_file(fixture->log);
        bool found = log && strstr(log, text);
        free(log);
        if (found)
            return;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            char *shown = test_read_file(fixture->log);
            fail_msg("cfbp package ended (status %d) before '%s':\n%s", status, text,
                     shown ? shown : "");
        }
        usleep(20000);
    }
    fail_msg("no '%s' in the log within 20 s", text);
}

/*
 * Waits for cfbp package, stopped at sent: it must end by signal_number
 * within 10 s and leave nothing behind. Returns its log.
 */
static char *wait_stopped_cleanly(struct fixture *fixture, pid_t pid, int signal_number,
                                  double sent)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    double took = now_seconds() - sent;
    char *log = test_read_file(fixture->log);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != signal_number)
        fail_msg("cfbp package did not end by signal %d (wait status 0x%x):\n%s", signal_number,
                 status, log ? log : "");
    if (took > 10)
        fail_msg("cfbp package took %.1f s to stop", took);
    /* Nothing left: no copy in TMPDIR, no .partial in the cache, no zip or half zip. */
    size_t copies = count_named(fixture->tmp, "cfbp-package-", true);
    size_t partials = count_named(fixture->cache, ".partial", false);
    size_t outputs = test_count_entries(fixture->out);
    if (copies || partials || outputs)
        fail_msg("left behind: %zu cfbp-package-* in TMPDIR, %zu .partial in the cache, %zu "
                 "files in the output directory; the log:\n%s",
                 copies, partials, outputs, log ? log : "");
    return log;
}

/* Sends signal_number and waits: the program must end by that signal, within 10 s. */
static void interrupt_and_check(struct fixture *fixture, pid_t pid, int signal_number)
{
    double sent = now_seconds();
    kill(pid, signal_number);
    char *log = wait_stopped_cleanly(fixture, pid, signal_number, sent);
    char expected[64];
    snprintf(expected, sizeof(expected), "cfbp package: stopped by SIG%s\n",
             sigabbrev_np(signal_number));
    assert_contains(log ? log : "", expected);
    free(log);
}

/* After an interrupted run, a full-speed one succeeds. */
static void package_again(struct fixture *fixture)
{
    test_http_server_set_rate(fixture->server, "/dep-1.0.0.tgz", 0);
    struct test_run run = test_run_program(package_argv(fixture), NULL, environment(fixture));
    if (run.status != 0)
        fail_msg("cfbp package after the interrupted one failed:\n%s%s", run.out, run.err);
    assert_contains(run.out, "cached buildpack created and saved as ");
    assert_int_equal(count_named(fixture->tmp, "cfbp-package-", true), 0);
    assert_int_equal(count_named(fixture->out, ".zip", false), 1);
    test_run_free(&run);
}

static void interrupted_download(struct fixture *fixture, int signal_number)
{
    make_buildpack(fixture, 4000000, NULL);
    test_http_server_set_rate(fixture->server, "/dep-1.0.0.tgz", 200000);
    pid_t pid = start_package(fixture);
    wait_for_log(fixture, pid, "-----> Downloading dep 1.0.0");
    /* Mid-download: the .partial is there and has bytes. */
    double start = now_seconds();
    while (count_named(fixture->cache, ".partial", false) == 0 && now_seconds() - start < 10)
        usleep(20000);
    assert_int_equal(count_named(fixture->cache, ".partial", false), 1);
    usleep(300000);
    assert_int_equal(count_named(fixture->tmp, "cfbp-package-", true), 1);
    interrupt_and_check(fixture, pid, signal_number);
    package_again(fixture);
}

static void ctrl_c_during_a_download_leaves_nothing(void **state)
{
    interrupted_download(*state, SIGINT);
}

static void sigterm_during_a_download_leaves_nothing(void **state)
{
    interrupted_download(*state, SIGTERM);
}

/*
 * A reader of cfbp package's output that goes away (cfbp package 2>&1 |
 * head -1) stops it as SIGPIPE would (141), and it leaves nothing behind;
 * the download (a socket) is not what SIGPIPE is about. Quiet, it writes
 * nothing until the end, and still notices.
 */
static void reader_goes_away(struct fixture *fixture, bool quiet)
{
    make_buildpack(fixture, 4000000, NULL);
    test_http_server_set_rate(fixture->server, "/dep-1.0.0.tgz", 200000);
    unlink(fixture->log);
    int output[2];
    assert_int_equal(pipe(output), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, 0) < 0 || dup2(output[1], 1) < 0 || dup2(output[1], 2) < 0)
            _exit(126);
        close(output[0]);
        close(output[1]);
        /* As from a shell: SIGPIPE's default action, whatever runs the tests. */
        signal(SIGPIPE, SIG_DFL);
        char *argv[16];
        size_t argc = 0;
        for (char *const *arg = package_argv(fixture); *arg; arg++) {
            argv[argc++] = *arg;
            if (quiet && argc == 2)
                argv[argc++] = "--quiet";
        }
        argv[argc] = NULL;
        execve(argv[0], argv, environment(fixture));
        _exit(127);
    }
    close(output[1]);
    char seen[65536];
    size_t used = 0;
    double start = now_seconds();
    static const char step[] = "Downloading dep 1.0.0: ";
    while (quiet && count_named(fixture->cache, ".partial", false) == 0 &&
           now_seconds() - start < 20)
        usleep(20000);
    while (!quiet && !(used && memmem(seen, used, step, strlen(step))) &&
           now_seconds() - start < 20) {
        struct pollfd ready = {output[0], POLLIN, 0};
        if (poll(&ready, 1, 200) <= 0)
            continue;
        ssize_t got = read(output[0], seen + used, sizeof(seen) - 1 - used);
        if (got <= 0)
            break;
        used += (size_t)got;
    }
    seen[used] = '\0';
    if (!quiet && !strstr(seen, step))
        fail_msg("no progress line within 20 s:\n%s", seen);
    if (quiet && used)
        fail_msg("--quiet wrote:\n%s", seen);
    assert_int_equal(count_named(fixture->cache, ".partial", false), 1);
    double sent = now_seconds();
    close(output[0]);
    free(wait_stopped_cleanly(fixture, pid, SIGPIPE, sent));
    package_again(fixture);
}

static void a_reader_that_goes_away_stops_package_cleanly(void **state)
{
    reader_goes_away(*state, false);
}

static void a_reader_that_goes_away_stops_quiet_package_too(void **state)
{
    reader_goes_away(*state, true);
}

static void sigterm_stops_pre_package_and_what_it_started(void **state)
{
    struct fixture *fixture = *state;
    char *script = test_path(fixture->source, "pre_package.sh");
    char *script_pid = test_path(fixture->dir, "script.pid");
    char *sleep_pid = test_path(fixture->dir, "sleep.pid");
    char text[8192];
    snprintf(text, sizeof(text),
             "#!/bin/sh\n"
             "echo $$ > '%s.new' && mv '%s.new' '%s'\n"
             "sleep 300 &\n"
             "echo $! > '%s.new' && mv '%s.new' '%s'\n"
             "wait\n",
             script_pid, script_pid, script_pid, sleep_pid, sleep_pid, sleep_pid);
    test_write_file(script, text, 0755);
    make_buildpack(fixture, 1000, "pre_package.sh");
    pid_t pid = start_package(fixture);
    wait_for_log(fixture, pid, "-----> Running pre_package");
    double start = now_seconds();
    while (!(test_exists(script_pid) && test_exists(sleep_pid)) && now_seconds() - start < 10)
        usleep(20000);
    char *script_text = test_read_file(script_pid), *sleep_text = test_read_file(sleep_pid);
    assert_non_null(script_text);
    assert_non_null(sleep_text);
    pid_t script_process = (pid_t)atoi(script_text), sleep_process = (pid_t)atoi(sleep_text);
    assert_true(test_process_alive(sleep_process));
    interrupt_and_check(fixture, pid, SIGTERM);
    /* The script and its child were stopped with it (they are not ours: poll briefly). */
    start = now_seconds();
    while ((test_process_alive(script_process) || test_process_alive(sleep_process)) &&
           now_seconds() - start < 5)
        usleep(20000);
    assert_false(test_process_alive(script_process));
    assert_false(test_process_alive(sleep_process));
    free(script_text);
    free(sleep_text);
    free(script);
    free(script_pid);
    free(sleep_pid);
}

static void ctrl_c_while_zipping_leaves_no_zip(void **state)
{
    struct fixture *fixture = *state;
    /* Two big local dependencies: zipping them takes a while. */
    char manifest[8192];
    size_t used = (size_t)snprintf(manifest, sizeof(manifest),
                                   "---\nlanguage: big\ninclude_files:\n- VERSION\n"
                                   "- manifest.yml\ndependencies:\n");
    for (int i = 1; i <= 2; i++) {
        char name[64];
        snprintf(name, sizeof(name), "big-%d.bin", i);
        char *path = test_path(fixture->dir, name);
        struct test_entry entry = {"big", 'r', 0644, NULL, 32u << 20};
        test_make_archive(path, TEST_TAR, &entry, 1);
        used += (size_t)snprintf(manifest + used, sizeof(manifest) - used,
                                 "- name: big%d\n  version: 1.0.0\n  uri: file://%s\n"
                                 "  sha256: %s\n  cf_stacks:\n  - cflinuxfs4\n",
                                 i, path, test_sha256_of_file(path));
        free(path);
    }
    char *path = test_path(fixture->source, "manifest.yml");
    test_write_file(path, manifest, 0644);
    free(path);
    path = test_path(fixture->source, "VERSION");
    test_write_file(path, "1.0.0\n", 0644);
    free(path);
    pid_t pid = start_package(fixture);
    wait_for_log(fixture, pid, "-----> Writing ");
    interrupt_and_check(fixture, pid, SIGINT);
}

/* --- man pages and completion --- */

static char *source_file(const char *relative)
{
    char *path = test_path(CFBP_SOURCE_DIR, relative);
    char *text = test_read_file(path);
    if (!text)
        fail_msg("cannot read %s", path);
    free(path);
    return text;
}

/* "--any-stack" as roff writes it: "\-\-any\-stack". */
static void roff_form(const char *option, char *out, size_t size)
{
    size_t used = 0;
    for (const char *c = option; *c && used + 3 < size; c++) {
        if (*c == '-')
            out[used++] = '\\';
        out[used++] = *c;
    }
    out[used] = '\0';
}

/* What the completion offers for the words (the last one being completed). */
static char *complete(const char *function, const char *words)
{
    char script[4096];
    snprintf(script, sizeof(script),
             "source '%s/docs/completion/cfbp.bash' || exit 9\n"
             "complete -p cfbp >/dev/null && complete -p buildpack-packager >/dev/null || exit 8\n"
             "COMP_WORDS=(%s); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
             "[ \"${words: -1}\" = ' ' ] && COMP_CWORD=${#COMP_WORDS[@]} && COMP_WORDS+=('')\n"
             "%s\n"
             "printf '%%s\\n' \"${COMPREPLY[@]}\"\n",
             CFBP_SOURCE_DIR, words, function);
    char *argv[] = {"/bin/bash", "--norc", "--noprofile", "-c", script, NULL};
    char words_variable[1024];
    snprintf(words_variable, sizeof(words_variable), "words=%s", words);
    char *env[] = {words_variable, NULL};
    struct test_run run = test_run_program(argv, NULL, env);
    if (run.status != 0)
        fail_msg("the completion script failed (%d): %s", run.status, run.err);
    char *offered = run.out;
    run.out = NULL;
    test_run_free(&run);
    return offered;
}

static bool offers(const char *offered, const char *word)
{
    size_t length = strlen(word);
    for (const char *line = offered; line && *line; line = strchr(line, '\n'), line += !!line)
        if (strncmp(line, word, length) == 0 && (line[length] == '\n' || line[length] == '\0'))
            return true;
    return false;
}

static void man_pages_render_without_warnings(void **state)
{
    (void)state;
    if (access("/usr/bin/groff", X_OK) != 0)
        skip(); /* scripts/install-deps installs groff-base */
    static const char *const pages[] = {"docs/man/cfbp.1", "docs/man/buildpack-packager.1"};
    for (size_t i = 0; i < 2; i++) {
        char *page = test_path(CFBP_SOURCE_DIR, pages[i]);
        char *argv[] = {"/usr/bin/groff", "-man", "-ww", "-z", page, NULL};
        struct test_run run = test_run_program(argv, NULL, NULL);
        if (run.status != 0 || *run.err)
            fail_msg("groff warns about %s:\n%s", pages[i], run.err);
        test_run_free(&run);
        free(page);
    }
}

static void man_page_and_completion_name_every_command_and_option(void **state)
{
    struct fixture *fixture = *state;
    char *page = source_file("docs/man/cfbp.1");
    char *offered_commands = complete("_cfbp", "cfbp ");
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        char heading[128];
        snprintf(heading, sizeof(heading), ".SS \"cfbp %s", commands[i]);
        char roff[128];
        roff_form(heading, roff, sizeof(roff)); /* create\-buildpack */
        if (!strstr(page, heading) && !strstr(page, roff))
            fail_msg("cfbp.1 has no section for %s", commands[i]);
        if (!offers(offered_commands, commands[i]))
            fail_msg("the completion does not offer %s:\n%s", commands[i], offered_commands);

        /* Every long option in the command's help. */
        struct test_run help = run_cfbp(fixture, commands[i], "--help", NULL);
        assert_int_equal(help.status, 0);
        char words[128];
        snprintf(words, sizeof(words), "cfbp %s --", commands[i]);
        char *offered = complete("_cfbp", words);
        size_t options = 0;
        for (const char *at = strstr(help.out, "--"); at; at = strstr(at + 2, "--")) {
            if (at > help.out && at[-1] != ' ' && at[-1] != '[' && at[-1] != '(' && at[-1] != '`')
                continue;
            char option[64];
            size_t length = strspn(at + 2, "abcdefghijklmnopqrstuvwxyz0123456789-");
            if (length == 0 || length > 50)
                continue;
            snprintf(option, sizeof(option), "--%.*s", (int)length, at + 2);
            char roff_option[160];
            roff_form(option, roff_option, sizeof(roff_option));
            if (!strstr(page, roff_option))
                fail_msg("cfbp.1 does not mention %s of cfbp %s", option, commands[i]);
            if (!offers(offered, option))
                fail_msg("the completion of cfbp %s does not offer %s:\n%s", commands[i], option,
                         offered);
            options++;
        }
        assert_true(options >= 1); /* --help at least */
        free(offered);
        test_run_free(&help);
    }
    free(offered_commands);
    free(page);

    /* buildpack-packager: the Go packager's words and flags. */
    page = source_file("docs/man/buildpack-packager.1");
    char *offered_words = complete("_cfbp_buildpack_packager", "buildpack-packager ");
    char *offered_flags = complete("_cfbp_buildpack_packager", "buildpack-packager build -");
    static const char *const words[] = {"build", "summary", "help"};
    for (size_t i = 0; i < 3; i++) {
        char heading[64];
        snprintf(heading, sizeof(heading), ".B %s", words[i]);
        assert_contains(page, heading);
        if (!offers(offered_words, words[i]))
            fail_msg("buildpack-packager completion does not offer %s", words[i]);
    }
    for (size_t i = 0; i < sizeof(go_flags) / sizeof(go_flags[0]); i++) {
        char flag[64], roff[128];
        snprintf(flag, sizeof(flag), "-%s", go_flags[i]);
        roff_form(flag, roff, sizeof(roff));
        if (!strstr(page, roff))
            fail_msg("buildpack-packager.1 does not mention %s", flag);
        if (!offers(offered_flags, flag))
            fail_msg("buildpack-packager completion does not offer %s:\n%s", flag, offered_flags);
    }
    free(offered_words);
    free(offered_flags);
    free(page);
}

static void completion_completes_commands_and_values(void **state)
{
    (void)state;
    char *offered = complete("_cfbp", "cfbp pa");
    assert_string_equal(offered, "package\n");
    free(offered);
    offered = complete("_cfbp", "cfbp help del");
    assert_string_equal(offered, "delete-buildpack\n");
    free(offered);
    offered = complete("_cfbp", "cfbp package --stack cflinuxfs");
    assert_true(offers(offered, "cflinuxfs4"));
    free(offered);
    offered = complete("_cfbp", "cfbp delete-buildpack -");
    assert_true(offers(offered, "-f"));
    assert_true(offers(offered, "--force"));
    free(offered);
}

static void install_rules_install_the_man_pages_and_completion(void **state)
{
    struct fixture *fixture = *state;
    char *build_dir = strdup(test_program_dir());
    *strrchr(build_dir, '/') = '\0'; /* <build>/bin -> <build> */
    char *prefix = test_path(fixture->dir, "prefix");
    char command[8192];
    /* The cmd/ directory's own install script: it writes no install_manifest.txt, which
     * the install tests share. */
    snprintf(command, sizeof(command),
             "cmake -DCMAKE_INSTALL_PREFIX='%s' -DCMAKE_INSTALL_COMPONENT=tools "
             "-P '%s/cmd/cmake_install.cmake'",
             prefix, build_dir);
    char *argv[] = {"/bin/sh", "-c", command, NULL};
    struct test_run run = test_run_program(argv, NULL, NULL);
    if (run.status != 0)
        fail_msg("installing failed:\n%s%s", run.out, run.err);
    test_run_free(&run);
    static const char *const installed[] = {
        "share/man/man1/cfbp.1",
        "share/man/man1/buildpack-packager.1",
        "share/bash-completion/completions/cfbp",
        "share/bash-completion/completions/buildpack-packager",
    };
    for (size_t i = 0; i < sizeof(installed) / sizeof(installed[0]); i++) {
        char *path = test_path(prefix, installed[i]);
        if (!test_exists(path))
            fail_msg("the install rules did not install %s", installed[i]);
        free(path);
    }
    free(prefix);
    free(build_dir);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(every_command_has_help_in_every_form),
        TEST(help_for_no_such_command_is_an_error),
        TEST(a_wrong_flag_is_one_line_that_names_it),
        TEST(option_values_are_checked_in_the_same_words),
        TEST(delete_buildpack_parses_its_options),
        TEST(delete_buildpack_asks_on_a_terminal),
        TEST(stage_errors_have_the_prefix_but_builder_lines_do_not),
        TEST(stage_keeps_a_relative_cache),
        TEST(download_progress_is_shown_without_a_terminal),
        TEST(ctrl_c_during_a_download_leaves_nothing),
        TEST(sigterm_during_a_download_leaves_nothing),
        TEST(a_reader_that_goes_away_stops_package_cleanly),
        TEST(a_reader_that_goes_away_stops_quiet_package_too),
        TEST(sigterm_stops_pre_package_and_what_it_started),
        TEST(ctrl_c_while_zipping_leaves_no_zip),
        TEST(man_pages_render_without_warnings),
        TEST(man_page_and_completion_name_every_command_and_option),
        TEST(completion_completes_commands_and_values),
        TEST(install_rules_install_the_man_pages_and_completion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
