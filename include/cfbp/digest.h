/*
 * digest.h - SHA-256 and MD5, streaming (nettle; see digest.c for why not EVP).
 *
 * Digests are computed as data streams past (downloads, extraction, zipping),
 * never over a whole file held in memory. Hex output is lowercase, the form
 * manifest.yml uses for sha256 and the packager uses for md5(uri) paths.
 */
#ifndef CFBP_DIGEST_H
#define CFBP_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;

enum cfbp_digest_algorithm { CFBP_DIGEST_SHA256, CFBP_DIGEST_MD5 };

/* Room for the longest hex digest (SHA-256) and its NUL. */
#define CFBP_DIGEST_HEX_SIZE 65

struct cfbp_digest {
    void *context; /* the algorithm and its state (nettle), owned */
};

/* Starts a digest; release it with cfbp_digest_finish_hex or cfbp_digest_release. */
void cfbp_digest_start(struct cfbp_digest *digest, enum cfbp_digest_algorithm algorithm);
void cfbp_digest_update(struct cfbp_digest *digest, const void *data, size_t length);
/* Writes the lowercase hex digest into hex and releases the digest. */
void cfbp_digest_finish_hex(struct cfbp_digest *digest, char hex[CFBP_DIGEST_HEX_SIZE]);
void cfbp_digest_release(struct cfbp_digest *digest);

/* The hex digest of a byte string (e.g. md5 of a URI). */
void cfbp_digest_of_bytes(enum cfbp_digest_algorithm algorithm, const void *data, size_t length,
                          char hex[CFBP_DIGEST_HEX_SIZE]);
/*
 * Feeds the file at path, read in blocks, to each of count started digests:
 * one read for several algorithms. On failure the digests are released.
 */
int cfbp_digest_update_from_file(struct cfbp_digest *digests, size_t count, const char *path,
                                 struct cfbp_error *err);
/* The hex digest of a file, read in blocks. */
int cfbp_digest_of_file(enum cfbp_digest_algorithm algorithm, const char *path,
                        char hex[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err);
/*
 * Checks the file's digest against expected (lowercase hex): 0 when they
 * match, else -1 with a CFBP_ERROR_CHECKSUM error "md5 mismatch: expected md5
 * <e>, actual md5 <a>" (or sha256), or the read error.
 */
int cfbp_digest_check_file(enum cfbp_digest_algorithm algorithm, const char *path,
                           const char *expected, struct cfbp_error *err);

/* True for a 64-character lowercase hex string, the form of a manifest sha256. */
bool cfbp_digest_is_sha256_hex(const char *text);
/* True for a 32-character lowercase hex string, the form of a manifest md5. */
bool cfbp_digest_is_md5_hex(const char *text);

#ifdef __cplusplus
}
#endif

#endif
