/*
 * download.h - one verified download: a URI into a file that exists only
 * when its digest is the one expected.
 *
 * The bytes go into a partial file of their own beside the destination
 * (".<name>.partial-XXXXXX", so that two processes sharing a cache never
 * write one file), hashed as they arrive (fetch.h); the file is renamed to
 * its path only when the digest matches, and removed otherwise. Staging
 * (install.h) and packaging (packager.h) both download through here.
 *
 * A download can also stream: every byte is sent, as it arrives, to a
 * stream socket that something else reads at the same time (an extraction,
 * archive.h), so that the dependency is extracted while it downloads. What
 * the reader got proves nothing by itself (a server may send the right bytes
 * and then more, and the download is refused): the reader must not act on it
 * before cfbp_download_verified has returned 0 (install.c places nothing
 * until then). The last byte received is held back until the digest
 * matched, so the stream of a refused download never ends with every byte
 * the download saw. Fetch retries
 * restart from the first byte; bytes already streamed are not streamed
 * again, and whether the stream held exactly the verified bytes is reported
 * (stream_exact), so that a reader's failure can be trusted or the work
 * redone from the file. A reader that checks the stream's sha256 itself
 * needs nothing more: a stream whose digest matched is the verified file.
 */
#ifndef CFBP_DOWNLOAD_H
#define CFBP_DOWNLOAD_H

#include "cfbp/digest.h"

#include <stdbool.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;
struct cfbp_fetch_options;
struct cfbp_log;

struct cfbp_download {
    const char *uri;    /* what is fetched; shown only redacted */
    const char *path;   /* the verified file; its directory must exist */
    const char *sha256; /* the expected sha256, or NULL to check md5 instead */
    const char *md5;    /* the expected md5 when there is no sha256 */
    mode_t mode;        /* of the verified file; 0 for 0644 */
    const struct cfbp_fetch_options *fetch;
    struct cfbp_log *log; /* for retries; may be NULL */
    int stream_fd;        /* a stream socket to send the bytes to as they arrive, or -1 */
    /* Set by cfbp_download_verified when stream_fd is used: the download was verified and
     * what the socket got is the verified file's bytes in order, all of them unless the
     * reader stopped reading (no retry restarted after bytes had been sent). */
    bool stream_exact;
};

#define CFBP_DOWNLOAD_INIT                                                                         \
    {                                                                                              \
        NULL, NULL, NULL, NULL, 0, NULL, NULL, -1, false                                           \
    }

/*
 * Downloads download->uri into download->path as described above and puts
 * the sha256 of the bytes in actual_sha256 (also for an md5-checked file).
 * A digest that does not match fails with CFBP_ERROR_CHECKSUM, "sha256
 * mismatch: expected sha256 <e>, actual sha256 <a>" (or md5), leaving no
 * file; other failures are fetch.h's. stream_fd, when given, is shut down
 * for writing before returning, success or not (the caller closes it).
 */
int cfbp_download_verified(struct cfbp_download *download, char actual_sha256[CFBP_DIGEST_HEX_SIZE],
                           struct cfbp_error *err);

#ifdef __cplusplus
}
#endif

#endif
