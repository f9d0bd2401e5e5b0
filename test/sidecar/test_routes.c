/*
 * test_routes.c - the pure parts of the sidecar: Go's path cleaning, request
 * reading in arbitrary pieces, and the routed answers, without sockets.
 */
#include "http_request.h"
#include "http_response.h"
#include "routes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void assert_clean(const char *path, const char *expected)
{
    struct cfbp_strbuf clean = CFBP_STRBUF_INIT;
    routes_clean_path(&clean, path, strlen(path));
    assert_string_equal(clean.buf, expected);
    cfbp_strbuf_release(&clean);
}

/* Cases follow the documented behaviour of Go's path.Clean and ServeMux's cleanPath. */
static void test_clean_path_matches_go(void **state)
{
    (void)state;
    assert_clean("", "/");
    assert_clean("/", "/");
    assert_clean("//", "/");
    assert_clean("a/b", "/a/b");
    assert_clean("/a/b/c/", "/a/b/c/");
    assert_clean("/a//b", "/a/b");
    assert_clean("/a/./b", "/a/b");
    assert_clean("/a/../b", "/b");
    assert_clean("/../a", "/a");
    assert_clean("/../../a/../..", "/");
    assert_clean("/a/b/..", "/a");
    assert_clean("/a/b/../", "/a/");
    assert_clean("/a/..", "/");
    assert_clean("/a/../", "/");
    assert_clean("/config/.", "/config");
    assert_clean("/config/./", "/config/");
    assert_clean("/...", "/...");
    assert_clean("/.a/..b/", "/.a/..b/");
    assert_clean("/abc/def/../../..", "/");
}

/* Feeds text one byte at a time and returns the last event. */
static enum http_request_event feed_bytewise(struct http_request_reader *reader, const char *text)
{
    enum http_request_event event = HTTP_REQUEST_NEED_MORE;
    size_t length = strlen(text);
    for (size_t at = 0; at < length;) {
        size_t consumed;
        event = http_request_reader_feed(reader, text + at, 1, &consumed);
        at += consumed;
        if (event == HTTP_REQUEST_READY || event == HTTP_REQUEST_FAILED)
            break;
    }
    return event;
}

static void test_reader_takes_requests_in_pieces(void **state)
{
    (void)state;
    struct http_request_reader reader;
    http_request_reader_init(&reader);
    assert_int_equal(feed_bytewise(&reader, "GET /con%66ig/?q=1 HTTP/1.1\r\nHo"
                                            "st:\r\nX: y\r\n\r\n"),
                     HTTP_REQUEST_READY);
    assert_string_equal(reader.request.target.buf, "/con%66ig/?q=1");
    assert_string_equal(reader.request.path.buf, "/config/");
    assert_string_equal(reader.request.query.buf, "q=1");
    assert_true(reader.request.keep_alive);
    assert_int_equal(reader.request.method, HTTP_GET);
    /* The same reader goes on with the next request on the connection. */
    assert_int_equal(feed_bytewise(&reader, "HEAD http://Example.com:80/a?b HTTP/1.0\r\n\r\n"),
                     HTTP_REQUEST_READY);
    assert_string_equal(reader.request.origin.buf, "http://Example.com:80");
    assert_string_equal(reader.request.path.buf, "/a");
    assert_false(reader.request.keep_alive);
    http_request_reader_release(&reader);
}

static void assert_reader_fails(const char *text, int status, const char *detail)
{
    struct http_request_reader reader;
    http_request_reader_init(&reader);
    size_t consumed;
    assert_int_equal(http_request_reader_feed(&reader, text, strlen(text), &consumed),
                     HTTP_REQUEST_FAILED);
    assert_int_equal(reader.error_status, status);
    if (detail)
        assert_string_equal(reader.error_detail, detail);
    else
        assert_null(reader.error_detail);
    /* A failed reader stays failed. */
    assert_int_equal(http_request_reader_feed(&reader, "GET / HTTP/1.1\r\n\r\n", 18, &consumed),
                     HTTP_REQUEST_FAILED);
    http_request_reader_release(&reader);
}

static void test_reader_refuses_what_go_refuses(void **state)
{
    (void)state;
    assert_reader_fails("GET / HTTP/1.1\r\n\r\n", 400, "missing required Host header");
    assert_reader_fails("GET / HTTP/1.1\r\nHost: a\r\nHOST: b\r\n\r\n", 400,
                        "too many Host headers");
    assert_reader_fails("GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400, NULL);
    assert_reader_fails("GET mailto:x HTTP/1.1\r\nHost: a\r\n\r\n", 400, NULL);
    assert_reader_fails("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "unsupported protocol version");
    assert_reader_fails("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n", 413, NULL);
    assert_reader_fails("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2"
                        "\r\n\r\n",
                        400, NULL);
}

/* Routes a request for target with method and returns the response bytes. */
static void route(enum http_method method, const char *target, struct cfbp_strbuf *out)
{
    static const char config[] = "{}\n";
    struct routes routes = {config, sizeof(config) - 1, NULL};
    struct http_request request = {
        .method = method, .version_major = 1, .version_minor = 1, .keep_alive = true};
    cfbp_strbuf_init(&request.target, 0);
    cfbp_strbuf_init(&request.origin, 0);
    cfbp_strbuf_init(&request.path, 0);
    cfbp_strbuf_init(&request.query, 0);
    cfbp_strbuf_set(&request.target, target);
    assert_true(http_request_parse_target(&request, false));
    struct http_response response;
    http_response_init(&response);
    routes_answer(&routes, &request, &response);
    cfbp_strbuf_reset(out);
    http_response_write(out, &response, &request, "Thu, 01 Jan 1970 00:00:00 GMT", false);
    http_response_release(&response);
    cfbp_strbuf_release(&request.target);
    cfbp_strbuf_release(&request.origin);
    cfbp_strbuf_release(&request.path);
    cfbp_strbuf_release(&request.query);
}

static void test_redirect_targets_are_escaped_like_go(void **state)
{
    (void)state;
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    route(HTTP_GET, "/a//b%20c%3Fd%C3%A9!?x=\xc3\xa9", &out);
    assert_string_equal(out.buf, "HTTP/1.1 301 Moved Permanently\r\n"
                                 "Content-Type: text/html; charset=utf-8\r\n"
                                 "Location: /a/b%20c%3Fd%C3%A9%21?x=%c3%a9\r\n"
                                 "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
                                 "Content-Length: 61\r\n\r\n"
                                 "<a href=\"/a/b%20c%3Fd%C3%A9%21?x=\xc3\xa9\">Moved Permanently"
                                 "</a>.\n\n");
    route(HTTP_GET, "http://host/config/../config?", &out);
    assert_true(cfbp_string_starts_with(out.buf, "HTTP/1.1 301 Moved Permanently\r\n"
                                                 "Content-Type: text/html; charset=utf-8\r\n"
                                                 "Location: /config/\r\n"));
    route(HTTP_GET, "http://host//x?", &out);
    assert_true(cfbp_string_starts_with(out.buf, "HTTP/1.1 301 Moved Permanently\r\n"
                                                 "Content-Type: text/html; charset=utf-8\r\n"
                                                 "Location: http://host/x?\r\n"));
    route(HTTP_OPTIONS, "/config/%00", &out);
    assert_string_equal(out.buf, "HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
                                 "Content-Length: 3\r\n"
                                 "Content-Type: text/plain; charset=utf-8\r\n\r\n{}\n");
    cfbp_strbuf_release(&out);
}

static void test_date_format(void **state)
{
    (void)state;
    char date[HTTP_DATE_SIZE];
    http_response_format_date(1136214245, date); /* Go's reference time */
    assert_string_equal(date, "Mon, 02 Jan 2006 15:04:05 GMT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_path_matches_go),
        cmocka_unit_test(test_reader_takes_requests_in_pieces),
        cmocka_unit_test(test_reader_refuses_what_go_refuses),
        cmocka_unit_test(test_redirect_targets_are_escaped_like_go),
        cmocka_unit_test(test_date_format),
    };
    return cmocka_run_group_tests_name("config-server routes", tests, NULL, NULL);
}
