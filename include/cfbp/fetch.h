/*
 * fetch.h - downloading one URI into one file, hashing as it arrives.
 *
 * http and https go through libcurl; file:// URIs are read from disk. The
 * SHA-256 of the bytes written is computed in the same pass, so nobody reads
 * the file twice and nothing is held in memory.
 *
 * Failures worth retrying (no connection, timeouts, truncated bodies, HTTP
 * 5xx, 408 and 429) are retried with exponential backoff and jitter within a
 * time budget, honouring Retry-After; each retry is logged as libbuildpack
 * does ("error: <why>, retrying in <t>..."). Any other 4xx fails at once:
 * retrying a 404 for a minute, as libbuildpack does, helps nobody.
 *
 * TLS peers are always verified (SSL_CERT_FILE / SSL_CERT_DIR may add trust,
 * as they do for Go programs). http_proxy, https_proxy, HTTP_PROXY,
 * HTTPS_PROXY, no_proxy and NO_PROXY are honoured. Messages show URIs with
 * their credentials redacted.
 */
#ifndef CFBP_FETCH_H
#define CFBP_FETCH_H

#include "cfbp/digest.h"

#include <stdbool.h>

struct cfbp_log;
struct cfbp_error;

/* Called as bytes arrive; total is 0 while unknown. */
typedef void (*cfbp_fetch_progress_fn)(void *data, unsigned long long received,
                                       unsigned long long total);

struct cfbp_fetch_options {
    long connect_timeout;   /* seconds to connect (default 30) */
    long low_speed_limit;   /* bytes per second counted as a stall (default 1) */
    long low_speed_time;    /* seconds of stall before giving up an attempt (default 30) */
    double retry_delay;     /* first wait before retrying, seconds (default 1.0, ±50%) */
    double retry_factor;    /* each wait is this much longer (default 1.5) */
    double retry_max_delay; /* no single wait is longer (default 15) */
    double retry_budget;    /* no retry starts after this many seconds (default 60) */
    unsigned max_attempts;  /* attempts in all (default 8) */
    cfbp_fetch_progress_fn progress;
    void *progress_data;
};

void cfbp_fetch_options_init(struct cfbp_fetch_options *options);

/*
 * Downloads uri into path (created or truncated, mode 0644) and puts the
 * SHA-256 of its bytes in sha256_hex. On failure path is removed. Retries are
 * logged to log (which may be NULL).
 */
int cfbp_fetch_to_file(const char *uri, const char *path, const struct cfbp_fetch_options *options,
                       struct cfbp_log *log, char sha256_hex[CFBP_DIGEST_HEX_SIZE],
                       struct cfbp_error *err);

#endif
