/*
 * test_uri.c - schemes, credential redaction (a table of URI shapes), printable
 * text, file names and file:// paths.
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

/* What a URI shows as, and a piece of it that must not show. */
struct redaction {
    const char *uri;
    const char *shown;
    const char *secret; /* NULL when nothing in it is secret */
};

/*
 * The user information is what comes before the last '@' after the scheme's
 * slashes that has no '/' before it, or a ':' before it: whatever a password
 * holds, '/' included, it goes whole.
 */
static const struct redaction redactions[] = {
    /* the usual shapes */
    {"https://user:pass@example.com/dep.tgz", "https://-redacted-:-redacted-@example.com/dep.tgz",
     "pass"},
    {"http://user:pass@example.com:8080/a/b?c=d#e",
     "http://-redacted-:-redacted-@example.com:8080/a/b?c=d#e", "pass"},
    {"https://user:pass@example.com", "https://-redacted-:-redacted-@example.com", "pass"},
    {"https://:secret@example.com/x", "https://-redacted-:-redacted-@example.com/x", "secret"},
    /* libbuildpack's filterURI sets both parts even for a token-only user */
    {"https://ghp_token@example.com/dep.tgz", "https://-redacted-:-redacted-@example.com/dep.tgz",
     "ghp_token"},
    {"https://user:@example.com/x", "https://-redacted-:-redacted-@example.com/x", "user"},
    /* unescaped delimiters in the password: the last '@' ends it */
    {"https://u:p@ss@example.com/x", "https://-redacted-:-redacted-@example.com/x", "ss"},
    {"http://user:s3cr3t?PW@host/x", "http://-redacted-:-redacted-@host/x", "s3cr3t"},
    {"http://user:s3cr3t?PW@host/x", "http://-redacted-:-redacted-@host/x", "PW"},
    {"https://u:s3?cr#et@host/x", "https://-redacted-:-redacted-@host/x", "cr"},
    {"https://u:s3?cr#et@host/x", "https://-redacted-:-redacted-@host/x", "et"},
    {"https://u:a:b:c@host/x", "https://-redacted-:-redacted-@host/x", "a:b:c"},
    {"https://u:#@?@host/x", "https://-redacted-:-redacted-@host/x", "#@?"},
    {"https://u:s3cr3t?@host", "https://-redacted-:-redacted-@host", "s3cr3t"},
    {"https://u:s3cr3t#x@host?q=1", "https://-redacted-:-redacted-@host?q=1", "s3cr3t"},
    /* a '/' in the password: an '@' after a '/' still ends user information after a ':' */
    {"https://AKIAEXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY@host/dep.tgz",
     "https://-redacted-:-redacted-@host/dep.tgz", "wJalrXUtnFEMI"},
    {"https://AKIAEXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY@host/dep.tgz",
     "https://-redacted-:-redacted-@host/dep.tgz", "K7MDENG"},
    {"https://AKIAEXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY@host/dep.tgz",
     "https://-redacted-:-redacted-@host/dep.tgz", "bPxRfiCYEXAMPLEKEY"},
    {"https://AKIAEXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY@host/dep.tgz",
     "https://-redacted-:-redacted-@host/dep.tgz", "AKIAEXAMPLE"},
    {"http://deploy:gh/TOKEN123@host/", "http://-redacted-:-redacted-@host/", "TOKEN123"},
    {"http://deploy:gh/TOKEN123@host/", "http://-redacted-:-redacted-@host/", "deploy"},
    {"https://u:/@host/x", "https://-redacted-:-redacted-@host/x", NULL},
    {"https://u:a/b@c/d@host/x", "https://-redacted-:-redacted-@host/x", "a/b@c/d"},
    {"https://u:a/b?c#d@host:8443/x", "https://-redacted-:-redacted-@host:8443/x", "a/b?c#d"},
    /* percent-encoding stays as it is, hidden with the rest */
    {"https://u%40x:p%3Aw@host/x", "https://-redacted-:-redacted-@host/x", "p%3Aw"},
    {"https://u%40x:p%3Aw@host/x", "https://-redacted-:-redacted-@host/x", "u%40x"},
    /* however the scheme is spelt, however many slashes follow it */
    {"HTTPS://user:pass@HOST/x", "HTTPS://-redacted-:-redacted-@HOST/x", "pass"},
    {"http:/user:pass@host/x", "http:/-redacted-:-redacted-@host/x", "pass"},
    {"http:///user:pass@host/x", "http:///-redacted-:-redacted-@host/x", "pass"},
    {"http:user:pass@host/x", "http:-redacted-:-redacted-@host/x", "pass"},
    {"ftp://user:pass@host/x", "ftp://-redacted-:-redacted-@host/x", "pass"},
    /* no scheme: a leading "word:" may be a user name */
    {"user:pass@host/x", "-redacted-:-redacted-@host/x", "user"},
    {"not a uri user:pass@host", "-redacted-:-redacted-@host", "pass"},
    /* no scheme recognised (a leading space, a missing ':'): from the start, or after "//" */
    {" https://user:secret@host/x", "-redacted-:-redacted-@host/x", "secret"},
    {" https://user:secret@host/x", "-redacted-:-redacted-@host/x", "user"},
    {"https//user:secret@host/x", "-redacted-:-redacted-@host/x", "secret"},
    {"https//ghp_token@host/x", "https//-redacted-:-redacted-@host/x", "ghp_token"},
    {"\fhttp://deploy:gh/TOKEN123@host/", "-redacted-:-redacted-@host/", "TOKEN123"},
    {"\thttps://u:p/w@host/x", "-redacted-:-redacted-@host/x", "p/w"},
    {"//user:pass@host/x", "-redacted-:-redacted-@host/x", "pass"},
    {"//token@host/x", "//-redacted-:-redacted-@host/x", "token"},
    {"/user:pass@host/x", "-redacted-:-redacted-@host/x", "pass"},
    /* an '@' right after the host in a query or fragment, or anywhere after a ':' (a port's,
     * say), is hidden too: too much, never too little */
    {"https://example.com?to=me@example.org", "https://-redacted-:-redacted-@example.org", NULL},
    {"https://example.com#me@x", "https://-redacted-:-redacted-@x", NULL},
    {"https://host:8080/pkg@1.0.tgz", "https://-redacted-:-redacted-@1.0.tgz", NULL},
    {"https://example.com:8443/a@b", "https://-redacted-:-redacted-@b", NULL},
    {"https://example.com/a:b@c", "https://-redacted-:-redacted-@c", NULL},
    {"https://u:pw1@host/x?to=a:b@c", "https://-redacted-:-redacted-@c", "pw1"},
    {"mailto:me@example.org", "-redacted-:-redacted-@example.org", NULL},
    /* nothing to hide: an '@' after the first '/' is in the path, query or fragment */
    {"https://example.com/dep.tgz", "https://example.com/dep.tgz", NULL},
    {"https://example.com/user@host/dep.tgz", "https://example.com/user@host/dep.tgz", NULL},
    {"https://example.com/?to=me@example.org", "https://example.com/?to=me@example.org", NULL},
    {"https://example.com/x#me@x", "https://example.com/x#me@x", NULL},
    {"https://example.com/a/b@c", "https://example.com/a/b@c", NULL},
    {"file:///tmp/a@b.tgz", "file:///tmp/a@b.tgz", NULL},
    {"file:///tmp/dep:1.0@x.tgz", "file:///tmp/dep:1.0@x.tgz", NULL},
    {"file:///a@b/c", "file:///a@b/c", NULL},
    {"/tmp/a@b", "/tmp/a@b", NULL},
    {"mailto:me", "mailto:me", NULL},
    {"", "", NULL},
    /* what a terminal would act on never shows as sent */
    {"https://host/a\nb\x1b[31m\x7f\xc3\xa9", "https://host/a\\x0ab\\x1b[31m\\x7f\\xc3\\xa9", NULL},
    {"https://u:p\r\n@host/x", "https://-redacted-:-redacted-@host/x", NULL},
};

static void redacts_every_shape_of_user_information(void **state)
{
    (void)state;
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    for (size_t i = 0; i < sizeof(redactions) / sizeof(*redactions); i++) {
        const struct redaction *row = &redactions[i];
        cfbp_strbuf_set(&out, "old");
        cfbp_uri_redact(&out, row->uri);
        if (strcmp(out.buf, row->shown) != 0)
            fail_msg("redact(\"%s\") = \"%s\", expected \"%s\"", row->uri, out.buf, row->shown);
        if (row->secret && strstr(out.buf, row->secret))
            fail_msg("redact(\"%s\") = \"%s\" shows \"%s\"", row->uri, out.buf, row->secret);
    }
    cfbp_strbuf_release(&out);
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
        "https://u:SECRET?@example.com/x",
        "https://u:SEC#RET@example.com/x",
        "https://u:SECRET@@example.com/x",
        "https://u:SEC/RET@example.com/x",
        "https://u:SECRET/@example.com/x",
        "https://u:/SECRET@example.com/x",
        " https://u:SECRET@example.com/x",
        "https//u:SECRET@example.com/x",
        "https//SECRET@example.com/x",
    };
    for (size_t i = 0; i < sizeof(uris) / sizeof(*uris); i++) {
        struct cfbp_strbuf out = CFBP_STRBUF_INIT;
        cfbp_uri_redact(&out, uris[i]);
        const char *query = strchr(out.buf, '?');
        size_t authority_length = query ? (size_t)(query - out.buf) : out.len;
        char *authority = strndup(out.buf, authority_length);
        if (strstr(authority, "SECRET") || strstr(authority, "SEC") || strstr(authority, "RET"))
            fail_msg("redact(\"%s\") = \"%s\" still shows the secret", uris[i], out.buf);
        free(authority);
        cfbp_strbuf_release(&out);
    }
}

static void finds_the_user_information(void **state)
{
    (void)state;
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    assert_true(cfbp_uri_user_info(&out, "https://u:s3?cr#et@host/x"));
    assert_string_equal(out.buf, "u:s3?cr#et");
    assert_true(cfbp_uri_user_info(&out, "https://a@b@host"));
    assert_string_equal(out.buf, "a@b");
    assert_false(cfbp_uri_user_info(&out, "https://host/a@b"));
    assert_string_equal(out.buf, "");
    assert_true(cfbp_uri_user_info(&out, "https://KEY:a/b/c@host/x"));
    assert_string_equal(out.buf, "KEY:a/b/c");
    assert_true(cfbp_uri_user_info(&out, "puser:PSE?CRET@127.0.0.1:1"));
    assert_string_equal(out.buf, "puser:PSE?CRET");
    assert_false(cfbp_uri_user_info(&out, "file:///a:b@c"));
    cfbp_strbuf_release(&out);
}

static void check_printable(const char *text, size_t limit, const char *expected)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&out, ">");
    cfbp_uri_append_printable(&out, text, limit);
    if (strcmp(out.buf + 1, expected) != 0)
        fail_msg("printable(\"%s\", %zu) = \"%s\", expected \"%s\"", text, limit, out.buf + 1,
                 expected);
    cfbp_strbuf_release(&out);
}

static void makes_text_from_outside_printable(void **state)
{
    (void)state;
    check_printable("Service Unavailable", (size_t)-1, "Service Unavailable");
    check_printable("a\r\nb\tc\x1b[2J\x07\x7f", (size_t)-1, "a\\x0d\\x0ab\\x09c\\x1b[2J\\x07\\x7f");
    check_printable("\x9b\xff caf\xc3\xa9", (size_t)-1, "\\x9b\\xff caf\\xc3\\xa9");
    check_printable("0123456789", 4, "0123...");
    check_printable("0123", 4, "0123");
    check_printable("", 4, "");
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
    /* Credentials are not shown here either. */
    check_file_path_refused(
        "file://user:s3cr3t@host/x",
        "'file://-redacted-:-redacted-@host/x' is not a local file URI; write it "
        "as file:///absolute/path");
    /* A NUL byte would silently cut the path short. */
    check_file_path_refused("file:///a%00b",
                            "'file:///a%00b' has a bad percent escape in its path");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(knows_the_scheme),
        cmocka_unit_test(redacts_every_shape_of_user_information),
        cmocka_unit_test(redacted_output_never_holds_the_secret),
        cmocka_unit_test(finds_the_user_information),
        cmocka_unit_test(makes_text_from_outside_printable),
        cmocka_unit_test(file_name_is_the_last_path_segment),
        cmocka_unit_test(file_name_falls_back_to_download),
        cmocka_unit_test(file_path_decodes_local_file_uris),
        cmocka_unit_test(file_path_refuses_other_hosts_and_bad_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
