/*
 * test_archive_pipeline.c - the reading thread of tar installs
 * (lib/archive_pipeline.h) and the parallel hash of zips: gzip files built
 * here byte by byte (header fields, concatenated members, damage), tars fed
 * through a FIFO and a stream socket by writer threads that are slow, stop
 * early or stall, and failures that must end the install promptly.
 */
#include "support.h"

#include "../../lib/archive_pipeline.h"
#include "cfbp/archive.h"
#include "cfbp/cancel.h"
#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

struct fixture {
    char *dir;
    char *dest;
    char *archive;
    struct cfbp_error err;
    char sha256[CFBP_DIGEST_HEX_SIZE];
};

static const struct test_entry tree[] = {
    {"pkg/", 'd', 0755, NULL, 0},
    {"pkg/bin/run", 'f', 0755, "#!/bin/sh\necho run\n", 0},
    {"pkg/README", 'f', 0644, "read me\n", 0},
    {"pkg/data.bin", 'r', 0644, NULL, 700000},
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->dest = test_path(fixture->dir, "dest");
    signal(SIGPIPE, SIG_IGN);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    cfbp_error_clear(&fixture->err);
    cfbp_cancel_reset();
    free(fixture->dest);
    free(fixture->archive);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

/* --- bytes --- */

static void read_bytes(const char *path, struct cfbp_strbuf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    char buffer[65536];
    ssize_t got;
    cfbp_strbuf_reset(out);
    while ((got = read(fd, buffer, sizeof(buffer))) > 0)
        cfbp_strbuf_append(out, buffer, (size_t)got);
    assert_int_equal(got, 0);
    close(fd);
}

static void write_bytes(const char *path, const char *data, size_t length)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, length), (ssize_t)length);
    close(fd);
}

/* The bytes of a tar holding tree. */
static void tar_of_tree(struct fixture *fixture, struct cfbp_strbuf *tar)
{
    char *path = test_path(fixture->dir, "tree.tar");
    test_make_archive(path, TEST_TAR, tree, sizeof(tree) / sizeof(*tree));
    read_bytes(path, tar);
    unlink(path);
    free(path);
}

static void append_le32(struct cfbp_strbuf *out, unsigned long value)
{
    for (int i = 0; i < 4; i++)
        cfbp_strbuf_append_char(out, (char)((value >> (8 * i)) & 0xff));
}

enum header_fields {
    FIELD_EXTRA = 1,
    FIELD_NAME = 2,
    FIELD_COMMENT = 4,
    FIELD_HEADER_CRC = 8,
    BAD_HEADER_CRC = 16,
    BAD_DATA_CRC = 32,
    LONG_FIELDS = 64 /* a name and a comment longer than an input block each */
};

/* Appends one gzip member (RFC 1952) holding data, with the header fields asked for. */
static void append_gzip_member(struct cfbp_strbuf *out, const char *data, size_t length,
                               unsigned fields)
{
    size_t start = out->len;
    unsigned char flags = (fields & FIELD_EXTRA ? 0x04 : 0) | (fields & FIELD_NAME ? 0x08 : 0) |
                          (fields & FIELD_COMMENT ? 0x10 : 0) |
                          (fields & (FIELD_HEADER_CRC | BAD_HEADER_CRC) ? 0x02 : 0);
    const char fixed[10] = {0x1f, (char)0x8b, 8, (char)flags, 1, 2, 3, 4, 0, 3};
    cfbp_strbuf_append(out, fixed, sizeof(fixed));
    if (fields & FIELD_EXTRA) {
        static const char extra[] = "AB\x04\x00wxyz";
        cfbp_strbuf_append_char(out, (char)(sizeof(extra) - 1));
        cfbp_strbuf_append_char(out, 0);
        cfbp_strbuf_append(out, extra, sizeof(extra) - 1);
    }
    for (int field = FIELD_NAME; field <= FIELD_COMMENT; field *= 2) {
        if (!(fields & field))
            continue;
        if (fields & LONG_FIELDS) {
            for (size_t i = 0; i < 300000; i++)
                cfbp_strbuf_append_char(out, field == FIELD_NAME ? 'n' : 'c');
            cfbp_strbuf_append_char(out, '\0');
        } else if (field == FIELD_NAME) {
            cfbp_strbuf_append(out, "tree.tar", sizeof("tree.tar"));
        } else {
            cfbp_strbuf_append(out, "made by a test", sizeof("made by a test"));
        }
    }
    if (fields & (FIELD_HEADER_CRC | BAD_HEADER_CRC)) {
        unsigned long crc =
            crc32(0L, (const unsigned char *)out->buf + start, (unsigned)(out->len - start));
        if (fields & BAD_HEADER_CRC)
            crc ^= 1;
        cfbp_strbuf_append_char(out, (char)(crc & 0xff));
        cfbp_strbuf_append_char(out, (char)((crc >> 8) & 0xff));
    }
    z_stream stream = {0};
    assert_int_equal(deflateInit2(&stream, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t bound = deflateBound(&stream, length);
    unsigned char *compressed = malloc(bound);
    stream.next_in = (unsigned char *)data;
    stream.avail_in = (unsigned)length;
    stream.next_out = compressed;
    stream.avail_out = (unsigned)bound;
    assert_int_equal(deflate(&stream, Z_FINISH), Z_STREAM_END);
    cfbp_strbuf_append(out, (char *)compressed, bound - stream.avail_out);
    deflateEnd(&stream);
    free(compressed);
    unsigned long crc = crc32(0L, (const unsigned char *)data, (unsigned)length);
    append_le32(out, fields & BAD_DATA_CRC ? crc ^ 0x100 : crc);
    append_le32(out, (unsigned long)length);
}

static const char *sha256_of(const char *data, size_t length)
{
    static char hex[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, data, length, hex);
    return hex;
}

static int install_file(struct fixture *fixture, const char *name, const char *expected)
{
    struct cfbp_archive_request request = {
        .source = fixture->archive,
        .file_name = name,
        .expected_sha256 = expected,
        .destination = fixture->dest,
    };
    cfbp_error_clear(&fixture->err);
    return cfbp_archive_install(&request, fixture->sha256, &fixture->err);
}

static int install_bytes(struct fixture *fixture, const char *name, const struct cfbp_strbuf *bytes,
                         bool with_sha)
{
    free(fixture->archive);
    fixture->archive = test_path(fixture->dir, name);
    write_bytes(fixture->archive, bytes->buf, bytes->len);
    char expected[CFBP_DIGEST_HEX_SIZE];
    strcpy(expected, sha256_of(bytes->buf, bytes->len));
    int result = install_file(fixture, name, with_sha ? expected : NULL);
    assert_string_equal(fixture->sha256, expected);
    return result;
}

static void assert_tree_installed(struct fixture *fixture)
{
    char *run = test_path(fixture->dest, "pkg/bin/run");
    char *text = test_read_file(run);
    assert_string_equal(text, "#!/bin/sh\necho run\n");
    struct stat st;
    assert_int_equal(stat(run, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    free(text);
    free(run);
    char *data = test_path(fixture->dest, "pkg/data.bin");
    assert_int_equal(stat(data, &st), 0);
    assert_int_equal(st.st_size, 700000);
    free(data);
}

static void remove_dest(struct fixture *fixture)
{
    char *command = NULL;
    assert_true(asprintf(&command, "rm -rf '%s'", fixture->dest) > 0);
    assert_int_equal(system(command), 0);
    free(command);
}

static void assert_message_has(struct fixture *fixture, const char *text)
{
    if (!strstr(fixture->err.message, text))
        fail_msg("'%s' is not in '%s'", text, fixture->err.message);
}

/* --- gzip --- */

static void every_gzip_header_field_is_read(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf tar = CFBP_STRBUF_INIT, gz = CFBP_STRBUF_INIT;
    tar_of_tree(fixture, &tar);
    static const unsigned variants[] = {0, FIELD_EXTRA, FIELD_NAME, FIELD_COMMENT, FIELD_HEADER_CRC,
                                        FIELD_EXTRA | FIELD_NAME | FIELD_COMMENT | FIELD_HEADER_CRC,
                                        /* a header that goes on over three input blocks */
                                        FIELD_EXTRA | FIELD_NAME | FIELD_COMMENT |
                                            FIELD_HEADER_CRC | LONG_FIELDS,
                                        FIELD_NAME | FIELD_COMMENT | LONG_FIELDS};
    for (size_t i = 0; i < sizeof(variants) / sizeof(*variants); i++)
        for (int with_sha = 0; with_sha < 2; with_sha++) {
            cfbp_strbuf_reset(&gz);
            append_gzip_member(&gz, tar.buf, tar.len, variants[i]);
            if (install_bytes(fixture, "dep.tgz", &gz, with_sha) < 0)
                fail_msg("fields %u: %s", variants[i], fixture->err.message);
            assert_tree_installed(fixture);
            remove_dest(fixture);
        }
    cfbp_strbuf_release(&tar);
    cfbp_strbuf_release(&gz);
}

/*
 * A header's CRC-16 is checked whenever the header has one, digest or not, as
 * gzip(1) and Go's compress/gzip (libbuildpack's reader) check it.
 */
static void a_damaged_header_crc_fails_even_with_a_digest(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf tar = CFBP_STRBUF_INIT, gz = CFBP_STRBUF_INIT;
    tar_of_tree(fixture, &tar);
    for (unsigned fields = FIELD_NAME; fields <= (FIELD_NAME | LONG_FIELDS); fields += LONG_FIELDS)
        for (int with_sha = 0; with_sha < 2; with_sha++) {
            cfbp_strbuf_reset(&gz);
            append_gzip_member(&gz, tar.buf, tar.len, fields | BAD_HEADER_CRC);
            assert_int_equal(install_bytes(fixture, "dep.tgz", &gz, with_sha), -1);
            assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
            assert_message_has(
                fixture, "cannot extract dep.tgz: gzip data is damaged (header crc mismatch)");
            assert_false(test_exists(fixture->dest));
        }
    cfbp_strbuf_release(&tar);
    cfbp_strbuf_release(&gz);
}

static void concatenated_members_are_one_stream(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf tar = CFBP_STRBUF_INIT, gz = CFBP_STRBUF_INIT;
    tar_of_tree(fixture, &tar);
    /* Cut anywhere, even inside a tar header. */
    size_t cuts[] = {0, 700, 300001, tar.len};
    for (size_t i = 0; i + 1 < sizeof(cuts) / sizeof(*cuts); i++)
        append_gzip_member(&gz, tar.buf + cuts[i], cuts[i + 1] - cuts[i],
                           i == 1 ? FIELD_NAME | FIELD_HEADER_CRC : 0);
    for (int with_sha = 0; with_sha < 2; with_sha++) {
        if (install_bytes(fixture, "dep.tgz", &gz, with_sha) < 0)
            fail_msg("%s", fixture->err.message);
        assert_tree_installed(fixture);
        remove_dest(fixture);
    }
    /* An empty member between the others changes nothing. */
    cfbp_strbuf_reset(&gz);
    append_gzip_member(&gz, tar.buf, 1024, 0);
    append_gzip_member(&gz, "", 0, 0);
    append_gzip_member(&gz, tar.buf + 1024, tar.len - 1024, 0);
    assert_int_equal(install_bytes(fixture, "dep.tgz", &gz, false), 0);
    assert_tree_installed(fixture);
    cfbp_strbuf_release(&tar);
    cfbp_strbuf_release(&gz);
}

static void trailing_bytes_after_the_last_member_are_ignored_but_hashed(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf tar = CFBP_STRBUF_INIT, gz = CFBP_STRBUF_INIT;
    tar_of_tree(fixture, &tar);
    append_gzip_member(&gz, tar.buf, tar.len, 0);
    cfbp_strbuf_append(&gz, "\0\0\0\0garbage that is not gzip", 28);
    for (int with_sha = 0; with_sha < 2; with_sha++) {
        /* install_bytes checks the digest covers the trailing bytes too */
        if (install_bytes(fixture, "dep.tgz", &gz, with_sha) < 0)
            fail_msg("%s", fixture->err.message);
        assert_tree_installed(fixture);
        remove_dest(fixture);
    }
    cfbp_strbuf_release(&tar);
    cfbp_strbuf_release(&gz);
}

static void truncated_gzip_fails(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf tar = CFBP_STRBUF_INIT, gz = CFBP_STRBUF_INIT, cut = CFBP_STRBUF_INIT;
    tar_of_tree(fixture, &tar);
    append_gzip_member(&gz, tar.buf, tar.len, FIELD_NAME);
    char full_sha[CFBP_DIGEST_HEX_SIZE];
    strcpy(full_sha, sha256_of(gz.buf, gz.len));
    /* Cut in the deflate data, in the header and in the trailer. */
    size_t lengths[] = {gz.len / 2, 12, gz.len - 3};
    for (size_t i = 0; i < sizeof(lengths) / sizeof(*lengths); i++) {
        cfbp_strbuf_reset(&cut);
        cfbp_strbuf_append(&cut, gz.buf, lengths[i]);
        assert_int_equal(install_bytes(fixture, "dep.tgz", &cut, false), -1);
        assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
        assert_message_has(fixture, "cannot extract dep.tgz: truncated gzip input");
        assert_false(test_exists(fixture->dest));
        /* Against the digest of the whole file: the digest says what happened. */
        assert_int_equal(install_file(fixture, "dep.tgz", full_sha), -1);
        assert_int_equal(fixture->err.kind, CFBP_ERROR_CHECKSUM);
        assert_false(test_exists(fixture->dest));
    }
    /*
     * Cut in the trailer, after the whole tar: with a digest that matches,
     * what the tar needed is all there and the digest vouches for the bytes.
     */
    assert_int_equal(install_bytes(fixture, "dep.tgz", &cut, true), 0);
    assert_tree_installed(fixture);
    cfbp_strbuf_release(&tar);
    cfbp_strbuf_release(&gz);
    cfbp_strbuf_release(&cut);
}

static void a_wrong_crc_fails_only_without_a_digest(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf tar = CFBP_STRBUF_INIT, gz = CFBP_STRBUF_INIT;
    tar_of_tree(fixture, &tar);
    append_gzip_member(&gz, tar.buf, tar.len, BAD_DATA_CRC);
    assert_int_equal(install_bytes(fixture, "dep.tgz", &gz, false), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    assert_message_has(fixture, "gzip data is damaged (incorrect data check)");
    assert_false(test_exists(fixture->dest));
    assert_int_equal(install_bytes(fixture, "dep.tgz", &gz, true), 0);
    assert_tree_installed(fixture);
    cfbp_strbuf_release(&tar);
    cfbp_strbuf_release(&gz);
}

static void a_tgz_that_is_a_plain_tar_is_extracted(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf tar = CFBP_STRBUF_INIT;
    tar_of_tree(fixture, &tar);
    /* as libarchive did: data that is not gzip is read as it is */
    assert_int_equal(install_bytes(fixture, "dep.tgz", &tar, true), 0);
    assert_tree_installed(fixture);
    cfbp_strbuf_release(&tar);
}

/* --- small files, decoded without a thread --- */

static const struct test_entry zeros_tree[] = {
    {"pkg/", 'd', 0755, NULL, 0},
    {"pkg/bin/run", 'f', 0755, "#!/bin/sh\necho run\n", 0},
    {"pkg/zeros", 'z', 0644, NULL, 3 << 20},
};

static void tar_of_zeros(struct fixture *fixture, struct cfbp_strbuf *tar)
{
    char *path = test_path(fixture->dir, "zeros.tar");
    test_make_archive(path, TEST_TAR, zeros_tree, sizeof(zeros_tree) / sizeof(*zeros_tree));
    read_bytes(path, tar);
    unlink(path);
    free(path);
}

static void assert_zeros_installed(struct fixture *fixture)
{
    char *run = test_path(fixture->dest, "pkg/bin/run");
    char *text = test_read_file(run);
    assert_string_equal(text, "#!/bin/sh\necho run\n");
    free(text);
    free(run);
    char *zeros = test_path(fixture->dest, "pkg/zeros");
    struct stat st;
    assert_int_equal(stat(zeros, &st), 0);
    assert_int_equal(st.st_size, 3 << 20);
    free(zeros);
}

/* Installs bytes written after a prefix, from a descriptor at the end of the prefix. */
static int install_after_prefix(struct fixture *fixture, const struct cfbp_strbuf *bytes,
                                bool with_sha)
{
    free(fixture->archive);
    fixture->archive = test_path(fixture->dir, "prefixed");
    struct cfbp_strbuf file = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&file, "not part of it");
    cfbp_strbuf_append(&file, bytes->buf, bytes->len);
    write_bytes(fixture->archive, file.buf, file.len);
    cfbp_strbuf_release(&file);
    int fd = open(fixture->archive, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(lseek(fd, 14, SEEK_SET), 14);
    char expected[CFBP_DIGEST_HEX_SIZE];
    strcpy(expected, sha256_of(bytes->buf, bytes->len));
    struct cfbp_archive_request request = {
        .source = fixture->archive,
        .file_name = "dep.tgz",
        .expected_sha256 = with_sha ? expected : NULL,
        .destination = fixture->dest,
    };
    cfbp_error_clear(&fixture->err);
    int result = cfbp_archive_install_fd(&request, fd, fixture->sha256, &fixture->err);
    close(fd);
    assert_string_equal(fixture->sha256, expected);
    return result;
}

/*
 * A small .tgz is decoded on the extracting thread when gzip's recorded
 * length says its output fits in a few blocks. When that record is wrong
 * (another member follows, or it lies), the run runs out of room: the file
 * is read again from where it started, on a thread, with a fresh digest.
 */
static void a_small_file_that_outgrows_its_inline_run_is_read_again(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf tar = CFBP_STRBUF_INIT, gz = CFBP_STRBUF_INIT;
    tar_of_zeros(fixture, &tar);
    /* Records 3 MiB: no inline run at all. */
    append_gzip_member(&gz, tar.buf, tar.len, 0);
    assert_true(gz.len < PIPELINE_BLOCK_SIZE);
    assert_int_equal(install_bytes(fixture, "dep.tgz", &gz, false), 0);
    assert_zeros_installed(fixture);
    remove_dest(fixture);
    /* An empty member last: the record says 0 bytes. */
    append_gzip_member(&gz, "", 0, 0);
    for (int with_sha = 0; with_sha < 2; with_sha++) {
        if (install_bytes(fixture, "dep.tgz", &gz, with_sha) < 0)
            fail_msg("%s", fixture->err.message);
        assert_zeros_installed(fixture);
        remove_dest(fixture);
        if (install_after_prefix(fixture, &gz, with_sha) < 0)
            fail_msg("from an offset: %s", fixture->err.message);
        assert_zeros_installed(fixture);
        remove_dest(fixture);
    }
    /* One member whose recorded length lies: the digest decides, or the check fails. */
    cfbp_strbuf_reset(&gz);
    append_gzip_member(&gz, tar.buf, tar.len, 0);
    gz.buf[gz.len - 4] = 100;
    gz.buf[gz.len - 3] = gz.buf[gz.len - 2] = gz.buf[gz.len - 1] = 0;
    assert_int_equal(install_bytes(fixture, "dep.tgz", &gz, true), 0);
    assert_zeros_installed(fixture);
    remove_dest(fixture);
    assert_int_equal(install_bytes(fixture, "dep.tgz", &gz, false), -1);
    assert_message_has(fixture, "check");
    assert_false(test_exists(fixture->dest));
    cfbp_strbuf_release(&tar);
    cfbp_strbuf_release(&gz);
}

/* What fits is decoded inline, damage and all: the same outcomes as on a thread. */
static void small_files_decoded_inline_fail_as_on_a_thread(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry small[] = {
        {"pkg/bin/run", 'f', 0755, "#!/bin/sh\necho run\n", 0},
        {"pkg/data", 'r', 0644, NULL, 40000},
    };
    char *path = test_path(fixture->dir, "small.tar");
    test_make_archive(path, TEST_TAR, small, 2);
    struct cfbp_strbuf tar = CFBP_STRBUF_INIT, gz = CFBP_STRBUF_INIT, cut = CFBP_STRBUF_INIT;
    read_bytes(path, &tar);
    append_gzip_member(&gz, tar.buf, tar.len, 0);
    assert_int_equal(install_bytes(fixture, "dep.tgz", &gz, false), 0);
    remove_dest(fixture);
    /* A plain tar too. */
    assert_int_equal(install_bytes(fixture, "dep.tar", &tar, true), 0);
    remove_dest(fixture);
    /* Cut short. */
    cfbp_strbuf_append(&cut, gz.buf, gz.len / 2);
    assert_int_equal(install_bytes(fixture, "dep.tgz", &cut, false), -1);
    assert_message_has(fixture, "truncated gzip input");
    assert_false(test_exists(fixture->dest));
    /* A wrong CRC without a digest. */
    cfbp_strbuf_reset(&gz);
    append_gzip_member(&gz, tar.buf, tar.len, BAD_DATA_CRC);
    assert_int_equal(install_bytes(fixture, "dep.tgz", &gz, false), -1);
    assert_message_has(fixture, "incorrect data check");
    /* ... and with a wrong digest. */
    assert_int_equal(install_file(fixture, "dep.tgz", sha256_of("other", 5)), -1);
    assert_message_has(fixture, "sha256 mismatch");
    assert_false(test_exists(fixture->dest));
    unlink(path);
    free(path);
    cfbp_strbuf_release(&tar);
    cfbp_strbuf_release(&gz);
    cfbp_strbuf_release(&cut);
}

/* --- streams: a FIFO and a socket --- */

struct writer {
    int fd;           /* the socket's end, or -1 to open path */
    const char *path; /* the FIFO */
    const char *data;
    size_t length;
    size_t chunk;
    useconds_t pause;
    size_t stop_after; /* then wait for release before closing */
    int release[2];    /* a pipe: closed by the test to release the writer */
    pthread_t thread;
};

static void *write_slowly(void *data)
{
    struct writer *writer = data;
    int fd = writer->fd >= 0 ? writer->fd : open(writer->path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t limit = writer->stop_after ? writer->stop_after : writer->length;
    for (size_t done = 0; done < limit;) {
        size_t size = limit - done < writer->chunk ? limit - done : writer->chunk;
        ssize_t wrote = write(fd, writer->data + done, size);
        if (wrote <= 0)
            break;
        done += (size_t)wrote;
        if (writer->pause)
            usleep(writer->pause);
    }
    if (writer->stop_after) {
        char byte;
        while (read(writer->release[0], &byte, 1) > 0) {
        }
    }
    if (writer->fd >= 0)
        shutdown(fd, SHUT_WR);
    close(fd);
    return NULL;
}

static void writer_start(struct writer *writer)
{
    assert_int_equal(pipe(writer->release), 0);
    assert_int_equal(pthread_create(&writer->thread, NULL, write_slowly, writer), 0);
}

static void writer_finish(struct writer *writer)
{
    close(writer->release[1]);
    pthread_join(writer->thread, NULL);
    close(writer->release[0]);
}

static char *make_fifo(struct fixture *fixture, const char *name)
{
    free(fixture->archive);
    fixture->archive = test_path(fixture->dir, name);
    assert_int_equal(mkfifo(fixture->archive, 0600), 0);
    return fixture->archive;
}

static double seconds_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void a_slow_writer_through_a_fifo(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf tar = CFBP_STRBUF_INIT, gz = CFBP_STRBUF_INIT;
    tar_of_tree(fixture, &tar);
    append_gzip_member(&gz, tar.buf, tar.len / 3, FIELD_NAME);
    append_gzip_member(&gz, tar.buf + tar.len / 3, tar.len - tar.len / 3, 0);
    static const struct {
        const char *name;
        bool gzip;
    } kinds[] = {{"dep.tgz", true}, {"dep.tar", false}};
    for (size_t i = 0; i < 2; i++) {
        const struct cfbp_strbuf *bytes = kinds[i].gzip ? &gz : &tar;
        make_fifo(fixture, kinds[i].name);
        struct writer writer = {.fd = -1,
                                .path = fixture->archive,
                                .data = bytes->buf,
                                .length = bytes->len,
                                .chunk = 7001,
                                .pause = 200};
        writer_start(&writer);
        char expected[CFBP_DIGEST_HEX_SIZE];
        strcpy(expected, sha256_of(bytes->buf, bytes->len));
        if (install_file(fixture, kinds[i].name, expected) < 0)
            fail_msg("%s: %s", kinds[i].name, fixture->err.message);
        writer_finish(&writer);
        assert_string_equal(fixture->sha256, expected);
        assert_tree_installed(fixture);
        remove_dest(fixture);
        unlink(fixture->archive);
    }
    cfbp_strbuf_release(&tar);
    cfbp_strbuf_release(&gz);
}

static void a_writer_that_stops_early(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf tar = CFBP_STRBUF_INIT, gz = CFBP_STRBUF_INIT;
    tar_of_tree(fixture, &tar);
    append_gzip_member(&gz, tar.buf, tar.len, 0);
    char expected[CFBP_DIGEST_HEX_SIZE];
    strcpy(expected, sha256_of(gz.buf, gz.len));
    for (int with_sha = 0; with_sha < 2; with_sha++) {
        make_fifo(fixture, "dep.tgz");
        struct writer writer = {.fd = -1,
                                .path = fixture->archive,
                                .data = gz.buf,
                                .length = gz.len / 2,
                                .chunk = 65536};
        writer_start(&writer);
        assert_int_equal(install_file(fixture, "dep.tgz", with_sha ? expected : NULL), -1);
        writer_finish(&writer);
        /* All the writer sent was read: the digest is compared, and differs. */
        assert_int_equal(fixture->err.kind, with_sha ? CFBP_ERROR_CHECKSUM : CFBP_ERROR_INVALID);
        assert_message_has(fixture, "truncated gzip input");
        assert_false(test_exists(fixture->dest));
        unlink(fixture->archive);
    }
    cfbp_strbuf_release(&tar);
    cfbp_strbuf_release(&gz);
}

static void an_unsafe_member_ends_a_stalled_stream_promptly(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry hostile[] = {
        {"../escape", 'f', 0644, "out\n", 0},
        {"big", 'r', 0644, NULL, 2000000},
    };
    char *path = test_path(fixture->dir, "hostile.tgz");
    test_make_archive(path, TEST_TGZ, hostile, 2);
    struct cfbp_strbuf gz = CFBP_STRBUF_INIT;
    read_bytes(path, &gz);
    make_fifo(fixture, "dep.tgz");
    /* The writer sends the first member, then stalls without closing. */
    struct writer writer = {.fd = -1,
                            .path = fixture->archive,
                            .data = gz.buf,
                            .length = gz.len,
                            .chunk = 4096,
                            .stop_after = 4096};
    writer_start(&writer);
    double started = seconds_now();
    assert_int_equal(install_file(fixture, "dep.tgz", sha256_of(gz.buf, gz.len)), -1);
    double took = seconds_now() - started;
    writer_finish(&writer);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_UNSAFE_ARCHIVE);
    if (took > 2.0)
        fail_msg("the install took %.1f s after its extraction failed", took);
    assert_false(test_exists(fixture->dest));
    free(path);
    cfbp_strbuf_release(&gz);
}

static void *cancel_later(void *data)
{
    (void)data;
    usleep(300000);
    cfbp_cancel_request(SIGINT);
    return NULL;
}

static void cancelling_wakes_a_reader_waiting_for_input(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf tar = CFBP_STRBUF_INIT, gz = CFBP_STRBUF_INIT;
    tar_of_tree(fixture, &tar);
    append_gzip_member(&gz, tar.buf, tar.len, 0);
    static const char *const names[] = {"dep.tgz", "dep.tar"};
    for (size_t i = 0; i < 2; i++) {
        const struct cfbp_strbuf *bytes = i == 0 ? &gz : &tar;
        make_fifo(fixture, names[i]);
        struct writer writer = {.fd = -1,
                                .path = fixture->archive,
                                .data = bytes->buf,
                                .length = bytes->len,
                                .chunk = 4096,
                                .stop_after = 100000};
        writer_start(&writer);
        pthread_t canceller;
        assert_int_equal(pthread_create(&canceller, NULL, cancel_later, NULL), 0);
        double started = seconds_now();
        assert_int_equal(install_file(fixture, names[i], NULL), -1);
        double took = seconds_now() - started;
        pthread_join(canceller, NULL);
        writer_finish(&writer);
        assert_int_equal(fixture->err.kind, CFBP_ERROR_CANCELLED);
        if (took > 3.0)
            fail_msg("the install took %.1f s to notice the cancel request", took);
        assert_false(test_exists(fixture->dest));
        cfbp_cancel_reset();
        unlink(fixture->archive);
    }
    cfbp_strbuf_release(&tar);
    cfbp_strbuf_release(&gz);
}

/* The pipeline alone, on a stream socket: it gives back the tar, and the digest of the gzip. */
static void a_stream_socket_gives_the_whole_tar(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf tar = CFBP_STRBUF_INIT, gz = CFBP_STRBUF_INIT, out = CFBP_STRBUF_INIT;
    tar_of_tree(fixture, &tar);
    append_gzip_member(&gz, tar.buf, tar.len, FIELD_COMMENT);
    append_gzip_member(&gz, "", 0, 0);
    int ends[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends), 0);
    struct writer writer = {
        .fd = ends[1], .data = gz.buf, .length = gz.len, .chunk = 1500, .pause = 50};
    writer_start(&writer);
    struct archive_pipeline *pipeline =
        cfbpi_archive_pipeline_start(ends[0], CFBP_ARCHIVE_TAR_GZ, true);
    assert_non_null(pipeline);
    const void *block;
    ssize_t got;
    while ((got = cfbpi_archive_pipeline_next(pipeline, &block)) > 0) {
        assert_true(got <= PIPELINE_BLOCK_SIZE);
        cfbp_strbuf_append(&out, block, (size_t)got);
    }
    assert_int_equal(got, 0);
    struct archive_pipeline_outcome outcome;
    cfbpi_archive_pipeline_finish(pipeline, true, &outcome);
    writer_finish(&writer);
    close(ends[0]);
    assert_true(outcome.complete);
    assert_false(outcome.cancelled);
    assert_int_equal(outcome.read_errno, 0);
    assert_null(outcome.integrity_error);
    assert_string_equal(outcome.sha256, sha256_of(gz.buf, gz.len));
    assert_int_equal(out.len, tar.len);
    assert_memory_equal(out.buf, tar.buf, tar.len);
    cfbpi_archive_pipeline_outcome_release(&outcome);
    cfbp_strbuf_release(&tar);
    cfbp_strbuf_release(&gz);
    cfbp_strbuf_release(&out);
}

/*
 * An extractor that gives up while the reader waits: on a socket that
 * stalls, finishing returns at once with a digest marked incomplete; on a
 * regular file whose reader is blocked on a full ring, the rest of the file
 * is hashed (that cannot block) and the digest is complete.
 */
static void giving_up_never_waits_for_a_stalled_writer(void **state)
{
    struct fixture *fixture = *state;
    size_t size = 24 * PIPELINE_BLOCK_SIZE;
    char *data = malloc(size);
    for (size_t i = 0; i < size; i++)
        data[i] = (char)(i * 7 + i / 4096);
    int ends[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends), 0);
    struct writer writer = {
        .fd = ends[1], .data = data, .length = size, .chunk = 65536, .stop_after = 100000};
    writer_start(&writer);
    struct archive_pipeline *pipeline =
        cfbpi_archive_pipeline_start(ends[0], CFBP_ARCHIVE_TAR, false);
    const void *block;
    assert_true(cfbpi_archive_pipeline_next(pipeline, &block) > 0);
    double started = seconds_now();
    struct archive_pipeline_outcome outcome;
    cfbpi_archive_pipeline_finish(pipeline, false, &outcome);
    assert_true(seconds_now() - started < 1.0);
    assert_false(outcome.complete);
    writer_finish(&writer);
    close(ends[0]);

    free(fixture->archive);
    fixture->archive = test_path(fixture->dir, "big.tar");
    write_bytes(fixture->archive, data, size);
    int fd = open(fixture->archive, O_RDONLY | O_CLOEXEC);
    pipeline = cfbpi_archive_pipeline_start(fd, CFBP_ARCHIVE_TAR, false);
    assert_true(cfbpi_archive_pipeline_next(pipeline, &block) > 0);
    usleep(100000); /* the reader fills the ring and waits */
    cfbpi_archive_pipeline_finish(pipeline, false, &outcome);
    close(fd);
    assert_true(outcome.complete);
    assert_string_equal(outcome.sha256, sha256_of(data, size));
    free(data);
}

/* --- zip: hashed by a second thread --- */

static void a_zip_is_placed_only_when_its_parallel_digest_matches(void **state)
{
    struct fixture *fixture = *state;
    free(fixture->archive);
    fixture->archive = test_path(fixture->dir, "dep.zip");
    test_make_archive(fixture->archive, TEST_ZIP, tree, sizeof(tree) / sizeof(*tree));
    char actual[CFBP_DIGEST_HEX_SIZE];
    strcpy(actual, test_sha256_of_file(fixture->archive));
    const char *wrong = "0000000000000000000000000000000000000000000000000000000000000000";
    assert_int_equal(install_file(fixture, "dep.zip", wrong), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_CHECKSUM);
    char *expected_message = NULL;
    assert_true(asprintf(&expected_message, "sha256 mismatch: expected sha256 %s, actual sha256 %s",
                         wrong, actual) > 0);
    assert_string_equal(fixture->err.message, expected_message);
    free(expected_message);
    assert_string_equal(fixture->sha256, actual);
    assert_false(test_exists(fixture->dest));
    /* A mismatch is reported as such even when the zip could not be extracted either. */
    static const struct test_entry hostile[] = {{"../escape", 'f', 0644, "out\n", 0}};
    test_make_archive(fixture->archive, TEST_ZIP, hostile, 1);
    assert_int_equal(install_file(fixture, "dep.zip", wrong), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_CHECKSUM);
    assert_false(test_exists(fixture->dest));
    /* and the right digest installs it */
    test_make_archive(fixture->archive, TEST_ZIP, tree, sizeof(tree) / sizeof(*tree));
    assert_int_equal(install_file(fixture, "dep.zip", actual), 0);
    assert_tree_installed(fixture);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    test_use_write_queue_setting();
    const struct CMUnitTest tests[] = {
        TEST(every_gzip_header_field_is_read),
        TEST(a_damaged_header_crc_fails_even_with_a_digest),
        TEST(concatenated_members_are_one_stream),
        TEST(trailing_bytes_after_the_last_member_are_ignored_but_hashed),
        TEST(truncated_gzip_fails),
        TEST(a_wrong_crc_fails_only_without_a_digest),
        TEST(a_tgz_that_is_a_plain_tar_is_extracted),
        TEST(a_small_file_that_outgrows_its_inline_run_is_read_again),
        TEST(small_files_decoded_inline_fail_as_on_a_thread),
        TEST(a_slow_writer_through_a_fifo),
        TEST(a_writer_that_stops_early),
        TEST(an_unsafe_member_ends_a_stalled_stream_promptly),
        TEST(cancelling_wakes_a_reader_waiting_for_input),
        TEST(a_stream_socket_gives_the_whole_tar),
        TEST(giving_up_never_waits_for_a_stalled_writer),
        TEST(a_zip_is_placed_only_when_its_parallel_digest_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
