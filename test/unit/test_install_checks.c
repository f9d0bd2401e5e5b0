/*
 * test_install_checks.c - installing the entries libbuildpack's manifest
 * model lets through (contract §5.1, §5.7, §6.6): md5-only entries, checked
 * by md5 with a warning and kept only when it matches; entries without uri
 * or digest (an override.yml may add them), refused before anything is
 * fetched; deprecation dates in yaml.v2's forms.
 */
#include "support.h"

#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/install.h"
#include "cfbp/log.h"
#include "cfbp/manifest.h"
#include "cfbp/strbuf.h"

#include "http_server.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WRONG_MD5 "0123456789abcdef0123456789abcdef"

struct fixture {
    char *dir, *root, *cache, *dest, *archive;
    char md5[CFBP_DIGEST_HEX_SIZE];
    struct test_http_server *server;
    char *url;
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
    fixture->dest = test_path(fixture->dir, "deps/0/tool");
    fixture->archive = test_path(fixture->root, "tool-1.2.3.tgz");
    char *version = test_path(fixture->root, "VERSION");
    test_write_file(version, "9.9.9\n", 0644);
    free(version);
    test_make_archive(fixture->archive, TEST_TGZ, archive_entries, 1);
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_digest_of_file(CFBP_DIGEST_MD5, fixture->archive, fixture->md5, &err), 0);
    fixture->log_stream = open_memstream(&fixture->log_text, &fixture->log_size);
    cfbp_log_init(&fixture->log, fixture->log_stream, false);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    if (fixture->server)
        test_http_server_stop(fixture->server);
    free(fixture->url);
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

/* Serves the archive on loopback at fixture->url. */
static void serve_archive(struct fixture *fixture)
{
    static struct test_http_response ok = {200, NULL, NULL, 0, 0, false, NULL};
    ok.body_file = fixture->archive;
    struct test_http_route route = {"/tool-1.2.3.tgz", &ok, 1};
    fixture->server = test_http_server_start(&route, 1);
    fixture->url = test_http_server_url(fixture->server, "/tool-1.2.3.tgz");
}

/* Writes manifest.yml with one tool 1.2.3 entry made of the given lines, and loads it. */
static void load_entry(struct fixture *fixture, const char *entry_lines)
{
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&text,
                              "language: tools\n"
                              "dependencies:\n"
                              "- name: tool\n"
                              "  version: 1.2.3\n"
                              "  cf_stacks: [cflinuxfs4]\n"
                              "%s",
                              entry_lines);
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

static void load_md5_entry(struct fixture *fixture, const char *uri, const char *md5,
                           const char *extra_lines)
{
    char lines[1024];
    snprintf(lines, sizeof(lines), "  uri: %s\n  md5: %s\n%s", uri, md5,
             extra_lines ? extra_lines : "");
    load_entry(fixture, lines);
}

static const char *logged(struct fixture *fixture)
{
    fflush(fixture->log_stream);
    return fixture->log_text ? fixture->log_text : "";
}

static int install(struct fixture *fixture)
{
    return cfbp_installer_install(&fixture->installer, "tool", "1.2.3", fixture->dest, 0,
                                  &fixture->err);
}

static void assert_warned_about_md5(struct fixture *fixture)
{
    char expected[1024];
    snprintf(expected, sizeof(expected),
             "       \033[31;1m**WARNING**\033[0m tool 1.2.3: %s/manifest.yml gives only an md5 "
             "digest, which is weaker than sha256 (checked by md5; add its sha256)\n",
             fixture->root);
    if (!strstr(logged(fixture), expected))
        fail_msg("no md5 warning in:\n%s", logged(fixture));
}

static void assert_md5_mismatch(struct fixture *fixture, const char *from)
{
    assert_int_equal(fixture->err.kind, CFBP_ERROR_CHECKSUM);
    char expected[600];
    snprintf(expected, sizeof(expected),
             "tool 1.2.3 from %s: dependency md5 mismatch: expected md5 " WRONG_MD5
             ", actual md5 %s. The file is damaged or manifest.yml lists the wrong md5; nothing "
             "was installed",
             from, fixture->md5);
    if (!strstr(fixture->err.message, expected))
        fail_msg("expected '%s' in '%s'", expected, fixture->err.message);
}

static void md5_only_download_is_checked_and_warned(void **state)
{
    struct fixture *fixture = *state;
    serve_archive(fixture);
    load_md5_entry(fixture, fixture->url, fixture->md5, NULL);
    cfbp_installer_set_app_cache_dir(&fixture->installer, fixture->cache);
    if (install(fixture) < 0)
        fail_msg("%s", fixture->err.message);
    char *tool = test_path(fixture->dest, "bin/tool");
    assert_true(test_exists(tool));
    free(tool);
    assert_warned_about_md5(fixture);
    char hash[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, fixture->url, strlen(fixture->url), hash);
    char cached[1024];
    snprintf(cached, sizeof(cached), "%s/dependencies/%s/tool-1.2.3.tgz", fixture->cache, hash);
    char md5[CFBP_DIGEST_HEX_SIZE];
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_digest_of_file(CFBP_DIGEST_MD5, cached, md5, &err), 0);
    assert_string_equal(md5, fixture->md5); /* the checked download is cached */
}

static void md5_mismatch_on_download_keeps_nothing(void **state)
{
    struct fixture *fixture = *state;
    serve_archive(fixture);
    load_md5_entry(fixture, fixture->url, WRONG_MD5, NULL);
    cfbp_installer_set_app_cache_dir(&fixture->installer, fixture->cache);
    assert_int_equal(install(fixture), -1);
    assert_md5_mismatch(fixture, fixture->url);
    assert_false(test_exists(fixture->dest));
    char *deps = test_path(fixture->dir, "deps");
    assert_false(test_exists(deps)); /* not even the directories made on the way */
    free(deps);
    char *dependencies = test_path(fixture->cache, "dependencies");
    assert_int_equal(test_count_entries(dependencies), 0);
    free(dependencies);
}

static void md5_mismatch_without_app_cache_keeps_nothing(void **state)
{
    struct fixture *fixture = *state;
    serve_archive(fixture);
    load_md5_entry(fixture, fixture->url, WRONG_MD5, NULL);
    assert_int_equal(install(fixture), -1);
    assert_md5_mismatch(fixture, fixture->url);
    char *deps = test_path(fixture->dir, "deps");
    assert_false(test_exists(deps));
    free(deps);
}

/* A cached buildpack's file: is checked by md5 as well, before anything is extracted. */
static void md5_only_cached_file(void **state)
{
    struct fixture *fixture = *state;
    load_md5_entry(fixture, "https://h/tool-1.2.3.tgz", WRONG_MD5, "  file: tool-1.2.3.tgz\n");
    assert_int_equal(install(fixture), -1);
    assert_md5_mismatch(fixture, "https://h/tool-1.2.3.tgz");
    char *deps = test_path(fixture->dir, "deps");
    assert_false(test_exists(deps));
    free(deps);
    cfbp_installer_release(&fixture->installer);
    cfbp_manifest_release(&fixture->manifest);
    cfbp_error_clear(&fixture->err);
    char upper[CFBP_DIGEST_HEX_SIZE];
    for (size_t i = 0; i < sizeof(upper); i++)
        upper[i] = (char)toupper((unsigned char)fixture->md5[i]);
    load_md5_entry(fixture, "https://h/tool-1.2.3.tgz", upper, "  file: tool-1.2.3.tgz\n");
    if (install(fixture) < 0)
        fail_msg("%s", fixture->err.message);
    char *tool = test_path(fixture->dest, "bin/tool");
    assert_true(test_exists(tool));
    free(tool);
    assert_warned_about_md5(fixture);
}

/* A cached copy that went bad is dropped and downloaded again, checked by md5 each time. */
static void damaged_app_cache_copy_of_an_md5_entry(void **state)
{
    struct fixture *fixture = *state;
    serve_archive(fixture);
    load_md5_entry(fixture, fixture->url, fixture->md5, NULL);
    cfbp_installer_set_app_cache_dir(&fixture->installer, fixture->cache);
    char hash[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, fixture->url, strlen(fixture->url), hash);
    char cached[1024];
    snprintf(cached, sizeof(cached), "%s/dependencies/%s/tool-1.2.3.tgz", fixture->cache, hash);
    test_write_file(cached, "bit rot\n", 0644);
    if (install(fixture) < 0)
        fail_msg("%s", fixture->err.message);
    assert_non_null(strstr(logged(fixture), "The cached copy of tool 1.2.3 is damaged"));
    assert_int_equal(test_http_server_hits(fixture->server, "/tool-1.2.3.tgz"), 1);
    char md5[CFBP_DIGEST_HEX_SIZE];
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_digest_of_file(CFBP_DIGEST_MD5, cached, md5, &err), 0);
    assert_string_equal(md5, fixture->md5);
}

/* libbuildpack would download it and then fail its (empty) sha256; we fetch nothing. */
static void entry_without_a_digest_is_refused_before_fetching(void **state)
{
    struct fixture *fixture = *state;
    serve_archive(fixture);
    char lines[600];
    snprintf(lines, sizeof(lines), "  uri: %s\n", fixture->url);
    load_entry(fixture, lines);
    assert_int_equal(install(fixture), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    assert_non_null(strstr(fixture->err.message, "tool 1.2.3 cannot be installed: its entry at "));
    assert_non_null(strstr(fixture->err.message, "/manifest.yml:3:3 has no sha256"));
    assert_int_equal(test_http_server_hits(fixture->server, "/tool-1.2.3.tgz"), 0);
    char *deps = test_path(fixture->dir, "deps");
    assert_false(test_exists(deps));
    free(deps);
}

/* An override.yml may add a version without a uri (libbuildpack's own test does). */
static void override_entry_without_uri_is_refused_naming_its_file(void **state)
{
    struct fixture *fixture = *state;
    load_entry(fixture, "  uri: https://h/tool-1.2.3.tgz\n  md5: " WRONG_MD5 "\n");
    char *deps = test_path(fixture->dir, "deps");
    char *override = test_path(deps, "3/override.yml");
    test_write_file(override,
                    "tools:\n  dependencies:\n  - {name: tool, version: 2.0.0, cf_stacks: "
                    "[cflinuxfs4]}\n",
                    0644);
    if (cfbp_manifest_apply_overrides(&fixture->manifest, deps, &fixture->err) < 0)
        fail_msg("%s", fixture->err.message);
    assert_int_equal(cfbp_installer_install(&fixture->installer, "tool", "2.0.0", fixture->dest, 0,
                                            &fixture->err),
                     -1);
    char expected[600];
    snprintf(expected, sizeof(expected),
             "tool 2.0.0 cannot be installed: its entry at %s:3:5 has no uri; nothing was fetched",
             override);
    assert_string_equal(fixture->err.message, expected);
    assert_false(test_exists(fixture->dest));
    free(override);
    free(deps);
}

/* 2025-4-30 is a date to yaml.v2 (libbuildpack would fail the install parsing it). */
static void end_of_life_with_a_short_date(void **state)
{
    struct fixture *fixture = *state;
    load_md5_entry(fixture, "https://h/tool-1.2.3.tgz", fixture->md5,
                   "  file: tool-1.2.3.tgz\n"
                   "dependency_deprecation_dates:\n"
                   "- {name: tool, version_line: 1.2.x, date: 2025-4-30}\n"
                   "- {name: tool, version_line: 1.x, date: '2025-6-1T00:00:00+02:00'}\n"
                   "- {name: tool, version_line: 1.2.3, date: 2025-5-15 12:00:00}\n");
    struct tm today = {.tm_year = 2025 - 1900, .tm_mon = 4 - 1, .tm_mday = 20};
    fixture->installer.now = timegm(&today);
    if (install(fixture) < 0)
        fail_msg("%s", fixture->err.message);
    const char *log = logged(fixture);
    assert_non_null(strstr(log, "tool 1.2.x will no longer be available in new buildpacks released "
                                "after 2025-4-30.\n"));
    assert_non_null(strstr(log, "tool 1.2.3 will no longer be available in new buildpacks "
                                "released after 2025-5-15 12:00:00.\n"));
    /* 30 days from 2025-04-20 is 2025-05-20: June 1st (22:00 UTC on May 31st) is further. */
    assert_null(strstr(log, "tool 1.x will"));
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(md5_only_download_is_checked_and_warned),
        TEST(md5_mismatch_on_download_keeps_nothing),
        TEST(md5_mismatch_without_app_cache_keeps_nothing),
        TEST(md5_only_cached_file),
        TEST(damaged_app_cache_copy_of_an_md5_entry),
        TEST(entry_without_a_digest_is_refused_before_fetching),
        TEST(override_entry_without_uri_is_refused_naming_its_file),
        TEST(end_of_life_with_a_short_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
