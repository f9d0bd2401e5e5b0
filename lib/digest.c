/*
 * digest.c - streaming SHA-256 and MD5 with OpenSSL EVP (see digest.h).
 */
#include "cfbp/digest.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

void cfbp_digest_start(struct cfbp_digest *digest, enum cfbp_digest_algorithm algorithm)
{
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    const EVP_MD *md = algorithm == CFBP_DIGEST_MD5 ? EVP_md5() : EVP_sha256();
    if (!context || EVP_DigestInit_ex(context, md, NULL) != 1)
        cfbp_alloc_failed(sizeof(EVP_MD_CTX *)); /* only fails when out of memory */
    digest->context = context;
}

void cfbp_digest_update(struct cfbp_digest *digest, const void *data, size_t length)
{
    if (length)
        EVP_DigestUpdate(digest->context, data, length);
}

void cfbp_digest_finish_hex(struct cfbp_digest *digest, char hex[CFBP_DIGEST_HEX_SIZE])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char raw[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(digest->context, raw, &length);
    for (unsigned int i = 0; i < length; i++) { /* at most 32 bytes: SHA-256 */
        hex[2 * i] = digits[raw[i] >> 4];
        hex[2 * i + 1] = digits[raw[i] & 0xf];
    }
    hex[2 * length] = '\0';
    cfbp_digest_release(digest);
}

void cfbp_digest_release(struct cfbp_digest *digest)
{
    EVP_MD_CTX_free(digest->context);
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
