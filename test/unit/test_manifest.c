/*
 * test_manifest.c - loading manifest.yml, VERSION and override.yml, and the
 * stack-filtered lookups (contract §5.1, §5.7, §6.4, §6.5).
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/manifest.h"
#include "cfbp/strbuf.h"

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

static void missing_field_is_named(void **state)
{
    struct fixture *fixture = *state;
    assert_load_fails(
        fixture, "language: x\ndependencies:\n- name: a\n  uri: http://h/a\n  sha256: " SHA_A "\n",
        "1", "manifest.yml:3:3: dependencies[0] has no 'version'");
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
                      "manifest.yml:5:9: dependency_deprecation_dates[0].date must be a date "
                      "written YYYY-MM-DD, not '2025/01/31'");
}

static void impossible_deprecation_date_fails_at_load(void **state)
{
    struct fixture *fixture = *state;
    assert_load_fails(fixture,
                      "language: x\ndependency_deprecation_dates:\n- name: a\n  version_line: 1.x\n"
                      "  date: 2025-02-29\n",
                      "1", "not '2025-02-29'");
}

static void bad_default_constraint_fails_at_load(void **state)
{
    struct fixture *fixture = *state;
    assert_load_fails(fixture, "language: x\ndefault_versions:\n- {name: a, version: '>=1.2 <'}\n",
                      "1", "manifest.yml:3:22: default_versions[0].version: '>=1.2 <' is not a");
}

static void file_entry_cannot_leave_the_root(void **state)
{
    struct fixture *fixture = *state;
    assert_load_fails(fixture,
                      "language: x\ndependencies:\n- name: a\n  version: '1'\n  uri: u\n"
                      "  sha256: " SHA_A "\n  file: ../../etc/passwd\n",
                      "1", "must stay inside the buildpack");
}

static void empty_manifest_is_an_error(void **state)
{
    struct fixture *fixture = *state;
    assert_load_fails(fixture, "", "1", "is empty");
}

static void language_is_required(void **state)
{
    struct fixture *fixture = *state;
    assert_load_fails(fixture, "default_versions: []\n", "1", "the manifest has no 'language'");
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
    write_override(deps, "2", "config-server-sidecar:\n  dependencies: [{name: a}]\n");
    assert_int_equal(cfbp_manifest_apply_overrides(&fixture->manifest, deps, &fixture->err), -1);
    assert_non_null(strstr(fixture->err.message, "/2/override.yml:2:18: dependencies[0] has no"));
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
        TEST(missing_field_is_named),
        TEST(bad_sha256_is_refused),
        TEST(list_where_string_expected),
        TEST(malformed_deprecation_date_fails_at_load),
        TEST(impossible_deprecation_date_fails_at_load),
        TEST(bad_default_constraint_fails_at_load),
        TEST(file_entry_cannot_leave_the_root),
        TEST(empty_manifest_is_an_error),
        TEST(language_is_required),
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
        TEST(missing_deps_dir_means_no_overrides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
