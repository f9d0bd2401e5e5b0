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
#include "cfbp/download.h"
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EOL_WARNING_DAYS 30
/* The default of installer->progress_interval. */
#define PROGRESS_INTERVAL_SECONDS 5.0

void cfbp_installer_init(struct cfbp_installer *installer, const struct cfbp_manifest *manifest,
                         const char *stack, struct cfbp_log *log)
{
    memset(installer, 0, sizeof(*installer));
    installer->manifest = manifest;
    installer->stack = stack;
    installer->log = log;
    cfbp_fetch_options_init(&installer->fetch);
    installer->now = time(NULL);
    installer->progress_interval = PROGRESS_INTERVAL_SECONDS;
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
    bool needs_download;         /* path is where the download goes */
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

/* --- progress in the staging log --- */

struct progress {
    struct cfbp_log *log;
    const struct cfbp_fetch_options *caller; /* the installer's own progress callback */
    double interval;
    struct timespec start;
    double last; /* seconds since start of the last line */
    bool logged;
    unsigned long long received, total;
};

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void log_progress(struct progress *progress, double elapsed)
{
    double megabytes = (double)progress->received / 1e6;
    double rate = elapsed > 0 ? megabytes / elapsed : 0;
    if (progress->total)
        cfbp_log_info(progress->log, "Downloaded %llu%% (%.1f MB of %.1f MB, %.1f MB/s)",
                      progress->received * 100 / progress->total, megabytes,
                      (double)progress->total / 1e6, rate);
    else
        cfbp_log_info(progress->log, "Downloaded %.1f MB (%.1f MB/s)", megabytes, rate);
    progress->last = elapsed;
    progress->logged = true;
}

/* fetch's progress callback: a plain line every few seconds (libbuildpack logs nothing). */
static void on_progress(void *data, unsigned long long received, unsigned long long total)
{
    struct progress *progress = data;
    if (progress->caller->progress)
        progress->caller->progress(progress->caller->progress_data, received, total);
    progress->received = received;
    progress->total = total;
    double elapsed = seconds_since(&progress->start);
    if (elapsed - progress->last >= progress->interval)
        log_progress(progress, elapsed);
}

/* --- downloading --- */

/* libbuildpack's line before a download (the URI's credentials redacted). */
static void announce_download(struct cfbp_installer *installer,
                              const struct cfbp_dependency *dependency)
{
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT;
    cfbp_uri_redact(&shown, dependency->uri);
    cfbp_log_info(installer->log, "Download [%s]", shown.buf);
    cfbp_strbuf_release(&shown);
}

/*
 * Downloads into path (download.h), into the app cache only once verified,
 * logging progress. stream_fd, when not -1, gets the bytes as they arrive
 * (download.h); *stream_exact then says whether they were the verified file's.
 */
static int download(struct cfbp_installer *installer, const struct cfbp_dependency *dependency,
                    const char *path, int stream_fd, bool *stream_exact,
                    char actual_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT, directory = CFBP_STRBUF_INIT;
    cfbp_path_dirname(&directory, path);
    struct cfbp_strbuf uri = CFBP_STRBUF_INIT, mirror_variable = CFBP_STRBUF_INIT;
    struct progress progress = {.log = installer->log,
                                .caller = &installer->fetch,
                                .interval = installer->progress_interval > 0
                                                ? installer->progress_interval
                                                : PROGRESS_INTERVAL_SECONDS};
    clock_gettime(CLOCK_MONOTONIC, &progress.start);
    struct cfbp_fetch_options options = installer->fetch;
    options.progress = on_progress;
    options.progress_data = &progress;
    struct cfbp_download request = CFBP_DOWNLOAD_INIT;
    request.path = path;
    request.sha256 = dependency->sha256;
    request.md5 = dependency->md5;
    request.fetch = &options;
    request.log = installer->log;
    request.stream_fd = stream_fd;
    int result = download_uri(installer, dependency, &uri, &mirror_variable, err);
    if (result == 0)
        result = make_download_directory(installer, directory.buf, err);
    if (result == 0) {
        request.uri = uri.buf;
        result = cfbp_download_verified(&request, actual_sha256, err);
    } else if (stream_fd >= 0) {
        shutdown(stream_fd, SHUT_WR); /* the reader sees a stream that is not the file */
    }
    if (stream_exact)
        *stream_exact = request.stream_exact;
    if (result == 0 && progress.logged)
        log_progress(&progress, seconds_since(&progress.start));
    if (result < 0)
        rmdir(directory.buf); /* only when empty: a refused download leaves nothing cached */
    if (result < 0 && err->kind == CFBP_ERROR_CHECKSUM)
        checksum_context(err, dependency);
    else if (result < 0)
        cfbp_error_prefix(err, "%s %s", dependency->name, dependency->version);
    if (result < 0 && err->kind == CFBP_ERROR_CHECKSUM && mirror_variable.len) {
        cfbp_uri_redact(&shown, uri.buf);
        cfbp_error_append(err, " (downloaded from %s, the mirror %s names)", shown.buf,
                          mirror_variable.buf);
    }
    cfbp_strbuf_release(&uri);
    cfbp_strbuf_release(&mirror_variable);
    cfbp_strbuf_release(&shown);
    cfbp_strbuf_release(&directory);
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
        source->needs_download = true;
        return 0;
    }
    if (cfbp_workdir_create(&source->workdir, destination, "download-", err) < 0)
        return -1;
    struct cfbp_strbuf name = CFBP_STRBUF_INIT;
    cfbp_path_join(&source->path, source->workdir.path, cfbp_uri_file_name(&name, dependency->uri));
    cfbp_strbuf_release(&name);
    source->needs_download = true;
    return 0;
}

static void source_release(struct source *source)
{
    cfbp_workdir_remove(&source->workdir);
    cfbp_strbuf_release(&source->path);
}

/* --- installing --- */

/* Words an install's failure: a checksum error says what to do, others name the dependency. */
static int install_failed(const struct cfbp_dependency *dependency, struct cfbp_error *err)
{
    if (err->kind == CFBP_ERROR_CHECKSUM)
        return checksum_context(err, dependency);
    cfbp_error_prefix(err, "installing %s %s", dependency->name, dependency->version);
    return -1;
}

static void archive_request(struct cfbp_archive_request *request,
                            const struct cfbp_dependency *dependency, const struct source *source,
                            struct cfbp_strbuf *name, const char *destination, unsigned strip)
{
    memset(request, 0, sizeof(*request));
    request->source = source->path.buf;
    request->file_name = cfbp_uri_file_name(name, dependency->uri);
    request->expected_sha256 = dependency->sha256 ? dependency->sha256 : source->md5_checked_sha256;
    request->destination = destination;
    request->strip_components = strip;
}

static int install_from(const struct cfbp_dependency *dependency, struct source *source,
                        const char *destination, unsigned strip, struct cfbp_error *err)
{
    if (!dependency->sha256 && !source->md5_checked_sha256[0] &&
        check_md5(dependency, source->path.buf, source->md5_checked_sha256, err) < 0)
        return -1;
    struct cfbp_strbuf name = CFBP_STRBUF_INIT;
    struct cfbp_archive_request request;
    archive_request(&request, dependency, source, &name, destination, strip);
    char actual[CFBP_DIGEST_HEX_SIZE];
    int result = cfbp_archive_install(&request, actual, err);
    if (result < 0)
        install_failed(dependency, err);
    cfbp_strbuf_release(&name);
    return result;
}

/*
 * Extracting while downloading needs the sha256 before the first byte (the
 * extraction checks what it read against it, and the download's own verdict
 * before placing anything) and an archive read front to back: not a zip,
 * whose directory is at its end.
 */
static bool can_stream(const struct cfbp_dependency *dependency)
{
    struct cfbp_strbuf name = CFBP_STRBUF_INIT;
    bool zip = cfbp_archive_kind_of(cfbp_uri_file_name(&name, dependency->uri)) == CFBP_ARCHIVE_ZIP;
    cfbp_strbuf_release(&name);
    return dependency->sha256 && !zip;
}

struct download_job {
    struct cfbp_installer *installer;
    const struct cfbp_dependency *dependency;
    struct source *source;
    int stream_fd;
    bool stream_exact;
    int result;
    struct cfbp_error err;
    pthread_t thread;
    bool joined;
};

static void *run_download(void *data)
{
    struct download_job *job = data;
    job->result = download(job->installer, job->dependency, job->source->path.buf, job->stream_fd,
                           &job->stream_exact, job->source->md5_checked_sha256, &job->err);
    return NULL;
}

/*
 * The extraction's last step before placing anything (archive.h): it has read
 * the whole stream, so the download is ending; its verdict decides. The
 * stream alone proves nothing: a server may send the right bytes and more.
 */
static int wait_for_download(void *data, struct cfbp_error *err)
{
    struct download_job *job = data;
    pthread_join(job->thread, NULL);
    job->joined = true;
    if (job->result == 0)
        return 0;
    return cfbp_error_set(err, job->err.kind, "the download was not verified");
}

/*
 * Downloads and extracts at once (download.h): a thread downloads into the
 * app cache (or the work directory) and sends the same bytes down a socket,
 * which the extraction reads; the extraction places nothing before the
 * download is verified (wait_for_download). The download's verdict comes first; an
 * extraction that failed on bytes that were not the verified file's (a retry
 * restarted the stream) is done again from the file.
 */
static int install_streaming(struct cfbp_installer *installer,
                             const struct cfbp_dependency *dependency, struct source *source,
                             const char *destination, unsigned strip, struct cfbp_error *err)
{
    int sockets[2];
    struct download_job job = {.installer = installer,
                               .dependency = dependency,
                               .source = source,
                               .stream_fd = -1,
                               .result = -1,
                               .err = CFBP_ERROR_INIT};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) < 0) {
        /* No socket to stream through: one after the other, as before. */
        if (download(installer, dependency, source->path.buf, -1, NULL, source->md5_checked_sha256,
                     err) < 0)
            return -1;
        return install_from(dependency, source, destination, strip, err);
    }
    job.stream_fd = sockets[1];
    int started = pthread_create(&job.thread, NULL, run_download, &job);
    if (started != 0) {
        close(sockets[0]);
        close(sockets[1]);
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, started, "cannot start the download of %s",
                                    dependency->name);
    }
    struct cfbp_strbuf name = CFBP_STRBUF_INIT;
    struct cfbp_archive_request request;
    archive_request(&request, dependency, source, &name, destination, strip);
    request.before_placing = wait_for_download;
    request.before_placing_data = &job;
    struct cfbp_error extraction = CFBP_ERROR_INIT;
    char actual[CFBP_DIGEST_HEX_SIZE];
    int extracted = cfbp_archive_install_fd(&request, sockets[0], actual, &extraction);
    close(sockets[0]); /* a download still sending learns the extraction is over */
    if (!job.joined)
        pthread_join(job.thread, NULL);
    close(sockets[1]);
    cfbp_strbuf_release(&name);
    int result;
    if (job.result < 0) {
        cfbp_error_move(err, &job.err);
        result = -1;
    } else if (extracted == 0) {
        result = 0;
    } else if (job.stream_exact && extraction.kind != CFBP_ERROR_CHECKSUM) {
        cfbp_error_move(err, &extraction);
        result = install_failed(dependency, err);
    } else {
        result = install_from(dependency, source, destination, strip, err);
    }
    cfbp_error_clear(&extraction);
    cfbp_error_clear(&job.err);
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
    struct source source = {CFBP_STRBUF_INIT, CFBP_WORKDIR_INIT, false, false, ""};
    /* A failed install takes away the directories it made on the way. */
    struct cfbp_string_list made = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf parent = CFBP_STRBUF_INIT;
    struct cfbp_saved_times times;
    cfbp_workdir_save_times(&times, destination);
    cfbp_path_dirname(&parent, destination);
    int result = cfbp_workdir_mkdir_p(parent.buf, &made, err);
    if (result == 0)
        result = find_source(installer, dependency, destination, &source, err);
    bool stream = source.needs_download && can_stream(dependency);
    if (result == 0 && source.needs_download)
        announce_download(installer, dependency);
    if (result == 0 && source.needs_download && !stream)
        result = download(installer, dependency, source.path.buf, -1, NULL,
                          source.md5_checked_sha256, err);
    if (result == 0) {
        warn_newer_patch(installer, dependency);
        warn_end_of_life(installer, dependency);
        result = stream ? install_streaming(installer, dependency, &source, destination,
                                            strip_components, err)
                        : install_from(dependency, &source, destination, strip_components, err);
    }
    if (result < 0 && err->kind == CFBP_ERROR_CHECKSUM && source.app_cache_hit) {
        /* The cached copy went bad: drop it and fetch the real thing once. */
        cfbp_log_warning(installer->log,
                         "The cached copy of %s %s is damaged; downloading it again", name,
                         version);
        unlink(source.path.buf);
        cfbp_error_clear(err);
        source.md5_checked_sha256[0] = '\0';
        announce_download(installer, dependency);
        result = download(installer, dependency, source.path.buf, -1, NULL,
                          source.md5_checked_sha256, err);
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
