/*
 * request_log.c - non-blocking, whole-line writes to stdout (see request_log.h).
 *
 * An entry is one line, preceded by the dropped-lines notice when lines were
 * dropped before it. Once an entry's first byte is out, the rest of it goes
 * before anything else, so lines reach the collector whole: between calls
 * `unsent` holds at most the rest of one entry that a socket took only part
 * of. An entry that has not started when there is no room is the one dropped.
 * A pipe takes a write of up to PIPE_BUF bytes whole or not at all (POSIX),
 * so with a pipe nothing is ever left over.
 */
#include "request_log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

void request_log_open(struct request_log *log, int descriptor)
{
    log->descriptor = descriptor;
    log->owns_descriptor = false;
    log->is_socket = false;
    log->restore_flags = -1;
    log->dropped = 0;
    cfbp_strbuf_init(&log->unsent, 0);
    struct stat status;
    if (fstat(descriptor, &status) < 0) {
        log->descriptor = -1;
        return;
    }
    if (S_ISSOCK(status.st_mode)) {
        log->is_socket = true;
        return;
    }
    if (!S_ISFIFO(status.st_mode))
        return; /* a file or a terminal: no reader to wait for */
    /* Opening a pipe through /proc gives a file description of its own to set O_NONBLOCK on. */
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&path, "/proc/self/fd/%d", descriptor);
    int own = open(path.buf, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    cfbp_strbuf_release(&path);
    if (own >= 0) {
        log->descriptor = own;
        log->owns_descriptor = true;
        return;
    }
    int flags = fcntl(descriptor, F_GETFL);
    if (flags >= 0 && fcntl(descriptor, F_SETFL, flags | O_NONBLOCK) == 0)
        log->restore_flags = flags;
}

/* Writes what the descriptor takes right now; returns how many bytes that was. */
static size_t write_now(const struct request_log *log, const char *data, size_t length)
{
    for (;;) {
        ssize_t written = log->is_socket
                              ? send(log->descriptor, data, length, MSG_DONTWAIT | MSG_NOSIGNAL)
                              : write(log->descriptor, data, length);
        if (written >= 0)
            return (size_t)written;
        if (errno != EINTR)
            return 0; /* EAGAIN: full; EPIPE and the like: nobody reads it either */
    }
}

void request_log_line(struct request_log *log, const char *line)
{
    if (log->descriptor < 0)
        return;
    struct cfbp_strbuf *out = &log->unsent;
    size_t left_over = out->len;
    if (log->dropped)
        cfbp_strbuf_append_format(out, REQUEST_LOG_DROPPED_NOTICE "%zu\n", log->dropped);
    cfbp_strbuf_append_string(out, line);
    size_t written = write_now(log, out->buf, out->len);
    if (written > left_over) {
        log->dropped = 0; /* the entry started, notice and all: the rest follows */
    } else {
        cfbp_strbuf_set_length(out, left_over);
        log->dropped++;
    }
    memmove(out->buf, out->buf + written, out->len - written);
    cfbp_strbuf_set_length(out, out->len - written);
}

void request_log_close(struct request_log *log)
{
    if (log->owns_descriptor)
        close(log->descriptor);
    else if (log->restore_flags >= 0)
        fcntl(log->descriptor, F_SETFL, log->restore_flags);
    cfbp_strbuf_release(&log->unsent);
    log->descriptor = -1;
    log->owns_descriptor = false;
    log->restore_flags = -1;
}
