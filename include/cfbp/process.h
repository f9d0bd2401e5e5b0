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
#include "cfbp/text_table.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;
struct cfbp_strbuf;

/*
 * An environment as "NAME=value" entries; later sets replace earlier ones.
 * Names are found through a hash table, so an app manifest with a hundred
 * thousand variables costs a hundred thousand lookups, not their square.
 */
struct cfbp_environment {
    struct cfbp_string_list entries;
    struct cfbp_text_table names; /* entry index by name */
};

#define CFBP_ENVIRONMENT_INIT                                                                      \
    {                                                                                              \
        CFBP_STRING_LIST_INIT, CFBP_TEXT_TABLE_INIT                                                \
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

/* How long a program that is being stopped gets between SIGTERM and SIGKILL. */
#define CFBP_PROCESS_STOP_GRACE_MS 5000

/* How cfbp_process_run_spec watches a program, and (the last two) what happened. */
struct cfbp_process_run {
    struct cfbp_strbuf *output; /* NULL: stdout stays as the spec says; else appended here */
    bool merge_stderr;          /* with output: stderr is collected into it too */
    size_t output_limit;        /* with output: the most bytes it takes; 0: no limit */
    int stop_fd;                /* once readable, the program is stopped; -1: never */
    bool kill_orphans;          /* after it ended: kill children we did not have before */
    bool output_exceeded;       /* set when the program wrote more than output_limit */
    bool stopped;               /* set when stop_fd became readable while it ran */
    int start_errno;            /* set when the program could not be started (execve's errno) */
    int wait_status;            /* how it ended, as waitpid(2) tells (WIFEXITED, WTERMSIG, ...) */
};

#define CFBP_PROCESS_RUN_INIT                                                                      \
    {                                                                                              \
        NULL, false, 0, -1, false, false, false, 0, 0                                              \
    }

/*
 * Runs spec and waits for it; *status gets its exit status (128 + signal).
 *
 * The program is "the group" when spec->new_process_group is set, else the
 * program alone. Output past output_limit is not stored: the group is killed
 * (SIGKILL) at once and output keeps the first output_limit bytes. When
 * stop_fd becomes readable (say, a signal handler wrote to a pipe), the group
 * gets SIGTERM, then SIGKILL after CFBP_PROCESS_STOP_GRACE_MS. A program that
 * leads its own group takes the group with it when it ends (SIGKILL to what is
 * left), so nothing it started outlives it or keeps its output open. Once the
 * program has ended, its output is read until it closes, for a second at most.
 *
 * A program can still escape its group with setsid(2) and a double fork.
 * With kill_orphans, in a process that called cfbp_process_adopt_orphans,
 * such escapees become this process's children when their parents die, and
 * every child that was not there before the program started is killed and
 * reaped once it has ended.
 *
 * Returns 0 when the program ran to its end; -1 with err set when it could
 * not be started or waited for, wrote more than output_limit
 * (run->output_exceeded) or was stopped (run->stopped).
 */
int cfbp_process_run_spec(const struct cfbp_process_spec *spec, struct cfbp_process_run *run,
                          int *status, struct cfbp_error *err);

/*
 * Makes this process the reaper of its orphaned descendants (Linux
 * PR_SET_CHILD_SUBREAPER), for cfbp_process_run's kill_orphans.
 */
int cfbp_process_adopt_orphans(struct cfbp_error *err);

/* The children this process has at one moment. */
struct cfbp_process_children {
    pid_t *pids;
    size_t count;
};

/* Remembers which children this process has now. */
void cfbp_process_children_snapshot(struct cfbp_process_children *children);
/*
 * Kills (SIGKILL) and reaps every child of this process that is not in the
 * snapshot, again and again while more appear (orphans adopted as their
 * parents die), then frees the snapshot.
 */
void cfbp_process_children_kill_new(struct cfbp_process_children *before);

/* Runs argv in directory (NULL: current) with this environment and waits. */
int cfbp_process_run(char *const *argv, const char *directory, int *status, struct cfbp_error *err);
/* Runs spec and waits, collecting its stdout (and stderr when merge_stderr) into output
 * (cfbp_process_run_spec without a limit or a stop). */
int cfbp_process_run_capture_spec(const struct cfbp_process_spec *spec, bool merge_stderr,
                                  int *status, struct cfbp_strbuf *output, struct cfbp_error *err);
/* Like cfbp_process_run, with stdout and stderr collected (interleaved) into output. */
int cfbp_process_run_capture(char *const *argv, const char *directory, int *status,
                             struct cfbp_strbuf *output, struct cfbp_error *err);

/* Turns a waitpid() status into an exit code (128 + signal for a killed process). */
int cfbp_process_exit_code(int wait_status);

/*
 * Whether stdout or stderr is a pipe whose reader has gone (poll reports
 * POLLERR on its end): what a write there would meet as SIGPIPE or EPIPE.
 */
bool cfbp_process_output_gone(void);
/*
 * With on, the processes this one starts begin with SIGPIPE's default
 * action, for a program that ignores SIGPIPE itself while it watches its
 * own output (cfbp package): their pipelines then end as in a shell. Off
 * (the default), they inherit this process's action, as usual.
 */
void cfbp_process_default_sigpipe_in_children(bool on);

#ifdef __cplusplus
}
#endif

#endif
