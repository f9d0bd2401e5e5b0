/*
 * test_uri.c - schemes, credential redaction, file names and file:// paths.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/strbuf.h"
#include "cfbp/uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void knows_the_scheme(void **state)
{
    (void)state;
    assert_int_equal(cfbp_uri_scheme_of("http://example.com/x"), CFBP_URI_HTTP);
    assert_int_equal(cfbp_uri_scheme_of("HTTP://example.com/x"), CFBP_URI_HTTP);
    assert_int_equal(cfbp_uri_scheme_of("https://example.com/x"), CFBP_URI_HTTPS);
    assert_int_equal(cfbp_uri_scheme_of("HttpS://example.com/x"), CFBP_URI_HTTPS);
    assert_int_equal(cfbp_uri_scheme_of("file:///tmp/x"), CFBP_URI_FILE);
    assert_int_equal(cfbp_uri_scheme_of("ftp://example.com/x"), CFBP_URI_OTHER);
    assert_int_equal(cfbp_uri_scheme_of("https:/example.com"), CFBP_URI_OTHER);
    assert_int_equal(cfbp_uri_scheme_of("file:/tmp/x"), CFBP_URI_OTHER);
    assert_int_equal(cfbp_uri_scheme_of("/tmp/x"), CFBP_URI_OTHER);
    assert_int_equal(cfbp_uri_scheme_of(""), CFBP_URI_OTHER);
}

static void check_redact(const char *uri, const char *expected)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&out, "old");
    cfbp_uri_redact(&out, uri);
    bool same = strcmp(out.buf, expected) == 0;
    if (!same)
        fprintf(stderr, "redact(\"%s\") = \"%s\", expected \"%s\"\n", uri, out.buf, expected);
    cfbp_strbuf_release(&out);
    assert_true(same);
}

static void redacts_user_and_password(void **state)
{
    (void)state;
    check_redact("https://user:pass@example.com/dep.tgz",
                 "https://-redacted-:-redacted-@example.com/dep.tgz");
    check_redact("http://user:pass@example.com:8080/a/b?c=d#e",
                 "http://-redacted-:-redacted-@example.com:8080/a/b?c=d#e");
    check_redact("https://user:pass@example.com", "https://-redacted-:-redacted-@example.com");
    /* An unescaped '@' in the password: the last '@' of the authority ends the user info. */
    check_redact("https://user:p@ss@example.com/x", "https://-redacted-:-redacted-@example.com/x");
    check_redact("https://:secret@example.com/x", "https://-redacted-:-redacted-@example.com/x");
}

static void leaves_uris_without_credentials_alone(void **state)
{
    (void)state;
    check_redact("https://example.com/dep.tgz", "https://example.com/dep.tgz");
    check_redact("https://example.com/user@host/dep.tgz", "https://example.com/user@host/dep.tgz");
    check_redact("https://example.com?to=me@example.org", "https://example.com?to=me@example.org");
    check_redact("https://example.com#me@x", "https://example.com#me@x");
    check_redact("https://example.com/a:b@c", "https://example.com/a:b@c");
    check_redact("file:///tmp/a@b.tgz", "file:///tmp/a@b.tgz");
    check_redact("not a uri user:pass@host", "not a uri user:pass@host");
    check_redact("", "");
}

static void redacts_a_token_only_user_as_libbuildpack_does(void **state)
{
    (void)state;
    /*
     * libbuildpack's filterURI always sets url.UserPassword("-redacted-", "-redacted-"),
     * so a user without a password also shows as "-redacted-:-redacted-@" in the log.
     */
    check_redact("https://ghp_token@example.com/dep.tgz",
                 "https://-redacted-:-redacted-@example.com/dep.tgz");
}

static void redacted_output_never_holds_the_secret(void **state)
{
    (void)state;
    const char *uris[] = {
        "https://SECRET@example.com/x",
        "https://u:SECRET@example.com/x",
        "https://SECRET:SECRET@example.com/x?SECRET=1",
        "https://u:SECRET@example.com?x",
        "https://u:SECRET@example.com#x",
    };
    for (size_t i = 0; i < sizeof(uris) / sizeof(*uris); i++) {
        struct cfbp_strbuf out = CFBP_STRBUF_INIT;
        cfbp_uri_redact(&out, uris[i]);
        const char *query = strchr(out.buf, '?');
        size_t authority_length = query ? (size_t)(query - out.buf) : out.len;
        char *authority = strndup(out.buf, authority_length);
        if (strstr(authority, "SECRET"))
            fail_msg("redact(\"%s\") = \"%s\" still shows the secret", uris[i], out.buf);
        free(authority);
        cfbp_strbuf_release(&out);
    }
}

static void check_file_name(const char *uri, const char *expected)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    const char *result = cfbp_uri_file_name(&out, uri);
    if (strcmp(result, expected) != 0)
        fail_msg("file_name(\"%s\") = \"%s\", expected \"%s\"", uri, result, expected);
    assert_ptr_equal(result, out.buf);
    cfbp_strbuf_release(&out);
}

static void file_name_is_the_last_path_segment(void **state)
{
    (void)state;
    check_file_name("https://example.com/deps/thing-1.2.3.tgz", "thing-1.2.3.tgz");
    check_file_name("https://example.com/deps/thing.tgz?token=abc", "thing.tgz");
    check_file_name("https://example.com/deps/thing.tgz#section", "thing.tgz");
    check_file_name("https://example.com/deps/thing.tgz?a=b/c.zip#d/e", "thing.tgz");
    check_file_name("https://user:pass@example.com/x.zip", "x.zip");
    check_file_name("file:///tmp/x/dep-1.2.3.txt", "dep-1.2.3.txt");
    check_file_name("thing.tgz", "thing.tgz");
}

static void file_name_falls_back_to_download(void **state)
{
    (void)state;
    check_file_name("https://example.com", "download");
    check_file_name("https://example.com/", "download");
    check_file_name("https://example.com?x=1", "download");
    check_file_name("https://example.com#frag", "download");
    check_file_name("https://user:pass@example.com", "download");
    check_file_name("https://example.com/dir/", "download");
    check_file_name("https://example.com/.", "download");
    check_file_name("https://example.com/..", "download");
    check_file_name("https://example.com/a/..?x", "download");
    check_file_name("", "download");
}

static void check_file_path(const char *uri, const char *expected)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_uri_file_path(&out, uri, &err) != 0)
        fail_msg("file_path(\"%s\") failed: %s", uri, err.message);
    if (strcmp(out.buf, expected) != 0)
        fail_msg("file_path(\"%s\") = \"%s\", expected \"%s\"", uri, out.buf, expected);
    cfbp_strbuf_release(&out);
}

static void file_path_decodes_local_file_uris(void **state)
{
    (void)state;
    check_file_path("file:///tmp/x/dep.tgz", "/tmp/x/dep.tgz");
    check_file_path("file:///a%20b", "/a b");
    check_file_path("file:///a%2fb%2Fc", "/a/b/c");
    check_file_path("file:///%41%42", "/AB");
    check_file_path("file://localhost/x", "/x");
    check_file_path("file://LOCALHOST/x", "/x");
    check_file_path("FILE:///x", "/x");
    check_file_path("file:///", "/");
    check_file_path("file:///x.tgz?query#frag", "/x.tgz");
    check_file_path("file:///caf%C3%A9", "/caf\xc3\xa9");
}

static void check_file_path_refused(const char *uri, const char *expected_message)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_uri_file_path(&out, uri, &err) != -1)
        fail_msg("file_path(\"%s\") was accepted as \"%s\"", uri, out.buf);
    assert_int_equal(err.kind, CFBP_ERROR_INVALID);
    if (strcmp(err.message, expected_message) != 0)
        fail_msg("file_path(\"%s\") error \"%s\", expected \"%s\"", uri, err.message,
                 expected_message);
    cfbp_error_clear(&err);
    cfbp_strbuf_release(&out);
}

static void file_path_refuses_other_hosts_and_bad_escapes(void **state)
{
    (void)state;
    check_file_path_refused(
        "file://otherhost/x",
        "'file://otherhost/x' is not a local file URI; write it as file:///absolute/path");
    check_file_path_refused("file://localhost.example.com/x",
                            "'file://localhost.example.com/x' is not a local file URI; write it as "
                            "file:///absolute/path");
    check_file_path_refused("file://",
                            "'file://' is not a local file URI; write it as file:///absolute/path");
    check_file_path_refused("https://example.com/x",
                            "'https://example.com/x' is not a file:// URI");
    check_file_path_refused("/tmp/x", "'/tmp/x' is not a file:// URI");
    check_file_path_refused("file:///a%zzb",
                            "'file:///a%zzb' has a bad percent escape in its path");
    check_file_path_refused("file:///a%2", "'file:///a%2' has a bad percent escape in its path");
    check_file_path_refused("file:///a%", "'file:///a%' has a bad percent escape in its path");
    check_file_path_refused("file:///a%g0", "'file:///a%g0' has a bad percent escape in its path");
    /* A NUL byte would silently cut the path short. */
    check_file_path_refused("file:///a%00b",
                            "'file:///a%00b' has a bad percent escape in its path");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(knows_the_scheme),
        cmocka_unit_test(redacts_user_and_password),
        cmocka_unit_test(leaves_uris_without_credentials_alone),
        cmocka_unit_test(redacts_a_token_only_user_as_libbuildpack_does),
        cmocka_unit_test(redacted_output_never_holds_the_secret),
        cmocka_unit_test(file_name_is_the_last_path_segment),
        cmocka_unit_test(file_name_falls_back_to_download),
        cmocka_unit_test(file_path_decodes_local_file_uris),
        cmocka_unit_test(file_path_refuses_other_hosts_and_bad_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
