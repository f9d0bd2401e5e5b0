/*
 * test_install.c - installing manifest dependencies from each source (cached
 * file, file:// URI, app cache, loopback download), the warnings of contract
 * §6.6, and the app cache's life cycle.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/install.h"
#include "cfbp/log.h"
#include "cfbp/manifest.h"
#include "cfbp/strbuf.h"

#include "http_server.h"

#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct fixture {
    char *dir, *root, *cache, *dest, *archive;
    char sha256[CFBP_DIGEST_HEX_SIZE];
    struct test_http_server *server;
    struct cfbp_manifest manifest;
    struct cfbp_installer installer;
    struct cfbp_error err;
    char *log_text;
    size_t log_size;
    FILE *log_stream;
    struct cfbp_log log;
};

static const struct test_entry archive_entries[] = {
    {"bin/tool", 'f', 0755, "#!/bin/sh\necho tool\n", 0},
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->root = test_path(fixture->dir, "buildpack");
    fixture->cache = test_path(fixture->dir, "cache");
    fixture->dest = test_path(fixture->dir, "deps/0");
    fixture->archive = test_path(fixture->root, "tool-1.2.3.tgz");
    char *version = test_path(fixture->root, "VERSION");
    test_write_file(version, "9.9.9\n", 0644);
    free(version);
    test_make_archive(fixture->archive, TEST_TGZ, archive_entries, 1);
    strcpy(fixture->sha256, test_sha256_of_file(fixture->archive));
    fixture->log_stream = open_memstream(&fixture->log_text, &fixture->log_size);
    cfbp_log_init(&fixture->log, fixture->log_stream, true);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    if (fixture->server)
        test_http_server_stop(fixture->server);
    cfbp_installer_release(&fixture->installer);
    cfbp_manifest_release(&fixture->manifest);
    cfbp_error_clear(&fixture->err);
    fclose(fixture->log_stream);
    free(fixture->log_text);
    free(fixture->root);
    free(fixture->cache);
    free(fixture->dest);
    free(fixture->archive);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

/* Writes manifest.yml with the given dependency list (uri/sha256/file filled in by format). */
static void load_manifest(struct fixture *fixture, const char *extra, const char *uri,
                          const char *sha256, const char *file)
{
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&text,
                              "language: tools\n"
                              "dependencies:\n"
                              "- name: tool\n"
                              "  version: 1.2.3\n"
                              "  uri: %s\n"
                              "  sha256: %s\n"
                              "  cf_stacks: [cflinuxfs4]\n",
                              uri, sha256 ? sha256 : fixture->sha256);
    if (file)
        cfbp_strbuf_append_format(&text, "  file: %s\n", file);
    cfbp_strbuf_append_string(&text, extra ? extra : "");
    char *path = test_path(fixture->root, "manifest.yml");
    test_write_file(path, text.buf, 0644);
    free(path);
    cfbp_strbuf_release(&text);
    if (cfbp_manifest_load(&fixture->manifest, fixture->root, &fixture->err) < 0)
        fail_msg("%s", fixture->err.message);
    cfbp_installer_init(&fixture->installer, &fixture->manifest, "cflinuxfs4", &fixture->log);
    fixture->installer.fetch.retry_delay = 0.05;
    fixture->installer.fetch.retry_max_delay = 0.1;
}

static char *serve_archive(struct fixture *fixture)
{
    static struct test_http_response ok = {200, NULL, NULL, 0, 0, false, NULL};
    ok.body_file = fixture->archive;
    struct test_http_route route = {"/tool-1.2.3.tgz", &ok, 1};
    fixture->server = test_http_server_start(&route, 1);
    return test_http_server_url(fixture->server, "/tool-1.2.3.tgz");
}

static const char *logged(struct fixture *fixture)
{
    fflush(fixture->log_stream);
    return fixture->log_text ? fixture->log_text : "";
}

static int install(struct fixture *fixture, const char *version)
{
    return cfbp_installer_install(&fixture->installer, "tool", version, fixture->dest, 0,
                                  &fixture->err);
}

static void assert_installed(struct fixture *fixture)
{
    char *tool = test_path(fixture->dest, "bin/tool");
    char *text = test_read_file(tool);
    assert_non_null(text);
    assert_string_equal(text, "#!/bin/sh\necho tool\n");
    free(text);
    free(tool);
}

static void installs_a_cached_file_entry(void **state)
{
    struct fixture *fixture = *state;
    load_manifest(fixture, NULL, "https://unreachable.invalid/tool-1.2.3.tgz", NULL,
                  "tool-1.2.3.tgz");
    assert_int_equal(install(fixture, "1.2.3"), 0);
    assert_installed(fixture);
    char expected[512];
    snprintf(expected, sizeof(expected),
             "-----> Installing tool 1.2.3\n       Copy [%s/tool-1.2.3.tgz]\n", fixture->root);
    assert_string_equal(logged(fixture), expected);
}

static void installs_from_a_file_uri(void **state)
{
    struct fixture *fixture = *state;
    char uri[512];
    snprintf(uri, sizeof(uri), "file://%s", fixture->archive);
    load_manifest(fixture, NULL, uri, NULL, NULL);
    cfbp_installer_set_app_cache_dir(&fixture->installer, fixture->cache);
    assert_int_equal(install(fixture, "1.2.3"), 0);
    assert_installed(fixture);
    assert_non_null(strstr(logged(fixture), "Copy ["));
    assert_false(test_exists(fixture->cache)); /* nothing to cache for a local file */
}

static void downloads_into_the_app_cache_and_reuses_it(void **state)
{
    struct fixture *fixture = *state;
    char *url = serve_archive(fixture);
    load_manifest(fixture, NULL, url, NULL, NULL);
    cfbp_installer_set_app_cache_dir(&fixture->installer, fixture->cache);
    assert_int_equal(install(fixture, "1.2.3"), 0);
    assert_installed(fixture);
    assert_non_null(strstr(logged(fixture), "       Download [http://127.0.0.1:"));
    assert_int_equal(test_http_server_hits(fixture->server, "/tool-1.2.3.tgz"), 1);
    /* The cached copy lives at dependencies/<sha256(uri)>/<name>. */
    char hash[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, url, strlen(url), hash);
    char cached[1024];
    snprintf(cached, sizeof(cached), "%s/dependencies/%s/tool-1.2.3.tgz", fixture->cache, hash);
    assert_true(test_exists(cached));
    /* A restage copies from the cache: no new request. */
    char *dest2 = test_path(fixture->dir, "deps/1");
    assert_int_equal(
        cfbp_installer_install(&fixture->installer, "tool", "1.2.3", dest2, 0, &fixture->err), 0);
    char copy_line[1200];
    snprintf(copy_line, sizeof(copy_line), "       Copy [%s]\n", cached);
    assert_non_null(strstr(logged(fixture), copy_line));
    assert_int_equal(test_http_server_hits(fixture->server, "/tool-1.2.3.tgz"), 1);
    free(dest2);
    free(url);
}

static void replaces_a_damaged_cached_copy(void **state)
{
    struct fixture *fixture = *state;
    char *url = serve_archive(fixture);
    load_manifest(fixture, NULL, url, NULL, NULL);
    cfbp_installer_set_app_cache_dir(&fixture->installer, fixture->cache);
    char hash[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, url, strlen(url), hash);
    char cached[1024];
    snprintf(cached, sizeof(cached), "%s/dependencies/%s/tool-1.2.3.tgz", fixture->cache, hash);
    test_write_file(cached, "bit rot\n", 0644);
    assert_int_equal(install(fixture, "1.2.3"), 0);
    assert_installed(fixture);
    assert_non_null(strstr(logged(fixture), "The cached copy of tool 1.2.3 is damaged"));
    assert_int_equal(test_http_server_hits(fixture->server, "/tool-1.2.3.tgz"), 1);
    assert_string_equal(test_sha256_of_file(cached), fixture->sha256);
    free(url);
}

static void refuses_a_download_with_the_wrong_digest(void **state)
{
    struct fixture *fixture = *state;
    char *url = serve_archive(fixture);
    const char *wrong = "0123456789012345678901234567890123456789012345678901234567890123";
    load_manifest(fixture, NULL, url, wrong, NULL);
    cfbp_installer_set_app_cache_dir(&fixture->installer, fixture->cache);
    char *existing = test_path(fixture->dest, "config.yml");
    test_write_file(existing, "kept\n", 0644);
    assert_int_equal(install(fixture, "1.2.3"), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_CHECKSUM);
    char expected[600];
    snprintf(expected, sizeof(expected),
             "tool 1.2.3 from %s: dependency sha256 mismatch: expected sha256 %s, actual sha256 "
             "%s. The file is damaged",
             url, wrong, fixture->sha256);
    if (!strstr(fixture->err.message, expected))
        fail_msg("expected '%s' in '%s'", expected, fixture->err.message);
    assert_int_equal(test_count_entries(fixture->dest), 1);
    char *dependencies = test_path(fixture->cache, "dependencies");
    assert_int_equal(test_count_entries(dependencies),
                     0); /* nothing cached, not even a directory */
    free(dependencies);
    free(existing);
    free(url);
}

static void downloads_without_an_app_cache_leave_nothing(void **state)
{
    struct fixture *fixture = *state;
    char *url = serve_archive(fixture);
    load_manifest(fixture, NULL, url, NULL, NULL);
    assert_int_equal(install(fixture, "1.2.3"), 0);
    assert_installed(fixture);
    assert_int_equal(test_count_entries(fixture->dest), 2); /* bin, bin/tool */
    free(url);
}

static void explains_a_missing_version(void **state)
{
    struct fixture *fixture = *state;
    load_manifest(fixture, NULL, "https://h/tool-1.2.3.tgz", NULL, NULL);
    assert_int_equal(install(fixture, "9.9"), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NOT_FOUND);
    assert_string_equal(fixture->err.message, "dependency tool 9.9 not found");
    /* The library reports and never prints: libbuildpack's block is the error's detail. */
    assert_string_equal(logged(fixture), "-----> Installing tool 9.9\n");
    assert_string_equal(fixture->err.detail,
                        "DEPENDENCY MISSING IN MANIFEST:\n\n"
                        "Version 9.9 of dependency tool is not supported by this buildpack.\n"
                        "The versions of tool supported in this buildpack are:\n"
                        "\t- 1.2.3\n");
    assert_false(test_exists(fixture->dest));
}

static void explains_an_unknown_dependency(void **state)
{
    struct fixture *fixture = *state;
    load_manifest(fixture, NULL, "https://h/tool-1.2.3.tgz", NULL, NULL);
    assert_int_equal(
        cfbp_installer_install(&fixture->installer, "other", "1", fixture->dest, 0, &fixture->err),
        -1);
    assert_non_null(
        strstr(fixture->err.detail, "Dependency other is not provided by this buildpack"));
    assert_null(strstr(logged(fixture), "ERROR"));
}

static void warns_about_a_newer_patch(void **state)
{
    struct fixture *fixture = *state;
    load_manifest(fixture,
                  "- {name: tool, version: 1.2.10, uri: 'https://h/t.tgz', sha256: "
                  "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc, "
                  "cf_stacks: [cflinuxfs4]}\n",
                  "https://h/tool-1.2.3.tgz", NULL, "tool-1.2.3.tgz");
    assert_int_equal(install(fixture, "1.2.3"), 0);
    assert_non_null(strstr(logged(fixture),
                           "\033[31;1m**WARNING**\033[0m A newer version of tool is available in "
                           "this buildpack. Please adjust your app to use version 1.2.10 instead "
                           "of version 1.2.3 as soon as possible. Old versions of tool are only "
                           "provided to assist in migrating to newer versions.\n"));
}

static void reports_prereleases_without_failing(void **state)
{
    struct fixture *fixture = *state;
    /* libbuildpack#181: a 0-patch prerelease broke the newer-patch check and staging. */
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(
        &text,
        "language: tools\ndependencies:\n"
        "- {name: tool, version: 0.49.0-alpha, uri: 'https://h/tool-1.2.3.tgz',"
        " sha256: %s, cf_stacks: [cflinuxfs4], file: tool-1.2.3.tgz}\n",
        fixture->sha256);
    char *path = test_path(fixture->root, "manifest.yml");
    test_write_file(path, text.buf, 0644);
    free(path);
    cfbp_strbuf_release(&text);
    assert_int_equal(cfbp_manifest_load(&fixture->manifest, fixture->root, &fixture->err), 0);
    cfbp_installer_init(&fixture->installer, &fixture->manifest, "cflinuxfs4", &fixture->log);
    assert_int_equal(install(fixture, "0.49.0-alpha"), 0);
    assert_non_null(strstr(logged(fixture), "You are using the pre-release version 0.49.0-alpha of "
                                            "tool\n"));
    assert_installed(fixture);
}

static void warns_about_end_of_life(void **state)
{
    struct fixture *fixture = *state;
    load_manifest(fixture,
                  "dependency_deprecation_dates:\n"
                  "- {name: tool, version_line: 1.2.x, date: 2026-12-10, link: "
                  "'https://example.com/eol'}\n"
                  "- {name: tool, version_line: 1.x, date: 2026-01-01}\n"
                  "- {name: tool, version_line: 1.2.x, date: 2027-06-01}\n"
                  "- {name: tool, version_line: 2.x, date: 2020-01-01}\n",
                  "https://h/tool-1.2.3.tgz", NULL, "tool-1.2.3.tgz");
    struct tm today = {.tm_year = 2026 - 1900, .tm_mon = 10, .tm_mday = 24};
    fixture->installer.now = timegm(&today);
    assert_int_equal(install(fixture, "1.2.3"), 0);
    const char *log = logged(fixture);
    assert_non_null(strstr(log, "**WARNING**\033[0m tool 1.2.x will no longer be available in new "
                                "buildpacks released after 2026-12-10.\n       See: "
                                "https://example.com/eol\n"));
    assert_non_null(strstr(log, "tool 1.x will no longer be available in new buildpacks released "
                                "after 2026-01-01.\n"));
    assert_null(strstr(log, "2027-06-01"));
    assert_null(strstr(log, "2020-01-01"));
}

static void installs_the_only_version(void **state)
{
    struct fixture *fixture = *state;
    load_manifest(fixture, NULL, "https://h/tool-1.2.3.tgz", NULL, "tool-1.2.3.tgz");
    assert_int_equal(cfbp_installer_install_only_version(&fixture->installer, "tool", fixture->dest,
                                                         &fixture->err),
                     0);
    assert_installed(fixture);
    assert_int_equal(cfbp_installer_install_only_version(&fixture->installer, "none", fixture->dest,
                                                         &fixture->err),
                     -1);
    assert_string_equal(fixture->err.message, "no versions of none found");
}

static void refuses_to_guess_between_versions(void **state)
{
    struct fixture *fixture = *state;
    load_manifest(fixture,
                  "- {name: tool, version: 2.0.0, uri: 'https://h/t.tgz', sha256: "
                  "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc, "
                  "cf_stacks: [cflinuxfs4]}\n",
                  "https://h/tool-1.2.3.tgz", NULL, NULL);
    assert_int_equal(cfbp_installer_install_only_version(&fixture->installer, "tool", fixture->dest,
                                                         &fixture->err),
                     -1);
    assert_string_equal(fixture->err.message, "more than one version of tool found");
}

static void cleans_unused_app_cache_files(void **state)
{
    struct fixture *fixture = *state;
    char *url = serve_archive(fixture);
    load_manifest(fixture, NULL, url, NULL, NULL);
    cfbp_installer_set_app_cache_dir(&fixture->installer, fixture->cache);
    char *stale = test_path(fixture->cache, "dependencies/0ld/old-tool.tgz");
    test_write_file(stale, "old\n", 0644);
    assert_int_equal(install(fixture, "1.2.3"), 0);
    assert_int_equal(cfbp_installer_clean_app_cache(&fixture->installer, &fixture->err), 0);
    assert_false(test_exists(stale));
    char *old_dir = test_path(fixture->cache, "dependencies/0ld");
    assert_false(test_exists(old_dir));
    char *dependencies = test_path(fixture->cache, "dependencies");
    assert_int_equal(test_count_entries(dependencies), 2); /* <hash>/tool-1.2.3.tgz */
    assert_non_null(strstr(logged(fixture), "DEBUG:\033[0m Deleting cached file: "));
    free(dependencies);
    free(old_dir);
    free(stale);
    free(url);
}

/* A victim tree beside the cache that links planted in the cache point at. */
static char *make_victim(struct fixture *fixture)
{
    char *victim = test_path(fixture->dir, "victim");
    char *file = test_path(victim, "h1/important.txt");
    test_write_file(file, "precious\n", 0644);
    free(file);
    file = test_path(victim, "tool-1.2.3.tgz");
    test_write_file(file, "not the tool\n", 0644);
    free(file);
    return victim;
}

static void never_cleans_the_app_cache_through_a_link(void **state)
{
    struct fixture *fixture = *state;
    char *url = serve_archive(fixture);
    load_manifest(fixture, NULL, url, NULL, NULL);
    cfbp_installer_set_app_cache_dir(&fixture->installer, fixture->cache);
    char *victim = make_victim(fixture);
    char *before = test_snapshot(victim, true);
    char *dependencies = test_path(fixture->cache, "dependencies");
    test_write_file(dependencies, "x", 0644); /* makes the cache directory */
    unlink(dependencies);
    assert_int_equal(symlink(victim, dependencies), 0);
    /* The install refuses the linked cache, and cleaning never follows the link. */
    assert_int_equal(install(fixture, "1.2.3"), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_UNSAFE_PATH);
    assert_non_null(strstr(fixture->err.message, "dependencies is a symbolic link"));
    cfbp_error_clear(&fixture->err);
    assert_int_equal(cfbp_installer_clean_app_cache(&fixture->installer, &fixture->err), 0);
    char *after = test_snapshot(victim, true);
    test_assert_same_snapshot(before, after, "the tree the cache's link points at");
    free(before);
    free(after);
    free(dependencies);
    free(victim);
    free(url);
}

static void never_reads_or_removes_a_cached_copy_through_a_link(void **state)
{
    struct fixture *fixture = *state;
    char *url = serve_archive(fixture);
    load_manifest(fixture, NULL, url, NULL, NULL);
    cfbp_installer_set_app_cache_dir(&fixture->installer, fixture->cache);
    char *victim = make_victim(fixture);
    char *before = test_snapshot(victim, true);
    char hash[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, url, strlen(url), hash);
    char linked[1024];
    /* The hash directory is a link: refused. */
    snprintf(linked, sizeof(linked), "%s/dependencies/%s", fixture->cache, hash);
    char *dependencies = test_path(fixture->cache, "dependencies/keep");
    test_write_file(dependencies, "x", 0644);
    assert_int_equal(symlink(victim, linked), 0);
    assert_int_equal(install(fixture, "1.2.3"), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_UNSAFE_PATH);
    cfbp_error_clear(&fixture->err);
    unlink(linked);
    /* The cached file itself is a link: it is removed (the link, not what it points at),
     * and the dependency downloaded. */
    char cached[1200];
    snprintf(cached, sizeof(cached), "%s/tool-1.2.3.tgz", linked);
    char *victim_file = test_path(victim, "tool-1.2.3.tgz");
    mkdir(linked, 0755);
    assert_int_equal(symlink(victim_file, cached), 0);
    if (install(fixture, "1.2.3") < 0)
        fail_msg("%s", fixture->err.message);
    assert_installed(fixture);
    assert_int_equal(cfbp_fs_type_of(cached), CFBP_FS_FILE);
    char *after = test_snapshot(victim, true);
    test_assert_same_snapshot(before, after, "the tree the cache's links point at");
    free(before);
    free(after);
    free(victim_file);
    free(dependencies);
    free(victim);
    free(url);
}

/* --- extracting while downloading --- */

/* Remakes fixture->archive as member "a" then 1.5 MB of random bytes, and serves it slowly. */
static char *serve_slow_archive(struct fixture *fixture, unsigned long rate)
{
    const struct test_entry entries[] = {
        {"a", 'f', 0644, "first\n", 0},
        {"bin/tool", 'f', 0755, "#!/bin/sh\necho tool\n", 0},
        {"z", 'r', 0644, NULL, 1500000},
    };
    test_make_archive(fixture->archive, TEST_TGZ, entries, 3);
    strcpy(fixture->sha256, test_sha256_of_file(fixture->archive));
    char *url = serve_archive(fixture);
    test_http_server_set_rate(fixture->server, "/tool-1.2.3.tgz", rate);
    return url;
}

struct background_install {
    struct fixture *fixture;
    pthread_t thread;
    int result;
    volatile bool done;
};

static void *run_install(void *data)
{
    struct background_install *background = data;
    background->result = install(background->fixture, "1.2.3");
    background->done = true;
    return NULL;
}

static bool found_a;
static int look_for_a(const char *path, const struct stat *st, int type, struct FTW *where)
{
    (void)st;
    if (type == FTW_F && strcmp(path + where->base, "a") == 0 && strstr(path, "/tree/"))
        found_a = true;
    return 0;
}

static void extracts_while_downloading(void **state)
{
    struct fixture *fixture = *state;
    char *url = serve_slow_archive(fixture, 1000000); /* about 1.5 s */
    load_manifest(fixture, NULL, url, NULL, NULL);
    cfbp_installer_set_app_cache_dir(&fixture->installer, fixture->cache);
    char hash[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, url, strlen(url), hash);
    char cached[1024];
    snprintf(cached, sizeof(cached), "%s/dependencies/%s/tool-1.2.3.tgz", fixture->cache, hash);
    struct background_install background = {.fixture = fixture};
    assert_int_equal(pthread_create(&background.thread, NULL, run_install, &background), 0);
    /* The first member is written in the install's work tree before the download is done. */
    bool seen_early = false;
    while (!background.done && !seen_early) {
        found_a = false;
        nftw(fixture->dir, look_for_a, 16, FTW_PHYS);
        seen_early = found_a && !test_exists(cached);
        usleep(10000);
    }
    pthread_join(background.thread, NULL);
    if (background.result < 0)
        fail_msg("%s", fixture->err.message);
    assert_true(seen_early);
    assert_installed(fixture);
    assert_string_equal(test_sha256_of_file(cached), fixture->sha256);
    char *work_left = test_path(fixture->dir, "deps");
    assert_int_equal(test_count_entries(work_left), 5); /* 0, 0/a, 0/bin, 0/bin/tool, 0/z */
    free(work_left);
    free(url);
}

static void logs_progress_of_a_slow_download(void **state)
{
    struct fixture *fixture = *state;
    char *url = serve_slow_archive(fixture, 1000000);
    load_manifest(fixture, NULL, url, NULL, NULL);
    fixture->installer.progress_interval = 0.5;
    assert_int_equal(install(fixture, "1.2.3"), 0);
    const char *log = logged(fixture);
    const char *first = strstr(log, "       Downloaded ");
    if (!first || !strstr(first + 1, "       Downloaded ") ||
        !strstr(log, "       Downloaded 100% ("))
        fail_msg("no progress lines in:\n%s", log);
    assert_non_null(strstr(first, " MB/s)\n"));
    free(url);
}

static void a_fast_download_logs_no_progress(void **state)
{
    struct fixture *fixture = *state;
    char *url = serve_archive(fixture);
    load_manifest(fixture, NULL, url, NULL, NULL);
    assert_int_equal(install(fixture, "1.2.3"), 0);
    assert_null(strstr(logged(fixture), "Downloaded"));
    free(url);
}

/*
 * A first answer cut short, and not even the right bytes: the stream the
 * extraction read is then not the verified file, so its failure does not
 * count and the install is done again from the verified file.
 */
static void a_retry_with_other_bytes_installs_from_the_verified_file(void **state)
{
    struct fixture *fixture = *state;
    char *other = test_path(fixture->dir, "other.tgz");
    const struct test_entry entries[] = {
        {"bin/tool", 'f', 0755, "#!/bin/sh\necho other\n", 0},
        {"y", 'r', 0644, NULL, 100000},
    };
    test_make_archive(other, TEST_TGZ, entries, 2);
    struct test_http_response script[] = {
        {200, NULL, other, 60000, 0, false, NULL},
        {200, NULL, fixture->archive, 0, 0, false, NULL},
    };
    struct test_http_route route = {"/tool-1.2.3.tgz", script, 2};
    fixture->server = test_http_server_start(&route, 1);
    char *url = test_http_server_url(fixture->server, "/tool-1.2.3.tgz");
    load_manifest(fixture, NULL, url, NULL, NULL);
    cfbp_installer_set_app_cache_dir(&fixture->installer, fixture->cache);
    if (install(fixture, "1.2.3") < 0)
        fail_msg("%s\n%s", fixture->err.message, logged(fixture));
    assert_int_equal(test_http_server_hits(fixture->server, "/tool-1.2.3.tgz"), 2);
    assert_installed(fixture);
    assert_int_equal(test_count_entries(fixture->dest), 2); /* bin, bin/tool: nothing of other */
    free(other);
    free(url);
}

static void an_unsafe_download_fails_and_leaves_nothing(void **state)
{
    struct fixture *fixture = *state;
    const struct test_entry entries[] = {
        {"bin/tool", 'f', 0755, "#!/bin/sh\necho tool\n", 0},
        {"../escape", 'f', 0644, "out\n", 0},
    };
    test_make_archive(fixture->archive, TEST_TGZ, entries, 2);
    strcpy(fixture->sha256, test_sha256_of_file(fixture->archive));
    char *url = serve_archive(fixture);
    load_manifest(fixture, NULL, url, NULL, NULL);
    assert_int_equal(install(fixture, "1.2.3"), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_UNSAFE_ARCHIVE);
    assert_non_null(strstr(fixture->err.message, "'../escape'"));
    assert_false(test_exists(fixture->dest));
    char *escape = test_path(fixture->dir, "deps/escape");
    assert_false(test_exists(escape));
    free(escape);
    char *deps = test_path(fixture->dir, "deps");
    assert_false(test_exists(deps)); /* the directories made on the way went too */
    free(deps);
    free(url);
}

/* Copies path to copy with extra bytes after its own. */
static void copy_with_trailer(const char *path, const char *copy, const char *trailer)
{
    FILE *in = fopen(path, "rb"), *out = fopen(copy, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buffer[4096];
    size_t got;
    while ((got = fread(buffer, 1, sizeof(buffer), in)) > 0)
        assert_int_equal(fwrite(buffer, 1, got, out), got);
    fputs(trailer, out);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

/*
 * Adversarial review of issue 12: the server sends the right archive plus
 * one more byte. The download is refused (its digest is not the entry's),
 * but the byte held back is the extra one, so the extraction read exactly
 * the entry's bytes, matched its digest and placed the tree: a failed
 * install that replaced an existing file. It must leave the destination as
 * it was.
 */
static void a_refused_download_with_extra_bytes_places_nothing(void **state)
{
    struct fixture *fixture = *state;
    char *longer = test_path(fixture->dir, "longer.tgz");
    copy_with_trailer(fixture->archive, longer, "\n");
    struct test_http_response ok = {200, NULL, longer, 0, 0, false, NULL};
    struct test_http_route route = {"/tool-1.2.3.tgz", &ok, 1};
    fixture->server = test_http_server_start(&route, 1);
    char *url = test_http_server_url(fixture->server, "/tool-1.2.3.tgz");
    load_manifest(fixture, NULL, url, NULL, NULL);
    cfbp_installer_set_app_cache_dir(&fixture->installer, fixture->cache);
    char *old_tool = test_path(fixture->dest, "bin/tool");
    test_write_file(old_tool, "old\n", 0755);
    char *deps = test_path(fixture->dir, "deps");
    char *before = test_snapshot(deps, true);
    int result = install(fixture, "1.2.3");
    char *after = test_snapshot(deps, true);
    char *tool = test_read_file(old_tool);
    bool kept = tool && strcmp(tool, "old\n") == 0;
    free(tool);
    free(old_tool);
    free(deps);
    free(longer);
    free(url);
    assert_int_equal(result, -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_CHECKSUM);
    bool same = strcmp(before, after) == 0;
    free(before);
    free(after);
    if (!kept || !same)
        fail_msg("a refused download changed the destination (bin/tool %s)",
                 kept ? "kept" : "replaced");
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(installs_a_cached_file_entry),
        TEST(installs_from_a_file_uri),
        TEST(downloads_into_the_app_cache_and_reuses_it),
        TEST(replaces_a_damaged_cached_copy),
        TEST(refuses_a_download_with_the_wrong_digest),
        TEST(downloads_without_an_app_cache_leave_nothing),
        TEST(explains_a_missing_version),
        TEST(explains_an_unknown_dependency),
        TEST(warns_about_a_newer_patch),
        TEST(reports_prereleases_without_failing),
        TEST(warns_about_end_of_life),
        TEST(installs_the_only_version),
        TEST(refuses_to_guess_between_versions),
        TEST(cleans_unused_app_cache_files),
        TEST(never_cleans_the_app_cache_through_a_link),
        TEST(never_reads_or_removes_a_cached_copy_through_a_link),
        TEST(extracts_while_downloading),
        TEST(logs_progress_of_a_slow_download),
        TEST(a_fast_download_logs_no_progress),
        TEST(a_retry_with_other_bytes_installs_from_the_verified_file),
        TEST(an_unsafe_download_fails_and_leaves_nothing),
        TEST(a_refused_download_with_extra_bytes_places_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
