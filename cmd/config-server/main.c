/*
 * main.c - the config-server sidecar: read the environment, load the
 * configuration, serve it until told to stop.
 *
 * Exit status: 0 after SIGTERM or SIGINT; 1 for bad arguments, settings or
 * configuration; 2 when the server cannot listen or its loop fails (the
 * status the Go sidecar's panic gave). Every failure is one "Error: ..."
 * line on stderr.
 */
#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "config_source.h"
#include "http_server.h"
#include "request_log.h"
#include "routes.h"
#include "server_settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CONFIG_SERVER_VERSION
#error "CONFIG_SERVER_VERSION must be defined by the build"
#endif

static _Noreturn void out_of_memory(size_t size)
{
    fprintf(stderr, "Error: out of memory allocating %zu bytes\n", size);
    exit(2);
}

static int fail(struct cfbp_error *err, int status)
{
    fprintf(stderr, "Error: %s\n", err->message);
    cfbp_error_clear(err);
    return status;
}

static int serve(const struct http_server_settings *settings, const struct config_source *source,
                 struct cfbp_error *err)
{
    struct request_log log = {.descriptor = -1}; /* opened once the start-up lines are out */
    struct routes routes = {source->body.buf, source->body.len, &log};
    struct http_server *server;
    if (http_server_open(&server, settings, &routes, err) < 0)
        return fail(err, 2);
    if (source->description.len)
        printf("serving configuration from %s\n", source->description.buf);
    struct cfbp_strbuf address = CFBP_STRBUF_INIT;
    http_server_describe_address(server, &address);
    printf("listening %s...\n", address.buf);
    cfbp_strbuf_release(&address);
    /* From here on stdout must never stop the server: requests are logged without waiting. */
    fflush(stdout);
    request_log_open(&log, STDOUT_FILENO);
    int status = http_server_run(server, err) < 0 ? fail(err, 2) : 0;
    http_server_close(server);
    request_log_close(&log);
    return status;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("config-server %s\n", CONFIG_SERVER_VERSION);
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "Error: unexpected argument \"%s\"; usage: config-server [--version]\n",
                argv[1]);
        return 1;
    }
    /* stdout is a pipe to the platform's log collector: every line must leave at once. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    cfbp_alloc_set_failure_handler(out_of_memory);

    struct cfbp_error err = CFBP_ERROR_INIT;
    struct http_server_settings settings;
    if (server_settings_from_environment(&settings, &err) < 0)
        return fail(&err, 1);
    struct config_source source;
    int status;
    if (config_source_load(&source, getenv("CONFIG_SERVER_CONFIG_FILE"), getenv("VCAP_SERVICES"),
                           &err) < 0)
        status = fail(&err, 1);
    else
        status = serve(&settings, &source, &err);
    config_source_release(&source);
    return status;
}
