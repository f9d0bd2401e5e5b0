/*
 * json.c - strict JSON reading and Go-compatible JSON writing (see json.h).
 *
 * A recursive-descent parser over a byte span: each value becomes a node; the
 * recursion depth is bounded so hostile input cannot exhaust the stack.
 */
#include "cfbp/json.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct parser {
    const char *text;
    size_t length;
    size_t position;
    struct cfbp_error *err;
};

static int parse_error(struct parser *parser, size_t offset, const char *problem)
{
    size_t line = 1, column = 1;
    size_t first = parser->length >= 3 && memcmp(parser->text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    for (size_t i = first; i < offset && i < parser->length; i++) {
        if (parser->text[i] == '\n') {
            line++;
            column = 1;
        } else if (((unsigned char)parser->text[i] & 0xC0) != 0x80) {
            column++; /* count characters, not UTF-8 continuation bytes */
        }
    }
    return cfbp_error_set(parser->err, CFBP_ERROR_INVALID, "line %zu, column %zu: %s", line, column,
                          problem);
}

static void skip_whitespace(struct parser *parser)
{
    while (parser->position < parser->length) {
        char c = parser->text[parser->position];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        parser->position++;
    }
}

static struct cfbp_json *new_node(enum cfbp_json_type type, size_t start)
{
    struct cfbp_json *node = cfbp_xcalloc(1, sizeof(*node));
    node->type = type;
    node->start = start;
    return node;
}

static int expect_literal(struct parser *parser, const char *literal)
{
    size_t length = strlen(literal);
    if (parser->length - parser->position < length ||
        memcmp(parser->text + parser->position, literal, length) != 0)
        return parse_error(parser, parser->position, "unexpected character; expected a value");
    parser->position += length;
    return 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int parse_number(struct parser *parser, struct cfbp_json *node)
{
    const char *text = parser->text;
    size_t at = parser->position, end = parser->length;
    if (at < end && text[at] == '-')
        at++;
    if (at >= end || !is_digit(text[at]))
        return parse_error(parser, at, "a number needs a digit here");
    if (text[at] == '0') {
        at++;
    } else {
        while (at < end && is_digit(text[at]))
            at++;
    }
    if (at < end && text[at] == '.') {
        at++;
        if (at >= end || !is_digit(text[at]))
            return parse_error(parser, at, "a number needs a digit after '.'");
        while (at < end && is_digit(text[at]))
            at++;
    }
    if (at < end && (text[at] == 'e' || text[at] == 'E')) {
        at++;
        if (at < end && (text[at] == '+' || text[at] == '-'))
            at++;
        if (at >= end || !is_digit(text[at]))
            return parse_error(parser, at, "a number needs a digit in its exponent");
        while (at < end && is_digit(text[at]))
            at++;
    }
    node->text = cfbp_xstrndup(text + parser->position, at - parser->position);
    node->text_length = at - parser->position;
    parser->position = at;
    return 0;
}

static int hex4(struct parser *parser, size_t at, unsigned *value)
{
    if (parser->length - at < 4)
        return parse_error(parser, at, "a \\u escape needs four hex digits");
    *value = 0;
    for (size_t i = 0; i < 4; i++) {
        char c = parser->text[at + i];
        unsigned digit;
        if (c >= '0' && c <= '9')
            digit = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            digit = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            digit = (unsigned)(c - 'A' + 10);
        else
            return parse_error(parser, at + i, "a \\u escape needs four hex digits");
        *value = *value * 16 + digit;
    }
    return 0;
}

static void append_utf8(struct cfbp_strbuf *out, unsigned code_point)
{
    if (code_point < 0x80) {
        cfbp_strbuf_append_char(out, (char)code_point);
    } else if (code_point < 0x800) {
        cfbp_strbuf_append_char(out, (char)(0xC0 | (code_point >> 6)));
        cfbp_strbuf_append_char(out, (char)(0x80 | (code_point & 0x3F)));
    } else if (code_point < 0x10000) {
        cfbp_strbuf_append_char(out, (char)(0xE0 | (code_point >> 12)));
        cfbp_strbuf_append_char(out, (char)(0x80 | ((code_point >> 6) & 0x3F)));
        cfbp_strbuf_append_char(out, (char)(0x80 | (code_point & 0x3F)));
    } else {
        cfbp_strbuf_append_char(out, (char)(0xF0 | (code_point >> 18)));
        cfbp_strbuf_append_char(out, (char)(0x80 | ((code_point >> 12) & 0x3F)));
        cfbp_strbuf_append_char(out, (char)(0x80 | ((code_point >> 6) & 0x3F)));
        cfbp_strbuf_append_char(out, (char)(0x80 | (code_point & 0x3F)));
    }
}

/*
 * Length of the valid UTF-8 sequence at text (1-4), or 0 when it is invalid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid).
 */
static size_t utf8_sequence_length(const unsigned char *text, size_t available,
                                   unsigned *code_point)
{
    unsigned char lead = text[0];
    size_t length;
    unsigned value, minimum;
    if (lead < 0x80) {
        *code_point = lead;
        return 1;
    } else if ((lead & 0xE0) == 0xC0) {
        length = 2, value = lead & 0x1F, minimum = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
        length = 3, value = lead & 0x0F, minimum = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
        length = 4, value = lead & 0x07, minimum = 0x10000;
    } else {
        return 0;
    }
    if (available < length)
        return 0;
    for (size_t i = 1; i < length; i++) {
        if ((text[i] & 0xC0) != 0x80)
            return 0;
        value = (value << 6) | (text[i] & 0x3F);
    }
    if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
        return 0;
    *code_point = value;
    return length;
}

static int parse_string_into(struct parser *parser, struct cfbp_strbuf *out)
{
    size_t at = parser->position + 1; /* past the opening quote */
    const char *text = parser->text;
    for (;;) {
        if (at >= parser->length)
            return parse_error(parser, parser->position, "a string is not closed");
        unsigned char c = (unsigned char)text[at];
        if (c == '"') {
            parser->position = at + 1;
            return 0;
        }
        if (c < 0x20)
            return parse_error(parser, at, "a control character must be escaped in a string");
        if (c == '\\') {
            if (at + 1 >= parser->length)
                return parse_error(parser, at, "a string is not closed");
            char escape = text[at + 1];
            const char *simple = strchr("\"\\/bfnrt", escape);
            if (escape != '\0' && simple) {
                static const char decoded[] = "\"\\/\b\f\n\r\t";
                cfbp_strbuf_append_char(out, decoded[simple - "\"\\/bfnrt"]);
                at += 2;
                continue;
            }
            if (escape != 'u')
                return parse_error(parser, at, "unknown escape sequence in a string");
            unsigned code_point;
            if (hex4(parser, at + 2, &code_point) < 0)
                return -1;
            at += 6;
            if (code_point >= 0xDC00 && code_point <= 0xDFFF)
                return parse_error(parser, at - 6, "a lone low surrogate in a \\u escape");
            if (code_point >= 0xD800 && code_point <= 0xDBFF) {
                unsigned low;
                if (at + 1 >= parser->length || text[at] != '\\' || text[at + 1] != 'u')
                    return parse_error(parser, at - 6, "a high surrogate without its low half");
                if (hex4(parser, at + 2, &low) < 0)
                    return -1;
                if (low < 0xDC00 || low > 0xDFFF)
                    return parse_error(parser, at, "a high surrogate without its low half");
                code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
                at += 6;
            }
            append_utf8(out, code_point);
            continue;
        }
        unsigned code_point;
        size_t length = utf8_sequence_length((const unsigned char *)text + at, parser->length - at,
                                             &code_point);
        if (length == 0)
            return parse_error(parser, at, "invalid UTF-8 in a string");
        cfbp_strbuf_append(out, text + at, length);
        at += length;
    }
}

static int parse_value(struct parser *parser, struct cfbp_json **out, unsigned depth);

static int parse_array(struct parser *parser, struct cfbp_json *node, unsigned depth)
{
    size_t alloc = 0;
    parser->position++; /* '[' */
    skip_whitespace(parser);
    if (parser->position < parser->length && parser->text[parser->position] == ']') {
        parser->position++;
        return 0;
    }
    for (;;) {
        struct cfbp_json *element;
        if (parse_value(parser, &element, depth + 1) < 0)
            return -1;
        CFBP_GROW(node->values, alloc, node->count + 1);
        node->values[node->count++] = element;
        skip_whitespace(parser);
        if (parser->position >= parser->length)
            return parse_error(parser, parser->position, "an array is not closed");
        char c = parser->text[parser->position++];
        if (c == ']')
            return 0;
        if (c != ',')
            return parse_error(parser, parser->position - 1, "expected ',' or ']' in an array");
    }
}

/*
 * Duplicate keys: small objects are scanned; from LINEAR_KEYS members on, an
 * open-addressing set of member indices keeps the check linear overall, so a
 * hostile object with many keys cannot make parsing quadratic.
 */
#define LINEAR_KEYS 16

struct key_set {
    size_t *slots; /* member index + 1; 0 is an empty slot */
    size_t capacity;
};

static uint64_t key_hash(const char *key, size_t length)
{
    uint64_t hash = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < length; i++)
        hash = (hash ^ (unsigned char)key[i]) * 1099511628211ULL;
    return hash;
}

static void key_set_insert(struct key_set *set, const struct cfbp_json *object, size_t member)
{
    size_t mask = set->capacity - 1;
    size_t at = key_hash(object->keys[member], object->key_lengths[member]) & mask;
    while (set->slots[at])
        at = (at + 1) & mask;
    set->slots[at] = member + 1;
}

/* Makes room for at least one more member, rebuilding the set from the object. */
static void key_set_reserve(struct key_set *set, const struct cfbp_json *object)
{
    if (set->capacity >= 2 * (object->count + 1))
        return;
    free(set->slots);
    set->capacity = set->capacity ? set->capacity * 2 : 4 * LINEAR_KEYS;
    set->slots = cfbp_xcalloc(set->capacity, sizeof(*set->slots));
    for (size_t i = 0; i < object->count; i++)
        key_set_insert(set, object, i);
}

static bool has_key(struct key_set *set, const struct cfbp_json *object, const char *key,
                    size_t length)
{
    if (object->count < LINEAR_KEYS) {
        for (size_t i = 0; i < object->count; i++)
            if (object->key_lengths[i] == length && memcmp(object->keys[i], key, length) == 0)
                return true;
        return false;
    }
    key_set_reserve(set, object);
    size_t mask = set->capacity - 1;
    for (size_t at = key_hash(key, length) & mask; set->slots[at]; at = (at + 1) & mask) {
        size_t member = set->slots[at] - 1;
        if (object->key_lengths[member] == length && memcmp(object->keys[member], key, length) == 0)
            return true;
    }
    return false;
}

/* Parses "key": value pairs up to the closing brace; the caller owns key and keys. */
static int parse_members(struct parser *parser, struct cfbp_json *node, unsigned depth,
                         struct cfbp_strbuf *key, struct key_set *keys)
{
    size_t alloc_values = 0, alloc_keys = 0, alloc_lengths = 0;
    for (;;) {
        skip_whitespace(parser);
        if (parser->position >= parser->length || parser->text[parser->position] != '"')
            return parse_error(parser, parser->position, "expected a string as an object key");
        size_t key_start = parser->position;
        cfbp_strbuf_reset(key);
        if (parse_string_into(parser, key) < 0)
            return -1;
        if (has_key(keys, node, key->buf, key->len))
            return parse_error(parser, key_start, "an object has the same key twice");
        skip_whitespace(parser);
        if (parser->position >= parser->length || parser->text[parser->position] != ':')
            return parse_error(parser, parser->position, "expected ':' after an object key");
        parser->position++;
        struct cfbp_json *value;
        if (parse_value(parser, &value, depth + 1) < 0)
            return -1;
        CFBP_GROW(node->values, alloc_values, node->count + 1);
        CFBP_GROW(node->keys, alloc_keys, node->count + 1);
        CFBP_GROW(node->key_lengths, alloc_lengths, node->count + 1);
        node->key_lengths[node->count] = key->len;
        node->keys[node->count] = cfbp_xstrndup(key->buf, key->len);
        node->values[node->count++] = value;
        if (keys->capacity)
            key_set_insert(keys, node, node->count - 1);
        skip_whitespace(parser);
        if (parser->position >= parser->length)
            return parse_error(parser, parser->position, "an object is not closed");
        char c = parser->text[parser->position++];
        if (c == '}')
            return 0;
        if (c != ',')
            return parse_error(parser, parser->position - 1, "expected ',' or '}' in an object");
    }
}

static int parse_object(struct parser *parser, struct cfbp_json *node, unsigned depth)
{
    parser->position++; /* '{' */
    skip_whitespace(parser);
    if (parser->position < parser->length && parser->text[parser->position] == '}') {
        parser->position++;
        return 0;
    }
    struct cfbp_strbuf key = CFBP_STRBUF_INIT;
    struct key_set keys = {NULL, 0};
    int result = parse_members(parser, node, depth, &key, &keys);
    cfbp_strbuf_release(&key);
    free(keys.slots);
    return result;
}

static int parse_value(struct parser *parser, struct cfbp_json **out, unsigned depth)
{
    *out = NULL;
    skip_whitespace(parser);
    if (parser->position >= parser->length)
        return parse_error(parser, parser->position, "unexpected end of input; expected a value");
    size_t start = parser->position;
    char c = parser->text[start];
    if ((c == '[' || c == '{') && depth >= CFBP_JSON_MAX_DEPTH)
        return parse_error(parser, start, "nesting is too deep");
    struct cfbp_json *node;
    int result;
    switch (c) {
    case '{':
        node = new_node(CFBP_JSON_OBJECT, start);
        result = parse_object(parser, node, depth);
        break;
    case '[':
        node = new_node(CFBP_JSON_ARRAY, start);
        result = parse_array(parser, node, depth);
        break;
    case '"': {
        node = new_node(CFBP_JSON_STRING, start);
        struct cfbp_strbuf decoded = CFBP_STRBUF_INIT;
        result = parse_string_into(parser, &decoded);
        node->text = cfbp_strbuf_detach(&decoded, &node->text_length);
        break;
    }
    case 't':
        node = new_node(CFBP_JSON_TRUE, start);
        result = expect_literal(parser, "true");
        break;
    case 'f':
        node = new_node(CFBP_JSON_FALSE, start);
        result = expect_literal(parser, "false");
        break;
    case 'n':
        node = new_node(CFBP_JSON_NULL, start);
        result = expect_literal(parser, "null");
        break;
    default:
        if (c != '-' && !is_digit(c))
            return parse_error(parser, start, "unexpected character; expected a value");
        node = new_node(CFBP_JSON_NUMBER, start);
        result = parse_number(parser, node);
        break;
    }
    node->end = parser->position;
    if (result < 0) {
        cfbp_json_free(node);
        return -1;
    }
    *out = node;
    return 0;
}

int cfbp_json_parse(const char *text, size_t length, struct cfbp_json **out, struct cfbp_error *err)
{
    struct parser parser = {text, length, 0, err};
    *out = NULL;
    if (length >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        parser.position = 3;
    struct cfbp_json *root;
    if (parse_value(&parser, &root, 0) < 0)
        return -1;
    skip_whitespace(&parser);
    if (parser.position != length) {
        cfbp_json_free(root);
        return parse_error(&parser, parser.position, "unexpected text after the JSON value");
    }
    *out = root;
    return 0;
}

void cfbp_json_free(struct cfbp_json *value)
{
    if (!value)
        return;
    for (size_t i = 0; i < value->count; i++) {
        cfbp_json_free(value->values[i]);
        if (value->keys)
            free(value->keys[i]);
    }
    free(value->values);
    free(value->keys);
    free(value->key_lengths);
    free(value->text);
    free(value);
}

const struct cfbp_json *cfbp_json_get(const struct cfbp_json *value, const char *key)
{
    if (!value || value->type != CFBP_JSON_OBJECT)
        return NULL;
    size_t key_length = strlen(key);
    for (size_t i = 0; i < value->count; i++)
        if (value->key_lengths[i] == key_length && memcmp(value->keys[i], key, key_length) == 0)
            return value->values[i];
    return NULL;
}

const char *cfbp_json_string(const struct cfbp_json *value)
{
    return value && value->type == CFBP_JSON_STRING ? value->text : NULL;
}

const char *cfbp_json_type_name(enum cfbp_json_type type)
{
    switch (type) {
    case CFBP_JSON_NULL:
        return "null";
    case CFBP_JSON_FALSE:
    case CFBP_JSON_TRUE:
        return "boolean";
    case CFBP_JSON_NUMBER:
        return "number";
    case CFBP_JSON_STRING:
        return "string";
    case CFBP_JSON_ARRAY:
        return "array";
    case CFBP_JSON_OBJECT:
        return "object";
    }
    return "value";
}

void cfbp_json_write_string(struct cfbp_strbuf *out, const char *text, size_t length)
{
    static const char hex[] = "0123456789abcdef";
    cfbp_strbuf_append_char(out, '"');
    size_t at = 0;
    while (at < length) {
        unsigned char c = (unsigned char)text[at];
        if (c >= 0x80) {
            unsigned code_point;
            size_t sequence =
                utf8_sequence_length((const unsigned char *)text + at, length - at, &code_point);
            if (sequence == 0) {
                cfbp_strbuf_append_string(out, "\\ufffd"); /* Go replaces invalid UTF-8 */
                at++;
            } else if (code_point == 0x2028 || code_point == 0x2029) {
                cfbp_strbuf_append_format(out, "\\u%04x", code_point);
                at += sequence;
            } else {
                cfbp_strbuf_append(out, text + at, sequence);
                at += sequence;
            }
            continue;
        }
        switch (c) {
        case '"':
            cfbp_strbuf_append_string(out, "\\\"");
            break;
        case '\\':
            cfbp_strbuf_append_string(out, "\\\\");
            break;
        case '\n':
            cfbp_strbuf_append_string(out, "\\n");
            break;
        case '\r':
            cfbp_strbuf_append_string(out, "\\r");
            break;
        case '\t':
            cfbp_strbuf_append_string(out, "\\t");
            break;
        case '\b': /* Go 1.22 and later */
            cfbp_strbuf_append_string(out, "\\b");
            break;
        case '\f':
            cfbp_strbuf_append_string(out, "\\f");
            break;
        default:
            if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                char escaped[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf], '\0'};
                cfbp_strbuf_append_string(out, escaped);
            } else {
                cfbp_strbuf_append_char(out, (char)c);
            }
        }
        at++;
    }
    cfbp_strbuf_append_char(out, '"');
}

void cfbp_json_write(struct cfbp_strbuf *out, const struct cfbp_json *value)
{
    switch (value->type) {
    case CFBP_JSON_NULL:
        cfbp_strbuf_append_string(out, "null");
        break;
    case CFBP_JSON_FALSE:
        cfbp_strbuf_append_string(out, "false");
        break;
    case CFBP_JSON_TRUE:
        cfbp_strbuf_append_string(out, "true");
        break;
    case CFBP_JSON_NUMBER:
        cfbp_strbuf_append(out, value->text, value->text_length);
        break;
    case CFBP_JSON_STRING:
        cfbp_json_write_string(out, value->text, value->text_length);
        break;
    case CFBP_JSON_ARRAY:
        cfbp_strbuf_append_char(out, '[');
        for (size_t i = 0; i < value->count; i++) {
            if (i)
                cfbp_strbuf_append_char(out, ',');
            cfbp_json_write(out, value->values[i]);
        }
        cfbp_strbuf_append_char(out, ']');
        break;
    case CFBP_JSON_OBJECT:
        cfbp_strbuf_append_char(out, '{');
        for (size_t i = 0; i < value->count; i++) {
            if (i)
                cfbp_strbuf_append_char(out, ',');
            cfbp_json_write_string(out, value->keys[i], value->key_lengths[i]);
            cfbp_strbuf_append_char(out, ':');
            cfbp_json_write(out, value->values[i]);
        }
        cfbp_strbuf_append_char(out, '}');
        break;
    }
}
