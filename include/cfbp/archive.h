/*
 * archive.h - installing one local file: extracting archives safely and
 * putting the result in place only when its SHA-256 matches.
 *
 * The kind of file follows its name, as in libbuildpack (contract §6.6.6):
 *   .tgz .tar.gz .tar.xz .tar .zip  extracted into the destination directory
 *   .sh                             the file becomes the destination itself (0644)
 *   anything else                   copied to <destination>/<name>
 *
 * Tar archives are read once, on two threads: one reads the input (a file,
 * a pipe or a socket), hashes it and decompresses it (ISA-L's igzip for
 * gzip, whose trailer is left to the SHA-256 when one is expected, as the
 * digest checks every byte; xz through libarchive's filter), the other
 * parses the members and writes them, with a few blocks of 256 KiB between
 * them, so memory stays flat and the digest is known when extraction ends.
 * A small file whose output fits in 1 MiB is read without the first
 * thread. A zip needs its central directory, so it is read from a file,
 * extracted while a second thread hashes the whole file; nothing is placed
 * unless that digest matches. Either way, once an archive has a few small
 * files, a third thread creates them (at most 4 MiB queued), in an order
 * that gives the tree and errors of writing each member in turn.
 *
 * Everything is written under a temporary directory (inside the destination
 * when it exists, beside it otherwise) and moved into place only after the
 * digest matched and every member was written: merged into an existing
 * destination by swapping each entry with its replacement, every step
 * journaled first (beneath.h), or, for a tree of one entry whose name is
 * free there, with one rename. When the destination exists and the archive
 * is one top-level directory (the usual shape of a dependency), the
 * temporary directory itself stands for that directory and is renamed to
 * it: the install then makes and removes no directory of its own. On
 * failure the merge is undone, the temporary directory is removed and the
 * destination is exactly as it was. An install killed in its merge leaves
 * the journal; the next install into the same destination undoes that merge
 * before anything else (workdir.h).
 *
 * Members are refused (CFBP_ERROR_UNSAFE_ARCHIVE) when their name is
 * absolute or has a ".." component, when they are devices, fifos or sockets,
 * when a symlink target is absolute or leaves the destination, when a hard
 * link points at something outside it, or when a component of their name is
 * one installs keep for their work directories (cfbp_workdir_is_reserved_name)
 * or staging for its temporary files. setuid and setgid bits are dropped.
 */
#ifndef CFBP_ARCHIVE_H
#define CFBP_ARCHIVE_H

#include "cfbp/digest.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;

enum cfbp_archive_kind {
    CFBP_ARCHIVE_PLAIN,
    CFBP_ARCHIVE_SCRIPT,
    CFBP_ARCHIVE_TAR_GZ,
    CFBP_ARCHIVE_TAR_XZ,
    CFBP_ARCHIVE_TAR,
    CFBP_ARCHIVE_ZIP
};

enum cfbp_archive_kind cfbp_archive_kind_of(const char *file_name);

struct cfbp_archive_request {
    const char *source;          /* the local file to install */
    const char *file_name;       /* decides the kind and names plain copies */
    const char *expected_sha256; /* lowercase hex, or NULL to only compute it */
    const char *destination;
    unsigned strip_components; /* leading path components dropped from members */
    /*
     * Called, when set, once everything is extracted and verified, just before
     * anything is placed: a failure (-1, err set) places nothing. An extraction
     * from a download's stream waits there for the download's own verdict.
     */
    int (*before_placing)(void *data, struct cfbp_error *err);
    void *before_placing_data;
};

/*
 * Installs request->source as described above and puts the file's SHA-256 in
 * actual_sha256 (also when it does not match). A mismatch is an error of kind
 * CFBP_ERROR_CHECKSUM whose message gives both digests.
 */
int cfbp_archive_install(const struct cfbp_archive_request *request,
                         char actual_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err);

/*
 * The same, reading the bytes from fd instead of opening request->source
 * (which then only names them in messages): a file, or for every kind but
 * .zip a pipe or stream socket read to its end, so that a download can be
 * extracted as it arrives (download.h). fd stays open. A stream whose digest
 * does not match (one cut short, say) places nothing.
 */
int cfbp_archive_install_fd(const struct cfbp_archive_request *request, int fd,
                            char actual_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err);

#ifdef __cplusplus
}
#endif

#endif
