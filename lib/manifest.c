/*
 * manifest.c - reading and querying the buildpack manifest (see manifest.h).
 *
 * The YAML tree is walked once at load time into plain structs, the way
 * yaml.v2 fills libbuildpack's and the packager's Go structs (contract §5.1):
 * every key those structs name must have the right shape (a list, a mapping
 * or a single value), a missing or null one is the zero value, anything else
 * is ignored (url_to_dependency_map, md5 next to a sha256, ...). A checked
 * load then also checks each value that staging or packaging will use, so
 * later code never meets a value it cannot use.
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

/* One document being read: where errors point, and whether values are checked. */
struct reader {
    const struct cfbp_yaml_document *doc;
    bool check_values; /* false for `summary`: only the shapes Go's packager model refuses */
    struct cfbp_error *err;
};

/* --- reading values --- */

/* mapping[key] as text, "" when missing or null (a Go string's zero value). */
static int read_text(const struct reader *reader, const struct cfbp_yaml_node *mapping,
                     const char *key, const char *context, char **out)
{
    if (cfbp_yaml_read_string(reader->doc, mapping, key, context, false, out, reader->err) < 0)
        return -1;
    if (!*out)
        *out = cfbp_xstrdup("");
    return 0;
}

/* mapping[key] as text, or NULL when missing, null or "" (Go tests these with != ""). */
static int read_optional(const struct reader *reader, const struct cfbp_yaml_node *mapping,
                         const char *key, const char *context, char **out)
{
    if (cfbp_yaml_read_string(reader->doc, mapping, key, context, false, out, reader->err) < 0)
        return -1;
    if (*out && !**out) {
        free(*out);
        *out = NULL;
    }
    return 0;
}

/* mapping[key] when it is a single value, else NULL: for keys no Go model reads. */
static char *read_informational(const struct cfbp_yaml_node *mapping, const char *key)
{
    const struct cfbp_yaml_node *value = cfbp_yaml_get(mapping, key);
    if (cfbp_yaml_is_null(value) || value->type != CFBP_YAML_SCALAR || value->value_length == 0)
        return NULL;
    return cfbp_xstrndup(value->value, value->value_length);
}

/* A list of strings; a null item is "", as yaml.v2 reads it into a Go string. */
static int read_string_list(const struct reader *reader, const struct cfbp_yaml_node *node,
                            const char *what, struct cfbp_string_list *out)
{
    if (cfbp_yaml_is_null(node))
        return 0;
    if (node->type != CFBP_YAML_SEQUENCE)
        return cfbp_yaml_error_at(reader->doc, node, reader->err,
                                  "%s must be a list of strings, not %s", what,
                                  cfbp_yaml_describe(node));
    for (size_t i = 0; i < node->count; i++) {
        const struct cfbp_yaml_node *item = node->items[i];
        if (cfbp_yaml_is_null(item))
            cfbp_string_list_append(out, "");
        else if (item->type == CFBP_YAML_SCALAR)
            cfbp_string_list_append_owned(out, cfbp_xstrndup(item->value, item->value_length));
        else
            return cfbp_yaml_error_at(reader->doc, item, reader->err,
                                      "%s[%zu] must be a string, not %s", what, i,
                                      cfbp_yaml_describe(item));
    }
    return 0;
}

static int expect_list(const struct reader *reader, const struct cfbp_yaml_node *node,
                       const char *what)
{
    if (cfbp_yaml_is_null(node) || node->type == CFBP_YAML_SEQUENCE)
        return 0;
    return cfbp_yaml_error_at(reader->doc, node, reader->err, "%s must be a list, not %s", what,
                              cfbp_yaml_describe(node));
}

/* A list item that yaml.v2 reads into a struct: a mapping, or null for the zero struct. */
static int expect_entry(const struct reader *reader, const struct cfbp_yaml_node *entry,
                        const char *context)
{
    if (cfbp_yaml_is_null(entry))
        return 0;
    return cfbp_yaml_expect(reader->doc, entry, CFBP_YAML_MAPPING, context, reader->err);
}

static void dependency_release(struct cfbp_dependency *dependency)
{
    free(dependency->name);
    free(dependency->version);
    free(dependency->uri);
    free(dependency->sha256);
    free(dependency->md5);
    free(dependency->file);
    free(dependency->source);
    free(dependency->source_sha256);
    free(dependency->defined_in);
    cfbp_string_list_clear(&dependency->cf_stacks);
    cfbp_string_list_clear(&dependency->modules);
    memset(dependency, 0, sizeof(*dependency));
}

/*
 * Reads a hex digest (sha256 or md5) given in lowercase or uppercase. A
 * checked load refuses one of the wrong length or with other characters.
 */
static int read_digest(const struct reader *reader, const struct cfbp_yaml_node *entry,
                       const char *key, size_t hex_length, bool (*valid)(const char *),
                       const char *algorithm, const char *context, char **out)
{
    if (read_optional(reader, entry, key, context, out) < 0)
        return -1;
    if (!*out || !reader->check_values)
        return 0;
    for (char *c = *out; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (!valid(*out))
        return cfbp_yaml_error_at(reader->doc, cfbp_yaml_get(entry, key), reader->err,
                                  "%s.%s must be %zu hex characters (%s digest), not '%s'", context,
                                  key, hex_length, algorithm, *out);
    return 0;
}

/* The entry's own `dependencies:` (modules, listed by `summary`): names or {name: ...}. */
static int read_modules(const struct reader *reader, const struct cfbp_yaml_node *entry,
                        const char *context, struct cfbp_string_list *modules)
{
    const struct cfbp_yaml_node *list = cfbp_yaml_get(entry, "dependencies");
    struct cfbp_strbuf what = CFBP_STRBUF_INIT, item = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&what, "%s.dependencies", context);
    int result = expect_list(reader, list, what.buf);
    for (size_t i = 0; result == 0 && list && i < list->count; i++) {
        const struct cfbp_yaml_node *module = list->items[i];
        char *name = NULL;
        cfbp_strbuf_reset(&item);
        cfbp_strbuf_append_format(&item, "%s[%zu]", what.buf, i);
        if (module->type == CFBP_YAML_SCALAR && !cfbp_yaml_is_null(module))
            name = cfbp_xstrndup(module->value, module->value_length);
        else if (expect_entry(reader, module, item.buf) < 0 ||
                 read_text(reader, module, "name", item.buf, &name) < 0)
            result = -1;
        if (name)
            cfbp_string_list_append_owned(modules, name);
    }
    cfbp_strbuf_release(&what);
    cfbp_strbuf_release(&item);
    return result;
}

static int read_dependency(const struct reader *reader, const struct cfbp_yaml_node *entry,
                           const char *context, struct cfbp_dependency *dependency)
{
    memset(dependency, 0, sizeof(*dependency));
    dependency->defined_in = cfbp_xstrdup(reader->doc->name);
    dependency->line = entry->line;
    dependency->column = entry->column;
    struct cfbp_strbuf what = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&what, "%s.cf_stacks", context);
    int result = 0;
    if (expect_entry(reader, entry, context) < 0 ||
        read_text(reader, entry, "name", context, &dependency->name) < 0 ||
        read_text(reader, entry, "version", context, &dependency->version) < 0 ||
        read_text(reader, entry, "uri", context, &dependency->uri) < 0 ||
        read_digest(reader, entry, "sha256", 64, cfbp_digest_is_sha256_hex, "a SHA-256", context,
                    &dependency->sha256) < 0 ||
        read_optional(reader, entry, "file", context, &dependency->file) < 0 ||
        read_string_list(reader, cfbp_yaml_get(entry, "cf_stacks"), what.buf,
                         &dependency->cf_stacks) < 0 ||
        read_modules(reader, entry, context, &dependency->modules) < 0)
        result = -1;
    /* md5 is no key of libbuildpack's: read only as the digest of an entry without sha256. */
    if (result == 0 && !dependency->sha256) {
        if (reader->check_values)
            result = read_digest(reader, entry, "md5", 32, cfbp_digest_is_md5_hex, "an MD5",
                                 context, &dependency->md5);
        else
            dependency->md5 = read_informational(entry, "md5");
    }
    if (result == 0) {
        dependency->source = read_informational(entry, "source");
        dependency->source_sha256 = read_informational(entry, "source_sha256");
    }
    if (result == 0 && reader->check_values && dependency->file && dependency->file[0] != '/') {
        struct cfbp_strbuf clean = CFBP_STRBUF_INIT;
        if (!cfbp_path_clean_relative(&clean, dependency->file))
            result = cfbp_yaml_error_at(reader->doc, cfbp_yaml_get(entry, "file"), reader->err,
                                        "%s.file '%s' must stay inside the buildpack (no '..')",
                                        context, dependency->file);
        cfbp_strbuf_release(&clean);
    }
    cfbp_strbuf_release(&what);
    if (result < 0)
        dependency_release(dependency);
    return result;
}

static int read_default(const struct reader *reader, const struct cfbp_yaml_node *entry,
                        const char *context, struct cfbp_default_version *out)
{
    memset(out, 0, sizeof(*out));
    out->line = entry->line;
    out->column = entry->column;
    if (expect_entry(reader, entry, context) < 0 ||
        read_text(reader, entry, "name", context, &out->name) < 0 ||
        read_text(reader, entry, "version", context, &out->version) < 0) {
        free(out->name);
        free(out->version);
        memset(out, 0, sizeof(*out));
        return -1;
    }
    /*
     * The constraint is not checked here: libbuildpack fails only when the
     * default is resolved (and Go's packager only with --stack), and real
     * manifests held defaults no parser takes (php-buildpack's newrelic
     * '7.6.0.201' for years) that were never resolved.
     */
    return 0;
}

/* --- deprecation dates --- */

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* Takes min_digits to max_digits decimal digits from *text (Go's getnum when max is 2). */
static bool take_number(const char **text, int min_digits, int max_digits, int *out)
{
    int digits = 0, value = 0;
    while (digits < max_digits && isdigit((unsigned char)(*text)[digits]))
        value = value * 10 + ((*text)[digits++] - '0');
    if (digits < min_digits)
        return false;
    *text += digits;
    *out = value;
    return true;
}

/*
 * Parses a date as yaml.v2 reads a timestamp (its allowedTimestampFormats,
 * checked by Go's time.Parse): "2006-1-2", "2006-1-2 15:4:5.999999999"
 * (UTC), or "2006-1-2T15:4:5.999999999Z07:00" (also with a lowercase t), with
 * one- or two-digit fields after the year, the fraction optional, and a real
 * calendar day. Sets the date's fields and the instant it names.
 */
static bool parse_timestamp(const char *text, struct cfbp_deprecation *out)
{
    int year, month, day, hour = 0, minute = 0, second = 0;
    long offset = 0;
    const char *at = text;
    if (!take_number(&at, 4, 4, &year) || *at++ != '-' || !take_number(&at, 1, 2, &month) ||
        *at++ != '-' || !take_number(&at, 1, 2, &day))
        return false;
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return false;
    if (*at) {
        char separator = *at++;
        if (separator != 'T' && separator != 't' && separator != ' ')
            return false;
        if (!take_number(&at, 1, 2, &hour) || *at++ != ':' || !take_number(&at, 1, 2, &minute) ||
            *at++ != ':' || !take_number(&at, 1, 2, &second) || hour > 23 || minute > 59 ||
            second > 59)
            return false;
        if ((*at == '.' || *at == ',') && isdigit((unsigned char)at[1]))
            for (at++; isdigit((unsigned char)*at); at++)
                ;               /* the fraction of a second: the instant is kept to the second */
        if (separator != ' ') { /* Z07:00: a zone is required */
            if (*at == 'Z') {
                at++;
            } else {
                int zone_hours, zone_minutes;
                char sign = *at++;
                if ((sign != '+' && sign != '-') || !take_number(&at, 2, 2, &zone_hours) ||
                    *at++ != ':' || !take_number(&at, 2, 2, &zone_minutes) || zone_hours > 24 ||
                    zone_minutes > 60)
                    return false;
                offset = (sign == '-' ? -1 : 1) * (zone_hours * 3600L + zone_minutes * 60L);
            }
        }
        if (*at)
            return false;
    }
    struct tm utc = {.tm_year = year - 1900,
                     .tm_mon = month - 1,
                     .tm_mday = day,
                     .tm_hour = hour,
                     .tm_min = minute,
                     .tm_sec = second};
    out->year = year;
    out->month = month;
    out->day = day;
    out->moment = timegm(&utc) - offset;
    return true;
}

static void deprecation_release(struct cfbp_deprecation *entry)
{
    free(entry->name);
    free(entry->version_line);
    free(entry->date);
    free(entry->link);
    memset(entry, 0, sizeof(*entry));
}

/*
 * libbuildpack keeps the date as a string and parses it only when a
 * dependency it names is installed, failing that install unless it is
 * exactly YYYY-MM-DD. We read it as yaml.v2 reads a timestamp, so 2025-4-30
 * is the date it says (README, "Where we differ"), and refuse at load one
 * that is no date at all rather than fail a later install. An entry without
 * a date (a real php-buildpack manifest wrote deprecation_date:) can never
 * warn: it is left out (returns 1).
 */
static int read_deprecation(const struct reader *reader, const struct cfbp_yaml_node *entry,
                            const char *context, struct cfbp_deprecation *out)
{
    memset(out, 0, sizeof(*out));
    if (expect_entry(reader, entry, context) < 0 ||
        read_text(reader, entry, "name", context, &out->name) < 0 ||
        read_text(reader, entry, "version_line", context, &out->version_line) < 0 ||
        read_optional(reader, entry, "date", context, &out->date) < 0 ||
        read_optional(reader, entry, "link", context, &out->link) < 0)
        goto fail;
    if (!out->date) {
        deprecation_release(out);
        return 1;
    }
    if (!parse_timestamp(out->date, out)) {
        cfbp_yaml_error_at(reader->doc, cfbp_yaml_get(entry, "date"), reader->err,
                           "%s.date must be a date such as 2025-04-30 (YYYY-MM-DD), not '%s'",
                           context, out->date);
        goto fail;
    }
    return 0;
fail:
    deprecation_release(out);
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

/*
 * Adds dependency or, with replace (an override.yml), puts it in place of the
 * entry with its name and version. An override entry without a uri only adds
 * a version: upstream never replaces (contract §5.7), and without a uri there
 * is nothing to replace with, so the entry already there stays.
 */
static void add_or_replace_dependency(struct cfbp_manifest *manifest, struct entry_index *index,
                                      struct cfbp_dependency *dependency, bool replace)
{
    struct cfbp_strbuf key = CFBP_STRBUF_INIT;
    dependency_key(&key, dependency);
    size_t at = replace ? find_or_add(index, key.buf, manifest->dependency_count)
                        : manifest->dependency_count;
    cfbp_strbuf_release(&key);
    if (at < manifest->dependency_count) {
        if (!*dependency->uri) {
            dependency_release(dependency);
            return;
        }
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
static int read_entries(struct cfbp_manifest *manifest, const struct reader *reader,
                        const struct cfbp_yaml_node *mapping, bool replace)
{
    const struct cfbp_yaml_node *defaults = cfbp_yaml_get(mapping, "default_versions");
    const struct cfbp_yaml_node *dependencies = cfbp_yaml_get(mapping, "dependencies");
    if (expect_list(reader, defaults, "default_versions") < 0 ||
        expect_list(reader, dependencies, "dependencies") < 0)
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
        result = read_default(reader, defaults->items[i], context.buf, &entry);
        if (result == 0)
            add_or_replace_default(manifest, &default_index, &entry, replace);
    }
    for (size_t i = 0; result == 0 && dependencies && i < dependencies->count; i++) {
        struct cfbp_dependency entry;
        cfbp_strbuf_reset(&context);
        cfbp_strbuf_append_format(&context, "dependencies[%zu]", i);
        result = read_dependency(reader, dependencies->items[i], context.buf, &entry);
        if (result == 0)
            add_or_replace_dependency(manifest, &dependency_index, &entry, replace);
    }
    entry_index_release(&default_index);
    entry_index_release(&dependency_index);
    cfbp_strbuf_release(&context);
    cfbp_strbuf_release(&key);
    return result;
}

static int read_deprecations(struct cfbp_manifest *manifest, const struct reader *reader,
                             const struct cfbp_yaml_node *list)
{
    if (expect_list(reader, list, "dependency_deprecation_dates") < 0)
        return -1;
    struct cfbp_strbuf context = CFBP_STRBUF_INIT;
    int result = 0;
    for (size_t i = 0; result == 0 && list && i < list->count; i++) {
        struct cfbp_deprecation entry;
        cfbp_strbuf_reset(&context);
        cfbp_strbuf_append_format(&context, "dependency_deprecation_dates[%zu]", i);
        int read = read_deprecation(reader, list->items[i], context.buf, &entry);
        if (read < 0) {
            result = -1;
        } else if (read == 0) {
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

/* An empty document is Go's zero manifest: no language, nothing listed. */
static int read_top_level(struct cfbp_manifest *manifest, bool check_values, struct cfbp_error *err)
{
    const struct reader reader = {&manifest->document, check_values, err};
    const struct cfbp_yaml_node *root = manifest->document.root;
    if (!cfbp_yaml_is_null(root) &&
        cfbp_yaml_expect(reader.doc, root, CFBP_YAML_MAPPING, "the manifest", err) < 0)
        return -1;
    if (read_text(&reader, root, "language", "the manifest", &manifest->language) < 0 ||
        read_optional(&reader, root, "stack", "the manifest", &manifest->stack) < 0 ||
        read_optional(&reader, root, "pre_package", "the manifest", &manifest->pre_package) < 0 ||
        read_string_list(&reader, cfbp_yaml_get(root, "include_files"), "include_files",
                         &manifest->include_files) < 0 ||
        read_entries(manifest, &reader, root, false) < 0)
        return -1;
    /* Go's packager model has no deprecation dates: `summary` does not read them. */
    if (check_values && read_deprecations(manifest, &reader,
                                          cfbp_yaml_get(root, "dependency_deprecation_dates")) < 0)
        return -1;
    return 0;
}

static int load(struct cfbp_manifest *manifest, const char *root, bool with_version,
                bool check_values, struct cfbp_error *err)
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
    /* The summary reads what Go's packager reads, and yaml.v2 takes a repeated key's last
     * value; what gets installed or packaged is never read from such a file. */
    int result =
        cfbp_yaml_load_file_with_flags(&manifest->document, manifest->path, CFBP_MANIFEST_MAX_BYTES,
                                       check_values ? 0 : CFBP_YAML_LAST_KEY_WINS, err);
    if (result == 0)
        result = read_top_level(manifest, check_values, err);
    if (result == 0 && with_version)
        result = read_version_file(manifest, err);
    if (result < 0)
        cfbp_manifest_release(manifest);
    return result;
}

int cfbp_manifest_load(struct cfbp_manifest *manifest, const char *root, struct cfbp_error *err)
{
    return load(manifest, root, true, true, err);
}

int cfbp_manifest_load_without_version(struct cfbp_manifest *manifest, const char *root,
                                       struct cfbp_error *err)
{
    return load(manifest, root, false, true, err);
}

int cfbp_manifest_load_for_summary(struct cfbp_manifest *manifest, const char *root,
                                   struct cfbp_error *err)
{
    return load(manifest, root, false, false, err);
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
    for (size_t i = 0; i < manifest->deprecation_count; i++)
        deprecation_release(&manifest->deprecations[i]);
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
        if (result == 0 && !cfbp_yaml_is_null(doc.root))
            result = cfbp_yaml_expect(&doc, doc.root, CFBP_YAML_MAPPING, "override.yml", err);
        if (result == 0 && !cfbp_yaml_is_null(section)) {
            const struct reader reader = {&doc, true, err};
            result = cfbp_yaml_expect(&doc, section, CFBP_YAML_MAPPING, manifest->language, err);
            if (result == 0)
                result = read_entries(manifest, &reader, section, true);
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
