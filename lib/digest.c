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

int cfbp_digest_of_file(enum cfbp_digest_algorithm algorithm, const char *path,
                        char hex[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cfbp_error_set_errno(err, errno == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    errno, "cannot read %s", path);
    struct cfbp_digest digest;
    cfbp_digest_start(&digest, algorithm);
    unsigned char buffer[1 << 16];
    for (;;) {
        ssize_t got = cfbp_fs_read(fd, buffer, sizeof(buffer));
        if (got < 0) {
            int saved = errno;
            close(fd);
            cfbp_digest_release(&digest);
            return cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot read %s", path);
        }
        if (got == 0)
            break;
        cfbp_digest_update(&digest, buffer, (size_t)got);
    }
    close(fd);
    cfbp_digest_finish_hex(&digest, hex);
    return 0;
}

bool cfbp_digest_is_sha256_hex(const char *text)
{
    if (strlen(text) != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')))
            return false;
    return true;
}
