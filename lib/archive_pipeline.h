/*
 * archive_pipeline.h - the reading half of a tar install, on a thread of its
 * own (private to archive.c; its names are cfbpi_, which libcfbp.so does not
 * export: cmake/libcfbp.map).
 *
 * The reader thread reads the input descriptor (a file, a pipe or a stream
 * socket: it is never assumed seekable), computes the SHA-256 of its raw
 * bytes and decompresses them (gzip with ISA-L's igzip, xz with libarchive's
 * filter, anything else passed through) into a few fixed blocks that the
 * extracting thread takes, in order, with cfbpi_archive_pipeline_next(). Memory
 * stays flat: PIPELINE_INPUT_BLOCKS + PIPELINE_OUTPUT_BLOCKS blocks of
 * 256 KiB.
 *
 * A small regular file (under one block) whose output fits in at most
 * PIPELINE_INLINE_BLOCKS small blocks, by its size (a tar) or gzip's record
 * of its length (a .tgz), is read by the same code without a thread, within
 * cfbpi_archive_pipeline_start(): the thread would cost more than the work. Such
 * an inline run never waits; when it would (the record was wrong), it
 * stops, and the file is read again from where it started, on a thread.
 *
 * The digest is computed by whichever thread has slack: the reader hashes a
 * block itself while the extractor is behind, and otherwise hands the raw
 * block to the extractor, which hashes it on its next call; blocks are
 * always hashed in input order.
 *
 * The reader waits in poll(2) on the input, on an internal eventfd and on
 * cfbp_cancel_fd(), so that cfbpi_archive_pipeline_finish() after a failure of the
 * extractor, or Ctrl-C, wakes it at once.
 */
#ifndef CFBP_ARCHIVE_PIPELINE_H
#define CFBP_ARCHIVE_PIPELINE_H

#include "cfbp/archive.h"
#include "cfbp/digest.h"

#include <stdbool.h>
#include <sys/types.h>

#define PIPELINE_BLOCK_SIZE       (256 * 1024)
#define PIPELINE_SMALL_BLOCK_SIZE (32 * 1024) /* for files smaller than one block */
#define PIPELINE_INPUT_BLOCKS     4
#define PIPELINE_OUTPUT_BLOCKS    8
#define PIPELINE_INLINE_BLOCKS    32 /* at most, of the small size, for a run without a thread */

struct archive_pipeline;

/*
 * Starts the reader thread on fd (not owned) for an archive of this kind:
 * gzip data of a CFBP_ARCHIVE_TAR_GZ and xz data of a CFBP_ARCHIVE_TAR_XZ are
 * decompressed, anything else is passed through as libarchive's filters do.
 * With check_integrity, the gzip CRC-32 and length of every member are
 * checked, and the whole compressed stream is decoded even past the end of
 * the tar (use it when no SHA-256 is expected: then nothing else checks the
 * bytes). Returns NULL with errno set when no thread can be started.
 */
struct archive_pipeline *cfbpi_archive_pipeline_start(int fd, enum cfbp_archive_kind kind,
                                                      bool check_integrity);

/*
 * The next block of decompressed data, valid until the next call: its length,
 * 0 at the end of the data, or -1 when reading, decompressing or the user
 * (cancel.h) stopped it; cfbpi_archive_pipeline_message() then says why.
 */
ssize_t cfbpi_archive_pipeline_next(struct archive_pipeline *pipeline, const void **block);

/* Why cfbpi_archive_pipeline_next() failed, as a short phrase ("truncated gzip input"). */
const char *cfbpi_archive_pipeline_message(const struct archive_pipeline *pipeline);

struct archive_pipeline_outcome {
    char sha256[CFBP_DIGEST_HEX_SIZE]; /* of the bytes read, complete or not */
    bool complete;                     /* every byte of the input was read and hashed */
    bool cancelled;                    /* the user asked to stop (cancel.h) */
    int read_errno;                    /* reading the input failed */
    char *integrity_error;             /* check_integrity found damage after the tar (owned) */
};

/*
 * Ends the pipeline, joins the reader and frees everything. extracted says
 * the extractor read the whole tar: the rest of the input is then read and
 * hashed (the digest covers the whole file). Otherwise the reader stops at
 * once, unless the input is a regular file, which it hashes to its end (that
 * cannot block), so that a damaged download is still told from a bad archive.
 */
void cfbpi_archive_pipeline_finish(struct archive_pipeline *pipeline, bool extracted,
                                   struct archive_pipeline_outcome *outcome);

void cfbpi_archive_pipeline_outcome_release(struct archive_pipeline_outcome *outcome);

#endif
