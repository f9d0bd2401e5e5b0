/*
 * http_server.c - the scripted loopback server for tests (see http_server.h).
 *
 * One thread accepts; each connection gets a thread of its own so a stalled
 * response does not hold up the next client. Every connection is closed
 * after one response, which keeps the server simple and the tests honest
 * (clients must not depend on keep-alive).
 */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct route_state {
    struct test_http_route route;
    unsigned hits;
};

struct test_http_server {
    int listener;
    int stop_pipe[2];
    unsigned short port;
    pthread_t acceptor;
    pthread_mutex_t lock;
    pthread_cond_t idle;
    unsigned active;
    unsigned proxy_hits;
    struct route_state *routes;
    size_t route_count;
};

struct connection {
    struct test_http_server *server;
    int fd;
};

static void send_all(int fd, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t sent = send(fd, data, length, MSG_NOSIGNAL);
        if (sent <= 0) {
            if (sent < 0 && errno == EINTR)
                continue;
            return;
        }
        data += sent;
        length -= (size_t)sent;
    }
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 404:
        return "Not Found";
    case 403:
        return "Forbidden";
    case 408:
        return "Request Timeout";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

/* Reads the request head; returns the request target (malloc'd) or NULL. */
static char *read_request_target(int fd)
{
    char head[16384];
    size_t used = 0;
    while (used < sizeof(head) - 1) {
        ssize_t got = recv(fd, head + used, sizeof(head) - 1 - used, 0);
        if (got <= 0)
            return NULL;
        used += (size_t)got;
        head[used] = '\0';
        if (strstr(head, "\r\n\r\n"))
            break;
    }
    char *space = strchr(head, ' ');
    if (!space)
        return NULL;
    char *end = strchr(space + 1, ' ');
    if (!end)
        return NULL;
    return strndup(space + 1, (size_t)(end - space - 1));
}

static const struct test_http_response *next_response(struct test_http_server *server,
                                                      const char *path)
{
    const struct test_http_response *response = NULL;
    pthread_mutex_lock(&server->lock);
    for (size_t i = 0; i < server->route_count; i++) {
        struct route_state *state = &server->routes[i];
        if (strcmp(state->route.path, path) != 0)
            continue;
        size_t step = state->hits < state->route.steps ? state->hits : state->route.steps - 1;
        response = &state->route.script[step];
        state->hits++;
        break;
    }
    pthread_mutex_unlock(&server->lock);
    return response;
}

static void send_body(int fd, const struct test_http_response *response, size_t length)
{
    if (response->body) {
        send_all(fd, response->body, length);
        return;
    }
    int file = open(response->body_file, O_RDONLY | O_CLOEXEC);
    char buffer[65536];
    while (file >= 0 && length > 0) {
        ssize_t got = read(file, buffer, length < sizeof(buffer) ? length : sizeof(buffer));
        if (got <= 0)
            break;
        send_all(fd, buffer, (size_t)got);
        length -= (size_t)got;
    }
    if (file >= 0)
        close(file);
}

static void answer(struct test_http_server *server, int fd)
{
    char *target = read_request_target(fd);
    if (!target)
        return;
    const char *path = target;
    if (strncmp(target, "http://", 7) == 0 || strncmp(target, "https://", 8) == 0) {
        pthread_mutex_lock(&server->lock);
        server->proxy_hits++;
        pthread_mutex_unlock(&server->lock);
        const char *slash = strchr(strstr(target, "://") + 3, '/');
        path = slash ? slash : "/";
    }
    const struct test_http_response *response = next_response(server, path);
    static const struct test_http_response not_found = {404, "not found\n", NULL, 0,
                                                        0,   false,         NULL};
    if (!response)
        response = &not_found;
    free(target);
    if (response->hang_up)
        return;
    size_t length = 0;
    if (response->body) {
        length = strlen(response->body);
    } else if (response->body_file) {
        struct stat st;
        if (stat(response->body_file, &st) == 0)
            length = (size_t)st.st_size;
    }
    int status = response->status ? response->status : 200;
    char head[1024];
    int head_length = snprintf(
        head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
        status, reason(status), length, response->headers ? response->headers : "");
    send_all(fd, head, (size_t)head_length);
    if (response->stall_ms)
        usleep(response->stall_ms * 1000u);
    size_t to_send = response->truncate_after && response->truncate_after < length
                         ? response->truncate_after
                         : length;
    send_body(fd, response, to_send);
}

static void *serve_connection(void *data)
{
    struct connection *connection = data;
    struct test_http_server *server = connection->server;
    answer(server, connection->fd);
    shutdown(connection->fd, SHUT_RDWR);
    close(connection->fd);
    free(connection);
    pthread_mutex_lock(&server->lock);
    if (--server->active == 0)
        pthread_cond_broadcast(&server->idle);
    pthread_mutex_unlock(&server->lock);
    return NULL;
}

static void *accept_loop(void *data)
{
    struct test_http_server *server = data;
    for (;;) {
        struct pollfd fds[2] = {{server->listener, POLLIN, 0}, {server->stop_pipe[0], POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents)
            break;
        int fd = accept4(server->listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        struct connection *connection = malloc(sizeof(*connection));
        connection->server = server;
        connection->fd = fd;
        pthread_mutex_lock(&server->lock);
        server->active++;
        pthread_mutex_unlock(&server->lock);
        pthread_t thread;
        if (pthread_create(&thread, NULL, serve_connection, connection) == 0) {
            pthread_detach(thread);
        } else {
            close(fd);
            free(connection);
            pthread_mutex_lock(&server->lock);
            server->active--;
            pthread_mutex_unlock(&server->lock);
        }
    }
    return NULL;
}

struct test_http_server *test_http_server_start(const struct test_http_route *routes, size_t count)
{
    struct test_http_server *server = calloc(1, sizeof(*server));
    server->routes = calloc(count ? count : 1, sizeof(*server->routes));
    for (size_t i = 0; i < count; i++)
        server->routes[i].route = routes[i];
    server->route_count = count;
    pthread_mutex_init(&server->lock, NULL);
    pthread_cond_init(&server->idle, NULL);
    server->listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int yes = 1;
    setsockopt(server->listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(server->listener, (struct sockaddr *)&address, sizeof(address)) < 0 ||
        listen(server->listener, 64) < 0 || pipe2(server->stop_pipe, O_CLOEXEC) < 0) {
        perror("test http server");
        abort();
    }
    socklen_t length = sizeof(address);
    getsockname(server->listener, (struct sockaddr *)&address, &length);
    server->port = ntohs(address.sin_port);
    pthread_create(&server->acceptor, NULL, accept_loop, server);
    return server;
}

unsigned short test_http_server_port(const struct test_http_server *server)
{
    return server->port;
}

char *test_http_server_url(const struct test_http_server *server, const char *path)
{
    char *url;
    if (asprintf(&url, "http://127.0.0.1:%u%s", server->port, path) < 0)
        abort();
    return url;
}

unsigned test_http_server_hits(struct test_http_server *server, const char *path)
{
    unsigned hits = 0;
    pthread_mutex_lock(&server->lock);
    for (size_t i = 0; i < server->route_count; i++)
        if (strcmp(server->routes[i].route.path, path) == 0)
            hits = server->routes[i].hits;
    pthread_mutex_unlock(&server->lock);
    return hits;
}

unsigned test_http_server_proxy_hits(struct test_http_server *server)
{
    pthread_mutex_lock(&server->lock);
    unsigned hits = server->proxy_hits;
    pthread_mutex_unlock(&server->lock);
    return hits;
}

void test_http_server_stop(struct test_http_server *server)
{
    if (write(server->stop_pipe[1], "x", 1) < 0) {
        /* the acceptor also stops when the pipe closes */
    }
    pthread_join(server->acceptor, NULL);
    pthread_mutex_lock(&server->lock);
    while (server->active > 0)
        pthread_cond_wait(&server->idle, &server->lock);
    pthread_mutex_unlock(&server->lock);
    close(server->listener);
    close(server->stop_pipe[0]);
    close(server->stop_pipe[1]);
    pthread_mutex_destroy(&server->lock);
    pthread_cond_destroy(&server->idle);
    free(server->routes);
    free(server);
}
