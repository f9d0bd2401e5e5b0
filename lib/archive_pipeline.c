/*
 * archive_pipeline.c - reading, hashing and decompressing an archive on a
 * thread of its own (see archive_pipeline.h).
 *
 * The reader thread owns the input blocks and fills the output ring; the
 * extractor takes output blocks in order and gives each back on its next
 * call (libarchive keeps a block until then). Both wait on one condition
 * variable; the reader also waits in poll(2) for input, woken by the
 * extractor's eventfd or by cfbp_cancel_fd().
 *
 * gzip (RFC 1952) is inflated by ISA-L's igzip (cmake/isal_static.cmake),
 * members and all, with its CRC-32 and length checked unless a SHA-256 is
 * expected; concatenated members are read as gzip(1) and libarchive read
 * them, and bytes after the last member that do not start another one are
 * ignored, as both do. xz goes through
 * libarchive's own xz filter with its "raw" format, on the reader thread.
 */
#include "archive_pipeline.h"

#include "cfbp/alloc.h"
#include "cfbp/cancel.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <igzip_lib.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* How the data the extractor reads ended (the input may still be read after). */
enum data_end {
    DATA_FLOWING,
    DATA_ENDED,       /* all of it was decompressed */
    DATA_DAMAGED,     /* the decompressor refused it: message */
    DATA_READ_FAILED, /* reading the input failed: read_errno */
    DATA_CANCELLED,   /* the user asked to stop */
    DATA_STOPPED      /* the extractor does not want it any more */
};

enum extractor_state { EXTRACTING, DRAINING, ABANDONED };

/* The reader's stack: its buffers and decoder states are on the heap. */
#define PIPELINE_THREAD_STACK_SIZE (512 * 1024)

struct archive_pipeline {
    int fd;
    bool fd_is_regular;
    /* Decoding on the extracting thread, before it reads (see cfbpi_archive_pipeline_start). */
    bool inline_run;
    bool overflowed;   /* the inline run needed more room than it had */
    size_t block_size; /* PIPELINE_BLOCK_SIZE, or less for a small file */
    int wake_fd;
    int cancel_fd;
    enum cfbp_archive_kind kind;
    bool check_integrity;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;

    /* The output ring: block i is output[i % output_blocks]. */
    size_t output_blocks;
    char *output[PIPELINE_INLINE_BLOCKS];
    size_t output_length[PIPELINE_INLINE_BLOCKS];
    size_t produced, taken, released;
    bool holding; /* the extractor holds block taken - 1 */

    /* Input blocks: free, held by the reader, or queued for the extractor to hash. */
    char *input[PIPELINE_INPUT_BLOCKS];
    size_t input_length[PIPELINE_INPUT_BLOCKS];
    bool input_free[PIPELINE_INPUT_BLOCKS];
    size_t hash_queue[PIPELINE_INPUT_BLOCKS];
    size_t hash_first, hash_count;
    size_t hash_pending; /* queued or being hashed by the extractor */
    struct cfbp_digest digest;

    /* gzip's decoder state (see cfbpi_archive_pipeline_start). */
    struct inflate_state *inflate_state;
    /* One mapping holds the blocks and the decoder state. */
    void *buffers;
    size_t buffers_size;

    /* The decoder's output block not yet full, handed over before waiting for input. */
    char **partial_block;
    size_t *partial_length;

    enum data_end end;
    char *message;
    enum extractor_state extractor;
    atomic_bool stop;
    bool input_complete;
    atomic_bool cancelled;
    int read_errno;
};

/* --- the two threads' hand-offs --- */

static void wake_reader(struct archive_pipeline *pipeline)
{
    uint64_t one = 1;
    atomic_store(&pipeline->stop, true);
    if (pipeline->wake_fd >= 0 && write(pipeline->wake_fd, &one, sizeof(one)) < 0) {
        /* the counter is already non-zero: the reader is woken either way */
    }
}

/* Ends the data the extractor reads, once; the first reason wins. */
static void end_data(struct archive_pipeline *pipeline, enum data_end end, const char *message)
{
    pthread_mutex_lock(&pipeline->lock);
    if (pipeline->end == DATA_FLOWING) {
        pipeline->end = end;
        pipeline->message = message ? cfbp_xstrdup(message) : NULL;
    }
    pthread_cond_broadcast(&pipeline->changed);
    pthread_mutex_unlock(&pipeline->lock);
}

/* With the lock held: hashes the queued input blocks, in order, unlocking meanwhile. */
static void hash_queued(struct archive_pipeline *pipeline)
{
    while (pipeline->hash_count > 0) {
        size_t index = pipeline->hash_queue[pipeline->hash_first];
        pipeline->hash_first = (pipeline->hash_first + 1) % PIPELINE_INPUT_BLOCKS;
        pipeline->hash_count--;
        pthread_mutex_unlock(&pipeline->lock);
        cfbp_digest_update(&pipeline->digest, pipeline->input[index],
                           pipeline->input_length[index]);
        pthread_mutex_lock(&pipeline->lock);
        pipeline->input_free[index] = true;
        pipeline->hash_pending--;
        pthread_cond_broadcast(&pipeline->changed);
    }
}

static bool extractor_behind(const struct archive_pipeline *pipeline)
{
    return pipeline->produced - pipeline->released >= pipeline->output_blocks - 1;
}

/* With the lock held: an inline run must never wait (nobody would wake it); it stops. */
static void overflow(struct archive_pipeline *pipeline)
{
    pipeline->overflowed = true;
    atomic_store(&pipeline->stop, true);
}

/* A free input block for the reader, or -1 when it must stop. */
static int input_take(struct archive_pipeline *pipeline)
{
    pthread_mutex_lock(&pipeline->lock);
    int index = -1;
    while (!atomic_load(&pipeline->stop)) {
        for (int i = 0; i < PIPELINE_INPUT_BLOCKS && index < 0; i++)
            if (pipeline->input_free[i])
                index = i;
        if (index >= 0)
            break;
        if (pipeline->inline_run) {
            overflow(pipeline);
            break;
        }
        pthread_cond_wait(&pipeline->changed, &pipeline->lock);
    }
    if (index >= 0)
        pipeline->input_free[index] = false;
    pthread_mutex_unlock(&pipeline->lock);
    return index;
}

static void input_give_back(struct archive_pipeline *pipeline, int index)
{
    pthread_mutex_lock(&pipeline->lock);
    pipeline->input_free[index] = true;
    pthread_mutex_unlock(&pipeline->lock);
}

/*
 * The reader is done with an input block: it hashes it itself when the
 * extractor is behind (or gone) and nothing is queued before it, and queues
 * it for the extractor otherwise.
 */
static void input_done(struct archive_pipeline *pipeline, int index, size_t length)
{
    pthread_mutex_lock(&pipeline->lock);
    pipeline->input_length[index] = length;
    if (pipeline->extractor != EXTRACTING)
        while (pipeline->hash_pending > 0 && !atomic_load(&pipeline->stop))
            pthread_cond_wait(&pipeline->changed, &pipeline->lock);
    bool hash_here = pipeline->inline_run || pipeline->extractor != EXTRACTING ||
                     (pipeline->hash_pending == 0 && extractor_behind(pipeline));
    if (!hash_here) {
        size_t slot = (pipeline->hash_first + pipeline->hash_count) % PIPELINE_INPUT_BLOCKS;
        pipeline->hash_queue[slot] = (size_t)index;
        pipeline->hash_count++;
        pipeline->hash_pending++;
        pthread_cond_broadcast(&pipeline->changed);
    }
    pthread_mutex_unlock(&pipeline->lock);
    if (!hash_here)
        return;
    if (!atomic_load(&pipeline->stop))
        cfbp_digest_update(&pipeline->digest, pipeline->input[index], length);
    input_give_back(pipeline, index);
}

enum output_status { OUTPUT_READY, OUTPUT_UNWANTED, OUTPUT_STOP };

/*
 * The output block to fill next. While the extractor drains (it read the
 * whole tar) and integrity is checked, decoding goes on into a scratch block;
 * otherwise OUTPUT_UNWANTED says that only hashing is left.
 */
static enum output_status output_begin(struct archive_pipeline *pipeline, char **block)
{
    pthread_mutex_lock(&pipeline->lock);
    enum output_status status = OUTPUT_READY;
    for (;;) {
        if (atomic_load(&pipeline->stop)) {
            status = OUTPUT_STOP;
            break;
        }
        if (pipeline->extractor != EXTRACTING) {
            status = pipeline->extractor == DRAINING && pipeline->check_integrity ? OUTPUT_READY
                                                                                  : OUTPUT_UNWANTED;
            *block = pipeline->output[0];
            break;
        }
        if (pipeline->produced - pipeline->released < pipeline->output_blocks) {
            *block = pipeline->output[pipeline->produced % pipeline->output_blocks];
            break;
        }
        if (pipeline->inline_run) {
            overflow(pipeline);
            continue;
        }
        pthread_cond_wait(&pipeline->changed, &pipeline->lock);
    }
    pthread_mutex_unlock(&pipeline->lock);
    return status;
}

static void output_commit(struct archive_pipeline *pipeline, size_t length)
{
    if (length == 0)
        return;
    pthread_mutex_lock(&pipeline->lock);
    if (pipeline->extractor == EXTRACTING) {
        pipeline->output_length[pipeline->produced % pipeline->output_blocks] = length;
        pipeline->produced++;
        pthread_cond_broadcast(&pipeline->changed);
    }
    pthread_mutex_unlock(&pipeline->lock);
}

/* --- reading the input --- */

/*
 * When no input is ready, the decompressed data so far goes to the extractor
 * now, full block or not: a slow writer must not keep it waiting for data
 * that is already here (it may be all the writer sends for a while).
 */
static void flush_partial_before_waiting(struct archive_pipeline *pipeline)
{
    if (!pipeline->partial_block || !*pipeline->partial_block || *pipeline->partial_length == 0)
        return;
    struct pollfd input = {.fd = pipeline->fd, .events = POLLIN};
    if (poll(&input, 1, 0) != 0)
        return;
    output_commit(pipeline, *pipeline->partial_length);
    *pipeline->partial_block = NULL;
    *pipeline->partial_length = 0;
}

/*
 * Reads up to size bytes of the input: > 0, 0 at its end, or -1 when reading
 * failed, the user cancelled or the extractor stopped the pipeline (recorded).
 * Waits in poll(2) (except on regular files, which are always readable) so
 * that a stop or a cancel request wakes it.
 */
static ssize_t reader_read(struct archive_pipeline *pipeline, char *buffer, size_t size)
{
    bool watch_cancel = pipeline->cancel_fd >= 0;
    for (;;) {
        if (atomic_load(&pipeline->stop)) {
            end_data(pipeline, DATA_STOPPED, "the extraction stopped");
            return -1;
        }
        if (cfbp_cancel_requested()) {
            atomic_store(&pipeline->cancelled, true);
            end_data(pipeline, DATA_CANCELLED, "cancelled");
            return -1;
        }
        if (!pipeline->fd_is_regular) {
            flush_partial_before_waiting(pipeline);
            struct pollfd watched[3] = {{.fd = pipeline->fd, .events = POLLIN},
                                        {.fd = pipeline->wake_fd, .events = POLLIN},
                                        {.fd = pipeline->cancel_fd, .events = POLLIN}};
            int ready = poll(watched, watch_cancel ? 3 : 2, -1);
            if (ready < 0 && errno != EINTR) {
                pipeline->read_errno = errno;
                end_data(pipeline, DATA_READ_FAILED, strerror(errno));
                return -1;
            }
            if (ready < 0 || watched[1].revents)
                continue; /* the checks above tell why */
            if (watch_cancel && watched[2].revents) {
                /* readable without a request: left over from one that was reset */
                watch_cancel = cfbp_cancel_requested();
                continue;
            }
        }
        ssize_t got = read(pipeline->fd, buffer, size);
        if (got >= 0)
            return got;
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            continue;
        pipeline->read_errno = errno;
        end_data(pipeline, DATA_READ_FAILED, strerror(errno));
        return -1;
    }
}

/* Reads and hashes the rest of the input (nothing more is decompressed). */
static void hash_rest(struct archive_pipeline *pipeline)
{
    for (;;) {
        int index = input_take(pipeline);
        if (index < 0)
            return;
        ssize_t got = reader_read(pipeline, pipeline->input[index], pipeline->block_size);
        if (got <= 0) {
            input_give_back(pipeline, index);
            if (got == 0)
                pipeline->input_complete = true;
            return;
        }
        input_done(pipeline, index, (size_t)got);
    }
}

/* --- passing through --- */

/* The input as it is; hashed here, as the extractor has enough to do with a plain tar. */
static void copy_stream(struct archive_pipeline *pipeline, int first, size_t first_length)
{
    char *block;
    enum output_status status = output_begin(pipeline, &block);
    if (status == OUTPUT_READY) {
        memcpy(block, pipeline->input[first], first_length);
        output_commit(pipeline, first_length);
    }
    cfbp_digest_update(&pipeline->digest, pipeline->input[first], first_length);
    input_give_back(pipeline, first);
    if (first_length == 0) {
        pipeline->input_complete = true;
        end_data(pipeline, DATA_ENDED, NULL);
        return;
    }
    while ((status = output_begin(pipeline, &block)) == OUTPUT_READY) {
        ssize_t got = reader_read(pipeline, block, pipeline->block_size);
        if (got < 0)
            return;
        if (got == 0) {
            pipeline->input_complete = true;
            end_data(pipeline, DATA_ENDED, NULL);
            return;
        }
        cfbp_digest_update(&pipeline->digest, block, (size_t)got);
        output_commit(pipeline, (size_t)got);
    }
    if (status == OUTPUT_UNWANTED)
        hash_rest(pipeline);
}

/* --- gzip, through ISA-L --- */

/*
 * ISA-L's igzip reads each RFC 1952 member itself, header and trailer
 * (ISAL_GZIP): the header's CRC-16 when it has one, and the trailer's CRC-32
 * and length. A trailer that does not match is ignored when a SHA-256 decides
 * (the digest checks every byte), and damage anywhere else fails either way.
 * Each member starts with the checks zlib makes and igzip does not: deflate,
 * no reserved flag. After a member, what follows is another member when its
 * first four bytes pass them, and otherwise trailing bytes, ignored as
 * gzip(1) and libarchive ignore them.
 */
static const unsigned char gzip_magic[2] = {0x1f, 0x8b};
#define GZIP_DEFLATE        8
#define GZIP_RESERVED_FLAGS 0xe0

enum gzip_stage { GZIP_MEMBER, GZIP_BETWEEN, GZIP_REST };

struct gunzip {
    struct archive_pipeline *pipeline;
    struct inflate_state *state;
    /* The member's header, read by isal_read_gzip_header() across calls: isal_inflate()
     * would read it too, but keeps none of it between calls (flags, CRC-16), so a header
     * split between two input blocks was misread. */
    struct isal_gzip_header header;
    enum gzip_stage stage;
    bool first_member;      /* the start is gzip's magic: what is wrong there is damage */
    unsigned char magic[4]; /* between members: the bytes that may start another */
    size_t magic_have;
    char *block; /* the output block being filled */
    size_t block_length;
    const char *failure; /* why the data is damaged */
    char failure_text[160];
};

/* What went wrong, in zlib's words where it has them. */
static const char *isal_problem(int status, const struct inflate_state *state)
{
    switch (status) {
    case ISAL_INVALID_BLOCK:
        return "invalid block type or lengths";
    case ISAL_INVALID_SYMBOL:
        return "invalid code";
    case ISAL_INVALID_LOOKBACK:
        return "invalid distance too far back";
    case ISAL_INVALID_WRAPPER:
        return "incorrect header check";
    case ISAL_UNSUPPORTED_METHOD:
        return "unknown compression method";
    case ISAL_INCORRECT_CHECKSUM:
        return state->block_state == ISAL_BLOCK_FINISH ? "incorrect data check"
                                                       : "header crc mismatch";
    default:
        return "igzip cannot inflate it";
    }
}

static void gunzip_fail(struct gunzip *gunzip, const char *problem)
{
    snprintf(gunzip->failure_text, sizeof(gunzip->failure_text), "gzip data is damaged (%s)",
             problem);
    gunzip->failure = gunzip->failure_text;
}

/* Inflates what it can of input; returns bytes used, or -1 (failure or stop). */
static ssize_t gunzip_inflate(struct gunzip *gunzip, const unsigned char *input, size_t length)
{
    struct archive_pipeline *pipeline = gunzip->pipeline;
    struct inflate_state *state = gunzip->state;
    state->next_in = (uint8_t *)input;
    state->avail_in = (uint32_t)length;
    if (!state->wrapper_flag) {
        int status = isal_read_gzip_header(state, &gunzip->header);
        if (status == ISAL_END_INPUT)
            return (ssize_t)length; /* the header goes on in the next block */
        if (status != ISAL_DECOMP_OK) {
            gunzip_fail(gunzip, isal_problem(status, state));
            return -1;
        }
    }
    for (;;) {
        if (!gunzip->block) {
            enum output_status status = output_begin(pipeline, &gunzip->block);
            if (status == OUTPUT_STOP)
                return -1;
            if (status == OUTPUT_UNWANTED) {
                gunzip->block = NULL;
                gunzip->stage = GZIP_REST;
                return (ssize_t)length;
            }
            gunzip->block_length = 0;
        }
        uint8_t *out = (uint8_t *)gunzip->block + gunzip->block_length;
        state->next_out = out;
        state->avail_out = (uint32_t)(pipeline->block_size - gunzip->block_length);
        int status = isal_inflate(state);
        bool finished = state->block_state == ISAL_BLOCK_FINISH;
        if (status != ISAL_DECOMP_OK &&
            !(status == ISAL_INCORRECT_CHECKSUM && finished && !pipeline->check_integrity)) {
            /* What igzip gave in this call is dropped: on a bad distance or code it ends
             * with the bad match copied from bytes of its window it never wrote. */
            gunzip_fail(gunzip, isal_problem(status, state));
            return -1;
        }
        gunzip->block_length += (size_t)(state->next_out - out);
        if (gunzip->block_length == pipeline->block_size) {
            output_commit(pipeline, gunzip->block_length);
            gunzip->block = NULL;
        }
        if (finished) {
            gunzip->stage = GZIP_BETWEEN;
            gunzip->magic_have = 0;
            break;
        }
        if (state->avail_out > 0) {
            /* Output to spare and not finished: igzip wants more input. */
            if (state->avail_in > 0) {
                gunzip_fail(gunzip, "igzip stopped with input left");
                return -1;
            }
            break;
        }
    }
    return (ssize_t)(length - state->avail_in);
}

/* Starts the member whose first four bytes are gunzip->magic. */
static int gunzip_start_member(struct gunzip *gunzip)
{
    isal_inflate_reset(gunzip->state);
    gunzip->state->crc_flag = ISAL_GZIP;
    isal_gzip_header_init(&gunzip->header);
    gunzip->stage = GZIP_MEMBER;
    gunzip->first_member = false;
    return gunzip_inflate(gunzip, gunzip->magic, sizeof(gunzip->magic)) < 0 ? -1 : 0;
}

/* Feeds one input block through the members; -1 on damage or stop. */
static int gunzip_feed(struct gunzip *gunzip, const unsigned char *input, size_t length)
{
    size_t used = 0;
    while (used < length && gunzip->stage != GZIP_REST) {
        if (gunzip->stage == GZIP_MEMBER) {
            ssize_t taken = gunzip_inflate(gunzip, input + used, length - used);
            if (taken < 0)
                return -1;
            used += (size_t)taken;
            continue;
        }
        /* A member's first four bytes: the magic, deflate, no reserved flag (libarchive's
         * test for another member, zlib's for the first). */
        unsigned char byte = input[used++];
        size_t at = gunzip->magic_have;
        bool fits = at < sizeof(gzip_magic) ? byte == gzip_magic[at]
                    : at == 2               ? byte == GZIP_DEFLATE
                                            : (byte & GZIP_RESERVED_FLAGS) == 0;
        if (!fits && gunzip->first_member) {
            gunzip_fail(gunzip,
                        at == 2 ? "unknown compression method" : "unknown header flags set");
            return -1;
        }
        if (!fits) {
            gunzip->stage = GZIP_REST;
            break;
        }
        gunzip->magic[gunzip->magic_have++] = byte;
        if (gunzip->magic_have == sizeof(gunzip->magic) && gunzip_start_member(gunzip) < 0)
            return -1;
    }
    return 0;
}

static void gunzip_stream(struct archive_pipeline *pipeline, int first, size_t first_length)
{
    struct gunzip gunzip = {.pipeline = pipeline, .stage = GZIP_BETWEEN, .first_member = true};
    gunzip.state = pipeline->inflate_state;
    isal_inflate_init(gunzip.state);
    pipeline->partial_block = &gunzip.block;
    pipeline->partial_length = &gunzip.block_length;
    int index = first;
    ssize_t got = (ssize_t)first_length;
    int failed = 0;
    for (;;) {
        if (got == 0) {
            input_give_back(pipeline, index);
            pipeline->input_complete = true;
            break;
        }
        failed = gunzip_feed(&gunzip, (unsigned char *)pipeline->input[index], (size_t)got);
        input_done(pipeline, index, (size_t)got);
        if (failed < 0 || gunzip.stage == GZIP_REST)
            break;
        if ((index = input_take(pipeline)) < 0)
            break;
        got = reader_read(pipeline, pipeline->input[index], pipeline->block_size);
        if (got < 0) {
            input_give_back(pipeline, index);
            break;
        }
    }
    if (gunzip.block && gunzip.block_length > 0)
        output_commit(pipeline, gunzip.block_length);
    pipeline->partial_block = NULL;
    pipeline->partial_length = NULL;
    if (gunzip.failure)
        end_data(pipeline, DATA_DAMAGED, gunzip.failure);
    else if (pipeline->input_complete && (gunzip.stage == GZIP_MEMBER || gunzip.first_member))
        end_data(pipeline, DATA_DAMAGED, "truncated gzip input");
    else if (pipeline->input_complete || gunzip.stage == GZIP_REST)
        end_data(pipeline, DATA_ENDED, NULL);
    /* Otherwise reading stopped, failed or was cancelled: already recorded. */
    if (!pipeline->input_complete && (gunzip.failure || gunzip.stage == GZIP_REST))
        hash_rest(pipeline); /* the digest covers the whole input even then */
}

/* --- xz, through libarchive's filter --- */

struct xz_source {
    struct archive_pipeline *pipeline;
    int held; /* the input block libarchive has, or -1 */
    size_t held_length;
    bool first_pending;
};

static la_ssize_t xz_read(struct archive *archive, void *data, const void **block)
{
    struct xz_source *source = data;
    struct archive_pipeline *pipeline = source->pipeline;
    if (source->first_pending) {
        source->first_pending = false;
        *block = pipeline->input[source->held];
        return (la_ssize_t)source->held_length;
    }
    if (source->held >= 0)
        input_done(pipeline, source->held, source->held_length);
    source->held = input_take(pipeline);
    ssize_t got = source->held < 0
                      ? -1
                      : reader_read(pipeline, pipeline->input[source->held], pipeline->block_size);
    if (got <= 0 && source->held >= 0) {
        input_give_back(pipeline, source->held);
        source->held = -1;
    }
    if (got < 0) {
        archive_set_error(archive, EIO, "reading stopped");
        return -1;
    }
    if (got == 0)
        pipeline->input_complete = true;
    source->held_length = (size_t)got;
    *block = got > 0 ? pipeline->input[source->held] : NULL;
    return got;
}

static void unxz_stream(struct archive_pipeline *pipeline, int first, size_t first_length)
{
    struct xz_source source = {
        .pipeline = pipeline, .held = first, .held_length = first_length, .first_pending = true};
    struct archive *archive = archive_read_new();
    if (!archive)
        cfbp_alloc_failed(0);
    archive_read_support_filter_xz(archive);
    archive_read_support_format_raw(archive);
    struct archive_entry *entry;
    bool damaged = false, unwanted = false, stopped = false;
    int status = archive_read_open(archive, &source, NULL, xz_read, NULL);
    if (status == ARCHIVE_OK)
        status = archive_read_next_header(archive, &entry);
    if (status != ARCHIVE_OK && status != ARCHIVE_EOF && status != ARCHIVE_WARN)
        damaged = true;
    size_t block_length = 0;
    char *block = NULL;
    pipeline->partial_block = &block;
    pipeline->partial_length = &block_length;
    /* libarchive's blocks are copied out, so that no block is written while xz_read waits. */
    while (!damaged && !unwanted && (status == ARCHIVE_OK || status == ARCHIVE_WARN)) {
        const void *data;
        size_t size;
        la_int64_t offset;
        status = archive_read_data_block(archive, &data, &size, &offset);
        if (status == ARCHIVE_EOF)
            break;
        if (status != ARCHIVE_OK && status != ARCHIVE_WARN) {
            damaged = true;
            break;
        }
        while (size > 0) {
            if (!block) {
                enum output_status wanted = output_begin(pipeline, &block);
                if (wanted != OUTPUT_READY) {
                    unwanted = wanted == OUTPUT_UNWANTED;
                    stopped = wanted == OUTPUT_STOP;
                    block = NULL;
                    break;
                }
                block_length = 0;
            }
            size_t part = pipeline->block_size - block_length < size
                              ? pipeline->block_size - block_length
                              : size;
            memcpy(block + block_length, data, part);
            data = (const char *)data + part;
            size -= part;
            block_length += part;
            if (block_length == pipeline->block_size) {
                output_commit(pipeline, block_length);
                block = NULL;
            }
        }
        if (stopped)
            break;
    }
    if (block && block_length > 0)
        output_commit(pipeline, block_length);
    pipeline->partial_block = NULL;
    pipeline->partial_length = NULL;
    if (damaged) {
        const char *why = archive_error_string(archive);
        end_data(pipeline, DATA_DAMAGED, why ? why : "xz decompression failed");
    }
    archive_read_free(archive);
    if (source.held >= 0)
        input_done(pipeline, source.held, source.held_length);
    /* A stop or a failed read ended the data already: this changes nothing then. */
    if (!damaged && !unwanted && !stopped)
        end_data(pipeline, DATA_ENDED, NULL);
    if (!pipeline->input_complete && !stopped)
        hash_rest(pipeline); /* after the xz stream, or after damage: only hashed */
}

/* --- the reader thread --- */

static const unsigned char xz_magic[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};

static void *reader_main(void *data)
{
    struct archive_pipeline *pipeline = data;
    int first = input_take(pipeline);
    size_t length = 0;
    /* Enough bytes to recognise the compression (a pipe may give them one at a time). */
    while (first >= 0 && length < sizeof(xz_magic)) {
        ssize_t got =
            reader_read(pipeline, pipeline->input[first] + length, pipeline->block_size - length);
        if (got < 0) {
            input_give_back(pipeline, first);
            return NULL;
        }
        if (got == 0)
            break;
        length += (size_t)got;
    }
    if (first < 0)
        return NULL;
    const unsigned char *start = (unsigned char *)pipeline->input[first];
    if (pipeline->kind == CFBP_ARCHIVE_TAR_GZ && length >= sizeof(gzip_magic) &&
        memcmp(start, gzip_magic, sizeof(gzip_magic)) == 0)
        gunzip_stream(pipeline, first, length);
    else if (pipeline->kind == CFBP_ARCHIVE_TAR_XZ && length >= sizeof(xz_magic) &&
             memcmp(start, xz_magic, sizeof(xz_magic)) == 0)
        unxz_stream(pipeline, first, length);
    else
        copy_stream(pipeline, first, length);
    return NULL;
}

/* --- the extractor's side --- */

/*
 * A pipeline with output_blocks output blocks of block_size. The blocks and
 * gzip's decoder state are in one fresh mapping: zeroed, so nothing of an
 * earlier allocation can reach the output whatever the data, and populated
 * in one call (a page fault is the dearest thing a small install does:
 * 14 us on the VMs we measure on; malloc'd blocks would each touch a header,
 * and a calloc'd state would be cleared page by page).
 */
static struct archive_pipeline *pipeline_new(int fd, bool fd_is_regular, size_t block_size,
                                             size_t output_blocks, enum cfbp_archive_kind kind,
                                             bool check_integrity)
{
    struct archive_pipeline *pipeline = cfbp_xcalloc(1, sizeof(*pipeline));
    pipeline->fd = fd;
    pipeline->fd_is_regular = fd_is_regular;
    pipeline->block_size = block_size;
    pipeline->output_blocks = output_blocks;
    pipeline->kind = kind;
    pipeline->check_integrity = check_integrity;
    pipeline->cancel_fd = cfbp_cancel_fd();
    pipeline->wake_fd = -1;
    pthread_mutex_init(&pipeline->lock, NULL);
    pthread_cond_init(&pipeline->changed, NULL);
    size_t blocks = output_blocks + PIPELINE_INPUT_BLOCKS;
    size_t state_size = kind == CFBP_ARCHIVE_TAR_GZ ? sizeof(*pipeline->inflate_state) : 0;
    pipeline->buffers_size = blocks * block_size + state_size;
    pipeline->buffers = mmap(NULL, pipeline->buffers_size, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (pipeline->buffers == MAP_FAILED)
        cfbp_alloc_failed(pipeline->buffers_size);
    char *next = pipeline->buffers;
    for (size_t i = 0; i < output_blocks; i++, next += block_size)
        pipeline->output[i] = next;
    for (size_t i = 0; i < PIPELINE_INPUT_BLOCKS; i++, next += block_size) {
        pipeline->input[i] = next;
        pipeline->input_free[i] = true;
    }
    if (state_size)
        pipeline->inflate_state = (struct inflate_state *)next;
    cfbp_digest_start(&pipeline->digest, CFBP_DIGEST_SHA256);
    return pipeline;
}

static void pipeline_free(struct archive_pipeline *pipeline)
{
    if (pipeline->wake_fd >= 0)
        close(pipeline->wake_fd);
    pthread_mutex_destroy(&pipeline->lock);
    pthread_cond_destroy(&pipeline->changed);
    munmap(pipeline->buffers, pipeline->buffers_size);
    cfbp_digest_release(&pipeline->digest);
    free(pipeline->message);
    free(pipeline);
}

/*
 * How many output blocks an inline run of a small regular file needs: its
 * size for a plain tar, gzip's own record of its length (the last four
 * bytes; only a hint: another member or a lie means an overflow) for a
 * .tgz, and no inline run (0) for anything else or more than
 * PIPELINE_INLINE_BLOCKS.
 */
static size_t inline_blocks(int fd, const struct stat *st, enum cfbp_archive_kind kind)
{
    uint64_t size = (uint64_t)st->st_size;
    if (kind == CFBP_ARCHIVE_TAR_GZ) {
        unsigned char trailer[4];
        if (st->st_size < 18 || pread(fd, trailer, 4, st->st_size - 4) != 4)
            return 0;
        size = trailer[0] | (uint64_t)trailer[1] << 8 | (uint64_t)trailer[2] << 16 |
               (uint64_t)trailer[3] << 24;
    } else if (kind != CFBP_ARCHIVE_TAR) {
        return 0;
    }
    uint64_t blocks = size / PIPELINE_SMALL_BLOCK_SIZE + 2; /* a last part, and room to end */
    return blocks <= PIPELINE_INLINE_BLOCKS ? (size_t)blocks : 0;
}

struct archive_pipeline *cfbpi_archive_pipeline_start(int fd, enum cfbp_archive_kind kind,
                                                      bool check_integrity)
{
    struct stat st;
    bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    bool small = regular && st.st_size < PIPELINE_BLOCK_SIZE;
    /*
     * A small file (most buildpacks' own tools, and ours) is decoded here
     * and now, when its output fits in a few small blocks: a thread costs
     * more than its work then. Should it need more room, the run stops, and
     * the file is read again from where it started, on a thread.
     */
    off_t start = small ? lseek(fd, 0, SEEK_CUR) : -1;
    size_t blocks = start >= 0 ? inline_blocks(fd, &st, kind) : 0;
    if (blocks) {
        struct archive_pipeline *pipeline =
            pipeline_new(fd, true, PIPELINE_SMALL_BLOCK_SIZE, blocks, kind, check_integrity);
        pipeline->inline_run = true;
        pipeline->thread = pthread_self();
        reader_main(pipeline);
        if (!pipeline->overflowed)
            return pipeline;
        pipeline_free(pipeline);
        if (lseek(fd, start, SEEK_SET) != start)
            return NULL;
    }
    /* Small files get small blocks, and start with less to populate. */
    struct archive_pipeline *pipeline =
        pipeline_new(fd, regular, small ? PIPELINE_SMALL_BLOCK_SIZE : PIPELINE_BLOCK_SIZE,
                     PIPELINE_OUTPUT_BLOCKS, kind, check_integrity);
    pipeline->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (pipeline->wake_fd < 0) {
        int saved = errno;
        pipeline_free(pipeline);
        errno = saved;
        return NULL;
    }
    /* The reader keeps its work on the heap: a small stack, quick to map and to drop. */
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, PIPELINE_THREAD_STACK_SIZE);
    int failed = pthread_create(&pipeline->thread, &attributes, reader_main, pipeline);
    pthread_attr_destroy(&attributes);
    if (failed) {
        struct archive_pipeline_outcome ignored;
        pipeline->thread = pthread_self();
        cfbpi_archive_pipeline_finish(pipeline, false, &ignored);
        cfbpi_archive_pipeline_outcome_release(&ignored);
        errno = failed;
        return NULL;
    }
    return pipeline;
}

ssize_t cfbpi_archive_pipeline_next(struct archive_pipeline *pipeline, const void **block)
{
    pthread_mutex_lock(&pipeline->lock);
    if (pipeline->holding) {
        pipeline->holding = false;
        pipeline->released++;
        pthread_cond_broadcast(&pipeline->changed);
    }
    ssize_t result;
    for (;;) {
        hash_queued(pipeline);
        if (cfbp_cancel_requested()) {
            atomic_store(&pipeline->cancelled, true);
            if (pipeline->end == DATA_FLOWING || pipeline->end == DATA_ENDED) {
                free(pipeline->message);
                pipeline->end = DATA_CANCELLED;
                pipeline->message = cfbp_xstrdup("cancelled");
            }
            result = -1;
            break;
        }
        if (pipeline->produced > pipeline->taken) {
            size_t index = pipeline->taken++ % pipeline->output_blocks;
            pipeline->holding = true;
            *block = pipeline->output[index];
            result = (ssize_t)pipeline->output_length[index];
            break;
        }
        if (pipeline->end != DATA_FLOWING) {
            result = pipeline->end == DATA_ENDED ? 0 : -1;
            break;
        }
        pthread_cond_wait(&pipeline->changed, &pipeline->lock);
    }
    pthread_mutex_unlock(&pipeline->lock);
    return result;
}

const char *cfbpi_archive_pipeline_message(const struct archive_pipeline *pipeline)
{
    return pipeline->message ? pipeline->message : "the input ended early";
}

void cfbpi_archive_pipeline_finish(struct archive_pipeline *pipeline, bool extracted,
                                   struct archive_pipeline_outcome *outcome)
{
    memset(outcome, 0, sizeof(*outcome));
    pthread_mutex_lock(&pipeline->lock);
    pipeline->extractor = extracted ? DRAINING : ABANDONED;
    pipeline->holding = false;
    /* A stream may stall: the reader stops at once (its digest stays incomplete). */
    if (atomic_load(&pipeline->cancelled) || (!extracted && !pipeline->fd_is_regular))
        wake_reader(pipeline);
    /* What was queued came before anything the reader still hashes. */
    hash_queued(pipeline);
    pthread_cond_broadcast(&pipeline->changed);
    pthread_mutex_unlock(&pipeline->lock);
    if (!pthread_equal(pipeline->thread, pthread_self()))
        pthread_join(pipeline->thread, NULL);
    cfbp_digest_finish_hex(&pipeline->digest, outcome->sha256);
    outcome->complete = pipeline->input_complete && !atomic_load(&pipeline->cancelled);
    outcome->cancelled = atomic_load(&pipeline->cancelled) || pipeline->end == DATA_CANCELLED;
    outcome->read_errno = pipeline->read_errno;
    if (extracted && pipeline->check_integrity && pipeline->end == DATA_DAMAGED)
        outcome->integrity_error = cfbp_xstrdup(cfbpi_archive_pipeline_message(pipeline));
    pipeline_free(pipeline);
}

void cfbpi_archive_pipeline_outcome_release(struct archive_pipeline_outcome *outcome)
{
    free(outcome->integrity_error);
    outcome->integrity_error = NULL;
}
