/*
 * fs.c - file system operations with cfbp_error reporting (see fs.h).
 *
 * Removal works on directory file descriptors (openat/unlinkat) so that a
 * symlink inside a tree is removed, never followed, and it holds one
 * descriptor whatever the depth: it climbs back with "..", so a hostile
 * archive's ten thousand nested directories are removed like any other.
 */
#include "cfbp/fs.h"

#include "cfbp/alloc.h"
#include "cfbp/beneath.h"
#include "cfbp/error.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum cfbp_fs_type cfbp_fs_type_of(const char *path)
{
    return cfbp_fs_type_at(AT_FDCWD, path);
}

enum cfbp_fs_type cfbp_fs_type_at(int directory_fd, const char *name)
{
    struct stat st;
    if (fstatat(directory_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return CFBP_FS_MISSING;
    if (S_ISREG(st.st_mode))
        return CFBP_FS_FILE;
    if (S_ISDIR(st.st_mode))
        return CFBP_FS_DIRECTORY;
    if (S_ISLNK(st.st_mode))
        return CFBP_FS_SYMLINK;
    return CFBP_FS_OTHER;
}

int cfbp_fs_write_error(struct cfbp_error *err, int errnum, const char *path)
{
    const char *advice = "";
    if (errnum == ENOSPC)
        advice = "; free space, or push with a larger disk quota: cf push -k";
    else if (errnum == EDQUOT)
        advice = "; push with a larger disk quota: cf push -k";
    else if (errnum == EFBIG)
        advice = "; the file size limit (ulimit -f) is smaller than this file";
    cfbp_error_set(err, CFBP_ERROR_IO, "cannot write %s: %s%s", path, strerror(errnum), advice);
    return -1;
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
    if (cfbp_fs_is_directory(path))
        return 0; /* the usual case: one stat instead of a mkdir and a stat per level */
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

/* A directory being emptied: its name in its parent and the subdirectories still to remove. */
struct removal_frame {
    char *name;
    struct cfbp_string_list subdirectories;
    size_t next;
    dev_t device; /* the directory's identity: climbing back with ".." must reach it */
    ino_t inode;
};

/*
 * Removes every entry of the directory fd but its subdirectories, which go
 * into frame->subdirectories. A directory without write or search permission
 * (an archive may make one) is given them first.
 */
static int empty_files(int fd, struct removal_frame *frame, struct cfbp_strbuf *display,
                       struct cfbp_error *err)
{
    struct stat self;
    if (fstat(fd, &self) < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot remove %s", display->buf);
    frame->device = self.st_dev;
    frame->inode = self.st_ino;
    if ((self.st_mode & 0700) != 0700)
        fchmod(fd, (self.st_mode & 07777) | 0700);
    int copy = dup(fd);
    DIR *directory = copy < 0 ? NULL : fdopendir(copy);
    if (!directory) {
        int saved = errno;
        if (copy >= 0)
            close(copy);
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot read directory %s",
                                    display->buf);
    }
    rewinddir(directory);
    int result = 0;
    struct dirent *entry;
    while (result == 0 && (errno = 0, entry = readdir(directory)) != NULL) {
        const char *name = entry->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        enum cfbp_fs_type type = cfbp_fs_type_at(fd, name);
        if (type == CFBP_FS_DIRECTORY) {
            cfbp_string_list_append(&frame->subdirectories, name);
        } else if (type != CFBP_FS_MISSING && unlinkat(fd, name, 0) < 0 && errno != ENOENT) {
            size_t length = display->len;
            cfbp_path_append(display, name);
            result =
                cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot remove %s", display->buf);
            cfbp_strbuf_set_length(display, length);
        }
    }
    if (result == 0 && errno != 0)
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot read directory %s",
                                      display->buf);
    closedir(directory);
    return result;
}

static void pop_frame(struct removal_frame *frames, size_t *depth, struct cfbp_strbuf *display)
{
    struct removal_frame *frame = &frames[--*depth];
    free(frame->name);
    cfbp_string_list_clear(&frame->subdirectories);
    const char *slash = strrchr(display->buf, '/');
    if (slash && *depth > 0)
        cfbp_strbuf_set_length(display, (size_t)(slash - display->buf));
}

/* Without following a link; -1 when it is not a directory (any more), or not ours to open. */
int cfbp_fs_open_own_directory_at(int fd, const char *name)
{
    int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int child = openat(fd, name, flags);
    if (child >= 0 || errno != EACCES)
        return child;
    if (fchmodat(fd, name, 0700, AT_SYMLINK_NOFOLLOW) < 0) {
        errno = EACCES; /* what is wrong is still the mode */
        return -1;
    }
    return openat(fd, name, flags);
}

int cfbp_fs_remove_at(int directory_fd, const char *name, const char *display_path,
                      struct cfbp_error *err)
{
    enum cfbp_fs_type type = cfbp_fs_type_at(directory_fd, name);
    if (type == CFBP_FS_MISSING)
        return 0;
    if (type != CFBP_FS_DIRECTORY) {
        if (unlinkat(directory_fd, name, 0) < 0 && errno != ENOENT)
            return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot remove %s",
                                        display_path);
        return 0;
    }
    int fd = cfbp_fs_open_own_directory_at(directory_fd, name);
    if (fd < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot remove %s", display_path);
    struct cfbp_strbuf display = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&display, display_path);
    struct removal_frame *frames = NULL;
    size_t depth = 0, alloc = 0;
    CFBP_GROW(frames, alloc, 1);
    frames[depth++] = (struct removal_frame){cfbp_xstrdup(name), CFBP_STRING_LIST_INIT, 0, 0, 0};
    int result = empty_files(fd, &frames[0], &display, err);
    while (result == 0 && depth > 0) {
        struct removal_frame *frame = &frames[depth - 1];
        if (frame->next < frame->subdirectories.count) {
            const char *child_name = frame->subdirectories.items[frame->next++];
            int child = cfbp_fs_open_own_directory_at(fd, child_name);
            if (child < 0) {
                if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
                    result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot remove %s/%s",
                                                  display.buf, child_name);
                else if (errno != ENOENT)
                    unlinkat(fd, child_name, 0); /* no longer a directory */
                continue;
            }
            close(fd);
            fd = child;
            CFBP_GROW(frames, alloc, depth + 1);
            frames[depth++] =
                (struct removal_frame){cfbp_xstrdup(child_name), CFBP_STRING_LIST_INIT, 0, 0, 0};
            cfbp_path_append(&display, child_name);
            result = empty_files(fd, &frames[depth - 1], &display, err);
            continue;
        }
        /* Empty now: climb to the parent (the one it came from, or stop) and remove it there. */
        int parent = depth > 1 ? openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (depth > 1 && parent < 0) {
            result =
                cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot remove %s", display.buf);
            break;
        }
        struct stat above;
        if (depth > 1 && (fstat(parent, &above) < 0 || above.st_dev != frames[depth - 2].device ||
                          above.st_ino != frames[depth - 2].inode)) {
            close(parent);
            result =
                cfbp_error_set(err, CFBP_ERROR_IO,
                               "cannot remove %s: it was moved while being removed", display.buf);
            break;
        }
        close(fd);
        fd = parent;
        int remove_in = depth > 1 ? fd : directory_fd;
        if (unlinkat(remove_in, frame->name, AT_REMOVEDIR) < 0 && errno != ENOENT)
            result =
                cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot remove %s", display.buf);
        pop_frame(frames, &depth, &display);
    }
    if (fd >= 0)
        close(fd);
    while (depth > 0)
        pop_frame(frames, &depth, &display);
    free(frames);
    cfbp_strbuf_release(&display);
    return result;
}

int cfbp_fs_remove_tree(const char *path, struct cfbp_error *err)
{
    struct cfbp_strbuf display = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&display, path);
    /* "link/" would make fstatat follow the link: remove the link itself instead. */
    while (display.len > 1 && display.buf[display.len - 1] == '/')
        cfbp_strbuf_set_length(&display, display.len - 1);
    char *name = cfbp_xstrdup(display.buf);
    int result = cfbp_fs_remove_at(AT_FDCWD, name, display.buf, err);
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

int cfbp_fs_list_fd(int fd, const char *display, struct cfbp_string_list *names,
                    struct cfbp_error *err)
{
    DIR *directory = fd < 0 ? NULL : fdopendir(fd);
    if (!directory) {
        int saved = fd < 0 ? EBADF : errno;
        if (fd >= 0)
            close(fd);
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot read directory %s", display);
    }
    rewinddir(directory);
    struct dirent *entry;
    while ((errno = 0, entry = readdir(directory)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        cfbp_string_list_append(names, entry->d_name);
    }
    int saved = errno;
    closedir(directory);
    if (saved)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot read directory %s", display);
    cfbp_string_list_sort(names);
    return 0;
}

int cfbp_fs_list_directory(const char *path, struct cfbp_string_list *names, struct cfbp_error *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return cfbp_error_set_errno(err, errno == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    errno, "cannot read directory %s", path);
    return cfbp_fs_list_fd(fd, path, names, err);
}

/* Fails unless fd is a regular file: a fifo or a device planted as a file would hang or never end.
 */
static int check_regular(int fd, const char *display, struct cfbp_error *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot read %s", display);
    if (S_ISDIR(st.st_mode))
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, EISDIR, "cannot read %s", display);
    if (!S_ISREG(st.st_mode))
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "cannot read %s: it is not a regular file (a fifo or a device)",
                              display);
    /* Opened non-blocking so that a fifo could not hang the open; reads block as usual. */
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    return 0;
}

int cfbp_fs_open_regular_at(int directory_fd, const char *name, const char *display,
                            struct cfbp_error *err)
{
    int fd = openat(directory_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        if (saved == ELOOP)
            return cfbp_error_set(err, CFBP_ERROR_UNSAFE_PATH,
                                  "refusing to read %s: it is a symbolic link, and nothing is "
                                  "read through links here",
                                  display);
        return cfbp_error_set_errno(err, saved == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    saved, "cannot read %s", display);
    }
    if (check_regular(fd, display, err) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int cfbp_fs_read_fd(int fd, const char *display, size_t max_bytes, struct cfbp_strbuf *out,
                    struct cfbp_error *err)
{
    cfbp_strbuf_reset(out);
    for (;;) {
        cfbp_strbuf_grow(out, 8192);
        size_t room = out->alloc - out->len - 1;
        /* Never read more than one byte past the limit, however big the file. */
        if (room > max_bytes + 1 - out->len)
            room = max_bytes + 1 - out->len;
        ssize_t got = cfbp_fs_read(fd, out->buf + out->len, room);
        if (got < 0)
            return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot read %s", display);
        if (got == 0)
            return 0;
        cfbp_strbuf_set_length(out, out->len + (size_t)got);
        if (out->len > max_bytes)
            return cfbp_error_set(err, CFBP_ERROR_INVALID,
                                  "%s is larger than %zu bytes; a file this big is not expected "
                                  "here",
                                  display, max_bytes);
    }
}

int cfbp_fs_read_file(const char *path, size_t max_bytes, struct cfbp_strbuf *out,
                      struct cfbp_error *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return cfbp_error_set_errno(err, errno == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    errno, "cannot read %s", path);
    int result = check_regular(fd, path, err);
    if (result == 0)
        result = cfbp_fs_read_fd(fd, path, max_bytes, out, err);
    close(fd);
    return result;
}

static void on_file_size_limit(int signal_number)
{
    (void)signal_number; /* the write that raised it fails with EFBIG */
}

void cfbp_fs_catch_file_size_limit(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_file_size_limit;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGXFSZ, &action, NULL);
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
        return cfbp_fs_write_error(err, errno, path);
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
        return cfbp_fs_write_error(err, saved, path);
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
            cfbp_fs_write_error(err, saved, path);
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
            if (read_failed)
                cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot read %s", src);
            else
                cfbp_fs_write_error(err, saved, dst);
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
    int src = open(src_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (src < 0)
        return cfbp_error_set_errno(err, errno == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    errno, "cannot read directory %s", src_dir);
    int dest = open(dest_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dest < 0) {
        int saved = errno;
        close(src);
        return cfbp_error_set_errno(err, saved == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    saved, "cannot read directory %s", dest_dir);
    }
    int result = cfbp_beneath_merge_move(src, src_dir, dest, dest_dir, -1, err);
    close(src);
    close(dest);
    if (result == 0 && rmdir(src_dir) < 0)
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot remove %s", src_dir);
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

long cfbp_fs_write_temp_pid(const char *name)
{
    const char *mark = name[0] == '.' ? strstr(name, ".cfbp-") : NULL;
    while (mark && strstr(mark + 1, ".cfbp-"))
        mark = strstr(mark + 1, ".cfbp-");
    if (!mark || mark == name)
        return 0;
    char *end;
    long pid = strtol(mark + 6, &end, 10);
    if (pid <= 0 || end == mark + 6 || *end != '-' || !end[1] ||
        strspn(end + 1, "0123456789") != strlen(end + 1))
        return 0;
    return pid;
}

bool cfbp_fs_is_write_temp_name(const char *name)
{
    return cfbp_fs_write_temp_pid(name) > 0;
}
