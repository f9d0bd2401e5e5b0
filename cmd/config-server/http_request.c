/*
 * http_request.c - libhttp_parser callbacks, Go's request checks and limits.
 *
 * libhttp_parser calls back with pieces of the request-target and headers as
 * they stream past; the reader keeps only what the sidecar needs (the target,
 * the Host count, Expect) and counts bytes so that no request can grow
 * without bound. Each complete request pauses the parser, which is how a
 * pipelined stream is answered one request at a time.
 */
#include "http_request.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

static struct http_request_reader *reader_of(http_parser *parser)
{
    return parser->data;
}

/* Records why the request is refused; returning non-zero stops the parser. */
static int refuse(struct http_request_reader *reader, int status, const char *detail)
{
    if (!reader->error_status) {
        reader->error_status = status;
        reader->error_detail = detail;
    }
    return -1;
}

static int append_head(struct http_request_reader *reader, struct cfbp_strbuf *text,
                       const char *data, size_t length)
{
    reader->head_bytes += length;
    if (reader->head_bytes > HTTP_REQUEST_MAX_HEAD_BYTES)
        return refuse(reader, 431, NULL);
    cfbp_strbuf_append(text, data, length);
    return 0;
}

static int on_message_begin(http_parser *parser)
{
    struct http_request_reader *reader = reader_of(parser);
    struct http_request *request = &reader->request;
    cfbp_strbuf_reset(&request->target);
    cfbp_strbuf_reset(&request->origin);
    cfbp_strbuf_reset(&request->path);
    cfbp_strbuf_reset(&request->query);
    request->has_query = false;
    request->keep_alive = false;
    cfbp_strbuf_reset(&reader->header_field);
    cfbp_strbuf_reset(&reader->header_value);
    reader->in_header_value = false;
    reader->head_bytes = reader->body_bytes = reader->host_count = 0;
    reader->expect_continue = false;
    reader->in_progress = true;
    return 0;
}

static int on_url(http_parser *parser, const char *data, size_t length)
{
    struct http_request_reader *reader = reader_of(parser);
    return append_head(reader, &reader->request.target, data, length);
}

/* Header names are case-insensitive; only two of them matter here. */
static void finish_header(struct http_request_reader *reader)
{
    if (strcasecmp(reader->header_field.buf, "Host") == 0)
        reader->host_count++;
    else if (strcasecmp(reader->header_field.buf, "Expect") == 0)
        reader->expect_continue = strcasecmp(reader->header_value.buf, "100-continue") == 0;
    cfbp_strbuf_reset(&reader->header_field);
    cfbp_strbuf_reset(&reader->header_value);
    reader->in_header_value = false;
}

static int on_header_field(http_parser *parser, const char *data, size_t length)
{
    struct http_request_reader *reader = reader_of(parser);
    if (reader->in_header_value)
        finish_header(reader);
    return append_head(reader, &reader->header_field, data, length);
}

static int on_header_value(http_parser *parser, const char *data, size_t length)
{
    struct http_request_reader *reader = reader_of(parser);
    reader->in_header_value = true;
    return append_head(reader, &reader->header_value, data, length);
}

static bool body_expected(const http_parser *parser)
{
    return (parser->flags & F_CHUNKED) ||
           (parser->content_length > 0 && parser->content_length != UINT64_MAX);
}

/* The checks Go's readRequest makes once the headers are in. */
static int on_headers_complete(http_parser *parser)
{
    struct http_request_reader *reader = reader_of(parser);
    struct http_request *request = &reader->request;
    if (reader->in_header_value || reader->header_field.len)
        finish_header(reader);
    request->method = parser->method;
    request->version_major = parser->http_major;
    request->version_minor = parser->http_minor;
    request->keep_alive = http_should_keep_alive(parser) && !parser->upgrade;
    bool http11 = request->version_major == 1 && request->version_minor >= 1;
    if (request->version_major != 1)
        return refuse(reader, 505, "unsupported protocol version");
    if (http11 && reader->host_count == 0 && request->method != HTTP_CONNECT)
        return refuse(reader, 400, "missing required Host header");
    if (reader->host_count > 1)
        return refuse(reader, 400, "too many Host headers");
    if (!http_request_parse_target(request, request->method == HTTP_CONNECT))
        return refuse(reader, 400, NULL);
    if (!(parser->flags & F_CHUNKED) && parser->content_length != UINT64_MAX &&
        parser->content_length > HTTP_REQUEST_MAX_BODY_BYTES)
        return refuse(reader, 413, NULL);
    if (reader->expect_continue && http11 && body_expected(parser)) {
        reader->event = HTTP_REQUEST_CONTINUE;
        http_parser_pause(parser, 1);
    }
    return 0;
}

static int on_body(http_parser *parser, const char *data, size_t length)
{
    struct http_request_reader *reader = reader_of(parser);
    (void)data;
    reader->body_bytes += length;
    if (reader->body_bytes > HTTP_REQUEST_MAX_BODY_BYTES)
        return refuse(reader, 413, NULL);
    return 0;
}

static int on_message_complete(http_parser *parser)
{
    struct http_request_reader *reader = reader_of(parser);
    reader->in_progress = false;
    reader->event = HTTP_REQUEST_READY;
    http_parser_pause(parser, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void http_request_reader_init(struct http_request_reader *reader)
{
    memset(reader, 0, sizeof(*reader));
    /* libhttp_parser enforces its own head limit too; make it ours. */
    http_parser_set_max_header_size(HTTP_REQUEST_MAX_HEAD_BYTES);
    http_parser_init(&reader->parser, HTTP_REQUEST);
    reader->parser.data = reader;
    struct http_request *request = &reader->request;
    cfbp_strbuf_init(&request->target, 0);
    cfbp_strbuf_init(&request->origin, 0);
    cfbp_strbuf_init(&request->path, 0);
    cfbp_strbuf_init(&request->query, 0);
    cfbp_strbuf_init(&reader->header_field, 0);
    cfbp_strbuf_init(&reader->header_value, 0);
}

void http_request_reader_release(struct http_request_reader *reader)
{
    cfbp_strbuf_release(&reader->request.target);
    cfbp_strbuf_release(&reader->request.origin);
    cfbp_strbuf_release(&reader->request.path);
    cfbp_strbuf_release(&reader->request.query);
    cfbp_strbuf_release(&reader->header_field);
    cfbp_strbuf_release(&reader->header_value);
}

enum http_request_event http_request_reader_feed(struct http_request_reader *reader,
                                                 const char *data, size_t length, size_t *consumed)
{
    *consumed = 0;
    if (reader->error_status)
        return HTTP_REQUEST_FAILED;
    reader->event = HTTP_REQUEST_NEED_MORE;
    *consumed = http_parser_execute(&reader->parser, &parser_settings, data, length);
    enum http_errno error = HTTP_PARSER_ERRNO(&reader->parser);
    if (error == HPE_PAUSED) {
        http_parser_pause(&reader->parser, 0);
        return reader->event;
    }
    if (error == HPE_HEADER_OVERFLOW)
        refuse(reader, 431, NULL);
    else if (error != HPE_OK || *consumed != length)
        refuse(reader, 400, NULL);
    if (reader->error_status) {
        reader->in_progress = false;
        return HTTP_REQUEST_FAILED;
    }
    return reader->event;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Go's url.unescape in path mode: "%XX" only, '+' stays '+'. */
static bool percent_decode(struct cfbp_strbuf *out, const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        if (text[i] != '%') {
            cfbp_strbuf_append_char(out, text[i]);
            continue;
        }
        if (length - i < 3 || hex_value(text[i + 1]) < 0 || hex_value(text[i + 2]) < 0)
            return false;
        cfbp_strbuf_append_char(out, (char)(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
        i += 2;
    }
    return true;
}

/* Length of a "scheme:" prefix as Go's getScheme reads it, or 0 if there is none. */
static size_t scheme_length(const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool other = (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
        if (c == ':')
            return i;
        if (!letter && (!other || i == 0))
            return 0;
    }
    return 0;
}

/*
 * Moves *rest past the "scheme://authority" of an absolute-form target and
 * keeps it as the origin, which Go puts back in front of redirect targets.
 */
static bool split_origin(struct http_request *request, const char **rest, size_t *rest_length)
{
    size_t scheme = scheme_length(*rest, *rest_length);
    if (scheme == 0)
        return false;
    for (size_t i = 0; i < scheme; i++) {
        char c = (*rest)[i];
        cfbp_strbuf_append_char(&request->origin, c >= 'A' && c <= 'Z' ? (char)(c + 32) : c);
    }
    cfbp_strbuf_append_char(&request->origin, ':');
    const char *after = *rest + scheme + 1;
    size_t after_length = *rest_length - scheme - 1;
    if (after_length >= 2 && after[0] == '/' && after[1] == '/') {
        const char *slash = memchr(after + 2, '/', after_length - 2);
        size_t authority = slash ? (size_t)(slash - after) : after_length;
        cfbp_strbuf_append(&request->origin, after, authority);
        after += authority;
        after_length -= authority;
    } else if (after_length == 0 || after[0] != '/') {
        return false; /* Go: "invalid URI for request" */
    }
    *rest = after;
    *rest_length = after_length;
    return true;
}

bool http_request_parse_target(struct http_request *request, bool is_connect)
{
    cfbp_strbuf_reset(&request->origin);
    cfbp_strbuf_reset(&request->path);
    cfbp_strbuf_reset(&request->query);
    request->has_query = false;
    const char *rest = request->target.buf;
    size_t length = request->target.len;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)rest[i];
        if (c < 0x20 || c == 0x7f)
            return false; /* Go: "invalid control character in URL" */
    }
    /* CONNECT names an authority, not a path: Go routes it with an empty path. */
    if (is_connect && (length == 0 || rest[0] != '/'))
        return true;
    const char *question = memchr(rest, '?', length);
    if (question) {
        request->has_query = true;
        cfbp_strbuf_append(&request->query, question + 1, (size_t)(rest + length - question - 1));
        length = (size_t)(question - rest);
    }
    if ((length == 0 || rest[0] != '/') && !split_origin(request, &rest, &length))
        return false;
    return percent_decode(&request->path, rest, length);
}
