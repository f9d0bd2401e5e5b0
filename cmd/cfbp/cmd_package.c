/*
 * cfbp package - a buildpack zip for `cf create-buildpack` (see packager.h).
 *
 * Takes the Go buildpack-packager's flags (-cached, -stack S, -any-stack,
 * -version V, -cachedir D, with one dash or two, "-x v" or "-x=v"), so scripts
 * written for it keep working, plus --output, --mirror and --quiet. Steps go
 * to stderr (with progress bars on a terminal); stdout gets one line: the zip,
 * its size and its sha256.
 */
#include "commands.h"

#include "cfbp/error.h"
#include "cfbp/packager.h"
#include "cfbp/strbuf.h"
#include "cfbp/tarball.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: cfbp package (--stack STACK | --any-stack) [options] [BUILDPACK_DIR]\n"
    "\n"
    "Zips the buildpack in BUILDPACK_DIR (default: the current directory) for\n"
    "`cf create-buildpack`: runs its pre_package, ships its include_files and the\n"
    "packaged manifest.yml, and with --cached every dependency for the stack.\n"
    "\n"
    "  --stack STACK        for one stack: keep its dependencies, set `stack:`, drop cf_stacks\n"
    "  --any-stack          for every stack the dependencies name\n"
    "  --cached             include the dependencies (an offline buildpack)\n"
    "  --version VERSION    the buildpack's version (default: its VERSION file)\n"
    "  --cachedir DIR       the download cache (default: $HOME/.buildpack-packager/cache)\n"
    "  --output DIR         where the zip goes (default: BUILDPACK_DIR)\n"
    "  --mirror DIR_OR_URL  take dependencies from this directory or base URL, by file name\n"
    "  --quiet              print only the result line\n"
    "  -h, --help           show this help\n"
    "\n"
    "Reproducible: the same inputs give the same bytes (SOURCE_DATE_EPOCH sets the\n"
    "members' time). The last line names the zip, its size and its sha256.\n";

struct terminal {
    bool quiet;
    bool interactive; /* stderr is a terminal: draw progress bars */
    bool drawing;     /* a progress line is on screen */
};

static void end_progress_line(struct terminal *terminal)
{
    if (terminal->drawing) {
        fputc('\n', stderr);
        terminal->drawing = false;
    }
}

static void show_step(void *data, const char *message)
{
    struct terminal *terminal = data;
    if (terminal->quiet)
        return;
    end_progress_line(terminal);
    fprintf(stderr, "-----> %s\n", message);
}

static void show_progress(void *data, const char *what, unsigned long long done,
                          unsigned long long total)
{
    struct terminal *terminal = data;
    if (terminal->quiet || !terminal->interactive)
        return;
    double mb = (double)done / 1048576.0;
    if (total)
        fprintf(stderr, "\r       %-8s %3llu%%  %.1f / %.1f MB", what, done * 100 / total, mb,
                (double)total / 1048576.0);
    else
        fprintf(stderr, "\r       %-8s %.1f MB", what, mb);
    terminal->drawing = true;
}

static int stack_error(const char *message)
{
    /* The Go packager's wording (contract §9.1) and its exit status. */
    fprintf(stderr, "error: %s\n", message);
    return 1;
}

int cmd_package(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"stack", required_argument, NULL, 's'},    {"any-stack", no_argument, NULL, 'a'},
        {"cached", no_argument, NULL, 'c'},         {"version", required_argument, NULL, 'v'},
        {"cachedir", required_argument, NULL, 'd'}, {"output", required_argument, NULL, 'o'},
        {"mirror", required_argument, NULL, 'm'},   {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    struct cfbp_package_options options = {.mtime = cfbp_source_date_epoch()};
    struct terminal terminal = {.interactive = isatty(STDERR_FILENO)};
    int option;
    optind = 1;
    while ((option = getopt_long_only(argc, argv, "h", long_options, NULL)) != -1) {
        switch (option) {
        case 's':
            options.stack = optarg;
            break;
        case 'a':
            options.any_stack = true;
            break;
        case 'c':
            options.cached = true;
            break;
        case 'v':
            options.version = optarg;
            break;
        case 'd':
            options.cache_dir = optarg;
            break;
        case 'o':
            options.output_dir = optarg;
            break;
        case 'm':
            options.mirror = optarg;
            break;
        case 'q':
            terminal.quiet = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return command_usage_error("package", "unknown option");
        }
    }
    if (argc - optind > 1)
        return command_usage_error("package", "expected at most one BUILDPACK_DIR");
    if (!options.stack && !options.any_stack)
        return stack_error("must either specify a stack or pass -any-stack");
    if (options.stack && options.any_stack)
        return stack_error("cannot specify a stack AND pass -any-stack");
    options.source_dir = optind < argc ? argv[optind] : ".";
    struct cfbp_strbuf default_cache = CFBP_STRBUF_INIT;
    if (!options.cache_dir) {
        const char *home = getenv("HOME");
        if (!home || !*home)
            return command_usage_error("package", "HOME is not set; pass --cachedir");
        cfbp_strbuf_append_format(&default_cache, "%s/.buildpack-packager/cache", home);
        options.cache_dir = default_cache.buf;
    }
    /* Zip stores DOS times in local time: UTC makes the bytes the same everywhere. */
    setenv("TZ", "UTC0", 1);
    tzset();
    options.reporter = (struct cfbp_package_reporter){show_step, show_progress, &terminal};
    struct cfbp_package_result result;
    struct cfbp_error err = CFBP_ERROR_INIT;
    int status = 0;
    if (cfbp_package(&options, &result, &err) < 0) {
        end_progress_line(&terminal);
        status = command_fail("package", err.message);
        cfbp_error_clear(&err);
    } else {
        end_progress_line(&terminal);
        printf("%s buildpack created and saved as %s with a size of %lluMB (sha256 %s)\n",
               options.cached ? "cached" : "uncached", result.zip_path, result.size / (1024 * 1024),
               result.sha256);
        cfbp_package_result_release(&result);
    }
    cfbp_strbuf_release(&default_cache);
    return status;
}

int cmd_buildpack_packager(int argc, char **argv)
{
    /* placeholder until the drop-in lands */
    return cmd_package(argc, argv);
}
