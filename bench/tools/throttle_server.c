/*
 * throttle_server.c - a loopback HTTP/1.1 file server with a rate cap, for the
 * download benchmarks of bench/run:
 *
 *   throttle-server DIR PORT-FILE
 *
 * listens on 127.0.0.1 (a port the kernel picks, written to PORT-FILE once
 * it listens) and serves the files of DIR:
 *
 *   GET /NAME                      as fast as the client reads
 *   GET /rate/BYTES-PER-SECOND/NAME  paced to that rate (40 MB/s: /rate/40000000/)
 *
 * with 200, Content-Length and "Connection: close" (HEAD too; anything else
 * is 404 or 405). NAME is a plain file name in DIR. Each connection is served
 * by a child process, so a client that stalls holds up no other.
 *
 * Pacing: the body goes out with sendfile() in 64 KiB steps, and before each
 * step the server sleeps until the moment the bytes already sent are due at
 * the rate (start + sent / rate), so the average is exact over the transfer
 * and the cap holds whatever the socket buffers do. A client as fast as the
 * cap finishes in SIZE / RATE seconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_LIMIT 16384
#define STEP          (64 * 1024)

static int directory_fd;

static int write_all(int fd, const char *bytes, size_t length)
{
    while (length > 0) {
        ssize_t written = write(fd, bytes, length);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return -1;
        bytes += written;
        length -= (size_t)written;
    }
    return 0;
}

static void respond_status(int client, const char *status)
{
    char response[256];
    int length = snprintf(response, sizeof(response),
                          "HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
    write_all(client, response, (size_t)length);
}

/* Sleeps until start + sent / rate. */
static void pace(const struct timespec *start, unsigned long long sent, unsigned long long rate)
{
    unsigned long long due_ns = sent / rate * 1000000000ULL + sent % rate * 1000000000ULL / rate;
    struct timespec due = {start->tv_sec + (time_t)(due_ns / 1000000000ULL),
                           start->tv_nsec + (long)(due_ns % 1000000000ULL)};
    if (due.tv_nsec >= 1000000000L) {
        due.tv_sec++;
        due.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR) {
    }
}

static void send_body(int client, int file, off_t size, unsigned long long rate)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    off_t offset = 0;
    while (offset < size) {
        if (rate)
            pace(&start, (unsigned long long)offset, rate);
        size_t step = size - offset < STEP ? (size_t)(size - offset) : STEP;
        if (!rate)
            step = (size_t)(size - offset);
        ssize_t sent = sendfile(client, file, &offset, step);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return; /* the client went away */
    }
}

/* Reads the request head; returns its length, or -1. */
static ssize_t read_head(int client, char *head, size_t size)
{
    size_t used = 0;
    while (used + 1 < size) {
        ssize_t got = read(client, head + used, size - 1 - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        used += (size_t)got;
        head[used] = '\0';
        if (strstr(head, "\r\n\r\n") || strstr(head, "\n\n"))
            return (ssize_t)used;
    }
    return -1;
}

static void serve(int client)
{
    char head[REQUEST_LIMIT];
    if (read_head(client, head, sizeof(head)) < 0)
        return;
    char method[16], target[1024];
    if (sscanf(head, "%15s %1023s HTTP/1.", method, target) != 2)
        return respond_status(client, "400 Bad Request");
    bool is_head = strcmp(method, "HEAD") == 0;
    if (!is_head && strcmp(method, "GET") != 0)
        return respond_status(client, "405 Method Not Allowed");
    unsigned long long rate = 0;
    const char *name = target + 1;
    if (strncmp(target, "/rate/", 6) == 0) {
        char *end;
        rate = strtoull(target + 6, &end, 10);
        if (end == target + 6 || *end != '/' || rate == 0)
            return respond_status(client, "404 Not Found");
        name = end + 1;
    }
    if (target[0] != '/' || !*name || name[0] == '.' || strchr(name, '/'))
        return respond_status(client, "404 Not Found");
    int file = openat(directory_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat status;
    if (file < 0 || fstat(file, &status) < 0 || !S_ISREG(status.st_mode))
        return respond_status(client, "404 Not Found");
    char response[256];
    int length = snprintf(response, sizeof(response),
                          "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                          "Content-Length: %lld\r\nConnection: close\r\n\r\n",
                          (long long)status.st_size);
    if (write_all(client, response, (size_t)length) == 0 && !is_head)
        send_body(client, file, status.st_size, rate);
    close(file);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: throttle-server DIR PORT-FILE\n");
        return 2;
    }
    directory_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (directory_fd < 0) {
        fprintf(stderr, "throttle-server: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t address_length = sizeof(address);
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof(address)) < 0 ||
        listen(listener, 64) < 0 ||
        getsockname(listener, (struct sockaddr *)&address, &address_length) < 0) {
        perror("throttle-server: listen");
        return 1;
    }
    /* The port file appears whole: written under another name, then renamed. */
    char partial[4096];
    snprintf(partial, sizeof(partial), "%s.partial", argv[2]);
    FILE *port_file = fopen(partial, "w");
    if (!port_file || fprintf(port_file, "%u\n", ntohs(address.sin_port)) < 0 ||
        fclose(port_file) != 0 || rename(partial, argv[2]) < 0) {
        perror("throttle-server: port file");
        return 1;
    }
    for (;;) {
        int client = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (client < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("throttle-server: accept");
            return 1;
        }
        pid_t child = fork();
        if (child == 0) {
            close(listener);
            serve(client);
            shutdown(client, SHUT_WR);
            close(client);
            _exit(0);
        }
        close(client);
    }
}
