/*
 * yaml.c - YAML documents as trees, through libyaml's parser and emitter.
 *
 * Loading turns libyaml's event stream into nodes with a stack of open
 * collections. Anchors are remembered as they complete; an alias becomes a
 * deep copy, counted against a node budget so that "billion laughs" input
 * fails instead of eating memory. Merge keys are applied when a mapping ends.
 *
 * Emitting walks a tree and feeds libyaml's emitter, choosing each scalar's
 * style the way Go's yaml.v2 does (contract §5.2).
 */
#include "cfbp/yaml.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/strbuf.h"

#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* The most nodes one document may expand to, aliases included. */
#define NODE_BUDGET 500000

#define STR_TAG "tag:yaml.org,2002:str"

struct anchor {
    char *name;
    struct cfbp_yaml_node *node;
};

struct builder {
    const char *name;
    struct cfbp_error *err;
    struct cfbp_yaml_node **open;         /* collections being filled */
    struct cfbp_yaml_node **pending_keys; /* per open mapping: key waiting for its value */
    char **open_anchors;                  /* per open collection: its anchor, if any */
    size_t depth, open_alloc, keys_alloc, anchors_alloc;
    struct anchor *anchors;
    size_t anchor_count, anchor_alloc;
    struct cfbp_yaml_node *root;
    bool have_root;
    size_t nodes;
    /* Merge sources taken out of their mapping; anchors may still point into
     * them, so they live until the whole document is built. */
    struct cfbp_yaml_node **spent;
    size_t spent_count, spent_alloc;
};

static struct cfbp_yaml_node *new_node(enum cfbp_yaml_type type, size_t line, size_t column)
{
    struct cfbp_yaml_node *node = cfbp_xcalloc(1, sizeof(*node));
    node->type = type;
    node->line = line;
    node->column = column;
    return node;
}

void cfbp_yaml_free(struct cfbp_yaml_node *node)
{
    if (!node)
        return;
    for (size_t i = 0; i < node->count; i++) {
        if (node->type == CFBP_YAML_SEQUENCE) {
            cfbp_yaml_free(node->items[i]);
        } else if (node->type == CFBP_YAML_MAPPING) {
            cfbp_yaml_free(node->keys[i]);
            cfbp_yaml_free(node->values[i]);
        }
    }
    free(node->items);
    free(node->keys);
    free(node->values);
    free(node->value);
    free(node);
}

static void mapping_add(struct cfbp_yaml_node *mapping, struct cfbp_yaml_node *key,
                        struct cfbp_yaml_node *value)
{
    size_t alloc = mapping->count;
    CFBP_GROW(mapping->keys, alloc, mapping->count + 1);
    alloc = mapping->count;
    CFBP_GROW(mapping->values, alloc, mapping->count + 1);
    mapping->keys[mapping->count] = key;
    mapping->values[mapping->count++] = value;
}

/* Deep copy; counts nodes when budget is given and stops (returning NULL) past it. */
static struct cfbp_yaml_node *copy_node(const struct cfbp_yaml_node *node, size_t *budget)
{
    if (budget) {
        if (*budget == 0)
            return NULL;
        (*budget)--;
    }
    struct cfbp_yaml_node *copy = new_node(node->type, node->line, node->column);
    copy->quoted = node->quoted;
    if (node->type == CFBP_YAML_SCALAR) {
        copy->value = cfbp_xstrndup(node->value, node->value_length);
        copy->value_length = node->value_length;
        return copy;
    }
    for (size_t i = 0; i < node->count; i++) {
        if (node->type == CFBP_YAML_SEQUENCE) {
            struct cfbp_yaml_node *item = copy_node(node->items[i], budget);
            if (!item) {
                cfbp_yaml_free(copy);
                return NULL;
            }
            cfbp_yaml_append(copy, item);
        } else {
            struct cfbp_yaml_node *key = copy_node(node->keys[i], budget);
            struct cfbp_yaml_node *value = key ? copy_node(node->values[i], budget) : NULL;
            if (!value) {
                cfbp_yaml_free(key);
                cfbp_yaml_free(copy);
                return NULL;
            }
            mapping_add(copy, key, value);
        }
    }
    return copy;
}

struct cfbp_yaml_node *cfbp_yaml_copy(const struct cfbp_yaml_node *node)
{
    return node ? copy_node(node, NULL) : NULL;
}

static int builder_error(struct builder *builder, size_t line, size_t column, const char *format,
                         ...) __attribute__((format(printf, 4, 5)));

static int builder_error(struct builder *builder, size_t line, size_t column, const char *format,
                         ...)
{
    struct cfbp_strbuf message = CFBP_STRBUF_INIT;
    va_list args;
    va_start(args, format);
    cfbp_strbuf_append_vformat(&message, format, args);
    va_end(args);
    cfbp_error_set(builder->err, CFBP_ERROR_INVALID, "%s:%zu:%zu: %s", builder->name, line, column,
                   message.buf);
    cfbp_strbuf_release(&message);
    return -1;
}

static bool scalar_equals(const struct cfbp_yaml_node *node, const char *text, size_t length)
{
    return node->type == CFBP_YAML_SCALAR && node->value_length == length &&
           memcmp(node->value, text, length) == 0;
}

static bool is_merge_key(const struct cfbp_yaml_node *key)
{
    return !key->quoted && scalar_equals(key, "<<", 2);
}

static int add_node(struct builder *builder, struct cfbp_yaml_node *node)
{
    if (builder->depth == 0) {
        builder->root = node;
        builder->have_root = true;
        return 0;
    }
    struct cfbp_yaml_node *parent = builder->open[builder->depth - 1];
    if (parent->type == CFBP_YAML_SEQUENCE) {
        cfbp_yaml_append(parent, node);
        return 0;
    }
    struct cfbp_yaml_node **pending = &builder->pending_keys[builder->depth - 1];
    if (!*pending) {
        if (node->type != CFBP_YAML_SCALAR) {
            int result = builder_error(builder, node->line, node->column,
                                       "a mapping key must be a plain value, not %s",
                                       cfbp_yaml_describe(node));
            cfbp_yaml_free(node);
            return result;
        }
        for (size_t i = 0; i < parent->count; i++) {
            if (scalar_equals(parent->keys[i], node->value, node->value_length)) {
                int result = builder_error(builder, node->line, node->column,
                                           "the key '%s' is already defined on line %zu",
                                           node->value, parent->keys[i]->line);
                cfbp_yaml_free(node);
                return result;
            }
        }
        *pending = node;
        return 0;
    }
    mapping_add(parent, *pending, node);
    *pending = NULL;
    return 0;
}

/* Applies "<<" merge keys of a finished mapping: merged keys never override explicit ones. */
static int apply_merges(struct builder *builder, struct cfbp_yaml_node *mapping)
{
    for (size_t i = 0; i < mapping->count;) {
        if (!is_merge_key(mapping->keys[i])) {
            i++;
            continue;
        }
        struct cfbp_yaml_node *key = mapping->keys[i], *source = mapping->values[i];
        memmove(mapping->keys + i, mapping->keys + i + 1,
                (mapping->count - i - 1) * sizeof(*mapping->keys));
        memmove(mapping->values + i, mapping->values + i + 1,
                (mapping->count - i - 1) * sizeof(*mapping->values));
        mapping->count--;
        size_t sources = source->type == CFBP_YAML_SEQUENCE ? source->count : 1;
        int result = 0;
        for (size_t s = 0; s < sources && result == 0; s++) {
            struct cfbp_yaml_node *from =
                source->type == CFBP_YAML_SEQUENCE ? source->items[s] : source;
            if (from->type != CFBP_YAML_MAPPING) {
                result = builder_error(builder, from->line, from->column,
                                       "a '<<' merge needs a mapping or a list of mappings");
                break;
            }
            for (size_t k = 0; k < from->count; k++) {
                if (cfbp_yaml_get(mapping, from->keys[k]->value))
                    continue;
                mapping_add(mapping, cfbp_yaml_copy(from->keys[k]),
                            cfbp_yaml_copy(from->values[k]));
            }
        }
        cfbp_yaml_free(key);
        CFBP_GROW(builder->spent, builder->spent_alloc, builder->spent_count + 1);
        builder->spent[builder->spent_count++] = source;
        if (result < 0)
            return -1;
    }
    return 0;
}

static void remember_anchor(struct builder *builder, const char *name, struct cfbp_yaml_node *node)
{
    CFBP_GROW(builder->anchors, builder->anchor_alloc, builder->anchor_count + 1);
    builder->anchors[builder->anchor_count].name = cfbp_xstrdup(name);
    builder->anchors[builder->anchor_count++].node = node;
}

static int handle_alias(struct builder *builder, const yaml_event_t *event, size_t line,
                        size_t column)
{
    const char *name = (const char *)event->data.alias.anchor;
    for (size_t i = 0; i < builder->depth; i++)
        if (builder->open_anchors[i] && strcmp(builder->open_anchors[i], name) == 0)
            return builder_error(builder, line, column,
                                 "the alias *%s refers to a node that contains it", name);
    for (size_t i = builder->anchor_count; i > 0; i--) {
        if (strcmp(builder->anchors[i - 1].name, name) != 0)
            continue;
        size_t budget = NODE_BUDGET - builder->nodes;
        struct cfbp_yaml_node *copy = copy_node(builder->anchors[i - 1].node, &budget);
        if (!copy)
            return builder_error(builder, line, column,
                                 "aliases expand to more than %d nodes; refusing the document",
                                 NODE_BUDGET);
        builder->nodes = NODE_BUDGET - budget;
        copy->line = line;
        copy->column = column;
        return add_node(builder, copy);
    }
    return builder_error(builder, line, column, "the alias *%s has no anchor before it", name);
}

static int open_collection(struct builder *builder, struct cfbp_yaml_node *node,
                           const yaml_char_t *anchor)
{
    CFBP_GROW(builder->open, builder->open_alloc, builder->depth + 1);
    CFBP_GROW(builder->pending_keys, builder->keys_alloc, builder->depth + 1);
    CFBP_GROW(builder->open_anchors, builder->anchors_alloc, builder->depth + 1);
    builder->open[builder->depth] = node;
    builder->pending_keys[builder->depth] = NULL;
    builder->open_anchors[builder->depth] = anchor ? cfbp_xstrdup((const char *)anchor) : NULL;
    builder->depth++;
    return 0;
}

static int close_collection(struct builder *builder)
{
    builder->depth--;
    struct cfbp_yaml_node *node = builder->open[builder->depth];
    char *anchor = builder->open_anchors[builder->depth];
    int result = 0;
    if (node->type == CFBP_YAML_MAPPING)
        result = apply_merges(builder, node);
    if (result == 0 && anchor)
        remember_anchor(builder, anchor, node);
    free(anchor);
    if (result < 0) {
        cfbp_yaml_free(node);
        return -1;
    }
    return add_node(builder, node);
}

static int handle_event(struct builder *builder, const yaml_event_t *event)
{
    size_t line = event->start_mark.line + 1, column = event->start_mark.column + 1;
    if (event->type == YAML_SCALAR_EVENT || event->type == YAML_SEQUENCE_START_EVENT ||
        event->type == YAML_MAPPING_START_EVENT) {
        if (builder->have_root && builder->depth == 0)
            return builder_error(builder, line, column, "more than one YAML document");
        if (++builder->nodes > NODE_BUDGET)
            return builder_error(builder, line, column, "more than %d nodes; refusing the document",
                                 NODE_BUDGET);
    }
    switch (event->type) {
    case YAML_SCALAR_EVENT: {
        struct cfbp_yaml_node *node = new_node(CFBP_YAML_SCALAR, line, column);
        node->value =
            cfbp_xstrndup((const char *)event->data.scalar.value, event->data.scalar.length);
        node->value_length = event->data.scalar.length;
        const char *tag = (const char *)event->data.scalar.tag;
        node->quoted = event->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                       (tag && (strcmp(tag, STR_TAG) == 0 || strcmp(tag, "!!str") == 0));
        if (event->data.scalar.anchor)
            remember_anchor(builder, (const char *)event->data.scalar.anchor, node);
        return add_node(builder, node);
    }
    case YAML_SEQUENCE_START_EVENT:
        return open_collection(builder, new_node(CFBP_YAML_SEQUENCE, line, column),
                               event->data.sequence_start.anchor);
    case YAML_MAPPING_START_EVENT:
        return open_collection(builder, new_node(CFBP_YAML_MAPPING, line, column),
                               event->data.mapping_start.anchor);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return close_collection(builder);
    case YAML_ALIAS_EVENT:
        if (builder->have_root && builder->depth == 0)
            return builder_error(builder, line, column, "more than one YAML document");
        return handle_alias(builder, event, line, column);
    case YAML_DOCUMENT_START_EVENT:
        if (builder->have_root)
            return builder_error(builder, line, column, "more than one YAML document");
        return 0;
    default:
        return 0;
    }
}

static void builder_release(struct builder *builder)
{
    for (size_t i = 0; i < builder->depth; i++) {
        /* Only reached on errors: open collections are not yet attached to a parent. */
        cfbp_yaml_free(builder->pending_keys[i]);
        free(builder->open_anchors[i]);
    }
    /* Free open collections from the innermost out; each is detached. */
    for (size_t i = builder->depth; i > 0; i--)
        cfbp_yaml_free(builder->open[i - 1]);
    free(builder->open);
    free(builder->pending_keys);
    free(builder->open_anchors);
    for (size_t i = 0; i < builder->anchor_count; i++)
        free(builder->anchors[i].name);
    free(builder->anchors);
    for (size_t i = 0; i < builder->spent_count; i++)
        cfbp_yaml_free(builder->spent[i]);
    free(builder->spent);
}

static int parser_error(struct builder *builder, const yaml_parser_t *parser)
{
    const char *problem = parser->problem ? parser->problem : "unknown problem";
    if (parser->error == YAML_READER_ERROR)
        return cfbp_error_set(builder->err, CFBP_ERROR_INVALID,
                              "%s: invalid YAML: %s at byte %zu; save the file as UTF-8",
                              builder->name, problem, parser->problem_offset);
    if (parser->error == YAML_MEMORY_ERROR)
        cfbp_alloc_failed(0);
    size_t line = parser->problem_mark.line + 1, column = parser->problem_mark.column + 1;
    if (parser->context)
        return builder_error(builder, line, column, "invalid YAML: %s %s (line %zu, column %zu)",
                             problem, parser->context, parser->context_mark.line + 1,
                             parser->context_mark.column + 1);
    return builder_error(builder, line, column, "invalid YAML: %s", problem);
}

int cfbp_yaml_load_string(struct cfbp_yaml_document *doc, const char *name, const char *text,
                          size_t length, struct cfbp_error *err)
{
    doc->name = cfbp_xstrdup(name);
    doc->root = NULL;
    struct builder builder = {0};
    builder.name = name;
    builder.err = err;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        cfbp_alloc_failed(0);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, length);
    int result = 0;
    for (;;) {
        yaml_event_t event;
        if (!yaml_parser_parse(&parser, &event)) {
            result = parser_error(&builder, &parser);
            break;
        }
        bool done = event.type == YAML_STREAM_END_EVENT;
        result = handle_event(&builder, &event);
        yaml_event_delete(&event);
        if (result < 0 || done)
            break;
    }
    yaml_parser_delete(&parser);
    if (result < 0) {
        cfbp_yaml_free(builder.root);
        builder.root = NULL;
        free(doc->name); /* a failed load leaves nothing to release */
        doc->name = NULL;
    }
    doc->root = builder.root;
    builder_release(&builder);
    return result;
}

int cfbp_yaml_load_file(struct cfbp_yaml_document *doc, const char *path, size_t max_bytes,
                        struct cfbp_error *err)
{
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    doc->name = NULL;
    doc->root = NULL;
    if (cfbp_fs_read_file(path, max_bytes, &text, err) < 0) {
        cfbp_strbuf_release(&text);
        return -1;
    }
    int result = cfbp_yaml_load_string(doc, path, text.buf, text.len, err);
    cfbp_strbuf_release(&text);
    return result;
}

void cfbp_yaml_document_release(struct cfbp_yaml_document *doc)
{
    cfbp_yaml_free(doc->root);
    free(doc->name);
    doc->root = NULL;
    doc->name = NULL;
}

/* --- reading values --- */

struct cfbp_yaml_node *cfbp_yaml_get(const struct cfbp_yaml_node *mapping, const char *key)
{
    if (!mapping || mapping->type != CFBP_YAML_MAPPING)
        return NULL;
    size_t length = strlen(key);
    for (size_t i = 0; i < mapping->count; i++)
        if (scalar_equals(mapping->keys[i], key, length))
            return mapping->values[i];
    return NULL;
}

bool cfbp_yaml_is_null(const struct cfbp_yaml_node *node)
{
    return !node ||
           (node->type == CFBP_YAML_SCALAR && cfbp_yaml_meaning_of(node) == CFBP_YAML_NULL);
}

static bool matches(const char *pattern, const char *text)
{
    regex_t regex;
    if (regcomp(&regex, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool result = regexec(&regex, text, 0, NULL, 0) == 0;
    regfree(&regex);
    return result;
}

static bool is_one_of(const char *text, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(text, *words) == 0)
            return true;
    return false;
}

/* yaml.v2 checks timestamps with time.Parse: 2000-02-30 is a string, not a date. */
static bool is_real_date(const char *text)
{
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year = atoi(text);
    const char *month_text = strchr(text, '-') + 1;
    int month = atoi(month_text);
    int day = atoi(strchr(month_text, '-') + 1);
    if (month < 1 || month > 12 || day < 1 || day > days[month - 1])
        return false;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month == 2 && day == 29 && !leap)
        return false;
    const char *time_part = strpbrk(text, "Tt ");
    if (time_part) {
        int hour = atoi(time_part + 1);
        const char *colon = strchr(time_part, ':');
        int minute = atoi(colon + 1);
        int second = atoi(strchr(colon + 1, ':') + 1);
        if (hour > 23 || minute > 59 || second > 60)
            return false;
    }
    return true;
}

/* What a plain scalar's text means to yaml.v2's resolver (YAML 1.1 with its quirks). */
static enum cfbp_yaml_meaning resolve_plain(const char *text)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const bools[] = {
        "y",    "Y",     "yes",   "Yes",   "YES", "n",  "N",  "no",  "No",  "NO",  "true", "True",
        "TRUE", "false", "False", "FALSE", "on",  "On", "ON", "off", "Off", "OFF", NULL};
    static const char *const floats[] = {".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf",
                                         "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
                                         ".NaN",  ".NAN",  NULL};
    if (is_one_of(text, nulls))
        return CFBP_YAML_NULL;
    if (strcmp(text, "<<") == 0)
        return CFBP_YAML_MERGE;
    if (is_one_of(text, bools))
        return CFBP_YAML_BOOL;
    if (is_one_of(text, floats))
        return CFBP_YAML_FLOAT;
    char first = text[0];
    if (!(first == '-' || first == '+' || first == '.' || (first >= '0' && first <= '9')))
        return CFBP_YAML_STRING;
    /* yaml.v2 drops underscores before trying integers and floats. */
    struct cfbp_strbuf plain = CFBP_STRBUF_INIT;
    for (const char *c = text; *c; c++)
        if (*c != '_')
            cfbp_strbuf_append_char(&plain, *c);
    enum cfbp_yaml_meaning meaning = CFBP_YAML_STRING;
    if (matches("^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$", plain.buf))
        meaning = CFBP_YAML_INT;
    else if (matches("^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$", plain.buf))
        meaning = CFBP_YAML_FLOAT;
    else if (matches("^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
                     "([Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\\.[0-9]*)?"
                     "(Z|[-+][0-9]{1,2}(:[0-9]{2})?)?)?$",
                     text) &&
             is_real_date(text))
        meaning = CFBP_YAML_TIMESTAMP;
    /* Base-60 numbers ("1:20") are quoted by yaml.v2 for YAML 1.1 readers. */
    else if (matches("^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\\.[0-9_]*)?$", text))
        meaning = CFBP_YAML_FLOAT;
    cfbp_strbuf_release(&plain);
    return meaning;
}

enum cfbp_yaml_meaning cfbp_yaml_meaning_of(const struct cfbp_yaml_node *scalar)
{
    if (scalar->type != CFBP_YAML_SCALAR || scalar->quoted)
        return CFBP_YAML_STRING;
    return resolve_plain(scalar->value);
}

const char *cfbp_yaml_describe(const struct cfbp_yaml_node *node)
{
    if (!node)
        return "nothing";
    if (node->type == CFBP_YAML_SEQUENCE)
        return "a list";
    if (node->type == CFBP_YAML_MAPPING)
        return "a mapping";
    switch (cfbp_yaml_meaning_of(node)) {
    case CFBP_YAML_NULL:
        return "empty";
    case CFBP_YAML_BOOL:
        return "a boolean";
    case CFBP_YAML_INT:
    case CFBP_YAML_FLOAT:
        return "a number";
    case CFBP_YAML_TIMESTAMP:
        return "a date";
    case CFBP_YAML_MERGE:
        return "a merge key";
    case CFBP_YAML_STRING:
        break;
    }
    return "a string";
}

int cfbp_yaml_error_at(const struct cfbp_yaml_document *doc, const struct cfbp_yaml_node *node,
                       struct cfbp_error *err, const char *format, ...)
{
    struct cfbp_strbuf message = CFBP_STRBUF_INIT;
    va_list args;
    va_start(args, format);
    cfbp_strbuf_append_vformat(&message, format, args);
    va_end(args);
    if (node)
        cfbp_error_set(err, CFBP_ERROR_INVALID, "%s:%zu:%zu: %s", doc->name, node->line,
                       node->column, message.buf);
    else
        cfbp_error_set(err, CFBP_ERROR_INVALID, "%s: %s", doc->name, message.buf);
    cfbp_strbuf_release(&message);
    return -1;
}

int cfbp_yaml_expect(const struct cfbp_yaml_document *doc, const struct cfbp_yaml_node *node,
                     enum cfbp_yaml_type type, const char *what, struct cfbp_error *err)
{
    if (node && node->type == type)
        return 0;
    const char *wanted = type == CFBP_YAML_MAPPING    ? "a mapping"
                         : type == CFBP_YAML_SEQUENCE ? "a list"
                                                      : "a single value";
    return cfbp_yaml_error_at(doc, node, err, "%s must be %s, not %s", what, wanted,
                              cfbp_yaml_describe(node));
}

int cfbp_yaml_read_string(const struct cfbp_yaml_document *doc,
                          const struct cfbp_yaml_node *mapping, const char *key,
                          const char *context, bool required, char **out, struct cfbp_error *err)
{
    *out = NULL;
    const struct cfbp_yaml_node *value = cfbp_yaml_get(mapping, key);
    if (cfbp_yaml_is_null(value)) {
        if (required)
            return cfbp_yaml_error_at(doc, value ? value : mapping, err, "%s has no '%s'", context,
                                      key);
        return 0;
    }
    if (value->type != CFBP_YAML_SCALAR)
        return cfbp_yaml_error_at(doc, value, err, "%s.%s must be a single value, not %s", context,
                                  key, cfbp_yaml_describe(value));
    *out = cfbp_xstrndup(value->value, value->value_length);
    return 0;
}

/* --- building --- */

struct cfbp_yaml_node *cfbp_yaml_new_string(const char *text)
{
    struct cfbp_yaml_node *node = new_node(CFBP_YAML_SCALAR, 0, 0);
    node->value = cfbp_xstrdup(text);
    node->value_length = strlen(text);
    node->quoted = true;
    return node;
}

struct cfbp_yaml_node *cfbp_yaml_new_plain(const char *text)
{
    struct cfbp_yaml_node *node = cfbp_yaml_new_string(text);
    node->quoted = false;
    return node;
}

struct cfbp_yaml_node *cfbp_yaml_new_sequence(void)
{
    return new_node(CFBP_YAML_SEQUENCE, 0, 0);
}

struct cfbp_yaml_node *cfbp_yaml_new_mapping(void)
{
    return new_node(CFBP_YAML_MAPPING, 0, 0);
}

void cfbp_yaml_append(struct cfbp_yaml_node *sequence, struct cfbp_yaml_node *item)
{
    size_t alloc = sequence->count;
    CFBP_GROW(sequence->items, alloc, sequence->count + 1);
    sequence->items[sequence->count++] = item;
}

void cfbp_yaml_set(struct cfbp_yaml_node *mapping, const char *key, struct cfbp_yaml_node *value)
{
    size_t length = strlen(key);
    for (size_t i = 0; i < mapping->count; i++) {
        if (scalar_equals(mapping->keys[i], key, length)) {
            cfbp_yaml_free(mapping->values[i]);
            mapping->values[i] = value;
            return;
        }
    }
    mapping_add(mapping, cfbp_yaml_new_string(key), value);
}

void cfbp_yaml_remove(struct cfbp_yaml_node *mapping, const char *key)
{
    size_t length = strlen(key);
    for (size_t i = 0; i < mapping->count; i++) {
        if (!scalar_equals(mapping->keys[i], key, length))
            continue;
        cfbp_yaml_free(mapping->keys[i]);
        cfbp_yaml_free(mapping->values[i]);
        memmove(mapping->keys + i, mapping->keys + i + 1,
                (mapping->count - i - 1) * sizeof(*mapping->keys));
        memmove(mapping->values + i, mapping->values + i + 1,
                (mapping->count - i - 1) * sizeof(*mapping->values));
        mapping->count--;
        return;
    }
}

/* --- emitting --- */

static bool is_letter(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/*
 * yaml.v2's key order: letters compare as characters, non-letters sort before
 * letters, and runs of digits compare as numbers ("a2" before "a10").
 */
static int compare_keys(const char *a, const char *b)
{
    size_t a_length = strlen(a), b_length = strlen(b);
    for (size_t i = 0; i < a_length && i < b_length; i++) {
        unsigned char ac = (unsigned char)a[i], bc = (unsigned char)b[i];
        if (ac == bc)
            continue;
        bool a_letter = is_letter(ac), b_letter = is_letter(bc);
        if (a_letter && b_letter)
            return ac < bc ? -1 : 1;
        if (a_letter || b_letter)
            return b_letter ? -1 : 1;
        long long a_number = 0, b_number = 0;
        if (ac == '0' || bc == '0') {
            for (size_t j = i; j > 0 && is_digit((unsigned char)a[j - 1]); j--) {
                if (a[j - 1] != '0') {
                    a_number = b_number = 1;
                    break;
                }
            }
        }
        size_t ai = i, bi = i;
        for (; ai < a_length && is_digit((unsigned char)a[ai]); ai++)
            a_number = a_number * 10 + (a[ai] - '0');
        for (; bi < b_length && is_digit((unsigned char)b[bi]); bi++)
            b_number = b_number * 10 + (b[bi] - '0');
        if (a_number != b_number)
            return a_number < b_number ? -1 : 1;
        if (ai != bi)
            return ai < bi ? -1 : 1;
        return ac < bc ? -1 : 1;
    }
    if (a_length == b_length)
        return 0;
    return a_length < b_length ? -1 : 1;
}

static yaml_scalar_style_t scalar_style(const struct cfbp_yaml_node *node)
{
    if (!node->quoted)
        return YAML_PLAIN_SCALAR_STYLE;
    if (memchr(node->value, '\n', node->value_length))
        return YAML_LITERAL_SCALAR_STYLE;
    if (strlen(node->value) != node->value_length || resolve_plain(node->value) != CFBP_YAML_STRING)
        return YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    /* libyaml falls back to single quotes when the text cannot be plain. */
    return YAML_PLAIN_SCALAR_STYLE;
}

struct emit_context {
    yaml_emitter_t emitter;
    unsigned flags;
};

static int emit_event(struct emit_context *context, yaml_event_t *event)
{
    return yaml_emitter_emit(&context->emitter, event) ? 0 : -1;
}

static int emit_node(struct emit_context *context, const struct cfbp_yaml_node *node)
{
    yaml_event_t event;
    switch (node->type) {
    case CFBP_YAML_SCALAR:
        yaml_scalar_event_initialize(&event, NULL, NULL, (yaml_char_t *)node->value,
                                     (int)node->value_length, 1, 1, scalar_style(node));
        return emit_event(context, &event);
    case CFBP_YAML_SEQUENCE:
        yaml_sequence_start_event_initialize(&event, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        if (emit_event(context, &event) < 0)
            return -1;
        for (size_t i = 0; i < node->count; i++)
            if (emit_node(context, node->items[i]) < 0)
                return -1;
        yaml_sequence_end_event_initialize(&event);
        return emit_event(context, &event);
    case CFBP_YAML_MAPPING:
        break;
    }
    size_t *order = cfbp_xmalloc((node->count ? node->count : 1) * sizeof(*order));
    for (size_t i = 0; i < node->count; i++)
        order[i] = i;
    if (context->flags & CFBP_YAML_EMIT_SORT_KEYS) {
        /* Insertion sort keeps equal keys stable; mappings here are small. */
        for (size_t i = 1; i < node->count; i++) {
            size_t current = order[i], j = i;
            while (j > 0 &&
                   compare_keys(node->keys[order[j - 1]]->value, node->keys[current]->value) > 0) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = current;
        }
    }
    int result = 0;
    yaml_mapping_start_event_initialize(&event, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
    result = emit_event(context, &event);
    for (size_t i = 0; result == 0 && i < node->count; i++) {
        result = emit_node(context, node->keys[order[i]]);
        if (result == 0)
            result = emit_node(context, node->values[order[i]]);
    }
    free(order);
    if (result < 0)
        return -1;
    yaml_mapping_end_event_initialize(&event);
    return emit_event(context, &event);
}

static int write_to_strbuf(void *data, unsigned char *buffer, size_t size)
{
    cfbp_strbuf_append(data, buffer, size);
    return 1;
}

int cfbp_yaml_emit(struct cfbp_strbuf *out, const struct cfbp_yaml_node *root, unsigned flags,
                   struct cfbp_error *err)
{
    struct emit_context context;
    context.flags = flags;
    if (!yaml_emitter_initialize(&context.emitter))
        cfbp_alloc_failed(0);
    yaml_emitter_set_output(&context.emitter, write_to_strbuf, out);
    yaml_emitter_set_unicode(&context.emitter, 1);
    yaml_emitter_set_width(&context.emitter, -1);
    yaml_emitter_set_indent(&context.emitter, 2);
    yaml_event_t event;
    int result;
    yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING);
    result = emit_event(&context, &event);
    if (result == 0) {
        yaml_document_start_event_initialize(&event, NULL, NULL, NULL, 1);
        result = emit_event(&context, &event);
    }
    if (result == 0)
        result = emit_node(&context, root);
    if (result == 0) {
        yaml_document_end_event_initialize(&event, 1);
        result = emit_event(&context, &event);
    }
    if (result == 0) {
        yaml_stream_end_event_initialize(&event);
        result = emit_event(&context, &event);
    }
    if (result < 0)
        cfbp_error_set(err, CFBP_ERROR_INVALID, "cannot write YAML: %s",
                       context.emitter.problem ? context.emitter.problem : "emitter error");
    yaml_emitter_delete(&context.emitter);
    return result;
}
