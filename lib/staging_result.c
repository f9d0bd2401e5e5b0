/*
 * staging_result.c - merging process types and writing result.json and
 * staging_info.yml (see staging_result.h).
 */
#include "cfbp/staging_result.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/json.h"
#include "cfbp/launch.h"
#include "cfbp/strbuf.h"
#include "cfbp/text_table.h"
#include "cfbp/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cfbp_staging_result_release(struct cfbp_staging_result *result)
{
    for (size_t i = 0; i < result->process_count; i++) {
        free(result->processes[i].type);
        free(result->processes[i].command);
        cfbp_string_list_clear(&result->processes[i].sidecar_for);
    }
    free(result->processes);
    for (size_t i = 0; i < result->buildpack_count; i++) {
        struct cfbp_staged_buildpack *buildpack = &result->buildpacks[i];
        free(buildpack->key);
        free(buildpack->name);
        free(buildpack->version);
        free(buildpack->entrypoint_prefix);
        cfbp_yaml_free(buildpack->output_metadata);
    }
    free(result->buildpacks);
    memset(result, 0, sizeof(*result));
}

static const char *process_type(const void *owner, size_t index, size_t *length)
{
    const struct cfbp_staging_result *result = owner;
    *length = strlen(result->processes[index].type);
    return result->processes[index].type;
}

/* Indexes the result's process types, so that merging n of them costs n lookups, not n scans. */
static void index_processes(const struct cfbp_staging_result *result, struct cfbp_text_table *table)
{
    for (size_t i = 0; i < result->process_count; i++) {
        const char *type = result->processes[i].type;
        cfbp_text_table_add(table, cfbp_text_hash(type, strlen(type)), i);
    }
}

/* The entry for type: the existing one (emptied, to be replaced in place) or a new one. */
static struct cfbp_staged_process *slot_for(struct cfbp_staging_result *result,
                                            struct cfbp_text_table *table, const char *type)
{
    size_t length = strlen(type);
    uint64_t hash = cfbp_text_hash(type, length);
    size_t found = cfbp_text_table_find(table, hash, type, length, process_type, result);
    if (found) {
        struct cfbp_staged_process *process = &result->processes[found - 1];
        free(process->command);
        cfbp_string_list_clear(&process->sidecar_for);
        process->command = NULL;
        process->memory = 0;
        return process;
    }
    CFBP_GROW(result->processes, result->process_alloc, result->process_count + 1);
    struct cfbp_staged_process *process = &result->processes[result->process_count];
    memset(process, 0, sizeof(*process));
    process->type = cfbp_xstrdup(type);
    cfbp_text_table_add(table, hash, result->process_count++);
    return process;
}

void cfbp_staging_result_merge_launch(struct cfbp_staging_result *result,
                                      const struct cfbp_launch *launch)
{
    struct cfbp_text_table table = CFBP_TEXT_TABLE_INIT;
    index_processes(result, &table);
    for (size_t i = 0; i < launch->count; i++) {
        const struct cfbp_launch_process *from = &launch->processes[i];
        struct cfbp_staged_process *process = slot_for(result, &table, from->type);
        process->command = cfbp_xstrdup(from->command);
        process->memory = from->memory;
        for (size_t j = 0; j < from->sidecar_for.count; j++)
            cfbp_string_list_append(&process->sidecar_for, from->sidecar_for.items[j]);
    }
    cfbp_text_table_release(&table);
}

/* Orders entries of a mapping by their keys, as cfbp_string_list_sort would the keys. */
static int compare_keys_at(const void *a, const void *b, void *data)
{
    const struct cfbp_yaml_node *map = data;
    return strcmp(map->keys[*(const size_t *)a]->value, map->keys[*(const size_t *)b]->value);
}

int cfbp_staging_result_merge_map(struct cfbp_staging_result *result, const char *text,
                                  size_t length, const char *name, const char *key,
                                  struct cfbp_error *err)
{
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    if (cfbp_yaml_load_string(&doc, name, text, length, err) < 0)
        return -1;
    const struct cfbp_yaml_node *map = key ? cfbp_yaml_get(doc.root, key) : doc.root;
    int status = 0;
    /* The builder reads both into Go structs and maps, which refuse anything else. */
    if (key && !cfbp_yaml_is_null(doc.root) && doc.root->type != CFBP_YAML_MAPPING)
        status = cfbp_yaml_error_at(&doc, doc.root, err, "it must be a mapping with %s, not %s",
                                    key, cfbp_yaml_describe(doc.root));
    else if (!cfbp_yaml_is_null(map) && map->type != CFBP_YAML_MAPPING)
        status = cfbp_yaml_error_at(&doc, map, err, "%s must map process types to commands",
                                    key ? key : "it");
    size_t count = status == 0 && map && map->type == CFBP_YAML_MAPPING ? map->count : 0;
    for (size_t i = 0; status == 0 && i < count; i++)
        if (map->values[i]->type != CFBP_YAML_SCALAR)
            status = cfbp_yaml_error_at(&doc, map->values[i], err,
                                        "the command for %s must be a string", map->keys[i]->value);
    /* Go ranges over the map in random order; sorted is the one stable choice. */
    size_t *order = cfbp_xmalloc((count ? count : 1) * sizeof(*order));
    for (size_t i = 0; i < count; i++)
        order[i] = i;
    if (status == 0)
        qsort_r(order, count, sizeof(*order), compare_keys_at, (void *)map);
    struct cfbp_text_table table = CFBP_TEXT_TABLE_INIT;
    index_processes(result, &table);
    for (size_t i = 0; status == 0 && i < count; i++) {
        const struct cfbp_yaml_node *command = map->values[order[i]];
        struct cfbp_staged_process *process = slot_for(result, &table, map->keys[order[i]]->value);
        process->command = cfbp_xstrdup(cfbp_yaml_is_null(command) ? "" : command->value);
    }
    cfbp_text_table_release(&table);
    free(order);
    cfbp_yaml_document_release(&doc);
    return status;
}

struct cfbp_staged_buildpack *cfbp_staging_result_add_buildpack(struct cfbp_staging_result *result,
                                                                const char *key,
                                                                const char *config_yml_path,
                                                                const char *fallback_name)
{
    CFBP_GROW(result->buildpacks, result->buildpack_alloc, result->buildpack_count + 1);
    struct cfbp_staged_buildpack *buildpack = &result->buildpacks[result->buildpack_count++];
    memset(buildpack, 0, sizeof(*buildpack));
    buildpack->key = cfbp_xstrdup(key);
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    const struct cfbp_yaml_node *root = NULL;
    if (config_yml_path && cfbp_fs_is_file(config_yml_path) &&
        cfbp_yaml_load_file(&doc, config_yml_path, CFBP_CONFIG_YML_MAX_BYTES, &ignored) == 0)
        root = doc.root; /* a config.yml that does not parse is ignored, as the builder does */
    cfbp_error_clear(&ignored);
    const struct cfbp_yaml_node *name = cfbp_yaml_get(root, "name");
    const struct cfbp_yaml_node *version = cfbp_yaml_get(root, "version");
    const struct cfbp_yaml_node *own_key = cfbp_yaml_get(root, "key");
    const struct cfbp_yaml_node *config = cfbp_yaml_get(root, "config");
    const struct cfbp_yaml_node *metadata = cfbp_yaml_get(root, "output_metadata");
    if (name && name->type == CFBP_YAML_SCALAR && !cfbp_yaml_is_null(name))
        buildpack->name = cfbp_xstrdup(name->value);
    else
        buildpack->name = cfbp_xstrdup(fallback_name ? fallback_name : "");
    if (version && version->type == CFBP_YAML_SCALAR && !cfbp_yaml_is_null(version))
        buildpack->version = cfbp_xstrdup(version->value);
    if (own_key && own_key->type == CFBP_YAML_SCALAR) {
        free(buildpack->key); /* a top-level key: overrides the buildpack key (§5.4) */
        buildpack->key = cfbp_xstrdup(own_key->value);
    }
    if (config && config->type == CFBP_YAML_MAPPING) {
        buildpack->has_config = true;
        const struct cfbp_yaml_node *prefix = cfbp_yaml_get(config, "entrypoint_prefix");
        if (prefix && prefix->type == CFBP_YAML_SCALAR && !cfbp_yaml_is_null(prefix))
            buildpack->entrypoint_prefix = cfbp_xstrdup(prefix->value);
    }
    if (metadata && metadata->type == CFBP_YAML_MAPPING && metadata->count)
        buildpack->output_metadata = cfbp_yaml_copy(metadata);
    cfbp_yaml_document_release(&doc);
    return buildpack;
}

const char *cfbp_staging_result_start_command(const struct cfbp_staging_result *result)
{
    for (size_t i = 0; i < result->process_count; i++)
        if (result->processes[i].sidecar_for.count == 0 &&
            strcmp(result->processes[i].type, "web") == 0)
            return result->processes[i].command;
    return NULL;
}

/* --- JSON --- */

static void write_string(struct cfbp_strbuf *out, const char *text)
{
    cfbp_json_write_string(out, text, strlen(text));
}

/*
 * Writes a YAML 1.1 number as Go's encoding/json would: integers (012 is
 * octal, underscores dropped) in decimal, floats in their shortest exact form.
 * Returns false for what JSON cannot hold (.inf, .nan, base 60).
 */
static bool write_number(const struct cfbp_yaml_node *node, struct cfbp_strbuf *out)
{
    struct cfbp_strbuf plain = CFBP_STRBUF_INIT;
    for (const char *c = node->value; *c; c++)
        if (*c != '_')
            cfbp_strbuf_append_char(&plain, *c);
    char *end = NULL;
    bool written = false;
    if (cfbp_yaml_meaning_of(node) == CFBP_YAML_INT) {
        errno = 0;
        long long integer = strtoll(plain.buf, &end, 0);
        if (*end == '\0' && errno == 0) {
            cfbp_strbuf_append_format(out, "%lld", integer);
            written = true;
        }
    } else {
        double number = strtod(plain.buf, &end);
        if (*end == '\0' && isfinite(number)) {
            char text[64];
            for (int precision = 1; precision <= 17; precision++) {
                snprintf(text, sizeof(text), "%.*g", precision, number);
                if (strtod(text, NULL) == number)
                    break;
            }
            cfbp_strbuf_append_string(out, text);
            written = true;
        }
    }
    cfbp_strbuf_release(&plain);
    return written;
}

static void write_scalar(const struct cfbp_yaml_node *node, struct cfbp_strbuf *out)
{
    switch (cfbp_yaml_meaning_of(node)) {
    case CFBP_YAML_NULL:
        cfbp_strbuf_append_string(out, "null");
        return;
    case CFBP_YAML_BOOL: {
        static const char *const truths[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                             "True", "TRUE", "on",  "On",  "ON",  NULL};
        bool truth = false;
        for (const char *const *word = truths; *word; word++)
            truth = truth || strcmp(node->value, *word) == 0;
        cfbp_strbuf_append_string(out, truth ? "true" : "false");
        return;
    }
    case CFBP_YAML_INT:
    case CFBP_YAML_FLOAT:
        if (write_number(node, out))
            return;
        break;
    default:
        break;
    }
    cfbp_json_write_string(out, node->value, node->value_length);
}

static int compare_pairs(const void *a, const void *b)
{
    const struct cfbp_yaml_node *const *x = a, *const *y = b;
    return strcmp(x[0]->value, y[0]->value);
}

void cfbp_yaml_write_json(const struct cfbp_yaml_node *node, struct cfbp_strbuf *out)
{
    if (!node) {
        cfbp_strbuf_append_string(out, "null");
        return;
    }
    if (node->type == CFBP_YAML_SCALAR) {
        write_scalar(node, out);
        return;
    }
    if (node->type == CFBP_YAML_SEQUENCE) {
        cfbp_strbuf_append_char(out, '[');
        for (size_t i = 0; i < node->count; i++) {
            if (i)
                cfbp_strbuf_append_char(out, ',');
            cfbp_yaml_write_json(node->items[i], out);
        }
        cfbp_strbuf_append_char(out, ']');
        return;
    }
    /* Go writes map keys sorted. */
    const struct cfbp_yaml_node **pairs =
        cfbp_xcalloc(node->count ? 2 * node->count : 1, sizeof(*pairs));
    for (size_t i = 0; i < node->count; i++) {
        pairs[2 * i] = node->keys[i];
        pairs[2 * i + 1] = node->values[i];
    }
    qsort(pairs, node->count, 2 * sizeof(*pairs), compare_pairs);
    cfbp_strbuf_append_char(out, '{');
    for (size_t i = 0; i < node->count; i++) {
        if (i)
            cfbp_strbuf_append_char(out, ',');
        cfbp_json_write_string(out, pairs[2 * i]->value, pairs[2 * i]->value_length);
        cfbp_strbuf_append_char(out, ':');
        cfbp_yaml_write_json(pairs[2 * i + 1], out);
    }
    cfbp_strbuf_append_char(out, '}');
    free(pairs);
}

static const struct cfbp_staged_buildpack *last_buildpack(const struct cfbp_staging_result *result)
{
    return result->buildpack_count ? &result->buildpacks[result->buildpack_count - 1] : NULL;
}

static void write_buildpacks(const struct cfbp_staging_result *result, struct cfbp_strbuf *out)
{
    cfbp_strbuf_append_string(out, "\"buildpacks\":[");
    for (size_t i = 0; i < result->buildpack_count; i++) {
        const struct cfbp_staged_buildpack *buildpack = &result->buildpacks[i];
        cfbp_strbuf_append_string(out, i ? ",{\"key\":" : "{\"key\":");
        write_string(out, buildpack->key);
        cfbp_strbuf_append_string(out, ",\"name\":");
        write_string(out, buildpack->name);
        if (buildpack->version && *buildpack->version) {
            cfbp_strbuf_append_string(out, ",\"version\":");
            write_string(out, buildpack->version);
        }
        if (buildpack->has_config) {
            cfbp_strbuf_append_string(out, ",\"config\":{");
            if (buildpack->entrypoint_prefix) {
                cfbp_strbuf_append_string(out, "\"entrypoint_prefix\":");
                write_string(out, buildpack->entrypoint_prefix);
            }
            cfbp_strbuf_append_char(out, '}');
        }
        if (buildpack->output_metadata) {
            cfbp_strbuf_append_string(out, ",\"output_metadata\":");
            cfbp_yaml_write_json(buildpack->output_metadata, out);
        }
        cfbp_strbuf_append_char(out, '}');
    }
    cfbp_strbuf_append_char(out, ']');
}

static void write_lifecycle_metadata(const struct cfbp_staging_result *result,
                                     struct cfbp_strbuf *out)
{
    const struct cfbp_staged_buildpack *last = last_buildpack(result);
    cfbp_strbuf_append_string(out, "\"lifecycle_metadata\":{");
    if (last && *last->key) {
        cfbp_strbuf_append_string(out, "\"buildpack_key\":");
        write_string(out, last->key);
        cfbp_strbuf_append_char(out, ',');
    }
    cfbp_strbuf_append_string(out, "\"detected_buildpack\":");
    write_string(out, last ? last->name : "");
    cfbp_strbuf_append_char(out, ',');
    write_buildpacks(result, out);
    cfbp_strbuf_append_char(out, '}');
}

static int compare_types(const void *a, const void *b)
{
    const struct cfbp_staged_process *const *x = a, *const *y = b;
    return strcmp((*x)->type, (*y)->type);
}

static void write_processes(const struct cfbp_staging_result *result, struct cfbp_strbuf *out)
{
    /* process_types: a map, so sorted keys; processes and sidecars: merge order. */
    const struct cfbp_staged_process **sorted =
        cfbp_xcalloc(result->process_count ? result->process_count : 1, sizeof(*sorted));
    size_t plain = 0, sidecars = 0;
    for (size_t i = 0; i < result->process_count; i++) {
        if (result->processes[i].sidecar_for.count)
            sidecars++;
        else
            sorted[plain++] = &result->processes[i];
    }
    qsort(sorted, plain, sizeof(*sorted), compare_types);
    cfbp_strbuf_append_string(out, "\"process_types\":{");
    for (size_t i = 0; i < plain; i++) {
        if (i)
            cfbp_strbuf_append_char(out, ',');
        write_string(out, sorted[i]->type);
        cfbp_strbuf_append_char(out, ':');
        write_string(out, sorted[i]->command);
    }
    cfbp_strbuf_append_char(out, '}');
    free(sorted);
    if (plain) {
        cfbp_strbuf_append_string(out, ",\"processes\":[");
        bool first = true;
        for (size_t i = 0; i < result->process_count; i++) {
            const struct cfbp_staged_process *process = &result->processes[i];
            if (process->sidecar_for.count)
                continue;
            cfbp_strbuf_append_string(out, first ? "{\"type\":" : ",{\"type\":");
            write_string(out, process->type);
            cfbp_strbuf_append_string(out, ",\"command\":");
            write_string(out, process->command);
            cfbp_strbuf_append_char(out, '}');
            first = false;
        }
        cfbp_strbuf_append_char(out, ']');
    }
    if (sidecars) {
        cfbp_strbuf_append_string(out, ",\"sidecars\":[");
        bool first = true;
        for (size_t i = 0; i < result->process_count; i++) {
            const struct cfbp_staged_process *process = &result->processes[i];
            if (!process->sidecar_for.count)
                continue;
            cfbp_strbuf_append_string(out, first ? "{\"name\":" : ",{\"name\":");
            write_string(out, process->type);
            cfbp_strbuf_append_string(out, ",\"process_types\":[");
            for (size_t j = 0; j < process->sidecar_for.count; j++) {
                if (j)
                    cfbp_strbuf_append_char(out, ',');
                write_string(out, process->sidecar_for.items[j]);
            }
            cfbp_strbuf_append_string(out, "],\"command\":");
            write_string(out, process->command);
            if (process->memory)
                cfbp_strbuf_append_format(out, ",\"memory\":%lu", process->memory);
            cfbp_strbuf_append_char(out, '}');
            first = false;
        }
        cfbp_strbuf_append_char(out, ']');
    }
}

void cfbp_staging_result_write_json(const struct cfbp_staging_result *result, bool failed,
                                    struct cfbp_strbuf *out)
{
    cfbp_strbuf_append_char(out, '{');
    write_lifecycle_metadata(result, out);
    cfbp_strbuf_append_char(out, ',');
    if (failed) /* the builder's StagingResult with nothing but its lifecycle type set */
        cfbp_strbuf_append_string(out, "\"process_types\":null");
    else
        write_processes(result, out);
    cfbp_strbuf_append_string(out,
                              ",\"execution_metadata\":\"\",\"lifecycle_type\":\"buildpack\"}\n");
}

void cfbp_staging_result_write_staging_info(const struct cfbp_staging_result *result,
                                            struct cfbp_strbuf *out)
{
    const struct cfbp_staged_buildpack *last = last_buildpack(result);
    const char *command = cfbp_staging_result_start_command(result);
    cfbp_strbuf_append_string(out, "{\"detected_buildpack\":");
    write_string(out, last ? last->name : "");
    cfbp_strbuf_append_string(out, ",\"start_command\":");
    write_string(out, command ? command : "");
    if (last && last->has_config) {
        cfbp_strbuf_append_string(out, ",\"config\":{");
        if (last->entrypoint_prefix) {
            cfbp_strbuf_append_string(out, "\"entrypoint_prefix\":");
            write_string(out, last->entrypoint_prefix);
        }
        cfbp_strbuf_append_char(out, '}');
    }
    cfbp_strbuf_append_string(out, "}\n");
}
