/*
 * fuzz_http_request.c - fuzz target for the request reader, routing and responses.
 *
 * Input is a byte stream as a client would send it on one connection. It is
 * run through the same steps the server takes for each request (read, route,
 * write the response, or write the error and stop) twice: fed whole, and fed
 * one byte at a time. Besides crashes and sanitizer reports, the target
 * aborts when the two runs answer differently, because a server's answers
 * must not depend on how TCP happened to split the stream, and when a
 * cleaned path is not clean.
 *
 * Built with libFuzzer (fuzz_http_request_libfuzzer) or with fuzz_driver.c.
 */
#include "http_request.h"
#include "http_response.h"
#include "routes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void handle(struct http_request_reader *reader, enum http_request_event event,
                   struct cfbp_strbuf *out, bool *stopped)
{
    static const char config[] = "{\"k\":\"v\"}\n";
    static const struct routes routes = {config, sizeof(config) - 1, NULL};
    if (event == HTTP_REQUEST_CONTINUE) {
        cfbp_strbuf_append_string(out, "HTTP/1.1 100 Continue\r\n\r\n");
    } else if (event == HTTP_REQUEST_READY) {
        struct http_response response;
        http_response_init(&response);
        routes_answer(&routes, &reader->request, &response);
        http_response_write(out, &response, &reader->request, "Mon, 02 Jan 2006 15:04:05 GMT",
                            !reader->request.keep_alive);
        http_response_release(&response);
        *stopped = !reader->request.keep_alive;
    } else if (event == HTTP_REQUEST_FAILED) {
        http_response_write_error(out, reader->error_status, reader->error_detail);
        *stopped = true;
    }
}

/* Answers the stream fed in pieces of at most piece bytes. */
static void answer_stream(const char *data, size_t size, size_t piece, struct cfbp_strbuf *out)
{
    struct http_request_reader reader;
    http_request_reader_init(&reader);
    bool stopped = false;
    for (size_t at = 0; at < size && !stopped;) {
        size_t end = size - at < piece ? size : at + piece;
        while (at < end && !stopped) {
            size_t consumed;
            enum http_request_event event =
                http_request_reader_feed(&reader, data + at, end - at, &consumed);
            at += consumed;
            handle(&reader, event, out, &stopped);
        }
    }
    http_request_reader_release(&reader);
}

static void check_clean_path(const char *data, size_t size)
{
    struct cfbp_strbuf clean = CFBP_STRBUF_INIT, again = CFBP_STRBUF_INIT;
    routes_clean_path(&clean, data, size);
    if (clean.len == 0 || clean.buf[0] != '/' || strstr(clean.buf, "//") ||
        strstr(clean.buf, "/./") || strstr(clean.buf, "/../"))
        abort();
    routes_clean_path(&again, clean.buf, clean.len);
    if (again.len != clean.len || memcmp(again.buf, clean.buf, clean.len) != 0)
        abort(); /* cleaning must be idempotent, or redirects could loop */
    cfbp_strbuf_release(&clean);
    cfbp_strbuf_release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct cfbp_strbuf whole = CFBP_STRBUF_INIT, bytewise = CFBP_STRBUF_INIT;
    answer_stream(text, size, size ? size : 1, &whole);
    answer_stream(text, size, 1, &bytewise);
    if (whole.len != bytewise.len || memcmp(whole.buf, bytewise.buf, whole.len) != 0)
        abort();
    if (whole.len && strncmp(whole.buf, "HTTP/1.", 7) != 0)
        abort();
    check_clean_path(text, size);
    cfbp_strbuf_release(&whole);
    cfbp_strbuf_release(&bytewise);
    return 0;
}
