/*
 * fs.c - file system operations with cfbp_error reporting (see fs.h).
 *
 * Removal works on directory file descriptors (openat/unlinkat) so that a
 * symlink inside a tree is removed, never followed.
 */
#include "cfbp/fs.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum cfbp_fs_type cfbp_fs_type_of(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return CFBP_FS_MISSING;
    if (S_ISREG(st.st_mode))
        return CFBP_FS_FILE;
    if (S_ISDIR(st.st_mode))
        return CFBP_FS_DIRECTORY;
    if (S_ISLNK(st.st_mode))
        return CFBP_FS_SYMLINK;
    return CFBP_FS_OTHER;
}

bool cfbp_fs_is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool cfbp_fs_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool cfbp_fs_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int cfbp_fs_mkdir_p(const char *path, mode_t mode, struct cfbp_error *err)
{
    struct cfbp_strbuf partial = CFBP_STRBUF_INIT;
    const char *cursor = path;
    int result = 0;
    while (*cursor) {
        const char *slash = strchr(cursor + 1, '/');
        size_t length = slash ? (size_t)(slash - path) : strlen(path);
        cfbp_strbuf_reset(&partial);
        cfbp_strbuf_append(&partial, path, length);
        cursor = path + length;
        if (partial.len == 0 || strcmp(partial.buf, "/") == 0)
            continue;
        if (mkdir(partial.buf, mode) == 0)
            continue;
        int saved = errno;
        if (saved == EEXIST && cfbp_fs_is_directory(partial.buf))
            continue;
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, saved == EEXIST ? ENOTDIR : saved,
                                      "cannot create directory %s", partial.buf);
        break;
    }
    cfbp_strbuf_release(&partial);
    return result;
}

static int remove_entry_at(int parent_fd, const char *name, struct cfbp_strbuf *display,
                           struct cfbp_error *err);

static int remove_directory_contents(int directory_fd, struct cfbp_strbuf *display,
                                     struct cfbp_error *err)
{
    DIR *directory = fdopendir(directory_fd);
    if (!directory) {
        int saved = errno;
        close(directory_fd);
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot read directory %s",
                                    display->buf);
    }
    int result = 0;
    struct dirent *entry;
    while (result == 0 && (errno = 0, entry = readdir(directory)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        size_t saved_length = display->len;
        cfbp_path_append(display, entry->d_name);
        result = remove_entry_at(dirfd(directory), entry->d_name, display, err);
        cfbp_strbuf_set_length(display, saved_length);
    }
    if (result == 0 && errno != 0)
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot read directory %s",
                                      display->buf);
    closedir(directory);
    return result;
}

static int remove_entry_at(int parent_fd, const char *name, struct cfbp_strbuf *display,
                           struct cfbp_error *err)
{
    struct stat st;
    if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return 0;
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot remove %s", display->buf);
    }
    int flags = 0;
    if (S_ISDIR(st.st_mode)) {
        int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == EACCES && fchmodat(parent_fd, name, 0700, 0) == 0)
            fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot remove %s",
                                        display->buf);
        /* A read-only directory (an archive may make one) must become writable to empty it. */
        if ((st.st_mode & 0700) != 0700)
            fchmod(fd, 0700);
        if (remove_directory_contents(fd, display, err) < 0)
            return -1;
        flags = AT_REMOVEDIR;
    }
    if (unlinkat(parent_fd, name, flags) < 0 && errno != ENOENT)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot remove %s", display->buf);
    return 0;
}

int cfbp_fs_remove_tree(const char *path, struct cfbp_error *err)
{
    struct cfbp_strbuf display = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&display, path);
    /* "link/" would make fstatat follow the link: remove the link itself instead. */
    while (display.len > 1 && display.buf[display.len - 1] == '/')
        cfbp_strbuf_set_length(&display, display.len - 1);
    char *name = cfbp_xstrdup(display.buf);
    int result = remove_entry_at(AT_FDCWD, name, &display, err);
    free(name);
    cfbp_strbuf_release(&display);
    return result;
}

int cfbp_fs_make_temp_dir(const char *parent, const char *prefix, struct cfbp_strbuf *out,
                          struct cfbp_error *err)
{
    struct cfbp_strbuf template = CFBP_STRBUF_INIT;
    cfbp_path_join(&template, parent, prefix);
    cfbp_strbuf_append_string(&template, "XXXXXX");
    if (!mkdtemp(template.buf)) {
        int saved = errno;
        cfbp_strbuf_release(&template);
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, saved,
                                    "cannot create a temporary directory in %s", parent);
    }
    cfbp_strbuf_release(out);
    *out = template;
    return 0;
}

int cfbp_fs_list_directory(const char *path, struct cfbp_string_list *names, struct cfbp_error *err)
{
    DIR *directory = opendir(path);
    if (!directory)
        return cfbp_error_set_errno(err, errno == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    errno, "cannot read directory %s", path);
    struct dirent *entry;
    while ((errno = 0, entry = readdir(directory)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        cfbp_string_list_append(names, entry->d_name);
    }
    int saved = errno;
    closedir(directory);
    if (saved)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot read directory %s", path);
    cfbp_string_list_sort(names);
    return 0;
}

int cfbp_fs_read_file(const char *path, size_t max_bytes, struct cfbp_strbuf *out,
                      struct cfbp_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cfbp_error_set_errno(err, errno == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    errno, "cannot read %s", path);
    cfbp_strbuf_reset(out);
    int result = 0;
    for (;;) {
        cfbp_strbuf_grow(out, 8192);
        ssize_t got = cfbp_fs_read(fd, out->buf + out->len, out->alloc - out->len - 1);
        if (got < 0) {
            result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot read %s", path);
            break;
        }
        if (got == 0)
            break;
        cfbp_strbuf_set_length(out, out->len + (size_t)got);
        if (out->len > max_bytes) {
            result = cfbp_error_set(err, CFBP_ERROR_INVALID,
                                    "%s is larger than %zu bytes; a file this big is not "
                                    "expected here",
                                    path, max_bytes);
            break;
        }
    }
    close(fd);
    return result;
}

ssize_t cfbp_fs_read(int fd, void *buffer, size_t size)
{
    ssize_t got;
    do {
        got = read(fd, buffer, size);
    } while (got < 0 && errno == EINTR);
    return got;
}

int cfbp_fs_write_all(int fd, const void *data, size_t length)
{
    const char *cursor = data;
    while (length > 0) {
        ssize_t written = write(fd, cursor, length);
        if (written < 0 && errno == EINTR)
            continue;
        if (written < 0)
            return errno;
        cursor += written;
        length -= (size_t)written;
    }
    return 0;
}

/* Opens a new temporary file beside path; its name goes into temp_path. */
static int open_temp_beside(const char *path, struct cfbp_strbuf *temp_path, struct cfbp_error *err)
{
    cfbp_strbuf_set(temp_path, path);
    cfbp_strbuf_append_string(temp_path, ".cfbp-XXXXXX");
    int fd = mkostemp(temp_path->buf, O_CLOEXEC);
    if (fd < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot write %s", path);
    return fd;
}

/* Closes fd, sets its mode and renames temp_path over path; removes temp_path on failure. */
static int finish_temp(int fd, const char *temp_path, const char *path, mode_t mode,
                       struct cfbp_error *err)
{
    int saved = 0;
    if (fchmod(fd, mode) < 0)
        saved = errno;
    if (close(fd) < 0 && !saved)
        saved = errno;
    if (!saved && rename(temp_path, path) < 0)
        saved = errno;
    if (saved) {
        unlink(temp_path);
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot write %s", path);
    }
    return 0;
}

int cfbp_fs_write_file(const char *path, const void *data, size_t length, mode_t mode,
                       struct cfbp_error *err)
{
    struct cfbp_strbuf temp_path = CFBP_STRBUF_INIT;
    int fd = open_temp_beside(path, &temp_path, err);
    int result = -1;
    if (fd >= 0) {
        int saved = cfbp_fs_write_all(fd, data, length);
        if (saved) {
            close(fd);
            unlink(temp_path.buf);
            cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot write %s", path);
        } else {
            result = finish_temp(fd, temp_path.buf, path, mode, err);
        }
    }
    cfbp_strbuf_release(&temp_path);
    return result;
}

int cfbp_fs_copy_file(const char *src, const char *dst, mode_t mode, struct cfbp_error *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return cfbp_error_set_errno(err, errno == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    errno, "cannot read %s", src);
    struct cfbp_strbuf temp_path = CFBP_STRBUF_INIT;
    int out = open_temp_beside(dst, &temp_path, err);
    int result = -1;
    if (out >= 0) {
        char buffer[65536];
        int saved = 0;
        bool read_failed = false;
        for (;;) {
            ssize_t got = cfbp_fs_read(in, buffer, sizeof(buffer));
            if (got < 0) {
                saved = errno;
                read_failed = true;
                break;
            }
            if (got == 0)
                break;
            saved = cfbp_fs_write_all(out, buffer, (size_t)got);
            if (saved)
                break;
        }
        if (saved) {
            close(out);
            unlink(temp_path.buf);
            cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot %s %s",
                                 read_failed ? "read" : "write", read_failed ? src : dst);
        } else {
            result = finish_temp(out, temp_path.buf, dst, mode, err);
        }
    }
    close(in);
    cfbp_strbuf_release(&temp_path);
    return result;
}

int cfbp_fs_merge_move(const char *src_dir, const char *dest_dir, struct cfbp_error *err)
{
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf from = CFBP_STRBUF_INIT, to = CFBP_STRBUF_INIT;
    int result = cfbp_fs_list_directory(src_dir, &names, err);
    for (size_t i = 0; result == 0 && i < names.count; i++) {
        cfbp_path_join(&from, src_dir, names.items[i]);
        cfbp_path_join(&to, dest_dir, names.items[i]);
        enum cfbp_fs_type from_type = cfbp_fs_type_of(from.buf);
        enum cfbp_fs_type to_type = cfbp_fs_type_of(to.buf);
        if (from_type == CFBP_FS_DIRECTORY && to_type == CFBP_FS_DIRECTORY) {
            result = cfbp_fs_merge_move(from.buf, to.buf, err);
            continue;
        }
        /* rename() cannot replace a directory with a file or the other way round. */
        if (to_type == CFBP_FS_DIRECTORY ||
            (to_type != CFBP_FS_MISSING && from_type == CFBP_FS_DIRECTORY)) {
            result = cfbp_fs_remove_tree(to.buf, err);
            if (result < 0)
                break;
        }
        if (rename(from.buf, to.buf) < 0)
            result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot move %s to %s",
                                          from.buf, to.buf);
    }
    if (result == 0 && rmdir(src_dir) < 0)
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot remove %s", src_dir);
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&from);
    cfbp_strbuf_release(&to);
    return result;
}

static int copy_entry(const char *from, const char *to, const char *relative, cfbp_fs_skip_fn skip,
                      void *skip_data, struct cfbp_error *err);

static int copy_directory_entries(const char *from, const char *to, const char *relative,
                                  cfbp_fs_skip_fn skip, void *skip_data, struct cfbp_error *err)
{
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf child_from = CFBP_STRBUF_INIT, child_to = CFBP_STRBUF_INIT,
                       child_relative = CFBP_STRBUF_INIT;
    int result = cfbp_fs_list_directory(from, &names, err);
    for (size_t i = 0; result == 0 && i < names.count; i++) {
        cfbp_path_join(&child_from, from, names.items[i]);
        cfbp_path_join(&child_to, to, names.items[i]);
        if (*relative)
            cfbp_path_join(&child_relative, relative, names.items[i]);
        else
            cfbp_strbuf_set(&child_relative, names.items[i]);
        if (skip && skip(child_relative.buf, skip_data))
            continue;
        result = copy_entry(child_from.buf, child_to.buf, child_relative.buf, skip, skip_data, err);
    }
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&child_from);
    cfbp_strbuf_release(&child_to);
    cfbp_strbuf_release(&child_relative);
    return result;
}

static int copy_entry(const char *from, const char *to, const char *relative, cfbp_fs_skip_fn skip,
                      void *skip_data, struct cfbp_error *err)
{
    struct stat st;
    if (lstat(from, &st) < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot read %s", from);
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t length = readlink(from, target, sizeof(target) - 1);
        if (length < 0)
            return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot read %s", from);
        target[length] = '\0';
        if (symlink(target, to) < 0)
            return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot create %s", to);
        return 0;
    }
    if (S_ISDIR(st.st_mode)) {
        /* Created writable, given its own mode once filled. */
        if (mkdir(to, 0700) < 0)
            return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot create %s", to);
        if (copy_directory_entries(from, to, relative, skip, skip_data, err) < 0)
            return -1;
        if (chmod(to, st.st_mode & 07777) < 0)
            return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot set the mode of %s", to);
        return 0;
    }
    if (S_ISREG(st.st_mode))
        return cfbp_fs_copy_file(from, to, st.st_mode & 07777, err);
    return 0; /* sockets, fifos and devices are not copied */
}

int cfbp_fs_copy_tree(const char *from, const char *to, cfbp_fs_skip_fn skip, void *skip_data,
                      struct cfbp_error *err)
{
    return copy_entry(from, to, "", skip, skip_data, err);
}
