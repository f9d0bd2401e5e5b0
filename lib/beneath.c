/*
 * beneath.c - reading and writing inside a directory without following links
 * (see beneath.h).
 *
 * Resolution is openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) when the kernel
 * has it: one system call, and the kernel refuses any link or "..". When it
 * is missing (ENOSYS, or EPERM from a seccomp filter that predates it), or
 * when it fails for a reason worth explaining (a missing directory to create,
 * a link to name in the message), the same path is walked one component at a
 * time with O_NOFOLLOW, which is what decides and words the answer.
 */
#include "cfbp/beneath.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TEMP_ATTEMPTS 100

static bool portable_walk_forced;
static int openat2_unavailable; /* set once the kernel said it has no openat2 */

void cfbp_beneath_force_portable_walk(bool portable)
{
    portable_walk_forced = portable;
}

/* --- roots --- */

static int open_root(struct cfbp_beneath *root, const char *path, struct cfbp_error *err)
{
    root->path = NULL;
    root->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root->fd < 0)
        return cfbp_error_set_errno(err, errno == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    errno, "cannot open the directory %s", path);
    root->path = cfbp_xstrdup(path);
    return 0;
}

int cfbp_beneath_open(struct cfbp_beneath *root, const char *path, struct cfbp_error *err)
{
    return open_root(root, path, err);
}

int cfbp_beneath_open_create(struct cfbp_beneath *root, const char *path, struct cfbp_error *err)
{
    root->fd = -1;
    root->path = NULL;
    if (cfbp_fs_mkdir_p(path, 0755, err) < 0)
        return -1;
    return open_root(root, path, err);
}

void cfbp_beneath_close(struct cfbp_beneath *root)
{
    if (root->fd >= 0)
        close(root->fd);
    free(root->path);
    root->fd = -1;
    root->path = NULL;
}

/* --- resolving --- */

static bool is_dot(const char *component, size_t length)
{
    return length == 1 && component[0] == '.';
}

static bool is_dot_dot(const char *component, size_t length)
{
    return length == 2 && component[0] == '.' && component[1] == '.';
}

/* Refuses absolute paths and ".." components: nothing here may climb. */
static int check_relative(const char *display, const char *relative, struct cfbp_error *err)
{
    if (relative[0] == '/')
        return cfbp_error_set(err, CFBP_ERROR_UNSAFE_PATH,
                              "refusing %s under %s: the path is absolute", relative, display);
    for (const char *cursor = relative; *cursor;) {
        size_t length = strcspn(cursor, "/");
        if (is_dot_dot(cursor, length))
            return cfbp_error_set(err, CFBP_ERROR_UNSAFE_PATH,
                                  "refusing %s under %s: the path has a '..' component", relative,
                                  display);
        cursor += length;
        while (*cursor == '/')
            cursor++;
    }
    return 0;
}

static int openat2_directory(int directory_fd, const char *relative)
{
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = syscall(SYS_openat2, directory_fd, relative, &how, sizeof(how));
    if (fd < 0 && (errno == ENOSYS || errno == EPERM || errno == E2BIG))
        openat2_unavailable = 1;
    return (int)fd;
}

/* Explains why component (under the directory shown as display) could not be opened. */
static int explain_component(int parent_fd, const char *component, int saved,
                             const struct cfbp_strbuf *display, struct cfbp_error *err)
{
    struct stat st;
    if ((saved == ELOOP || saved == ENOTDIR || saved == EEXIST) &&
        fstatat(parent_fd, component, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode))
            return cfbp_error_set(err, CFBP_ERROR_UNSAFE_PATH,
                                  "refusing to go through %s: it is a symbolic link, and nothing "
                                  "is read or written through links here",
                                  display->buf);
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, ENOTDIR, "cannot use %s as a directory",
                                    display->buf);
    }
    return cfbp_error_set_errno(err, saved == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO, saved,
                                "cannot open the directory %s", display->buf);
}

static int walk_directory(int directory_fd, const char *display_root, const char *relative,
                          bool create, mode_t mode, struct cfbp_error *err)
{
    int current = openat(directory_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (current < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot open the directory %s",
                                    display_root);
    struct cfbp_strbuf display = CFBP_STRBUF_INIT, component = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&display, display_root);
    for (const char *cursor = relative; *cursor;) {
        size_t length = strcspn(cursor, "/");
        if (length > 0 && !is_dot(cursor, length)) {
            cfbp_strbuf_reset(&component);
            cfbp_strbuf_append(&component, cursor, length);
            cfbp_path_append(&display, component.buf);
            int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
            int next = openat(current, component.buf, flags);
            if (next < 0 && errno == ENOENT && create) {
                if (mkdirat(current, component.buf, mode) == 0 || errno == EEXIST)
                    next = openat(current, component.buf, flags);
            }
            if (next < 0) {
                explain_component(current, component.buf, errno, &display, err);
                close(current);
                current = -1;
                break;
            }
            close(current);
            current = next;
        }
        cursor += length;
        while (*cursor == '/')
            cursor++;
    }
    cfbp_strbuf_release(&display);
    cfbp_strbuf_release(&component);
    return current;
}

int cfbp_beneath_open_directory_at(int directory_fd, const char *display, const char *relative,
                                   bool create, mode_t mode, struct cfbp_error *err)
{
    if (check_relative(display, relative, err) < 0)
        return -1;
    if (*relative && !portable_walk_forced && !openat2_unavailable) {
        int fd = openat2_directory(directory_fd, relative);
        if (fd >= 0)
            return fd;
        /* Anything else is decided and explained by the walk. */
    }
    return walk_directory(directory_fd, display, relative, create, mode, err);
}

int cfbp_beneath_open_directory(const struct cfbp_beneath *root, const char *relative, bool create,
                                mode_t mode, struct cfbp_error *err)
{
    return cfbp_beneath_open_directory_at(root->fd, root->path, relative, create, mode, err);
}

/*
 * Splits relative into its directory (opened, created when create) and its
 * last component (into name). Returns the directory's fd or -1.
 */
static int open_parent(const struct cfbp_beneath *root, const char *relative, bool create,
                       struct cfbp_strbuf *name, struct cfbp_error *err)
{
    struct cfbp_strbuf clean = CFBP_STRBUF_INIT, parent = CFBP_STRBUF_INIT;
    int fd = -1;
    if (check_relative(root->path, relative, err) < 0) {
        /* refused */
    } else if (!cfbp_path_clean_relative(&clean, relative)) {
        cfbp_error_set(err, CFBP_ERROR_UNSAFE_PATH, "refusing '%s' under %s: it names no file",
                       relative, root->path);
    } else {
        const char *slash = strrchr(clean.buf, '/');
        if (slash) {
            cfbp_strbuf_append(&parent, clean.buf, (size_t)(slash - clean.buf));
            cfbp_strbuf_set(name, slash + 1);
        } else {
            cfbp_strbuf_set(name, clean.buf);
        }
        fd = cfbp_beneath_open_directory(root, parent.buf, create, 0755, err);
    }
    cfbp_strbuf_release(&clean);
    cfbp_strbuf_release(&parent);
    return fd;
}

static void display_path(struct cfbp_strbuf *out, const struct cfbp_beneath *root,
                         const char *relative)
{
    cfbp_path_join(out, root->path, relative);
}

enum cfbp_fs_type cfbp_beneath_type_of(const struct cfbp_beneath *root, const char *relative)
{
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    struct cfbp_strbuf name = CFBP_STRBUF_INIT;
    enum cfbp_fs_type type = CFBP_FS_MISSING;
    int fd = open_parent(root, relative, false, &name, &ignored);
    if (fd >= 0) {
        type = cfbp_fs_type_at(fd, name.buf);
        close(fd);
    }
    cfbp_error_clear(&ignored);
    cfbp_strbuf_release(&name);
    return type;
}

/* --- writing --- */

/* A name for a new temporary entry beside name: ".<name>.cfbp-XXXXXX". */
static void temp_name(struct cfbp_strbuf *out, const char *name)
{
    static unsigned long long state;
    if (!state) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        state =
            ((unsigned long long)now.tv_nsec << 16) ^ (unsigned long long)getpid() ^ 0x5bd1e995u;
    }
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    cfbp_strbuf_reset(out);
    /* Keep the name within NAME_MAX however long the target's name is. */
    size_t keep = strlen(name) > 200 ? 200 : strlen(name);
    cfbp_strbuf_append_char(out, '.');
    cfbp_strbuf_append(out, name, keep);
    cfbp_strbuf_append_string(out, ".cfbp-");
    unsigned long long bits = state;
    for (int i = 0; i < 6; i++, bits /= 62)
        cfbp_strbuf_append_char(out, letters[bits % 62]);
}

/* Fails when a directory stands at name: a file cannot replace it. */
static int check_not_directory(int parent_fd, const char *name, const char *display,
                               struct cfbp_error *err)
{
    if (cfbp_fs_type_at(parent_fd, name) == CFBP_FS_DIRECTORY)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, EISDIR,
                                    "cannot write %s: a directory is in the way", display);
    return 0;
}

/*
 * Makes a new entry under the temporary name temp of the directory parent.
 * Returns 0 or an errno value; EEXIST means "try another name".
 */
typedef int (*make_entry_fn)(int parent, const char *temp, const void *data);

struct file_content {
    const void *data;
    size_t length;
    mode_t mode;
};

static int make_file(int parent, const char *temp, const void *data)
{
    const struct file_content *content = data;
    int fd = openat(parent, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    int saved = cfbp_fs_write_all(fd, content->data, content->length);
    if (!saved && fchmod(fd, content->mode) < 0)
        saved = errno;
    if (close(fd) < 0 && !saved)
        saved = errno;
    if (saved)
        unlinkat(parent, temp, 0);
    return saved;
}

static int make_link(int parent, const char *temp, const void *data)
{
    return symlinkat(data, parent, temp) == 0 ? 0 : errno;
}

/*
 * Puts a new entry at relative atomically: made under a temporary name
 * beside it, then renamed over whatever stands there (rename replaces a link
 * instead of following it; a directory there is an error).
 */
static int replace_entry(const struct cfbp_beneath *root, const char *relative, make_entry_fn make,
                         const void *data, struct cfbp_error *err)
{
    struct cfbp_strbuf name = CFBP_STRBUF_INIT, temp = CFBP_STRBUF_INIT, display = CFBP_STRBUF_INIT;
    display_path(&display, root, relative);
    int parent = open_parent(root, relative, true, &name, err);
    int result = parent < 0 ? -1 : check_not_directory(parent, name.buf, display.buf, err);
    int saved = EEXIST;
    for (int attempt = 0; result == 0 && saved == EEXIST && attempt < TEMP_ATTEMPTS; attempt++) {
        temp_name(&temp, name.buf);
        saved = make(parent, temp.buf, data);
    }
    if (result == 0 && !saved && renameat(parent, temp.buf, parent, name.buf) < 0) {
        saved = errno;
        unlinkat(parent, temp.buf, 0);
    }
    if (result == 0 && saved)
        result = cfbp_fs_write_error(err, saved, display.buf);
    if (parent >= 0)
        close(parent);
    cfbp_strbuf_release(&name);
    cfbp_strbuf_release(&temp);
    cfbp_strbuf_release(&display);
    return result;
}

int cfbp_beneath_write_file(const struct cfbp_beneath *root, const char *relative, const void *data,
                            size_t length, mode_t mode, struct cfbp_error *err)
{
    struct file_content content = {data, length, mode};
    return replace_entry(root, relative, make_file, &content, err);
}

int cfbp_beneath_symlink(const struct cfbp_beneath *root, const char *relative, const char *target,
                         struct cfbp_error *err)
{
    return replace_entry(root, relative, make_link, target, err);
}

int cfbp_beneath_mkdir_p(const struct cfbp_beneath *root, const char *relative, mode_t mode,
                         struct cfbp_error *err)
{
    int fd = cfbp_beneath_open_directory(root, relative, true, mode, err);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* --- reading --- */

int cfbp_beneath_open_file(const struct cfbp_beneath *root, const char *relative,
                           struct cfbp_error *err)
{
    struct cfbp_strbuf name = CFBP_STRBUF_INIT, display = CFBP_STRBUF_INIT;
    display_path(&display, root, relative);
    int fd = -1;
    int parent = open_parent(root, relative, false, &name, err);
    if (parent >= 0) {
        fd = cfbp_fs_open_regular_at(parent, name.buf, display.buf, err);
        close(parent);
    }
    cfbp_strbuf_release(&name);
    cfbp_strbuf_release(&display);
    return fd;
}

int cfbp_beneath_read_file(const struct cfbp_beneath *root, const char *relative, size_t max_bytes,
                           struct cfbp_strbuf *out, struct cfbp_error *err)
{
    int fd = cfbp_beneath_open_file(root, relative, err);
    if (fd < 0)
        return -1;
    struct cfbp_strbuf display = CFBP_STRBUF_INIT;
    display_path(&display, root, relative);
    int result = cfbp_fs_read_fd(fd, display.buf, max_bytes, out, err);
    close(fd);
    cfbp_strbuf_release(&display);
    return result;
}

int cfbp_beneath_list_directory(const struct cfbp_beneath *root, const char *relative,
                                struct cfbp_string_list *names, struct cfbp_error *err)
{
    int fd = cfbp_beneath_open_directory(root, relative, false, 0, err);
    if (fd < 0)
        return -1;
    struct cfbp_strbuf display = CFBP_STRBUF_INIT;
    display_path(&display, root, relative);
    int result = cfbp_fs_list_fd(fd, display.buf, names, err);
    cfbp_strbuf_release(&display);
    return result;
}

/* --- merging --- */

/*
 * A merge records every entry it moved, and where it put what that entry
 * displaced, so that a failure part way can put everything back.
 */
struct merge_move {
    char *directory; /* relative to both tops */
    char *name;
    long displaced; /* its number in the trash directory, or -1 */
};

/* A destination directory that was made writable for a moment, with its mode to give back. */
struct lent_mode {
    char *directory;
    mode_t mode;
};

struct merge {
    int src_fd, dest_fd, trash_fd;
    const char *src_display, *dest_display;
    struct merge_move *moves;
    size_t move_count, move_alloc;
    struct lent_mode *lent;
    size_t lent_count, lent_alloc;
    long trashed;
};

/*
 * rename(2) from one open directory to another. A destination directory of
 * ours without write permission (an earlier archive may have made it 0555)
 * is made writable for the merge and given its mode back at the end.
 */
static int rename_into(struct merge *merge, int from_fd, const char *from_name, int to_fd,
                       const char *to_name, const char *to_directory)
{
    if (renameat(from_fd, from_name, to_fd, to_name) == 0)
        return 0;
    int saved = errno;
    struct stat st;
    if (saved != EACCES || fstat(to_fd, &st) < 0 || st.st_uid != geteuid() ||
        (st.st_mode & 0300) == 0300 || fchmod(to_fd, (st.st_mode & 07777) | 0300) < 0) {
        errno = saved;
        return -1;
    }
    CFBP_GROW(merge->lent, merge->lent_alloc, merge->lent_count + 1);
    merge->lent[merge->lent_count].directory = cfbp_xstrdup(to_directory);
    merge->lent[merge->lent_count++].mode = st.st_mode & 07777;
    return renameat(from_fd, from_name, to_fd, to_name);
}

static int open_pair(struct merge *merge, const char *relative, int *src, int *dest,
                     struct cfbp_error *err)
{
    *src =
        cfbp_beneath_open_directory_at(merge->src_fd, merge->src_display, relative, false, 0, err);
    *dest = *src < 0 ? -1
                     : cfbp_beneath_open_directory_at(merge->dest_fd, merge->dest_display, relative,
                                                      false, 0, err);
    if (*dest >= 0)
        return 0;
    if (*src >= 0)
        close(*src);
    *src = -1;
    return -1;
}

/* Moves one entry in, displacing what stands there (into the trash, or removing it). */
static int move_entry(struct merge *merge, const char *relative, int src, int dest,
                      const char *name, bool displace, struct cfbp_strbuf *display,
                      struct cfbp_error *err)
{
    cfbp_path_join(display, merge->dest_display, relative);
    cfbp_path_append(display, name);
    long displaced = -1;
    if (displace && merge->trash_fd >= 0) {
        char number[32];
        snprintf(number, sizeof(number), "%ld", merge->trashed);
        if (rename_into(merge, dest, name, merge->trash_fd, number, relative) < 0)
            return cfbp_fs_write_error(err, errno, display->buf);
        displaced = merge->trashed++;
    } else if (displace && cfbp_fs_remove_at(dest, name, display->buf, err) < 0) {
        return -1;
    }
    if (rename_into(merge, src, name, dest, name, relative) < 0) {
        int saved = errno;
        if (displaced >= 0) {
            char number[32];
            snprintf(number, sizeof(number), "%ld", displaced);
            renameat(merge->trash_fd, number, dest, name);
        }
        return cfbp_fs_write_error(err, saved, display->buf);
    }
    CFBP_GROW(merge->moves, merge->move_alloc, merge->move_count + 1);
    merge->moves[merge->move_count].directory = cfbp_xstrdup(relative);
    merge->moves[merge->move_count].name = cfbp_xstrdup(name);
    merge->moves[merge->move_count++].displaced = displaced;
    return 0;
}

/* Puts back every move, newest first, and what each displaced: best effort, after a failure. */
static void undo_moves(struct merge *merge)
{
    for (size_t i = merge->move_count; i > 0; i--) {
        const struct merge_move *move = &merge->moves[i - 1];
        struct cfbp_error ignored = CFBP_ERROR_INIT;
        int src, dest;
        if (open_pair(merge, move->directory, &src, &dest, &ignored) == 0) {
            if (renameat(dest, move->name, src, move->name) == 0 && move->displaced >= 0) {
                char number[32];
                snprintf(number, sizeof(number), "%ld", move->displaced);
                renameat(merge->trash_fd, number, dest, move->name);
            }
            close(src);
            close(dest);
        }
        cfbp_error_clear(&ignored);
    }
}

/* Gives the directories made writable for a moment their modes back. */
static void return_lent_modes(struct merge *merge)
{
    for (size_t i = merge->lent_count; i > 0; i--) {
        struct cfbp_error ignored = CFBP_ERROR_INIT;
        int fd = cfbp_beneath_open_directory_at(merge->dest_fd, merge->dest_display,
                                                merge->lent[i - 1].directory, false, 0, &ignored);
        if (fd >= 0) {
            fchmod(fd, merge->lent[i - 1].mode);
            close(fd);
        }
        cfbp_error_clear(&ignored);
        free(merge->lent[i - 1].directory);
    }
    free(merge->lent);
}

/* Removes the merged (now empty) source directories, deepest first. */
static int remove_merged(struct merge *merge, const struct cfbp_string_list *pending,
                         struct cfbp_error *err)
{
    struct cfbp_strbuf parent = CFBP_STRBUF_INIT, display = CFBP_STRBUF_INIT;
    int result = 0;
    for (size_t i = pending->count; result == 0 && i > 1; i--) {
        const char *relative = pending->items[i - 1];
        const char *slash = strrchr(relative, '/');
        cfbp_strbuf_reset(&parent);
        if (slash)
            cfbp_strbuf_append(&parent, relative, (size_t)(slash - relative));
        int fd = cfbp_beneath_open_directory_at(merge->src_fd, merge->src_display, parent.buf,
                                                false, 0, err);
        if (fd < 0) {
            result = -1;
            break;
        }
        if (unlinkat(fd, slash ? slash + 1 : relative, AT_REMOVEDIR) < 0) {
            cfbp_path_join(&display, merge->src_display, relative);
            result =
                cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot remove %s", display.buf);
        }
        close(fd);
    }
    cfbp_strbuf_release(&parent);
    cfbp_strbuf_release(&display);
    return result;
}

/*
 * Directories are merged breadth first from a work list of paths relative to
 * the two tops, each opened afresh beneath its top: no descriptor is held per
 * level, so a tree of any depth merges within a few descriptors.
 */
int cfbp_beneath_merge_move(int src_fd, const char *src_display, int dest_fd,
                            const char *dest_display, int trash_fd, struct cfbp_error *err)
{
    struct merge merge = {.src_fd = src_fd,
                          .dest_fd = dest_fd,
                          .trash_fd = trash_fd,
                          .src_display = src_display,
                          .dest_display = dest_display};
    struct cfbp_string_list pending = CFBP_STRING_LIST_INIT, names = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf from = CFBP_STRBUF_INIT, child = CFBP_STRBUF_INIT;
    cfbp_string_list_append(&pending, "");
    int result = 0;
    for (size_t next = 0; result == 0 && next < pending.count; next++) {
        const char *relative = pending.items[next];
        int src, dest;
        result = open_pair(&merge, relative, &src, &dest, err);
        cfbp_string_list_clear(&names);
        if (result == 0) {
            cfbp_path_join(&from, src_display, relative);
            result = cfbp_fs_list_fd(dup(src), from.buf, &names, err);
        }
        for (size_t i = 0; result == 0 && i < names.count; i++) {
            const char *name = names.items[i];
            enum cfbp_fs_type from_type = cfbp_fs_type_at(src, name);
            enum cfbp_fs_type to_type = cfbp_fs_type_at(dest, name);
            if (from_type == CFBP_FS_DIRECTORY && to_type == CFBP_FS_DIRECTORY) {
                if (*relative)
                    cfbp_path_join(&child, relative, name);
                else
                    cfbp_strbuf_set(&child, name);
                cfbp_string_list_append(&pending, child.buf);
                continue;
            }
            /* rename() cannot replace a directory with a file or the other way round,
             * and a displaced entry must be kept until the merge has worked. */
            bool displace =
                to_type != CFBP_FS_MISSING &&
                (trash_fd >= 0 || to_type == CFBP_FS_DIRECTORY || from_type == CFBP_FS_DIRECTORY);
            result = move_entry(&merge, relative, src, dest, name, displace, &child, err);
        }
        if (src >= 0)
            close(src);
        if (dest >= 0)
            close(dest);
    }
    if (result == 0)
        result = remove_merged(&merge, &pending, err);
    if (result < 0)
        undo_moves(&merge);
    return_lent_modes(&merge);
    for (size_t i = 0; i < merge.move_count; i++) {
        free(merge.moves[i].directory);
        free(merge.moves[i].name);
    }
    free(merge.moves);
    cfbp_string_list_clear(&pending);
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&from);
    cfbp_strbuf_release(&child);
    return result;
}
