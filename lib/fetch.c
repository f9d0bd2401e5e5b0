/*
 * fetch.c - downloads with retries, hashing as bytes arrive (see fetch.h).
 *
 * One attempt is one libcurl transfer into the (truncated) destination file.
 * After it, classify() decides: done, retry after a backoff, or fail now.
 */
/* CURLOPT_PROTOCOLS is deprecated since curl 7.85, but cflinuxfs4 ships 7.81,
 * which lacks its replacement CURLOPT_PROTOCOLS_STR (contract §16). */
#define CURL_DISABLE_DEPRECATION 1

#include "cfbp/fetch.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/log.h"
#include "cfbp/strbuf.h"
#include "cfbp/uri.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
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

void cfbp_fetch_options_init(struct cfbp_fetch_options *options)
{
    memset(options, 0, sizeof(*options));
    options->connect_timeout = 30;
    options->low_speed_limit = 1;
    options->low_speed_time = 30;
    options->retry_delay = 1.0;
    options->retry_factor = 1.5;
    options->retry_max_delay = 15;
    options->retry_budget = 60;
    options->max_attempts = 8;
}

/* --- one attempt --- */

struct attempt {
    int fd;
    struct cfbp_digest digest;
    unsigned long long received;
    int write_errno;
    long status;
    struct cfbp_strbuf status_line; /* reason phrase of the last response */
    double retry_after;             /* seconds, from a Retry-After header, or 0 */
    const struct cfbp_fetch_options *options;
};

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
    struct attempt *attempt = user;
    size_t length = size * count;
    int saved = cfbp_fs_write_all(attempt->fd, data, length);
    if (saved) {
        attempt->write_errno = saved;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    cfbp_digest_update(&attempt->digest, data, length);
    attempt->received += length;
    return length;
}

static size_t on_header(char *data, size_t size, size_t count, void *user)
{
    struct attempt *attempt = user;
    size_t length = size * count;
    if (length > 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response (redirects give several): keep its reason phrase. */
        const char *code = memchr(data, ' ', length);
        cfbp_strbuf_reset(&attempt->status_line);
        if (code) {
            size_t rest = length - (size_t)(code + 1 - data);
            cfbp_strbuf_append(&attempt->status_line, code + 1, rest);
            cfbp_strbuf_trim(&attempt->status_line);
        }
        attempt->retry_after = 0;
    } else if (length > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        char *end;
        double seconds = strtod(data + 12, &end);
        if (end != data + 12 && seconds > 0)
            attempt->retry_after = seconds;
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
    return 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void init_curl(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* curl reads only lowercase http_proxy; Go (and users) also set HTTP_PROXY. */
static void set_proxy_from_environment(CURL *curl, const char *uri)
{
    if (cfbp_uri_scheme_of(uri) == CFBP_URI_HTTP && !getenv("http_proxy")) {
        const char *proxy = getenv("HTTP_PROXY");
        if (proxy && *proxy)
            curl_easy_setopt(curl, CURLOPT_PROXY, proxy);
    }
    const char *no_proxy = getenv("no_proxy");
    if (!no_proxy)
        no_proxy = getenv("NO_PROXY");
    if (no_proxy)
        curl_easy_setopt(curl, CURLOPT_NOPROXY, no_proxy);
}

static CURLcode run_transfer(const char *uri, struct attempt *attempt, char *curl_message)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return CURLE_OUT_OF_MEMORY;
    const struct cfbp_fetch_options *options = attempt->options;
    curl_easy_setopt(curl, CURLOPT_URL, uri);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_message);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
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
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, options->progress ? 0L : 1L);
    const char *ca_file = getenv("SSL_CERT_FILE");
    const char *ca_dir = getenv("SSL_CERT_DIR");
    if (ca_file && *ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file);
    if (ca_dir && *ca_dir)
        curl_easy_setopt(curl, CURLOPT_CAPATH, ca_dir);
    set_proxy_from_environment(curl, uri);
    CURLcode code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &attempt->status);
    curl_easy_cleanup(curl);
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

/* Sets reason to a short description of what went wrong with the attempt. */
static enum outcome classify(CURLcode code, const struct attempt *attempt, const char *curl_message,
                             struct cfbp_strbuf *reason)
{
    cfbp_strbuf_reset(reason);
    if (code == CURLE_OK)
        return DONE;
    if (code == CURLE_HTTP_RETURNED_ERROR) {
        if (attempt->status_line.len)
            cfbp_strbuf_append_format(reason, "%s", attempt->status_line.buf);
        else
            cfbp_strbuf_append_format(reason, "HTTP %ld", attempt->status);
        return transient_status(attempt->status) ? RETRY : FAIL;
    }
    if (code == CURLE_WRITE_ERROR && attempt->write_errno) {
        cfbp_strbuf_append_format(reason, "cannot write the download: %s",
                                  strerror(attempt->write_errno));
        return FAIL;
    }
    cfbp_strbuf_append_string(reason, *curl_message ? curl_message : curl_easy_strerror(code));
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

static void sleep_seconds(double seconds)
{
    struct timespec wait = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&wait, &wait) < 0 && errno == EINTR)
        ;
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

static int fetch_http(const char *uri, const char *shown_uri, int fd,
                      const struct cfbp_fetch_options *options, struct cfbp_log *log,
                      char sha256_hex[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
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
        struct attempt attempt = {.fd = fd, .options = options};
        cfbp_strbuf_init(&attempt.status_line, 0);
        char curl_message[CURL_ERROR_SIZE] = "";
        int saved = reset_file(fd);
        if (saved) {
            cfbp_strbuf_release(&attempt.status_line);
            result = cfbp_error_set_errno(err, CFBP_ERROR_IO, saved,
                                          "cannot write the download of %s", shown_uri);
            break;
        }
        cfbp_digest_start(&attempt.digest, CFBP_DIGEST_SHA256);
        CURLcode code = run_transfer(uri, &attempt, curl_message);
        enum outcome outcome = classify(code, &attempt, curl_message, &reason);
        double retry_after = attempt.retry_after;
        cfbp_strbuf_release(&attempt.status_line);
        if (outcome == DONE) {
            cfbp_digest_finish_hex(&attempt.digest, sha256_hex);
            result = 0;
            break;
        }
        cfbp_digest_release(&attempt.digest);
        double wait = delay * jitter();
        if (wait > options->retry_max_delay)
            wait = options->retry_max_delay;
        if (retry_after > wait)
            wait = retry_after;
        bool out_of_budget = seconds_since(&start) + wait > options->retry_budget;
        if (outcome == FAIL) {
            result = cfbp_error_set(err,
                                    code == CURLE_HTTP_RETURNED_ERROR ? CFBP_ERROR_HTTP
                                    : attempt.write_errno             ? CFBP_ERROR_IO
                                                                      : CFBP_ERROR_NETWORK,
                                    "could not download %s: %s", shown_uri, reason.buf);
            break;
        }
        if (attempt_number >= options->max_attempts || out_of_budget) {
            result = cfbp_error_set(err, CFBP_ERROR_NETWORK,
                                    "could not download %s after %u attempts: %s", shown_uri,
                                    attempt_number, reason.buf);
            break;
        }
        cfbp_log_info(log, "error: %s, retrying in %.2fs...", reason.buf, wait);
        sleep_seconds(wait);
        delay *= options->retry_factor;
    }
    cfbp_strbuf_release(&reason);
    return result;
}

static int fetch_local(const char *uri, int fd, char sha256_hex[CFBP_DIGEST_HEX_SIZE],
                       struct cfbp_error *err)
{
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
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot write %s", path);
        goto out;
    }
    if (scheme == CFBP_URI_FILE)
        result = fetch_local(uri, fd, sha256_hex, err);
    else
        result = fetch_http(uri, shown.buf, fd, options, log, sha256_hex, err);
    if (close(fd) < 0 && result == 0)
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot write %s", path);
    if (result < 0)
        unlink(path);
out:
    cfbp_strbuf_release(&shown);
    return result;
}
