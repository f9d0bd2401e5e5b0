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
#include "cfbp/launch.h"
#include "cfbp/path.h"
#include "cfbp/platform.h"
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
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

/*
 * What is read from buildpacks at most. The real builder has no limits; a
 * buildpack that goes past these is broken or hostile, and staging fails
 * naming it rather than growing without bound.
 */
#define RELEASE_OUTPUT_LIMIT (1 << 20)  /* bin/release's stdout: a small YAML map */
#define DETECT_OUTPUT_LIMIT  (64 << 10) /* bin/detect's stdout: a buildpack name */
#define PROCFILE_MAX_BYTES   (1 << 20)

/* What `cf push` leaves out of the app bits by default. */
static const char *const ignored_app_files[] = {".cfignore",  "_darcs", ".DS_Store", ".git",
                                                ".gitignore", ".hg",    ".svn",      NULL};

struct buildpack {
    char *given; /* as the user named it */
    char *key;
    char *root;          /* holds bin/; NULL when it has none */
    char *malformed;     /* without bin/: the builder's message saying so, else NULL */
    char *detected_name; /* detect's output, in auto-detect mode */
};

struct stage {
    const struct cfbp_builder_options *options;
    struct cfbp_error *err;
    struct cfbp_workdir temp; /* in TMPDIR, held while staging runs */
    struct cfbp_strbuf work, build_dir, contents, deps_dir, profile_dir, home;
    /* options->cache_dir made absolute: the scripts run in home, so a relative CACHE_DIR
     * would land in the staging directory and go with it. */
    struct cfbp_strbuf cache_dir;
    struct buildpack *buildpacks;
    size_t count, alloc;
    struct cfbp_string_list indices; /* deps index of each buildpack, zero-padded (§4.2) */
    size_t order_count;  /* buildpacks in the builder's order: the named ones, or the candidates */
    size_t supply_count; /* the supply buildpacks: all named but the last; none when detecting */
    bool detected;       /* auto-detect mode */
    bool compile_path;   /* the final buildpack had no finalize */
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
    if (cfbp_path_absolute(&stage->cache_dir, stage->options->cache_dir, stage->err) < 0)
        return failed(stage);
    if (!cfbp_fs_is_directory(stage->options->app_dir))
        return fail(stage, CFBP_BUILDER_FAILED, "the app directory %s does not exist",
                    stage->options->app_dir);
    if (cfbp_fs_copy_tree(stage->options->app_dir, stage->build_dir.buf, skip_ignored, NULL,
                          stage->err) < 0 ||
        /* The droplet's root: the builder makes it with os.MkdirTemp, so "./" is 0700. */
        cfbp_fs_mkdir_p(stage->contents.buf, 0700, stage->err) < 0 ||
        cfbp_fs_mkdir_p(stage->deps_dir.buf, 0755, stage->err) < 0 ||
        cfbp_fs_mkdir_p(stage->profile_dir.buf, 0755, stage->err) < 0 ||
        cfbp_fs_mkdir_p(stage->home.buf, 0755, stage->err) < 0 ||
        cfbp_fs_mkdir_p(stage->cache_dir.buf, 0755, stage->err) < 0)
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
        /* The builder looks for bin/ only when it comes to the buildpack (supply_all, detect):
         * remembered until then. */
        buildpack->malformed = cfbp_xstrdup(stage->err->message);
        cfbp_error_clear(stage->err);
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
        stage->order_count = options->buildpack_count;
        stage->supply_count = options->buildpack_count - 1;
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
    stage->order_count = stage->count;
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
    for (size_t i = 0; result == 0 && i < stage->supply_count; i++) {
        char name[17];
        cfbp_builder_cache_name(stage->buildpacks[i].key, name);
        cfbp_string_list_append(&keep, name);
    }
    /* The builder empties the cache of everything but final and the current supply caches. */
    if (result == 0)
        result = cfbp_fs_list_directory(stage->cache_dir.buf, &entries, stage->err);
    for (size_t i = 0; result == 0 && i < entries.count; i++) {
        if (cfbp_string_list_contains(&keep, entries.items[i]))
            continue;
        cfbp_path_join(&path, stage->cache_dir.buf, entries.items[i]);
        result = cfbp_fs_remove_tree(path.buf, stage->err);
    }
    for (size_t i = 0; result == 0 && i < keep.count; i++) {
        cfbp_path_join(&path, stage->cache_dir.buf, keep.items[i]);
        result = cfbp_fs_mkdir_p(path.buf, 0755, stage->err);
    }
    cfbp_strbuf_release(&path);
    cfbp_string_list_clear(&keep);
    cfbp_string_list_clear(&entries);
    return result < 0 ? failed(stage) : 0;
}

static void make_environment(struct stage *stage)
{
    const struct cfbp_builder_options *options = stage->options;
    struct cfbp_platform_app app = {
        .name = options->app_name,
        .memory = options->memory,
        .environment = options->app_environment,
    };
    cfbp_platform_staging_environment(&stage->environment, &app, options->stack, stage->home.buf);
}

/* --- running scripts (§3, §10.3-10.5) --- */

static void script_path(const struct buildpack *buildpack, const char *script,
                        struct cfbp_strbuf *out)
{
    cfbp_path_join(out, buildpack->root, "bin");
    cfbp_path_append(out, script);
}

static bool has_script(const struct buildpack *buildpack, const char *script)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    script_path(buildpack, script, &path);
    bool result = cfbp_fs_is_file(path.buf);
    cfbp_strbuf_release(&path);
    return result;
}

/*
 * A C library's text for an errno or a signal as Go prints it (syscall's
 * tables): the same words with a lowercase first letter, unless the first
 * word is an acronym ("CPU time limit exceeded").
 */
static void append_go_text(struct cfbp_strbuf *out, const char *text)
{
    if (text[0] >= 'A' && text[0] <= 'Z' && !(text[1] >= 'A' && text[1] <= 'Z')) {
        cfbp_strbuf_append_char(out, (char)(text[0] - 'A' + 'a'));
        text++;
    }
    cfbp_strbuf_append_string(out, text);
}

/* How a script run ended. */
enum script_end {
    SCRIPT_RAN,             /* started and ran to its end: wait_status says how it went */
    SCRIPT_NOT_STARTED,     /* execve failed: start_errno says why */
    SCRIPT_OUTPUT_EXCEEDED, /* killed for printing more than the limit */
    SCRIPT_STOPPED,         /* killed (or never started) because staging is stopping */
};

struct script_outcome {
    enum script_end end;
    int wait_status; /* SCRIPT_RAN: as waitpid(2) gave it */
    int start_errno; /* SCRIPT_NOT_STARTED */
    char *path;      /* <root>/bin/<script> */
};

static bool script_succeeded(const struct script_outcome *outcome)
{
    return outcome->end == SCRIPT_RAN && WIFEXITED(outcome->wait_status) &&
           WEXITSTATUS(outcome->wait_status) == 0;
}

/*
 * Why a script failed, in the words of Go's os/exec, which the builder
 * prints: "exit status 7", "signal: killed", "fork/exec <path>: permission
 * denied" (for SCRIPT_RAN and SCRIPT_NOT_STARTED).
 */
static void describe_failure(const struct script_outcome *outcome, struct cfbp_strbuf *out)
{
    int status = outcome->wait_status;
    if (outcome->end == SCRIPT_NOT_STARTED) {
        cfbp_strbuf_append_format(out, "fork/exec %s: ", outcome->path);
        append_go_text(out, strerror(outcome->start_errno));
    } else if (WIFSIGNALED(status)) {
        const char *name = strsignal(WTERMSIG(status));
        cfbp_strbuf_append_string(out, "signal: ");
        append_go_text(out, name ? name : "unknown signal");
        if (WCOREDUMP(status))
            cfbp_strbuf_append_string(out, " (core dumped)");
    } else {
        cfbp_strbuf_append_format(out, "exit status %d",
                                  WIFEXITED(status) ? WEXITSTATUS(status) : 1);
    }
}

static void release_outcome(struct script_outcome *outcome)
{
    free(outcome->path);
    outcome->path = NULL;
}

/*
 * Runs <root>/bin/<script> with arguments, streaming its output, or with its
 * stdout collected into captured (at most capture_limit bytes) when that is
 * given. stdin is /dev/null, as under the builder; the script leads a process
 * group of its own, so that a stop reaches everything it started and nothing
 * it started outlives it. The caller releases the outcome.
 */
static void run_script(struct stage *stage, const struct buildpack *buildpack, const char *script,
                       const char *const *arguments, struct script_outcome *outcome,
                       struct cfbp_strbuf *captured, size_t capture_limit)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    script_path(buildpack, script, &path);
    *outcome = (struct script_outcome){.end = SCRIPT_STOPPED, .path = path.buf};
    if (stop_requested(stage))
        return;
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
    int status;
    outcome->end = SCRIPT_RAN;
    if (cfbp_process_run_spec(&spec, &run, &status, &err) < 0) {
        if (run.stopped) {
            outcome->end = SCRIPT_STOPPED;
        } else if (run.output_exceeded) {
            outcome->end = SCRIPT_OUTPUT_EXCEEDED;
        } else {
            /* Not started (execve's errno), or not waited for: either way it did not run. */
            outcome->end = SCRIPT_NOT_STARTED;
            outcome->start_errno = run.start_errno ? run.start_errno : EIO;
        }
    }
    outcome->wait_status = run.wait_status;
    /* Our output, which the scripts share, lost its reader (cfbp stage | head): a script
     * that died of SIGPIPE there did not fail; the staging lost its audience, as on a stop. */
    if (!script_succeeded(outcome) && cfbp_process_output_gone())
        outcome->end = SCRIPT_STOPPED;
    if (null_input >= 0)
        close(null_input);
    cfbp_error_clear(&err);
}

/*
 * The staging failure for a script that failed, with code and
 * "<context>: <why>" (why as the builder says it, or our own limit's words).
 */
static int script_failed(struct stage *stage, const struct script_outcome *outcome,
                         const struct buildpack *buildpack, const char *script, int code,
                         const char *context, size_t limit)
{
    if (outcome->end == SCRIPT_STOPPED)
        return fail(stage, CFBP_BUILDER_STOPPED, "Staging stopped while buildpack %s ran bin/%s",
                    buildpack->given, script);
    struct cfbp_strbuf why = CFBP_STRBUF_INIT;
    if (outcome->end == SCRIPT_OUTPUT_EXCEEDED) {
        cfbp_strbuf_append_format(&why, "buildpack %s printed more than ", buildpack->given);
        describe_limit(limit, &why);
        cfbp_strbuf_append_format(&why,
                                  " on stdout from bin/%s, the most that is read; the script "
                                  "was stopped",
                                  script);
    } else {
        describe_failure(outcome, &why);
    }
    fail(stage, code, "%s: %s", context, why.buf);
    cfbp_strbuf_release(&why);
    return code;
}

/* Runs a script whose failure fails the staging with code and "<context>: <why>". */
static int run_step(struct stage *stage, const struct buildpack *buildpack, const char *script,
                    const char *const *arguments, int code, const char *context)
{
    struct script_outcome outcome;
    run_script(stage, buildpack, script, arguments, &outcome, NULL, 0);
    int result = script_succeeded(&outcome)
                     ? 0
                     : script_failed(stage, &outcome, buildpack, script, code, context, 0);
    release_outcome(&outcome);
    return result;
}

static void cache_for(const struct stage *stage, size_t index, struct cfbp_strbuf *out)
{
    char name[17] = "final";
    bool final = stage->detected || index == stage->count - 1;
    if (!final)
        cfbp_builder_cache_name(stage->buildpacks[index].key, name);
    cfbp_path_join(out, stage->cache_dir.buf, name);
}

/*
 * True when a candidate can be asked to detect. As the builder does, one
 * without bin/ or bin/detect is named on stderr and passed over, and a
 * bin/detect that is not executable for everyone gets a warning (on stdout,
 * where the builder prints it) and is still run.
 */
static bool can_detect(struct stage *stage, const struct buildpack *buildpack)
{
    if (buildpack->malformed) {
        fprintf(stage->options->messages, "%s\n", buildpack->malformed);
        return false;
    }
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, why = CFBP_STRBUF_INIT;
    script_path(buildpack, "detect", &path);
    struct stat st;
    bool usable = stat(path.buf, &st) == 0;
    if (!usable) {
        append_go_text(&why, strerror(errno));
        fprintf(stage->options->messages, "stat %s: %s\n", path.buf, why.buf);
    } else if ((st.st_mode & 0111) != 0111) {
        fflush(stage->options->messages);
        printf("WARNING: buildpack script '/bin/detect' is not executable\n");
        fflush(stdout);
    }
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&why);
    return usable;
}

static void release_buildpack(struct buildpack *buildpack)
{
    free(buildpack->given);
    free(buildpack->key);
    free(buildpack->root);
    free(buildpack->malformed);
    free(buildpack->detected_name);
}

static int detect(struct stage *stage)
{
    struct cfbp_strbuf output = CFBP_STRBUF_INIT;
    const char *arguments[] = {stage->build_dir.buf, NULL};
    for (size_t i = 0; i < stage->count; i++) {
        struct buildpack *buildpack = &stage->buildpacks[i];
        if (!can_detect(stage, buildpack))
            continue;
        cfbp_strbuf_reset(&output);
        struct script_outcome outcome;
        run_script(stage, buildpack, "detect", arguments, &outcome, &output, DETECT_OUTPUT_LIMIT);
        if (outcome.end == SCRIPT_STOPPED || outcome.end == SCRIPT_OUTPUT_EXCEEDED) {
            int status = script_failed(stage, &outcome, buildpack, "detect", CFBP_BUILDER_FAILED,
                                       "Failed to detect", DETECT_OUTPUT_LIMIT);
            release_outcome(&outcome);
            cfbp_strbuf_release(&output);
            return status;
        }
        bool detected = script_succeeded(&outcome);
        release_outcome(&outcome);
        if (!detected)
            continue; /* a detect that fails or cannot start says "not mine", quietly */
        cfbp_strbuf_trim_newlines(&output);
        buildpack->detected_name = cfbp_xstrdup(output.buf);
        /* Only the detected buildpack stages (at index 0). */
        struct buildpack chosen = *buildpack;
        for (size_t j = 0; j < stage->count; j++)
            if (j != i)
                release_buildpack(&stage->buildpacks[j]);
        stage->buildpacks[0] = chosen;
        stage->count = 1;
        cfbp_strbuf_release(&output);
        return 0;
    }
    cfbp_strbuf_release(&output);
    return fail(stage, CFBP_BUILDER_DETECT_FAILED,
                "None of the buildpacks detected a compatible application");
}

/*
 * The builder's supply phase (§10.3): every supply buildpack is checked for
 * bin/ (one without is named on stderr too) and bin/supply before any runs;
 * then each runs; then the final buildpack is checked for bin/, so that its
 * lack fails the staging only after the supply scripts ran. All 225.
 */
static int supply_all(struct stage *stage)
{
    static const char failure[] = "Failed to run all supply scripts";
    for (size_t i = 0; i < stage->supply_count; i++) {
        const struct buildpack *buildpack = &stage->buildpacks[i];
        if (buildpack->malformed) {
            fprintf(stage->options->messages, "%s\n", buildpack->malformed);
            return fail(stage, CFBP_BUILDER_SUPPLY_FAILED, "%s: %s", failure, buildpack->malformed);
        }
        if (!has_script(buildpack, "supply"))
            return fail(stage, CFBP_BUILDER_SUPPLY_FAILED,
                        "Error: one of the buildpacks chosen to supply dependencies does not "
                        "support multi-buildpack apps");
    }
    struct cfbp_strbuf cache = CFBP_STRBUF_INIT;
    int result = 0;
    for (size_t i = 0; result == 0 && i < stage->supply_count; i++) {
        cache_for(stage, i, &cache);
        const char *arguments[] = {stage->build_dir.buf, cache.buf, stage->deps_dir.buf,
                                   stage->indices.items[i], NULL};
        result = run_step(stage, &stage->buildpacks[i], "supply", arguments,
                          CFBP_BUILDER_SUPPLY_FAILED, failure);
    }
    cfbp_strbuf_release(&cache);
    const struct buildpack *final = &stage->buildpacks[stage->count - 1];
    if (result == 0 && final->malformed)
        result = fail(stage, CFBP_BUILDER_SUPPLY_FAILED, "%s: %s", failure, final->malformed);
    return result;
}

/*
 * The final buildpack (§10.5). The builder wraps each failure in "Failed to
 * compile droplet", the compile script's twice (its runFinalize and its
 * build both add it).
 */
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
                              "Failed to compile droplet: Failed to compile droplet");
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

/* "deps/<index>/launch.yml" under the staging directory, into out. */
static void launch_path(const struct stage *stage, const char *index, struct cfbp_strbuf *out)
{
    cfbp_path_join(out, stage->deps_dir.buf, index);
    cfbp_path_append(out, "launch.yml");
}

/*
 * Warns that the launch.yml buildpack (the one at deps index padded) wrote
 * is one Cloud Foundry's builder does not read, because it looked at
 * deps/<looked_at>/ instead; instead says what happens in its place. The
 * types it declares are named, so that a missing sidecar is found here.
 */
static void warn_unread_launch(struct stage *stage, const struct buildpack *buildpack,
                               const char *padded, const char *looked_at, const char *why,
                               const char *instead)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, types = CFBP_STRBUF_INIT;
    launch_path(stage, padded, &path);
    struct cfbp_launch launch;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_launch_read(&launch, path.buf, &err) == 0) {
        for (size_t i = 0; i < launch.count && i < 10; i++)
            cfbp_strbuf_append_format(&types, "%s%s", i ? ", " : " (", launch.processes[i].type);
        if (launch.count)
            cfbp_strbuf_append_string(&types, launch.count > 10 ? ", ...)" : ")");
        cfbp_launch_release(&launch);
    }
    cfbp_error_clear(&err);
    fprintf(stage->options->messages,
            "WARNING: %s, Cloud Foundry's builder looks for launch.yml at deps/%s/, not deps/%s/, "
            "so it ignores the deps/%s/launch.yml that buildpack %s wrote: the processes and "
            "sidecars declared there%s will not run on Cloud Foundry%s, and cfbp stage ignores "
            "them too. Declare them in the app manifest (processes:, sidecars:) instead.\n",
            why, looked_at, padded, padded, buildpack->given, types.buf, instead);
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&types);
}

/*
 * Merges the launch.yml of a buildpack where the builder looks for it:
 * deps/<position>/launch.yml with position not zero-padded (strconv.Itoa),
 * while the directories are (§17). From 10 buildpacks on, that misses the
 * buildpacks at positions 0-9 (it finds deps/10/ and up, which are theirs
 * again); when it misses a launch.yml the buildpack did write, a WARNING says
 * so. *found tells whether a launch.yml was merged.
 */
static int merge_launch(struct stage *stage, size_t position, const struct buildpack *buildpack,
                        const char *padded, const char *why, const char *instead, bool *found)
{
    struct cfbp_strbuf looked_at = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&looked_at, "%zu", position);
    launch_path(stage, looked_at.buf, &path);
    *found = cfbp_fs_exists(path.buf);
    int result = 0;
    if (*found) {
        struct cfbp_launch launch;
        if (cfbp_launch_read(&launch, path.buf, stage->err) < 0) {
            cfbp_error_prefix(stage->err, "cannot read the launch.yml at deps index %s",
                              looked_at.buf);
            result = failed(stage);
        } else {
            cfbp_staging_result_merge_launch(&stage->result, &launch);
            cfbp_launch_release(&launch);
        }
    } else if (padded && strcmp(padded, looked_at.buf) != 0) {
        launch_path(stage, padded, &path);
        if (cfbp_fs_exists(path.buf))
            warn_unread_launch(stage, buildpack, padded, looked_at.buf, why, instead);
    }
    cfbp_strbuf_release(&looked_at);
    cfbp_strbuf_release(&path);
    return result;
}

static int release(struct stage *stage, const struct buildpack *buildpack)
{
    static const char failure[] = "Failed to build droplet release";
    struct cfbp_strbuf output = CFBP_STRBUF_INIT;
    const char *arguments[] = {stage->build_dir.buf, NULL};
    struct script_outcome outcome;
    run_script(stage, buildpack, "release", arguments, &outcome, &output, RELEASE_OUTPUT_LIMIT);
    int result = 0;
    if (!script_succeeded(&outcome)) {
        result = script_failed(stage, &outcome, buildpack, "release", CFBP_BUILDER_RELEASE_FAILED,
                               failure, RELEASE_OUTPUT_LIMIT);
    } else if (cfbp_staging_result_merge_map(&stage->result, output.buf, output.len,
                                             "release output", "default_process_types",
                                             stage->err) < 0) {
        struct cfbp_error why = CFBP_ERROR_INIT;
        cfbp_error_move(&why, stage->err);
        result = fail(stage, CFBP_BUILDER_RELEASE_FAILED,
                      "%s: buildpack's release output invalid: %s", failure, why.message);
        cfbp_error_clear(&why);
    }
    release_outcome(&outcome);
    cfbp_strbuf_release(&output);
    return result;
}

static int process_types(struct stage *stage)
{
    size_t final = stage->count - 1;
    bool found;
    /* Supply buildpacks' launch.yml, where the builder looks (merge_launch). */
    for (size_t i = 0; i < stage->supply_count; i++) {
        int status = merge_launch(stage, i, &stage->buildpacks[i], stage->indices.items[i],
                                  "with 10 or more buildpacks", "", &found);
        if (status)
            return status;
    }
    /* The final buildpack's is looked for at the last position of the builder's order: when
     * detecting among several buildpacks, that is not where the detected one wrote it (0). */
    struct cfbp_strbuf why = CFBP_STRBUF_INIT;
    if (stage->detected)
        cfbp_strbuf_append_format(&why, "when it detects among %zu buildpacks", stage->order_count);
    else
        cfbp_strbuf_set(&why, "with 10 or more buildpacks");
    int status = merge_launch(stage, stage->order_count - 1, &stage->buildpacks[final],
                              stage->compile_path ? NULL : stage->indices.items[final], why.buf,
                              " (bin/release runs instead)", &found);
    cfbp_strbuf_release(&why);
    if (status)
        return status;
    if (!found) {
        status = release(stage, &stage->buildpacks[final]);
        if (status)
            return status;
    }
    struct cfbp_strbuf procfile = CFBP_STRBUF_INIT, text = CFBP_STRBUF_INIT;
    cfbp_path_join(&procfile, stage->build_dir.buf, "Procfile");
    int result = 0;
    if (cfbp_fs_is_file(procfile.buf)) {
        if (read_bounded(stage, procfile.buf, "the Procfile", PROCFILE_MAX_BYTES, &text) < 0) {
            struct cfbp_error reason = CFBP_ERROR_INIT;
            cfbp_error_move(&reason, stage->err);
            result = fail(stage, CFBP_BUILDER_FAILED, "Failed to read command from Procfile: %s",
                          reason.message);
            cfbp_error_clear(&reason);
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
                        "WARNING: buildpack %s wrote a config.yml of %jd bytes, more than the %s "
                        "that is read; it is ignored\n",
                        buildpack->given, (intmax_t)st.st_size, described.buf);
            else
                result = fail(stage, CFBP_BUILDER_FAILED,
                              "buildpack %s wrote a config.yml of %jd bytes (deps/%s/config.yml), "
                              "more than the %s that is read",
                              buildpack->given, (intmax_t)st.st_size, stage->indices.items[i],
                              described.buf);
        }
        /* On failure the builder names the buildpacks from config.yml alone (§5.9). */
        cfbp_staging_result_add_buildpack(&stage->result, buildpack->key, path.buf,
                                          failing ? NULL : buildpack->detected_name);
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
    if (result == 0) {
        struct cfbp_strbuf warnings = CFBP_STRBUF_INIT;
        cfbp_platform_profile_warnings(stage->contents.buf, &warnings);
        fputs(warnings.buf, stage->options->messages);
        cfbp_strbuf_release(&warnings);
    }
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
            fprintf(stage->options->messages, "WARNING: %s\n", err.message);
        cfbp_error_clear(&err);
    }
    cfbp_workdir_release(&stage->temp);
    for (size_t i = 0; i < stage->count; i++)
        release_buildpack(&stage->buildpacks[i]);
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
    cfbp_strbuf_release(&stage->cache_dir);
}

int cfbp_builder_stage(const struct cfbp_builder_options *options, int *exit_status,
                       struct cfbp_error *err)
{
    struct stage stage = {.options = options, .err = err, .temp = CFBP_WORKDIR_INIT};
    cfbp_strbuf_init(&stage.work, 0);
    cfbp_strbuf_init(&stage.build_dir, 0);
    cfbp_strbuf_init(&stage.contents, 0);
    cfbp_strbuf_init(&stage.deps_dir, 0);
    cfbp_strbuf_init(&stage.profile_dir, 0);
    cfbp_strbuf_init(&stage.home, 0);
    cfbp_strbuf_init(&stage.cache_dir, 0);
    /* Every return goes through stage_release: nothing is left in TMPDIR. */
    int status = unless_stopped(&stage, make_directories(&stage));
    if (status == 0)
        status = unless_stopped(&stage, choose_buildpacks(&stage));
    if (status == 0)
        make_environment(&stage);
    if (status == 0 && stage.detected)
        status = detect(&stage);
    if (status == 0)
        status = make_deps_and_caches(&stage);
    if (status == 0)
        status = supply_all(&stage);
    /*
     * From here on the builder is building: a failure still writes result.json, with the
     * buildpacks' metadata and no processes (§5.9). Before (setup, detection, the supply
     * phase) it writes none, and neither does a stopped staging.
     */
    bool building = status == 0;
    if (status == 0)
        status = finish(&stage);
    if (status == 0)
        status = process_types(&stage);
    if (building && status != CFBP_BUILDER_STOPPED) {
        int metadata = collect_metadata(&stage, status != 0);
        if (status == 0)
            status = metadata;
    }
    status = unless_stopped(&stage, status);
    if (building && status != CFBP_BUILDER_STOPPED && write_result(&stage, status != 0) < 0 &&
        status == 0)
        status = CFBP_BUILDER_FAILED;
    if (status == 0)
        status = write_droplet(&stage);
    /* What an earlier staging left at the output paths does not belong to this one. */
    if (status != 0 && status != CFBP_BUILDER_STOPPED) {
        unlink(options->droplet);
        if (!building)
            unlink(options->result);
    }
    stage_release(&stage);
    *exit_status = status;
    return status ? -1 : 0;
}
