/*
 * app_manifest.c - reading an app's manifest.yml (see app_manifest.h).
 */
#include "cfbp/app_manifest.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/strbuf.h"
#include "cfbp/yaml.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define APP_MANIFEST_MAX_BYTES (4 * 1024 * 1024)

bool cfbp_parse_megabytes(const char *text, unsigned long *megabytes)
{
    if (!isdigit((unsigned char)text[0]))
        return false;
    char *unit;
    errno = 0;
    unsigned long value = strtoul(text, &unit, 10);
    if (errno || value == 0)
        return false;
    unsigned long factor;
    if (*unit == '\0' || strcasecmp(unit, "M") == 0 || strcasecmp(unit, "MB") == 0)
        factor = 1;
    else if (strcasecmp(unit, "G") == 0 || strcasecmp(unit, "GB") == 0)
        factor = 1024;
    else
        return false;
    if (value > (unsigned long)-1 / factor)
        return false;
    *megabytes = value * factor;
    return true;
}

static int read_memory(const struct cfbp_yaml_document *doc, const struct cfbp_yaml_node *mapping,
                       const char *context, unsigned long *memory, struct cfbp_error *err)
{
    char *text = NULL;
    if (cfbp_yaml_read_string(doc, mapping, "memory", context, false, &text, err) < 0)
        return -1;
    int result = 0;
    if (text && !cfbp_parse_megabytes(text, memory))
        result =
            cfbp_yaml_error_at(doc, cfbp_yaml_get(mapping, "memory"), err,
                               "%s.memory '%s' is not a size such as 64M or 1G", context, text);
    free(text);
    return result;
}

static int read_list(const struct cfbp_yaml_document *doc, const struct cfbp_yaml_node *node,
                     const char *what, struct cfbp_string_list *out, struct cfbp_error *err)
{
    if (cfbp_yaml_is_null(node))
        return 0;
    if (cfbp_yaml_expect(doc, node, CFBP_YAML_SEQUENCE, what, err) < 0)
        return -1;
    for (size_t i = 0; i < node->count; i++) {
        if (node->items[i]->type != CFBP_YAML_SCALAR)
            return cfbp_yaml_error_at(doc, node->items[i], err, "%s must hold names, not %s", what,
                                      cfbp_yaml_describe(node->items[i]));
        cfbp_string_list_append(out, node->items[i]->value);
    }
    return 0;
}

static int read_sidecar(struct cfbp_app *app, const struct cfbp_yaml_document *doc,
                        const struct cfbp_yaml_node *entry, const char *context,
                        struct cfbp_error *err)
{
    if (cfbp_yaml_expect(doc, entry, CFBP_YAML_MAPPING, context, err) < 0)
        return -1;
    struct cfbp_strbuf what = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&what, "%s.process_types", context);
    CFBP_GROW(app->sidecars, app->sidecar_alloc, app->sidecar_count + 1);
    struct cfbp_app_sidecar *sidecar = &app->sidecars[app->sidecar_count++];
    memset(sidecar, 0, sizeof(*sidecar));
    if (cfbp_yaml_read_string(doc, entry, "name", context, true, &sidecar->name, err) < 0 ||
        cfbp_yaml_read_string(doc, entry, "command", context, false, &sidecar->command, err) < 0 ||
        read_list(doc, cfbp_yaml_get(entry, "process_types"), what.buf, &sidecar->process_types,
                  err) < 0 ||
        read_memory(doc, entry, context, &sidecar->memory, err) < 0) {
        cfbp_strbuf_release(&what);
        return -1;
    }
    cfbp_strbuf_release(&what);
    return 0;
}

static int read_env(struct cfbp_app *app, const struct cfbp_yaml_document *doc,
                    const struct cfbp_yaml_node *env, const char *context, struct cfbp_error *err)
{
    if (cfbp_yaml_is_null(env))
        return 0;
    struct cfbp_strbuf what = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&what, "%s.env", context);
    int result = cfbp_yaml_expect(doc, env, CFBP_YAML_MAPPING, what.buf, err);
    cfbp_strbuf_release(&what);
    if (result < 0)
        return -1;
    for (size_t i = 0; i < env->count; i++) {
        const struct cfbp_yaml_node *value = env->values[i];
        if (value->type != CFBP_YAML_SCALAR)
            return cfbp_yaml_error_at(doc, value, err, "%s.env.%s must be a single value, not %s",
                                      context, env->keys[i]->value, cfbp_yaml_describe(value));
        CFBP_GROW(app->env, app->env_alloc, app->env_count + 1);
        app->env[app->env_count].name = cfbp_xstrdup(env->keys[i]->value);
        app->env[app->env_count++].value =
            cfbp_xstrdup(cfbp_yaml_is_null(value) ? "" : value->value);
    }
    return 0;
}

static int read_app(struct cfbp_app_manifest *manifest, const struct cfbp_yaml_document *doc,
                    const struct cfbp_yaml_node *entry, const char *context, struct cfbp_error *err)
{
    if (cfbp_yaml_expect(doc, entry, CFBP_YAML_MAPPING, context, err) < 0)
        return -1;
    CFBP_GROW(manifest->apps, manifest->alloc, manifest->count + 1);
    struct cfbp_app *app = &manifest->apps[manifest->count++];
    memset(app, 0, sizeof(*app));
    char *buildpack = NULL;
    struct cfbp_strbuf what = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&what, "%s.buildpacks", context);
    int read = 0;
    if (cfbp_yaml_read_string(doc, entry, "name", context, false, &app->name, err) < 0 ||
        cfbp_yaml_read_string(doc, entry, "command", context, false, &app->command, err) < 0 ||
        cfbp_yaml_read_string(doc, entry, "stack", context, false, &app->stack, err) < 0 ||
        read_memory(doc, entry, context, &app->memory, err) < 0 ||
        read_list(doc, cfbp_yaml_get(entry, "buildpacks"), what.buf, &app->buildpacks, err) < 0 ||
        cfbp_yaml_read_string(doc, entry, "buildpack", context, false, &buildpack, err) < 0 ||
        read_env(app, doc, cfbp_yaml_get(entry, "env"), context, err) < 0)
        read = -1;
    cfbp_strbuf_release(&what);
    if (read < 0) {
        free(buildpack);
        return -1;
    }
    if (buildpack && app->buildpacks.count == 0)
        cfbp_string_list_append_owned(&app->buildpacks, buildpack);
    else
        free(buildpack);
    const struct cfbp_yaml_node *sidecars = cfbp_yaml_get(entry, "sidecars");
    struct cfbp_strbuf item = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&item, "%s.sidecars", context);
    if (!cfbp_yaml_is_null(sidecars) &&
        cfbp_yaml_expect(doc, sidecars, CFBP_YAML_SEQUENCE, item.buf, err) < 0) {
        cfbp_strbuf_release(&item);
        return -1;
    }
    int result = 0;
    for (size_t i = 0; result == 0 && sidecars && i < sidecars->count; i++) {
        cfbp_strbuf_reset(&item);
        cfbp_strbuf_append_format(&item, "%s.sidecars[%zu]", context, i);
        result = read_sidecar(app, doc, sidecars->items[i], item.buf, err);
    }
    cfbp_strbuf_release(&item);
    return result;
}

int cfbp_app_manifest_load(struct cfbp_app_manifest *manifest, const char *path,
                           struct cfbp_error *err)
{
    memset(manifest, 0, sizeof(*manifest));
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    int result = cfbp_yaml_load_file(&doc, path, APP_MANIFEST_MAX_BYTES, err);
    if (result == 0 && doc.root)
        result = cfbp_yaml_expect(&doc, doc.root, CFBP_YAML_MAPPING, "the app manifest", err);
    const struct cfbp_yaml_node *apps =
        result == 0 ? cfbp_yaml_get(doc.root, "applications") : NULL;
    if (result == 0 && !cfbp_yaml_is_null(apps)) {
        result = cfbp_yaml_expect(&doc, apps, CFBP_YAML_SEQUENCE, "applications", err);
        struct cfbp_strbuf context = CFBP_STRBUF_INIT;
        for (size_t i = 0; result == 0 && i < apps->count; i++) {
            cfbp_strbuf_reset(&context);
            cfbp_strbuf_append_format(&context, "applications[%zu]", i);
            result = read_app(manifest, &doc, apps->items[i], context.buf, err);
        }
        cfbp_strbuf_release(&context);
    } else if (result == 0 && doc.root && cfbp_yaml_get(doc.root, "name")) {
        result = read_app(manifest, &doc, doc.root, "app", err);
    }
    cfbp_yaml_document_release(&doc);
    if (result < 0)
        cfbp_app_manifest_release(manifest);
    return result;
}

void cfbp_app_manifest_release(struct cfbp_app_manifest *manifest)
{
    for (size_t i = 0; i < manifest->count; i++) {
        struct cfbp_app *app = &manifest->apps[i];
        free(app->name);
        free(app->command);
        free(app->stack);
        cfbp_string_list_clear(&app->buildpacks);
        for (size_t j = 0; j < app->env_count; j++) {
            free(app->env[j].name);
            free(app->env[j].value);
        }
        free(app->env);
        for (size_t j = 0; j < app->sidecar_count; j++) {
            free(app->sidecars[j].name);
            free(app->sidecars[j].command);
            cfbp_string_list_clear(&app->sidecars[j].process_types);
        }
        free(app->sidecars);
    }
    free(manifest->apps);
    memset(manifest, 0, sizeof(*manifest));
}

const struct cfbp_app_sidecar *
cfbp_app_manifest_find_sidecar(const struct cfbp_app_manifest *manifest, const char *name)
{
    for (size_t i = 0; i < manifest->count; i++)
        for (size_t j = 0; j < manifest->apps[i].sidecar_count; j++)
            if (strcmp(manifest->apps[i].sidecars[j].name, name) == 0)
                return &manifest->apps[i].sidecars[j];
    return NULL;
}
