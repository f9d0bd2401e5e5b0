/*
 * fetch.c - downloads with retries, hashing as bytes arrive (see fetch.h).
 *
 * One attempt is one libcurl transfer into the (truncated) destination file,
 * given what is left of the download's deadline as its own timeout. After
 * it, classify() decides: done, retry after a backoff, or fail now. Nothing
 * the server wrote is put in a message as it was sent: statuses are named
 * from our own table, curl's text is made printable and cut short.
 */
/* CURLOPT_PROTOCOLS is deprecated since curl 7.85, but cflinuxfs4 ships 7.81,
 * which lacks its replacement CURLOPT_PROTOCOLS_STR (contract §16). */
#define CURL_DISABLE_DEPRECATION 1

#include "cfbp/fetch.h"

#include "cfbp/alloc.h"
#include "cfbp/cancel.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/log.h"
#include "cfbp/strbuf.h"
#include "cfbp/uri.h"
#include "curl_loader.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#ifndef CFBP_VERSION_STRING
#define CFBP_VERSION_STRING "0"
#endif
#define USER_AGENT "cfbp/" CFBP_VERSION_STRING

/* Cloud Foundry's default staging timeout (cc.staging_timeout_in_seconds). */
#define DEFAULT_TIMEOUT 900.0
#define MAX_TIMEOUT     86400.0
/* The most of a server's (or curl's) text a message shows. */
#define SHOWN_TEXT_LIMIT 200

void cfbp_fetch_options_init(struct cfbp_fetch_options *options)
{
    memset(options, 0, sizeof(*options));
    options->timeout = DEFAULT_TIMEOUT;
    options->connect_timeout = 30;
    options->low_speed_limit = 1024;
    options->low_speed_time = 30;
    options->retry_delay = 1.0;
    options->retry_factor = 1.5;
    options->retry_max_delay = 15;
    options->retry_budget = 60;
    options->max_attempts = 8;
}

/* --- one attempt --- */

/* Why a callback stopped the transfer. */
enum refusal {
    REFUSED_NOTHING,
    REFUSED_DOWNGRADE,     /* from https to http */
    REFUSED_CONTROL_BYTES, /* a Location holding control characters */
};

struct attempt {
    CURL *curl;
    bool performed; /* curl_easy_perform ran */
    int fd;
    struct cfbp_digest digest;
    unsigned long long received;
    int write_errno;
    long status;                      /* of the last response */
    double retry_after;               /* seconds, from a Retry-After header, or 0 */
    bool reached_https;               /* a response of this transfer came from an https URL */
    enum refusal refusal;             /* why a callback stopped the transfer */
    struct cfbp_strbuf refused;       /* the Location or URL refused, as sent */
    struct cfbp_strbuf effective_url; /* the URL curl fetched last */
    const char *proxy_variable;       /* the variable we gave curl as CURLOPT_PROXY, or NULL */
    const struct cfbp_fetch_options *options;
};

/* Stops the transfer (curl ends it with CURLE_WRITE_ERROR) and says why. */
static size_t refuse(struct attempt *attempt, enum refusal refusal, const char *what, size_t length)
{
    if (attempt->refusal == REFUSED_NOTHING) {
        attempt->refusal = refusal;
        cfbp_strbuf_append(&attempt->refused, what, length);
    }
    return 0;
}

/*
 * The backstop against a fall from https to http, which reads nothing the
 * server sent, only the URL curl is fetching: true (and the transfer marked
 * refused) when that URL is not https although an earlier response of the
 * same transfer came from https. Called for every header line, every piece
 * of body and once more when the transfer ends, so that a redirect the
 * Location checks below miss still yields nothing. (The request to the http
 * URL has been made by then; what it returns is thrown away.)
 */
static bool fell_back_from_https(struct attempt *attempt)
{
    const char *current = NULL;
    if (curl_easy_getinfo(attempt->curl, CURLINFO_EFFECTIVE_URL, &current) != CURLE_OK || !current)
        return false;
    enum cfbp_uri_scheme scheme = cfbp_uri_scheme_of(current);
    if (scheme == CFBP_URI_HTTPS)
        attempt->reached_https = true;
    if (scheme != CFBP_URI_HTTP || !attempt->reached_https)
        return false; /* curl fetches nothing but http and https (CURLOPT_PROTOCOLS) */
    refuse(attempt, REFUSED_DOWNGRADE, current, strlen(current));
    return true;
}

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
    struct attempt *attempt = user;
    size_t length = size * count;
    if (fell_back_from_https(attempt))
        return 0;
    int saved = cfbp_fs_write_all(attempt->fd, data, length);
    if (saved) {
        attempt->write_errno = saved;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    cfbp_digest_update(&attempt->digest, data, length);
    if (attempt->options->body)
        attempt->options->body(attempt->options->body_data, data, length, attempt->received);
    attempt->received += length;
    return length;
}

/* The bytes curl's ISSPACE takes: curl trims all of them around a header's value. */
static bool is_curl_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/*
 * The value of a header line "Name: value\r\n" when it has that name, else
 * NULL, trimmed as curl trims it (Curl_copy_header_value), so that what is
 * checked is what curl acts on: "Location: \fhttp://..." is a redirect to
 * http for curl.
 */
static const char *header_value(const char *line, size_t length, const char *name,
                                size_t *value_length)
{
    size_t name_length = strlen(name);
    if (length <= name_length || strncasecmp(line, name, name_length) != 0 ||
        line[name_length] != ':')
        return NULL;
    size_t start = name_length + 1, end = length;
    while (start < end && is_curl_space(line[start]))
        start++;
    while (end > start && is_curl_space(line[end - 1]))
        end--;
    *value_length = end - start;
    return line + start;
}

/*
 * True when the value of a header line holds a control character (or DEL)
 * other than the spaces and tabs around it and the CR LF that ends the line.
 * No honest Location holds one, and each is a chance for curl and us to read
 * the URL differently; *raw is set to the value with them.
 */
static bool holds_control_characters(const char *line, size_t length, const char *name,
                                     struct cfbp_strbuf *raw)
{
    size_t start = strlen(name) + 1, end = length;
    if (end > start && line[end - 1] == '\n')
        end--;
    if (end > start && line[end - 1] == '\r')
        end--;
    while (start < end && (line[start] == ' ' || line[start] == '\t'))
        start++;
    while (end > start && (line[end - 1] == ' ' || line[end - 1] == '\t'))
        end--;
    cfbp_strbuf_reset(raw);
    cfbp_strbuf_append(raw, line + start, end - start);
    for (size_t i = start; i < end; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            return true;
    return false;
}

/*
 * True when the response arriving is a redirect from https to http. curl
 * would follow it when the download started on http, so it is caught here,
 * where the URL being answered is known; CURLOPT_REDIR_PROTOCOLS refuses it
 * as well when the download started on https.
 */
static bool is_downgrade(struct attempt *attempt, const char *location, size_t length)
{
    char *current = NULL;
    if (length < 5 || strncasecmp(location, "http:", 5) != 0)
        return false;
    curl_easy_getinfo(attempt->curl, CURLINFO_EFFECTIVE_URL, &current);
    return current && cfbp_uri_scheme_of(current) == CFBP_URI_HTTPS;
}

/* The number at the start of text (length bytes, not NUL-terminated), or 0. */
static double leading_number(const char *text, size_t length)
{
    char copy[32];
    if (length >= sizeof(copy))
        length = sizeof(copy) - 1;
    memcpy(copy, text, length);
    copy[length] = '\0';
    char *end;
    double number = strtod(copy, &end);
    return end != copy && isfinite(number) ? number : 0;
}

static size_t on_header(char *data, size_t size, size_t count, void *user)
{
    struct attempt *attempt = user;
    size_t length = size * count;
    if (fell_back_from_https(attempt))
        return 0;
    if (length >= 5 && strncasecmp(data, "HTTP/", 5) == 0) {
        attempt->retry_after = 0; /* a new response (redirects give several) */
        return length;
    }
    /* The status as curl read it, not as we would: "HTTP/2\t302" is a 302 to curl. */
    long status = 0;
    curl_easy_getinfo(attempt->curl, CURLINFO_RESPONSE_CODE, &status);
    const char *value;
    size_t value_length;
    if ((value = header_value(data, length, "Retry-After", &value_length))) {
        double seconds = leading_number(value, value_length);
        if (seconds > 0)
            attempt->retry_after = seconds;
    } else if (status / 100 == 3 &&
               (value = header_value(data, length, "Location", &value_length))) {
        /* Refused before curl follows: the transfer stops with CURLE_WRITE_ERROR. */
        struct cfbp_strbuf raw = CFBP_STRBUF_INIT;
        size_t result = length;
        if (holds_control_characters(data, length, "Location", &raw))
            result = refuse(attempt, REFUSED_CONTROL_BYTES, raw.buf, raw.len);
        else if (is_downgrade(attempt, value, value_length))
            result = refuse(attempt, REFUSED_DOWNGRADE, value, value_length);
        cfbp_strbuf_release(&raw);
        return result;
    }
    return length;
}

static int on_progress(void *user, curl_off_t total, curl_off_t now, curl_off_t upload_total,
                       curl_off_t upload_now)
{
    (void)upload_total;
    (void)upload_now;
    struct attempt *attempt = user;
    if (attempt->options->progress)
        attempt->options->progress(attempt->options->progress_data, (unsigned long long)now,
                                   (unsigned long long)total);
    /* Ctrl-C or SIGTERM (cancel.h): non-zero makes curl end with CURLE_ABORTED_BY_CALLBACK. */
    return cfbp_cancel_requested() ? 1 : 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void init_curl(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* --- proxies --- */

/* Every variable that names a proxy for curl or for us; their credentials are never shown. */
static const char *const proxy_variables[] = {"http_proxy",  "https_proxy", "HTTP_PROXY",
                                              "HTTPS_PROXY", "all_proxy",   "ALL_PROXY"};

/* A variable's value, or NULL when it is unset or empty: curl_getenv reads them so. */
static const char *environment_value(const char *name)
{
    const char *value = getenv(name);
    return value && *value ? value : NULL;
}

/* curl reads only lowercase http_proxy; Go (and users) also set HTTP_PROXY. */
static void set_proxy_from_environment(struct attempt *attempt, const char *uri)
{
    if (cfbp_uri_scheme_of(uri) == CFBP_URI_HTTP && !environment_value("http_proxy")) {
        const char *proxy = environment_value("HTTP_PROXY");
        if (proxy) {
            curl_easy_setopt(attempt->curl, CURLOPT_PROXY, proxy);
            attempt->proxy_variable = "HTTP_PROXY";
        }
    }
    const char *no_proxy = getenv("no_proxy");
    if (!no_proxy)
        no_proxy = getenv("NO_PROXY");
    if (no_proxy)
        curl_easy_setopt(attempt->curl, CURLOPT_NOPROXY, no_proxy);
}

/*
 * The variable that names the proxy for url in this transfer, as curl picks
 * it (detect_proxy in its lib/url.c): the one we set as CURLOPT_PROXY, else
 * http_proxy for http and https_proxy or HTTPS_PROXY for https, else
 * all_proxy, else ALL_PROXY. NULL when none is set. no_proxy is not
 * consulted: callers ask only after curl failed in a way that involves one.
 */
static const char *proxy_variable_for(const struct attempt *attempt, const char *url)
{
    if (attempt->proxy_variable)
        return attempt->proxy_variable;
    static const char *const http[] = {"http_proxy", "all_proxy", "ALL_PROXY", NULL};
    static const char *const https[] = {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                                        NULL};
    enum cfbp_uri_scheme scheme = cfbp_uri_scheme_of(url);
    const char *const *candidates = scheme == CFBP_URI_HTTPS  ? https
                                    : scheme == CFBP_URI_HTTP ? http
                                                              : NULL;
    for (size_t i = 0; candidates && candidates[i]; i++)
        if (environment_value(candidates[i]))
            return candidates[i];
    return NULL;
}

/*
 * What makes proxy one curl cannot use as it was meant, said as the end of
 * "<variable> ('<proxy>') ...", or NULL when nothing does. It is parsed as
 * curl parses it (parse_proxy in lib/url.c: the URL API, any
 * scheme, http guessed when there is none); and where cfbp_uri_redact sees
 * user information, curl must see a user name too, else it has read part of
 * a password as the host ("http://user:1234?pw@proxy" is host "user", port
 * 1234 to curl).
 */
static const char *proxy_problem(const char *proxy)
{
    static const char *const schemes[] = {"http",    "https",  "socks",  "socks4",
                                          "socks4a", "socks5", "socks5h"};
    CURLU *url = curl_url();
    if (!url)
        return NULL;
    const char *problem = NULL;
    char *scheme = NULL, *user = NULL;
    struct cfbp_strbuf user_info = CFBP_STRBUF_INIT;
    if (curl_url_set(url, CURLUPART_URL, proxy, CURLU_NON_SUPPORT_SCHEME | CURLU_GUESS_SCHEME) !=
        CURLUE_OK) {
        problem = "is not a URL curl can read (a '?', '#', '/' or '@' in a user name or password "
                  "must be percent-encoded)";
    } else if (curl_url_get(url, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK) {
        bool known = false;
        for (size_t i = 0; i < sizeof(schemes) / sizeof(*schemes); i++)
            known = known || strcasecmp(scheme, schemes[i]) == 0;
        if (!known)
            problem = "names a scheme curl does not take for a proxy (it takes http, https, "
                      "socks4, socks4a, socks5 and socks5h)";
        else if (cfbp_uri_user_info(&user_info, proxy) &&
                 curl_url_get(url, CURLUPART_USER, &user, 0) == CURLUE_NO_USER)
            problem = "has a user name and password curl reads as a host name and more (a '?', "
                      "'#', '/' or '@' in them must be percent-encoded)";
    }
    cfbp_strbuf_release(&user_info);
    curl_free(user);
    curl_free(scheme);
    curl_url_cleanup(url);
    return problem;
}

/* Appends "<variable> ('<its value, redacted>')". */
static void append_proxy_setting(struct cfbp_strbuf *out, const char *variable)
{
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT;
    cfbp_uri_redact(&shown, getenv(variable));
    cfbp_strbuf_append_format(out, "%s ('", variable);
    cfbp_uri_append_printable(out, shown.buf, SHOWN_TEXT_LIMIT);
    cfbp_strbuf_append_string(out, "')");
    cfbp_strbuf_release(&shown);
}

static CURLcode run_transfer(const char *uri, struct attempt *attempt, long timeout_ms,
                             char *curl_message)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return CURLE_OUT_OF_MEMORY;
    attempt->curl = curl;
    const struct cfbp_fetch_options *options = attempt->options;
    /* Never downgrade: from https only to https (the header callback also stops
     * https -> http later in a chain that started on http). */
    long redirect_protocols = cfbp_uri_scheme_of(uri) == CFBP_URI_HTTPS
                                  ? (long)CURLPROTO_HTTPS
                                  : (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS);
    curl_easy_setopt(curl, CURLOPT_URL, uri);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_message);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS, redirect_protocols);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, options->connect_timeout);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, options->low_speed_limit);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options->low_speed_time);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, attempt);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, attempt);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, attempt);
    /* Always on: the callback is where a cancel request is seen, at least once a second
     * even while nothing arrives. */
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    const char *ca_file = getenv("SSL_CERT_FILE");
    const char *ca_dir = getenv("SSL_CERT_DIR");
    if (ca_file && *ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file);
    if (ca_dir && *ca_dir)
        curl_easy_setopt(curl, CURLOPT_CAPATH, ca_dir);
    set_proxy_from_environment(attempt, uri);
    CURLcode code = curl_easy_perform(curl);
    attempt->performed = true;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &attempt->status);
    /* Where the transfer ended, success or not: on http after https is a fall back. */
    fell_back_from_https(attempt);
    char *effective_url = NULL;
    if (curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective_url) == CURLE_OK &&
        effective_url)
        cfbp_strbuf_set(&attempt->effective_url, effective_url);
    curl_easy_cleanup(curl);
    attempt->curl = NULL;
    return code;
}

/* --- deciding what an attempt means --- */

enum outcome { DONE, RETRY, FAIL };

static bool transient_status(long status)
{
    return status == 408 || status == 429 || status >= 500;
}

static bool transient_code(CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

/*
 * Our own phrase for an HTTP status (RFC 9110 and the common extensions), or
 * NULL. The server's reason phrase is never shown: it is free text, and
 * servers have been seen to echo request headers (credentials) into it.
 */
static const char *status_phrase(long status)
{
    static const struct {
        long status;
        const char *phrase;
    } phrases[] = {
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {203, "Non-Authoritative Information"},
        {204, "No Content"},
        {205, "Reset Content"},
        {206, "Partial Content"},
        {300, "Multiple Choices"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {303, "See Other"},
        {304, "Not Modified"},
        {305, "Use Proxy"},
        {307, "Temporary Redirect"},
        {308, "Permanent Redirect"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {402, "Payment Required"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {406, "Not Acceptable"},
        {407, "Proxy Authentication Required"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {410, "Gone"},
        {411, "Length Required"},
        {412, "Precondition Failed"},
        {413, "Content Too Large"},
        {414, "URI Too Long"},
        {415, "Unsupported Media Type"},
        {416, "Range Not Satisfiable"},
        {417, "Expectation Failed"},
        {421, "Misdirected Request"},
        {422, "Unprocessable Content"},
        {423, "Locked"},
        {424, "Failed Dependency"},
        {425, "Too Early"},
        {426, "Upgrade Required"},
        {428, "Precondition Required"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {451, "Unavailable For Legal Reasons"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
        {505, "HTTP Version Not Supported"},
        {506, "Variant Also Negotiates"},
        {507, "Insufficient Storage"},
        {508, "Loop Detected"},
        {510, "Not Extended"},
        {511, "Network Authentication Required"},
    };
    for (size_t i = 0; i < sizeof(phrases) / sizeof(*phrases); i++)
        if (phrases[i].status == status)
            return phrases[i].phrase;
    return NULL;
}

/* Appends "HTTP <status>" and our phrase for it, if we have one. */
static void append_status(struct cfbp_strbuf *reason, long status)
{
    const char *phrase = status_phrase(status);
    cfbp_strbuf_append_format(reason, "HTTP %ld%s%s", status, phrase ? " " : "",
                              phrase ? phrase : "");
}

/* True when message quotes a piece ("user", "pass") of the user information in text. */
static bool quotes_user_info(const char *message, const char *text)
{
    struct cfbp_strbuf user_info = CFBP_STRBUF_INIT;
    bool quotes = false;
    if (text && cfbp_uri_user_info(&user_info, text)) {
        char *rest = NULL;
        for (char *piece = strtok_r(user_info.buf, ":?#@/", &rest); piece && !quotes;
             piece = strtok_r(NULL, ":?#@/", &rest))
            quotes = strstr(message, piece) != NULL;
    }
    cfbp_strbuf_release(&user_info);
    return quotes;
}

/*
 * Appends curl's description of a failure: printable, cut short, and
 * replaced by curl's fixed text for the code if it quotes any piece of the
 * user information of the URI, of the URL curl fetched last, or of a proxy
 * variable (curl reads "http://user:123?x@host" as host "user", port 123, and
 * says so; it quotes a proxy setting it cannot read whole).
 */
static void append_curl_message(struct cfbp_strbuf *reason, CURLcode code, const char *curl_message,
                                const char *uri, const struct attempt *attempt)
{
    const char *message = *curl_message ? curl_message : curl_easy_strerror(code);
    bool quotes =
        quotes_user_info(message, uri) || quotes_user_info(message, attempt->effective_url.buf);
    for (size_t i = 0; i < sizeof(proxy_variables) / sizeof(*proxy_variables) && !quotes; i++)
        quotes = quotes_user_info(message, getenv(proxy_variables[i]));
    if (quotes)
        message = curl_easy_strerror(code);
    cfbp_uri_append_printable(reason, message, SHOWN_TEXT_LIMIT);
}

/*
 * A failure that involves a proxy, named by the variable that set it. A
 * proxy setting curl cannot use is a mistake in the configuration, not bad
 * luck: it fails at once. A proxy host that does not resolve may be DNS
 * having a bad moment, and is retried like any host. Returns false when the
 * failure is not about a proxy we can name.
 */
static bool classify_proxy_failure(const char *uri, CURLcode code, const struct attempt *attempt,
                                   const char *curl_message, struct cfbp_strbuf *reason,
                                   enum outcome *outcome, enum cfbp_error_kind *kind)
{
    if (code != CURLE_COULDNT_RESOLVE_PROXY && code != CURLE_COULDNT_CONNECT && code != CURLE_PROXY)
        return false;
    const char *variable = proxy_variable_for(attempt, attempt->effective_url.buf);
    if (!variable)
        return false;
    const char *problem = proxy_problem(getenv(variable));
    if (problem) {
        /* curl fails with "Couldn't resolve proxy name" on a proxy it cannot parse (or whose
         * password it took for a host), with "Couldn't connect" on a scheme it does not know.
         * The latter could, when no_proxy spared the host, be a direct connection that failed:
         * the setting is wrong all the same. */
        append_proxy_setting(reason, variable);
        cfbp_strbuf_append_format(reason, " %s; fix or unset %s", problem, variable);
        *kind = CFBP_ERROR_USAGE;
        *outcome = FAIL;
        return true;
    }
    if (code == CURLE_COULDNT_RESOLVE_PROXY) {
        cfbp_strbuf_append_string(reason, "could not resolve the proxy host of ");
        append_proxy_setting(reason, variable);
        *outcome = RETRY;
        return true;
    }
    if (code == CURLE_PROXY) {
        cfbp_strbuf_append_string(reason, "the proxy of ");
        append_proxy_setting(reason, variable);
        cfbp_strbuf_append_string(reason, " failed: ");
        append_curl_message(reason, code, curl_message, uri, attempt);
        *outcome = FAIL;
        return true;
    }
    return false; /* a refused connection may or may not have been to the proxy */
}

/* What a transfer that curl finished means: only a 2xx response with a body is a download. */
static enum outcome judge_final_status(long status, struct cfbp_strbuf *reason,
                                       enum cfbp_error_kind *kind)
{
    if (status / 100 == 2 && status != 204 && status != 205 && status != 206)
        return DONE;
    *kind = CFBP_ERROR_HTTP;
    append_status(reason, status);
    if (status / 100 == 3)
        cfbp_strbuf_append_string(reason, " without a usable Location");
    else if (status == 204 || status == 205)
        cfbp_strbuf_append_string(reason, ": the server sent no file");
    else if (status == 206)
        cfbp_strbuf_append_string(reason, ": the server sent part of a file asked for whole");
    else
        cfbp_strbuf_append_string(reason, ": not a response that carries a file");
    return FAIL;
}

/* Sets reason to a short description of what went wrong with the attempt, and kind to its kind. */
static enum outcome classify(const char *uri, CURLcode code, const struct attempt *attempt,
                             const char *curl_message, struct cfbp_strbuf *reason,
                             enum cfbp_error_kind *kind)
{
    cfbp_strbuf_reset(reason);
    *kind = CFBP_ERROR_NETWORK;
    if (attempt->refusal != REFUSED_NOTHING) {
        /* Checked first: the backstop may find the fall back after a transfer curl calls done. */
        struct cfbp_strbuf target = CFBP_STRBUF_INIT;
        cfbp_uri_redact(&target, attempt->refused.buf);
        cfbp_strbuf_append_string(reason, attempt->refusal == REFUSED_DOWNGRADE
                                              ? "refused a redirect from https to http ("
                                              : "refused a redirect to a Location holding "
                                                "control characters (");
        cfbp_uri_append_printable(reason, target.buf, SHOWN_TEXT_LIMIT);
        cfbp_strbuf_append_string(reason, attempt->refusal == REFUSED_DOWNGRADE
                                              ? "): a download that reaches https never falls "
                                                "back to http; have the server redirect to https"
                                              : "): curl and this check could read it as "
                                                "different URLs, one of them on http; have the "
                                                "server send a plain URL");
        cfbp_strbuf_release(&target);
        return FAIL;
    }
    if (code == CURLE_OK)
        return judge_final_status(attempt->status, reason, kind);
    if (code == CURLE_UNSUPPORTED_PROTOCOL && attempt->status / 100 == 3) {
        /* CURLOPT_REDIR_PROTOCOLS said no; curl's words ("not supported or disabled in
         * libcurl") would send the reader looking at the wrong thing. */
        cfbp_strbuf_append_string(reason, cfbp_uri_scheme_of(uri) == CFBP_URI_HTTPS
                                              ? "refused a redirect from https to another "
                                                "protocol: a download that starts on https "
                                                "stays on https"
                                              : "refused a redirect to a protocol other than "
                                                "http or https");
        return FAIL;
    }
    if (code == CURLE_HTTP_RETURNED_ERROR) {
        *kind = CFBP_ERROR_HTTP;
        append_status(reason, attempt->status);
        return transient_status(attempt->status) ? RETRY : FAIL;
    }
    if (code == CURLE_WRITE_ERROR && attempt->write_errno) {
        *kind = CFBP_ERROR_IO;
        cfbp_strbuf_append_format(reason, "cannot write the download: %s",
                                  strerror(attempt->write_errno));
        return FAIL;
    }
    if (code == CURLE_OUT_OF_MEMORY && attempt->performed) {
        /* What curl says (as "Out of memory") when a header line passes its limit. */
        cfbp_strbuf_append_string(reason, "the server sent a header line longer than curl "
                                          "accepts");
        return FAIL;
    }
    enum outcome outcome;
    if (classify_proxy_failure(uri, code, attempt, curl_message, reason, &outcome, kind))
        return outcome;
    append_curl_message(reason, code, curl_message, uri, attempt);
    if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE) {
        cfbp_strbuf_append_string(reason, " (TLS verification is always on; trust the server's "
                                          "CA in the system store or with SSL_CERT_FILE)");
        return FAIL;
    }
    return transient_code(code) ? RETRY : FAIL;
}

/* --- the retry loop --- */

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Sleeps, but not past a cancel request: the wait is a poll on cancel.h's descriptor. */
static void sleep_seconds(double seconds)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct pollfd cancel = {.fd = cfbp_cancel_fd(), .events = POLLIN};
    for (;;) {
        double left = seconds - seconds_since(&start);
        if (left <= 0 || cfbp_cancel_requested())
            return;
        if (poll(&cancel, 1, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            return;
    }
}

static int fail_cancelled(struct cfbp_error *err, const char *shown_uri)
{
    int signal_number = cfbp_cancel_signal();
    const char *name = signal_number ? sigabbrev_np(signal_number) : NULL;
    return cfbp_error_set(err, CFBP_ERROR_CANCELLED, "the download of %s was cancelled%s%s",
                          shown_uri, name ? " by SIG" : "", name ? name : "");
}

/* A jitter factor in [0.5, 1.5), from a small xorshift generator. */
static double jitter(void)
{
    static unsigned long long state;
    if (!state) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        state = ((unsigned long long)now.tv_nsec << 20) ^ (unsigned long long)getpid() ^ 0x9e37u;
    }
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return 0.5 + (double)(state % 1000000) / 1000000.0;
}

static int reset_file(int fd)
{
    if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
        return errno;
    return 0;
}

/* The deadline of a whole download, in seconds: CFBP_DOWNLOAD_TIMEOUT, else options->timeout. */
static int download_timeout(const struct cfbp_fetch_options *options, double *seconds,
                            struct cfbp_error *err)
{
    const char *text = getenv(CFBP_FETCH_TIMEOUT_VARIABLE);
    if (!text || !*text) {
        *seconds = options->timeout > 0 ? options->timeout : DEFAULT_TIMEOUT;
        if (*seconds > MAX_TIMEOUT)
            *seconds = MAX_TIMEOUT;
        return 0;
    }
    /* Digits with an optional fraction: strtod alone would take " 1e3", "0x10" or "inf". */
    size_t digits = strspn(text, "0123456789");
    size_t fraction = text[digits] == '.' ? strspn(text + digits + 1, "0123456789") : 0;
    size_t length = digits + (fraction ? 1 + fraction : 0);
    double value = digits > 0 && text[length] == '\0' ? strtod(text, NULL) : -1;
    if (!(value > 0 && value <= MAX_TIMEOUT)) {
        struct cfbp_strbuf shown = CFBP_STRBUF_INIT;
        cfbp_uri_append_printable(&shown, text, SHOWN_TEXT_LIMIT);
        cfbp_error_set(err, CFBP_ERROR_USAGE,
                       "%s is '%s': it must be the number of seconds a download may take, more "
                       "than 0 and at most %.0f (unset, it is %.0f)",
                       CFBP_FETCH_TIMEOUT_VARIABLE, shown.buf, MAX_TIMEOUT, DEFAULT_TIMEOUT);
        cfbp_strbuf_release(&shown);
        return -1;
    }
    *seconds = value;
    return 0;
}

static int fail_timeout(struct cfbp_error *err, const char *shown_uri, double timeout,
                        unsigned attempts, const char *last_reason)
{
    struct cfbp_strbuf what = CFBP_STRBUF_INIT;
    if (last_reason)
        cfbp_strbuf_append_format(&what, " (%u attempt%s, the last failed with: %s)", attempts,
                                  attempts == 1 ? "" : "s", last_reason);
    else if (attempts > 1)
        cfbp_strbuf_append_format(&what, " (%u attempts)", attempts);
    cfbp_error_set(err, CFBP_ERROR_NETWORK,
                   "could not download %s: it did not finish within %g s (%s)%s; check the "
                   "network or raise %s",
                   shown_uri, timeout, CFBP_FETCH_TIMEOUT_VARIABLE, what.buf,
                   CFBP_FETCH_TIMEOUT_VARIABLE);
    cfbp_strbuf_release(&what);
    return -1;
}

static void release_attempt(struct attempt *attempt)
{
    cfbp_strbuf_release(&attempt->refused);
    cfbp_strbuf_release(&attempt->effective_url);
}

static int fetch_http(const char *uri, const char *shown_uri, int fd, double timeout,
                      const struct cfbp_fetch_options *options, struct cfbp_log *log,
                      char sha256_hex[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    if (cfbp_curl_load(err) < 0)
        return -1;
    pthread_once(&curl_once, init_curl);
    if (curl_init_result != CURLE_OK)
        return cfbp_error_set(err, CFBP_ERROR_NETWORK, "cannot initialise libcurl: %s",
                              curl_easy_strerror(curl_init_result));
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct cfbp_strbuf reason = CFBP_STRBUF_INIT;
    double delay = options->retry_delay;
    int result = -1;
    for (unsigned attempt_number = 1;; attempt_number++) {
        if (cfbp_cancel_requested()) {
            result = fail_cancelled(err, shown_uri);
            break;
        }
        double left = timeout - seconds_since(&start);
        if (left <= 0) {
            result = fail_timeout(err, shown_uri, timeout, attempt_number - 1,
                                  reason.len ? reason.buf : NULL);
            break;
        }
        struct attempt attempt = {.fd = fd, .options = options};
        cfbp_strbuf_init(&attempt.refused, 0);
        cfbp_strbuf_init(&attempt.effective_url, 0);
        char curl_message[CURL_ERROR_SIZE] = "";
        int saved = reset_file(fd);
        if (saved) {
            release_attempt(&attempt);
            result = cfbp_error_set_errno(err, CFBP_ERROR_IO, saved,
                                          "cannot write the download of %s", shown_uri);
            break;
        }
        cfbp_digest_start(&attempt.digest, CFBP_DIGEST_SHA256);
        CURLcode code = run_transfer(uri, &attempt, (long)(left * 1000) + 1, curl_message);
        if (code != CURLE_OK && cfbp_cancel_requested()) {
            release_attempt(&attempt);
            cfbp_digest_release(&attempt.digest);
            result = fail_cancelled(err, shown_uri);
            break;
        }
        enum cfbp_error_kind kind;
        enum outcome outcome = classify(uri, code, &attempt, curl_message, &reason, &kind);
        double retry_after = attempt.retry_after;
        release_attempt(&attempt);
        if (outcome == DONE) {
            cfbp_digest_finish_hex(&attempt.digest, sha256_hex);
            result = 0;
            break;
        }
        cfbp_digest_release(&attempt.digest);
        double elapsed = seconds_since(&start);
        if (code == CURLE_OPERATION_TIMEDOUT && elapsed >= timeout - 0.05) {
            /* curl ended the attempt because the download's deadline came. */
            result = fail_timeout(err, shown_uri, timeout, attempt_number, NULL);
            break;
        }
        double wait = delay * jitter();
        if (wait > options->retry_max_delay)
            wait = options->retry_max_delay;
        if (retry_after > wait)
            wait = retry_after;
        if (outcome == FAIL) {
            result = cfbp_error_set(err, kind, "could not download %s: %s", shown_uri, reason.buf);
            break;
        }
        if (attempt_number >= options->max_attempts || elapsed + wait > options->retry_budget) {
            result = cfbp_error_set(err, CFBP_ERROR_NETWORK,
                                    "could not download %s after %u attempt%s: %s", shown_uri,
                                    attempt_number, attempt_number == 1 ? "" : "s", reason.buf);
            break;
        }
        if (elapsed + wait >= timeout) {
            /* Waiting would take the download past its deadline: say so now. */
            result = fail_timeout(err, shown_uri, timeout, attempt_number, reason.buf);
            break;
        }
        cfbp_log_info(log, "error: %s, retrying in %.2fs...", reason.buf, wait);
        sleep_seconds(wait);
        delay *= options->retry_factor;
    }
    cfbp_strbuf_release(&reason);
    return result;
}

static int fetch_local(const char *uri, const char *shown_uri, int fd,
                       const struct cfbp_fetch_options *options,
                       char sha256_hex[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    unsigned long long copied = 0;
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    if (cfbp_uri_file_path(&path, uri, err) < 0) {
        cfbp_strbuf_release(&path);
        return -1;
    }
    int in = open(path.buf, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        int saved = errno;
        cfbp_error_set_errno(err, saved == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO, saved,
                             "could not read %s", path.buf);
        cfbp_strbuf_release(&path);
        return -1;
    }
    struct cfbp_digest digest;
    cfbp_digest_start(&digest, CFBP_DIGEST_SHA256);
    size_t buffer_size = 1 << 17;
    char *buffer = cfbp_xmalloc(buffer_size);
    int result = 0;
    for (;;) {
        if (cfbp_cancel_requested()) {
            result = fail_cancelled(err, shown_uri);
            break;
        }
        ssize_t got = cfbp_fs_read(in, buffer, buffer_size);
        if (got <= 0) {
            if (got < 0)
                result =
                    cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "could not read %s", path.buf);
            break;
        }
        int saved = cfbp_fs_write_all(fd, buffer, (size_t)got);
        if (saved) {
            result = cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot write the copy of %s",
                                          path.buf);
            break;
        }
        cfbp_digest_update(&digest, buffer, (size_t)got);
        if (options->body)
            options->body(options->body_data, buffer, (size_t)got, copied);
        copied += (unsigned long long)got;
    }
    close(in);
    free(buffer);
    if (result == 0)
        cfbp_digest_finish_hex(&digest, sha256_hex);
    else
        cfbp_digest_release(&digest);
    cfbp_strbuf_release(&path);
    return result;
}

int cfbp_fetch_to_file(const char *uri, const char *path, const struct cfbp_fetch_options *options,
                       struct cfbp_log *log, char sha256_hex[CFBP_DIGEST_HEX_SIZE],
                       struct cfbp_error *err)
{
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT;
    cfbp_uri_redact(&shown, uri);
    enum cfbp_uri_scheme scheme = cfbp_uri_scheme_of(uri);
    int result;
    int fd = -1;
    if (scheme == CFBP_URI_OTHER) {
        result = cfbp_error_set(err, CFBP_ERROR_INVALID,
                                "cannot download %s: only http, https and file URIs are supported",
                                shown.buf);
        goto out;
    }
    double timeout = 0;
    if (scheme != CFBP_URI_FILE && download_timeout(options, &timeout, err) < 0) {
        result = -1;
        goto out;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot write %s", path);
        goto out;
    }
    if (scheme == CFBP_URI_FILE)
        result = fetch_local(uri, shown.buf, fd, options, sha256_hex, err);
    else
        result = fetch_http(uri, shown.buf, fd, timeout, options, log, sha256_hex, err);
    if (close(fd) < 0 && result == 0)
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot write %s", path);
    if (result < 0)
        unlink(path);
out:
    cfbp_strbuf_release(&shown);
    return result;
}
