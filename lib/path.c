/*
 * path.c - joining and taking apart path strings (see path.h).
 */
#include "cfbp/path.h"

#include "cfbp/error.h"
#include "cfbp/strbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cfbp_path_append(struct cfbp_strbuf *out, const char *name)
{
    while (*name == '/')
        name++;
    /* An empty base stays relative: join("", "b") is "b", not "/b". */
    if (out->len > 0 && out->buf[out->len - 1] != '/')
        cfbp_strbuf_append_char(out, '/');
    cfbp_strbuf_append_string(out, name);
}

void cfbp_path_join(struct cfbp_strbuf *out, const char *base, const char *name)
{
    struct cfbp_strbuf joined = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&joined, base);
    cfbp_path_append(&joined, name);
    cfbp_strbuf_release(out);
    *out = joined;
}

const char *cfbp_path_basename(struct cfbp_strbuf *out, const char *path)
{
    size_t end = strlen(path);
    while (end > 1 && path[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    if (start == end && end > 0)
        start = end - 1; /* "/" (or "//") is its own basename */
    cfbp_strbuf_reset(out);
    cfbp_strbuf_append(out, path + start, end - start);
    return out->buf;
}

void cfbp_path_dirname(struct cfbp_strbuf *out, const char *path)
{
    size_t end = strlen(path);
    while (end > 1 && path[end - 1] == '/')
        end--;
    while (end > 0 && path[end - 1] != '/')
        end--;
    while (end > 1 && path[end - 1] == '/')
        end--;
    struct cfbp_strbuf result = CFBP_STRBUF_INIT;
    if (end == 0)
        cfbp_strbuf_append_char(&result, '.');
    else
        cfbp_strbuf_append(&result, path, end);
    cfbp_strbuf_release(out);
    *out = result;
}

/* Cleans an absolute path in place: ".", "..", doubled slashes. */
static void clean_absolute(struct cfbp_strbuf *path)
{
    struct cfbp_strbuf clean = CFBP_STRBUF_INIT;
    const char *cursor = path->buf;
    while (*cursor) {
        while (*cursor == '/')
            cursor++;
        const char *end = strchr(cursor, '/');
        size_t length = end ? (size_t)(end - cursor) : strlen(cursor);
        if (length == 0 || (length == 1 && cursor[0] == '.')) {
            /* nothing */
        } else if (length == 2 && cursor[0] == '.' && cursor[1] == '.') {
            char *slash = strrchr(clean.buf, '/');
            cfbp_strbuf_set_length(&clean, slash ? (size_t)(slash - clean.buf) : 0);
        } else {
            cfbp_strbuf_append_char(&clean, '/');
            cfbp_strbuf_append(&clean, cursor, length);
        }
        cursor += length;
    }
    if (clean.len == 0)
        cfbp_strbuf_append_char(&clean, '/');
    cfbp_strbuf_release(path);
    *path = clean;
}

int cfbp_path_absolute(struct cfbp_strbuf *out, const char *path, struct cfbp_error *err)
{
    struct cfbp_strbuf result = CFBP_STRBUF_INIT;
    if (path[0] != '/') {
        char *cwd = getcwd(NULL, 0);
        if (!cwd)
            return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno,
                                        "cannot find the current directory to resolve '%s'", path);
        cfbp_strbuf_append_string(&result, cwd);
        free(cwd);
        cfbp_strbuf_append_char(&result, '/');
    }
    cfbp_strbuf_append_string(&result, path);
    clean_absolute(&result);
    cfbp_strbuf_release(out);
    *out = result;
    return 0;
}

bool cfbp_path_clean_relative(struct cfbp_strbuf *out, const char *path)
{
    cfbp_strbuf_reset(out);
    if (path[0] == '/')
        return false;
    const char *cursor = path;
    while (*cursor) {
        const char *end = strchr(cursor, '/');
        size_t length = end ? (size_t)(end - cursor) : strlen(cursor);
        if (length == 2 && cursor[0] == '.' && cursor[1] == '.')
            return false;
        if (length > 0 && !(length == 1 && cursor[0] == '.')) {
            if (out->len)
                cfbp_strbuf_append_char(out, '/');
            cfbp_strbuf_append(out, cursor, length);
        }
        cursor += length;
        while (*cursor == '/')
            cursor++;
    }
    return out->len > 0;
}
