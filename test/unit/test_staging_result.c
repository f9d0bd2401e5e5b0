/*
 * test_staging_result.c - merging process types from launch.yml, release
 * output and a Procfile, reading each buildpack's config.yml, and the bytes
 * of result.json and staging_info.yml (contract §5.4, §5.9, §10.6).
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/json.h"
#include "cfbp/launch.h"
#include "cfbp/staging_result.h"
#include "cfbp/strbuf.h"
#include "cfbp/yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fixture {
    char *dir;
    struct cfbp_staging_result result;
    struct cfbp_launch launch;
    struct cfbp_strbuf out;
    struct cfbp_error err;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    cfbp_strbuf_init(&fixture->out, 0);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    cfbp_staging_result_release(&fixture->result);
    cfbp_launch_release(&fixture->launch);
    cfbp_strbuf_release(&fixture->out);
    cfbp_error_clear(&fixture->err);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

/* --- helpers --- */

static struct cfbp_launch_process *add(struct cfbp_launch *launch, const char *type,
                                       const char *command)
{
    return cfbp_launch_add(launch, type, command);
}

static struct cfbp_launch_process *add_sidecar(struct cfbp_launch *launch, const char *type,
                                               const char *command, const char *for_type,
                                               unsigned long memory)
{
    struct cfbp_launch_process *process = cfbp_launch_add(launch, type, command);
    cfbp_string_list_append(&process->sidecar_for, for_type);
    process->memory = memory;
    return process;
}

/* Merges launch into the result and empties it for the next one. */
static void merge_launch(struct fixture *fixture)
{
    cfbp_staging_result_merge_launch(&fixture->result, &fixture->launch);
    cfbp_launch_release(&fixture->launch);
    memset(&fixture->launch, 0, sizeof(fixture->launch));
}

static int merge_map(struct fixture *fixture, const char *text, const char *name, const char *key)
{
    return cfbp_staging_result_merge_map(&fixture->result, text, strlen(text), name, key,
                                         &fixture->err);
}

/* "type=command" for each process, sidecars marked "[for a,b] memory", joined with "; ". */
static const char *describe(struct fixture *fixture)
{
    static char text[4096];
    text[0] = '\0';
    for (size_t i = 0; i < fixture->result.process_count; i++) {
        const struct cfbp_staged_process *process = &fixture->result.processes[i];
        size_t used = strlen(text);
        snprintf(text + used, sizeof(text) - used, "%s%s=%s", i ? "; " : "", process->type,
                 process->command);
        for (size_t j = 0; j < process->sidecar_for.count; j++) {
            used = strlen(text);
            snprintf(text + used, sizeof(text) - used, "%s%s", j ? "," : " [for ",
                     process->sidecar_for.items[j]);
        }
        used = strlen(text);
        if (process->sidecar_for.count)
            snprintf(text + used, sizeof(text) - used, "] %lu", process->memory);
    }
    return text;
}

static char *write_config(struct fixture *fixture, const char *name, const char *text)
{
    char *path = test_path(fixture->dir, name);
    test_write_file(path, text, 0644);
    return path;
}

static const struct cfbp_staged_buildpack *add_buildpack(struct fixture *fixture, const char *key,
                                                         const char *config_text,
                                                         const char *fallback)
{
    char *path = config_text ? write_config(fixture, "config.yml", config_text)
                             : test_path(fixture->dir, "missing/config.yml");
    const struct cfbp_staged_buildpack *buildpack =
        cfbp_staging_result_add_buildpack(&fixture->result, key, path, fallback);
    free(path);
    return buildpack;
}

static const char *result_json(struct fixture *fixture, bool failed)
{
    cfbp_strbuf_reset(&fixture->out);
    cfbp_staging_result_write_json(&fixture->result, failed, &fixture->out);
    return fixture->out.buf;
}

static const char *staging_info(struct fixture *fixture)
{
    cfbp_strbuf_reset(&fixture->out);
    cfbp_staging_result_write_staging_info(&fixture->result, &fixture->out);
    return fixture->out.buf;
}

/* Writes yaml (one document) as JSON. */
static char *yaml_as_json(const char *yaml)
{
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_yaml_load_string(&doc, "test.yml", yaml, strlen(yaml), &err) < 0)
        fail_msg("%s", err.message);
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    cfbp_yaml_write_json(doc.root, &out);
    cfbp_yaml_document_release(&doc);
    return cfbp_strbuf_detach(&out, NULL);
}

/* --- merging --- */

static void a_known_type_is_replaced_in_place_and_a_new_one_appended(void **state)
{
    struct fixture *fixture = *state;
    add(&fixture->launch, "web", "first web");
    add(&fixture->launch, "worker", "first worker");
    add_sidecar(&fixture->launch, "side", "run side", "web", 10);
    merge_launch(fixture);
    assert_string_equal(describe(fixture),
                        "web=first web; worker=first worker; side=run side [for web] 10");

    add(&fixture->launch, "clock", "tick");
    add(&fixture->launch, "worker", "second worker");
    merge_launch(fixture);
    assert_string_equal(describe(fixture), "web=first web; worker=second worker; side=run side "
                                           "[for web] 10; clock=tick");

    /* A process of a sidecar's type replaces the sidecar: it is no longer one. */
    add(&fixture->launch, "side", "plain now");
    merge_launch(fixture);
    assert_string_equal(describe(fixture),
                        "web=first web; worker=second worker; side=plain now; clock=tick");
    assert_int_equal(fixture->result.processes[2].memory, 0);

    /* And a sidecar replaces a process of its type, in place. */
    add_sidecar(&fixture->launch, "worker", "side worker", "web", 0);
    merge_launch(fixture);
    assert_string_equal(describe(fixture), "web=first web; worker=side worker [for web] 0; "
                                           "side=plain now; clock=tick");
}

static void a_launch_sidecar_then_a_procfile_web(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_launch_process *sidecar =
        add_sidecar(&fixture->launch, "config-server", "./config-server", "web", 64);
    cfbp_string_list_append(&sidecar->sidecar_for, "worker");
    merge_launch(fixture);
    assert_null(cfbp_staging_result_start_command(&fixture->result));
    assert_int_equal(merge_map(fixture, "web: bundle exec rackup\n", "Procfile", NULL), 0);
    assert_string_equal(describe(fixture), "config-server=./config-server [for web,worker] 64; "
                                           "web=bundle exec rackup");
    assert_string_equal(cfbp_staging_result_start_command(&fixture->result), "bundle exec rackup");
}

static void a_sidecar_called_web_is_not_the_start_command(void **state)
{
    struct fixture *fixture = *state;
    add_sidecar(&fixture->launch, "web", "not a start command", "worker", 0);
    merge_launch(fixture);
    assert_null(cfbp_staging_result_start_command(&fixture->result));
}

static void release_output_merges_default_process_types_in_key_order(void **state)
{
    struct fixture *fixture = *state;
    add(&fixture->launch, "worker", "from launch.yml");
    merge_launch(fixture);
    const char *release = "---\n"
                          "addons: []\n"
                          "default_process_types:\n"
                          "  zeta: z\n"
                          "  web: bundle exec rackup -p $PORT\n"
                          "  worker: sidekiq\n"
                          "  alpha: a\n";
    assert_int_equal(merge_map(fixture, release, "release output", "default_process_types"), 0);
    assert_null(fixture->err.message);
    assert_string_equal(describe(fixture), "worker=sidekiq; alpha=a; web=bundle exec rackup -p "
                                           "$PORT; zeta=z");
}

static void release_output_without_processes_is_fine(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(merge_map(fixture, "--- {}\n", "release output", "default_process_types"), 0);
    assert_int_equal(merge_map(fixture, "", "release output", "default_process_types"), 0);
    assert_int_equal(
        merge_map(fixture, "default_process_types:\n", "release output", "default_process_types"),
        0);
    assert_int_equal(fixture->result.process_count, 0);
}

static void a_procfile_is_the_whole_document_and_wins(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(merge_map(fixture, "default_process_types:\n  web: from release\n",
                               "release output", "default_process_types"),
                     0);
    const char *procfile = "worker: bin/worker\n"
                           "web: bin/web --port $PORT\n"
                           "empty:\n"
                           "number: 8080\n";
    assert_int_equal(merge_map(fixture, procfile, "Procfile", NULL), 0);
    /* Scalars are kept as written: a number is its text, a null an empty command. */
    assert_string_equal(describe(fixture),
                        "web=bin/web --port $PORT; empty=; number=8080; worker=bin/worker");
    assert_string_equal(cfbp_staging_result_start_command(&fixture->result),
                        "bin/web --port $PORT");
}

static void a_map_that_is_not_a_map_is_an_error_and_merges_nothing(void **state)
{
    struct fixture *fixture = *state;
    add(&fixture->launch, "web", "kept");
    merge_launch(fixture);

    assert_int_equal(merge_map(fixture, "- web\n- worker\n", "Procfile", NULL), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    assert_string_equal(fixture->err.message, "Procfile:1:1: it must map process types to "
                                              "commands");
    cfbp_error_clear(&fixture->err);

    assert_int_equal(merge_map(fixture, "default_process_types: bin/web\n", "release output",
                               "default_process_types"),
                     -1);
    assert_string_equal(fixture->err.message, "release output:1:24: default_process_types must "
                                              "map process types to commands");
    cfbp_error_clear(&fixture->err);

    assert_int_equal(merge_map(fixture, "web: [a, b]\nworker: w\n", "Procfile", NULL), -1);
    assert_string_equal(fixture->err.message, "Procfile:1:6: the command for web must be a "
                                              "string");
    cfbp_error_clear(&fixture->err);

    assert_int_equal(merge_map(fixture, "aaa: fine\nweb: {a: b}\n", "Procfile", NULL), -1);
    assert_string_equal(fixture->err.message, "Procfile:2:6: the command for web must be a "
                                              "string");
    cfbp_error_clear(&fixture->err);

    assert_int_equal(merge_map(fixture, "web: [unclosed\n", "Procfile", NULL), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    assert_true(cfbp_string_starts_with(fixture->err.message, "Procfile"));

    /* Nothing of a refused map was merged. */
    assert_string_equal(describe(fixture), "web=kept");
}

/*
 * The builder unmarshals release output into a struct with yaml.v2, which
 * refuses a document that is not a mapping ("cannot unmarshal !!str ...
 * into buildpackrunner.Release"): staging fails with 224 (contract §3.5).
 */
static void release_output_that_is_not_a_map_is_invalid(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(merge_map(fixture, "hello\n", "release output", "default_process_types"), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    cfbp_error_clear(&fixture->err);
    assert_int_equal(merge_map(fixture, "- web: x\n", "release output", "default_process_types"),
                     -1);
    assert_int_equal(fixture->result.process_count, 0);
}

/* A map that is not YAML at all: the refused document must be released too. */
static void a_map_that_is_not_yaml_leaks_nothing(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(merge_map(fixture, "web: [unclosed\n", "leak-check Procfile", NULL), -1);
    assert_true(cfbp_string_starts_with(fixture->err.message, "leak-check Procfile"));
    assert_int_equal(fixture->result.process_count, 0);
}

/* --- config.yml --- */

static void reads_name_version_and_config(void **state)
{
    struct fixture *fixture = *state;
    const struct cfbp_staged_buildpack *buildpack = add_buildpack(
        fixture, "key-0", "config: {}\nname: config-server-sidecar\nversion: 1.10\n", "detected");
    assert_string_equal(buildpack->key, "key-0");
    assert_string_equal(buildpack->name, "config-server-sidecar");
    assert_string_equal(buildpack->version, "1.10"); /* the raw text, not the float 1.1 */
    assert_true(buildpack->has_config);
    assert_null(buildpack->entrypoint_prefix);
    assert_null(buildpack->output_metadata);
}

static void reads_the_entrypoint_prefix_and_drops_other_config(void **state)
{
    struct fixture *fixture = *state;
    const struct cfbp_staged_buildpack *buildpack =
        add_buildpack(fixture, "k",
                      "name: go\n"
                      "config:\n"
                      "  entrypoint_prefix: /usr/bin/tini --\n"
                      "  other: dropped\n",
                      NULL);
    assert_true(buildpack->has_config);
    assert_string_equal(buildpack->entrypoint_prefix, "/usr/bin/tini --");
    assert_null(buildpack->version);
    assert_string_equal(result_json(fixture, false),
                        "{\"lifecycle_metadata\":{\"buildpack_key\":\"k\",\"detected_buildpack\":"
                        "\"go\",\"buildpacks\":[{\"key\":\"k\",\"name\":\"go\",\"config\":{"
                        "\"entrypoint_prefix\":\"/usr/bin/tini --\"}}]},\"process_types\":{},"
                        "\"execution_metadata\":\"\",\"lifecycle_type\":\"buildpack\"}\n");
}

static void keeps_output_metadata(void **state)
{
    struct fixture *fixture = *state;
    const struct cfbp_staged_buildpack *buildpack = add_buildpack(fixture, "k",
                                                                  "name: n\n"
                                                                  "output_metadata:\n"
                                                                  "  zeta: [1, two]\n"
                                                                  "  alpha: {b: true, a: ~}\n",
                                                                  NULL);
    assert_non_null(buildpack->output_metadata);
    assert_string_equal(
        result_json(fixture, true),
        "{\"lifecycle_metadata\":{\"buildpack_key\":\"k\",\"detected_buildpack\":"
        "\"n\",\"buildpacks\":[{\"key\":\"k\",\"name\":\"n\",\"output_metadata\":{"
        "\"alpha\":{\"a\":null,\"b\":true},\"zeta\":[1,\"two\"]}}]},"
        "\"process_types\":null,\"execution_metadata\":\"\",\"lifecycle_type\":\"buildpack\"}\n");
}

static void a_top_level_key_overrides_the_buildpack_key(void **state)
{
    struct fixture *fixture = *state;
    const struct cfbp_staged_buildpack *buildpack =
        add_buildpack(fixture, "given-key", "key: own-key\nname: n\n", NULL);
    assert_string_equal(buildpack->key, "own-key");
    assert_string_equal(result_json(fixture, true),
                        "{\"lifecycle_metadata\":{\"buildpack_key\":\"own-key\","
                        "\"detected_buildpack\":\"n\",\"buildpacks\":[{\"key\":\"own-key\","
                        "\"name\":\"n\"}]},\"process_types\":null,\"execution_metadata\":\"\","
                        "\"lifecycle_type\":\"buildpack\"}\n");
}

static void a_config_yml_that_does_not_parse_is_ignored(void **state)
{
    struct fixture *fixture = *state;
    const struct cfbp_staged_buildpack *buildpack =
        add_buildpack(fixture, "k", "name: [unclosed\nversion: 1\n", "from-detect");
    assert_string_equal(buildpack->key, "k");
    assert_string_equal(buildpack->name, "from-detect");
    assert_null(buildpack->version);
    assert_false(buildpack->has_config);
    assert_null(buildpack->entrypoint_prefix);
}

static void the_fallback_name_is_used_when_config_yml_gives_none(void **state)
{
    struct fixture *fixture = *state;
    const struct cfbp_staged_buildpack *missing = add_buildpack(fixture, "a", NULL, "Ruby");
    assert_string_equal(missing->name, "Ruby");
    assert_false(missing->has_config);
    const struct cfbp_staged_buildpack *nameless =
        add_buildpack(fixture, "b", "version: 2.0.0\nname: ~\n", "Go");
    assert_string_equal(nameless->name, "Go");
    assert_string_equal(nameless->version, "2.0.0");
    const struct cfbp_staged_buildpack *none = add_buildpack(fixture, "c", NULL, NULL);
    assert_string_equal(none->name, "");
    assert_int_equal(fixture->result.buildpack_count, 3);
}

static void a_config_that_is_not_a_map_is_no_config(void **state)
{
    struct fixture *fixture = *state;
    const struct cfbp_staged_buildpack *buildpack =
        add_buildpack(fixture, "k", "name: n\nconfig: [a]\noutput_metadata: {}\n", NULL);
    assert_false(buildpack->has_config);
    assert_null(buildpack->output_metadata); /* an empty map is omitted like none */
}

/* --- result.json --- */

static void result_json_for_a_web_process_and_a_sidecar(void **state)
{
    struct fixture *fixture = *state;
    add(&fixture->launch, "web", "./bin/app");
    add_sidecar(&fixture->launch, "config-server", "./config-server", "web", 10);
    merge_launch(fixture);
    add_buildpack(fixture, "k1", "config: {}\nname: n1\nversion: v1\n", NULL);
    assert_string_equal(
        result_json(fixture, false),
        "{\"lifecycle_metadata\":{\"buildpack_key\":\"k1\",\"detected_buildpack\":\"n1\","
        "\"buildpacks\":[{\"key\":\"k1\",\"name\":\"n1\",\"version\":\"v1\",\"config\":{}}]},"
        "\"process_types\":{\"web\":\"./bin/app\"},\"processes\":[{\"type\":\"web\",\"command\":"
        "\"./bin/app\"}],\"sidecars\":[{\"name\":\"config-server\",\"process_types\":[\"web\"],"
        "\"command\":\"./config-server\",\"memory\":10}],\"execution_metadata\":\"\","
        "\"lifecycle_type\":\"buildpack\"}\n");
}

static void result_json_sorts_process_types_but_keeps_merge_order(void **state)
{
    struct fixture *fixture = *state;
    add(&fixture->launch, "worker", "w");
    add_sidecar(&fixture->launch, "side-b", "b", "worker", 0);
    cfbp_string_list_append(&fixture->launch.processes[1].sidecar_for, "web");
    add(&fixture->launch, "clock", "c");
    add_sidecar(&fixture->launch, "side-a", "a", "web", 0);
    merge_launch(fixture);
    assert_int_equal(merge_map(fixture, "web: s\n", "Procfile", NULL), 0);
    add_buildpack(fixture, "supply-key", "name: supplier\n", NULL);
    add_buildpack(fixture, "final-key", "name: finisher\nversion: 3\n", NULL);
    assert_string_equal(
        result_json(fixture, false),
        "{\"lifecycle_metadata\":{\"buildpack_key\":\"final-key\",\"detected_buildpack\":"
        "\"finisher\",\"buildpacks\":[{\"key\":\"supply-key\",\"name\":\"supplier\"},{\"key\":"
        "\"final-key\",\"name\":\"finisher\",\"version\":\"3\"}]},\"process_types\":{\"clock\":"
        "\"c\",\"web\":\"s\",\"worker\":\"w\"},\"processes\":[{\"type\":\"worker\",\"command\":"
        "\"w\"},{\"type\":\"clock\",\"command\":\"c\"},{\"type\":\"web\",\"command\":\"s\"}],"
        "\"sidecars\":[{\"name\":\"side-b\",\"process_types\":[\"worker\",\"web\"],\"command\":"
        "\"b\"},{\"name\":\"side-a\",\"process_types\":[\"web\"],\"command\":\"a\"}],"
        "\"execution_metadata\":\"\",\"lifecycle_type\":\"buildpack\"}\n");
}

static void result_json_omits_empty_fields(void **state)
{
    struct fixture *fixture = *state;
    add(&fixture->launch, "web", "w");
    merge_launch(fixture);
    /* An empty key, an empty version, no config and no metadata: all left out. */
    add_buildpack(fixture, "", "name: n\nversion: ''\n", NULL);
    assert_string_equal(result_json(fixture, false),
                        "{\"lifecycle_metadata\":{\"detected_buildpack\":\"n\",\"buildpacks\":[{"
                        "\"key\":\"\",\"name\":\"n\"}]},\"process_types\":{\"web\":\"w\"},"
                        "\"processes\":[{\"type\":\"web\",\"command\":\"w\"}],"
                        "\"execution_metadata\":\"\",\"lifecycle_type\":\"buildpack\"}\n");
}

static void result_json_with_nothing_at_all(void **state)
{
    struct fixture *fixture = *state;
    assert_string_equal(result_json(fixture, false),
                        "{\"lifecycle_metadata\":{\"detected_buildpack\":\"\",\"buildpacks\":[]},"
                        "\"process_types\":{},\"execution_metadata\":\"\",\"lifecycle_type\":"
                        "\"buildpack\"}\n");
    assert_string_equal(
        result_json(fixture, true),
        "{\"lifecycle_metadata\":{\"detected_buildpack\":\"\",\"buildpacks\":[]},"
        "\"process_types\":null,\"execution_metadata\":\"\",\"lifecycle_type\":\"buildpack\"}\n");
}

/* As the builder's StagingResult{LifecycleType: "buildpack"}: process_types null (§5.9). */
static void the_failed_form_keeps_only_the_buildpacks(void **state)
{
    struct fixture *fixture = *state;
    add(&fixture->launch, "web", "w");
    add_sidecar(&fixture->launch, "s", "s", "web", 5);
    merge_launch(fixture);
    add_buildpack(fixture, "k0", "name: a\nversion: 1\n", NULL);
    add_buildpack(fixture, "k1", "name: b\nconfig: {}\n", NULL);
    assert_string_equal(result_json(fixture, true),
                        "{\"lifecycle_metadata\":{\"buildpack_key\":\"k1\",\"detected_buildpack\":"
                        "\"b\",\"buildpacks\":[{\"key\":\"k0\",\"name\":\"a\",\"version\":\"1\"},{"
                        "\"key\":\"k1\",\"name\":\"b\",\"config\":{}}]},\"process_types\":null,"
                        "\"execution_metadata\":\"\",\"lifecycle_type\":"
                        "\"buildpack\"}\n");
}

static void escapes_like_go(void **state)
{
    struct fixture *fixture = *state;
    add(&fixture->launch, "web", "a < b && c > d \"q\" \\ \t");
    merge_launch(fixture);
    add_buildpack(fixture, "<k&>", "name: \"<n>\"\n", NULL);
    assert_string_equal(
        result_json(fixture, false),
        "{\"lifecycle_metadata\":{\"buildpack_key\":\"\\u003ck\\u0026\\u003e\","
        "\"detected_buildpack\":\"\\u003cn\\u003e\",\"buildpacks\":[{\"key\":\"\\u003ck\\u0026"
        "\\u003e\",\"name\":\"\\u003cn\\u003e\"}]},\"process_types\":{\"web\":\"a \\u003c b "
        "\\u0026\\u0026 c \\u003e d \\\"q\\\" \\\\ \\t\"},\"processes\":[{\"type\":\"web\","
        "\"command\":\"a \\u003c b \\u0026\\u0026 c \\u003e d \\\"q\\\" \\\\ \\t\"}],"
        "\"execution_metadata\":\"\",\"lifecycle_type\":\"buildpack\"}\n");
}

/* --- staging_info.yml --- */

static void staging_info_without_config(void **state)
{
    struct fixture *fixture = *state;
    assert_string_equal(staging_info(fixture),
                        "{\"detected_buildpack\":\"\",\"start_command\":\"\"}\n");
    add(&fixture->launch, "web", "./bin/app <in");
    merge_launch(fixture);
    add_buildpack(fixture, "k0", "name: first\nconfig: {entrypoint_prefix: not-last}\n", NULL);
    add_buildpack(fixture, "k1", "name: Go\n", NULL);
    assert_string_equal(staging_info(fixture),
                        "{\"detected_buildpack\":\"Go\",\"start_command\":\"./bin/app "
                        "\\u003cin\"}\n");
}

static void staging_info_with_config(void **state)
{
    struct fixture *fixture = *state;
    add(&fixture->launch, "web", "./bin/app");
    merge_launch(fixture);
    add_buildpack(fixture, "k", "name: Go\nconfig: {}\n", NULL);
    assert_string_equal(staging_info(fixture), "{\"detected_buildpack\":\"Go\",\"start_command\":"
                                               "\"./bin/app\",\"config\":{}}\n");
    cfbp_staging_result_release(&fixture->result);
    add(&fixture->launch, "web", "./bin/app");
    merge_launch(fixture);
    add_buildpack(fixture, "k", "name: Go\nconfig: {entrypoint_prefix: x}\n", NULL);
    assert_string_equal(staging_info(fixture),
                        "{\"detected_buildpack\":\"Go\",\"start_command\":\"./bin/app\","
                        "\"config\":{\"entrypoint_prefix\":\"x\"}}\n");
}

/* --- YAML as JSON --- */

static void check_json(const char *yaml, const char *expected)
{
    char *json = yaml_as_json(yaml);
    bool same = strcmp(json, expected) == 0;
    if (!same)
        fprintf(stderr, "%s\n  gave %s\n  expected %s\n", yaml, json, expected);
    free(json);
    if (!same)
        fail();
}

static void writes_yaml_scalars_with_their_yaml_types(void **state)
{
    (void)state;
    check_json("~", "null");
    check_json("null", "null");
    check_json("a:", "{\"a\":null}");
    check_json("[yes, no, true, false, Y, n, on, OFF]",
               "[true,false,true,false,true,false,true,false]");
    check_json("[0, 12, -7, 1.5, -0.25]", "[0,12,-7,1.5,-0.25]");
    check_json("['12', \"true\", '~', !!str 3]", "[\"12\",\"true\",\"~\",\"3\"]");
    check_json("[hello, 1.2.3, 2024-01-02, <b>&]",
               "[\"hello\",\"1.2.3\",\"2024-01-02\",\"\\u003cb\\u003e\\u0026\"]");
    check_json("[]", "[]");
    check_json("{}", "{}");
}

static void writes_maps_with_sorted_keys_at_every_level(void **state)
{
    (void)state;
    check_json("zeta: 1\nalpha:\n  y: [b, {d: 1, c: 2}]\n  x: ''\nmid: text\n",
               "{\"alpha\":{\"x\":\"\",\"y\":[\"b\",{\"c\":2,\"d\":1}]},\"mid\":\"text\","
               "\"zeta\":1}");
}

static void numbers_are_written_as_valid_json(void **state)
{
    (void)state;
    /* Plain scalars YAML 1.1 reads as numbers; each must come out as valid JSON. */
    static const char *const numbers[] = {"012", "00", "1.", "-1.", "0.50", "-0", NULL};
    struct cfbp_strbuf wrong = CFBP_STRBUF_INIT;
    for (const char *const *number = numbers; *number; number++) {
        char *json = yaml_as_json(*number);
        struct cfbp_json *parsed = NULL;
        struct cfbp_error err = CFBP_ERROR_INIT;
        if (cfbp_json_parse(json, strlen(json), &parsed, &err) != 0)
            cfbp_strbuf_append_format(&wrong, " %s->%s", *number, json);
        cfbp_error_clear(&err);
        cfbp_json_free(parsed);
        free(json);
    }
    if (wrong.len)
        fprintf(stderr, "written as invalid JSON:%s\n", wrong.buf);
    bool failed = wrong.len > 0;
    cfbp_strbuf_release(&wrong);
    if (failed)
        fail();
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

/* A 1 MiB Procfile of 60000 process types, merged over itself: linear, not quadratic. */
static void many_process_types_merge_in_linear_time(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    for (int i = 0; i < 60000; i++)
        cfbp_strbuf_append_format(&text, "type%d: run %d\n", 60000 - i, i);
    double start = test_cpu_seconds();
    for (int round = 0; round < 2; round++)
        assert_int_equal(cfbp_staging_result_merge_map(&fixture->result, text.buf, text.len,
                                                       "Procfile", NULL, &fixture->err),
                         0);
    test_check_cpu_time("merging 60000 process types twice", start, 1.0);
    assert_int_equal(fixture->result.process_count, 60000);
    /* Sorted by type, as before. */
    assert_string_equal(fixture->result.processes[0].type, "type1");
    assert_string_equal(fixture->result.processes[0].command, "run 59999");
    cfbp_strbuf_release(&text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(a_known_type_is_replaced_in_place_and_a_new_one_appended),
        TEST(many_process_types_merge_in_linear_time),
        TEST(a_launch_sidecar_then_a_procfile_web),
        TEST(a_sidecar_called_web_is_not_the_start_command),
        TEST(release_output_merges_default_process_types_in_key_order),
        TEST(release_output_without_processes_is_fine),
        TEST(a_procfile_is_the_whole_document_and_wins),
        TEST(a_map_that_is_not_a_map_is_an_error_and_merges_nothing),
        TEST(release_output_that_is_not_a_map_is_invalid),
        TEST(a_map_that_is_not_yaml_leaks_nothing),
        TEST(reads_name_version_and_config),
        TEST(reads_the_entrypoint_prefix_and_drops_other_config),
        TEST(keeps_output_metadata),
        TEST(a_top_level_key_overrides_the_buildpack_key),
        TEST(a_config_yml_that_does_not_parse_is_ignored),
        TEST(the_fallback_name_is_used_when_config_yml_gives_none),
        TEST(a_config_that_is_not_a_map_is_no_config),
        TEST(result_json_for_a_web_process_and_a_sidecar),
        TEST(result_json_sorts_process_types_but_keeps_merge_order),
        TEST(result_json_omits_empty_fields),
        TEST(result_json_with_nothing_at_all),
        TEST(the_failed_form_keeps_only_the_buildpacks),
        TEST(escapes_like_go),
        TEST(staging_info_without_config),
        TEST(staging_info_with_config),
        cmocka_unit_test(writes_yaml_scalars_with_their_yaml_types),
        cmocka_unit_test(writes_maps_with_sorted_keys_at_every_level),
        cmocka_unit_test(numbers_are_written_as_valid_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
