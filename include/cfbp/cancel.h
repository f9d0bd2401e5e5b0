/*
 * cancel.h - stopping long work early when the user asks (Ctrl-C, SIGTERM).
 *
 * A program's signal handler calls cfbp_cancel_request(); long-running library
 * work (downloads, archive and zip loops, child processes) checks
 * cfbp_cancel_requested() at safe points and fails with CFBP_ERROR_CANCELLED,
 * so its ordinary error path removes what it made (temporary directories,
 * .partial downloads). The program then ends as the signal would have
 * (cfbp_cancel_signal() tells which).
 *
 * Work that waits in poll(2) (for a child process, say) can also wait on
 * cfbp_cancel_fd(), which becomes readable once a request is made.
 */
#ifndef CFBP_CANCEL_H
#define CFBP_CANCEL_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Async-signal-safe: records that work should stop, and which signal asked. */
void cfbp_cancel_request(int signal_number);
/* True once cfbp_cancel_request() was called. */
bool cfbp_cancel_requested(void);
/* The signal passed to cfbp_cancel_request(), or 0. */
int cfbp_cancel_signal(void);
/* Forgets a request (for tests and long-lived callers). */
void cfbp_cancel_reset(void);
/*
 * A descriptor (close-on-exec, non-blocking) that is readable while a request
 * is pending, for poll(2); made on the first call, which must not be in a
 * signal handler. -1 when no pipe can be made (then poll the flag instead).
 * Owned by the library: do not read from it or close it.
 */
int cfbp_cancel_fd(void);

#ifdef __cplusplus
}
#endif

#endif
