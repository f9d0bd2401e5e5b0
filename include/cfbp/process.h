/*
 * process.h - running other programs without a shell.
 *
 * Arguments go straight to execve (through posix_spawn), so nothing from
 * input is ever interpreted by a shell.
 */
#ifndef CFBP_PROCESS_H
#define CFBP_PROCESS_H

#include <sys/types.h>

struct cfbp_error;

/*
 * Runs argv[0] (a path; PATH is not searched) with argv, in directory (or the
 * current one when NULL), with the current environment, and waits for it.
 * *status gets its exit status, or 128 + the signal that killed it.
 * Failing to start it is an error; a non-zero status is not.
 */
int cfbp_process_run(char *const *argv, const char *directory, int *status, struct cfbp_error *err);

/* Like cfbp_process_run, with stdout and stderr collected (interleaved) into output. */
struct cfbp_strbuf;
int cfbp_process_run_capture(char *const *argv, const char *directory, int *status,
                             struct cfbp_strbuf *output, struct cfbp_error *err);

/* Turns a waitpid() status into an exit code (128 + signal for a killed process). */
int cfbp_process_exit_code(int wait_status);

#endif
