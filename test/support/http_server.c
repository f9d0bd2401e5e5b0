/*
 * http_server.c - the scripted loopback server for tests (see http_server.h).
 *
 * One thread accepts; each connection gets a thread of its own so a stalled
 * response does not hold up the next client. Every connection is closed
 * after one response, which keeps the server simple and the tests honest
 * (clients must not depend on keep-alive).
 *
 * The https server is openssl s_server -HTTP (the real thing, not a TLS
 * layer of our own) run in a directory of response files.
 */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct route_state {
    struct test_http_route route;
    struct test_http_hostility hostility;
    unsigned hits;
    unsigned long rate; /* body bytes a second (test_http_server_set_rate); 0: no limit */
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
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 307:
        return "Temporary Redirect";
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

struct request {
    char *target;        /* malloc'd */
    char *authorization; /* the Authorization header's value, malloc'd, or NULL */
};

/* Reads the request head; false when there is none. */
static bool read_request(int fd, struct request *request)
{
    char head[16384];
    size_t used = 0;
    while (used < sizeof(head) - 1) {
        ssize_t got = recv(fd, head + used, sizeof(head) - 1 - used, 0);
        if (got <= 0)
            return false;
        used += (size_t)got;
        head[used] = '\0';
        if (strstr(head, "\r\n\r\n"))
            break;
    }
    char *space = strchr(head, ' ');
    if (!space)
        return false;
    char *end = strchr(space + 1, ' ');
    if (!end)
        return false;
    request->target = strndup(space + 1, (size_t)(end - space - 1));
    request->authorization = NULL;
    for (char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Authorization:", 14) == 0) {
            const char *value = line + 2 + 14 + strspn(line + 2 + 14, " ");
            request->authorization = strndup(value, strcspn(value, "\r\n"));
            break;
        }
    }
    return true;
}

static const struct test_http_response *next_response(struct test_http_server *server,
                                                      const char *path,
                                                      struct test_http_hostility *hostility)
{
    const struct test_http_response *response = NULL;
    pthread_mutex_lock(&server->lock);
    for (size_t i = 0; i < server->route_count; i++) {
        struct route_state *state = &server->routes[i];
        if (strcmp(state->route.path, path) != 0)
            continue;
        size_t step = state->hits < state->route.steps ? state->hits : state->route.steps - 1;
        response = &state->route.script[step];
        *hostility = state->hostility;
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

/* Sends body one byte every interval_ms, round and round, until the client or the server stops. */
static void drip(struct test_http_server *server, int fd, const char *body, unsigned interval_ms)
{
    size_t length = strlen(body);
    for (size_t i = 0; length > 0; i = (i + 1) % length) {
        if (send(fd, body + i, 1, MSG_NOSIGNAL) != 1)
            return;
        struct pollfd fds[2] = {{fd, POLLIN | POLLRDHUP, 0}, {server->stop_pipe[0], POLLIN, 0}};
        int ready = poll(fds, 2, (int)interval_ms);
        if (ready != 0 && !(ready < 0 && errno == EINTR))
            return; /* the client hung up (or sent more), or the server is stopping */
    }
}

/* The rate set for path's route, or 0. */
static unsigned long route_rate(struct test_http_server *server, const char *path)
{
    unsigned long rate = 0;
    pthread_mutex_lock(&server->lock);
    for (size_t i = 0; i < server->route_count; i++)
        if (strcmp(server->routes[i].route.path, path) == 0)
            rate = server->routes[i].rate;
    pthread_mutex_unlock(&server->lock);
    return rate;
}

/*
 * Sends length bytes of the body in tenth-of-a-second pieces of rate / 10
 * bytes, as a slow mirror would; stops when the client hangs up or the
 * server stops.
 */
static void send_body_slowly(struct test_http_server *server, int fd,
                             const struct test_http_response *response, size_t length,
                             unsigned long rate)
{
    size_t piece = rate / 10 ? rate / 10 : 1;
    int file = response->body ? -1 : open(response->body_file, O_RDONLY | O_CLOEXEC);
    char *buffer = malloc(piece);
    for (size_t sent = 0; buffer && sent < length;) {
        size_t now = length - sent < piece ? length - sent : piece;
        if (response->body) {
            memcpy(buffer, response->body + sent, now);
        } else {
            ssize_t got = file >= 0 ? read(file, buffer, now) : -1;
            if (got <= 0)
                break;
            now = (size_t)got;
        }
        if (send(fd, buffer, now, MSG_NOSIGNAL) != (ssize_t)now)
            break;
        sent += now;
        struct pollfd fds[2] = {{fd, POLLRDHUP, 0}, {server->stop_pipe[0], POLLIN, 0}};
        int ready = poll(fds, 2, 100);
        if (ready != 0 && !(ready < 0 && errno == EINTR))
            break; /* the client hung up, or the server is stopping */
    }
    free(buffer);
    if (file >= 0)
        close(file);
}

static void answer(struct test_http_server *server, int fd)
{
    struct request request;
    if (!read_request(fd, &request))
        return;
    const char *path = request.target;
    if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0) {
        pthread_mutex_lock(&server->lock);
        server->proxy_hits++;
        pthread_mutex_unlock(&server->lock);
        const char *slash = strchr(strstr(path, "://") + 3, '/');
        path = slash ? slash : "/";
    }
    struct test_http_hostility hostility = {0};
    const struct test_http_response *response = next_response(server, path, &hostility);
    static const struct test_http_response not_found = {404, "not found\n", NULL, 0,
                                                        0,   false,         NULL};
    if (!response)
        response = &not_found;
    if (response->hang_up)
        goto out;
    size_t length = 0;
    if (response->body) {
        length = strlen(response->body);
    } else if (response->body_file) {
        struct stat st;
        if (stat(response->body_file, &st) == 0)
            length = (size_t)st.st_size;
    }
    if (hostility.drip_ms)
        length = (size_t)1 << 30;
    int status = response->status ? response->status : 200;
    char *head;
    if (asprintf(&head, "HTTP/1.1 %d %s%s%s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                 status, hostility.reason ? hostility.reason : reason(status),
                 hostility.echo_authorization ? " " : "",
                 hostility.echo_authorization && request.authorization ? request.authorization : "",
                 length, response->headers ? response->headers : "") < 0)
        abort();
    send_all(fd, head, strlen(head));
    free(head);
    if (response->stall_ms)
        usleep(response->stall_ms * 1000u);
    if (hostility.drip_ms) {
        drip(server, fd, response->body ? response->body : "drip", hostility.drip_ms);
        goto out;
    }
    size_t to_send = response->truncate_after && response->truncate_after < length
                         ? response->truncate_after
                         : length;
    unsigned long rate = route_rate(server, path);
    if (rate)
        send_body_slowly(server, fd, response, to_send, rate);
    else
        send_body(fd, response, to_send);
out:
    free(request.target);
    free(request.authorization);
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

void test_http_server_set_hostility(struct test_http_server *server, const char *path,
                                    const struct test_http_hostility *hostility)
{
    pthread_mutex_lock(&server->lock);
    for (size_t i = 0; i < server->route_count; i++)
        if (strcmp(server->routes[i].route.path, path) == 0)
            server->routes[i].hostility = *hostility;
    pthread_mutex_unlock(&server->lock);
}

void test_http_server_set_rate(struct test_http_server *server, const char *path,
                               unsigned long bytes_per_second)
{
    pthread_mutex_lock(&server->lock);
    for (size_t i = 0; i < server->route_count; i++)
        if (strcmp(server->routes[i].route.path, path) == 0)
            server->routes[i].rate = bytes_per_second;
    pthread_mutex_unlock(&server->lock);
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

/* --- https: openssl s_server --- */

#define OPENSSL "/usr/bin/openssl"

struct test_tls_server {
    pid_t pid;
    unsigned short port;
    char *certificate;
    char *key;
    char *www; /* the directory of response files s_server runs in */
    char *log; /* its stdout and stderr, where it says which port it took */
};

static char *joined(const char *dir, const char *name)
{
    char *path;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        abort();
    return path;
}

/* Runs argv in directory (NULL: here) with stdout and stderr to output; returns its pid. */
static pid_t spawn(char *const *argv, const char *directory, const char *output)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        abort();
    }
    if (pid == 0) {
        int out = open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (out < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 || (directory && chdir(directory) < 0))
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* The port in s_server's "ACCEPT 127.0.0.1:<port>" line, waiting up to ten seconds for it. */
static unsigned short accepted_port(const char *log, pid_t pid)
{
    for (int tries = 0; tries < 1000; tries++) {
        FILE *file = fopen(log, "r");
        char line[256];
        while (file && fgets(line, sizeof(line), file)) {
            unsigned port;
            if (sscanf(line, "ACCEPT 127.0.0.1:%u", &port) == 1) {
                fclose(file);
                return (unsigned short)port;
            }
        }
        if (file)
            fclose(file);
        if (waitpid(pid, NULL, WNOHANG) == pid)
            break;
        usleep(10000);
    }
    fprintf(stderr, "openssl s_server did not start; see %s\n", log);
    abort();
}

struct test_tls_server *test_tls_server_start(const char *dir)
{
    struct test_tls_server *server = calloc(1, sizeof(*server));
    server->certificate = joined(dir, "tls-cert.pem");
    server->key = joined(dir, "tls-key.pem");
    server->www = joined(dir, "tls-www");
    server->log = joined(dir, "tls-server.log");
    if (mkdir(server->www, 0755) < 0 && errno != EEXIST) {
        perror(server->www);
        abort();
    }
    /* An EC key: as good a peer as RSA for the tests, and made in milliseconds. */
    char *request[] = {OPENSSL,
                       "req",
                       "-x509",
                       "-newkey",
                       "ec",
                       "-pkeyopt",
                       "ec_paramgen_curve:prime256v1",
                       "-nodes",
                       "-keyout",
                       server->key,
                       "-out",
                       server->certificate,
                       "-days",
                       "1",
                       "-subj",
                       "/CN=127.0.0.1",
                       "-addext",
                       "subjectAltName=IP:127.0.0.1",
                       NULL};
    int status;
    if (waitpid(spawn(request, NULL, server->log), &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "openssl req failed; see %s\n", server->log);
        abort();
    }
    /* -HTTP: each request names a file holding the whole response. Not -quiet, which would
     * hide the ACCEPT line that tells the port (0 lets the kernel pick a free one). */
    char *serve[] = {OPENSSL, "s_server",          "-HTTP",   "-key",        server->key,
                     "-cert", server->certificate, "-accept", "127.0.0.1:0", NULL};
    server->pid = spawn(serve, server->www, server->log);
    server->port = accepted_port(server->log, server->pid);
    return server;
}

const char *test_tls_server_certificate(const struct test_tls_server *server)
{
    return server->certificate;
}

char *test_tls_server_url(const struct test_tls_server *server, const char *path)
{
    char *url;
    if (asprintf(&url, "https://127.0.0.1:%u%s", server->port, path) < 0)
        abort();
    return url;
}

/* Opens the response file for GET <path>, which must be "/name". */
static FILE *open_response(struct test_tls_server *server, const char *path)
{
    if (path[0] != '/' || strchr(path + 1, '/')) {
        fprintf(stderr, "test_tls_server_respond: '%s' is not \"/name\"\n", path);
        abort();
    }
    char *file = joined(server->www, path + 1);
    FILE *out = fopen(file, "w");
    if (!out) {
        perror(file);
        abort();
    }
    free(file);
    return out;
}

void test_tls_server_respond(struct test_tls_server *server, const char *path, int status,
                             const char *headers, const char *body)
{
    FILE *out = open_response(server, path);
    fprintf(out, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n%s", status,
            reason(status), strlen(body), headers ? headers : "", body);
    fclose(out);
}

void test_tls_server_respond_raw(struct test_tls_server *server, const char *path,
                                 const char *response)
{
    FILE *out = open_response(server, path);
    fputs(response, out);
    fclose(out);
}

void test_tls_server_stop(struct test_tls_server *server)
{
    kill(server->pid, SIGTERM);
    waitpid(server->pid, NULL, 0);
    free(server->certificate);
    free(server->key);
    free(server->www);
    free(server->log);
    free(server);
}
