/*
 * test_fetch.c - downloads over a real loopback HTTP server with scripted
 * faults: retries on 5xx, truncated bodies, stalls and hang-ups; no retry on
 * 404; proxies from the environment; credentials never shown. Hostile
 * servers: one that drips bytes for ever is cut at the deadline
 * (CFBP_DOWNLOAD_TIMEOUT), one that redirects https to http is refused
 * however it spells the Location or the status line, a final response that
 * is not a file fails, and nothing a server says in its status line reaches a
 * message. Proxy settings curl cannot use fail at once, their credentials
 * unshown.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/fetch.h"
#include "cfbp/log.h"

#include "http_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BODY "the dependency's bytes\n"

/* Every variable curl or cfbp reads a proxy from; the tests start with none set. */
static const char *const proxy_variables[] = {"http_proxy",  "https_proxy", "HTTP_PROXY",
                                              "HTTPS_PROXY", "all_proxy",   "ALL_PROXY",
                                              "no_proxy",    "NO_PROXY"};

static void unset_proxies(void)
{
    for (size_t i = 0; i < sizeof(proxy_variables) / sizeof(*proxy_variables); i++)
        unsetenv(proxy_variables[i]);
}

struct fixture {
    char *dir;
    char *target;
    struct test_http_server *server;
    struct test_tls_server *tls;
    struct cfbp_fetch_options options;
    struct cfbp_error err;
    char *log_text;
    size_t log_size;
    FILE *log_stream;
    struct cfbp_log log;
    char sha256[CFBP_DIGEST_HEX_SIZE];
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->target = test_path(fixture->dir, "download");
    cfbp_fetch_options_init(&fixture->options);
    fixture->options.retry_delay = 0.05;
    fixture->options.retry_max_delay = 0.2;
    fixture->options.retry_budget = 10;
    unsetenv("CFBP_DOWNLOAD_TIMEOUT");
    unset_proxies();
    fixture->log_stream = open_memstream(&fixture->log_text, &fixture->log_size);
    cfbp_log_init(&fixture->log, fixture->log_stream, false);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    if (fixture->server)
        test_http_server_stop(fixture->server);
    if (fixture->tls)
        test_tls_server_stop(fixture->tls);
    unsetenv("CFBP_DOWNLOAD_TIMEOUT");
    unsetenv("SSL_CERT_FILE");
    unset_proxies();
    fclose(fixture->log_stream);
    free(fixture->log_text);
    cfbp_error_clear(&fixture->err);
    free(fixture->target);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

static void serve(struct fixture *fixture, const struct test_http_response *script, size_t steps)
{
    struct test_http_route route = {"/dep.tgz", script, steps};
    fixture->server = test_http_server_start(&route, 1);
}

static int fetch(struct fixture *fixture, const char *uri)
{
    return cfbp_fetch_to_file(uri, fixture->target, &fixture->options, &fixture->log,
                              fixture->sha256, &fixture->err);
}

static int fetch_path(struct fixture *fixture, const char *path)
{
    char *url = test_http_server_url(fixture->server, path);
    int result = fetch(fixture, url);
    free(url);
    return result;
}

static const char *logged(struct fixture *fixture)
{
    fflush(fixture->log_stream);
    return fixture->log_text ? fixture->log_text : "";
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *at = strstr(text, needle); at; at = strstr(at + 1, needle))
        n++;
    return n;
}

static void assert_downloaded(struct fixture *fixture)
{
    char *text = test_read_file(fixture->target);
    assert_non_null(text);
    assert_string_equal(text, BODY);
    free(text);
    assert_string_equal(fixture->sha256, test_sha256_of_file(fixture->target));
}

static void downloads_and_hashes(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response ok[] = {{200, BODY, NULL, 0, 0, false, NULL}};
    serve(fixture, ok, 1);
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), 0);
    assert_downloaded(fixture);
    assert_int_equal(test_http_server_hits(fixture->server, "/dep.tgz"), 1);
    assert_string_equal(logged(fixture), "");
}

static void retries_503_then_succeeds(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response script[] = {
        {503, "busy\n", NULL, 0, 0, false, NULL},
        {503, "busy\n", NULL, 0, 0, false, NULL},
        {200, BODY, NULL, 0, 0, false, NULL},
    };
    serve(fixture, script, 3);
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), 0);
    assert_downloaded(fixture);
    assert_int_equal(test_http_server_hits(fixture->server, "/dep.tgz"), 3);
    assert_int_equal(
        count(logged(fixture), "       error: HTTP 503 Service Unavailable, retrying in "), 2);
}

static void gives_up_at_once_on_404(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response missing[] = {{404, "no\n", NULL, 0, 0, false, NULL}};
    serve(fixture, missing, 1);
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_HTTP);
    assert_non_null(strstr(fixture->err.message, "could not download http://127.0.0.1:"));
    assert_non_null(strstr(fixture->err.message, "/dep.tgz: HTTP 404 Not Found"));
    assert_int_equal(test_http_server_hits(fixture->server, "/dep.tgz"), 1);
    assert_string_equal(logged(fixture), "");
    assert_false(test_exists(fixture->target));
}

static void retries_a_truncated_body(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response script[] = {
        {200, BODY, NULL, 5, 0, false, NULL},
        {200, BODY, NULL, 0, 0, false, NULL},
    };
    serve(fixture, script, 2);
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), 0);
    assert_downloaded(fixture);
    assert_int_equal(test_http_server_hits(fixture->server, "/dep.tgz"), 2);
    assert_int_equal(count(logged(fixture), "retrying in"), 1);
}

static void retries_a_stalled_transfer(void **state)
{
    struct fixture *fixture = *state;
    fixture->options.low_speed_time = 1;
    static const struct test_http_response script[] = {
        {200, BODY, NULL, 0, 2000, false, NULL},
        {200, BODY, NULL, 0, 0, false, NULL},
    };
    serve(fixture, script, 2);
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), 0);
    assert_downloaded(fixture);
    assert_int_equal(count(logged(fixture), "retrying in"), 1);
}

static void retries_a_hang_up(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response script[] = {
        {0, NULL, NULL, 0, 0, true, NULL},
        {200, BODY, NULL, 0, 0, false, NULL},
    };
    serve(fixture, script, 2);
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), 0);
    assert_downloaded(fixture);
    assert_int_equal(count(logged(fixture), "retrying in"), 1);
}

static void gives_up_after_the_attempts(void **state)
{
    struct fixture *fixture = *state;
    fixture->options.max_attempts = 3;
    static const struct test_http_response broken[] = {{500, "x\n", NULL, 0, 0, false, NULL}};
    serve(fixture, broken, 1);
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NETWORK);
    assert_non_null(
        strstr(fixture->err.message, "after 3 attempts: HTTP 500 Internal Server Error"));
    assert_int_equal(test_http_server_hits(fixture->server, "/dep.tgz"), 3);
    assert_int_equal(count(logged(fixture), "retrying in"), 2);
    assert_false(test_exists(fixture->target));
}

static void honours_retry_after(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response script[] = {
        {429, "slow down\n", NULL, 0, 0, false, "Retry-After: 1\r\n"},
        {200, BODY, NULL, 0, 0, false, NULL},
    };
    serve(fixture, script, 2);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), 0);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    assert_true(seconds >= 0.95);
    assert_non_null(
        strstr(logged(fixture), "error: HTTP 429 Too Many Requests, retrying in 1.00s..."));
}

static void retries_refused_connections_until_the_budget(void **state)
{
    struct fixture *fixture = *state;
    fixture->options.retry_budget = 0.5;
    /* A port nothing listens on: start a server, note its port, stop it. */
    static const struct test_http_response ok[] = {{200, BODY, NULL, 0, 0, false, NULL}};
    serve(fixture, ok, 1);
    char *url = test_http_server_url(fixture->server, "/dep.tgz");
    test_http_server_stop(fixture->server);
    fixture->server = NULL;
    assert_int_equal(fetch(fixture, url), -1);
    free(url);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NETWORK);
    assert_non_null(strstr(fixture->err.message, "attempts"));
    assert_true(count(logged(fixture), "retrying in") >= 1);
}

static void never_shows_credentials(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response missing[] = {{403, "no\n", NULL, 0, 0, false, NULL}};
    serve(fixture, missing, 1);
    char url[128];
    snprintf(url, sizeof(url), "http://deploy:s3cr3t@127.0.0.1:%u/dep.tgz",
             test_http_server_port(fixture->server));
    assert_int_equal(fetch(fixture, url), -1);
    assert_null(strstr(fixture->err.message, "s3cr3t"));
    assert_null(strstr(fixture->err.message, "deploy"));
    assert_non_null(strstr(fixture->err.message, "http://-redacted-:-redacted-@127.0.0.1:"));
}

static void uses_the_proxy_from_the_environment(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response ok[] = {{200, BODY, NULL, 0, 0, false, NULL}};
    serve(fixture, ok, 1);
    char *proxy = test_http_server_url(fixture->server, "");
    setenv("http_proxy", proxy, 1);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    int result = fetch(fixture, "http://dependencies.example.invalid/dep.tgz");
    unsetenv("http_proxy");
    free(proxy);
    assert_int_equal(result, 0);
    assert_downloaded(fixture);
    assert_int_equal(test_http_server_proxy_hits(fixture->server), 1);
}

static void uses_the_uppercase_proxy_variable(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response ok[] = {{200, BODY, NULL, 0, 0, false, NULL}};
    serve(fixture, ok, 1);
    char *proxy = test_http_server_url(fixture->server, "");
    unsetenv("http_proxy");
    setenv("HTTP_PROXY", proxy, 1);
    int result = fetch(fixture, "http://dependencies.example.invalid/dep.tgz");
    unsetenv("HTTP_PROXY");
    free(proxy);
    assert_int_equal(result, 0);
    assert_int_equal(test_http_server_proxy_hits(fixture->server), 1);
}

static void no_proxy_bypasses_the_proxy(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response ok[] = {{200, BODY, NULL, 0, 0, false, NULL}};
    serve(fixture, ok, 1);
    setenv("http_proxy", "http://127.0.0.1:9", 1); /* nothing listens on the discard port */
    setenv("no_proxy", "127.0.0.1", 1);
    int result = fetch_path(fixture, "/dep.tgz");
    unsetenv("http_proxy");
    unsetenv("no_proxy");
    assert_int_equal(result, 0);
    assert_int_equal(test_http_server_proxy_hits(fixture->server), 0);
    assert_int_equal(test_http_server_hits(fixture->server, "/dep.tgz"), 1);
}

static void reads_file_uris(void **state)
{
    struct fixture *fixture = *state;
    char *source = test_path(fixture->dir, "local dep.tgz");
    test_write_file(source, BODY, 0644);
    char uri[4200];
    snprintf(uri, sizeof(uri), "file://%s", source);
    char *space = strstr(uri, " ");
    memmove(space + 3, space + 1, strlen(space + 1) + 1);
    memcpy(space, "%20", 3);
    assert_int_equal(fetch(fixture, uri), 0);
    assert_downloaded(fixture);
    free(source);
    assert_int_equal(fetch(fixture, "file:///nonexistent/dep.tgz"), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NOT_FOUND);
}

static void refuses_other_schemes(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(fetch(fixture, "ftp://example.com/dep.tgz"), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    assert_non_null(strstr(fixture->err.message, "only http, https and file URIs"));
}

static void reports_an_unwritable_target(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response ok[] = {{200, BODY, NULL, 0, 0, false, NULL}};
    serve(fixture, ok, 1);
    free(fixture->target);
    fixture->target = test_path(fixture->dir, "missing/dir/download");
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_IO);
    assert_non_null(strstr(fixture->err.message, "missing/dir/download"));
}

static void verifies_tls_peers(void **state)
{
    struct fixture *fixture = *state;
    fixture->tls = test_tls_server_start(fixture->dir);
    test_tls_server_respond(fixture->tls, "/dep.tgz", 200, NULL, BODY);
    char *url = test_tls_server_url(fixture->tls, "/dep.tgz");
    unsetenv("SSL_CERT_FILE");
    assert_int_equal(fetch(fixture, url), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NETWORK);
    assert_non_null(strstr(fixture->err.message, "TLS verification is always on"));
    setenv("SSL_CERT_FILE", test_tls_server_certificate(fixture->tls), 1);
    assert_int_equal(fetch(fixture, url), 0);
    assert_downloaded(fixture);
    free(url);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* A server that sends two bytes a second and never finishes. */
static void serve_a_drip(struct fixture *fixture)
{
    static const struct test_http_response drip[] = {{200, BODY, NULL, 0, 0, false, NULL}};
    serve(fixture, drip, 1);
    test_http_server_set_hostility(fixture->server, "/dep.tgz",
                                   &(struct test_http_hostility){.drip_ms = 500});
}

static void cuts_a_dripping_server_at_the_deadline(void **state)
{
    struct fixture *fixture = *state;
    serve_a_drip(fixture);
    fixture->options.timeout = 2;
    fixture->options.low_speed_limit = 1; /* two bytes a second is no stall at this limit */
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), -1);
    double seconds = seconds_since(&start);
    print_message("      the dripping download was cut after %.2f s (deadline 2 s)\n", seconds);
    assert_true(seconds >= 1.9);
    assert_true(seconds < 3.0);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NETWORK);
    assert_non_null(strstr(fixture->err.message, "/dep.tgz: it did not finish within 2 s "
                                                 "(CFBP_DOWNLOAD_TIMEOUT); check the network or "
                                                 "raise CFBP_DOWNLOAD_TIMEOUT"));
    assert_int_equal(test_http_server_hits(fixture->server, "/dep.tgz"), 1);
    assert_string_equal(logged(fixture), "");
    assert_false(test_exists(fixture->target));
}

static void a_trickle_below_the_low_speed_limit_is_a_stall(void **state)
{
    struct fixture *fixture = *state;
    serve_a_drip(fixture);
    assert_int_equal(fixture->options.low_speed_limit, 1024);
    fixture->options.low_speed_time = 1;
    fixture->options.max_attempts = 2;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), -1);
    double seconds = seconds_since(&start);
    print_message("      two stalled attempts took %.2f s\n", seconds);
    assert_true(seconds < 5.0);
    assert_non_null(strstr(fixture->err.message, "after 2 attempts: Operation too slow"));
    assert_int_equal(test_http_server_hits(fixture->server, "/dep.tgz"), 2);
    assert_int_equal(count(logged(fixture), "retrying in"), 1);
}

static void the_environment_caps_a_retry_sequence(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response busy[] = {{503, "busy\n", NULL, 0, 0, false, NULL}};
    serve(fixture, busy, 1);
    /* Left alone, these rules would retry for a minute. */
    fixture->options.retry_budget = 60;
    fixture->options.max_attempts = 1000;
    fixture->options.retry_delay = 0.2;
    fixture->options.retry_max_delay = 0.3;
    setenv("CFBP_DOWNLOAD_TIMEOUT", "1.5", 1);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), -1);
    double seconds = seconds_since(&start);
    print_message("      the retries stopped after %.2f s (deadline 1.5 s)\n", seconds);
    assert_true(seconds < 2.0);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NETWORK);
    assert_non_null(strstr(fixture->err.message, "it did not finish within 1.5 s "
                                                 "(CFBP_DOWNLOAD_TIMEOUT) ("));
    assert_non_null(strstr(fixture->err.message, "the last failed with: HTTP 503 Service "
                                                 "Unavailable); check the network or raise "
                                                 "CFBP_DOWNLOAD_TIMEOUT"));
    assert_true(test_http_server_hits(fixture->server, "/dep.tgz") >= 3);
    assert_true(count(logged(fixture), "retrying in") >= 2);
}

static void the_environment_can_raise_the_deadline(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response slow[] = {{200, BODY, NULL, 0, 1000, false, NULL}};
    serve(fixture, slow, 1);
    fixture->options.timeout = 0.5;
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), -1);
    assert_non_null(strstr(fixture->err.message, "did not finish within 0.5 s"));
    setenv("CFBP_DOWNLOAD_TIMEOUT", "5", 1);
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), 0);
    assert_downloaded(fixture);
    setenv("CFBP_DOWNLOAD_TIMEOUT", "", 1); /* empty counts as unset */
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), -1);
    assert_non_null(strstr(fixture->err.message, "did not finish within 0.5 s"));
}

static void refuses_a_bad_deadline_in_the_environment(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response ok[] = {{200, BODY, NULL, 0, 0, false, NULL}};
    serve(fixture, ok, 1);
    const char *bad[] = {"abc",  "0",   "0.0", "-5", "12s", " 5",    "1e3",
                         "0x10", "inf", "nan", "5.", ".5",  "86401", "\x1b[31m"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        setenv("CFBP_DOWNLOAD_TIMEOUT", bad[i], 1);
        if (fetch_path(fixture, "/dep.tgz") != -1)
            fail_msg("CFBP_DOWNLOAD_TIMEOUT='%s' was accepted", bad[i]);
        assert_int_equal(fixture->err.kind, CFBP_ERROR_USAGE);
        assert_non_null(strstr(fixture->err.message, "CFBP_DOWNLOAD_TIMEOUT is '"));
        assert_non_null(strstr(fixture->err.message, "': it must be the number of seconds a "
                                                     "download may take, more than 0 and at most "
                                                     "86400 (unset, it is 900)"));
        assert_null(strchr(fixture->err.message, '\x1b'));
        assert_false(test_exists(fixture->target));
    }
    assert_int_equal(test_http_server_hits(fixture->server, "/dep.tgz"), 0);
    setenv("CFBP_DOWNLOAD_TIMEOUT", "86400", 1);
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), 0);
    setenv("CFBP_DOWNLOAD_TIMEOUT", "0.25", 1);
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), 0);
}

/* An https server that trusts nobody but is trusted, and a Location header line for url. */
static void start_tls(struct fixture *fixture)
{
    fixture->tls = test_tls_server_start(fixture->dir);
    setenv("SSL_CERT_FILE", test_tls_server_certificate(fixture->tls), 1);
}

static char *location(const char *url)
{
    char *header;
    if (asprintf(&header, "Location: %s\r\n", url) < 0)
        abort();
    return header;
}

static void refuses_redirects_from_https_to_http(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response ok[] = {{200, BODY, NULL, 0, 0, false, NULL}};
    serve(fixture, ok, 1);
    start_tls(fixture);
    char *plain = test_http_server_url(fixture->server, "/dep.tgz");
    char *to_plain = location(plain);
    test_tls_server_respond(fixture->tls, "/down", 302, to_plain, "");
    char *url = test_tls_server_url(fixture->tls, "/down");
    assert_int_equal(fetch(fixture, url), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NETWORK);
    assert_non_null(strstr(fixture->err.message, "/down: refused a redirect from https to http ("));
    assert_non_null(strstr(fixture->err.message, "/dep.tgz): a download that reaches https "
                                                 "never falls back to http"));
    assert_int_equal(test_http_server_hits(fixture->server, "/dep.tgz"), 0);
    assert_string_equal(logged(fixture), "");
    assert_false(test_exists(fixture->target));
    /* Nor to anything else but https. */
    test_tls_server_respond(fixture->tls, "/ftp", 302, "Location: ftp://127.0.0.1/dep.tgz\r\n", "");
    char *ftp = test_tls_server_url(fixture->tls, "/ftp");
    assert_int_equal(fetch(fixture, ftp), -1);
    assert_non_null(strstr(fixture->err.message, "/ftp: refused a redirect from https to another "
                                                 "protocol: a download that starts on https "
                                                 "stays on https"));
    free(ftp);
    free(url);
    free(to_plain);
    free(plain);
}

static void refuses_https_to_http_later_in_a_chain(void **state)
{
    struct fixture *fixture = *state;
    start_tls(fixture);
    char *https_down = test_tls_server_url(fixture->tls, "/down");
    char *to_https = location(https_down);
    struct test_http_response script[] = {{302, "", NULL, 0, 0, false, to_https}};
    struct test_http_response ok[] = {{200, BODY, NULL, 0, 0, false, NULL}};
    struct test_http_route routes[] = {{"/start", script, 1}, {"/dep.tgz", ok, 1}};
    fixture->server = test_http_server_start(routes, 2);
    char *plain = test_http_server_url(fixture->server, "/dep.tgz");
    char *to_plain = location(plain);
    test_tls_server_respond(fixture->tls, "/down", 301, to_plain, "");
    /* http -> https is fine; the way back is not. */
    assert_int_equal(fetch_path(fixture, "/start"), -1);
    assert_non_null(strstr(fixture->err.message, "refused a redirect from https to http"));
    assert_int_equal(test_http_server_hits(fixture->server, "/start"), 1);
    assert_int_equal(test_http_server_hits(fixture->server, "/dep.tgz"), 0);
    free(plain);
    free(to_plain);
    free(to_https);
    free(https_down);
}

static void follows_redirects_to_https(void **state)
{
    struct fixture *fixture = *state;
    start_tls(fixture);
    test_tls_server_respond(fixture->tls, "/dep.tgz", 200, NULL, BODY);
    char *target = test_tls_server_url(fixture->tls, "/dep.tgz");
    char *to_target = location(target);
    test_tls_server_respond(fixture->tls, "/moved", 307, to_target, "");
    struct test_http_response script[] = {{302, "", NULL, 0, 0, false, to_target}};
    struct test_http_route route = {"/start", script, 1};
    fixture->server = test_http_server_start(&route, 1);
    assert_int_equal(fetch_path(fixture, "/start"), 0); /* http -> https */
    assert_downloaded(fixture);
    char *moved = test_tls_server_url(fixture->tls, "/moved");
    assert_int_equal(fetch(fixture, moved), 0); /* https -> https */
    assert_downloaded(fixture);
    assert_string_equal(logged(fixture), "");
    free(moved);
    free(to_target);
    free(target);
}

static void never_shows_what_the_server_says(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response busy[] = {{503, "busy\n", NULL, 0, 0, false, NULL}};
    serve(fixture, busy, 1);
    /* A reason phrase with a terminal escape, a bell and a backspace, followed by the echo of
     * the request's "Authorization: Basic dXNlcjpwYXNz" (user:pass). */
    test_http_server_set_hostility(
        fixture->server, "/dep.tgz",
        &(struct test_http_hostility){.reason = "Bad\x1b[31m\x07\x08 Gateway Authorization:",
                                      .echo_authorization = true});
    fixture->options.max_attempts = 2;
    char url[128];
    snprintf(url, sizeof(url), "http://user:pass@127.0.0.1:%u/dep.tgz",
             test_http_server_port(fixture->server));
    assert_int_equal(fetch(fixture, url), -1);
    const char *log = logged(fixture);
    assert_non_null(strstr(log, "       error: HTTP 503 Service Unavailable, retrying in "));
    assert_non_null(strstr(fixture->err.message, "after 2 attempts: HTTP 503 Service Unavailable"));
    const char *never[] = {"dXNlcjpwYXNz", "Basic", "Authorization", "Gateway",
                           "\x1b",         "\x07",  "\x08",          "pass"};
    for (size_t i = 0; i < sizeof(never) / sizeof(*never); i++) {
        if (strstr(log, never[i]))
            fail_msg("the log shows '%s': %s", never[i], log);
        if (strstr(fixture->err.message, never[i]))
            fail_msg("the error shows '%s': %s", never[i], fixture->err.message);
    }
}

static void names_an_unknown_status_by_its_code(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response odd[] = {{599, "?\n", NULL, 0, 0, false, NULL},
                                                    {499, "?\n", NULL, 0, 0, false, NULL}};
    serve(fixture, odd, 2);
    test_http_server_set_hostility(fixture->server, "/dep.tgz",
                                   &(struct test_http_hostility){.reason = "Whatever I Like"});
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), -1);
    assert_non_null(strstr(logged(fixture), "error: HTTP 599, retrying in "));
    assert_non_null(strstr(fixture->err.message, "/dep.tgz: HTTP 499"));
    assert_null(strstr(fixture->err.message, "Whatever"));
    assert_null(strstr(logged(fixture), "Whatever"));
}

static void makes_curl_messages_printable_and_short(void **state)
{
    struct fixture *fixture = *state;
    /* A redirect to a host whose name is 250 bytes long: curl's message quotes it. *.localhost
     * is loopback (curl resolves it without asking DNS), and nothing listens on port 1. */
    char host[300] = "";
    for (char label = 'a'; label <= 'd'; label++) {
        size_t used = strlen(host);
        memset(host + used, label, 60);
        host[used + 60] = '.';
        host[used + 61] = '\0';
    }
    strcat(host, "localhost");
    char header[400];
    snprintf(header, sizeof(header), "Location: http://%s:1/x\r\n", host);
    struct test_http_response script[] = {{302, "", NULL, 0, 0, false, header}};
    serve(fixture, script, 1);
    fixture->options.max_attempts = 1;
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), -1);
    const char *reason = strstr(fixture->err.message, "attempt: ");
    assert_non_null(reason);
    print_message("      %s\n", fixture->err.message);
    assert_null(strstr(fixture->err.message, host));
    assert_non_null(strstr(fixture->err.message, "aaaaaaaaaa"));
    assert_true(strlen(reason) <= strlen("attempt: ") + 200 + 3);
    assert_non_null(strstr(reason, "..."));
}

static void never_shows_credentials_quoted_by_curl(void **state)
{
    struct fixture *fixture = *state;
    /* curl reads "http://127.0.0.1:<port>?s3cr3t@example.invalid/x" as host 127.0.0.1 and port
     * <port>, and its message quotes the port: the first piece of the password. */
    static const struct test_http_response ok[] = {{200, BODY, NULL, 0, 0, false, NULL}};
    serve(fixture, ok, 1);
    char port[16], url[128];
    snprintf(port, sizeof(port), "%u", test_http_server_port(fixture->server));
    test_http_server_stop(fixture->server);
    fixture->server = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%s?s3cr3t@example.invalid/dep.tgz", port);
    fixture->options.max_attempts = 1;
    assert_int_equal(fetch(fixture, url), -1);
    assert_null(strstr(fixture->err.message, "s3cr3t"));
    assert_null(strstr(fixture->err.message, port));
    assert_non_null(strstr(fixture->err.message, "http://-redacted-:-redacted-@example.invalid"));
}

/*
 * http -> https -> http with the last Location led by a byte curl skips as
 * whitespace but a check that trims only spaces and tabs would not: curl
 * would follow it to http. Each variant has its own pair of routes.
 */
static void refuses_a_fall_to_http_behind_whitespace(void **state)
{
    struct fixture *fixture = *state;
    static const char *const leads[] = {"\f", "\v", "\r", "\t", " \f ", "\t\v"};
    enum { VARIANTS = sizeof(leads) / sizeof(*leads) };
    start_tls(fixture);
    /* Static: the server outlives a failed assertion, and reads these until it stops. */
    static const struct test_http_response ok[] = {{200, BODY, NULL, 0, 0, false, NULL}};
    static struct test_http_response scripts[VARIANTS][1];
    static char *headers[VARIANTS], starts[VARIANTS][16], downs[VARIANTS][16];
    struct test_http_route routes[VARIANTS + 1];
    routes[VARIANTS] = (struct test_http_route){"/dep.tgz", ok, 1};
    for (size_t i = 0; i < VARIANTS; i++) {
        snprintf(starts[i], sizeof(starts[i]), "/start%zu", i);
        snprintf(downs[i], sizeof(downs[i]), "/down%zu", i);
        char *down = test_tls_server_url(fixture->tls, downs[i]);
        headers[i] = location(down);
        free(down);
        scripts[i][0] = (struct test_http_response){302, "", NULL, 0, 0, false, headers[i]};
        routes[i] = (struct test_http_route){starts[i], scripts[i], 1};
    }
    fixture->server = test_http_server_start(routes, VARIANTS + 1);
    char *plain = test_http_server_url(fixture->server, "/dep.tgz");
    for (size_t i = 0; i < VARIANTS; i++) {
        char back[256];
        snprintf(back, sizeof(back), "Location: %s%s\r\n", leads[i], plain);
        test_tls_server_respond(fixture->tls, downs[i], 302, back, "");
        if (fetch_path(fixture, starts[i]) != -1)
            fail_msg("a Location led by \"%s\" took the download back to http", leads[i]);
        assert_int_equal(fixture->err.kind, CFBP_ERROR_NETWORK);
        assert_non_null(strstr(fixture->err.message, "refused a redirect "));
        assert_null(strpbrk(fixture->err.message, "\f\v\r\t"));
        assert_int_equal(test_http_server_hits(fixture->server, starts[i]), 1);
        assert_false(test_exists(fixture->target));
    }
    /* The control characters are named, and shown escaped. */
    fetch_path(fixture, starts[0]);
    assert_non_null(strstr(fixture->err.message, "refused a redirect to a Location holding control "
                                                 "characters (\\x0chttp://127.0.0.1:"));
    assert_int_equal(test_http_server_hits(fixture->server, "/dep.tgz"), 0);
    assert_string_equal(logged(fixture), "");
    free(plain);
    for (size_t i = 0; i < VARIANTS; i++)
        free(headers[i]);
}

/* A Location holding a control character is refused even where it would go nowhere worse. */
static void refuses_a_location_holding_control_characters(void **state)
{
    struct fixture *fixture = *state;
    start_tls(fixture);
    test_tls_server_respond(fixture->tls, "/dep.tgz", 200, NULL, BODY);
    char *target = test_tls_server_url(fixture->tls, "/dep.tgz");
    static char header[256]; /* static, as the script: the server outlives a failed assertion */
    snprintf(header, sizeof(header), "Location: \f%s\r\n", target);
    static struct test_http_response script[] = {{302, "", NULL, 0, 0, false, header}};
    serve(fixture, script, 1);
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NETWORK);
    assert_non_null(strstr(fixture->err.message, "refused a redirect to a Location holding control "
                                                 "characters (\\x0chttps://127.0.0.1:"));
    assert_int_equal(test_http_server_hits(fixture->server, "/dep.tgz"), 1);
    assert_false(test_exists(fixture->target));
    free(target);
}

/*
 * The https server answers with a status line curl reads as a 302
 * ("HTTP/2<tab>302") but one that looks for "HTTP/x.y <code>" reads as no
 * status at all: the way back to http must be refused all the same.
 */
static void refuses_a_fall_to_http_behind_an_odd_status_line(void **state)
{
    struct fixture *fixture = *state;
    start_tls(fixture);
    char *https_down = test_tls_server_url(fixture->tls, "/down");
    static char *to_https;
    to_https = location(https_down);
    static struct test_http_response script[1];
    script[0] = (struct test_http_response){302, "", NULL, 0, 0, false, to_https};
    static const struct test_http_response ok[] = {{200, BODY, NULL, 0, 0, false, NULL}};
    struct test_http_route routes[] = {{"/start", script, 1}, {"/dep.tgz", ok, 1}};
    fixture->server = test_http_server_start(routes, 2);
    char *plain = test_http_server_url(fixture->server, "/dep.tgz");
    char response[512];
    snprintf(response, sizeof(response),
             "HTTP/2\t302 Found\r\nLocation: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
             plain);
    test_tls_server_respond_raw(fixture->tls, "/down", response);
    assert_int_equal(fetch_path(fixture, "/start"), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NETWORK);
    assert_non_null(strstr(fixture->err.message, "refused a redirect from https to http ("));
    assert_int_equal(test_http_server_hits(fixture->server, "/dep.tgz"), 0);
    assert_false(test_exists(fixture->target));
    free(plain);
    free(to_https);
    free(https_down);
}

static void never_shows_credentials_in_a_refused_location(void **state)
{
    struct fixture *fixture = *state;
    start_tls(fixture);
    test_tls_server_respond(fixture->tls, "/down", 302,
                            "Location: http://deploy:gh/TOKEN123@127.0.0.1:1/dep.tgz\r\n", "");
    char *url = test_tls_server_url(fixture->tls, "/down");
    assert_int_equal(fetch(fixture, url), -1);
    assert_non_null(strstr(fixture->err.message, "refused a redirect from https to http "
                                                 "(http://-redacted-:-redacted-@127.0.0.1:1/"));
    assert_null(strstr(fixture->err.message, "TOKEN123"));
    assert_null(strstr(fixture->err.message, "deploy"));
    free(url);
}

static void never_shows_a_password_holding_slashes(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response missing[] = {{403, "no\n", NULL, 0, 0, false, NULL}};
    serve(fixture, missing, 1);
    fixture->options.max_attempts = 1;
    char url[256];
    snprintf(url, sizeof(url),
             "http://AKIAEXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY@127.0.0.1:%u/dep.tgz",
             test_http_server_port(fixture->server));
    assert_int_equal(fetch(fixture, url), -1);
    const char *never[] = {"AKIAEXAMPLE", "wJalrXUtnFEMI", "K7MDENG", "bPxRfiCYEXAMPLEKEY"};
    for (size_t i = 0; i < sizeof(never) / sizeof(*never); i++) {
        if (strstr(fixture->err.message, never[i]))
            fail_msg("the error shows '%s': %s", never[i], fixture->err.message);
        if (strstr(logged(fixture), never[i]))
            fail_msg("the log shows '%s': %s", never[i], logged(fixture));
    }
    assert_non_null(strstr(fixture->err.message, "http://-redacted-:-redacted-@127.0.0.1:"));
}

static void never_shows_credentials_of_a_uri_it_does_not_know(void **state)
{
    struct fixture *fixture = *state;
    const char *uris[] = {" https://user:secret@host/x", "https//user:secret@host/x",
                          "\thttp://user:secret@host/x", "https//secret@host/x"};
    for (size_t i = 0; i < sizeof(uris) / sizeof(*uris); i++) {
        assert_int_equal(fetch(fixture, uris[i]), -1);
        assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
        assert_non_null(strstr(fixture->err.message, "only http, https and file URIs"));
        if (strstr(fixture->err.message, "secret"))
            fail_msg("the error shows the secret: %s", fixture->err.message);
        assert_non_null(strstr(fixture->err.message, "-redacted-:-redacted-@host/x"));
    }
}

static void a_final_response_that_is_not_a_file_fails(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response no_location[] = {{302, "", NULL, 0, 0, false, NULL}};
    static const struct test_http_response folded[] = {
        {302, "", NULL, 0, 0, false, "Location:\r\n http://127.0.0.1:1/dep.tgz\r\n"}};
    static const struct test_http_response empty_location[] = {
        {301, "", NULL, 0, 0, false, "Location: \r\n"}};
    static const struct test_http_response no_content[] = {{204, "", NULL, 0, 0, false, NULL}};
    static const struct test_http_response partial[] = {{206, BODY, NULL, 0, 0, false, NULL}};
    struct test_http_route routes[] = {{"/no-location", no_location, 1},
                                       {"/folded", folded, 1},
                                       {"/empty-location", empty_location, 1},
                                       {"/no-content", no_content, 1},
                                       {"/partial", partial, 1}};
    fixture->server = test_http_server_start(routes, sizeof(routes) / sizeof(*routes));
    const struct {
        const char *path, *reason;
    } cases[] = {
        {"/no-location", "/no-location: HTTP 302 Found without a usable Location"},
        {"/folded", "/folded: HTTP 302 Found without a usable Location"},
        {"/empty-location", "/empty-location: HTTP 301 Moved Permanently without a usable "
                            "Location"},
        {"/no-content", "/no-content: HTTP 204 No Content: the server sent no file"},
        {"/partial", "/partial: HTTP 206 Partial Content: the server sent part of a file asked "
                     "for whole"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        if (fetch_path(fixture, cases[i].path) != -1)
            fail_msg("%s was taken for a download", cases[i].path);
        assert_int_equal(fixture->err.kind, CFBP_ERROR_HTTP);
        if (!strstr(fixture->err.message, cases[i].reason))
            fail_msg("error '%s', expected '%s'", fixture->err.message, cases[i].reason);
        assert_int_equal(test_http_server_hits(fixture->server, cases[i].path), 1);
        assert_false(test_exists(fixture->target));
    }
    assert_string_equal(logged(fixture), "");
}

static void names_a_header_line_too_long_for_curl(void **state)
{
    struct fixture *fixture = *state;
    enum { SIZE = 200 * 1024 };
    static char header[SIZE + 16];
    memcpy(header, "X-Big: ", 7);
    memset(header + 7, 'a', SIZE);
    strcpy(header + 7 + SIZE, "\r\n");
    static const struct test_http_response script[] = {{200, BODY, NULL, 0, 0, false, header}};
    serve(fixture, script, 1);
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), -1);
    assert_non_null(strstr(fixture->err.message, "/dep.tgz: the server sent a header line longer "
                                                 "than curl accepts"));
    assert_null(strstr(fixture->err.message, "memory"));
    assert_int_equal(test_http_server_hits(fixture->server, "/dep.tgz"), 1);
}

/*
 * Proxy settings curl cannot use, holding credentials: each fails the
 * download at once, as a mistake in the configuration, naming the variable
 * and never showing the credentials (curl's own message quotes the setting).
 */
static void refuses_an_unusable_proxy_setting_at_once(void **state)
{
    struct fixture *fixture = *state;
    static const struct {
        const char *variable, *value, *uri;
    } cases[] = {
        {"http_proxy", "http://puser:PSE?CRET@127.0.0.1:1", "http://127.0.0.1:9/dep.tgz"},
        {"http_proxy", "http://puser:PSE#CRET@127.0.0.1:1", "http://127.0.0.1:9/dep.tgz"},
        {"http_proxy", "http://puser:PSE/CRET@127.0.0.1:1", "http://127.0.0.1:9/dep.tgz"},
        {"http_proxy", "puser:PSE?CRET@127.0.0.1:1", "http://127.0.0.1:9/dep.tgz"},
        {"http_proxy", "ftp://puser:PSECRET@127.0.0.1:1", "http://127.0.0.1:9/dep.tgz"},
        /* curl reads host "puser", port 1234: a name it then fails to resolve */
        {"http_proxy", "http://puser:1234?PSECRET@127.0.0.1:1", "http://127.0.0.1:9/dep.tgz"},
        {"HTTP_PROXY", "http://puser:PSE?CRET@127.0.0.1:1", "http://127.0.0.1:9/dep.tgz"},
        {"https_proxy", "http://puser:PSE?CRET@127.0.0.1:1", "https://127.0.0.1:9/dep.tgz"},
        {"HTTPS_PROXY", "http://puser:PSE/CRET@127.0.0.1:1", "https://127.0.0.1:9/dep.tgz"},
        {"all_proxy", "socks5://puser:PSE#CRET@127.0.0.1:1", "http://127.0.0.1:9/dep.tgz"},
        {"ALL_PROXY", "ftp://puser:PSECRET@127.0.0.1:1", "https://127.0.0.1:9/dep.tgz"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        unset_proxies();
        setenv(cases[i].variable, cases[i].value, 1);
        int result = fetch(fixture, cases[i].uri);
        unsetenv(cases[i].variable);
        const char *log = logged(fixture);
        if (result != -1)
            fail_msg("%s='%s' did not fail the download", cases[i].variable, cases[i].value);
        const char *never[] = {"puser", "PSE", "CRET"};
        for (size_t j = 0; j < sizeof(never) / sizeof(*never); j++) {
            if (strstr(fixture->err.message, never[j]))
                fail_msg("%s='%s': the error shows '%s': %s", cases[i].variable, cases[i].value,
                         never[j], fixture->err.message);
            if (strstr(log, never[j]))
                fail_msg("%s='%s': the log shows '%s': %s", cases[i].variable, cases[i].value,
                         never[j], log);
        }
        if (fixture->err.kind != CFBP_ERROR_USAGE || strstr(log, "retrying"))
            fail_msg("%s='%s' was not refused at once: %s", cases[i].variable, cases[i].value,
                     fixture->err.message);
        char expected[128];
        snprintf(expected, sizeof(expected), ": %s ('", cases[i].variable);
        assert_non_null(strstr(fixture->err.message, expected));
        assert_non_null(strstr(fixture->err.message, "-redacted-:-redacted-@127.0.0.1:1') "));
        snprintf(expected, sizeof(expected), "; fix or unset %s", cases[i].variable);
        assert_non_null(strstr(fixture->err.message, expected));
        assert_false(test_exists(fixture->target));
    }
}

/* A proxy host that does not resolve may be a passing DNS failure: retried, and named. */
static void retries_a_proxy_host_that_does_not_resolve(void **state)
{
    struct fixture *fixture = *state;
    /* A label longer than 63 bytes: the resolver refuses it without asking any server. */
    char label[80];
    memset(label, 'p', 70);
    label[70] = '\0';
    char proxy[160];
    snprintf(proxy, sizeof(proxy), "http://puser:PSECRET@%s.invalid:3128", label);
    setenv("http_proxy", proxy, 1);
    fixture->options.max_attempts = 2;
    assert_int_equal(fetch(fixture, "http://127.0.0.1:9/dep.tgz"), -1);
    unsetenv("http_proxy");
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NETWORK);
    char expected[256];
    snprintf(expected, sizeof(expected),
             "after 2 attempts: could not resolve the proxy host of http_proxy "
             "('http://-redacted-:-redacted-@%s.invalid:3128')",
             label);
    assert_non_null(strstr(fixture->err.message, expected));
    assert_int_equal(count(logged(fixture), "error: could not resolve the proxy host of "
                                            "http_proxy ('http://-redacted-:-redacted-@"),
                     1);
    assert_null(strstr(fixture->err.message, "PSECRET"));
    assert_null(strstr(logged(fixture), "PSECRET"));
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(downloads_and_hashes),
        TEST(retries_503_then_succeeds),
        TEST(gives_up_at_once_on_404),
        TEST(retries_a_truncated_body),
        TEST(retries_a_stalled_transfer),
        TEST(retries_a_hang_up),
        TEST(gives_up_after_the_attempts),
        TEST(honours_retry_after),
        TEST(retries_refused_connections_until_the_budget),
        TEST(never_shows_credentials),
        TEST(uses_the_proxy_from_the_environment),
        TEST(uses_the_uppercase_proxy_variable),
        TEST(no_proxy_bypasses_the_proxy),
        TEST(reads_file_uris),
        TEST(refuses_other_schemes),
        TEST(reports_an_unwritable_target),
        TEST(verifies_tls_peers),
        TEST(cuts_a_dripping_server_at_the_deadline),
        TEST(a_trickle_below_the_low_speed_limit_is_a_stall),
        TEST(the_environment_caps_a_retry_sequence),
        TEST(the_environment_can_raise_the_deadline),
        TEST(refuses_a_bad_deadline_in_the_environment),
        TEST(refuses_redirects_from_https_to_http),
        TEST(refuses_https_to_http_later_in_a_chain),
        TEST(follows_redirects_to_https),
        TEST(never_shows_what_the_server_says),
        TEST(names_an_unknown_status_by_its_code),
        TEST(makes_curl_messages_printable_and_short),
        TEST(never_shows_credentials_quoted_by_curl),
        TEST(refuses_a_fall_to_http_behind_whitespace),
        TEST(refuses_a_location_holding_control_characters),
        TEST(refuses_a_fall_to_http_behind_an_odd_status_line),
        TEST(never_shows_credentials_in_a_refused_location),
        TEST(never_shows_a_password_holding_slashes),
        TEST(never_shows_credentials_of_a_uri_it_does_not_know),
        TEST(a_final_response_that_is_not_a_file_fails),
        TEST(names_a_header_line_too_long_for_curl),
        TEST(refuses_an_unusable_proxy_setting_at_once),
        TEST(retries_a_proxy_host_that_does_not_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
