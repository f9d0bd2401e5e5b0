/*
 * workdir.h - the private directories an install works in, and the lock
 * that keeps two installs into one destination from tripping over each
 * other.
 *
 * An install never writes into its destination directly. It works in a
 * work directory made inside the destination (when that is a directory) or
 * beside it (".<name>.cfbp-install-XXXXXX" in its parent, when it is not
 * there yet), and moves the result into place at the end. A killed install
 * leaves its work directory behind; the next install into the same
 * destination removes it, after undoing the merge into the destination it
 * may have been killed in the middle of (its journal, beneath.h, says), so
 * that the destination is first exactly as it was before. Each work
 * directory is held with flock(2) for its owner's life, so only one whose
 * owner is gone counts as stale: a work directory is never removed (or its
 * merge undone) under a running install.
 *
 * Creating work directories and moving results into place happen under an
 * exclusive lock on the destination's parent directory (flock(2) on the
 * directory itself, so nothing is added to the tree). The lock is waited for
 * at most CFBP_WORKDIR_LOCK_SECONDS; a holder that dies releases it at once.
 */
#ifndef CFBP_WORKDIR_H
#define CFBP_WORKDIR_H

#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;
struct cfbp_string_list;

/* How long an install waits for another one into the same place before giving up. */
#define CFBP_WORKDIR_LOCK_SECONDS 600
/* How old an unheld temporary directory must be before it counts as stale. */
#define CFBP_WORKDIR_STALE_SECONDS 60

struct cfbp_destination_lock {
    int fd; /* the destination's parent directory, locked; -1 when not held */
};

#define CFBP_DESTINATION_LOCK_INIT                                                                 \
    {                                                                                              \
        -1                                                                                         \
    }

/*
 * Locks the parent directory of destination (which must exist). Waits while
 * another process holds it, up to CFBP_WORKDIR_LOCK_SECONDS.
 */
int cfbp_destination_lock(struct cfbp_destination_lock *lock, const char *destination,
                          struct cfbp_error *err);
/* Releases the lock; safe when it is not held. */
void cfbp_destination_unlock(struct cfbp_destination_lock *lock);

struct cfbp_workdir {
    char *path;  /* NULL when there is none */
    int fd;      /* the directory, held with flock(2) */
    bool inside; /* made inside the destination (it existed), not beside it */
};

#define CFBP_WORKDIR_INIT                                                                          \
    {                                                                                              \
        NULL, -1, false                                                                            \
    }

/*
 * Removes the stale work directories of destination (cfbp_workdir_remove_stale),
 * then makes a new one (mode 0700) whose name says what it is for (purpose:
 * "", "download-" or CFBP_WORKDIR_TOP; only one made for "" is ever read for
 * a journal). Takes the destination lock for the time it needs it;
 * the parent of destination must exist.
 */
int cfbp_workdir_create(struct cfbp_workdir *workdir, const char *destination, const char *purpose,
                        struct cfbp_error *err);
/*
 * The purpose of a work directory that stands for the tree's only top-level
 * directory while an archive is extracted (archive.c): its contents are the
 * archive's, so it is never read for a journal, only removed when stale.
 */
#define CFBP_WORKDIR_TOP "top-"

/*
 * Whether name is one a work directory of some destination could have
 * (".cfbp-install-..." inside it, ".<name>.cfbp-install-..." beside it): an
 * install into that destination reads and removes what has such a name, so
 * an archive may not make one, at any depth.
 */
bool cfbp_workdir_is_reserved_name(const char *name);

/*
 * Makes one more work directory for destination, as cfbp_workdir_create
 * does for purpose "" but without looking for stale ones (the install
 * making it did when it started). With locked, the caller holds the
 * destination lock; without, it is taken for the time this needs it.
 */
int cfbp_workdir_create_another(struct cfbp_workdir *workdir, const char *destination, bool locked,
                                struct cfbp_error *err);
/*
 * Renames a work directory made for CFBP_WORKDIR_TOP to the name one made
 * for "" would have (the same six characters), so that it may hold a
 * journal. It stays held. -1 with errno (EEXIST: that name is taken).
 */
int cfbp_workdir_make_journaled(struct cfbp_workdir *workdir);

/*
 * Undoes what killed installs into destination left half merged, then
 * removes their work directories (beside destination and inside it). The
 * caller holds lock on destination: an install does this when it starts
 * and again just before it merges, so that it never merges into what
 * another, killed meanwhile, left half done. A merge that cannot be undone
 * (a directory of someone else's in the way, say) is an error naming it,
 * and its work directory is kept: nothing it holds is lost.
 */
int cfbp_workdir_remove_stale(const struct cfbp_destination_lock *lock, const char *destination,
                              struct cfbp_error *err);
/*
 * Makes "<parent>/<prefix>XXXXXX" (mode 0700) for a program's temporary
 * work, held for the program's life, after removing the earlier ones whose
 * owners are gone: not held, and older than CFBP_WORKDIR_STALE_SECONDS (a
 * directory is locked the moment after it is made, and the age rule keeps
 * that moment safe without a lock on a shared TMPDIR). cfbp stage and cfbp
 * run use it, so that a SIGKILL leaves nothing in TMPDIR for good.
 */
int cfbp_workdir_create_temp(struct cfbp_workdir *workdir, const char *parent, const char *prefix,
                             struct cfbp_error *err);

/* Removes the work directory and everything in it, then releases it. */
void cfbp_workdir_remove(struct cfbp_workdir *workdir);
/* Releases the work directory without removing it (it was moved into place). */
void cfbp_workdir_release(struct cfbp_workdir *workdir);

/*
 * Creates path and its missing parents (0755), appending each directory it
 * made to made, so that a failed install can take them away again.
 */
int cfbp_workdir_mkdir_p(const char *path, struct cfbp_string_list *made, struct cfbp_error *err);
/* Removes the directories in made (deepest first, only while empty). */
void cfbp_workdir_undo_mkdir(const struct cfbp_string_list *made);

/*
 * The access and modification times of the nearest existing directory at or
 * above a path: what a failed install puts back, so that it leaves no trace,
 * not even in a directory's times.
 */
struct cfbp_saved_times {
    char *path;
    struct timespec times[2];
    bool saved;
};

void cfbp_workdir_save_times(struct cfbp_saved_times *saved, const char *path);
/* Puts the times back when restore is true; frees what save took either way. */
void cfbp_workdir_restore_times(struct cfbp_saved_times *saved, bool restore);

#ifdef __cplusplus
}
#endif

#endif
