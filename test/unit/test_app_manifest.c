/*
 * test_app_manifest.c - the app's own manifest.yml: both layouts, sidecars,
 * env values as raw text, sizes in megabytes, errors with line and column.
 */
#include "support.h"

#include "cfbp/app_manifest.h"
#include "cfbp/error.h"
#include "cfbp/strbuf.h"

#include <stdlib.h>
#include <string.h>

struct fixture {
    char *dir;
    char *path;
    struct cfbp_app_manifest manifest;
    struct cfbp_error err;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->path = test_path(fixture->dir, "manifest.yml");
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    cfbp_app_manifest_release(&fixture->manifest);
    cfbp_error_clear(&fixture->err);
    free(fixture->path);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

static void load_ok(struct fixture *fixture, const char *text)
{
    test_write_file(fixture->path, text, 0644);
    cfbp_app_manifest_release(&fixture->manifest);
    if (cfbp_app_manifest_load(&fixture->manifest, fixture->path, &fixture->err) != 0)
        fail_msg("loading failed: %s", fixture->err.message);
    assert_null(fixture->err.message);
}

/* Loads text and expects the error "<path>:<location>: <message>". */
static void check_load_error(struct fixture *fixture, const char *text, const char *location,
                             const char *message)
{
    test_write_file(fixture->path, text, 0644);
    assert_int_equal(cfbp_app_manifest_load(&fixture->manifest, fixture->path, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected, "%s:%s: %s", fixture->path, location, message);
    if (strcmp(fixture->err.message, expected.buf) != 0)
        fail_msg("error \"%s\", expected \"%s\"", fixture->err.message, expected.buf);
    assert_int_equal(fixture->manifest.count, 0);
    assert_null(fixture->manifest.apps);
    cfbp_strbuf_release(&expected);
    cfbp_error_clear(&fixture->err);
}

static const char *env_value(const struct cfbp_app *app, const char *name)
{
    for (size_t i = 0; i < app->env_count; i++)
        if (strcmp(app->env[i].name, name) == 0)
            return app->env[i].value;
    return NULL;
}

static void reads_an_applications_list(void **state)
{
    struct fixture *fixture = *state;
    load_ok(fixture, "---\n"
                     "applications:\n"
                     "- name: my-app\n"
                     "  memory: 1G\n"
                     "  stack: cflinuxfs4\n"
                     "  command: ./start --port $PORT\n"
                     "  buildpacks:\n"
                     "  - config-server-sidecar\n"
                     "  - java_buildpack\n"
                     "  env:\n"
                     "    SERVER_PORT: 8082\n"
                     "    FLAG: true\n"
                     "    EMPTY:\n"
                     "    QUOTED: \"0012\"\n"
                     "    VERSION: 1.10\n"
                     "  sidecars:\n"
                     "  - name: config-server\n"
                     "    process_types: [web, worker]\n"
                     "    command: ./config-server\n"
                     "    memory: 64M\n"
                     "  - name: other\n"
                     "    process_types:\n"
                     "    - web\n"
                     "    command: x\n"
                     "- name: second\n"
                     "  buildpack: legacy_buildpack\n"
                     "  sidecars:\n"
                     "  - name: second-sidecar\n"
                     "    process_types: [worker]\n"
                     "    command: run\n"
                     "    memory: 512MB\n");
    assert_int_equal(fixture->manifest.count, 2);
    const struct cfbp_app *app = &fixture->manifest.apps[0];
    assert_string_equal(app->name, "my-app");
    assert_int_equal(app->memory, 1024);
    assert_string_equal(app->stack, "cflinuxfs4");
    assert_string_equal(app->command, "./start --port $PORT");
    assert_int_equal(app->buildpacks.count, 2);
    assert_string_equal(app->buildpacks.items[0], "config-server-sidecar");
    assert_string_equal(app->buildpacks.items[1], "java_buildpack");
    assert_int_equal(app->env_count, 5);
    assert_string_equal(app->env[0].name, "SERVER_PORT");
    assert_string_equal(env_value(app, "SERVER_PORT"), "8082");
    assert_string_equal(env_value(app, "FLAG"), "true");
    assert_string_equal(env_value(app, "EMPTY"), "");
    assert_string_equal(env_value(app, "QUOTED"), "0012");
    assert_string_equal(env_value(app, "VERSION"), "1.10");
    assert_int_equal(app->sidecar_count, 2);
    assert_string_equal(app->sidecars[0].name, "config-server");
    assert_string_equal(app->sidecars[0].command, "./config-server");
    assert_int_equal(app->sidecars[0].memory, 64);
    assert_int_equal(app->sidecars[0].process_types.count, 2);
    assert_string_equal(app->sidecars[0].process_types.items[1], "worker");
    assert_int_equal(app->sidecars[1].memory, 0);
    assert_string_equal(app->sidecars[1].process_types.items[0], "web");

    const struct cfbp_app *second = &fixture->manifest.apps[1];
    assert_string_equal(second->name, "second");
    assert_null(second->command);
    assert_null(second->stack);
    assert_int_equal(second->memory, 0);
    assert_int_equal(second->env_count, 0);
    assert_int_equal(second->buildpacks.count, 1);
    assert_string_equal(second->buildpacks.items[0], "legacy_buildpack");
    assert_int_equal(second->sidecars[0].memory, 512);
}

static void finds_sidecars_in_any_app(void **state)
{
    struct fixture *fixture = *state;
    load_ok(fixture, "applications:\n"
                     "- name: a\n"
                     "  sidecars: [{name: one, command: x}]\n"
                     "- name: b\n"
                     "  sidecars: [{name: two, command: y}, {name: three, command: z}]\n");
    const struct cfbp_app_sidecar *found =
        cfbp_app_manifest_find_sidecar(&fixture->manifest, "three");
    assert_ptr_equal(found, &fixture->manifest.apps[1].sidecars[1]);
    assert_string_equal(found->command, "z");
    assert_ptr_equal(cfbp_app_manifest_find_sidecar(&fixture->manifest, "one"),
                     &fixture->manifest.apps[0].sidecars[0]);
    assert_null(cfbp_app_manifest_find_sidecar(&fixture->manifest, "missing"));
    assert_null(cfbp_app_manifest_find_sidecar(&fixture->manifest, "On"));
    assert_null(cfbp_app_manifest_find_sidecar(&fixture->manifest, ""));
}

static void reads_the_legacy_top_level_layout(void **state)
{
    struct fixture *fixture = *state;
    load_ok(fixture, "name: legacy\n"
                     "buildpack: https://github.com/cloudfoundry/java-buildpack\n"
                     "memory: 256M\n"
                     "env: {A: b}\n"
                     "sidecars:\n"
                     "- name: s\n"
                     "  process_types: [web]\n"
                     "  command: go\n");
    assert_int_equal(fixture->manifest.count, 1);
    const struct cfbp_app *app = &fixture->manifest.apps[0];
    assert_string_equal(app->name, "legacy");
    assert_int_equal(app->memory, 256);
    assert_int_equal(app->buildpacks.count, 1);
    assert_string_equal(app->buildpacks.items[0], "https://github.com/cloudfoundry/java-buildpack");
    assert_string_equal(env_value(app, "A"), "b");
    assert_non_null(cfbp_app_manifest_find_sidecar(&fixture->manifest, "s"));
}

static void a_buildpacks_list_wins_over_buildpack(void **state)
{
    struct fixture *fixture = *state;
    load_ok(fixture, "applications:\n"
                     "- name: a\n"
                     "  buildpack: old\n"
                     "  buildpacks: [new1, new2]\n");
    const struct cfbp_app *app = &fixture->manifest.apps[0];
    assert_int_equal(app->buildpacks.count, 2);
    assert_string_equal(app->buildpacks.items[0], "new1");
}

static void manifests_without_apps(void **state)
{
    struct fixture *fixture = *state;
    load_ok(fixture, "");
    assert_int_equal(fixture->manifest.count, 0);
    load_ok(fixture, "# nothing\n");
    assert_int_equal(fixture->manifest.count, 0);
    load_ok(fixture, "applications:\n");
    assert_int_equal(fixture->manifest.count, 0);
    load_ok(fixture, "applications: []\n");
    assert_int_equal(fixture->manifest.count, 0);
    load_ok(fixture, "version: 1\nunrelated: true\n");
    assert_int_equal(fixture->manifest.count, 0);
    assert_null(cfbp_app_manifest_find_sidecar(&fixture->manifest, "x"));
    load_ok(fixture, "applications:\n- {}\n");
    assert_int_equal(fixture->manifest.count, 1);
    assert_null(fixture->manifest.apps[0].name);
}

static void load_errors_name_line_and_column(void **state)
{
    struct fixture *fixture = *state;
    check_load_error(fixture, "- name: a\n", "1:1",
                     "the app manifest must be a mapping, not a list");
    check_load_error(fixture, "applications: {name: a}\n", "1:15",
                     "applications must be a list, not a mapping");
    check_load_error(fixture, "applications:\n- just-a-name\n", "2:3",
                     "applications[0] must be a mapping, not a string");
    check_load_error(fixture, "applications:\n- name: a\n  memory: lots\n", "3:11",
                     "applications[0].memory 'lots' is not a size such as 64M or 1G");
    check_load_error(fixture, "applications:\n- name: a\n  memory: [1G]\n", "3:11",
                     "applications[0].memory must be a single value, not a list");
    check_load_error(fixture,
                     "applications:\n- name: a\n- name: b\n  sidecars:\n  - name: s\n"
                     "    memory: 1T\n",
                     "6:13",
                     "applications[1].sidecars[0].memory '1T' is not a size such as 64M or 1G");
    check_load_error(fixture, "applications:\n- name: a\n  sidecars:\n  - command: x\n", "4:5",
                     "applications[0].sidecars[0] has no 'name'");
    check_load_error(fixture, "applications:\n- name: a\n  sidecars: {name: s}\n", "3:13",
                     "applications[0].sidecars must be a list, not a mapping");
    check_load_error(fixture, "applications:\n- name: a\n  sidecars: [s]\n", "3:14",
                     "applications[0].sidecars[0] must be a mapping, not a string");
    check_load_error(
        fixture, "applications:\n- name: a\n  sidecars:\n  - name: s\n    process_types: web\n",
        "5:20", "applications[0].sidecars[0].process_types must be a list, not a string");
    check_load_error(fixture,
                     "applications:\n- name: a\n  sidecars:\n  - name: s\n"
                     "    process_types: [{web: 1}]\n",
                     "5:21",
                     "applications[0].sidecars[0].process_types must hold names, not a mapping");
    check_load_error(fixture, "applications:\n- name: a\n  buildpacks: java\n", "3:15",
                     "applications[0].buildpacks must be a list, not a string");
    check_load_error(fixture, "applications:\n- name: a\n  env: [A]\n", "3:8",
                     "applications[0].env must be a mapping, not a list");
    check_load_error(fixture, "applications:\n- name: a\n  env:\n    A: [1, 2]\n", "4:8",
                     "applications[0].env.A must be a single value, not a list");
    check_load_error(fixture, "applications:\n- name: [a]\n", "2:9",
                     "applications[0].name must be a single value, not a list");
    check_load_error(fixture, "applications:\n- name: a\n  name: b\n", "3:3",
                     "the key 'name' is already defined on line 2");
}

static void legacy_layout_errors_name_line_and_column(void **state)
{
    struct fixture *fixture = *state;
    test_write_file(fixture->path, "name: legacy\nmemory: lots\n", 0644);
    assert_int_equal(cfbp_app_manifest_load(&fixture->manifest, fixture->path, &fixture->err), -1);
    struct cfbp_strbuf prefix = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&prefix, "%s:2:9: ", fixture->path);
    assert_true(cfbp_string_starts_with(fixture->err.message, prefix.buf));
    assert_true(
        cfbp_string_ends_with(fixture->err.message, "'lots' is not a size such as 64M or 1G"));
    cfbp_strbuf_release(&prefix);
}

static void a_missing_file_is_not_found(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(cfbp_app_manifest_load(&fixture->manifest, fixture->path, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NOT_FOUND);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected, "cannot read %s: No such file or directory",
                              fixture->path);
    assert_string_equal(fixture->err.message, expected.buf);
    cfbp_strbuf_release(&expected);
    assert_int_equal(fixture->manifest.count, 0);
}

static void check_megabytes(const char *text, bool ok, unsigned long expected)
{
    unsigned long megabytes = 4242;
    bool result = cfbp_parse_megabytes(text, &megabytes);
    if (result != ok)
        fail_msg("parse_megabytes(\"%s\") returned %s", text, result ? "true" : "false");
    assert_int_equal(megabytes, ok ? expected : 4242);
}

static void parses_megabytes(void **state)
{
    (void)state;
    check_megabytes("64M", true, 64);
    check_megabytes("64m", true, 64);
    check_megabytes("64MB", true, 64);
    check_megabytes("64mb", true, 64);
    check_megabytes("64Mb", true, 64);
    check_megabytes("1G", true, 1024);
    check_megabytes("1g", true, 1024);
    check_megabytes("2GB", true, 2048);
    check_megabytes("1024", true, 1024);
    check_megabytes("0064M", true, 64);
}

static void refuses_sizes_that_are_not_sizes(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "0",
                         "0M",
                         "-1M",
                         "M",
                         "1.5G",
                         "1T",
                         "1K",
                         "1KB",
                         " 64M",
                         "64M ",
                         "64 M",
                         "1GBB",
                         "+5M",
                         "lots",
                         "64MM",
                         "0x10M",
                         "1e3M",
                         "18446744073709551615G",
                         "99999999999999999999999",
                         "18014398509481984G"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        check_megabytes(bad[i], false, 0);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(reads_an_applications_list),
        TEST(finds_sidecars_in_any_app),
        TEST(reads_the_legacy_top_level_layout),
        TEST(a_buildpacks_list_wins_over_buildpack),
        TEST(manifests_without_apps),
        TEST(load_errors_name_line_and_column),
        TEST(legacy_layout_errors_name_line_and_column),
        TEST(a_missing_file_is_not_found),
        cmocka_unit_test(parses_megabytes),
        cmocka_unit_test(refuses_sizes_that_are_not_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
