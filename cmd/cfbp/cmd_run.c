/*
 * cfbp run - runs a droplet as one Cloud Foundry instance: the web process
 * with its sidecars, output prefixed as `cf logs` shows it (see launcher.h).
 * Ctrl-C or SIGTERM stops every process; when any process exits, the
 * instance stops and cfbp run exits with that process's status.
 */
#include "commands.h"

#include "cfbp/error.h"
#include "cfbp/launcher.h"
#include "cfbp/process.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: cfbp run DROPLET_OR_DIR [--port N] [--env NAME=VALUE]...\n"
    "\n"
    "Unpacks the droplet (from cfbp stage) into a fresh home directory and starts its\n"
    "web process and every sidecar for web, as Cloud Foundry's launcher would.\n"
    "\n"
    "  --port N           PORT for the web process (default 8080)\n"
    "  --env NAME=VALUE   an app environment variable (after the manifest's env:)\n"
    "  -h, --help         show this help\n";

static int stop_pipe[2] = {-1, -1};

static void request_stop(int signal_number)
{
    (void)signal_number;
    int saved = errno;
    if (write(stop_pipe[1], "x", 1) < 0) {
        /* the pipe is full: a stop is already pending */
    }
    errno = saved;
}

int cmd_run(int argc, char **argv)
{
    static const struct option options[] = {
        {"port", required_argument, NULL, 'p'},
        {"env", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cfbp_environment extra = CFBP_ENVIRONMENT_INIT;
    unsigned port = 8080;
    int option;
    optind = 1;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (option) {
        case 'p': {
            char *end;
            long value = strtol(optarg, &end, 10);
            if (*end || value < 1 || value > 65535) {
                cfbp_environment_release(&extra);
                return command_usage_error("run", "--port takes a port number");
            }
            port = (unsigned)value;
            break;
        }
        case 'e':
            if (!cfbp_environment_set_assignment(&extra, optarg)) {
                cfbp_environment_release(&extra);
                return command_usage_error("run", "--env takes NAME=VALUE");
            }
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            cfbp_environment_release(&extra);
            return command_option_error("run", option, argv, options);
        }
    }
    if (argc - optind != 1) {
        cfbp_environment_release(&extra);
        return command_usage_error("run", "expected DROPLET_OR_DIR");
    }
    if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        cfbp_environment_release(&extra);
        return command_fail("run", strerror(errno));
    }
    struct sigaction action = {.sa_handler = request_stop};
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    /* A closed terminal or output pipe stops the instance too, rather than killing cfbp run
     * and leaving its processes and temporary home behind. */
    sigaction(SIGHUP, &action, NULL);
    sigaction(SIGPIPE, &action, NULL);
    /* What leaves its process group with setsid stays ours, to be stopped with the rest. */
    struct cfbp_error adopt = CFBP_ERROR_INIT;
    if (cfbp_process_adopt_orphans(&adopt) < 0)
        fprintf(stderr, "cfbp run: warning: %s\n", adopt.message);
    cfbp_error_clear(&adopt);
    struct cfbp_launcher_options launcher = {
        .droplet = argv[optind],
        .port = port,
        .app_environment = &extra,
        .stop_fd = stop_pipe[0],
        .output = stdout,
    };
    struct cfbp_error err = CFBP_ERROR_INIT;
    int exit_status = 0;
    int status = 0;
    if (cfbp_launcher_run(&launcher, &exit_status, &err) < 0) {
        status = command_fail("run", err.message);
        cfbp_error_clear(&err);
    } else {
        status = exit_status;
    }
    cfbp_environment_release(&extra);
    close(stop_pipe[0]);
    close(stop_pipe[1]);
    return status;
}
