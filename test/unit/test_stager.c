/*
 * test_stager.c - staging arguments and the files of the multi-buildpack
 * contract (contract §3, §4.3, §5.4, §5.5, §5.8, §6.9), byte for byte.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/log.h"
#include "cfbp/stager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char *dir, *build, *cache, *deps, *profile;
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
    cfbp_error_clear(&fixture->err);
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

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(supply_takes_four_arguments),
        TEST(finalize_takes_an_optional_profile_dir),
        TEST(refuses_unsafe_indices_and_missing_directories),
        TEST(makes_relative_arguments_absolute),
        TEST(writes_config_yml),
        TEST(writes_env_and_profile_files),
        TEST(sets_the_staging_environment),
        TEST(writes_the_launch_environment),
        TEST(writes_an_empty_multi_supply_script),
        TEST(remembers_the_buildpack_version),
        TEST(links_binaries_relatively),
        TEST(refuses_to_follow_a_v3_buildpack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
