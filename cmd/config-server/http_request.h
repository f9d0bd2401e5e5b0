/*
 * http_request.h - reading HTTP/1.x requests off a byte stream.
 *
 * A reader wraps one libhttp_parser instance per connection. Bytes are fed in
 * as they arrive, in pieces of any size; the reader stops after each complete
 * request so that the caller can answer requests strictly in the order they
 * were pipelined, and resumes with the bytes it did not consume.
 *
 * Besides the HTTP grammar (libhttp_parser's job) the reader applies the
 * rules Go's net/http server applies before a handler runs, so that the
 * sidecar refuses what the Go sidecar refused: HTTP/1.1 without Host, more
 * than one Host, a request-target Go cannot parse, a protocol other than
 * HTTP/1.x. It also bounds what one request may cost: the request line plus
 * headers, and the body, which is read and thrown away.
 */
#ifndef CONFIG_SERVER_HTTP_REQUEST_H
#define CONFIG_SERVER_HTTP_REQUEST_H

#include "cfbp/strbuf.h"

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>

/* The request line and headers together; more gets 431 like Go's limit. */
#define HTTP_REQUEST_MAX_HEAD_BYTES (16 * 1024)
/* A body is read and discarded up to this size; more gets 413. */
#define HTTP_REQUEST_MAX_BODY_BYTES (1024 * 1024)

struct http_request {
    enum http_method method;
    unsigned short version_major, version_minor;
    bool keep_alive;           /* the connection may carry another request */
    struct cfbp_strbuf target; /* the request-target exactly as sent */
    struct cfbp_strbuf origin; /* "scheme://authority" of an absolute-form target, else empty */
    struct cfbp_strbuf path;   /* the target's path, percent-decoded (may hold any byte) */
    struct cfbp_strbuf query;  /* the raw query, without its '?' */
    bool has_query;            /* the target had a '?', even with an empty query */
};

enum http_request_event {
    HTTP_REQUEST_NEED_MORE, /* every byte was consumed; no complete request yet */
    HTTP_REQUEST_READY,     /* a request is complete: answer it, then feed the rest */
    HTTP_REQUEST_CONTINUE,  /* headers asked for "100 Continue": send it, then feed the rest */
    HTTP_REQUEST_FAILED     /* the stream is unusable: answer with the error and close */
};

struct http_request_reader {
    http_parser parser;
    struct http_request request;
    struct cfbp_strbuf header_field, header_value;
    bool in_header_value;
    size_t head_bytes, body_bytes, host_count;
    bool expect_continue;
    bool in_progress; /* a request has begun but is not complete */
    enum http_request_event event;
    int error_status;         /* set with FAILED: the status to answer with */
    const char *error_detail; /* set with FAILED: Go's text after the status, or NULL */
};

void http_request_reader_init(struct http_request_reader *reader);
void http_request_reader_release(struct http_request_reader *reader);

/*
 * Feeds bytes to the reader and sets *consumed to how many it used. After
 * READY the request is in reader->request until the next call. After FAILED
 * every further call fails the same way.
 */
enum http_request_event http_request_reader_feed(struct http_request_reader *reader,
                                                 const char *data, size_t length, size_t *consumed);

/*
 * Splits a request-target the way Go's url.ParseRequestURI does and decodes
 * its path. Returns false for a target Go would refuse with 400.
 */
bool http_request_parse_target(struct http_request *request, bool is_connect);

#endif
