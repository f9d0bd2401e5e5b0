/*
 * manifest.c - reading and querying the buildpack manifest (see manifest.h).
 *
 * The YAML tree is walked once at load time into plain structs; every value
 * is checked there, so later code never meets a wrong type. Unknown keys are
 * ignored, as libbuildpack ignores them (url_to_dependency_map, ...).
 */
#include "cfbp/manifest.h"

#include "cfbp/alloc.h"
#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"
#include "cfbp/text_table.h"
#include "cfbp/version.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define VERSION_MAX_BYTES 4096

/* --- reading values --- */

static int read_string_list(const struct cfbp_yaml_document *doc, const struct cfbp_yaml_node *node,
                            const char *what, struct cfbp_string_list *out, struct cfbp_error *err)
{
    if (cfbp_yaml_is_null(node))
        return 0;
    if (node->type != CFBP_YAML_SEQUENCE)
        return cfbp_yaml_error_at(doc, node, err, "%s must be a list of strings, not %s", what,
                                  cfbp_yaml_describe(node));
    for (size_t i = 0; i < node->count; i++) {
        const struct cfbp_yaml_node *item = node->items[i];
        if (item->type != CFBP_YAML_SCALAR || cfbp_yaml_is_null(item))
            return cfbp_yaml_error_at(doc, item, err, "%s[%zu] must be a string, not %s", what, i,
                                      cfbp_yaml_describe(item));
        cfbp_string_list_append(out, item->value);
    }
    return 0;
}

static int expect_list(const struct cfbp_yaml_document *doc, const struct cfbp_yaml_node *node,
                       const char *what, struct cfbp_error *err)
{
    if (cfbp_yaml_is_null(node) || node->type == CFBP_YAML_SEQUENCE)
        return 0;
    return cfbp_yaml_error_at(doc, node, err, "%s must be a list, not %s", what,
                              cfbp_yaml_describe(node));
}

static void dependency_release(struct cfbp_dependency *dependency)
{
    free(dependency->name);
    free(dependency->version);
    free(dependency->uri);
    free(dependency->sha256);
    free(dependency->file);
    free(dependency->source);
    free(dependency->source_sha256);
    cfbp_string_list_clear(&dependency->cf_stacks);
    cfbp_string_list_clear(&dependency->modules);
    memset(dependency, 0, sizeof(*dependency));
}

static int read_sha256(const struct cfbp_yaml_document *doc, const struct cfbp_yaml_node *entry,
                       const char *context, char **sha256, struct cfbp_error *err)
{
    if (cfbp_yaml_read_string(doc, entry, "sha256", context, true, sha256, err) < 0)
        return -1;
    for (char *c = *sha256; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (!cfbp_digest_is_sha256_hex(*sha256))
        return cfbp_yaml_error_at(doc, cfbp_yaml_get(entry, "sha256"), err,
                                  "%s.sha256 must be 64 hex characters (a SHA-256 digest), not "
                                  "'%s'",
                                  context, *sha256);
    return 0;
}

static int read_modules(const struct cfbp_yaml_document *doc, const struct cfbp_yaml_node *entry,
                        const char *context, struct cfbp_string_list *modules,
                        struct cfbp_error *err)
{
    const struct cfbp_yaml_node *list = cfbp_yaml_get(entry, "dependencies");
    struct cfbp_strbuf what = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&what, "%s.dependencies", context);
    int result = expect_list(doc, list, what.buf, err);
    for (size_t i = 0; result == 0 && list && i < list->count; i++) {
        const struct cfbp_yaml_node *module = list->items[i];
        char *name = NULL;
        if (module->type == CFBP_YAML_SCALAR) {
            name = cfbp_xstrdup(module->value);
        } else {
            struct cfbp_strbuf item = CFBP_STRBUF_INIT;
            cfbp_strbuf_append_format(&item, "%s[%zu]", what.buf, i);
            result = cfbp_yaml_expect(doc, module, CFBP_YAML_MAPPING, item.buf, err);
            if (result == 0)
                result = cfbp_yaml_read_string(doc, module, "name", item.buf, true, &name, err);
            cfbp_strbuf_release(&item);
        }
        if (name)
            cfbp_string_list_append_owned(modules, name);
    }
    cfbp_strbuf_release(&what);
    return result;
}

static int read_dependency(const struct cfbp_yaml_document *doc, const struct cfbp_yaml_node *entry,
                           const char *context, struct cfbp_dependency *dependency,
                           struct cfbp_error *err)
{
    memset(dependency, 0, sizeof(*dependency));
    if (cfbp_yaml_expect(doc, entry, CFBP_YAML_MAPPING, context, err) < 0)
        return -1;
    dependency->line = entry->line;
    dependency->column = entry->column;
    struct cfbp_strbuf what = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&what, "%s.cf_stacks", context);
    int result = 0;
    if (cfbp_yaml_read_string(doc, entry, "name", context, true, &dependency->name, err) < 0 ||
        cfbp_yaml_read_string(doc, entry, "version", context, true, &dependency->version, err) <
            0 ||
        cfbp_yaml_read_string(doc, entry, "uri", context, true, &dependency->uri, err) < 0 ||
        read_sha256(doc, entry, context, &dependency->sha256, err) < 0 ||
        cfbp_yaml_read_string(doc, entry, "file", context, false, &dependency->file, err) < 0 ||
        cfbp_yaml_read_string(doc, entry, "source", context, false, &dependency->source, err) < 0 ||
        cfbp_yaml_read_string(doc, entry, "source_sha256", context, false,
                              &dependency->source_sha256, err) < 0 ||
        read_string_list(doc, cfbp_yaml_get(entry, "cf_stacks"), what.buf, &dependency->cf_stacks,
                         err) < 0 ||
        read_modules(doc, entry, context, &dependency->modules, err) < 0)
        result = -1;
    if (result == 0 && dependency->file && dependency->file[0] != '/') {
        struct cfbp_strbuf clean = CFBP_STRBUF_INIT;
        if (!cfbp_path_clean_relative(&clean, dependency->file))
            result = cfbp_yaml_error_at(doc, cfbp_yaml_get(entry, "file"), err,
                                        "%s.file '%s' must stay inside the buildpack (no '..')",
                                        context, dependency->file);
        cfbp_strbuf_release(&clean);
    }
    cfbp_strbuf_release(&what);
    if (result < 0)
        dependency_release(dependency);
    return result;
}

static int read_default(const struct cfbp_yaml_document *doc, const struct cfbp_yaml_node *entry,
                        const char *context, struct cfbp_default_version *out,
                        struct cfbp_error *err)
{
    memset(out, 0, sizeof(*out));
    if (cfbp_yaml_expect(doc, entry, CFBP_YAML_MAPPING, context, err) < 0 ||
        cfbp_yaml_read_string(doc, entry, "name", context, true, &out->name, err) < 0 ||
        cfbp_yaml_read_string(doc, entry, "version", context, true, &out->version, err) < 0)
        goto fail;
    if (cfbp_version_check_constraint(out->version, err) < 0) {
        cfbp_yaml_error_at(doc, cfbp_yaml_get(entry, "version"), err, "%s.version: %s", context,
                           err->message);
        goto fail;
    }
    out->line = entry->line;
    out->column = entry->column;
    return 0;
fail:
    free(out->name);
    free(out->version);
    memset(out, 0, sizeof(*out));
    return -1;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* Parses exactly YYYY-MM-DD with a real calendar date. */
static bool parse_date(const char *text, int *year, int *month, int *day)
{
    if (strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)text[i]))
            return false;
    *year = atoi(text);
    *month = atoi(text + 5);
    *day = atoi(text + 8);
    return *month >= 1 && *month <= 12 && *day >= 1 && *day <= days_in_month(*year, *month);
}

static int read_deprecation(const struct cfbp_yaml_document *doc,
                            const struct cfbp_yaml_node *entry, const char *context,
                            struct cfbp_deprecation *out, struct cfbp_error *err)
{
    memset(out, 0, sizeof(*out));
    if (cfbp_yaml_expect(doc, entry, CFBP_YAML_MAPPING, context, err) < 0 ||
        cfbp_yaml_read_string(doc, entry, "name", context, true, &out->name, err) < 0 ||
        cfbp_yaml_read_string(doc, entry, "version_line", context, true, &out->version_line, err) <
            0 ||
        cfbp_yaml_read_string(doc, entry, "date", context, true, &out->date, err) < 0 ||
        cfbp_yaml_read_string(doc, entry, "link", context, false, &out->link, err) < 0)
        goto fail;
    if (!parse_date(out->date, &out->year, &out->month, &out->day)) {
        cfbp_yaml_error_at(doc, cfbp_yaml_get(entry, "date"), err,
                           "%s.date must be a date written YYYY-MM-DD, not '%s'", context,
                           out->date);
        goto fail;
    }
    if (cfbp_version_check_constraint(out->version_line, err) < 0) {
        cfbp_yaml_error_at(doc, cfbp_yaml_get(entry, "version_line"), err, "%s.version_line: %s",
                           context, err->message);
        goto fail;
    }
    return 0;
fail:
    free(out->name);
    free(out->version_line);
    free(out->date);
    free(out->link);
    memset(out, 0, sizeof(*out));
    return -1;
}

/* --- adding entries --- */

/*
 * Entries found by key while an override.yml replaces them: each key ("name"
 * for defaults, "name\nversion" for dependencies) is kept in keys at the
 * entry's index, and found through a hash table, so that replacing n entries
 * costs n lookups rather than n scans of the list.
 */
struct entry_index {
    struct cfbp_string_list keys;
    struct cfbp_text_table table;
};

static const char *key_of(const void *owner, size_t index, size_t *length)
{
    const struct cfbp_string_list *keys = owner;
    *length = strlen(keys->items[index]);
    return keys->items[index];
}

/*
 * Returns the index of the first entry with key, or records key as the next
 * entry's (index count, which keys must have reached) and returns count.
 * keys holds every entry's key at its index, found or not.
 */
static size_t find_or_add(struct entry_index *index, const char *key, size_t count)
{
    size_t length = strlen(key);
    uint64_t hash = cfbp_text_hash(key, length);
    size_t found = cfbp_text_table_find(&index->table, hash, key, length, key_of, &index->keys);
    if (found)
        return found - 1;
    cfbp_string_list_append(&index->keys, key);
    cfbp_text_table_add(&index->table, hash, count);
    return count;
}

/* Indexes an entry already in the list (a second one with the same key is never found). */
static void index_existing(struct entry_index *index, const char *key, size_t at)
{
    if (find_or_add(index, key, at) != at)
        cfbp_string_list_append(&index->keys, key); /* keep keys aligned with the entries */
}

static void entry_index_release(struct entry_index *index)
{
    cfbp_string_list_clear(&index->keys);
    cfbp_text_table_release(&index->table);
}

static void dependency_key(struct cfbp_strbuf *key, const struct cfbp_dependency *dependency)
{
    cfbp_strbuf_reset(key);
    cfbp_strbuf_append_format(key, "%s\n%s", dependency->name, dependency->version);
}

/* Adds dependency, or with replace (an override.yml) puts it in place of its name and version. */
static void add_or_replace_dependency(struct cfbp_manifest *manifest, struct entry_index *index,
                                      struct cfbp_dependency *dependency, bool replace)
{
    struct cfbp_strbuf key = CFBP_STRBUF_INIT;
    dependency_key(&key, dependency);
    size_t at = replace ? find_or_add(index, key.buf, manifest->dependency_count)
                        : manifest->dependency_count;
    cfbp_strbuf_release(&key);
    if (at < manifest->dependency_count) {
        dependency_release(&manifest->dependencies[at]);
        manifest->dependencies[at] = *dependency;
        return;
    }
    CFBP_GROW(manifest->dependencies, manifest->dependency_alloc, manifest->dependency_count + 1);
    manifest->dependencies[manifest->dependency_count++] = *dependency;
}

static void add_or_replace_default(struct cfbp_manifest *manifest, struct entry_index *index,
                                   struct cfbp_default_version *entry, bool replace)
{
    size_t at = replace ? find_or_add(index, entry->name, manifest->default_count)
                        : manifest->default_count;
    if (at < manifest->default_count) {
        struct cfbp_default_version *existing = &manifest->defaults[at];
        free(existing->name);
        free(existing->version);
        *existing = *entry;
        return;
    }
    CFBP_GROW(manifest->defaults, manifest->default_alloc, manifest->default_count + 1);
    manifest->defaults[manifest->default_count++] = *entry;
}

/*
 * Reads the default_versions and dependencies lists of mapping (the manifest
 * itself, or a language's section of an override.yml) into manifest.
 */
static int read_entries(struct cfbp_manifest *manifest, const struct cfbp_yaml_document *doc,
                        const struct cfbp_yaml_node *mapping, bool replace, struct cfbp_error *err)
{
    const struct cfbp_yaml_node *defaults = cfbp_yaml_get(mapping, "default_versions");
    const struct cfbp_yaml_node *dependencies = cfbp_yaml_get(mapping, "dependencies");
    if (expect_list(doc, defaults, "default_versions", err) < 0 ||
        expect_list(doc, dependencies, "dependencies", err) < 0)
        return -1;
    struct cfbp_strbuf context = CFBP_STRBUF_INIT, key = CFBP_STRBUF_INIT;
    struct entry_index default_index = {CFBP_STRING_LIST_INIT, CFBP_TEXT_TABLE_INIT};
    struct entry_index dependency_index = {CFBP_STRING_LIST_INIT, CFBP_TEXT_TABLE_INIT};
    for (size_t i = 0; replace && i < manifest->default_count; i++)
        index_existing(&default_index, manifest->defaults[i].name, i);
    for (size_t i = 0; replace && i < manifest->dependency_count; i++) {
        dependency_key(&key, &manifest->dependencies[i]);
        index_existing(&dependency_index, key.buf, i);
    }
    int result = 0;
    for (size_t i = 0; result == 0 && defaults && i < defaults->count; i++) {
        struct cfbp_default_version entry;
        cfbp_strbuf_reset(&context);
        cfbp_strbuf_append_format(&context, "default_versions[%zu]", i);
        result = read_default(doc, defaults->items[i], context.buf, &entry, err);
        if (result == 0)
            add_or_replace_default(manifest, &default_index, &entry, replace);
    }
    for (size_t i = 0; result == 0 && dependencies && i < dependencies->count; i++) {
        struct cfbp_dependency entry;
        cfbp_strbuf_reset(&context);
        cfbp_strbuf_append_format(&context, "dependencies[%zu]", i);
        result = read_dependency(doc, dependencies->items[i], context.buf, &entry, err);
        if (result == 0)
            add_or_replace_dependency(manifest, &dependency_index, &entry, replace);
    }
    entry_index_release(&default_index);
    entry_index_release(&dependency_index);
    cfbp_strbuf_release(&context);
    cfbp_strbuf_release(&key);
    return result;
}

static int read_deprecations(struct cfbp_manifest *manifest, const struct cfbp_yaml_document *doc,
                             const struct cfbp_yaml_node *list, struct cfbp_error *err)
{
    if (expect_list(doc, list, "dependency_deprecation_dates", err) < 0)
        return -1;
    struct cfbp_strbuf context = CFBP_STRBUF_INIT;
    int result = 0;
    for (size_t i = 0; result == 0 && list && i < list->count; i++) {
        struct cfbp_deprecation entry;
        cfbp_strbuf_reset(&context);
        cfbp_strbuf_append_format(&context, "dependency_deprecation_dates[%zu]", i);
        result = read_deprecation(doc, list->items[i], context.buf, &entry, err);
        if (result == 0) {
            CFBP_GROW(manifest->deprecations, manifest->deprecation_alloc,
                      manifest->deprecation_count + 1);
            manifest->deprecations[manifest->deprecation_count++] = entry;
        }
    }
    cfbp_strbuf_release(&context);
    return result;
}

static int read_version_file(struct cfbp_manifest *manifest, struct cfbp_error *err)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, text = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, manifest->root, "VERSION");
    int result = cfbp_fs_read_file(path.buf, VERSION_MAX_BYTES, &text, err);
    if (result < 0) {
        cfbp_error_prefix(err, "unable to read VERSION file");
        cfbp_error_append(err, "; every buildpack root needs a VERSION file");
    } else {
        cfbp_strbuf_trim(&text);
        if (text.len == 0)
            result = cfbp_error_set(err, CFBP_ERROR_INVALID, "%s is empty; write the version in it",
                                    path.buf);
        else
            manifest->version = cfbp_strbuf_detach(&text, NULL);
    }
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&text);
    return result;
}

static int read_top_level(struct cfbp_manifest *manifest, struct cfbp_error *err)
{
    const struct cfbp_yaml_document *doc = &manifest->document;
    const struct cfbp_yaml_node *root = doc->root;
    if (!root)
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "%s is empty; it needs at least a 'language'", doc->name);
    if (cfbp_yaml_expect(doc, root, CFBP_YAML_MAPPING, "the manifest", err) < 0 ||
        cfbp_yaml_read_string(doc, root, "language", "the manifest", true, &manifest->language,
                              err) < 0 ||
        cfbp_yaml_read_string(doc, root, "stack", "the manifest", false, &manifest->stack, err) <
            0 ||
        cfbp_yaml_read_string(doc, root, "pre_package", "the manifest", false,
                              &manifest->pre_package, err) < 0 ||
        read_string_list(doc, cfbp_yaml_get(root, "include_files"), "include_files",
                         &manifest->include_files, err) < 0 ||
        read_entries(manifest, doc, root, false, err) < 0 ||
        read_deprecations(manifest, doc, cfbp_yaml_get(root, "dependency_deprecation_dates"), err) <
            0)
        return -1;
    return 0;
}

static int load(struct cfbp_manifest *manifest, const char *root, bool with_version,
                struct cfbp_error *err)
{
    memset(manifest, 0, sizeof(*manifest));
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    if (cfbp_path_absolute(&path, root, err) < 0) {
        cfbp_strbuf_release(&path);
        return -1;
    }
    manifest->root = cfbp_strbuf_detach(&path, NULL);
    cfbp_path_join(&path, manifest->root, "manifest.yml");
    manifest->path = cfbp_strbuf_detach(&path, NULL);
    int result =
        cfbp_yaml_load_file(&manifest->document, manifest->path, CFBP_MANIFEST_MAX_BYTES, err);
    if (result == 0)
        result = read_top_level(manifest, err);
    if (result == 0 && with_version)
        result = read_version_file(manifest, err);
    if (result < 0)
        cfbp_manifest_release(manifest);
    return result;
}

int cfbp_manifest_load(struct cfbp_manifest *manifest, const char *root, struct cfbp_error *err)
{
    return load(manifest, root, true, err);
}

int cfbp_manifest_load_without_version(struct cfbp_manifest *manifest, const char *root,
                                       struct cfbp_error *err)
{
    return load(manifest, root, false, err);
}

void cfbp_manifest_release(struct cfbp_manifest *manifest)
{
    for (size_t i = 0; i < manifest->dependency_count; i++)
        dependency_release(&manifest->dependencies[i]);
    free(manifest->dependencies);
    for (size_t i = 0; i < manifest->default_count; i++) {
        free(manifest->defaults[i].name);
        free(manifest->defaults[i].version);
    }
    free(manifest->defaults);
    for (size_t i = 0; i < manifest->deprecation_count; i++) {
        struct cfbp_deprecation *entry = &manifest->deprecations[i];
        free(entry->name);
        free(entry->version_line);
        free(entry->date);
        free(entry->link);
    }
    free(manifest->deprecations);
    cfbp_string_list_clear(&manifest->include_files);
    cfbp_yaml_document_release(&manifest->document);
    free(manifest->root);
    free(manifest->path);
    free(manifest->language);
    free(manifest->version);
    free(manifest->stack);
    free(manifest->pre_package);
    memset(manifest, 0, sizeof(*manifest));
}

int cfbp_manifest_apply_overrides(struct cfbp_manifest *manifest, const char *deps_dir,
                                  struct cfbp_error *err)
{
    struct cfbp_string_list entries = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    if (cfbp_fs_list_directory(deps_dir, &entries, err) < 0) {
        cfbp_string_list_clear(&entries);
        if (err->kind != CFBP_ERROR_NOT_FOUND)
            return -1;
        cfbp_error_clear(err); /* no deps dir: nothing to override */
        return 0;
    }
    int result = 0;
    for (size_t i = 0; result == 0 && i < entries.count; i++) {
        cfbp_path_join(&path, deps_dir, entries.items[i]);
        cfbp_path_append(&path, "override.yml");
        if (!cfbp_fs_is_file(path.buf))
            continue;
        struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
        result = cfbp_yaml_load_file(&doc, path.buf, CFBP_MANIFEST_MAX_BYTES, err);
        const struct cfbp_yaml_node *section =
            result == 0 ? cfbp_yaml_get(doc.root, manifest->language) : NULL;
        if (result == 0 && doc.root && doc.root->type != CFBP_YAML_MAPPING)
            result = cfbp_yaml_expect(&doc, doc.root, CFBP_YAML_MAPPING, "override.yml", err);
        if (result == 0 && section) {
            result = cfbp_yaml_expect(&doc, section, CFBP_YAML_MAPPING, manifest->language, err);
            if (result == 0)
                result = read_entries(manifest, &doc, section, true, err);
        }
        cfbp_yaml_document_release(&doc);
    }
    cfbp_string_list_clear(&entries);
    cfbp_strbuf_release(&path);
    return result;
}

/* --- queries --- */

bool cfbp_manifest_dependency_on_stack(const struct cfbp_manifest *manifest,
                                       const struct cfbp_dependency *dependency, const char *stack)
{
    if (!stack || !*stack)
        return false;
    if (manifest->stack)
        return strcmp(manifest->stack, stack) == 0;
    return cfbp_string_list_contains(&dependency->cf_stacks, stack);
}

bool cfbp_manifest_supports_stack(const struct cfbp_manifest *manifest, const char *stack)
{
    if (manifest->stack)
        return stack && strcmp(manifest->stack, stack) == 0;
    if (manifest->dependency_count == 0)
        return true;
    for (size_t i = 0; i < manifest->dependency_count; i++)
        if (cfbp_manifest_dependency_on_stack(manifest, &manifest->dependencies[i], stack))
            return true;
    return false;
}

const struct cfbp_dependency *cfbp_manifest_find(const struct cfbp_manifest *manifest,
                                                 const char *name, const char *version,
                                                 const char *stack)
{
    for (size_t i = 0; i < manifest->dependency_count; i++) {
        const struct cfbp_dependency *dependency = &manifest->dependencies[i];
        if (strcmp(dependency->name, name) == 0 && strcmp(dependency->version, version) == 0 &&
            cfbp_manifest_dependency_on_stack(manifest, dependency, stack))
            return dependency;
    }
    return NULL;
}

void cfbp_manifest_versions(const struct cfbp_manifest *manifest, const char *name,
                            const char *stack, struct cfbp_string_list *versions)
{
    for (size_t i = 0; i < manifest->dependency_count; i++) {
        const struct cfbp_dependency *dependency = &manifest->dependencies[i];
        if (strcmp(dependency->name, name) == 0 &&
            cfbp_manifest_dependency_on_stack(manifest, dependency, stack))
            cfbp_string_list_append(versions, dependency->version);
    }
}

int cfbp_manifest_default_version(const struct cfbp_manifest *manifest, const char *name,
                                  const char *stack, const struct cfbp_dependency **out,
                                  struct cfbp_error *err)
{
    const struct cfbp_default_version *entry = NULL;
    size_t found = 0;
    for (size_t i = 0; i < manifest->default_count; i++) {
        if (strcmp(manifest->defaults[i].name, name) == 0) {
            entry = &manifest->defaults[i];
            found++;
        }
    }
    if (found == 0)
        return cfbp_error_set(err, CFBP_ERROR_NOT_FOUND, "no default version for %s", name);
    if (found > 1)
        return cfbp_error_set(err, CFBP_ERROR_INVALID, "found %zu default versions for %s", found,
                              name);
    struct cfbp_string_list versions = CFBP_STRING_LIST_INIT;
    cfbp_manifest_versions(manifest, name, stack, &versions);
    size_t match;
    int result = cfbp_version_find_match(entry->version, (const char *const *)versions.items,
                                         versions.count, &match, err);
    if (result == 0)
        *out = cfbp_manifest_find(manifest, name, versions.items[match], stack);
    cfbp_string_list_clear(&versions);
    return result;
}
