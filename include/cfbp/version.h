/*
 * version.h - semantic versions and version constraints (contract §6.5).
 *
 * Matching follows libbuildpack's FindMatchingVersion:
 *   1. When the constraint parses as a strict range ("x", "1.2.x",
 *      ">=1.2.0 <1.3.0", "a || b") and every candidate is strict semver, the
 *      strict rules apply: plain comparisons, so 0.49.x does not take
 *      0.49.0-alpha (it sorts below 0.49.0) but does take 0.49.1-rc.1.
 *   2. Otherwise lenient rules apply (Masterminds v1): comma or space AND,
 *      "~", "^", "1.2.*", "1.2 - 1.4", "v" prefixes, missing parts ("1.2" is
 *      1.2.0, "1" is 1.x), and a prerelease version only satisfies a
 *      constraint that itself names a prerelease.
 *   3. A constraint neither parser accepts matches a version string equal to
 *      it, so non-semver versions such as "jdk8u392" can be pinned.
 * The highest match (semver order) wins; its original string is returned.
 */
#ifndef CFBP_VERSION_H
#define CFBP_VERSION_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;

struct cfbp_semver {
    unsigned long long major, minor, patch;
    char *prerelease; /* dot-separated identifiers, or NULL */
};

/* Strict semver 2.0 (no "v", exactly three parts, no leading zeros). */
int cfbp_semver_parse_strict(struct cfbp_semver *out, const char *text);
/* Lenient: optional "v", one to three parts (missing ones are 0), leading zeros allowed. */
int cfbp_semver_parse_lenient(struct cfbp_semver *out, const char *text);
void cfbp_semver_release(struct cfbp_semver *version);
/* Semver precedence: <0, 0, >0. Build metadata is ignored. */
int cfbp_semver_compare(const struct cfbp_semver *a, const struct cfbp_semver *b);

bool cfbp_version_is_strict_semver(const char *text);
/* True when the version parses (leniently) and has a prerelease part. */
bool cfbp_version_is_prerelease(const char *text);
/* Orders version strings by lenient semver; unparsable strings sort first, bytewise. */
int cfbp_version_compare(const char *a, const char *b);

/* Checks that a constraint can be used (step 1, 2 or 3 above); errors name it. */
int cfbp_version_check_constraint(const char *constraint, struct cfbp_error *err);
/*
 * Finds the highest of versions[0..count) matching constraint and puts its
 * index in *match. No match is an error (kind NOT_FOUND):
 * "no match found for <constraint> in [<v1> <v2> ...]".
 */
int cfbp_version_find_match(const char *constraint, const char *const *versions, size_t count,
                            size_t *match, struct cfbp_error *err);
/*
 * Finds every one of versions[0..count) matching constraint, as libbuildpack's
 * FindMatchingVersions does: *matches gets a new array (free it) of their
 * indices, lowest version first, and *match_count its length (at least 1).
 * No match is the same error as cfbp_version_find_match's; the highest match
 * is always the one cfbp_version_find_match picks.
 */
int cfbp_version_find_matches(const char *constraint, const char *const *versions, size_t count,
                              size_t **matches, size_t *match_count, struct cfbp_error *err);
/* True when version satisfies constraint under the same rules. */
bool cfbp_version_matches(const char *constraint, const char *version);

#ifdef __cplusplus
}
#endif

#endif
