/*
 * http_server.c - the epoll loop, connections and their deadlines (see http_server.h).
 *
 * Each connection moves through three states: OPEN (reading requests and
 * queueing their responses), CLOSING (the last response is queued; no more
 * requests are read) and LINGERING (everything is sent and the sending side
 * shut down; input is read and dropped until the client closes, so that the
 * kernel does not answer unread input with a reset that destroys the
 * response in flight).
 *
 * Responses are queued in the connection's output buffer in request order.
 * While more than OUTPUT_HIGH_WATER bytes of it are unsent, the connection
 * stops parsing and keeps its unparsed input aside; that is what bounds the
 * memory a pipelining client that never reads can cost.
 *
 * Every connection has one deadline, derived from what it is waiting for
 * (see connection_deadline). The request timeout runs from accept, and on a
 * kept-alive connection from the first byte of each later request, until the
 * request is complete: a client that connects and says nothing, or trickles
 * its head or body, loses its place after the request timeout, however
 * many connections the cap allows. The idle timeout applies only between a
 * response fully handed to the kernel and the next request's first byte.
 * Instead of a timer per connection the loop keeps the earliest deadline it
 * knows of and sweeps the connection list when it passes; deadlines are
 * seconds apart, so sweeps are rare.
 *
 * At the connection cap a waiting client is still taken in, the way nginx
 * reuses kept-alive connections: another connection gives its place up (see
 * connection_to_reclaim), so that neither idle keep-alive clients nor more
 * silent ones than the cap allows can keep a real client out. Only when every
 * connection is being answered does the loop stop accepting, until one is
 * not (make_progress notices). The listening socket is served after the other
 * events of a wake-up, because reclaiming closes connections that a later
 * event of the same batch could still name.
 */
#include "http_server.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "http_request.h"
#include "http_response.h"
#include "routes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK        (64 * 1024)
#define OUTPUT_HIGH_WATER (64 * 1024)
#define LINGER_MS         1000
/* After running out of file descriptors, how long to leave new clients in the backlog. */
#define ACCEPT_BACKOFF_MS 100
#define MAX_EVENTS        128
#define NO_DEADLINE       INT64_MAX
#define NOT_WAITING       INT64_MIN
/* Clients taken from the backlog per wake-up, so that a flood cannot starve other events. */
#define ACCEPT_BATCH 64

enum connection_state { CONNECTION_OPEN, CONNECTION_CLOSING, CONNECTION_LINGERING };

struct connection {
    int socket;
    enum connection_state state;
    struct connection *previous, *next;
    struct http_request_reader reader;
    struct cfbp_strbuf input;  /* received but not parsed, while output backs up */
    struct cfbp_strbuf output; /* queued responses; output_sent bytes of it are sent */
    size_t output_sent;
    bool peer_closed; /* the client shut down its sending side */
    uint32_t events;  /* what epoll watches for */
    /* When the request timeout started: at accept, then at each later request's first
     * byte; NOT_WAITING between requests. */
    int64_t request_started_ms;
    int64_t idle_since_ms;     /* when the last response was fully sent */
    int64_t output_waiting_ms; /* since when unsent output has been queued, or NOT_WAITING */
    int64_t linger_until_ms;
};

struct http_server {
    struct http_server_settings settings;
    const struct routes *routes;
    int epoll, listener, signals;
    struct sockaddr_storage address;
    struct connection *connections;
    size_t connection_count;
    bool accepting;
    bool no_room; /* at the cap, no connection could give its place up when last asked */
    int64_t accept_resume_ms; /* 0 unless accepting is paused for lack of descriptors */
    int64_t next_sweep_ms;
    int64_t now_ms; /* the loop's clock, read once per wake-up */
    char *read_buffer;
    time_t date_second;
    char date[HTTP_DATE_SIZE];
};

static int64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static const char *current_date(struct http_server *server)
{
    time_t now = time(NULL);
    if (now != server->date_second) {
        server->date_second = now;
        http_response_format_date(now, server->date);
    }
    return server->date;
}

static size_t output_backlog(const struct connection *connection)
{
    return connection->output.len - connection->output_sent;
}

/*
 * The one deadline of a connection, by what it waits for:
 * - lingering: the end of the linger period;
 * - unsent output (the write timeout): the request timeout from when output
 *   started waiting, so a client that does not take in its response, or takes
 *   it a byte at a time, cannot hold its place;
 * - a request under way (the request timeout): fixed from accept or from the
 *   request's first byte, so trickling bytes does not extend it;
 * - otherwise, between requests (the idle timeout): from when the last response
 *   was fully sent.
 * The earliest that applies wins.
 */
static int64_t connection_deadline(const struct http_server *server,
                                   const struct connection *connection)
{
    const struct http_server_settings *settings = &server->settings;
    if (connection->state == CONNECTION_LINGERING)
        return connection->linger_until_ms;
    int64_t deadline = NO_DEADLINE;
    if (connection->output_waiting_ms != NOT_WAITING)
        deadline = connection->output_waiting_ms + settings->request_timeout_ms;
    if (connection->request_started_ms != NOT_WAITING &&
        connection->request_started_ms + settings->request_timeout_ms < deadline)
        deadline = connection->request_started_ms + settings->request_timeout_ms;
    if (deadline == NO_DEADLINE)
        deadline = connection->idle_since_ms + settings->idle_timeout_ms;
    return deadline;
}

static void track_deadline(struct http_server *server, const struct connection *connection)
{
    int64_t deadline = connection_deadline(server, connection);
    if (deadline < server->next_sweep_ms)
        server->next_sweep_ms = deadline;
}

/*
 * Whether the connection may give its place up to a new client: it is not
 * being answered (nothing queued to send, no input set aside behind such
 * output, not closing or lingering). It is either idle between requests or
 * waiting for the rest of a request.
 */
static bool may_give_place_up(const struct connection *connection)
{
    return connection->state == CONNECTION_OPEN && output_backlog(connection) == 0 &&
           connection->input.len == 0;
}

/*
 * The connection to close for a client waiting at the cap, or NULL when all
 * are being answered: the one idle longest between requests, else the one
 * whose unfinished request began earliest (a new connection's at accept), as
 * a client that has not finished a request in the time others took is the
 * likeliest to be stalling. Ties go to the older connection (the list holds
 * the newest first).
 */
static struct connection *connection_to_reclaim(const struct http_server *server)
{
    struct connection *idle = NULL, *unfinished = NULL;
    for (struct connection *connection = server->connections; connection;
         connection = connection->next) {
        if (!may_give_place_up(connection))
            continue;
        if (connection->request_started_ms == NOT_WAITING) {
            if (!idle || connection->idle_since_ms <= idle->idle_since_ms)
                idle = connection;
        } else if (!unfinished ||
                   connection->request_started_ms <= unfinished->request_started_ms) {
            unfinished = connection;
        }
    }
    return idle ? idle : unfinished;
}

static void update_accepting(struct http_server *server)
{
    bool full = server->connection_count >= server->settings.max_connections;
    bool wanted = server->accept_resume_ms == 0 && !(full && server->no_room);
    if (wanted == server->accepting)
        return;
    struct epoll_event event = {.events = wanted ? EPOLLIN : 0, .data.ptr = &server->listener};
    if (epoll_ctl(server->epoll, EPOLL_CTL_MOD, server->listener, &event) == 0)
        server->accepting = wanted;
}

static void close_connection(struct http_server *server, struct connection *connection)
{
    if (connection->previous)
        connection->previous->next = connection->next;
    else
        server->connections = connection->next;
    if (connection->next)
        connection->next->previous = connection->previous;
    server->connection_count--;
    server->no_room = false;
    close(connection->socket);
    http_request_reader_release(&connection->reader);
    cfbp_strbuf_release(&connection->input);
    cfbp_strbuf_release(&connection->output);
    free(connection);
    update_accepting(server);
}

static void update_interest(struct http_server *server, struct connection *connection)
{
    uint32_t wanted = 0;
    if (output_backlog(connection))
        wanted |= EPOLLOUT;
    if (connection->state == CONNECTION_LINGERING ||
        (connection->state == CONNECTION_OPEN && !connection->peer_closed &&
         connection->input.len == 0))
        wanted |= EPOLLIN;
    if (wanted == connection->events)
        return;
    struct epoll_event event = {.events = wanted, .data.ptr = connection};
    epoll_ctl(server->epoll, EPOLL_CTL_MOD, connection->socket, &event);
    connection->events = wanted;
}

static void answer(struct http_server *server, struct connection *connection)
{
    const struct http_request *request = &connection->reader.request;
    struct http_response response;
    http_response_init(&response);
    routes_answer(server->routes, request, &response);
    bool close_after = !request->keep_alive;
    http_response_write(&connection->output, &response, request, current_date(server), close_after);
    http_response_release(&response);
    connection->request_started_ms = NOT_WAITING;
    if (close_after)
        connection->state = CONNECTION_CLOSING;
}

/* Parses requests out of data and queues their responses, stopping when output backs up. */
static void process_input(struct http_server *server, struct connection *connection,
                          const char *data, size_t length)
{
    struct http_request_reader *reader = &connection->reader;
    while (length > 0 && connection->state == CONNECTION_OPEN) {
        if (output_backlog(connection) >= OUTPUT_HIGH_WATER) {
            cfbp_strbuf_append(&connection->input, data, length);
            break;
        }
        size_t consumed;
        enum http_request_event event = http_request_reader_feed(reader, data, length, &consumed);
        data += consumed;
        length -= consumed;
        if (event == HTTP_REQUEST_CONTINUE) {
            cfbp_strbuf_append_string(&connection->output, "HTTP/1.1 100 Continue\r\n\r\n");
        } else if (event == HTTP_REQUEST_READY) {
            answer(server, connection);
        } else if (event == HTTP_REQUEST_FAILED) {
            http_response_write_error(&connection->output, reader->error_status,
                                      reader->error_detail);
            connection->request_started_ms = NOT_WAITING;
            connection->state = CONNECTION_CLOSING;
        }
    }
    /* The next request's first byte: from now on it has the request timeout, not the idle one. */
    if (reader->in_progress && connection->request_started_ms == NOT_WAITING)
        connection->request_started_ms = server->now_ms;
}

/* After the last response: shut down sending and drop input until the client closes. */
static bool start_lingering(struct http_server *server, struct connection *connection)
{
    if (connection->peer_closed) {
        close_connection(server, connection);
        return false;
    }
    shutdown(connection->socket, SHUT_WR);
    connection->state = CONNECTION_LINGERING;
    connection->linger_until_ms = server->now_ms + LINGER_MS;
    cfbp_strbuf_release(&connection->input);
    return true;
}

/* Sends what the socket takes; returns false if the connection had to be closed. */
static bool flush_output(struct http_server *server, struct connection *connection)
{
    while (output_backlog(connection)) {
        ssize_t sent = send(connection->socket, connection->output.buf + connection->output_sent,
                            output_backlog(connection), MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (sent < 0) {
            close_connection(server, connection);
            return false;
        }
        connection->output_sent += (size_t)sent;
    }
    if (output_backlog(connection)) {
        /* The kernel's buffers are full: the client has the request timeout to take the rest. */
        if (connection->output_waiting_ms == NOT_WAITING)
            connection->output_waiting_ms = server->now_ms;
        return true;
    }
    connection->output_waiting_ms = NOT_WAITING;
    if (connection->output_sent) {
        /* Keep idle connections small: a burst's buffer is not kept around. */
        if (connection->output.alloc > 16 * 1024)
            cfbp_strbuf_release(&connection->output);
        cfbp_strbuf_reset(&connection->output);
        connection->output_sent = 0;
        connection->idle_since_ms = server->now_ms;
    }
    if (connection->state == CONNECTION_CLOSING)
        return start_lingering(server, connection);
    return true;
}

/* Writes, parses input set aside earlier, and settles what to wait for next. */
static void make_progress(struct http_server *server, struct connection *connection)
{
    for (;;) {
        if (!flush_output(server, connection))
            return;
        if (connection->state != CONNECTION_OPEN || connection->input.len == 0 ||
            output_backlog(connection) >= OUTPUT_HIGH_WATER)
            break;
        struct cfbp_strbuf pending = connection->input;
        cfbp_strbuf_init(&connection->input, 0);
        process_input(server, connection, pending.buf, pending.len);
        cfbp_strbuf_release(&pending);
    }
    bool finished = connection->state == CONNECTION_OPEN && connection->peer_closed &&
                    output_backlog(connection) == 0 && connection->input.len == 0;
    if (finished) {
        close_connection(server, connection);
        return;
    }
    update_interest(server, connection);
    track_deadline(server, connection);
    if (server->no_room && may_give_place_up(connection)) {
        server->no_room = false; /* a client waiting at the cap can have this place */
        update_accepting(server);
    }
}

/* Reads once (level-triggered epoll calls again); returns false if the connection is gone. */
static bool receive_input(struct http_server *server, struct connection *connection)
{
    ssize_t got = recv(connection->socket, server->read_buffer, READ_CHUNK, 0);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return true;
    if (got < 0 || (got == 0 && connection->state == CONNECTION_LINGERING)) {
        close_connection(server, connection);
        return false;
    }
    if (got == 0)
        connection->peer_closed = true;
    else if (connection->state == CONNECTION_OPEN)
        process_input(server, connection, server->read_buffer, (size_t)got);
    return true;
}

static void handle_connection(struct http_server *server, struct connection *connection,
                              uint32_t events)
{
    /* A reset, or both directions shut: nothing can be sent any more. */
    if (events & (EPOLLERR | EPOLLHUP)) {
        close_connection(server, connection);
        return;
    }
    if ((events & EPOLLIN) && !receive_input(server, connection))
        return;
    make_progress(server, connection);
}

static void open_connection(struct http_server *server, int client)
{
    struct connection *connection = cfbp_xcalloc(1, sizeof(*connection));
    connection->socket = client;
    connection->state = CONNECTION_OPEN;
    http_request_reader_init(&connection->reader);
    cfbp_strbuf_init(&connection->input, 0);
    cfbp_strbuf_init(&connection->output, 0);
    /* The request timeout runs from accept: a client that never sends a byte goes after it. */
    connection->request_started_ms = server->now_ms;
    connection->idle_since_ms = server->now_ms;
    connection->output_waiting_ms = NOT_WAITING;
    connection->next = server->connections;
    if (server->connections)
        server->connections->previous = connection;
    server->connections = connection;
    server->connection_count++;
    /* Responses are written whole; waiting to coalesce them only adds latency (Go does the same).
     */
    int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    connection->events = EPOLLIN;
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = connection};
    if (epoll_ctl(server->epoll, EPOLL_CTL_ADD, client, &event) < 0) {
        close_connection(server, connection);
        return;
    }
    track_deadline(server, connection);
}

/*
 * Whether a client waiting in the backlog can be taken in: below the cap, or
 * at it with *victim set to the connection that will give its place up. The
 * one chosen first reads what it has been sent, so that a request which has
 * arrived whole is answered rather than cut; then the choice is made again.
 */
static bool find_room(struct http_server *server, struct connection **victim)
{
    *victim = NULL;
    if (server->connection_count < server->settings.max_connections)
        return true;
    struct connection *candidate = connection_to_reclaim(server);
    if (!candidate)
        return false;
    size_t open = server->connection_count;
    if (receive_input(server, candidate))
        make_progress(server, candidate);
    if (server->connection_count < open)
        return true; /* it closed by itself (its client had gone) */
    *victim = connection_to_reclaim(server);
    return *victim != NULL;
}

static void accept_clients(struct http_server *server)
{
    for (int taken = 0; taken < ACCEPT_BATCH; taken++) {
        struct connection *victim;
        if (!find_room(server, &victim)) {
            server->no_room = true;
            break;
        }
        int client = accept4(server->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client >= 0) {
            if (victim)
                close_connection(server, victim);
            open_connection(server, client);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            server->accept_resume_ms = server->now_ms + ACCEPT_BACKOFF_MS;
        break;
    }
    update_accepting(server);
}

static void expire(struct http_server *server)
{
    if (server->accept_resume_ms && server->now_ms >= server->accept_resume_ms) {
        server->accept_resume_ms = 0;
        update_accepting(server);
    }
    if (server->now_ms < server->next_sweep_ms)
        return;
    server->next_sweep_ms = NO_DEADLINE;
    struct connection *next;
    for (struct connection *connection = server->connections; connection; connection = next) {
        next = connection->next;
        if (connection_deadline(server, connection) <= server->now_ms)
            close_connection(server, connection);
        else
            track_deadline(server, connection);
    }
}

static int wait_timeout_ms(const struct http_server *server)
{
    int64_t wake = server->next_sweep_ms;
    if (server->accept_resume_ms && server->accept_resume_ms < wake)
        wake = server->accept_resume_ms;
    if (wake == NO_DEADLINE)
        return -1;
    int64_t wait = wake - monotonic_ms();
    if (wait < 0)
        return 0;
    return wait > 60 * 60 * 1000 ? 60 * 60 * 1000 : (int)wait;
}

int http_server_run(struct http_server *server, struct cfbp_error *err)
{
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int count = epoll_wait(server->epoll, events, MAX_EVENTS, wait_timeout_ms(server));
        if (count < 0 && errno == EINTR)
            continue;
        if (count < 0)
            return cfbp_error_set_errno(err, CFBP_ERROR_FAILED, errno, "waiting for events failed");
        server->now_ms = monotonic_ms();
        bool clients_waiting = false;
        for (int i = 0; i < count; i++) {
            void *source = events[i].data.ptr;
            if (source == &server->signals)
                return 0; /* SIGTERM or SIGINT: stop serving */
            if (source == &server->listener)
                clients_waiting = true;
            else
                handle_connection(server, source, events[i].events);
        }
        /* Last: taking clients in may close connections that events[] still names. */
        if (clients_waiting)
            accept_clients(server);
        expire(server);
    }
}

static int resolve_address(const struct http_server_settings *settings,
                           struct sockaddr_storage *address, socklen_t *length,
                           struct cfbp_error *err)
{
    memset(address, 0, sizeof(*address));
    struct sockaddr_in *ipv4 = (struct sockaddr_in *)address;
    struct sockaddr_in6 *ipv6 = (struct sockaddr_in6 *)address;
    if (inet_pton(AF_INET, settings->bind_address, &ipv4->sin_addr) == 1) {
        ipv4->sin_family = AF_INET;
        ipv4->sin_port = htons(settings->port);
        *length = sizeof(*ipv4);
    } else if (inet_pton(AF_INET6, settings->bind_address, &ipv6->sin6_addr) == 1) {
        ipv6->sin6_family = AF_INET6;
        ipv6->sin6_port = htons(settings->port);
        *length = sizeof(*ipv6);
    } else {
        return cfbp_error_set(err, CFBP_ERROR_USAGE,
                              "cannot listen on \"%s\": not an IPv4 or IPv6 address",
                              settings->bind_address);
    }
    return 0;
}

static int open_listener(struct http_server *server, struct cfbp_error *err)
{
    const struct http_server_settings *settings = &server->settings;
    socklen_t length;
    if (resolve_address(settings, &server->address, &length, err) < 0)
        return -1;
    server->listener =
        socket(server->address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (server->listener < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_NETWORK, errno, "cannot create a socket");
    int one = 1; /* restarting must not wait for the last run's TIME_WAIT sockets */
    setsockopt(server->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(server->listener, (struct sockaddr *)&server->address, length) < 0 ||
        listen(server->listener, SOMAXCONN) < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_NETWORK, errno, "cannot listen on %s port %u",
                                    settings->bind_address, (unsigned)settings->port);
    length = sizeof(server->address);
    getsockname(server->listener, (struct sockaddr *)&server->address, &length);
    return 0;
}

/*
 * SIGTERM and SIGINT arrive through a signalfd, so the loop stops between
 * events and exits cleanly; SIGPIPE is ignored because a client that goes
 * away mid-response is routine, not fatal.
 */
static int open_signals(struct http_server *server, struct cfbp_error *err)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &stop, NULL) < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_FAILED, errno, "cannot block signals");
    server->signals = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
    if (server->signals < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_FAILED, errno, "cannot create a signalfd");
    return 0;
}

static int watch(struct http_server *server, int descriptor, void *tag, struct cfbp_error *err)
{
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = tag};
    if (epoll_ctl(server->epoll, EPOLL_CTL_ADD, descriptor, &event) < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_FAILED, errno, "cannot watch a descriptor");
    return 0;
}

/* Each connection costs a descriptor; allow as many as the hard limit does (Go does too). */
static void raise_descriptor_limit(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

int http_server_open(struct http_server **out, const struct http_server_settings *settings,
                     const struct routes *routes, struct cfbp_error *err)
{
    struct http_server *server = cfbp_xcalloc(1, sizeof(*server));
    server->settings = *settings;
    server->routes = routes;
    server->epoll = server->listener = server->signals = -1;
    server->next_sweep_ms = NO_DEADLINE;
    server->now_ms = monotonic_ms();
    server->read_buffer = cfbp_xmalloc(READ_CHUNK);
    raise_descriptor_limit();
    server->epoll = epoll_create1(EPOLL_CLOEXEC);
    if (server->epoll < 0) {
        cfbp_error_set_errno(err, CFBP_ERROR_FAILED, errno, "cannot create an epoll instance");
        http_server_close(server);
        return -1;
    }
    if (open_listener(server, err) < 0 || open_signals(server, err) < 0 ||
        watch(server, server->listener, &server->listener, err) < 0 ||
        watch(server, server->signals, &server->signals, err) < 0) {
        http_server_close(server);
        return -1;
    }
    server->accepting = true;
    *out = server;
    return 0;
}

void http_server_describe_address(const struct http_server *server, struct cfbp_strbuf *out)
{
    char text[INET6_ADDRSTRLEN];
    if (server->address.ss_family == AF_INET6) {
        const struct sockaddr_in6 *ipv6 = (const struct sockaddr_in6 *)&server->address;
        inet_ntop(AF_INET6, &ipv6->sin6_addr, text, sizeof(text));
        cfbp_strbuf_append_format(out, "[%s]:%u", text, (unsigned)ntohs(ipv6->sin6_port));
    } else {
        const struct sockaddr_in *ipv4 = (const struct sockaddr_in *)&server->address;
        inet_ntop(AF_INET, &ipv4->sin_addr, text, sizeof(text));
        cfbp_strbuf_append_format(out, "%s:%u", text, (unsigned)ntohs(ipv4->sin_port));
    }
}

void http_server_close(struct http_server *server)
{
    if (!server)
        return;
    while (server->connections)
        close_connection(server, server->connections);
    if (server->listener >= 0)
        close(server->listener);
    if (server->signals >= 0)
        close(server->signals);
    if (server->epoll >= 0)
        close(server->epoll);
    free(server->read_buffer);
    free(server);
}
