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

#ifdef __cplusplus
extern "C" {
#endif

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
 *
 * An entry replaces another by swapping places with it (renameat2
 * RENAME_EXCHANGE), so that its name always holds one of the two. Without a
 * trash directory (trash_fd -1) what was replaced is then removed, src_fd's
 * directory is left empty, and a failure may leave a partial merge. With one,
 * what was replaced stays in src_fd's tree in its replacement's place (or,
 * where the file system cannot swap, is moved into trash_fd), and a merge
 * that fails part way puts every entry back; the caller removes both trees.
 * To survive a SIGKILL as well, use the journal below.
 *
 * A directory of ours in dest_fd that the merge must change but that has no
 * write permission (an earlier archive may have made it 0555) is made
 * writable for the moment it is changed and given its mode back.
 */
int cfbp_beneath_merge_move(int src_fd, const char *src_display, int dest_fd,
                            const char *dest_display, int trash_fd, struct cfbp_error *err);

/*
 * A merge that any later process can undo. Each step (an entry added, an
 * entry swapped with the one it replaces, one put aside, a directory's mode
 * changed) is appended to a journal file in a work directory of the caller's
 * own before it is taken, so the journal is never behind what was done
 * (fsync is not needed: a SIGKILL does not lose written data). The steps
 * name the inodes they move, and undoing checks them: a step journaled but
 * never taken, or already undone, is left alone, so undoing is safe at any
 * moment and may itself be interrupted and repeated.
 *
 * The work directory holds the source tree (source_name), the journal
 * ("journal") and what is put aside where the file system cannot swap
 * ("displaced"). After a successful merge and any journaled mode changes,
 * commit; after a failure, or on finding the work directory of a killed
 * install, undo: the destination is then exactly as it was, modes included.
 *
 *     struct cfbp_beneath_journal *journal;
 *     if (cfbp_beneath_journal_start(&journal, work_fd, work, "tree", err) == 0 &&
 *         cfbp_beneath_journal_merge(journal, dest_fd, dest, err) == 0 &&
 *         cfbp_beneath_journal_commit(journal, err) < 0)
 *         cfbp_beneath_journal_undo(journal, dest_fd, dest, NULL);
 *     bool keep_work_directory = cfbp_beneath_journal_pending(journal);
 *     cfbp_beneath_journal_close(journal);
 */
struct cfbp_beneath_journal;

/* Creates the journal in work_fd (refusing one that is there) for a merge of source_name. */
int cfbp_beneath_journal_start(struct cfbp_beneath_journal **journal, int work_fd,
                               const char *work_display, const char *source_name,
                               struct cfbp_error *err);
/* Merges the source tree into dest_fd as cfbp_beneath_merge_move does; a failure undoes it. */
int cfbp_beneath_journal_merge(struct cfbp_beneath_journal *journal, int dest_fd,
                               const char *dest_display, struct cfbp_error *err);
/* Gives the directory relative (beneath dest_fd) mode, journaled so that undoing restores it. */
int cfbp_beneath_journal_chmod(struct cfbp_beneath_journal *journal, int dest_fd,
                               const char *dest_display, const char *relative, mode_t mode,
                               struct cfbp_error *err);
/* Marks the merge done: nothing will undo it. */
int cfbp_beneath_journal_commit(struct cfbp_beneath_journal *journal, struct cfbp_error *err);
/* Undoes every step, newest first (err may be NULL). */
int cfbp_beneath_journal_undo(struct cfbp_beneath_journal *journal, int dest_fd,
                              const char *dest_display, struct cfbp_error *err);
/*
 * True when the destination holds steps that are neither committed nor
 * undone (undoing failed part way): the work directory must then be kept,
 * unheld, for the next install to undo them.
 */
bool cfbp_beneath_journal_pending(const struct cfbp_beneath_journal *journal);
/* Closes and frees the journal (NULL is fine); the file stays in the work directory. */
void cfbp_beneath_journal_close(struct cfbp_beneath_journal *journal);

/*
 * Undoes the merge journaled in work_fd if it was not committed: what a
 * later install does with the work directory of a killed one, before it
 * removes it. No journal, or a committed one, is nothing to do. The journal
 * is removed once its steps are undone, so that it is never applied twice.
 */
int cfbp_beneath_journal_recover(int work_fd, const char *work_display, int dest_fd,
                                 const char *dest_display, struct cfbp_error *err);

/*
 * Tests only: hook is called at every moment a journaled merge could be
 * killed: before each journal record is written and before the step it
 * describes is taken, with moments counted from 0 since the hook was set.
 * NULL removes it.
 */
void cfbp_beneath_set_step_hook(void (*hook)(unsigned long moment, void *data), void *data);

/*
 * Tests only: true makes merges behave as on a file system without
 * RENAME_EXCHANGE (entries replaced are put aside, then the new one moved in).
 */
void cfbp_beneath_force_no_exchange(bool no_exchange);

/*
 * Tests only: true makes every call here resolve with the portable
 * O_NOFOLLOW walk even where openat2 exists, so both ways can be tested.
 */
void cfbp_beneath_force_portable_walk(bool portable);

#ifdef __cplusplus
}
#endif

#endif
