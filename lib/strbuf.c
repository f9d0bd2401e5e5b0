/*
 * strbuf.c - growable NUL-terminated strings (see strbuf.h).
 */
#include "cfbp/strbuf.h"

#include "cfbp/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char cfbp_strbuf_empty[1];

void cfbp_strbuf_init(struct cfbp_strbuf *sb, size_t hint)
{
    sb->buf = cfbp_strbuf_empty;
    sb->len = 0;
    sb->alloc = 0;
    if (hint)
        cfbp_strbuf_grow(sb, hint);
}

void cfbp_strbuf_release(struct cfbp_strbuf *sb)
{
    if (sb->alloc)
        free(sb->buf);
    cfbp_strbuf_init(sb, 0);
}

char *cfbp_strbuf_detach(struct cfbp_strbuf *sb, size_t *length)
{
    if (!sb->alloc)
        cfbp_strbuf_grow(sb, 0);
    char *result = sb->buf;
    if (length)
        *length = sb->len;
    cfbp_strbuf_init(sb, 0);
    return result;
}

void cfbp_strbuf_grow(struct cfbp_strbuf *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;
    if (need < sb->len)
        cfbp_alloc_failed((size_t)-1); /* the size overflowed */
    if (need <= sb->alloc)
        return;
    bool was_empty = sb->alloc == 0;
    size_t alloc = sb->alloc;
    if (was_empty)
        sb->buf = NULL;
    CFBP_GROW(sb->buf, alloc, need);
    sb->alloc = alloc;
    if (was_empty)
        sb->buf[0] = '\0';
}

void cfbp_strbuf_set_length(struct cfbp_strbuf *sb, size_t length)
{
    if (!sb->alloc)
        return; /* the shared empty string stays untouched */
    sb->len = length;
    sb->buf[length] = '\0';
}

void cfbp_strbuf_reset(struct cfbp_strbuf *sb)
{
    cfbp_strbuf_set_length(sb, 0);
}

void cfbp_strbuf_append(struct cfbp_strbuf *sb, const void *data, size_t length)
{
    if (!length)
        return;
    cfbp_strbuf_grow(sb, length);
    memcpy(sb->buf + sb->len, data, length);
    cfbp_strbuf_set_length(sb, sb->len + length);
}

void cfbp_strbuf_append_string(struct cfbp_strbuf *sb, const char *text)
{
    cfbp_strbuf_append(sb, text, strlen(text));
}

void cfbp_strbuf_append_char(struct cfbp_strbuf *sb, char c)
{
    cfbp_strbuf_grow(sb, 1);
    sb->buf[sb->len] = c;
    cfbp_strbuf_set_length(sb, sb->len + 1);
}

void cfbp_strbuf_append_vformat(struct cfbp_strbuf *sb, const char *format, va_list args)
{
    va_list copy;
    va_copy(copy, args);
    int needed = vsnprintf(NULL, 0, format, copy);
    va_end(copy);
    if (needed <= 0)
        return;
    cfbp_strbuf_grow(sb, (size_t)needed);
    vsnprintf(sb->buf + sb->len, (size_t)needed + 1, format, args);
    cfbp_strbuf_set_length(sb, sb->len + (size_t)needed);
}

void cfbp_strbuf_append_format(struct cfbp_strbuf *sb, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    cfbp_strbuf_append_vformat(sb, format, args);
    va_end(args);
}

void cfbp_strbuf_set(struct cfbp_strbuf *sb, const char *text)
{
    cfbp_strbuf_reset(sb);
    cfbp_strbuf_append_string(sb, text);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

void cfbp_strbuf_trim(struct cfbp_strbuf *sb)
{
    size_t end = sb->len;
    while (end > 0 && is_space(sb->buf[end - 1]))
        end--;
    size_t start = 0;
    while (start < end && is_space(sb->buf[start]))
        start++;
    if (start)
        memmove(sb->buf, sb->buf + start, end - start);
    cfbp_strbuf_set_length(sb, end - start);
}

void cfbp_strbuf_trim_newlines(struct cfbp_strbuf *sb)
{
    size_t end = sb->len;
    while (end > 0 && (sb->buf[end - 1] == '\n' || sb->buf[end - 1] == '\r'))
        end--;
    cfbp_strbuf_set_length(sb, end);
}

bool cfbp_string_starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

bool cfbp_string_ends_with(const char *text, const char *suffix)
{
    size_t text_length = strlen(text);
    size_t suffix_length = strlen(suffix);
    return text_length >= suffix_length &&
           memcmp(text + text_length - suffix_length, suffix, suffix_length) == 0;
}
