/*
 * yaml.c - YAML documents as trees, through libyaml's parser and emitter.
 *
 * Loading turns libyaml's event stream into nodes with a stack of open
 * collections. Anchors are remembered as they complete; an alias becomes a
 * deep copy, counted against a node budget so that "billion laughs" input
 * fails instead of eating memory. Merge keys are applied when a mapping ends,
 * and their copies count against the same budget.
 *
 * Hostile input must cost time and memory in proportion to its size:
 *   - nesting stops at CFBP_YAML_MAX_DEPTH while the events stream in, both
 *     because deep trees would overflow any reader that recurses and because
 *     libyaml's scanner does work per token in proportion to the flow depth;
 *   - duplicate keys, merge keys and anchors are looked up in hash tables
 *     keyed with a per-process secret, so crafted keys cannot all collide;
 *   - nothing here recurses over a tree: freeing, copying and emitting walk
 *     with explicit stacks on the heap, whatever depth the tree has.
 *
 * Emitting walks a tree and feeds libyaml's emitter, choosing each scalar's
 * style the way Go's yaml.v2 does (contract §5.2).
 */
#include "cfbp/yaml.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/strbuf.h"
#include "cfbp/text_table.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

/* The most nodes one document may expand to, aliases and merge copies included. */
#define NODE_BUDGET 500000
/* The most bytes of scalar text one document may expand to: an alias of a long scalar copies
 * its text, so counting nodes alone would let a small file grow to gigabytes. */
#define TEXT_BUDGET (16u << 20)

#define STR_TAG "tag:yaml.org,2002:str"

/* The plain scalars that mean null. */
static const char *const null_words[] = {"", "~", "null", "Null", "NULL", NULL};

static bool is_one_of(const char *text, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(text, *words) == 0)
            return true;
    return false;
}

/* Whether a key means null; cheaper than cfbp_yaml_meaning_of, which tries every shape. */
static bool is_null_key(const struct cfbp_yaml_node *key)
{
    return !key->quoted && key->value_length <= 4 && strlen(key->value) == key->value_length &&
           is_one_of(key->value, null_words);
}

/*
 * What makes two keys the same key: their text, except that every spelling of
 * null ("", "~", "null", ...) is the one null key, as for any YAML reader that
 * resolves types (in Go, the nil key).
 */
static const char *key_identity(const struct cfbp_yaml_node *key, size_t *length)
{
    if (is_null_key(key)) {
        *length = 0;
        return "";
    }
    *length = key->value_length;
    return key->value;
}

static uint64_t hash_key(const struct cfbp_yaml_node *key)
{
    size_t length;
    const char *text = key_identity(key, &length);
    return cfbp_text_hash(text, length);
}

/* A mapping's keys, for tables of keys. */
static const char *mapping_key_text(const void *owner, size_t index, size_t *length)
{
    return key_identity(((const struct cfbp_yaml_node *)owner)->keys[index], length);
}

/* Where key is in mapping's table of keys: its index + 1, or 0 when it is not there. */
static size_t find_key(const struct cfbp_text_table *table, const struct cfbp_yaml_node *mapping,
                       const struct cfbp_yaml_node *key, uint64_t hash)
{
    size_t length;
    const char *text = key_identity(key, &length);
    return cfbp_text_table_find(table, hash, text, length, mapping_key_text, mapping);
}

/* --- nodes --- */

static struct cfbp_yaml_node *new_node(enum cfbp_yaml_type type, size_t line, size_t column)
{
    struct cfbp_yaml_node *node = cfbp_xcalloc(1, sizeof(*node));
    node->type = type;
    node->line = line;
    node->column = column;
    return node;
}

/* A collection's children in order: items, or key, value, key, value, ... */
static size_t child_count(const struct cfbp_yaml_node *node)
{
    if (node->type == CFBP_YAML_SEQUENCE)
        return node->count;
    return node->type == CFBP_YAML_MAPPING ? 2 * node->count : 0;
}

static struct cfbp_yaml_node **child_slot(const struct cfbp_yaml_node *node, size_t index)
{
    if (node->type == CFBP_YAML_SEQUENCE)
        return &node->items[index];
    return index % 2 ? &node->values[index / 2] : &node->keys[index / 2];
}

/* Frees a tree of any depth, children first pushed on a heap stack. Tolerates NULL children. */
void cfbp_yaml_free(struct cfbp_yaml_node *node)
{
    struct cfbp_yaml_node **stack = NULL;
    size_t count = 0, alloc = 0;
    while (node) {
        size_t children = child_count(node);
        for (size_t i = 0; i < children; i++) {
            struct cfbp_yaml_node *child = *child_slot(node, i);
            if (!child)
                continue;
            CFBP_GROW(stack, alloc, count + 1);
            stack[count++] = child;
        }
        free(node->items);
        free(node->keys);
        free(node->values);
        free(node->value);
        free(node);
        node = count ? stack[--count] : NULL;
    }
    free(stack);
}

/*
 * The slots a collection's arrays have for count children. Nodes do not store
 * it: every array here is allocated to this size, which doubles, so appending
 * n children reallocates log n times rather than n times.
 */
static size_t capacity_for(size_t count)
{
    size_t capacity = 8;
    if (count == 0)
        return 0;
    while (capacity < count)
        capacity *= 2;
    return capacity;
}

static void mapping_add(struct cfbp_yaml_node *mapping, struct cfbp_yaml_node *key,
                        struct cfbp_yaml_node *value)
{
    size_t alloc = capacity_for(mapping->count);
    CFBP_GROW(mapping->keys, alloc, mapping->count + 1);
    alloc = capacity_for(mapping->count);
    CFBP_GROW(mapping->values, alloc, mapping->count + 1);
    mapping->keys[mapping->count] = key;
    mapping->values[mapping->count++] = value;
}

/* One node without its children: a collection gets room for as many, all NULL. */
static struct cfbp_yaml_node *copy_shallow(const struct cfbp_yaml_node *node)
{
    struct cfbp_yaml_node *copy = new_node(node->type, node->line, node->column);
    copy->quoted = node->quoted;
    if (node->value) {
        copy->value = cfbp_xstrndup(node->value, node->value_length);
        copy->value_length = node->value_length;
    }
    if (node->type == CFBP_YAML_SEQUENCE && node->count) {
        copy->items = cfbp_xcalloc(capacity_for(node->count), sizeof(*copy->items));
        copy->count = node->count;
    } else if (node->type == CFBP_YAML_MAPPING && node->count) {
        copy->keys = cfbp_xcalloc(capacity_for(node->count), sizeof(*copy->keys));
        copy->values = cfbp_xcalloc(capacity_for(node->count), sizeof(*copy->values));
        copy->count = node->count;
    }
    return copy;
}

/* What a document may still expand by. */
struct budget {
    size_t nodes, bytes;
};

/* Charges one node and its text to budget (NULL: no limit); false when it is spent. */
static bool spend(struct budget *budget, const struct cfbp_yaml_node *node)
{
    if (!budget)
        return true;
    if (budget->nodes == 0 || node->value_length > budget->bytes)
        return false;
    budget->nodes--;
    budget->bytes -= node->value_length;
    return true;
}

struct copy_frame {
    const struct cfbp_yaml_node *from;
    struct cfbp_yaml_node *to;
    size_t next; /* the next child to copy */
};

/*
 * Deep copy, depth first with a heap stack; counts nodes and text when budget
 * is given and stops (returning NULL) past it.
 */
static struct cfbp_yaml_node *copy_node(const struct cfbp_yaml_node *node, struct budget *budget)
{
    if (!spend(budget, node))
        return NULL;
    struct cfbp_yaml_node *root = copy_shallow(node);
    struct copy_frame *stack = NULL;
    size_t depth = 0, alloc = 0;
    if (root->count) {
        CFBP_GROW(stack, alloc, 1);
        stack[depth++] = (struct copy_frame){node, root, 0};
    }
    while (depth > 0) {
        struct copy_frame *frame = &stack[depth - 1];
        if (frame->next == child_count(frame->from)) {
            depth--;
            continue;
        }
        size_t index = frame->next++;
        const struct cfbp_yaml_node *child = *child_slot(frame->from, index);
        if (!child)
            continue;
        if (!spend(budget, child)) {
            free(stack);
            cfbp_yaml_free(root);
            return NULL;
        }
        struct cfbp_yaml_node *copy = copy_shallow(child);
        *child_slot(frame->to, index) = copy;
        if (copy->count) {
            CFBP_GROW(stack, alloc, depth + 1);
            stack[depth++] = (struct copy_frame){child, copy, 0};
        }
    }
    free(stack);
    return root;
}

struct cfbp_yaml_node *cfbp_yaml_copy(const struct cfbp_yaml_node *node)
{
    return node ? copy_node(node, NULL) : NULL;
}

/* --- loading --- */

struct anchor {
    char *name;
    size_t length;
    struct cfbp_yaml_node *node; /* the latest complete node with this anchor, or NULL */
    size_t height;               /* the nesting of lists and mappings node holds */
    size_t open; /* open collections with this anchor: an alias to it would contain itself */
};

struct open_collection {
    struct cfbp_yaml_node *node;
    struct cfbp_yaml_node *pending_key; /* MAPPING: a key waiting for its value */
    uint64_t pending_hash;
    struct cfbp_text_table keys; /* MAPPING: the keys so far, to refuse duplicates */
    size_t pending_replace;      /* MAPPING, last key wins: the earlier key's index + 1 */
    size_t anchor;               /* its anchor's index + 1, or 0 */
    size_t height;               /* the nesting its children have so far (0: none, or scalars) */
};

struct builder {
    const char *text; /* the whole input, for positions libyaml gives as offsets */
    size_t length;
    const char *name;
    struct cfbp_error *err;
    struct open_collection *open; /* collections being filled, outermost first */
    size_t depth, open_alloc;
    struct anchor *anchors;
    size_t anchor_count, anchor_alloc;
    struct cfbp_text_table anchor_table;
    struct cfbp_yaml_node *root;
    bool have_root;
    size_t nodes, bytes; /* spent of NODE_BUDGET and TEXT_BUDGET */
    /* Merge sources taken out of their mapping; anchors may still point into
     * them, so they live until the whole document is built. */
    struct cfbp_yaml_node **spent;
    size_t spent_count, spent_alloc;
    bool last_key_wins; /* CFBP_YAML_LAST_KEY_WINS */
};

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

static int too_deep(struct builder *builder, size_t line, size_t column)
{
    return builder_error(builder, line, column,
                         "lists and mappings nest more than %d levels deep here; flatten the "
                         "document (no manifest needs that many levels)",
                         CFBP_YAML_MAX_DEPTH);
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

static const char *anchor_name(const void *owner, size_t index, size_t *length)
{
    const struct anchor *anchor = &((const struct builder *)owner)->anchors[index];
    *length = anchor->length;
    return anchor->name;
}

static struct anchor *find_anchor(const struct builder *builder, const char *name)
{
    size_t length = strlen(name);
    size_t found = cfbp_text_table_find(&builder->anchor_table, cfbp_text_hash(name, length), name,
                                        length, anchor_name, builder);
    return found ? &builder->anchors[found - 1] : NULL;
}

/* The anchor called name, added when it is new. */
static size_t anchor_index(struct builder *builder, const char *name)
{
    size_t length = strlen(name);
    uint64_t hash = cfbp_text_hash(name, length);
    size_t found =
        cfbp_text_table_find(&builder->anchor_table, hash, name, length, anchor_name, builder);
    if (found)
        return found - 1;
    CFBP_GROW(builder->anchors, builder->anchor_alloc, builder->anchor_count + 1);
    struct anchor *anchor = &builder->anchors[builder->anchor_count];
    memset(anchor, 0, sizeof(*anchor));
    anchor->name = cfbp_xstrndup(name, length);
    anchor->length = length;
    cfbp_text_table_add(&builder->anchor_table, hash, builder->anchor_count);
    return builder->anchor_count++;
}

/* Attaches node (whose lists and mappings nest height levels) to the innermost open collection. */
static int add_node(struct builder *builder, struct cfbp_yaml_node *node, size_t height)
{
    if (builder->depth == 0) {
        builder->root = node;
        builder->have_root = true;
        return 0;
    }
    struct open_collection *parent = &builder->open[builder->depth - 1];
    if (height > parent->height)
        parent->height = height;
    if (parent->node->type == CFBP_YAML_SEQUENCE) {
        cfbp_yaml_append(parent->node, node);
        return 0;
    }
    if (!parent->pending_key) {
        if (node->type != CFBP_YAML_SCALAR) {
            int result = builder_error(builder, node->line, node->column,
                                       "a mapping key must be a plain value, not %s",
                                       cfbp_yaml_describe(node));
            cfbp_yaml_free(node);
            return result;
        }
        uint64_t hash = hash_key(node);
        size_t found = find_key(&parent->keys, parent->node, node, hash);
        if (found && builder->last_key_wins) {
            /* yaml.v2's way: the later value replaces the earlier one, in its place. */
            parent->pending_key = node;
            parent->pending_hash = hash;
            parent->pending_replace = found;
            return 0;
        }
        if (found) {
            size_t first = parent->node->keys[found - 1]->line;
            int result =
                is_null_key(node)
                    ? builder_error(builder, node->line, node->column,
                                    "the key '%s' means null, and a null key is already defined "
                                    "on line %zu",
                                    node->value, first)
                    : builder_error(builder, node->line, node->column,
                                    "the key '%s' is already defined on line %zu", node->value,
                                    first);
            cfbp_yaml_free(node);
            return result;
        }
        parent->pending_key = node;
        parent->pending_hash = hash;
        return 0;
    }
    if (parent->pending_replace) {
        /* Anchors may still point into the replaced pair: it lives until the end, as merge
         * sources do. */
        size_t index = parent->pending_replace - 1;
        CFBP_GROW(builder->spent, builder->spent_alloc, builder->spent_count + 2);
        builder->spent[builder->spent_count++] = parent->node->keys[index];
        builder->spent[builder->spent_count++] = parent->node->values[index];
        parent->node->keys[index] = parent->pending_key;
        parent->node->values[index] = node;
        parent->pending_key = NULL;
        parent->pending_replace = 0;
        return 0;
    }
    cfbp_text_table_add(&parent->keys, parent->pending_hash, parent->node->count);
    mapping_add(parent->node, parent->pending_key, node);
    parent->pending_key = NULL;
    return 0;
}

/*
 * Applies the "<<" merge key of a finished mapping (duplicates are refused, so
 * there is at most one): merged keys never override explicit ones, and the
 * first source that has a key wins. The copies count against the node budget.
 */
static int apply_merges(struct builder *builder, struct cfbp_yaml_node *mapping)
{
    size_t merge = 0;
    while (merge < mapping->count && !is_merge_key(mapping->keys[merge]))
        merge++;
    if (merge == mapping->count)
        return 0;
    struct cfbp_yaml_node *key = mapping->keys[merge], *source = mapping->values[merge];
    memmove(mapping->keys + merge, mapping->keys + merge + 1,
            (mapping->count - merge - 1) * sizeof(*mapping->keys));
    memmove(mapping->values + merge, mapping->values + merge + 1,
            (mapping->count - merge - 1) * sizeof(*mapping->values));
    mapping->count--;
    struct cfbp_text_table present = {0};
    for (size_t i = 0; i < mapping->count; i++)
        cfbp_text_table_add(&present, hash_key(mapping->keys[i]), i);
    size_t sources = source->type == CFBP_YAML_SEQUENCE ? source->count : 1;
    struct budget budget = {NODE_BUDGET - builder->nodes, TEXT_BUDGET - builder->bytes};
    int result = 0;
    for (size_t s = 0; s < sources && result == 0; s++) {
        const struct cfbp_yaml_node *from =
            source->type == CFBP_YAML_SEQUENCE ? source->items[s] : source;
        if (from->type != CFBP_YAML_MAPPING) {
            result = builder_error(builder, from->line, from->column,
                                   "a '<<' merge needs a mapping or a list of mappings");
            break;
        }
        for (size_t k = 0; k < from->count && result == 0; k++) {
            const struct cfbp_yaml_node *from_key = from->keys[k];
            uint64_t hash = hash_key(from_key);
            if (find_key(&present, mapping, from_key, hash))
                continue;
            struct cfbp_yaml_node *key_copy = copy_node(from_key, &budget);
            struct cfbp_yaml_node *value_copy =
                key_copy ? copy_node(from->values[k], &budget) : NULL;
            if (!value_copy) {
                cfbp_yaml_free(key_copy);
                result = builder_error(builder, key->line, key->column,
                                       "merge keys and aliases expand to more than %d nodes or "
                                       "%u MiB of text; refusing the document",
                                       NODE_BUDGET, TEXT_BUDGET >> 20);
                break;
            }
            cfbp_text_table_add(&present, hash, mapping->count);
            mapping_add(mapping, key_copy, value_copy);
        }
    }
    builder->nodes = NODE_BUDGET - budget.nodes;
    builder->bytes = TEXT_BUDGET - budget.bytes;
    cfbp_text_table_release(&present);
    /* Like the source, the "<<" key itself may carry an anchor that points at it. */
    CFBP_GROW(builder->spent, builder->spent_alloc, builder->spent_count + 2);
    builder->spent[builder->spent_count++] = key;
    builder->spent[builder->spent_count++] = source;
    return result;
}

static void remember_anchor(struct builder *builder, const char *name, struct cfbp_yaml_node *node,
                            size_t height)
{
    size_t index = anchor_index(builder, name); /* may move builder->anchors */
    struct anchor *anchor = &builder->anchors[index];
    anchor->node = node;
    anchor->height = height;
}

static int handle_alias(struct builder *builder, const yaml_event_t *event, size_t line,
                        size_t column)
{
    const char *name = (const char *)event->data.alias.anchor;
    const struct anchor *anchor = find_anchor(builder, name);
    if (anchor && anchor->open)
        return builder_error(builder, line, column,
                             "the alias *%s refers to a node that contains it", name);
    if (!anchor || !anchor->node)
        return builder_error(builder, line, column, "the alias *%s has no anchor before it", name);
    if (builder->depth + anchor->height > CFBP_YAML_MAX_DEPTH)
        return too_deep(builder, line, column);
    struct budget budget = {NODE_BUDGET - builder->nodes, TEXT_BUDGET - builder->bytes};
    struct cfbp_yaml_node *copy = copy_node(anchor->node, &budget);
    if (!copy)
        return builder_error(builder, line, column,
                             "aliases expand to more than %d nodes or %u MiB of text; refusing "
                             "the document",
                             NODE_BUDGET, TEXT_BUDGET >> 20);
    builder->nodes = NODE_BUDGET - budget.nodes;
    builder->bytes = TEXT_BUDGET - budget.bytes;
    copy->line = line;
    copy->column = column;
    return add_node(builder, copy, anchor->height);
}

static int open_collection(struct builder *builder, struct cfbp_yaml_node *node,
                           const yaml_char_t *anchor)
{
    /* Refused as the events come: libyaml's scanner slows down with every flow level. */
    if (builder->depth == CFBP_YAML_MAX_DEPTH) {
        int result = too_deep(builder, node->line, node->column);
        cfbp_yaml_free(node);
        return result;
    }
    CFBP_GROW(builder->open, builder->open_alloc, builder->depth + 1);
    struct open_collection *open = &builder->open[builder->depth++];
    memset(open, 0, sizeof(*open));
    open->node = node;
    if (anchor) {
        size_t index = anchor_index(builder, (const char *)anchor);
        builder->anchors[index].open++;
        open->anchor = index + 1;
    }
    return 0;
}

static int close_collection(struct builder *builder)
{
    struct open_collection open = builder->open[--builder->depth];
    struct cfbp_yaml_node *node = open.node;
    size_t height = open.height + 1;
    cfbp_text_table_release(&open.keys);
    int result = 0;
    if (node->type == CFBP_YAML_MAPPING)
        result = apply_merges(builder, node);
    if (open.anchor) {
        struct anchor *anchor = &builder->anchors[open.anchor - 1];
        anchor->open--;
        if (result == 0) {
            anchor->node = node;
            anchor->height = height;
        }
    }
    if (result < 0) {
        cfbp_yaml_free(node);
        return -1;
    }
    return add_node(builder, node, height);
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
        builder->bytes += event->data.scalar.length;
        if (builder->bytes > TEXT_BUDGET)
            return builder_error(builder, line, column,
                                 "more than %u MiB of text; refusing the document",
                                 TEXT_BUDGET >> 20);
        struct cfbp_yaml_node *node = new_node(CFBP_YAML_SCALAR, line, column);
        node->value =
            cfbp_xstrndup((const char *)event->data.scalar.value, event->data.scalar.length);
        node->value_length = event->data.scalar.length;
        const char *tag = (const char *)event->data.scalar.tag;
        node->quoted = event->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                       (tag && (strcmp(tag, STR_TAG) == 0 || strcmp(tag, "!!str") == 0));
        if (event->data.scalar.anchor)
            remember_anchor(builder, (const char *)event->data.scalar.anchor, node, 0);
        return add_node(builder, node, 0);
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
    /* Only reached with open collections on errors; none is attached to its parent yet. */
    for (size_t i = builder->depth; i > 0; i--) {
        struct open_collection *open = &builder->open[i - 1];
        cfbp_yaml_free(open->pending_key);
        cfbp_text_table_release(&open->keys);
        cfbp_yaml_free(open->node);
    }
    free(builder->open);
    for (size_t i = 0; i < builder->anchor_count; i++)
        free(builder->anchors[i].name);
    free(builder->anchors);
    cfbp_text_table_release(&builder->anchor_table);
    for (size_t i = 0; i < builder->spent_count; i++)
        cfbp_yaml_free(builder->spent[i]);
    free(builder->spent);
}

static int parser_error(struct builder *builder, const yaml_parser_t *parser)
{
    const char *problem = parser->problem ? parser->problem : "unknown problem";
    if (parser->error == YAML_READER_ERROR) {
        /* libyaml's reader knows only a byte offset: turned into a line and a column (in
         * characters) like every other error's. */
        size_t line = 1, column = 1;
        for (size_t i = 0; i < parser->problem_offset && i < builder->length; i++) {
            if (builder->text[i] == '\n') {
                line++;
                column = 1;
            } else if (((unsigned char)builder->text[i] & 0xc0) != 0x80) {
                column++;
            }
        }
        return builder_error(builder, line, column,
                             "invalid YAML: %s (byte %zu); save the file "
                             "as UTF-8",
                             problem, parser->problem_offset);
    }
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
    return cfbp_yaml_load_string_with_flags(doc, name, text, length, 0, err);
}

int cfbp_yaml_load_string_with_flags(struct cfbp_yaml_document *doc, const char *name,
                                     const char *text, size_t length, unsigned flags,
                                     struct cfbp_error *err)
{
    doc->name = cfbp_xstrdup(name);
    doc->root = NULL;
    struct builder builder = {0};
    builder.last_key_wins = (flags & CFBP_YAML_LAST_KEY_WINS) != 0;
    builder.name = name;
    builder.err = err;
    builder.text = text;
    builder.length = length;
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
    return cfbp_yaml_load_file_with_flags(doc, path, max_bytes, 0, err);
}

int cfbp_yaml_load_file_with_flags(struct cfbp_yaml_document *doc, const char *path,
                                   size_t max_bytes, unsigned flags, struct cfbp_error *err)
{
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    doc->name = NULL;
    doc->root = NULL;
    if (cfbp_fs_read_file(path, max_bytes, &text, err) < 0) {
        cfbp_strbuf_release(&text);
        return -1;
    }
    int result = cfbp_yaml_load_string_with_flags(doc, path, text.buf, text.len, flags, err);
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

/*
 * The shapes of yaml.v2's resolver, its regular expressions written as
 * plain scans (glibc compiling the four of them took about 1 ms of every
 * program's start). Each group of digits is taken whole: what follows one in
 * these shapes is never a digit, so that is what the expressions match too.
 */
static size_t digits_at(const char *text, const char *accepted)
{
    return strspn(text, accepted);
}

#define DIGITS "0123456789"

/* Takes between min and max digits; false when the group is shorter or longer. */
static bool take_digits(const char **text, size_t min, size_t max)
{
    size_t count = digits_at(*text, DIGITS);
    if (count < min || count > max)
        return false;
    *text += count;
    return true;
}

static const char *skip_sign(const char *text)
{
    return *text == '-' || *text == '+' ? text + 1 : text;
}

/* ^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$ */
static bool is_int_shape(const char *text)
{
    text = skip_sign(text);
    if (text[0] == '0') {
        const char *digits = strchr("xX", text[1])   ? DIGITS "abcdefABCDEF"
                             : strchr("oO", text[1]) ? "01234567"
                             : strchr("bB", text[1]) ? "01"
                                                     : NULL;
        if (digits && text[1]) {
            size_t count = digits_at(text + 2, digits);
            return count > 0 && text[2 + count] == '\0';
        }
        return text[1 + digits_at(text + 1, "01234567")] == '\0';
    }
    return text[0] >= '1' && text[0] <= '9' && text[1 + digits_at(text + 1, DIGITS)] == '\0';
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool is_float_shape(const char *text)
{
    text = skip_sign(text);
    if (*text == '.') {
        text++;
        if (!take_digits(&text, 1, SIZE_MAX))
            return false;
    } else {
        if (!take_digits(&text, 1, SIZE_MAX))
            return false;
        if (*text == '.') {
            text++;
            text += digits_at(text, DIGITS);
        }
    }
    if (*text == 'e' || *text == 'E') {
        text = skip_sign(text + 1);
        if (!take_digits(&text, 1, SIZE_MAX))
            return false;
    }
    return *text == '\0';
}

/*
 * ^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}
 *  ([Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]*)?(Z|[-+][0-9]{1,2}(:[0-9]{2})?)?)?$
 */
static bool is_timestamp_shape(const char *text)
{
    if (!take_digits(&text, 4, 4) || *text != '-')
        return false;
    text++;
    if (!take_digits(&text, 1, 2) || *text != '-')
        return false;
    text++;
    if (!take_digits(&text, 1, 2))
        return false;
    if (*text == '\0')
        return true;
    if (*text != 'T' && *text != 't' && *text != ' ')
        return false;
    text++;
    for (int part = 0; part < 3; part++) {
        if (part > 0 && *text++ != ':')
            return false;
        if (!take_digits(&text, 1, 2))
            return false;
    }
    if (*text == '.') {
        text++;
        text += digits_at(text, DIGITS);
    }
    if (*text == 'Z') {
        text++;
    } else if (*text == '-' || *text == '+') {
        text++;
        if (!take_digits(&text, 1, 2))
            return false;
        if (*text == ':') {
            text++;
            if (!take_digits(&text, 2, 2))
                return false;
        }
    }
    return *text == '\0';
}

/* ^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$ */
static bool is_base_60_shape(const char *text)
{
    text = skip_sign(text);
    if (*text < '0' || *text > '9')
        return false;
    text += digits_at(text, DIGITS "_");
    size_t groups = 0;
    while (*text == ':') {
        text++;
        size_t count = digits_at(text, DIGITS);
        if (count == 0 || count > 2 || (count == 2 && text[0] > '5'))
            return false;
        text += count;
        groups++;
    }
    if (groups == 0)
        return false;
    if (*text == '.') {
        text++;
        text += digits_at(text, DIGITS "_");
    }
    return *text == '\0';
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
    static const char *const bools[] = {
        "y",    "Y",     "yes",   "Yes",   "YES", "n",  "N",  "no",  "No",  "NO",  "true", "True",
        "TRUE", "false", "False", "FALSE", "on",  "On", "ON", "off", "Off", "OFF", NULL};
    static const char *const floats[] = {".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf",
                                         "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
                                         ".NaN",  ".NAN",  NULL};
    if (is_one_of(text, null_words))
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
    if (is_int_shape(plain.buf))
        meaning = CFBP_YAML_INT;
    else if (is_float_shape(plain.buf))
        meaning = CFBP_YAML_FLOAT;
    else if (is_timestamp_shape(text) && is_real_date(text))
        meaning = CFBP_YAML_TIMESTAMP;
    /* Base-60 numbers ("1:20") are quoted by yaml.v2 for YAML 1.1 readers. */
    else if (is_base_60_shape(text))
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
    size_t alloc = capacity_for(sequence->count);
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
 * yaml.v2's key order (keyList.Less): null keys come first (Go orders keys of
 * different kinds by kind, and nil's is the lowest), letters compare as
 * characters, non-letters sort before letters, and runs of digits compare as
 * numbers ("a2" before "a10"). Go adds the digits up in an int64 that wraps
 * around on long runs; uint64_t wraps the same way without undefined
 * behaviour, and flipping the sign bit makes the unsigned comparison the
 * signed one Go makes.
 */
static int compare_keys(const struct cfbp_yaml_node *a_key, const struct cfbp_yaml_node *b_key)
{
    const unsigned char *a = (const unsigned char *)a_key->value;
    const unsigned char *b = (const unsigned char *)b_key->value;
    size_t a_length = a_key->value_length, b_length = b_key->value_length;
    const uint64_t sign = UINT64_C(1) << 63;
    bool a_null = is_null_key(a_key), b_null = is_null_key(b_key);
    if (a_null || b_null)
        return a_null == b_null ? 0 : a_null ? -1 : 1;
    for (size_t i = 0; i < a_length && i < b_length; i++) {
        unsigned char ac = a[i], bc = b[i];
        if (ac == bc)
            continue;
        bool a_letter = is_letter(ac), b_letter = is_letter(bc);
        if (a_letter && b_letter)
            return ac < bc ? -1 : 1;
        if (a_letter || b_letter)
            return b_letter ? -1 : 1;
        uint64_t a_number = 0, b_number = 0;
        if (ac == '0' || bc == '0') {
            for (size_t j = i; j > 0 && is_digit(a[j - 1]); j--) {
                if (a[j - 1] != '0') {
                    a_number = b_number = 1;
                    break;
                }
            }
        }
        size_t ai = i, bi = i;
        for (; ai < a_length && is_digit(a[ai]); ai++)
            a_number = a_number * 10 + (uint64_t)(a[ai] - '0');
        for (; bi < b_length && is_digit(b[bi]); bi++)
            b_number = b_number * 10 + (uint64_t)(b[bi] - '0');
        if (a_number != b_number)
            return (a_number ^ sign) < (b_number ^ sign) ? -1 : 1;
        if (ai != bi)
            return ai < bi ? -1 : 1;
        return ac < bc ? -1 : 1;
    }
    if (a_length == b_length)
        return 0;
    return a_length < b_length ? -1 : 1;
}

/* A total order: bytes, then length, of what identifies the keys (null is "", however spelled). */
static int compare_bytes(const struct cfbp_yaml_node *a_key, const struct cfbp_yaml_node *b_key)
{
    size_t a_length, b_length;
    const char *a = key_identity(a_key, &a_length), *b = key_identity(b_key, &b_length);
    int result = memcmp(a, b, a_length < b_length ? a_length : b_length);
    if (result)
        return result;
    return a_length < b_length ? -1 : a_length > b_length;
}

typedef int (*key_comparison)(const struct cfbp_yaml_node *, const struct cfbp_yaml_node *);

/* Sorts a mapping's pair numbers by compare, stably, with a bottom-up merge sort in buffer. */
static void merge_sort(const struct cfbp_yaml_node *mapping, size_t *order, key_comparison compare,
                       size_t *buffer)
{
    size_t count = mapping->count;
    size_t *from = order, *to = buffer;
    for (size_t width = 1; width < count; width *= 2) {
        for (size_t low = 0; low < count; low += 2 * width) {
            size_t middle = low + width < count ? low + width : count;
            size_t high = middle + width < count ? middle + width : count;
            size_t left = low, right = middle, out = low;
            while (left < middle && right < high) {
                /* Equal keys keep their order: the right one goes first only when smaller. */
                if (compare(mapping->keys[from[right]], mapping->keys[from[left]]) < 0)
                    to[out++] = from[right++];
                else
                    to[out++] = from[left++];
            }
            while (left < middle)
                to[out++] = from[left++];
            while (right < high)
                to[out++] = from[right++];
        }
        size_t *swap = from;
        from = to;
        to = swap;
    }
    if (from != order)
        memcpy(order, from, count * sizeof(*order));
}

/*
 * yaml.v2's order. Its comparison is not transitive on some keys (wrapped
 * digit runs make cycles such as 0a < 11 < 0123... < 0a), where Go's result
 * depends on map order; sorting by bytes first makes ours depend on the keys
 * alone, so that writing what was read back gives the same bytes.
 */
static void sort_keys(const struct cfbp_yaml_node *mapping, size_t *order)
{
    if (mapping->count < 2)
        return;
    size_t *buffer = cfbp_xmalloc(mapping->count * sizeof(*buffer));
    merge_sort(mapping, order, compare_bytes, buffer);
    merge_sort(mapping, order, compare_keys, buffer);
    free(buffer);
}

static yaml_scalar_style_t scalar_style(const struct cfbp_yaml_node *node)
{
    /* Text with a line break is a string however it was read (a plain scalar
     * can span lines too); yaml.v2 writes strings with line breaks as literal
     * blocks. */
    if (memchr(node->value, '\n', node->value_length))
        return YAML_LITERAL_SCALAR_STYLE;
    if (!node->quoted)
        return YAML_PLAIN_SCALAR_STYLE;
    if (strlen(node->value) != node->value_length || resolve_plain(node->value) != CFBP_YAML_STRING)
        return YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    /* libyaml falls back to single quotes when the text cannot be plain. */
    return YAML_PLAIN_SCALAR_STYLE;
}

/* A collection being written: its children go out one at a time. */
struct emit_frame {
    const struct cfbp_yaml_node *node;
    size_t *order; /* MAPPING: the pairs in the order they are written */
    size_t next;   /* the next child (for a mapping: 2 * position + 1 for a value) */
};

struct emit_context {
    yaml_emitter_t emitter;
    unsigned flags;
    struct emit_frame *frames; /* the open collections, outermost first */
    size_t depth, frames_alloc;
    struct cfbp_strbuf *out;
    size_t written;
    bool too_deep, too_big;
};

static int emit_event(struct emit_context *context, yaml_event_t *event)
{
    return yaml_emitter_emit(&context->emitter, event) ? 0 : -1;
}

/*
 * Writes a scalar, or opens a collection (its children and end follow from
 * emit_tree). key: node is a mapping key; root: node is the root.
 */
static int emit_start(struct emit_context *context, const struct cfbp_yaml_node *node, bool key,
                      bool root)
{
    yaml_event_t event;
    if (node->type == CFBP_YAML_SCALAR) {
        const char *text = node->value;
        size_t length = node->value_length;
        /* libyaml would write an empty plain key as '' (a string) and an empty
         * plain root as nothing (no document). yaml.v2 writes null, which is
         * free: the loader allows one null key in a mapping, and the API makes
         * only quoted keys. */
        if (length == 0 && !node->quoted && (key || root)) {
            text = "null";
            length = 4;
        }
        yaml_scalar_event_initialize(&event, NULL, NULL, (yaml_char_t *)text, (int)length, 1, 1,
                                     scalar_style(node));
        return emit_event(context, &event);
    }
    /* What the loader would refuse is not written either. */
    if (context->depth == CFBP_YAML_MAX_DEPTH) {
        context->too_deep = true;
        return -1;
    }
    if (node->type == CFBP_YAML_SEQUENCE)
        yaml_sequence_start_event_initialize(&event, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
    else
        yaml_mapping_start_event_initialize(&event, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
    if (emit_event(context, &event) < 0)
        return -1;
    size_t *order = NULL;
    if (node->type == CFBP_YAML_MAPPING && node->count) {
        order = cfbp_xmalloc(node->count * sizeof(*order));
        for (size_t i = 0; i < node->count; i++)
            order[i] = i;
        if (context->flags & CFBP_YAML_EMIT_SORT_KEYS)
            sort_keys(node, order);
    }
    CFBP_GROW(context->frames, context->frames_alloc, context->depth + 1);
    context->frames[context->depth++] = (struct emit_frame){node, order, 0};
    return 0;
}

/* Writes a tree of any shape without recursing: a heap stack of open collections. */
static int emit_tree(struct emit_context *context, const struct cfbp_yaml_node *root)
{
    int result = emit_start(context, root, false, true);
    while (result == 0 && context->depth > 0) {
        struct emit_frame *frame = &context->frames[context->depth - 1];
        const struct cfbp_yaml_node *node = frame->node;
        if (frame->next == child_count(node)) {
            yaml_event_t event;
            if (node->type == CFBP_YAML_SEQUENCE)
                yaml_sequence_end_event_initialize(&event);
            else
                yaml_mapping_end_event_initialize(&event);
            free(frame->order);
            context->depth--;
            result = emit_event(context, &event);
            continue;
        }
        size_t index = frame->next++;
        if (node->type == CFBP_YAML_MAPPING)
            index = 2 * frame->order[index / 2] + index % 2;
        bool key = node->type == CFBP_YAML_MAPPING && index % 2 == 0;
        result = emit_start(context, *child_slot(node, index), key, false);
    }
    for (; context->depth > 0; context->depth--)
        free(context->frames[context->depth - 1].order);
    return result;
}

/* libyaml's output callback; returning 0 makes the emitter stop with a writer error. */
static int write_to_strbuf(void *data, unsigned char *buffer, size_t size)
{
    struct emit_context *context = data;
    /* Block style indents every line by its depth: a small tree full of aliases to
     * deep nodes would otherwise come out hundreds of megabytes long. */
    if (size > CFBP_YAML_MAX_EMIT_BYTES - context->written) {
        context->too_big = true;
        return 0;
    }
    context->written += size;
    cfbp_strbuf_append(context->out, buffer, size);
    return 1;
}

int cfbp_yaml_emit(struct cfbp_strbuf *out, const struct cfbp_yaml_node *root, unsigned flags,
                   struct cfbp_error *err)
{
    struct emit_context context = {0};
    context.flags = flags;
    context.out = out;
    size_t length_before = out->len;
    if (!yaml_emitter_initialize(&context.emitter))
        cfbp_alloc_failed(0);
    yaml_emitter_set_output(&context.emitter, write_to_strbuf, &context);
    yaml_emitter_set_unicode(&context.emitter, 1);
    yaml_emitter_set_width(&context.emitter, (flags & CFBP_YAML_EMIT_GO_WIDTH) ? 80 : -1);
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
        result = emit_tree(&context, root);
    if (result == 0) {
        yaml_document_end_event_initialize(&event, 1);
        result = emit_event(&context, &event);
    }
    if (result == 0) {
        yaml_stream_end_event_initialize(&event);
        result = emit_event(&context, &event);
    }
    if (result < 0 && context.too_deep)
        cfbp_error_set(err, CFBP_ERROR_INVALID,
                       "cannot write YAML: lists and mappings nest more than %d levels deep, "
                       "more than a YAML file may (cfbp_yaml_load would refuse it); flatten the "
                       "tree",
                       CFBP_YAML_MAX_DEPTH);
    else if (result < 0 && context.too_big)
        cfbp_error_set(err, CFBP_ERROR_INVALID,
                       "cannot write YAML: the text would be longer than %d bytes (aliases "
                       "copied into deep places multiply a document's size); simplify the tree",
                       CFBP_YAML_MAX_EMIT_BYTES);
    else if (result < 0)
        cfbp_error_set(err, CFBP_ERROR_INVALID, "cannot write YAML: %s",
                       context.emitter.problem ? context.emitter.problem : "emitter error");
    if (result < 0)
        cfbp_strbuf_set_length(out, length_before); /* no half-written document */
    free(context.frames);
    yaml_emitter_delete(&context.emitter);
    return result;
}
