/*
 * fuzz_support.c - the temporary directory and checks the fuzz targets share
 * (see fuzz_support.h). Files are written with plain POSIX calls, so that a
 * target exercises only the library code it is about.
 */
#include "fuzz_support.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *directory;

_Noreturn void fuzz_fail(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("property failed: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    abort();
}

void fuzz_expect_prefix(const char *message, const char *prefix)
{
    if (!message || strncmp(message, prefix, strlen(prefix)) != 0)
        fuzz_fail("the error \"%s\" does not start with \"%s\"", message ? message : "(none)",
                  prefix);
}

char *fuzz_text(const uint8_t *data, size_t size)
{
    return cfbp_xstrndup((const char *)data, size);
}

static void remove_directory(void)
{
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_remove_tree(directory, &err) < 0)
        fprintf(stderr, "fuzz: %s\n", err.message);
    cfbp_error_clear(&err);
    free(directory);
    directory = NULL;
}

const char *fuzz_directory(void)
{
    if (directory)
        return directory;
    const char *parent = getenv("TMPDIR");
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&path, "%s/cfbp-fuzz-XXXXXX", parent && *parent ? parent : "/tmp");
    if (!mkdtemp(path.buf)) {
        fprintf(stderr, "fuzz: cannot make %s: %s\n", path.buf, strerror(errno));
        abort();
    }
    directory = cfbp_strbuf_detach(&path, NULL);
    atexit(remove_directory);
    return directory;
}

void fuzz_write_file(const char *name, const void *data, size_t size, struct cfbp_strbuf *path)
{
    cfbp_strbuf_reset(path);
    cfbp_strbuf_append_format(path, "%s/%s", fuzz_directory(), name);
    for (const char *slash = strchr(name, '/'); slash; slash = strchr(slash + 1, '/')) {
        struct cfbp_strbuf parent = CFBP_STRBUF_INIT;
        cfbp_strbuf_append_format(&parent, "%s/%.*s", fuzz_directory(), (int)(slash - name), name);
        if (mkdir(parent.buf, 0755) < 0 && errno != EEXIST) {
            fprintf(stderr, "fuzz: cannot make %s: %s\n", parent.buf, strerror(errno));
            abort();
        }
        cfbp_strbuf_release(&parent);
    }
    int fd = open(path->buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const char *bytes = data;
    size_t written = 0;
    while (fd >= 0 && written < size) {
        ssize_t count = write(fd, bytes + written, size - written);
        if (count < 0 && errno == EINTR)
            continue;
        if (count <= 0)
            break;
        written += (size_t)count;
    }
    if (fd < 0 || written != size || close(fd) < 0) {
        fprintf(stderr, "fuzz: cannot write %s: %s\n", path->buf, strerror(errno));
        abort();
    }
}

void fuzz_describe_tree(const char *path, const char *relative, fuzz_tree_line line,
                        struct cfbp_strbuf *out)
{
    struct stat st;
    bool present = lstat(path, &st) == 0;
    line(path, relative, present ? &st : NULL, out);
    if (!present || !S_ISDIR(st.st_mode))
        return;
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_list_directory(path, &names, &err) < 0)
        fuzz_fail("%s", err.message);
    struct cfbp_strbuf child = CFBP_STRBUF_INIT, child_relative = CFBP_STRBUF_INIT;
    for (size_t i = 0; i < names.count; i++) {
        cfbp_path_join(&child, path, names.items[i]);
        cfbp_path_join(&child_relative, relative, names.items[i]);
        fuzz_describe_tree(child.buf, child_relative.buf, line, out);
    }
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&child);
    cfbp_strbuf_release(&child_relative);
}
