/*
 * download.c - one verified download (see download.h).
 *
 * The fetch writes and hashes a partial file; the stream, when there is one,
 * is fed from fetch's body callback. The feed keeps the position of the next
 * byte the reader expects: a retry that starts again from byte 0 skips what
 * was already sent (and the stream is then no longer known to be exact), and
 * the last byte received waits in the feed until the digest matched.
 */
#include "cfbp/download.h"

#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/fetch.h"
#include "cfbp/fs.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct feed {
    int fd;
    unsigned long long next; /* the stream offset of the next byte to send */
    bool held;               /* held is the byte at offset next, not yet sent */
    char held_byte;
    bool broken;    /* a send failed: the reader stopped reading */
    bool restarted; /* a retry began again after bytes had been sent */
    const struct cfbp_fetch_options *fetch;
};

static void feed_send(struct feed *feed, const char *bytes, size_t length)
{
    while (!feed->broken && length > 0) {
        ssize_t sent = send(feed->fd, bytes, length, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0) {
            feed->broken = true;
            return;
        }
        bytes += sent;
        length -= (size_t)sent;
    }
}

/* fetch's body callback: sends what the reader has not had, keeping the last byte back. */
static void feed_body(void *data, const char *bytes, size_t length, unsigned long long offset)
{
    struct feed *feed = data;
    const struct cfbp_fetch_options *fetch = feed->fetch;
    if (fetch->body)
        fetch->body(fetch->body_data, bytes, length, offset);
    unsigned long long stream_end = feed->next + (feed->held ? 1 : 0);
    if (offset == 0 && stream_end > 0)
        feed->restarted = true;
    if (offset + length <= stream_end || length == 0)
        return;
    size_t skip = offset < stream_end ? (size_t)(stream_end - offset) : 0;
    bytes += skip;
    length -= skip;
    if (feed->held) {
        feed_send(feed, &feed->held_byte, 1);
        feed->next++;
    }
    feed_send(feed, bytes, length - 1);
    feed->next += length - 1;
    feed->held_byte = bytes[length - 1];
    feed->held = true;
}

/* Compares the file's digest with the expected one. */
static int verify(const struct cfbp_download *download, const char *partial,
                  const char actual_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    if (download->sha256) {
        if (strcmp(actual_sha256, download->sha256) == 0)
            return 0;
        return cfbp_error_set(err, CFBP_ERROR_CHECKSUM,
                              "sha256 mismatch: expected sha256 %s, actual sha256 %s",
                              download->sha256, actual_sha256);
    }
    return cfbp_digest_check_file(CFBP_DIGEST_MD5, partial,
                                  download->md5 ? download->md5 : "(none)", err);
}

int cfbp_download_verified(struct cfbp_download *download, char actual_sha256[CFBP_DIGEST_HEX_SIZE],
                           struct cfbp_error *err)
{
    struct cfbp_strbuf partial = CFBP_STRBUF_INIT, directory = CFBP_STRBUF_INIT,
                       name = CFBP_STRBUF_INIT;
    cfbp_path_dirname(&directory, download->path);
    cfbp_path_join(&partial, directory.buf, ".");
    cfbp_strbuf_append_format(&partial, "%s.partial-XXXXXX",
                              cfbp_path_basename(&name, download->path));
    struct feed feed = {.fd = download->stream_fd, .fetch = download->fetch};
    struct cfbp_fetch_options options = *download->fetch;
    if (download->stream_fd >= 0) {
        options.body = feed_body;
        options.body_data = &feed;
    }
    download->stream_exact = false;
    actual_sha256[0] = '\0';
    int result = 0;
    int fd = mkostemp(partial.buf, O_CLOEXEC);
    if (fd < 0)
        result = cfbp_fs_write_error(err, errno, download->path);
    else
        close(fd);
    if (result == 0)
        result =
            cfbp_fetch_to_file(download->uri, partial.buf, &options, download->log, actual_sha256,
                               err); /* removes the partial file when it fails */
    if (result == 0)
        result = verify(download, partial.buf, actual_sha256, err);
    mode_t mode = download->mode ? download->mode : 0644;
    if (result == 0 && chmod(partial.buf, mode) < 0)
        result = cfbp_fs_write_error(err, errno, partial.buf);
    if (result == 0 && rename(partial.buf, download->path) < 0)
        result = cfbp_fs_write_error(err, errno, download->path);
    if (result < 0 && fd >= 0)
        unlink(partial.buf);
    if (download->stream_fd >= 0) {
        /* Only a verified download gives the reader its last byte. */
        if (result == 0 && feed.held)
            feed_send(&feed, &feed.held_byte, 1);
        download->stream_exact = result == 0 && !feed.restarted;
        shutdown(download->stream_fd, SHUT_WR);
    }
    cfbp_strbuf_release(&partial);
    cfbp_strbuf_release(&directory);
    cfbp_strbuf_release(&name);
    return result;
}
