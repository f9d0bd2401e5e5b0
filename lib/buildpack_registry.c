/*
 * buildpack_registry.c - named buildpacks on this machine (see
 * buildpack_registry.h).
 *
 * buildpacks.yml is rewritten whole (atomically) after every change; the
 * unpacked buildpacks are never modified, only added and removed.
 */
#include "cfbp/buildpack_registry.h"

#include "cfbp/alloc.h"
#include "cfbp/buildpack.h"
#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/manifest.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/yaml.h"

#include <stdlib.h>
#include <string.h>

#define INDEX_FILE "buildpacks.yml"

int cfbp_registry_default_home(struct cfbp_strbuf *out, struct cfbp_error *err)
{
    const char *home = getenv("CFBP_HOME");
    if (home && *home)
        return cfbp_path_absolute(out, home, err);
    home = getenv("HOME");
    if (!home || !*home)
        return cfbp_error_set(err, CFBP_ERROR_USAGE,
                              "neither CFBP_HOME nor HOME is set; set CFBP_HOME to a directory "
                              "for registered buildpacks");
    cfbp_path_join(out, home, ".cfbp");
    return 0;
}

static void entry_release(struct cfbp_registered_buildpack *entry)
{
    free(entry->name);
    free(entry->key);
    free(entry->stack);
    free(entry->root);
    memset(entry, 0, sizeof(*entry));
}

void cfbp_registry_release(struct cfbp_registry *registry)
{
    for (size_t i = 0; i < registry->count; i++)
        entry_release(&registry->buildpacks[i]);
    free(registry->buildpacks);
    free(registry->home);
    memset(registry, 0, sizeof(*registry));
}

static int read_entry(struct cfbp_registry *registry, const struct cfbp_yaml_document *doc,
                      const struct cfbp_yaml_node *node, size_t index, struct cfbp_error *err)
{
    struct cfbp_strbuf context = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&context, "buildpacks[%zu]", index);
    CFBP_GROW(registry->buildpacks, registry->alloc, registry->count + 1);
    struct cfbp_registered_buildpack *entry = &registry->buildpacks[registry->count++];
    memset(entry, 0, sizeof(*entry));
    entry->position = (unsigned)registry->count;
    int result = cfbp_yaml_expect(doc, node, CFBP_YAML_MAPPING, context.buf, err);
    if (result == 0 &&
        (cfbp_yaml_read_string(doc, node, "name", context.buf, true, &entry->name, err) < 0 ||
         cfbp_yaml_read_string(doc, node, "key", context.buf, true, &entry->key, err) < 0 ||
         cfbp_yaml_read_string(doc, node, "root", context.buf, true, &entry->root, err) < 0 ||
         cfbp_yaml_read_string(doc, node, "stack", context.buf, false, &entry->stack, err) < 0))
        result = -1;
    cfbp_strbuf_release(&context);
    return result;
}

int cfbp_registry_load(struct cfbp_registry *registry, const char *home, struct cfbp_error *err)
{
    memset(registry, 0, sizeof(*registry));
    registry->home = cfbp_xstrdup(home);
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, home, INDEX_FILE);
    int result = 0;
    if (cfbp_fs_exists(path.buf)) {
        struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
        result = cfbp_yaml_load_file(&doc, path.buf, 1 << 20, err);
        const struct cfbp_yaml_node *list =
            result == 0 ? cfbp_yaml_get(doc.root, "buildpacks") : NULL;
        if (result == 0 && !cfbp_yaml_is_null(list))
            result = cfbp_yaml_expect(&doc, list, CFBP_YAML_SEQUENCE, "buildpacks", err);
        for (size_t i = 0; result == 0 && list && i < list->count; i++)
            result = read_entry(registry, &doc, list->items[i], i, err);
        cfbp_yaml_document_release(&doc);
    }
    cfbp_strbuf_release(&path);
    if (result < 0) {
        char *saved = cfbp_xstrdup(home);
        cfbp_registry_release(registry);
        registry->home = saved;
    }
    return result;
}

static int save(const struct cfbp_registry *registry, struct cfbp_error *err)
{
    struct cfbp_yaml_node *list = cfbp_yaml_new_sequence();
    struct cfbp_strbuf position = CFBP_STRBUF_INIT;
    for (size_t i = 0; i < registry->count; i++) {
        const struct cfbp_registered_buildpack *entry = &registry->buildpacks[i];
        struct cfbp_yaml_node *node = cfbp_yaml_new_mapping();
        cfbp_strbuf_reset(&position);
        cfbp_strbuf_append_format(&position, "%zu", i + 1);
        cfbp_yaml_set(node, "name", cfbp_yaml_new_string(entry->name));
        cfbp_yaml_set(node, "position", cfbp_yaml_new_plain(position.buf));
        cfbp_yaml_set(node, "key", cfbp_yaml_new_string(entry->key));
        if (entry->stack)
            cfbp_yaml_set(node, "stack", cfbp_yaml_new_string(entry->stack));
        cfbp_yaml_set(node, "root", cfbp_yaml_new_string(entry->root));
        cfbp_yaml_append(list, node);
    }
    struct cfbp_yaml_node *root = cfbp_yaml_new_mapping();
    cfbp_yaml_set(root, "buildpacks", list);
    struct cfbp_strbuf text = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&text, "# Buildpacks registered with cfbp create-buildpack, in "
                                     "position order.\n");
    int result = cfbp_yaml_emit(&text, root, 0, err);
    cfbp_path_join(&path, registry->home, INDEX_FILE);
    if (result == 0)
        result = cfbp_fs_mkdir_p(registry->home, 0755, err);
    if (result == 0)
        result = cfbp_fs_write_file(path.buf, text.buf, text.len, 0644, err);
    cfbp_yaml_free(root);
    cfbp_strbuf_release(&text);
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&position);
    return result;
}

const struct cfbp_registered_buildpack *cfbp_registry_find(const struct cfbp_registry *registry,
                                                           const char *name)
{
    for (size_t i = 0; i < registry->count; i++)
        if (strcmp(registry->buildpacks[i].name, name) == 0)
            return &registry->buildpacks[i];
    return NULL;
}

/* Cloud Controller's upload checks on manifest.yml (contract §2.1), and its stack. */
static int read_stack(const char *root, char **stack, struct cfbp_error *err)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, root, "manifest.yml");
    *stack = NULL;
    int result = 0;
    if (cfbp_fs_is_file(path.buf)) {
        struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
        result = cfbp_yaml_load_file(&doc, path.buf, CFBP_MANIFEST_MAX_BYTES, err);
        if (result < 0 && err->kind == CFBP_ERROR_INVALID && strstr(err->message, "is larger than"))
            cfbp_error_set(err, CFBP_ERROR_INVALID, "buildpack manifest is too large (%s)",
                           path.buf);
        else if (result < 0)
            cfbp_error_prefix(err, "buildpack manifest is not valid");
        if (result == 0)
            result =
                cfbp_yaml_read_string(&doc, doc.root, "stack", "the manifest", false, stack, err);
        cfbp_yaml_document_release(&doc);
    }
    cfbp_strbuf_release(&path);
    return result;
}

static bool name_is_safe(const char *name)
{
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    for (const char *c = name; *c; c++)
        if (*c == '/' || (unsigned char)*c < 0x20)
            return false;
    return true;
}

/* Unpacks (zip) or copies (directory) source to destination; fills key. */
static int bring_in(const char *name, const char *source, const char *destination,
                    struct cfbp_strbuf *key, struct cfbp_error *err)
{
    char sha256[CFBP_DIGEST_HEX_SIZE];
    if (cfbp_fs_is_directory(source)) {
        if (cfbp_fs_copy_tree(source, destination, NULL, NULL, err) < 0)
            return -1;
        /* A directory has no zip digest; its path stands in, as a URL would. */
        cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, source, strlen(source), sha256);
    } else if (cfbp_buildpack_unpack_zip(source, destination, sha256, err) < 0) {
        return -1;
    }
    cfbp_strbuf_reset(key);
    cfbp_strbuf_append_format(key, "%s_%s", name, sha256);
    return 0;
}

int cfbp_registry_add(struct cfbp_registry *registry, const char *name, const char *source,
                      unsigned position, struct cfbp_error *err)
{
    if (!name_is_safe(name))
        return cfbp_error_set(err, CFBP_ERROR_USAGE, "'%s' cannot be a buildpack name", name);
    if (cfbp_registry_find(registry, name))
        return cfbp_error_set(err, CFBP_ERROR_USAGE,
                              "buildpack %s already exists; delete it first "
                              "(cfbp delete-buildpack %s)",
                              name, name);
    if (!cfbp_fs_exists(source))
        return cfbp_error_set(err, CFBP_ERROR_NOT_FOUND, "%s does not exist", source);
    struct cfbp_strbuf directory = CFBP_STRBUF_INIT, root = CFBP_STRBUF_INIT,
                       key = CFBP_STRBUF_INIT;
    cfbp_path_join(&directory, registry->home, "buildpacks");
    cfbp_path_append(&directory, name);
    char *stack = NULL;
    struct cfbp_strbuf parent = CFBP_STRBUF_INIT;
    cfbp_path_dirname(&parent, directory.buf);
    int result = cfbp_fs_mkdir_p(parent.buf, 0755, err);
    cfbp_strbuf_release(&parent);
    if (result == 0)
        result = cfbp_fs_remove_tree(directory.buf, err); /* left by an interrupted add */
    if (result == 0)
        result = bring_in(name, source, directory.buf, &key, err);
    if (result == 0)
        result = cfbp_buildpack_locate_root(directory.buf, source, &root, err);
    if (result == 0)
        result = read_stack(root.buf, &stack, err);
    if (result == 0) {
        size_t at = position == 0 || position > registry->count ? registry->count : position - 1;
        CFBP_GROW(registry->buildpacks, registry->alloc, registry->count + 1);
        memmove(registry->buildpacks + at + 1, registry->buildpacks + at,
                (registry->count - at) * sizeof(*registry->buildpacks));
        registry->count++;
        struct cfbp_registered_buildpack *entry = &registry->buildpacks[at];
        entry->name = cfbp_xstrdup(name);
        entry->key = cfbp_strbuf_detach(&key, NULL);
        entry->stack = stack;
        entry->root = cfbp_strbuf_detach(&root, NULL);
        stack = NULL;
        for (size_t i = 0; i < registry->count; i++)
            registry->buildpacks[i].position = (unsigned)(i + 1);
        result = save(registry, err);
    }
    if (result < 0) {
        struct cfbp_error ignored = CFBP_ERROR_INIT;
        if (!cfbp_registry_find(registry, name))
            cfbp_fs_remove_tree(directory.buf, &ignored);
        cfbp_error_clear(&ignored);
    }
    free(stack);
    cfbp_strbuf_release(&directory);
    cfbp_strbuf_release(&root);
    cfbp_strbuf_release(&key);
    return result;
}

int cfbp_registry_remove(struct cfbp_registry *registry, const char *name, struct cfbp_error *err)
{
    size_t at = registry->count;
    for (size_t i = 0; i < registry->count; i++)
        if (strcmp(registry->buildpacks[i].name, name) == 0)
            at = i;
    if (at == registry->count)
        return cfbp_error_set(err, CFBP_ERROR_NOT_FOUND, "buildpack %s does not exist", name);
    struct cfbp_strbuf directory = CFBP_STRBUF_INIT;
    cfbp_path_join(&directory, registry->home, "buildpacks");
    cfbp_path_append(&directory, name);
    entry_release(&registry->buildpacks[at]);
    memmove(registry->buildpacks + at, registry->buildpacks + at + 1,
            (registry->count - at - 1) * sizeof(*registry->buildpacks));
    registry->count--;
    for (size_t i = 0; i < registry->count; i++)
        registry->buildpacks[i].position = (unsigned)(i + 1);
    int result = save(registry, err);
    if (result == 0)
        result = cfbp_fs_remove_tree(directory.buf, err);
    cfbp_strbuf_release(&directory);
    return result;
}
