/*
 * test_dependency_mirror.c - BP_DEPENDENCY_MIRROR and BP_DEPENDENCY_MIRROR_<HOST>
 * rewriting dependency URIs (dependency_mirror.h), Paketo's rules.
 *
 * Data-driven: each case is a mirror, a dependency URI and the URI to
 * download from, or the words the error must hold.
 */
#include "support.h"

#include "cfbp/dependency_mirror.h"
#include "cfbp/error.h"
#include "cfbp/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rewrite {
    const char *mirror;
    const char *uri;
    const char *expected;
};

static const struct rewrite rewrites[] = {
    /* Paketo's own examples (packit postal/internal/dependency_mirror_test.go). */
    {"https://mirror.example.org/{originalHost}", "https://some-uri.com/dep.tgz",
     "https://mirror.example.org/some-uri.com/dep.tgz"},
    {"https://mirror.example.org", "https://some-uri.com/dep.tgz",
     "https://mirror.example.org/dep.tgz"},
    {"https://mirror.example.org/public-github", "https://github.com/org/repo/dep.tgz",
     "https://mirror.example.org/public-github/org/repo/dep.tgz"},
    /* A trailing slash does not double. */
    {"https://mirror.example.org/", "https://github.com/a/b.tgz",
     "https://mirror.example.org/a/b.tgz"},
    {"https://mirror.example.org/{originalHost}/", "https://github.com/a/b.tgz",
     "https://mirror.example.org/github.com/a/b.tgz"},
    /* The original's port is dropped with its host; the mirror's port is kept. */
    {"http://10.0.0.5:8080/deps/{originalHost}", "https://dl.example.com:8443/x/y-1.2.3.tar.xz",
     "http://10.0.0.5:8080/deps/dl.example.com/x/y-1.2.3.tar.xz"},
    /* The original's user information goes with its host; the mirror's stays. */
    {"https://reader:s3cret@mirror.example.org/{originalHost}",
     "https://user:token@github.com/org/dep.tgz",
     "https://reader:s3cret@mirror.example.org/github.com/org/dep.tgz"},
    /* The query is kept, the fragment is not (nobody sends it). */
    {"https://mirror.example.org/{originalHost}",
     "https://api.example.com/download?version=1.2.3&os=linux#section",
     "https://mirror.example.org/api.example.com/download?version=1.2.3&os=linux"},
    /* Percent-escapes in the path survive as they are. */
    {"https://mirror.example.org/{originalHost}", "https://example.com/a%20b/c%2Bd.tgz",
     "https://mirror.example.org/example.com/a%20b/c%2Bd.tgz"},
    /* IPv6 both ways: {originalHost} is the address without brackets. */
    {"http://[::1]:9000/m/{originalHost}", "https://[2001:db8::7]:443/pkg/x.tgz",
     "http://[::1]:9000/m/2001:db8::7/pkg/x.tgz"},
    /* The host is lower-cased, as DNS does not care and a mirror's directories do. */
    {"https://mirror.example.org/{originalHost}", "https://GitHub.COM/Org/Dep.tgz",
     "https://mirror.example.org/github.com/Org/Dep.tgz"},
    /* The mirror's scheme and host case are curl's business: normalised. */
    {"HTTPS://mirror.example.org/base", "http://example.com/x.tgz",
     "https://mirror.example.org/base/x.tgz"},
    /* {originalHost} anywhere in the path, every time. */
    {"https://mirror.example.org/by-host/{originalHost}/files", "https://example.com/x.tgz",
     "https://mirror.example.org/by-host/example.com/files/x.tgz"},
    /* A URI without a path. */
    {"https://mirror.example.org/{originalHost}", "https://example.com",
     "https://mirror.example.org/example.com/"},
    /* A directory on disk (a mounted volume): no query there. */
    {"file:///var/vcap/mirror/{originalHost}", "https://github.com/org/dep.tgz?raw=1",
     "file:///var/vcap/mirror/github.com/org/dep.tgz"},
    {"file://localhost/srv/mirror", "https://github.com/org/dep.tgz",
     "file:///srv/mirror/org/dep.tgz"},
};

struct refusal {
    const char *mirror;
    const char *words; /* what the message must hold after "BP_DEPENDENCY_MIRROR=<value> ..." */
};

static const struct refusal refusals[] = {
    {"ftp://mirror.example.org/{originalHost}", "its scheme is ftp"},
    {"mirror.example.org/{originalHost}", "does not start with a scheme"},
    {"//mirror.example.org/x", "does not start with a scheme"},
    {"https:///x", "it has no host"},
    {"https:mirror.example.org", "it has no host"},
    {"https://", "is not a usable dependency mirror"},
    {"https://exa mple.org/x", "is not a usable dependency mirror"},
    {"https://mirror.example.org/a b", "is not a usable dependency mirror"},
    {"https://mirror.example.org:99999/x", "is not a usable dependency mirror"},
    {"https://mirror.example.org/x?token=1", "it has a query or fragment"},
    {"https://mirror.example.org/x#top", "it has a query or fragment"},
    {"file:/srv/mirror", "a file URL starts with file:///"},
    {"{originalHost}", "does not start with a scheme"},
    {"https://{originalHost}.mirror.example.org/", "is not a usable dependency mirror"},
};

static void rewrites_every_case(void **state)
{
    (void)state;
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    int failures = 0;
    for (size_t i = 0; i < sizeof(rewrites) / sizeof(*rewrites); i++) {
        const struct rewrite *c = &rewrites[i];
        if (cfbp_dependency_mirror_apply(c->mirror, "BP_DEPENDENCY_MIRROR", c->uri, &out, &err) <
            0) {
            fprintf(stderr, "%s + %s: %s\n", c->mirror, c->uri, err.message);
            cfbp_error_clear(&err);
            failures++;
        } else if (strcmp(out.buf, c->expected) != 0) {
            fprintf(stderr, "%s + %s:\n  expected %s\n  got      %s\n", c->mirror, c->uri,
                    c->expected, out.buf);
            failures++;
        }
    }
    cfbp_strbuf_release(&out);
    assert_int_equal(failures, 0);
}

static void refuses_mirrors_it_cannot_use(void **state)
{
    (void)state;
    struct cfbp_strbuf out = CFBP_STRBUF_INIT, prefix = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    int failures = 0;
    for (size_t i = 0; i < sizeof(refusals) / sizeof(*refusals); i++) {
        const struct refusal *c = &refusals[i];
        cfbp_strbuf_set(&prefix, "BP_DEPENDENCY_MIRROR_GITHUB_COM=");
        cfbp_strbuf_append_string(&prefix, c->mirror);
        int result = cfbp_dependency_mirror_apply(c->mirror, "BP_DEPENDENCY_MIRROR_GITHUB_COM",
                                                  "https://github.com/a/b.tgz", &out, &err);
        if (result == 0) {
            fprintf(stderr, "%s was taken: %s\n", c->mirror, out.buf);
            failures++;
        } else if (err.kind != CFBP_ERROR_USAGE || !strstr(err.message, c->words) ||
                   !cfbp_string_starts_with(err.message, prefix.buf) ||
                   !strstr(err.message, "such as https://mirror.example.org/{originalHost}")) {
            fprintf(stderr, "%s: kind %d, message: %s\n", c->mirror, err.kind, err.message);
            failures++;
        }
        cfbp_error_clear(&err);
    }
    cfbp_strbuf_release(&out);
    cfbp_strbuf_release(&prefix);
    assert_int_equal(failures, 0);
}

/* The mirror's password never reaches a message (uri.h's redaction). */
static void a_refused_mirror_is_shown_without_its_credentials(void **state)
{
    (void)state;
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_dependency_mirror_apply("ftp://reader:hunter2@mirror.example.org/x",
                                                  "BP_DEPENDENCY_MIRROR",
                                                  "https://github.com/a.tgz", &out, &err),
                     -1);
    assert_null(strstr(err.message, "hunter2"));
    assert_null(strstr(err.message, "reader"));
    assert_non_null(strstr(err.message, "BP_DEPENDENCY_MIRROR=ftp://-redacted-:-redacted-@mirror"
                                        ".example.org/x is not a usable dependency mirror: its "
                                        "scheme is ftp"));
    cfbp_error_clear(&err);
    cfbp_strbuf_release(&out);
}

static void an_original_without_a_host_cannot_be_mirrored(void **state)
{
    (void)state;
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_dependency_mirror_apply("https://mirror.example.org",
                                                  "BP_DEPENDENCY_MIRROR", "https://u:pw@/x.tgz",
                                                  &out, &err),
                     -1);
    assert_int_equal(err.kind, CFBP_ERROR_INVALID);
    assert_true(cfbp_string_starts_with(err.message, "cannot download https://-redacted-:-redacted-"
                                                     "@/x.tgz through the mirror of "
                                                     "BP_DEPENDENCY_MIRROR"));
    cfbp_error_clear(&err);
    cfbp_strbuf_release(&out);
}

static void host_variables_are_spelled_as_paketo_spells_them(void **state)
{
    (void)state;
    static const struct {
        const char *host;
        const char *variable; /* NULL: none can be spelled */
    } cases[] = {
        {"github.com", "BP_DEPENDENCY_MIRROR_GITHUB_COM"},
        {"dl-cdn.example.org", "BP_DEPENDENCY_MIRROR_DL__CDN_EXAMPLE_ORG"},
        {"testing.123-abc", "BP_DEPENDENCY_MIRROR_TESTING_123__ABC"},
        {"Example.COM", "BP_DEPENDENCY_MIRROR_EXAMPLE_COM"},
        {"10.0.0.1", "BP_DEPENDENCY_MIRROR_10_0_0_1"},
        {"2001:db8::1", NULL},
        {"under_score.com", NULL},
        {"", NULL},
    };
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        bool spelled = cfbp_dependency_mirror_host_variable(&out, cases[i].host);
        if (cases[i].variable) {
            assert_true(spelled);
            assert_string_equal(out.buf, cases[i].variable);
        } else {
            assert_false(spelled);
            assert_int_equal(out.len, 0);
        }
    }
    cfbp_strbuf_release(&out);
}

/* --- choosing the variable from the environment --- */

static const char *const variables[] = {
    "BP_DEPENDENCY_MIRROR",
    "BP_DEPENDENCY_MIRROR_GITHUB_COM",
    "BP_DEPENDENCY_MIRROR_DL__CDN_EXAMPLE_ORG",
    "BP_DEPENDENCY_MIRROR_EXAMPLE_COM",
};

static int clean_environment(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(variables) / sizeof(*variables); i++)
        unsetenv(variables[i]);
    return 0;
}

struct found {
    int result;
    char *uri;
    char *variable;
    char *message;
};

static struct found find(const char *uri)
{
    struct cfbp_strbuf mirrored = CFBP_STRBUF_INIT, variable = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    struct found found = {0};
    found.result = cfbp_dependency_mirror_find(uri, &mirrored, &variable, &err);
    found.uri = strdup(mirrored.buf);
    found.variable = strdup(variable.buf);
    found.message = err.message ? strdup(err.message) : NULL;
    cfbp_error_clear(&err);
    cfbp_strbuf_release(&mirrored);
    cfbp_strbuf_release(&variable);
    return found;
}

static void found_free(struct found *found)
{
    free(found->uri);
    free(found->variable);
    free(found->message);
}

static void assert_found(const char *uri, const char *expected_uri, const char *expected_variable)
{
    struct found found = find(uri);
    if (found.result != 1)
        fail_msg("%s: no mirror (%d, %s)", uri, found.result, found.message ? found.message : "");
    assert_string_equal(found.uri, expected_uri);
    assert_string_equal(found.variable, expected_variable);
    found_free(&found);
}

static void assert_not_mirrored(const char *uri)
{
    struct found found = find(uri);
    assert_int_equal(found.result, 0);
    assert_string_equal(found.uri, "");
    assert_string_equal(found.variable, "");
    found_free(&found);
}

static void nothing_is_mirrored_without_a_variable(void **state)
{
    (void)state;
    assert_not_mirrored("https://github.com/a.tgz");
    /* Set but empty (cf set-env X "") is unset. */
    setenv("BP_DEPENDENCY_MIRROR", "", 1);
    setenv("BP_DEPENDENCY_MIRROR_GITHUB_COM", "", 1);
    assert_not_mirrored("https://github.com/a.tgz");
}

static void the_host_specific_mirror_wins_over_the_general_one(void **state)
{
    (void)state;
    setenv("BP_DEPENDENCY_MIRROR", "https://mirror.example.org/{originalHost}", 1);
    setenv("BP_DEPENDENCY_MIRROR_GITHUB_COM", "https://mirror.example.org/public-github", 1);
    setenv("BP_DEPENDENCY_MIRROR_DL__CDN_EXAMPLE_ORG", "http://cdn-mirror.internal:8080", 1);
    assert_found("https://github.com/org/dep.tgz",
                 "https://mirror.example.org/public-github/org/dep.tgz",
                 "BP_DEPENDENCY_MIRROR_GITHUB_COM");
    assert_found("https://GITHUB.com:443/org/dep.tgz",
                 "https://mirror.example.org/public-github/org/dep.tgz",
                 "BP_DEPENDENCY_MIRROR_GITHUB_COM");
    assert_found("https://dl-cdn.example.org/x.tgz", "http://cdn-mirror.internal:8080/x.tgz",
                 "BP_DEPENDENCY_MIRROR_DL__CDN_EXAMPLE_ORG");
    /* Exact hosts only: Paketo would take these two for github.com (a substring). */
    assert_found("https://some-github.com-uri/dep.tgz",
                 "https://mirror.example.org/some-github.com-uri/dep.tgz", "BP_DEPENDENCY_MIRROR");
    assert_found("https://objects.github.com/dep.tgz",
                 "https://mirror.example.org/objects.github.com/dep.tgz", "BP_DEPENDENCY_MIRROR");
    assert_found("https://[2001:db8::7]/dep.tgz", "https://mirror.example.org/2001:db8::7/dep.tgz",
                 "BP_DEPENDENCY_MIRROR");
}

static void only_the_host_specific_mirror_is_set(void **state)
{
    (void)state;
    setenv("BP_DEPENDENCY_MIRROR_EXAMPLE_COM", "https://mirror.example.org/ex", 1);
    assert_found("http://example.com/a.tgz", "https://mirror.example.org/ex/a.tgz",
                 "BP_DEPENDENCY_MIRROR_EXAMPLE_COM");
    assert_not_mirrored("http://example.org/a.tgz");
    /* An empty host-specific one falls back to the general one. */
    setenv("BP_DEPENDENCY_MIRROR_EXAMPLE_COM", "", 1);
    setenv("BP_DEPENDENCY_MIRROR", "https://mirror.example.org", 1);
    assert_found("http://example.com/a.tgz", "https://mirror.example.org/a.tgz",
                 "BP_DEPENDENCY_MIRROR");
}

static void file_uris_are_read_where_they_are(void **state)
{
    (void)state;
    setenv("BP_DEPENDENCY_MIRROR", "https://mirror.example.org/{originalHost}", 1);
    assert_not_mirrored("file:///var/vcap/deps/a.tgz");
    assert_not_mirrored("/var/vcap/deps/a.tgz");
}

static void a_bad_mirror_fails_naming_the_variable(void **state)
{
    (void)state;
    setenv("BP_DEPENDENCY_MIRROR", "https://mirror.example.org/{originalHost}", 1);
    setenv("BP_DEPENDENCY_MIRROR_GITHUB_COM", "s3://bucket/deps", 1);
    struct found found = find("https://github.com/a.tgz");
    assert_int_equal(found.result, -1);
    assert_string_equal(found.uri, "");
    assert_string_equal(found.message,
                        "BP_DEPENDENCY_MIRROR_GITHUB_COM=s3://bucket/deps is not a usable "
                        "dependency mirror: its scheme is s3; set it to an http, https or file "
                        "URL such as https://mirror.example.org/{originalHost} (or unset it)");
    found_free(&found);
    /* Other hosts still go to the general mirror. */
    assert_found("https://example.com/a.tgz", "https://mirror.example.org/example.com/a.tgz",
                 "BP_DEPENDENCY_MIRROR");
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, clean_environment, clean_environment)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rewrites_every_case),
        cmocka_unit_test(refuses_mirrors_it_cannot_use),
        cmocka_unit_test(a_refused_mirror_is_shown_without_its_credentials),
        cmocka_unit_test(an_original_without_a_host_cannot_be_mirrored),
        cmocka_unit_test(host_variables_are_spelled_as_paketo_spells_them),
        TEST(nothing_is_mirrored_without_a_variable),
        TEST(the_host_specific_mirror_wins_over_the_general_one),
        TEST(only_the_host_specific_mirror_is_set),
        TEST(file_uris_are_read_where_they_are),
        TEST(a_bad_mirror_fails_naming_the_variable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
