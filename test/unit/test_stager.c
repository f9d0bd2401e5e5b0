/*
 * test_stager.c - staging arguments and the files of the multi-buildpack
 * contract (contract §3, §4.3, §5.4, §5.5, §5.8, §6.9), byte for byte; a
 * deps directory that is a link; and a finalize failing at each of its
 * writes (a file size limit, a full tmpfs), which must leave every tree as it
 * was, times included.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/log.h"
#include "cfbp/stager.h"
#include "cfbp/string_list.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct fixture {
    char *dir, *build, *cache, *deps, *profile;
    char *mounted; /* a tmpfs to unmount at the end */
    struct cfbp_stager stager;
    struct cfbp_error err;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->build = test_path(fixture->dir, "app");
    fixture->cache = test_path(fixture->dir, "cache");
    fixture->deps = test_path(fixture->dir, "deps");
    fixture->profile = test_path(fixture->dir, "profile.d");
    mkdir(fixture->build, 0755);
    mkdir(fixture->deps, 0755);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    cfbp_stager_release(&fixture->stager);
    cfbp_stager_force_no_exchange(false);
    cfbp_error_clear(&fixture->err);
    if (fixture->mounted)
        umount2(fixture->mounted, MNT_DETACH);
    free(fixture->mounted);
    free(fixture->build);
    free(fixture->cache);
    free(fixture->deps);
    free(fixture->profile);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

static int init(struct fixture *fixture, enum cfbp_stager_phase phase, const char *idx,
                const char *profile, int argc)
{
    char *argv[] = {fixture->build, fixture->cache, fixture->deps, (char *)idx, (char *)profile};
    return cfbp_stager_init(&fixture->stager, phase, argc, argv, &fixture->err);
}

static void supply_takes_four_arguments(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(init(fixture, CFBP_PHASE_SUPPLY, "03", NULL, 4), 0);
    assert_string_equal(fixture->stager.deps_idx, "03");
    char *dep_dir = test_path(fixture->deps, "03");
    assert_string_equal(fixture->stager.dep_dir, dep_dir);
    assert_true(test_exists(dep_dir));
    assert_true(test_exists(fixture->cache));
    free(dep_dir);
    cfbp_stager_release(&fixture->stager);
    assert_int_equal(init(fixture, CFBP_PHASE_SUPPLY, "0", fixture->profile, 5), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_USAGE);
    assert_string_equal(fixture->err.message,
                        "expected the arguments BUILD_DIR CACHE_DIR DEPS_DIR DEPS_IDX, got 5 "
                        "arguments");
}

static void finalize_takes_an_optional_profile_dir(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(init(fixture, CFBP_PHASE_FINALIZE, "1", fixture->profile, 5), 0);
    assert_string_equal(fixture->stager.profile_dir, fixture->profile);
    cfbp_stager_release(&fixture->stager);
    char *legacy = test_path(fixture->build, ".profile.d");
    assert_int_equal(init(fixture, CFBP_PHASE_FINALIZE, "1", "", 5), 0);
    assert_string_equal(fixture->stager.profile_dir, legacy);
    cfbp_stager_release(&fixture->stager);
    assert_int_equal(init(fixture, CFBP_PHASE_FINALIZE, "1", NULL, 4), 0);
    assert_string_equal(fixture->stager.profile_dir, legacy);
    free(legacy);
}

static void refuses_unsafe_indices_and_missing_directories(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(init(fixture, CFBP_PHASE_SUPPLY, "../x", NULL, 4), -1);
    assert_non_null(strstr(fixture->err.message, "must be one directory name"));
    assert_int_equal(init(fixture, CFBP_PHASE_SUPPLY, "", NULL, 4), -1);
    free(fixture->build);
    fixture->build = test_path(fixture->dir, "missing");
    assert_int_equal(init(fixture, CFBP_PHASE_SUPPLY, "0", NULL, 4), -1);
    assert_non_null(strstr(fixture->err.message, "BUILD_DIR"));
    assert_non_null(strstr(fixture->err.message, "missing is not a directory"));
}

static void makes_relative_arguments_absolute(void **state)
{
    struct fixture *fixture = *state;
    char *saved = getcwd(NULL, 0);
    assert_int_equal(chdir(fixture->dir), 0);
    char *argv[] = {"app", "cache", "deps", "2"};
    int result = cfbp_stager_init(&fixture->stager, CFBP_PHASE_SUPPLY, 4, argv, &fixture->err);
    assert_int_equal(chdir(saved), 0);
    free(saved);
    assert_int_equal(result, 0);
    assert_string_equal(fixture->stager.build_dir, fixture->build);
    assert_string_equal(fixture->stager.deps_dir, fixture->deps);
}

static char *read_dep_file(struct fixture *fixture, const char *name)
{
    char *path = test_path(fixture->stager.dep_dir, name);
    char *text = test_read_file(path);
    free(path);
    return text;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

static void writes_config_yml(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(init(fixture, CFBP_PHASE_SUPPLY, "0", NULL, 4), 0);
    assert_int_equal(cfbp_stager_write_config_yml(&fixture->stager, "config-server-sidecar",
                                                  "1.0.0", NULL, &fixture->err),
                     0);
    char *text = read_dep_file(fixture, "config.yml");
    assert_string_equal(text, "config: {}\nname: config-server-sidecar\nversion: 1.0.0\n");
    free(text);
}

/* The temporary files a killed run left beside the stager's writes go at the next start. */
static void removes_what_a_killed_run_left(void **state)
{
    struct fixture *fixture = *state;
    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    waitpid(gone, NULL, 0);
    char dead[64], alive[64];
    snprintf(dead, sizeof(dead), ".config.yml.cfbp-%ld-3", (long)gone);
    snprintf(alive, sizeof(alive), ".config.yml.cfbp-%ld-4", (long)getpid());
    static const char *const places[] = {"0", "0/profile.d", "0/env", "0/bin"};
    for (size_t i = 0; i < sizeof(places) / sizeof(*places); i++) {
        char *directory = test_path(fixture->deps, places[i]);
        char *stale = test_path(directory, dead), *held = test_path(directory, alive);
        test_write_file(stale, "half", 0600);
        test_write_file(held, "being written", 0600);
        free(stale);
        free(held);
        free(directory);
    }
    char *lookalike = test_path(fixture->deps, "0/.config.yml.cfbp-x-1");
    test_write_file(lookalike, "not ours", 0600);
    assert_int_equal(init(fixture, CFBP_PHASE_SUPPLY, "0", NULL, 4), 0);
    for (size_t i = 0; i < sizeof(places) / sizeof(*places); i++) {
        char *directory = test_path(fixture->deps, places[i]);
        char *stale = test_path(directory, dead), *held = test_path(directory, alive);
        assert_false(test_exists(stale)); /* its process is gone */
        assert_true(test_exists(held));   /* a live process may still move it in */
        free(stale);
        free(held);
        free(directory);
    }
    assert_true(test_exists(lookalike));
    free(lookalike);
    cfbp_stager_release(&fixture->stager);

    /* The app's own .profile.d is the app's: finalize without PROFILE_DIR removes nothing there. */
    char *app_file = test_path(fixture->build, ".profile.d");
    char *named = test_path(app_file, dead);
    test_write_file(named, "the app's", 0644);
    assert_int_equal(init(fixture, CFBP_PHASE_FINALIZE, "0", NULL, 4), 0);
    assert_true(test_exists(named));
    free(named);
    free(app_file);
}

static void writes_env_and_profile_files(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(init(fixture, CFBP_PHASE_SUPPLY, "0", NULL, 4), 0);
    assert_int_equal(
        cfbp_stager_write_env_file(&fixture->stager, "THING", "raw value\n", &fixture->err), 0);
    assert_int_equal(
        cfbp_stager_write_profile_d(&fixture->stager, "thing.sh", "export A=1\n", &fixture->err),
        0);
    char *env = read_dep_file(fixture, "env/THING");
    assert_string_equal(env, "raw value\n");
    free(env);
    char *env_path = test_path(fixture->stager.dep_dir, "env/THING");
    char *profile_path = test_path(fixture->stager.dep_dir, "profile.d/thing.sh");
    assert_int_equal(mode_of(env_path), 0644);
    assert_int_equal(mode_of(profile_path), 0755);
    free(env_path);
    free(profile_path);
    assert_int_equal(cfbp_stager_write_env_file(&fixture->stager, "../escape", "x", &fixture->err),
                     -1);
}

/*
 * Two supplies into one DEPS_DIR/<idx> at once (Cloud Foundry may retry a
 * staging while the first still runs): both write the same new profile.d
 * script, and the one that finds it made by the other since it looked must
 * replace it, not fail with "File exists".
 */
static void stagers_writing_one_new_file_at_once_all_succeed(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(init(fixture, CFBP_PHASE_SUPPLY, "0", NULL, 4), 0);
    char *script = test_path(fixture->stager.dep_dir, "profile.d/race.sh");
    enum { WRITERS = 4, ROUNDS = 150 };
    for (int round = 0; round < ROUNDS; round++) {
        unlink(script);
        int gate[2];
        assert_int_equal(pipe(gate), 0);
        pid_t pids[WRITERS];
        for (int i = 0; i < WRITERS; i++) {
            pids[i] = fork();
            assert_true(pids[i] >= 0);
            if (pids[i] == 0) {
                char go;
                close(gate[1]);
                if (read(gate[0], &go, 1) != 0)
                    _exit(3);
                char text[32];
                snprintf(text, sizeof(text), "export WRITER=%d\n", i);
                struct cfbp_error err = CFBP_ERROR_INIT;
                if (cfbp_stager_write_profile_d(&fixture->stager, "race.sh", text, &err) < 0) {
                    fprintf(stderr, "writer %d: %s\n", i, err.message);
                    _exit(1);
                }
                _exit(0);
            }
        }
        close(gate[0]);
        close(gate[1]); /* all go at once */
        for (int i = 0; i < WRITERS; i++) {
            int status;
            assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("round %d: writer %d of %d failed", round, i, WRITERS);
        }
        char *text = test_read_file(script);
        assert_int_equal(strncmp(text, "export WRITER=", 14), 0);
        free(text);
    }
    /* Nothing of the writers' own is left beside it. */
    char *profile = test_path(fixture->stager.dep_dir, "profile.d");
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    assert_int_equal(cfbp_fs_list_directory(profile, &names, &fixture->err), 0);
    assert_int_equal(names.count, 1);
    cfbp_string_list_clear(&names);
    free(profile);
    free(script);
}

static void populate_deps(struct fixture *fixture)
{
    static const char *dirs[] = {"0/bin", "0/lib", "1/include", "1/bin", "2/pkgconfig", "2/lib"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
        char *path = test_path(fixture->deps, dirs[i]);
        char *marker = test_path(path, ".keep");
        test_write_file(marker, "", 0644);
        free(marker);
        free(path);
    }
    char *env0 = test_path(fixture->deps, "0/env/SHARED");
    char *env2 = test_path(fixture->deps, "2/env/SHARED");
    char *only2 = test_path(fixture->deps, "2/env/ONLY_TWO");
    test_write_file(env0, "from zero\n", 0644);
    test_write_file(env2, "from two", 0644);
    test_write_file(only2, "two", 0644);
    free(env0);
    free(env2);
    free(only2);
}

static void sets_the_staging_environment(void **state)
{
    struct fixture *fixture = *state;
    populate_deps(fixture);
    assert_int_equal(init(fixture, CFBP_PHASE_SUPPLY, "2", NULL, 4), 0);
    char *saved_path = strdup(getenv("PATH"));
    setenv("PATH", "/usr/bin", 1);
    unsetenv("CPATH");
    assert_int_equal(cfbp_stager_set_staging_environment(&fixture->stager, &fixture->err), 0);
    char expected[2048];
    snprintf(expected, sizeof(expected), "%s/1/bin:%s/0/bin:/usr/bin", fixture->deps,
             fixture->deps);
    assert_string_equal(getenv("PATH"), expected);
    snprintf(expected, sizeof(expected), "%s/1/include", fixture->deps);
    assert_string_equal(getenv("CPATH"), expected);
    snprintf(expected, sizeof(expected), "%s/2/pkgconfig", fixture->deps);
    assert_string_equal(getenv("PKG_CONFIG_PATH"), expected);
    /* The lowest index wins a clash, and values are raw (no trimming). */
    assert_string_equal(getenv("SHARED"), "from zero\n");
    assert_string_equal(getenv("ONLY_TWO"), "two");
    setenv("PATH", saved_path, 1);
    free(saved_path);
    unsetenv("SHARED");
    unsetenv("ONLY_TWO");
}

static void writes_the_launch_environment(void **state)
{
    struct fixture *fixture = *state;
    populate_deps(fixture);
    char *script1 = test_path(fixture->deps, "1/profile.d/one.sh");
    char *script2 = test_path(fixture->deps, "2/profile.d/two.sh");
    char *link = test_path(fixture->deps, "2/profile.d/link.sh");
    test_write_file(script1, "export ONE=1\n", 0640);
    test_write_file(script2, "export TWO=2\n", 0755);
    assert_int_equal(symlink("two.sh", link), 0);
    assert_int_equal(init(fixture, CFBP_PHASE_FINALIZE, "2", fixture->profile, 5), 0);
    assert_int_equal(cfbp_stager_set_launch_environment(&fixture->stager, &fixture->err), 0);
    char *multi = test_path(fixture->profile, "000_multi-supply.sh");
    char *text = test_read_file(multi);
    assert_string_equal(
        text, "export PATH=$DEPS_DIR/1/bin:$DEPS_DIR/0/bin$([[ ! -z \"${PATH:-}\" ]] && echo "
              "\":$PATH\")\n"
              "export LD_LIBRARY_PATH=$DEPS_DIR/2/lib:$DEPS_DIR/0/lib$([[ ! -z "
              "\"${LD_LIBRARY_PATH:-}\" ]] && echo \":$LD_LIBRARY_PATH\")\n"
              "export LIBRARY_PATH=$DEPS_DIR/2/lib:$DEPS_DIR/0/lib$([[ ! -z "
              "\"${LIBRARY_PATH:-}\" ]] && echo \":$LIBRARY_PATH\")\n");
    assert_int_equal(mode_of(multi), 0755);
    char *copy1 = test_path(fixture->profile, "1_one.sh");
    char *copy2 = test_path(fixture->profile, "2_two.sh");
    char *copy_link = test_path(fixture->profile, "2_link.sh");
    assert_int_equal(mode_of(copy1), 0640);
    assert_int_equal(mode_of(copy2), 0755);
    assert_false(test_exists(copy_link));
    assert_int_equal(test_count_entries(fixture->profile), 3);
    free(text);
    free(multi);
    free(copy1);
    free(copy2);
    free(copy_link);
    free(script1);
    free(script2);
    free(link);
}

static void writes_an_empty_multi_supply_script(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(init(fixture, CFBP_PHASE_FINALIZE, "0", fixture->profile, 5), 0);
    assert_int_equal(cfbp_stager_set_launch_environment(&fixture->stager, &fixture->err), 0);
    char *multi = test_path(fixture->profile, "000_multi-supply.sh");
    char *text = test_read_file(multi);
    assert_string_equal(text, "");
    assert_int_equal(mode_of(multi), 0755);
    free(text);
    free(multi);
}

static void remembers_the_buildpack_version(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(init(fixture, CFBP_PHASE_SUPPLY, "0", NULL, 4), 0);
    char *text = NULL;
    size_t size = 0;
    FILE *stream = open_memstream(&text, &size);
    struct cfbp_log log;
    cfbp_log_init(&log, stream, false);
    cfbp_stager_check_buildpack_metadata(&fixture->stager, "tools", "1.0.0", &log);
    assert_int_equal(
        cfbp_stager_write_buildpack_metadata(&fixture->stager, "tools", "1.0.0", &fixture->err), 0);
    char *metadata_path = test_path(fixture->cache, "BUILDPACK_METADATA");
    char *metadata = test_read_file(metadata_path);
    assert_string_equal(metadata, "language: tools\nversion: 1.0.0\n");
    cfbp_stager_check_buildpack_metadata(&fixture->stager, "tools", "1.0.0", &log);
    cfbp_stager_check_buildpack_metadata(&fixture->stager, "other", "2.0.0", &log);
    fflush(stream);
    assert_string_equal(text, "");
    cfbp_stager_check_buildpack_metadata(&fixture->stager, "tools", "1.1.0", &log);
    fflush(stream);
    assert_string_equal(text, "       \033[31;1m**WARNING**\033[0m buildpack version changed from "
                              "1.0.0 to 1.1.0\n");
    fclose(stream);
    free(text);
    free(metadata);
    free(metadata_path);
}

static void links_binaries_relatively(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(init(fixture, CFBP_PHASE_SUPPLY, "0", NULL, 4), 0);
    char *target = test_path(fixture->stager.dep_dir, "tool/bin/tool");
    test_write_file(target, "#!/bin/sh\n", 0755);
    assert_int_equal(cfbp_stager_add_bin_link(&fixture->stager, target, "tool", &fixture->err), 0);
    char *link = test_path(fixture->stager.dep_dir, "bin/tool");
    char buffer[256] = "";
    assert_true(readlink(link, buffer, sizeof(buffer) - 1) > 0);
    assert_string_equal(buffer, "../tool/bin/tool");
    free(link);
    free(target);
}

static void refuses_to_follow_a_v3_buildpack(void **state)
{
    struct fixture *fixture = *state;
    char *sentinel = test_path(fixture->dir, "sentinel");
    assert_int_equal(cfbp_stager_check_not_after_v3(sentinel, &fixture->err), 0);
    test_write_file(sentinel, "", 0644);
    assert_int_equal(cfbp_stager_check_not_after_v3(sentinel, &fixture->err), -1);
    assert_non_null(strstr(fixture->err.message,
                           "You are running a V2 buildpack after a V3 buildpack. This is "
                           "unsupported."));
    free(sentinel);
}

/* --- a deps directory that is a link (an earlier buildpack can plant one) --- */

static void refuses_a_deps_directory_that_is_a_link(void **state)
{
    struct fixture *fixture = *state;
    char *canary = test_path(fixture->dir, "canary");
    char *canary_file = test_path(canary, "keep");
    test_write_file(canary_file, "canary\n", 0644);
    char *link = test_path(fixture->deps, "0");
    char *dangling = test_path(fixture->deps, "1");
    char *file = test_path(fixture->deps, "2");
    assert_int_equal(symlink("../canary", link), 0);
    assert_int_equal(symlink("../nowhere", dangling), 0);
    test_write_file(file, "", 0644);
    char *before = test_snapshot(fixture->dir, true);
    static const enum cfbp_stager_phase phases[] = {CFBP_PHASE_SUPPLY, CFBP_PHASE_FINALIZE};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(init(fixture, phases[i], "0", NULL, 4), -1);
        assert_int_equal(fixture->err.kind, CFBP_ERROR_UNSAFE_PATH);
        assert_non_null(strstr(fixture->err.message, link));
        assert_non_null(strstr(fixture->err.message, "it is a symbolic link"));
        assert_int_equal(init(fixture, phases[i], "1", NULL, 4), -1);
        assert_non_null(strstr(fixture->err.message, dangling));
        assert_non_null(strstr(fixture->err.message, "it is a symbolic link"));
        assert_int_equal(init(fixture, phases[i], "2", NULL, 4), -1);
        assert_non_null(strstr(fixture->err.message, "is not a directory"));
    }
    /* Refused before anything was made: not even CACHE_DIR. */
    char *after = test_snapshot(fixture->dir, true);
    test_assert_same_snapshot(before, after, "the staging directories");
    assert_false(test_exists(fixture->cache));
    free(before);
    free(after);
    free(file);
    free(dangling);
    free(link);
    free(canary_file);
    free(canary);
}

/* Links above the directories the platform gives are the platform's: /tmp may be one. */
static void accepts_links_on_the_way_to_the_staging_directories(void **state)
{
    struct fixture *fixture = *state;
    char *real = test_path(fixture->dir, "real");
    char *real_deps = test_path(real, "deps");
    char *linked = test_path(fixture->dir, "linked");
    assert_int_equal(mkdir(real, 0755), 0);
    assert_int_equal(mkdir(real_deps, 0755), 0);
    assert_int_equal(symlink("real", linked), 0);
    free(fixture->deps);
    fixture->deps = test_path(linked, "deps");
    assert_int_equal(init(fixture, CFBP_PHASE_SUPPLY, "0", NULL, 4), 0);
    assert_int_equal(
        cfbp_stager_write_profile_d(&fixture->stager, "thing.sh", "export A=1\n", &fixture->err),
        0);
    char *written = test_path(real_deps, "0/profile.d/thing.sh");
    assert_true(test_exists(written));
    free(written);
    free(linked);
    free(real_deps);
    free(real);
}

/* Another index that is a link is not a deps directory (libbuildpack: ReadDir, IsDir). */
static void skips_other_deps_directories_that_are_links(void **state)
{
    struct fixture *fixture = *state;
    char *outside = test_path(fixture->dir, "outside");
    static const char *files[] = {"bin/tool", "lib/libx.so", "env/OUTSIDE", "profile.d/out.sh"};
    for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
        char *path = test_path(outside, files[i]);
        test_write_file(path, "outside\n", 0755);
        free(path);
    }
    char *real_bin = test_path(fixture->deps, "0/bin/tool");
    test_write_file(real_bin, "", 0755);
    char *link = test_path(fixture->deps, "1");
    assert_int_equal(symlink("../outside", link), 0);
    assert_int_equal(init(fixture, CFBP_PHASE_FINALIZE, "0", fixture->profile, 5), 0);
    char *saved_path = strdup(getenv("PATH"));
    unsetenv("OUTSIDE");
    assert_int_equal(cfbp_stager_set_staging_environment(&fixture->stager, &fixture->err), 0);
    assert_null(strstr(getenv("PATH"), "/1/bin"));
    assert_null(getenv("OUTSIDE"));
    setenv("PATH", saved_path, 1);
    free(saved_path);
    assert_int_equal(cfbp_stager_set_launch_environment(&fixture->stager, &fixture->err), 0);
    char *multi = test_path(fixture->profile, "000_multi-supply.sh");
    char *text = test_read_file(multi);
    assert_string_equal(
        text, "export PATH=$DEPS_DIR/0/bin$([[ ! -z \"${PATH:-}\" ]] && echo \":$PATH\")\n");
    assert_int_equal(test_count_entries(fixture->profile), 1);
    free(text);
    free(multi);
    free(link);
    free(real_bin);
    free(outside);
}

/* --- a finalize that fails at any of its writes takes all of them back --- */

/* size bytes of shell comment lines. */
static char *comment_text(size_t size)
{
    char *text = malloc(size + 1);
    for (size_t i = 0; i < size; i++)
        text[i] = i % 64 == 63 ? '\n' : '#';
    text[size] = '\0';
    return text;
}

static void write_sized(struct fixture *fixture, const char *relative, size_t size, mode_t mode)
{
    char *path = test_path(fixture->dir, relative);
    char *text = comment_text(size);
    test_write_file(path, text, mode);
    free(text);
    free(path);
}

/*
 * finalize writes, in this order: 000_multi-supply.sh (about 300 bytes),
 * 0_a.sh (1000), 2_b.sh (2000, replacing the app's own), 2_c.sh (3000) and
 * BUILDPACK_METADATA (over 5000, for its long language): a file size limit
 * between two sizes fails exactly one write point.
 */
static const struct write_point {
    rlim_t limit;
    const char *fails; /* the file the error names */
} write_points[] = {
    {1, "000_multi-supply.sh"},   {500, "0_a.sh"}, {1500, "2_b.sh"}, {2500, "2_c.sh"},
    {4000, "BUILDPACK_METADATA"},
};

static char long_language[5001];

static void populate_for_finalize(struct fixture *fixture)
{
    populate_deps(fixture);
    write_sized(fixture, "deps/0/profile.d/a.sh", 1000, 0755);
    write_sized(fixture, "deps/2/profile.d/b.sh", 2000, 0644);
    write_sized(fixture, "deps/2/profile.d/c.sh", 3000, 0700);
    memset(long_language, 'x', sizeof(long_language) - 1);
}

/* What cmd/finalize does with the stager: all of it, or a rollback. */
static int finalize_with_rollback(struct fixture *fixture, const char *profile)
{
    int result = init(fixture, CFBP_PHASE_FINALIZE, "2", profile, profile ? 5 : 4);
    if (result < 0)
        return -1;
    cfbp_stager_begin_changes(&fixture->stager);
    result = cfbp_stager_set_launch_environment(&fixture->stager, &fixture->err);
    if (result == 0)
        result = cfbp_stager_write_buildpack_metadata(&fixture->stager, long_language, "2.0.0",
                                                      &fixture->err);
    if (result < 0)
        cfbp_stager_rollback_changes(&fixture->stager);
    cfbp_stager_release(&fixture->stager);
    return result;
}

struct finalize_call {
    struct fixture *fixture;
    const char *profile;
};

static int run_finalize_call(void *data, struct cfbp_error *err)
{
    struct finalize_call *call = data;
    int status = finalize_with_rollback(call->fixture, call->profile);
    if (status < 0)
        cfbp_error_move(err, &call->fixture->err);
    return status;
}

/* Runs it in a child under a file size limit; returns the error message, or NULL on success. */
static char *finalize_with_size_limit(struct fixture *fixture, const char *profile, rlim_t limit)
{
    struct finalize_call call = {fixture, profile};
    return test_in_child_with_file_size_limit(limit, run_finalize_call, &call);
}

/* Fails when a name of ours (".<name>.cfbp-...") was left anywhere in the tree. */
static void assert_no_temporary_names(const char *snapshot)
{
    if (strstr(snapshot, ".cfbp-"))
        fail_msg("a temporary or kept file was left behind:\n%s", snapshot);
}

static void fail_at_each_write_point(struct fixture *fixture, const char *profile, const char *what)
{
    for (size_t i = 0; i < sizeof(write_points) / sizeof(*write_points); i++) {
        char *before = test_snapshot(fixture->dir, true);
        char *message = finalize_with_size_limit(fixture, profile, write_points[i].limit);
        if (!message)
            fail_msg("%s: finalize succeeded under a %lu byte file size limit", what,
                     (unsigned long)write_points[i].limit);
        if (!strstr(message, "File too large") || !strstr(message, "ulimit -f") ||
            !strstr(message, write_points[i].fails))
            fail_msg("%s, limit %lu: expected a failure writing %s, got '%s'", what,
                     (unsigned long)write_points[i].limit, write_points[i].fails, message);
        char *after = test_snapshot(fixture->dir, true);
        test_assert_same_snapshot(before, after, what);
        free(message);
        free(before);
        free(after);
    }
    /* Above every size it works, and keeps nothing it replaced. */
    char *message = finalize_with_size_limit(fixture, profile, 100000);
    if (message)
        fail_msg("%s: %s", what, message);
    char *after = test_snapshot(fixture->dir, false);
    assert_no_temporary_names(after);
    free(after);
}

static void check_profile_after_finalize(const char *profile_dir)
{
    char *copy = test_path(profile_dir, "2_b.sh");
    char *text = test_read_file(copy);
    assert_non_null(text);
    assert_int_equal(strlen(text), 2000);
    assert_int_equal(mode_of(copy), 0644);
    assert_true(test_count_entries(profile_dir) >= 4);
    free(text);
    free(copy);
}

/* The app has its own .profile.d (two files finalize replaces, one it keeps), the cache a version.
 */
static void a_failed_finalize_puts_back_the_files_it_replaced(void **state)
{
    struct fixture *fixture = *state;
    populate_for_finalize(fixture);
    char *own = test_path(fixture->build, ".profile.d/2_b.sh");
    char *old_multi = test_path(fixture->build, ".profile.d/000_multi-supply.sh");
    char *keep = test_path(fixture->build, ".profile.d/keep.sh");
    char *metadata = test_path(fixture->cache, "BUILDPACK_METADATA");
    char *index = test_path(fixture->build, "index.html");
    test_write_file(own, "the app's own\n", 0600);
    test_write_file(old_multi, "old\n", 0755);
    test_write_file(keep, "export KEEP=1\n", 0644);
    test_write_file(metadata, "language: tools\nversion: 1.0.0\n", 0644);
    test_write_file(index, "hi\n", 0644);
    fail_at_each_write_point(fixture, NULL, "the app with its own .profile.d (exchange)");
    char *profile_dir = test_path(fixture->build, ".profile.d");
    check_profile_after_finalize(profile_dir);
    char *kept = test_read_file(keep);
    assert_string_equal(kept, "export KEEP=1\n");
    free(kept);
    free(profile_dir);
    free(index);
    free(metadata);
    free(keep);
    free(old_multi);
    free(own);
}

/* The same where the file system cannot exchange two names: what is replaced is hard-linked. */
static void a_failed_finalize_puts_back_replaced_files_without_exchange(void **state)
{
    struct fixture *fixture = *state;
    cfbp_stager_force_no_exchange(true);
    populate_for_finalize(fixture);
    char *own = test_path(fixture->build, ".profile.d/2_b.sh");
    char *metadata = test_path(fixture->cache, "BUILDPACK_METADATA");
    char *link = test_path(fixture->build, ".profile.d/0_a.sh");
    test_write_file(own, "the app's own\n", 0600);
    test_write_file(metadata, "language: tools\nversion: 1.0.0\n", 0644);
    /* A link where finalize writes is replaced, never followed, and put back on failure. */
    assert_int_equal(symlink("../../deps/0/profile.d/a.sh", link), 0);
    fail_at_each_write_point(fixture, NULL, "the app with its own .profile.d (hard links)");
    assert_int_equal(cfbp_fs_type_of(link), CFBP_FS_FILE);
    free(link);
    free(metadata);
    free(own);
}

/* Nothing there before: .profile.d and CACHE_DIR are made, and removed again on failure. */
static void a_failed_finalize_removes_the_directories_it_made(void **state)
{
    struct fixture *fixture = *state;
    populate_for_finalize(fixture);
    char *index = test_path(fixture->build, "index.html");
    test_write_file(index, "hi\n", 0644);
    assert_false(test_exists(fixture->cache));
    fail_at_each_write_point(fixture, NULL, "an app without .profile.d, and no cache");
    char *profile_dir = test_path(fixture->build, ".profile.d");
    check_profile_after_finalize(profile_dir);
    assert_true(test_exists(fixture->cache));
    free(profile_dir);
    free(index);
}

/* A PROFILE_DIR argument whose parents are missing too. */
static void a_failed_finalize_removes_a_profile_dir_it_made(void **state)
{
    struct fixture *fixture = *state;
    populate_for_finalize(fixture);
    char *profile = test_path(fixture->dir, "profiles/deeper/profile.d");
    fail_at_each_write_point(fixture, profile, "a missing PROFILE_DIR");
    check_profile_after_finalize(profile);
    free(profile);
}

static bool mount_tmpfs(struct fixture *fixture, const char *path, const char *options)
{
    if (mount("tmpfs", path, "tmpfs", 0, options) < 0)
        return false;
    fixture->mounted = strdup(path);
    return true;
}

static void unmount_tmpfs(struct fixture *fixture)
{
    assert_int_equal(umount(fixture->mounted), 0);
    free(fixture->mounted);
    fixture->mounted = NULL;
}

static void skip_unless_root(void)
{
    if (geteuid() == 0)
        return;
    print_message("skipped: mounting a tmpfs needs root (CI runs as root)\n");
    skip();
}

/*
 * The app on a tmpfs with room for n inodes, n growing from what the app
 * itself uses: finalize fails at each file or directory it would make, and
 * the tmpfs and the cache end as they were, until there is room for all.
 */
static void finalize_on_a_tmpfs_short_of_inodes(struct fixture *fixture, bool own_profile_d)
{
    bool failed = false, succeeded = false;
    for (int inodes = own_profile_d ? 4 : 2; inodes < 12 && !succeeded; inodes++) {
        char options[64];
        snprintf(options, sizeof(options), "nr_inodes=%d,size=1m,mode=0755", inodes);
        if (!mount_tmpfs(fixture, fixture->build, options))
            fail_msg("cannot mount a tmpfs at %s: %s", fixture->build, strerror(errno));
        char *index = test_path(fixture->build, "index.html");
        test_write_file(index, "hi\n", 0644);
        if (own_profile_d) {
            char *own = test_path(fixture->build, ".profile.d/2_b.sh");
            test_write_file(own, "the app's own\n", 0600);
            free(own);
        }
        char *before = test_snapshot(fixture->dir, true);
        if (finalize_with_rollback(fixture, NULL) == 0) {
            succeeded = true;
            char *after = test_snapshot(fixture->dir, false);
            assert_no_temporary_names(after);
            free(after);
        } else {
            failed = true;
            if (!strstr(fixture->err.message, "No space left on device") ||
                !strstr(fixture->err.message, "cf push -k"))
                fail_msg("%d inodes: unclear message '%s'", inodes, fixture->err.message);
            char *after = test_snapshot(fixture->dir, true);
            test_assert_same_snapshot(before, after, "the app's tmpfs and the cache");
            free(after);
        }
        free(before);
        free(index);
        unmount_tmpfs(fixture);
    }
    assert_true(failed);
    assert_true(succeeded);
}

static void a_finalize_out_of_inodes_takes_everything_back(void **state)
{
    struct fixture *fixture = *state;
    skip_unless_root();
    populate_for_finalize(fixture);
    finalize_on_a_tmpfs_short_of_inodes(fixture, false);
    finalize_on_a_tmpfs_short_of_inodes(fixture, true);
}

/* The app's tmpfs full to the last block: the first write of a file's contents fails. */
static void a_finalize_out_of_space_takes_everything_back(void **state)
{
    struct fixture *fixture = *state;
    skip_unless_root();
    populate_for_finalize(fixture);
    if (!mount_tmpfs(fixture, fixture->build, "size=256k,mode=0755"))
        fail_msg("cannot mount a tmpfs at %s: %s", fixture->build, strerror(errno));
    char *filler = test_path(fixture->build, "filler");
    FILE *stream = fopen(filler, "w");
    assert_non_null(stream);
    char *block = comment_text(4096);
    while (fwrite(block, 1, 4096, stream) == 4096 && fflush(stream) == 0)
        continue;
    fclose(stream);
    free(block);
    char *before = test_snapshot(fixture->dir, true);
    assert_int_equal(finalize_with_rollback(fixture, NULL), -1);
    assert_non_null(strstr(fixture->err.message, "No space left on device"));
    assert_non_null(strstr(fixture->err.message, fixture->build));
    char *after = test_snapshot(fixture->dir, true);
    test_assert_same_snapshot(before, after, "the full tmpfs and the cache");
    free(before);
    free(after);
    free(filler);
    unmount_tmpfs(fixture);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(supply_takes_four_arguments),
        TEST(finalize_takes_an_optional_profile_dir),
        TEST(refuses_unsafe_indices_and_missing_directories),
        TEST(makes_relative_arguments_absolute),
        TEST(writes_config_yml),
        TEST(removes_what_a_killed_run_left),
        TEST(writes_env_and_profile_files),
        TEST(stagers_writing_one_new_file_at_once_all_succeed),
        TEST(sets_the_staging_environment),
        TEST(writes_the_launch_environment),
        TEST(writes_an_empty_multi_supply_script),
        TEST(remembers_the_buildpack_version),
        TEST(links_binaries_relatively),
        TEST(refuses_to_follow_a_v3_buildpack),
        TEST(refuses_a_deps_directory_that_is_a_link),
        TEST(accepts_links_on_the_way_to_the_staging_directories),
        TEST(skips_other_deps_directories_that_are_links),
        TEST(a_failed_finalize_puts_back_the_files_it_replaced),
        TEST(a_failed_finalize_puts_back_replaced_files_without_exchange),
        TEST(a_failed_finalize_removes_the_directories_it_made),
        TEST(a_failed_finalize_removes_a_profile_dir_it_made),
        TEST(a_finalize_out_of_inodes_takes_everything_back),
        TEST(a_finalize_out_of_space_takes_everything_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
