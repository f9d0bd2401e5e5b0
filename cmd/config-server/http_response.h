/*
 * http_response.h - writing responses with the bytes Go's net/http sends.
 *
 * Apps were written against the Go sidecar, so the order of headers matters
 * as much as their values: Go writes the headers a handler set (sorted by
 * name), then Date and Content-Length, then a sniffed Content-Type, then any
 * Connection header it decided on. A handler here fills a struct
 * http_response; http_response_write() lays it out that way.
 *
 * Requests refused before any handler runs get Go's terse error form
 * instead: no Date, no Content-Length, "Connection: close", and the status
 * as the body.
 */
#ifndef CONFIG_SERVER_HTTP_RESPONSE_H
#define CONFIG_SERVER_HTTP_RESPONSE_H

#include "cfbp/strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct http_request;

/* "Mon, 02 Jan 2006 15:04:05 GMT" plus its NUL: the HTTP date is fixed-width. */
#define HTTP_DATE_SIZE 30

struct http_response {
    int status;
    const char *content_type; /* set by the handler, as http.Error and http.Redirect do */
    const char *sniffed_type; /* what Go's content sniffing adds when the handler set none */
    bool nosniff;             /* X-Content-Type-Options: nosniff */
    struct cfbp_strbuf location;
    const char *body; /* borrowed, or pointing into body_storage */
    size_t body_length;
    struct cfbp_strbuf body_storage;
};

void http_response_init(struct http_response *response);
void http_response_release(struct http_response *response);

/* Go's http.StatusText for the statuses this server sends. */
const char *http_response_status_text(int status);

/* Formats when (UTC) as an HTTP date, as Go's Date header does. */
void http_response_format_date(time_t when, char date[HTTP_DATE_SIZE]);

/*
 * Appends the response to request to out. close_after says the connection
 * ends after it, which adds "Connection: close" for HTTP/1.1; an HTTP/1.0
 * request that asked for keep-alive gets "Connection: keep-alive".
 */
void http_response_write(struct cfbp_strbuf *out, const struct http_response *response,
                         const struct http_request *request, const char *date, bool close_after);

/* Appends Go's response to a request it could not read: status, then detail if any. */
void http_response_write_error(struct cfbp_strbuf *out, int status, const char *detail);

#endif
