/*
 * install.c - installing manifest dependencies (see install.h).
 *
 * The work splits in three: find the entry (and explain a miss the way
 * libbuildpack does), get a local file holding its bytes (find_source), and
 * hand that file to cfbp_archive_install, which verifies while it extracts.
 */
#include "cfbp/install.h"

#include "cfbp/alloc.h"
#include "cfbp/archive.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/log.h"
#include "cfbp/manifest.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/uri.h"
#include "cfbp/version.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EOL_WARNING_DAYS 30

void cfbp_installer_init(struct cfbp_installer *installer, const struct cfbp_manifest *manifest,
                         const char *stack, struct cfbp_log *log)
{
    memset(installer, 0, sizeof(*installer));
    installer->manifest = manifest;
    installer->stack = stack;
    installer->log = log;
    cfbp_fetch_options_init(&installer->fetch);
    installer->now = time(NULL);
}

void cfbp_installer_set_app_cache_dir(struct cfbp_installer *installer, const char *cache_dir)
{
    free(installer->app_cache_dir);
    installer->app_cache_dir = cache_dir ? cfbp_xstrdup(cache_dir) : NULL;
}

void cfbp_installer_release(struct cfbp_installer *installer)
{
    free(installer->app_cache_dir);
    cfbp_string_list_clear(&installer->used_cache_files);
    memset(installer, 0, sizeof(*installer));
}

/* --- a missing entry --- */

static int report_missing(struct cfbp_installer *installer, const char *name, const char *version,
                          struct cfbp_error *err)
{
    struct cfbp_string_list versions = CFBP_STRING_LIST_INIT;
    cfbp_manifest_versions(installer->manifest, name, installer->stack, &versions);
    struct cfbp_strbuf message = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&message, "DEPENDENCY MISSING IN MANIFEST:\n\n");
    if (versions.count == 0) {
        cfbp_strbuf_append_format(&message, "Dependency %s is not provided by this buildpack\n",
                                  name);
    } else {
        cfbp_strbuf_append_format(&message,
                                  "Version %s of dependency %s is not supported by this "
                                  "buildpack.\nThe versions of %s supported in this buildpack "
                                  "are:\n",
                                  version, name, name);
        for (size_t i = 0; i < versions.count; i++)
            cfbp_strbuf_append_format(&message, "\t- %s\n", versions.items[i]);
    }
    cfbp_log_error(installer->log, "%s", message.buf);
    cfbp_strbuf_release(&message);
    cfbp_string_list_clear(&versions);
    return cfbp_error_set(err, CFBP_ERROR_NOT_FOUND, "dependency %s %s not found", name, version);
}

/* --- warnings (contract §6.6 steps 4 and 5) --- */

static void warn_newer_patch(struct cfbp_installer *installer,
                             const struct cfbp_dependency *dependency)
{
    struct cfbp_semver current;
    if (cfbp_semver_parse_lenient(&current, dependency->version) < 0)
        return; /* not semver: nothing to compare */
    if (current.prerelease) {
        /* libbuildpack#181: a prerelease is reported, never compared. */
        cfbp_log_warning(installer->log, "You are using the pre-release version %s of %s",
                         dependency->version, dependency->name);
        cfbp_semver_release(&current);
        return;
    }
    struct cfbp_strbuf line = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&line, "%llu.%llu.x", current.major, current.minor);
    cfbp_semver_release(&current);
    struct cfbp_string_list versions = CFBP_STRING_LIST_INIT;
    cfbp_manifest_versions(installer->manifest, dependency->name, installer->stack, &versions);
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    size_t match;
    if (cfbp_version_find_match(line.buf, (const char *const *)versions.items, versions.count,
                                &match, &ignored) == 0 &&
        cfbp_version_compare(versions.items[match], dependency->version) > 0)
        cfbp_log_warning(installer->log,
                         "A newer version of %s is available in this buildpack. Please adjust "
                         "your app to use version %s instead of version %s as soon as possible. "
                         "Old versions of %s are only provided to assist in migrating to newer "
                         "versions.",
                         dependency->name, versions.items[match], dependency->version,
                         dependency->name);
    cfbp_error_clear(&ignored);
    cfbp_string_list_clear(&versions);
    cfbp_strbuf_release(&line);
}

static void warn_end_of_life(struct cfbp_installer *installer,
                             const struct cfbp_dependency *dependency)
{
    const struct cfbp_manifest *manifest = installer->manifest;
    for (size_t i = 0; i < manifest->deprecation_count; i++) {
        const struct cfbp_deprecation *entry = &manifest->deprecations[i];
        if (strcmp(entry->name, dependency->name) != 0 ||
            !cfbp_version_matches(entry->version_line, dependency->version))
            continue;
        struct tm date = {
            .tm_year = entry->year - 1900, .tm_mon = entry->month - 1, .tm_mday = entry->day};
        if (timegm(&date) >= installer->now + (time_t)EOL_WARNING_DAYS * 24 * 3600)
            continue;
        if (entry->link)
            cfbp_log_warning(installer->log,
                             "%s %s will no longer be available in new buildpacks released after "
                             "%s.\nSee: %s",
                             entry->name, entry->version_line, entry->date, entry->link);
        else
            cfbp_log_warning(installer->log,
                             "%s %s will no longer be available in new buildpacks released after "
                             "%s.",
                             entry->name, entry->version_line, entry->date);
    }
}

/* --- sources --- */

struct source {
    struct cfbp_strbuf path;     /* the local file to install from */
    struct cfbp_strbuf temp_dir; /* a download without an app cache, removed afterwards */
    bool app_cache_hit;          /* path is a copy from an earlier staging */
};

static void app_cache_path(const struct cfbp_installer *installer, const char *uri,
                           struct cfbp_strbuf *out)
{
    char hash[CFBP_DIGEST_HEX_SIZE];
    struct cfbp_strbuf name = CFBP_STRBUF_INIT;
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, uri, strlen(uri), hash);
    cfbp_path_join(out, installer->app_cache_dir, "dependencies");
    cfbp_path_append(out, hash);
    cfbp_path_append(out, cfbp_uri_file_name(&name, uri));
    cfbp_strbuf_release(&name);
}

/* Names the dependency in a checksum error and says what to do about it (libbuildpack PR#209). */
static int checksum_context(struct cfbp_error *err, const struct cfbp_dependency *dependency)
{
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT;
    cfbp_uri_redact(&shown, dependency->uri);
    cfbp_error_set(err, CFBP_ERROR_CHECKSUM,
                   "%s %s from %s: dependency %s. The file is damaged or manifest.yml lists the "
                   "wrong sha256; nothing was installed",
                   dependency->name, dependency->version, shown.buf, err->message);
    cfbp_strbuf_release(&shown);
    return -1;
}

/* Downloads into path (through path.partial), refusing a file with the wrong digest. */
static int download(struct cfbp_installer *installer, const struct cfbp_dependency *dependency,
                    const char *path, struct cfbp_error *err)
{
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT, partial = CFBP_STRBUF_INIT,
                       directory = CFBP_STRBUF_INIT;
    cfbp_uri_redact(&shown, dependency->uri);
    cfbp_log_info(installer->log, "Download [%s]", shown.buf);
    cfbp_strbuf_append_format(&partial, "%s.partial", path);
    cfbp_path_dirname(&directory, path);
    char actual[CFBP_DIGEST_HEX_SIZE];
    int result = cfbp_fs_mkdir_p(directory.buf, 0755, err);
    if (result == 0)
        result = cfbp_fetch_to_file(dependency->uri, partial.buf, &installer->fetch, installer->log,
                                    actual, err);
    if (result == 0 && strcmp(actual, dependency->sha256) != 0) {
        unlink(partial.buf);
        cfbp_error_set(err, CFBP_ERROR_CHECKSUM,
                       "sha256 mismatch: expected sha256 %s, actual sha256 %s", dependency->sha256,
                       actual);
        result = checksum_context(err, dependency);
    }
    if (result == 0 && rename(partial.buf, path) < 0) {
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot move %s to %s",
                                      partial.buf, path);
        unlink(partial.buf);
    }
    if (result < 0)
        rmdir(directory.buf); /* only when empty: a refused download leaves nothing cached */
    if (result < 0 && err->kind != CFBP_ERROR_CHECKSUM)
        cfbp_error_prefix(err, "%s %s", dependency->name, dependency->version);
    cfbp_strbuf_release(&shown);
    cfbp_strbuf_release(&partial);
    cfbp_strbuf_release(&directory);
    return result;
}

/* A directory next to the destination for a download that has no app cache to live in. */
static int make_download_dir(const char *destination, struct cfbp_strbuf *out,
                             struct cfbp_error *err)
{
    struct cfbp_strbuf parent = CFBP_STRBUF_INIT;
    if (cfbp_fs_is_directory(destination))
        cfbp_strbuf_set(&parent, destination);
    else
        cfbp_path_dirname(&parent, destination);
    int result = cfbp_fs_mkdir_p(parent.buf, 0755, err);
    if (result == 0)
        result = cfbp_fs_make_temp_dir(parent.buf, ".cfbp-install-download-", out, err);
    cfbp_strbuf_release(&parent);
    return result;
}

static int find_source(struct cfbp_installer *installer, const struct cfbp_dependency *dependency,
                       const char *destination, struct source *source, struct cfbp_error *err)
{
    if (dependency->file) {
        if (dependency->file[0] == '/')
            cfbp_strbuf_set(&source->path, dependency->file);
        else
            cfbp_path_join(&source->path, installer->manifest->root, dependency->file);
        cfbp_log_info(installer->log, "Copy [%s]", source->path.buf);
        return 0;
    }
    if (cfbp_uri_scheme_of(dependency->uri) == CFBP_URI_FILE) {
        if (cfbp_uri_file_path(&source->path, dependency->uri, err) < 0)
            return -1;
        cfbp_log_info(installer->log, "Copy [%s]", source->path.buf);
        return 0;
    }
    if (installer->app_cache_dir) {
        app_cache_path(installer, dependency->uri, &source->path);
        if (!cfbp_string_list_contains(&installer->used_cache_files, source->path.buf))
            cfbp_string_list_append(&installer->used_cache_files, source->path.buf);
        if (cfbp_fs_is_file(source->path.buf)) {
            source->app_cache_hit = true;
            cfbp_log_info(installer->log, "Copy [%s]", source->path.buf);
            return 0;
        }
        return download(installer, dependency, source->path.buf, err);
    }
    if (make_download_dir(destination, &source->temp_dir, err) < 0)
        return -1;
    struct cfbp_strbuf name = CFBP_STRBUF_INIT;
    cfbp_path_join(&source->path, source->temp_dir.buf, cfbp_uri_file_name(&name, dependency->uri));
    cfbp_strbuf_release(&name);
    return download(installer, dependency, source->path.buf, err);
}

static void source_release(struct source *source)
{
    if (source->temp_dir.len) {
        struct cfbp_error ignored = CFBP_ERROR_INIT;
        cfbp_fs_remove_tree(source->temp_dir.buf, &ignored);
        cfbp_error_clear(&ignored);
    }
    cfbp_strbuf_release(&source->path);
    cfbp_strbuf_release(&source->temp_dir);
}

/* --- installing --- */

static int install_from(const struct cfbp_dependency *dependency, const char *path,
                        const char *destination, unsigned strip, struct cfbp_error *err)
{
    struct cfbp_strbuf name = CFBP_STRBUF_INIT;
    struct cfbp_archive_request request = {
        .source = path,
        .file_name = cfbp_uri_file_name(&name, dependency->uri),
        .expected_sha256 = dependency->sha256,
        .destination = destination,
        .strip_components = strip,
    };
    char actual[CFBP_DIGEST_HEX_SIZE];
    int result = cfbp_archive_install(&request, actual, err);
    if (result < 0) {
        if (err->kind == CFBP_ERROR_CHECKSUM)
            checksum_context(err, dependency);
        else
            cfbp_error_prefix(err, "installing %s %s", dependency->name, dependency->version);
    }
    cfbp_strbuf_release(&name);
    return result;
}

int cfbp_installer_install(struct cfbp_installer *installer, const char *name, const char *version,
                           const char *destination, unsigned strip_components,
                           struct cfbp_error *err)
{
    cfbp_log_begin_step(installer->log, "Installing %s %s", name, version);
    const struct cfbp_dependency *dependency =
        cfbp_manifest_find(installer->manifest, name, version, installer->stack);
    if (!dependency)
        return report_missing(installer, name, version, err);
    struct source source = {CFBP_STRBUF_INIT, CFBP_STRBUF_INIT, false};
    int result = find_source(installer, dependency, destination, &source, err);
    if (result == 0) {
        warn_newer_patch(installer, dependency);
        warn_end_of_life(installer, dependency);
        result = install_from(dependency, source.path.buf, destination, strip_components, err);
    }
    if (result < 0 && err->kind == CFBP_ERROR_CHECKSUM && source.app_cache_hit) {
        /* The cached copy went bad: drop it and fetch the real thing once. */
        cfbp_log_warning(installer->log,
                         "The cached copy of %s %s is damaged; downloading it again", name,
                         version);
        unlink(source.path.buf);
        cfbp_error_clear(err);
        result = download(installer, dependency, source.path.buf, err);
        if (result == 0)
            result = install_from(dependency, source.path.buf, destination, strip_components, err);
    }
    source_release(&source);
    return result;
}

int cfbp_installer_install_only_version(struct cfbp_installer *installer, const char *name,
                                        const char *destination, struct cfbp_error *err)
{
    struct cfbp_string_list versions = CFBP_STRING_LIST_INIT;
    cfbp_manifest_versions(installer->manifest, name, installer->stack, &versions);
    int result;
    if (versions.count == 0)
        result = cfbp_error_set(err, CFBP_ERROR_NOT_FOUND, "no versions of %s found", name);
    else if (versions.count > 1)
        result = cfbp_error_set(err, CFBP_ERROR_INVALID, "more than one version of %s found", name);
    else
        result = cfbp_installer_install(installer, name, versions.items[0], destination, 0, err);
    cfbp_string_list_clear(&versions);
    return result;
}

int cfbp_installer_clean_app_cache(struct cfbp_installer *installer, struct cfbp_error *err)
{
    if (!installer->app_cache_dir)
        return 0;
    struct cfbp_strbuf root = CFBP_STRBUF_INIT, directory = CFBP_STRBUF_INIT,
                       file = CFBP_STRBUF_INIT;
    struct cfbp_string_list hashes = CFBP_STRING_LIST_INIT;
    cfbp_path_join(&root, installer->app_cache_dir, "dependencies");
    int result = 0;
    if (cfbp_fs_is_directory(root.buf))
        result = cfbp_fs_list_directory(root.buf, &hashes, err);
    for (size_t i = 0; result == 0 && i < hashes.count; i++) {
        struct cfbp_string_list files = CFBP_STRING_LIST_INIT;
        cfbp_path_join(&directory, root.buf, hashes.items[i]);
        if (cfbp_fs_type_of(directory.buf) == CFBP_FS_DIRECTORY)
            result = cfbp_fs_list_directory(directory.buf, &files, err);
        size_t kept = files.count;
        for (size_t j = 0; result == 0 && j < files.count; j++) {
            cfbp_path_join(&file, directory.buf, files.items[j]);
            if (cfbp_string_list_contains(&installer->used_cache_files, file.buf))
                continue;
            cfbp_log_debug(installer->log, "Deleting cached file: %s", file.buf);
            result = cfbp_fs_remove_tree(file.buf, err);
            kept--;
        }
        if (result == 0 && kept == 0)
            rmdir(directory.buf);
        cfbp_string_list_clear(&files);
    }
    cfbp_string_list_clear(&hashes);
    cfbp_strbuf_release(&root);
    cfbp_strbuf_release(&directory);
    cfbp_strbuf_release(&file);
    return result;
}
