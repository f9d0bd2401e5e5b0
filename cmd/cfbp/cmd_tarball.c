/*
 * cfbp tarball - a reproducible .tgz of a directory (used by the build for
 * the config-server release artifact).
 */
#include "commands.h"

#include "cfbp/error.h"
#include "cfbp/tarball.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
    "usage: cfbp tarball [--mtime SECONDS] [--prefix PREFIX] OUTPUT.tgz DIRECTORY\n"
    "\n"
    "Writes every file, directory and symlink under DIRECTORY into OUTPUT.tgz,\n"
    "reproducibly: sorted members, owner 0:0, modes 0755/0644, one mtime for all\n"
    "(--mtime, else SOURCE_DATE_EPOCH, else 1980-01-01), gzip without name or time.\n"
    "\n"
    "  --mtime SECONDS   the modification time of every member\n"
    "  --prefix PREFIX   put PREFIX before every member name (e.g. ./)\n"
    "  -h, --help        show this help\n";

int cmd_tarball(int argc, char **argv)
{
    static const struct option options[] = {
        {"mtime", required_argument, NULL, 'm'},
        {"prefix", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cfbp_tarball_options tarball = {.mtime = cfbp_source_date_epoch()};
    int option;
    optind = 1;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (option) {
        case 'm': {
            char *end;
            errno = 0;
            tarball.mtime = strtoll(optarg, &end, 10);
            if (errno || *end || tarball.mtime < 0)
                return command_usage_error("tarball", "--mtime takes a number of seconds");
            break;
        }
        case 'p':
            tarball.prefix = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return command_option_error("tarball", option, argv, options);
        }
    }
    if (argc - optind != 2)
        return command_usage_error("tarball", "expected OUTPUT.tgz and DIRECTORY");
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_tarball_write_tree(argv[optind], argv[optind + 1], &tarball, &err) < 0) {
        int status = command_fail("tarball", err.message);
        cfbp_error_clear(&err);
        return status;
    }
    return 0;
}
