/*
 * cfbp summary - the markdown table of a buildpack's dependencies and
 * default versions, exactly as the Go packager prints it (contract §9.4).
 */
#include "commands.h"

#include "cfbp/error.h"
#include "cfbp/packager.h"
#include "cfbp/strbuf.h"

#include <getopt.h>
#include <stdio.h>

static const char usage[] =
    "usage: cfbp summary [BUILDPACK_DIR]\n"
    "\n"
    "Prints the buildpack's dependencies (sorted by name and version, with their\n"
    "stacks) and default versions as markdown, as buildpack-packager summary does.\n"
    "\n"
    "  -h, --help   show this help\n";

int cmd_summary(int argc, char **argv)
{
    static const struct option options[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int option;
    optind = 1;
    while ((option = getopt_long_only(argc, argv, ":h", options, NULL)) != -1) {
        if (option != 'h')
            return command_option_error("summary", option, argv, options);
        fputs(usage, stdout);
        return 0;
    }
    if (argc - optind > 1)
        return command_usage_error("summary", "expected at most one BUILDPACK_DIR");
    struct cfbp_strbuf summary = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    int status = 0;
    if (cfbp_package_summary(optind < argc ? argv[optind] : ".", &summary, &err) < 0) {
        status = command_fail("summary", err.message);
        cfbp_error_clear(&err);
    } else {
        /* Go prints it with Println: one more newline. */
        fwrite(summary.buf, 1, summary.len, stdout);
        fputc('\n', stdout);
    }
    cfbp_strbuf_release(&summary);
    return status;
}
