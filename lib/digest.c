/*
 * digest.c - streaming SHA-256 and MD5 with nettle (see digest.h).
 *
 * nettle, not OpenSSL's EVP: every buildpack program hashes, and loading
 * libcrypto.so.3 and setting up EVP's providers cost about 5 ms of each
 * program's start, more than half of what issue 12 allows a cached supply.
 * nettle is linked statically (libarchive's zip reader needs it anyway),
 * picks the CPU's SHA instructions at run time, and costs nothing to start.
 */
#include "cfbp/digest.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/md5.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct digest_state {
    enum cfbp_digest_algorithm algorithm;
    union {
        struct sha256_ctx sha256;
        struct md5_ctx md5;
    } context;
};

void cfbp_digest_start(struct cfbp_digest *digest, enum cfbp_digest_algorithm algorithm)
{
    struct digest_state *state = cfbp_xmalloc(sizeof(*state));
    state->algorithm = algorithm;
    if (algorithm == CFBP_DIGEST_MD5)
        md5_init(&state->context.md5);
    else
        sha256_init(&state->context.sha256);
    digest->context = state;
}

void cfbp_digest_update(struct cfbp_digest *digest, const void *data, size_t length)
{
    struct digest_state *state = digest->context;
    if (length == 0)
        return;
    if (state->algorithm == CFBP_DIGEST_MD5)
        md5_update(&state->context.md5, length, data);
    else
        sha256_update(&state->context.sha256, length, data);
}

void cfbp_digest_finish_hex(struct cfbp_digest *digest, char hex[CFBP_DIGEST_HEX_SIZE])
{
    static const char digits[] = "0123456789abcdef";
    struct digest_state *state = digest->context;
    unsigned char raw[SHA256_DIGEST_SIZE];
    size_t length;
    if (state->algorithm == CFBP_DIGEST_MD5) {
        length = MD5_DIGEST_SIZE;
        md5_digest(&state->context.md5, length, raw);
    } else {
        length = SHA256_DIGEST_SIZE;
        sha256_digest(&state->context.sha256, length, raw);
    }
    for (size_t i = 0; i < length; i++) {
        hex[2 * i] = digits[raw[i] >> 4];
        hex[2 * i + 1] = digits[raw[i] & 0xf];
    }
    hex[2 * length] = '\0';
    cfbp_digest_release(digest);
}

void cfbp_digest_release(struct cfbp_digest *digest)
{
    free(digest->context);
    digest->context = NULL;
}

void cfbp_digest_of_bytes(enum cfbp_digest_algorithm algorithm, const void *data, size_t length,
                          char hex[CFBP_DIGEST_HEX_SIZE])
{
    struct cfbp_digest digest;
    cfbp_digest_start(&digest, algorithm);
    cfbp_digest_update(&digest, data, length);
    cfbp_digest_finish_hex(&digest, hex);
}

int cfbp_digest_update_from_file(struct cfbp_digest *digests, size_t count, const char *path,
                                 struct cfbp_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int saved = errno;
    unsigned char buffer[1 << 16];
    ssize_t got = fd < 0 ? -1 : 1;
    while (got > 0) {
        got = cfbp_fs_read(fd, buffer, sizeof(buffer));
        saved = errno;
        for (size_t i = 0; got > 0 && i < count; i++)
            cfbp_digest_update(&digests[i], buffer, (size_t)got);
    }
    if (fd >= 0)
        close(fd);
    if (got == 0)
        return 0;
    for (size_t i = 0; i < count; i++)
        cfbp_digest_release(&digests[i]);
    return cfbp_error_set_errno(err, saved == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO, saved,
                                "cannot read %s", path);
}

int cfbp_digest_of_file(enum cfbp_digest_algorithm algorithm, const char *path,
                        char hex[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    struct cfbp_digest digest;
    cfbp_digest_start(&digest, algorithm);
    if (cfbp_digest_update_from_file(&digest, 1, path, err) < 0)
        return -1;
    cfbp_digest_finish_hex(&digest, hex);
    return 0;
}

int cfbp_digest_check_file(enum cfbp_digest_algorithm algorithm, const char *path,
                           const char *expected, struct cfbp_error *err)
{
    char actual[CFBP_DIGEST_HEX_SIZE];
    if (cfbp_digest_of_file(algorithm, path, actual, err) < 0)
        return -1;
    if (strcmp(actual, expected) == 0)
        return 0;
    const char *name = algorithm == CFBP_DIGEST_MD5 ? "md5" : "sha256";
    return cfbp_error_set(err, CFBP_ERROR_CHECKSUM, "%s mismatch: expected %s %s, actual %s %s",
                          name, name, expected, name, actual);
}

static bool is_lowercase_hex(const char *text, size_t length)
{
    if (strlen(text) != length)
        return false;
    for (size_t i = 0; i < length; i++)
        if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')))
            return false;
    return true;
}

bool cfbp_digest_is_sha256_hex(const char *text)
{
    return is_lowercase_hex(text, 64);
}

bool cfbp_digest_is_md5_hex(const char *text)
{
    return is_lowercase_hex(text, 32);
}
