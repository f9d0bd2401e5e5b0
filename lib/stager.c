/*
 * stager.c - staging directories and the files in them (see stager.h).
 *
 * The multi-buildpack contract lives in DEPS_DIR: each buildpack's bin/,
 * lib/, include/, pkgconfig/, env/ and profile.d/ are found by listing the
 * deps directory, never by assuming which indices exist.
 *
 * Every file the stager writes goes through put_entry: the directories on the
 * way are opened without following links (beneath.h) and made one at a time
 * when missing, the new entry is made under a temporary name beside its
 * place and moved in, and what it replaces is kept. Each of these steps is
 * noted in a struct cfbp_stager_changes so that it can be taken back.
 */
#include "cfbp/stager.h"

#include "cfbp/alloc.h"
#include "cfbp/beneath.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/log.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"
#include "cfbp/yaml.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUILDPACK_METADATA "BUILDPACK_METADATA"
#define TEMP_ATTEMPTS      100

/*
 * Makes path absolute into *out. It must be a directory (links on the way and
 * at its end are the platform's, and followed), or missing when may_be_missing.
 */
static int absolute_directory(const char *path, const char *what, bool may_be_missing, char **out,
                              struct cfbp_error *err)
{
    struct cfbp_strbuf absolute = CFBP_STRBUF_INIT;
    if (!*path)
        return cfbp_error_set(err, CFBP_ERROR_USAGE, "%s is empty", what);
    int result = cfbp_path_absolute(&absolute, path, err);
    if (result == 0 && !cfbp_fs_is_directory(absolute.buf) &&
        !(may_be_missing && !cfbp_fs_exists(absolute.buf)))
        result =
            cfbp_error_set(err, CFBP_ERROR_USAGE, "%s %s is not a directory", what, absolute.buf);
    if (result == 0)
        *out = cfbp_strbuf_detach(&absolute, NULL);
    cfbp_strbuf_release(&absolute);
    return result;
}

/*
 * DEPS_DIR/<idx> is made by Cloud Foundry as a directory (contract §4.2), but
 * DEPS_DIR is shared with every buildpack: one that ran earlier, as the same
 * user, can replace ours with a link. Installing or writing through it would
 * land anywhere, so a link there is refused. Missing is fine (supply makes it).
 */
static int check_dep_dir(const char *dep_dir, struct cfbp_error *err)
{
    struct stat st;
    if (lstat(dep_dir, &st) < 0)
        return errno == ENOENT ? 0
                               : cfbp_error_set_errno(err, CFBP_ERROR_IO, errno,
                                                      "cannot read the deps directory %s", dep_dir);
    if (S_ISLNK(st.st_mode))
        return cfbp_error_set(err, CFBP_ERROR_UNSAFE_PATH,
                              "refusing the deps directory %s: it is a symbolic link, not the "
                              "directory Cloud Foundry makes there, and nothing is written through "
                              "links; a buildpack that ran before this one replaced it, so remove "
                              "that buildpack (or the link) and stage again",
                              dep_dir);
    if (!S_ISDIR(st.st_mode))
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "the deps directory %s is not a directory; a buildpack that ran "
                              "before this one replaced it, so remove that buildpack and stage "
                              "again",
                              dep_dir);
    return 0;
}

/* supply's directories: CACHE_DIR (with parents) and DEPS_DIR/<idx>, made when missing. */
static int make_supply_directories(const struct cfbp_stager *stager, struct cfbp_error *err)
{
    if (cfbp_fs_mkdir_p(stager->cache_dir, 0755, err) < 0)
        return -1;
    if (mkdir(stager->dep_dir, 0755) < 0 && errno != EEXIST)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot create %s", stager->dep_dir);
    return check_dep_dir(stager->dep_dir, err);
}

/*
 * True when name is one of temp_name's, ".<name>.cfbp-<pid>-<n>", made by a
 * process that is gone: a run killed between writing a file and moving it
 * in (or while it kept a replaced file) left it.
 */
static bool stale_temp_name(const char *name)
{
    long pid = cfbp_fs_write_temp_pid(name);
    return pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/*
 * Removes the stale temporary files (stale_temp_name) in directory, one
 * level, never following a link to it. Best effort: what cannot be read or
 * removed stays, as harmless as before (the names never end in .sh).
 */
static void remove_stale_temps(const char *directory)
{
    int fd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *listing = fd >= 0 ? fdopendir(fd) : NULL;
    if (!listing) {
        if (fd >= 0)
            close(fd);
        return;
    }
    for (struct dirent *entry; (entry = readdir(listing)) != NULL;) {
        struct stat st;
        if (stale_temp_name(entry->d_name) &&
            fstatat(dirfd(listing), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            !S_ISDIR(st.st_mode))
            unlinkat(dirfd(listing), entry->d_name, 0);
    }
    closedir(listing);
}

/* Where the stager's own writes go, cleared of what killed runs left there. */
static void remove_stale_temps_everywhere(const struct cfbp_stager *stager)
{
    static const char *const in_dep_dir[] = {"", "profile.d", "env", "bin"};
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    for (size_t i = 0; i < sizeof(in_dep_dir) / sizeof(*in_dep_dir); i++) {
        cfbp_path_join(&path, stager->dep_dir, in_dep_dir[i]);
        remove_stale_temps(path.buf);
    }
    remove_stale_temps(stager->cache_dir);
    /* The builder's PROFILE_DIR holds only what buildpacks wrote; the app's own .profile.d may
     * hold files of any name, and is left alone (a leftover there is never sourced anyway). */
    if (stager->profile_relative && !*stager->profile_relative)
        remove_stale_temps(stager->profile_dir);
    cfbp_strbuf_release(&path);
}

int cfbp_stager_init(struct cfbp_stager *stager, enum cfbp_stager_phase phase, int argc,
                     char *const *argv, struct cfbp_error *err)
{
    memset(stager, 0, sizeof(*stager));
    bool finalize = phase == CFBP_PHASE_FINALIZE;
    if (argc != 4 && !(finalize && argc == 5))
        return cfbp_error_set(err, CFBP_ERROR_USAGE,
                              "expected the arguments BUILD_DIR CACHE_DIR DEPS_DIR DEPS_IDX%s, "
                              "got %d argument%s",
                              finalize ? " [PROFILE_DIR]" : "", argc, argc == 1 ? "" : "s");
    const char *idx = argv[3];
    if (!*idx || strchr(idx, '/') || strcmp(idx, ".") == 0 || strcmp(idx, "..") == 0)
        return cfbp_error_set(err, CFBP_ERROR_USAGE,
                              "DEPS_IDX '%s' must be one directory name, such as 0 or 03", idx);
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    int result = 0;
    /* Everything is checked before anything is made. */
    if (absolute_directory(argv[0], "BUILD_DIR", false, &stager->build_dir, err) < 0 ||
        absolute_directory(argv[1], "CACHE_DIR", true, &stager->cache_dir, err) < 0 ||
        absolute_directory(argv[2], "DEPS_DIR", false, &stager->deps_dir, err) < 0)
        result = -1;
    if (result == 0) {
        stager->deps_idx = cfbp_xstrdup(idx);
        cfbp_path_join(&path, stager->deps_dir, idx);
        stager->dep_dir = cfbp_xstrdup(path.buf);
        result = check_dep_dir(stager->dep_dir, err);
    }
    if (result == 0) {
        if (argc == 5 && *argv[4]) {
            result = cfbp_path_absolute(&path, argv[4], err);
            if (result == 0) {
                stager->profile_root = cfbp_xstrdup(path.buf);
                stager->profile_relative = cfbp_xstrdup("");
            }
        } else {
            cfbp_path_join(&path, stager->build_dir, ".profile.d");
            stager->profile_root = cfbp_xstrdup(stager->build_dir);
            stager->profile_relative = cfbp_xstrdup(".profile.d");
        }
        if (result == 0)
            stager->profile_dir = cfbp_strbuf_detach(&path, NULL);
    }
    /* finalize makes nothing until it writes, so that a failure can take all of it back. */
    if (result == 0 && !finalize)
        result = make_supply_directories(stager, err);
    if (result == 0)
        remove_stale_temps_everywhere(stager);
    cfbp_strbuf_release(&path);
    if (result < 0)
        cfbp_stager_release(stager);
    return result;
}

static void finish_changes(struct cfbp_stager_changes *changes, bool undo);

void cfbp_stager_release(struct cfbp_stager *stager)
{
    if (stager->changes) {
        finish_changes(stager->changes, false);
        free(stager->changes);
    }
    cfbp_string_list_clear(&stager->dep_dir_entries);
    if (stager->dep_dir_remembered)
        cfbp_workdir_restore_times(&stager->dep_dir_times, false);
    free(stager->build_dir);
    free(stager->cache_dir);
    free(stager->deps_dir);
    free(stager->deps_idx);
    free(stager->dep_dir);
    free(stager->profile_dir);
    free(stager->profile_root);
    free(stager->profile_relative);
    memset(stager, 0, sizeof(*stager));
}

int cfbp_stager_remember_dep_dir(struct cfbp_stager *stager, struct cfbp_error *err)
{
    cfbp_string_list_clear(&stager->dep_dir_entries);
    if (cfbp_fs_list_directory(stager->dep_dir, &stager->dep_dir_entries, err) < 0)
        return -1;
    if (stager->dep_dir_remembered)
        cfbp_workdir_restore_times(&stager->dep_dir_times, false);
    cfbp_workdir_save_times(&stager->dep_dir_times, stager->dep_dir);
    stager->dep_dir_remembered = true;
    return 0;
}

void cfbp_stager_rollback_dep_dir(struct cfbp_stager *stager)
{
    if (!stager->dep_dir_remembered)
        return;
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    if (cfbp_fs_list_directory(stager->dep_dir, &names, &ignored) == 0) {
        for (size_t i = 0; i < names.count; i++) {
            if (cfbp_string_list_contains(&stager->dep_dir_entries, names.items[i]))
                continue;
            cfbp_path_join(&path, stager->dep_dir, names.items[i]);
            cfbp_fs_remove_tree(path.buf, &ignored);
            cfbp_error_clear(&ignored);
        }
    }
    cfbp_workdir_restore_times(&stager->dep_dir_times, true);
    stager->dep_dir_remembered = false;
    cfbp_error_clear(&ignored);
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&path);
}

int cfbp_stager_check_not_after_v3(const char *sentinel_path, struct cfbp_error *err)
{
    if (!cfbp_fs_exists(sentinel_path))
        return 0;
    return cfbp_error_set(err, CFBP_ERROR_FAILED,
                          "You are running a V2 buildpack after a V3 buildpack. This is "
                          "unsupported. (found %s)",
                          sentinel_path);
}

/* --- changes, and taking them back --- */

/* A directory something was changed in, held open, with its times from before the first change. */
struct noted_directory {
    int fd;
    dev_t device;
    ino_t inode;
    struct timespec times[2];
};

enum change_kind {
    CHANGE_MADE_DIRECTORY, /* name is a directory made in the directory */
    CHANGE_ADDED,          /* name is new in the directory */
    CHANGE_REPLACED        /* name was replaced; what stood there is now named kept */
};

struct change {
    enum change_kind kind;
    size_t directory; /* its index in directories */
    char *name;
    char *kept;
};

struct cfbp_stager_changes {
    struct noted_directory *directories;
    size_t directory_count, directory_alloc;
    struct change *changes;
    size_t change_count, change_alloc;
};

/* Notes the directory fd (once) before anything in it changes, and gives its index. */
static int note_directory(struct cfbp_stager_changes *changes, int fd, const char *display,
                          size_t *index, struct cfbp_error *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot read %s", display);
    for (size_t i = 0; i < changes->directory_count; i++) {
        if (changes->directories[i].device == st.st_dev &&
            changes->directories[i].inode == st.st_ino) {
            *index = i;
            return 0;
        }
    }
    int held = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (held < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot hold %s open", display);
    CFBP_GROW(changes->directories, changes->directory_alloc, changes->directory_count + 1);
    struct noted_directory *noted = &changes->directories[changes->directory_count];
    noted->fd = held;
    noted->device = st.st_dev;
    noted->inode = st.st_ino;
    noted->times[0] = st.st_atim;
    noted->times[1] = st.st_mtim;
    *index = changes->directory_count++;
    return 0;
}

static void note_change(struct cfbp_stager_changes *changes, enum change_kind kind,
                        size_t directory, const char *name, const char *kept)
{
    CFBP_GROW(changes->changes, changes->change_alloc, changes->change_count + 1);
    struct change *change = &changes->changes[changes->change_count++];
    change->kind = kind;
    change->directory = directory;
    change->name = cfbp_xstrdup(name);
    change->kept = kept ? cfbp_xstrdup(kept) : NULL;
}

/*
 * Keeps the changes (removing the replaced entries kept for a rollback), or
 * with undo takes them back newest first and gives the directories their
 * times back; then forgets them. Best effort: it runs after a failure.
 */
static void finish_changes(struct cfbp_stager_changes *changes, bool undo)
{
    for (size_t i = changes->change_count; i > 0; i--) {
        struct change *change = &changes->changes[i - 1];
        int fd = changes->directories[change->directory].fd;
        if (!undo) {
            if (change->kind == CHANGE_REPLACED)
                unlinkat(fd, change->kept, 0);
        } else if (change->kind == CHANGE_MADE_DIRECTORY) {
            unlinkat(fd, change->name, AT_REMOVEDIR);
        } else if (change->kind == CHANGE_ADDED) {
            unlinkat(fd, change->name, 0);
        } else {
            renameat(fd, change->kept, fd, change->name);
        }
        free(change->name);
        free(change->kept);
    }
    for (size_t i = changes->directory_count; i > 0; i--) {
        if (undo)
            futimens(changes->directories[i - 1].fd, changes->directories[i - 1].times);
        close(changes->directories[i - 1].fd);
    }
    free(changes->changes);
    free(changes->directories);
    memset(changes, 0, sizeof(*changes));
}

void cfbp_stager_begin_changes(struct cfbp_stager *stager)
{
    if (!stager->changes)
        stager->changes = cfbp_xcalloc(1, sizeof(*stager->changes));
}

void cfbp_stager_rollback_changes(struct cfbp_stager *stager)
{
    if (!stager->changes)
        return;
    finish_changes(stager->changes, true);
    free(stager->changes);
    stager->changes = NULL;
}

/* --- writing --- */

static bool no_exchange_forced;

void cfbp_stager_force_no_exchange(bool no_exchange)
{
    no_exchange_forced = no_exchange;
}

/* What put_entry puts: a file, or a symlink when link_target is set. */
struct entry {
    const char *data;
    size_t length;
    mode_t mode; /* exactly, umask not applied */
    const char *link_target;
};

/* A hidden name beside name, ".<name>.cfbp-<pid>-<n>": never ending in .sh, never sourced. */
static void temp_name(struct cfbp_strbuf *out, const char *name)
{
    static unsigned long counter;
    size_t keep = strlen(name) > 200 ? 200 : strlen(name); /* within NAME_MAX */
    cfbp_strbuf_reset(out);
    cfbp_strbuf_append_char(out, '.');
    cfbp_strbuf_append(out, name, keep);
    cfbp_strbuf_append_format(out, ".cfbp-%ld-%lu", (long)getpid(), ++counter);
}

/* Makes entry under a free temporary name (into temp) in directory. Returns 0 or an errno. */
static int make_temp_entry(int directory, const char *name, const struct entry *entry,
                           struct cfbp_strbuf *temp)
{
    int saved = EEXIST;
    for (int attempt = 0; saved == EEXIST && attempt < TEMP_ATTEMPTS; attempt++) {
        temp_name(temp, name);
        if (entry->link_target) {
            saved = symlinkat(entry->link_target, directory, temp->buf) == 0 ? 0 : errno;
            continue;
        }
        int fd = openat(directory, temp->buf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0600);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        saved = cfbp_fs_write_all(fd, entry->data, entry->length);
        if (!saved && fchmod(fd, entry->mode) < 0)
            saved = errno;
        if (close(fd) < 0 && !saved)
            saved = errno;
        if (saved) {
            unlinkat(directory, temp->buf, 0);
            break;
        }
    }
    return saved;
}

/*
 * Moves temp to name (rename(2) never follows a link standing there) and
 * notes it. What stands at name is kept: exchanged with temp, or, where the
 * file system cannot exchange, hard-linked to a new hidden name first.
 * Returns 0 or an errno; then temp is still the new entry.
 */
static int move_into_place(struct cfbp_stager_changes *changes, size_t index, int directory,
                           const char *name, const char *temp, bool replacing)
{
    if (!replacing) {
        int moved = renameat2(directory, temp, directory, name, RENAME_NOREPLACE);
        if (moved < 0 && (errno == EINVAL || errno == ENOSYS))
            moved = renameat(directory, temp, directory, name);
        if (moved == 0) {
            note_change(changes, CHANGE_ADDED, index, name, NULL);
            return 0;
        }
        /* EEXIST: another supply into the same directory put it there since we looked
         * (two at once): replaced like any entry that stood there. */
        if (errno != EEXIST)
            return errno;
    }
    if (!no_exchange_forced) {
        if (renameat2(directory, temp, directory, name, RENAME_EXCHANGE) == 0) {
            note_change(changes, CHANGE_REPLACED, index, name, temp);
            return 0;
        }
        if (errno != EINVAL && errno != ENOSYS)
            return errno;
    }
    struct cfbp_strbuf kept = CFBP_STRBUF_INIT;
    int saved = EEXIST;
    for (int attempt = 0; saved == EEXIST && attempt < TEMP_ATTEMPTS; attempt++) {
        temp_name(&kept, name);
        saved = linkat(directory, name, directory, kept.buf, 0) == 0 ? 0 : errno;
    }
    if (!saved && renameat(directory, temp, directory, name) < 0) {
        saved = errno;
        unlinkat(directory, kept.buf, 0);
    }
    if (!saved)
        note_change(changes, CHANGE_REPLACED, index, name, kept.buf);
    cfbp_strbuf_release(&kept);
    return saved;
}

/* Makes the directory component in parent (0755 before umask), noting it; returns it opened. */
static int make_directory(struct cfbp_stager_changes *changes, int parent, const char *display,
                          const char *component, struct cfbp_error *err)
{
    size_t index;
    cfbp_error_clear(err);
    if (note_directory(changes, parent, display, &index, err) < 0)
        return -1;
    if (mkdirat(parent, component, 0755) == 0) {
        note_change(changes, CHANGE_MADE_DIRECTORY, index, component, NULL);
    } else if (errno != EEXIST) {
        struct cfbp_strbuf path = CFBP_STRBUF_INIT;
        cfbp_path_join(&path, display, component);
        cfbp_fs_write_error(err, errno, path.buf);
        cfbp_strbuf_release(&path);
        return -1;
    }
    return cfbp_beneath_open_directory_at(parent, display, component, false, 0, err);
}

/*
 * Opens the directory relative beneath the directory fd (shown as display)
 * without following links, making the missing ones. Returns it, or -1.
 */
static int open_directory(struct cfbp_stager_changes *changes, int fd, const char *display,
                          const char *relative, struct cfbp_error *err)
{
    int current = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (current < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot open %s", display);
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT, component = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&shown, display);
    for (const char *cursor = relative; current >= 0 && *cursor;) {
        size_t length = strcspn(cursor, "/");
        if (length > 0) {
            cfbp_strbuf_reset(&component);
            cfbp_strbuf_append(&component, cursor, length);
            int next =
                cfbp_beneath_open_directory_at(current, shown.buf, component.buf, false, 0, err);
            if (next < 0 && err->kind == CFBP_ERROR_NOT_FOUND)
                next = make_directory(changes, current, shown.buf, component.buf, err);
            close(current);
            current = next;
            cfbp_path_append(&shown, component.buf);
        }
        cursor += length;
        while (*cursor == '/')
            cursor++;
    }
    cfbp_strbuf_release(&shown);
    cfbp_strbuf_release(&component);
    return current;
}

/*
 * Opens the nearest existing directory at or above path as anchor (path is
 * one the platform gave: links on the way are followed) and sets below to the
 * rest of path, the directories still to make.
 */
static int open_anchor(const char *path, struct cfbp_beneath *anchor, struct cfbp_strbuf *below,
                       struct cfbp_error *err)
{
    struct cfbp_strbuf current = CFBP_STRBUF_INIT, parent = CFBP_STRBUF_INIT,
                       name = CFBP_STRBUF_INIT, rest = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&current, path);
    cfbp_strbuf_reset(below);
    while (!cfbp_fs_is_directory(current.buf)) {
        cfbp_path_dirname(&parent, current.buf);
        if (strcmp(parent.buf, current.buf) == 0)
            break;
        cfbp_path_basename(&name, current.buf);
        cfbp_strbuf_set(&rest, below->buf);
        cfbp_strbuf_set(below, name.buf);
        if (rest.len)
            cfbp_path_append(below, rest.buf);
        cfbp_strbuf_set(&current, parent.buf);
    }
    int result = cfbp_beneath_open(anchor, current.buf, err);
    cfbp_strbuf_release(&current);
    cfbp_strbuf_release(&parent);
    cfbp_strbuf_release(&name);
    cfbp_strbuf_release(&rest);
    return result;
}

/*
 * Puts entry at <root>/<directory>/<name>: root (made when missing) is
 * trusted, nothing below it is followed. Notes every change in the stager's
 * record when there is one; otherwise the write is all or nothing on its own.
 */
static int put_entry(const struct cfbp_stager *stager, const char *root, const char *directory,
                     const char *name, const struct entry *entry, struct cfbp_error *err)
{
    struct cfbp_stager_changes own = {0};
    struct cfbp_stager_changes *changes = stager->changes ? stager->changes : &own;
    struct cfbp_beneath anchor = CFBP_BENEATH_INIT;
    struct cfbp_strbuf relative = CFBP_STRBUF_INIT, display = CFBP_STRBUF_INIT,
                       temp = CFBP_STRBUF_INIT;
    int result = open_anchor(root, &anchor, &relative, err);
    if (*directory)
        cfbp_path_append(&relative, directory);
    int fd = result < 0 ? -1 : open_directory(changes, anchor.fd, anchor.path, relative.buf, err);
    cfbp_strbuf_set(&display, anchor.path ? anchor.path : root);
    if (relative.len)
        cfbp_path_append(&display, relative.buf);
    cfbp_path_append(&display, name);
    size_t index;
    enum cfbp_fs_type standing = fd < 0 ? CFBP_FS_MISSING : cfbp_fs_type_at(fd, name);
    if (fd < 0 || note_directory(changes, fd, display.buf, &index, err) < 0) {
        result = -1;
    } else if (standing == CFBP_FS_DIRECTORY) {
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, EISDIR,
                                      "cannot write %s: a directory is in the way", display.buf);
    } else {
        bool replacing = standing != CFBP_FS_MISSING;
        int saved = make_temp_entry(fd, name, entry, &temp);
        if (!saved) {
            saved = move_into_place(changes, index, fd, name, temp.buf, replacing);
            if (saved)
                unlinkat(fd, temp.buf, 0);
        }
        if (saved)
            result = cfbp_fs_write_error(err, saved, display.buf);
    }
    if (fd >= 0)
        close(fd);
    if (changes == &own)
        finish_changes(&own, result < 0);
    cfbp_beneath_close(&anchor);
    cfbp_strbuf_release(&relative);
    cfbp_strbuf_release(&display);
    cfbp_strbuf_release(&temp);
    return result;
}

static int put_file(const struct cfbp_stager *stager, const char *root, const char *directory,
                    const char *name, const void *data, size_t length, mode_t mode,
                    struct cfbp_error *err)
{
    struct entry entry = {data, length, mode, NULL};
    return put_entry(stager, root, directory, name, &entry, err);
}

/* --- files in the deps directory --- */

/*
 * Writes <dep_dir>/<subdirectory>/<name>. DEPS_DIR is the root, so that
 * not even <idx> is followed when it is a link (init refuses one too).
 */
static int put_dep_file(const struct cfbp_stager *stager, const char *subdirectory,
                        const char *name, const char *data, size_t length, mode_t mode,
                        struct cfbp_error *err)
{
    struct cfbp_strbuf directory = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&directory, stager->deps_idx);
    if (*subdirectory)
        cfbp_path_append(&directory, subdirectory);
    int result = put_file(stager, stager->deps_dir, directory.buf, name, data, length, mode, err);
    cfbp_strbuf_release(&directory);
    return result;
}

int cfbp_stager_write_config_yml(const struct cfbp_stager *stager, const char *name,
                                 const char *version, const struct cfbp_yaml_node *config,
                                 struct cfbp_error *err)
{
    struct cfbp_yaml_node *root = cfbp_yaml_new_mapping();
    cfbp_yaml_set(root, "config", config ? cfbp_yaml_copy(config) : cfbp_yaml_new_mapping());
    cfbp_yaml_set(root, "name", cfbp_yaml_new_string(name));
    cfbp_yaml_set(root, "version", cfbp_yaml_new_string(version));
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    int result = cfbp_yaml_emit(&text, root, CFBP_YAML_EMIT_SORT_KEYS, err);
    if (result == 0)
        result = put_dep_file(stager, "", "config.yml", text.buf, text.len, 0644, err);
    cfbp_yaml_free(root);
    cfbp_strbuf_release(&text);
    return result;
}

static bool is_file_name(const char *name)
{
    return *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static int write_in_subdirectory(const struct cfbp_stager *stager, const char *subdirectory,
                                 const char *name, const char *body, mode_t mode,
                                 struct cfbp_error *err)
{
    if (!is_file_name(name))
        return cfbp_error_set(err, CFBP_ERROR_USAGE, "'%s' is not a file name", name);
    return put_dep_file(stager, subdirectory, name, body, strlen(body), mode, err);
}

int cfbp_stager_write_env_file(const struct cfbp_stager *stager, const char *name,
                               const char *value, struct cfbp_error *err)
{
    return write_in_subdirectory(stager, "env", name, value, 0644, err);
}

int cfbp_stager_write_profile_d(const struct cfbp_stager *stager, const char *script_name,
                                const char *body, struct cfbp_error *err)
{
    return write_in_subdirectory(stager, "profile.d", script_name, body, 0755, err);
}

/* Length of the component of path starting at path[0] (path is past any '/'). */
static size_t component_length(const char *path)
{
    return strcspn(path, "/");
}

/* Sets out to the relative path from directory from to to (both absolute and clean). */
static void relative_path(struct cfbp_strbuf *out, const char *from, const char *to)
{
    /* Skip the components the two paths share. */
    while (*from == '/' && *to == '/') {
        size_t length = component_length(from + 1);
        if (length != component_length(to + 1) || memcmp(from + 1, to + 1, length) != 0 ||
            length == 0)
            break;
        from += 1 + length;
        to += 1 + length;
    }
    cfbp_strbuf_reset(out);
    for (const char *c = from; *c; c++)
        if (*c == '/')
            cfbp_strbuf_append_string(out, "../");
    cfbp_strbuf_append_string(out, *to == '/' ? to + 1 : to);
    if (out->len == 0)
        cfbp_strbuf_append_char(out, '.');
}

int cfbp_stager_add_bin_link(const struct cfbp_stager *stager, const char *target, const char *name,
                             struct cfbp_error *err)
{
    if (!is_file_name(name))
        return cfbp_error_set(err, CFBP_ERROR_USAGE, "'%s' is not a file name", name);
    struct cfbp_strbuf bin = CFBP_STRBUF_INIT, directory = CFBP_STRBUF_INIT,
                       absolute_target = CFBP_STRBUF_INIT, relative = CFBP_STRBUF_INIT;
    cfbp_path_join(&bin, stager->dep_dir, "bin");
    cfbp_path_join(&directory, stager->deps_idx, "bin");
    int result = cfbp_path_absolute(&absolute_target, target, err);
    if (result == 0) {
        relative_path(&relative, bin.buf, absolute_target.buf);
        struct entry link = {NULL, 0, 0, relative.buf};
        result = put_entry(stager, stager->deps_dir, directory.buf, name, &link, err);
    }
    cfbp_strbuf_release(&bin);
    cfbp_strbuf_release(&directory);
    cfbp_strbuf_release(&absolute_target);
    cfbp_strbuf_release(&relative);
    return result;
}

/* --- environments --- */

/*
 * The deps directory's entries that are directories, not links to one (as
 * libbuildpack's ReadDir and IsDir), highest index (lexically) first.
 */
static int list_deps_descending(const struct cfbp_stager *stager, struct cfbp_string_list *out,
                                struct cfbp_error *err)
{
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    int result = cfbp_fs_list_directory(stager->deps_dir, &names, err);
    for (size_t i = names.count; result == 0 && i > 0; i--) {
        cfbp_path_join(&path, stager->deps_dir, names.items[i - 1]);
        if (cfbp_fs_type_of(path.buf) == CFBP_FS_DIRECTORY)
            cfbp_string_list_append(out, names.items[i - 1]);
    }
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&path);
    return result;
}

struct search_path {
    const char *variable;
    const char *subdirectory;
};

static const struct search_path staging_paths[] = {
    {"PATH", "bin"},      {"LD_LIBRARY_PATH", "lib"},       {"LIBRARY_PATH", "lib"},
    {"CPATH", "include"}, {"PKG_CONFIG_PATH", "pkgconfig"},
};

/* Line order of 000_multi-supply.sh; Go leaves it to map order, we fix it. */
static const struct search_path launch_paths[] = {
    {"PATH", "bin"},
    {"LD_LIBRARY_PATH", "lib"},
    {"LIBRARY_PATH", "lib"},
};

/* The names of the regular files in deps/<idx>/<subdirectory>; links on the way mean none. */
static int list_deps_files(const struct cfbp_beneath *deps, const char *idx,
                           const char *subdirectory, struct cfbp_string_list *names,
                           struct cfbp_error *err)
{
    struct cfbp_strbuf directory = CFBP_STRBUF_INIT, file = CFBP_STRBUF_INIT;
    struct cfbp_string_list all = CFBP_STRING_LIST_INIT;
    cfbp_path_join(&directory, idx, subdirectory);
    int result = 0;
    if (cfbp_beneath_type_of(deps, directory.buf) == CFBP_FS_DIRECTORY)
        result = cfbp_beneath_list_directory(deps, directory.buf, &all, err);
    for (size_t i = 0; result == 0 && i < all.count; i++) {
        cfbp_path_join(&file, directory.buf, all.items[i]);
        if (cfbp_beneath_type_of(deps, file.buf) == CFBP_FS_FILE)
            cfbp_string_list_append(names, all.items[i]);
    }
    cfbp_string_list_clear(&all);
    cfbp_strbuf_release(&directory);
    cfbp_strbuf_release(&file);
    return result;
}

static int set_env_files(const struct cfbp_stager *stager, const struct cfbp_string_list *deps,
                         struct cfbp_error *err)
{
    struct cfbp_strbuf file = CFBP_STRBUF_INIT, value = CFBP_STRBUF_INIT;
    struct cfbp_beneath root = CFBP_BENEATH_INIT;
    int result = cfbp_beneath_open(&root, stager->deps_dir, err);
    /* Highest index first, so the lowest index is applied last and wins. */
    for (size_t i = 0; result == 0 && i < deps->count; i++) {
        struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
        result = list_deps_files(&root, deps->items[i], "env", &names, err);
        for (size_t j = 0; result == 0 && j < names.count; j++) {
            cfbp_path_join(&file, deps->items[i], "env");
            cfbp_path_append(&file, names.items[j]);
            result = cfbp_beneath_read_file(&root, file.buf, 1 << 20, &value, err);
            if (result == 0 && setenv(names.items[j], value.buf, 1) < 0)
                result =
                    cfbp_error_set_errno(err, CFBP_ERROR_INVALID, errno, "cannot set %s from %s/%s",
                                         names.items[j], stager->deps_dir, file.buf);
        }
        cfbp_string_list_clear(&names);
    }
    cfbp_beneath_close(&root);
    cfbp_strbuf_release(&file);
    cfbp_strbuf_release(&value);
    return result;
}

int cfbp_stager_set_staging_environment(const struct cfbp_stager *stager, struct cfbp_error *err)
{
    struct cfbp_string_list deps = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf value = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT;
    int result = list_deps_descending(stager, &deps, err);
    for (size_t v = 0; result == 0 && v < sizeof(staging_paths) / sizeof(*staging_paths); v++) {
        cfbp_strbuf_reset(&value);
        for (size_t i = 0; i < deps.count; i++) {
            cfbp_path_join(&path, stager->deps_dir, deps.items[i]);
            cfbp_path_append(&path, staging_paths[v].subdirectory);
            if (!cfbp_fs_is_directory(path.buf))
                continue;
            if (value.len)
                cfbp_strbuf_append_char(&value, ':');
            cfbp_strbuf_append_string(&value, path.buf);
        }
        if (value.len == 0)
            continue;
        const char *old = getenv(staging_paths[v].variable);
        if (old && *old)
            cfbp_strbuf_append_format(&value, ":%s", old);
        setenv(staging_paths[v].variable, value.buf, 1);
    }
    if (result == 0)
        result = set_env_files(stager, &deps, err);
    cfbp_string_list_clear(&deps);
    cfbp_strbuf_release(&value);
    cfbp_strbuf_release(&path);
    return result;
}

static void multi_supply_script(const struct cfbp_stager *stager,
                                const struct cfbp_string_list *deps, struct cfbp_strbuf *script)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, dirs = CFBP_STRBUF_INIT;
    for (size_t v = 0; v < sizeof(launch_paths) / sizeof(*launch_paths); v++) {
        cfbp_strbuf_reset(&dirs);
        for (size_t i = 0; i < deps->count; i++) {
            cfbp_path_join(&path, stager->deps_dir, deps->items[i]);
            cfbp_path_append(&path, launch_paths[v].subdirectory);
            if (!cfbp_fs_is_directory(path.buf))
                continue;
            cfbp_strbuf_append_format(&dirs, "%s$DEPS_DIR/%s/%s", dirs.len ? ":" : "",
                                      deps->items[i], launch_paths[v].subdirectory);
        }
        if (dirs.len == 0)
            continue;
        const char *variable = launch_paths[v].variable;
        cfbp_strbuf_append_format(script,
                                  "export %s=%s$([[ ! -z \"${%s:-}\" ]] && echo \":$%s\")\n",
                                  variable, dirs.buf, variable, variable);
    }
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&dirs);
}

/* Copies the regular files of deps/<idx>/profile.d to <profile_dir>/<idx>_<name>. */
static int copy_profile_scripts(const struct cfbp_stager *stager, const struct cfbp_beneath *deps,
                                const char *idx, struct cfbp_error *err)
{
    struct cfbp_strbuf source = CFBP_STRBUF_INIT, target = CFBP_STRBUF_INIT,
                       body = CFBP_STRBUF_INIT;
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    /* Links are skipped, as libbuildpack does. */
    int result = list_deps_files(deps, idx, "profile.d", &names, err);
    for (size_t i = 0; result == 0 && i < names.count; i++) {
        cfbp_path_join(&source, idx, "profile.d");
        cfbp_path_append(&source, names.items[i]);
        int fd = cfbp_beneath_open_file(deps, source.buf, err);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
            if (fd >= 0)
                close(fd);
            result = -1;
            break;
        }
        cfbp_path_join(&target, stager->deps_dir, source.buf);
        result = cfbp_fs_read_fd(fd, target.buf, 1 << 20, &body, err);
        close(fd);
        cfbp_strbuf_reset(&target);
        cfbp_strbuf_append_format(&target, "%s_%s", idx, names.items[i]);
        if (result == 0)
            result = put_file(stager, stager->profile_root, stager->profile_relative, target.buf,
                              body.buf, body.len, st.st_mode & 07777, err);
    }
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&source);
    cfbp_strbuf_release(&target);
    cfbp_strbuf_release(&body);
    return result;
}

int cfbp_stager_set_launch_environment(const struct cfbp_stager *stager, struct cfbp_error *err)
{
    struct cfbp_string_list deps = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf script = CFBP_STRBUF_INIT;
    struct cfbp_beneath deps_root = CFBP_BENEATH_INIT;
    int result = list_deps_descending(stager, &deps, err);
    if (result == 0)
        result = cfbp_beneath_open(&deps_root, stager->deps_dir, err);
    if (result == 0) {
        multi_supply_script(stager, &deps, &script);
        result = put_file(stager, stager->profile_root, stager->profile_relative,
                          "000_multi-supply.sh", script.buf, script.len, 0755, err);
    }
    for (size_t i = deps.count; result == 0 && i > 0; i--)
        result = copy_profile_scripts(stager, &deps_root, deps.items[i - 1], err);
    cfbp_beneath_close(&deps_root);
    cfbp_string_list_clear(&deps);
    cfbp_strbuf_release(&script);
    return result;
}

/* --- BUILDPACK_METADATA --- */

void cfbp_stager_check_buildpack_metadata(const struct cfbp_stager *stager, const char *language,
                                          const char *version, struct cfbp_log *log)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, text = CFBP_STRBUF_INIT;
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    struct cfbp_beneath cache = CFBP_BENEATH_INIT;
    cfbp_path_join(&path, stager->cache_dir, BUILDPACK_METADATA);
    if (cfbp_beneath_open(&cache, stager->cache_dir, &ignored) == 0 &&
        cfbp_beneath_read_file(&cache, BUILDPACK_METADATA, 1 << 16, &text, &ignored) == 0 &&
        cfbp_yaml_load_string(&doc, path.buf, text.buf, text.len, &ignored) == 0) {
        const struct cfbp_yaml_node *old_language = cfbp_yaml_get(doc.root, "language");
        const struct cfbp_yaml_node *old_version = cfbp_yaml_get(doc.root, "version");
        if (old_language && old_version && old_language->type == CFBP_YAML_SCALAR &&
            old_version->type == CFBP_YAML_SCALAR && strcmp(old_language->value, language) == 0 &&
            strcmp(old_version->value, version) != 0)
            cfbp_log_warning(log, "buildpack version changed from %s to %s", old_version->value,
                             version);
    }
    cfbp_yaml_document_release(&doc);
    cfbp_beneath_close(&cache);
    cfbp_error_clear(&ignored);
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&text);
}

int cfbp_stager_write_buildpack_metadata(const struct cfbp_stager *stager, const char *language,
                                         const char *version, struct cfbp_error *err)
{
    struct cfbp_yaml_node *root = cfbp_yaml_new_mapping();
    cfbp_yaml_set(root, "language", cfbp_yaml_new_string(language));
    cfbp_yaml_set(root, "version", cfbp_yaml_new_string(version));
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    int result = cfbp_yaml_emit(&text, root, 0, err);
    if (result == 0)
        result = put_file(stager, stager->cache_dir, "", BUILDPACK_METADATA, text.buf, text.len,
                          0644, err);
    cfbp_yaml_free(root);
    cfbp_strbuf_release(&text);
    return result;
}
