/*
 * uri.c - scheme, redaction and file names of dependency URIs (see uri.h).
 */
#include "cfbp/uri.h"

#include "cfbp/error.h"
#include "cfbp/strbuf.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

enum cfbp_uri_scheme cfbp_uri_scheme_of(const char *uri)
{
    if (strncasecmp(uri, "http://", 7) == 0)
        return CFBP_URI_HTTP;
    if (strncasecmp(uri, "https://", 8) == 0)
        return CFBP_URI_HTTPS;
    if (strncasecmp(uri, "file://", 7) == 0)
        return CFBP_URI_FILE;
    return CFBP_URI_OTHER;
}

void cfbp_uri_redact(struct cfbp_strbuf *out, const char *uri)
{
    cfbp_strbuf_reset(out);
    const char *authority = strstr(uri, "://");
    if (!authority) {
        cfbp_strbuf_append_string(out, uri);
        return;
    }
    authority += 3;
    size_t authority_length = strcspn(authority, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < authority_length; i++)
        if (authority[i] == '@')
            at = authority + i;
    if (!at) {
        cfbp_strbuf_append_string(out, uri);
        return;
    }
    /* libbuildpack writes both parts even for a token-only user. */
    cfbp_strbuf_append(out, uri, (size_t)(authority - uri));
    cfbp_strbuf_append_string(out, "-redacted-:-redacted-");
    cfbp_strbuf_append_string(out, at);
}

const char *cfbp_uri_file_name(struct cfbp_strbuf *out, const char *uri)
{
    size_t end = strcspn(uri, "?#");
    size_t start = end;
    while (start > 0 && uri[start - 1] != '/')
        start--;
    cfbp_strbuf_reset(out);
    cfbp_strbuf_append(out, uri + start, end - start);
    const char *authority = strstr(uri, "://");
    bool is_host = authority && uri + start <= authority + 3;
    if (out->len == 0 || is_host || strcmp(out->buf, ".") == 0 || strcmp(out->buf, "..") == 0)
        cfbp_strbuf_set(out, "download");
    return out->buf;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int cfbp_uri_file_path(struct cfbp_strbuf *out, const char *uri, struct cfbp_error *err)
{
    if (cfbp_uri_scheme_of(uri) != CFBP_URI_FILE)
        return cfbp_error_set(err, CFBP_ERROR_INVALID, "'%s' is not a file:// URI", uri);
    const char *host = uri + 7;
    const char *path = strchr(host, '/');
    size_t host_length = path ? (size_t)(path - host) : strlen(host);
    if (!path ||
        !(host_length == 0 || (host_length == 9 && strncasecmp(host, "localhost", 9) == 0)))
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "'%s' is not a local file URI; write it as file:///absolute/path",
                              uri);
    cfbp_strbuf_reset(out);
    size_t length = strcspn(path, "?#");
    for (size_t i = 0; i < length; i++) {
        if (path[i] == '%') {
            int high = i + 2 < length ? hex_value(path[i + 1]) : -1;
            int low = high >= 0 ? hex_value(path[i + 2]) : -1;
            if (high < 0 || low < 0 || (high == 0 && low == 0))
                return cfbp_error_set(err, CFBP_ERROR_INVALID,
                                      "'%s' has a bad percent escape in its path", uri);
            cfbp_strbuf_append_char(out, (char)(high * 16 + low));
            i += 2;
        } else {
            cfbp_strbuf_append_char(out, path[i]);
        }
    }
    return 0;
}
