/*
 * zip.h - writing reproducible zip files (buildpack zips) with libarchive.
 *
 * Every member gets Unix mode bits ("made by" Unix, as Cloud Foundry needs
 * for the programs in bin/, contract §2.1), owner 0, and one fixed mtime; no directory
 * entries are written. Members whose content is already compressed (.tgz,
 * .gz, .xz, .zip, .jar, ...) are stored, the rest deflated: deflating a
 * gzip again costs time and saves nothing.
 *
 * The zip is written to a temporary name beside its final one and hashed as
 * it is written; cfbp_zip_commit renames it into place, cfbp_zip_abandon
 * removes it, so an interrupted run leaves no broken zip behind.
 *
 * Zip keeps DOS date/time fields in local time: run with TZ=UTC (cfbp does)
 * for the same bytes on every machine.
 */
#ifndef CFBP_ZIP_H
#define CFBP_ZIP_H

#include "cfbp/digest.h"

#include <stdbool.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;
struct cfbp_zip;

/* Called while member data is written; done and total count bytes of all file data. */
typedef void (*cfbp_zip_progress_fn)(void *data, unsigned long long done, unsigned long long total);

int cfbp_zip_open(struct cfbp_zip **zip, const char *path, long long mtime, struct cfbp_error *err);
/* Tells the writer how many bytes of file data are coming, for progress reports. */
void cfbp_zip_set_progress(struct cfbp_zip *zip, unsigned long long total,
                           cfbp_zip_progress_fn progress, void *data);
/* True when a member of this name is stored rather than deflated. */
bool cfbp_zip_should_store(const char *name);

/* Adds name with data as its content. */
int cfbp_zip_add_bytes(struct cfbp_zip *zip, const char *name, const void *data, size_t length,
                       mode_t mode, struct cfbp_error *err);
/*
 * Adds name with the content of the file at path, streaming. When
 * expected_sha256 is given, the file's digest is computed on the way and a
 * mismatch fails (CFBP_ERROR_CHECKSUM, both digests in the message); the
 * zip must then be abandoned.
 */
int cfbp_zip_add_file(struct cfbp_zip *zip, const char *name, const char *path, mode_t mode,
                      const char *expected_sha256, struct cfbp_error *err);

/* Finishes the zip, renames it into place, and reports its size and SHA-256. */
int cfbp_zip_commit(struct cfbp_zip *zip, unsigned long long *size,
                    char sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err);
/* Throws the unfinished zip away (the temporary file is removed). */
void cfbp_zip_abandon(struct cfbp_zip *zip);

#ifdef __cplusplus
}
#endif

#endif
