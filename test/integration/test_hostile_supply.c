/*
 * test_hostile_supply.c - the real supply and finalize programs against
 * hostile dependencies and failing disks: an archive that escapes through
 * a hard link to a symlink, links planted where supply writes, a full
 * tmpfs with a zero bomb, a file size limit, SIGKILL at random moments,
 * and two supplies at once. Each case snapshots DEPS_DIR and a canary tree
 * first; a failed supply must exit non-zero with a clear message and leave
 * both as they were.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARCHIVE_NAME "config-server-1.0.0-linux-x64.tgz"
#define FAKE_SIDECAR "#!/bin/sh\necho \"fake config-server $*\"\n"

extern char **environ;

struct fixture {
    char *dir, *root, *build, *cache, *deps, *dep, *canary, *archive, *mounted;
    char *canary_before;
};

static void copy_program(struct fixture *fixture, const char *name)
{
    char *source = test_path(test_program_dir(), name);
    char *bin = test_path(fixture->root, "bin");
    char *target = test_path(bin, name);
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_mkdir_p(bin, 0755, &err) < 0 || cfbp_fs_copy_file(source, target, 0755, &err) < 0)
        fail_msg("%s", err.message);
    free(source);
    free(bin);
    free(target);
}

/* Puts the deps directory (and the cache) under base, which may be a small tmpfs. */
static void place_deps(struct fixture *fixture, const char *base)
{
    free(fixture->deps);
    free(fixture->dep);
    free(fixture->cache);
    fixture->deps = test_path(base, "deps");
    fixture->dep = test_path(fixture->deps, "0");
    fixture->cache = test_path(base, "cache");
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_mkdir_p(fixture->dep, 0755, &err) < 0 ||
        cfbp_fs_mkdir_p(fixture->cache, 0755, &err) < 0)
        fail_msg("%s", err.message);
}

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->root = test_path(fixture->dir, "buildpack");
    fixture->build = test_path(fixture->dir, "app");
    fixture->canary = test_path(fixture->dir, "canary");
    mkdir(fixture->build, 0755);
    place_deps(fixture, fixture->dir);
    copy_program(fixture, "supply");
    copy_program(fixture, "finalize");
    char *file = test_path(fixture->root, "VERSION");
    test_write_file(file, "1.2.3", 0644);
    free(file);
    file = test_path(fixture->canary, "profile.d/keep.sh");
    test_write_file(file, "true\n", 0644);
    free(file);
    file = test_path(fixture->canary, "etc/passwd");
    test_write_file(file, "root:x:0:0\n", 0644);
    free(file);
    fixture->canary_before = test_snapshot(fixture->canary, true);
    fixture->archive = test_path(fixture->root, "dependencies/" ARCHIVE_NAME);
    char *dependencies = test_path(fixture->root, "dependencies");
    mkdir(dependencies, 0755);
    free(dependencies);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    char *canary = test_snapshot(fixture->canary, true);
    test_assert_same_snapshot(fixture->canary_before, canary, "the canary tree");
    free(canary);
    if (fixture->mounted)
        umount2(fixture->mounted, MNT_DETACH);
    free(fixture->mounted);
    free(fixture->root);
    free(fixture->build);
    free(fixture->cache);
    free(fixture->deps);
    free(fixture->dep);
    free(fixture->canary);
    free(fixture->canary_before);
    free(fixture->archive);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

/* Makes the dependency archive from entries and a manifest that ships it as a cached file. */
static void make_dependency(struct fixture *fixture, const struct test_entry *entries, size_t count)
{
    test_make_archive(fixture->archive, TEST_TGZ, entries, count);
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&text,
                              "---\n"
                              "language: config-server-sidecar\n"
                              "default_versions:\n"
                              "- name: config-server\n"
                              "  version: 1.0.x\n"
                              "dependencies:\n"
                              "- name: config-server\n"
                              "  version: 1.0.0\n"
                              "  uri: https://example.invalid/" ARCHIVE_NAME "\n"
                              "  sha256: %s\n"
                              "  cf_stacks:\n"
                              "  - cflinuxfs4\n"
                              "  file: dependencies/" ARCHIVE_NAME "\n",
                              test_sha256_of_file(fixture->archive));
    char *path = test_path(fixture->root, "manifest.yml");
    test_write_file(path, text.buf, 0644);
    free(path);
    cfbp_strbuf_release(&text);
}

static char **program_argv(struct fixture *fixture, const char *name)
{
    static char *argv[7];
    static char *path;
    free(path);
    char *bin = test_path(fixture->root, "bin");
    path = test_path(bin, name);
    free(bin);
    argv[0] = path;
    argv[1] = fixture->build;
    argv[2] = fixture->cache;
    argv[3] = fixture->deps;
    argv[4] = "0";
    argv[5] = NULL;
    return argv;
}

static char *const clean_environment[] = {
    "CF_STACK=cflinuxfs4", "CONFIG_SERVER_SIDECAR=", "BP_DEBUG=",
    "http_proxy=",         "https_proxy=",           NULL};

static struct test_run run(struct fixture *fixture, const char *name)
{
    return test_run_program(program_argv(fixture, name), NULL, clean_environment);
}

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("expected '%s' in:\n%s", needle, text);
}

/* Runs supply, expects it to fail saying why, and DEPS_DIR to be as it was. */
static void assert_supply_fails(struct fixture *fixture, const char *why)
{
    char *before = test_snapshot(fixture->deps, true);
    struct test_run result = run(fixture, "supply");
    if (result.status == 0 || result.status >= 128)
        fail_msg("supply exited with %d, expected a clean failure:\n%s%s", result.status,
                 result.out, result.err);
    assert_contains(result.out, "**ERROR**");
    assert_contains(result.out, why);
    char *after = test_snapshot(fixture->deps, true);
    test_assert_same_snapshot(before, after, "DEPS_DIR");
    free(before);
    free(after);
    test_run_free(&result);
}

static const struct test_entry sidecar_only[] = {
    {"bin/config-server", 'f', 0755, FAKE_SIDECAR, 0},
};

/* --- escapes --- */

static void an_archive_escaping_through_a_hard_link_to_a_symlink_is_refused(void **state)
{
    struct fixture *fixture = *state;
    /* At a/b, "../../canary" stays inside; copied to the top by the hard link, it would
     * reach <dir>/canary from DEPS_DIR/0, and supply would write profile.d/ there. */
    static const struct test_entry entries[] = {
        {"bin/config-server", 'f', 0755, FAKE_SIDECAR, 0},
        {"a/b", 'd', 0755, NULL, 0},
        {"a/b/up", 'l', 0, "../../canary", 0},
        {"profile.d", 'h', 0, "a/b/up", 0},
    };
    make_dependency(fixture, entries, 4);
    assert_supply_fails(fixture, "is a hard link to a symlink whose target leaves");
}

static void links_planted_where_supply_writes_are_never_followed(void **state)
{
    struct fixture *fixture = *state;
    make_dependency(fixture, sidecar_only, 1);
    /* As if an earlier install had left DEPS_DIR/0/profile.d pointing out. */
    char *link = test_path(fixture->dep, "profile.d");
    char *target = test_path(fixture->canary, "profile.d");
    assert_int_equal(symlink(target, link), 0);
    assert_supply_fails(fixture, "it is a symbolic link");
    free(link);
    free(target);
}

static void an_apps_profile_d_link_is_never_followed_by_finalize(void **state)
{
    struct fixture *fixture = *state;
    make_dependency(fixture, sidecar_only, 1);
    struct test_run supplied = run(fixture, "supply");
    assert_int_equal(supplied.status, 0);
    test_run_free(&supplied);
    char *link = test_path(fixture->build, ".profile.d");
    char *target = test_path(fixture->canary, "profile.d");
    assert_int_equal(symlink(target, link), 0);
    struct test_run finalized = run(fixture, "finalize");
    assert_int_not_equal(finalized.status, 0);
    assert_contains(finalized.out, ".profile.d: it is a symbolic link");
    test_run_free(&finalized);
    free(link);
    free(target);
}

/* --- failing writes --- */

static bool mount_tmpfs(struct fixture *fixture, const char *size)
{
    char *disk = test_path(fixture->dir, "disk");
    char options[64];
    snprintf(options, sizeof(options), "size=%s,mode=0755", size);
    mkdir(disk, 0755);
    if (mount("tmpfs", disk, "tmpfs", 0, options) < 0) {
        free(disk);
        return false;
    }
    fixture->mounted = disk;
    place_deps(fixture, disk);
    return true;
}

static void a_zero_bomb_on_a_small_disk_fails_and_leaves_nothing(void **state)
{
    struct fixture *fixture = *state;
    if (!mount_tmpfs(fixture, "50m"))
        skip(); /* needs root, as CI has */
    static const struct test_entry bomb[] = {
        {"bin/config-server", 'f', 0755, FAKE_SIDECAR, 0},
        {"lib/zeros", 'z', 0644, NULL, 1u << 30},
    };
    make_dependency(fixture, bomb, 2);
    assert_supply_fails(fixture, "No space left on device");
    struct test_run again = run(fixture, "supply");
    assert_contains(again.out, "cf push -k");
    test_run_free(&again);
    /* Every block is free again: nothing half-written stays on the disk. */
    char *tmp = test_snapshot(fixture->mounted, false);
    char *expected = NULL;
    size_t size;
    FILE *out = open_memstream(&expected, &size);
    fprintf(out, ". d 0755\ncache d 0755\ndeps d 0755\ndeps/0 d 0755\n");
    fclose(out);
    test_assert_same_snapshot(expected, tmp, "the tmpfs");
    free(expected);
    free(tmp);
}

/* Runs supply with a file size limit; SIGXFSZ must not kill it without a word. */
static void a_file_size_limit_fails_supply_with_a_clear_message(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {
        {"bin/config-server", 'f', 0755, FAKE_SIDECAR, 0},
        {"lib/big", 'r', 0644, NULL, 300000},
    };
    make_dependency(fixture, entries, 2);
    char *before = test_snapshot(fixture->deps, true);
    char *output = test_path(fixture->dir, "supply.log");
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit limit = {100000, 100000};
        setrlimit(RLIMIT_FSIZE, &limit);
        FILE *log = freopen(output, "w", stdout);
        if (!log)
            _exit(99);
        dup2(STDOUT_FILENO, STDERR_FILENO);
        setenv("CF_STACK", "cflinuxfs4", 1);
        char **argv = program_argv(fixture, "supply");
        execve(argv[0], argv, environ);
        _exit(98);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    char *text = test_read_file(output);
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 0)
        fail_msg("supply under a file size limit: status %d:\n%s", status, text);
    assert_contains(text, "File too large");
    assert_contains(text, "lib/big");
    char *after = test_snapshot(fixture->deps, true);
    test_assert_same_snapshot(before, after, "DEPS_DIR");
    free(before);
    free(after);
    free(text);
    free(output);
}

/* --- killed and concurrent supplies --- */

enum { MANY_FILES = 1500 };

static void make_many_files(struct fixture *fixture)
{
    struct test_entry *entries = calloc(MANY_FILES + 1, sizeof(*entries));
    char **names = calloc(MANY_FILES, sizeof(*names));
    entries[0] = (struct test_entry){"bin/config-server", 'f', 0755, FAKE_SIDECAR, 0};
    for (size_t i = 0; i < MANY_FILES; i++) {
        char name[64];
        snprintf(name, sizeof(name), "lib/d%zu/file%zu", i % 41, i);
        names[i] = strdup(name);
        entries[i + 1] = (struct test_entry){names[i], 'f', 0644, NULL, 100 + i % 3000};
    }
    make_dependency(fixture, entries, MANY_FILES + 1);
    for (size_t i = 0; i < MANY_FILES; i++)
        free(names[i]);
    free(names);
    free(entries);
}

static void reset_deps(struct fixture *fixture)
{
    test_remove_dir(strdup(fixture->deps));
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_mkdir_p(fixture->dep, 0755, &err) < 0)
        fail_msg("%s", err.message);
}

static double now(void)
{
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return (double)time.tv_sec + (double)time.tv_nsec / 1e9;
}

/* Fails unless every file under path, outside work directories, is complete (as in reference). */
static void assert_no_partial_file(const char *path, const char *relative, const char *reference)
{
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_type_of(path) != CFBP_FS_DIRECTORY)
        return;
    if (cfbp_fs_list_directory(path, &names, &err) < 0)
        fail_msg("%s", err.message);
    for (size_t i = 0; i < names.count; i++) {
        if (strstr(names.items[i], "cfbp-install-"))
            continue; /* a killed install's work directory: removed by the next one */
        char *child = test_path(path, names.items[i]);
        char *child_relative =
            relative ? test_path(relative, names.items[i]) : strdup(names.items[i]);
        if (cfbp_fs_type_of(child) == CFBP_FS_DIRECTORY) {
            assert_no_partial_file(child, child_relative, reference);
        } else if (cfbp_fs_type_of(child) == CFBP_FS_FILE) {
            char *line = test_snapshot(child, false);
            /* The snapshot line without its "." path, as the reference shows it. */
            const char *rest = strchr(line, ' ');
            struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
            cfbp_strbuf_append_format(&expected, "\n%s%s", child_relative, rest);
            if (!strstr(reference, expected.buf))
                fail_msg("%s is not a complete file of the dependency: %s", child_relative, line);
            cfbp_strbuf_release(&expected);
            free(line);
        }
        free(child);
        free(child_relative);
    }
    cfbp_string_list_clear(&names);
}

static void supply_killed_at_any_moment_then_rerun_ends_complete(void **state)
{
    struct fixture *fixture = *state;
    make_many_files(fixture);
    double start = now();
    struct test_run first = run(fixture, "supply");
    double duration = now() - start;
    if (first.status != 0)
        fail_msg("supply failed:\n%s", first.out);
    test_run_free(&first);
    char *reference = test_snapshot(fixture->deps, false);
    char *log = test_path(fixture->dir, "killed.log");
    srand(12345);
    enum { ROUNDS = 12 };
    for (int round = 0; round < ROUNDS; round++) {
        reset_deps(fixture);
        char **argv = program_argv(fixture, "supply");
        pid_t pid = test_start_program(argv, NULL, clean_environment, log);
        double delay = duration * (double)(rand() % 1000) / 1000.0;
        usleep((useconds_t)(delay * 1e6));
        test_stop_program(pid, SIGKILL);
        /* Whatever the moment, no file is ever visible half-written. */
        assert_no_partial_file(fixture->deps, NULL, reference);
        struct test_run rerun = run(fixture, "supply");
        if (rerun.status != 0)
            fail_msg("round %d: the rerun failed:\n%s", round, rerun.out);
        test_run_free(&rerun);
        char *after = test_snapshot(fixture->deps, false);
        test_assert_same_snapshot(reference, after, "DEPS_DIR after a killed supply and a rerun");
        free(after);
    }
    free(reference);
    free(log);
}

static void two_supplies_at_once_both_end_complete(void **state)
{
    struct fixture *fixture = *state;
    make_many_files(fixture);
    double start = now();
    struct test_run first = run(fixture, "supply");
    double duration = now() - start;
    assert_int_equal(first.status, 0);
    test_run_free(&first);
    char *reference = test_snapshot(fixture->deps, false);
    char *logs[2] = {test_path(fixture->dir, "a.log"), test_path(fixture->dir, "b.log")};
    srand(54321);
    for (int round = 0; round < 4; round++) {
        reset_deps(fixture);
        pid_t pids[2];
        for (int i = 0; i < 2; i++) {
            pids[i] = test_start_program(program_argv(fixture, "supply"), NULL, clean_environment,
                                         logs[i]);
            /* The second starts at a random moment of the first. */
            if (i == 0)
                usleep((useconds_t)(duration * 1e6 * (double)(rand() % 800) / 1000.0));
        }
        for (int i = 0; i < 2; i++) {
            int status;
            assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                char *text = test_read_file(logs[i]);
                fail_msg("round %d: supply %d of 2 failed:\n%s", round, i, text);
            }
        }
        char *after = test_snapshot(fixture->deps, false);
        test_assert_same_snapshot(reference, after, "DEPS_DIR after two supplies at once");
        free(after);
    }
    free(logs[0]);
    free(logs[1]);
    free(reference);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(an_archive_escaping_through_a_hard_link_to_a_symlink_is_refused),
        TEST(links_planted_where_supply_writes_are_never_followed),
        TEST(an_apps_profile_d_link_is_never_followed_by_finalize),
        TEST(a_zero_bomb_on_a_small_disk_fails_and_leaves_nothing),
        TEST(a_file_size_limit_fails_supply_with_a_clear_message),
        TEST(supply_killed_at_any_moment_then_rerun_ends_complete),
        TEST(two_supplies_at_once_both_end_complete),
    };
    if (getenv("CMOCKA_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CMOCKA_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
