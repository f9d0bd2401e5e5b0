/*
 * sidecar_support.h - real processes and real sockets for the sidecar tests.
 *
 * The tests run the config-server (and the fixture apps) as child processes
 * with an environment of their choosing, capture stdout and stderr in files,
 * and talk HTTP to them over loopback with a deliberately simple client that
 * returns the raw bytes of each response, so that tests compare bytes.
 */
#ifndef SIDECAR_SUPPORT_H
#define SIDECAR_SUPPORT_H

#include "cfbp/strbuf.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct process {
    pid_t pid;
    struct cfbp_strbuf stdout_path, stderr_path;
};

/*
 * Starts argv[0] with the caller's environment minus CONFIG_SERVER_* and
 * VCAP_SERVICES, plus the "NAME=value" strings in environment (NULL-ended),
 * in directory (NULL: the current one). Output goes to temporary files.
 */
void process_start(struct process *process, const char *const *argv, const char *const *environment,
                   const char *directory);
/* Like process_start in the current directory, but stdout is stdout_descriptor (a pipe, say). */
void process_start_with_stdout(struct process *process, const char *const *argv,
                               const char *const *environment, int stdout_descriptor);
/* Sends signal (0: none) and waits up to timeout_ms; returns the wait status, or -1 on timeout. */
int process_stop(struct process *process, int signal, int timeout_ms, int64_t *elapsed_ms);
/* Replaces out with the captured stdout (or stderr) so far. */
void process_read_stdout(const struct process *process, struct cfbp_strbuf *out);
void process_read_stderr(const struct process *process, struct cfbp_strbuf *out);
void process_release(struct process *process);

/* The binary under test: the static one, or the instrumented one in sanitizer builds. */
const char *sidecar_binary(void);
/*
 * Starts the sidecar (with CONFIG_SERVER_PORT=0 unless environment sets it)
 * and waits for "listening host:port..."; returns the port, or -1.
 */
int sidecar_start(struct process *process, const char *const *environment);
/* Runs the sidecar with exactly environment, expecting it to exit; returns its wait status. */
int sidecar_run_to_exit(const char *const *environment, struct cfbp_strbuf *out,
                        struct cfbp_strbuf *err);

/* A blocking client socket to address:port with a 10 s receive timeout, or -1. */
int client_connect(const char *address, int port);
bool client_send(int socket, const char *data, size_t length);
bool client_send_string(int socket, const char *text);

/*
 * Reads one response from socket into out (replacing it), keeping bytes of
 * later responses in pending. A response without Content-Length ends at EOF;
 * head_only is for answers to HEAD. Returns false on EOF or timeout first.
 */
bool client_read_response(int socket, struct cfbp_strbuf *pending, bool head_only,
                          struct cfbp_strbuf *out);
/* True when the server has closed: recv sees EOF (or a reset) within timeout_ms. */
bool client_sees_close(int socket, int timeout_ms);
/* Connects, sends request, reads one response into out; false on any failure. */
bool http_exchange(int port, const char *request, struct cfbp_strbuf *out);

/* A port nobody listens on right now (for a child to take). */
int free_port(void);
/* Retries connecting until something accepts on 127.0.0.1:port, up to timeout_ms. */
bool wait_for_port(int port, int timeout_ms);

int64_t monotonic_ms(void);

#endif
