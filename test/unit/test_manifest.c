/*
 * test_manifest.c - loading manifest.yml, VERSION and override.yml, and the
 * stack-filtered lookups (contract §5.1, §5.7, §6.4, §6.5).
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/manifest.h"
#include "cfbp/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const char *good_manifest = "---\n"
                                   "language: config-server-sidecar\n"
                                   "default_versions:\n"
                                   "- name: config-server\n"
                                   "  version: 1.2.x\n"
                                   "dependency_deprecation_dates:\n"
                                   "- name: config-server\n"
                                   "  version_line: 1.1.x\n"
                                   "  date: 2030-02-28\n"
                                   "  link: https://example.com/eol\n"
                                   "include_files: [VERSION, manifest.yml, bin/supply]\n"
                                   "pre_package: scripts/build.sh\n"
                                   "url_to_dependency_map: [{match: x}]\n"
                                   "dependencies:\n"
                                   "- name: config-server\n"
                                   "  version: 1.2.9\n"
                                   "  uri: https://example.com/config-server-1.2.9.tgz\n"
                                   "  sha256: " SHA_A "\n"
                                   "  cf_stacks: [cflinuxfs4]\n"
                                   "- name: config-server\n"
                                   "  version: 1.2.10\n"
                                   "  uri: https://example.com/config-server-1.2.10.tgz\n"
                                   "  sha256: " SHA_B "\n"
                                   "  cf_stacks: [cflinuxfs4, cflinuxfs3]\n"
                                   "  source: https://example.com/src.tgz\n"
                                   "  source_sha256: '0012'\n"
                                   "  dependencies: [{name: gearman}, memcached]\n"
                                   "- name: config-server\n"
                                   "  version: 1.3.0\n"
                                   "  uri: https://example.com/config-server-1.3.0.tgz\n"
                                   "  sha256: " SHA_B "\n"
                                   "  cf_stacks: [cflinuxfs3]\n";

struct fixture {
    char *root;
    struct cfbp_manifest manifest;
    struct cfbp_error err;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->root = test_make_dir();
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    cfbp_manifest_release(&fixture->manifest);
    cfbp_error_clear(&fixture->err);
    test_remove_dir(fixture->root);
    free(fixture);
    return 0;
}

static void write_root(struct fixture *fixture, const char *manifest, const char *version)
{
    char *path = test_path(fixture->root, "manifest.yml");
    test_write_file(path, manifest, 0644);
    free(path);
    if (version) {
        path = test_path(fixture->root, "VERSION");
        test_write_file(path, version, 0644);
        free(path);
    }
}

static int load(struct fixture *fixture, const char *manifest, const char *version)
{
    write_root(fixture, manifest, version);
    return cfbp_manifest_load(&fixture->manifest, fixture->root, &fixture->err);
}

static void loads_every_field(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture, good_manifest, "  4.5.6\n"), 0);
    struct cfbp_manifest *m = &fixture->manifest;
    assert_string_equal(m->language, "config-server-sidecar");
    assert_string_equal(m->version, "4.5.6");
    assert_string_equal(m->pre_package, "scripts/build.sh");
    assert_null(m->stack);
    assert_int_equal(m->include_files.count, 3);
    assert_string_equal(m->include_files.items[2], "bin/supply");
    assert_int_equal(m->dependency_count, 3);
    assert_string_equal(m->dependencies[1].version, "1.2.10");
    assert_string_equal(m->dependencies[1].source_sha256, "0012");
    assert_int_equal(m->dependencies[1].cf_stacks.count, 2);
    assert_int_equal(m->dependencies[1].modules.count, 2);
    assert_string_equal(m->dependencies[1].modules.items[0], "gearman");
    assert_string_equal(m->dependencies[1].modules.items[1], "memcached");
    assert_int_equal(m->default_count, 1);
    assert_int_equal(m->deprecation_count, 1);
    assert_int_equal(m->deprecations[0].year, 2030);
    assert_int_equal(m->deprecations[0].month, 2);
    assert_int_equal(m->deprecations[0].day, 28);
    assert_string_equal(m->deprecations[0].link, "https://example.com/eol");
    assert_non_null(strstr(m->path, "/manifest.yml"));
}

static void plain_numbers_keep_their_text(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture,
                          "language: x\n"
                          "dependencies:\n"
                          "- {name: x, version: 1.10, uri: 'http://h/x.tgz', sha256: " SHA_A
                          ", cf_stacks: [s]}\n",
                          "1"),
                     0);
    assert_string_equal(fixture->manifest.dependencies[0].version, "1.10");
}

static void uppercase_sha256_is_normalised(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture,
                          "language: x\n"
                          "dependencies:\n"
                          "- {name: x, version: '1', uri: 'http://h/x', sha256: "
                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA}\n",
                          "1"),
                     0);
    assert_string_equal(fixture->manifest.dependencies[0].sha256, SHA_A);
}

static void assert_load_fails(struct fixture *fixture, const char *manifest, const char *version,
                              const char *expected_message)
{
    assert_int_equal(load(fixture, manifest, version), -1);
    assert_non_null(fixture->err.message);
    if (!strstr(fixture->err.message, expected_message))
        fail_msg("expected '%s' in '%s'", expected_message, fixture->err.message);
}

static void missing_version_file_is_an_error(void **state)
{
    struct fixture *fixture = *state;
    assert_load_fails(fixture, "language: x\n", NULL, "unable to read VERSION file");
    assert_non_null(strstr(fixture->err.message, "/VERSION"));
}

static void empty_version_file_is_an_error(void **state)
{
    struct fixture *fixture = *state;
    assert_load_fails(fixture, "language: x\n", " \n", "VERSION is empty");
}

static void missing_manifest_names_the_file(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(cfbp_manifest_load(&fixture->manifest, fixture->root, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NOT_FOUND);
    assert_non_null(strstr(fixture->err.message, "manifest.yml"));
}

static void broken_yaml_names_line_and_column(void **state)
{
    struct fixture *fixture = *state;
    assert_load_fails(fixture, "language: x\ndependencies:\n  - name: a\n   version: 1\n", "1",
                      "manifest.yml:4:4: invalid YAML");
}

static void wrong_types_name_line_and_column(void **state)
{
    struct fixture *fixture = *state;
    assert_load_fails(fixture, "language: x\ndependencies: {a: 1}\n", "1",
                      "manifest.yml:2:15: dependencies must be a list, not a mapping");
}

/* yaml.v2 leaves a missing key at its zero value: libbuildpack loads such entries. */
static void missing_keys_are_empty(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture,
                          "dependencies:\n"
                          "- name: a\n"
                          "- version: '2'\n"
                          "  sha256: ~\n"
                          "-\n"
                          "default_versions:\n"
                          "- {name: a, version: 1.x}\n",
                          "1"),
                     0);
    struct cfbp_manifest *m = &fixture->manifest;
    assert_string_equal(m->language, "");
    assert_int_equal(m->dependency_count, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(m->dependencies[i].uri, "");
        assert_null(m->dependencies[i].sha256);
        assert_null(m->dependencies[i].md5);
        assert_null(m->dependencies[i].file);
        assert_int_equal(m->dependencies[i].cf_stacks.count, 0);
    }
    assert_string_equal(m->dependencies[0].version, "");
    assert_string_equal(m->dependencies[1].name, "");
    assert_string_equal(m->dependencies[2].name, ""); /* a null item is the zero entry */
    assert_int_equal(m->dependencies[2].line, 5);
    assert_non_null(strstr(m->dependencies[0].defined_in, "/manifest.yml"));
}

/* Shapes real manifests use, and yaml.v2 reads: nulls, empty lists, numbers, any key order. */
static void shapes_yaml_v2_reads_load(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture,
                          "dependency_deprecation_dates: []\n"
                          "default_versions:\n"
                          "dependencies:\n"
                          "- cf_stacks: [cflinuxfs4, ~]\n"
                          "  sha256: " SHA_A "\n"
                          "  uri: http://h/x.tgz\n"
                          "  version: 80\n"
                          "  name: x\n"
                          "  source: [not, read]\n"
                          "- {name: x, version: 1.10, uri: http://h/y.tgz, sha256: " SHA_B "}\n"
                          "include_files: []\n"
                          "language: 1.5\n",
                          "1"),
                     0);
    struct cfbp_manifest *m = &fixture->manifest;
    assert_string_equal(m->language, "1.5");
    assert_int_equal(m->default_count, 0);
    assert_int_equal(m->dependency_count, 2);
    assert_string_equal(m->dependencies[0].version, "80");
    assert_int_equal(m->dependencies[0].cf_stacks.count, 2);
    assert_string_equal(m->dependencies[0].cf_stacks.items[1], "");
    assert_null(m->dependencies[0].source);
    assert_string_equal(m->dependencies[1].version, "1.10");
    assert_int_equal(m->dependencies[1].cf_stacks.count, 0); /* on no stack, but listed */
    cfbp_manifest_release(&fixture->manifest);
    assert_int_equal(load(fixture, "language: x\ndependencies:\n", "1"), 0);
    assert_int_equal(fixture->manifest.dependency_count, 0);
}

/* libbuildpack has no md5 (it fails such an entry at install); we verify it (install.c). */
static void md5_only_entry_loads(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture,
                          "language: x\ndependencies:\n"
                          "- {name: a, version: '1', uri: http://h/a.tgz, cf_stacks: [s],\n"
                          "   md5: 0123456789ABCDEF0123456789abcdef}\n"
                          "- {name: a, version: '2', uri: http://h/b.tgz, sha256: " SHA_A ",\n"
                          "   md5: [ignored, next to a sha256]}\n",
                          "1"),
                     0);
    assert_null(fixture->manifest.dependencies[0].sha256);
    assert_string_equal(fixture->manifest.dependencies[0].md5, "0123456789abcdef0123456789abcdef");
    assert_string_equal(fixture->manifest.dependencies[1].sha256, SHA_A);
    assert_null(fixture->manifest.dependencies[1].md5);
}

static void malformed_md5_is_refused(void **state)
{
    struct fixture *fixture = *state;
    assert_load_fails(fixture,
                      "language: x\ndependencies:\n- name: a\n  version: '1'\n  uri: u\n"
                      "  md5: 0123456789abcdef\n",
                      "1",
                      "manifest.yml:6:8: dependencies[0].md5 must be 32 hex characters (an MD5 "
                      "digest), not '0123456789abcdef'");
    cfbp_error_clear(&fixture->err);
    assert_load_fails(fixture,
                      "language: x\ndependencies:\n- name: a\n  version: '1'\n  uri: u\n"
                      "  md5: {a: b}\n",
                      "1", "manifest.yml:6:8: dependencies[0].md5 must be a single value");
}

/* What is really broken stays a file:line:column error. */
static void wrong_shapes_are_refused(void **state)
{
    struct fixture *fixture = *state;
    static const struct {
        const char *manifest, *message;
    } cases[] = {
        {"- language: x\n", "manifest.yml:1:1: the manifest must be a mapping, not a list"},
        {"language: [x]\n", "manifest.yml:1:11: the manifest.language must be a single value"},
        {"dependencies: [name]\n", "manifest.yml:1:16: dependencies[0] must be a mapping"},
        {"dependencies:\n- {name: a, cf_stacks: all}\n",
         "manifest.yml:2:24: dependencies[0].cf_stacks must be a list of strings, not a string"},
        {"dependencies:\n- {name: a, cf_stacks: [[s]]}\n",
         "manifest.yml:2:25: dependencies[0].cf_stacks[0] must be a string, not a list"},
        {"default_versions: {a: 1}\n", "manifest.yml:1:19: default_versions must be a list"},
        {"dependency_deprecation_dates: x\n",
         "manifest.yml:1:31: dependency_deprecation_dates must be a list, not a string"},
        {"include_files: VERSION\n", "manifest.yml:1:16: include_files must be a list"},
        {"dependencies:\n- {name: a, dependencies: {b: c}}\n",
         "manifest.yml:2:27: dependencies[0].dependencies must be a list"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        assert_load_fails(fixture, cases[i].manifest, "1", cases[i].message);
        cfbp_error_clear(&fixture->err);
    }
}

static void bad_sha256_is_refused(void **state)
{
    struct fixture *fixture = *state;
    assert_load_fails(fixture,
                      "language: x\ndependencies:\n- name: a\n  version: '1'\n  uri: u\n"
                      "  sha256: abc\n",
                      "1", "manifest.yml:6:11: dependencies[0].sha256 must be 64 hex characters");
}

static void list_where_string_expected(void **state)
{
    struct fixture *fixture = *state;
    assert_load_fails(fixture,
                      "language: x\ndependencies:\n- name: a\n  version: [1]\n  uri: u\n"
                      "  sha256: " SHA_A "\n",
                      "1", "manifest.yml:4:12: dependencies[0].version must be a single value");
}

static void malformed_deprecation_date_fails_at_load(void **state)
{
    struct fixture *fixture = *state;
    assert_load_fails(fixture,
                      "language: x\ndependency_deprecation_dates:\n- name: a\n  version_line: 1.x\n"
                      "  date: 2025/01/31\n",
                      "1",
                      "manifest.yml:5:9: dependency_deprecation_dates[0].date must be a date such "
                      "as 2025-04-30 (YYYY-MM-DD), not '2025/01/31'");
}

static time_t utc(int year, int month, int day, int hour, int minute, int second)
{
    struct tm tm = {.tm_year = year - 1900,
                    .tm_mon = month - 1,
                    .tm_mday = day,
                    .tm_hour = hour,
                    .tm_min = minute,
                    .tm_sec = second};
    return timegm(&tm);
}

/* yaml.v2's timestamp forms (resolve.go, allowedTimestampFormats), as Go's time.Parse reads them.
 */
static void deprecation_dates_as_yaml_v2_reads_them(void **state)
{
    struct fixture *fixture = *state;
    static const struct {
        const char *date;
        int year, month, day, hour, minute, second, offset;
    } cases[] = {
        {"2025-4-30", 2025, 4, 30, 0, 0, 0, 0},
        {"2025-04-30", 2025, 4, 30, 0, 0, 0, 0},
        {"'2025-04-30'", 2025, 4, 30, 0, 0, 0, 0},
        {"2024-2-29", 2024, 2, 29, 0, 0, 0, 0},
        {"2025-1-2 3:4:5", 2025, 1, 2, 3, 4, 5, 0},
        {"2025-01-02 03:04:05.123456789", 2025, 1, 2, 3, 4, 5, 0},
        {"2025-1-2T03:04:05Z", 2025, 1, 2, 3, 4, 5, 0},
        {"2025-1-2t3:4:5.5+02:00", 2025, 1, 2, 3, 4, 5, 2 * 3600},
        {"2025-01-02T03:04:05-07:30", 2025, 1, 2, 3, 4, 5, -(7 * 3600 + 30 * 60)},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char text[300];
        snprintf(text, sizeof(text),
                 "dependency_deprecation_dates:\n- {name: a, version_line: 1.x, date: %s}\n",
                 cases[i].date);
        if (load(fixture, text, "1") < 0)
            fail_msg("%s: %s", cases[i].date, fixture->err.message);
        const struct cfbp_deprecation *entry = &fixture->manifest.deprecations[0];
        assert_int_equal(entry->year, cases[i].year);
        assert_int_equal(entry->month, cases[i].month);
        assert_int_equal(entry->day, cases[i].day);
        assert_int_equal(entry->moment, utc(cases[i].year, cases[i].month, cases[i].day,
                                            cases[i].hour, cases[i].minute, cases[i].second) -
                                            cases[i].offset);
        cfbp_manifest_release(&fixture->manifest);
    }
}

static void dates_yaml_v2_would_not_read_are_refused(void **state)
{
    struct fixture *fixture = *state;
    static const char *const dates[] = {
        "2025-02-29",
        "2025-13-01",
        "2025-4-31",
        "25-04-30",
        "2025-004-30",
        "20250430",
        "'2025-04-30 '",
        "2025-04-30T10:00:00",
        "2025-04-30 10:00:00Z",
        "2025-04-30T24:00:00Z",
        "2025-04-30T1:2:3+2:00",
        "soon",
        "2025-04-30T10:00Z",
    };
    for (size_t i = 0; i < sizeof(dates) / sizeof(*dates); i++) {
        char text[300];
        snprintf(text, sizeof(text),
                 "dependency_deprecation_dates:\n- {name: a, version_line: 1.x, date: %s}\n",
                 dates[i]);
        if (load(fixture, text, "1") == 0)
            fail_msg("the date %s loaded", dates[i]);
        if (!strstr(fixture->err.message,
                    "manifest.yml:2:38: dependency_deprecation_dates[0].date"))
            fail_msg("%s", fixture->err.message);
        cfbp_error_clear(&fixture->err);
    }
}

/* libbuildpack only tries a version_line (never an error) and fails only a matching install. */
static void deprecation_without_date_or_with_any_version_line_loads(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture,
                          "dependency_deprecation_dates:\n"
                          "- {name: nginx, version_line: 1.15.X, deprecation_date: '2019-05-21'}\n"
                          "- {name: php, version_line: '>= <', date: 2019-12-01}\n"
                          "-\n",
                          "1"),
                     0);
    assert_int_equal(fixture->manifest.deprecation_count, 1);
    assert_string_equal(fixture->manifest.deprecations[0].version_line, ">= <");
}

static void impossible_deprecation_date_fails_at_load(void **state)
{
    struct fixture *fixture = *state;
    assert_load_fails(fixture,
                      "language: x\ndependency_deprecation_dates:\n- name: a\n  version_line: 1.x\n"
                      "  date: 2025-02-29\n",
                      "1", "not '2025-02-29'");
}

/* libbuildpack fails a default only when it is resolved (php-buildpack shipped '7.6.0.201'). */
static void bad_default_constraint_fails_when_resolved(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture,
                          "language: x\n"
                          "default_versions:\n- {name: a, version: '>=1.2 <'}\n"
                          "- {name: newrelic, version: '7.6.0.201'}\n"
                          "dependencies:\n"
                          "- {name: a, version: 1.2.3, uri: http://h/a, sha256: " SHA_A
                          ", cf_stacks: [s]}\n",
                          "1"),
                     0);
    const struct cfbp_dependency *chosen = NULL;
    assert_int_equal(
        cfbp_manifest_default_version(&fixture->manifest, "a", "s", &chosen, &fixture->err), -1);
    assert_null(chosen);
    assert_non_null(fixture->err.message);
}

static void file_entry_cannot_leave_the_root(void **state)
{
    struct fixture *fixture = *state;
    assert_load_fails(fixture,
                      "language: x\ndependencies:\n- name: a\n  version: '1'\n  uri: u\n"
                      "  sha256: " SHA_A "\n  file: ../../etc/passwd\n",
                      "1", "must stay inside the buildpack");
}

/* An empty manifest.yml is Go's zero manifest: it loads, listing nothing. */
static void empty_manifest_lists_nothing(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture, "", "1"), 0);
    assert_string_equal(fixture->manifest.language, "");
    assert_int_equal(fixture->manifest.dependency_count, 0);
    cfbp_manifest_release(&fixture->manifest);
    assert_int_equal(load(fixture, "---\n~\n", "1"), 0);
}

/* Nothing needs a language to load: Go names the zip _buildpack-v1.zip and stages without it. */
static void language_may_be_missing(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture, "default_versions: []\n", "1"), 0);
    assert_string_equal(fixture->manifest.language, "");
    cfbp_manifest_release(&fixture->manifest);
    assert_int_equal(load(fixture, "language: ~\n", "1"), 0);
    assert_string_equal(fixture->manifest.language, "");
}

static int load_for_summary(struct fixture *fixture, const char *manifest)
{
    write_root(fixture, manifest, NULL);
    return cfbp_manifest_load_for_summary(&fixture->manifest, fixture->root, &fixture->err);
}

/* Go's packager model reads no dates, md5 or source and checks no value: neither does summary. */
static void summary_reads_what_go_summary_reads(void **state)
{
    struct fixture *fixture = *state;
    if (load_for_summary(fixture, "dependency_deprecation_dates: not even a list\n"
                                  "default_versions: [{name: a, version: '>= <'}]\n"
                                  "dependencies:\n"
                                  "- {name: a, version: '1', sha256: placeholder_sha256_here,\n"
                                  "   file: ../../x, md5: [a], source: {b: c}, cf_stacks: [s]}\n"
                                  "- {name: b, version: '2', md5: short}\n") < 0)
        fail_msg("%s", fixture->err.message);
    struct cfbp_manifest *m = &fixture->manifest;
    assert_int_equal(m->dependency_count, 2);
    assert_int_equal(m->default_count, 1);
    assert_int_equal(m->deprecation_count, 0);
    assert_string_equal(m->dependencies[0].sha256, "placeholder_sha256_here");
    assert_null(m->dependencies[0].md5);
    assert_string_equal(m->dependencies[1].md5, "short");
    cfbp_manifest_release(&fixture->manifest);
    /* What yaml.v2 refuses in Go's model, summary refuses too. */
    assert_int_equal(load_for_summary(fixture, "dependencies:\n- {name: go, cf_stacks: all}\n"),
                     -1);
    assert_non_null(strstr(fixture->err.message, "manifest.yml:2:25: dependencies[0].cf_stacks"));
}

/* Go's summary prints a manifest with a repeated key (yaml.v2 keeps the last value); the
 * checked load, which decides what is installed or packaged, still refuses it. */
static void summary_takes_a_repeated_keys_last_value(void **state)
{
    struct fixture *fixture = *state;
    const char *text = "language: ruby\n"
                       "dependencies:\n"
                       "- {name: a, version: '1', cf_stacks: [s]}\n"
                       "default_versions: []\n"
                       "dependencies:\n"
                       "- name: b\n"
                       "  version: '2'\n"
                       "  version: '3'\n"
                       "  cf_stacks: [s]\n";
    if (load_for_summary(fixture, text) < 0)
        fail_msg("%s", fixture->err.message);
    assert_int_equal(fixture->manifest.dependency_count, 1);
    assert_string_equal(fixture->manifest.dependencies[0].name, "b");
    assert_string_equal(fixture->manifest.dependencies[0].version, "3");
    cfbp_manifest_release(&fixture->manifest);
    assert_int_equal(load(fixture, text, NULL), -1);
    assert_non_null(strstr(fixture->err.message, "manifest.yml:5:1: the key 'dependencies' is "
                                                 "already defined on line 2"));
}

static void oversized_manifest_is_refused(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf big = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&big, "language: x\n");
    while (big.len <= CFBP_MANIFEST_MAX_BYTES)
        cfbp_strbuf_append_string(&big, "# padding padding padding padding padding padding\n");
    assert_load_fails(fixture, big.buf, "1", "is larger than");
    cfbp_strbuf_release(&big);
}

static void stack_support(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture, good_manifest, "1"), 0);
    assert_true(cfbp_manifest_supports_stack(&fixture->manifest, "cflinuxfs4"));
    assert_true(cfbp_manifest_supports_stack(&fixture->manifest, "cflinuxfs3"));
    assert_false(cfbp_manifest_supports_stack(&fixture->manifest, "cflinuxfs2"));
    assert_false(cfbp_manifest_supports_stack(&fixture->manifest, ""));
    assert_false(cfbp_manifest_supports_stack(&fixture->manifest, NULL));
}

static void manifest_without_dependencies_supports_any_stack(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture, "language: x\n", "1"), 0);
    assert_true(cfbp_manifest_supports_stack(&fixture->manifest, "anything"));
}

static void packaged_manifest_stack_wins(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture,
                          "language: x\nstack: cflinuxfs4\ndependencies:\n"
                          "- {name: a, version: '1', uri: u, sha256: " SHA_A "}\n",
                          "1"),
                     0);
    assert_true(cfbp_manifest_supports_stack(&fixture->manifest, "cflinuxfs4"));
    assert_false(cfbp_manifest_supports_stack(&fixture->manifest, "cflinuxfs3"));
    assert_non_null(cfbp_manifest_find(&fixture->manifest, "a", "1", "cflinuxfs4"));
    assert_null(cfbp_manifest_find(&fixture->manifest, "a", "1", "cflinuxfs3"));
}

static void lookups_are_stack_filtered(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture, good_manifest, "1"), 0);
    assert_non_null(cfbp_manifest_find(&fixture->manifest, "config-server", "1.3.0", "cflinuxfs3"));
    assert_null(cfbp_manifest_find(&fixture->manifest, "config-server", "1.3.0", "cflinuxfs4"));
    assert_null(cfbp_manifest_find(&fixture->manifest, "config-server", "1.2", "cflinuxfs4"));
    struct cfbp_string_list versions = CFBP_STRING_LIST_INIT;
    cfbp_manifest_versions(&fixture->manifest, "config-server", "cflinuxfs4", &versions);
    assert_int_equal(versions.count, 2);
    assert_string_equal(versions.items[0], "1.2.9");
    assert_string_equal(versions.items[1], "1.2.10");
    cfbp_string_list_clear(&versions);
}

static void default_version_takes_the_highest_match(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture, good_manifest, "1"), 0);
    const struct cfbp_dependency *dependency = NULL;
    assert_int_equal(cfbp_manifest_default_version(&fixture->manifest, "config-server",
                                                   "cflinuxfs4", &dependency, &fixture->err),
                     0);
    assert_string_equal(dependency->version, "1.2.10");
    /* On cflinuxfs3 1.3.0 exists but 1.2.x still picks 1.2.10. */
    assert_int_equal(cfbp_manifest_default_version(&fixture->manifest, "config-server",
                                                   "cflinuxfs3", &dependency, &fixture->err),
                     0);
    assert_string_equal(dependency->version, "1.2.10");
}

static void default_version_errors(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture,
                          "language: x\ndefault_versions:\n- {name: a, version: 1.x}\n"
                          "- {name: a, version: 2.x}\n- {name: b, version: 9.x}\n"
                          "dependencies:\n- {name: b, version: 1.0.0, uri: u, sha256: " SHA_A
                          ", cf_stacks: [s]}\n",
                          "1"),
                     0);
    const struct cfbp_dependency *dependency;
    assert_int_equal(
        cfbp_manifest_default_version(&fixture->manifest, "c", "s", &dependency, &fixture->err),
        -1);
    assert_string_equal(fixture->err.message, "no default version for c");
    assert_int_equal(
        cfbp_manifest_default_version(&fixture->manifest, "a", "s", &dependency, &fixture->err),
        -1);
    assert_string_equal(fixture->err.message, "found 2 default versions for a");
    assert_int_equal(
        cfbp_manifest_default_version(&fixture->manifest, "b", "s", &dependency, &fixture->err),
        -1);
    assert_string_equal(fixture->err.message, "no match found for 9.x in [1.0.0]");
}

static void write_override(const char *deps, const char *idx, const char *text)
{
    char *directory = test_path(deps, idx);
    char *path = test_path(directory, "override.yml");
    test_write_file(path, text, 0644);
    free(path);
    free(directory);
}

static void overrides_add_and_replace(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture, good_manifest, "1"), 0);
    char *deps = test_make_dir();
    write_override(deps, "0",
                   "other-language:\n  default_versions: [{name: config-server, version: 9.x}]\n");
    write_override(deps, "1",
                   "config-server-sidecar:\n"
                   "  default_versions: [{name: config-server, version: 1.1.x}]\n"
                   "  dependencies:\n"
                   "  - {name: config-server, version: 1.2.9, uri: 'https://mirror/a.tgz',\n"
                   "     sha256: " SHA_B ", cf_stacks: [cflinuxfs4]}\n"
                   "  - {name: config-server, version: 1.1.0, uri: 'https://mirror/b.tgz',\n"
                   "     sha256: " SHA_B ", cf_stacks: [cflinuxfs4]}\n");
    assert_int_equal(cfbp_manifest_apply_overrides(&fixture->manifest, deps, &fixture->err), 0);
    struct cfbp_manifest *m = &fixture->manifest;
    assert_int_equal(m->default_count, 1);
    assert_string_equal(m->defaults[0].version, "1.1.x");
    assert_int_equal(m->dependency_count, 4); /* 1.2.9 replaced in place, 1.1.0 added */
    const struct cfbp_dependency *replaced =
        cfbp_manifest_find(m, "config-server", "1.2.9", "cflinuxfs4");
    assert_string_equal(replaced->uri, "https://mirror/a.tgz");
    assert_string_equal(replaced->sha256, SHA_B);
    const struct cfbp_dependency *dependency;
    assert_int_equal(
        cfbp_manifest_default_version(m, "config-server", "cflinuxfs4", &dependency, &fixture->err),
        0);
    assert_string_equal(dependency->version, "1.1.0");
    test_remove_dir(deps);
}

/* Replacing 14000 entries through merge keys took seconds when each one scanned the list. */
static void a_large_override_applies_in_linear_time(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture, good_manifest, "1"), 0);
    char *deps = test_make_dir();
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&text, "config-server-sidecar:\n  dependencies:\n"
                                     "  - &d {name: config-server, version: 3.0.0, uri: "
                                     "'https://mirror/c.tgz', sha256: " SHA_B
                                     ", cf_stacks: [cflinuxfs4]}\n");
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 7000; i++)
            cfbp_strbuf_append_format(&text, "  - {<<: *d, version: 3.0.%d}\n", i);
    write_override(deps, "0", text.buf);
    double start = test_cpu_seconds();
    if (cfbp_manifest_apply_overrides(&fixture->manifest, deps, &fixture->err) < 0)
        fail_msg("%s", fixture->err.message);
    test_check_cpu_time("applying the override", start, 2.0);
    /* 3 from the manifest, then 3.0.0 to 3.0.6999 once each (the second round replaces). */
    assert_int_equal(fixture->manifest.dependency_count, 3 + 7000);
    cfbp_strbuf_release(&text);
    test_remove_dir(deps);
}

static void broken_override_names_its_file(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture, good_manifest, "1"), 0);
    char *deps = test_make_dir();
    write_override(deps, "2",
                   "config-server-sidecar:\n  dependencies: [{name: a, version: [1]}]\n");
    assert_int_equal(cfbp_manifest_apply_overrides(&fixture->manifest, deps, &fixture->err), -1);
    assert_non_null(
        strstr(fixture->err.message, "/2/override.yml:2:37: dependencies[0].version must be"));
    test_remove_dir(deps);
}

/* libbuildpack's own ApplyOverride test: entries without uri or sha256 add versions. */
static void override_entries_without_uri_or_sha256(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture, good_manifest, "1"), 0);
    char *deps = test_make_dir();
    write_override(deps, "1",
                   "---\n"
                   "config-server-sidecar:\n"
                   "  default_versions:\n"
                   "  - name: node\n"
                   "    version: 1.7.x\n"
                   "  - name: config-server\n"
                   "    version: 1.2.x\n"
                   "  dependencies:\n"
                   "  - name: node\n"
                   "    version: 1.7.6\n"
                   "    cf_stacks: ['cflinuxfs4']\n"
                   "  - name: config-server\n"
                   "    version: 1.2.9\n"
                   "    cf_stacks: ['cflinuxfs4']\n"
                   "ruby:\n"
                   "  dependencies: [{name: node, version: 2.2.2}]\n");
    write_override(deps, "2", "~\n");
    write_override(deps, "3", "config-server-sidecar: ~\n");
    if (cfbp_manifest_apply_overrides(&fixture->manifest, deps, &fixture->err) < 0)
        fail_msg("%s", fixture->err.message);
    struct cfbp_manifest *m = &fixture->manifest;
    assert_int_equal(m->dependency_count, 4); /* node 1.7.6 added */
    const struct cfbp_dependency *node;
    assert_int_equal(cfbp_manifest_default_version(m, "node", "cflinuxfs4", &node, &fixture->err),
                     0);
    assert_string_equal(node->version, "1.7.6");
    assert_string_equal(node->uri, "");
    assert_null(node->sha256);
    assert_non_null(strstr(node->defined_in, "/1/override.yml"));
    assert_int_equal(node->line, 9);
    /* Without a uri an entry already there stays as it was, as upstream keeps it. */
    const struct cfbp_dependency *kept =
        cfbp_manifest_find(m, "config-server", "1.2.9", "cflinuxfs4");
    assert_string_equal(kept->uri, "https://example.com/config-server-1.2.9.tgz");
    assert_string_equal(kept->sha256, SHA_A);
    assert_non_null(strstr(kept->defined_in, "/manifest.yml"));
    test_remove_dir(deps);
}

static void missing_deps_dir_means_no_overrides(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(load(fixture, good_manifest, "1"), 0);
    assert_int_equal(
        cfbp_manifest_apply_overrides(&fixture->manifest, "/nonexistent/deps", &fixture->err), 0);
    assert_null(fixture->err.message);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(loads_every_field),
        TEST(plain_numbers_keep_their_text),
        TEST(uppercase_sha256_is_normalised),
        TEST(missing_version_file_is_an_error),
        TEST(empty_version_file_is_an_error),
        TEST(missing_manifest_names_the_file),
        TEST(broken_yaml_names_line_and_column),
        TEST(wrong_types_name_line_and_column),
        TEST(missing_keys_are_empty),
        TEST(shapes_yaml_v2_reads_load),
        TEST(md5_only_entry_loads),
        TEST(malformed_md5_is_refused),
        TEST(wrong_shapes_are_refused),
        TEST(bad_sha256_is_refused),
        TEST(list_where_string_expected),
        TEST(malformed_deprecation_date_fails_at_load),
        TEST(deprecation_dates_as_yaml_v2_reads_them),
        TEST(dates_yaml_v2_would_not_read_are_refused),
        TEST(deprecation_without_date_or_with_any_version_line_loads),
        TEST(impossible_deprecation_date_fails_at_load),
        TEST(bad_default_constraint_fails_when_resolved),
        TEST(file_entry_cannot_leave_the_root),
        TEST(empty_manifest_lists_nothing),
        TEST(language_may_be_missing),
        TEST(summary_reads_what_go_summary_reads),
        TEST(summary_takes_a_repeated_keys_last_value),
        TEST(oversized_manifest_is_refused),
        TEST(stack_support),
        TEST(manifest_without_dependencies_supports_any_stack),
        TEST(packaged_manifest_stack_wins),
        TEST(lookups_are_stack_filtered),
        TEST(default_version_takes_the_highest_match),
        TEST(default_version_errors),
        TEST(overrides_add_and_replace),
        TEST(a_large_override_applies_in_linear_time),
        TEST(broken_override_names_its_file),
        TEST(override_entries_without_uri_or_sha256),
        TEST(missing_deps_dir_means_no_overrides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
