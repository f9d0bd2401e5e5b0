/*
 * test_cancel.c - the cancel flag and its descriptor (cancel.h), and the
 * downloads that honour it (fetch.h): a transfer from a loopback server that
 * never finishes, a wait before a retry, and a file:// copy all stop with
 * CFBP_ERROR_CANCELLED soon after a request, leaving no file behind.
 */
#include "support.h"

#include "cfbp/cancel.h"
#include "cfbp/error.h"
#include "cfbp/fetch.h"

#include "http_server.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int reset(void **state)
{
    (void)state;
    cfbp_cancel_reset();
    return 0;
}

static bool readable(int fd)
{
    struct pollfd poller = {fd, POLLIN, 0};
    return poll(&poller, 1, 0) == 1;
}

static double now_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void a_request_is_remembered_with_its_signal(void **state)
{
    (void)state;
    assert_false(cfbp_cancel_requested());
    assert_int_equal(cfbp_cancel_signal(), 0);
    cfbp_cancel_request(SIGTERM);
    assert_true(cfbp_cancel_requested());
    assert_int_equal(cfbp_cancel_signal(), SIGTERM);
    cfbp_cancel_reset();
    assert_false(cfbp_cancel_requested());
    /* A request without a signal (a caller's own) still counts. */
    cfbp_cancel_request(0);
    assert_true(cfbp_cancel_requested());
    assert_int_equal(cfbp_cancel_signal(), 0);
}

static void the_descriptor_is_readable_while_a_request_is_pending(void **state)
{
    (void)state;
    int fd = cfbp_cancel_fd();
    assert_true(fd >= 0);
    assert_int_equal(cfbp_cancel_fd(), fd); /* made once */
    assert_false(readable(fd));
    cfbp_cancel_request(SIGINT);
    cfbp_cancel_request(SIGINT);
    assert_true(readable(fd));
    cfbp_cancel_reset();
    assert_false(readable(fd)); /* drained */
}

static void on_signal(int signal_number)
{
    cfbp_cancel_request(signal_number);
}

static void a_signal_handler_can_request(void **state)
{
    (void)state;
    struct sigaction action = {.sa_handler = on_signal}, previous;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, &previous);
    raise(SIGUSR1);
    sigaction(SIGUSR1, &previous, NULL);
    assert_true(cfbp_cancel_requested());
    assert_int_equal(cfbp_cancel_signal(), SIGUSR1);
    assert_true(readable(cfbp_cancel_fd()));
}

/* --- downloads --- */

static void *request_later(void *data)
{
    (void)data;
    usleep(300000);
    cfbp_cancel_request(SIGINT);
    return NULL;
}

/* Runs fetch of uri into a fresh file while another thread asks to stop after 0.3 s. */
static void fetch_is_cancelled(const char *uri, const struct cfbp_fetch_options *options)
{
    char *dir = test_make_dir();
    char *target = test_path(dir, "download.partial");
    pthread_t thread;
    pthread_create(&thread, NULL, request_later, NULL);
    struct cfbp_error err = CFBP_ERROR_INIT;
    char sha256[CFBP_DIGEST_HEX_SIZE];
    double start = now_seconds();
    int result = cfbp_fetch_to_file(uri, target, options, NULL, sha256, &err);
    double took = now_seconds() - start;
    pthread_join(thread, NULL);
    assert_int_equal(result, -1);
    if (err.kind != CFBP_ERROR_CANCELLED)
        fail_msg("expected a cancellation, got: %s", err.message);
    assert_non_null(strstr(err.message, "was cancelled by SIGINT"));
    if (took > 2.5)
        fail_msg("the download took %.1f s to stop", took);
    assert_false(test_exists(target));
    cfbp_error_clear(&err);
    free(target);
    test_remove_dir(dir);
}

static void a_download_stops_mid_transfer(void **state)
{
    (void)state;
    static const struct test_http_response script[] = {{.body = "slow"}};
    struct test_http_route route = {"/never-ends", script, 1};
    struct test_http_server *server = test_http_server_start(&route, 1);
    struct test_http_hostility drip = {.drip_ms = 50};
    test_http_server_set_hostility(server, "/never-ends", &drip);
    char *url = test_http_server_url(server, "/never-ends");
    setenv("no_proxy", "*", 1);
    struct cfbp_fetch_options options;
    cfbp_fetch_options_init(&options); /* no progress callback: cancelling needs none */
    fetch_is_cancelled(url, &options);
    free(url);
    test_http_server_stop(server);
}

static void a_wait_before_a_retry_stops(void **state)
{
    (void)state;
    static const struct test_http_response script[] = {
        {.status = 503, .body = "busy\n", .headers = "Retry-After: 30\r\n"}};
    struct test_http_route route = {"/busy", script, 1};
    struct test_http_server *server = test_http_server_start(&route, 1);
    char *url = test_http_server_url(server, "/busy");
    setenv("no_proxy", "*", 1);
    struct cfbp_fetch_options options;
    cfbp_fetch_options_init(&options);
    options.retry_max_delay = 60;
    fetch_is_cancelled(url, &options);
    assert_int_equal(test_http_server_hits(server, "/busy"), 1);
    free(url);
    test_http_server_stop(server);
}

static void a_local_copy_stops(void **state)
{
    (void)state;
    /* A FIFO that never delivers: only the cancellation can end the copy. */
    char *dir = test_make_dir();
    char *fifo = test_path(dir, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid_t writer = fork();
    if (writer == 0) {
        /* Opens the FIFO and trickles into it until killed. */
        int fd = open(fifo, O_WRONLY);
        for (;;) {
            if (write(fd, "x", 1) < 0)
                _exit(0);
            usleep(10000);
        }
    }
    char uri[4096];
    snprintf(uri, sizeof(uri), "file://%s", fifo);
    struct cfbp_fetch_options options;
    cfbp_fetch_options_init(&options);
    fetch_is_cancelled(uri, &options);
    kill(writer, SIGKILL);
    waitpid(writer, NULL, 0);
    free(fifo);
    test_remove_dir(dir);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, reset, reset)
    const struct CMUnitTest tests[] = {
        TEST(a_request_is_remembered_with_its_signal),
        TEST(the_descriptor_is_readable_while_a_request_is_pending),
        TEST(a_signal_handler_can_request),
        TEST(a_download_stops_mid_transfer),
        TEST(a_wait_before_a_retry_stops),
        TEST(a_local_copy_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
