/*
 * cfbp stage - stages an app with buildpacks on this machine, as Cloud
 * Foundry's builder would (see builder.h): a droplet and a result.json.
 *
 * SIGINT, SIGTERM, SIGHUP and SIGPIPE do not kill it outright: the handler
 * writes to a pipe the builder watches, the builder stops the running
 * script's process group and removes its temporary directory, and cfbp stage
 * exits with 128 + the signal.
 */
#include "commands.h"

#include "cfbp/builder.h"
#include "cfbp/buildpack_registry.h"
#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/path.h"
#include "cfbp/platform.h"
#include "cfbp/process.h"
#include "cfbp/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: cfbp stage APP_DIR [-b BUILDPACK]... [--stack S] [--droplet FILE] [--result FILE]\n"
    "                  [--cache DIR] [--env NAME=VALUE]...\n"
    "\n"
    "Stages the app in APP_DIR as Cloud Foundry's builder does and writes a droplet\n"
    "and result.json. The app directory itself is not changed.\n"
    "\n"
    "  -b, --buildpack B  a registered name (cfbp create-buildpack), a directory or a zip;\n"
    "                     repeat it for several, the last one final. Default: the buildpacks\n"
    "                     in the app's manifest.yml, else detection among registered ones\n"
    "  --stack S          CF_STACK (default: the manifest's stack, else cflinuxfs4)\n"
    "  --droplet FILE     the droplet to write (default: droplet.tgz)\n"
    "  --result FILE      the result.json to write (default: beside the droplet)\n"
    "  --cache DIR        the build-artifacts cache, kept for restaging\n"
    "                     (default: under $CFBP_HOME or ~/.cfbp, one per app directory)\n"
    "  --env NAME=VALUE   an app environment variable (after the manifest's env:)\n"
    "  -h, --help         show this help\n"
    "\n"
    "Exit status: 0, or the builder's: 222 no buildpack detected, 223 the final buildpack\n"
    "failed, 224 release failed, 225 a supply buildpack failed, 1 anything else.\n";

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
static int stop_pipe[2] = {-1, -1};
static volatile sig_atomic_t stop_signal;

static void request_stop(int signal_number)
{
    int saved = errno;
    if (!stop_signal)
        stop_signal = signal_number;
    if (write(stop_pipe[1], "x", 1) < 0) {
        /* the pipe is full: a stop is already pending */
    }
    errno = saved;
}

/* Routes the stop signals to the pipe the builder watches; false if there is no pipe. */
static bool catch_stop_signals(void)
{
    if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return false;
    struct sigaction action = {.sa_handler = request_stop};
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
        sigaction(stop_signals[i], &action, NULL);
    return true;
}

static void release_stop_signals(void)
{
    struct sigaction action = {.sa_handler = SIG_DFL};
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
        sigaction(stop_signals[i], &action, NULL);
    close(stop_pipe[0]);
    close(stop_pipe[1]);
    stop_pipe[0] = stop_pipe[1] = -1;
}

/*
 * The builder's own failure lines (contract §7: "Failed to compile droplet: ...",
 * "None of the buildpacks detected a compatible application", "Error: one of
 * the buildpacks chosen to supply dependencies ...") are printed
 * as the builder prints them, so a staging log reads as Cloud Foundry's; a
 * failure of cfbp's own (a missing app directory, an unknown buildpack, a
 * file it cannot write) gets the "cfbp stage:" prefix every cfbp error has.
 */
static void report_failure(const struct cfbp_error *err)
{
    static const char *const builder_phrases[] = {"Failed to ", "None of the buildpacks ",
                                                  "Error: one of the buildpacks "};
    const char *message = err->message ? err->message : "staging failed";
    for (size_t i = 0; i < sizeof(builder_phrases) / sizeof(builder_phrases[0]); i++) {
        if (strncmp(message, builder_phrases[i], strlen(builder_phrases[i])) == 0) {
            fprintf(stderr, "%s\n", message);
            return;
        }
    }
    fprintf(stderr, "cfbp stage: %s\n", message);
}

/* The default cache: one per app directory, under the cfbp home. */
static int default_cache(const char *app_dir, struct cfbp_strbuf *out, struct cfbp_error *err)
{
    struct cfbp_strbuf absolute = CFBP_STRBUF_INIT;
    if (cfbp_registry_default_home(out, err) < 0 ||
        cfbp_path_absolute(&absolute, app_dir, err) < 0) {
        cfbp_strbuf_release(&absolute);
        return -1;
    }
    char hash[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, absolute.buf, absolute.len, hash);
    hash[16] = '\0';
    cfbp_path_append(out, "staging-cache");
    cfbp_path_append(out, hash);
    cfbp_strbuf_release(&absolute);
    return 0;
}

int cmd_stage(int argc, char **argv)
{
    static const struct option options[] = {
        {"buildpack", required_argument, NULL, 'b'},
        {"stack", required_argument, NULL, 's'},
        {"droplet", required_argument, NULL, 'd'},
        {"result", required_argument, NULL, 'r'},
        {"cache", required_argument, NULL, 'c'},
        {"env", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cfbp_string_list buildpacks = CFBP_STRING_LIST_INIT, envs = CFBP_STRING_LIST_INIT;
    const char *stack = NULL, *droplet = "droplet.tgz", *result_path = NULL, *cache = NULL;
    int option, status = 0;
    optind = 1;
    while ((option = getopt_long(argc, argv, ":b:h", options, NULL)) != -1) {
        switch (option) {
        case 'b':
            cfbp_string_list_append(&buildpacks, optarg);
            break;
        case 's':
            stack = optarg;
            break;
        case 'd':
            droplet = optarg;
            break;
        case 'r':
            result_path = optarg;
            break;
        case 'c':
            cache = optarg;
            break;
        case 'e':
            cfbp_string_list_append(&envs, optarg);
            break;
        case 'h':
            cfbp_string_list_clear(&buildpacks);
            cfbp_string_list_clear(&envs);
            fputs(usage, stdout);
            return 0;
        default:
            cfbp_string_list_clear(&buildpacks);
            cfbp_string_list_clear(&envs);
            return command_option_error("stage", option, argv, options);
        }
    }
    if (argc - optind != 1) {
        cfbp_string_list_clear(&buildpacks);
        cfbp_string_list_clear(&envs);
        return command_usage_error("stage", "expected APP_DIR");
    }
    const char *app_dir = argv[optind];
    stop_signal = 0;
    if (!catch_stop_signals())
        return command_fail("stage", strerror(errno));
    /* A script's descendants that leave its process group (setsid) become ours when their
     * parents die, so that the builder can stop them when the script ends. */
    struct cfbp_error adopt = CFBP_ERROR_INIT;
    if (cfbp_process_adopt_orphans(&adopt) < 0)
        fprintf(stderr, "cfbp stage: warning: %s\n", adopt.message);
    cfbp_error_clear(&adopt);
    struct cfbp_app_settings settings;
    struct cfbp_registry registry = {0};
    struct cfbp_strbuf home = CFBP_STRBUF_INIT, cache_dir = CFBP_STRBUF_INIT,
                       result_default = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_app_settings_load(&settings, app_dir, &err) < 0 ||
        cfbp_registry_default_home(&home, &err) < 0 ||
        cfbp_registry_load(&registry, home.buf, &err) < 0) {
        status = command_fail("stage", err.message);
        goto out;
    }
    for (size_t i = 0; i < envs.count; i++)
        if (!cfbp_app_settings_add_env(&settings, envs.items[i])) {
            status = command_usage_error("stage", "--env takes NAME=VALUE");
            goto out;
        }
    if (!cache) {
        if (default_cache(app_dir, &cache_dir, &err) < 0) {
            status = command_fail("stage", err.message);
            goto out;
        }
        cache = cache_dir.buf;
    }
    if (!result_path) {
        cfbp_path_dirname(&result_default, droplet);
        cfbp_path_append(&result_default, "result.json");
        result_path = result_default.buf;
    }
    const struct cfbp_string_list *chosen = buildpacks.count ? &buildpacks : &settings.buildpacks;
    struct cfbp_builder_options builder = {
        .app_dir = app_dir,
        .buildpacks = (const char *const *)chosen->items,
        .buildpack_count = chosen->count,
        .registry = &registry,
        .stack = stack            ? stack
                 : settings.stack ? settings.stack
                                  : CFBP_PLATFORM_DEFAULT_STACK,
        .droplet = droplet,
        .result = result_path,
        .cache_dir = cache,
        .app_name = settings.name,
        .memory = settings.memory,
        .app_environment = &settings.environment,
        .messages = stderr,
        .stop_fd = stop_pipe[0],
    };
    cfbp_builder_stage(&builder, &status, &err);
    if (status == CFBP_BUILDER_STOPPED && !stop_signal)
        stop_signal = SIGPIPE; /* a script found our output closed before we did */
    if (stop_signal) {
        const char *name = sigabbrev_np(stop_signal);
        fprintf(stderr, "cfbp stage: stopped by SIG%s\n", name ? name : "?");
        status = 128 + stop_signal;
    } else if (status != 0) {
        report_failure(&err);
    } else {
        fprintf(stderr, "Staging complete: droplet %s, result %s\n", droplet, result_path);
    }
out:
    release_stop_signals();
    cfbp_error_clear(&err);
    cfbp_app_settings_release(&settings);
    cfbp_registry_release(&registry);
    cfbp_string_list_clear(&buildpacks);
    cfbp_string_list_clear(&envs);
    cfbp_strbuf_release(&home);
    cfbp_strbuf_release(&cache_dir);
    cfbp_strbuf_release(&result_default);
    return status;
}
