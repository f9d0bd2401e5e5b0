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

void cfbp_uri_append_printable(struct cfbp_strbuf *out, const char *text, size_t limit)
{
    static const char hex[] = "0123456789abcdef";
    size_t length = strlen(text);
    size_t shown = length < limit ? length : limit;
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c < 0x7f) {
            cfbp_strbuf_append_char(out, (char)c);
        } else {
            char escaped[4] = {'\\', 'x', hex[c >> 4], hex[c & 0xf]};
            cfbp_strbuf_append(out, escaped, sizeof(escaped));
        }
    }
    if (shown < length)
        cfbp_strbuf_append_string(out, "...");
}

/*
 * Where the authority (host, and user information if any) of uri starts. The
 * scheme's slashes are skipped however many there are, as curl does
 * ("http:/u:p@host" and "http:///u:p@host" reach host with user u). Without a
 * scheme followed by a slash, a leading "word:" could as well be a user name
 * ("user:pass@host/x"), so the authority starts at the beginning.
 */
static size_t authority_start(const char *uri)
{
    size_t scheme = 0;
    if (isalpha((unsigned char)uri[0]))
        while (uri[scheme] && (isalnum((unsigned char)uri[scheme]) || strchr("+-.", uri[scheme])))
            scheme++;
    if (scheme == 0 || uri[scheme] != ':')
        return 0;
    size_t at = scheme + 1;
    if (scheme == 4 && strncasecmp(uri, "file", 4) == 0)
        return strncmp(uri + at, "//", 2) == 0 ? at + 2 : at; /* file:///path: empty authority */
    bool web = (scheme == 4 && strncasecmp(uri, "http", 4) == 0) ||
               (scheme == 5 && strncasecmp(uri, "https", 5) == 0);
    if (uri[at] != '/' && !web)
        return 0;
    while (uri[at] == '/')
        at++;
    return at;
}

/*
 * The last '@' at or after start that can end user information, or NULL. An
 * '@' with no '/' before it (from start) ends ordinary user information; one
 * after a '/' does too when a ':' comes before it, since a password may hold
 * a '/' ("user:pass/word@host"). The user information so runs past '?', '#'
 * and '/' on purpose: a password holding them unescaped is still hidden whole.
 * An '@' in a path, query or fragment is taken for its end too when a ':'
 * (a port, say) comes before it ("https://host:8080/pkg@1.0.tgz"): shown too
 * little, never too much.
 */
static const char *user_info_end(const char *uri, size_t start)
{
    const char *at = NULL;
    bool slash = false, colon = false;
    for (const char *c = uri + start; *c; c++) {
        if (*c == '@' && (!slash || colon))
            at = c;
        else if (*c == '/')
            slash = true;
        else if (*c == ':')
            colon = true;
    }
    return at;
}

/*
 * Finds the end of the user information ('@') and where it starts. With a
 * scheme, it starts at the authority; a file URI with an empty authority
 * ("file:///a:b@c") has none. Without a recognised scheme (" https://...",
 * "https//...", "user:pass@host") it starts at the beginning of the text, or
 * after its first "//" when only that finds an '@' ("https//token@host"):
 * whatever was meant, what looks like credentials is hidden.
 */
static const char *find_user_info(const char *uri, size_t *start)
{
    *start = authority_start(uri);
    if (*start > 0) {
        if (strncasecmp(uri, "file:", 5) == 0 && uri[*start] == '/')
            return NULL;
        return user_info_end(uri, *start);
    }
    const char *at = user_info_end(uri, 0);
    const char *slashes = strstr(uri, "//");
    const char *after_slashes = slashes ? user_info_end(uri, (size_t)(slashes + 2 - uri)) : NULL;
    if (after_slashes && !at)
        *start = (size_t)(slashes + 2 - uri);
    if (after_slashes && (!at || after_slashes > at))
        at = after_slashes;
    return at;
}

bool cfbp_uri_user_info(struct cfbp_strbuf *out, const char *uri)
{
    size_t start;
    const char *at = find_user_info(uri, &start);
    cfbp_strbuf_reset(out);
    if (at)
        cfbp_strbuf_append(out, uri + start, (size_t)(at - uri) - start);
    return at != NULL;
}

void cfbp_uri_redact(struct cfbp_strbuf *out, const char *uri)
{
    cfbp_strbuf_reset(out);
    size_t start;
    const char *at = find_user_info(uri, &start);
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT;
    if (at) {
        /* libbuildpack writes both parts even for a token-only user. */
        cfbp_strbuf_append(&shown, uri, start);
        cfbp_strbuf_append_string(&shown, "-redacted-:-redacted-");
        cfbp_strbuf_append_string(&shown, at);
    } else {
        cfbp_strbuf_set(&shown, uri);
    }
    cfbp_uri_append_printable(out, shown.buf, (size_t)-1);
    cfbp_strbuf_release(&shown);
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

/* Fails with "'<uri>' <problem>", the URI shown redacted. */
static int refuse_file_uri(struct cfbp_error *err, const char *uri, const char *problem)
{
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT;
    cfbp_uri_redact(&shown, uri);
    cfbp_error_set(err, CFBP_ERROR_INVALID, "'%s' %s", shown.buf, problem);
    cfbp_strbuf_release(&shown);
    return -1;
}

int cfbp_uri_file_path(struct cfbp_strbuf *out, const char *uri, struct cfbp_error *err)
{
    if (cfbp_uri_scheme_of(uri) != CFBP_URI_FILE)
        return refuse_file_uri(err, uri, "is not a file:// URI");
    const char *host = uri + 7;
    const char *path = strchr(host, '/');
    size_t host_length = path ? (size_t)(path - host) : strlen(host);
    if (!path ||
        !(host_length == 0 || (host_length == 9 && strncasecmp(host, "localhost", 9) == 0)))
        return refuse_file_uri(err, uri,
                               "is not a local file URI; write it as file:///absolute/path");
    cfbp_strbuf_reset(out);
    size_t length = strcspn(path, "?#");
    for (size_t i = 0; i < length; i++) {
        if (path[i] == '%') {
            int high = i + 2 < length ? hex_value(path[i + 1]) : -1;
            int low = high >= 0 ? hex_value(path[i + 2]) : -1;
            if (high < 0 || low < 0 || (high == 0 && low == 0))
                return refuse_file_uri(err, uri, "has a bad percent escape in its path");
            cfbp_strbuf_append_char(out, (char)(high * 16 + low));
            i += 2;
        } else {
            cfbp_strbuf_append_char(out, path[i]);
        }
    }
    return 0;
}
