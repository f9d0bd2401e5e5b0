/*
 * http_response.c - laying out responses in Go's header order (see http_response.h).
 */
#include "http_response.h"

#include "http_request.h"

#include <stdio.h>

void http_response_init(struct http_response *response)
{
    response->status = 200;
    response->content_type = NULL;
    response->sniffed_type = NULL;
    response->nosniff = false;
    cfbp_strbuf_init(&response->location, 0);
    response->body = "";
    response->body_length = 0;
    cfbp_strbuf_init(&response->body_storage, 0);
}

void http_response_release(struct http_response *response)
{
    cfbp_strbuf_release(&response->location);
    cfbp_strbuf_release(&response->body_storage);
}

const char *http_response_status_text(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 301:
        return "Moved Permanently";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 413:
        return "Request Entity Too Large"; /* Go's wording, not RFC 9110's */
    case 431:
        return "Request Header Fields Too Large";
    case 505:
        return "HTTP Version Not Supported";
    }
    return "Unknown";
}

void http_response_format_date(time_t when, char date[HTTP_DATE_SIZE])
{
    /* Fixed English names: the Date header must not follow the C locale. */
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm utc;
    gmtime_r(&when, &utc);
    /* The result is checked so that unoptimised builds, which cannot see the ranges above,
     * do not warn of truncation; it never happens for a date gmtime_r gave. */
    int length =
        snprintf(date, HTTP_DATE_SIZE, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[utc.tm_wday % 7],
                 utc.tm_mday % 100, months[utc.tm_mon % 12], (utc.tm_year + 1900) % 10000,
                 utc.tm_hour % 100, utc.tm_min % 100, utc.tm_sec % 100);
    if (length < 0 || length >= HTTP_DATE_SIZE)
        date[0] = '\0';
}

static void write_header(struct cfbp_strbuf *out, const char *name, const char *value)
{
    cfbp_strbuf_append_format(out, "%s: %s\r\n", name, value);
}

void http_response_write(struct cfbp_strbuf *out, const struct http_response *response,
                         const struct http_request *request, const char *date, bool close_after)
{
    bool http11 = request->version_minor >= 1;
    bool head = request->method == HTTP_HEAD;
    cfbp_strbuf_append_format(out, "HTTP/1.%d %d %s\r\n", http11 ? 1 : 0, response->status,
                              http_response_status_text(response->status));
    /* The headers the handler set, sorted by name as Go's Header.Write sorts them. */
    if (response->content_type)
        write_header(out, "Content-Type", response->content_type);
    if (response->location.len)
        write_header(out, "Location", response->location.buf);
    if (response->nosniff)
        write_header(out, "X-Content-Type-Options", "nosniff");
    /* Then the ones Go adds itself, in its fixed order. */
    write_header(out, "Date", date);
    /* Go skips Content-Length only for a HEAD whose handler wrote nothing. */
    if (!head || response->body_length > 0)
        cfbp_strbuf_append_format(out, "Content-Length: %zu\r\n", response->body_length);
    if (!response->content_type && response->sniffed_type && response->body_length > 0)
        write_header(out, "Content-Type", response->sniffed_type);
    if (close_after && http11)
        write_header(out, "Connection", "close");
    else if (!close_after && !http11)
        write_header(out, "Connection", "keep-alive");
    cfbp_strbuf_append(out, "\r\n", 2);
    if (!head)
        cfbp_strbuf_append(out, response->body, response->body_length);
}

void http_response_write_error(struct cfbp_strbuf *out, int status, const char *detail)
{
    const char *text = http_response_status_text(status);
    const char *separator = detail ? ": " : "";
    detail = detail ? detail : "";
    cfbp_strbuf_append_format(out,
                              "HTTP/1.1 %d %s%s%s\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n"
                              "Connection: close\r\n"
                              "\r\n"
                              "%d %s%s%s",
                              status, text, separator, detail, status, text, separator, detail);
}
