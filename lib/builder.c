/*
 * builder.c - staging an app, as Cloud Foundry's builder does (see builder.h).
 *
 * One struct stage carries a staging through its phases: set up the
 * directories (§10.2), pick the buildpacks (names, directories, zips, or
 * detection), run supply/finalize/compile (§10.3-10.5), work out the process
 * types (§10.6), and write staging_info.yml, result.json and the droplet
 * (§10.7). Each phase returns 0 or the builder's exit status.
 *
 * Buildpacks are untrusted input: every script's captured output and every
 * file read back from the staging directories has a named limit, and every
 * way out of cfbp_builder_stage goes through stage_release, which removes
 * the temporary directory. A stop request (options->stop_fd) is noticed
 * between phases and while a script runs.
 */
#include "cfbp/builder.h"

#include "cfbp/alloc.h"
#include "cfbp/buildpack.h"
#include "cfbp/buildpack_registry.h"
#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/json.h"
#include "cfbp/launch.h"
#include "cfbp/path.h"
#include "cfbp/process.h"
#include "cfbp/staging_result.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"
#include "cfbp/tarball.h"
#include "cfbp/workdir.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

/* The PATH of a cflinuxfs4 container, where the scripts would run. */
#define STACK_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * What is read from buildpacks at most. The real builder has no limits; a
 * buildpack that goes past these is broken or hostile, and staging fails
 * naming it rather than growing without bound.
 */
#define RELEASE_OUTPUT_LIMIT (1 << 20)  /* bin/release's stdout: a small YAML map */
#define DETECT_OUTPUT_LIMIT  (64 << 10) /* bin/detect's stdout: a buildpack name */
#define PROCFILE_MAX_BYTES   (1 << 20)

/* The operator's staging environment group: carried from cfbp's own environment. */
static const char *const staging_group[] = {"http_proxy",    "https_proxy",  "no_proxy",
                                            "HTTP_PROXY",    "HTTPS_PROXY",  "NO_PROXY",
                                            "SSL_CERT_FILE", "SSL_CERT_DIR", NULL};

/* What `cf push` leaves out of the app bits by default. */
static const char *const ignored_app_files[] = {".cfignore",  "_darcs", ".DS_Store", ".git",
                                                ".gitignore", ".hg",    ".svn",      NULL};

struct buildpack {
    char *given; /* as the user named it */
    char *key;
    char *root;          /* holds bin/ */
    char *detected_name; /* detect's output, in auto-detect mode */
};

struct stage {
    const struct cfbp_builder_options *options;
    struct cfbp_error *err;
    struct cfbp_workdir temp; /* in TMPDIR, held while staging runs */
    struct cfbp_strbuf work, build_dir, contents, deps_dir, profile_dir, home;
    struct buildpack *buildpacks;
    size_t count, alloc;
    struct cfbp_string_list indices; /* deps index of each buildpack, zero-padded (§4.2) */
    bool detected;                   /* auto-detect mode */
    bool compile_path;               /* the final buildpack had no finalize */
    struct cfbp_environment environment;
    struct cfbp_staging_result result;
};

void cfbp_builder_cache_name(const char *key, char name[17])
{
    unsigned long long hash = (unsigned long long)XXH64(key, strlen(key), 0);
    snprintf(name, 17, "%016llx", hash);
}

static int fail(struct stage *stage, int status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct stage *stage, int status, const char *format, ...)
{
    struct cfbp_strbuf message = CFBP_STRBUF_INIT;
    va_list args;
    va_start(args, format);
    cfbp_strbuf_append_vformat(&message, format, args);
    va_end(args);
    cfbp_error_set(stage->err, CFBP_ERROR_FAILED, "%s", message.buf);
    cfbp_strbuf_release(&message);
    return status;
}

/* A library error (already in stage->err) becomes the builder's generic failure. */
static int failed(struct stage *stage)
{
    (void)stage;
    return CFBP_BUILDER_FAILED;
}

/* A limit as people read it: "1 MiB (1048576 bytes)". */
static void describe_limit(size_t bytes, struct cfbp_strbuf *out)
{
    if (bytes % (1 << 20) == 0)
        cfbp_strbuf_append_format(out, "%zu MiB (%zu bytes)", bytes >> 20, bytes);
    else
        cfbp_strbuf_append_format(out, "%zu KiB (%zu bytes)", bytes >> 10, bytes);
}

/* True once the caller asked staging to stop: options->stop_fd is readable. */
static bool stop_requested(const struct stage *stage)
{
    struct pollfd poller = {.fd = stage->options->stop_fd, .events = POLLIN};
    return poller.fd >= 0 && poll(&poller, 1, 0) > 0;
}

/* status, or CFBP_BUILDER_STOPPED when it was 0 and a stop has been asked for since. */
static int unless_stopped(struct stage *stage, int status)
{
    if (status == 0 && stop_requested(stage))
        return fail(stage, CFBP_BUILDER_STOPPED, "Staging stopped");
    return status;
}

/* --- setup (§10.2) --- */

static bool skip_ignored(const char *relative, void *data)
{
    (void)data;
    for (const char *const *name = ignored_app_files; *name; name++)
        if (strcmp(relative, *name) == 0)
            return true;
    return false;
}

static int make_directories(struct stage *stage)
{
    const char *temp = getenv("TMPDIR");
    if (cfbp_workdir_create_temp(&stage->temp, temp && *temp ? temp : "/tmp", "cfbp-stage-",
                                 stage->err) < 0)
        return failed(stage);
    cfbp_strbuf_set(&stage->work, stage->temp.path);
    cfbp_path_join(&stage->build_dir, stage->work.buf, "app");
    cfbp_path_join(&stage->contents, stage->work.buf, "contents");
    cfbp_path_join(&stage->deps_dir, stage->contents.buf, "deps");
    cfbp_path_join(&stage->profile_dir, stage->contents.buf, "profile.d");
    cfbp_path_join(&stage->home, stage->work.buf, "home");
    if (!cfbp_fs_is_directory(stage->options->app_dir))
        return fail(stage, CFBP_BUILDER_FAILED, "the app directory %s does not exist",
                    stage->options->app_dir);
    if (cfbp_fs_copy_tree(stage->options->app_dir, stage->build_dir.buf, skip_ignored, NULL,
                          stage->err) < 0 ||
        cfbp_fs_mkdir_p(stage->deps_dir.buf, 0755, stage->err) < 0 ||
        cfbp_fs_mkdir_p(stage->profile_dir.buf, 0755, stage->err) < 0 ||
        cfbp_fs_mkdir_p(stage->home.buf, 0755, stage->err) < 0 ||
        cfbp_fs_mkdir_p(stage->options->cache_dir, 0755, stage->err) < 0)
        return failed(stage);
    return 0;
}

static struct buildpack *add_buildpack(struct stage *stage, const char *given)
{
    CFBP_GROW(stage->buildpacks, stage->alloc, stage->count + 1);
    struct buildpack *buildpack = &stage->buildpacks[stage->count++];
    memset(buildpack, 0, sizeof(*buildpack));
    buildpack->given = cfbp_xstrdup(given);
    return buildpack;
}

/* A registered name, a directory or a zip. */
static int resolve(struct stage *stage, struct buildpack *buildpack, size_t index)
{
    const struct cfbp_registered_buildpack *registered =
        stage->options->registry ? cfbp_registry_find(stage->options->registry, buildpack->given)
                                 : NULL;
    struct cfbp_strbuf root = CFBP_STRBUF_INIT, unpacked = CFBP_STRBUF_INIT;
    int result = 0;
    bool located = false;
    if (registered) {
        buildpack->key = cfbp_xstrdup(registered->key);
        cfbp_strbuf_set(&root, registered->root);
        located = true;
    } else if (cfbp_fs_is_directory(buildpack->given)) {
        result = cfbp_path_absolute(&unpacked, buildpack->given, stage->err);
        buildpack->key = cfbp_xstrdup(buildpack->given);
    } else if (cfbp_fs_is_file(buildpack->given)) {
        char sha256[CFBP_DIGEST_HEX_SIZE];
        cfbp_path_join(&unpacked, stage->work.buf, "buildpacks");
        cfbp_strbuf_append_format(&unpacked, "/%zu", index);
        result = cfbp_buildpack_unpack_zip(buildpack->given, unpacked.buf, sha256, stage->err);
        buildpack->key = cfbp_xstrdup(buildpack->given);
    } else {
        result = cfbp_error_set(stage->err, CFBP_ERROR_NOT_FOUND,
                                "buildpack %s is not a registered buildpack, a directory or a zip",
                                buildpack->given);
    }
    if (result == 0 && !located &&
        cfbp_buildpack_locate_root(unpacked.buf, buildpack->given, &root, stage->err) < 0) {
        /* The real builder looks for bin/ while it runs the supply scripts, so a named
         * buildpack without one fails as they do (225), whichever position it has. */
        result = fail(stage, CFBP_BUILDER_SUPPLY_FAILED, "Failed to run all supply scripts: %s",
                      stage->err->message);
    } else if (result < 0) {
        result = failed(stage);
    } else {
        buildpack->root = cfbp_strbuf_detach(&root, NULL);
    }
    cfbp_strbuf_release(&root);
    cfbp_strbuf_release(&unpacked);
    return result;
}

static int choose_buildpacks(struct stage *stage)
{
    const struct cfbp_builder_options *options = stage->options;
    if (options->buildpack_count) {
        for (size_t i = 0; i < options->buildpack_count; i++) {
            int status = resolve(stage, add_buildpack(stage, options->buildpacks[i]), i);
            if (status)
                return status;
        }
        /* Indices are zero-padded to the width of the count (§4.2). */
        int width = 1;
        for (size_t n = options->buildpack_count; n >= 10; n /= 10)
            width++;
        struct cfbp_strbuf index = CFBP_STRBUF_INIT;
        for (size_t i = 0; i < options->buildpack_count; i++) {
            cfbp_strbuf_reset(&index);
            cfbp_strbuf_append_format(&index, "%0*zu", width, i);
            cfbp_string_list_append(&stage->indices, index.buf);
        }
        cfbp_strbuf_release(&index);
        return 0;
    }
    stage->detected = true;
    cfbp_string_list_append(&stage->indices, "0");
    const struct cfbp_registry *registry = options->registry;
    for (size_t i = 0; registry && i < registry->count; i++) {
        const struct cfbp_registered_buildpack *candidate = &registry->buildpacks[i];
        if (candidate->stack && options->stack && strcmp(candidate->stack, options->stack) != 0)
            continue;
        int status = resolve(stage, add_buildpack(stage, candidate->name), i);
        if (status)
            return status;
    }
    return 0;
}

static int make_deps_and_caches(struct stage *stage)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    struct cfbp_string_list keep = CFBP_STRING_LIST_INIT, entries = CFBP_STRING_LIST_INIT;
    cfbp_string_list_append(&keep, "final");
    int result = 0;
    for (size_t i = 0; result == 0 && i < stage->indices.count; i++) {
        cfbp_path_join(&path, stage->deps_dir.buf, stage->indices.items[i]);
        result = cfbp_fs_mkdir_p(path.buf, 0755, stage->err);
    }
    size_t supply_count = stage->detected ? 0 : stage->count - 1;
    for (size_t i = 0; result == 0 && i < supply_count; i++) {
        char name[17];
        cfbp_builder_cache_name(stage->buildpacks[i].key, name);
        cfbp_string_list_append(&keep, name);
    }
    /* The builder empties the cache of everything but final and the current supply caches. */
    if (result == 0)
        result = cfbp_fs_list_directory(stage->options->cache_dir, &entries, stage->err);
    for (size_t i = 0; result == 0 && i < entries.count; i++) {
        if (cfbp_string_list_contains(&keep, entries.items[i]))
            continue;
        cfbp_path_join(&path, stage->options->cache_dir, entries.items[i]);
        result = cfbp_fs_remove_tree(path.buf, stage->err);
    }
    for (size_t i = 0; result == 0 && i < keep.count; i++) {
        cfbp_path_join(&path, stage->options->cache_dir, keep.items[i]);
        result = cfbp_fs_mkdir_p(path.buf, 0755, stage->err);
    }
    cfbp_strbuf_release(&path);
    cfbp_string_list_clear(&keep);
    cfbp_string_list_clear(&entries);
    return result < 0 ? failed(stage) : 0;
}

/* VCAP_APPLICATION as Cloud Controller gives it at staging (a useful subset). */
static void vcap_application(const struct cfbp_builder_options *options, struct cfbp_strbuf *out)
{
    const char *name = options->app_name ? options->app_name : "app";
    cfbp_strbuf_append_string(out, "{\"application_id\":\"00000000-0000-0000-0000-000000000000\","
                                   "\"application_name\":");
    cfbp_json_write_string(out, name, strlen(name));
    cfbp_strbuf_append_format(out,
                              ",\"application_uris\":[],\"limits\":{\"disk\":1024,\"fds\":16384,"
                              "\"mem\":%lu},\"name\":",
                              options->memory);
    cfbp_json_write_string(out, name, strlen(name));
    cfbp_strbuf_append_string(out, ",\"organization_name\":\"local\",\"space_name\":\"local\","
                                   "\"uris\":[]}");
}

static void make_environment(struct stage *stage)
{
    const struct cfbp_builder_options *options = stage->options;
    struct cfbp_environment *environment = &stage->environment;
    struct cfbp_strbuf value = CFBP_STRBUF_INIT;
    cfbp_environment_set(environment, "PATH", STACK_PATH);
    cfbp_environment_set(environment, "LANG", "en_US.UTF-8");
    cfbp_environment_set(environment, "HOME", stage->home.buf);
    cfbp_environment_set(environment, "VCAP_SERVICES", "{}");
    cfbp_environment_inherit(environment, staging_group);
    cfbp_environment_merge(environment, options->app_environment);
    /* Set by the platform; the app cannot change them. */
    cfbp_environment_set(environment, "CF_STACK", options->stack ? options->stack : "");
    cfbp_strbuf_append_format(&value, "%lum", options->memory);
    cfbp_environment_set(environment, "MEMORY_LIMIT", value.buf);
    cfbp_strbuf_reset(&value);
    vcap_application(options, &value);
    cfbp_environment_set(environment, "VCAP_APPLICATION", value.buf);
    cfbp_strbuf_release(&value);
}

/* --- running scripts (§3, §10.3-10.5) --- */

static bool has_script(const struct buildpack *buildpack, const char *script)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, buildpack->root, "bin");
    cfbp_path_append(&path, script);
    bool result = cfbp_fs_is_file(path.buf);
    cfbp_strbuf_release(&path);
    return result;
}

/* How a script run ended. */
enum script_end {
    SCRIPT_RAN,             /* to its end: its exit status says how it went */
    SCRIPT_OUTPUT_EXCEEDED, /* killed for printing more than the limit */
    SCRIPT_STOPPED,         /* killed (or never started) because staging is stopping */
};

/*
 * Runs <root>/bin/<script> with arguments, streaming its output, or with its
 * stdout collected into captured (at most capture_limit bytes) when that is
 * given. stdin is /dev/null, as under the builder; the script leads a process
 * group of its own, so that a stop reaches everything it started and nothing
 * it started outlives it. *status gets its exit status; failing to start
 * counts as status 1 after a message, as a failed exec does in the builder.
 */
static enum script_end run_script(struct stage *stage, const struct buildpack *buildpack,
                                  const char *script, const char *const *arguments, int *status,
                                  struct cfbp_strbuf *captured, size_t capture_limit)
{
    *status = 1;
    if (stop_requested(stage))
        return SCRIPT_STOPPED;
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, buildpack->root, "bin");
    cfbp_path_append(&path, script);
    if (access(path.buf, X_OK) != 0)
        fprintf(stage->options->messages, "WARNING: buildpack script '/bin/%s' is not executable\n",
                script);
    fflush(stdout); /* what came before stays before the script's own output */
    char *argv[8];
    size_t argc = 0;
    argv[argc++] = path.buf;
    for (size_t i = 0; arguments[i] && argc < 7; i++)
        argv[argc++] = (char *)arguments[i];
    argv[argc] = NULL;
    int null_input = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
    spec.argv = argv;
    spec.directory = stage->home.buf;
    spec.environment = &stage->environment;
    spec.stdin_fd = null_input;
    spec.new_process_group = true;
    struct cfbp_process_run run = CFBP_PROCESS_RUN_INIT;
    run.output = captured;
    run.output_limit = capture_limit;
    run.stop_fd = stage->options->stop_fd;
    run.kill_orphans = true; /* what escaped the group with setsid goes too (cmd_stage adopts) */
    struct cfbp_error err = CFBP_ERROR_INIT;
    enum script_end end = SCRIPT_RAN;
    if (cfbp_process_run_spec(&spec, &run, status, &err) < 0) {
        if (run.stopped)
            end = SCRIPT_STOPPED;
        else if (run.output_exceeded)
            end = SCRIPT_OUTPUT_EXCEEDED;
        else
            fprintf(stage->options->messages, "%s\n", err.message);
        *status = 1;
    }
    if (null_input >= 0)
        close(null_input);
    cfbp_error_clear(&err);
    cfbp_strbuf_release(&path);
    return end;
}

/* The staging failure for a script that did not run to its end; context starts the message. */
static int script_cut_short(struct stage *stage, enum script_end end,
                            const struct buildpack *buildpack, const char *script, int code,
                            const char *context, size_t limit)
{
    if (end == SCRIPT_STOPPED)
        return fail(stage, CFBP_BUILDER_STOPPED, "Staging stopped while buildpack %s ran bin/%s",
                    buildpack->given, script);
    struct cfbp_strbuf described = CFBP_STRBUF_INIT;
    describe_limit(limit, &described);
    fail(stage, code,
         "%s: buildpack %s printed more than %s on stdout from bin/%s, the most that is read; "
         "the script was stopped",
         context, buildpack->given, described.buf, script);
    cfbp_strbuf_release(&described);
    return code;
}

/* Runs a script whose failure fails the staging with code and "<what>: exit status N". */
static int run_step(struct stage *stage, const struct buildpack *buildpack, const char *script,
                    const char *const *arguments, int code, const char *what)
{
    int status;
    enum script_end end = run_script(stage, buildpack, script, arguments, &status, NULL, 0);
    if (end != SCRIPT_RAN)
        return script_cut_short(stage, end, buildpack, script, code, what, 0);
    return status == 0 ? 0 : fail(stage, code, "%s: exit status %d", what, status);
}

static void cache_for(const struct stage *stage, size_t index, struct cfbp_strbuf *out)
{
    char name[17] = "final";
    bool final = stage->detected || index == stage->count - 1;
    if (!final)
        cfbp_builder_cache_name(stage->buildpacks[index].key, name);
    cfbp_path_join(out, stage->options->cache_dir, name);
}

static int detect(struct stage *stage)
{
    struct cfbp_strbuf output = CFBP_STRBUF_INIT;
    const char *arguments[] = {stage->build_dir.buf, NULL};
    for (size_t i = 0; i < stage->count; i++) {
        struct buildpack *buildpack = &stage->buildpacks[i];
        if (!has_script(buildpack, "detect"))
            continue;
        int status;
        cfbp_strbuf_reset(&output);
        enum script_end end = run_script(stage, buildpack, "detect", arguments, &status, &output,
                                         DETECT_OUTPUT_LIMIT);
        if (end != SCRIPT_RAN) {
            cfbp_strbuf_release(&output);
            return script_cut_short(stage, end, buildpack, "detect", CFBP_BUILDER_FAILED,
                                    "Failed to detect", DETECT_OUTPUT_LIMIT);
        }
        if (status != 0)
            continue;
        cfbp_strbuf_trim_newlines(&output);
        buildpack->detected_name = cfbp_xstrdup(output.buf);
        /* Only the detected buildpack stages (at index 0). */
        struct buildpack chosen = *buildpack;
        for (size_t j = 0; j < stage->count; j++)
            if (j != i) {
                free(stage->buildpacks[j].given);
                free(stage->buildpacks[j].key);
                free(stage->buildpacks[j].root);
                free(stage->buildpacks[j].detected_name);
            }
        stage->buildpacks[0] = chosen;
        stage->count = 1;
        cfbp_strbuf_release(&output);
        return 0;
    }
    cfbp_strbuf_release(&output);
    return fail(stage, CFBP_BUILDER_DETECT_FAILED,
                "None of the buildpacks detected a compatible application");
}

static int supply_all(struct stage *stage)
{
    struct cfbp_strbuf cache = CFBP_STRBUF_INIT;
    size_t supply_count = stage->count - 1;
    for (size_t i = 0; i < supply_count; i++)
        if (!has_script(&stage->buildpacks[i], "supply"))
            return fail(stage, CFBP_BUILDER_SUPPLY_FAILED,
                        "Error: one of the buildpacks chosen to supply dependencies does not "
                        "support multi-buildpack apps");
    int result = 0;
    for (size_t i = 0; result == 0 && i < supply_count; i++) {
        cache_for(stage, i, &cache);
        const char *arguments[] = {stage->build_dir.buf, cache.buf, stage->deps_dir.buf,
                                   stage->indices.items[i], NULL};
        result = run_step(stage, &stage->buildpacks[i], "supply", arguments,
                          CFBP_BUILDER_SUPPLY_FAILED, "Failed to run all supply scripts");
    }
    cfbp_strbuf_release(&cache);
    return result;
}

static int finish(struct stage *stage)
{
    size_t final = stage->count - 1;
    const struct buildpack *buildpack = &stage->buildpacks[final];
    const char *index = stage->indices.items[final];
    struct cfbp_strbuf cache = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT;
    cache_for(stage, final, &cache);
    int result = 0;
    if (has_script(buildpack, "finalize")) {
        const char *supply_arguments[] = {stage->build_dir.buf, cache.buf, stage->deps_dir.buf,
                                          index, NULL};
        const char *finalize_arguments[] = {stage->build_dir.buf,   cache.buf,
                                            stage->deps_dir.buf,    index,
                                            stage->profile_dir.buf, NULL};
        if (has_script(buildpack, "supply"))
            result =
                run_step(stage, buildpack, "supply", supply_arguments, CFBP_BUILDER_COMPILE_FAILED,
                         "Failed to compile droplet: Failed to run all supply scripts");
        if (result == 0)
            result = run_step(stage, buildpack, "finalize", finalize_arguments,
                              CFBP_BUILDER_COMPILE_FAILED,
                              "Failed to compile droplet: Failed to run finalize script");
    } else {
        stage->compile_path = true;
        if (final > 0)
            fprintf(stage->options->messages,
                    "Warning: the last buildpack is not compatible with multi-buildpack apps "
                    "and cannot make use of any dependencies supplied by the buildpacks "
                    "specified before it\n");
        cfbp_path_join(&path, stage->deps_dir.buf, index);
        if (cfbp_fs_remove_tree(path.buf, stage->err) < 0)
            result = failed(stage);
        const char *arguments[] = {stage->build_dir.buf, cache.buf, NULL};
        if (result == 0)
            result = run_step(stage, buildpack, "compile", arguments, CFBP_BUILDER_COMPILE_FAILED,
                              "Failed to compile droplet: Failed to run compile script");
    }
    cfbp_strbuf_release(&cache);
    cfbp_strbuf_release(&path);
    return result;
}

/* --- process types (§10.6) --- */

/*
 * Reads a file the app or a buildpack left in the staging directories; one
 * larger than max_bytes is refused as what ("the Procfile") without being read.
 */
static int read_bounded(struct stage *stage, const char *path, const char *what, size_t max_bytes,
                        struct cfbp_strbuf *out)
{
    struct stat st;
    if (stat(path, &st) == 0 && (uintmax_t)st.st_size > max_bytes) {
        struct cfbp_strbuf described = CFBP_STRBUF_INIT;
        describe_limit(max_bytes, &described);
        cfbp_error_set(stage->err, CFBP_ERROR_INVALID,
                       "%s is %jd bytes, more than the %s that is read", what, (intmax_t)st.st_size,
                       described.buf);
        cfbp_strbuf_release(&described);
        return -1;
    }
    return cfbp_fs_read_file(path, max_bytes, out, stage->err);
}

/* Merges deps/<index>/launch.yml if it is there; *found tells whether it was. */
static int merge_launch(struct stage *stage, const char *index, bool *found)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, stage->deps_dir.buf, index);
    cfbp_path_append(&path, "launch.yml");
    *found = cfbp_fs_is_file(path.buf);
    int result = 0;
    if (*found) {
        struct cfbp_launch launch;
        if (cfbp_launch_read(&launch, path.buf, stage->err) < 0) {
            cfbp_error_prefix(stage->err, "cannot read the launch.yml at deps index %s", index);
            result = failed(stage);
        } else {
            cfbp_staging_result_merge_launch(&stage->result, &launch);
            cfbp_launch_release(&launch);
        }
    }
    cfbp_strbuf_release(&path);
    return result;
}

static int release(struct stage *stage, const struct buildpack *buildpack)
{
    struct cfbp_strbuf output = CFBP_STRBUF_INIT;
    const char *arguments[] = {stage->build_dir.buf, NULL};
    int status;
    enum script_end end =
        run_script(stage, buildpack, "release", arguments, &status, &output, RELEASE_OUTPUT_LIMIT);
    int result = 0;
    if (end != SCRIPT_RAN) {
        result = script_cut_short(stage, end, buildpack, "release", CFBP_BUILDER_RELEASE_FAILED,
                                  "Failed to build droplet release", RELEASE_OUTPUT_LIMIT);
    } else if (status != 0) {
        result = fail(stage, CFBP_BUILDER_RELEASE_FAILED,
                      "Failed to build droplet release: exit status %d", status);
    } else if (cfbp_staging_result_merge_map(&stage->result, output.buf, output.len,
                                             "release output", "default_process_types",
                                             stage->err) < 0) {
        struct cfbp_error why = CFBP_ERROR_INIT;
        cfbp_error_move(&why, stage->err);
        result = fail(stage, CFBP_BUILDER_RELEASE_FAILED,
                      "Failed to build droplet release: buildpack's release output invalid: %s",
                      why.message);
        cfbp_error_clear(&why);
    }
    cfbp_strbuf_release(&output);
    return result;
}

static int process_types(struct stage *stage)
{
    size_t final = stage->count - 1;
    bool found;
    /* Supply buildpacks' launch.yml, under their padded index (the builder's unpadded
     * lookup misses them from ten buildpacks on). */
    for (size_t i = 0; i < final; i++) {
        int status = merge_launch(stage, stage->indices.items[i], &found);
        if (status)
            return status;
    }
    found = false;
    if (!stage->compile_path) {
        int status = merge_launch(stage, stage->indices.items[final], &found);
        if (status)
            return status;
    }
    if (!found) {
        int status = release(stage, &stage->buildpacks[final]);
        if (status)
            return status;
    }
    struct cfbp_strbuf procfile = CFBP_STRBUF_INIT, text = CFBP_STRBUF_INIT;
    cfbp_path_join(&procfile, stage->build_dir.buf, "Procfile");
    int result = 0;
    if (cfbp_fs_is_file(procfile.buf)) {
        if (read_bounded(stage, procfile.buf, "the Procfile", PROCFILE_MAX_BYTES, &text) < 0) {
            struct cfbp_error why = CFBP_ERROR_INIT;
            cfbp_error_move(&why, stage->err);
            result = fail(stage, CFBP_BUILDER_FAILED, "Failed to read command from Procfile: %s",
                          why.message);
            cfbp_error_clear(&why);
        } else if (cfbp_staging_result_merge_map(&stage->result, text.buf, text.len, "Procfile",
                                                 NULL, stage->err) < 0) {
            result = fail(stage, CFBP_BUILDER_FAILED,
                          "Failed to read command from Procfile: invalid YAML");
        }
    }
    cfbp_strbuf_release(&procfile);
    cfbp_strbuf_release(&text);
    if (result == 0 && !cfbp_staging_result_start_command(&stage->result))
        fprintf(stage->options->messages,
                "No start command specified by buildpack or via Procfile.\nApp will not start "
                "unless a command is provided at runtime.\n");
    return result;
}

/* --- outputs (§10.7) --- */

/*
 * Adds each buildpack's config.yml metadata. One larger than
 * CFBP_CONFIG_YML_MAX_BYTES fails a staging that was going well (and is only
 * warned about in one that has failed already); it is never read.
 */
static int collect_metadata(struct stage *stage, bool failing)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, described = CFBP_STRBUF_INIT;
    describe_limit(CFBP_CONFIG_YML_MAX_BYTES, &described);
    int result = 0;
    for (size_t i = 0; i < stage->count; i++) {
        const struct buildpack *buildpack = &stage->buildpacks[i];
        cfbp_path_join(&path, stage->deps_dir.buf, stage->indices.items[i]);
        cfbp_path_append(&path, "config.yml");
        struct stat st;
        if (stat(path.buf, &st) == 0 && (uintmax_t)st.st_size > CFBP_CONFIG_YML_MAX_BYTES) {
            if (failing || result)
                fprintf(stage->options->messages,
                        "Warning: buildpack %s wrote a config.yml of %jd bytes, more than the %s "
                        "that is read; it is ignored\n",
                        buildpack->given, (intmax_t)st.st_size, described.buf);
            else
                result = fail(stage, CFBP_BUILDER_FAILED,
                              "buildpack %s wrote a config.yml of %jd bytes (deps/%s/config.yml), "
                              "more than the %s that is read",
                              buildpack->given, (intmax_t)st.st_size, stage->indices.items[i],
                              described.buf);
        }
        cfbp_staging_result_add_buildpack(&stage->result, buildpack->key, path.buf,
                                          buildpack->detected_name);
    }
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&described);
    return result;
}

static int write_result(struct stage *stage, bool failed_build)
{
    struct cfbp_strbuf json = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    cfbp_staging_result_write_json(&stage->result, failed_build, &json);
    struct cfbp_strbuf directory = CFBP_STRBUF_INIT;
    cfbp_path_dirname(&directory, stage->options->result);
    int result = 0;
    if (cfbp_fs_mkdir_p(directory.buf, 0755, &err) < 0 ||
        cfbp_fs_write_file(stage->options->result, json.buf, json.len, 0644, &err) < 0) {
        if (!failed_build)
            cfbp_error_move(stage->err, &err);
        result = -1;
    }
    cfbp_error_clear(&err);
    cfbp_strbuf_release(&json);
    cfbp_strbuf_release(&directory);
    return result;
}

static int write_droplet(struct stage *stage)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, info = CFBP_STRBUF_INIT;
    cfbp_staging_result_write_staging_info(&stage->result, &info);
    cfbp_path_join(&path, stage->contents.buf, "staging_info.yml");
    int result = cfbp_fs_write_file(path.buf, info.buf, info.len, 0644, stage->err);
    cfbp_path_join(&path, stage->contents.buf, "app");
    if (result == 0 && rename(stage->build_dir.buf, path.buf) < 0)
        result = cfbp_error_set_errno(stage->err, CFBP_ERROR_IO, errno, "cannot move %s",
                                      stage->build_dir.buf);
    cfbp_path_join(&path, stage->contents.buf, "tmp");
    if (result == 0)
        result = cfbp_fs_mkdir_p(path.buf, 0755, stage->err);
    cfbp_path_join(&path, stage->contents.buf, "logs");
    if (result == 0)
        result = cfbp_fs_mkdir_p(path.buf, 0755, stage->err);
    cfbp_path_dirname(&path, stage->options->droplet);
    if (result == 0)
        result = cfbp_fs_mkdir_p(path.buf, 0755, stage->err);
    struct cfbp_tarball_options tarball = {
        .prefix = "./", .keep_modes = true, .keep_times = true, .include_root = true};
    if (result == 0)
        result = cfbp_tarball_write_tree(stage->options->droplet, stage->contents.buf, &tarball,
                                         stage->err);
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&info);
    if (result < 0)
        return fail(stage, CFBP_BUILDER_FAILED, "Failed to compress droplet filesystem: %s",
                    stage->err->message);
    return 0;
}

/* --- the whole staging --- */

static void stage_release(struct stage *stage)
{
    if (stage->work.len) {
        struct cfbp_error err = CFBP_ERROR_INIT;
        if (cfbp_fs_remove_tree(stage->work.buf, &err) < 0)
            fprintf(stage->options->messages, "Warning: %s\n", err.message);
        cfbp_error_clear(&err);
    }
    cfbp_workdir_release(&stage->temp);
    for (size_t i = 0; i < stage->count; i++) {
        free(stage->buildpacks[i].given);
        free(stage->buildpacks[i].key);
        free(stage->buildpacks[i].root);
        free(stage->buildpacks[i].detected_name);
    }
    free(stage->buildpacks);
    cfbp_string_list_clear(&stage->indices);
    cfbp_environment_release(&stage->environment);
    cfbp_staging_result_release(&stage->result);
    cfbp_strbuf_release(&stage->work);
    cfbp_strbuf_release(&stage->build_dir);
    cfbp_strbuf_release(&stage->contents);
    cfbp_strbuf_release(&stage->deps_dir);
    cfbp_strbuf_release(&stage->profile_dir);
    cfbp_strbuf_release(&stage->home);
}

int cfbp_builder_stage(const struct cfbp_builder_options *options, struct cfbp_error *err)
{
    struct stage stage = {.options = options, .err = err, .temp = CFBP_WORKDIR_INIT};
    cfbp_strbuf_init(&stage.work, 0);
    cfbp_strbuf_init(&stage.build_dir, 0);
    cfbp_strbuf_init(&stage.contents, 0);
    cfbp_strbuf_init(&stage.deps_dir, 0);
    cfbp_strbuf_init(&stage.profile_dir, 0);
    cfbp_strbuf_init(&stage.home, 0);
    /* Every return goes through stage_release: nothing is left in TMPDIR. */
    int status = unless_stopped(&stage, make_directories(&stage));
    if (status == 0)
        status = unless_stopped(&stage, choose_buildpacks(&stage));
    if (status == 0)
        make_environment(&stage);
    bool ran = false, supplied = false;
    if (status == 0 && stage.detected)
        status = detect(&stage);
    if (status == 0)
        status = make_deps_and_caches(&stage);
    if (status == 0 && !stage.detected) {
        supplied = true;
        status = supply_all(&stage);
    }
    if (status == 0) {
        ran = true;
        status = finish(&stage);
    }
    if (status == 0)
        status = process_types(&stage);
    /* Once the supply scripts have started, result.json names the buildpacks even on failure;
     * a buildpack refused before then (no bin/) leaves them out, as the builder does. */
    if (status != CFBP_BUILDER_STOPPED && stage.count &&
        (ran || (supplied && status == CFBP_BUILDER_SUPPLY_FAILED))) {
        int metadata = collect_metadata(&stage, status != 0);
        if (status == 0)
            status = metadata;
    }
    /* A failed build still leaves a minimal result.json (§5.9); a stopped one writes nothing. */
    status = unless_stopped(&stage, status);
    if (status != CFBP_BUILDER_STOPPED && write_result(&stage, status != 0) < 0 && status == 0)
        status = CFBP_BUILDER_FAILED;
    if (status == 0)
        status = write_droplet(&stage);
    stage_release(&stage);
    return status;
}
