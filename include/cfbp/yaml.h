/*
 * yaml.h - YAML documents as a small tree, read and written through libyaml.
 *
 * Every file the buildpack reads or writes in YAML goes through here: the
 * buildpack manifest, override.yml, config.yml, launch.yml, the app's
 * manifest.yml, Procfiles and `release` output. Reading keeps each scalar's
 * raw text and whether it was quoted, so a plain `version: 1.10` stays the
 * string "1.10" (libbuildpack keeps raw scalar text too, contract §5.1), and
 * remembers where every node starts so errors can name line and column.
 *
 * Loading resolves aliases (within a node budget, so alias bombs fail) and
 * merge keys ("<<"), and rejects duplicate keys (every spelling of null, such
 * as "~" and "null", being the one null key) and multi-document streams.
 * It is built for hostile input: it takes time in proportion to the text
 * (about a second at most for a 1 MiB file), refuses documents that nest
 * deeper than CFBP_YAML_MAX_DEPTH, and no call here recurses over a tree, so
 * trees of any depth built through this API are freed and copied safely.
 *
 * The emitter writes block style without a "---" header. Strings that would
 * read back as another type are double-quoted and text with line breaks is a
 * literal block, the way Go's yaml.v2 does it (contract §5.2); an empty plain
 * key or document is written as null. Keys can be sorted, which the packager
 * needs. What the emitter writes loads back to the same values, each meaning
 * the same.
 */
#ifndef CFBP_YAML_H
#define CFBP_YAML_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_strbuf;
struct cfbp_error;

/*
 * The deepest that lists and mappings may nest (a top-level mapping is level
 * 1). Loading refuses deeper documents, also when an alias would copy a node
 * deeper, and the emitter refuses to write deeper trees, so code that walks
 * a loaded tree recursively needs no more than this many stack frames.
 */
#define CFBP_YAML_MAX_DEPTH 1000

/*
 * The longest text one cfbp_yaml_emit call writes (16 MiB, sixteen times the
 * largest file any loader here reads). Block style indents each line by its
 * depth, so a few kilobytes of aliases to a deep node would otherwise come
 * out as hundreds of megabytes.
 */
#define CFBP_YAML_MAX_EMIT_BYTES (16 * 1024 * 1024)

enum cfbp_yaml_type { CFBP_YAML_SCALAR, CFBP_YAML_SEQUENCE, CFBP_YAML_MAPPING };

/* What a plain scalar means under YAML 1.1 (yaml.v2's resolver). Quoted scalars are STRING. */
enum cfbp_yaml_meaning {
    CFBP_YAML_STRING,
    CFBP_YAML_NULL,
    CFBP_YAML_BOOL,
    CFBP_YAML_INT,
    CFBP_YAML_FLOAT,
    CFBP_YAML_TIMESTAMP,
    CFBP_YAML_MERGE /* "<<" */
};

struct cfbp_yaml_node {
    enum cfbp_yaml_type type;
    char *value; /* SCALAR: raw text, NUL-terminated */
    size_t value_length;
    bool quoted;  /* SCALAR: quoted, block or !!str-tagged, so it is a string whatever it reads like
                   */
    size_t count; /* SEQUENCE items or MAPPING pairs */
    struct cfbp_yaml_node **items;  /* SEQUENCE */
    struct cfbp_yaml_node **keys;   /* MAPPING */
    struct cfbp_yaml_node **values; /* MAPPING */
    size_t line, column;            /* 1-based start position in the source */
};

struct cfbp_yaml_document {
    char *name;                  /* the file name used in messages */
    struct cfbp_yaml_node *root; /* NULL for an empty document */
};

#define CFBP_YAML_DOCUMENT_INIT                                                                    \
    {                                                                                              \
        NULL, NULL                                                                                 \
    }

/* Reads path (refusing files over max_bytes) into doc. On failure doc holds nothing. */
int cfbp_yaml_load_file(struct cfbp_yaml_document *doc, const char *path, size_t max_bytes,
                        struct cfbp_error *err);
/* Parses text; name is used in error messages ("<name>:<line>:<column>: ..."). */
int cfbp_yaml_load_string(struct cfbp_yaml_document *doc, const char *name, const char *text,
                          size_t length, struct cfbp_error *err);
/*
 * The same with flags. CFBP_YAML_LAST_KEY_WINS takes a repeated key's last value instead of
 * refusing the document, as Go's yaml.v2 (not strict) reads it: for reading what the Go tools
 * accept (the packager's summary), never for what decides what gets installed.
 */
#define CFBP_YAML_LAST_KEY_WINS 1u
int cfbp_yaml_load_file_with_flags(struct cfbp_yaml_document *doc, const char *path,
                                   size_t max_bytes, unsigned flags, struct cfbp_error *err);
int cfbp_yaml_load_string_with_flags(struct cfbp_yaml_document *doc, const char *name,
                                     const char *text, size_t length, unsigned flags,
                                     struct cfbp_error *err);
void cfbp_yaml_document_release(struct cfbp_yaml_document *doc);

/* --- reading values --- */

/* The value for key in a mapping, or NULL (also when mapping is not a mapping). */
struct cfbp_yaml_node *cfbp_yaml_get(const struct cfbp_yaml_node *mapping, const char *key);
/* True for a missing node or a plain null scalar ("", "~", "null"). */
bool cfbp_yaml_is_null(const struct cfbp_yaml_node *node);
enum cfbp_yaml_meaning cfbp_yaml_meaning_of(const struct cfbp_yaml_node *scalar);
/* "a mapping", "a list", "a number", ... for messages. */
const char *cfbp_yaml_describe(const struct cfbp_yaml_node *node);

/* Sets err to "<doc>:<line>:<column>: <message>" for node (kind INVALID). Returns -1. */
int cfbp_yaml_error_at(const struct cfbp_yaml_document *doc, const struct cfbp_yaml_node *node,
                       struct cfbp_error *err, const char *format, ...)
    __attribute__((format(printf, 4, 5)));
/* Checks node has type; otherwise errors "<what> must be <a type>, not <what it is>". */
int cfbp_yaml_expect(const struct cfbp_yaml_document *doc, const struct cfbp_yaml_node *node,
                     enum cfbp_yaml_type type, const char *what, struct cfbp_error *err);
/*
 * Reads mapping[key] as a string into *out (a new copy; NULL when absent or
 * null). A missing value is an error only when required. A list or mapping is
 * an error. context names the mapping in messages, e.g. "dependencies[2]".
 */
int cfbp_yaml_read_string(const struct cfbp_yaml_document *doc,
                          const struct cfbp_yaml_node *mapping, const char *key,
                          const char *context, bool required, char **out, struct cfbp_error *err);

/* --- building and writing --- */

struct cfbp_yaml_node *cfbp_yaml_new_string(const char *text);
/* A plain scalar written as is (numbers, booleans). */
struct cfbp_yaml_node *cfbp_yaml_new_plain(const char *text);
struct cfbp_yaml_node *cfbp_yaml_new_sequence(void);
struct cfbp_yaml_node *cfbp_yaml_new_mapping(void);
void cfbp_yaml_append(struct cfbp_yaml_node *sequence, struct cfbp_yaml_node *item);
/* Adds or replaces key in mapping; takes ownership of value. */
void cfbp_yaml_set(struct cfbp_yaml_node *mapping, const char *key, struct cfbp_yaml_node *value);
/* Removes key from mapping (if there). */
void cfbp_yaml_remove(struct cfbp_yaml_node *mapping, const char *key);
/* A deep copy (NULL for NULL). Walks with a heap stack: any depth is fine. */
struct cfbp_yaml_node *cfbp_yaml_copy(const struct cfbp_yaml_node *node);
/* Frees node and everything under it (NULL is fine). Any depth is fine. */
void cfbp_yaml_free(struct cfbp_yaml_node *node);

#define CFBP_YAML_EMIT_SORT_KEYS 1u
/* Folds long plain and quoted strings at 80 columns, as Go's yaml.v2 (v2.4) writes them. */
#define CFBP_YAML_EMIT_GO_WIDTH 2u

/*
 * Appends root as YAML to out. A tree nested deeper than CFBP_YAML_MAX_DEPTH
 * (loading could not read it back) or whose text would be longer than
 * CFBP_YAML_MAX_EMIT_BYTES is refused: err says so and out is left as it was.
 */
int cfbp_yaml_emit(struct cfbp_strbuf *out, const struct cfbp_yaml_node *root, unsigned flags,
                   struct cfbp_error *err);

#ifdef __cplusplus
}
#endif

#endif
