/*
 * http_server.h - a scripted HTTP/1.1 server on 127.0.0.1 for tests.
 *
 * Each route answers its requests from a script of responses, in order, the
 * last one repeating: "503, 503, then 200" is three entries. A response can
 * misbehave on purpose: cut its body short, stall before the body, or hang up
 * without answering. The server also acts as a forward proxy: a request for
 * an absolute URL ("GET http://host/path") is served by the route for its
 * path and remembered, so tests can prove a proxy was used.
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

#endif
