/*
 * test_hostile_supply.c - the real supply and finalize programs against
 * hostile dependencies and failing disks: an archive that escapes through
 * a hard link to a symlink, links planted where supply writes, a full
 * tmpfs with a zero bomb, a file size limit, SIGKILL at random moments of
 * an upgrade, two supplies at once, and a read-only directory installed
 * again as an unprivileged user. Each case snapshots DEPS_DIR and a canary
 * tree first; a failed supply must exit non-zero with a clear message and
 * leave both as they were.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
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

/* Version 1 or 2 of a big dependency: the same names, every file different. */
static void make_many_files(struct fixture *fixture, int version)
{
    struct test_entry *entries = calloc(MANY_FILES + 1, sizeof(*entries));
    char **names = calloc(MANY_FILES, sizeof(*names));
    entries[0] = (struct test_entry){"bin/config-server", 'f', 0755,
                                     version == 1 ? FAKE_SIDECAR : FAKE_SIDECAR "# 2\n", 0};
    for (size_t i = 0; i < MANY_FILES; i++) {
        char name[64];
        snprintf(name, sizeof(name), "lib/d%zu/file%zu", i % 41, i);
        names[i] = strdup(name);
        entries[i + 1] =
            (struct test_entry){names[i], 'f', 0644, NULL, 100 + i % 3000 + (size_t)version - 1};
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

/* The snapshot line of path ("<path> <type> ...\n"), or NULL. */
static char *snapshot_line(const char *snapshot, const char *path)
{
    struct cfbp_strbuf needle = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&needle, "\n%s ", path);
    const char *found = strstr(snapshot, needle.buf);
    cfbp_strbuf_release(&needle);
    if (!found)
        return NULL;
    found++;
    return strndup(found, strcspn(found, "\n") + 1);
}

/*
 * What a SIGKILL may leave before any rerun: every file of either version is
 * there, whole, as its old or its new self (none missing, none partial, none
 * from elsewhere). Work directories, and the temporary files of atomic
 * writes, are the only other things allowed.
 */
static void assert_old_or_new(const char *killed, const char *old_deps, const char *new_deps,
                              int round, double delay)
{
    for (const char *line = killed; *line; line = strchr(line, '\n') + 1) {
        char *copy = strndup(line, strcspn(line, "\n") + 1);
        const char *type = strchr(copy, ' ');
        bool ignored =
            strstr(copy, "cfbp-install-") || strstr(copy, ".cfbp-") || (type && type[1] == 'd');
        if (!ignored) {
            struct cfbp_strbuf needle = CFBP_STRBUF_INIT;
            cfbp_strbuf_append_format(&needle, "\n%s", copy);
            if (!strstr(old_deps, needle.buf) && !strstr(new_deps, needle.buf))
                fail_msg("round %d (killed after %.3f s): %sis in neither version", round, delay,
                         copy);
            cfbp_strbuf_release(&needle);
        }
        free(copy);
    }
    for (const char *line = strchr(old_deps, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        char *path = strndup(line, strcspn(line, " "));
        char *found = snapshot_line(killed, path);
        if (!found)
            fail_msg("round %d (killed after %.3f s): %s is missing", round, delay, path);
        free(found);
        free(path);
    }
}

/* Like test_assert_same_snapshot, naming the first line that differs (the message is cut short). */
static void assert_same_tree(const char *expected, const char *actual, int round, double delay)
{
    if (strcmp(expected, actual) == 0)
        return;
    size_t at = 0;
    while (expected[at] && expected[at] == actual[at])
        at++;
    while (at > 0 && expected[at - 1] != '\n')
        at--;
    fail_msg("round %d (killed after %.3f s): after the rerun, DEPS_DIR has\n%.*s\nwhere the new "
             "version has\n%.*s",
             round, delay, (int)strcspn(actual + at, "\n"), actual + at,
             (int)strcspn(expected + at, "\n"), expected + at);
}

/*
 * Takes out of a snapshot the hidden files supply's own atomic writes make
 * beside their targets (".<name>.cfbp-..."; not the installs' work
 * directories, ".cfbp-install-..."), appending their lines to leftovers. A
 * kill can leave one; they are the stager's to clean up, not the merge's,
 * and are reported rather than failed here.
 */
static char *without_write_leftovers(const char *snapshot, struct cfbp_strbuf *leftovers)
{
    struct cfbp_strbuf kept = CFBP_STRBUF_INIT;
    for (const char *line = snapshot; *line;) {
        size_t length = strcspn(line, "\n") + (line[strcspn(line, "\n")] == '\n');
        size_t path_length = strcspn(line, " ");
        const char *base = line + path_length;
        while (base > line && base[-1] != '/')
            base--;
        const char *mark = strstr(base, ".cfbp-");
        bool leftover = base[0] == '.' && mark && mark > base && mark < line + path_length;
        char *copy = strndup(line, length);
        if (!leftover)
            cfbp_strbuf_append(&kept, line, length);
        else if (!strstr(leftovers->buf, copy))
            cfbp_strbuf_append(leftovers, line, length); /* once, though it stays */
        free(copy);
        line += length;
    }
    return cfbp_strbuf_detach(&kept, NULL);
}

/* Waits until the file at path is not the inode it was (or the program ended). */
static void wait_for_replacement(const char *path, ino_t inode, pid_t pid)
{
    struct stat st;
    while (test_process_alive(pid) && (stat(path, &st) < 0 || st.st_ino == inode)) {
        struct timespec pause = {0, 100 * 1000};
        nanosleep(&pause, NULL);
    }
}

static ino_t inode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* Makes version (1 or 2) of the dependency the one the buildpack ships, from saved copies. */
static void ship_version(struct fixture *fixture, char *const saved[2][2], int version)
{
    char *manifest = test_path(fixture->root, "manifest.yml");
    const char *targets[2] = {fixture->archive, manifest};
    struct cfbp_error err = CFBP_ERROR_INIT;
    for (int i = 0; i < 2; i++)
        if (cfbp_fs_copy_file(saved[version - 1][i], targets[i], 0644, &err) < 0)
            fail_msg("%s", err.message);
    free(manifest);
}

/*
 * Upgrades and downgrades killed at random moments, most of them inside
 * the merge: with one version installed, supply installs the other (the
 * same names, every file different) and is killed. Before any rerun, every
 * file must be whole and be one version's or the other's, none missing;
 * after a rerun, DEPS_DIR must be exactly what installing the new version
 * gives. The merge begins when bin/config-server, the first entry it
 * replaces, changes: three rounds in four wait for that and kill at a
 * random moment of the measured time from there to the end, the fourth at
 * a random moment of the whole run.
 */
static void supply_killed_at_any_moment_then_rerun_ends_complete(void **state)
{
    struct fixture *fixture = *state;
    char *manifest = test_path(fixture->root, "manifest.yml");
    char *saved[2][2];
    char *deps[2];
    for (int version = 2; version >= 1; version--) {
        make_many_files(fixture, version);
        char name[32];
        snprintf(name, sizeof(name), "v%d.tgz", version);
        saved[version - 1][0] = test_path(fixture->dir, name);
        snprintf(name, sizeof(name), "v%d.yml", version);
        saved[version - 1][1] = test_path(fixture->dir, name);
        struct cfbp_error err = CFBP_ERROR_INIT;
        if (cfbp_fs_copy_file(fixture->archive, saved[version - 1][0], 0644, &err) < 0 ||
            cfbp_fs_copy_file(manifest, saved[version - 1][1], 0644, &err) < 0)
            fail_msg("%s", err.message);
        reset_deps(fixture);
        struct test_run first = run(fixture, "supply");
        if (first.status != 0)
            fail_msg("supply failed:\n%s", first.out);
        test_run_free(&first);
        deps[version - 1] = test_snapshot(fixture->deps, false);
    }
    /* Version 1 is installed. How long an upgrade takes, and its merge and what follows. */
    char *sidecar = test_path(fixture->dep, "bin/config-server");
    char *log = test_path(fixture->dir, "killed.log");
    ship_version(fixture, saved, 2);
    double start = now();
    ino_t before = inode_of(sidecar);
    pid_t pid = test_start_program(program_argv(fixture, "supply"), NULL, clean_environment, log);
    wait_for_replacement(sidecar, before, pid);
    double merge_start = now();
    int status = test_stop_program(pid, 0);
    double total = now() - start, merge = now() - merge_start;
    if (status != 0)
        fail_msg("the upgrade failed (status %d):\n%s", status, test_read_file(log));
    /* Version 2 is installed: round 0 installs version 1, round 1 version 2, and so on. */
    srand(12345);
    enum { MAX_ROUNDS = 100, MIN_ROUNDS = 12 };
    struct cfbp_strbuf leftovers = CFBP_STRBUF_INIT;
    double started = now();
    int rounds = 0;
    for (; rounds < MAX_ROUNDS && (rounds < MIN_ROUNDS || now() - started < 30); rounds++) {
        int version = rounds % 2 ? 2 : 1;
        ship_version(fixture, saved, version);
        before = inode_of(sidecar);
        pid = test_start_program(program_argv(fixture, "supply"), NULL, clean_environment, log);
        bool in_merge = rounds % 4 != 3;
        if (in_merge)
            wait_for_replacement(sidecar, before, pid);
        double delay = (in_merge ? merge : total) * (double)(rand() % 1000) / 1000.0;
        usleep((useconds_t)(delay * 1e6));
        test_stop_program(pid, SIGKILL);
        char *killed = test_snapshot(fixture->deps, false);
        assert_old_or_new(killed, deps[0], deps[1], rounds, delay);
        free(killed);
        struct test_run rerun = run(fixture, "supply");
        if (rerun.status != 0)
            fail_msg("round %d: the rerun failed:\n%s", rounds, rerun.out);
        test_run_free(&rerun);
        char *after = test_snapshot(fixture->deps, false);
        char *tree = without_write_leftovers(after, &leftovers);
        assert_same_tree(deps[version - 1], tree, rounds, delay);
        free(tree);
        free(after);
    }
    print_message("%d rounds killed in %.1f s (an upgrade: %.3f s, of which the merge and what "
                  "follows: %.3f s)\n",
                  rounds, now() - started, total, merge);
    /* The stager removes what killed runs left (stale ".<name>.cfbp-<pid>-<n>") on the rerun. */
    if (leftovers.len)
        fail_msg("hidden files of supply's own writes left by kills, not removed by the "
                 "reruns:\n%s",
                 leftovers.buf);
    cfbp_strbuf_release(&leftovers);
    for (int version = 0; version < 2; version++) {
        free(saved[version][0]);
        free(saved[version][1]);
        free(deps[version]);
    }
    free(sidecar);
    free(manifest);
    free(log);
}

static void two_supplies_at_once_both_end_complete(void **state)
{
    struct fixture *fixture = *state;
    make_many_files(fixture, 1);
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

/* --- as an unprivileged user --- */

enum { NOBODY = 65534 };

static int chown_to_nobody(const char *path, const struct stat *st, int flag, struct FTW *walk)
{
    (void)st;
    (void)flag;
    (void)walk;
    return lchown(path, NOBODY, NOBODY) < 0 ? -1 : 0;
}

/* Starts supply as nobody when we are root: Cloud Foundry stages as an unprivileged user. */
static pid_t start_supply_as_user(struct fixture *fixture, const char *log)
{
    char **argv = program_argv(fixture, "supply");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
            _exit(97);
        if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0))
            _exit(96);
        char *env[] = {"CF_STACK=cflinuxfs4", "PATH=/usr/bin:/bin", NULL};
        execve(argv[0], argv, env);
        _exit(98);
    }
    return pid;
}

static void assert_supply_as_user_worked(pid_t pid, const char *log, const char *what)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s: supply as a user ended with status %d:\n%s", what, status,
                 test_read_file(log));
}

/*
 * The F1: a dependency whose bin/ is 0555. Supply as a user must
 * install it again, and two supplies into a fresh DEPS_DIR/<idx> at once
 * must both end with the whole dependency, bin/ still 0555.
 */
static void supply_as_a_user_installs_a_read_only_directory_again(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {
        {"bin", 'd', 0555, NULL, 0},
        {"bin/config-server", 'f', 0755, FAKE_SIDECAR, 0},
        {"lib/conf", 'd', 0555, NULL, 0},
        {"lib/conf/settings", 'f', 0644, "x: 1\n", 0},
    };
    make_dependency(fixture, entries, 4);
    assert_int_equal(chmod(fixture->dir, 0755), 0);
    char *log = test_path(fixture->dir, "user.log");
    char *logs[2] = {test_path(fixture->dir, "a.log"), test_path(fixture->dir, "b.log")};
    char *reference = NULL;
    for (int round = 0; round < 6; round++) {
        /* Rounds 0-2: one DEPS_DIR installed three times; then two at once into a fresh one. */
        if (round == 0 || round >= 3) {
            reset_deps(fixture);
            if (geteuid() == 0 && (nftw(fixture->deps, chown_to_nobody, 16, FTW_PHYS) < 0 ||
                                   nftw(fixture->cache, chown_to_nobody, 16, FTW_PHYS) < 0 ||
                                   nftw(fixture->build, chown_to_nobody, 16, FTW_PHYS) < 0))
                fail_msg("cannot give the staging directories to nobody");
        }
        if (round < 3) {
            pid_t pid = start_supply_as_user(fixture, log);
            assert_supply_as_user_worked(pid, log, round ? "again" : "first");
        } else {
            pid_t pids[2] = {start_supply_as_user(fixture, logs[0]),
                             start_supply_as_user(fixture, logs[1])};
            for (int i = 0; i < 2; i++)
                assert_supply_as_user_worked(pids[i], logs[i], "two at once");
        }
        char *bin = test_path(fixture->dep, "bin");
        struct stat st;
        assert_int_equal(stat(bin, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0555);
        free(bin);
        char *after = test_snapshot(fixture->deps, false);
        if (!reference)
            reference = strdup(after);
        test_assert_same_snapshot(reference, after, "DEPS_DIR after supplies as a user");
        free(after);
    }
    free(reference);
    free(log);
    free(logs[0]);
    free(logs[1]);
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
        TEST(supply_as_a_user_installs_a_read_only_directory_again),
    };
    if (getenv("CMOCKA_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CMOCKA_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
