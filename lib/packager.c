/*
 * packager.c - buildpack zips and their summary (see packager.h).
 *
 * cfbp_package is a pipeline over one struct package_run: check the
 * manifest, copy the source and run pre_package, collect the members, audit
 * the programs, find every cached dependency, rewrite the manifest, zip.
 * Each stage either completes or leaves an error; the copy is removed and an
 * unfinished zip abandoned whatever happens.
 */
#include "cfbp/packager.h"

#include "cfbp/alloc.h"
#include "cfbp/elf_audit.h"
#include "cfbp/error.h"
#include "cfbp/fetch.h"
#include "cfbp/fs.h"
#include "cfbp/manifest.h"
#include "cfbp/path.h"
#include "cfbp/process.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"
#include "cfbp/uri.h"
#include "cfbp/version.h"
#include "cfbp/yaml.h"
#include "cfbp/zip.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How much of a failing pre_package's output an error message carries. */
#define OUTPUT_TAIL 4000

struct member {
    char *name;       /* the path inside the zip */
    char *path;       /* the file to read, or NULL for generated content */
    const char *data; /* generated content (manifest.yml, VERSION) */
    size_t length;
    mode_t mode;
    const struct cfbp_dependency *dependency; /* for cached dependencies: checked on the way */
    bool from_download_cache;                 /* a damaged copy there is removed */
};

struct package_run {
    const struct cfbp_package_options *options;
    struct cfbp_manifest manifest;
    char *source_root; /* absolute; the manifest may be re-read from the copy */
    char *version;
    struct cfbp_strbuf work_dir, copy_dir;
    struct member *members;
    size_t member_count, member_alloc;
    struct cfbp_strbuf packaged_manifest;
    struct cfbp_error *err;
};

static void report(const struct package_run *run, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void report(const struct package_run *run, const char *format, ...)
{
    const struct cfbp_package_reporter *reporter = &run->options->reporter;
    if (!reporter->step)
        return;
    struct cfbp_strbuf message = CFBP_STRBUF_INIT;
    va_list args;
    va_start(args, format);
    cfbp_strbuf_append_vformat(&message, format, args);
    va_end(args);
    reporter->step(reporter->data, message.buf);
    cfbp_strbuf_release(&message);
}

void cfbp_package_zip_name(struct cfbp_strbuf *out, const char *language, bool cached,
                           const char *stack, const char *version)
{
    cfbp_strbuf_reset(out);
    cfbp_strbuf_append_format(out, "%s_buildpack%s", language, cached ? "-cached" : "");
    if (stack)
        cfbp_strbuf_append_format(out, "-%s", stack);
    cfbp_strbuf_append_format(out, "-v%s.zip", version);
}

/* --- checking the manifest (§9.2 step 1) --- */

/* Whether the dependency goes into this package at all (§5.2). */
static bool kept(const struct package_run *run, const struct cfbp_dependency *dependency)
{
    if (run->options->stack)
        return cfbp_string_list_contains(&dependency->cf_stacks, run->options->stack);
    return dependency->cf_stacks.count > 0; /* --any-stack drops entries with no stack */
}

static int check_manifest(struct package_run *run)
{
    const struct cfbp_manifest *manifest = &run->manifest;
    const char *stack = run->options->stack;
    if (manifest->stack)
        return cfbp_error_set(run->err, CFBP_ERROR_INVALID,
                              "Cannot package from already packaged buildpack manifest");
    bool stack_found = manifest->dependency_count == 0;
    for (size_t i = 0; i < manifest->dependency_count; i++)
        stack_found = stack_found || kept(run, &manifest->dependencies[i]);
    if (stack && !stack_found)
        return cfbp_error_set(run->err, CFBP_ERROR_STACK, "Stack `%s` not found in manifest",
                              stack);
    for (size_t d = 0; d < manifest->default_count; d++) {
        struct cfbp_string_list versions = CFBP_STRING_LIST_INIT;
        for (size_t i = 0; i < manifest->dependency_count; i++)
            if (strcmp(manifest->dependencies[i].name, manifest->defaults[d].name) == 0 &&
                kept(run, &manifest->dependencies[i]))
                cfbp_string_list_append(&versions, manifest->dependencies[i].version);
        size_t match;
        struct cfbp_error ignored = CFBP_ERROR_INIT;
        int found = cfbp_version_find_match(manifest->defaults[d].version,
                                            (const char *const *)versions.items, versions.count,
                                            &match, &ignored);
        cfbp_error_clear(&ignored);
        cfbp_string_list_clear(&versions);
        if (found < 0 && stack)
            return cfbp_error_set(run->err, CFBP_ERROR_INVALID,
                                  "No matching default dependency `%s` for stack `%s`",
                                  manifest->defaults[d].name, stack);
        if (found < 0)
            return cfbp_error_set(run->err, CFBP_ERROR_INVALID,
                                  "No matching default dependency `%s`",
                                  manifest->defaults[d].name);
    }
    return 0;
}

static int read_version(struct package_run *run)
{
    if (run->options->version) {
        run->version = cfbp_xstrdup(run->options->version);
        return 0;
    }
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, text = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, run->source_root, "VERSION");
    int result = cfbp_fs_read_file(path.buf, 4096, &text, run->err);
    cfbp_strbuf_trim(&text);
    if (result < 0)
        cfbp_error_prefix(run->err, "unable to read VERSION file (or pass --version)");
    else if (text.len == 0)
        result = cfbp_error_set(run->err, CFBP_ERROR_INVALID, "%s is empty", path.buf);
    else
        run->version = cfbp_strbuf_detach(&text, NULL);
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&text);
    return result;
}

/* --- the working copy and pre_package (§9.2 steps 2, 3, 5) --- */

/* Not copied: git metadata, the Go packager's `tests`, and CMake build trees. */
static bool skip_in_copy(const char *relative, void *data)
{
    const char *source = data;
    if (strchr(relative, '/'))
        return false;
    if (strcmp(relative, ".git") == 0 || strcmp(relative, "tests") == 0)
        return true;
    struct cfbp_strbuf cache = CFBP_STRBUF_INIT;
    cfbp_path_join(&cache, source, relative);
    cfbp_path_append(&cache, "CMakeCache.txt");
    bool build_tree = cfbp_fs_exists(cache.buf);
    cfbp_strbuf_release(&cache);
    return build_tree;
}

static int make_copy(struct package_run *run)
{
    const char *temp = getenv("TMPDIR");
    if (cfbp_fs_make_temp_dir(temp && *temp ? temp : "/tmp", "cfbp-package-", &run->work_dir,
                              run->err) < 0)
        return -1;
    cfbp_path_join(&run->copy_dir, run->work_dir.buf, "buildpack");
    if (cfbp_fs_copy_tree(run->source_root, run->copy_dir.buf, skip_in_copy, run->source_root,
                          run->err) < 0)
        return -1;
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, run->copy_dir.buf, "VERSION");
    int result = cfbp_fs_write_file(path.buf, run->version, strlen(run->version), 0644, run->err);
    cfbp_strbuf_release(&path);
    return result;
}

static int run_pre_package(struct package_run *run)
{
    const char *command = run->manifest.pre_package;
    if (!command)
        return 0;
    report(run, "Running pre_package: %s", command);
    struct cfbp_strbuf program = CFBP_STRBUF_INIT, output = CFBP_STRBUF_INIT;
    if (command[0] == '/')
        cfbp_strbuf_set(&program, command);
    else
        cfbp_path_join(&program, run->copy_dir.buf, command);
    char *argv[] = {program.buf, NULL};
    int status = 0;
    int result = cfbp_process_run_capture(argv, run->copy_dir.buf, &status, &output, run->err);
    if (result < 0) {
        cfbp_error_prefix(run->err, "pre_package");
    } else if (status != 0) {
        size_t skip = output.len > OUTPUT_TAIL ? output.len - OUTPUT_TAIL : 0;
        result = cfbp_error_set(run->err, CFBP_ERROR_FAILED,
                                "pre_package %s failed with exit status %d; its output%s:\n%s",
                                command, status, skip ? " (the end)" : "", output.buf + skip);
    }
    cfbp_strbuf_release(&program);
    cfbp_strbuf_release(&output);
    return result;
}

/* pre_package may rewrite manifest.yml: the copy's is the one that is packaged. */
static int reload_manifest(struct package_run *run)
{
    struct cfbp_manifest reloaded;
    if (cfbp_manifest_load_without_version(&reloaded, run->copy_dir.buf, run->err) < 0)
        return cfbp_error_prefix(run->err, "after pre_package");
    cfbp_manifest_release(&run->manifest);
    run->manifest = reloaded;
    return check_manifest(run);
}

/* --- members --- */

static struct member *add_member(struct package_run *run, const char *name)
{
    CFBP_GROW(run->members, run->member_alloc, run->member_count + 1);
    struct member *member = &run->members[run->member_count++];
    memset(member, 0, sizeof(*member));
    member->name = cfbp_xstrdup(name);
    return member;
}

static mode_t shipped_mode(mode_t mode)
{
    return (mode & 0111) ? 0755 : 0644;
}

static int add_included_files(struct package_run *run)
{
    struct cfbp_strbuf name = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT;
    int result = 0;
    const struct cfbp_string_list *files = &run->manifest.include_files;
    for (size_t i = 0; result == 0 && i < files->count; i++) {
        if (!cfbp_path_clean_relative(&name, files->items[i])) {
            result = cfbp_error_set(run->err, CFBP_ERROR_INVALID,
                                    "include_files entry '%s' must be a path inside the buildpack",
                                    files->items[i]);
            break;
        }
        struct member *member = add_member(run, name.buf);
        if (strcmp(name.buf, "VERSION") == 0) {
            member->data = run->version; /* written without a newline (§5.3) */
            member->length = strlen(run->version);
            member->mode = 0644;
            continue;
        }
        if (strcmp(name.buf, "manifest.yml") == 0) {
            member->mode = 0644; /* the packaged manifest, filled in later */
            continue;
        }
        cfbp_path_join(&path, run->copy_dir.buf, name.buf);
        struct stat st;
        if (stat(path.buf, &st) < 0) {
            result = cfbp_error_set_errno(run->err, CFBP_ERROR_NOT_FOUND, errno,
                                          "failed to open included_file: %s", name.buf);
        } else if (!S_ISREG(st.st_mode)) {
            result = cfbp_error_set(run->err, CFBP_ERROR_INVALID,
                                    "included_file %s is not a file; list files in include_files",
                                    name.buf);
        } else {
            member->path = cfbp_xstrdup(path.buf);
            member->mode = shipped_mode(st.st_mode);
        }
    }
    cfbp_strbuf_release(&name);
    cfbp_strbuf_release(&path);
    return result;
}

/* Every shipped ELF program must run on the stack(s) the zip is for (contract §16). */
static int audit_programs(struct package_run *run)
{
    struct cfbp_string_list stacks = CFBP_STRING_LIST_INIT;
    if (run->options->stack) {
        cfbp_string_list_append(&stacks, run->options->stack);
    } else {
        for (size_t i = 0; i < run->manifest.dependency_count; i++)
            for (size_t j = 0; j < run->manifest.dependencies[i].cf_stacks.count; j++)
                if (!cfbp_string_list_contains(&stacks,
                                               run->manifest.dependencies[i].cf_stacks.items[j]))
                    cfbp_string_list_append(&stacks,
                                            run->manifest.dependencies[i].cf_stacks.items[j]);
        if (stacks.count == 0)
            cfbp_string_list_append(&stacks, "cflinuxfs4");
    }
    int result = 0;
    for (size_t s = 0; result == 0 && s < stacks.count; s++) {
        if (!cfbp_elf_knows_stack(stacks.items[s])) {
            report(run, "Not checking programs for %s: its libraries are not known",
                   stacks.items[s]);
            continue;
        }
        for (size_t i = 0; result == 0 && i < run->member_count; i++) {
            const struct member *member = &run->members[i];
            if (member->path && !member->dependency && cfbp_elf_is_elf(member->path))
                result = cfbp_elf_audit(member->path, member->name, stacks.items[s], run->err);
        }
        if (result == 0)
            report(run, "Checked the programs against %s", stacks.items[s]);
    }
    cfbp_string_list_clear(&stacks);
    return result;
}

/* --- dependencies (§9.2 step 7) --- */

static void dependency_member_name(const struct cfbp_dependency *dependency,
                                   struct cfbp_strbuf *out)
{
    char md5[CFBP_DIGEST_HEX_SIZE];
    struct cfbp_strbuf file_name = CFBP_STRBUF_INIT;
    cfbp_digest_of_bytes(CFBP_DIGEST_MD5, dependency->uri, strlen(dependency->uri), md5);
    cfbp_strbuf_reset(out);
    cfbp_strbuf_append_format(out, "dependencies/%s/%s", md5,
                              cfbp_uri_file_name(&file_name, dependency->uri));
    cfbp_strbuf_release(&file_name);
}

static bool is_url(const char *text)
{
    return cfbp_uri_scheme_of(text) != CFBP_URI_OTHER;
}

static void download_progress(void *data, unsigned long long received, unsigned long long total)
{
    const struct package_run *run = data;
    const struct cfbp_package_reporter *reporter = &run->options->reporter;
    if (reporter->progress)
        reporter->progress(reporter->data, "download", received, total);
}

/* Downloads url into path (through path.partial), refusing the wrong digest. */
static int download(struct package_run *run, const struct cfbp_dependency *dependency,
                    const char *url, const char *path)
{
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT, partial = CFBP_STRBUF_INIT,
                       directory = CFBP_STRBUF_INIT;
    cfbp_uri_redact(&shown, url);
    report(run, "Downloading %s %s from %s", dependency->name, dependency->version, shown.buf);
    cfbp_strbuf_append_format(&partial, "%s.partial", path);
    cfbp_path_dirname(&directory, path);
    struct cfbp_fetch_options fetch;
    cfbp_fetch_options_init(&fetch);
    fetch.progress = download_progress;
    fetch.progress_data = run;
    char actual[CFBP_DIGEST_HEX_SIZE];
    int result = cfbp_fs_mkdir_p(directory.buf, 0755, run->err);
    if (result == 0)
        result = cfbp_fetch_to_file(url, partial.buf, &fetch, NULL, actual, run->err);
    if (result == 0 && strcmp(actual, dependency->sha256) != 0) {
        unlink(partial.buf);
        result = cfbp_error_set(run->err, CFBP_ERROR_CHECKSUM,
                                "sha256 mismatch: expected sha256 %s, actual sha256 %s",
                                dependency->sha256, actual);
    }
    if (result == 0 && rename(partial.buf, path) < 0) {
        result = cfbp_error_set_errno(run->err, CFBP_ERROR_IO, errno, "cannot write %s", path);
        unlink(partial.buf);
    }
    if (result < 0)
        rmdir(directory.buf); /* only when empty: nothing half-downloaded stays cached */
    cfbp_strbuf_release(&shown);
    cfbp_strbuf_release(&partial);
    cfbp_strbuf_release(&directory);
    return result;
}

/* Words a dependency's error as the Go packager does: "<uri> (<name> <version>): ...". */
static int dependency_error(struct package_run *run, const struct cfbp_dependency *dependency)
{
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT;
    cfbp_uri_redact(&shown, dependency->uri);
    cfbp_error_set(run->err, run->err->kind, "%s (%s %s): %s%s", shown.buf, dependency->name,
                   dependency->version, run->err->kind == CFBP_ERROR_CHECKSUM ? "dependency " : "",
                   run->err->message);
    cfbp_strbuf_release(&shown);
    return -1;
}

/* The directory or base URL of --mirror, joined with a file name. */
static void mirror_location(const char *mirror, const char *file_name, struct cfbp_strbuf *out)
{
    cfbp_strbuf_set(out, mirror);
    while (out->len > 1 && out->buf[out->len - 1] == '/')
        cfbp_strbuf_set_length(out, out->len - 1);
    cfbp_strbuf_append_format(out, "/%s", file_name);
}

/*
 * Puts in member->path the local file holding the dependency's bytes, from
 * the first of (see packager.h): local_dependencies, the download cache,
 * then --mirror instead of the uri (a directory is read in place, a URL
 * downloaded into the cache), or the uri itself (file:// read in place).
 */
static int find_dependency(struct package_run *run, const struct cfbp_dependency *dependency,
                           const char *local_dependencies, struct member *member)
{
    const struct cfbp_package_options *options = run->options;
    struct cfbp_strbuf file_name = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT,
                       url = CFBP_STRBUF_INIT, cached = CFBP_STRBUF_INIT;
    cfbp_uri_file_name(&file_name, dependency->uri);
    cfbp_path_join(&cached, options->cache_dir, member->name);
    int result = 0;
    if (local_dependencies) {
        cfbp_path_join(&path, run->copy_dir.buf, local_dependencies);
        cfbp_path_append(&path, file_name.buf);
    }
    if (local_dependencies && cfbp_fs_is_file(path.buf)) {
        /* built by pre_package */
    } else if (cfbp_fs_is_file(cached.buf)) {
        cfbp_strbuf_set(&path, cached.buf);
        member->from_download_cache = true;
    } else if (options->mirror && !is_url(options->mirror)) {
        mirror_location(options->mirror, file_name.buf, &path);
        if (!cfbp_fs_is_file(path.buf))
            result = cfbp_error_set(run->err, CFBP_ERROR_NOT_FOUND, "the mirror %s has no %s",
                                    options->mirror, file_name.buf);
    } else if (!options->mirror && cfbp_uri_scheme_of(dependency->uri) == CFBP_URI_FILE) {
        result = cfbp_uri_file_path(&path, dependency->uri, run->err);
    } else {
        if (options->mirror)
            mirror_location(options->mirror, file_name.buf, &url);
        else
            cfbp_strbuf_set(&url, dependency->uri);
        result = download(run, dependency, url.buf, cached.buf);
        cfbp_strbuf_set(&path, cached.buf);
        member->from_download_cache = true;
    }
    if (result == 0)
        member->path = cfbp_strbuf_detach(&path, NULL);
    cfbp_strbuf_release(&file_name);
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&url);
    cfbp_strbuf_release(&cached);
    return result;
}

/* The member already holding this dependency file (the same uri listed for two stacks). */
static const struct member *same_file(const struct package_run *run, const char *name)
{
    for (size_t i = 0; i < run->member_count; i++)
        if (strcmp(run->members[i].name, name) == 0)
            return &run->members[i];
    return NULL;
}

static int add_dependencies(struct package_run *run)
{
    if (!run->options->cache_dir)
        return cfbp_error_set(run->err, CFBP_ERROR_USAGE,
                              "a cached package needs a download cache directory");
    const struct cfbp_yaml_node *local =
        cfbp_yaml_get(run->manifest.document.root, "local_dependencies");
    if (local && local->type != CFBP_YAML_SCALAR)
        return cfbp_yaml_error_at(&run->manifest.document, local, run->err,
                                  "local_dependencies must be a directory name");
    struct cfbp_strbuf name = CFBP_STRBUF_INIT;
    int result = 0;
    for (size_t i = 0; result == 0 && i < run->manifest.dependency_count; i++) {
        const struct cfbp_dependency *dependency = &run->manifest.dependencies[i];
        if (!kept(run, dependency))
            continue;
        dependency_member_name(dependency, &name);
        const struct member *earlier = same_file(run, name.buf);
        if (earlier) {
            if (strcmp(earlier->dependency->sha256, dependency->sha256) != 0)
                result = cfbp_error_set(run->err, CFBP_ERROR_INVALID,
                                        "%s is listed twice with different sha256 values",
                                        dependency->uri);
            continue; /* one copy serves both entries */
        }
        struct member *member = add_member(run, name.buf);
        member->mode = 0644;
        member->dependency = dependency;
        result = find_dependency(run, dependency, local ? local->value : NULL, member);
        if (result < 0)
            dependency_error(run, dependency);
    }
    cfbp_strbuf_release(&name);
    return result;
}

/* --- the packaged manifest (§5.2) --- */

/* yaml.v2 reads a plain date as a string and quotes it when writing it back. */
static void quote_plain_dates(struct cfbp_yaml_node *node)
{
    if (node->type == CFBP_YAML_SCALAR) {
        if (!node->quoted && cfbp_yaml_meaning_of(node) == CFBP_YAML_TIMESTAMP)
            node->quoted = true;
        return;
    }
    for (size_t i = 0; i < node->count; i++) {
        if (node->type == CFBP_YAML_SEQUENCE) {
            quote_plain_dates(node->items[i]);
        } else {
            quote_plain_dates(node->keys[i]);
            quote_plain_dates(node->values[i]);
        }
    }
}

static int write_packaged_manifest(struct package_run *run)
{
    const struct cfbp_package_options *options = run->options;
    struct cfbp_yaml_node *root = cfbp_yaml_copy(run->manifest.document.root);
    cfbp_yaml_remove(root, "local_dependencies"); /* cfbp's, for packaging only */
    struct cfbp_yaml_node *entries = cfbp_yaml_get(root, "dependencies");
    struct cfbp_yaml_node *kept_entries = cfbp_yaml_new_sequence();
    struct cfbp_strbuf file = CFBP_STRBUF_INIT;
    /* The tree's entries are in the order manifest.dependencies was read from. */
    for (size_t i = 0; entries && i < entries->count && i < run->manifest.dependency_count; i++) {
        const struct cfbp_dependency *dependency = &run->manifest.dependencies[i];
        if (!kept(run, dependency))
            continue;
        struct cfbp_yaml_node *entry = cfbp_yaml_copy(entries->items[i]);
        if (options->stack)
            cfbp_yaml_remove(entry, "cf_stacks");
        if (options->cached) {
            dependency_member_name(dependency, &file);
            cfbp_yaml_set(entry, "file", cfbp_yaml_new_string(file.buf));
        }
        cfbp_yaml_append(kept_entries, entry);
    }
    if (entries)
        cfbp_yaml_set(root, "dependencies", kept_entries);
    else
        cfbp_yaml_free(kept_entries);
    if (options->stack)
        cfbp_yaml_set(root, "stack", cfbp_yaml_new_string(options->stack));
    quote_plain_dates(root);
    int result = cfbp_yaml_emit(&run->packaged_manifest, root, CFBP_YAML_EMIT_SORT_KEYS, run->err);
    cfbp_yaml_free(root);
    /* file: lines make the packaged manifest longer than the source (§2.1's limit). */
    if (result == 0 && run->packaged_manifest.len > CFBP_MANIFEST_MAX_BYTES)
        result = cfbp_error_set(run->err, CFBP_ERROR_INVALID,
                                "the packaged manifest.yml would be %zu bytes, over the 1 MiB "
                                "Cloud Controller accepts (\"buildpack manifest is too large\")",
                                run->packaged_manifest.len);
    cfbp_strbuf_release(&file);
    for (size_t i = 0; result == 0 && i < run->member_count; i++) {
        if (!run->members[i].path && !run->members[i].data) {
            run->members[i].data = run->packaged_manifest.buf;
            run->members[i].length = run->packaged_manifest.len;
        }
    }
    return result;
}

/* --- the zip (§9.2 step 8, made reproducible) --- */

static int compare_members(const void *a, const void *b)
{
    return strcmp(((const struct member *)a)->name, ((const struct member *)b)->name);
}

static void zip_progress(void *data, unsigned long long done, unsigned long long total)
{
    const struct package_run *run = data;
    if (run->options->reporter.progress)
        run->options->reporter.progress(run->options->reporter.data, "zip", done, total);
}

static int write_zip(struct package_run *run, struct cfbp_package_result *result)
{
    const struct cfbp_package_options *options = run->options;
    struct cfbp_strbuf name = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT;
    cfbp_package_zip_name(&name, run->manifest.language, options->cached, options->stack,
                          run->version);
    int status = cfbp_path_absolute(
        &path, options->output_dir ? options->output_dir : run->source_root, run->err);
    if (status == 0)
        status = cfbp_fs_mkdir_p(path.buf, 0755, run->err);
    cfbp_path_append(&path, name.buf);
    qsort(run->members, run->member_count, sizeof(*run->members), compare_members);
    for (size_t i = 1; status == 0 && i < run->member_count; i++)
        if (strcmp(run->members[i - 1].name, run->members[i].name) == 0)
            status = cfbp_error_set(run->err, CFBP_ERROR_INVALID, "%s would be in the zip twice",
                                    run->members[i].name);
    unsigned long long total = 0;
    for (size_t i = 0; i < run->member_count; i++) {
        struct stat st;
        if (run->members[i].path && stat(run->members[i].path, &st) == 0)
            total += (unsigned long long)st.st_size;
    }
    struct cfbp_zip *zip = NULL;
    if (status == 0)
        status = cfbp_zip_open(&zip, path.buf, options->mtime, run->err);
    if (status == 0) {
        report(run, "Writing %s", path.buf);
        cfbp_zip_set_progress(zip, total, zip_progress, run);
    }
    for (size_t i = 0; status == 0 && i < run->member_count; i++) {
        const struct member *member = &run->members[i];
        if (!member->path) {
            status = cfbp_zip_add_bytes(zip, member->name, member->data, member->length,
                                        member->mode, run->err);
            continue;
        }
        const struct cfbp_dependency *dependency = member->dependency;
        status = cfbp_zip_add_file(zip, member->name, member->path, member->mode,
                                   dependency ? dependency->sha256 : NULL, run->err);
        if (status < 0 && dependency) {
            dependency_error(run, dependency);
            cfbp_error_append(run->err, " (in %s)", member->path);
            if (run->err->kind == CFBP_ERROR_CHECKSUM && member->from_download_cache) {
                /* Downloads are checked before they are cached: this copy went bad since. */
                unlink(member->path);
                cfbp_error_append(run->err, "; the damaged cached copy was removed, run "
                                            "cfbp package again to download it");
            }
        }
    }
    if (status == 0) {
        status = cfbp_zip_commit(zip, &result->size, result->sha256, run->err);
        if (status == 0)
            result->zip_path = cfbp_strbuf_detach(&path, NULL);
    } else if (zip) {
        cfbp_zip_abandon(zip);
    }
    cfbp_strbuf_release(&name);
    cfbp_strbuf_release(&path);
    return status;
}

/* --- the pipeline --- */

static void run_release(struct package_run *run)
{
    if (run->work_dir.len) {
        struct cfbp_error ignored = CFBP_ERROR_INIT;
        cfbp_fs_remove_tree(run->work_dir.buf, &ignored);
        cfbp_error_clear(&ignored);
    }
    for (size_t i = 0; i < run->member_count; i++) {
        free(run->members[i].name);
        free(run->members[i].path);
    }
    free(run->members);
    free(run->version);
    free(run->source_root);
    cfbp_manifest_release(&run->manifest);
    cfbp_strbuf_release(&run->work_dir);
    cfbp_strbuf_release(&run->copy_dir);
    cfbp_strbuf_release(&run->packaged_manifest);
}

int cfbp_package(const struct cfbp_package_options *options, struct cfbp_package_result *result,
                 struct cfbp_error *err)
{
    memset(result, 0, sizeof(*result));
    struct package_run run = {.options = options, .err = err};
    cfbp_strbuf_init(&run.work_dir, 0);
    cfbp_strbuf_init(&run.copy_dir, 0);
    cfbp_strbuf_init(&run.packaged_manifest, 0);
    int status = cfbp_manifest_load_without_version(&run.manifest, options->source_dir, err);
    if (status == 0)
        run.source_root = cfbp_xstrdup(run.manifest.root);
    if (status == 0)
        status = read_version(&run);
    if (status == 0)
        status = check_manifest(&run);
    if (status == 0)
        status = make_copy(&run);
    if (status == 0)
        status = run_pre_package(&run);
    if (status == 0 && run.manifest.pre_package)
        status = reload_manifest(&run);
    if (status == 0)
        status = add_included_files(&run);
    if (status == 0)
        status = audit_programs(&run);
    if (status == 0 && options->cached)
        status = add_dependencies(&run);
    if (status == 0)
        status = write_packaged_manifest(&run);
    if (status == 0)
        status = write_zip(&run, result);
    run_release(&run);
    return status;
}

void cfbp_package_result_release(struct cfbp_package_result *result)
{
    free(result->zip_path);
    memset(result, 0, sizeof(*result));
}

/* --- summary (§9.4) --- */

static int compare_dependencies(const void *a, const void *b)
{
    const struct cfbp_dependency *x = *(const struct cfbp_dependency *const *)a;
    const struct cfbp_dependency *y = *(const struct cfbp_dependency *const *)b;
    int by_name = strcmp(x->name, y->name);
    return by_name ? by_name : cfbp_version_compare(x->version, y->version);
}

static void append_profiles(const struct cfbp_yaml_node *profiles, struct cfbp_strbuf *out)
{
    if (!profiles || profiles->type != CFBP_YAML_MAPPING || profiles->count == 0)
        return;
    struct cfbp_string_list lines = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf line = CFBP_STRBUF_INIT;
    for (size_t i = 0; i < profiles->count; i++) {
        const struct cfbp_yaml_node *description =
            cfbp_yaml_get(profiles->values[i], "description");
        cfbp_strbuf_reset(&line);
        cfbp_strbuf_append_format(
            &line, "  %-12s %s\n", profiles->keys[i]->value,
            description && description->type == CFBP_YAML_SCALAR ? description->value : "");
        cfbp_string_list_append(&lines, line.buf);
    }
    cfbp_string_list_sort(&lines);
    cfbp_strbuf_append_string(out, "\nPackaging profiles:\n\n");
    cfbp_string_list_join(&lines, "", out);
    cfbp_string_list_clear(&lines);
    cfbp_strbuf_release(&line);
}

int cfbp_package_summary(const char *source_dir, struct cfbp_strbuf *out, struct cfbp_error *err)
{
    struct cfbp_manifest manifest;
    if (cfbp_manifest_load_without_version(&manifest, source_dir, err) < 0)
        return -1;
    size_t count = manifest.dependency_count;
    const struct cfbp_dependency **sorted = cfbp_xcalloc(count ? count : 1, sizeof(*sorted));
    bool modules = false;
    for (size_t i = 0; i < count; i++) {
        sorted[i] = &manifest.dependencies[i];
        modules = modules || manifest.dependencies[i].modules.count > 0;
    }
    qsort(sorted, count, sizeof(*sorted), compare_dependencies);
    struct cfbp_string_list stacks = CFBP_STRING_LIST_INIT, names = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf joined = CFBP_STRBUF_INIT, module_names = CFBP_STRBUF_INIT;
    if (count) {
        cfbp_strbuf_append_string(out, "\nPackaged binaries:\n\n");
        cfbp_strbuf_append_string(out, modules ? "| name | version | cf_stacks | modules |\n"
                                                 "|-|-|-|-|\n"
                                               : "| name | version | cf_stacks |\n|-|-|-|\n");
    }
    for (size_t i = 0; i < count; i++) {
        cfbp_string_list_clear(&stacks);
        for (size_t j = 0; j < sorted[i]->cf_stacks.count; j++)
            cfbp_string_list_append(&stacks, sorted[i]->cf_stacks.items[j]);
        cfbp_string_list_sort(&stacks);
        cfbp_strbuf_reset(&joined);
        cfbp_string_list_join(&stacks, ", ", &joined);
        cfbp_strbuf_append_format(out, "| %s | %s | %s |", sorted[i]->name, sorted[i]->version,
                                  joined.buf);
        if (modules) {
            cfbp_string_list_clear(&names);
            for (size_t j = 0; j < sorted[i]->modules.count; j++)
                cfbp_string_list_append(&names, sorted[i]->modules.items[j]);
            cfbp_string_list_sort(&names);
            cfbp_strbuf_reset(&module_names);
            cfbp_string_list_join(&names, ", ", &module_names);
            cfbp_strbuf_append_format(out, " %s |", module_names.buf);
        }
        cfbp_strbuf_append_char(out, '\n');
    }
    if (manifest.default_count) {
        cfbp_strbuf_append_string(out, "\nDefault binary versions:\n\n| name | version |\n|-|-|\n");
        for (size_t i = 0; i < manifest.default_count; i++)
            cfbp_strbuf_append_format(out, "| %s | %s |\n", manifest.defaults[i].name,
                                      manifest.defaults[i].version);
    }
    append_profiles(cfbp_yaml_get(manifest.document.root, "packaging_profiles"), out);
    cfbp_string_list_clear(&stacks);
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&joined);
    cfbp_strbuf_release(&module_names);
    free(sorted);
    cfbp_manifest_release(&manifest);
    return 0;
}
