/*
 * test_fetch.c - downloads over a real loopback HTTP server with scripted
 * faults: retries on 5xx, truncated bodies, stalls and hang-ups; no retry on
 * 404; proxies from the environment; credentials never shown. Hostile
 * servers: one that drips bytes for ever is cut at the deadline
 * (CFBP_DOWNLOAD_TIMEOUT), one that redirects https to http is refused, and
 * nothing a server says in its status line reaches a message.
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
