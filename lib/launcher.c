/*
 * launcher.c - one instance of a droplet: web process and sidecars (see
 * launcher.h).
 *
 * Every process leads a process group of its own, so stopping it stops what
 * it started too (rackup's children, a shell's jobs). A poll loop reads all
 * their output, cuts it into lines for the prefixes, and notices exits.
 *
 * Every way out of cfbp_launcher_run goes through stop_all and
 * instance_release, so the temporary home (cfbp-instance-* under $TMPDIR) is
 * removed whatever happened; a stop asked for while the droplet unpacks
 * starts nothing.
 */
#include "cfbp/launcher.h"

#include "cfbp/alloc.h"
#include "cfbp/app_manifest.h"
#include "cfbp/archive.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/json.h"
#include "cfbp/launch.h"
#include "cfbp/path.h"
#include "cfbp/platform.h"
#include "cfbp/process.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"
#include "cfbp/workdir.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A longer line is cut, so one chatty process cannot make the launcher grow without bound. */
#define LONGEST_LINE (64 * 1024)
/* How long processes get to stop after SIGTERM before SIGKILL (Diego gives 10 s). */
#define STOP_GRACE_MS 10000
/* staging_info.yml is a line of JSON written by the builder; a big one is not a droplet's. */
#define STAGING_INFO_MAX_BYTES (1 << 20)

/*
 * The launcher's own script (§4.6), given the app directory, the command and
 * the droplet's entrypoint prefix (which replaces `bash -c`) as arguments:
 * none of them is ever pasted into the script. The prefix is split into
 * words with globbing off. Profile scripts are sourced as the launcher
 * sources them, quirks included: through an unquoted variable, so a name
 * with a space or a glob character is split or expanded (a WARNING says so
 * before the processes start), and whatever a script leaves in env_file
 * stays.
 */
static const char launcher_script[] =
    /* Line for line the launcher's own, so that bash's messages name the same lines. */
    "cfbp_entrypoint_prefix=$3; set -- \"$1\" \"$2\"\n"
    "cd \"$1\"\n"
    "\n"
    "echo 'Invoking pre-start scripts.'\n"
    "\n"
    "if [ -n \"$(ls ../profile.d/* 2> /dev/null)\" ]; then\n"
    "  for env_file in ../profile.d/*; do\n"
    "    source $env_file\n"
    "  done\n"
    "fi\n"
    "\n"
    "if [ -n \"$(ls .profile.d/* 2> /dev/null)\" ]; then\n"
    "  for env_file in .profile.d/*; do\n"
    "    source $env_file\n"
    "  done\n"
    "fi\n"
    "\n"
    "if [ -f .profile ]; then\n"
    "  source .profile\n"
    "fi\n"
    "\n"
    "shift\n"
    "\n"
    "echo 'Invoking start command.'\n"
    "\n"
    "if [ -n \"$cfbp_entrypoint_prefix\" ]; then set -f; exec $cfbp_entrypoint_prefix \"$@\"; fi; "
    "exec bash -c \"$@\"\n";

/* $0 of the script, as Diego starts the launcher. */
#define LAUNCHER_NAME "/tmp/lifecycle/launcher"

struct stream {
    int fd;                     /* -1 once closed */
    struct cfbp_strbuf pending; /* a line not finished yet */
};

struct instance_process {
    char *label; /* "APP/PROC/WEB/0" */
    char *command;
    pid_t pid;
    bool running;
    int status;
    struct stream out, err;
};

struct instance {
    const struct cfbp_launcher_options *options;
    struct cfbp_workdir temp; /* the home, in TMPDIR, held while the instance runs */
    struct cfbp_strbuf home, app_dir;
    char *entrypoint_prefix; /* staging_info.yml's config.entrypoint_prefix, or NULL */
    struct instance_process *processes;
    size_t count, alloc;
    struct cfbp_environment environment;
    struct cfbp_error *err;
};

/* --- the droplet --- */

static int unpack(struct instance *instance)
{
    const char *temp = getenv("TMPDIR");
    if (cfbp_workdir_create_temp(&instance->temp, temp && *temp ? temp : "/tmp", "cfbp-instance-",
                                 instance->err) < 0)
        return -1;
    cfbp_strbuf_set(&instance->home, instance->temp.path);
    cfbp_path_join(&instance->app_dir, instance->home.buf, "app");
    const char *droplet = instance->options->droplet;
    if (cfbp_fs_is_directory(droplet)) {
        struct cfbp_strbuf copy = CFBP_STRBUF_INIT;
        cfbp_path_join(&copy, instance->home.buf, "droplet");
        int result = cfbp_fs_copy_tree(droplet, copy.buf, NULL, NULL, instance->err);
        if (result == 0)
            result = cfbp_fs_merge_move(copy.buf, instance->home.buf, instance->err);
        cfbp_strbuf_release(&copy);
        return result;
    }
    struct cfbp_archive_request request = {
        .source = droplet, .file_name = "droplet.tgz", .destination = instance->home.buf};
    char sha256[CFBP_DIGEST_HEX_SIZE];
    if (cfbp_archive_install(&request, sha256, instance->err) < 0)
        return cfbp_error_prefix(instance->err, "cannot unpack the droplet %s", droplet);
    return 0;
}

/* --- which processes --- */

static void add_process(struct instance *instance, const char *label, const char *command)
{
    CFBP_GROW(instance->processes, instance->alloc, instance->count + 1);
    struct instance_process *process = &instance->processes[instance->count++];
    memset(process, 0, sizeof(*process));
    process->label = cfbp_xstrdup(label);
    process->command = cfbp_xstrdup(command);
    process->out.fd = process->err.fd = -1;
    cfbp_strbuf_init(&process->out.pending, 0);
    cfbp_strbuf_init(&process->err.pending, 0);
}

static void sidecar_label(const char *name, struct cfbp_strbuf *out)
{
    cfbp_strbuf_set(out, "APP/PROC/WEB/SIDECAR/");
    for (const char *c = name; *c; c++)
        cfbp_strbuf_append_char(out, (char)toupper((unsigned char)*c));
    cfbp_strbuf_append_string(out, "/0");
}

/*
 * Reads staging_info.yml: the start command (unless the app manifest's
 * command: replaces it) and the entrypoint prefix.
 */
static int start_command(struct instance *instance, const struct cfbp_app_settings *settings,
                         struct cfbp_strbuf *command)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, text = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, instance->home.buf, "staging_info.yml");
    struct cfbp_json *info = NULL;
    int result = 0;
    bool present = cfbp_fs_exists(path.buf); /* a missing file says nothing, as an empty one */
    if (present)
        result = cfbp_fs_read_file(path.buf, STAGING_INFO_MAX_BYTES, &text, instance->err);
    if (present && result == 0 && cfbp_json_parse(text.buf, text.len, &info, instance->err) < 0)
        result = cfbp_error_prefix(instance->err, "%s", path.buf);
    const char *prefix =
        cfbp_json_string(cfbp_json_get(cfbp_json_get(info, "config"), "entrypoint_prefix"));
    if (prefix && *prefix)
        instance->entrypoint_prefix = cfbp_xstrdup(prefix);
    const char *start = cfbp_json_string(cfbp_json_get(info, "start_command"));
    if (result == 0 && settings->command)
        start = settings->command;
    if (result == 0 && (!start || !*start))
        result = cfbp_error_set(instance->err, CFBP_ERROR_INVALID,
                                "no start command specified or detected in droplet");
    if (result == 0)
        cfbp_strbuf_set(command, start);
    cfbp_json_free(info);
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&text);
    return result;
}

/* The buildpacks' launch.yml entries for web, merged in deps index order. */
static int buildpack_sidecars(struct instance *instance, struct cfbp_launch *merged)
{
    struct cfbp_strbuf deps = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT;
    struct cfbp_string_list indices = CFBP_STRING_LIST_INIT;
    cfbp_path_join(&deps, instance->home.buf, "deps");
    int result = 0;
    if (cfbp_fs_is_directory(deps.buf))
        result = cfbp_fs_list_directory(deps.buf, &indices, instance->err);
    for (size_t i = 0; result == 0 && i < indices.count; i++) {
        cfbp_path_join(&path, deps.buf, indices.items[i]);
        cfbp_path_append(&path, "launch.yml");
        if (!cfbp_fs_is_file(path.buf))
            continue;
        struct cfbp_launch launch;
        result = cfbp_launch_read(&launch, path.buf, instance->err);
        for (size_t j = 0; result == 0 && j < launch.count; j++) {
            const struct cfbp_launch_process *entry = &launch.processes[j];
            if (!cfbp_string_list_contains(&entry->sidecar_for, "web"))
                continue;
            size_t k = 0;
            while (k < merged->count && strcmp(merged->processes[k].type, entry->type) != 0)
                k++;
            if (k < merged->count) { /* the same type again replaces the earlier one */
                free(merged->processes[k].command);
                merged->processes[k].command = cfbp_xstrdup(entry->command);
            } else {
                cfbp_launch_add(merged, entry->type, entry->command);
            }
        }
        if (result == 0)
            cfbp_launch_release(&launch);
    }
    cfbp_string_list_clear(&indices);
    cfbp_strbuf_release(&deps);
    cfbp_strbuf_release(&path);
    return result;
}

static int choose_processes(struct instance *instance, const struct cfbp_app_settings *settings)
{
    const struct cfbp_app_manifest *manifest = &settings->manifest;
    struct cfbp_strbuf command = CFBP_STRBUF_INIT, label = CFBP_STRBUF_INIT;
    struct cfbp_launch sidecars = {0};
    int result = start_command(instance, settings, &command);
    if (result == 0)
        result = buildpack_sidecars(instance, &sidecars);
    if (result == 0)
        add_process(instance, "APP/PROC/WEB/0", command.buf);
    for (size_t i = 0; result == 0 && i < sidecars.count; i++) {
        if (cfbp_app_manifest_find_sidecar(manifest, sidecars.processes[i].type)) {
            result = cfbp_error_set(instance->err, CFBP_ERROR_INVALID,
                                    "Buildpack defined sidecar '%s' conflicts with an existing "
                                    "user-defined sidecar. Consider renaming '%s'.",
                                    sidecars.processes[i].type, sidecars.processes[i].type);
            break;
        }
        sidecar_label(sidecars.processes[i].type, &label);
        add_process(instance, label.buf, sidecars.processes[i].command);
    }
    for (size_t a = 0; result == 0 && a < manifest->count; a++) {
        for (size_t s = 0; s < manifest->apps[a].sidecar_count; s++) {
            const struct cfbp_app_sidecar *sidecar = &manifest->apps[a].sidecars[s];
            if (!cfbp_string_list_contains(&sidecar->process_types, "web") || !sidecar->command)
                continue;
            sidecar_label(sidecar->name, &label);
            add_process(instance, label.buf, sidecar->command);
        }
    }
    cfbp_launch_release(&sidecars);
    cfbp_strbuf_release(&command);
    cfbp_strbuf_release(&label);
    return result;
}

/* --- the environment (§4.6) --- */

/*
 * The instance's environment (platform.h): the caller's name and memory win
 * over the app manifest's, and its variables come after the manifest's env:.
 */
static void make_environment(struct instance *instance, const struct cfbp_app_settings *settings)
{
    const struct cfbp_launcher_options *options = instance->options;
    struct cfbp_environment app_environment = CFBP_ENVIRONMENT_INIT;
    cfbp_environment_merge(&app_environment, &settings->environment);
    cfbp_environment_merge(&app_environment, options->app_environment);
    struct cfbp_platform_app app = {
        .name = options->app_name ? options->app_name : settings->name,
        .memory = options->memory ? options->memory : settings->memory,
        .environment = &app_environment,
    };
    char guid[37];
    cfbp_platform_new_instance_guid(guid);
    struct cfbp_platform_instance where = {
        .home = instance->home.buf,
        .port = options->port,
        .index = 0,
        .guid = guid,
        .ip = "127.0.0.1",
    };
    cfbp_platform_instance_environment(&instance->environment, &app, &where);
    cfbp_environment_release(&app_environment);
}

/* --- running --- */

static int start_process(struct instance *instance, struct instance_process *process)
{
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return cfbp_error_set_errno(instance->err, CFBP_ERROR_IO, errno, "cannot start %s",
                                    process->label);
    if (pipe2(err, O_CLOEXEC) < 0) {
        close(out[0]);
        close(out[1]);
        return cfbp_error_set_errno(instance->err, CFBP_ERROR_IO, errno, "cannot start %s",
                                    process->label);
    }
    char *argv[] = {"/bin/bash",
                    "-c",
                    (char *)launcher_script,
                    LAUNCHER_NAME,
                    instance->app_dir.buf,
                    process->command,
                    instance->entrypoint_prefix ? instance->entrypoint_prefix : "",
                    NULL};
    struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
    spec.argv = argv;
    spec.directory = instance->home.buf;
    spec.environment = &instance->environment;
    spec.stdout_fd = out[1];
    spec.stderr_fd = err[1];
    spec.new_process_group = true;
    int result = cfbp_process_start(&spec, &process->pid, instance->err);
    close(out[1]);
    close(err[1]);
    if (result < 0) {
        close(out[0]);
        close(err[0]);
        return -1;
    }
    process->running = true;
    process->out.fd = out[0];
    process->err.fd = err[0];
    return 0;
}

static void emit_lines(struct instance *instance, const char *label, const char *kind,
                       struct cfbp_strbuf *pending, bool flush_all)
{
    FILE *output = instance->options->output;
    size_t start = 0;
    for (size_t i = 0; i < pending->len; i++) {
        if (pending->buf[i] != '\n')
            continue;
        fprintf(output, "[%s] %s %.*s\n", label, kind, (int)(i - start), pending->buf + start);
        start = i + 1;
    }
    if (flush_all && start < pending->len) {
        fprintf(output, "[%s] %s %.*s\n", label, kind, (int)(pending->len - start),
                pending->buf + start);
        start = pending->len;
    }
    memmove(pending->buf, pending->buf + start, pending->len - start);
    cfbp_strbuf_set_length(pending, pending->len - start);
    fflush(output);
}

static void read_stream(struct instance *instance, const char *label, const char *kind,
                        struct stream *stream)
{
    char buffer[8192];
    ssize_t got = read(stream->fd, buffer, sizeof(buffer));
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (got <= 0) {
        emit_lines(instance, label, kind, &stream->pending, true);
        close(stream->fd);
        stream->fd = -1;
        return;
    }
    cfbp_strbuf_append(&stream->pending, buffer, (size_t)got);
    emit_lines(instance, label, kind, &stream->pending, stream->pending.len > LONGEST_LINE);
}

/* Checks for processes that exited; returns the first one found, or NULL. */
static struct instance_process *reap(struct instance *instance)
{
    struct instance_process *ended = NULL;
    for (size_t i = 0; i < instance->count; i++) {
        struct instance_process *process = &instance->processes[i];
        int wait_status;
        if (!process->running || waitpid(process->pid, &wait_status, WNOHANG) != process->pid)
            continue;
        process->running = false;
        process->status = cfbp_process_exit_code(wait_status);
        if (!ended)
            ended = process;
    }
    return ended;
}

/* One round of the loop: read whatever output is there (waits at most timeout_ms). */
static bool pump(struct instance *instance, int timeout_ms)
{
    struct pollfd *fds = cfbp_xcalloc(2 * instance->count + 1, sizeof(*fds));
    size_t count = 0;
    for (size_t i = 0; i < instance->count; i++) {
        fds[count++] = (struct pollfd){instance->processes[i].out.fd, POLLIN, 0};
        fds[count++] = (struct pollfd){instance->processes[i].err.fd, POLLIN, 0};
    }
    fds[count++] = (struct pollfd){instance->options->stop_fd, POLLIN, 0};
    bool stop = false;
    if (poll(fds, count, timeout_ms) > 0) {
        for (size_t i = 0; i < instance->count; i++) {
            struct instance_process *process = &instance->processes[i];
            if (fds[2 * i].revents && process->out.fd >= 0)
                read_stream(instance, process->label, "OUT", &process->out);
            if (fds[2 * i + 1].revents && process->err.fd >= 0)
                read_stream(instance, process->label, "ERR", &process->err);
        }
        stop = instance->options->stop_fd >= 0 && fds[count - 1].revents;
    }
    free(fds);
    return stop;
}

static long long now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static bool any_running_or_open(const struct instance *instance)
{
    for (size_t i = 0; i < instance->count; i++) {
        const struct instance_process *process = &instance->processes[i];
        if (process->running || process->out.fd >= 0 || process->err.fd >= 0)
            return true;
    }
    return false;
}

/* SIGTERM to every process group, SIGKILL after the grace period; drains output. */
static void stop_all(struct instance *instance)
{
    for (size_t i = 0; i < instance->count; i++)
        if (instance->processes[i].pid > 0)
            kill(-instance->processes[i].pid, SIGTERM);
    long long deadline = now_ms() + STOP_GRACE_MS;
    bool killed = false;
    while (any_running_or_open(instance)) {
        pump(instance, 50);
        reap(instance);
        if (!killed && now_ms() > deadline) {
            for (size_t i = 0; i < instance->count; i++)
                if (instance->processes[i].pid > 0)
                    kill(-instance->processes[i].pid, SIGKILL);
            killed = true;
        } else if (killed && now_ms() > deadline + 1000) {
            /* Something that left its process group still holds a pipe: stop reading. */
            for (size_t i = 0; i < instance->count; i++) {
                struct instance_process *process = &instance->processes[i];
                if (process->out.fd >= 0)
                    close(process->out.fd);
                if (process->err.fd >= 0)
                    close(process->err.fd);
                process->out.fd = process->err.fd = -1;
            }
        }
    }
    /* Whatever the processes left running in their groups goes too. */
    for (size_t i = 0; i < instance->count; i++)
        if (instance->processes[i].pid > 0)
            kill(-instance->processes[i].pid, SIGKILL);
}

/* True when options->stop_fd is readable already. */
static bool stop_requested(const struct cfbp_launcher_options *options)
{
    struct pollfd poller = {.fd = options->stop_fd, .events = POLLIN};
    return poller.fd >= 0 && poll(&poller, 1, 0) > 0;
}

static void instance_release(struct instance *instance)
{
    for (size_t i = 0; i < instance->count; i++) {
        free(instance->processes[i].label);
        free(instance->processes[i].command);
        cfbp_strbuf_release(&instance->processes[i].out.pending);
        cfbp_strbuf_release(&instance->processes[i].err.pending);
    }
    free(instance->processes);
    if (instance->home.len) {
        struct cfbp_error err = CFBP_ERROR_INIT;
        if (cfbp_fs_remove_tree(instance->home.buf, &err) < 0)
            fprintf(instance->options->output, "[cfbp] warning: %s\n", err.message);
        cfbp_error_clear(&err);
    }
    cfbp_workdir_release(&instance->temp);
    cfbp_environment_release(&instance->environment);
    free(instance->entrypoint_prefix);
    cfbp_strbuf_release(&instance->home);
    cfbp_strbuf_release(&instance->app_dir);
}

int cfbp_launcher_run(const struct cfbp_launcher_options *options, int *exit_status,
                      struct cfbp_error *err)
{
    struct instance instance = {.options = options, .err = err, .temp = CFBP_WORKDIR_INIT};
    cfbp_strbuf_init(&instance.home, 0);
    cfbp_strbuf_init(&instance.app_dir, 0);
    struct cfbp_app_settings settings;
    memset(&settings, 0, sizeof(settings));
    *exit_status = 0;
    /* Children that appear from here on and outlive the processes are orphans the app left
     * (adopted when the program called cfbp_process_adopt_orphans): they go at the end. */
    struct cfbp_process_children before;
    cfbp_process_children_snapshot(&before);
    int result = unpack(&instance);
    if (result == 0)
        result = cfbp_app_settings_load(&settings, instance.app_dir.buf, err);
    if (result == 0)
        result = choose_processes(&instance, &settings);
    if (result == 0) {
        make_environment(&instance, &settings);
        struct cfbp_strbuf warnings = CFBP_STRBUF_INIT;
        cfbp_platform_profile_warnings(instance.home.buf, &warnings);
        fputs(warnings.buf, options->output);
        cfbp_strbuf_release(&warnings);
    }
    cfbp_app_settings_release(&settings);
    bool stop = result == 0 && stop_requested(options);
    if (stop)
        fprintf(options->output, "[cfbp] stopping the instance\n");
    for (size_t i = 0; result == 0 && !stop && i < instance.count; i++) {
        result = start_process(&instance, &instance.processes[i]);
        if (result == 0)
            fprintf(options->output, "[cfbp] started %s: %s\n", instance.processes[i].label,
                    instance.processes[i].command);
    }
    if (result == 0 && !stop) {
        fflush(options->output);
        for (;;) {
            stop = pump(&instance, 200);
            struct instance_process *ended = reap(&instance);
            if (ended) {
                *exit_status = ended->status;
                fprintf(options->output, "[cfbp] %s exited with status %d; stopping the instance\n",
                        ended->label, ended->status);
                break;
            }
            if (stop) {
                fprintf(options->output, "[cfbp] stopping the instance\n");
                break;
            }
        }
    }
    stop_all(&instance);
    cfbp_process_children_kill_new(&before);
    fflush(options->output);
    instance_release(&instance);
    return result;
}
