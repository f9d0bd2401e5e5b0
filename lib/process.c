/*
 * process.c - spawning programs without a shell (see process.h).
 *
 * cfbp_process_run_spec watches a running program with one poll loop over
 * its output pipe, the caller's stop descriptor and a pidfd (a 50 ms tick
 * where the kernel has none). Its exit is noticed with waitid(WNOWAIT), which
 * leaves it a zombie: its process group id cannot be reused until it is
 * reaped, so killing what is left of the group afterwards cannot hit a
 * stranger.
 */
#include "cfbp/process.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Without a pidfd, how often to look whether the program has exited. */
#define EXIT_POLL_MS 50
/* After the program (and its group) ended, how long to wait for its output to close. */
#define DRAIN_MS 1000

extern char **environ;

/* --- environments --- */

/* The name part of entry index ("NAME" of "NAME=value"). */
static const char *entry_name(const void *owner, size_t index, size_t *length)
{
    const struct cfbp_environment *environment = owner;
    const char *entry = environment->entries.items[index];
    *length = strcspn(entry, "=");
    return entry;
}

static size_t find_entry(const struct cfbp_environment *environment, const char *name)
{
    size_t length = strlen(name);
    size_t found = cfbp_text_table_find(&environment->names, cfbp_text_hash(name, length), name,
                                        length, entry_name, environment);
    return found ? found - 1 : (size_t)-1;
}

/* Indexes every entry again (after one was taken out and the rest moved up). */
static void reindex(struct cfbp_environment *environment)
{
    cfbp_text_table_release(&environment->names);
    for (size_t i = 0; i < environment->entries.count; i++) {
        size_t length;
        const char *name = entry_name(environment, i, &length);
        cfbp_text_table_add(&environment->names, cfbp_text_hash(name, length), i);
    }
}

/* Keeps items[count] NULL, so the list can be handed to execve as it is. */
static void terminate(struct cfbp_environment *environment)
{
    struct cfbp_string_list *entries = &environment->entries;
    CFBP_GROW(entries->items, entries->alloc, entries->count + 1);
    entries->items[entries->count] = NULL;
}

void cfbp_environment_set(struct cfbp_environment *environment, const char *name, const char *value)
{
    if (!*name || strchr(name, '='))
        return; /* no program could read such a variable back */
    struct cfbp_strbuf entry = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&entry, "%s=%s", name, value);
    size_t at = find_entry(environment, name);
    if (at == (size_t)-1) {
        cfbp_text_table_add(&environment->names, cfbp_text_hash(name, strlen(name)),
                            environment->entries.count);
        cfbp_string_list_append_owned(&environment->entries, cfbp_strbuf_detach(&entry, NULL));
    } else {
        free(environment->entries.items[at]);
        environment->entries.items[at] = cfbp_strbuf_detach(&entry, NULL);
    }
    terminate(environment);
}

const char *cfbp_environment_get(const struct cfbp_environment *environment, const char *name)
{
    size_t at = find_entry(environment, name);
    return at == (size_t)-1 ? NULL : environment->entries.items[at] + strlen(name) + 1;
}

void cfbp_environment_unset(struct cfbp_environment *environment, const char *name)
{
    size_t at = find_entry(environment, name);
    if (at == (size_t)-1)
        return;
    free(environment->entries.items[at]);
    memmove(environment->entries.items + at, environment->entries.items + at + 1,
            (environment->entries.count - at - 1) * sizeof(char *));
    environment->entries.count--;
    reindex(environment);
    terminate(environment);
}

bool cfbp_environment_set_assignment(struct cfbp_environment *environment, const char *assignment)
{
    const char *equals = strchr(assignment, '=');
    if (!equals || equals == assignment)
        return false;
    char *name = cfbp_xstrndup(assignment, (size_t)(equals - assignment));
    cfbp_environment_set(environment, name, equals + 1);
    free(name);
    return true;
}

void cfbp_environment_merge(struct cfbp_environment *into, const struct cfbp_environment *from)
{
    for (size_t i = 0; from && i < from->entries.count; i++)
        cfbp_environment_set_assignment(into, from->entries.items[i]);
}

void cfbp_environment_inherit(struct cfbp_environment *environment, const char *const *names)
{
    for (; *names; names++) {
        const char *value = getenv(*names);
        if (value)
            cfbp_environment_set(environment, *names, value);
    }
}

void cfbp_environment_release(struct cfbp_environment *environment)
{
    cfbp_string_list_clear(&environment->entries);
    cfbp_text_table_release(&environment->names);
}

/* --- spawning --- */

int cfbp_process_exit_code(int wait_status)
{
    if (WIFEXITED(wait_status))
        return WEXITSTATUS(wait_status);
    if (WIFSIGNALED(wait_status))
        return 128 + WTERMSIG(wait_status);
    return 1;
}

static bool sigpipe_default_in_children;

void cfbp_process_default_sigpipe_in_children(bool on)
{
    sigpipe_default_in_children = on;
}

bool cfbp_process_output_gone(void)
{
    struct pollfd outputs[] = {{STDOUT_FILENO, POLLOUT, 0}, {STDERR_FILENO, POLLOUT, 0}};
    return poll(outputs, 2, 0) > 0 && ((outputs[0].revents | outputs[1].revents) & POLLERR);
}

/* cfbp_process_start, which also tells execve's errno (or 0) in *start_errno. */
static int start(const struct cfbp_process_spec *spec, pid_t *pid, int *start_errno,
                 struct cfbp_error *err)
{
    *start_errno = 0;
    const char *program = spec->argv[0];
    if (spec->directory && !cfbp_fs_is_directory(spec->directory))
        return cfbp_error_set(err, CFBP_ERROR_NOT_FOUND, "cannot run %s in %s: no such directory",
                              program, spec->directory);
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    if (spec->directory)
        posix_spawn_file_actions_addchdir_np(&actions, spec->directory);
    if (spec->stdin_fd >= 0)
        posix_spawn_file_actions_adddup2(&actions, spec->stdin_fd, STDIN_FILENO);
    if (spec->stdout_fd >= 0)
        posix_spawn_file_actions_adddup2(&actions, spec->stdout_fd, STDOUT_FILENO);
    if (spec->stderr_fd >= 0)
        posix_spawn_file_actions_adddup2(&actions, spec->stderr_fd, STDERR_FILENO);
    short flags = 0;
    if (sigpipe_default_in_children) {
        sigset_t defaults;
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGPIPE);
        posix_spawnattr_setsigdefault(&attributes, &defaults);
        flags |= POSIX_SPAWN_SETSIGDEF;
    }
    if (spec->new_process_group) {
        posix_spawnattr_setpgroup(&attributes, 0);
        flags |= POSIX_SPAWN_SETPGROUP;
    }
    posix_spawnattr_setflags(&attributes, flags);
    char *empty[] = {NULL};
    char **environment = environ;
    if (spec->environment)
        environment = spec->environment->entries.count ? spec->environment->entries.items : empty;
    int spawned = posix_spawn(pid, program, &actions, &attributes, spec->argv, environment);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (spawned != 0) {
        *start_errno = spawned;
        return cfbp_error_set_errno(err, spawned == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    spawned, "cannot run %s", program);
    }
    return 0;
}

int cfbp_process_start(const struct cfbp_process_spec *spec, pid_t *pid, struct cfbp_error *err)
{
    int start_errno;
    return start(spec, pid, &start_errno, err);
}

/* Waits for pid; *wait_status gets what waitpid(2) says of how it ended. */
static int wait_for(pid_t pid, const char *name, int *wait_status, struct cfbp_error *err)
{
    while (waitpid(pid, wait_status, 0) < 0) {
        if (errno != EINTR)
            return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot wait for %s", name);
    }
    return 0;
}

int cfbp_process_wait(pid_t pid, const char *name, int *status, struct cfbp_error *err)
{
    int wait_status;
    if (wait_for(pid, name, &wait_status, err) < 0)
        return -1;
    *status = cfbp_process_exit_code(wait_status);
    return 0;
}

int cfbp_process_run(char *const *argv, const char *directory, int *status, struct cfbp_error *err)
{
    struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
    spec.argv = argv;
    spec.directory = directory;
    pid_t pid;
    if (cfbp_process_start(&spec, &pid, err) < 0)
        return -1;
    return cfbp_process_wait(pid, argv[0], status, err);
}

static int64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* A descriptor that becomes readable when pid exits, or -1 where the kernel has none. */
static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

/* True once pid has exited; it stays a zombie until cfbp_process_wait reaps it. */
static bool has_exited(pid_t pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
        if (errno != EINTR)
            return true; /* not ours to wait for: cfbp_process_wait will say so */
    return info.si_pid == pid;
}

/* One program being watched by cfbp_process_run_spec. */
struct watch {
    pid_t pid;
    pid_t target; /* what signals go to: -pid for its process group */
    bool group;
    int output_fd, pidfd;
    bool exited;
    int64_t kill_at;     /* stopping: when SIGTERM turns into SIGKILL; 0: not stopping */
    int64_t drain_until; /* after the exit: when to stop waiting for the output to close */
};

static void close_output(struct watch *watch)
{
    if (watch->output_fd >= 0)
        close(watch->output_fd);
    watch->output_fd = -1;
}

/* Reads what the pipe has, keeping at most run->output_limit bytes in all. */
static void take_output(struct watch *watch, struct cfbp_process_run *run, size_t *taken)
{
    char buffer[16384];
    ssize_t got = read(watch->output_fd, buffer, sizeof(buffer));
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (got <= 0) {
        close_output(watch);
        return;
    }
    size_t length = (size_t)got;
    if (run->output_limit && length > run->output_limit - *taken) {
        length = run->output_limit - *taken;
        run->output_exceeded = true;
    }
    cfbp_strbuf_append(run->output, buffer, length);
    *taken += length;
    if (run->output_exceeded) {
        kill(watch->target, SIGKILL);
        close_output(watch);
    }
}

static int wait_timeout(const struct watch *watch, int64_t now)
{
    int64_t wake = INT64_MAX;
    if (!watch->exited && watch->pidfd < 0)
        wake = now + EXIT_POLL_MS;
    if (!watch->exited && watch->kill_at && watch->kill_at < wake)
        wake = watch->kill_at;
    if (watch->exited && watch->drain_until < wake)
        wake = watch->drain_until;
    if (wake == INT64_MAX)
        return -1;
    return wake <= now ? 0 : (int)(wake - now);
}

/* Watches the program until it has exited and its output is read; it is not reaped yet. */
static void watch_until_exit(struct watch *watch, struct cfbp_process_run *run)
{
    size_t taken = 0;
    for (;;) {
        int64_t now = monotonic_ms();
        if (!watch->exited && has_exited(watch->pid)) {
            watch->exited = true;
            if (watch->group)
                kill(-watch->pid, SIGKILL); /* what it left running goes with it */
            watch->drain_until = now + DRAIN_MS;
        }
        if (watch->exited && (watch->output_fd < 0 || now >= watch->drain_until))
            break;
        if (!watch->exited && watch->kill_at && now >= watch->kill_at) {
            kill(watch->target, SIGKILL);
            watch->kill_at = 0;
        }
        struct pollfd fds[3];
        nfds_t count = 0;
        int output_slot = -1, stop_slot = -1;
        if (watch->output_fd >= 0) {
            output_slot = (int)count;
            fds[count++] = (struct pollfd){.fd = watch->output_fd, .events = POLLIN};
        }
        if (run->stop_fd >= 0 && !run->stopped && !watch->exited) {
            stop_slot = (int)count;
            fds[count++] = (struct pollfd){.fd = run->stop_fd, .events = POLLIN};
        }
        if (watch->pidfd >= 0 && !watch->exited)
            fds[count++] = (struct pollfd){.fd = watch->pidfd, .events = POLLIN};
        if (poll(fds, count, wait_timeout(watch, now)) <= 0)
            continue;
        if (output_slot >= 0 && fds[output_slot].revents)
            take_output(watch, run, &taken);
        if (stop_slot >= 0 && fds[stop_slot].revents) {
            run->stopped = true;
            kill(watch->target, SIGTERM);
            watch->kill_at = monotonic_ms() + CFBP_PROCESS_STOP_GRACE_MS;
        }
    }
}

int cfbp_process_adopt_orphans(struct cfbp_error *err)
{
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_FAILED, errno,
                                    "cannot become the reaper of orphaned processes");
    return 0;
}

#define MAX_CHILDREN 4096

/* The pids of this process's children, from /proc/<pid>/stat (the parent follows the name). */
static void list_children(pid_t *children, size_t *count, size_t capacity)
{
    *count = 0;
    DIR *proc = opendir("/proc");
    if (!proc)
        return;
    pid_t self = getpid();
    struct dirent *entry;
    while (*count < capacity && (entry = readdir(proc)) != NULL) {
        if (entry->d_name[0] < '1' || entry->d_name[0] > '9')
            continue;
        char path[300], text[512];
        snprintf(path, sizeof(path), "/proc/%s/stat", entry->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t length = read(fd, text, sizeof(text) - 1);
        close(fd);
        if (length <= 0)
            continue;
        text[length] = '\0';
        const char *after_name = strrchr(text, ')');
        long parent = 0;
        char state;
        if (after_name && sscanf(after_name + 1, " %c %ld", &state, &parent) == 2 && parent == self)
            children[(*count)++] = (pid_t)atol(entry->d_name);
    }
    closedir(proc);
}

static bool was_there(pid_t pid, const struct cfbp_process_children *before)
{
    for (size_t i = 0; i < before->count; i++)
        if (before->pids[i] == pid)
            return true;
    return false;
}

void cfbp_process_children_snapshot(struct cfbp_process_children *children)
{
    children->pids = cfbp_xmalloc(MAX_CHILDREN * sizeof(*children->pids));
    list_children(children->pids, &children->count, MAX_CHILDREN);
}

/*
 * Their own children become ours in turn as they die, so this repeats until a
 * look finds none.
 */
void cfbp_process_children_kill_new(struct cfbp_process_children *before)
{
    pid_t *children = cfbp_xmalloc(MAX_CHILDREN * sizeof(*children));
    for (int round = 0; round < 1000; round++) {
        size_t count;
        list_children(children, &count, MAX_CHILDREN);
        size_t killed = 0;
        for (size_t i = 0; i < count; i++) {
            if (was_there(children[i], before))
                continue;
            kill(children[i], SIGKILL);
            while (waitpid(children[i], NULL, 0) < 0 && errno == EINTR)
                ;
            killed++;
        }
        if (killed == 0)
            break;
    }
    free(children);
    free(before->pids);
    before->pids = NULL;
    before->count = 0;
}

int cfbp_process_run_spec(const struct cfbp_process_spec *spec, struct cfbp_process_run *run,
                          int *status, struct cfbp_error *err)
{
    run->output_exceeded = run->stopped = false;
    run->start_errno = run->wait_status = 0;
    const char *program = spec->argv[0];
    int pipe_fds[2] = {-1, -1};
    struct cfbp_process_spec actual = *spec;
    if (run->output) {
        if (pipe2(pipe_fds, O_CLOEXEC) < 0)
            return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot run %s", program);
        actual.stdout_fd = pipe_fds[1];
        if (run->merge_stderr)
            actual.stderr_fd = pipe_fds[1];
    }
    struct watch watch = {.group = spec->new_process_group, .output_fd = pipe_fds[0]};
    struct cfbp_process_children before = {NULL, 0};
    if (run->kill_orphans)
        cfbp_process_children_snapshot(&before);
    int result = start(&actual, &watch.pid, &run->start_errno, err);
    if (pipe_fds[1] >= 0)
        close(pipe_fds[1]);
    if (result < 0) {
        close_output(&watch);
        free(before.pids);
        return -1;
    }
    watch.target = watch.group ? -watch.pid : watch.pid;
    watch.pidfd = open_pidfd(watch.pid);
    watch_until_exit(&watch, run);
    close_output(&watch);
    if (watch.pidfd >= 0)
        close(watch.pidfd);
    int waited = wait_for(watch.pid, program, &run->wait_status, err);
    if (run->kill_orphans)
        cfbp_process_children_kill_new(&before);
    if (waited < 0)
        return -1;
    *status = cfbp_process_exit_code(run->wait_status);
    if (run->output_exceeded)
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "%s wrote more than %zu bytes of output and was stopped", program,
                              run->output_limit);
    if (run->stopped)
        return cfbp_error_set(err, CFBP_ERROR_FAILED, "%s was stopped", program);
    return 0;
}

int cfbp_process_run_capture_spec(const struct cfbp_process_spec *spec, bool merge_stderr,
                                  int *status, struct cfbp_strbuf *output, struct cfbp_error *err)
{
    struct cfbp_process_run run = CFBP_PROCESS_RUN_INIT;
    run.output = output;
    run.merge_stderr = merge_stderr;
    return cfbp_process_run_spec(spec, &run, status, err);
}

int cfbp_process_run_capture(char *const *argv, const char *directory, int *status,
                             struct cfbp_strbuf *output, struct cfbp_error *err)
{
    struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
    spec.argv = argv;
    spec.directory = directory;
    return cfbp_process_run_capture_spec(&spec, true, status, output, err);
}
