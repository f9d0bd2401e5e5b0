/*
 * test_version.c - semantic versions, constraints and libbuildpack's
 * FindMatchingVersion rules (contract §6.5, version.h).
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/strbuf.h"
#include "cfbp/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(array) (sizeof(array) / sizeof(*(array)))

/* --- helpers --- */

static void check_strict(const char *text, bool ok, unsigned long long major,
                         unsigned long long minor, unsigned long long patch, const char *prerelease)
{
    struct cfbp_semver version;
    memset(&version, 0xAB, sizeof(version));
    int result = cfbp_semver_parse_strict(&version, text);
    if (result != (ok ? 0 : -1))
        fail_msg("parse_strict(\"%s\") returned %d", text, result);
    assert_int_equal(cfbp_version_is_strict_semver(text), ok);
    if (!ok)
        return;
    assert_int_equal(version.major, major);
    assert_int_equal(version.minor, minor);
    assert_int_equal(version.patch, patch);
    if (prerelease)
        assert_string_equal(version.prerelease, prerelease);
    else
        assert_null(version.prerelease);
    cfbp_semver_release(&version);
    assert_null(version.prerelease);
}

static void check_lenient(const char *text, bool ok, unsigned long long major,
                          unsigned long long minor, unsigned long long patch,
                          const char *prerelease)
{
    struct cfbp_semver version;
    int result = cfbp_semver_parse_lenient(&version, text);
    if (result != (ok ? 0 : -1))
        fail_msg("parse_lenient(\"%s\") returned %d", text, result);
    if (!ok)
        return;
    assert_int_equal(version.major, major);
    assert_int_equal(version.minor, minor);
    assert_int_equal(version.patch, patch);
    if (prerelease)
        assert_string_equal(version.prerelease, prerelease);
    else
        assert_null(version.prerelease);
    cfbp_semver_release(&version);
}

static int compare_strict(const char *a, const char *b)
{
    struct cfbp_semver va, vb;
    if (cfbp_semver_parse_strict(&va, a) < 0 || cfbp_semver_parse_strict(&vb, b) < 0)
        fail_msg("cannot parse %s or %s", a, b);
    int result = cfbp_semver_compare(&va, &vb);
    cfbp_semver_release(&va);
    cfbp_semver_release(&vb);
    return result;
}

/* Checks that find_match picks expected (NULL: no match) among versions. */
static void check_match(const char *constraint, const char *const *versions, size_t count,
                        const char *expected)
{
    size_t match = 12345;
    struct cfbp_error err = CFBP_ERROR_INIT;
    int result = cfbp_version_find_match(constraint, versions, count, &match, &err);
    if (expected == NULL) {
        if (result == 0)
            fail_msg("'%s' matched '%s', expected no match", constraint, versions[match]);
        assert_int_equal(err.kind, CFBP_ERROR_NOT_FOUND);
        cfbp_error_clear(&err);
        return;
    }
    if (result != 0)
        fail_msg("'%s' found nothing (%s), expected '%s'", constraint, err.message, expected);
    assert_true(match < count);
    if (strcmp(versions[match], expected) != 0)
        fail_msg("'%s' matched '%s', expected '%s'", constraint, versions[match], expected);
    assert_null(err.message);
}

#define CHECK_MATCH(constraint, versions, expected)                                                \
    check_match(constraint, versions, COUNT(versions), expected)

static void check_constraint_ok(const char *constraint)
{
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_version_check_constraint(constraint, &err) != 0)
        fail_msg("'%s' was refused: %s", constraint, err.message);
    assert_null(err.message);
}

static void check_constraint_refused(const char *constraint)
{
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_version_check_constraint(constraint, &err) != -1)
        fail_msg("'%s' was accepted", constraint);
    assert_int_equal(err.kind, CFBP_ERROR_INVALID);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(
        &expected,
        "'%s' is not a version constraint (write e.g. 1.2.3, 1.2.x, ~1.2, >=1.2.0 <2.0.0)",
        constraint);
    assert_string_equal(err.message, expected.buf);
    cfbp_strbuf_release(&expected);
    cfbp_error_clear(&err);
}

/* --- parsing --- */

static void parses_strict_semver(void **state)
{
    (void)state;
    check_strict("1.2.3", true, 1, 2, 3, NULL);
    check_strict("0.0.0", true, 0, 0, 0, NULL);
    check_strict("10.20.30", true, 10, 20, 30, NULL);
    check_strict("1.2.3-alpha", true, 1, 2, 3, "alpha");
    check_strict("1.2.3-rc.1", true, 1, 2, 3, "rc.1");
    check_strict("1.2.3-0.3.7", true, 1, 2, 3, "0.3.7");
    check_strict("1.2.3-x-y.z--", true, 1, 2, 3, "x-y.z--");
    check_strict("1.2.3+build.5", true, 1, 2, 3, NULL);
    check_strict("1.2.3-beta+exp.sha.5114f85", true, 1, 2, 3, "beta");
    check_strict("1.0.0+0.build.1-rc.10000aaa-kk-0.1", true, 1, 0, 0, NULL);
    check_strict("999999999999999999.0.0", true, 999999999999999999ULL, 0, 0, NULL);
}

static void strict_refuses_what_semver_refuses(void **state)
{
    (void)state;
    const char *bad[] = {"",          "1",      "1.2",    "1.2.3.4", "v1.2.3",   "01.2.3",
                         "1.02.3",    "1.2.03", "1.2.3-", "1.2.3+",  "1.2.3-01", "1.2.3-a..b",
                         "1.2.3-a_b", "1.2.3 ", " 1.2.3", "1.2.x",   "1.2.*",    "a.b.c",
                         "1..3",      "1.2.",   ".1.2",   "-1.2.3",  "1.2.3-+",  "1.2.3+a+b",
                         "jdk8u392",  "1.2.3-é"};
    for (size_t i = 0; i < COUNT(bad); i++)
        check_strict(bad[i], false, 0, 0, 0, NULL);
}

static void parses_lenient_versions(void **state)
{
    (void)state;
    check_lenient("1.2.3", true, 1, 2, 3, NULL);
    check_lenient("v1.2.3", true, 1, 2, 3, NULL);
    check_lenient("V1.2.3", true, 1, 2, 3, NULL);
    check_lenient("1.2", true, 1, 2, 0, NULL);
    check_lenient("1", true, 1, 0, 0, NULL);
    check_lenient("80", true, 80, 0, 0, NULL);
    check_lenient("01.02.03", true, 1, 2, 3, NULL);
    check_lenient("1.2-beta.01", true, 1, 2, 0, "beta.01");
    check_lenient("1.2.3+build", true, 1, 2, 3, NULL);
    check_lenient("", false, 0, 0, 0, NULL);
    check_lenient("v", false, 0, 0, 0, NULL);
    check_lenient("1.2.3.4", false, 0, 0, 0, NULL);
    check_lenient("1.2.", false, 0, 0, 0, NULL);
    check_lenient("1.x", false, 0, 0, 0, NULL);
    check_lenient("jdk8u392", false, 0, 0, 0, NULL);
    check_lenient("vv1", false, 0, 0, 0, NULL);
    check_lenient("1.2.3-", false, 0, 0, 0, NULL);
    check_lenient("1.2.3 beta", false, 0, 0, 0, NULL);
}

static void orders_by_semver_precedence(void **state)
{
    (void)state;
    /* semver.org §11's example chain, plus numeric parts. */
    const char *chain[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
                           "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
                           "1.0.0-rc.1",  "1.0.0",         "1.0.1",
                           "1.1.0",       "1.2.9",         "1.2.10",
                           "1.10.0",      "2.0.0"};
    for (size_t i = 0; i < COUNT(chain); i++) {
        for (size_t j = 0; j < COUNT(chain); j++) {
            int expected = i < j ? -1 : i > j ? 1 : 0;
            int result = compare_strict(chain[i], chain[j]);
            if ((result > 0) - (result < 0) != expected)
                fail_msg("compare(%s, %s) = %d, expected %d", chain[i], chain[j], result, expected);
        }
    }
    assert_int_equal(compare_strict("1.2.3+a", "1.2.3+b"), 0);
    assert_true(compare_strict("1.0.0-2", "1.0.0-10") < 0);
    assert_true(compare_strict("1.0.0-10", "1.0.0-a") < 0);
    assert_true(compare_strict("1.0.0-a-b", "1.0.0-a") > 0);
    assert_true(compare_strict("1.0.0-A", "1.0.0-a") < 0); /* ASCII order */
}

static void compares_version_strings(void **state)
{
    (void)state;
    assert_int_equal(cfbp_version_compare("1.2.10", "1.2.9"), 1);
    assert_int_equal(cfbp_version_compare("1.2.9", "1.2.10"), -1);
    assert_int_equal(cfbp_version_compare("1.2.3", "1.2.3"), 0);
    assert_int_equal(cfbp_version_compare("v1.2.3", "1.2.4"), -1);
    assert_int_equal(cfbp_version_compare("1.2.3-rc.1", "1.2.3"), -1);
    /* Unparsable strings sort first, bytewise among themselves. */
    assert_int_equal(cfbp_version_compare("jdk8u392", "0.0.1"), -1);
    assert_int_equal(cfbp_version_compare("0.0.1", "jdk8u392"), 1);
    assert_int_equal(cfbp_version_compare("jdk11", "jdk8"), -1);
    /* Equal in semver, different strings: a stable, total order. */
    assert_int_equal(cfbp_version_compare("1.2", "1.2.0"), -1);
    assert_int_equal(cfbp_version_compare("1.2.0", "1.2"), 1);
    assert_int_equal(cfbp_version_compare("1.2.3+a", "1.2.3+b"), -1);
}

static void knows_prereleases(void **state)
{
    (void)state;
    assert_true(cfbp_version_is_prerelease("1.2.3-rc.1"));
    assert_true(cfbp_version_is_prerelease("v1.2-beta"));
    assert_false(cfbp_version_is_prerelease("1.2.3"));
    assert_false(cfbp_version_is_prerelease("1.2.3+build-1"));
    assert_false(cfbp_version_is_prerelease("jdk8u392"));
    assert_false(cfbp_version_is_prerelease(""));
}

/* --- matching: strict rules --- */

static void wildcards_pick_the_highest_numerically(void **state)
{
    (void)state;
    const char *versions[] = {"1.2.9", "1.2.10", "1.2.3", "1.3.0", "1.1.99", "2.0.0"};
    CHECK_MATCH("1.2.x", versions, "1.2.10");
    CHECK_MATCH("1.2.X", versions, "1.2.10");
    CHECK_MATCH("1.2.*", versions, "1.2.10");
    CHECK_MATCH("1.x", versions, "1.3.0");
    CHECK_MATCH("1.x.x", versions, "1.3.0");
    CHECK_MATCH("x", versions, "2.0.0");
    CHECK_MATCH("*", versions, "2.0.0");
    CHECK_MATCH("1.1.x", versions, "1.1.99");
    CHECK_MATCH("3.x", versions, NULL);
}

static void ranges_and_ors(void **state)
{
    (void)state;
    const char *versions[] = {"1.2.0", "1.2.3", "1.2.4", "1.2.5", "1.3.0", "2.1.0"};
    CHECK_MATCH(">=1.2.0 <1.2.4", versions, "1.2.3");
    CHECK_MATCH(">1.2.0 <=1.2.4", versions, "1.2.4");
    CHECK_MATCH(">1.2.5", versions, "2.1.0");
    CHECK_MATCH("<1.2.3", versions, "1.2.0");
    CHECK_MATCH("<=1.2.3", versions, "1.2.3");
    CHECK_MATCH("=1.2.4", versions, "1.2.4");
    CHECK_MATCH("==1.2.4", versions, "1.2.4");
    CHECK_MATCH("!=2.1.0", versions, "1.3.0");
    CHECK_MATCH("1.2.0 || 1.2.4", versions, "1.2.4");
    CHECK_MATCH("1.2.x || >=2.0.0", versions, "2.1.0");
    CHECK_MATCH("<1.2.1 || 1.2.3", versions, "1.2.3");
    CHECK_MATCH(">=1.2.0 <1.2.3 || >=1.3.0 <2.0.0", versions, "1.3.0");
    CHECK_MATCH(">=3.0.0 || <1.0.0", versions, NULL);
    CHECK_MATCH(">1.2.3 <1.2.4", versions, NULL);
    CHECK_MATCH("1.2.3", versions, "1.2.3");
    CHECK_MATCH("  1.2.x  ", versions, "1.2.5");
}

static void strict_wildcards_follow_plain_comparisons_for_prereleases(void **state)
{
    (void)state;
    /* libbuildpack#181: 0.49.x does not take 0.49.0-alpha, which sorts below 0.49.0. */
    const char *alpha[] = {"0.48.9", "0.49.0-alpha"};
    CHECK_MATCH("0.49.x", alpha, NULL);
    const char *rc[] = {"0.49.0", "0.49.1-rc.1"};
    CHECK_MATCH("0.49.x", rc, "0.49.1-rc.1");
    const char *only_rc[] = {"0.48.9", "0.49.1-rc.1"};
    CHECK_MATCH("0.49.x", only_rc, "0.49.1-rc.1");
    const char *exact[] = {"1.2.3-rc.1", "1.2.3"};
    CHECK_MATCH("1.2.3-rc.1", exact, "1.2.3-rc.1");
}

static void upper_bounds_exclude_prereleases_of_the_next_version(void **state)
{
    (void)state;
    const char *versions[] = {"1.2.9", "1.3.0-alpha", "1.3.0-rc.1", "2.0.0-beta"};
    CHECK_MATCH("1.2.x", versions, "1.2.9");
    CHECK_MATCH("1.x", versions, "1.3.0-rc.1");
    CHECK_MATCH("<=1.2.x", versions, "1.2.9");
    const char *lenient[] = {"1.2.9", "1.3.0-alpha", "1.3"};
    CHECK_MATCH("~1.2", lenient, "1.2.9");
    CHECK_MATCH("^1.2", lenient, "1.3");
}

/* --- matching: lenient rules --- */

static void lenient_operators(void **state)
{
    (void)state;
    const char *versions[] = {"0.2.2", "0.2.3", "0.2.9", "0.3.0", "1.1.9", "1.2.0", "1.2.3",
                              "1.2.9", "1.3.0", "1.4.0", "1.4.1", "1.9.9", "2.0.0"};
    CHECK_MATCH("~1.2", versions, "1.2.9");
    CHECK_MATCH("~1.2.3", versions, "1.2.9");
    CHECK_MATCH("~>1.2", versions, "1.2.9");
    CHECK_MATCH("~1", versions, "1.9.9");
    CHECK_MATCH("^1.2.3", versions, "1.9.9");
    CHECK_MATCH("^1.2", versions, "1.9.9");
    CHECK_MATCH("^0.2.3", versions, "0.2.9");
    CHECK_MATCH("^0.2", versions, "0.2.9");
    CHECK_MATCH("1.2 - 1.4", versions, "1.4.0");
    CHECK_MATCH("1.2.0 - 1.4.0", versions, "1.4.0");
    CHECK_MATCH(">=1.2, <1.4", versions, "1.3.0");
    CHECK_MATCH(">= 1.2, < 1.4", versions, "1.3.0");
    CHECK_MATCH(">=1.2,<1.4", versions, "1.3.0");
    CHECK_MATCH("=>1.9.9", versions, "2.0.0");
    CHECK_MATCH("=<1.1.9", versions, "1.1.9");
    CHECK_MATCH("v1.2.3", versions, "1.2.3");
    CHECK_MATCH(">v1.9", versions, "2.0.0"); /* "1.9" is 1.9.0 */
    CHECK_MATCH("<v1.9", versions, "1.4.1");
    CHECK_MATCH("~1.2 || ^0.2.3", versions, "1.2.9");
    CHECK_MATCH("^3.0", versions, NULL);
}

static void missing_parts(void **state)
{
    (void)state;
    /* Masterminds v1: "1.2" is exactly 1.2.0, "1" is 1.x. */
    const char *versions[] = {"1.1.9", "1.2.0", "1.2.5", "1.9.0", "2.0.0"};
    CHECK_MATCH("1.2", versions, "1.2.0");
    CHECK_MATCH("1", versions, "1.9.0");
    CHECK_MATCH(">1", versions, "2.0.0");
    CHECK_MATCH("<1.2", versions, "1.1.9");
    CHECK_MATCH("<=1.2", versions, "1.2.0");
    const char *no_zero[] = {"1.2.3", "1.2.4"};
    CHECK_MATCH("1.2", no_zero, NULL);
}

static void lenient_lists_exclude_prereleases_unless_asked(void **state)
{
    (void)state;
    /* "1.2" is not strict semver, so the whole list is matched leniently. */
    const char *versions[] = {"1.2", "1.2.3-rc.1", "1.2.2"};
    CHECK_MATCH("1.2.x", versions, "1.2.2");
    CHECK_MATCH("x", versions, "1.2.2");
    CHECK_MATCH(">=1.2.3-alpha", versions, "1.2.3-rc.1");
    CHECK_MATCH("1.2.3-rc.1", versions, "1.2.3-rc.1");
    const char *only_pre[] = {"1.2", "1.3.0-rc.1"};
    CHECK_MATCH("1.3.x", only_pre, NULL);
    CHECK_MATCH("~1.3", only_pre, NULL);
}

static void lenient_versions_in_the_list(void **state)
{
    (void)state;
    const char *versions[] = {"80", "81", "v1.2.4", "1.2"};
    CHECK_MATCH("80", versions, "80");
    CHECK_MATCH("8x", versions, NULL);
    CHECK_MATCH(">=80", versions, "81");
    CHECK_MATCH("1.2.x", versions, "v1.2.4");
    CHECK_MATCH("1.2", versions, "1.2");
}

static void exact_match_for_non_semver_versions(void **state)
{
    (void)state;
    const char *versions[] = {"jdk8u392", "jdk11.0.21", "1.2.3"};
    CHECK_MATCH("jdk8u392", versions, "jdk8u392");
    CHECK_MATCH("jdk11.0.21", versions, "jdk11.0.21");
    CHECK_MATCH("jdk8u", versions, NULL);
    CHECK_MATCH("JDK8U392", versions, NULL);
}

static void no_match_names_the_constraint_and_the_list(void **state)
{
    (void)state;
    const char *versions[] = {"1.2.3", "1.2.4"};
    size_t match = 99;
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_version_find_match("9.x", versions, 2, &match, &err), -1);
    assert_int_equal(err.kind, CFBP_ERROR_NOT_FOUND);
    assert_string_equal(err.message, "no match found for 9.x in [1.2.3 1.2.4]");
    assert_int_equal(match, 99);
    cfbp_error_clear(&err);

    assert_int_equal(cfbp_version_find_match("1.x", NULL, 0, &match, &err), -1);
    assert_string_equal(err.message, "no match found for 1.x in []");
    cfbp_error_clear(&err);

    assert_int_equal(cfbp_version_find_match("garbage >=", versions, 2, &match, &err), -1);
    assert_string_equal(err.message, "no match found for garbage >= in [1.2.3 1.2.4]");
    cfbp_error_clear(&err);
}

static void matches_single_versions(void **state)
{
    (void)state;
    assert_true(cfbp_version_matches("1.2.x", "1.2.10"));
    assert_false(cfbp_version_matches("1.2.x", "1.3.0"));
    assert_true(cfbp_version_matches("~1.2", "1.2.7"));
    assert_true(cfbp_version_matches("jdk8u392", "jdk8u392"));
    assert_false(cfbp_version_matches("0.49.x", "0.49.0-alpha"));
    assert_true(cfbp_version_matches("0.49.x", "0.49.1-rc.1"));
    assert_false(cfbp_version_matches(">=1.2.0 <1.3.0", "1.3.0"));
}

/* --- checking constraints --- */

static void accepts_valid_constraints(void **state)
{
    (void)state;
    const char *valid[] = {
        "1.2.3",          "1.2.x",        "x",           "*",      "1.x",    ">=1.2.0 <2.0.0",
        ">1.2.0 <=1.2.4", "1.2.x || 2.x", "~1.2",        "~>1.2",  "^1.2.3", "^0.2.3",
        "1.2.*",          "1.2 - 1.4",    ">=1.2, <1.4", "v1.2.3", "1.2",    "1",
        "!=1.2.3",        "jdk8u392",     "1.2.3-rc.1",  ">= 1.2"};
    for (size_t i = 0; i < COUNT(valid); i++)
        check_constraint_ok(valid[i]);
}

static void refuses_garbage_constraints(void **state)
{
    (void)state;
    const char *garbage[] = {">=1.2 <", "~>",  "1.2.3 ||", "!!",       "",    "   ",
                             "||",      ">=",  "1.2 -",    "1.2.3 <",  "<>1", "^",
                             "a b",     ">=a", "~x.y",     "1 || || 2"};
    for (size_t i = 0; i < COUNT(garbage); i++)
        check_constraint_refused(garbage[i]);
}

/* Matching costs alternatives x versions: a constraint of 142000 alternatives was 40 s. */
static void many_alternatives_are_refused_and_messages_stay_short(void **state)
{
    (void)state;
    struct cfbp_strbuf constraint = CFBP_STRBUF_INIT;
    for (int i = 0; i < 64; i++)
        cfbp_strbuf_append_format(&constraint, "%s9.9.%d", i ? "||" : "", i);
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_version_check_constraint(constraint.buf, &err), 0);
    cfbp_strbuf_append_string(&constraint, "||9.9.99");
    assert_int_equal(cfbp_version_check_constraint(constraint.buf, &err), -1);
    assert_non_null(strstr(err.message, "joins 65 alternatives with ||, more than the 64"));
    assert_true(strlen(err.message) < 400);
    cfbp_error_clear(&err);
    /* A miss names at most 50 versions. */
    const char *versions[200];
    char names[200][16];
    for (int i = 0; i < 200; i++) {
        snprintf(names[i], sizeof(names[i]), "1.0.%d", i);
        versions[i] = names[i];
    }
    size_t match;
    assert_int_equal(cfbp_version_find_match("2.x", versions, 200, &match, &err), -1);
    assert_non_null(strstr(err.message, "1.0.49 ... and 150 more]"));
    cfbp_error_clear(&err);
    cfbp_strbuf_release(&constraint);
}

/* Every match, lowest first; the last is the one cfbp_version_find_match picks. */
static void finds_every_match_in_order(void **state)
{
    (void)state;
    static const char *const versions[] = {"1.10.0", "2.0.0", "1.2.3", "1.9.9", "0.9.0"};
    size_t *matches, count;
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_version_find_matches("1.x", versions, 5, &matches, &count, &err), 0);
    assert_int_equal(count, 3);
    assert_string_equal(versions[matches[0]], "1.2.3");
    assert_string_equal(versions[matches[1]], "1.9.9");
    assert_string_equal(versions[matches[2]], "1.10.0");
    size_t best;
    assert_int_equal(cfbp_version_find_match("1.x", versions, 5, &best, &err), 0);
    assert_int_equal(best, matches[2]);
    free(matches);
    assert_int_equal(cfbp_version_find_matches("~> 3.0", versions, 5, &matches, &count, &err), -1);
    assert_null(matches);
    assert_int_equal(count, 0);
    assert_non_null(strstr(err.message, "no match found for ~> 3.0 in [1.10.0 2.0.0 1.2.3"));
    cfbp_error_clear(&err);
    /* Non-semver versions match their exact spelling. */
    static const char *const odd[] = {"latest", "nightly"};
    assert_int_equal(cfbp_version_find_matches("nightly", odd, 2, &matches, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_int_equal(matches[0], 1);
    free(matches);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(many_alternatives_are_refused_and_messages_stay_short),
        cmocka_unit_test(parses_strict_semver),
        cmocka_unit_test(strict_refuses_what_semver_refuses),
        cmocka_unit_test(parses_lenient_versions),
        cmocka_unit_test(orders_by_semver_precedence),
        cmocka_unit_test(compares_version_strings),
        cmocka_unit_test(knows_prereleases),
        cmocka_unit_test(wildcards_pick_the_highest_numerically),
        cmocka_unit_test(ranges_and_ors),
        cmocka_unit_test(strict_wildcards_follow_plain_comparisons_for_prereleases),
        cmocka_unit_test(upper_bounds_exclude_prereleases_of_the_next_version),
        cmocka_unit_test(lenient_operators),
        cmocka_unit_test(missing_parts),
        cmocka_unit_test(lenient_lists_exclude_prereleases_unless_asked),
        cmocka_unit_test(lenient_versions_in_the_list),
        cmocka_unit_test(exact_match_for_non_semver_versions),
        cmocka_unit_test(no_match_names_the_constraint_and_the_list),
        cmocka_unit_test(matches_single_versions),
        cmocka_unit_test(accepts_valid_constraints),
        cmocka_unit_test(refuses_garbage_constraints),
        cmocka_unit_test(finds_every_match_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
