/*
 * http_server.h - a scripted HTTP/1.1 server on 127.0.0.1 for tests, and an
 * https one.
 *
 * Each route answers its requests from a script of responses, in order, the
 * last one repeating: "503, 503, then 200" is three entries. A response can
 * misbehave on purpose: cut its body short, stall before the body, or hang up
 * without answering; a route can be made hostile (test_http_server_set_hostility).
 * The server also acts as a forward proxy: a request for an absolute URL
 * ("GET http://host/path") is served by the route for its path and
 * remembered, so tests can prove a proxy was used.
 *
 * The https server (test_tls_server_*) is a real TLS peer, openssl s_server,
 * serving whole responses written by the test from files.
 */
#ifndef TEST_HTTP_SERVER_H
#define TEST_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

struct test_http_response {
    int status;            /* 0 means 200 */
    const char *body;      /* or NULL with body_file */
    const char *body_file; /* serve this file's bytes */
    size_t truncate_after; /* send only this many body bytes, then close (0: send all) */
    unsigned stall_ms;     /* wait this long after the headers before the body */
    bool hang_up;          /* close without any response */
    const char *headers;   /* extra header lines, each ending in "\r\n" */
};

struct test_http_route {
    const char *path;
    const struct test_http_response *script;
    size_t steps;
};

struct test_http_server;

struct test_http_server *test_http_server_start(const struct test_http_route *routes, size_t count);
unsigned short test_http_server_port(const struct test_http_server *server);
/* "http://127.0.0.1:<port><path>" as a new string. */
char *test_http_server_url(const struct test_http_server *server, const char *path);
/* Requests the route for path has answered so far. */
unsigned test_http_server_hits(struct test_http_server *server, const char *path);
/* Requests that came in proxy form (absolute URL). */
unsigned test_http_server_proxy_hits(struct test_http_server *server);
void test_http_server_stop(struct test_http_server *server);

/*
 * What a hostile server does on every response of a route. A struct of its
 * own, set with designated initializers, so that test_http_response (written
 * positionally all over the tests) does not grow.
 */
struct test_http_hostility {
    const char *reason;      /* the status line's reason phrase, sent as is (NULL: the usual one) */
    bool echo_authorization; /* append the request's Authorization header to the reason phrase */
    unsigned drip_ms;        /* send body (or "drip" for a body_file) one byte every drip_ms,
                                over and over, never finishing (Content-Length claims 1 GiB),
                                until the client leaves or the server stops */
};

/* Makes the route for path hostile; call it before the requests it should affect. */
void test_http_server_set_hostility(struct test_http_server *server, const char *path,
                                    const struct test_http_hostility *hostility);

/*
 * Serves the bodies of path's route at about bytes_per_second, in pieces a
 * tenth of a second apart, as a slow mirror would (0: as fast as it can);
 * the response still ends. Applies to requests answered after the call.
 */
void test_http_server_set_rate(struct test_http_server *server, const char *path,
                               unsigned long bytes_per_second);

/* --- https --- */

struct test_tls_server;

/*
 * Starts openssl s_server on 127.0.0.1 (a free port), with a new self-signed
 * certificate for 127.0.0.1 written into dir (which must exist), and waits
 * until it listens. Trust it with SSL_CERT_FILE=test_tls_server_certificate().
 */
struct test_tls_server *test_tls_server_start(const char *dir);
/* The PEM file of the server's certificate. */
const char *test_tls_server_certificate(const struct test_tls_server *server);
/* "https://127.0.0.1:<port><path>" as a new string. */
char *test_tls_server_url(const struct test_tls_server *server, const char *path);
/*
 * Answers GET <path> (one segment, "/name") with status, extra header lines
 * (each ending in "\r\n", or NULL) and body; every request gets this answer.
 */
void test_tls_server_respond(struct test_tls_server *server, const char *path, int status,
                             const char *headers, const char *body);
/* Answers GET <path> with response sent as it is: status line, headers and body, however odd. */
void test_tls_server_respond_raw(struct test_tls_server *server, const char *path,
                                 const char *response);
void test_tls_server_stop(struct test_tls_server *server);

#endif
