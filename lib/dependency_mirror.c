/*
 * dependency_mirror.c - rewriting dependency URIs to an operator's mirror
 * (see dependency_mirror.h).
 *
 * Both URLs are taken apart by libcurl's URL API, the parser the download
 * itself uses, so they are read the way they will be fetched (IPv6 literals,
 * ports, user information, percent-escapes). The result is put together as
 * text from those parts, because curl lower-cases the %XX of a path it is
 * given and a mirror may care. The checks around it are ours, so that their
 * messages do not change with the stack's curl: the schemes we fetch, a host
 * that is really there, no query or fragment on the mirror.
 */
#include "cfbp/dependency_mirror.h"

#include "cfbp/error.h"
#include "cfbp/strbuf.h"
#include "cfbp/uri.h"
#include "curl_loader.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define ORIGINAL_HOST  "{originalHost}"
#define MIRROR_EXAMPLE "https://mirror.example.org/{originalHost}"

/* Fails with a message naming the variable and showing its value redacted. */
static int unusable(struct cfbp_error *err, const char *variable, const char *mirror,
                    const char *why)
{
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT;
    cfbp_uri_redact(&shown, mirror);
    cfbp_error_set(err, CFBP_ERROR_USAGE,
                   "%s=%s is not a usable dependency mirror: %s; set it to an http, https or "
                   "file URL such as " MIRROR_EXAMPLE " (or unset it)",
                   variable, shown.buf, why);
    cfbp_strbuf_release(&shown);
    return -1;
}

/* Sets out to a part of url; false when the URL has no such part. */
static bool get_part(CURLU *url, CURLUPart part, struct cfbp_strbuf *out)
{
    char *text = NULL;
    cfbp_strbuf_reset(out);
    if (curl_url_get(url, part, &text, 0) != CURLUE_OK || !text) {
        curl_free(text);
        return false;
    }
    cfbp_strbuf_set(out, text);
    curl_free(text);
    return true;
}

/* The host as {originalHost} and the variable names use it: lower case, no IPv6 brackets. */
static void plain_host(struct cfbp_strbuf *host)
{
    if (host->len >= 2 && host->buf[0] == '[' && host->buf[host->len - 1] == ']') {
        memmove(host->buf, host->buf + 1, host->len - 2);
        cfbp_strbuf_set_length(host, host->len - 2);
    }
    for (size_t i = 0; i < host->len; i++)
        host->buf[i] = (char)tolower((unsigned char)host->buf[i]);
}

bool cfbp_dependency_mirror_host_variable(struct cfbp_strbuf *out, const char *host)
{
    cfbp_strbuf_set(out, CFBP_DEPENDENCY_MIRROR_VARIABLE "_");
    if (!*host)
        goto unspellable;
    for (const char *c = host; *c; c++) {
        if (isalnum((unsigned char)*c))
            cfbp_strbuf_append_char(out, (char)toupper((unsigned char)*c));
        else if (*c == '.')
            cfbp_strbuf_append_char(out, '_');
        else if (*c == '-')
            cfbp_strbuf_append_string(out, "__");
        else
            goto unspellable;
    }
    return true;
unspellable:
    cfbp_strbuf_reset(out);
    return false;
}

/* Takes the original URI apart: its host (plain), path and query (empty when none). */
static int split_original(const char *uri, const char *variable, struct cfbp_strbuf *host,
                          struct cfbp_strbuf *path, struct cfbp_strbuf *query,
                          struct cfbp_error *err)
{
    CURLU *url = curl_url();
    if (!url)
        return cfbp_error_set(err, CFBP_ERROR_FAILED, "out of memory");
    CURLUcode code = curl_url_set(url, CURLUPART_URL, uri, 0);
    int result = 0;
    if (code != CURLUE_OK || !get_part(url, CURLUPART_HOST, host)) {
        struct cfbp_strbuf shown = CFBP_STRBUF_INIT;
        cfbp_uri_redact(&shown, uri);
        result = cfbp_error_set(err, CFBP_ERROR_INVALID,
                                "cannot download %s through the mirror of %s: it is not a URL "
                                "with a host (%s)",
                                shown.buf, variable,
                                code != CURLUE_OK ? curl_url_strerror(code) : "no host");
        cfbp_strbuf_release(&shown);
    } else {
        plain_host(host);
        if (!get_part(url, CURLUPART_PATH, path))
            cfbp_strbuf_set(path, "/");
        get_part(url, CURLUPART_QUERY, query);
    }
    curl_url_cleanup(url);
    return result;
}

/* Replaces every {originalHost} in path with host. */
static void put_original_host(struct cfbp_strbuf *path, const char *host)
{
    struct cfbp_strbuf result = CFBP_STRBUF_INIT;
    const char *rest = path->buf;
    const char *found;
    while ((found = strstr(rest, ORIGINAL_HOST)) != NULL) {
        cfbp_strbuf_append(&result, rest, (size_t)(found - rest));
        cfbp_strbuf_append_string(&result, host);
        rest = found + strlen(ORIGINAL_HOST);
    }
    cfbp_strbuf_append_string(&result, rest);
    cfbp_strbuf_set(path, result.buf);
    cfbp_strbuf_release(&result);
}

/* The scheme of text in lower case ("" when text does not start with one and its colon). */
static void scheme_of(const char *text, struct cfbp_strbuf *out)
{
    cfbp_strbuf_reset(out);
    if (!isalpha((unsigned char)text[0]))
        return;
    size_t i = 1;
    while (isalnum((unsigned char)text[i]) || strchr("+-.", text[i]))
        i++;
    if (text[i] != ':')
        return;
    for (size_t j = 0; j < i; j++)
        cfbp_strbuf_append_char(out, (char)tolower((unsigned char)text[j]));
}

/*
 * Checks the mirror and sets base to it as curl reads it, less its path, and
 * path to that path. Messages do not come from curl where we can say it
 * ourselves, so they do not change with the stack's curl.
 */
static int parse_mirror(const char *mirror, const char *variable, struct cfbp_strbuf *scheme,
                        struct cfbp_strbuf *base, struct cfbp_strbuf *path, struct cfbp_error *err)
{
    scheme_of(mirror, scheme);
    if (!scheme->len)
        return unusable(err, variable, mirror, "it does not start with a scheme such as https://");
    bool file = strcmp(scheme->buf, "file") == 0;
    if (!file && strcmp(scheme->buf, "http") != 0 && strcmp(scheme->buf, "https") != 0) {
        struct cfbp_strbuf why = CFBP_STRBUF_INIT;
        cfbp_strbuf_append_string(&why, "its scheme is ");
        cfbp_uri_append_printable(&why, scheme->buf, 32);
        unusable(err, variable, mirror, why.buf);
        cfbp_strbuf_release(&why);
        return -1;
    }
    /* curl reads "https:///x" as the host x and "https:x" as the host x: not what was meant. */
    const char *after = mirror + scheme->len + 1;
    if (strncmp(after, "//", 2) != 0 || (!file && (after[2] == '/' || after[2] == '\0')))
        return unusable(err, variable, mirror,
                        file ? "a file URL starts with file:/// (no host, or localhost)"
                             : "it has no host after the scheme's //");
    CURLU *url = curl_url();
    if (!url)
        return cfbp_error_set(err, CFBP_ERROR_FAILED, "out of memory");
    int result = 0;
    CURLUcode code = curl_url_set(url, CURLUPART_URL, mirror, 0);
    struct cfbp_strbuf part = CFBP_STRBUF_INIT;
    if (code != CURLUE_OK)
        result = unusable(err, variable, mirror, curl_url_strerror(code));
    else if (get_part(url, CURLUPART_QUERY, &part) || get_part(url, CURLUPART_FRAGMENT, &part))
        result = unusable(err, variable, mirror,
                          "it has a query or fragment, where each dependency's own query goes");
    else if (!get_part(url, CURLUPART_URL, base) || !get_part(url, CURLUPART_PATH, path) ||
             !cfbp_string_ends_with(base->buf, path->buf))
        result = unusable(err, variable, mirror, "curl cannot take it apart");
    else
        cfbp_strbuf_set_length(base, base->len - path->len);
    curl_url_cleanup(url);
    cfbp_strbuf_release(&part);
    return result;
}

int cfbp_dependency_mirror_apply(const char *mirror, const char *variable, const char *uri,
                                 struct cfbp_strbuf *out, struct cfbp_error *err)
{
    cfbp_strbuf_reset(out);
    if (cfbp_curl_load(err) < 0)
        return -1;
    struct cfbp_strbuf scheme = CFBP_STRBUF_INIT, base = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT,
                       host = CFBP_STRBUF_INIT, original_path = CFBP_STRBUF_INIT,
                       query = CFBP_STRBUF_INIT;
    int result = parse_mirror(mirror, variable, &scheme, &base, &path, err);
    if (result == 0)
        result = split_original(uri, variable, &host, &original_path, &query, err);
    if (result == 0) {
        /* Put together as text: curl would lower-case the %XX of a path it is given. */
        put_original_host(&path, host.buf);
        while (path.len > 0 && path.buf[path.len - 1] == '/')
            cfbp_strbuf_set_length(&path, path.len - 1);
        cfbp_strbuf_append_string(out, base.buf);
        cfbp_strbuf_append_string(out, path.buf);
        cfbp_strbuf_append_string(out, original_path.buf);
        /* A file has no query: a file mirror holds the files under their paths. */
        if (query.len && strcmp(scheme.buf, "file") != 0)
            cfbp_strbuf_append_format(out, "?%s", query.buf);
    }
    cfbp_strbuf_release(&scheme);
    cfbp_strbuf_release(&base);
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&host);
    cfbp_strbuf_release(&original_path);
    cfbp_strbuf_release(&query);
    return result;
}

/* The host of uri, plain; false when it has none curl can find. */
static bool host_of(const char *uri, struct cfbp_strbuf *host)
{
    CURLU *url = curl_url();
    bool found = url && curl_url_set(url, CURLUPART_URL, uri, 0) == CURLUE_OK &&
                 get_part(url, CURLUPART_HOST, host);
    curl_url_cleanup(url);
    if (found)
        plain_host(host);
    return found;
}

int cfbp_dependency_mirror_find(const char *uri, struct cfbp_strbuf *mirrored,
                                struct cfbp_strbuf *variable, struct cfbp_error *err)
{
    cfbp_strbuf_reset(mirrored);
    cfbp_strbuf_reset(variable);
    enum cfbp_uri_scheme scheme = cfbp_uri_scheme_of(uri);
    if (scheme != CFBP_URI_HTTP && scheme != CFBP_URI_HTTPS)
        return 0;
    if (cfbp_curl_load(err) < 0)
        return -1;
    struct cfbp_strbuf host = CFBP_STRBUF_INIT;
    const char *mirror = NULL;
    if (host_of(uri, &host) && cfbp_dependency_mirror_host_variable(variable, host.buf)) {
        mirror = getenv(variable->buf);
        if (mirror && !*mirror)
            mirror = NULL; /* empty is unset */
    }
    if (!mirror) {
        cfbp_strbuf_set(variable, CFBP_DEPENDENCY_MIRROR_VARIABLE);
        mirror = getenv(variable->buf);
        if (mirror && !*mirror)
            mirror = NULL;
    }
    cfbp_strbuf_release(&host);
    if (!mirror) {
        cfbp_strbuf_reset(variable);
        return 0;
    }
    if (cfbp_dependency_mirror_apply(mirror, variable->buf, uri, mirrored, err) < 0) {
        cfbp_strbuf_reset(mirrored);
        return -1;
    }
    return 1;
}
