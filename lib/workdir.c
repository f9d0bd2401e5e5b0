/*
 * workdir.c - work directories of installs and the destination lock (see
 * workdir.h).
 *
 * Two locks, both flock(2), both released by the kernel when their holder
 * dies: the destination's parent directory, held while work directories are
 * made and results moved into place, and each work directory, held for its
 * owner's whole life. A work directory is created and locked while the
 * destination lock is held, and stale ones are only looked for under that
 * lock, so no install ever sees another's work directory unlocked.
 *
 * A stale work directory may hold the journal of a merge its owner was
 * killed in the middle of (beneath.h): that merge is undone, under the
 * destination lock, before the directory is removed, so that no entry the
 * merge had displaced into it is lost.
 */
#include "cfbp/workdir.h"

#include "cfbp/alloc.h"
#include "cfbp/beneath.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WORKDIR_MARK "cfbp-install-"

/* --- the destination lock --- */

static double now_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

int cfbp_destination_lock(struct cfbp_destination_lock *lock, const char *destination,
                          struct cfbp_error *err)
{
    struct cfbp_strbuf parent = CFBP_STRBUF_INIT;
    cfbp_path_dirname(&parent, destination);
    lock->fd = open(parent.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int result = 0;
    if (lock->fd < 0) {
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot open the directory %s",
                                      parent.buf);
    } else {
        double deadline = now_seconds() + CFBP_WORKDIR_LOCK_SECONDS;
        struct timespec pause = {0, 20 * 1000 * 1000};
        while (flock(lock->fd, LOCK_EX | LOCK_NB) < 0) {
            if (errno != EWOULDBLOCK && errno != EINTR) {
                result =
                    cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot lock %s", parent.buf);
                break;
            }
            if (now_seconds() > deadline) {
                result = cfbp_error_set(err, CFBP_ERROR_FAILED,
                                        "another install into %s has been running for more than "
                                        "%d s; try again when it has finished",
                                        destination, CFBP_WORKDIR_LOCK_SECONDS);
                break;
            }
            nanosleep(&pause, NULL);
        }
        if (result < 0) {
            close(lock->fd);
            lock->fd = -1;
        }
    }
    cfbp_strbuf_release(&parent);
    return result;
}

void cfbp_destination_unlock(struct cfbp_destination_lock *lock)
{
    if (lock->fd >= 0)
        close(lock->fd); /* closing the only descriptor releases the flock */
    lock->fd = -1;
}

/* --- work directories --- */

/* What a work directory may hold, as its name says (see work_directory_kind). */
enum work_directory_kind {
    NOT_A_WORK_DIRECTORY,
    WORK_DIRECTORY_JOURNALED, /* "<prefix>XXXXXX": a tree, and the journal of its merge */
    WORK_DIRECTORY_DATA,      /* "<prefix>download-XXXXXX", "<prefix>top-XXXXXX": data only */
};

/*
 * The kind of a name: "<prefix>XXXXXX" (the names mkdtemp gives ours), or
 * with "download-" or "top-" before the six characters. Only the first kind
 * may hold a merge's journal: the others hold a download or an archive's
 * own members, whose names ("journal" among them) are not ours to trust.
 */
static enum work_directory_kind work_directory_kind(const char *name, const char *prefix)
{
    if (!cfbp_string_starts_with(name, prefix))
        return NOT_A_WORK_DIRECTORY;
    const char *rest = name + strlen(prefix);
    enum work_directory_kind kind = WORK_DIRECTORY_JOURNALED;
    static const char *const data_purposes[] = {"download-", CFBP_WORKDIR_TOP};
    for (size_t i = 0; i < sizeof(data_purposes) / sizeof(*data_purposes); i++)
        if (cfbp_string_starts_with(rest, data_purposes[i])) {
            rest += strlen(data_purposes[i]);
            kind = WORK_DIRECTORY_DATA;
            break;
        }
    if (strlen(rest) != 6)
        return NOT_A_WORK_DIRECTORY;
    for (; *rest; rest++)
        if (!isalnum((unsigned char)*rest))
            return NOT_A_WORK_DIRECTORY;
    return kind;
}

/*
 * Removes the entries of the directory fd named like our work directories
 * (prefix and six mkdtemp characters) that are directories of this user
 * which nobody holds (and, when min_age is not 0, that were last changed at
 * least min_age seconds ago). With a destination (destination_fd >= 0), a
 * merge into it that one of them journaled is undone first (only a
 * directory whose name says it may hold a journal is read for one); one
 * that cannot be undone is kept, and the error says why.
 */
static int remove_stale(int fd, const char *display, const char *prefix, time_t min_age,
                        int destination_fd, const char *destination, struct cfbp_error *err)
{
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    int result = 0;
    int copy = dup(fd);
    if (copy >= 0 && cfbp_fs_list_fd(copy, display, &names, &ignored) == 0) {
        for (size_t i = 0; result == 0 && i < names.count; i++) {
            enum work_directory_kind kind = work_directory_kind(names.items[i], prefix);
            if (kind == NOT_A_WORK_DIRECTORY)
                continue;
            /* A directory of ours, old enough, before anything is done to it ... */
            struct stat seen, st;
            if (fstatat(fd, names.items[i], &seen, AT_SYMLINK_NOFOLLOW) < 0 ||
                !S_ISDIR(seen.st_mode) || seen.st_uid != geteuid() ||
                !(min_age == 0 || seen.st_mtime + min_age < time(NULL)))
                continue;
            /* ... also one left with a mode that shuts its owner out (a kill while placing). */
            int held = cfbp_fs_open_own_directory_at(fd, names.items[i]);
            if (held < 0)
                continue;
            /* The directory judged above, not one put in its place meanwhile. */
            bool same =
                fstat(held, &st) == 0 && st.st_ino == seen.st_ino && st.st_dev == seen.st_dev;
            bool unheld = same && flock(held, LOCK_EX | LOCK_NB) == 0;
            if (!unheld && same && (st.st_mode & 07777) != (seen.st_mode & 07777) &&
                fchmod(held, seen.st_mode & 07777) < 0) {
                /* a live one, given 0700 to be opened: its mode back, as far as it goes */
            }
            if (unheld) {
                cfbp_path_join(&path, display, names.items[i]);
                if (destination_fd >= 0 && kind == WORK_DIRECTORY_JOURNALED &&
                    cfbp_beneath_journal_recover(held, path.buf, destination_fd, destination, err) <
                        0) {
                    cfbp_error_append(err,
                                      "; its work directory is kept: fix that and install again");
                    result = -1;
                } else {
                    cfbp_fs_remove_at(fd, names.items[i], path.buf, &ignored);
                    cfbp_error_clear(&ignored);
                }
            }
            close(held);
        }
    }
    cfbp_error_clear(&ignored);
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&path);
    return result;
}

int cfbp_workdir_remove_stale(const struct cfbp_destination_lock *lock, const char *destination,
                              struct cfbp_error *err)
{
    struct cfbp_strbuf parent = CFBP_STRBUF_INIT, base = CFBP_STRBUF_INIT,
                       beside = CFBP_STRBUF_INIT;
    cfbp_path_dirname(&parent, destination);
    cfbp_path_basename(&base, destination);
    cfbp_strbuf_append_format(&beside, ".%s." WORKDIR_MARK, base.buf);
    /* Never through a link at the destination: its target is not ours to clean or recover. */
    int inside = open(destination, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int result = remove_stale(lock->fd, parent.buf, beside.buf, 0, inside, destination, err);
    if (result == 0 && inside >= 0)
        result = remove_stale(inside, destination, "." WORKDIR_MARK, 0, inside, destination, err);
    if (inside >= 0)
        close(inside);
    cfbp_strbuf_release(&parent);
    cfbp_strbuf_release(&base);
    cfbp_strbuf_release(&beside);
    return result;
}

bool cfbp_workdir_is_reserved_name(const char *name)
{
    return name[0] == '.' && strstr(name, "." WORKDIR_MARK) != NULL;
}

/* Makes "<directory>/<prefix>XXXXXX", opens and locks it. */
static int make_locked(struct cfbp_workdir *workdir, const char *directory, const char *prefix,
                       struct cfbp_error *err)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    if (cfbp_fs_make_temp_dir(directory, prefix, &path, err) < 0) {
        cfbp_strbuf_release(&path);
        return -1;
    }
    workdir->fd = open(path.buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (workdir->fd < 0 || flock(workdir->fd, LOCK_EX | LOCK_NB) < 0) {
        int saved = errno;
        if (workdir->fd >= 0)
            close(workdir->fd);
        workdir->fd = -1;
        rmdir(path.buf);
        cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot use %s", path.buf);
        cfbp_strbuf_release(&path);
        return -1;
    }
    workdir->path = cfbp_strbuf_detach(&path, NULL);
    return 0;
}

/* Makes a work directory for destination, inside it or beside it; the caller holds its lock. */
static int create_under_lock(struct cfbp_workdir *workdir, const char *destination,
                             const char *purpose, struct cfbp_error *err)
{
    struct cfbp_strbuf parent = CFBP_STRBUF_INIT, prefix = CFBP_STRBUF_INIT;
    int result;
    if (cfbp_fs_is_directory(destination)) {
        cfbp_strbuf_append_format(&prefix, "." WORKDIR_MARK "%s", purpose);
        result = make_locked(workdir, destination, prefix.buf, err);
        workdir->inside = true;
    } else {
        struct cfbp_strbuf base = CFBP_STRBUF_INIT;
        cfbp_path_dirname(&parent, destination);
        cfbp_path_basename(&base, destination);
        cfbp_strbuf_append_format(&prefix, ".%s." WORKDIR_MARK "%s", base.buf, purpose);
        result = make_locked(workdir, parent.buf, prefix.buf, err);
        cfbp_strbuf_release(&base);
    }
    cfbp_strbuf_release(&parent);
    cfbp_strbuf_release(&prefix);
    return result;
}

/* A link at the destination (an earlier buildpack may plant one) is refused, never followed. */
static int refuse_link(const char *destination, struct cfbp_error *err)
{
    struct stat st;
    if (lstat(destination, &st) == 0 && S_ISLNK(st.st_mode))
        return cfbp_error_set(err, CFBP_ERROR_UNSAFE_PATH,
                              "refusing to install into %s: it is a symbolic link, and an install "
                              "never follows one; remove the link (an earlier buildpack may have "
                              "made it) and stage again",
                              destination);
    return 0;
}

int cfbp_workdir_create(struct cfbp_workdir *workdir, const char *destination, const char *purpose,
                        struct cfbp_error *err)
{
    workdir->path = NULL;
    workdir->fd = -1;
    workdir->inside = false;
    /* Everything an install does happens in or beside the destination itself. */
    if (refuse_link(destination, err) < 0)
        return -1;
    struct cfbp_destination_lock lock = CFBP_DESTINATION_LOCK_INIT;
    if (cfbp_destination_lock(&lock, destination, err) < 0)
        return -1;
    int result = cfbp_workdir_remove_stale(&lock, destination, err);
    if (result == 0)
        result = create_under_lock(workdir, destination, purpose, err);
    cfbp_destination_unlock(&lock);
    return result;
}

int cfbp_workdir_create_another(struct cfbp_workdir *workdir, const char *destination, bool locked,
                                struct cfbp_error *err)
{
    workdir->path = NULL;
    workdir->fd = -1;
    workdir->inside = false;
    if (refuse_link(destination, err) < 0)
        return -1;
    struct cfbp_destination_lock lock = CFBP_DESTINATION_LOCK_INIT;
    if (!locked && cfbp_destination_lock(&lock, destination, err) < 0)
        return -1;
    int result = create_under_lock(workdir, destination, "", err);
    cfbp_destination_unlock(&lock);
    return result;
}

int cfbp_workdir_make_journaled(struct cfbp_workdir *workdir)
{
    /* The mark is the one at the end: a destination's own name may hold it too. */
    static const char mark[] = WORKDIR_MARK CFBP_WORKDIR_TOP;
    size_t length = strlen(workdir->path), tail = strlen(mark) + 6;
    const char *top = length > tail ? workdir->path + length - tail : NULL;
    if (!top || strncmp(top, mark, strlen(mark)) != 0) {
        errno = EINVAL;
        return -1;
    }
    struct cfbp_strbuf renamed = CFBP_STRBUF_INIT;
    size_t keep = (size_t)(top - workdir->path) + strlen(WORKDIR_MARK);
    cfbp_strbuf_append(&renamed, workdir->path, keep);
    cfbp_strbuf_append_string(&renamed, workdir->path + keep + strlen(CFBP_WORKDIR_TOP));
    int result = renameat2(AT_FDCWD, workdir->path, AT_FDCWD, renamed.buf, RENAME_NOREPLACE);
    if (result == 0) {
        free(workdir->path);
        workdir->path = cfbp_strbuf_detach(&renamed, NULL);
    }
    cfbp_strbuf_release(&renamed);
    return result;
}

int cfbp_workdir_create_temp(struct cfbp_workdir *workdir, const char *parent, const char *prefix,
                             struct cfbp_error *err)
{
    workdir->path = NULL;
    workdir->fd = -1;
    workdir->inside = false;
    int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        remove_stale(fd, parent, prefix, CFBP_WORKDIR_STALE_SECONDS, -1, NULL, NULL);
        close(fd);
    }
    return make_locked(workdir, parent, prefix, err);
}

void cfbp_workdir_remove(struct cfbp_workdir *workdir)
{
    if (workdir->path) {
        struct cfbp_error ignored = CFBP_ERROR_INIT;
        cfbp_fs_remove_tree(workdir->path, &ignored);
        cfbp_error_clear(&ignored);
    }
    cfbp_workdir_release(workdir);
}

void cfbp_workdir_release(struct cfbp_workdir *workdir)
{
    if (workdir->fd >= 0)
        close(workdir->fd);
    free(workdir->path);
    workdir->fd = -1;
    workdir->path = NULL;
}

/* --- parents made on the way --- */

int cfbp_workdir_mkdir_p(const char *path, struct cfbp_string_list *made, struct cfbp_error *err)
{
    if (cfbp_fs_is_directory(path))
        return 0; /* the usual case: one stat instead of a mkdir and a stat per level */
    struct cfbp_strbuf partial = CFBP_STRBUF_INIT;
    int result = 0;
    for (const char *cursor = path; *cursor && result == 0;) {
        const char *slash = strchr(cursor + 1, '/');
        size_t length = slash ? (size_t)(slash - path) : strlen(path);
        cursor = path + length;
        cfbp_strbuf_reset(&partial);
        cfbp_strbuf_append(&partial, path, length);
        if (partial.len == 0 || strcmp(partial.buf, "/") == 0)
            continue;
        if (mkdir(partial.buf, 0755) == 0) {
            cfbp_string_list_append(made, partial.buf);
        } else if (errno != EEXIST || !cfbp_fs_is_directory(partial.buf)) {
            result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno == EEXIST ? ENOTDIR : errno,
                                          "cannot create directory %s", partial.buf);
        }
    }
    cfbp_strbuf_release(&partial);
    return result;
}

void cfbp_workdir_undo_mkdir(const struct cfbp_string_list *made)
{
    for (size_t i = made->count; i > 0; i--)
        rmdir(made->items[i - 1]);
}

/* --- times --- */

void cfbp_workdir_save_times(struct cfbp_saved_times *saved, const char *path)
{
    struct cfbp_strbuf current = CFBP_STRBUF_INIT, parent = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&current, path);
    saved->saved = false;
    for (;;) {
        struct stat st;
        if (stat(current.buf, &st) == 0 && S_ISDIR(st.st_mode)) {
            saved->times[0] = st.st_atim;
            saved->times[1] = st.st_mtim;
            saved->saved = true;
            break;
        }
        cfbp_path_dirname(&parent, current.buf);
        if (strcmp(parent.buf, current.buf) == 0)
            break;
        cfbp_strbuf_set(&current, parent.buf);
    }
    saved->path = cfbp_strbuf_detach(&current, NULL);
    cfbp_strbuf_release(&parent);
}

void cfbp_workdir_restore_times(struct cfbp_saved_times *saved, bool restore)
{
    if (restore && saved->saved)
        utimensat(AT_FDCWD, saved->path, saved->times, 0);
    free(saved->path);
    saved->path = NULL;
}
