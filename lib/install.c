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
#include "cfbp/beneath.h"
#include "cfbp/dependency_mirror.h"
#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/log.h"
#include "cfbp/manifest.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/uri.h"
#include "cfbp/version.h"
#include "cfbp/workdir.h"

#include <errno.h>
#include <fcntl.h>
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
    cfbp_error_set(err, CFBP_ERROR_NOT_FOUND, "dependency %s %s not found", name, version);
    cfbp_error_set_detail(err, "%s", message.buf); /* libbuildpack's block, shown first */
    cfbp_strbuf_release(&message);
    cfbp_string_list_clear(&versions);
    return -1;
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
        /* As libbuildpack's warnEndOfLife: Masterminds only, or text for a non-semver version. */
        if (strcmp(entry->name, dependency->name) != 0 ||
            !cfbp_version_line_matches(entry->version_line, dependency->version))
            continue;
        if (entry->moment >= installer->now + (time_t)EOL_WARNING_DAYS * 24 * 3600)
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
    struct cfbp_workdir workdir; /* holds a download without an app cache, removed afterwards */
    bool app_cache_hit;          /* path is a copy from an earlier staging */
    /* For an md5-only entry: the sha256 of the bytes whose md5 matched, or "". */
    char md5_checked_sha256[CFBP_DIGEST_HEX_SIZE];
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
                   "wrong %s; nothing was installed",
                   dependency->name, dependency->version, shown.buf, err->message,
                   dependency->sha256 ? "sha256" : "md5");
    cfbp_strbuf_release(&shown);
    return -1;
}

/*
 * Checks an md5-only entry's file: md5 and sha256 in one read, the md5
 * compared with the manifest's, and the sha256 kept so that extraction
 * (which checks sha256 as it reads) takes exactly the bytes checked here.
 */
static int check_md5(const struct cfbp_dependency *dependency, const char *path,
                     char checked_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    struct cfbp_digest digests[2];
    char md5[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_start(&digests[0], CFBP_DIGEST_MD5);
    cfbp_digest_start(&digests[1], CFBP_DIGEST_SHA256);
    if (cfbp_digest_update_from_file(digests, 2, path, err) < 0)
        return -1;
    cfbp_digest_finish_hex(&digests[0], md5);
    cfbp_digest_finish_hex(&digests[1], checked_sha256);
    if (strcmp(md5, dependency->md5) == 0)
        return 0;
    checked_sha256[0] = '\0';
    cfbp_error_set(err, CFBP_ERROR_CHECKSUM, "md5 mismatch: expected md5 %s, actual md5 %s",
                   dependency->md5, md5);
    return checksum_context(err, dependency);
}

/*
 * Refuses, before anything is fetched, an entry that cannot be installed: an
 * override.yml may list a version without uri or digest (§5.7), which
 * libbuildpack would try to download from "" or fail to verify afterwards.
 * An md5-only entry is installed, checked by md5, with a warning (libbuildpack
 * has no md5: it fails such an entry as a sha256 mismatch).
 */
static int check_installable(struct cfbp_installer *installer,
                             const struct cfbp_dependency *dependency, struct cfbp_error *err)
{
    const char *missing = !*dependency->uri                         ? "uri"
                          : !dependency->sha256 && !dependency->md5 ? "sha256"
                                                                    : NULL;
    if (missing)
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "%s %s cannot be installed: its entry at %s:%zu:%zu has no %s; "
                              "nothing was fetched",
                              dependency->name, dependency->version, dependency->defined_in,
                              dependency->line, dependency->column, missing);
    if (!dependency->sha256)
        cfbp_log_warning(installer->log,
                         "%s %s: %s gives only an md5 digest, which is weaker than sha256 "
                         "(checked by md5; add its sha256)",
                         dependency->name, dependency->version, dependency->defined_in);
    return 0;
}

/*
 * Makes the directory a download goes into. In the app cache it is made
 * beneath CACHE_DIR without following links; a work directory is fresh.
 */
static int make_download_directory(struct cfbp_installer *installer, const char *directory,
                                   struct cfbp_error *err)
{
    if (!installer->app_cache_dir || !cfbp_string_starts_with(directory, installer->app_cache_dir))
        return 0;
    struct cfbp_beneath cache = CFBP_BENEATH_INIT;
    const char *relative = directory + strlen(installer->app_cache_dir);
    while (*relative == '/')
        relative++;
    int result = cfbp_beneath_open_create(&cache, installer->app_cache_dir, err);
    if (result == 0)
        result = cfbp_beneath_mkdir_p(&cache, relative, 0755, err);
    cfbp_beneath_close(&cache);
    return result;
}

/*
 * Where the bytes are downloaded from: the dependency's URI, or the
 * operator's mirror for it (dependency_mirror.h), which is logged once,
 * credentials redacted. variable is left empty when there is no mirror.
 */
static int download_uri(struct cfbp_installer *installer, const struct cfbp_dependency *dependency,
                        struct cfbp_strbuf *uri, struct cfbp_strbuf *variable,
                        struct cfbp_error *err)
{
    int found = cfbp_dependency_mirror_find(dependency->uri, uri, variable, err);
    if (found < 0)
        return -1;
    if (found == 0) {
        cfbp_strbuf_set(uri, dependency->uri);
        return 0;
    }
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT;
    cfbp_uri_redact(&shown, uri->buf);
    cfbp_log_info(installer->log, "Using the mirror from %s: %s", variable->buf, shown.buf);
    cfbp_strbuf_release(&shown);
    return 0;
}

/*
 * Downloads into path through a partial file of its own (so that two
 * stagings sharing a cache never write one file), refusing a file with the
 * wrong digest.
 */
static int download(struct cfbp_installer *installer, const struct cfbp_dependency *dependency,
                    const char *path, char md5_checked_sha256[CFBP_DIGEST_HEX_SIZE],
                    struct cfbp_error *err)
{
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT, partial = CFBP_STRBUF_INIT,
                       directory = CFBP_STRBUF_INIT, name = CFBP_STRBUF_INIT;
    cfbp_uri_redact(&shown, dependency->uri);
    cfbp_log_info(installer->log, "Download [%s]", shown.buf);
    cfbp_path_dirname(&directory, path);
    cfbp_path_join(&partial, directory.buf, ".");
    cfbp_strbuf_append_format(&partial, "%s.partial-XXXXXX", cfbp_path_basename(&name, path));
    char actual[CFBP_DIGEST_HEX_SIZE];
    bool made_partial = false;
    struct cfbp_strbuf uri = CFBP_STRBUF_INIT, mirror_variable = CFBP_STRBUF_INIT;
    int result = download_uri(installer, dependency, &uri, &mirror_variable, err);
    if (result == 0)
        result = make_download_directory(installer, directory.buf, err);
    if (result == 0) {
        int fd = mkostemp(partial.buf, O_CLOEXEC);
        if (fd < 0) {
            result = cfbp_fs_write_error(err, errno, path);
        } else {
            close(fd);
            made_partial = true;
        }
    }
    if (result == 0)
        result = cfbp_fetch_to_file(uri.buf, partial.buf, &installer->fetch, installer->log, actual,
                                    err);
    if (result == 0 && !dependency->sha256) {
        result = check_md5(dependency, partial.buf, md5_checked_sha256, err);
    } else if (result == 0 && strcmp(actual, dependency->sha256) != 0) {
        cfbp_error_set(err, CFBP_ERROR_CHECKSUM,
                       "sha256 mismatch: expected sha256 %s, actual sha256 %s", dependency->sha256,
                       actual);
        result = checksum_context(err, dependency);
    }
    if (result == 0 && rename(partial.buf, path) < 0)
        result = cfbp_fs_write_error(err, errno, path);
    if (result < 0 && made_partial)
        unlink(partial.buf);
    if (result < 0)
        rmdir(directory.buf); /* only when empty: a refused download leaves nothing cached */
    if (result < 0 && err->kind != CFBP_ERROR_CHECKSUM)
        cfbp_error_prefix(err, "%s %s", dependency->name, dependency->version);
    if (result < 0 && err->kind == CFBP_ERROR_CHECKSUM && mirror_variable.len) {
        cfbp_uri_redact(&shown, uri.buf);
        cfbp_error_append(err, " (downloaded from %s, the mirror %s names)", shown.buf,
                          mirror_variable.buf);
    }
    cfbp_strbuf_release(&uri);
    cfbp_strbuf_release(&mirror_variable);
    cfbp_strbuf_release(&shown);
    cfbp_strbuf_release(&partial);
    cfbp_strbuf_release(&directory);
    cfbp_strbuf_release(&name);
    return result;
}

/* Fails when a directory of the app cache on the way to relative is a link or not a directory. */
static int check_cache_directory(const struct cfbp_beneath *cache, const char *relative,
                                 struct cfbp_error *err)
{
    enum cfbp_fs_type type = cfbp_beneath_type_of(cache, relative);
    if (type == CFBP_FS_MISSING || type == CFBP_FS_DIRECTORY)
        return 0;
    return cfbp_error_set(err, CFBP_ERROR_UNSAFE_PATH,
                          "refusing the app cache: %s/%s is %s, which no staging of this "
                          "buildpack makes; nothing in CACHE_DIR is read or written through links",
                          cache->path, relative,
                          type == CFBP_FS_SYMLINK ? "a symbolic link" : "not a directory");
}

/*
 * Tells whether path (<CACHE_DIR>/dependencies/<hash>/<name>) is a cached
 * copy: a regular file reached through real directories. A link or anything
 * else standing there is removed (never followed); a link on the way is an
 * error, since whatever the cache holds is then not ours.
 */
static int check_app_cache_entry(const struct cfbp_installer *installer, const char *path,
                                 bool *cached, struct cfbp_error *err)
{
    *cached = false;
    struct cfbp_beneath cache = CFBP_BENEATH_INIT;
    const char *relative = path + strlen(installer->app_cache_dir);
    while (*relative == '/')
        relative++;
    struct cfbp_strbuf hash_dir = CFBP_STRBUF_INIT;
    cfbp_path_dirname(&hash_dir, relative);
    int result = cfbp_beneath_open_create(&cache, installer->app_cache_dir, err);
    if (result == 0)
        result = check_cache_directory(&cache, "dependencies", err);
    if (result == 0)
        result = check_cache_directory(&cache, hash_dir.buf, err);
    enum cfbp_fs_type type = result == 0 ? cfbp_beneath_type_of(&cache, relative) : CFBP_FS_MISSING;
    if (type == CFBP_FS_FILE) {
        *cached = true;
    } else if (type != CFBP_FS_MISSING) {
        int directory = cfbp_beneath_open_directory(&cache, hash_dir.buf, false, 0, err);
        result = directory < 0
                     ? -1
                     : cfbp_fs_remove_at(directory, relative + hash_dir.len + 1, path, err);
        if (directory >= 0)
            close(directory);
    }
    cfbp_beneath_close(&cache);
    cfbp_strbuf_release(&hash_dir);
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
        bool cached;
        if (check_app_cache_entry(installer, source->path.buf, &cached, err) < 0)
            return -1;
        if (cached) {
            source->app_cache_hit = true;
            cfbp_log_info(installer->log, "Copy [%s]", source->path.buf);
            return 0;
        }
        return download(installer, dependency, source->path.buf, source->md5_checked_sha256, err);
    }
    if (cfbp_workdir_create(&source->workdir, destination, "download-", err) < 0)
        return -1;
    struct cfbp_strbuf name = CFBP_STRBUF_INIT;
    cfbp_path_join(&source->path, source->workdir.path, cfbp_uri_file_name(&name, dependency->uri));
    cfbp_strbuf_release(&name);
    return download(installer, dependency, source->path.buf, source->md5_checked_sha256, err);
}

static void source_release(struct source *source)
{
    cfbp_workdir_remove(&source->workdir);
    cfbp_strbuf_release(&source->path);
}

/* --- installing --- */

static int install_from(const struct cfbp_dependency *dependency, struct source *source,
                        const char *destination, unsigned strip, struct cfbp_error *err)
{
    if (!dependency->sha256 && !source->md5_checked_sha256[0] &&
        check_md5(dependency, source->path.buf, source->md5_checked_sha256, err) < 0)
        return -1;
    struct cfbp_strbuf name = CFBP_STRBUF_INIT;
    struct cfbp_archive_request request = {
        .source = source->path.buf,
        .file_name = cfbp_uri_file_name(&name, dependency->uri),
        .expected_sha256 = dependency->sha256 ? dependency->sha256 : source->md5_checked_sha256,
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
    if (check_installable(installer, dependency, err) < 0)
        return -1;
    struct source source = {CFBP_STRBUF_INIT, CFBP_WORKDIR_INIT, false, ""};
    /* A failed install takes away the directories it made on the way. */
    struct cfbp_string_list made = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf parent = CFBP_STRBUF_INIT;
    struct cfbp_saved_times times;
    cfbp_workdir_save_times(&times, destination);
    cfbp_path_dirname(&parent, destination);
    int result = cfbp_workdir_mkdir_p(parent.buf, &made, err);
    if (result == 0)
        result = find_source(installer, dependency, destination, &source, err);
    if (result == 0) {
        warn_newer_patch(installer, dependency);
        warn_end_of_life(installer, dependency);
        result = install_from(dependency, &source, destination, strip_components, err);
    }
    if (result < 0 && err->kind == CFBP_ERROR_CHECKSUM && source.app_cache_hit) {
        /* The cached copy went bad: drop it and fetch the real thing once. */
        cfbp_log_warning(installer->log,
                         "The cached copy of %s %s is damaged; downloading it again", name,
                         version);
        unlink(source.path.buf);
        cfbp_error_clear(err);
        source.md5_checked_sha256[0] = '\0';
        result = download(installer, dependency, source.path.buf, source.md5_checked_sha256, err);
        if (result == 0)
            result = install_from(dependency, &source, destination, strip_components, err);
    }
    source_release(&source);
    if (result < 0)
        cfbp_workdir_undo_mkdir(&made);
    cfbp_workdir_restore_times(&times, result < 0);
    cfbp_string_list_clear(&made);
    cfbp_strbuf_release(&parent);
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
    struct cfbp_beneath cache = CFBP_BENEATH_INIT;
    struct cfbp_strbuf directory = CFBP_STRBUF_INIT, file = CFBP_STRBUF_INIT;
    struct cfbp_string_list hashes = CFBP_STRING_LIST_INIT;
    /* Everything here is beneath CACHE_DIR and never through a link: a planted link is
     * removed itself (or left alone), and nothing it points at is touched. */
    int result = cfbp_beneath_open_create(&cache, installer->app_cache_dir, err);
    if (result == 0 && cfbp_beneath_type_of(&cache, "dependencies") == CFBP_FS_DIRECTORY)
        result = cfbp_beneath_list_directory(&cache, "dependencies", &hashes, err);
    for (size_t i = 0; result == 0 && i < hashes.count; i++) {
        struct cfbp_string_list files = CFBP_STRING_LIST_INIT;
        cfbp_path_join(&directory, "dependencies", hashes.items[i]);
        if (cfbp_beneath_type_of(&cache, directory.buf) != CFBP_FS_DIRECTORY)
            continue;
        int fd = cfbp_beneath_open_directory(&cache, directory.buf, false, 0, err);
        if (fd < 0 || cfbp_fs_list_fd(dup(fd), directory.buf, &files, err) < 0)
            result = -1;
        size_t kept = files.count;
        for (size_t j = 0; result == 0 && j < files.count; j++) {
            cfbp_path_join(&file, installer->app_cache_dir, directory.buf);
            cfbp_path_append(&file, files.items[j]);
            if (cfbp_string_list_contains(&installer->used_cache_files, file.buf))
                continue;
            cfbp_log_debug(installer->log, "Deleting cached file: %s", file.buf);
            result = cfbp_fs_remove_at(fd, files.items[j], file.buf, err);
            kept--;
        }
        if (fd >= 0)
            close(fd);
        if (result == 0 && kept == 0) {
            int parent = cfbp_beneath_open_directory(&cache, "dependencies", false, 0, err);
            if (parent >= 0) {
                unlinkat(parent, hashes.items[i], AT_REMOVEDIR);
                close(parent);
            }
        }
        cfbp_string_list_clear(&files);
    }
    cfbp_beneath_close(&cache);
    cfbp_string_list_clear(&hashes);
    cfbp_strbuf_release(&directory);
    cfbp_strbuf_release(&file);
    return result;
}
