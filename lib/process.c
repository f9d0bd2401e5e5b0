/*
 * process.c - spawning programs without a shell (see process.h).
 */
#include "cfbp/process.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* --- environments --- */

static size_t find_entry(const struct cfbp_environment *environment, const char *name)
{
    size_t length = strlen(name);
    for (size_t i = 0; i < environment->entries.count; i++) {
        const char *entry = environment->entries.items[i];
        if (strncmp(entry, name, length) == 0 && entry[length] == '=')
            return i;
    }
    return (size_t)-1;
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

int cfbp_process_start(const struct cfbp_process_spec *spec, pid_t *pid, struct cfbp_error *err)
{
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
    if (spec->new_process_group) {
        posix_spawnattr_setpgroup(&attributes, 0);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    }
    char *empty[] = {NULL};
    char **environment = environ;
    if (spec->environment)
        environment = spec->environment->entries.count ? spec->environment->entries.items : empty;
    int spawned = posix_spawn(pid, program, &actions, &attributes, spec->argv, environment);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (spawned != 0)
        return cfbp_error_set_errno(err, spawned == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    spawned, "cannot run %s", program);
    return 0;
}

int cfbp_process_wait(pid_t pid, const char *name, int *status, struct cfbp_error *err)
{
    int wait_status;
    while (waitpid(pid, &wait_status, 0) < 0) {
        if (errno != EINTR)
            return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot wait for %s", name);
    }
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

int cfbp_process_run_capture_spec(const struct cfbp_process_spec *spec, bool merge_stderr,
                                  int *status, struct cfbp_strbuf *output, struct cfbp_error *err)
{
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot run %s", spec->argv[0]);
    struct cfbp_process_spec capture = *spec;
    capture.stdout_fd = pipe_fds[1];
    if (merge_stderr)
        capture.stderr_fd = pipe_fds[1];
    pid_t pid;
    int result = cfbp_process_start(&capture, &pid, err);
    close(pipe_fds[1]);
    if (result == 0) {
        char buffer[8192];
        for (;;) {
            ssize_t got = cfbp_fs_read(pipe_fds[0], buffer, sizeof(buffer));
            if (got <= 0)
                break;
            cfbp_strbuf_append(output, buffer, (size_t)got);
        }
        result = cfbp_process_wait(pid, spec->argv[0], status, err);
    }
    close(pipe_fds[0]);
    return result;
}

int cfbp_process_run_capture(char *const *argv, const char *directory, int *status,
                             struct cfbp_strbuf *output, struct cfbp_error *err)
{
    struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
    spec.argv = argv;
    spec.directory = directory;
    return cfbp_process_run_capture_spec(&spec, true, status, output, err);
}
