/*
 * request_log.h - the sidecar's log of served requests, which never blocks it.
 *
 * stdout is a pipe (or a socket) to the platform's log collector. A blocking
 * write there, with nobody reading and the pipe full, would stop the whole
 * single-threaded server: the epoll loop, every client, and SIGTERM, which is
 * read in that loop. So each line goes out with one non-blocking write(2),
 * whole or not at all: a line there is no room for is dropped and counted,
 * and the next line that does go out is preceded by one saying how many were
 * dropped. The lines themselves are the Go sidecar's, byte for byte.
 */
#ifndef CONFIG_SERVER_REQUEST_LOG_H
#define CONFIG_SERVER_REQUEST_LOG_H

#include "cfbp/strbuf.h"

#include <stdbool.h>
#include <stddef.h>

/* What precedes the next line written after some were dropped, with their count and "\n". */
#define REQUEST_LOG_DROPPED_NOTICE "config-server: stdout was full; dropped log lines: "

struct request_log {
    int descriptor;            /* where lines go; -1 for nowhere */
    bool owns_descriptor;      /* opened here (a non-blocking description of a pipe): closed here */
    bool is_socket;            /* written with send(MSG_DONTWAIT), its flags left alone */
    int restore_flags;         /* file status flags to put back on close, or -1 */
    size_t dropped;            /* lines dropped since the last one written */
    struct cfbp_strbuf unsent; /* the rest of a line a socket took only part of */
};

/*
 * Logs to descriptor from now on (it must stay open while the log is). For a
 * pipe, opens a non-blocking description of its own through /proc/self/fd, so
 * that O_NONBLOCK does not reach whoever shares the caller's (a shell's 2>&1,
 * other processes on the same pipe); without /proc, sets O_NONBLOCK on
 * descriptor itself until request_log_close. Files and terminals are written
 * as they are. Write anything else to descriptor (stdio) before this call.
 */
void request_log_open(struct request_log *log, int descriptor);

/* Writes line (ending in "\n") without waiting, or drops and counts it. */
void request_log_line(struct request_log *log, const char *line);

/* Releases what request_log_open took and puts the descriptor's flags back. */
void request_log_close(struct request_log *log);

#endif
