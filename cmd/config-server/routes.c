/*
 * routes.c - ServeMux-compatible routing for the one "/config/" handler.
 *
 * The order of the checks is ServeMux's: the path is cleaned first; a
 * missing trailing slash on a registered subtree redirects before anything
 * else; then an unclean path redirects to the clean one; only a clean path
 * reaches a handler. Redirect targets are escaped and their HTML bodies
 * written exactly as Go's url.URL.String and http.Redirect do.
 */
#include "routes.h"

#include "http_request.h"
#include "http_response.h"
#include "request_log.h"

#include <string.h>

#define CONFIG_PATH               "/config/"
#define CONFIG_PATH_WITHOUT_SLASH "/config"
#define TEXT_PLAIN                "text/plain; charset=utf-8"

/* Removes the last element of a cleaned rooted path, never going above root. */
static void drop_last_element(struct cfbp_strbuf *out)
{
    size_t length = out->len;
    if (length <= 1)
        return;
    length--;
    while (length > 1 && out->buf[length] != '/')
        length--;
    cfbp_strbuf_set_length(out, length);
}

/* Go's path.Clean for a rooted path (cleanPath always roots it first). */
static void clean_rooted(struct cfbp_strbuf *out, const char *path, size_t length)
{
    cfbp_strbuf_set(out, "/");
    size_t at = 0;
    while (at < length) {
        size_t end = at;
        while (end < length && path[end] != '/')
            end++;
        size_t element = end - at;
        if (element == 0 || (element == 1 && path[at] == '.')) {
            /* an empty or "." element disappears */
        } else if (element == 2 && path[at] == '.' && path[at + 1] == '.') {
            drop_last_element(out);
        } else {
            if (out->len > 1)
                cfbp_strbuf_append_char(out, '/');
            cfbp_strbuf_append(out, path + at, element);
        }
        at = end + 1;
    }
}

void routes_clean_path(struct cfbp_strbuf *out, const char *path, size_t length)
{
    clean_rooted(out, path, length);
    bool trailing_slash = length > 0 && path[length - 1] == '/';
    if (trailing_slash && out->len > 1)
        cfbp_strbuf_append_char(out, '/');
}

/* Go's url.PathEscape rules as url.URL.EscapedPath applies them. */
static void append_escaped_path(struct cfbp_strbuf *out, const char *path, size_t length)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)path[i];
        bool alphanumeric =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (alphanumeric || (c != '\0' && strchr("-_.~$&+,/:;=@", c))) {
            cfbp_strbuf_append_char(out, (char)c);
        } else {
            char escaped[3] = {'%', hex[c >> 4], hex[c & 15]};
            cfbp_strbuf_append(out, escaped, sizeof(escaped));
        }
    }
}

/* Go's hexEscapeNonASCII for the Location header (lower-case hex, as Go writes it). */
static void append_location(struct cfbp_strbuf *out, const char *url, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c < 0x80)
            cfbp_strbuf_append_char(out, (char)c);
        else
            cfbp_strbuf_append_format(out, "%%%x", c);
    }
}

/* Go's htmlEscape for the redirect body. */
static void append_html_escaped(struct cfbp_strbuf *out, const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        switch (text[i]) {
        case '&':
            cfbp_strbuf_append_string(out, "&amp;");
            break;
        case '<':
            cfbp_strbuf_append_string(out, "&lt;");
            break;
        case '>':
            cfbp_strbuf_append_string(out, "&gt;");
            break;
        case '"':
            cfbp_strbuf_append_string(out, "&#34;");
            break;
        case '\'':
            cfbp_strbuf_append_string(out, "&#39;");
            break;
        default:
            cfbp_strbuf_append_char(out, text[i]);
        }
    }
}

/* http.Redirect(w, r, url, 301): HTML body for GET, text/html type for GET and HEAD. */
static void redirect(struct http_response *response, const struct http_request *request,
                     const struct cfbp_strbuf *url)
{
    response->status = 301;
    append_location(&response->location, url->buf, url->len);
    if (request->method == HTTP_GET || request->method == HTTP_HEAD)
        response->content_type = "text/html; charset=utf-8";
    if (request->method != HTTP_GET)
        return;
    struct cfbp_strbuf *body = &response->body_storage;
    cfbp_strbuf_append_string(body, "<a href=\"");
    append_html_escaped(body, url->buf, url->len);
    cfbp_strbuf_append_string(body, "\">Moved Permanently</a>.\n\n");
    response->body = body->buf;
    response->body_length = body->len;
}

static void not_found(struct http_response *response)
{
    static const char body[] = "404 page not found\n";
    response->status = 404;
    response->content_type = TEXT_PLAIN;
    response->nosniff = true;
    response->body = body;
    response->body_length = sizeof(body) - 1;
}

static void serve_config(const struct routes *routes, struct http_response *response)
{
    if (routes->log)
        request_log_line(routes->log, "Received a request for config.\n");
    response->status = 200;
    response->sniffed_type = TEXT_PLAIN;
    response->body = routes->config_body;
    response->body_length = routes->config_length;
}

static bool equals(const struct cfbp_strbuf *text, const char *data, size_t length)
{
    return text->len == length && memcmp(text->buf, data, length) == 0;
}

void routes_answer(const struct routes *routes, const struct http_request *request,
                   struct http_response *response)
{
    const struct cfbp_strbuf *path = &request->path;
    struct cfbp_strbuf clean = CFBP_STRBUF_INIT, url = CFBP_STRBUF_INIT;
    if (request->method == HTTP_CONNECT)
        cfbp_strbuf_append(&clean, path->buf, path->len); /* Go leaves CONNECT paths alone */
    else
        routes_clean_path(&clean, path->buf, path->len);

    if (equals(&clean, CONFIG_PATH_WITHOUT_SLASH, strlen(CONFIG_PATH_WITHOUT_SLASH))) {
        /* ServeMux's redirect to the subtree keeps the query but not a bare '?'. */
        append_escaped_path(&url, clean.buf, clean.len);
        cfbp_strbuf_append_char(&url, '/');
        if (request->query.len)
            cfbp_strbuf_append_format(&url, "?%s", request->query.buf);
        redirect(response, request, &url);
    } else if (!equals(&clean, path->buf, path->len)) {
        cfbp_strbuf_append(&url, request->origin.buf, request->origin.len);
        append_escaped_path(&url, clean.buf, clean.len);
        if (request->has_query)
            cfbp_strbuf_append_format(&url, "?%s", request->query.buf);
        redirect(response, request, &url);
    } else if (cfbp_string_starts_with(clean.buf, CONFIG_PATH)) {
        serve_config(routes, response);
    } else {
        not_found(response);
    }
    cfbp_strbuf_release(&clean);
    cfbp_strbuf_release(&url);
}
