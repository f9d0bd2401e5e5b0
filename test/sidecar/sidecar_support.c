/*
 * sidecar_support.c - child processes and a raw HTTP client (see sidecar_support.h).
 */
#include "sidecar_support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int temporary_file(struct cfbp_strbuf *path, const char *name)
{
    const char *directory = getenv("TMPDIR");
    cfbp_strbuf_reset(path);
    cfbp_strbuf_append_format(path, "%s/sidecar-test-%s-XXXXXX", directory ? directory : "/tmp",
                              name);
    int descriptor = mkstemp(path->buf);
    if (descriptor < 0) {
        perror("mkstemp");
        abort();
    }
    return descriptor;
}

static bool inherited(const char *variable)
{
    return strncmp(variable, "CONFIG_SERVER_", 14) != 0 &&
           strncmp(variable, "VCAP_SERVICES=", 14) != 0;
}

static void run_child(const char *const *argv, const char *const *environment,
                      const char *directory, int out, int err)
{
    size_t count = 0, extra = 0;
    while (environ[count])
        count++;
    while (environment && environment[extra])
        extra++;
    char **variables = calloc(count + extra + 1, sizeof(char *));
    size_t used = 0;
    for (size_t i = 0; i < count; i++)
        if (inherited(environ[i]))
            variables[used++] = environ[i];
    for (size_t i = 0; i < extra; i++)
        variables[used++] = (char *)environment[i];
    /* A failed assertion must not leave servers behind: they die with the test. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    if (directory && chdir(directory) < 0)
        _exit(126);
    execvpe(argv[0], (char *const *)argv, variables);
    _exit(127);
}

void process_start(struct process *process, const char *const *argv, const char *const *environment,
                   const char *directory)
{
    cfbp_strbuf_init(&process->stdout_path, 0);
    cfbp_strbuf_init(&process->stderr_path, 0);
    int out = temporary_file(&process->stdout_path, "stdout");
    int err = temporary_file(&process->stderr_path, "stderr");
    process->pid = fork();
    if (process->pid == 0)
        run_child(argv, environment, directory, out, err);
    close(out);
    close(err);
}

void process_start_with_stdout(struct process *process, const char *const *argv,
                               const char *const *environment, int stdout_descriptor)
{
    cfbp_strbuf_init(&process->stdout_path, 0);
    cfbp_strbuf_init(&process->stderr_path, 0);
    int err = temporary_file(&process->stderr_path, "stderr");
    process->pid = fork();
    if (process->pid == 0)
        run_child(argv, environment, NULL, stdout_descriptor, err);
    close(err);
}

int process_stop(struct process *process, int signal, int timeout_ms, int64_t *elapsed_ms)
{
    int64_t start = monotonic_ms();
    if (process->pid <= 0)
        return -1;
    if (signal)
        kill(process->pid, signal);
    for (;;) {
        int status;
        pid_t done = waitpid(process->pid, &status, WNOHANG);
        if (done == process->pid) {
            process->pid = 0;
            if (elapsed_ms)
                *elapsed_ms = monotonic_ms() - start;
            return status;
        }
        if (monotonic_ms() - start > timeout_ms)
            return -1;
        usleep(5000);
    }
}

static void read_file(const char *path, struct cfbp_strbuf *out)
{
    cfbp_strbuf_reset(out);
    FILE *file = fopen(path, "rb");
    if (!file)
        return;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), file)) > 0)
        cfbp_strbuf_append(out, chunk, got);
    fclose(file);
}

void process_read_stdout(const struct process *process, struct cfbp_strbuf *out)
{
    read_file(process->stdout_path.buf, out);
}

void process_read_stderr(const struct process *process, struct cfbp_strbuf *out)
{
    read_file(process->stderr_path.buf, out);
}

void process_release(struct process *process)
{
    if (process->pid > 0) {
        kill(process->pid, SIGKILL);
        waitpid(process->pid, NULL, 0);
        process->pid = 0;
    }
    if (process->stdout_path.len)
        unlink(process->stdout_path.buf);
    unlink(process->stderr_path.buf);
    cfbp_strbuf_release(&process->stdout_path);
    cfbp_strbuf_release(&process->stderr_path);
}

const char *sidecar_binary(void)
{
    return CONFIG_SERVER_BINARY;
}

/* The port in "listening <address>:<port>...", or -1 while the line is not there. */
static int listening_port(const struct cfbp_strbuf *output)
{
    const char *line = strstr(output->buf, "listening ");
    const char *end = line ? strstr(line, "...\n") : NULL;
    if (!end)
        return -1;
    const char *colon = end;
    while (colon > line && *colon != ':')
        colon--;
    return atoi(colon + 1);
}

/* The caller's variables, then CONFIG_SERVER_PORT=0 unless the caller set a port. */
static const char **sidecar_environment(const char *const *environment)
{
    size_t count = 0;
    bool has_port = false;
    while (environment && environment[count])
        has_port |= strncmp(environment[count++], "CONFIG_SERVER_PORT=", 19) == 0;
    const char **variables = calloc(count + 2, sizeof(char *));
    for (size_t i = 0; i < count; i++)
        variables[i] = environment[i];
    if (!has_port)
        variables[count] = "CONFIG_SERVER_PORT=0";
    return variables;
}

int sidecar_start(struct process *process, const char *const *environment)
{
    const char *argv[] = {sidecar_binary(), NULL};
    const char **variables = sidecar_environment(environment);
    process_start(process, argv, variables, NULL);
    free(variables);
    struct cfbp_strbuf output = CFBP_STRBUF_INIT;
    int port = -1;
    for (int64_t start = monotonic_ms(); monotonic_ms() - start < 10000;) {
        process_read_stdout(process, &output);
        port = listening_port(&output);
        if (port >= 0 || waitpid(process->pid, NULL, WNOHANG) == process->pid)
            break;
        usleep(2000);
    }
    cfbp_strbuf_release(&output);
    return port;
}

int sidecar_run_to_exit(const char *const *environment, struct cfbp_strbuf *out,
                        struct cfbp_strbuf *err)
{
    struct process process;
    const char *argv[] = {sidecar_binary(), NULL};
    process_start(&process, argv, environment, NULL);
    int status = process_stop(&process, 0, 10000, NULL);
    process_read_stdout(&process, out);
    process_read_stderr(&process, err);
    process_release(&process);
    return status;
}

int client_connect(const char *address, int port)
{
    struct sockaddr_storage storage;
    socklen_t length;
    memset(&storage, 0, sizeof(storage));
    struct sockaddr_in *ipv4 = (struct sockaddr_in *)&storage;
    struct sockaddr_in6 *ipv6 = (struct sockaddr_in6 *)&storage;
    if (inet_pton(AF_INET, address, &ipv4->sin_addr) == 1) {
        ipv4->sin_family = AF_INET;
        ipv4->sin_port = htons((uint16_t)port);
        length = sizeof(*ipv4);
    } else if (inet_pton(AF_INET6, address, &ipv6->sin6_addr) == 1) {
        ipv6->sin6_family = AF_INET6;
        ipv6->sin6_port = htons((uint16_t)port);
        length = sizeof(*ipv6);
    } else {
        return -1;
    }
    int client = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval timeout = {10, 0};
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    if (connect(client, (struct sockaddr *)&storage, length) < 0) {
        close(client);
        return -1;
    }
    return client;
}

bool client_send(int socket, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t sent = send(socket, data, length, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return false;
        data += sent;
        length -= (size_t)sent;
    }
    return true;
}

bool client_send_string(int socket, const char *text)
{
    return client_send(socket, text, strlen(text));
}

static bool receive_more(int socket, struct cfbp_strbuf *pending)
{
    char chunk[16384];
    ssize_t got;
    do {
        got = recv(socket, chunk, sizeof(chunk), 0);
    } while (got < 0 && errno == EINTR);
    if (got <= 0)
        return false;
    cfbp_strbuf_append(pending, chunk, (size_t)got);
    return true;
}

/* Content-Length of a response head, or -1 when it has none. */
static long content_length(const char *head, size_t head_length)
{
    for (size_t at = 0; at + 16 < head_length; at++)
        if ((at == 0 || head[at - 1] == '\n') && strncasecmp(head + at, "Content-Length:", 15) == 0)
            return strtol(head + at + 15, NULL, 10);
    return -1;
}

bool client_read_response(int socket, struct cfbp_strbuf *pending, bool head_only,
                          struct cfbp_strbuf *out)
{
    char *end;
    while (!(end = strstr(pending->buf, "\r\n\r\n")))
        if (!receive_more(socket, pending))
            return false;
    size_t head_length = (size_t)(end - pending->buf) + 4;
    long body = head_only ? 0 : content_length(pending->buf, head_length);
    if (body < 0) { /* no length: the body runs to the end of the connection */
        while (receive_more(socket, pending))
            ;
        body = (long)(pending->len - head_length);
    }
    while (pending->len < head_length + (size_t)body)
        if (!receive_more(socket, pending))
            return false;
    size_t total = head_length + (size_t)body;
    cfbp_strbuf_reset(out);
    cfbp_strbuf_append(out, pending->buf, total);
    memmove(pending->buf, pending->buf + total, pending->len - total);
    cfbp_strbuf_set_length(pending, pending->len - total);
    return true;
}

bool client_sees_close(int socket, int timeout_ms)
{
    struct pollfd poller = {.fd = socket, .events = POLLIN};
    int64_t start = monotonic_ms();
    for (;;) {
        int left = timeout_ms - (int)(monotonic_ms() - start);
        if (left <= 0 || poll(&poller, 1, left) <= 0)
            return false;
        char chunk[4096];
        ssize_t got = recv(socket, chunk, sizeof(chunk), MSG_DONTWAIT);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
            return true;
    }
}

bool http_exchange(int port, const char *request, struct cfbp_strbuf *out)
{
    int client = client_connect("127.0.0.1", port);
    if (client < 0)
        return false;
    struct cfbp_strbuf pending = CFBP_STRBUF_INIT;
    bool head_only = strncmp(request, "HEAD ", 5) == 0;
    bool ok = client_send_string(client, request) &&
              client_read_response(client, &pending, head_only, out);
    cfbp_strbuf_release(&pending);
    close(client);
    return ok;
}

int free_port(void)
{
    int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof(address);
    bind(probe, (struct sockaddr *)&address, sizeof(address));
    getsockname(probe, (struct sockaddr *)&address, &length);
    close(probe);
    return ntohs(address.sin_port);
}

bool wait_for_port(int port, int timeout_ms)
{
    for (int64_t start = monotonic_ms(); monotonic_ms() - start < timeout_ms;) {
        int client = client_connect("127.0.0.1", port);
        if (client >= 0) {
            close(client);
            return true;
        }
        usleep(50000);
    }
    return false;
}
