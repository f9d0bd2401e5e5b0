/*
 * cfbp create-buildpack - registers a buildpack zip or directory under a name
 * for `cfbp stage`, as `cf create-buildpack` does for a foundation.
 */
#include "commands.h"

#include "cfbp/buildpack_registry.h"
#include "cfbp/error.h"
#include "cfbp/strbuf.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
    "usage: cfbp create-buildpack NAME ZIP_OR_DIR [POSITION]\n"
    "\n"
    "Registers the buildpack under NAME at POSITION (1 is first; default: last),\n"
    "moving the buildpacks at and after it down. The registry lives in $CFBP_HOME\n"
    "(default ~/.cfbp); see cfbp buildpacks and cfbp delete-buildpack.\n"
    "\n"
    "  -h, --help   show this help\n";

int cmd_create_buildpack(int argc, char **argv)
{
    static const struct option options[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int option;
    optind = 1;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (option != 'h')
            return command_option_error("create-buildpack", option, argv, options);
        fputs(usage, stdout);
        return 0;
    }
    int arguments = argc - optind;
    if (arguments < 2 || arguments > 3)
        return command_usage_error("create-buildpack", "expected NAME ZIP_OR_DIR [POSITION]");
    unsigned position = 0;
    if (arguments == 3) {
        char *end;
        errno = 0;
        long value = strtol(argv[optind + 2], &end, 10);
        if (*end || end == argv[optind + 2] || errno || value < 1 || value > (long)UINT_MAX)
            return command_usage_error("create-buildpack", "POSITION must be a positive integer");
        position = (unsigned)value;
    }
    struct cfbp_strbuf home = CFBP_STRBUF_INIT;
    struct cfbp_registry registry = {0};
    struct cfbp_error err = CFBP_ERROR_INIT;
    int status = 0;
    if (cfbp_registry_default_home(&home, &err) < 0 ||
        cfbp_registry_load(&registry, home.buf, &err) < 0 ||
        cfbp_registry_add(&registry, argv[optind], argv[optind + 1], position, &err) < 0) {
        status = command_fail("create-buildpack", err.message);
    } else {
        const struct cfbp_registered_buildpack *added = cfbp_registry_find(&registry, argv[optind]);
        printf("Created buildpack %s at position %u (key %s)\n", added->name, added->position,
               added->key);
    }
    cfbp_error_clear(&err);
    cfbp_registry_release(&registry);
    cfbp_strbuf_release(&home);
    return status;
}
