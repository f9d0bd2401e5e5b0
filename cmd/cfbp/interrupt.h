/*
 * interrupt.h - Ctrl-C, SIGTERM and SIGHUP for commands that clean up after
 * themselves (cfbp package): the signal asks the library to stop
 * (cancel.h), the library fails at its next safe point and removes what it
 * made, and the command then ends by that same signal, so that a shell sees
 * 130 for SIGINT and 143 for SIGTERM and a script that ran it stops too.
 *
 * A second signal while the first is being handled ends the program at
 * once, without cleaning up: the way out when cleaning up hangs.
 *
 * A reader of the command's output that goes away (cfbp package | head -1)
 * stops it the same way, by SIGPIPE (141), when the command next writes
 * its output or looks (interrupt_flush, interrupt_watch_output). SIGQUIT
 * keeps its default action: it is the way to quit at once, with a core
 * dump.
 */
#ifndef CFBP_INTERRUPT_H
#define CFBP_INTERRUPT_H

#include <stdio.h>

/*
 * Routes SIGINT, SIGTERM and SIGHUP to cfbp_cancel_request (those not
 * ignored on entry), and ignores SIGPIPE (unless handled on entry).
 */
void interrupt_catch(void);
/*
 * Asks to stop as SIGPIPE would when stdout or stderr is a pipe nobody
 * reads any more (and SIGPIPE is ours to ignore; a stop already asked for
 * keeps its own signal).
 */
void interrupt_watch_output(void);
/* Flushes stream, one of the command's outputs, then interrupt_watch_output. */
void interrupt_flush(FILE *stream);
/*
 * Restores the default actions. When a signal asked to stop, prints
 * "cfbp <command>: stopped by SIG<name>", flushes stdio and ends the process
 * by that signal (returning 128 + the signal only if it could not); else
 * returns status.
 */
int interrupt_finish(const char *command, int status);

/* The work finished anyway (its result is printed): a signal that came after the last check is
 * dropped, so the exit status and the result line agree. Restores the default handlers. */
void interrupt_forget(void);

#endif
