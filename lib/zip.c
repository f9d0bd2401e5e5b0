/*
 * zip.c - reproducible zip files through libarchive (see zip.h).
 *
 * libarchive writes through our callback, which hashes every byte of the
 * zip on its way to disk, so the zip's own SHA-256 needs no second read.
 */
#include "cfbp/zip.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/strbuf.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_BLOCK (1024 * 1024)

struct cfbp_zip {
    struct archive *archive;
    int fd;
    char *path, *temp_path;
    long long mtime;
    struct cfbp_digest digest; /* of the zip itself */
    unsigned long long written;
    int write_errno;
    char *buffer;
    unsigned long long data_done, data_total;
    cfbp_zip_progress_fn progress;
    void *progress_data;
};

static la_ssize_t write_block(struct archive *archive, void *data, const void *block, size_t length)
{
    struct cfbp_zip *zip = data;
    int saved = cfbp_fs_write_all(zip->fd, block, length);
    if (saved) {
        zip->write_errno = saved;
        archive_set_error(archive, saved, "%s", strerror(saved));
        return -1;
    }
    cfbp_digest_update(&zip->digest, block, length);
    zip->written += length;
    return (la_ssize_t)length;
}

bool cfbp_zip_should_store(const char *name)
{
    static const char *const compressed[] = {
        ".tgz", ".gz",  ".xz",  ".txz", ".bz2", ".tbz2", ".zst",  ".lz4", ".zip",  ".jar",
        ".war", ".ear", ".whl", ".7z",  ".png", ".jpg",  ".jpeg", ".gif", ".webp", ".woff2",
    };
    size_t length = strlen(name);
    for (size_t i = 0; i < sizeof(compressed) / sizeof(*compressed); i++) {
        size_t suffix = strlen(compressed[i]);
        if (length >= suffix && strcasecmp(name + length - suffix, compressed[i]) == 0)
            return true;
    }
    return false;
}

static int zip_failure(struct cfbp_zip *zip, const char *what, struct cfbp_error *err)
{
    if (zip->write_errno)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, zip->write_errno, "cannot write %s",
                                    zip->path);
    return cfbp_error_set(err, CFBP_ERROR_IO, "cannot write %s into %s: %s", what, zip->path,
                          archive_error_string(zip->archive));
}

int cfbp_zip_open(struct cfbp_zip **out, const char *path, long long mtime, struct cfbp_error *err)
{
    struct cfbp_zip *zip = cfbp_xcalloc(1, sizeof(*zip));
    struct cfbp_strbuf temp = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&temp, "%s.partial-%ld", path, (long)getpid());
    zip->path = cfbp_xstrdup(path);
    zip->temp_path = cfbp_strbuf_detach(&temp, NULL);
    zip->mtime = mtime;
    zip->fd = open(zip->temp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (zip->fd < 0) {
        int result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot write %s", path);
        free(zip->path);
        free(zip->temp_path);
        free(zip);
        return result;
    }
    zip->buffer = cfbp_xmalloc(COPY_BLOCK);
    cfbp_digest_start(&zip->digest, CFBP_DIGEST_SHA256);
    zip->archive = archive_write_new();
    if (!zip->archive)
        cfbp_alloc_failed(0);
    if (archive_write_set_format_zip(zip->archive) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(zip->archive, 1) != ARCHIVE_OK ||
        archive_write_open(zip->archive, zip, NULL, write_block, NULL) != ARCHIVE_OK) {
        int result = zip_failure(zip, "the header", err);
        cfbp_zip_abandon(zip);
        return result;
    }
    *out = zip;
    return 0;
}

void cfbp_zip_set_progress(struct cfbp_zip *zip, unsigned long long total,
                           cfbp_zip_progress_fn progress, void *data)
{
    zip->data_total = total;
    zip->progress = progress;
    zip->progress_data = data;
}

static int write_header(struct cfbp_zip *zip, const char *name, mode_t mode, size_t size,
                        struct cfbp_error *err)
{
    struct archive_entry *entry = archive_entry_new();
    archive_entry_set_pathname(entry, name);
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, mode & 07777);
    archive_entry_set_size(entry, (la_int64_t)size);
    archive_entry_set_mtime(entry, (time_t)zip->mtime, 0);
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);
    if (cfbp_zip_should_store(name))
        archive_write_zip_set_compression_store(zip->archive);
    else
        archive_write_zip_set_compression_deflate(zip->archive);
    int status = archive_write_header(zip->archive, entry);
    archive_entry_free(entry);
    return status < ARCHIVE_WARN ? zip_failure(zip, name, err) : 0;
}

int cfbp_zip_add_bytes(struct cfbp_zip *zip, const char *name, const void *data, size_t length,
                       mode_t mode, struct cfbp_error *err)
{
    if (write_header(zip, name, mode, length, err) < 0)
        return -1;
    if (length && archive_write_data(zip->archive, data, length) != (la_ssize_t)length)
        return zip_failure(zip, name, err);
    return 0;
}

int cfbp_zip_add_file(struct cfbp_zip *zip, const char *name, const char *path, mode_t mode,
                      const char *expected_sha256, struct cfbp_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        return cfbp_error_set_errno(err, saved == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    saved, "cannot read %s", path);
    }
    int result = write_header(zip, name, mode, (size_t)st.st_size, err);
    struct cfbp_digest digest;
    if (expected_sha256)
        cfbp_digest_start(&digest, CFBP_DIGEST_SHA256);
    unsigned long long copied = 0;
    while (result == 0) {
        ssize_t got = cfbp_fs_read(fd, zip->buffer, COPY_BLOCK);
        if (got < 0) {
            result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot read %s", path);
            break;
        }
        if (got == 0)
            break;
        if (expected_sha256)
            cfbp_digest_update(&digest, zip->buffer, (size_t)got);
        if (archive_write_data(zip->archive, zip->buffer, (size_t)got) != got) {
            result = zip_failure(zip, name, err);
            break;
        }
        copied += (unsigned long long)got;
        zip->data_done += (unsigned long long)got;
        if (zip->progress)
            zip->progress(zip->progress_data, zip->data_done, zip->data_total);
    }
    close(fd);
    if (result == 0 && copied != (unsigned long long)st.st_size)
        result = cfbp_error_set(err, CFBP_ERROR_IO, "%s changed while it was being zipped", path);
    if (expected_sha256) {
        char actual[CFBP_DIGEST_HEX_SIZE];
        cfbp_digest_finish_hex(&digest, actual);
        if (result == 0 && strcmp(actual, expected_sha256) != 0)
            result = cfbp_error_set(err, CFBP_ERROR_CHECKSUM,
                                    "sha256 mismatch: expected sha256 %s, actual sha256 %s",
                                    expected_sha256, actual);
    }
    return result;
}

static void zip_free(struct cfbp_zip *zip)
{
    if (zip->archive)
        archive_write_free(zip->archive);
    if (zip->fd >= 0)
        close(zip->fd);
    if (zip->digest.context)
        cfbp_digest_release(&zip->digest);
    free(zip->buffer);
    free(zip->path);
    free(zip->temp_path);
    free(zip);
}

void cfbp_zip_abandon(struct cfbp_zip *zip)
{
    if (!zip)
        return;
    unlink(zip->temp_path);
    zip_free(zip);
}

int cfbp_zip_commit(struct cfbp_zip *zip, unsigned long long *size,
                    char sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    int result = 0;
    if (archive_write_close(zip->archive) != ARCHIVE_OK)
        result = zip_failure(zip, "the central directory", err);
    if (close(zip->fd) < 0 && result == 0)
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot write %s", zip->path);
    zip->fd = -1;
    if (result == 0 && rename(zip->temp_path, zip->path) < 0)
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot write %s", zip->path);
    if (result < 0) {
        cfbp_zip_abandon(zip);
        return -1;
    }
    cfbp_digest_finish_hex(&zip->digest, sha256);
    *size = zip->written;
    zip_free(zip);
    return 0;
}
