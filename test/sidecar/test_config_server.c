/*
 * test_config_server.c - the config-server as apps see it, over loopback.
 *
 * Every test starts the real binary (CONFIG_SERVER_PORT=0, port read from
 * its "listening" line) and compares whole responses byte for byte with what
 * the Go sidecar sends; only the Date value is taken from the response, after
 * checking its format and that it is now.
 */
#include "sidecar_support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define DEFAULT_BODY "{\"Scope\":\"some-service.admin\",\"Password\":\"not-a-real-p4$$w0rd\"}\n"
#define GET_CONFIG   "GET /config/ HTTP/1.1\r\nHost: localhost\r\n\r\n"
#define CONFIG_HEADERS_AFTER_DATE                                                                  \
    "Content-Length: 64\r\nContent-Type: text/plain; charset=utf-8\r\n"
#define BAD_REQUEST                                                                                \
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"                      \
    "Connection: close\r\n\r\n400 Bad Request"

struct server {
    struct process process;
    int port;
};

static void write_temporary(struct cfbp_strbuf *path, const char *content);

static void start_server(struct server *server, const char *const *environment)
{
    server->port = sidecar_start(&server->process, environment);
    assert_true(server->port > 0);
}

static void stop_server(struct server *server)
{
    int status = process_stop(&server->process, SIGTERM, 5000, NULL);
    process_release(&server->process);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* The Date value of a response, checked to be Go's format and the current time. */
static void take_date(const struct cfbp_strbuf *response, char date[64])
{
    const char *start = strstr(response->buf, "\r\nDate: ");
    assert_non_null(start);
    start += 8;
    const char *end = strstr(start, "\r\n");
    assert_true(end - start == 29);
    memcpy(date, start, 29);
    date[29] = '\0';
    struct tm parsed = {0};
    const char *rest = strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &parsed);
    assert_non_null(rest);
    assert_int_equal(*rest, '\0');
    time_t when = timegm(&parsed);
    assert_true(labs((long)(time(NULL) - when)) <= 5);
}

/* Asserts response equals template once the template's "%s" is replaced by the response's Date. */
static void assert_response(const struct cfbp_strbuf *response, const char *template)
{
    char date[64];
    take_date(response, date);
    const char *slot = strstr(template, "%s");
    assert_non_null(slot);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append(&expected, template, (size_t)(slot - template));
    cfbp_strbuf_append_string(&expected, date);
    cfbp_strbuf_append_string(&expected, slot + 2);
    assert_string_equal(response->buf, expected.buf);
    assert_int_equal(response->len, expected.len);
    cfbp_strbuf_release(&expected);
}

static void exchange(const struct server *server, const char *request, struct cfbp_strbuf *out)
{
    assert_true(http_exchange(server->port, request, out));
}

/* Bounds how long a blocking receive on socket may wait (client_connect sets 10 s). */
static void set_receive_timeout(int socket, int milliseconds)
{
    struct timeval timeout = {milliseconds / 1000, (milliseconds % 1000) * 1000};
    assert_int_equal(setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)), 0);
}

/* A new connection that has sent GET_CONFIG. */
static int send_config_request(int port)
{
    int client = client_connect("127.0.0.1", port);
    assert_true(client >= 0);
    assert_true(client_send_string(client, GET_CONFIG));
    return client;
}

/* Reads one response on a keep-alive connection and checks that it is the configuration. */
static bool read_config_response(int client, struct cfbp_strbuf *pending)
{
    struct cfbp_strbuf response = CFBP_STRBUF_INIT;
    bool ok = client_read_response(client, pending, false, &response) &&
              cfbp_string_starts_with(response.buf, "HTTP/1.1 200 OK\r\n") &&
              cfbp_string_ends_with(response.buf, "\r\n\r\n" DEFAULT_BODY);
    cfbp_strbuf_release(&response);
    return ok;
}

/* Whether the server still holds the connection open and has sent nothing on it. */
static bool still_open(int client)
{
    struct pollfd poller = {.fd = client, .events = POLLIN};
    return poll(&poller, 1, 0) == 0;
}

static void test_config_response_is_the_go_sidecars(void **state)
{
    (void)state;
    struct server server;
    struct cfbp_strbuf response = CFBP_STRBUF_INIT;
    start_server(&server, NULL);
    exchange(&server, GET_CONFIG, &response);
    assert_response(&response, "HTTP/1.1 200 OK\r\nDate: %s\r\n" CONFIG_HEADERS_AFTER_DATE
                               "\r\n" DEFAULT_BODY);
    exchange(&server, "GET /config/anything/below?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", &response);
    assert_response(&response, "HTTP/1.1 200 OK\r\nDate: %s\r\n" CONFIG_HEADERS_AFTER_DATE
                               "\r\n" DEFAULT_BODY);
    exchange(&server, "DELETE /config/ HTTP/1.1\r\nHost: a\r\n\r\n", &response);
    assert_response(&response, "HTTP/1.1 200 OK\r\nDate: %s\r\n" CONFIG_HEADERS_AFTER_DATE
                               "\r\n" DEFAULT_BODY);
    exchange(&server, "HEAD /config/ HTTP/1.1\r\nHost: a\r\n\r\n", &response);
    assert_response(&response, "HTTP/1.1 200 OK\r\nDate: %s\r\n" CONFIG_HEADERS_AFTER_DATE "\r\n");

    struct cfbp_strbuf log = CFBP_STRBUF_INIT;
    process_read_stdout(&server.process, &log);
    const char *first = strstr(log.buf, "Received a request for config.\n");
    assert_non_null(first);
    assert_int_equal(strlen(first), 4 * strlen("Received a request for config.\n"));
    cfbp_strbuf_release(&log);
    cfbp_strbuf_release(&response);
    stop_server(&server);
}

static void test_redirects_like_servemux(void **state)
{
    (void)state;
    struct server server;
    struct cfbp_strbuf response = CFBP_STRBUF_INIT;
    start_server(&server, NULL);
    exchange(&server, "GET /config HTTP/1.1\r\nHost: a\r\n\r\n", &response);
    assert_response(&response, "HTTP/1.1 301 Moved Permanently\r\n"
                               "Content-Type: text/html; charset=utf-8\r\nLocation: /config/\r\n"
                               "Date: %s\r\nContent-Length: 43\r\n\r\n"
                               "<a href=\"/config/\">Moved Permanently</a>.\n\n");
    exchange(&server, "GET /config?a=1&b=<2> HTTP/1.1\r\nHost: a\r\n\r\n", &response);
    assert_response(&response,
                    "HTTP/1.1 301 Moved Permanently\r\n"
                    "Content-Type: text/html; charset=utf-8\r\nLocation: /config/?a=1&b=<2>\r\n"
                    "Date: %s\r\nContent-Length: 63\r\n\r\n"
                    "<a href=\"/config/?a=1&amp;b=&lt;2&gt;\">Moved Permanently</a>.\n\n");
    exchange(&server, "HEAD /config HTTP/1.1\r\nHost: a\r\n\r\n", &response);
    assert_response(&response, "HTTP/1.1 301 Moved Permanently\r\n"
                               "Content-Type: text/html; charset=utf-8\r\nLocation: /config/\r\n"
                               "Date: %s\r\n\r\n");
    exchange(&server, "POST /config HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &response);
    assert_response(&response, "HTTP/1.1 301 Moved Permanently\r\nLocation: /config/\r\n"
                               "Date: %s\r\nContent-Length: 0\r\n\r\n");
    exchange(&server, "GET /a/../config//x/./y?q HTTP/1.1\r\nHost: a\r\n\r\n", &response);
    assert_response(&response,
                    "HTTP/1.1 301 Moved Permanently\r\n"
                    "Content-Type: text/html; charset=utf-8\r\nLocation: /config/x/y?q\r\n"
                    "Date: %s\r\nContent-Length: 48\r\n\r\n"
                    "<a href=\"/config/x/y?q\">Moved Permanently</a>.\n\n");
    exchange(&server, "GET /%63onfig/%7e HTTP/1.1\r\nHost: a\r\n\r\n", &response);
    assert_response(&response, "HTTP/1.1 200 OK\r\nDate: %s\r\n" CONFIG_HEADERS_AFTER_DATE
                               "\r\n" DEFAULT_BODY);
    exchange(&server, "GET /config/%zz HTTP/1.1\r\nHost: a\r\n\r\n", &response);
    assert_string_equal(response.buf, BAD_REQUEST);
    cfbp_strbuf_release(&response);
    stop_server(&server);
}

static void test_other_paths_are_not_found(void **state)
{
    (void)state;
    struct server server;
    struct cfbp_strbuf response = CFBP_STRBUF_INIT;
    start_server(&server, NULL);
    static const char not_found[] = "HTTP/1.1 404 Not Found\r\n"
                                    "Content-Type: text/plain; charset=utf-8\r\n"
                                    "X-Content-Type-Options: nosniff\r\n"
                                    "Date: %s\r\nContent-Length: 19\r\n\r\n";
    exchange(&server, "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n", &response);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected, "%s404 page not found\n", not_found);
    assert_response(&response, expected.buf);
    exchange(&server, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", &response);
    assert_response(&response, expected.buf);
    exchange(&server, "HEAD /configuration HTTP/1.1\r\nHost: a\r\n\r\n", &response);
    assert_response(&response, not_found);
    cfbp_strbuf_release(&expected);
    cfbp_strbuf_release(&response);
    stop_server(&server);
}

static void test_connection_persistence(void **state)
{
    (void)state;
    struct server server;
    struct cfbp_strbuf response = CFBP_STRBUF_INIT, pending = CFBP_STRBUF_INIT;
    start_server(&server, NULL);
    /* HTTP/1.1 keeps the connection; "Connection: close" ends it, announced. */
    int client = client_connect("127.0.0.1", server.port);
    for (int i = 0; i < 3; i++) {
        assert_true(client_send_string(client, GET_CONFIG));
        assert_true(client_read_response(client, &pending, false, &response));
    }
    assert_true(client_send_string(client, "GET /config/ HTTP/1.1\r\nHost: a\r\n"
                                           "Connection: close\r\n\r\n"));
    assert_true(client_read_response(client, &pending, false, &response));
    assert_response(&response, "HTTP/1.1 200 OK\r\nDate: %s\r\n" CONFIG_HEADERS_AFTER_DATE
                               "Connection: close\r\n\r\n" DEFAULT_BODY);
    assert_true(client_sees_close(client, 2000));
    close(client);

    /* HTTP/1.0 closes unless asked to keep alive, which is acknowledged. */
    client = client_connect("127.0.0.1", server.port);
    assert_true(client_send_string(client, "GET /config/ HTTP/1.0\r\n\r\n"));
    assert_true(client_read_response(client, &pending, false, &response));
    assert_response(&response, "HTTP/1.0 200 OK\r\nDate: %s\r\n" CONFIG_HEADERS_AFTER_DATE
                               "\r\n" DEFAULT_BODY);
    assert_true(client_sees_close(client, 2000));
    close(client);
    client = client_connect("127.0.0.1", server.port);
    for (int i = 0; i < 2; i++) {
        assert_true(client_send_string(client, "GET /config/ HTTP/1.0\r\n"
                                               "Connection: keep-alive\r\n\r\n"));
        assert_true(client_read_response(client, &pending, false, &response));
        assert_response(&response, "HTTP/1.0 200 OK\r\nDate: %s\r\n" CONFIG_HEADERS_AFTER_DATE
                                   "Connection: keep-alive\r\n\r\n" DEFAULT_BODY);
    }
    close(client);
    cfbp_strbuf_release(&pending);
    cfbp_strbuf_release(&response);
    stop_server(&server);
}

static void test_pipelined_requests_are_answered_in_order(void **state)
{
    (void)state;
    struct server server;
    struct cfbp_strbuf response = CFBP_STRBUF_INIT, pending = CFBP_STRBUF_INIT;
    start_server(&server, NULL);
    int client = client_connect("127.0.0.1", server.port);
    assert_true(client_send_string(
        client, "GET /config/ HTTP/1.1\r\nHost: a\r\n\r\n"
                "POST /nope HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world"
                "HEAD /config/ HTTP/1.1\r\nHost: a\r\n\r\n"
                "PUT /config/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                "5\r\nhello\r\n0\r\n\r\n"
                "GET /config HTTP/1.1\r\nHost: a\r\n\r\n"));
    static const char *const statuses[] = {"HTTP/1.1 200 ", "HTTP/1.1 404 ", "HTTP/1.1 200 ",
                                           "HTTP/1.1 200 ", "HTTP/1.1 301 "};
    static const bool heads[] = {false, false, true, false, false};
    for (size_t i = 0; i < 5; i++) {
        assert_true(client_read_response(client, &pending, heads[i], &response));
        assert_true(cfbp_string_starts_with(response.buf, statuses[i]));
    }
    assert_int_equal(pending.len, 0);
    /* Many at once: more output than the server buffers before it stops parsing. */
    struct cfbp_strbuf burst = CFBP_STRBUF_INIT;
    for (int i = 0; i < 2000; i++)
        cfbp_strbuf_append_string(&burst,
                                  i % 2 ? GET_CONFIG : "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_true(client_send(client, burst.buf, burst.len));
    for (int i = 0; i < 2000; i++) {
        assert_true(client_read_response(client, &pending, false, &response));
        assert_true(
            cfbp_string_starts_with(response.buf, i % 2 ? "HTTP/1.1 200 " : "HTTP/1.1 404 "));
    }
    cfbp_strbuf_release(&burst);
    close(client);
    cfbp_strbuf_release(&pending);
    cfbp_strbuf_release(&response);
    stop_server(&server);
}

struct parallel_client {
    pthread_t thread;
    int port;
    int correct;
};

static void *run_parallel_client(void *argument)
{
    struct parallel_client *client = argument;
    struct cfbp_strbuf response = CFBP_STRBUF_INIT, pending = CFBP_STRBUF_INIT;
    int socket = client_connect("127.0.0.1", client->port);
    for (int i = 0; socket >= 0 && i < 5; i++) {
        bool config = i % 2 == 0;
        const char *request = config ? GET_CONFIG : "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n";
        if (!client_send_string(socket, request) ||
            !client_read_response(socket, &pending, false, &response))
            break;
        const char *body = config ? "\r\n\r\n" DEFAULT_BODY : "\r\n\r\n404 page not found\n";
        const char *status = config ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 404 Not Found\r\n";
        if (cfbp_string_starts_with(response.buf, status) &&
            cfbp_string_ends_with(response.buf, body))
            client->correct++;
    }
    if (socket >= 0)
        close(socket);
    cfbp_strbuf_release(&response);
    cfbp_strbuf_release(&pending);
    return NULL;
}

static void test_two_hundred_parallel_keep_alive_clients(void **state)
{
    (void)state;
    enum { CLIENTS = 200 };
    struct server server;
    start_server(&server, NULL);
    struct parallel_client *clients = calloc(CLIENTS, sizeof(*clients));
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, 256 * 1024);
    for (int i = 0; i < CLIENTS; i++) {
        clients[i].port = server.port;
        assert_int_equal(
            pthread_create(&clients[i].thread, &attributes, run_parallel_client, &clients[i]), 0);
    }
    int correct = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(clients[i].thread, NULL);
        correct += clients[i].correct;
    }
    pthread_attr_destroy(&attributes);
    free(clients);
    assert_int_equal(correct, CLIENTS * 5);
    stop_server(&server);
}

static void test_slow_and_idle_clients_are_dropped(void **state)
{
    (void)state;
    struct server server;
    const char *const environment[] = {"CONFIG_SERVER_REQUEST_TIMEOUT=2",
                                       "CONFIG_SERVER_IDLE_TIMEOUT=1", NULL};
    start_server(&server, environment);
    /* One byte a second: the whole request head must arrive within 2 s. */
    int client = client_connect("127.0.0.1", server.port);
    int64_t start = monotonic_ms();
    bool closed = false;
    for (const char *byte = GET_CONFIG; *byte && !closed; byte++) {
        if (!client_send(client, byte, 1))
            break;
        closed = client_sees_close(client, 1000);
    }
    int64_t elapsed = monotonic_ms() - start;
    close(client);
    assert_true(closed);
    assert_in_range(elapsed, 1800, 5000);

    /* A kept-alive connection that says nothing more goes after the idle timeout. */
    struct cfbp_strbuf response = CFBP_STRBUF_INIT, pending = CFBP_STRBUF_INIT;
    client = client_connect("127.0.0.1", server.port);
    assert_true(client_send_string(client, GET_CONFIG));
    assert_true(client_read_response(client, &pending, false, &response));
    start = monotonic_ms();
    assert_true(client_sees_close(client, 3000));
    assert_in_range(monotonic_ms() - start, 800, 2000);
    close(client);
    /* Meanwhile everyone else is served. */
    exchange(&server, GET_CONFIG, &response);
    assert_true(cfbp_string_starts_with(response.buf, "HTTP/1.1 200 OK\r\n"));
    cfbp_strbuf_release(&pending);
    cfbp_strbuf_release(&response);
    stop_server(&server);
}

/*
 * Issue "hostile inputs", then C2: a connection that never sends a byte kept its
 * place for the idle timeout, and after that fix still for the request timeout,
 * so 40 silent connections with 4 places made a real client wait 40 / 4 times
 * the request timeout (about 20 s) in the backlog behind them. At the cap each
 * newcomer now takes the place of the connection whose unfinished request began
 * earliest: the oldest silent ones go at once, the real client is answered at
 * once, and the newest silent ones still go after the request timeout.
 */
static void test_silent_connections_cannot_lock_others_out(void **state)
{
    (void)state;
    enum { SILENT = 40, PLACES = 4, REQUEST_TIMEOUT_MS = 2000 };
    struct server server;
    const char *const environment[] = {"CONFIG_SERVER_REQUEST_TIMEOUT=2",
                                       "CONFIG_SERVER_IDLE_TIMEOUT=4",
                                       "CONFIG_SERVER_MAX_CONNECTIONS=4", NULL};
    start_server(&server, environment);
    int silent[SILENT];
    int64_t start = monotonic_ms();
    for (int i = 0; i < SILENT; i++) {
        silent[i] = client_connect("127.0.0.1", server.port);
        assert_true(silent[i] >= 0);
    }
    struct cfbp_strbuf pending = CFBP_STRBUF_INIT;
    int client = send_config_request(server.port);
    set_receive_timeout(client, 3 * REQUEST_TIMEOUT_MS);
    assert_true(read_config_response(client, &pending));
    int64_t answered = monotonic_ms() - start;
    print_message("real client behind %d silent ones answered after %lld ms\n", SILENT,
                  (long long)answered);
    assert_in_range(answered, 0, REQUEST_TIMEOUT_MS);

    /* The oldest made room, for the later silent ones and for the client (FIFO)... */
    int evicted = SILENT - PLACES + 1;
    for (int i = 0; i < evicted; i++)
        assert_true(client_sees_close(silent[i], 1000));
    /* ...the newest are not cut before their time, but still go after the request timeout. */
    if (monotonic_ms() - start < REQUEST_TIMEOUT_MS * 3 / 4)
        for (int i = evicted; i < SILENT; i++)
            assert_true(still_open(silent[i]));
    for (int i = evicted; i < SILENT; i++)
        assert_true(client_sees_close(silent[i], REQUEST_TIMEOUT_MS + 1500));
    for (int i = 0; i < SILENT; i++)
        close(silent[i]);
    /* The client that was answered is kept alive all the while. */
    assert_true(client_send_string(client, GET_CONFIG));
    assert_true(read_config_response(client, &pending));
    close(client);
    cfbp_strbuf_release(&pending);
    stop_server(&server);
}

/*
 * Issue C1: at the cap, kept-alive clients that asked again every 3 s, under
 * the 4 s idle timeout, held every place for as long as they kept it up, and a
 * real client waited in the backlog the whole time. The longest-idle of them
 * now makes room for it at once; the others keep being served.
 */
static void test_idle_keep_alive_clients_cannot_lock_others_out(void **state)
{
    (void)state;
    enum { KEPT = 4, ROUND_MS = 3000, ATTACK_MS = 7000, REQUEST_TIMEOUT_MS = 2000 };
    struct server server;
    const char *const environment[] = {"CONFIG_SERVER_REQUEST_TIMEOUT=2",
                                       "CONFIG_SERVER_IDLE_TIMEOUT=4",
                                       "CONFIG_SERVER_MAX_CONNECTIONS=4", NULL};
    start_server(&server, environment);
    struct cfbp_strbuf pending = CFBP_STRBUF_INIT;
    int kept[KEPT];
    for (int i = 0; i < KEPT; i++) {
        kept[i] = send_config_request(server.port);
        assert_true(read_config_response(kept[i], &pending));
        usleep(20 * 1000); /* kept[0] has been idle longest */
    }
    int client = send_config_request(server.port);
    int64_t start = monotonic_ms();
    bool answered = false;
    for (int rounds = 0; !answered && monotonic_ms() - start < ATTACK_MS;) {
        int64_t next_round = start + (int64_t)(rounds + 1) * ROUND_MS;
        if (monotonic_ms() >= next_round) {
            for (int i = 0; i < KEPT; i++) /* the attack: each asks again */
                if (client_send_string(kept[i], GET_CONFIG))
                    read_config_response(kept[i], &pending);
            rounds++;
            continue;
        }
        int64_t wake = next_round < start + ATTACK_MS ? next_round : start + ATTACK_MS;
        int wait = (int)(wake - monotonic_ms());
        struct pollfd poller = {.fd = client, .events = POLLIN};
        if (poll(&poller, 1, wait > 0 ? wait : 0) > 0)
            answered = read_config_response(client, &pending);
    }
    int64_t waited = monotonic_ms() - start;
    print_message("real client beside %d busy keep-alive ones answered: %s after %lld ms\n", KEPT,
                  answered ? "yes" : "no", (long long)waited);
    assert_true(answered);
    assert_in_range(waited, 0, REQUEST_TIMEOUT_MS);
    /* kept[0] gave its place up; the others are still served on theirs. */
    assert_true(client_sees_close(kept[0], 1000));
    for (int i = 1; i < KEPT; i++) {
        assert_true(client_send_string(kept[i], GET_CONFIG));
        assert_true(read_config_response(kept[i], &pending));
    }
    for (int i = 0; i < KEPT; i++)
        close(kept[i]);
    close(client);
    cfbp_strbuf_release(&pending);
    stop_server(&server);
}

/* Sends text and returns how long until the server closes (or -1 if it did not within 5 s). */
static int64_t sent_until_closed(int client, const char *text)
{
    int64_t start = monotonic_ms();
    assert_true(client_send_string(client, text));
    if (!client_sees_close(client, 5000))
        return -1;
    return monotonic_ms() - start;
}

static void test_idle_timeout_applies_only_between_requests(void **state)
{
    (void)state;
    struct server server;
    const char *const environment[] = {"CONFIG_SERVER_REQUEST_TIMEOUT=1",
                                       "CONFIG_SERVER_IDLE_TIMEOUT=3", NULL};
    start_server(&server, environment);
    struct cfbp_strbuf response = CFBP_STRBUF_INIT, pending = CFBP_STRBUF_INIT;
    /* After a response the connection is kept for the idle timeout, not the request one. */
    int client = client_connect("127.0.0.1", server.port);
    assert_true(client_send_string(client, GET_CONFIG));
    assert_true(client_read_response(client, &pending, false, &response));
    int64_t start = monotonic_ms();
    assert_false(client_sees_close(client, 2000));
    assert_true(client_sees_close(client, 3000));
    assert_in_range(monotonic_ms() - start, 2800, 4000);
    close(client);

    /* Once the next request's first byte is in, the request timeout runs from it: a request
     * begun just before the idle timeout is not cut by it, nor allowed more than 1 s. */
    client = client_connect("127.0.0.1", server.port);
    assert_true(client_send_string(client, GET_CONFIG));
    assert_true(client_read_response(client, &pending, false, &response));
    usleep(2500 * 1000);
    assert_in_range(sent_until_closed(client, "GET /con"), 800, 2000);
    close(client);

    /* A request body trickled slower than that goes the same way. */
    client = client_connect("127.0.0.1", server.port);
    start = monotonic_ms();
    assert_true(client_send_string(client, "POST /config/ HTTP/1.1\r\nHost: a\r\n"
                                           "Content-Length: 20\r\n\r\n"));
    bool closed = false;
    for (int i = 0; i < 20 && !closed; i++)
        closed = !client_send(client, "x", 1) || client_sees_close(client, 300);
    assert_true(closed);
    assert_in_range(monotonic_ms() - start, 800, 2000);
    close(client);

    /* A client that shuts its sending side mid-request is closed at once... */
    client = client_connect("127.0.0.1", server.port);
    assert_true(client_send_string(client, "GET /config/ HTTP/1.1\r\nHo"));
    start = monotonic_ms();
    shutdown(client, SHUT_WR);
    assert_true(client_sees_close(client, 2000));
    assert_true(monotonic_ms() - start < 500);
    close(client);
    /* ...and one that shuts it after a whole request still gets the answer. */
    client = client_connect("127.0.0.1", server.port);
    assert_true(client_send_string(client, GET_CONFIG));
    shutdown(client, SHUT_WR);
    assert_true(client_read_response(client, &pending, false, &response));
    assert_true(cfbp_string_ends_with(response.buf, "\r\n\r\n" DEFAULT_BODY));
    assert_true(client_sees_close(client, 2000));
    close(client);
    cfbp_strbuf_release(&pending);
    cfbp_strbuf_release(&response);
    stop_server(&server);
}

/*
 * Whether the server still holds its end of client's connection open, read
 * from /proc/net/tcp: its socket is ESTABLISHED until the server closes it.
 * (The client cannot tell sooner: what the kernels buffered arrives first.)
 */
static bool server_end_established(int server_port, int client)
{
    struct sockaddr_in local;
    socklen_t length = sizeof(local);
    assert_int_equal(getsockname(client, (struct sockaddr *)&local, &length), 0);
    unsigned client_port = ntohs(local.sin_port);
    FILE *table = fopen("/proc/net/tcp", "r");
    assert_non_null(table);
    char line[512];
    bool established = false;
    while (fgets(line, sizeof(line), table)) {
        unsigned local_address, local_port, remote_address, remote_port, state;
        if (sscanf(line, " %*u: %8X:%4X %8X:%4X %2X", &local_address, &local_port, &remote_address,
                   &remote_port, &state) == 5 &&
            local_port == (unsigned)server_port && remote_port == client_port)
            established = state == 0x01;
    }
    fclose(table);
    return established;
}

/* Milliseconds until the server closes its end (reading at most read_bytes every 50 ms). */
static int64_t until_server_closes(const struct server *server, int client, size_t read_bytes,
                                   int64_t since, size_t *total)
{
    char chunk[65536];
    while (monotonic_ms() - since < 8000) {
        if (!server_end_established(server->port, client))
            return monotonic_ms() - since;
        ssize_t got = read_bytes ? recv(client, chunk, read_bytes, MSG_DONTWAIT) : 0;
        if (got > 0)
            *total += (size_t)got;
        usleep(50 * 1000);
    }
    return -1;
}

/*
 * The write timeout: output the client does not take in (the kernel's buffers
 * full) may wait for the request timeout, counted from when it started
 * waiting, so neither a client that never reads nor one that reads a trickle
 * keeps its place.
 */
static void test_clients_that_do_not_read_are_dropped(void **state)
{
    (void)state;
    enum { REQUESTS = 32, BODY = 1000 * 1000 };
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, variable = CFBP_STRBUF_INIT;
    struct cfbp_strbuf content = CFBP_STRBUF_INIT, burst = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&content, "{\"pad\":\"");
    for (size_t i = content.len; i < BODY - 3; i++)
        cfbp_strbuf_append_char(&content, 'a');
    cfbp_strbuf_append_string(&content, "\"}\n");
    write_temporary(&path, content.buf);
    cfbp_strbuf_append_format(&variable, "CONFIG_SERVER_CONFIG_FILE=%s", path.buf);
    const char *const environment[] = {variable.buf, "CONFIG_SERVER_REQUEST_TIMEOUT=1",
                                       "CONFIG_SERVER_IDLE_TIMEOUT=60", NULL};
    struct server server;
    start_server(&server, environment);
    for (int i = 0; i < REQUESTS; i++)
        cfbp_strbuf_append_string(&burst, GET_CONFIG);

    /* 32 pipelined requests for 1 MB each, never read: closed after about 1 s. */
    int client = client_connect("127.0.0.1", server.port);
    int64_t start = monotonic_ms();
    assert_true(client_send(client, burst.buf, burst.len));
    size_t total = 0;
    int64_t closed = until_server_closes(&server, client, 0, start, &total);
    print_message("client that never reads cut after %lld ms\n", (long long)closed);
    assert_in_range(closed, 800, 3000);
    close(client);

    /* Reading 16 kB every 50 ms through a small receive buffer keeps the output moving, but a
     * 1 MB response still waits for seconds: cut as well. */
    client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 16384;
    setsockopt(client, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)server.port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(client, (struct sockaddr *)&address, sizeof(address)), 0);
    start = monotonic_ms();
    assert_true(client_send(client, burst.buf, burst.len));
    closed = until_server_closes(&server, client, 16384, start, &total);
    print_message("trickling reader cut after %lld ms, %zu bytes read\n", (long long)closed, total);
    assert_in_range(closed, 800, 3000);
    close(client);

    struct cfbp_strbuf response = CFBP_STRBUF_INIT;
    exchange(&server, GET_CONFIG, &response); /* everyone else is served meanwhile */
    assert_true(cfbp_string_starts_with(response.buf, "HTTP/1.1 200 OK\r\n"));
    stop_server(&server);
    unlink(path.buf);
    cfbp_strbuf_release(&response);
    cfbp_strbuf_release(&burst);
    cfbp_strbuf_release(&content);
    cfbp_strbuf_release(&variable);
    cfbp_strbuf_release(&path);
}

/* Sends request on a new connection; asserts the exact answer and that the server hangs up. */
static void assert_refused(const struct server *server, const char *request, size_t length,
                           const char *expected)
{
    struct cfbp_strbuf response = CFBP_STRBUF_INIT, pending = CFBP_STRBUF_INIT;
    int client = client_connect("127.0.0.1", server->port);
    assert_true(client >= 0);
    assert_true(client_send(client, request, length));
    assert_true(client_read_response(client, &pending, false, &response));
    assert_string_equal(response.buf, expected);
    close(client);
    cfbp_strbuf_release(&pending);
    cfbp_strbuf_release(&response);
}

static void test_bad_requests_are_refused_and_others_served(void **state)
{
    (void)state;
    struct server server;
    struct cfbp_strbuf response = CFBP_STRBUF_INIT;
    start_server(&server, NULL);
    static const char garbage[] = "GARBAGE\r\n\r\n";
    assert_refused(&server, garbage, strlen(garbage), BAD_REQUEST);
    static const char binary[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n";
    assert_refused(&server, binary, sizeof(binary) - 1, BAD_REQUEST);
    static const char bad_version[] = "GET /config/ HTTP/1.1 extra\r\nHost: a\r\n\r\n";
    assert_refused(&server, bad_version, strlen(bad_version), BAD_REQUEST);
    static const char no_host[] = "GET /config/ HTTP/1.1\r\n\r\n";
    assert_refused(&server, no_host, strlen(no_host),
                   "HTTP/1.1 400 Bad Request: missing required Host header\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
                   "400 Bad Request: missing required Host header");
    static const char two_hosts[] = "GET /config/ HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n";
    assert_refused(&server, two_hosts, strlen(two_hosts),
                   "HTTP/1.1 400 Bad Request: too many Host headers\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
                   "400 Bad Request: too many Host headers");
    /* After a good request on the same connection, the bad one still gets its answer. */
    struct cfbp_strbuf mixed = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&mixed, "%s%s", GET_CONFIG, garbage);
    int client = client_connect("127.0.0.1", server.port);
    struct cfbp_strbuf pending = CFBP_STRBUF_INIT;
    assert_true(client_send(client, mixed.buf, mixed.len));
    assert_true(client_read_response(client, &pending, false, &response));
    assert_true(cfbp_string_starts_with(response.buf, "HTTP/1.1 200 OK\r\n"));
    assert_true(client_read_response(client, &pending, false, &response));
    assert_string_equal(response.buf, BAD_REQUEST);
    close(client);
    cfbp_strbuf_release(&pending);
    cfbp_strbuf_release(&mixed);
    exchange(&server, GET_CONFIG, &response);
    assert_true(cfbp_string_ends_with(response.buf, "\r\n\r\n" DEFAULT_BODY));
    cfbp_strbuf_release(&response);
    stop_server(&server);
}

static void test_oversized_requests_are_refused(void **state)
{
    (void)state;
    struct server server;
    start_server(&server, NULL);
    struct cfbp_strbuf request = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&request, "GET /config/ HTTP/1.1\r\nHost: a\r\nX-Big: ");
    for (int i = 0; i < 20000; i++)
        cfbp_strbuf_append_char(&request, 'a');
    cfbp_strbuf_append_string(&request, "\r\n\r\n");
    assert_refused(&server, request.buf, request.len,
                   "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
                   "431 Request Header Fields Too Large");
    static const char too_long[] = "POST /config/ HTTP/1.1\r\nHost: a\r\n"
                                   "Content-Length: 2000000\r\n\r\n";
    static const char too_large[] = "HTTP/1.1 413 Request Entity Too Large\r\n"
                                    "Content-Type: text/plain; charset=utf-8\r\n"
                                    "Connection: close\r\n\r\n413 Request Entity Too Large";
    assert_refused(&server, too_long, strlen(too_long), too_large);
    cfbp_strbuf_set(&request, "POST /config/ HTTP/1.1\r\nHost: a\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n200000\r\n");
    for (int i = 0; i < 0x200000; i++)
        cfbp_strbuf_append_char(&request, 'b');
    assert_refused(&server, request.buf, request.len, too_large);
    cfbp_strbuf_release(&request);
    struct cfbp_strbuf response = CFBP_STRBUF_INIT;
    exchange(&server, GET_CONFIG, &response);
    assert_true(cfbp_string_ends_with(response.buf, "\r\n\r\n" DEFAULT_BODY));
    cfbp_strbuf_release(&response);
    stop_server(&server);
}

static void test_expect_continue(void **state)
{
    (void)state;
    struct server server;
    start_server(&server, NULL);
    int client = client_connect("127.0.0.1", server.port);
    assert_true(client_send_string(client, "POST /config/ HTTP/1.1\r\nHost: a\r\n"
                                           "Expect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
    struct cfbp_strbuf response = CFBP_STRBUF_INIT, pending = CFBP_STRBUF_INIT;
    static const char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";
    while (pending.len < strlen(interim)) {
        char chunk[64];
        ssize_t got = recv(client, chunk, sizeof(chunk), 0);
        assert_true(got > 0);
        cfbp_strbuf_append(&pending, chunk, (size_t)got);
    }
    assert_string_equal(pending.buf, interim);
    cfbp_strbuf_reset(&pending);
    assert_true(client_send_string(client, "body"));
    assert_true(client_read_response(client, &pending, false, &response));
    assert_true(cfbp_string_ends_with(response.buf, "\r\n\r\n" DEFAULT_BODY));
    close(client);
    cfbp_strbuf_release(&pending);
    cfbp_strbuf_release(&response);
    stop_server(&server);
}

/*
 * At the cap a newcomer is taken in at once, and the place it takes is the one
 * kept alive idle the longest, else the one whose unfinished request began
 * earliest (a connection that has sent nothing counts from accept).
 */
static void test_connection_cap_makes_room_idle_first_then_slowest(void **state)
{
    (void)state;
    struct server server;
    const char *const environment[] = {"CONFIG_SERVER_MAX_CONNECTIONS=2", NULL};
    start_server(&server, environment);
    struct cfbp_strbuf pending = CFBP_STRBUF_INIT;
    int silent = client_connect("127.0.0.1", server.port);
    int idle = send_config_request(server.port);
    assert_true(read_config_response(idle, &pending));
    /* Idle first: the silent connection is not touched. */
    int third = send_config_request(server.port);
    set_receive_timeout(third, 2000);
    assert_true(read_config_response(third, &pending));
    assert_true(client_sees_close(idle, 1000));
    assert_true(still_open(silent));
    /* With no one idle, the request begun earliest goes: the silent one, not third's. */
    assert_true(client_send_string(third, "GET /con"));
    int fourth = send_config_request(server.port);
    set_receive_timeout(fourth, 2000);
    assert_true(read_config_response(fourth, &pending));
    assert_true(client_sees_close(silent, 1000));
    /* third still gets its answer when it finishes the request. */
    assert_true(client_send_string(third, "fig/ HTTP/1.1\r\nHost: a\r\n\r\n"));
    assert_true(read_config_response(third, &pending));
    close(silent);
    close(idle);
    close(third);
    close(fourth);
    cfbp_strbuf_release(&pending);
    stop_server(&server);
}

/* A client with a small receive buffer that has sent burst and reads nothing yet. */
static int connect_slow_reader(int port, const struct cfbp_strbuf *burst)
{
    int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 16384;
    setsockopt(client, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(client, (struct sockaddr *)&address, sizeof(address)), 0);
    assert_true(client_send(client, burst->buf, burst->len));
    return client;
}

/* Reads count responses of body on client: each must be whole. */
static void assert_reads_responses(int client, int count, const char *body)
{
    struct cfbp_strbuf response = CFBP_STRBUF_INIT, pending = CFBP_STRBUF_INIT;
    for (int i = 0; i < count; i++) {
        assert_true(client_read_response(client, &pending, false, &response));
        assert_true(cfbp_string_starts_with(response.buf, "HTTP/1.1 200 OK\r\n"));
        assert_true(cfbp_string_ends_with(response.buf, body));
    }
    assert_int_equal(pending.len, 0);
    cfbp_strbuf_release(&pending);
    cfbp_strbuf_release(&response);
}

/*
 * A connection being answered never gives its place up: a client taking in
 * 8 MB of responses slowly (within the write timeout) keeps it while a silent
 * connection makes room for a newcomer; and when every connection is being
 * answered, the newcomer waits in the backlog until one is not.
 */
static void test_connections_being_answered_keep_their_places(void **state)
{
    (void)state;
    enum { REQUESTS = 8, BODY = 1000 * 1000 };
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, variable = CFBP_STRBUF_INIT;
    struct cfbp_strbuf content = CFBP_STRBUF_INIT, burst = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&content, "{\"pad\":\"");
    for (size_t i = content.len; i < BODY - 3; i++)
        cfbp_strbuf_append_char(&content, 'b');
    cfbp_strbuf_append_string(&content, "\"}\n");
    write_temporary(&path, content.buf);
    cfbp_strbuf_append_format(&variable, "CONFIG_SERVER_CONFIG_FILE=%s", path.buf);
    /* The write timeout is the request timeout: 5 s for the readers to take 8 MB in. */
    const char *const environment[] = {variable.buf, "CONFIG_SERVER_REQUEST_TIMEOUT=5",
                                       "CONFIG_SERVER_MAX_CONNECTIONS=2", NULL};
    struct server server;
    start_server(&server, environment);
    for (int i = 0; i < REQUESTS; i++)
        cfbp_strbuf_append_string(&burst, GET_CONFIG);

    int reader = connect_slow_reader(server.port, &burst);
    int silent = client_connect("127.0.0.1", server.port);
    usleep(300 * 1000); /* the reader's responses back up in the server */
    int newcomer = send_config_request(server.port);
    set_receive_timeout(newcomer, 2000); /* before the fix: the silent one's 5 s */
    assert_reads_responses(newcomer, 1, content.buf);
    assert_true(server_end_established(server.port, reader));
    assert_true(client_sees_close(silent, 1000));
    close(newcomer); /* its place goes to a second slow reader */
    int second_reader = connect_slow_reader(server.port, &burst);
    usleep(300 * 1000);

    /* Both places are being answered: a newcomer waits... */
    int waiting = send_config_request(server.port);
    struct pollfd poller = {.fd = waiting, .events = POLLIN};
    assert_int_equal(poll(&poller, 1, 500), 0);
    /* ...and the readers get every byte; once the first has its last, the newcomer is in. */
    assert_reads_responses(reader, REQUESTS, content.buf);
    set_receive_timeout(waiting, 3000);
    assert_reads_responses(waiting, 1, content.buf);
    assert_reads_responses(second_reader, REQUESTS, content.buf);
    close(reader);
    close(second_reader);
    close(silent);
    close(waiting);
    stop_server(&server);
    unlink(path.buf);
    cfbp_strbuf_release(&burst);
    cfbp_strbuf_release(&content);
    cfbp_strbuf_release(&variable);
    cfbp_strbuf_release(&path);
}

/* Pipelines count requests for the configuration in batches; returns how many were answered. */
static int pipeline_config_requests(int client, int count)
{
    enum { BATCH = 500 };
    struct cfbp_strbuf burst = CFBP_STRBUF_INIT, pending = CFBP_STRBUF_INIT;
    for (int i = 0; i < BATCH; i++)
        cfbp_strbuf_append_string(&burst, GET_CONFIG);
    int answered = 0;
    for (int sent = 0; sent < count && answered == sent; sent += BATCH) {
        int batch = count - sent < BATCH ? count - sent : BATCH;
        if (!client_send(client, burst.buf, (size_t)batch * strlen(GET_CONFIG)))
            break;
        for (int i = 0; i < batch && read_config_response(client, &pending); i++)
            answered++;
    }
    cfbp_strbuf_release(&pending);
    cfbp_strbuf_release(&burst);
    return answered;
}

/* Appends to out what can be read from the pipe's read end without waiting. */
static void read_pipe_now(int descriptor, struct cfbp_strbuf *out)
{
    char chunk[16384];
    ssize_t got;
    while ((got = read(descriptor, chunk, sizeof(chunk))) > 0)
        cfbp_strbuf_append(out, chunk, (size_t)got);
}

/*
 * Issue C3: each request's log line went out with a blocking fputs and fflush,
 * so with stdout a pipe nobody read, one client pipelining a few thousand
 * requests filled it and the loop stopped in write: nobody was answered and
 * SIGTERM was never read. Lines that do not fit are now dropped and counted.
 */
static void test_unread_stdout_does_not_stop_the_server(void **state)
{
    (void)state;
    enum { REQUESTS = 4000 };
    static const char line[] = "Received a request for config.\n";
    int log_pipe[2];
    assert_int_equal(pipe2(log_pipe, O_CLOEXEC), 0);
    /* 64 KiB whatever the default: about 2100 lines fill it. */
    assert_int_equal(fcntl(log_pipe[1], F_SETPIPE_SZ, 65536), 65536);
    int port = free_port();
    struct cfbp_strbuf variable = CFBP_STRBUF_INIT, log = CFBP_STRBUF_INIT;
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&variable, "CONFIG_SERVER_PORT=%d", port);
    const char *const environment[] = {variable.buf, NULL};
    const char *argv[] = {sidecar_binary(), NULL};
    struct process process;
    process_start_with_stdout(&process, argv, environment, log_pipe[1]);
    close(log_pipe[1]);
    assert_true(wait_for_port(port, 10000));

    int client = client_connect("127.0.0.1", port);
    set_receive_timeout(client, 3000); /* before the fix: stuck at about 2100 */
    assert_int_equal(pipeline_config_requests(client, REQUESTS), REQUESTS);
    /* The pipe is full, and another client is answered at once. */
    struct cfbp_strbuf pending = CFBP_STRBUF_INIT;
    int other = send_config_request(port);
    set_receive_timeout(other, 2000);
    assert_true(read_config_response(other, &pending));

    /* What went out is whole lines, the Go sidecar's... */
    assert_int_equal(fcntl(log_pipe[0], F_SETFL, O_NONBLOCK), 0);
    read_pipe_now(log_pipe[0], &log);
    cfbp_strbuf_append_format(&expected, "listening 127.0.0.1:%d...\n", port);
    assert_true(cfbp_string_starts_with(log.buf, expected.buf));
    size_t logged = (log.len - expected.len) / strlen(line);
    assert_int_equal(expected.len + logged * strlen(line), log.len);
    for (size_t i = 0; i < logged; i++)
        assert_memory_equal(log.buf + expected.len + i * strlen(line), line, strlen(line));
    print_message("%zu of %d lines went out while stdout was full\n", logged, REQUESTS + 1);
    assert_in_range(logged, 1, REQUESTS - 1);
    /* ...and once there is room, the next line says how many were dropped. */
    assert_true(client_send_string(other, GET_CONFIG));
    assert_true(read_config_response(other, &pending));
    cfbp_strbuf_reset(&log);
    read_pipe_now(log_pipe[0], &log);
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected,
                              "config-server: stdout was full; dropped log lines: %zu\n%s",
                              REQUESTS + 1 - logged, line);
    assert_string_equal(log.buf, expected.buf);

    /* Full again: SIGTERM is still read, and the server exits 0 within a second. */
    assert_int_equal(pipeline_config_requests(client, REQUESTS), REQUESTS);
    int64_t elapsed = 0;
    int status = process_stop(&process, SIGTERM, 5000, &elapsed);
    process_release(&process);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(elapsed < 1000);
    close(client);
    close(other);
    close(log_pipe[0]);
    cfbp_strbuf_release(&pending);
    cfbp_strbuf_release(&expected);
    cfbp_strbuf_release(&log);
    cfbp_strbuf_release(&variable);
}

static void assert_stops_cleanly_on(int signal)
{
    struct server server;
    start_server(&server, NULL);
    /* An idle client and one half-way through a request must not hold it up. */
    int idle = client_connect("127.0.0.1", server.port);
    int partial = client_connect("127.0.0.1", server.port);
    assert_true(client_send_string(partial, "GET /con"));
    usleep(100000);
    int64_t elapsed = 0;
    int status = process_stop(&server.process, signal, 5000, &elapsed);
    process_release(&server.process);
    close(idle);
    close(partial);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(elapsed < 1000); /* issue 3: within a second, clients open or not */
}

static void test_sigterm_and_sigint_exit_zero_within_a_second(void **state)
{
    (void)state;
    assert_stops_cleanly_on(SIGTERM);
    assert_stops_cleanly_on(SIGINT);
}

/* Runs the sidecar with environment expecting exit status and exactly this stderr. */
static void assert_refuses_to_start(const char *const *environment, int status,
                                    const char *expected_stderr)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT, err = CFBP_STRBUF_INIT;
    int wait_status = sidecar_run_to_exit(environment, &out, &err);
    assert_true(WIFEXITED(wait_status));
    assert_int_equal(WEXITSTATUS(wait_status), status);
    assert_string_equal(err.buf, expected_stderr);
    assert_string_equal(out.buf, "");
    cfbp_strbuf_release(&out);
    cfbp_strbuf_release(&err);
}

static void test_bad_settings_stop_it_at_start(void **state)
{
    (void)state;
    assert_refuses_to_start(NULL, 1, "Error: missing $CONFIG_SERVER_PORT\n");
    const char *const empty[] = {"CONFIG_SERVER_PORT=", NULL};
    assert_refuses_to_start(empty, 1, "Error: missing $CONFIG_SERVER_PORT\n");
    const char *const word[] = {"CONFIG_SERVER_PORT=http", NULL};
    assert_refuses_to_start(word, 1,
                            "Error: invalid $CONFIG_SERVER_PORT \"http\": expected a whole "
                            "number from 0 to 65535\n");
    const char *const big[] = {"CONFIG_SERVER_PORT=65536", NULL};
    assert_refuses_to_start(big, 1,
                            "Error: invalid $CONFIG_SERVER_PORT \"65536\": expected a whole "
                            "number from 0 to 65535\n");
    const char *const host[] = {"CONFIG_SERVER_PORT=0", "CONFIG_SERVER_BIND=localhost", NULL};
    assert_refuses_to_start(host, 1,
                            "Error: invalid $CONFIG_SERVER_BIND \"localhost\": expected an IPv4 "
                            "or IPv6 address such as 127.0.0.1, 0.0.0.0 or ::1\n");
    const char *const timeout[] = {"CONFIG_SERVER_PORT=0", "CONFIG_SERVER_REQUEST_TIMEOUT=0", NULL};
    assert_refuses_to_start(timeout, 1,
                            "Error: invalid $CONFIG_SERVER_REQUEST_TIMEOUT \"0\": expected a whole "
                            "number from 1 to 3600\n");

    struct server server;
    start_server(&server, NULL);
    struct cfbp_strbuf variable = CFBP_STRBUF_INIT, expected = CFBP_STRBUF_INIT;
    struct cfbp_strbuf out = CFBP_STRBUF_INIT, err = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&variable, "CONFIG_SERVER_PORT=%d", server.port);
    cfbp_strbuf_append_format(&expected,
                              "Error: cannot listen on 127.0.0.1 port %d: ", server.port);
    const char *const taken[] = {variable.buf, NULL};
    int status = sidecar_run_to_exit(taken, &out, &err);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    /* The reason is strerror's, which musl and glibc word differently. */
    assert_true(cfbp_string_starts_with(err.buf, expected.buf));
    assert_true(cfbp_string_ends_with(err.buf, " in use\n"));
    assert_string_equal(out.buf, "");
    cfbp_strbuf_release(&out);
    cfbp_strbuf_release(&err);
    cfbp_strbuf_release(&variable);
    cfbp_strbuf_release(&expected);
    stop_server(&server);
}

static void test_binds_loopback_unless_told(void **state)
{
    (void)state;
    struct cfbp_strbuf output = CFBP_STRBUF_INIT, expected = CFBP_STRBUF_INIT;
    struct server server;
    start_server(&server, NULL);
    process_read_stdout(&server.process, &output);
    cfbp_strbuf_append_format(&expected, "listening 127.0.0.1:%d...\n", server.port);
    assert_string_equal(output.buf, expected.buf);
    stop_server(&server);

    const char *const any[] = {"CONFIG_SERVER_BIND=0.0.0.0", NULL};
    start_server(&server, any);
    process_read_stdout(&server.process, &output);
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected, "listening 0.0.0.0:%d...\n", server.port);
    assert_string_equal(output.buf, expected.buf);
    stop_server(&server);

    int probe = client_connect("::1", 9); /* is there IPv6 loopback at all? */
    if (probe >= 0 || errno == ECONNREFUSED) {
        if (probe >= 0)
            close(probe);
        const char *const ipv6[] = {"CONFIG_SERVER_BIND=::1", NULL};
        start_server(&server, ipv6);
        process_read_stdout(&server.process, &output);
        cfbp_strbuf_reset(&expected);
        cfbp_strbuf_append_format(&expected, "listening [::1]:%d...\n", server.port);
        assert_string_equal(output.buf, expected.buf);
        int client = client_connect("::1", server.port);
        assert_true(client >= 0);
        struct cfbp_strbuf response = CFBP_STRBUF_INIT, pending = CFBP_STRBUF_INIT;
        assert_true(client_send_string(client, GET_CONFIG));
        assert_true(client_read_response(client, &pending, false, &response));
        assert_true(cfbp_string_ends_with(response.buf, "\r\n\r\n" DEFAULT_BODY));
        close(client);
        cfbp_strbuf_release(&response);
        cfbp_strbuf_release(&pending);
        stop_server(&server);
    }
    cfbp_strbuf_release(&output);
    cfbp_strbuf_release(&expected);
}

static void write_temporary(struct cfbp_strbuf *path, const char *content)
{
    cfbp_strbuf_set(path, "/tmp/sidecar-test-config-XXXXXX");
    int descriptor = mkstemp(path->buf);
    assert_true(descriptor >= 0);
    assert_int_equal(write(descriptor, content, strlen(content)), (ssize_t)strlen(content));
    close(descriptor);
}

static void test_serves_a_configuration_file_byte_for_byte(void **state)
{
    (void)state;
    static const char content[] = "{ \"url\" : \"https://example.com/?a=<b>\",\n"
                                  "  \"limits\": [1, 2.5e3, null] }\n\n";
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, variable = CFBP_STRBUF_INIT;
    write_temporary(&path, content);
    cfbp_strbuf_append_format(&variable, "CONFIG_SERVER_CONFIG_FILE=%s", path.buf);
    /* The file wins over a tagged binding. */
    const char *const environment[] = {
        variable.buf, "VCAP_SERVICES={\"s\":[{\"tags\":[\"config-server\"],\"credentials\":{}}]}",
        NULL};
    struct server server;
    start_server(&server, environment);
    struct cfbp_strbuf response = CFBP_STRBUF_INIT, expected = CFBP_STRBUF_INIT;
    exchange(&server, GET_CONFIG, &response);
    cfbp_strbuf_append_format(&expected,
                              "HTTP/1.1 200 OK\r\nDate: %%s\r\nContent-Length: %zu\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n\r\n%s",
                              strlen(content), content);
    assert_response(&response, expected.buf);
    struct cfbp_strbuf output = CFBP_STRBUF_INIT;
    process_read_stdout(&server.process, &output);
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected,
                              "serving configuration from %s\nlistening 127.0.0.1:%d...\n"
                              "Received a request for config.\n",
                              path.buf, server.port);
    assert_string_equal(output.buf, expected.buf);
    stop_server(&server);
    unlink(path.buf);
    cfbp_strbuf_release(&output);
    cfbp_strbuf_release(&response);
    cfbp_strbuf_release(&expected);
    cfbp_strbuf_release(&variable);
    cfbp_strbuf_release(&path);
}

static void test_refuses_a_bad_configuration_file(void **state)
{
    (void)state;
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, variable = CFBP_STRBUF_INIT;
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    write_temporary(&path, "{\"a\": 1,}");
    cfbp_strbuf_append_format(&variable, "CONFIG_SERVER_CONFIG_FILE=%s", path.buf);
    const char *const environment[] = {"CONFIG_SERVER_PORT=0", variable.buf, NULL};
    cfbp_strbuf_append_format(&expected,
                              "Error: CONFIG_SERVER_CONFIG_FILE %s is not valid JSON: line 1, "
                              "column 9: expected a string as an object key\n",
                              path.buf);
    assert_refuses_to_start(environment, 1, expected.buf);
    unlink(path.buf);
    const char *const missing[] = {"CONFIG_SERVER_PORT=0",
                                   "CONFIG_SERVER_CONFIG_FILE=/nonexistent/config.json", NULL};
    assert_refuses_to_start(missing, 1,
                            "Error: cannot open CONFIG_SERVER_CONFIG_FILE "
                            "/nonexistent/config.json: No such file or directory\n");
    cfbp_strbuf_release(&expected);
    cfbp_strbuf_release(&variable);
    cfbp_strbuf_release(&path);
}

static void test_serves_the_tagged_vcap_services_binding(void **state)
{
    (void)state;
    const char *const environment[] = {
        "VCAP_SERVICES={\"user-provided\":[{\"name\":\"other\",\"tags\":[],"
        "\"credentials\":{\"x\":1}}],\n \"p-config\":[{\"name\":\"untagged\"},"
        "{\"name\":\"cfg\",\"tags\":[\"a\",\"config-server\"],\"credentials\":"
        "{ \"Scope\" : \"s\", \"Url\":\"https://h/?a=<b>&c\", \"N\": [1e3, true] }},"
        "{\"name\":\"later\",\"tags\":[\"config-server\"],\"credentials\":{}}]}",
        NULL};
    struct server server;
    start_server(&server, environment);
    struct cfbp_strbuf response = CFBP_STRBUF_INIT;
    exchange(&server, GET_CONFIG, &response);
    static const char body[] = "{\"Scope\":\"s\",\"Url\":\"https://h/?a=\\u003cb\\u003e\\u0026c\","
                               "\"N\":[1e3,true]}\n";
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected,
                              "HTTP/1.1 200 OK\r\nDate: %%s\r\nContent-Length: %zu\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n\r\n%s",
                              strlen(body), body);
    assert_response(&response, expected.buf);
    struct cfbp_strbuf output = CFBP_STRBUF_INIT;
    process_read_stdout(&server.process, &output);
    assert_true(cfbp_string_starts_with(output.buf, "serving configuration from VCAP_SERVICES "
                                                    "binding \"cfg\" (service p-config)\n"));
    stop_server(&server);
    cfbp_strbuf_release(&output);
    cfbp_strbuf_release(&expected);
    cfbp_strbuf_release(&response);

    const char *const broken[] = {"CONFIG_SERVER_PORT=0", "VCAP_SERVICES={", NULL};
    assert_refuses_to_start(broken, 1,
                            "Error: VCAP_SERVICES is not valid JSON: line 1, column 2: expected a "
                            "string as an object key\n");
    const char *const not_object[] = {
        "CONFIG_SERVER_PORT=0",
        "VCAP_SERVICES={\"s\":[{\"name\":\"cfg\",\"tags\":[\"config-server\"],"
        "\"credentials\":\"secret\"}]}",
        NULL};
    assert_refuses_to_start(not_object, 1,
                            "Error: the credentials of the VCAP_SERVICES binding \"cfg\" (service "
                            "s) must be a JSON object (found: string)\n");
    /* No tagged binding: the seed's document. */
    const char *const untagged[] = {"VCAP_SERVICES={\"s\":[{\"name\":\"x\",\"credentials\":{}}]}",
                                    NULL};
    start_server(&server, untagged);
    exchange(&server, GET_CONFIG, &response);
    assert_true(cfbp_string_ends_with(response.buf, "\r\n\r\n" DEFAULT_BODY));
    cfbp_strbuf_release(&response);
    stop_server(&server);
}

static void test_version(void **state)
{
    (void)state;
    struct process process;
    const char *argv[] = {sidecar_binary(), "--version", NULL};
    process_start(&process, argv, NULL, NULL);
    int status = process_stop(&process, 0, 5000, NULL);
    struct cfbp_strbuf output = CFBP_STRBUF_INIT;
    process_read_stdout(&process, &output);
    process_release(&process);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_string_equal(output.buf, "config-server " CONFIG_SERVER_VERSION "\n");
    cfbp_strbuf_release(&output);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_response_is_the_go_sidecars),
        cmocka_unit_test(test_redirects_like_servemux),
        cmocka_unit_test(test_other_paths_are_not_found),
        cmocka_unit_test(test_connection_persistence),
        cmocka_unit_test(test_pipelined_requests_are_answered_in_order),
        cmocka_unit_test(test_two_hundred_parallel_keep_alive_clients),
        cmocka_unit_test(test_slow_and_idle_clients_are_dropped),
        cmocka_unit_test(test_silent_connections_cannot_lock_others_out),
        cmocka_unit_test(test_idle_keep_alive_clients_cannot_lock_others_out),
        cmocka_unit_test(test_idle_timeout_applies_only_between_requests),
        cmocka_unit_test(test_clients_that_do_not_read_are_dropped),
        cmocka_unit_test(test_bad_requests_are_refused_and_others_served),
        cmocka_unit_test(test_oversized_requests_are_refused),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_connection_cap_makes_room_idle_first_then_slowest),
        cmocka_unit_test(test_connections_being_answered_keep_their_places),
        cmocka_unit_test(test_unread_stdout_does_not_stop_the_server),
        cmocka_unit_test(test_sigterm_and_sigint_exit_zero_within_a_second),
        cmocka_unit_test(test_bad_settings_stop_it_at_start),
        cmocka_unit_test(test_binds_loopback_unless_told),
        cmocka_unit_test(test_serves_a_configuration_file_byte_for_byte),
        cmocka_unit_test(test_refuses_a_bad_configuration_file),
        cmocka_unit_test(test_serves_the_tagged_vcap_services_binding),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests_name("config-server", tests, NULL, NULL);
}
