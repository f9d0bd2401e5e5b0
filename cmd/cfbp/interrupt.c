/*
 * interrupt.c - turning a stop signal into a clean, conventional exit (see
 * interrupt.h).
 *
 * The handler only sets the library's cancel flag (async-signal-safe). It is
 * installed without SA_RESTART, so that a blocking call (poll, a read from a
 * child's pipe) returns EINTR and the code around it looks at the flag at
 * once; libcurl treats EINTR from poll as "nothing yet" and calls the
 * progress callback, where fetch.c sees the request.
 *
 * SIGPIPE gets no handler: libcurl's TLS libraries write to sockets in ways
 * that may raise it, and a server that hangs up must fail that download,
 * not stop the command. It is ignored instead, and our own output is
 * watched: once stdout or stderr is a pipe nobody reads (poll says so, which
 * no stale errno or error flag can fake), the command asks to stop as
 * SIGPIPE would have (interrupt_flush, interrupt_watch_output).
 */
#include "interrupt.h"

#include "cfbp/cancel.h"
#include "cfbp/process.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
static bool caught[sizeof(stop_signals) / sizeof(stop_signals[0])];
static bool pipe_ignored; /* SIGPIPE was not ignored on entry, and is now */

static void on_stop_signal(int signal_number)
{
    if (cfbp_cancel_requested()) {
        /* Asked twice: stop now, whatever is left behind. */
        signal(signal_number, SIG_DFL);
        raise(signal_number);
        return;
    }
    cfbp_cancel_request(signal_number);
}

void interrupt_catch(void)
{
    cfbp_cancel_reset();
    cfbp_cancel_fd(); /* made now: the handler cannot make it */
    struct sigaction action = {.sa_handler = on_stop_signal};
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++) {
        struct sigaction previous;
        /* A signal ignored on entry (nohup, a background job without job control) stays so. */
        caught[i] = sigaction(stop_signals[i], NULL, &previous) == 0 &&
                    previous.sa_handler != SIG_IGN &&
                    sigaction(stop_signals[i], &action, NULL) == 0;
    }
    struct sigaction ignore = {.sa_handler = SIG_IGN}, previous;
    sigemptyset(&ignore.sa_mask);
    pipe_ignored = sigaction(SIGPIPE, NULL, &previous) == 0 && previous.sa_handler == SIG_DFL &&
                   sigaction(SIGPIPE, &ignore, NULL) == 0;
    cfbp_process_default_sigpipe_in_children(pipe_ignored);
}

void interrupt_watch_output(void)
{
    /* A stop already asked for keeps its signal (Ctrl-C stays 130). */
    if (pipe_ignored && !cfbp_cancel_requested() && cfbp_process_output_gone())
        cfbp_cancel_request(SIGPIPE);
}

void interrupt_flush(FILE *stream)
{
    fflush(stream);
    clearerr(stream);
    interrupt_watch_output();
}

static void release(void)
{
    struct sigaction action = {.sa_handler = SIG_DFL};
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
        if (caught[i])
            sigaction(stop_signals[i], &action, NULL);
    if (pipe_ignored)
        sigaction(SIGPIPE, &action, NULL);
    pipe_ignored = false;
    cfbp_process_default_sigpipe_in_children(false);
}

void interrupt_forget(void)
{
    release();
    cfbp_cancel_reset();
}

int interrupt_finish(const char *command, int status)
{
    release();
    int signal_number = cfbp_cancel_signal();
    if (!signal_number)
        return status;
    const char *name = sigabbrev_np(signal_number);
    fprintf(stderr, "cfbp %s: stopped by SIG%s\n", command, name ? name : "?");
    fflush(NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal_number);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(signal_number);
    return 128 + signal_number;
}
