/*
 * beneath.h - reading and writing inside a directory without following links.
 *
 * The directories we write into are not ours alone: a dependency's archive,
 * the app, an earlier buildpack or an earlier staging can leave symlinks in
 * DEPS_DIR/<idx>, BUILD_DIR, the cache, a droplet or a registered buildpack.
 * A write that followed one could land anywhere. So every path given to
 * these calls is relative to an open root directory and is resolved without
 * following any symlink: with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)
 * where the kernel has it (Linux 5.6 and later), otherwise one component at a
 * time with O_NOFOLLOW. Both ways give the same answers. A symlink on the way,
 * a ".." component or an absolute path is refused with an error of kind
 * CFBP_ERROR_UNSAFE_PATH that names the path; nothing is written.
 *
 * The final component is never followed either: a write replaces a symlink
 * standing there (rename(2) does not follow it) and a read refuses one.
 *
 *     struct cfbp_beneath root;
 *     if (cfbp_beneath_open(&root, dep_dir, err) < 0)
 *         return -1;
 *     int result = cfbp_beneath_write_file(&root, "profile.d/app.sh", body, length, 0755, err);
 *     cfbp_beneath_close(&root);
 */
#ifndef CFBP_BENEATH_H
#define CFBP_BENEATH_H

#include "cfbp/fs.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cfbp_strbuf;
struct cfbp_string_list;
struct cfbp_error;

struct cfbp_beneath {
    int fd;     /* the root directory, opened O_DIRECTORY */
    char *path; /* its path, for messages */
};

#define CFBP_BENEATH_INIT                                                                          \
    {                                                                                              \
        -1, NULL                                                                                   \
    }

/* Opens path (which may itself be reached through links: the caller trusts it) as a root. */
int cfbp_beneath_open(struct cfbp_beneath *root, const char *path, struct cfbp_error *err);
/* Opens path as a root, creating it and its parents (0755) when missing. */
int cfbp_beneath_open_create(struct cfbp_beneath *root, const char *path, struct cfbp_error *err);
/* Closes the root; safe on a closed or CFBP_BENEATH_INIT root. */
void cfbp_beneath_close(struct cfbp_beneath *root);

/*
 * Opens the directory at relative ("" or "." is the root itself) and returns
 * its descriptor (O_RDONLY | O_DIRECTORY, close-on-exec), or -1. With create,
 * missing directories on the way are made with mode (before umask).
 */
int cfbp_beneath_open_directory(const struct cfbp_beneath *root, const char *relative, bool create,
                                mode_t mode, struct cfbp_error *err);

/*
 * Like cfbp_beneath_open_directory, but from any directory descriptor: the
 * building block the calls here and the archive extractor share. display
 * names the directory in messages.
 */
int cfbp_beneath_open_directory_at(int directory_fd, const char *display, const char *relative,
                                   bool create, mode_t mode, struct cfbp_error *err);

/* What is at relative, without following links; MISSING also when a directory on the way is not
 * one. */
enum cfbp_fs_type cfbp_beneath_type_of(const struct cfbp_beneath *root, const char *relative);

/*
 * Atomically replaces relative with data (a temporary file in the same
 * directory, then rename), mode exactly (umask not applied). Missing parent
 * directories are made (0755). A directory standing at relative is an error.
 */
int cfbp_beneath_write_file(const struct cfbp_beneath *root, const char *relative, const void *data,
                            size_t length, mode_t mode, struct cfbp_error *err);

/* Reads the regular file at relative into out; over max_bytes is an error, a symlink too. */
int cfbp_beneath_read_file(const struct cfbp_beneath *root, const char *relative, size_t max_bytes,
                           struct cfbp_strbuf *out, struct cfbp_error *err);

/* Opens the regular file at relative for reading (never a symlink). Returns the fd or -1. */
int cfbp_beneath_open_file(const struct cfbp_beneath *root, const char *relative,
                           struct cfbp_error *err);

/*
 * Makes relative a symlink to target (the target is stored, never
 * resolved), replacing a file or symlink there; parents are made (0755).
 */
int cfbp_beneath_symlink(const struct cfbp_beneath *root, const char *relative, const char *target,
                         struct cfbp_error *err);

/* Creates the directory relative and missing parents (mode before umask); existing is fine. */
int cfbp_beneath_mkdir_p(const struct cfbp_beneath *root, const char *relative, mode_t mode,
                         struct cfbp_error *err);

/* Puts the names in directory relative into names, sorted (a missing directory is NOT_FOUND). */
int cfbp_beneath_list_directory(const struct cfbp_beneath *root, const char *relative,
                                struct cfbp_string_list *names, struct cfbp_error *err);

/*
 * Moves every entry of the directory src_fd into dest_fd: missing entries
 * are renamed in, directories present on both sides are merged, anything
 * else in dest_fd is replaced. No link on either side is followed. All must
 * be on one file system. src_display and dest_display name them in messages.
 * On success src_fd's directory is left empty.
 *
 * With a trash directory (trash_fd >= 0), what an entry replaces is moved
 * there instead of removed, and a merge that fails part way puts every entry
 * back where it was: dest_fd's tree is as before (the caller empties the
 * trash). Without one (-1), replaced entries are removed and a failure may
 * leave a partial merge.
 */
int cfbp_beneath_merge_move(int src_fd, const char *src_display, int dest_fd,
                            const char *dest_display, int trash_fd, struct cfbp_error *err);

/*
 * Tests only: true makes every call here resolve with the portable
 * O_NOFOLLOW walk even where openat2 exists, so both ways can be tested.
 */
void cfbp_beneath_force_portable_walk(bool portable);

#endif
