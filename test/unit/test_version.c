/*
 * test_version.c - versions, constraints and libbuildpack's FindMatchingVersion
 * (contract §6.5, version.h).
 *
 * Most cases are data: test/unit/data/version_vectors.txt holds libbuildpack's
 * own test cases, its libraries' quirks and vectors drawn from real buildpack
 * manifests, each with the answer libbuildpack's code gave. The functions
 * below cover what the vectors cannot: parsing, ordering, limits, messages.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"
#include "cfbp/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(array) (sizeof(array) / sizeof(*(array)))

/* --- the vectors --- */

/* Undoes the file's escapes: \xHH and \\. */
static void unescape(const char *text, struct cfbp_strbuf *out)
{
    cfbp_strbuf_reset(out);
    for (const char *c = text; *c; c++) {
        if (c[0] == '\\' && c[1] == '\\') {
            cfbp_strbuf_append_char(out, '\\');
            c++;
        } else if (c[0] == '\\' && c[1] == 'x' && c[2] && c[3]) {
            char hex[3] = {c[2], c[3], 0};
            cfbp_strbuf_append_char(out, (char)strtol(hex, NULL, 16));
            c += 3;
        } else {
            cfbp_strbuf_append_char(out, *c);
        }
    }
}

/* Splits at single spaces (the file's version lists). */
static void split_versions(const char *text, struct cfbp_string_list *out)
{
    cfbp_string_list_clear(out);
    struct cfbp_strbuf word = CFBP_STRBUF_INIT;
    for (const char *c = text;; c++) {
        if (*c && *c != ' ') {
            cfbp_strbuf_append_char(&word, *c);
            continue;
        }
        if (word.len)
            cfbp_string_list_append(out, word.buf);
        cfbp_strbuf_reset(&word);
        if (!*c)
            break;
    }
    cfbp_strbuf_release(&word);
}

/* What cfbp_version_find_match(es) answers, in the file's words. */
static void answer(const char *kind, const char *constraint, const struct cfbp_string_list *list,
                   struct cfbp_strbuf *out)
{
    cfbp_strbuf_reset(out);
    const char *const *versions = (const char *const *)list->items;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (strcmp(kind, "A") == 0) {
        size_t *matches, count;
        if (cfbp_version_find_matches(constraint, versions, list->count, &matches, &count, &err) ==
            0) {
            for (size_t i = 0; i < count; i++)
                cfbp_strbuf_append_format(out, "%s%s", i ? " " : "", versions[matches[i]]);
            free(matches);
        }
    } else {
        size_t match;
        if (cfbp_version_find_match(constraint, versions, list->count, &match, &err) == 0)
            cfbp_strbuf_set(out, versions[match]);
    }
    if (err.message) {
        cfbp_strbuf_set(out, "error: ");
        cfbp_strbuf_append_string(out, err.message);
    }
    cfbp_error_clear(&err);
}

static void vectors_give_libbuildpacks_answers(void **state)
{
    (void)state;
    char *path = test_path(CFBP_SOURCE_DIR, "test/unit/data/version_vectors.txt");
    FILE *file = fopen(path, "r");
    if (!file)
        fail_msg("cannot open %s", path);
    char *line = NULL;
    size_t size = 0, number = 0, counts[4] = {0}, failures = 0;
    struct cfbp_strbuf fields[5], got = CFBP_STRBUF_INIT;
    for (size_t i = 0; i < COUNT(fields); i++)
        cfbp_strbuf_init(&fields[i], 0);
    struct cfbp_string_list versions = CFBP_STRING_LIST_INIT;
    while (getline(&line, &size, file) >= 0) {
        number++;
        line[strcspn(line, "\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        size_t count = 0;
        for (char *field = line; field && count < COUNT(fields); count++) {
            char *tab = strchr(field, '\t');
            if (tab)
                *tab = '\0';
            unescape(field, &fields[count]);
            field = tab ? tab + 1 : NULL;
        }
        const char *kind = fields[0].buf, *expected = fields[3].buf;
        if (count < 4 || strlen(kind) != 1 || !strchr("FADL", kind[0]))
            fail_msg("version_vectors.txt:%zu: cannot read this line", number);
        counts[strchr("FADL", kind[0]) - "FADL"]++;
        if (kind[0] == 'L') {
            cfbp_strbuf_set(
                &got, cfbp_version_line_matches(fields[1].buf, fields[2].buf) ? "true" : "false");
        } else {
            split_versions(fields[2].buf, &versions);
            answer(kind, fields[1].buf, &versions, &got);
        }
        if (strcmp(got.buf, expected) != 0) {
            print_error("version_vectors.txt:%zu: %s '%s' [%s]: got '%s', expected '%s'\n", number,
                        kind, fields[1].buf, fields[2].buf, got.buf, expected);
            failures++;
        }
    }
    free(line);
    fclose(file);
    free(path);
    for (size_t i = 0; i < COUNT(fields); i++)
        cfbp_strbuf_release(&fields[i]);
    cfbp_strbuf_release(&got);
    cfbp_string_list_clear(&versions);
    if (failures)
        fail_msg("%zu of the version vectors disagree", failures);
    /* The file is all there: a truncated one must not pass quietly. */
    assert_true(counts[0] >= 1000);
    assert_true(counts[1] >= 10);
    assert_true(counts[2] >= 3);
    assert_true(counts[3] >= 50);
}

/* --- parsing --- */

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

static void parses_strict_semver_as_blang_does(void **state)
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
    check_strict("1.2.3+001", true, 1, 2, 3, NULL); /* build identifiers may lead with 0 */
    check_strict("18446744073709551615.0.0", true, 18446744073709551615ULL, 0, 0, NULL);
    check_strict("1.2.3-18446744073709551615", true, 1, 2, 3, "18446744073709551615");
}

static void strict_refuses_what_blang_refuses(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "1",
                         "1.2",
                         "1.2.3.4",
                         "v1.2.3",
                         "01.2.3",
                         "1.02.3",
                         "1.2.03",
                         "1.2.3-",
                         "1.2.3+",
                         "1.2.3-01",
                         "1.2.3-a..b",
                         "1.2.3-a_b",
                         "1.2.3 ",
                         " 1.2.3",
                         "1.2.x",
                         "1.2.*",
                         "a.b.c",
                         "1..3",
                         "1.2.",
                         ".1.2",
                         "-1.2.3",
                         "1.2.3-+",
                         "1.2.3+a+b",
                         "jdk8u392",
                         "1.2.3-\xc3\xa9",
                         "18446744073709551616.0.0",
                         "1.2.3-18446744073709551616"};
    for (size_t i = 0; i < COUNT(bad); i++)
        check_strict(bad[i], false, 0, 0, 0, NULL);
}

static void parses_lenient_versions_as_masterminds_does(void **state)
{
    (void)state;
    check_lenient("1.2.3", true, 1, 2, 3, NULL);
    check_lenient("v1.2.3", true, 1, 2, 3, NULL);
    check_lenient("1.2", true, 1, 2, 0, NULL);
    check_lenient("1", true, 1, 0, 0, NULL);
    check_lenient("v79", true, 79, 0, 0, NULL);
    check_lenient("01.02.03", true, 1, 2, 3, NULL);
    check_lenient("1.2-beta.01", true, 1, 2, 0, "beta.01");
    check_lenient("1.2.3+build", true, 1, 2, 3, NULL);
    check_lenient("9223372036854775807.0.0", true, 9223372036854775807ULL, 0, 0, NULL);
    const char *bad[] = {"",           "v",
                         "V1.2.3",     "vv1",
                         "1.2.3.4",    "1.2.",
                         "1.x",        "jdk8u392",
                         "1.2.3-",     "1.2.3 beta",
                         "1.2.3-a..b", "1.2.3+",
                         "-1.2.3",     "9223372036854775808.0.0"};
    for (size_t i = 0; i < COUNT(bad); i++)
        check_lenient(bad[i], false, 0, 0, 0, NULL);
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
    assert_true(compare_strict("1.0.0-18446744073709551615", "1.0.0-9") > 0);
}

static void compares_version_strings_for_listings(void **state)
{
    (void)state;
    assert_int_equal(cfbp_version_compare("1.2.10", "1.2.9"), 1);
    assert_int_equal(cfbp_version_compare("1.2.9", "1.2.10"), -1);
    assert_int_equal(cfbp_version_compare("1.2.3", "1.2.3"), 0);
    assert_int_equal(cfbp_version_compare("v1.2.3", "1.2.4"), -1);
    assert_int_equal(cfbp_version_compare("1.2.3-rc.1", "1.2.3"), -1);
    assert_int_equal(cfbp_version_compare("1.0.0-beta.11", "1.0.0-beta.2"), 1);
    /* Unparsable strings (for Masterminds) sort first, bytewise among themselves. */
    assert_int_equal(cfbp_version_compare("jdk8u392", "0.0.1"), -1);
    assert_int_equal(cfbp_version_compare("0.0.1", "jdk8u392"), 1);
    assert_int_equal(cfbp_version_compare("jdk11", "jdk8"), -1);
    assert_int_equal(cfbp_version_compare("V1.2.3", "0.0.1"), -1);
    /* Equal for Masterminds, different strings: a total order all the same. */
    assert_int_equal(cfbp_version_compare("1.2", "1.2.0"), -1);
    assert_int_equal(cfbp_version_compare("1.2.0", "1.2"), 1);
    assert_int_equal(cfbp_version_compare("1.2.3+a", "1.2.3+b"), -1);
    /* Masterminds calls "01" less than "1" and "1" less than "01": settled bytewise. */
    assert_int_equal(cfbp_version_compare("1.0.0-01", "1.0.0-1"), -1);
    assert_int_equal(cfbp_version_compare("1.0.0-1", "1.0.0-01"), 1);
    /* ...but only when nothing after the number decides (a fuzz finding). */
    assert_int_equal(cfbp_version_compare("1.0.0-01", "1.0-1.0.0-0"), -1);
    assert_int_equal(cfbp_version_compare("1.0.0-01.b", "1.0.0-1.a"), 1);
}

/* Every triple of versions made from awkward pieces: reflexive, antisymmetric, transitive. */
static void listing_order_is_total(void **state)
{
    (void)state;
    static const char *const cores[] = {"1", "1.0", "1.0.0", "v1.0.0", "01.0", "1.0.1"};
    static const char *const prereleases[] = {
        "",      "-0", "-00",  "-1",    "-01",      "-1.0", "-01.0",
        "-1.00", "-a", "-1.a", "-01.a", "-1.0.0-0", "-A",   "-18446744073709551616"};
    static const char *const builds[] = {"", "+b"};
    char versions[200][48];
    size_t count = 0;
    for (size_t c = 0; c < sizeof(cores) / sizeof(*cores); c++)
        for (size_t p = 0; p < sizeof(prereleases) / sizeof(*prereleases); p++)
            for (size_t b = 0; b < sizeof(builds) / sizeof(*builds); b++)
                snprintf(versions[count++], sizeof(versions[0]), "%s%s%s", cores[c], prereleases[p],
                         builds[b]);
    strcpy(versions[count++], "jdk8");
    strcpy(versions[count++], "1.0.0-");
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(cfbp_version_compare(versions[i], versions[i]), 0);
        for (size_t j = 0; j < count; j++) {
            int ij = cfbp_version_compare(versions[i], versions[j]);
            assert_int_equal(ij, -cfbp_version_compare(versions[j], versions[i]));
            if (i != j)
                assert_int_not_equal(ij, 0);
            for (size_t k = 0; ij < 0 && k < count; k++)
                if (cfbp_version_compare(versions[j], versions[k]) < 0 &&
                    cfbp_version_compare(versions[i], versions[k]) >= 0) {
                    print_error("%s < %s < %s but not %s < %s\n", versions[i], versions[j],
                                versions[k], versions[i], versions[k]);
                    fail();
                }
        }
    }
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

/* --- matching: what the vectors do not show --- */

/* The two faults issue 11 reported, kept in code as well as in the data. */
static void bare_wildcards_skip_prereleases_and_caret_is_masterminds_v1(void **state)
{
    (void)state;
    const char *versions[] = {"1.2.3", "2.0.0-rc.1"};
    const char *wildcards[] = {"x", "*", "X", "x.x.x"};
    for (size_t i = 0; i < COUNT(wildcards); i++) {
        size_t match = 99;
        struct cfbp_error err = CFBP_ERROR_INIT;
        assert_int_equal(cfbp_version_find_match(wildcards[i], versions, 2, &match, &err), 0);
        if (match != 0)
            fail_msg("'%s' picked %s", wildcards[i], versions[match]);
    }
    const char *zero[] = {"0.2.5", "0.3.0", "0.9.0"};
    size_t match;
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_version_find_match("^0.2.3", zero, 3, &match, &err), 0);
    assert_string_equal(zero[match], "0.9.0");
}

static void errors_are_libbuildpacks_with_a_detail(void **state)
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

    /* Masterminds' own words, and a detail naming what it could not read. */
    assert_int_equal(cfbp_version_find_match(">=1.0.0 <1.1.0", versions, 2, &match, &err), -1);
    assert_int_equal(err.kind, CFBP_ERROR_NOT_FOUND);
    assert_string_equal(err.message, "improper constraint: >=1.0.0 <1.1.0");
    assert_non_null(strstr(err.detail, "'>=1.0.0 <1.1.0'"));
    cfbp_error_clear(&err);
    const char *odd[] = {"1.2.3", "jdk8u392"};
    assert_int_equal(cfbp_version_find_match("x", odd, 2, &match, &err), -1);
    assert_string_equal(err.message, "Invalid Semantic Version");
    assert_non_null(strstr(err.detail, "'jdk8u392'"));
    cfbp_error_clear(&err);
}

static void limits_keep_hostile_constraints_cheap(void **state)
{
    (void)state;
    struct cfbp_strbuf constraint = CFBP_STRBUF_INIT;
    for (int i = 0; i < 64; i++)
        cfbp_strbuf_append_format(&constraint, "%s9.9.%d", i ? "||" : "", i);
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_version_check_constraint(constraint.buf, &err), 0);
    cfbp_strbuf_append_string(&constraint, "||9.9.99");
    assert_int_equal(cfbp_version_check_constraint(constraint.buf, &err), -1);
    assert_int_equal(err.kind, CFBP_ERROR_INVALID);
    assert_non_null(strstr(err.message, "joins 65 alternatives with ||, more than the 64"));
    assert_true(strlen(err.message) < 400);
    cfbp_error_clear(&err);
    const char *one[] = {"9.9.1"};
    size_t match;
    assert_int_equal(cfbp_version_find_match(constraint.buf, one, 1, &match, &err), -1);
    assert_int_equal(err.kind, CFBP_ERROR_INVALID);
    cfbp_error_clear(&err);

    /* Length: CFBP_VERSION_CONSTRAINT_MAX bytes pass, one more does not. */
    cfbp_strbuf_set(&constraint, "1.2.3");
    while (constraint.len < CFBP_VERSION_CONSTRAINT_MAX)
        cfbp_strbuf_append_char(&constraint, ' ');
    assert_int_equal(cfbp_version_check_constraint(constraint.buf, &err), 0);
    const char *exact[] = {"1.2.3"};
    assert_int_equal(cfbp_version_find_match(constraint.buf, exact, 1, &match, &err), 0);
    cfbp_strbuf_append_char(&constraint, ' ');
    assert_int_equal(cfbp_version_check_constraint(constraint.buf, &err), -1);
    assert_non_null(strstr(err.message, "is 1025 bytes long, more than the 1024"));
    assert_true(strlen(err.message) < 400);
    cfbp_error_clear(&err);

    /* A miss names at most 50 versions. */
    const char *versions[200];
    char names[200][16];
    for (int i = 0; i < 200; i++) {
        snprintf(names[i], sizeof(names[i]), "1.0.%d", i);
        versions[i] = names[i];
    }
    assert_int_equal(cfbp_version_find_match("2.x", versions, 200, &match, &err), -1);
    assert_non_null(strstr(err.message, "1.0.49 ... and 150 more]"));
    cfbp_error_clear(&err);
    cfbp_strbuf_release(&constraint);
}

/* A long list of matches (more than Go sorts by insertion) still comes out in order. */
static void many_matches_sort_in_order(void **state)
{
    (void)state;
    const char *versions[300];
    char names[300][24];
    for (int i = 0; i < 300; i++) {
        snprintf(names[i], sizeof(names[i]), "%d.%d.%d", (i * 7) % 5, (i * 13) % 17, i);
        versions[i] = names[i];
    }
    size_t *matches, count;
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_version_find_matches("x", versions, 300, &matches, &count, &err), 0);
    assert_int_equal(count, 300);
    for (size_t i = 1; i < count; i++)
        assert_true(cfbp_version_compare(versions[matches[i - 1]], versions[matches[i]]) < 0);
    free(matches);
    /* Both libraries' paths: blang here ("1.x" parses), Masterminds with a "v" in the list. */
    versions[0] = "v9.9.9";
    assert_int_equal(cfbp_version_find_matches("~4", versions, 300, &matches, &count, &err), 0);
    assert_true(count > 12);
    for (size_t i = 1; i < count; i++)
        assert_true(cfbp_version_compare(versions[matches[i - 1]], versions[matches[i]]) < 0);
    free(matches);
}

static void matches_single_versions(void **state)
{
    (void)state;
    assert_true(cfbp_version_matches("1.2.x", "1.2.10"));
    assert_false(cfbp_version_matches("1.2.x", "1.3.0"));
    assert_true(cfbp_version_matches("~1.2", "1.2.7"));
    assert_false(cfbp_version_matches("jdk8u392", "jdk8u392")); /* libbuildpack: an error */
    assert_false(cfbp_version_matches("0.49.x", "0.49.0-alpha"));
    assert_true(cfbp_version_matches("0.49.x", "0.49.1-rc.1"));
    assert_false(cfbp_version_matches(">=1.2.0 <1.3.0", "1.3.0"));
}

static void version_lines_match_as_the_installer_does(void **state)
{
    (void)state;
    /* Masterminds alone: "1.x.x" covers 1.5.0 (blang would read it as 1.0.x). */
    assert_true(cfbp_version_line_matches("1.x.x", "1.5.0"));
    assert_true(cfbp_version_line_matches("22.x.x", "22.22.3"));
    /* No prerelease through a line without one, though blang would take it. */
    assert_false(cfbp_version_line_matches("2.x", "2.1.0-rc.1"));
    assert_true(cfbp_version_line_matches("2.1.x-0", "2.1.0-rc.1"));
    /* A version Masterminds cannot read is compared as text. */
    assert_true(cfbp_version_line_matches("abc-1.2.3-def-4.5.6", "abc-1.2.3-def-4.5.6"));
    assert_false(cfbp_version_line_matches("abc-1.2.3", "abc-1.2.3-def-4.5.6"));
    /* A line Masterminds cannot read never matches a semver version. */
    assert_false(cfbp_version_line_matches(">=1.0.0 <2.0.0", "1.5.0"));
    assert_false(cfbp_version_line_matches("1.5.0", "1.5.0 "));
}

/* --- checking constraints --- */

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

/* Accepted: whatever blang or Masterminds can read, so FindMatchingVersion can match. */
static void accepts_what_either_library_reads(void **state)
{
    (void)state;
    const char *valid[] = {"1.2.3",
                           "1.2.x",
                           "x",
                           "*",
                           "1.x",
                           ">=1.2.0 <2.0.0",
                           ">1.2.0 <=1.2.4",
                           "1.2.x || 2.x",
                           "~1.2",
                           "~>1.2",
                           "^1.2.3",
                           "^0.2.3",
                           "1.2.*",
                           "1.2 - 1.4",
                           ">=1.2, <1.4",
                           "v1.2.3",
                           "1.2",
                           "1",
                           "!=1.2.3",
                           "1.2.3-rc.1",
                           ">= 1.2",
                           "==1.2.3",
                           "!1.2.3",
                           "~1.2.x",
                           "1.0.0 || || 2.0.0",
                           "1.2.3 <",
                           "x.|",
                           "1.2.3 || x || 2.0.0"};
    for (size_t i = 0; i < COUNT(valid); i++)
        check_constraint_ok(valid[i]);
}

static void refuses_what_neither_library_reads(void **state)
{
    (void)state;
    const char *garbage[] = {
        ">=1.2 <", "~>",       "1.2.3 ||",  "!!",     "",        "   ",  "||",
        ">=",      "1.2 -",    "1 || || 2", "<>1",    "^",       "a b",  ">=a",
        "~x.y",    "jdk8u392", "V1.2.3",    "latest", "1.2.3.4", "1.2,", ">=1.0.0, <2.0.0 !3"};
    for (size_t i = 0; i < COUNT(garbage); i++)
        check_constraint_refused(garbage[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vectors_give_libbuildpacks_answers),
        cmocka_unit_test(parses_strict_semver_as_blang_does),
        cmocka_unit_test(strict_refuses_what_blang_refuses),
        cmocka_unit_test(parses_lenient_versions_as_masterminds_does),
        cmocka_unit_test(orders_by_semver_precedence),
        cmocka_unit_test(compares_version_strings_for_listings),
        cmocka_unit_test(listing_order_is_total),
        cmocka_unit_test(knows_prereleases),
        cmocka_unit_test(bare_wildcards_skip_prereleases_and_caret_is_masterminds_v1),
        cmocka_unit_test(errors_are_libbuildpacks_with_a_detail),
        cmocka_unit_test(limits_keep_hostile_constraints_cheap),
        cmocka_unit_test(many_matches_sort_in_order),
        cmocka_unit_test(matches_single_versions),
        cmocka_unit_test(version_lines_match_as_the_installer_does),
        cmocka_unit_test(accepts_what_either_library_reads),
        cmocka_unit_test(refuses_what_neither_library_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
