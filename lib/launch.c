/*
 * launch.c - writing and reading launch.yml (see launch.h, contract §5.6).
 */
#include "cfbp/launch.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/strbuf.h"
#include "cfbp/yaml.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct cfbp_launch_process *cfbp_launch_add(struct cfbp_launch *launch, const char *type,
                                            const char *command)
{
    CFBP_GROW(launch->processes, launch->alloc, launch->count + 1);
    struct cfbp_launch_process *process = &launch->processes[launch->count++];
    memset(process, 0, sizeof(*process));
    process->type = cfbp_xstrdup(type);
    process->command = cfbp_xstrdup(command);
    return process;
}

void cfbp_launch_release(struct cfbp_launch *launch)
{
    for (size_t i = 0; i < launch->count; i++) {
        free(launch->processes[i].type);
        free(launch->processes[i].command);
        cfbp_string_list_clear(&launch->processes[i].sidecar_for);
    }
    free(launch->processes);
    memset(launch, 0, sizeof(*launch));
}

static struct cfbp_yaml_node *process_node(const struct cfbp_launch_process *process)
{
    struct cfbp_yaml_node *node = cfbp_yaml_new_mapping();
    cfbp_yaml_set(node, "type", cfbp_yaml_new_string(process->type));
    cfbp_yaml_set(node, "command", cfbp_yaml_new_string(process->command));
    if (process->memory) {
        struct cfbp_strbuf memory = CFBP_STRBUF_INIT;
        cfbp_strbuf_append_format(&memory, "%lu", process->memory);
        struct cfbp_yaml_node *limits = cfbp_yaml_new_mapping();
        cfbp_yaml_set(limits, "memory", cfbp_yaml_new_plain(memory.buf));
        cfbp_yaml_set(node, "limits", limits);
        cfbp_strbuf_release(&memory);
    }
    if (process->sidecar_for.count) {
        struct cfbp_yaml_node *types = cfbp_yaml_new_sequence();
        for (size_t i = 0; i < process->sidecar_for.count; i++)
            cfbp_yaml_append(types, cfbp_yaml_new_string(process->sidecar_for.items[i]));
        struct cfbp_yaml_node *cloudfoundry = cfbp_yaml_new_mapping();
        cfbp_yaml_set(cloudfoundry, "sidecar_for", types);
        struct cfbp_yaml_node *platforms = cfbp_yaml_new_mapping();
        cfbp_yaml_set(platforms, "cloudfoundry", cloudfoundry);
        cfbp_yaml_set(node, "platforms", platforms);
    }
    return node;
}

int cfbp_launch_write(const struct cfbp_launch *launch, const char *path, struct cfbp_error *err)
{
    struct cfbp_yaml_node *processes = cfbp_yaml_new_sequence();
    for (size_t i = 0; i < launch->count; i++)
        cfbp_yaml_append(processes, process_node(&launch->processes[i]));
    struct cfbp_yaml_node *root = cfbp_yaml_new_mapping();
    cfbp_yaml_set(root, "processes", processes);
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    int result = cfbp_yaml_emit(&text, root, 0, err);
    if (result == 0)
        result = cfbp_fs_write_file(path, text.buf, text.len, 0644, err);
    cfbp_yaml_free(root);
    cfbp_strbuf_release(&text);
    return result;
}

static int read_memory(const struct cfbp_yaml_document *doc, const struct cfbp_yaml_node *entry,
                       const char *context, unsigned long *memory, struct cfbp_error *err)
{
    const struct cfbp_yaml_node *limits = cfbp_yaml_get(entry, "limits");
    const struct cfbp_yaml_node *value = cfbp_yaml_get(limits, "memory");
    if (cfbp_yaml_is_null(value))
        return 0;
    char *end = NULL;
    errno = 0;
    /* The builder reads an int: a quoted '10' is refused there, so it is here. */
    bool integer = value->type == CFBP_YAML_SCALAR && cfbp_yaml_meaning_of(value) == CFBP_YAML_INT;
    unsigned long parsed = integer ? strtoul(value->value, &end, 10) : 0;
    if (!integer || !end || end == value->value || *end || errno || value->value[0] == '-')
        return cfbp_yaml_error_at(doc, value, err,
                                  "%s.limits.memory must be a whole number of megabytes", context);
    *memory = parsed;
    return 0;
}

static int read_process(struct cfbp_launch *launch, const struct cfbp_yaml_document *doc,
                        const struct cfbp_yaml_node *entry, size_t index, struct cfbp_error *err)
{
    struct cfbp_strbuf context = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&context, "processes[%zu]", index);
    char *type = NULL, *command = NULL;
    unsigned long memory = 0;
    int result = cfbp_yaml_expect(doc, entry, CFBP_YAML_MAPPING, context.buf, err);
    if (result == 0)
        result = cfbp_yaml_read_string(doc, entry, "type", context.buf, true, &type, err);
    if (result == 0)
        result = cfbp_yaml_read_string(doc, entry, "command", context.buf, false, &command, err);
    if (result == 0)
        result = read_memory(doc, entry, context.buf, &memory, err);
    const struct cfbp_yaml_node *sidecar_for = cfbp_yaml_get(
        cfbp_yaml_get(cfbp_yaml_get(entry, "platforms"), "cloudfoundry"), "sidecar_for");
    if (result == 0 && !cfbp_yaml_is_null(sidecar_for))
        result = cfbp_yaml_expect(doc, sidecar_for, CFBP_YAML_SEQUENCE,
                                  "platforms.cloudfoundry.sidecar_for", err);
    for (size_t i = 0; result == 0 && sidecar_for && sidecar_for->type == CFBP_YAML_SEQUENCE &&
                       i < sidecar_for->count;
         i++)
        if (sidecar_for->items[i]->type != CFBP_YAML_SCALAR)
            result = cfbp_yaml_error_at(doc, sidecar_for->items[i], err,
                                        "%s.platforms.cloudfoundry.sidecar_for must list process "
                                        "types, not %s",
                                        context.buf, cfbp_yaml_describe(sidecar_for->items[i]));
    if (result == 0) {
        struct cfbp_launch_process *process = cfbp_launch_add(launch, type, command ? command : "");
        process->memory = memory;
        for (size_t i = 0;
             sidecar_for && sidecar_for->type == CFBP_YAML_SEQUENCE && i < sidecar_for->count; i++)
            if (sidecar_for->items[i]->type == CFBP_YAML_SCALAR)
                cfbp_string_list_append(&process->sidecar_for, sidecar_for->items[i]->value);
    }
    free(type);
    free(command);
    cfbp_strbuf_release(&context);
    return result;
}

int cfbp_launch_read(struct cfbp_launch *launch, const char *path, struct cfbp_error *err)
{
    memset(launch, 0, sizeof(*launch));
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    int result = cfbp_yaml_load_file(&doc, path, 1 << 20, err);
    const struct cfbp_yaml_node *processes =
        result == 0 ? cfbp_yaml_get(doc.root, "processes") : NULL;
    if (result == 0 && !cfbp_yaml_is_null(processes))
        result = cfbp_yaml_expect(&doc, processes, CFBP_YAML_SEQUENCE, "processes", err);
    for (size_t i = 0;
         result == 0 && processes && processes->type == CFBP_YAML_SEQUENCE && i < processes->count;
         i++)
        result = read_process(launch, &doc, processes->items[i], i, err);
    cfbp_yaml_document_release(&doc);
    if (result < 0)
        cfbp_launch_release(launch);
    return result;
}
