/*
 * test_launch.c - launch.yml, where processes and sidecars are declared
 * (contract §5.6).
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/launch.h"
#include "cfbp/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct fixture {
    char *dir;
    char *path;
    struct cfbp_launch launch;
    struct cfbp_error err;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->path = test_path(fixture->dir, "launch.yml");
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    cfbp_launch_release(&fixture->launch);
    cfbp_error_clear(&fixture->err);
    free(fixture->path);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

static void check_written(struct fixture *fixture, const char *expected)
{
    assert_int_equal(cfbp_launch_write(&fixture->launch, fixture->path, &fixture->err), 0);
    assert_null(fixture->err.message);
    char *text = test_read_file(fixture->path);
    if (strcmp(text, expected) != 0)
        fail_msg("wrote:\n%s--- expected:\n%s---", text, expected);
    free(text);
}

/* Writes text as launch.yml, reads it and expects the error "<path>:<location>: <message>". */
static void check_read_error(struct fixture *fixture, const char *text, const char *location,
                             const char *message)
{
    test_write_file(fixture->path, text, 0644);
    assert_int_equal(cfbp_launch_read(&fixture->launch, fixture->path, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected, "%s:%s: %s", fixture->path, location, message);
    if (strcmp(fixture->err.message, expected.buf) != 0)
        fail_msg("error \"%s\", expected \"%s\"", fixture->err.message, expected.buf);
    assert_int_equal(fixture->launch.count, 0);
    assert_null(fixture->launch.processes);
    cfbp_strbuf_release(&expected);
    cfbp_error_clear(&fixture->err);
}

static void writes_a_sidecar_entry(void **state)
{
    struct fixture *fixture = *state;
    cfbp_launch_add(&fixture->launch, "web", "do something forever");
    struct cfbp_launch_process *sidecar =
        cfbp_launch_add(&fixture->launch, "config-server", "./config-server --port 8082");
    sidecar->memory = 64;
    cfbp_string_list_append(&sidecar->sidecar_for, "web");
    cfbp_string_list_append(&sidecar->sidecar_for, "worker");
    check_written(fixture, "processes:\n"
                           "- type: web\n"
                           "  command: do something forever\n"
                           "- type: config-server\n"
                           "  command: ./config-server --port 8082\n"
                           "  limits:\n"
                           "    memory: 64\n"
                           "  platforms:\n"
                           "    cloudfoundry:\n"
                           "      sidecar_for:\n"
                           "      - web\n"
                           "      - worker\n");
    struct stat st;
    assert_int_equal(stat(fixture->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
}

static void writes_a_plain_process_without_limits_or_platforms(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_launch_process *process = cfbp_launch_add(&fixture->launch, "worker", "bin/work");
    assert_string_equal(process->type, "worker");
    assert_string_equal(process->command, "bin/work");
    assert_int_equal(process->memory, 0);
    assert_int_equal(process->sidecar_for.count, 0);
    check_written(fixture, "processes:\n"
                           "- type: worker\n"
                           "  command: bin/work\n");
}

static void writes_limits_and_sidecars_independently(void **state)
{
    struct fixture *fixture = *state;
    cfbp_launch_add(&fixture->launch, "big", "x")->memory = 2048;
    struct cfbp_launch_process *unlimited = cfbp_launch_add(&fixture->launch, "side", "run-side");
    cfbp_string_list_append(&unlimited->sidecar_for, "web");
    check_written(fixture, "processes:\n"
                           "- type: big\n"
                           "  command: x\n"
                           "  limits:\n"
                           "    memory: 2048\n"
                           "- type: side\n"
                           "  command: run-side\n"
                           "  platforms:\n"
                           "    cloudfoundry:\n"
                           "      sidecar_for:\n"
                           "      - web\n");
}

static void quotes_values_the_builder_would_misread(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_launch_process *process = cfbp_launch_add(&fixture->launch, "on", "echo a: b");
    cfbp_string_list_append(&process->sidecar_for, "123");
    cfbp_launch_add(&fixture->launch, "empty", "");
    cfbp_launch_add(&fixture->launch, "multi", "line1\nline2");
    check_written(fixture, "processes:\n"
                           "- type: \"on\"\n"
                           "  command: 'echo a: b'\n"
                           "  platforms:\n"
                           "    cloudfoundry:\n"
                           "      sidecar_for:\n"
                           "      - \"123\"\n"
                           "- type: empty\n"
                           "  command: \"\"\n"
                           "- type: multi\n"
                           "  command: |-\n"
                           "    line1\n"
                           "    line2\n");
    cfbp_launch_release(&fixture->launch);
    assert_int_equal(cfbp_launch_read(&fixture->launch, fixture->path, &fixture->err), 0);
    assert_int_equal(fixture->launch.count, 3);
    assert_string_equal(fixture->launch.processes[0].type, "on");
    assert_string_equal(fixture->launch.processes[0].command, "echo a: b");
    assert_string_equal(fixture->launch.processes[0].sidecar_for.items[0], "123");
    assert_string_equal(fixture->launch.processes[1].command, "");
    assert_string_equal(fixture->launch.processes[2].command, "line1\nline2");
}

static void writes_an_empty_list(void **state)
{
    struct fixture *fixture = *state;
    check_written(fixture, "processes: []\n");
}

static void reads_back_what_it_wrote(void **state)
{
    struct fixture *fixture = *state;
    cfbp_launch_add(&fixture->launch, "web", "start web");
    struct cfbp_launch_process *sidecar = cfbp_launch_add(&fixture->launch, "cs", "run cs");
    sidecar->memory = 10;
    cfbp_string_list_append(&sidecar->sidecar_for, "web");
    cfbp_string_list_append(&sidecar->sidecar_for, "worker");
    assert_int_equal(cfbp_launch_write(&fixture->launch, fixture->path, &fixture->err), 0);
    cfbp_launch_release(&fixture->launch);
    assert_int_equal(fixture->launch.count, 0);

    assert_int_equal(cfbp_launch_read(&fixture->launch, fixture->path, &fixture->err), 0);
    assert_int_equal(fixture->launch.count, 2);
    struct cfbp_launch_process *web = &fixture->launch.processes[0];
    assert_string_equal(web->type, "web");
    assert_string_equal(web->command, "start web");
    assert_int_equal(web->memory, 0);
    assert_int_equal(web->sidecar_for.count, 0);
    struct cfbp_launch_process *cs = &fixture->launch.processes[1];
    assert_string_equal(cs->type, "cs");
    assert_int_equal(cs->memory, 10);
    assert_int_equal(cs->sidecar_for.count, 2);
    assert_string_equal(cs->sidecar_for.items[1], "worker");
}

static void reads_the_contract_example(void **state)
{
    struct fixture *fixture = *state;
    test_write_file(fixture->path,
                    "---\n"
                    "processes:\n"
                    "- type: \"web\"\n"
                    "  command: \"do something forever\"\n"
                    "- type: \"newrelic\"\n"
                    "  command: \"run new relic\"\n"
                    "  limits:\n"
                    "    memory: 10\n"
                    "  platforms:\n"
                    "    cloudfoundry:\n"
                    "      sidecar_for: [\"web\", \"worker\"]\n"
                    "- type: nocommand\n"
                    "  unknown_key: ignored\n"
                    "  platforms: {cloudfoundry: {sidecar_for: []}}\n"
                    "other_top_level: ignored\n",
                    0644);
    assert_int_equal(cfbp_launch_read(&fixture->launch, fixture->path, &fixture->err), 0);
    assert_int_equal(fixture->launch.count, 3);
    assert_string_equal(fixture->launch.processes[1].type, "newrelic");
    assert_string_equal(fixture->launch.processes[1].command, "run new relic");
    assert_int_equal(fixture->launch.processes[1].memory, 10);
    assert_string_equal(fixture->launch.processes[1].sidecar_for.items[0], "web");
    assert_string_equal(fixture->launch.processes[2].command, "");
    assert_int_equal(fixture->launch.processes[2].sidecar_for.count, 0);
}

static void reads_empty_files(void **state)
{
    struct fixture *fixture = *state;
    test_write_file(fixture->path, "", 0644);
    assert_int_equal(cfbp_launch_read(&fixture->launch, fixture->path, &fixture->err), 0);
    assert_int_equal(fixture->launch.count, 0);
    test_write_file(fixture->path, "processes:\n", 0644);
    assert_int_equal(cfbp_launch_read(&fixture->launch, fixture->path, &fixture->err), 0);
    assert_int_equal(fixture->launch.count, 0);
}

static void read_errors_name_line_and_column(void **state)
{
    struct fixture *fixture = *state;
    check_read_error(fixture, "processes:\n- type: x\n  command: y\n  limits:\n    memory: 10M\n",
                     "5:13", "processes[0].limits.memory must be a whole number of megabytes");
    check_read_error(fixture, "processes:\n- type: x\n  limits: {memory: -5}\n", "3:20",
                     "processes[0].limits.memory must be a whole number of megabytes");
    check_read_error(fixture, "processes:\n- type: x\n  limits: {memory: 1.5}\n", "3:20",
                     "processes[0].limits.memory must be a whole number of megabytes");
    check_read_error(fixture,
                     "processes:\n- type: x\n  limits: {memory: 99999999999999999999999}\n", "3:20",
                     "processes[0].limits.memory must be a whole number of megabytes");
    check_read_error(fixture, "processes:\n- type: x\n  limits: {memory: [1]}\n", "3:20",
                     "processes[0].limits.memory must be a whole number of megabytes");
    check_read_error(fixture,
                     "processes:\n- type: ok\n- type: x\n  platforms:\n    cloudfoundry:\n"
                     "      sidecar_for: web\n",
                     "6:20", "platforms.cloudfoundry.sidecar_for must be a list, not a string");
    check_read_error(fixture, "processes: {a: 1}\n", "1:12",
                     "processes must be a list, not a mapping");
    check_read_error(fixture, "processes:\n- just a string\n", "2:3",
                     "processes[0] must be a mapping, not a string");
    check_read_error(fixture, "processes:\n- type: a\n- command: x\n", "3:3",
                     "processes[1] has no 'type'");
    check_read_error(fixture, "processes:\n- type: [a]\n", "2:9",
                     "processes[0].type must be a single value, not a list");
    check_read_error(fixture, "processes:\n- type: a\n  type: b\n", "3:3",
                     "the key 'type' is already defined on line 2");
}

static void a_missing_file_is_not_found(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(cfbp_launch_read(&fixture->launch, fixture->path, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NOT_FOUND);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected, "cannot read %s: No such file or directory",
                              fixture->path);
    assert_string_equal(fixture->err.message, expected.buf);
    cfbp_strbuf_release(&expected);
}

static void writing_into_a_missing_directory_fails(void **state)
{
    struct fixture *fixture = *state;
    char *path = test_path(fixture->dir, "missing/launch.yml");
    cfbp_launch_add(&fixture->launch, "web", "x");
    assert_int_equal(cfbp_launch_write(&fixture->launch, path, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_IO);
    assert_true(cfbp_string_starts_with(fixture->err.message, "cannot write "));
    free(path);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(writes_a_sidecar_entry),
        TEST(writes_a_plain_process_without_limits_or_platforms),
        TEST(writes_limits_and_sidecars_independently),
        TEST(quotes_values_the_builder_would_misread),
        TEST(writes_an_empty_list),
        TEST(reads_back_what_it_wrote),
        TEST(reads_the_contract_example),
        TEST(reads_empty_files),
        TEST(read_errors_name_line_and_column),
        TEST(a_missing_file_is_not_found),
        TEST(writing_into_a_missing_directory_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
