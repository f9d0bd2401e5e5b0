/*
 * version.c - libbuildpack's version matching (see version.h, contract §6.5).
 *
 * libbuildpack's FindMatchingVersions (versions.go) asks blang/semver v3.5.1
 * and, when that fails or matches nothing, Masterminds/semver v1.5.0.
 * Buildpacks' default_versions depend on its exact answers, so both readings
 * are reproduced here step by step, quirks included; the comments name each
 * quirk kept, since most look like mistakes. Go strings are bytes, and both
 * libraries test ASCII classes, so the code works on bytes; the one place a
 * Go library looks at Unicode (blang finding the first digit of a term, and
 * trimming the operator) decodes UTF-8 as Go does.
 *
 * blang:      split_and_trim -> split_or_parts -> expand_wildcard -> terms
 * Masterminds: rewrite_range -> "||" -> "," -> one term each (mm_parse_term)
 */
#include "cfbp/version.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The most "||" alternatives a constraint may have (hostile input: cost is alternatives x
 * versions). */
#define MAX_ALTERNATIVES 64
/* How many versions a no-match message lists. */
#define SHOWN_VERSIONS 50
/* Go's sort.Sort sorts this many elements or fewer by insertion, which keeps ties in order. */
#define GO_INSERTION_SORT_MAX 12

/* --- bytes as Go sees them --- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* [0-9A-Za-z-]: what both libraries allow in prerelease and build identifiers. */
static bool is_identifier_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* RE2's \s, as in Masterminds' patterns: [\t\n\f\r ] (no \v). */
static bool is_regex_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* strconv.ParseUint(text, 10, 64). */
static bool parse_uint64(const char *text, size_t length, uint64_t *out)
{
    if (length == 0)
        return false;
    uint64_t value = 0;
    for (size_t i = 0; i < length; i++) {
        if (!is_digit(text[i]))
            return false;
        unsigned digit = (unsigned)(text[i] - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    *out = value;
    return true;
}

/* strconv.ParseInt(text, 10, 64) on digits only (the callers' patterns allow no sign). */
static bool parse_int64_digits(const char *text, size_t length, uint64_t *out)
{
    uint64_t value;
    if (!parse_uint64(text, length, &value) || value > (uint64_t)INT64_MAX)
        return false;
    *out = value;
    return true;
}

/* strconv.Atoi: an optional sign, then digits, within int64. */
static bool go_atoi(const char *text, size_t length, int64_t *out)
{
    bool negative = false;
    if (length > 0 && (text[0] == '+' || text[0] == '-')) {
        negative = text[0] == '-';
        text++;
        length--;
    }
    uint64_t value;
    if (!parse_uint64(text, length, &value) || value > (uint64_t)INT64_MAX + negative)
        return false;
    *out = negative ? (int64_t)(0 - value) : (int64_t)value;
    return true;
}

/* Decodes one UTF-8 rune as Go does; an invalid byte is RuneError (-1 here), one byte wide. */
static long decode_rune(const unsigned char *text, size_t length, size_t *width)
{
    *width = 1;
    unsigned char c = text[0];
    if (c < 0x80)
        return c;
    size_t need;
    long rune;
    unsigned char low = 0x80, high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2, rune = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 3, rune = c & 0x0F, low = c == 0xE0 ? 0xA0 : 0x80, high = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 4, rune = c & 0x07, low = c == 0xF0 ? 0x90 : 0x80, high = c == 0xF4 ? 0x8F : 0xBF;
    else
        return -1;
    if (length < need || text[1] < low || text[1] > high)
        return -1;
    rune = (rune << 6) | (text[1] & 0x3F);
    for (size_t i = 2; i < need; i++) {
        if (text[i] < 0x80 || text[i] > 0xBF)
            return -1;
        rune = (rune << 6) | (text[i] & 0x3F);
    }
    *width = need;
    return rune;
}

/* unicode.IsDigit (Unicode 15, Go 1.22): ASCII digits and the Nd blocks. */
static bool is_unicode_digit(long rune)
{
    static const long zeros[] = {
        0x660,   0x6F0,   0x7C0,   0x966,   0x9E6,   0xA66,   0xAE6,   0xB66,   0xBE6,
        0xC66,   0xCE6,   0xD66,   0xDE6,   0xE50,   0xED0,   0xF20,   0x1040,  0x1090,
        0x17E0,  0x1810,  0x1946,  0x19D0,  0x1A80,  0x1A90,  0x1B50,  0x1BB0,  0x1C40,
        0x1C50,  0xA620,  0xA8D0,  0xA900,  0xA9D0,  0xA9F0,  0xAA50,  0xABF0,  0xFF10,
        0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0,
        0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x11F50,
        0x16A60, 0x16AC0, 0x16B50, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E950, 0x1FBF0};
    if (rune >= '0' && rune <= '9')
        return true;
    if (rune >= 0x1D7CE && rune <= 0x1D7FF) /* mathematical digits: five sets in a row */
        return true;
    for (size_t i = 0; i < sizeof(zeros) / sizeof(*zeros); i++)
        if (rune >= zeros[i] && rune <= zeros[i] + 9)
            return true;
    return false;
}

/* The UTF-8 spellings of unicode.IsSpace's runes beyond ASCII. */
static const char *const unicode_spaces[] = {
    "\xC2\x85",     "\xC2\xA0",     "\xE1\x9A\x80", "\xE2\x80\x80", "\xE2\x80\x81",
    "\xE2\x80\x82", "\xE2\x80\x83", "\xE2\x80\x84", "\xE2\x80\x85", "\xE2\x80\x86",
    "\xE2\x80\x87", "\xE2\x80\x88", "\xE2\x80\x89", "\xE2\x80\x8A", "\xE2\x80\xA8",
    "\xE2\x80\xA9", "\xE2\x80\xAF", "\xE2\x81\x9F", "\xE3\x80\x80"};

/* How many bytes of unicode.IsSpace rune start (or, with at_end, end) text; 0 for none. */
static size_t space_width(const char *text, size_t length, bool at_end)
{
    if (length == 0)
        return 0;
    char c = at_end ? text[length - 1] : text[0];
    if (c == ' ' || (c >= '\t' && c <= '\r'))
        return 1;
    for (size_t i = 0; i < sizeof(unicode_spaces) / sizeof(*unicode_spaces); i++) {
        size_t width = strlen(unicode_spaces[i]);
        if (width <= length &&
            memcmp(at_end ? text + length - width : text, unicode_spaces[i], width) == 0)
            return width;
    }
    return 0;
}

/* strings.TrimSpace, into out. */
static void go_trim_space(const char *text, size_t length, struct cfbp_strbuf *out)
{
    size_t width;
    while ((width = space_width(text, length, false)) > 0)
        text += width, length -= width;
    while ((width = space_width(text, length, true)) > 0)
        length -= width;
    cfbp_strbuf_reset(out);
    cfbp_strbuf_append(out, text, length);
}

/* strings.Replace(text, old, new, 1), into out. */
static void replace_first(const char *text, const char *old, const char *new_text,
                          struct cfbp_strbuf *out)
{
    cfbp_strbuf_reset(out);
    const char *at = *old ? strstr(text, old) : NULL;
    if (!at) {
        cfbp_strbuf_append_string(out, text);
        return;
    }
    cfbp_strbuf_append(out, text, (size_t)(at - text));
    cfbp_strbuf_append_string(out, new_text);
    cfbp_strbuf_append_string(out, at + strlen(old));
}

/* --- semver precedence (shared) --- */

static int compare_numbers(unsigned long long a, unsigned long long b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int compare_triples(const struct cfbp_semver *a, const struct cfbp_semver *b)
{
    int result = compare_numbers(a->major, b->major);
    if (!result)
        result = compare_numbers(a->minor, b->minor);
    if (!result)
        result = compare_numbers(a->patch, b->patch);
    return result;
}

static bool all_digits(const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if (!is_digit(text[i]))
            return false;
    return length > 0;
}

/* Go's string comparison: bytewise, a prefix first. */
static int compare_bytes(const char *a, size_t a_length, const char *b, size_t b_length)
{
    int result = memcmp(a, b, a_length < b_length ? a_length : b_length);
    if (result)
        return result < 0 ? -1 : 1;
    return a_length < b_length ? -1 : a_length > b_length ? 1 : 0;
}

/* Digit strings by value, whatever their length (leading zeros skipped). */
static int compare_digit_strings(const char *a, size_t a_length, const char *b, size_t b_length)
{
    while (a_length > 1 && *a == '0')
        a++, a_length--;
    while (b_length > 1 && *b == '0')
        b++, b_length--;
    if (a_length != b_length)
        return a_length < b_length ? -1 : 1;
    return compare_bytes(a, a_length, b, b_length);
}

/* Semver §11 (blang's PRVersion.Compare): numeric identifiers by value and first. */
static int compare_prereleases(const char *a, const char *b)
{
    while (*a && *b) {
        size_t a_length = strcspn(a, "."), b_length = strcspn(b, ".");
        bool a_numeric = all_digits(a, a_length), b_numeric = all_digits(b, b_length);
        int result;
        if (a_numeric && b_numeric)
            result = compare_digit_strings(a, a_length, b, b_length);
        else if (a_numeric || b_numeric)
            result = a_numeric ? -1 : 1;
        else
            result = compare_bytes(a, a_length, b, b_length);
        if (result)
            return result;
        a += a_length + (a[a_length] == '.');
        b += b_length + (b[b_length] == '.');
    }
    return *a ? 1 : *b ? -1 : 0;
}

int cfbp_semver_compare(const struct cfbp_semver *a, const struct cfbp_semver *b)
{
    int result = compare_triples(a, b);
    if (result)
        return result;
    if (!a->prerelease || !b->prerelease)
        return a->prerelease ? -1 : b->prerelease ? 1 : 0;
    return compare_prereleases(a->prerelease, b->prerelease);
}

void cfbp_semver_release(struct cfbp_semver *version)
{
    free(version->prerelease);
    version->prerelease = NULL;
}

/* --- blang/semver v3.5.1: versions --- */

/* A major, minor or patch number: digits, no leading zero, within uint64. */
static bool blang_number(const char *text, size_t length, unsigned long long *out)
{
    uint64_t value;
    if ((length > 1 && text[0] == '0') || !parse_uint64(text, length, &value))
        return false;
    *out = value;
    return true;
}

/*
 * Dot-separated identifiers, none empty, of [0-9A-Za-z-]; in a prerelease a
 * numeric one has no leading zero and fits uint64 (blang's NewPRVersion).
 */
static bool blang_identifiers(const char *text, size_t length, bool prerelease)
{
    size_t start = 0;
    for (size_t i = 0; i <= length; i++) {
        if (i < length && text[i] != '.')
            continue;
        const char *identifier = text + start;
        size_t size = i - start;
        if (size == 0)
            return false;
        unsigned long long ignored;
        if (prerelease && all_digits(identifier, size)) {
            if (!blang_number(identifier, size, &ignored))
                return false;
        } else {
            for (size_t j = 0; j < size; j++)
                if (!is_identifier_char(identifier[j]))
                    return false;
        }
        start = i + 1;
    }
    return true;
}

/* blang's Parse: major.minor.patch[-pre][+build], cut at the first two dots. */
static bool blang_parse(const char *text, size_t length, struct cfbp_semver *out)
{
    memset(out, 0, sizeof(*out));
    const char *first = memchr(text, '.', length);
    const char *second = first ? memchr(first + 1, '.', length - (size_t)(first + 1 - text)) : NULL;
    if (!second)
        return false;
    const char *patch = second + 1, *end = text + length;
    const char *plus = memchr(patch, '+', (size_t)(end - patch));
    const char *patch_end = plus ? plus : end;
    const char *minus = memchr(patch, '-', (size_t)(patch_end - patch));
    if (!blang_number(text, (size_t)(first - text), &out->major) ||
        !blang_number(first + 1, (size_t)(second - first - 1), &out->minor) ||
        !blang_number(patch, (size_t)((minus ? minus : patch_end) - patch), &out->patch))
        return false;
    if (minus && !blang_identifiers(minus + 1, (size_t)(patch_end - minus - 1), true))
        return false;
    if (plus && !blang_identifiers(plus + 1, (size_t)(end - plus - 1), false))
        return false;
    if (minus)
        out->prerelease = cfbp_xstrndup(minus + 1, (size_t)(patch_end - minus - 1));
    return true;
}

int cfbp_semver_parse_strict(struct cfbp_semver *out, const char *text)
{
    return blang_parse(text, strlen(text), out) ? 0 : -1;
}

bool cfbp_version_is_strict_semver(const char *text)
{
    struct cfbp_semver version;
    if (!blang_parse(text, strlen(text), &version))
        return false;
    cfbp_semver_release(&version);
    return true;
}

/* --- blang/semver v3.5.1: ranges --- */

enum blang_op { BLANG_EQ, BLANG_NE, BLANG_GT, BLANG_GE, BLANG_LT, BLANG_LE };

struct blang_term {
    enum blang_op op;
    struct cfbp_semver version;
};

struct blang_group {
    struct blang_term *terms;
    size_t count, alloc;
};

struct blang_range {
    struct blang_group *groups;
    size_t count, alloc;
};

static void blang_range_release(struct blang_range *range)
{
    for (size_t g = 0; g < range->count; g++) {
        for (size_t t = 0; t < range->groups[g].count; t++)
            cfbp_semver_release(&range->groups[g].terms[t].version);
        free(range->groups[g].terms);
    }
    free(range->groups);
    memset(range, 0, sizeof(*range));
}

/* Appends text[0..length) to list with its spaces (only ' ') removed. */
static void append_without_spaces(struct cfbp_string_list *list, const char *text, size_t length)
{
    struct cfbp_strbuf word = CFBP_STRBUF_INIT;
    for (size_t i = 0; i < length; i++)
        if (text[i] != ' ')
            cfbp_strbuf_append_char(&word, text[i]);
    cfbp_string_list_append_owned(list, cfbp_strbuf_detach(&word, NULL));
}

/*
 * blang's splitAndTrim: split at spaces unless the last non-space byte was
 * '>', '<' or '=' (so ">= 1.2.3" is one word), and drop every word shorter
 * than two bytes: a bare "x", "*" or "1" disappears.
 */
static void blang_split_and_trim(const char *text, struct cfbp_string_list *words)
{
    size_t length = strlen(text), last = 0;
    char last_char = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] == ' ' && last_char != '>' && last_char != '<' && last_char != '=') {
            if (last + 1 < i)
                append_without_spaces(words, text + last, i - last);
            last = i + 1;
        } else if (text[i] != ' ') {
            last_char = text[i];
        }
    }
    if (last + 1 < length)
        append_without_spaces(words, text + last, length - last);
}

/* blang's splitComparatorVersion: the byte offset of the first unicode.IsDigit rune. */
static bool blang_first_digit(const char *text, size_t *at)
{
    size_t length = strlen(text);
    for (size_t i = 0; i < length;) {
        size_t width;
        long rune = decode_rune((const unsigned char *)text + i, length - i, &width);
        if (rune >= 0 && is_unicode_digit(rune)) {
            *at = i;
            return true;
        }
        i += width;
    }
    return false;
}

/* Adds delta to the dot-separated part `index` of version (Atoi, Itoa); false when Atoi fails. */
static bool blang_increment(const char *version, size_t index, struct cfbp_strbuf *out)
{
    cfbp_strbuf_reset(out);
    const char *part = version;
    for (size_t i = 0; i < index; i++) {
        part = strchr(part, '.');
        if (!part)
            return false;
        part++;
    }
    size_t length = strcspn(part, ".");
    int64_t value;
    if (!go_atoi(part, length, &value))
        return false;
    cfbp_strbuf_append(out, version, (size_t)(part - version));
    /* Go's int wraps on overflow. */
    cfbp_strbuf_append_format(out, "%lld", (long long)(int64_t)((uint64_t)value + 1));
    cfbp_strbuf_append_string(out, part + length);
    return true;
}

/*
 * blang's expandWildcardVersion for one word holding a lowercase 'x' (appends
 * one or two words to out). "1.2.x" and "1.x" become ranges, but: "1.x.x"
 * counts as a patch wildcard (>=1.0.0 <1.1.0); an operator blang does not know
 * ("~", "^", "v", any junk before the first digit) is dropped, leaving the
 * flattened version as an exact one ("~1.2.x" is =1.2.0); and "!=1.2.x"
 * becomes "<1.2.0" AND ">=1.3.0", which nothing satisfies.
 */
static bool blang_expand_word(const char *word, struct cfbp_string_list *out)
{
    if (!strchr(word, 'x')) {
        cfbp_string_list_append(out, word);
        return true;
    }
    size_t digit;
    if (!blang_first_digit(word, &digit))
        return false;
    struct cfbp_strbuf op = CFBP_STRBUF_INIT, step = CFBP_STRBUF_INIT, flat = CFBP_STRBUF_INIT,
                       result = CFBP_STRBUF_INIT;
    go_trim_space(word, digit, &op);
    const char *version = word + digit;

    /* getWildcardType: the last dot-part is "x"; two parts = minor, three = patch. */
    size_t parts = 1;
    for (const char *c = version; *c; c++)
        parts += *c == '.';
    const char *last = strrchr(version, '.');
    bool wildcard_last = strcmp(last ? last + 1 : version, "x") == 0;
    int wildcard = wildcard_last && parts == 2 ? 2 : wildcard_last && parts == 3 ? 3 : 0;

    /* createVersionFromWildcard */
    replace_first(version, ".x.x", ".x", &step);
    replace_first(step.buf, ".x", ".0", &flat);
    size_t flat_parts = 1;
    for (const char *c = flat.buf; *c; c++)
        flat_parts += *c == '.';
    if (flat_parts == 2)
        cfbp_strbuf_append_string(&flat, ".0");

    const char *result_op = "";
    bool increment = false;
    if (strcmp(op.buf, ">") == 0) {
        result_op = ">=", increment = true;
    } else if (strcmp(op.buf, ">=") == 0) {
        result_op = ">=";
    } else if (strcmp(op.buf, "<") == 0) {
        result_op = "<";
    } else if (strcmp(op.buf, "<=") == 0) {
        result_op = "<", increment = true;
    } else if (!op.buf[0] || strcmp(op.buf, "=") == 0 || strcmp(op.buf, "==") == 0) {
        cfbp_strbuf_set(&step, ">=");
        cfbp_strbuf_append_string(&step, flat.buf);
        cfbp_string_list_append(out, step.buf);
        result_op = "<", increment = true;
    } else if (strcmp(op.buf, "!=") == 0 || strcmp(op.buf, "!") == 0) {
        cfbp_strbuf_set(&step, "<");
        cfbp_strbuf_append_string(&step, flat.buf);
        cfbp_string_list_append(out, step.buf);
        result_op = ">=", increment = true;
    }
    cfbp_strbuf_set(&step, result_op);
    if (!increment)
        cfbp_strbuf_append_string(&step, flat.buf);
    else if (wildcard && blang_increment(flat.buf, wildcard == 3 ? 1 : 0, &result))
        cfbp_strbuf_append_string(&step, result.buf);
    /* else: blang ignores the failed increment and leaves the version empty. */
    cfbp_string_list_append(out, step.buf);
    cfbp_strbuf_release(&op);
    cfbp_strbuf_release(&step);
    cfbp_strbuf_release(&flat);
    cfbp_strbuf_release(&result);
    return true;
}

/* One expanded word: an operator blang knows, then a strict version. */
static bool blang_parse_term(const char *word, struct blang_term *term)
{
    size_t digit;
    if (!blang_first_digit(word, &digit))
        return false;
    struct cfbp_strbuf op = CFBP_STRBUF_INIT;
    go_trim_space(word, digit, &op);
    static const struct {
        const char *text;
        enum blang_op op;
    } ops[] = {{"", BLANG_EQ},   {"=", BLANG_EQ},  {"==", BLANG_EQ},
               {">", BLANG_GT},  {">=", BLANG_GE}, {"<", BLANG_LT},
               {"<=", BLANG_LE}, {"!", BLANG_NE},  {"!=", BLANG_NE}};
    bool known = false;
    for (size_t i = 0; !known && i < sizeof(ops) / sizeof(*ops); i++)
        if (strcmp(op.buf, ops[i].text) == 0)
            term->op = ops[i].op, known = true;
    cfbp_strbuf_release(&op);
    return known && blang_parse(word + digit, strlen(word + digit), &term->version);
}

/*
 * blang's ParseRange. *empty_group is set when an alternative has no terms
 * ("1.0.0 || x || 2.0.0", its "x" dropped): blang then calls a nil function
 * and libbuildpack panics when a version reaches that alternative.
 */
static bool blang_parse_range(const char *text, struct blang_range *range)
{
    memset(range, 0, sizeof(*range));
    struct cfbp_string_list words = CFBP_STRING_LIST_INIT, expanded = CFBP_STRING_LIST_INIT;
    blang_split_and_trim(text, &words);
    bool ok = words.count > 0 && strcmp(words.items[0], "||") != 0 &&
              strcmp(words.items[words.count - 1], "||") != 0;
    size_t start = 0;
    for (size_t i = 0; ok && i <= words.count; i++) {
        if (i < words.count && strcmp(words.items[i], "||") != 0)
            continue;
        /* The alternative words[start..i): expand its wildcards, then parse each term. */
        cfbp_string_list_clear(&expanded);
        for (size_t w = start; ok && w < i; w++)
            ok = blang_expand_word(words.items[w], &expanded);
        CFBP_GROW(range->groups, range->alloc, range->count + 1);
        struct blang_group *group = &range->groups[range->count++];
        memset(group, 0, sizeof(*group));
        for (size_t w = 0; ok && w < expanded.count; w++) {
            CFBP_GROW(group->terms, group->alloc, group->count + 1);
            ok = blang_parse_term(expanded.items[w], &group->terms[group->count]);
            group->count += ok;
        }
        start = i + 1;
    }
    cfbp_string_list_clear(&words);
    cfbp_string_list_clear(&expanded);
    if (!ok)
        blang_range_release(range);
    return ok;
}

static bool blang_term_matches(const struct blang_term *term, const struct cfbp_semver *version)
{
    int versus = cfbp_semver_compare(version, &term->version);
    switch (term->op) {
    case BLANG_EQ:
        return versus == 0;
    case BLANG_NE:
        return versus != 0;
    case BLANG_GT:
        return versus > 0;
    case BLANG_GE:
        return versus >= 0;
    case BLANG_LT:
        return versus < 0;
    case BLANG_LE:
        return versus <= 0;
    }
    return false;
}

/* 1 or 0; -1 where libbuildpack would panic (an empty alternative reached, see above). */
static int blang_range_matches(const struct blang_range *range, const struct cfbp_semver *version)
{
    for (size_t g = 0; g < range->count; g++) {
        const struct blang_group *group = &range->groups[g];
        if (group->count == 0)
            return -1;
        bool all = true;
        for (size_t t = 0; all && t < group->count; t++)
            all = blang_term_matches(&group->terms[t], version);
        if (all)
            return 1;
    }
    return 0;
}

/* --- Masterminds/semver v1.5.0: versions --- */

/* Scans "ident(.ident)*" from at; returns the end, or at when there is none. */
static size_t scan_identifiers(const char *text, size_t at, size_t end)
{
    if (at >= end || !is_identifier_char(text[at]))
        return at;
    size_t i = at;
    while (i < end && is_identifier_char(text[i]))
        i++;
    while (i + 1 < end && text[i] == '.' && is_identifier_char(text[i + 1]))
        for (i++; i < end && is_identifier_char(text[i]); i++)
            ;
    return i;
}

/*
 * NewVersion: ^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-ids)?(\+ids)?$, parts as
 * int64. *overflow names a part too large for int64 (Go's message differs).
 */
static bool mm_parse_version(const char *text, size_t length, struct cfbp_semver *out,
                             struct cfbp_strbuf *overflow)
{
    memset(out, 0, sizeof(*out));
    size_t at = text[0] == 'v' && length > 1 && is_digit(text[1]) ? 1 : 0;
    size_t parts[3][2] = {{0, 0}, {0, 0}, {0, 0}};
    for (int part = 0; part < 3; part++) {
        if (part > 0 && !(at + 1 < length && text[at] == '.' && is_digit(text[at + 1])))
            break;
        at += part > 0;
        parts[part][0] = at;
        while (at < length && is_digit(text[at]))
            at++;
        parts[part][1] = at;
        if (at == parts[part][0])
            return false;
    }
    size_t pre_start = 0, pre_end = 0;
    if (at < length && text[at] == '-') {
        pre_end = scan_identifiers(text, at + 1, length);
        if (pre_end == at + 1)
            return false;
        pre_start = at + 1;
        at = pre_end;
    }
    if (at < length && text[at] == '+') {
        size_t end = scan_identifiers(text, at + 1, length);
        if (end == at + 1)
            return false;
        at = end;
    }
    if (at != length)
        return false;
    /* Only a whole match gets its parts read as int64 (a failure there has its own message). */
    unsigned long long *numbers[3] = {&out->major, &out->minor, &out->patch};
    for (int part = 0; part < 3 && parts[part][1] > parts[part][0]; part++) {
        uint64_t value;
        const char *digits = text + parts[part][0];
        size_t count = parts[part][1] - parts[part][0];
        if (!parse_int64_digits(digits, count, &value)) {
            if (overflow)
                cfbp_strbuf_append(overflow, digits, count);
            return false;
        }
        *numbers[part] = value;
    }
    if (pre_end > pre_start)
        out->prerelease = cfbp_xstrndup(text + pre_start, pre_end - pre_start);
    return true;
}

int cfbp_semver_parse_lenient(struct cfbp_semver *out, const char *text)
{
    return mm_parse_version(text, strlen(text), out, NULL) ? 0 : -1;
}

bool cfbp_version_is_prerelease(const char *text)
{
    struct cfbp_semver version;
    if (cfbp_semver_parse_lenient(&version, text) < 0)
        return false;
    bool result = version.prerelease != NULL;
    cfbp_semver_release(&version);
    return result;
}

/*
 * comparePrePart: numbers (ParseUint: leading zeros allowed) before words,
 * words bytewise; two different spellings of one number ("01", "1") answer
 * -1 both ways, as Masterminds does.
 */
static int mm_compare_part(const char *a, size_t a_length, const char *b, size_t b_length)
{
    if (a_length == b_length && memcmp(a, b, a_length) == 0)
        return 0;
    if (a_length == 0)
        return -1;
    if (b_length == 0)
        return 1;
    uint64_t a_value = 0, b_value = 0;
    bool a_number = parse_uint64(a, a_length, &a_value);
    bool b_number = parse_uint64(b, b_length, &b_value);
    if (!a_number && !b_number)
        return compare_bytes(a, a_length, b, b_length) > 0 ? 1 : -1;
    if (!b_number)
        return -1;
    if (!a_number)
        return 1;
    return a_value > b_value ? 1 : -1;
}

typedef int (*part_compare_fn)(const char *a, size_t a_length, const char *b, size_t b_length);

/* Two prereleases part by part, a missing part counting as "": the first part that differs. */
static int compare_prerelease_parts(const char *a, const char *b, part_compare_fn compare_part)
{
    while (*a || *b) {
        size_t a_length = strcspn(a, "."), b_length = strcspn(b, ".");
        int result = compare_part(a, a_length, b, b_length);
        if (result)
            return result;
        a += a_length + (a[a_length] == '.');
        b += b_length + (b[b_length] == '.');
    }
    return 0;
}

/* comparePrerelease. */
static int mm_compare_prereleases(const char *a, const char *b)
{
    return compare_prerelease_parts(a, b, mm_compare_part);
}

/* Masterminds' Version.Compare. */
static int mm_compare(const struct cfbp_semver *a, const struct cfbp_semver *b)
{
    int result = compare_triples(a, b);
    if (result)
        return result;
    if (!a->prerelease || !b->prerelease)
        return a->prerelease ? -1 : b->prerelease ? 1 : 0;
    return mm_compare_prereleases(a->prerelease, b->prerelease);
}

/* --- Masterminds/semver v1.5.0: constraints --- */

/* cvRegex's part class [0-9|x|X|\*]: digits, x, X, * and, by accident, '|'. */
static bool is_constraint_part_char(char c)
{
    return is_digit(c) || c == 'x' || c == 'X' || c == '*' || c == '|';
}

/* Where cvRegex's groups fell: [start, end) of each, empty when absent. */
struct mm_cv {
    size_t major[2], minor[2], patch[2], prerelease[2]; /* minor, patch, prerelease keep . and - */
};

/*
 * cvRegex (v?part(.part)?(.part)?(-ids)?(+ids)?) matched greedily from at
 * within [at, end): returns where it stops, or at when it does not match.
 * Greedy is what Go's leftmost-first matching picks here, since every group
 * after the first is optional.
 */
static size_t mm_scan_cv(const char *text, size_t at, size_t end, struct mm_cv *cv)
{
    memset(cv, 0, sizeof(*cv));
    size_t i = at;
    if (i + 1 < end && text[i] == 'v' && is_constraint_part_char(text[i + 1]))
        i++;
    size_t *groups[3] = {cv->major, cv->minor, cv->patch};
    for (int part = 0; part < 3; part++) {
        size_t start = i;
        if (part > 0) {
            if (!(i + 1 < end && text[i] == '.' && is_constraint_part_char(text[i + 1])))
                break;
            i++;
        }
        size_t digits = i;
        while (i < end && is_constraint_part_char(text[i]))
            i++;
        if (i == digits)
            return at;
        groups[part][0] = start;
        groups[part][1] = i;
    }
    if (i + 1 < end && text[i] == '-' && is_identifier_char(text[i + 1])) {
        cv->prerelease[0] = i;
        i = cv->prerelease[1] = scan_identifiers(text, i + 1, end);
    }
    if (i + 1 < end && text[i] == '+' && is_identifier_char(text[i + 1]))
        i = scan_identifiers(text, i + 1, end);
    return i;
}

/*
 * One match of rewriteRange's \s*(cv)\s+-\s+(cv)\s* starting at p: *end gets
 * its end and first/second the two versions' [start, end).
 */
static bool mm_range_at(const char *text, size_t length, size_t p, size_t *end, size_t first[2],
                        size_t second[2])
{
    struct mm_cv cv;
    size_t i = p;
    while (i < length && is_regex_space(text[i]))
        i++;
    size_t token = i;
    while (i < length && !is_regex_space(text[i]))
        i++;
    /* The first version runs to the first space, which must follow it. */
    if (i == token || i == length || mm_scan_cv(text, token, i, &cv) != i)
        return false;
    first[0] = token, first[1] = i;
    while (i < length && is_regex_space(text[i]))
        i++;
    if (i + 1 >= length || text[i] != '-' || !is_regex_space(text[i + 1]))
        return false;
    for (i++; i < length && is_regex_space(text[i]); i++)
        ;
    size_t stop = mm_scan_cv(text, i, length, &cv);
    if (stop == i)
        return false;
    second[0] = i, second[1] = stop;
    while (stop < length && is_regex_space(text[stop]))
        stop++;
    *end = stop;
    return true;
}

/*
 * rewriteRange: every "a - b" (found left to right, as FindAllStringSubmatch
 * does) is replaced by ">= a, <= b", each at the first place its text occurs.
 */
static void mm_rewrite_range(const char *text, struct cfbp_strbuf *out)
{
    size_t length = strlen(text);
    struct cfbp_strbuf current = CFBP_STRBUF_INIT, matched = CFBP_STRBUF_INIT,
                       replacement = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&current, text);
    for (size_t p = 0; p < length;) {
        size_t end, first[2], second[2];
        if (!mm_range_at(text, length, p, &end, first, second)) {
            p++;
            continue;
        }
        cfbp_strbuf_reset(&matched);
        cfbp_strbuf_append(&matched, text + p, end - p);
        cfbp_strbuf_reset(&replacement);
        cfbp_strbuf_append_format(&replacement, ">= %.*s, <= %.*s", (int)(first[1] - first[0]),
                                  text + first[0], (int)(second[1] - second[0]), text + second[0]);
        replace_first(current.buf, matched.buf, replacement.buf, out);
        cfbp_strbuf_set(&current, out->buf);
        p = end;
    }
    cfbp_strbuf_set(out, current.buf);
    cfbp_strbuf_release(&current);
    cfbp_strbuf_release(&matched);
    cfbp_strbuf_release(&replacement);
}

enum mm_op { MM_TILDE_OR_EQUAL, MM_NE, MM_GT, MM_LT, MM_GE, MM_LE, MM_TILDE, MM_CARET };

struct mm_term {
    enum mm_op op;
    struct cfbp_semver version; /* the constraint's version, wildcards as 0 */
    bool dirty, minor_dirty, patch_dirty;
};

struct mm_group {
    struct mm_term *terms;
    size_t count, alloc;
};

struct mm_constraint {
    struct mm_group *groups;
    size_t count, alloc;
};

static void mm_constraint_release(struct mm_constraint *constraint)
{
    for (size_t g = 0; g < constraint->count; g++) {
        for (size_t t = 0; t < constraint->groups[g].count; t++)
            cfbp_semver_release(&constraint->groups[g].terms[t].version);
        free(constraint->groups[g].terms);
    }
    free(constraint->groups);
    memset(constraint, 0, sizeof(*constraint));
}

static bool is_wildcard(const char *text, size_t length)
{
    return length == 1 && (text[0] == 'x' || text[0] == 'X' || text[0] == '*');
}

/*
 * parseConstraint: ^\s*(op)\s*(cv)\s*$. A wildcard major makes the version
 * 0.0.0 whatever follows ("x.9.9" is any); a wildcard or missing minor keeps
 * the major and prerelease ("1" is 1.x); a wildcard patch keeps major.minor.
 * Otherwise the text itself must be a version ("1.2" is 1.2.0, exactly).
 */
static bool mm_parse_term(const char *text, size_t length, struct mm_term *term,
                          struct cfbp_strbuf *problem)
{
    static const struct {
        const char *text;
        enum mm_op op;
    } ops[] = {{"", MM_TILDE_OR_EQUAL},
               {"=", MM_TILDE_OR_EQUAL},
               {"!=", MM_NE},
               {">", MM_GT},
               {"<", MM_LT},
               {">=", MM_GE},
               {"=>", MM_GE},
               {"<=", MM_LE},
               {"=<", MM_LE},
               {"~", MM_TILDE},
               {"~>", MM_TILDE},
               {"^", MM_CARET}};
    memset(term, 0, sizeof(*term));
    size_t i = 0;
    while (i < length && is_regex_space(text[i]))
        i++;
    size_t op_start = i;
    while (i < length && text[i] && strchr("=<>!~^", text[i]))
        i++;
    bool known = false;
    for (size_t k = 0; !known && k < sizeof(ops) / sizeof(*ops); k++)
        if (strlen(ops[k].text) == i - op_start &&
            memcmp(ops[k].text, text + op_start, i - op_start) == 0)
            term->op = ops[k].op, known = true;
    while (i < length && is_regex_space(text[i]))
        i++;
    size_t cv_start = i;
    while (i < length && !is_regex_space(text[i]))
        i++;
    size_t cv_end = i;
    while (i < length && is_regex_space(text[i]))
        i++;
    struct mm_cv cv;
    if (!known || i != length || cv_end == cv_start ||
        mm_scan_cv(text, cv_start, cv_end, &cv) != cv_end) {
        cfbp_strbuf_append_format(problem, "improper constraint: %.*s", (int)length, text);
        return false;
    }
    const char *major = text + cv.major[0], *minor = text + cv.minor[0];
    size_t major_length = cv.major[1] - cv.major[0], minor_length = cv.minor[1] - cv.minor[0];
    size_t patch_length = cv.patch[1] - cv.patch[0];
    int prerelease_length = (int)(cv.prerelease[1] - cv.prerelease[0]);
    const char *prerelease = text + cv.prerelease[0];
    struct cfbp_strbuf version = CFBP_STRBUF_INIT;
    if (is_wildcard(major, major_length)) {
        cfbp_strbuf_set(&version, "0.0.0");
        term->dirty = true;
    } else if (minor_length == 0 || is_wildcard(minor + 1, minor_length - 1)) {
        cfbp_strbuf_append_format(&version, "%.*s.0.0%.*s", (int)major_length, major,
                                  prerelease_length, prerelease);
        term->dirty = term->minor_dirty = true;
    } else if (patch_length > 0 && is_wildcard(text + cv.patch[0] + 1, patch_length - 1)) {
        cfbp_strbuf_append_format(&version, "%.*s%.*s.0%.*s", (int)major_length, major,
                                  (int)minor_length, minor, prerelease_length, prerelease);
        term->dirty = term->patch_dirty = true;
    } else {
        cfbp_strbuf_append(&version, text + cv_start, cv_end - cv_start);
    }
    bool ok = mm_parse_version(version.buf, version.len, &term->version, NULL);
    if (!ok)
        cfbp_strbuf_append_string(problem, "constraint Parser Error");
    cfbp_strbuf_release(&version);
    return ok;
}

/* NewConstraint: rewrite ranges, split at "||", then at ",". */
static bool mm_parse_constraint(const char *text, struct mm_constraint *constraint,
                                struct cfbp_strbuf *problem)
{
    memset(constraint, 0, sizeof(*constraint));
    struct cfbp_strbuf rewritten = CFBP_STRBUF_INIT;
    mm_rewrite_range(text, &rewritten);
    bool ok = true;
    const char *cursor = rewritten.buf;
    for (bool more = true; ok && more;) {
        const char *bar = strstr(cursor, "||");
        const char *end = bar ? bar : cursor + strlen(cursor);
        CFBP_GROW(constraint->groups, constraint->alloc, constraint->count + 1);
        struct mm_group *group = &constraint->groups[constraint->count++];
        memset(group, 0, sizeof(*group));
        for (const char *term = cursor; ok;) {
            const char *comma = memchr(term, ',', (size_t)(end - term));
            const char *term_end = comma ? comma : end;
            CFBP_GROW(group->terms, group->alloc, group->count + 1);
            ok = mm_parse_term(term, (size_t)(term_end - term), &group->terms[group->count],
                               problem);
            group->count += ok;
            if (!comma)
                break;
            term = comma + 1;
        }
        more = bar != NULL;
        if (bar)
            cursor = bar + 2;
    }
    cfbp_strbuf_release(&rewritten);
    if (!ok)
        mm_constraint_release(constraint);
    return ok;
}

/* constraintTilde (also what "" and "=" mean with a wildcard). */
static bool mm_tilde_matches(const struct mm_term *term, const struct cfbp_semver *v)
{
    const struct cfbp_semver *c = &term->version;
    if (mm_compare(v, c) < 0)
        return false;
    if (c->major == 0 && c->minor == 0 && c->patch == 0 && !term->minor_dirty && !term->patch_dirty)
        return true; /* ~0.0.0, x and ~0.0 take everything */
    return v->major == c->major && (v->minor == c->minor || term->minor_dirty);
}

/* The check functions of constraints.go, one per operator. */
static bool mm_term_matches(const struct mm_term *term, const struct cfbp_semver *v)
{
    const struct cfbp_semver *c = &term->version;
    /* "Issue 21": a prerelease only satisfies a term whose version has one (not plain !=). */
    bool prerelease_refused = v->prerelease && !c->prerelease;
    bool dirty_below = !(v->major > c->major || (v->minor > c->minor && !term->minor_dirty));
    switch (term->op) {
    case MM_TILDE_OR_EQUAL:
        if (prerelease_refused)
            return false;
        return term->dirty ? mm_tilde_matches(term, v) : mm_compare(v, c) == 0;
    case MM_TILDE:
        return !prerelease_refused && mm_tilde_matches(term, v);
    case MM_CARET:
        return !prerelease_refused && mm_compare(v, c) >= 0 && v->major == c->major;
    case MM_NE:
        if (!term->dirty)
            return mm_compare(v, c) != 0;
        if (prerelease_refused)
            return false;
        return v->major != c->major || (v->minor != c->minor && !term->minor_dirty);
    case MM_GT:
        return !prerelease_refused && mm_compare(v, c) > 0;
    case MM_GE:
        return !prerelease_refused && mm_compare(v, c) >= 0;
    case MM_LT:
        return !prerelease_refused && (term->dirty ? dirty_below : mm_compare(v, c) < 0);
    case MM_LE:
        return !prerelease_refused && (term->dirty ? dirty_below : mm_compare(v, c) <= 0);
    }
    return false;
}

static bool mm_constraint_matches(const struct mm_constraint *constraint,
                                  const struct cfbp_semver *version)
{
    for (size_t g = 0; g < constraint->count; g++) {
        bool all = true;
        for (size_t t = 0; all && t < constraint->groups[g].count; t++)
            all = mm_term_matches(&constraint->groups[g].terms[t], version);
        if (all)
            return true;
    }
    return false;
}

/* --- matching (libbuildpack's versions.go) --- */

/* A version that matched, for sorting. */
struct matched {
    size_t index;
    struct cfbp_semver version;
};

typedef int (*version_compare_fn)(const struct cfbp_semver *, const struct cfbp_semver *);

static bool matched_less(const struct matched *a, const struct matched *b, version_compare_fn cmp)
{
    return cmp(&a->version, &b->version) < 0;
}

/* A stable merge sort for more than GO_INSERTION_SORT_MAX matches. */
static void merge_sort(struct matched *items, struct matched *scratch, size_t count,
                       version_compare_fn cmp)
{
    if (count < 2)
        return;
    size_t half = count / 2;
    merge_sort(items, scratch, half, cmp);
    merge_sort(items + half, scratch, count - half, cmp);
    size_t i = 0, j = half, k = 0;
    while (i < half && j < count)
        scratch[k++] = matched_less(&items[j], &items[i], cmp) ? items[j++] : items[i++];
    while (i < half)
        scratch[k++] = items[i++];
    while (j < count)
        scratch[k++] = items[j++];
    memcpy(items, scratch, count * sizeof(*items));
}

/*
 * sort.Sort as Go runs it: up to 12 elements by insertion (so ties keep their
 * order, and Masterminds' "01"/"1" quirk plays out the same), more by a
 * stable sort (Go's pdqsort may order ties differently there).
 */
static void sort_matches(struct matched *items, size_t count, version_compare_fn cmp)
{
    if (count <= GO_INSERTION_SORT_MAX) {
        for (size_t i = 1; i < count; i++)
            for (size_t j = i; j > 0 && matched_less(&items[j], &items[j - 1], cmp); j--) {
                struct matched swap = items[j];
                items[j] = items[j - 1];
                items[j - 1] = swap;
            }
        return;
    }
    struct matched *scratch = cfbp_xcalloc(count, sizeof(*scratch));
    merge_sort(items, scratch, count, cmp);
    free(scratch);
}

static void release_matches(struct matched *found, size_t count)
{
    for (size_t i = 0; i < count; i++)
        cfbp_semver_release(&found[i].version);
    free(found);
}

/* The limits we add (README, "Where we differ"): length and alternatives. */
static int check_limits(const char *constraint, struct cfbp_error *err)
{
    size_t length = strlen(constraint);
    if (length > CFBP_VERSION_CONSTRAINT_MAX)
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "'%.200s...' is %zu bytes long, more than the %d a version "
                              "constraint may have",
                              constraint, length, CFBP_VERSION_CONSTRAINT_MAX);
    size_t alternatives = 1;
    for (const char *bar = strstr(constraint, "||"); bar; bar = strstr(bar + 2, "||"))
        alternatives++;
    if (alternatives > MAX_ALTERNATIVES)
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "'%.200s%s' joins %zu alternatives with ||, more than the %d a "
                              "constraint may have",
                              constraint, length > 200 ? "..." : "", alternatives,
                              MAX_ALTERNATIVES);
    return 0;
}

/*
 * matchSemver1: blang's range over strict versions. Returns the number of
 * matches (0: fall through to Masterminds, as libbuildpack does on any error
 * or on no match).
 */
static size_t match_blang(const char *constraint, const char *const *versions, size_t count,
                          struct matched *found)
{
    struct blang_range range;
    if (!blang_parse_range(constraint, &range))
        return 0;
    size_t found_count = 0;
    bool failed = false;
    for (size_t i = 0; !failed && i < count; i++) {
        struct cfbp_semver version;
        if (!blang_parse(versions[i], strlen(versions[i]), &version)) {
            failed = true;
            break;
        }
        int result = blang_range_matches(&range, &version);
        if (result > 0) {
            found[found_count++] = (struct matched){.index = i, .version = version};
            continue;
        }
        cfbp_semver_release(&version);
        /* libbuildpack panics here; we take it as blang failing (README). */
        failed = result < 0;
    }
    blang_range_release(&range);
    if (failed) {
        for (size_t i = 0; i < found_count; i++)
            cfbp_semver_release(&found[i].version);
        return 0;
    }
    sort_matches(found, found_count, cfbp_semver_compare);
    return found_count;
}

static int no_match(const char *constraint, const char *const *versions, size_t count,
                    struct cfbp_error *err)
{
    struct cfbp_strbuf list = CFBP_STRBUF_INIT;
    for (size_t i = 0; i < count && i < SHOWN_VERSIONS; i++) {
        if (i)
            cfbp_strbuf_append_char(&list, ' ');
        cfbp_strbuf_append_string(&list, versions[i]);
    }
    if (count > SHOWN_VERSIONS)
        cfbp_strbuf_append_format(&list, " ... and %zu more", count - SHOWN_VERSIONS);
    cfbp_error_set(err, CFBP_ERROR_NOT_FOUND, "no match found for %s in [%s]", constraint,
                   list.buf);
    cfbp_strbuf_release(&list);
    return -1;
}

/* matchSemver2: Masterminds; any parse failure is the answer, in its words. */
static int match_masterminds(const char *constraint, const char *const *versions, size_t count,
                             struct matched *found, size_t *found_count, struct cfbp_error *err)
{
    struct mm_constraint parsed;
    struct cfbp_strbuf problem = CFBP_STRBUF_INIT;
    *found_count = 0;
    if (!mm_parse_constraint(constraint, &parsed, &problem)) {
        cfbp_error_set(err, CFBP_ERROR_NOT_FOUND, "%s", problem.buf);
        cfbp_error_set_detail(err, "'%s' is not a version constraint libbuildpack can read",
                              constraint);
        cfbp_strbuf_release(&problem);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        struct cfbp_semver version;
        if (!mm_parse_version(versions[i], strlen(versions[i]), &version, &problem)) {
            if (problem.len)
                cfbp_error_set(err, CFBP_ERROR_NOT_FOUND,
                               "Error parsing version segment: strconv.ParseInt: parsing "
                               "\"%s\": value out of range",
                               problem.buf);
            else
                cfbp_error_set(err, CFBP_ERROR_NOT_FOUND, "Invalid Semantic Version");
            cfbp_error_set_detail(err, "version '%s' is not a semantic version", versions[i]);
            cfbp_strbuf_release(&problem);
            mm_constraint_release(&parsed);
            return -1;
        }
        if (mm_constraint_matches(&parsed, &version))
            found[(*found_count)++] = (struct matched){.index = i, .version = version};
        else
            cfbp_semver_release(&version);
    }
    mm_constraint_release(&parsed);
    cfbp_strbuf_release(&problem);
    if (*found_count == 0)
        return no_match(constraint, versions, count, err);
    sort_matches(found, *found_count, mm_compare);
    return 0;
}

int cfbp_version_find_matches(const char *constraint, const char *const *versions, size_t count,
                              size_t **matches, size_t *match_count, struct cfbp_error *err)
{
    *matches = NULL;
    *match_count = 0;
    if (check_limits(constraint, err) < 0)
        return -1;
    struct matched *found = cfbp_xcalloc(count ? count : 1, sizeof(*found));
    size_t found_count = match_blang(constraint, versions, count, found);
    if (found_count == 0 &&
        match_masterminds(constraint, versions, count, found, &found_count, err) < 0) {
        release_matches(found, found_count);
        return -1;
    }
    size_t *indices = cfbp_xcalloc(found_count, sizeof(*indices));
    for (size_t i = 0; i < found_count; i++)
        indices[i] = found[i].index;
    release_matches(found, found_count);
    *matches = indices;
    *match_count = found_count;
    return 0;
}

int cfbp_version_find_match(const char *constraint, const char *const *versions, size_t count,
                            size_t *match, struct cfbp_error *err)
{
    size_t *matches, match_count;
    if (cfbp_version_find_matches(constraint, versions, count, &matches, &match_count, err) < 0)
        return -1;
    *match = matches[match_count - 1];
    free(matches);
    return 0;
}

bool cfbp_version_matches(const char *constraint, const char *version)
{
    size_t match;
    struct cfbp_error err = CFBP_ERROR_INIT;
    bool result = cfbp_version_find_match(constraint, &version, 1, &match, &err) == 0;
    cfbp_error_clear(&err);
    return result;
}

bool cfbp_version_line_matches(const char *version_line, const char *version)
{
    struct cfbp_semver parsed;
    if (cfbp_semver_parse_lenient(&parsed, version) < 0)
        return strcmp(version_line, version) == 0;
    struct mm_constraint constraint;
    struct cfbp_strbuf problem = CFBP_STRBUF_INIT;
    bool result = false;
    if (strlen(version_line) <= CFBP_VERSION_CONSTRAINT_MAX &&
        mm_parse_constraint(version_line, &constraint, &problem)) {
        result = mm_constraint_matches(&constraint, &parsed);
        mm_constraint_release(&constraint);
    }
    cfbp_strbuf_release(&problem);
    cfbp_semver_release(&parsed);
    return result;
}

int cfbp_version_check_constraint(const char *constraint, struct cfbp_error *err)
{
    if (check_limits(constraint, err) < 0)
        return -1;
    struct blang_range range;
    if (blang_parse_range(constraint, &range)) {
        blang_range_release(&range);
        return 0;
    }
    struct mm_constraint parsed;
    struct cfbp_strbuf problem = CFBP_STRBUF_INIT;
    bool ok = mm_parse_constraint(constraint, &parsed, &problem);
    if (ok)
        mm_constraint_release(&parsed);
    cfbp_strbuf_release(&problem);
    if (ok)
        return 0;
    return cfbp_error_set(err, CFBP_ERROR_INVALID,
                          "'%s' is not a version constraint (write e.g. 1.2.3, 1.2.x, ~1.2, "
                          ">=1.2.0 <2.0.0)",
                          constraint);
}

/*
 * Masterminds' prerelease order made total: parts compare as comparePrePart
 * does, except that two spellings of one number ("01", "1") are equal there
 * and the next parts decide. Masterminds stops at the first part that differs
 * as bytes; where that part decides, the answer is the same, and where it is
 * such a pair, Masterminds answers -1 both ways and is no order at all.
 * Deciding a part in one step and moving on keeps the whole a preorder: a
 * tie over every part is a tie of the whole, settled by the caller.
 */
static int order_part(const char *a, size_t a_length, const char *b, size_t b_length)
{
    uint64_t a_value = 0, b_value = 0;
    if (parse_uint64(a, a_length, &a_value) && parse_uint64(b, b_length, &b_value))
        return compare_numbers(a_value, b_value);
    return mm_compare_part(a, a_length, b, b_length);
}

int cfbp_version_compare(const char *a, const char *b)
{
    struct cfbp_semver va, vb;
    bool a_ok = cfbp_semver_parse_lenient(&va, a) == 0;
    bool b_ok = cfbp_semver_parse_lenient(&vb, b) == 0;
    int result = 0;
    if (a_ok && b_ok) {
        result = compare_triples(&va, &vb);
        if (!result && (va.prerelease || vb.prerelease))
            result = !va.prerelease ? 1
                     : !vb.prerelease
                         ? -1
                         : compare_prerelease_parts(va.prerelease, vb.prerelease, order_part);
    } else if (a_ok != b_ok) {
        result = a_ok ? 1 : -1;
    }
    if (a_ok)
        cfbp_semver_release(&va);
    if (b_ok)
        cfbp_semver_release(&vb);
    if (!result)
        result = strcmp(a, b);
    return result < 0 ? -1 : result > 0 ? 1 : 0;
}
