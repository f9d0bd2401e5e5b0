/*
 * text_table.c - keyed hashing and an open-addressing table of texts (see
 * text_table.h).
 */
#include "cfbp/text_table.h"

#include "cfbp/alloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/*
 * SipHash-1-3 (Aumasson and Bernstein) under a key chosen once per process:
 * without the key nobody can build a file whose keys or anchors all land in
 * one bucket, which would make each lookup a scan again.
 */
static uint64_t hash_secret[2];
static pthread_once_t hash_secret_once = PTHREAD_ONCE_INIT;

static void choose_hash_secret(void)
{
    if (getrandom(hash_secret, sizeof(hash_secret), GRND_NONBLOCK) == (ssize_t)sizeof(hash_secret))
        return;
    /* No entropy yet (early boot): a key that still differs between runs. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    hash_secret[0] = (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 30) ^ (uint64_t)getpid();
    hash_secret[1] = hash_secret[0] * 0x9e3779b97f4a7c15u ^ (uint64_t)(uintptr_t)&now;
}

static uint64_t rotate(uint64_t x, int bits)
{
    return (x << bits) | (x >> (64 - bits));
}

static void sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotate(v[1], 13) ^ v[0];
    v[0] = rotate(v[0], 32);
    v[2] += v[3];
    v[3] = rotate(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = rotate(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = rotate(v[1], 17) ^ v[2];
    v[2] = rotate(v[2], 32);
}

uint64_t cfbp_text_hash(const char *text, size_t length)
{
    pthread_once(&hash_secret_once, choose_hash_secret);
    uint64_t v[4] = {hash_secret[0] ^ 0x736f6d6570736575u, hash_secret[1] ^ 0x646f72616e646f6du,
                     hash_secret[0] ^ 0x6c7967656e657261u, hash_secret[1] ^ 0x7465646279746573u};
    const unsigned char *bytes = (const unsigned char *)text;
    size_t whole = length - length % 8;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t word = 0;
        for (int b = 0; b < 8; b++)
            word |= (uint64_t)bytes[i + b] << (8 * b);
        v[3] ^= word;
        sip_round(v);
        v[0] ^= word;
    }
    uint64_t last = (uint64_t)length << 56;
    for (size_t b = 0; b < length % 8; b++)
        last |= (uint64_t)bytes[whole + b] << (8 * b);
    v[3] ^= last;
    sip_round(v);
    v[0] ^= last;
    v[2] ^= 0xff;
    for (int round = 0; round < 3; round++)
        sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* The caller's index + 1 for text, or 0 when it is not there. */
size_t cfbp_text_table_find(const struct cfbp_text_table *table, uint64_t hash, const char *text,
                            size_t length, cfbp_text_of_entry text_of, const void *owner)
{
    if (table->size == 0)
        return 0;
    for (size_t i = hash & (table->size - 1);; i = (i + 1) & (table->size - 1)) {
        const struct cfbp_text_slot *slot = &table->slots[i];
        if (slot->entry == 0)
            return 0;
        if (slot->hash != hash)
            continue;
        size_t entry_length;
        const char *entry_text = text_of(owner, slot->entry - 1, &entry_length);
        if (entry_length == length && memcmp(entry_text, text, length) == 0)
            return slot->entry;
    }
}

static void place(struct cfbp_text_slot *slots, size_t size, uint64_t hash, size_t entry)
{
    size_t i = hash & (size - 1);
    while (slots[i].entry != 0)
        i = (i + 1) & (size - 1);
    slots[i].hash = hash;
    slots[i].entry = entry;
}

/* Adds index under hash; the caller has checked that its text is not there yet. */
void cfbp_text_table_add(struct cfbp_text_table *table, uint64_t hash, size_t index)
{
    if ((table->used + 1) * 2 > table->size) {
        size_t size = table->size ? table->size * 2 : 8;
        struct cfbp_text_slot *slots = cfbp_xcalloc(size, sizeof(*slots));
        for (size_t i = 0; i < table->size; i++)
            if (table->slots[i].entry)
                place(slots, size, table->slots[i].hash, table->slots[i].entry);
        free(table->slots);
        table->slots = slots;
        table->size = size;
    }
    place(table->slots, table->size, hash, index + 1);
    table->used++;
}

void cfbp_text_table_release(struct cfbp_text_table *table)
{
    free(table->slots);
    memset(table, 0, sizeof(*table));
}
