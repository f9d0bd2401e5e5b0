/*
 * process.c - spawning programs without a shell (see process.h).
 */
#include "cfbp/process.h"

#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int cfbp_process_exit_code(int wait_status)
{
    if (WIFEXITED(wait_status))
        return WEXITSTATUS(wait_status);
    if (WIFSIGNALED(wait_status))
        return 128 + WTERMSIG(wait_status);
    return 1;
}

/* Spawns argv in directory; with output_fd >= 0, stdout and stderr go to it. */
static int spawn(char *const *argv, const char *directory, int output_fd, pid_t *pid,
                 struct cfbp_error *err)
{
    if (directory && !cfbp_fs_is_directory(directory))
        return cfbp_error_set(err, CFBP_ERROR_NOT_FOUND, "cannot run %s in %s: no such directory",
                              argv[0], directory);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (directory)
        posix_spawn_file_actions_addchdir_np(&actions, directory);
    if (output_fd >= 0) {
        posix_spawn_file_actions_adddup2(&actions, output_fd, STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&actions, output_fd, STDERR_FILENO);
    }
    int spawned = posix_spawn(pid, argv[0], &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0)
        return cfbp_error_set_errno(err, spawned == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    spawned, "cannot run %s", argv[0]);
    return 0;
}

static int wait_for(pid_t pid, const char *name, int *status, struct cfbp_error *err)
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
    pid_t pid;
    if (spawn(argv, directory, -1, &pid, err) < 0)
        return -1;
    return wait_for(pid, argv[0], status, err);
}

int cfbp_process_run_capture(char *const *argv, const char *directory, int *status,
                             struct cfbp_strbuf *output, struct cfbp_error *err)
{
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot run %s", argv[0]);
    pid_t pid;
    int result = spawn(argv, directory, pipe_fds[1], &pid, err);
    close(pipe_fds[1]);
    if (result == 0) {
        char buffer[8192];
        for (;;) {
            ssize_t got = read(pipe_fds[0], buffer, sizeof(buffer));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                break;
            cfbp_strbuf_append(output, buffer, (size_t)got);
        }
        result = wait_for(pid, argv[0], status, err);
    }
    close(pipe_fds[0]);
    return result;
}
