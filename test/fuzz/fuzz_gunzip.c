/*
 * fuzz_gunzip.c - the gzip side of extraction (lib/archive_pipeline.c): any
 * bytes named .tgz are read by ISA-L's igzip on the reader thread and their
 * tar by libarchive on the extracting one.
 *
 * Besides crashes, sanitizer reports, leaks and hangs (a thread waiting for
 * the other forever), the properties:
 *
 *  - the CRC-32 is skipped when a SHA-256 is expected, so a file that installs
 *    when gzip's own checks are made must install, the same tree, when only
 *    its digest is checked; and an install that fails leaves no destination;
 *
 *  - the pipeline's bytes are zlib's: the input goes through the pipeline
 *    (every block read) from the file and from a pipe fed in small chunks (so
 *    that headers, trailers and members are split across reads), integrity
 *    checked, and from the file once more with the trailers skipped (no
 *    CRC-32 then hides wrong bytes); and through a reference decoder here,
 *    zlib's raw inflate with the pipeline's rules for members. When the
 *    reference decodes it all, the pipeline must give the same bytes and end
 *    well; when the reference finds it truncated or damaged, the pipeline
 *    must fail, having given a prefix of what the reference decoded, and say
 *    so in the same words from the file and from the pipe. Either way the
 *    digest covers the whole input. The one difference allowed is igzip's
 *    (see incomplete_code): it takes incomplete Huffman codes.
 */
#include "fuzz_support.h"

#include "../../lib/archive_pipeline.h"
#include "cfbp/alloc.h"
#include "cfbp/archive.h"
#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Names, kinds, sizes and contents of a tree, one line each, sorted as listed. */
static void describe_line(const char *path, const char *relative, const struct stat *st,
                          struct cfbp_strbuf *out)
{
    if (!st)
        return;
    cfbp_strbuf_append_format(out, "%s %o %lld", relative, (unsigned)(st->st_mode & S_IFMT),
                              (long long)st->st_size);
    if (S_ISREG(st->st_mode)) {
        char hex[CFBP_DIGEST_HEX_SIZE];
        struct cfbp_error err = CFBP_ERROR_INIT;
        if (cfbp_digest_of_file(CFBP_DIGEST_SHA256, path, hex, &err) < 0)
            fuzz_fail("%s", err.message);
        cfbp_strbuf_append_format(out, " %s", hex);
    }
    cfbp_strbuf_append_char(out, '\n');
}

/* Installs source into destination; returns 0 or -1 and leaves the message in err. */
static int install(const char *source, const char *destination, const char *sha256,
                   struct cfbp_error *err)
{
    struct cfbp_archive_request request = {
        .source = source,
        .file_name = "dependency.tgz",
        .expected_sha256 = sha256,
        .destination = destination,
    };
    char actual[CFBP_DIGEST_HEX_SIZE];
    int result = cfbp_archive_install(&request, actual, err);
    if (result < 0 && cfbp_fs_exists(destination))
        fuzz_fail("a failed install left %s: %s", destination, err->message);
    return result;
}

/* --- the reference: zlib's raw inflate, with the pipeline's rules for members --- */

enum reference_end { REFERENCE_DECODED, REFERENCE_TRUNCATED, REFERENCE_DAMAGED };

struct reference {
    struct cfbp_strbuf out; /* what zlib decoded, up to where it stopped */
    enum reference_end end;
    char why[128]; /* of REFERENCE_DAMAGED */
    bool exact;    /* the pipeline must say "gzip data is damaged (<why>)" */
    /* zlib refused a Huffman code that igzip takes: igzip checks the codes for too many
     * lengths but not for too few (an incomplete code), so the pipeline may decode on
     * where zlib stopped; it must still fail (the CRC-32), having given zlib's bytes first. */
    bool incomplete_code;
};

#define GZIP_FHCRC    0x02
#define GZIP_FEXTRA   0x04
#define GZIP_FNAME    0x08
#define GZIP_FCOMMENT 0x10
#define GZIP_RESERVED 0xe0

static void reference_damaged(struct reference *ref, const char *why, bool exact)
{
    ref->end = REFERENCE_DAMAGED;
    snprintf(ref->why, sizeof(ref->why), "%s", why ? why : "zlib says nothing");
    ref->exact = exact;
}

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Whether the 4 bytes at p may start a member after another: magic, deflate, no reserved flag. */
static bool member_start(const uint8_t *p)
{
    return p[0] == 0x1f && p[1] == 0x8b && p[2] == 8 && (p[3] & GZIP_RESERVED) == 0;
}

/* The end of the member's header starting at data + at (all of it there), or 0 when truncated. */
static size_t reference_header(const uint8_t *data, size_t size, size_t at, struct reference *ref)
{
    if (size - at < 10)
        return 0;
    unsigned flags = data[at + 3];
    size_t p = at + 10;
    if (flags & GZIP_FEXTRA) {
        if (size - p < 2)
            return 0;
        size_t extra = (size_t)data[p] | (size_t)data[p + 1] << 8;
        p += 2;
        if (size - p < extra)
            return 0;
        p += extra;
    }
    for (unsigned field = GZIP_FNAME; field <= GZIP_FCOMMENT; field <<= 1) {
        if (!(flags & field))
            continue;
        const uint8_t *nul = memchr(data + p, 0, size - p);
        if (!nul)
            return 0;
        p = (size_t)(nul - data) + 1;
    }
    if (flags & GZIP_FHCRC) {
        if (size - p < 2)
            return 0;
        uLong crc = crc32(0L, data + at, (uInt)(p - at));
        if ((crc & 0xffff) != ((unsigned)data[p] | (unsigned)data[p + 1] << 8)) {
            reference_damaged(ref, "header crc mismatch", false);
            return 0;
        }
        p += 2;
    }
    return p;
}

/* Inflates the deflate data at data + *at into ref->out; advances *at past it, or fails. */
static int reference_inflate(const uint8_t *data, size_t size, size_t *at, struct reference *ref)
{
    z_stream stream = {0};
    if (inflateInit2(&stream, -MAX_WBITS) != Z_OK)
        fuzz_fail("inflateInit2 failed");
    stream.next_in = (Bytef *)(data + *at);
    stream.avail_in = (uInt)(size - *at);
    int status;
    do {
        cfbp_strbuf_grow(&ref->out, 65536);
        stream.next_out = (Bytef *)ref->out.buf + ref->out.len;
        stream.avail_out = 65536;
        status = inflate(&stream, Z_NO_FLUSH);
        cfbp_strbuf_set_length(&ref->out, ref->out.len + (65536 - stream.avail_out));
    } while (status == Z_OK);
    int result = 0;
    if (status == Z_DATA_ERROR) {
        reference_damaged(ref, stream.msg, false);
        ref->incomplete_code = strcmp(ref->why, "invalid code lengths set") == 0 ||
                               strcmp(ref->why, "invalid literal/lengths set") == 0 ||
                               strcmp(ref->why, "invalid distances set") == 0;
        result = -1;
    } else if (status == Z_BUF_ERROR && stream.avail_in == 0) {
        ref->end = REFERENCE_TRUNCATED;
        result = -1;
    } else if (status != Z_STREAM_END) {
        fuzz_fail("zlib's inflate returned %d", status);
    }
    *at += stream.total_in;
    inflateEnd(&stream);
    return result;
}

/*
 * What the pipeline must make of data of kind CFBP_ARCHIVE_TAR_GZ, every block
 * read: without check_integrity, the trailers are skipped, so this compares
 * the inflating itself, with no CRC-32 to catch wrong bytes.
 */
static void reference_gunzip(const uint8_t *data, size_t size, bool check_integrity,
                             struct reference *ref)
{
    ref->end = REFERENCE_DECODED;
    if (size < 2 || data[0] != 0x1f || data[1] != 0x8b) {
        cfbp_strbuf_append(&ref->out, data, size); /* not gzip: passed through */
        return;
    }
    size_t at = 0;
    for (bool first = true;; first = false) {
        if (!first && (size - at < 4 || !member_start(data + at)))
            return; /* trailing bytes, ignored */
        if (first && size >= 3 && data[2] != 8)
            return reference_damaged(ref, "unknown compression method", true);
        if (first && size >= 4 && (data[3] & GZIP_RESERVED))
            return reference_damaged(ref, "unknown header flags set", true);
        size_t member_out = ref->out.len;
        size_t body = reference_header(data, size, at, ref);
        if (body == 0) {
            if (ref->end == REFERENCE_DECODED)
                ref->end = REFERENCE_TRUNCATED;
            return;
        }
        at = body;
        if (reference_inflate(data, size, &at, ref) < 0)
            return;
        if (size - at < 8) {
            ref->end = REFERENCE_TRUNCATED;
            return;
        }
        uLong crc = crc32(0L, Z_NULL, 0);
        for (size_t done = member_out; done < ref->out.len;) {
            size_t part = ref->out.len - done > (1u << 30) ? (1u << 30) : ref->out.len - done;
            crc = crc32(crc, (const Bytef *)ref->out.buf + done, (uInt)part);
            done += part;
        }
        if (check_integrity && load_le32(data + at) != (uint32_t)crc)
            return reference_damaged(ref, "incorrect data check", false);
        if (check_integrity && load_le32(data + at + 4) != (uint32_t)(ref->out.len - member_out))
            return reference_damaged(ref, "incorrect length check", false);
        at += 8;
    }
}

/* --- the pipeline, from a file or from a pipe fed in chunks --- */

struct run {
    struct cfbp_strbuf out;
    ssize_t last;  /* what cfbpi_archive_pipeline_next() returned last: 0 or -1 */
    char *message; /* cfbpi_archive_pipeline_message() after -1, or the integrity error */
    struct archive_pipeline_outcome outcome;
};

static void run_pipeline(int fd, bool check_integrity, struct run *run)
{
    struct archive_pipeline *pipeline =
        cfbpi_archive_pipeline_start(fd, CFBP_ARCHIVE_TAR_GZ, check_integrity);
    if (!pipeline)
        fuzz_fail("cannot start a pipeline: %s", strerror(errno));
    const void *block;
    ssize_t got;
    while ((got = cfbpi_archive_pipeline_next(pipeline, &block)) > 0)
        cfbp_strbuf_append(&run->out, block, (size_t)got);
    run->last = got;
    if (got < 0)
        run->message = cfbp_xstrdup(cfbpi_archive_pipeline_message(pipeline));
    cfbpi_archive_pipeline_finish(pipeline, true, &run->outcome);
    if (got == 0 && run->outcome.integrity_error)
        run->message = cfbp_xstrdup(run->outcome.integrity_error);
}

static void run_release(struct run *run)
{
    cfbp_strbuf_release(&run->out);
    free(run->message);
    cfbpi_archive_pipeline_outcome_release(&run->outcome);
}

struct writer {
    const uint8_t *data;
    size_t size;
    uint64_t seed;
    int write_end, read_end;
    atomic_bool give_up;
    pthread_t thread;
};

static uint64_t next_random(uint64_t *state)
{
    *state = *state * 6364136223846793005u + 1442695040888963407u;
    return *state >> 33;
}

/*
 * Writes the input in chunks of sizes drawn from its own hash, each once the
 * pipe is empty, so that every read of the pipeline gets exactly one chunk.
 */
static void *write_chunks(void *data)
{
    struct writer *writer = data;
    uint64_t state = writer->seed;
    size_t at = 0;
    while (at < writer->size && !atomic_load(&writer->give_up)) {
        uint64_t pick = next_random(&state);
        size_t chunk = pick % 4 == 0   ? 1 + next_random(&state) % 3
                       : pick % 4 == 1 ? 1 + next_random(&state) % 16
                                       : 1 + next_random(&state) % (writer->size / 8 + 1);
        if (chunk > writer->size - at)
            chunk = writer->size - at;
        ssize_t wrote = write(writer->write_end, writer->data + at, chunk);
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote < 0)
            break; /* the pipeline stopped reading: compare() tells */
        at += (size_t)wrote;
        int queued = 1;
        while (!atomic_load(&writer->give_up) && ioctl(writer->read_end, FIONREAD, &queued) == 0 &&
               queued > 0)
            sched_yield();
    }
    close(writer->write_end);
    return NULL;
}

static void run_through_pipe(const uint8_t *data, size_t size, struct run *run)
{
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) < 0)
        fuzz_fail("pipe: %s", strerror(errno));
    uint64_t seed = 14695981039346656037u;
    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 1099511628211u;
    struct writer writer = {
        .data = data, .size = size, .seed = seed, .write_end = ends[1], .read_end = ends[0]};
    atomic_init(&writer.give_up, false);
    if (pthread_create(&writer.thread, NULL, write_chunks, &writer) != 0)
        fuzz_fail("cannot start the writer");
    run_pipeline(ends[0], true, run);
    atomic_store(&writer.give_up, true);
    pthread_join(writer.thread, NULL);
    close(ends[0]);
}

static void run_from_file(const char *path, bool check_integrity, struct run *run)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fuzz_fail("cannot open %s: %s", path, strerror(errno));
    run_pipeline(fd, check_integrity, run);
    close(fd);
}

static const char *const reference_ends[] = {"decodes", "finds truncated", "finds damaged"};

/* The properties of one run against the reference (see the top of this file). */
static void compare(const char *how, const struct reference *ref, const struct run *run,
                    bool check_integrity, const char *sha256)
{
    if (!run->outcome.complete || run->outcome.cancelled || run->outcome.read_errno)
        fuzz_fail("%s: the input was not read to its end (cancelled %d, errno %d)", how,
                  run->outcome.cancelled, run->outcome.read_errno);
    if (strcmp(run->outcome.sha256, sha256) != 0)
        fuzz_fail("%s: digest %s, not %s", how, run->outcome.sha256, sha256);
    size_t common = 0;
    size_t shorter = run->out.len < ref->out.len ? run->out.len : ref->out.len;
    while (common < shorter && run->out.buf[common] == ref->out.buf[common])
        common++;
    if (ref->end == REFERENCE_DECODED) {
        if (run->message)
            fuzz_fail("%s: zlib decodes it all (%zu bytes) but the pipeline fails after %zu: %s",
                      how, ref->out.len, run->out.len, run->message);
        if (run->out.len != ref->out.len || common != shorter)
            fuzz_fail("%s: the pipeline gives %zu bytes, zlib %zu; they differ from byte %zu", how,
                      run->out.len, ref->out.len, common);
        return;
    }
    /* Without the CRC-32, igzip inflates what zlib refuses for an incomplete code. */
    bool may_decode = ref->incomplete_code && !check_integrity;
    if (!run->message && !(may_decode && common == ref->out.len))
        fuzz_fail("%s: zlib %s it (%s, after %zu bytes) but the pipeline decodes %zu bytes", how,
                  reference_ends[ref->end],
                  ref->end == REFERENCE_DAMAGED ? ref->why : "input ended", ref->out.len,
                  run->out.len);
    /* Not even bytes after zlib's: igzip, on a distance too far back or an invalid code,
     * ends that call's output with the bad match, copied from bytes of its window it never
     * wrote (a former member's, or stale heap); the pipeline must drop them. */
    bool tolerated = ref->end == REFERENCE_DAMAGED && ref->incomplete_code;
    if (common != run->out.len && !(tolerated && common == ref->out.len))
        fuzz_fail("%s: zlib %s it (%s) after %zu bytes; the pipeline fails (%s) after giving %zu "
                  "bytes, which differ from zlib's at byte %zu",
                  how, reference_ends[ref->end],
                  ref->end == REFERENCE_DAMAGED ? ref->why : "input ended", ref->out.len,
                  run->message, run->out.len, common);
    if (!run->message)
        return;
    if (strcmp(run->message, "truncated gzip input") != 0)
        fuzz_expect_prefix(run->message, "gzip data is damaged (");
    if (ref->exact) {
        char expected[160];
        snprintf(expected, sizeof(expected), "gzip data is damaged (%s)", ref->why);
        if (strcmp(run->message, expected) != 0)
            fuzz_fail("%s: the pipeline says \"%s\", not \"%s\"", how, run->message, expected);
    }
}

/* The pipeline against zlib, from the file and from a pipe. */
static void differential(const uint8_t *data, size_t size, const char *path, const char *sha256)
{
    struct reference checked = {.out = CFBP_STRBUF_INIT}, unchecked = {.out = CFBP_STRBUF_INIT};
    reference_gunzip(data, size, true, &checked);
    reference_gunzip(data, size, false, &unchecked);
    struct run from_file = {.out = CFBP_STRBUF_INIT}, from_pipe = {.out = CFBP_STRBUF_INIT},
               no_crc = {.out = CFBP_STRBUF_INIT};
    run_from_file(path, true, &from_file);
    compare("from the file", &checked, &from_file, true, sha256);
    run_through_pipe(data, size, &from_pipe);
    compare("through a pipe", &checked, &from_pipe, true, sha256);
    const char *file_says = from_file.message ? from_file.message : "nothing";
    const char *pipe_says = from_pipe.message ? from_pipe.message : "nothing";
    if (strcmp(file_says, pipe_says) != 0)
        fuzz_fail("the pipeline says \"%s\" from the file but \"%s\" through a pipe", file_says,
                  pipe_says);
    run_from_file(path, false, &no_crc);
    compare("from the file, trailers skipped", &unchecked, &no_crc, false, sha256);
    run_release(&from_file);
    run_release(&from_pipe);
    run_release(&no_crc);
    cfbp_strbuf_release(&checked.out);
    cfbp_strbuf_release(&unchecked.out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    signal(SIGPIPE, SIG_IGN);
    struct cfbp_strbuf source = CFBP_STRBUF_INIT, checked = CFBP_STRBUF_INIT,
                       digested = CFBP_STRBUF_INIT;
    fuzz_write_file("dependency.tgz", data, size, &source);
    cfbp_path_join(&checked, fuzz_directory(), "checked");
    cfbp_path_join(&digested, fuzz_directory(), "digested");
    char sha256[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, data, size, sha256);
    differential(data, size, source.buf, sha256);
    struct cfbp_error with_crc = CFBP_ERROR_INIT, with_digest = CFBP_ERROR_INIT;
    int crc_result = install(source.buf, checked.buf, NULL, &with_crc);
    int digest_result = install(source.buf, digested.buf, sha256, &with_digest);
    if (crc_result == 0 && digest_result < 0)
        fuzz_fail("installs with gzip's checks but not with its digest: %s", with_digest.message);
    if (crc_result == 0) {
        struct cfbp_strbuf one = CFBP_STRBUF_INIT, two = CFBP_STRBUF_INIT;
        fuzz_describe_tree(checked.buf, ".", describe_line, &one);
        fuzz_describe_tree(digested.buf, ".", describe_line, &two);
        if (strcmp(one.buf, two.buf) != 0)
            fuzz_fail("the two installs differ:\n%s---\n%s", one.buf, two.buf);
        cfbp_strbuf_release(&one);
        cfbp_strbuf_release(&two);
    }
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    cfbp_fs_remove_tree(checked.buf, &ignored);
    cfbp_error_clear(&ignored);
    cfbp_fs_remove_tree(digested.buf, &ignored);
    cfbp_error_clear(&ignored);
    cfbp_error_clear(&with_crc);
    cfbp_error_clear(&with_digest);
    cfbp_strbuf_release(&source);
    cfbp_strbuf_release(&checked);
    cfbp_strbuf_release(&digested);
    return 0;
}
