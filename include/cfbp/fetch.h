/*
 * fetch.h - downloading one URI into one file, hashing as it arrives.
 *
 * http and https go through libcurl; file:// URIs are read from disk. The
 * SHA-256 of the bytes written is computed in the same pass, so nobody reads
 * the file twice and nothing is held in memory.
 *
 * Failures worth retrying (no connection, timeouts, stalls, truncated bodies,
 * HTTP 5xx, 408 and 429) are retried with exponential backoff and jitter
 * within a time budget, honouring Retry-After; each retry is logged as
 * libbuildpack does ("error: <why>, retrying in <t>..."). Any other 4xx fails
 * at once: retrying a 404 for a minute, as libbuildpack does, helps nobody.
 *
 * Time limits. A whole download, every attempt and every wait between
 * attempts included, ends within a deadline: CFBP_DOWNLOAD_TIMEOUT seconds
 * when that environment variable is set (a number greater than 0 and at most
 * 86400; an empty value counts as unset; anything else fails the download
 * with an error naming the variable), else options->timeout (default 900,
 * Cloud Foundry's default staging timeout). Each attempt is given what is left
 * of it, so a server that trickles bytes cannot hold a download past it, and
 * a retry whose wait would end past it is not waited for. The error then says
 * "could not download <uri>: it did not finish within 900 s
 * (CFBP_DOWNLOAD_TIMEOUT)...; check the network or raise CFBP_DOWNLOAD_TIMEOUT".
 * Within the deadline, an attempt that moves fewer than low_speed_limit bytes
 * a second for low_speed_time seconds is a stall, and retried.
 *
 * Only a final 2xx response that carries a file is a download: a 204, 205
 * or 206 (nothing asks for a range), or a 3xx that curl did not follow (no
 * Location, or one it could not use), fails at once ("HTTP 302 Found without
 * a usable Location") instead of leaving a file that fails its checksum.
 *
 * Redirects are followed (up to 10) but never from https to http: a download
 * that starts on https stays on https, and one that starts on http may move
 * to https, never back. The Location of each redirect is read as curl reads
 * it (any whitespace around it trimmed), and one holding a control character
 * is refused. Behind those checks, a backstop that reads nothing the server
 * sent: a transfer in which a response came from an https URL and a later
 * one from http fails the same way, and what it got is thrown away.
 *
 * TLS peers are always verified (SSL_CERT_FILE / SSL_CERT_DIR may add trust,
 * as they do for Go programs). http_proxy, https_proxy, HTTP_PROXY,
 * HTTPS_PROXY, all_proxy, ALL_PROXY, no_proxy and NO_PROXY are honoured. A
 * proxy setting curl cannot use (not a URL, a scheme curl does not take, a
 * password with an unescaped '?', '#', '/' or '@' that curl reads as the
 * host) is a mistake in the configuration: the download fails at once with
 * an error naming the variable. A proxy host that does not resolve is
 * retried, as any host is.
 *
 * Messages show URIs, and proxy settings, with their credentials redacted
 * (cfbp_uri_redact).
 * Nothing a server sends reaches them as sent: an HTTP failure is named by
 * its status code and our own phrase for it ("HTTP 503 Service Unavailable",
 * "HTTP 599" for a code we do not know), never the server's reason phrase,
 * and any other text from the network (curl's description of a failure, which
 * can quote a redirect target) is made printable and cut to a few hundred
 * bytes, or replaced by curl's fixed text for the failure when it quotes a
 * piece of the credentials of the URI, of the last URL fetched or of a proxy
 * variable.
 */
#ifndef CFBP_FETCH_H
#define CFBP_FETCH_H

#include "cfbp/digest.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_log;
struct cfbp_error;

/* Called as bytes arrive; total is 0 while unknown. */
typedef void (*cfbp_fetch_progress_fn)(void *data, unsigned long long received,
                                       unsigned long long total);

/*
 * Called with each piece of the body after it was written to the file, and
 * where it starts in the file. A retry starts the file again at offset 0.
 */
typedef void (*cfbp_fetch_body_fn)(void *data, const char *bytes, size_t length,
                                   unsigned long long offset);

/* The environment variable that sets the deadline of a whole download, in seconds. */
#define CFBP_FETCH_TIMEOUT_VARIABLE "CFBP_DOWNLOAD_TIMEOUT"

struct cfbp_fetch_options {
    double timeout;         /* seconds for the whole download, unless CFBP_DOWNLOAD_TIMEOUT says
                               otherwise (default 900; 0 or less means 900, at most 86400) */
    long connect_timeout;   /* seconds to connect (default 30) */
    long low_speed_limit;   /* an attempt slower than this many bytes a second ... (default 1024) */
    long low_speed_time;    /* ... for this many seconds is a stall (default 30) */
    double retry_delay;     /* first wait before retrying, seconds (default 1.0, ±50%) */
    double retry_factor;    /* each wait is this much longer (default 1.5) */
    double retry_max_delay; /* no single wait is longer (default 15) */
    double retry_budget;    /* no retry starts after this many seconds (default 60) */
    unsigned max_attempts;  /* attempts in all (default 8) */
    cfbp_fetch_progress_fn progress;
    void *progress_data;
    cfbp_fetch_body_fn body; /* may be NULL */
    void *body_data;
};

void cfbp_fetch_options_init(struct cfbp_fetch_options *options);

/*
 * Downloads uri into path (created or truncated, mode 0644) and puts the
 * SHA-256 of its bytes in sha256_hex. On failure path is removed. Retries are
 * logged to log (which may be NULL). Fails with CFBP_ERROR_USAGE when
 * CFBP_DOWNLOAD_TIMEOUT is not a valid number of seconds or a proxy setting
 * cannot be used, CFBP_ERROR_HTTP on a status that is not retried (a 4xx, or
 * a final response that is not a download), CFBP_ERROR_NETWORK when the
 * deadline passes, attempts run out, or a redirect is refused, and
 * CFBP_ERROR_CANCELLED within a second of cfbp_cancel_request() (cancel.h),
 * also while waiting to retry.
 */
int cfbp_fetch_to_file(const char *uri, const char *path, const struct cfbp_fetch_options *options,
                       struct cfbp_log *log, char sha256_hex[CFBP_DIGEST_HEX_SIZE],
                       struct cfbp_error *err);

#ifdef __cplusplus
}
#endif

#endif
