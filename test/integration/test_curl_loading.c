/*
 * test_curl_loading.c - the real supply loads libcurl only to download
 * (lib/curl_loader.c).
 *
 * supply does not link libcurl.so.4; it loads it with dlopen when a download
 * is needed. Here LD_LIBRARY_PATH puts a libcurl.so.4 that cannot be loaded
 * (an empty file) first in the search: a download fails with the loader's
 * sentence and installs nothing, while a cached install, which must not load
 * libcurl at all, succeeds.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARCHIVE_NAME "config-server-" CONFIG_SERVER_VERSION "-linux-x64.tgz"

struct fixture {
    char *dir, *root, *build, *cache, *deps, *broken;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->root = test_path(fixture->dir, "buildpack");
    fixture->build = test_path(fixture->dir, "build");
    fixture->cache = test_path(fixture->dir, "cache");
    fixture->deps = test_path(fixture->dir, "deps");
    fixture->broken = test_path(fixture->dir, "broken-libs");
    struct cfbp_error err = CFBP_ERROR_INIT;
    char *dep = test_path(fixture->deps, "0");
    char *bin = test_path(fixture->root, "bin");
    char *supply = test_path(bin, "supply");
    char *built = test_path(test_program_dir(), "supply");
    if (cfbp_fs_mkdir_p(fixture->build, 0755, &err) < 0 ||
        cfbp_fs_mkdir_p(fixture->cache, 0755, &err) < 0 || cfbp_fs_mkdir_p(dep, 0755, &err) < 0 ||
        cfbp_fs_mkdir_p(fixture->broken, 0755, &err) < 0 || cfbp_fs_mkdir_p(bin, 0755, &err) < 0 ||
        cfbp_fs_copy_file(built, supply, 0755, &err) < 0)
        fail_msg("%s", err.message);
    char *version = test_path(fixture->root, "VERSION");
    test_write_file(version, "1.0.0\n", 0644);
    free(version);
    /* Not an ELF file: dlopen("libcurl.so.4") finds it first and fails. */
    char *library = test_path(fixture->broken, "libcurl.so.4");
    test_write_file(library, "", 0644);
    free(library);
    free(built);
    free(supply);
    free(bin);
    free(dep);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    test_remove_dir(fixture->dir); /* frees it too */
    free(fixture->root);
    free(fixture->build);
    free(fixture->cache);
    free(fixture->deps);
    free(fixture->broken);
    free(fixture);
    return 0;
}

/* A manifest for the config-server: downloaded from uri, or from dependencies/ when cached. */
static void write_manifest(struct fixture *fixture, const char *uri, bool cached)
{
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&text,
                              "language: config-server-sidecar\n"
                              "default_versions:\n"
                              "- name: config-server\n"
                              "  version: %s\n"
                              "dependencies:\n"
                              "- name: config-server\n"
                              "  version: %s\n"
                              "  uri: %s\n"
                              "  sha256: %s\n"
                              "  cf_stacks: [cflinuxfs4]\n",
                              CONFIG_SERVER_VERSION, CONFIG_SERVER_VERSION, uri,
                              test_sha256_of_file(CONFIG_SERVER_ARTIFACT));
    if (cached) {
        cfbp_strbuf_append_string(&text, "  file: dependencies/" ARCHIVE_NAME "\n");
        struct cfbp_error err = CFBP_ERROR_INIT;
        char *dependencies = test_path(fixture->root, "dependencies");
        char *copy = test_path(dependencies, ARCHIVE_NAME);
        if (cfbp_fs_mkdir_p(dependencies, 0755, &err) < 0 ||
            cfbp_fs_copy_file(CONFIG_SERVER_ARTIFACT, copy, 0644, &err) < 0)
            fail_msg("%s", err.message);
        free(copy);
        free(dependencies);
    }
    char *manifest = test_path(fixture->root, "manifest.yml");
    test_write_file(manifest, text.buf, 0644);
    free(manifest);
    cfbp_strbuf_release(&text);
}

static struct test_run run_supply(struct fixture *fixture)
{
    char *supply = test_path(fixture->root, "bin/supply");
    char *argv[] = {supply, fixture->build, fixture->cache, fixture->deps, "0", NULL};
    char library_path[1024];
    snprintf(library_path, sizeof(library_path), "LD_LIBRARY_PATH=%s", fixture->broken);
    char *env[] = {"CF_STACK=cflinuxfs4",
                   "CONFIG_SERVER_SIDECAR=",
                   "BUILDPACK_DIR=",
                   "BP_DEBUG=",
                   "BP_DEPENDENCY_MIRROR=",
                   "http_proxy=http://127.0.0.1:9",
                   "no_proxy=",
                   library_path,
                   NULL};
    struct test_run run = test_run_program(argv, NULL, env);
    free(supply);
    return run;
}

static void a_download_without_a_loadable_libcurl_names_it(void **state)
{
    struct fixture *fixture = *state;
    /* Nothing listens on port 9: the download could not succeed anyway, but it fails earlier. */
    write_manifest(fixture, "http://127.0.0.1:9/" ARCHIVE_NAME, false);
    struct test_run run = run_supply(fixture);
    assert_int_not_equal(run.status, 0);
    /* The staging log (stdout) carries the error, as for every failed install. */
    char *said = NULL;
    if (asprintf(&said, "%s%s", run.out, run.err) < 0)
        fail();
    bool named = strstr(said, "cannot load libcurl.so.4 (") && strstr(said, "): install libcurl4");
    free(said);
    if (!named)
        fail_msg("supply should say it cannot load libcurl.so.4; it said: %s%s", run.out, run.err);
    char *installed = test_path(fixture->deps, "0/bin/config-server");
    assert_false(test_exists(installed));
    free(installed);
    test_run_free(&run);
}

static void a_cached_install_does_not_load_libcurl(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, "https://deps.cfbp.invalid/" ARCHIVE_NAME, true);
    struct test_run run = run_supply(fixture);
    if (run.status != 0)
        fail_msg("a cached supply should not need libcurl: %s%s", run.out, run.err);
    char *installed = test_path(fixture->deps, "0/bin/config-server");
    assert_true(test_exists(installed));
    free(installed);
    test_run_free(&run);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(a_download_without_a_loadable_libcurl_names_it),
        TEST(a_cached_install_does_not_load_libcurl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
