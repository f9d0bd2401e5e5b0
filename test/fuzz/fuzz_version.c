/*
 * fuzz_version.c - versions and constraints (lib/version.c) on any text.
 *
 * The input's first line is a constraint and the next lines (up to
 * VERSION_LIMIT) are candidate versions. Checked:
 *   - cfbp_version_compare is a total order on the lines: reflexive,
 *     antisymmetric and transitive;
 *   - a strict semver also parses leniently, as the same version;
 *   - cfbp_version_check_constraint accepts every constraint that matches
 *     a version other than itself (text equal to a version always matches it);
 *   - when every candidate is strict semver (then matching one version at a
 *     time uses the same rules as matching the list), cfbp_version_find_match
 *     picks a version the constraint matches and no matching version is
 *     higher, and finds nothing only when nothing matches.
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

static void check_parsing(const char *text)
{
    struct cfbp_semver strict, lenient;
    bool strict_ok = cfbp_semver_parse_strict(&strict, text) == 0;
    bool lenient_ok = cfbp_semver_parse_lenient(&lenient, text) == 0;
    if (strict_ok && !lenient_ok)
        fuzz_fail("'%s' is strict semver but does not parse leniently", text);
    if (strict_ok && cfbp_semver_compare(&strict, &lenient) != 0)
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

static void check_matching(const char *constraint, char *const *versions, size_t count)
{
    bool all_strict = true;
    for (size_t i = 0; i < count; i++)
        all_strict = all_strict && cfbp_version_is_strict_semver(versions[i]);
    size_t match = 0;
    struct cfbp_error err = CFBP_ERROR_INIT;
    bool found = cfbp_version_find_match(constraint, (const char *const *)versions, count, &match,
                                         &err) == 0;
    if (!found) {
        fuzz_expect_prefix(err.message, "no match found for ");
        cfbp_error_clear(&err);
    } else if (match >= count) {
        fuzz_fail("find_match chose %zu of %zu versions", match, count);
    } else if (strcmp(constraint, versions[match]) != 0 &&
               cfbp_version_check_constraint(constraint, &err) < 0) {
        fuzz_fail("'%s' matched '%s' but is not a constraint: %s", constraint, versions[match],
                  err.message);
    }
    if (!all_strict)
        return;
    for (size_t i = 0; i < count; i++) {
        if (!cfbp_version_matches(constraint, versions[i]))
            continue;
        if (!found)
            fuzz_fail("'%s' matches '%s' alone but nothing in the list", constraint, versions[i]);
        struct cfbp_semver candidate, chosen;
        cfbp_semver_parse_strict(&candidate, versions[i]);
        cfbp_semver_parse_strict(&chosen, versions[match]);
        if (cfbp_semver_compare(&candidate, &chosen) > 0)
            fuzz_fail("'%s' chose '%s' over the higher '%s'", constraint, versions[match],
                      versions[i]);
        cfbp_semver_release(&candidate);
        cfbp_semver_release(&chosen);
    }
    if (found && !cfbp_version_matches(constraint, versions[match]))
        fuzz_fail("'%s' chose '%s' from the list but does not match it alone", constraint,
                  versions[match]);
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
    free(text);
    return 0;
}
