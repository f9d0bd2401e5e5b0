/*
 * cancel.c - one async-signal-safe flag that long library work polls, and a
 * self-pipe that mirrors it for poll(2) loops (cancel.h).
 *
 * The handler may run at any moment and the flag is read from several
 * threads (a download's and an extraction's), so the request and the pipe's
 * write end are lock-free atomics (safe in a handler, C17 7.14.1.1); the
 * pipe is made once (pthread_once) and its write end is published only once
 * it exists; a request made before the pipe existed is written into it as
 * soon as it is made.
 */
#include "cfbp/cancel.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

static atomic_int requested_signal;
static atomic_int wake_write_fd = -1;
static int wake_read_fd = -1;
static pthread_once_t pipe_once = PTHREAD_ONCE_INIT;

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a signal handler may only use lock-free atomics");

static void wake(void)
{
    int fd = wake_write_fd;
    if (fd >= 0) {
        int saved = errno;
        if (write(fd, "x", 1) < 0) {
            /* full: the pipe is readable already */
        }
        errno = saved;
    }
}

void cfbp_cancel_request(int signal_number)
{
    requested_signal = signal_number > 0 ? signal_number : -1;
    wake();
}

bool cfbp_cancel_requested(void)
{
    return requested_signal != 0;
}

int cfbp_cancel_signal(void)
{
    return requested_signal > 0 ? requested_signal : 0;
}

void cfbp_cancel_reset(void)
{
    requested_signal = 0;
    char drain[64];
    if (wake_read_fd >= 0)
        while (read(wake_read_fd, drain, sizeof(drain)) > 0)
            ;
}

static void make_pipe(void)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
        return;
    wake_read_fd = fds[0];
    wake_write_fd = fds[1];
    if (requested_signal)
        wake(); /* asked before the pipe was there */
}

int cfbp_cancel_fd(void)
{
    pthread_once(&pipe_once, make_pipe);
    return wake_read_fd;
}
