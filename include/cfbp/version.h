/*
 * version.h - semantic versions and version constraints (contract §6.5).
 *
 * Matching gives libbuildpack's answers (versions.go FindMatchingVersions, with
 * the libraries its go.mod pins), quirks included:
 *   1. blang/semver v3.5.1 first. The constraint is read by blang's ParseRange:
 *      words split on spaces (a space after >, < or = does not split), words of
 *      one character dropped (so a bare "x" or "*" never parses here), "||"
 *      alternatives, operators "", =, ==, !, !=, >, >=, <, <= only, and a word
 *      holding a lowercase x rewritten as blang does ("1.2.x" is >=1.2.0 <1.3.0,
 *      "1.x" >=1.0.0 <2.0.0, but "1.x.x" >=1.0.0 <1.1.0 and "~1.2.x" exactly
 *      1.2.0). Every candidate must be strict semver (blang's Parse). Versions
 *      compare by plain semver precedence, so "0.49.x" does not take
 *      "0.49.0-alpha" but does take "0.49.1-rc.1" (libbuildpack#181).
 *   2. If step 1 fails in any way or matches nothing: Masterminds/semver
 *      v1.5.0. "a - b" ranges, "||" alternatives of comma-separated (never
 *      space-separated) terms with operators "", =, !=, >, <, >=, =>, <=, =<,
 *      ~, ~>, ^; "x", "X" and "*" wildcards; "v" prefixes; "1.2" is exactly
 *      1.2.0 and "1" is 1.x; "^0.2.3" is >=0.2.3 <1.0.0 (v1's caret). A
 *      prerelease never satisfies a term whose own version has none, so a bare
 *      wildcard never picks a prerelease. Every candidate must parse
 *      (Masterminds' NewVersion), else it is an error.
 * The highest match wins (ties keep list order, as Go's sort does for up to
 * 12 matches) and its original string is returned. Differences on purpose
 * are listed in README.md, "Where we differ from libbuildpack, on purpose":
 * constraints are at most CFBP_VERSION_CONSTRAINT_MAX bytes and 64 "||"
 * alternatives; a constraint that makes libbuildpack panic falls through to
 * step 2; a no-match message names at most 50 versions.
 */
#ifndef CFBP_VERSION_H
#define CFBP_VERSION_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;

/* The longest constraint matched; longer ones are refused (hostile input). */
#define CFBP_VERSION_CONSTRAINT_MAX 1024

struct cfbp_semver {
    unsigned long long major, minor, patch;
    char *prerelease; /* dot-separated identifiers, or NULL */
};

/* Strict semver 2.0 as blang/semver v3.5.1 parses it (no "v", three parts, no leading zeros). */
int cfbp_semver_parse_strict(struct cfbp_semver *out, const char *text);
/*
 * Lenient, as Masterminds/semver v1.5.0's NewVersion parses it (what
 * libbuildpack's installer and packager use): optional lowercase "v", one to
 * three parts (missing ones are 0), leading zeros allowed, parts up to 2^63-1.
 */
int cfbp_semver_parse_lenient(struct cfbp_semver *out, const char *text);
void cfbp_semver_release(struct cfbp_semver *version);
/* Semver precedence (§11, as blang compares): <0, 0, >0. Build metadata is ignored. */
int cfbp_semver_compare(const struct cfbp_semver *a, const struct cfbp_semver *b);

bool cfbp_version_is_strict_semver(const char *text);
/* True when the version parses (leniently) and has a prerelease part. */
bool cfbp_version_is_prerelease(const char *text);
/*
 * A total order on version strings for listings (the packager's summary):
 * libbuildpack's order (Masterminds semver when both parse, else bytewise)
 * wherever that is an order; versions it calls equal ("1.2" and "1.2.0"), and
 * pairs where it is none (one side unparsable), are settled the same way each
 * time: unparsable strings first, then bytewise.
 */
int cfbp_version_compare(const char *a, const char *b);

/*
 * Checks that a constraint can ever match (blang or Masterminds parses it) and
 * is within the limits above; errors (CFBP_ERROR_INVALID) name it.
 */
int cfbp_version_check_constraint(const char *constraint, struct cfbp_error *err);
/*
 * Finds the highest of versions[0..count) matching constraint and puts its
 * index in *match, as libbuildpack's FindMatchingVersion does. No match is an
 * error of kind CFBP_ERROR_NOT_FOUND, in libbuildpack's words:
 * "no match found for <constraint> in [<v1> <v2> ...]"; so is a constraint or
 * candidate that Masterminds cannot parse ("improper constraint: <term>",
 * "constraint Parser Error", "Invalid Semantic Version", "Error parsing version
 * segment: ..."), each with a detail line naming the culprit. A constraint
 * over the limits above is CFBP_ERROR_INVALID.
 */
int cfbp_version_find_match(const char *constraint, const char *const *versions, size_t count,
                            size_t *match, struct cfbp_error *err);
/*
 * Finds every one of versions[0..count) matching constraint, as libbuildpack's
 * FindMatchingVersions does: *matches gets a new array (free it) of their
 * indices, lowest version first, and *match_count its length (at least 1).
 * Errors are cfbp_version_find_match's; the last index is its answer.
 */
int cfbp_version_find_matches(const char *constraint, const char *const *versions, size_t count,
                              size_t **matches, size_t *match_count, struct cfbp_error *err);
/* True when cfbp_version_find_match(constraint, {version}) finds it. */
bool cfbp_version_matches(const char *constraint, const char *version);
/*
 * True when a deprecation's version_line covers version, as libbuildpack's
 * installer decides (warnEndOfLife): when version parses leniently, the line
 * must parse as a Masterminds constraint and match it (no blang step: "1.x.x"
 * covers 1.5.0); otherwise the two strings must be equal.
 */
bool cfbp_version_line_matches(const char *version_line, const char *version);

#ifdef __cplusplus
}
#endif

#endif
