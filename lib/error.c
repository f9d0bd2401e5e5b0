/*
 * error.c - building and passing error sentences (see error.h).
 */
#include "cfbp/error.h"

#include "cfbp/strbuf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int set_message(struct cfbp_error *err, enum cfbp_error_kind kind, struct cfbp_strbuf *text)
{
    free(err->message);
    err->message = cfbp_strbuf_detach(text, NULL);
    err->kind = kind;
    return -1;
}

static void drop_detail(struct cfbp_error *err)
{
    free(err->detail);
    err->detail = NULL;
}

int cfbp_error_set(struct cfbp_error *err, enum cfbp_error_kind kind, const char *format, ...)
{
    drop_detail(err);
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    va_list args;
    va_start(args, format);
    cfbp_strbuf_append_vformat(&text, format, args);
    va_end(args);
    return set_message(err, kind, &text);
}

int cfbp_error_set_errno(struct cfbp_error *err, enum cfbp_error_kind kind, int errnum,
                         const char *format, ...)
{
    drop_detail(err);
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    va_list args;
    va_start(args, format);
    cfbp_strbuf_append_vformat(&text, format, args);
    va_end(args);
    cfbp_strbuf_append_format(&text, ": %s", strerror(errnum));
    return set_message(err, kind, &text);
}

int cfbp_error_prefix(struct cfbp_error *err, const char *format, ...)
{
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    va_list args;
    va_start(args, format);
    cfbp_strbuf_append_vformat(&text, format, args);
    va_end(args);
    cfbp_strbuf_append_string(&text, ": ");
    cfbp_strbuf_append_string(&text, err->message ? err->message : "unknown error");
    return set_message(err, err->kind ? err->kind : CFBP_ERROR_FAILED, &text);
}

int cfbp_error_append(struct cfbp_error *err, const char *format, ...)
{
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&text, err->message ? err->message : "");
    va_list args;
    va_start(args, format);
    cfbp_strbuf_append_vformat(&text, format, args);
    va_end(args);
    return set_message(err, err->kind ? err->kind : CFBP_ERROR_FAILED, &text);
}

int cfbp_error_set_detail(struct cfbp_error *err, const char *format, ...)
{
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    va_list args;
    va_start(args, format);
    cfbp_strbuf_append_vformat(&text, format, args);
    va_end(args);
    free(err->detail);
    err->detail = cfbp_strbuf_detach(&text, NULL);
    return -1;
}

void cfbp_error_clear(struct cfbp_error *err)
{
    free(err->message);
    err->message = NULL;
    err->kind = CFBP_ERROR_NONE;
    drop_detail(err);
}

void cfbp_error_move(struct cfbp_error *dst, struct cfbp_error *src)
{
    if (dst == src)
        return;
    free(dst->message);
    free(dst->detail);
    *dst = *src;
    src->message = NULL;
    src->detail = NULL;
    src->kind = CFBP_ERROR_NONE;
}
