/*
 * process.c - spawning programs without a shell (see process.h).
 */
#include "cfbp/process.h"

#include "cfbp/error.h"
#include "cfbp/fs.h"

#include <errno.h>
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

int cfbp_process_run(char *const *argv, const char *directory, int *status, struct cfbp_error *err)
{
    if (directory && !cfbp_fs_is_directory(directory))
        return cfbp_error_set(err, CFBP_ERROR_NOT_FOUND, "cannot run %s in %s: no such directory",
                              argv[0], directory);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (directory)
        posix_spawn_file_actions_addchdir_np(&actions, directory);
    pid_t pid;
    int spawned = posix_spawn(&pid, argv[0], &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0)
        return cfbp_error_set_errno(err, spawned == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    spawned, "cannot run %s", argv[0]);
    int wait_status;
    while (waitpid(pid, &wait_status, 0) < 0) {
        if (errno != EINTR)
            return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot wait for %s", argv[0]);
    }
    *status = cfbp_process_exit_code(wait_status);
    return 0;
}
