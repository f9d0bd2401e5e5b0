/*
 * test_platform.c - what Cloud Foundry sets for an app: its settings from
 * manifest.yml, the staging environment (contract §4.4) and an instance's
 * environment (§4.6, §17), and the profile script names the launcher cannot
 * source.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/platform.h"
#include "cfbp/process.h"
#include "cfbp/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture {
    char *dir;
    struct cfbp_environment environment;
    struct cfbp_environment app_variables;
    struct cfbp_error err;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    cfbp_environment_release(&fixture->environment);
    cfbp_environment_release(&fixture->app_variables);
    cfbp_error_clear(&fixture->err);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

static const char *get(struct fixture *fixture, const char *name)
{
    return cfbp_environment_get(&fixture->environment, name);
}

/* --- the staging environment (§4.4) --- */

static void staging_gets_the_stack_memory_and_vcap_application(void **state)
{
    struct fixture *fixture = *state;
    setenv("https_proxy", "http://proxy.example:3128", 1);
    setenv("CFBP_TEST_PRIVATE", "not for buildpacks", 1);
    struct cfbp_platform_app app = {.name = "my<app>", .memory = 256, .environment = NULL};
    cfbp_platform_staging_environment(&fixture->environment, &app, "cflinuxfs4", "/home/vcap");
    unsetenv("https_proxy");
    unsetenv("CFBP_TEST_PRIVATE");
    assert_string_equal(get(fixture, "PATH"), CFBP_PLATFORM_STACK_PATH);
    assert_string_equal(get(fixture, "LANG"), "en_US.UTF-8");
    assert_string_equal(get(fixture, "HOME"), "/home/vcap");
    assert_string_equal(get(fixture, "CF_STACK"), "cflinuxfs4");
    assert_string_equal(get(fixture, "MEMORY_LIMIT"), "256m");
    assert_string_equal(get(fixture, "VCAP_SERVICES"), "{}");
    assert_string_equal(get(fixture, "https_proxy"), "http://proxy.example:3128");
    assert_null(get(fixture, "CFBP_TEST_PRIVATE"));
    /* Staging has no instance: no host, instance_id, index or port. */
    assert_string_equal(get(fixture, "VCAP_APPLICATION"),
                        "{\"application_id\":\"00000000-0000-0000-0000-000000000000\","
                        "\"application_name\":\"my\\u003capp\\u003e\",\"application_uris\":[],"
                        "\"limits\":{\"disk\":1024,\"fds\":16384,\"mem\":256},\"name\":"
                        "\"my\\u003capp\\u003e\",\"organization_name\":\"local\",\"space_name\":"
                        "\"local\",\"uris\":[]}");
    assert_null(get(fixture, "PORT"));
    assert_null(get(fixture, "INSTANCE_GUID"));
}

static void the_app_sets_its_own_variables_but_not_the_platforms(void **state)
{
    struct fixture *fixture = *state;
    cfbp_environment_set(&fixture->app_variables, "GREETING", "hi");
    cfbp_environment_set(&fixture->app_variables, "VCAP_SERVICES", "{\"db\":[]}");
    cfbp_environment_set(&fixture->app_variables, "HOME", "/app/home");
    cfbp_environment_set(&fixture->app_variables, "CF_STACK", "mine");
    cfbp_environment_set(&fixture->app_variables, "MEMORY_LIMIT", "1m");
    struct cfbp_platform_app app = {.environment = &fixture->app_variables};
    cfbp_platform_staging_environment(&fixture->environment, &app, NULL, "/home/vcap");
    assert_string_equal(get(fixture, "GREETING"), "hi");
    assert_string_equal(get(fixture, "VCAP_SERVICES"), "{\"db\":[]}");
    assert_string_equal(get(fixture, "HOME"), "/app/home");
    assert_string_equal(get(fixture, "CF_STACK"), "");
    /* The defaults: "app", 1024 MB. */
    assert_string_equal(get(fixture, "MEMORY_LIMIT"), "1024m");
    assert_non_null(strstr(get(fixture, "VCAP_APPLICATION"), "\"application_name\":\"app\""));
}

/* --- an instance's environment (§4.6, §17) --- */

static void an_instance_gets_diegos_and_the_launchers_variables(void **state)
{
    struct fixture *fixture = *state;
    cfbp_environment_set(&fixture->app_variables, "PORT", "1");
    cfbp_environment_set(&fixture->app_variables, "HOME", "/nope");
    cfbp_environment_set(&fixture->app_variables, "INSTANCE_GUID", "mine");
    cfbp_environment_set(&fixture->app_variables, "GREETING", "hi");
    struct cfbp_platform_app app = {
        .name = "web-app", .memory = 64, .environment = &fixture->app_variables};
    struct cfbp_platform_instance instance = {.home = "/home/vcap",
                                              .port = 8080,
                                              .index = 2,
                                              .guid = "41653aa4-3a3a-486a-4431-ef258b39f042",
                                              .ip = "127.0.0.1"};
    cfbp_platform_instance_environment(&fixture->environment, &app, &instance);
    static const char *const expected[][2] = {
        {"PATH", CFBP_PLATFORM_STACK_PATH},
        {"LANG", "en_US.UTF-8"},
        {"GREETING", "hi"},
        {"PORT", "8080"},
        {"INSTANCE_GUID", "41653aa4-3a3a-486a-4431-ef258b39f042"},
        {"INSTANCE_INDEX", "2"},
        {"CF_INSTANCE_GUID", "41653aa4-3a3a-486a-4431-ef258b39f042"},
        {"CF_INSTANCE_INDEX", "2"},
        {"CF_INSTANCE_IP", "127.0.0.1"},
        {"CF_INSTANCE_INTERNAL_IP", "127.0.0.1"},
        {"CF_INSTANCE_PORT", "8080"},
        {"CF_INSTANCE_PORTS", "[{\"external\":8080,\"internal\":8080}]"},
        {"CF_INSTANCE_ADDR", "127.0.0.1:8080"},
        {"MEMORY_LIMIT", "64m"},
        {"HOME", "/home/vcap/app"},
        {"TMPDIR", "/home/vcap/tmp"},
        {"DEPS_DIR", "/home/vcap/deps"},
    };
    for (size_t i = 0; i < sizeof(expected) / sizeof(*expected); i++) {
        const char *value = get(fixture, expected[i][0]);
        if (!value || strcmp(value, expected[i][1]) != 0)
            fail_msg("%s is '%s', expected '%s'", expected[i][0], value ? value : "(unset)",
                     expected[i][1]);
    }
    /* The launcher's VCAP_APPLICATION: instance_id from INSTANCE_GUID, keys sorted. */
    assert_string_equal(get(fixture, "VCAP_APPLICATION"),
                        "{\"application_id\":\"00000000-0000-0000-0000-000000000000\","
                        "\"application_name\":\"web-app\",\"application_uris\":[],\"host\":"
                        "\"0.0.0.0\",\"instance_id\":\"41653aa4-3a3a-486a-4431-ef258b39f042\","
                        "\"instance_index\":2,\"limits\":{\"disk\":1024,\"fds\":16384,\"mem\":64},"
                        "\"name\":\"web-app\",\"organization_name\":\"local\",\"port\":8080,"
                        "\"space_name\":\"local\",\"uris\":[]}");
    /* Staging's CF_STACK is not an instance variable. */
    assert_null(get(fixture, "CF_STACK"));
}

/* DATABASE_URL from VCAP_SERVICES, as buildpackapplifecycle's databaseuri gives it. */
static void database_url_comes_from_a_bound_database(void **state)
{
    struct fixture *fixture = *state;
    static const char *const cases[][2] = {
        {"{\"cleardb\":[{\"credentials\":{\"uri\":\"mysql://u:p@db/x?reconnect=true\"}}]}",
         "mysql2://u:p@db/x?reconnect=true"},
        {"{\"elephant\":[{\"name\":\"e\",\"Credentials\":{\"URI\":\"postgresql://h/d\"}}]}",
         "postgres://h/d"},
        {"{\"a\":[{\"credentials\":{\"uri\":\"redis://r\"}}],\"b\":[{\"credentials\":{\"uri\":"
         "\"POSTGRES://h/d\"}}]}",
         "postgres://h/d"},
        {"{\"m\":[{\"credentials\":{\"uri\":\"mysql2://h\"}}]}", "mysql2://h"},
        {"{\"a\":[{\"credentials\":{\"uri\":\"redis://r\"}}]}", NULL},
        {"{\"a\":{\"credentials\":{\"uri\":\"mysql://h\"}}}", NULL}, /* not a list: Go fails */
        {"{\"a\":[{\"credentials\":{\"uri\":7}}],\"b\":[{\"credentials\":{\"uri\":\"mysql://"
         "h\"}}]}",
         NULL},
        {"not json", NULL},
        {"{}", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct cfbp_environment variables = CFBP_ENVIRONMENT_INIT,
                                environment = CFBP_ENVIRONMENT_INIT;
        cfbp_environment_set(&variables, "VCAP_SERVICES", cases[i][0]);
        cfbp_environment_set(&variables, "DATABASE_URL", "the app's own");
        struct cfbp_platform_app app = {.environment = &variables};
        cfbp_platform_staging_environment(&environment, &app, "cflinuxfs4", "/home/vcap");
        const char *expected = cases[i][1] ? cases[i][1] : "the app's own";
        const char *got = cfbp_environment_get(&environment, "DATABASE_URL");
        if (strcmp(got, expected) != 0)
            fail_msg("case %zu: DATABASE_URL '%s', expected '%s'", i, got, expected);
        cfbp_environment_release(&environment);
        struct cfbp_platform_instance instance = {
            .home = "/h", .port = 1, .guid = "g", .ip = "127.0.0.1"};
        cfbp_platform_instance_environment(&environment, &app, &instance);
        assert_string_equal(cfbp_environment_get(&environment, "DATABASE_URL"), expected);
        cfbp_environment_release(&environment);
        cfbp_environment_release(&variables);
    }
    (void)fixture;
}

static void instance_guids_are_fresh_version_4_uuids(void **state)
{
    (void)state;
    char first[37], second[37];
    cfbp_platform_new_instance_guid(first);
    cfbp_platform_new_instance_guid(second);
    assert_string_not_equal(first, second);
    assert_int_equal(strlen(first), 36);
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        assert_true(dash ? first[i] == '-' : strchr("0123456789abcdef", first[i]) != NULL);
    }
    assert_int_equal(first[14], '4');
    assert_non_null(strchr("89ab", first[19]));
}

/* --- the app's settings --- */

static void settings_come_from_the_first_app_of_the_manifest(void **state)
{
    struct fixture *fixture = *state;
    char *app_dir = test_path(fixture->dir, "my-app");
    char *manifest = test_path(app_dir, "manifest.yml");
    test_write_file(manifest,
                    "applications:\n- name: from-manifest\n  memory: 1G\n  stack: cflinuxfs3\n"
                    "  command: ./run\n  buildpacks: [a, b]\n  env: {A: 1}\n  sidecars:\n"
                    "  - name: side\n    process_types: [web]\n    command: ./side\n"
                    "- name: second\n",
                    0644);
    struct cfbp_app_settings settings;
    assert_int_equal(cfbp_app_settings_load(&settings, app_dir, &fixture->err), 0);
    assert_string_equal(settings.name, "from-manifest");
    assert_int_equal(settings.memory, 1024);
    assert_string_equal(settings.stack, "cflinuxfs3");
    assert_string_equal(settings.command, "./run");
    assert_int_equal(settings.buildpacks.count, 2);
    assert_string_equal(settings.buildpacks.items[1], "b");
    assert_true(cfbp_app_settings_add_env(&settings, "B=2"));
    assert_false(cfbp_app_settings_add_env(&settings, "no-equals"));
    assert_string_equal(cfbp_environment_get(&settings.environment, "A"), "1");
    assert_string_equal(cfbp_environment_get(&settings.environment, "B"), "2");
    assert_non_null(cfbp_app_manifest_find_sidecar(&settings.manifest, "side"));
    cfbp_app_settings_release(&settings);

    /* Without a manifest: the directory's name, 1024 MB, nothing else. */
    unlink(manifest);
    assert_int_equal(cfbp_app_settings_load(&settings, app_dir, &fixture->err), 0);
    assert_string_equal(settings.name, "my-app");
    assert_int_equal(settings.memory, CFBP_PLATFORM_DEFAULT_MEMORY_MB);
    assert_null(settings.stack);
    assert_null(settings.command);
    assert_int_equal(settings.manifest.count, 0);
    cfbp_app_settings_release(&settings);

    /* A broken manifest is an error naming it, and leaves nothing to release. */
    test_write_file(manifest, "applications: [\n", 0644);
    assert_int_equal(cfbp_app_settings_load(&settings, app_dir, &fixture->err), -1);
    assert_non_null(strstr(fixture->err.message, "manifest.yml"));
    cfbp_app_settings_release(&settings);
    free(manifest);
    free(app_dir);
}

/* --- profile script names (§17) --- */

static void names_the_launcher_splits_or_expands(void **state)
{
    (void)state;
    assert_false(cfbp_platform_profile_name_splits("0_config-server.sh"));
    assert_false(cfbp_platform_profile_name_splits("000_multi-supply.sh"));
    static const char *const broken[] = {"sp ace.sh", "tab\t.sh", "new\nline.sh",
                                         "star*.sh",  "what?.sh", "[x].sh"};
    for (size_t i = 0; i < sizeof(broken) / sizeof(*broken); i++)
        assert_true(cfbp_platform_profile_name_splits(broken[i]));
}

static void profile_warnings_name_each_broken_script(void **state)
{
    struct fixture *fixture = *state;
    char *good = test_path(fixture->dir, "profile.d/0_ok.sh");
    char *spaced = test_path(fixture->dir, "profile.d/sp ace.sh");
    char *globbed = test_path(fixture->dir, "app/.profile.d/a*b.sh");
    test_write_file(good, "", 0644);
    test_write_file(spaced, "", 0644);
    test_write_file(globbed, "", 0644);
    struct cfbp_strbuf warnings = CFBP_STRBUF_INIT;
    cfbp_platform_profile_warnings(fixture->dir, &warnings);
    assert_int_equal(test_count_lines(warnings.buf), 2);
    assert_non_null(strstr(warnings.buf, "WARNING: Cloud Foundry's launcher sources profile "
                                         "scripts through an unquoted variable, so bash splits "
                                         "or expands the name '../profile.d/sp ace.sh' and does "
                                         "not source that file (it tries '../profile.d/sp'); "
                                         "cfbp run does the same. Rename it without spaces or "
                                         "'*', '?', '['.\n"));
    assert_non_null(strstr(warnings.buf, "the name '.profile.d/a*b.sh' and does not source that "
                                         "file; cfbp run"));
    assert_null(strstr(warnings.buf, "0_ok.sh"));
    /* Nothing there, nothing said. */
    cfbp_strbuf_reset(&warnings);
    char *empty = test_path(fixture->dir, "nothing");
    cfbp_platform_profile_warnings(empty, &warnings);
    assert_string_equal(warnings.buf, "");
    cfbp_strbuf_release(&warnings);
    free(empty);
    free(good);
    free(spaced);
    free(globbed);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(staging_gets_the_stack_memory_and_vcap_application),
        TEST(the_app_sets_its_own_variables_but_not_the_platforms),
        TEST(an_instance_gets_diegos_and_the_launchers_variables),
        TEST(database_url_comes_from_a_bound_database),
        TEST(instance_guids_are_fresh_version_4_uuids),
        TEST(settings_come_from_the_first_app_of_the_manifest),
        TEST(names_the_launcher_splits_or_expands),
        TEST(profile_warnings_name_each_broken_script),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
