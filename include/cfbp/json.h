/*
 * json.h - a strict JSON (RFC 8259) reader and a Go-compatible writer.
 *
 * The reader builds a small tree and refuses anything RFC 8259 does not allow
 * (comments, trailing commas, bad escapes, invalid UTF-8, lone surrogates) as
 * well as duplicate object keys and nesting deeper than CFBP_JSON_MAX_DEPTH.
 * Errors name the line and column. Each value remembers its byte span in the
 * source, so a caller can pass a sub-document on verbatim.
 *
 * The writer escapes strings exactly as Go's encoding/json does since Go
 * 1.22 (including "<", ">" and "&" as \u003c, \u003e, \u0026, and \b, \f), because the files we
 * write (result.json, staging_info.yml) must match the Cloud Foundry builder's bytes.
 *
 * This module depends only on libc and strbuf, so the static config-server
 * sidecar links it too.
 */
#ifndef CFBP_JSON_H
#define CFBP_JSON_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_strbuf;
struct cfbp_error;

#define CFBP_JSON_MAX_DEPTH 256

enum cfbp_json_type {
    CFBP_JSON_NULL,
    CFBP_JSON_FALSE,
    CFBP_JSON_TRUE,
    CFBP_JSON_NUMBER,
    CFBP_JSON_STRING,
    CFBP_JSON_ARRAY,
    CFBP_JSON_OBJECT
};

struct cfbp_json {
    enum cfbp_json_type type;
    char *text; /* STRING: decoded UTF-8 (may hold NULs); NUMBER: the literal */
    size_t text_length;
    size_t count; /* ARRAY elements or OBJECT members */
    struct cfbp_json **values;
    char **keys; /* OBJECT member names, decoded */
    size_t *key_lengths;
    size_t start, end; /* byte span of this value in the parsed text */
};

/*
 * Parses exactly one JSON value (surrounded by optional whitespace; a leading
 * UTF-8 byte order mark is skipped). On success *out owns the tree. The error
 * message reads "line L, column C: <problem>".
 */
int cfbp_json_parse(const char *text, size_t length, struct cfbp_json **out,
                    struct cfbp_error *err);
void cfbp_json_free(struct cfbp_json *value);

/* The member named key of an object, or NULL (also when value is not an object). */
const struct cfbp_json *cfbp_json_get(const struct cfbp_json *value, const char *key);
/* The NUL-terminated text of a STRING value, or NULL for any other type. */
const char *cfbp_json_string(const struct cfbp_json *value);
/* A human word for a type ("object", "string", ...), for error messages. */
const char *cfbp_json_type_name(enum cfbp_json_type type);

/* Appends text as a JSON string literal, escaped as Go's encoding/json does. */
void cfbp_json_write_string(struct cfbp_strbuf *out, const char *text, size_t length);
/* Appends value in compact form (members in stored order). */
void cfbp_json_write(struct cfbp_strbuf *out, const struct cfbp_json *value);

#ifdef __cplusplus
}
#endif

#endif
