/*
 * http_server.h - the sidecar's single-process HTTP/1.1 server.
 *
 * One thread runs an epoll loop over non-blocking sockets: the listening
 * socket, a signalfd for SIGTERM and SIGINT, and every client connection.
 * Connections are kept alive, pipelined requests are answered in order, and
 * every way a client can hold resources is bounded: the size of a request,
 * the time to send one, the time a connection may sit idle, the output a
 * client may leave unread, and the number of connections. At that number a
 * new client still gets in: an idle or stalling connection makes room for it.
 */
#ifndef CONFIG_SERVER_HTTP_SERVER_H
#define CONFIG_SERVER_HTTP_SERVER_H

#include "cfbp/strbuf.h"

#include <stddef.h>
#include <stdint.h>

struct cfbp_error;
struct routes;

struct http_server_settings {
    const char *bind_address; /* an IPv4 or IPv6 literal */
    uint16_t port;            /* 0 picks a free port */
    /* From accept (or a later request's first byte) to the request's end; also how long
     * queued output may wait for the client to take it in. */
    int request_timeout_ms;
    int idle_timeout_ms; /* from a response fully sent to the next request's first byte */
    /* At this many, a new client takes the place of the longest-idle kept-alive connection,
     * else of the one whose unfinished request began earliest; if every connection is being
     * answered, it waits in the listen backlog. */
    size_t max_connections;
};

struct http_server;

/* Binds and listens. On success *server owns the socket. */
int http_server_open(struct http_server **server, const struct http_server_settings *settings,
                     const struct routes *routes, struct cfbp_error *err);

/* Appends the address actually listened on, as "127.0.0.1:8082" or "[::1]:8082". */
void http_server_describe_address(const struct http_server *server, struct cfbp_strbuf *out);

/* Serves until SIGTERM or SIGINT arrives (returns 0) or the loop itself fails (-1). */
int http_server_run(struct http_server *server, struct cfbp_error *err);

/* Closes every connection and the listening socket. */
void http_server_close(struct http_server *server);

#endif
