/*
 * test_fetch.c - downloads over a real loopback HTTP server with scripted
 * faults: retries on 5xx, truncated bodies, stalls and hang-ups; no retry on
 * 404; proxies from the environment; credentials never shown.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/fetch.h"
#include "cfbp/log.h"

#include "http_server.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BODY "the dependency's bytes\n"

struct fixture {
    char *dir;
    char *target;
    struct test_http_server *server;
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
    assert_int_equal(count(logged(fixture), "       error: 503 Service Unavailable, retrying in "),
                     2);
}

static void gives_up_at_once_on_404(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_http_response missing[] = {{404, "no\n", NULL, 0, 0, false, NULL}};
    serve(fixture, missing, 1);
    assert_int_equal(fetch_path(fixture, "/dep.tgz"), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_HTTP);
    assert_non_null(strstr(fixture->err.message, "could not download http://127.0.0.1:"));
    assert_non_null(strstr(fixture->err.message, "/dep.tgz: 404 Not Found"));
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
    assert_non_null(strstr(fixture->err.message, "after 3 attempts: 500 Internal Server Error"));
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
    assert_non_null(strstr(logged(fixture), "error: 429 Too Many Requests, retrying in 1.00s..."));
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

/* Runs a command through the shell-free test runner and fails the test if it fails. */
static void run_or_fail(char *const *argv)
{
    struct test_run run = test_run_program(argv, NULL, NULL);
    if (run.status != 0)
        fail_msg("%s failed: %s", argv[0], run.err);
    test_run_free(&run);
}

static unsigned short free_port(void)
{
    struct test_http_server *probe = test_http_server_start(NULL, 0);
    unsigned short port = test_http_server_port(probe);
    test_http_server_stop(probe);
    return port;
}

static void verifies_tls_peers(void **state)
{
    struct fixture *fixture = *state;
    char *key = test_path(fixture->dir, "key.pem"), *cert = test_path(fixture->dir, "cert.pem");
    char *openssl_req[] = {"/usr/bin/openssl",
                           "req",
                           "-x509",
                           "-newkey",
                           "rsa:2048",
                           "-nodes",
                           "-keyout",
                           key,
                           "-out",
                           cert,
                           "-days",
                           "1",
                           "-subj",
                           "/CN=127.0.0.1",
                           "-addext",
                           "subjectAltName=IP:127.0.0.1",
                           NULL};
    run_or_fail(openssl_req);
    unsigned short port = free_port();
    char accept[16];
    snprintf(accept, sizeof(accept), "%u", port);
    pid_t server = fork();
    if (server == 0) {
        int null_fd = open("/dev/null", O_WRONLY);
        dup2(null_fd, 1);
        dup2(null_fd, 2);
        execl("/usr/bin/openssl", "openssl", "s_server", "-quiet", "-www", "-key", key, "-cert",
              cert, "-accept", accept, (char *)NULL);
        _exit(127);
    }
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/", port);
    fixture->options.retry_delay = 0.1;
    fixture->options.retry_budget = 3; /* only while s_server starts listening */
    unsetenv("SSL_CERT_FILE");
    int untrusted = fetch(fixture, url);
    enum cfbp_error_kind kind = fixture->err.kind;
    char *message = fixture->err.message ? strdup(fixture->err.message) : NULL;
    setenv("SSL_CERT_FILE", cert, 1);
    int trusted = fetch(fixture, url);
    unsetenv("SSL_CERT_FILE");
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    assert_int_equal(untrusted, -1);
    assert_int_equal(kind, CFBP_ERROR_NETWORK);
    assert_non_null(strstr(message, "TLS verification is always on"));
    assert_int_equal(trusted, 0);
    char *page = test_read_file(fixture->target);
    assert_non_null(strstr(page, "s_server"));
    free(page);
    free(message);
    free(key);
    free(cert);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
