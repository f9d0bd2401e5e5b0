/*
 * error.h - the one way library calls fail.
 *
 * Every library call that can fail returns 0 on success and -1 on failure,
 * and on failure fills a caller-supplied struct cfbp_error with one sentence
 * that says what failed (naming the file, URI or line) and what to do, and
 * where useful detail lines. The library never prints an error or exits on
 * its own: the program prints each error once (detail, then message) and
 * decides the exit code.
 *
 *     struct cfbp_error err = CFBP_ERROR_INIT;
 *     if (cfbp_manifest_load(&manifest, root, &err) < 0) {
 *         fprintf(stderr, "%s\n", err.message);
 *         cfbp_error_clear(&err);
 *     }
 *
 * The kind lets a program pick an exit code or a retry without parsing text.
 */
#ifndef CFBP_ERROR_H
#define CFBP_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum cfbp_error_kind {
    CFBP_ERROR_NONE = 0,
    CFBP_ERROR_FAILED,         /* anything not covered below */
    CFBP_ERROR_USAGE,          /* wrong arguments or environment variables */
    CFBP_ERROR_IO,             /* reading or writing files */
    CFBP_ERROR_INVALID,        /* malformed input: YAML, JSON, manifest values */
    CFBP_ERROR_NOT_FOUND,      /* a file, dependency or version that is not there */
    CFBP_ERROR_STACK,          /* the stack is not supported */
    CFBP_ERROR_NETWORK,        /* connection failures, timeouts, 5xx after retries */
    CFBP_ERROR_HTTP,           /* an HTTP status that is not retried (404, 403, ...) */
    CFBP_ERROR_CHECKSUM,       /* a digest did not match */
    CFBP_ERROR_UNSAFE_ARCHIVE, /* an archive member that would escape or is not allowed */
    CFBP_ERROR_UNSAFE_PATH,    /* a write or read that would pass through a link (beneath.h) */
    CFBP_ERROR_CANCELLED       /* stopped on request (cancel.h): Ctrl-C, SIGTERM */
};

struct cfbp_error {
    char *message; /* NULL while there is no error */
    enum cfbp_error_kind kind;
    /*
     * Lines a program shows before the message, where one sentence is not
     * enough (the versions a buildpack offers), or NULL. Set with
     * cfbp_error_set_detail after the message.
     */
    char *detail;
};

#define CFBP_ERROR_INIT                                                                            \
    {                                                                                              \
        NULL, CFBP_ERROR_NONE, NULL                                                                \
    }

/* Sets the error (replacing any earlier one, detail included) and returns -1. */
int cfbp_error_set(struct cfbp_error *err, enum cfbp_error_kind kind, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
/* Like cfbp_error_set, then appends ": <strerror(errnum)>". Returns -1. */
int cfbp_error_set_errno(struct cfbp_error *err, enum cfbp_error_kind kind, int errnum,
                         const char *format, ...) __attribute__((format(printf, 4, 5)));
/* Puts "<context>: " in front of the current message, keeping its kind. Returns -1. */
int cfbp_error_prefix(struct cfbp_error *err, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends text to the current message, keeping its kind. Returns -1. */
int cfbp_error_append(struct cfbp_error *err, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* Sets the detail lines of the current error (replacing earlier ones). Returns -1. */
int cfbp_error_set_detail(struct cfbp_error *err, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* Frees the message and detail and resets err to "no error". */
void cfbp_error_clear(struct cfbp_error *err);
/* Moves src into dst (dst's old message is freed); src is left clear. */
void cfbp_error_move(struct cfbp_error *dst, struct cfbp_error *src);

#ifdef __cplusplus
}
#endif

#endif
