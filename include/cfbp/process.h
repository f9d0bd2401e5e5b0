/*
 * process.h - running other programs without a shell.
 *
 * Arguments go straight to execve (through posix_spawn), so nothing from
 * input is ever interpreted by a shell. A program may get an environment of
 * its own (struct cfbp_environment), its own process group (so that it and
 * everything it starts can be stopped together), and redirected output.
 */
#ifndef CFBP_PROCESS_H
#define CFBP_PROCESS_H

#include "cfbp/string_list.h"

#include <stdbool.h>
#include <sys/types.h>

struct cfbp_error;
struct cfbp_strbuf;

/* An environment as "NAME=value" entries; later sets replace earlier ones. */
struct cfbp_environment {
    struct cfbp_string_list entries;
};

#define CFBP_ENVIRONMENT_INIT                                                                      \
    {                                                                                              \
        CFBP_STRING_LIST_INIT                                                                      \
    }

/* Sets name to value; a name that is empty or holds '=' is ignored. */
void cfbp_environment_set(struct cfbp_environment *environment, const char *name,
                          const char *value);
/* The value of name, or NULL. */
const char *cfbp_environment_get(const struct cfbp_environment *environment, const char *name);
void cfbp_environment_unset(struct cfbp_environment *environment, const char *name);
/* Sets from "NAME=value"; false (nothing set) when it has no name or no '='. */
bool cfbp_environment_set_assignment(struct cfbp_environment *environment, const char *assignment);
/* Sets every variable of from (NULL is fine) in into, replacing what is there. */
void cfbp_environment_merge(struct cfbp_environment *into, const struct cfbp_environment *from);
/* Copies the named variables (those that are set) from this process's environment. */
void cfbp_environment_inherit(struct cfbp_environment *environment, const char *const *names);
void cfbp_environment_release(struct cfbp_environment *environment);

struct cfbp_process_spec {
    char *const *argv;                          /* argv[0] is a path; PATH is not searched */
    const char *directory;                      /* NULL: the current one */
    const struct cfbp_environment *environment; /* NULL: this process's own */
    int stdin_fd, stdout_fd, stderr_fd;         /* -1: inherit */
    bool new_process_group;                     /* the child leads a group of its own */
};

/* A spec that inherits everything: fill in argv and change what differs. */
#define CFBP_PROCESS_SPEC_INIT                                                                     \
    {                                                                                              \
        NULL, NULL, NULL, -1, -1, -1, false                                                        \
    }

/* Starts the program; failing to start it is an error (naming it). */
int cfbp_process_start(const struct cfbp_process_spec *spec, pid_t *pid, struct cfbp_error *err);
/* Waits for pid; *status gets its exit status, or 128 + the signal that killed it. */
int cfbp_process_wait(pid_t pid, const char *name, int *status, struct cfbp_error *err);

/* Runs argv in directory (NULL: current) with this environment and waits. */
int cfbp_process_run(char *const *argv, const char *directory, int *status, struct cfbp_error *err);
/* Runs spec and waits, collecting its stdout (and stderr when merge_stderr) into output. */
int cfbp_process_run_capture_spec(const struct cfbp_process_spec *spec, bool merge_stderr,
                                  int *status, struct cfbp_strbuf *output, struct cfbp_error *err);
/* Like cfbp_process_run, with stdout and stderr collected (interleaved) into output. */
int cfbp_process_run_capture(char *const *argv, const char *directory, int *status,
                             struct cfbp_strbuf *output, struct cfbp_error *err);

/* Turns a waitpid() status into an exit code (128 + signal for a killed process). */
int cfbp_process_exit_code(int wait_status);

#endif
