/*
 * tarball.h - writing reproducible .tgz archives of a directory tree.
 *
 * Reproducible means the same tree gives the same bytes on every machine:
 * members sorted by name, owner and group 0 without names, one fixed mtime
 * (SOURCE_DATE_EPOCH when set), modes normalised to 0755 (directories and
 * executables) or 0644, and a gzip header without name or timestamp.
 * Written through libarchive, streaming: no file is held in memory.
 */
#ifndef CFBP_TARBALL_H
#define CFBP_TARBALL_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;

/* 1980-01-01T00:00:00Z: the earliest time a zip can hold, used for tarballs too. */
#define CFBP_DEFAULT_EPOCH 315532800LL

/* SOURCE_DATE_EPOCH when it is set to a whole number, otherwise CFBP_DEFAULT_EPOCH. */
long long cfbp_source_date_epoch(void);

struct cfbp_tarball_options {
    long long mtime;    /* the time every member gets */
    const char *prefix; /* put before every member name, e.g. "./" (may be NULL) */
    bool keep_modes;    /* keep permission bits as they are instead of normalising */
    bool keep_times;    /* keep each file's mtime instead of `mtime` (droplets) */
    bool include_root;  /* also write the top directory itself, as the prefix ("./") */
};

/*
 * Writes every file, directory and symlink under directory (not directory
 * itself) into a gzip-compressed tar at path, written to a temporary name
 * and renamed, so a failure leaves no partial archive.
 */
int cfbp_tarball_write_tree(const char *path, const char *directory,
                            const struct cfbp_tarball_options *options, struct cfbp_error *err);

#ifdef __cplusplus
}
#endif

#endif
