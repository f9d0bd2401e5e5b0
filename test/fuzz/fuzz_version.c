/*
 * fuzz_version.c - versions and constraints (lib/version.c) on any text.
 *
 * The input's first line is a constraint and the next lines (up to
 * VERSION_LIMIT) are candidate versions. Whether the answers are
 * libbuildpack's is for the vectors in test/unit/data/version_vectors.txt;
 * here, beside memory safety on any bytes, what must hold whatever the text:
 *   - cfbp_version_compare is a total order on the lines: reflexive,
 *     antisymmetric and transitive;
 *   - a strict (blang) version parses leniently (Masterminds) as the same
 *     version unless a part is beyond int64;
 *   - cfbp_version_find_match fails only with one of libbuildpack's messages
 *     or a limit's, and when it finds a version, the constraint passes
 *     cfbp_version_check_constraint and matches that version alone;
 *   - cfbp_version_find_matches gives distinct indices ending with that one,
 *     each matching alone;
 *   - cfbp_version_line_matches compares a version Masterminds cannot read as text.
 */
#include "fuzz_support.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/version.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define VERSION_LIMIT 12

static int sign(int value)
{
    return (value > 0) - (value < 0);
}

static void check_order(char *const *versions, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (cfbp_version_compare(versions[i], versions[i]) != 0)
            fuzz_fail("'%s' is not equal to itself", versions[i]);
        for (size_t j = 0; j < count; j++) {
            int ij = sign(cfbp_version_compare(versions[i], versions[j]));
            if (ij != -sign(cfbp_version_compare(versions[j], versions[i])))
                fuzz_fail("'%s' and '%s' compare inconsistently", versions[i], versions[j]);
            for (size_t k = 0; ij <= 0 && k < count; k++)
                if (sign(cfbp_version_compare(versions[j], versions[k])) <= 0 &&
                    sign(cfbp_version_compare(versions[i], versions[k])) > 0)
                    fuzz_fail("'%s' <= '%s' <= '%s' but not '%s' <= '%s'", versions[i], versions[j],
                              versions[k], versions[i], versions[k]);
        }
    }
}

/* True when text's digit runs before any '-' or '+' all fit int64 (Masterminds' limit). */
static bool parts_fit_int64(const char *text)
{
    size_t core = strcspn(text, "-+");
    for (size_t i = 0; i < core;) {
        size_t run = strspn(text + i, "0123456789");
        if (run > 19 || (run == 19 && strncmp(text + i, "9223372036854775807", 19) > 0))
            return false;
        i += run ? run : 1;
    }
    return true;
}

static void check_parsing(const char *text)
{
    struct cfbp_semver strict, lenient;
    bool strict_ok = cfbp_semver_parse_strict(&strict, text) == 0;
    bool lenient_ok = cfbp_semver_parse_lenient(&lenient, text) == 0;
    if (strict_ok && !lenient_ok && parts_fit_int64(text))
        fuzz_fail("'%s' is strict semver but does not parse leniently", text);
    if (strict_ok && lenient_ok && cfbp_semver_compare(&strict, &lenient) != 0)
        fuzz_fail("'%s' parses to different versions strictly and leniently", text);
    if (strict_ok != cfbp_version_is_strict_semver(text))
        fuzz_fail("cfbp_version_is_strict_semver('%s') disagrees with parsing", text);
    if (lenient_ok && cfbp_version_is_prerelease(text) != (lenient.prerelease != NULL))
        fuzz_fail("cfbp_version_is_prerelease('%s') disagrees with parsing", text);
    if (strict_ok)
        cfbp_semver_release(&strict);
    if (lenient_ok)
        cfbp_semver_release(&lenient);
}

/* The messages a failed match may carry: libbuildpack's, then our limits'. */
static void check_failure(const char *message)
{
    static const char *const prefixes[] = {
        "no match found for ",
        "improper constraint: ",
        "constraint Parser Error",
        "Invalid Semantic Version",
        "Error parsing version segment: strconv.ParseInt: parsing ",
        "'"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(*prefixes); i++)
        if (message && strncmp(message, prefixes[i], strlen(prefixes[i])) == 0)
            return;
    fuzz_fail("unexpected failure: %s", message ? message : "(no message)");
}

static void check_matching(const char *constraint, char *const *versions, size_t count)
{
    const char *const *list = (const char *const *)versions;
    size_t match = 0;
    struct cfbp_error err = CFBP_ERROR_INIT;
    bool found = cfbp_version_find_match(constraint, list, count, &match, &err) == 0;
    if (!found) {
        check_failure(err.message);
        cfbp_error_clear(&err);
    } else if (match >= count) {
        fuzz_fail("find_match chose %zu of %zu versions", match, count);
    } else if (cfbp_version_check_constraint(constraint, &err) < 0) {
        fuzz_fail("'%s' matched '%s' but is not a constraint: %s", constraint, versions[match],
                  err.message);
    } else if (!cfbp_version_matches(constraint, versions[match])) {
        fuzz_fail("'%s' chose '%s' from the list but does not match it alone", constraint,
                  versions[match]);
    }
    size_t *matches = NULL, match_count = 0;
    if (cfbp_version_find_matches(constraint, list, count, &matches, &match_count, &err) < 0) {
        if (found)
            fuzz_fail("find_matches failed where find_match found '%s'", versions[match]);
        cfbp_error_clear(&err);
        return;
    }
    if (!found || match_count == 0 || matches[match_count - 1] != match)
        fuzz_fail("find_matches and find_match disagree on '%s'", constraint);
    for (size_t i = 0; i < match_count; i++) {
        if (matches[i] >= count)
            fuzz_fail("find_matches gave index %zu of %zu", matches[i], count);
        for (size_t j = 0; j < i; j++)
            if (matches[j] == matches[i])
                fuzz_fail("find_matches gave index %zu twice", matches[i]);
        if (!cfbp_version_matches(constraint, versions[matches[i]]))
            fuzz_fail("'%s' listed '%s' but does not match it alone", constraint,
                      versions[matches[i]]);
    }
    free(matches);
}

static void check_version_lines(const char *line, char *const *versions, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        bool matches = cfbp_version_line_matches(line, versions[i]);
        struct cfbp_semver parsed;
        if (cfbp_semver_parse_lenient(&parsed, versions[i]) == 0)
            cfbp_semver_release(&parsed);
        else if (matches != (strcmp(line, versions[i]) == 0))
            fuzz_fail("line '%s' and non-semver '%s' are not compared as text", line, versions[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    char *lines[VERSION_LIMIT + 1];
    size_t count = 0;
    for (char *line = text; line && count < VERSION_LIMIT + 1;) {
        lines[count++] = line;
        line = strchr(line, '\n');
        if (line)
            *line++ = '\0';
    }
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_version_check_constraint(lines[0], &err) < 0) {
        fuzz_expect_prefix(err.message, "'");
        cfbp_error_clear(&err);
    }
    for (size_t i = 0; i < count; i++)
        check_parsing(lines[i]);
    check_order(lines, count);
    check_matching(lines[0], lines + 1, count - 1);
    check_version_lines(lines[0], lines + 1, count - 1);
    free(text);
    return 0;
}
