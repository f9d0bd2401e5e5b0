/*
 * strbuf.h - the one growable string type of the project.
 *
 * A cfbp_strbuf owns a NUL-terminated buffer: buf[len] is always '\0', so buf
 * can be passed wherever a C string is expected. Paths, messages and file
 * contents are built with it instead of fixed arrays and snprintf arithmetic.
 *
 *     struct cfbp_strbuf path = CFBP_STRBUF_INIT;
 *     cfbp_strbuf_append_format(&path, "%s/%s", dir, name);
 *     ...
 *     cfbp_strbuf_release(&path);
 *
 * An initialised strbuf that was never written to points at a shared empty
 * string and owns no memory; release() is still safe and required after use.
 */
#ifndef CFBP_STRBUF_H
#define CFBP_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_strbuf {
    char *buf;    /* NUL-terminated contents; never NULL */
    size_t len;   /* bytes in use, not counting the NUL */
    size_t alloc; /* bytes allocated, 0 while buf is the shared empty string */
};

extern char cfbp_strbuf_empty[];
#define CFBP_STRBUF_INIT                                                                           \
    {                                                                                              \
        cfbp_strbuf_empty, 0, 0                                                                    \
    }

void cfbp_strbuf_init(struct cfbp_strbuf *sb, size_t hint);
/* Frees the buffer and leaves sb empty and reusable. */
void cfbp_strbuf_release(struct cfbp_strbuf *sb);
/* Hands the buffer to the caller (free() it); sb is left empty. */
char *cfbp_strbuf_detach(struct cfbp_strbuf *sb, size_t *length);
/* Makes room for extra more bytes without changing the contents. */
void cfbp_strbuf_grow(struct cfbp_strbuf *sb, size_t extra);
/* Truncates to length (which must not exceed sb->len). */
void cfbp_strbuf_set_length(struct cfbp_strbuf *sb, size_t length);
void cfbp_strbuf_reset(struct cfbp_strbuf *sb);

void cfbp_strbuf_append(struct cfbp_strbuf *sb, const void *data, size_t length);
void cfbp_strbuf_append_string(struct cfbp_strbuf *sb, const char *text);
void cfbp_strbuf_append_char(struct cfbp_strbuf *sb, char c);
void cfbp_strbuf_append_format(struct cfbp_strbuf *sb, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void cfbp_strbuf_append_vformat(struct cfbp_strbuf *sb, const char *format, va_list args)
    __attribute__((format(printf, 2, 0)));
/* Replaces the contents with text. */
void cfbp_strbuf_set(struct cfbp_strbuf *sb, const char *text);

/* Removes ASCII whitespace from both ends. */
void cfbp_strbuf_trim(struct cfbp_strbuf *sb);
/* Removes trailing "\n" and "\r\n" sequences (only those). */
void cfbp_strbuf_trim_newlines(struct cfbp_strbuf *sb);

bool cfbp_string_starts_with(const char *text, const char *prefix);
bool cfbp_string_ends_with(const char *text, const char *suffix);

#ifdef __cplusplus
}
#endif

#endif
