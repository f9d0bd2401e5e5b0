/*
 * fuzz_driver.c - runs LLVMFuzzerTestOneInput without libFuzzer, for ctest.
 *
 * Loads the seed corpus, runs every seed as is, then mutates seeds with a
 * fixed-seed PRNG (bit flips, byte changes, insertions, deletions, copies,
 * HTTP tokens, splices) until the time budget is spent:
 * CONFIG_SERVER_FUZZ_SECONDS (default 10), CONFIG_SERVER_FUZZ_SEED (default
 * 1). The same seed gives the same sequence of inputs; when an input makes
 * the target abort, crash or trip a sanitizer, it is written to
 * fuzz-failure.http for replaying (with this driver or the libFuzzer build).
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfbp/alloc.h"
#include "cfbp/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT_BYTES 8192
#define MAX_POOL        2048

static const char *const tokens[] = {"GET ",
                                     "HEAD ",
                                     "POST ",
                                     "CONNECT ",
                                     "OPTIONS * ",
                                     " HTTP/1.1\r\n",
                                     " HTTP/1.0\r\n",
                                     "Host: a\r\n",
                                     "Connection: close\r\n",
                                     "Connection: keep-alive\r\n",
                                     "Connection: Upgrade\r\nUpgrade: x\r\n",
                                     "Transfer-Encoding: chunked\r\n",
                                     "Content-Length: 5\r\n",
                                     "Expect: 100-continue\r\n",
                                     "\r\n",
                                     "/config",
                                     "/config/",
                                     "%2e%2e/",
                                     "//",
                                     "/./",
                                     "/../",
                                     "?",
                                     "%",
                                     "%00",
                                     "0\r\n\r\n",
                                     "5\r\nhello\r\n",
                                     "http://h",
                                     "\xc3\xa9",
                                     "99999999999999999999",
                                     "\x00",
                                     "\xff"};

static uint64_t random_state;

static uint64_t next_random(void)
{
    random_state ^= random_state << 13;
    random_state ^= random_state >> 7;
    random_state ^= random_state << 17;
    return random_state;
}

static size_t below(size_t bound)
{
    return bound ? (size_t)(next_random() % bound) : 0;
}

struct pool {
    struct cfbp_strbuf *inputs;
    size_t count, alloc;
};

static void pool_add(struct pool *pool, const char *data, size_t length)
{
    CFBP_GROW(pool->inputs, pool->alloc, pool->count + 1);
    struct cfbp_strbuf *input = &pool->inputs[pool->count++];
    cfbp_strbuf_init(input, length);
    cfbp_strbuf_append(input, data, length);
}

static void load_corpus(struct pool *pool, const char *directory)
{
    DIR *listing = opendir(directory);
    if (!listing) {
        perror(directory);
        exit(2);
    }
    struct dirent *entry;
    while ((entry = readdir(listing))) {
        if (entry->d_name[0] == '.')
            continue;
        struct cfbp_strbuf path = CFBP_STRBUF_INIT, content = CFBP_STRBUF_INIT;
        cfbp_strbuf_append_format(&path, "%s/%s", directory, entry->d_name);
        FILE *file = fopen(path.buf, "rb");
        char chunk[4096];
        size_t got;
        while (file && (got = fread(chunk, 1, sizeof(chunk), file)) > 0)
            cfbp_strbuf_append(&content, chunk, got);
        if (file)
            fclose(file);
        pool_add(pool, content.buf, content.len);
        cfbp_strbuf_release(&path);
        cfbp_strbuf_release(&content);
    }
    closedir(listing);
}

static void insert(struct cfbp_strbuf *input, size_t at, const char *data, size_t length)
{
    if (input->len + length > MAX_INPUT_BYTES)
        return;
    cfbp_strbuf_grow(input, length);
    memmove(input->buf + at + length, input->buf + at, input->len - at);
    memcpy(input->buf + at, data, length);
    cfbp_strbuf_set_length(input, input->len + length);
}

static void mutate(struct cfbp_strbuf *input, const struct pool *pool)
{
    size_t at = below(input->len + 1);
    size_t span = 1 + below(16);
    switch (below(7)) {
    case 0:
        if (input->len)
            input->buf[below(input->len)] ^= (char)(1u << below(8));
        break;
    case 1:
        if (input->len)
            input->buf[below(input->len)] = (char)below(256);
        break;
    case 2: {
        char byte = (char)below(256);
        insert(input, at, &byte, 1);
        break;
    }
    case 3:
        if (at < input->len) {
            span = span < input->len - at ? span : input->len - at;
            memmove(input->buf + at, input->buf + at + span, input->len - at - span);
            cfbp_strbuf_set_length(input, input->len - span);
        }
        break;
    case 4:
        if (input->len) {
            size_t from = below(input->len);
            span = span < input->len - from ? span : input->len - from;
            struct cfbp_strbuf copy = CFBP_STRBUF_INIT;
            cfbp_strbuf_append(&copy, input->buf + from, span);
            insert(input, at, copy.buf, copy.len);
            cfbp_strbuf_release(&copy);
        }
        break;
    case 5: {
        const char *token = tokens[below(sizeof(tokens) / sizeof(tokens[0]))];
        insert(input, at, token, token[0] ? strlen(token) : 1);
        break;
    }
    default: {
        const struct cfbp_strbuf *other = &pool->inputs[below(pool->count)];
        size_t from = below(other->len + 1);
        cfbp_strbuf_set_length(input, at);
        insert(input, at, other->buf + from, other->len - from);
        break;
    }
    }
}

static const struct cfbp_strbuf *current_input;

/* Runs on a fatal signal or a sanitizer's report: keep the input that caused it. */
static void save_current_input(void)
{
    int file = open("fuzz-failure.http", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (file >= 0 && current_input) {
        ssize_t ignored = write(file, current_input->buf, current_input->len);
        (void)ignored;
        close(file);
    }
}

static void on_fatal_signal(int signal_number)
{
    save_current_input();
    signal(signal_number, SIG_DFL);
    raise(signal_number);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#include <sanitizer/common_interface_defs.h>
#endif

static void watch_for_failures(void)
{
    signal(SIGABRT, on_fatal_signal);
    signal(SIGSEGV, on_fatal_signal);
    signal(SIGBUS, on_fatal_signal);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
    __sanitizer_set_death_callback(save_current_input);
#endif
}

static void run(const struct cfbp_strbuf *input)
{
    current_input = input;
    LLVMFuzzerTestOneInput((const uint8_t *)input->buf, input->len);
    current_input = NULL;
}

int main(int argc, char **argv)
{
    const char *seconds_text = getenv("CONFIG_SERVER_FUZZ_SECONDS");
    const char *seed_text = getenv("CONFIG_SERVER_FUZZ_SEED");
    double seconds = seconds_text ? atof(seconds_text) : 10.0;
    random_state = seed_text ? strtoull(seed_text, NULL, 10) : 1;
    random_state = random_state ? random_state : 1;
    struct pool pool = {NULL, 0, 0};
    watch_for_failures();
    load_corpus(&pool, argc > 1 ? argv[1] : CORPUS_DIR);
    if (pool.count == 0) {
        fprintf(stderr, "the corpus is empty\n");
        return 2;
    }
    for (size_t i = 0; i < pool.count; i++)
        run(&pool.inputs[i]);
    size_t seeds = pool.count;
    unsigned long runs = 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double elapsed = (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
        if (elapsed >= seconds)
            break;
        for (int batch = 0; batch < 64; batch++, runs++) {
            struct cfbp_strbuf input = CFBP_STRBUF_INIT;
            const struct cfbp_strbuf *parent = &pool.inputs[below(pool.count)];
            cfbp_strbuf_append(&input, parent->buf, parent->len);
            for (size_t rounds = 1 + below(8); rounds > 0; rounds--)
                mutate(&input, &pool);
            run(&input);
            /* Keep some offspring as parents, so that mutations can stack up. */
            if (below(8) == 0 && pool.count < MAX_POOL)
                pool_add(&pool, input.buf, input.len);
            cfbp_strbuf_release(&input);
        }
    }
    printf("fuzz_http_request: %lu mutated inputs from %zu seeds in %.0f s, no failure\n", runs,
           seeds, seconds);
    for (size_t i = 0; i < pool.count; i++)
        cfbp_strbuf_release(&pool.inputs[i]);
    free(pool.inputs);
    return 0;
}
