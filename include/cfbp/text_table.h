/*
 * text_table.h - an open-addressing hash table from text to an entry number,
 * for lookups that must stay cheap on hostile input (YAML keys and anchors,
 * process types).
 *
 * The table holds only hashes and numbers; the texts stay with the caller,
 * which hands a function that gives an entry's text back when hashes match.
 * Hashes are SipHash-1-3 under a key chosen once per process, so nobody can
 * build input whose texts all land in one bucket and turn each lookup into
 * a scan.
 *
 *     struct cfbp_text_table table = CFBP_TEXT_TABLE_INIT;
 *     uint64_t hash = cfbp_text_hash(name, strlen(name));
 *     if (!cfbp_text_table_find(&table, hash, name, strlen(name), text_of, owner))
 *         cfbp_text_table_add(&table, hash, index);
 *     cfbp_text_table_release(&table);
 */
#ifndef CFBP_TEXT_TABLE_H
#define CFBP_TEXT_TABLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_text_slot {
    uint64_t hash;
    size_t entry; /* 0: empty; otherwise the caller's index + 1 */
};

struct cfbp_text_table {
    struct cfbp_text_slot *slots;
    size_t size; /* 0 or a power of two, at least twice the entries */
    size_t used;
};

#define CFBP_TEXT_TABLE_INIT                                                                       \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Gives the text of the caller's entry index (and its length). */
typedef const char *(*cfbp_text_of_entry)(const void *owner, size_t index, size_t *length);

/* The keyed hash of length bytes of text. */
uint64_t cfbp_text_hash(const char *text, size_t length);
/* The caller's index + 1 for text, or 0 when it is not there. */
size_t cfbp_text_table_find(const struct cfbp_text_table *table, uint64_t hash, const char *text,
                            size_t length, cfbp_text_of_entry text_of, const void *owner);
/* Adds index under hash; the caller has checked that its text is not there yet. */
void cfbp_text_table_add(struct cfbp_text_table *table, uint64_t hash, size_t index);
void cfbp_text_table_release(struct cfbp_text_table *table);

#ifdef __cplusplus
}
#endif

#endif
