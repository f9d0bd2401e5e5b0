/*
 * test_buildpack_programs.c - the built supply, finalize, detect, release
 * and compile programs, run as Cloud Foundry's builder runs them: copied
 * into a temporary buildpack root, on temporary app, cache and deps
 * directories, with the staging environment. Results are checked as files.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/launch.h"
#include "cfbp/strbuf.h"
#include "cfbp/yaml.h"

#include "http_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARCHIVE_NAME "config-server-1.0.0-linux-x64.tgz"
#define FAKE_SIDECAR "#!/bin/sh\necho \"fake config-server $*\"\n"

struct fixture {
    char *dir, *root, *build, *cache, *deps, *dep, *profile, *archive;
    char *mounted; /* a tmpfs to unmount at the end */
    char sha256[65];
    struct test_http_server *server;
};

static char *program(struct fixture *fixture, const char *name)
{
    char *bin = test_path(fixture->root, "bin");
    char *path = test_path(bin, name);
    free(bin);
    return path;
}

static void install_programs(struct fixture *fixture)
{
    static const char *names[] = {"supply", "finalize", "detect", "release", "compile"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        char *source = test_path(test_program_dir(), names[i]);
        char *target = program(fixture, names[i]);
        struct cfbp_error err = CFBP_ERROR_INIT;
        char *bin = test_path(fixture->root, "bin");
        if (cfbp_fs_mkdir_p(bin, 0755, &err) < 0 ||
            cfbp_fs_copy_file(source, target, 0755, &err) < 0)
            fail_msg("%s", err.message);
        free(bin);
        free(source);
        free(target);
    }
}

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->root = test_path(fixture->dir, "buildpack");
    fixture->build = test_path(fixture->dir, "app");
    fixture->cache = test_path(fixture->dir, "cache");
    fixture->deps = test_path(fixture->dir, "deps");
    fixture->dep = test_path(fixture->deps, "3");
    fixture->profile = test_path(fixture->dir, "profile.d");
    mkdir(fixture->build, 0755);
    mkdir(fixture->deps, 0755);
    mkdir(fixture->dep, 0755);
    install_programs(fixture);
    char *version = test_path(fixture->root, "VERSION");
    test_write_file(version, "1.2.3", 0644);
    free(version);
    fixture->archive = test_path(fixture->root, "dependencies/" ARCHIVE_NAME);
    char *dependencies = test_path(fixture->root, "dependencies");
    mkdir(dependencies, 0755);
    free(dependencies);
    static const struct test_entry entries[] = {
        {"bin/", 'd', 0755, NULL, 0},
        {"bin/config-server", 'f', 0755, FAKE_SIDECAR, 0},
    };
    test_make_archive(fixture->archive, TEST_TGZ, entries, 2);
    strcpy(fixture->sha256, test_sha256_of_file(fixture->archive));
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    if (fixture->server)
        test_http_server_stop(fixture->server);
    if (fixture->mounted)
        umount2(fixture->mounted, MNT_DETACH);
    free(fixture->mounted);
    free(fixture->root);
    free(fixture->build);
    free(fixture->cache);
    free(fixture->deps);
    free(fixture->dep);
    free(fixture->profile);
    free(fixture->archive);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

/* Writes the buildpack's manifest.yml; uri NULL means a cached `file:` entry. */
static void write_manifest(struct fixture *fixture, const char *uri, const char *sha256)
{
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
                              "  uri: %s\n"
                              "  sha256: %s\n"
                              "  cf_stacks:\n"
                              "  - cflinuxfs4\n",
                              uri ? uri : "https://example.invalid/" ARCHIVE_NAME,
                              sha256 ? sha256 : fixture->sha256);
    if (!uri)
        cfbp_strbuf_append_string(&text, "  file: dependencies/" ARCHIVE_NAME "\n");
    char *path = test_path(fixture->root, "manifest.yml");
    test_write_file(path, text.buf, 0644);
    free(path);
    cfbp_strbuf_release(&text);
}

/* The staging environment, minus anything from the test's own that could leak in. */
#define CLEAN_ENVIRONMENT                                                                          \
    "CONFIG_SERVER_SIDECAR=", "CONFIG_SERVER_SIDECAR_MEMORY=", "BUILDPACK_DIR=", "BP_DEBUG=",      \
        "http_proxy=", "https_proxy=", "HTTP_PROXY=", "HTTPS_PROXY=", "no_proxy=", "NO_PROXY="

static struct test_run run_supply(struct fixture *fixture, const char *extra_env)
{
    char *supply = program(fixture, "supply");
    char *argv[] = {supply, fixture->build, fixture->cache, fixture->deps, "3", NULL};
    char *env[] = {CLEAN_ENVIRONMENT, "CF_STACK=cflinuxfs4", (char *)extra_env, NULL};
    struct test_run run = test_run_program(argv, NULL, env);
    free(supply);
    return run;
}

static char *dep_file(struct fixture *fixture, const char *name)
{
    return test_path(fixture->dep, name);
}

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("expected '%s' in:\n%s", needle, text);
}

static void supply_installs_and_declares_the_sidecar(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, NULL, NULL);
    struct test_run run = run_supply(fixture, NULL);
    if (run.status != 0)
        fail_msg("supply failed (%d):\n%s%s", run.status, run.out, run.err);
    assert_contains(run.out, "-----> Config-Server-Sidecar Buildpack version 1.2.3\n");
    assert_contains(run.out, "-----> Installing config-server 1.0.0\n");
    assert_contains(run.out, "       Copy [");
    char *binary = dep_file(fixture, "bin/config-server");
    assert_int_equal(access(binary, X_OK), 0);
    char *config = dep_file(fixture, "config.yml");
    char *config_text = test_read_file(config);
    assert_string_equal(config_text, "config: {}\nname: config-server-sidecar\nversion: 1.2.3\n");
    char *launch_path = dep_file(fixture, "launch.yml");
    struct cfbp_launch launch;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_launch_read(&launch, launch_path, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(launch.count, 1);
    assert_string_equal(launch.processes[0].type, "config-server");
    assert_string_equal(launch.processes[0].command, "$DEPS_DIR/3/bin/config-server");
    assert_int_equal(launch.processes[0].memory, 64);
    assert_int_equal(launch.processes[0].sidecar_for.count, 1);
    assert_string_equal(launch.processes[0].sidecar_for.items[0], "web");
    cfbp_launch_release(&launch);
    char *profile = dep_file(fixture, "profile.d/config-server.sh");
    char *profile_text = test_read_file(profile);
    assert_contains(profile_text, "export CONFIG_SERVER_PORT=\"${CONFIG_SERVER_PORT:-8082}\"\n");
    char *build_wrapper = test_path(fixture->build, "config-server");
    assert_false(test_exists(build_wrapper));
    test_run_free(&run);
    free(build_wrapper);
    free(profile_text);
    free(profile);
    free(launch_path);
    free(config_text);
    free(config);
    free(binary);
}

static void supply_refuses_a_wrong_sha256(void **state)
{
    struct fixture *fixture = *state;
    const char *wrong = "abababababababababababababababababababababababababababababababab";
    write_manifest(fixture, NULL, wrong);
    struct test_run run = run_supply(fixture, NULL);
    assert_int_not_equal(run.status, 0);
    assert_contains(run.out, wrong);
    assert_contains(run.out, fixture->sha256);
    assert_contains(run.out, "sha256 mismatch");
    assert_int_equal(test_count_entries(fixture->dep), 0);
    test_run_free(&run);
}

static void assert_refused_archive(struct fixture *fixture, const struct test_entry *entries,
                                   size_t count, const char *why)
{
    test_make_archive(fixture->archive, TEST_TGZ, entries, count);
    write_manifest(fixture, NULL, test_sha256_of_file(fixture->archive));
    struct test_run run = run_supply(fixture, NULL);
    assert_int_not_equal(run.status, 0);
    assert_contains(run.out, why);
    assert_int_equal(test_count_entries(fixture->dep), 0);
    /* deps/3 is all there is in deps, and nothing appeared beside the app either. */
    assert_int_equal(test_count_entries(fixture->deps), 1);
    char *escaped = test_path(fixture->dir, "escaped");
    assert_false(test_exists(escaped));
    free(escaped);
    test_run_free(&run);
}

static void supply_refuses_dot_dot_members(void **state)
{
    static const struct test_entry entries[] = {{"bin/config-server", 'f', 0755, FAKE_SIDECAR, 0},
                                                {"../../escaped", 'f', 0644, "x", 0}};
    assert_refused_archive(*state, entries, 2, "has a '..' component");
}

static void supply_refuses_links_leaving_the_destination(void **state)
{
    static const struct test_entry entries[] = {
        {"bin/config-server", 'l', 0, "../../../escaped", 0}};
    assert_refused_archive(*state, entries, 1, "is a symlink whose target is absolute or leaves");
}

static void supply_needs_a_supported_stack(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, NULL, NULL);
    char *supply = program(fixture, "supply");
    char *argv[] = {supply, fixture->build, fixture->cache, fixture->deps, "3", NULL};
    char *unset[] = {CLEAN_ENVIRONMENT, "CF_STACK=", NULL};
    struct test_run run = test_run_program(argv, NULL, unset);
    assert_int_not_equal(run.status, 0);
    assert_contains(run.out, "required stack  was not found (CF_STACK is not set");
    test_run_free(&run);
    char *wrong[] = {CLEAN_ENVIRONMENT, "CF_STACK=cflinuxfs3", NULL};
    run = test_run_program(argv, NULL, wrong);
    assert_int_not_equal(run.status, 0);
    assert_contains(run.out, "Stack not supported by buildpack: required stack cflinuxfs3 was not "
                             "found; this buildpack supports cflinuxfs4");
    assert_int_equal(test_count_entries(fixture->dep), 0);
    test_run_free(&run);
    free(supply);
}

static void supply_names_the_line_of_a_broken_manifest(void **state)
{
    struct fixture *fixture = *state;
    char *path = test_path(fixture->root, "manifest.yml");
    test_write_file(path,
                    "language: config-server-sidecar\ndependencies:\n- name: x\n  version: "
                    "[1.0\n",
                    0644);
    struct test_run run = run_supply(fixture, NULL);
    assert_int_not_equal(run.status, 0);
    assert_contains(run.out, "/buildpack/manifest.yml:5:1: invalid YAML");
    test_run_free(&run);
    free(path);
}

static void serve_archive(struct fixture *fixture, const struct test_http_response *script,
                          size_t steps)
{
    struct test_http_route route = {"/" ARCHIVE_NAME, script, steps};
    fixture->server = test_http_server_start(&route, 1);
}

static void supply_retries_a_flaky_download(void **state)
{
    struct fixture *fixture = *state;
    struct test_http_response script[] = {
        {503, "busy\n", NULL, 0, 0, false, NULL},
        {503, "busy\n", NULL, 0, 0, false, NULL},
        {200, NULL, fixture->archive, 0, 0, false, NULL},
    };
    serve_archive(fixture, script, 3);
    char *url = test_http_server_url(fixture->server, "/" ARCHIVE_NAME);
    write_manifest(fixture, url, NULL);
    struct test_run run = run_supply(fixture, NULL);
    if (run.status != 0)
        fail_msg("supply failed:\n%s", run.out);
    char download_line[256];
    snprintf(download_line, sizeof(download_line), "       Download [%s]\n", url);
    assert_contains(run.out, download_line);
    assert_contains(run.out, "       error: HTTP 503 Service Unavailable, retrying in ");
    assert_null(
        strstr(strstr(strstr(run.out, "retrying in") + 1, "retrying in") + 1, "retrying in"));
    char *binary = dep_file(fixture, "bin/config-server");
    assert_true(test_exists(binary));
    free(binary);
    test_run_free(&run);
    free(url);
}

static void supply_fails_fast_on_404(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response missing[] = {{404, "gone\n", NULL, 0, 0, false, NULL}};
    serve_archive(fixture, missing, 1);
    char *url = test_http_server_url(fixture->server, "/" ARCHIVE_NAME);
    write_manifest(fixture, url, NULL);
    struct test_run run = run_supply(fixture, NULL);
    assert_int_not_equal(run.status, 0);
    /* One request and no retry schedule (libbuildpack spends 60 s retrying a 404). */
    assert_int_equal(test_http_server_hits(fixture->server, "/" ARCHIVE_NAME), 1);
    assert_true(run.seconds < 5.0); /* the bound issue 2 sets */
    assert_contains(run.out, "404 Not Found");
    assert_int_equal(test_count_entries(fixture->dep), 0);
    test_run_free(&run);
    free(url);
}

static void restage_reuses_the_app_cache(void **state)
{
    struct fixture *fixture = *state;
    struct test_http_response ok[] = {{200, NULL, fixture->archive, 0, 0, false, NULL}};
    serve_archive(fixture, ok, 1);
    char *url = test_http_server_url(fixture->server, "/" ARCHIVE_NAME);
    write_manifest(fixture, url, NULL);
    struct test_run first = run_supply(fixture, NULL);
    assert_int_equal(first.status, 0);
    assert_contains(first.out, "Download [");
    /* A new staging: fresh deps directory, same cache. */
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_fs_remove_tree(fixture->dep, &err), 0);
    mkdir(fixture->dep, 0755);
    struct test_run second = run_supply(fixture, NULL);
    assert_int_equal(second.status, 0);
    assert_null(strstr(second.out, "Download ["));
    char copy_line[512];
    snprintf(copy_line, sizeof(copy_line), "       Copy [%s/dependencies/", fixture->cache);
    assert_contains(second.out, copy_line);
    assert_int_equal(test_http_server_hits(fixture->server, "/" ARCHIVE_NAME), 1);
    test_run_free(&first);
    test_run_free(&second);
    free(url);
}

static void supply_never_prints_credentials(void **state)
{
    struct fixture *fixture = *state;
    struct test_http_response ok[] = {{200, NULL, fixture->archive, 0, 0, false, NULL}};
    serve_archive(fixture, ok, 1);
    char url[256];
    snprintf(url, sizeof(url), "http://builder:hunter2@127.0.0.1:%u/" ARCHIVE_NAME,
             test_http_server_port(fixture->server));
    write_manifest(fixture, url, NULL);
    struct test_run run = run_supply(fixture, "BP_DEBUG=1");
    assert_int_equal(run.status, 0);
    assert_null(strstr(run.out, "hunter2"));
    assert_null(strstr(run.err, "hunter2"));
    assert_contains(run.out, "Download [http://-redacted-:-redacted-@127.0.0.1:");
    test_run_free(&run);
}

static void supply_takes_the_memory_limit(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, NULL, NULL);
    struct test_run run = run_supply(fixture, "CONFIG_SERVER_SIDECAR_MEMORY=128");
    assert_int_equal(run.status, 0);
    char *launch = dep_file(fixture, "launch.yml");
    char *text = test_read_file(launch);
    assert_contains(text, "  limits:\n    memory: 128\n");
    free(text);
    free(launch);
    test_run_free(&run);
}

static void supply_refuses_a_bad_memory_limit(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, NULL, NULL);
    static const char *bad[] = {
        "CONFIG_SERVER_SIDECAR_MEMORY=0", "CONFIG_SERVER_SIDECAR_MEMORY=12x",
        "CONFIG_SERVER_SIDECAR_MEMORY=-5", "CONFIG_SERVER_SIDECAR_MEMORY=64M",
        "CONFIG_SERVER_SIDECAR_MEMORY=99999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        struct test_run run = run_supply(fixture, bad[i]);
        assert_int_not_equal(run.status, 0);
        assert_contains(run.out, "CONFIG_SERVER_SIDECAR_MEMORY must be a positive whole number of "
                                 "megabytes");
        assert_int_equal(test_count_entries(fixture->dep), 0);
        test_run_free(&run);
    }
}

static void assert_app_declares_the_sidecar(struct fixture *fixture, const char *extra_env)
{
    struct test_run run = run_supply(fixture, extra_env);
    if (run.status != 0)
        fail_msg("supply failed:\n%s", run.out);
    char *launch = dep_file(fixture, "launch.yml");
    assert_false(test_exists(launch));
    free(launch);
    char *wrapper = test_path(fixture->build, "config-server");
    struct stat st;
    assert_int_equal(stat(wrapper, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);
    /* Run it the way the launcher would: DEPS_DIR set, from the app directory. */
    char deps_env[512];
    snprintf(deps_env, sizeof(deps_env), "DEPS_DIR=%s", fixture->deps);
    char *argv[] = {wrapper, "--flag", NULL};
    char *env[] = {deps_env, NULL};
    struct test_run sidecar = test_run_program(argv, fixture->build, env);
    assert_int_equal(sidecar.status, 0);
    assert_string_equal(sidecar.out, "fake config-server --flag\n");
    test_run_free(&sidecar);
    test_run_free(&run);
    free(wrapper);
}

static void seed_manifest_keeps_its_own_sidecar(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, NULL, NULL);
    char *app_manifest = test_path(fixture->build, "manifest.yml");
    test_write_file(app_manifest,
                    "applications:\n"
                    "- name: app-using-config-server\n"
                    "  env:\n    CONFIG_SERVER_PORT: 8082\n"
                    "  buildpacks: [config-server-sidecar_buildpack, ruby_buildpack]\n"
                    "  sidecars:\n"
                    "  - name: config-server\n    process_types: [web]\n"
                    "    command: './config-server'\n",
                    0644);
    free(app_manifest);
    assert_app_declares_the_sidecar(fixture, NULL);
}

static void staging_variable_asks_for_the_manifest_form(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, NULL, NULL);
    assert_app_declares_the_sidecar(fixture, "CONFIG_SERVER_SIDECAR=manifest");
}

static void staging_variable_must_be_known(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, NULL, NULL);
    struct test_run run = run_supply(fixture, "CONFIG_SERVER_SIDECAR=both");
    assert_int_not_equal(run.status, 0);
    assert_contains(run.out, "CONFIG_SERVER_SIDECAR must be 'buildpack'");
    assert_int_equal(test_count_entries(fixture->dep), 0);
    test_run_free(&run);
}

static void supply_warns_when_the_buildpack_version_changes(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, NULL, NULL);
    char *metadata = test_path(fixture->cache, "BUILDPACK_METADATA");
    test_write_file(metadata, "language: config-server-sidecar\nversion: 1.0.0\n", 0644);
    struct test_run run = run_supply(fixture, NULL);
    assert_int_equal(run.status, 0);
    assert_contains(run.out, "buildpack version changed from 1.0.0 to 1.2.3");
    char *text = test_read_file(metadata);
    assert_string_equal(text, "language: config-server-sidecar\nversion: 1.2.3\n");
    free(text);
    free(metadata);
    test_run_free(&run);
}

static void finalize_writes_the_launch_environment(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, NULL, NULL);
    struct test_run supply = run_supply(fixture, NULL);
    assert_int_equal(supply.status, 0);
    char *finalize = program(fixture, "finalize");
    char *argv[] = {finalize, fixture->build, fixture->cache, fixture->deps, "3", fixture->profile,
                    NULL};
    char *env[] = {CLEAN_ENVIRONMENT, "CF_STACK=cflinuxfs4", NULL};
    struct test_run run = test_run_program(argv, NULL, env);
    if (run.status != 0)
        fail_msg("finalize failed:\n%s%s", run.out, run.err);
    char *multi = test_path(fixture->profile, "000_multi-supply.sh");
    char *text = test_read_file(multi);
    assert_string_equal(
        text, "export PATH=$DEPS_DIR/3/bin$([[ ! -z \"${PATH:-}\" ]] && echo \":$PATH\")\n");
    char *copied = test_path(fixture->profile, "3_config-server.sh");
    assert_true(test_exists(copied));
    free(copied);
    free(text);
    free(multi);
    free(finalize);
    test_run_free(&run);
    test_run_free(&supply);
}

/*
 * An earlier buildpack (same user) replaced DEPS_DIR/<idx> with a link out of
 * DEPS_DIR: supply and finalize refuse it by name and write nothing anywhere.
 */
static void a_deps_directory_that_is_a_link_is_refused(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, NULL, NULL);
    char *canary = test_path(fixture->dir, "canary");
    assert_int_equal(mkdir(canary, 0755), 0);
    assert_int_equal(rmdir(fixture->dep), 0);
    assert_int_equal(symlink("../canary", fixture->dep), 0);
    char *before = test_snapshot(fixture->dir, true);
    struct test_run supply = run_supply(fixture, NULL);
    assert_int_equal(supply.status, 1);
    assert_contains(supply.out, "**ERROR**");
    assert_contains(supply.out, fixture->dep);
    assert_contains(supply.out, "it is a symbolic link");
    char *finalize = program(fixture, "finalize");
    char *argv[] = {finalize, fixture->build, fixture->cache, fixture->deps, "3", NULL};
    char *env[] = {CLEAN_ENVIRONMENT, "CF_STACK=cflinuxfs4", NULL};
    struct test_run finalized = test_run_program(argv, NULL, env);
    assert_int_equal(finalized.status, 1);
    assert_contains(finalized.out, "it is a symbolic link");
    char *after = test_snapshot(fixture->dir, true);
    test_assert_same_snapshot(before, after, "the staging directories and the canary");
    free(after);
    free(before);
    free(finalize);
    free(canary);
    test_run_free(&finalized);
    test_run_free(&supply);
}

/*
 * The real finalize with the app on a tmpfs short of inodes (the repro of the
 * report: room for no file, or for one) and on one short of space: it fails
 * saying so, and the app and the cache are exactly as before, times included;
 * with room for everything it works. Needs root to mount (CI runs as root).
 */
static void a_finalize_on_a_full_disk_leaves_the_app_as_it_was(void **state)
{
    struct fixture *fixture = *state;
    if (geteuid() != 0) {
        print_message("skipped: mounting a tmpfs needs root (CI runs as root)\n");
        skip();
    }
    write_manifest(fixture, NULL, NULL);
    struct test_run supply = run_supply(fixture, NULL);
    assert_int_equal(supply.status, 0);
    test_run_free(&supply);
    /* The app's index.html fills size=8k: two pages. The last disk has room. */
    static const struct {
        const char *options;
        size_t index_size;
    } disks[] = {{"nr_inodes=3", 3}, {"nr_inodes=4", 3}, {"size=8k", 8192}, {"nr_inodes=64", 3}};
    char *finalize = program(fixture, "finalize");
    char *argv[] = {finalize, fixture->build, fixture->cache, fixture->deps, "3", NULL};
    char *env[] = {CLEAN_ENVIRONMENT, "CF_STACK=cflinuxfs4", NULL};
    for (size_t i = 0; i < sizeof(disks) / sizeof(*disks); i++) {
        char options[64];
        snprintf(options, sizeof(options), "%s,mode=0755", disks[i].options);
        if (mount("tmpfs", fixture->build, "tmpfs", 0, options) < 0)
            fail_msg("cannot mount a tmpfs at %s: %s", fixture->build, strerror(errno));
        fixture->mounted = strdup(fixture->build);
        char *index = test_path(fixture->build, "index.html");
        char *page = calloc(1, disks[i].index_size + 1);
        memset(page, 'x', disks[i].index_size);
        test_write_file(index, page, 0644);
        char *before = test_snapshot(fixture->dir, true);
        struct test_run run = test_run_program(argv, NULL, env);
        bool last = i + 1 == sizeof(disks) / sizeof(*disks);
        if (last) {
            if (run.status != 0)
                fail_msg("finalize failed with room to spare:\n%s%s", run.out, run.err);
            char *multi = test_path(fixture->build, ".profile.d/000_multi-supply.sh");
            assert_true(test_exists(multi));
            free(multi);
        } else {
            if (run.status != 1)
                fail_msg("%s: finalize exited with %d:\n%s%s", disks[i].options, run.status,
                         run.out, run.err);
            assert_contains(run.out, "No space left on device");
            assert_contains(run.out, "cf push -k");
            char *after = test_snapshot(fixture->dir, true);
            test_assert_same_snapshot(before, after, "the app, the cache and DEPS_DIR");
            free(after);
        }
        test_run_free(&run);
        free(before);
        free(page);
        free(index);
        assert_int_equal(umount(fixture->mounted), 0);
        free(fixture->mounted);
        fixture->mounted = NULL;
    }
    free(finalize);
}

static void detect_declines_with_a_reason(void **state)
{
    struct fixture *fixture = *state;
    char *detect = program(fixture, "detect");
    char *argv[] = {detect, fixture->build, NULL};
    struct test_run run = test_run_program(argv, NULL, NULL);
    assert_int_not_equal(run.status, 0);
    assert_string_equal(run.out, "");
    assert_contains(run.err, "this is a supply buildpack");
    /* One line: a single newline, at the end. */
    assert_ptr_equal(strchr(run.err, '\n'), run.err + strlen(run.err) - 1);
    test_run_free(&run);
    free(detect);
}

static void release_prints_valid_yaml(void **state)
{
    struct fixture *fixture = *state;
    char *release = program(fixture, "release");
    char *argv[] = {release, fixture->build, NULL};
    struct test_run run = test_run_program(argv, NULL, NULL);
    assert_int_equal(run.status, 0);
    struct cfbp_yaml_document doc;
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_yaml_load_string(&doc, "release", run.out, strlen(run.out), &err), 0);
    const struct cfbp_yaml_node *types = cfbp_yaml_get(doc.root, "default_process_types");
    assert_non_null(types);
    assert_int_equal(types->type, CFBP_YAML_MAPPING);
    cfbp_yaml_document_release(&doc);
    test_run_free(&run);
    free(release);
}

static void compile_runs_supply_and_finalize_in_the_app(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, NULL, NULL);
    char *compile = program(fixture, "compile");
    char *argv[] = {compile, fixture->build, fixture->cache, NULL};
    char *env[] = {CLEAN_ENVIRONMENT, "CF_STACK=cflinuxfs4", NULL};
    struct test_run run = test_run_program(argv, NULL, env);
    if (run.status != 0)
        fail_msg("compile failed:\n%s%s", run.out, run.err);
    char *binary = test_path(fixture->build, ".cloudfoundry/0/bin/config-server");
    assert_int_equal(access(binary, X_OK), 0);
    char *deps_script = test_path(fixture->build, ".profile.d/0000_set-deps-dir.sh");
    char *text = test_read_file(deps_script);
    assert_string_equal(text, "export DEPS_DIR=$HOME/.cloudfoundry\n");
    char *multi = test_path(fixture->build, ".profile.d/000_multi-supply.sh");
    char *multi_text = test_read_file(multi);
    assert_contains(multi_text, "export PATH=$DEPS_DIR/0/bin");
    char *copied = test_path(fixture->build, ".profile.d/0_config-server.sh");
    assert_true(test_exists(copied));
    free(copied);
    free(multi_text);
    free(multi);
    free(text);
    free(deps_script);
    free(binary);
    free(compile);
    test_run_free(&run);
}

static void programs_find_the_root_from_buildpack_dir(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, NULL, NULL);
    char *supply = test_path(test_program_dir(), "supply");
    char *argv[] = {supply, fixture->build, fixture->cache, fixture->deps, "3", NULL};
    char root_env[512];
    snprintf(root_env, sizeof(root_env), "BUILDPACK_DIR=%s", fixture->root);
    char *env[] = {CLEAN_ENVIRONMENT, "CF_STACK=cflinuxfs4", root_env, NULL};
    struct test_run run = test_run_program(argv, NULL, env);
    if (run.status != 0)
        fail_msg("supply failed:\n%s", run.out);
    assert_contains(run.out, "Buildpack version 1.2.3");
    test_run_free(&run);
    free(supply);
}

static void usage_errors_say_what_is_expected(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, NULL, NULL);
    char *supply = program(fixture, "supply");
    char *argv[] = {supply, fixture->build, fixture->cache, NULL};
    struct test_run run = test_run_program(argv, NULL, NULL);
    assert_int_equal(run.status, 2);
    assert_contains(run.err, "supply: expected the arguments BUILD_DIR CACHE_DIR DEPS_DIR "
                             "DEPS_IDX, got 2 arguments");
    test_run_free(&run);
    free(supply);
    /* compile, given an empty or missing BUILD_DIR, refuses it: nothing is staged into the
     * directory it runs in. */
    char *compile = program(fixture, "compile");
    char *missing = test_path(fixture->build, "missing");
    const char *builds[] = {"", missing};
    for (size_t i = 0; i < 2; i++) {
        char *compile_argv[] = {compile, (char *)builds[i], fixture->cache, NULL};
        size_t before = test_count_entries(fixture->build);
        run = test_run_program(compile_argv, fixture->build, NULL);
        assert_int_equal(run.status, 2);
        assert_contains(run.err, "is not a directory");
        assert_int_equal(test_count_entries(fixture->build), before);
        test_run_free(&run);
    }
    free(missing);
    free(compile);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(supply_installs_and_declares_the_sidecar),
        TEST(supply_refuses_a_wrong_sha256),
        TEST(supply_refuses_dot_dot_members),
        TEST(supply_refuses_links_leaving_the_destination),
        TEST(supply_needs_a_supported_stack),
        TEST(supply_names_the_line_of_a_broken_manifest),
        TEST(supply_retries_a_flaky_download),
        TEST(supply_fails_fast_on_404),
        TEST(restage_reuses_the_app_cache),
        TEST(supply_never_prints_credentials),
        TEST(supply_takes_the_memory_limit),
        TEST(supply_refuses_a_bad_memory_limit),
        TEST(seed_manifest_keeps_its_own_sidecar),
        TEST(staging_variable_asks_for_the_manifest_form),
        TEST(staging_variable_must_be_known),
        TEST(supply_warns_when_the_buildpack_version_changes),
        TEST(finalize_writes_the_launch_environment),
        TEST(a_deps_directory_that_is_a_link_is_refused),
        TEST(a_finalize_on_a_full_disk_leaves_the_app_as_it_was),
        TEST(detect_declines_with_a_reason),
        TEST(release_prints_valid_yaml),
        TEST(compile_runs_supply_and_finalize_in_the_app),
        TEST(programs_find_the_root_from_buildpack_dir),
        TEST(usage_errors_say_what_is_expected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
