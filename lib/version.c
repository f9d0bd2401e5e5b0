/*
 * version.c - semantic versions and constraints (see version.h, contract §6.5).
 *
 * A constraint is parsed into OR-groups of AND-ed bounds. Each bound keeps
 * its operator, its version and how many leading parts were given before a
 * wildcard ("1.2.x" gives two), which is all the operators need: a bound on
 * "1.2.x" covers [1.2.0, 1.3.0). Upper bounds made from wildcards, "~" and
 * "^" compare only the numeric triple, so a prerelease of 1.3.0 is never
 * inside 1.2.x (blang would let 1.3.0-alpha in; nobody means that).
 */
#include "cfbp/version.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/strbuf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

enum op { OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE, OP_TILDE, OP_CARET };

struct bound {
    enum op op;
    struct cfbp_semver version; /* parts past `parts` are 0 */
    int parts;                  /* leading parts given: 0 ("x") to 3 (exact) */
};

struct group {
    struct bound *bounds;
    size_t count, alloc;
};

struct constraint {
    struct group *groups;
    size_t count, alloc;
    bool lenient;
};

/* --- versions --- */

static bool is_wildcard(const char *text, size_t length)
{
    return length == 1 && (text[0] == 'x' || text[0] == 'X' || text[0] == '*');
}

/* Parses a decimal number of length digits; strict refuses leading zeros. */
static bool parse_number(const char *text, size_t length, bool strict, unsigned long long *out)
{
    if (length == 0 || length > 18)
        return false;
    if (strict && length > 1 && text[0] == '0')
        return false;
    unsigned long long value = 0;
    for (size_t i = 0; i < length; i++) {
        if (!isdigit((unsigned char)text[i]))
            return false;
        value = value * 10 + (unsigned long long)(text[i] - '0');
    }
    *out = value;
    return true;
}

/* Checks dot-separated identifiers of [0-9A-Za-z-]; strict refuses numeric ones with leading 0. */
static bool valid_identifiers(const char *text, size_t length, bool strict)
{
    size_t start = 0;
    for (size_t i = 0; i <= length; i++) {
        if (i < length && text[i] != '.') {
            if (!isalnum((unsigned char)text[i]) && text[i] != '-')
                return false;
            continue;
        }
        size_t part = i - start;
        if (part == 0)
            return false;
        bool numeric = true;
        for (size_t j = start; j < i; j++)
            numeric = numeric && isdigit((unsigned char)text[j]);
        if (strict && numeric && part > 1 && text[start] == '0')
            return false;
        start = i + 1;
    }
    return true;
}

/*
 * Parses "[v]N[.N[.N]][-pre][+build]" where parts may be wildcards when
 * allow_wildcards. *parts_given gets how many leading numeric parts there are
 * before the first wildcard or the end.
 */
static bool parse_version(struct cfbp_semver *out, const char *text, bool strict,
                          bool allow_wildcards, int *parts_given, int *parts_written)
{
    memset(out, 0, sizeof(*out));
    const char *cursor = text;
    if (!strict && (*cursor == 'v' || *cursor == 'V'))
        cursor++;
    size_t core_length = strcspn(cursor, "-+");
    unsigned long long numbers[3] = {0, 0, 0};
    int written = 0, given = -1;
    size_t at = 0;
    while (at <= core_length) {
        size_t length = strcspn(cursor + at, ".-+");
        if (at + length > core_length)
            length = core_length - at;
        if (written == 3)
            return false;
        if (allow_wildcards && is_wildcard(cursor + at, length)) {
            if (given < 0)
                given = written;
        } else {
            if (given >= 0) /* a number after a wildcard ("1.x.3") */
                return false;
            if (!parse_number(cursor + at, length, strict, &numbers[written]))
                return false;
        }
        written++;
        at += length;
        if (at >= core_length)
            break;
        at++; /* the '.' */
        if (at >= core_length)
            return false; /* trailing dot */
    }
    if (written == 0 || (strict && written != 3 && given < 0))
        return false;
    if (given < 0)
        given = written;
    const char *rest = cursor + core_length;
    if (*rest == '-') {
        size_t length = strcspn(rest + 1, "+");
        if (given < written || !valid_identifiers(rest + 1, length, strict))
            return false;
        out->prerelease = cfbp_xstrndup(rest + 1, length);
        rest += 1 + length;
    }
    if (*rest == '+') {
        if (!valid_identifiers(rest + 1, strlen(rest + 1), false)) {
            cfbp_semver_release(out);
            return false;
        }
    } else if (*rest != '\0') {
        cfbp_semver_release(out);
        return false;
    }
    out->major = numbers[0];
    out->minor = numbers[1];
    out->patch = numbers[2];
    if (parts_given)
        *parts_given = given;
    if (parts_written)
        *parts_written = written;
    return true;
}

int cfbp_semver_parse_strict(struct cfbp_semver *out, const char *text)
{
    return parse_version(out, text, true, false, NULL, NULL) ? 0 : -1;
}

int cfbp_semver_parse_lenient(struct cfbp_semver *out, const char *text)
{
    return parse_version(out, text, false, false, NULL, NULL) ? 0 : -1;
}

void cfbp_semver_release(struct cfbp_semver *version)
{
    free(version->prerelease);
    version->prerelease = NULL;
}

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
        if (!isdigit((unsigned char)text[i]))
            return false;
    return length > 0;
}

/* Semver §11: identifiers compare numerically or in ASCII order; numeric ones sort first. */
static int compare_prereleases(const char *a, const char *b)
{
    while (*a && *b) {
        size_t a_length = strcspn(a, "."), b_length = strcspn(b, ".");
        bool a_numeric = all_digits(a, a_length), b_numeric = all_digits(b, b_length);
        int result;
        if (a_numeric && b_numeric) {
            result = a_length != b_length ? (a_length < b_length ? -1 : 1) : memcmp(a, b, a_length);
        } else if (a_numeric || b_numeric) {
            result = a_numeric ? -1 : 1;
        } else {
            size_t shorter = a_length < b_length ? a_length : b_length;
            result = memcmp(a, b, shorter);
            if (!result && a_length != b_length)
                result = a_length < b_length ? -1 : 1;
        }
        if (result)
            return result < 0 ? -1 : 1;
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

bool cfbp_version_is_strict_semver(const char *text)
{
    struct cfbp_semver version;
    if (cfbp_semver_parse_strict(&version, text) < 0)
        return false;
    cfbp_semver_release(&version);
    return true;
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

int cfbp_version_compare(const char *a, const char *b)
{
    struct cfbp_semver va, vb;
    bool a_ok = cfbp_semver_parse_lenient(&va, a) == 0;
    bool b_ok = cfbp_semver_parse_lenient(&vb, b) == 0;
    int result = 0;
    if (a_ok && b_ok)
        result = cfbp_semver_compare(&va, &vb);
    else if (a_ok != b_ok)
        result = a_ok ? 1 : -1;
    if (a_ok)
        cfbp_semver_release(&va);
    if (b_ok)
        cfbp_semver_release(&vb);
    if (!result)
        result = strcmp(a, b);
    return result < 0 ? -1 : result > 0 ? 1 : 0;
}

/* --- constraints --- */

static void constraint_release(struct constraint *constraint)
{
    for (size_t g = 0; g < constraint->count; g++) {
        for (size_t b = 0; b < constraint->groups[g].count; b++)
            cfbp_semver_release(&constraint->groups[g].bounds[b].version);
        free(constraint->groups[g].bounds);
    }
    free(constraint->groups);
    memset(constraint, 0, sizeof(*constraint));
}

static struct group *add_group(struct constraint *constraint)
{
    CFBP_GROW(constraint->groups, constraint->alloc, constraint->count + 1);
    struct group *group = &constraint->groups[constraint->count++];
    memset(group, 0, sizeof(*group));
    return group;
}

/* Splits an operator off the front of token; returns its length (0 for none). */
static size_t parse_operator(const char *token, bool lenient, enum op *op)
{
    static const struct {
        const char *text;
        enum op op;
        bool lenient_only;
    } operators[] = {
        {">=", OP_GE, false},  {"<=", OP_LE, false}, {"!=", OP_NE, false},   {"==", OP_EQ, false},
        {"=>", OP_GE, true},   {"=<", OP_LE, true},  {"~>", OP_TILDE, true}, {">", OP_GT, false},
        {"<", OP_LT, false},   {"=", OP_EQ, false},  {"!", OP_NE, false},    {"~", OP_TILDE, true},
        {"^", OP_CARET, true},
    };
    for (size_t i = 0; i < sizeof(operators) / sizeof(*operators); i++) {
        size_t length = strlen(operators[i].text);
        if (strncmp(token, operators[i].text, length) != 0)
            continue;
        if (operators[i].lenient_only && !lenient)
            return (size_t)-1;
        *op = operators[i].op;
        return length;
    }
    *op = OP_EQ;
    return 0;
}

static bool add_bound(struct group *group, enum op op, const char *text, bool lenient)
{
    struct bound bound = {.op = op};
    int written = 0;
    if (!parse_version(&bound.version, text, !lenient, true, &bound.parts, &written))
        return false;
    /* Masterminds v1: "1" means 1.x, but "1.2" means exactly 1.2.0. */
    if (lenient && written == 2 && bound.parts == 2)
        bound.parts = 3;
    CFBP_GROW(group->bounds, group->alloc, group->count + 1);
    group->bounds[group->count++] = bound;
    return true;
}

/* Collects the whitespace/comma separated tokens of one OR-group. */
static void split_tokens(const char *text, size_t length, bool lenient, struct cfbp_strbuf *tokens,
                         size_t *count)
{
    size_t at = 0;
    *count = 0;
    while (at < length) {
        while (at < length && (isspace((unsigned char)text[at]) || (lenient && text[at] == ',')))
            at++;
        if (at >= length)
            break;
        size_t start = at;
        while (at < length && !isspace((unsigned char)text[at]) && !(lenient && text[at] == ','))
            at++;
        if (*count < 16)
            cfbp_strbuf_append(&tokens[*count], text + start, at - start);
        (*count)++;
    }
}

static bool parse_group(struct constraint *constraint, const char *text, size_t length)
{
    struct cfbp_strbuf tokens[16];
    for (size_t i = 0; i < 16; i++)
        cfbp_strbuf_init(&tokens[i], 0);
    size_t count;
    bool lenient = constraint->lenient;
    split_tokens(text, length, lenient, tokens, &count);
    bool ok = count > 0 && count <= 16;
    struct group *group = ok ? add_group(constraint) : NULL;
    for (size_t i = 0; ok && i < count; i++) {
        /* Hyphen range "A - B" (lenient only). */
        if (lenient && i + 2 < count && strcmp(tokens[i + 1].buf, "-") == 0) {
            ok = add_bound(group, OP_GE, tokens[i].buf, true) &&
                 add_bound(group, OP_LE, tokens[i + 2].buf, true);
            i += 2;
            continue;
        }
        enum op op;
        size_t operator_length = parse_operator(tokens[i].buf, lenient, &op);
        if (operator_length == (size_t)-1) {
            ok = false;
            break;
        }
        const char *version = tokens[i].buf + operator_length;
        /* Lenient input may put a space between operator and version (">= 1.2"). */
        if (*version == '\0' && lenient && operator_length > 0 && i + 1 < count)
            version = tokens[++i].buf;
        ok = *version != '\0' && add_bound(group, op, version, lenient);
    }
    for (size_t i = 0; i < 16; i++)
        cfbp_strbuf_release(&tokens[i]);
    return ok;
}

/*
 * The most "||" alternatives a constraint may have: matching costs
 * alternatives x versions, and no real constraint needs more than a few.
 */
#define MAX_ALTERNATIVES 64

static int parse_constraint(struct constraint *constraint, const char *text, bool lenient)
{
    memset(constraint, 0, sizeof(*constraint));
    constraint->lenient = lenient;
    const char *cursor = text;
    for (size_t groups = 1;; groups++) {
        const char *bar = strstr(cursor, "||");
        if (groups > MAX_ALTERNATIVES) {
            constraint_release(constraint);
            return -1;
        }
        size_t length = bar ? (size_t)(bar - cursor) : strlen(cursor);
        if (!parse_group(constraint, cursor, length)) {
            constraint_release(constraint);
            return -1;
        }
        if (!bar)
            return 0;
        cursor = bar + 2;
    }
}

/* The exclusive upper end of a wildcard, "~" or "^" bound; false when unbounded. */
static bool upper_end(const struct bound *bound, struct cfbp_semver *upper)
{
    const struct cfbp_semver *v = &bound->version;
    memset(upper, 0, sizeof(*upper));
    int parts = bound->parts;
    if (parts == 0)
        return false;
    if (bound->op == OP_TILDE) {
        if (parts >= 2)
            upper->major = v->major, upper->minor = v->minor + 1;
        else
            upper->major = v->major + 1;
        return true;
    }
    if (bound->op == OP_CARET) {
        if (v->major > 0 || parts == 1)
            upper->major = v->major + 1;
        else if (v->minor > 0 || parts == 2)
            upper->minor = v->minor + 1;
        else
            upper->patch = v->patch + 1;
        return true;
    }
    if (parts == 1)
        upper->major = v->major + 1;
    else
        upper->major = v->major, upper->minor = v->minor + 1;
    return true;
}

static bool bound_matches(const struct bound *bound, const struct cfbp_semver *v, bool lenient)
{
    if (lenient && v->prerelease && !bound->version.prerelease)
        return false;
    struct cfbp_semver upper;
    bool bounded = upper_end(bound, &upper);
    bool below_upper = !bounded || compare_triples(v, &upper) < 0;
    int versus = cfbp_semver_compare(v, &bound->version);
    bool exact = bound->parts == 3;
    switch (bound->op) {
    case OP_EQ:
        return exact ? versus == 0 : versus >= 0 && below_upper;
    case OP_NE:
        return exact ? versus != 0 : !(versus >= 0 && below_upper);
    case OP_GT:
        return exact ? versus > 0 : bounded && !below_upper;
    case OP_GE:
        return versus >= 0;
    case OP_LT:
        return bound->parts > 0 && versus < 0;
    case OP_LE:
        return exact ? versus <= 0 : below_upper;
    case OP_TILDE:
    case OP_CARET:
        return versus >= 0 && below_upper;
    }
    return false;
}

static bool constraint_matches(const struct constraint *constraint, const struct cfbp_semver *v)
{
    for (size_t g = 0; g < constraint->count; g++) {
        bool all = true;
        for (size_t b = 0; all && b < constraint->groups[g].count; b++)
            all = bound_matches(&constraint->groups[g].bounds[b], v, constraint->lenient);
        if (all)
            return true;
    }
    return false;
}

/* A constraint neither parser takes may still pin a non-semver version exactly. */
static bool is_exact_token(const char *text)
{
    if (!*text)
        return false;
    for (const char *c = text; *c; c++)
        if (isspace((unsigned char)*c) || strchr("<>=~^|,!*", *c))
            return false;
    return true;
}

/* How much of a constraint, and how many versions, a message shows. */
#define SHOWN_CONSTRAINT 200
#define SHOWN_VERSIONS   50

int cfbp_version_check_constraint(const char *constraint, struct cfbp_error *err)
{
    struct constraint parsed;
    if (parse_constraint(&parsed, constraint, false) == 0 ||
        parse_constraint(&parsed, constraint, true) == 0) {
        constraint_release(&parsed);
        return 0;
    }
    if (is_exact_token(constraint))
        return 0;
    size_t alternatives = 1;
    for (const char *bar = strstr(constraint, "||"); bar; bar = strstr(bar + 2, "||"))
        alternatives++;
    const char *more = strlen(constraint) > SHOWN_CONSTRAINT ? "..." : "";
    if (alternatives > MAX_ALTERNATIVES)
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "'%.*s%s' joins %zu alternatives with ||, more than the %d a "
                              "constraint may have",
                              SHOWN_CONSTRAINT, constraint, more, alternatives, MAX_ALTERNATIVES);
    return cfbp_error_set(err, CFBP_ERROR_INVALID,
                          "'%.*s%s' is not a version constraint (write e.g. 1.2.3, 1.2.x, ~1.2, "
                          ">=1.2.0 <2.0.0)",
                          SHOWN_CONSTRAINT, constraint, more);
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
    cfbp_error_set(err, CFBP_ERROR_NOT_FOUND, "no match found for %.*s%s in [%s]", SHOWN_CONSTRAINT,
                   constraint, strlen(constraint) > SHOWN_CONSTRAINT ? "..." : "", list.buf);
    cfbp_strbuf_release(&list);
    return -1;
}

/* A version that matched, for sorting. */
struct matched {
    size_t index;
    struct cfbp_semver version;
};

static int compare_matched(const void *a, const void *b)
{
    const struct matched *x = a, *y = b;
    int order = cfbp_semver_compare(&x->version, &y->version);
    /* Of equal versions ("1.0" and "1.0.0" leniently) the one given first sorts last, so
     * that it is the one cfbp_version_find_match picks, as it always has. */
    return order ? order : (x->index < y->index) - (x->index > y->index);
}

int cfbp_version_find_matches(const char *constraint, const char *const *versions, size_t count,
                              size_t **matches, size_t *match_count, struct cfbp_error *err)
{
    *matches = NULL;
    *match_count = 0;
    bool all_strict = true;
    for (size_t i = 0; all_strict && i < count; i++)
        all_strict = cfbp_version_is_strict_semver(versions[i]);
    struct constraint parsed;
    bool have = (all_strict && parse_constraint(&parsed, constraint, false) == 0) ||
                parse_constraint(&parsed, constraint, true) == 0;
    struct matched *found = count ? cfbp_xcalloc(count, sizeof(*found)) : NULL;
    size_t found_count = 0;
    for (size_t i = 0; have && i < count; i++) {
        struct cfbp_semver v;
        if (!parse_version(&v, versions[i], !parsed.lenient, false, NULL, NULL))
            continue;
        if (constraint_matches(&parsed, &v))
            found[found_count++] = (struct matched){.index = i, .version = v};
        else
            cfbp_semver_release(&v);
    }
    if (have)
        constraint_release(&parsed);
    if (found_count)
        qsort(found, found_count, sizeof(*found), compare_matched);
    size_t *indices = cfbp_xcalloc(count ? count : 1, sizeof(*indices));
    for (size_t i = 0; i < found_count; i++) {
        indices[i] = found[i].index;
        cfbp_semver_release(&found[i].version);
    }
    free(found);
    /* A constraint that is no constraint at all still finds its exact spelling. */
    for (size_t i = 0; found_count == 0 && i < count; i++)
        if (strcmp(versions[i], constraint) == 0)
            indices[found_count++] = i;
    if (found_count == 0) {
        free(indices);
        return no_match(constraint, versions, count, err);
    }
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
