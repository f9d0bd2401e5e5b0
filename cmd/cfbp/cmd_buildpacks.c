/*
 * cfbp buildpacks - lists the registered buildpacks in position order, as
 * `cf buildpacks` does; cfbp delete-buildpack removes one, as
 * `cf delete-buildpack` does.
 */
#include "commands.h"

#include "cfbp/buildpack_registry.h"
#include "cfbp/error.h"
#include "cfbp/strbuf.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char buildpacks_usage[] =
    "usage: cfbp buildpacks\n"
    "\n"
    "Lists the registered buildpacks in position order: position, name, stack and\n"
    "key. The registry lives in $CFBP_HOME (default ~/.cfbp).\n"
    "\n"
    "  -h, --help   show this help\n";

static const char delete_usage[] =
    "usage: cfbp delete-buildpack NAME [-f]\n"
    "\n"
    "Unregisters the buildpack NAME and removes its files; the buildpacks after it\n"
    "move up one position.\n"
    "\n"
    "  -f, --force  do not ask for confirmation\n"
    "  -h, --help   show this help\n"
    "\n"
    "As cf delete-buildpack does, it asks \"Really delete the buildpack NAME? [yN]\"\n"
    "first, but only when its standard input is a terminal; from a script (stdin not\n"
    "a terminal) it deletes without asking, as with -f. Declined, nothing changes\n"
    "and the exit status is 0.\n";

static int open_registry(const char *command, struct cfbp_registry *registry)
{
    struct cfbp_strbuf home = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    int status = 0;
    if (cfbp_registry_default_home(&home, &err) < 0 ||
        cfbp_registry_load(registry, home.buf, &err) < 0)
        status = command_fail(command, err.message);
    cfbp_error_clear(&err);
    cfbp_strbuf_release(&home);
    return status;
}

int cmd_buildpacks(int argc, char **argv)
{
    static const struct option options[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int option;
    optind = 1;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (option != 'h')
            return command_option_error("buildpacks", option, argv, options);
        fputs(buildpacks_usage, stdout);
        return 0;
    }
    if (optind != argc)
        return command_usage_error("buildpacks", "takes no arguments");
    struct cfbp_registry registry = {0};
    int status = open_registry("buildpacks", &registry);
    if (status == 0) {
        printf("%-8s %-36s %-12s %s\n", "position", "name", "stack", "key");
        for (size_t i = 0; i < registry.count; i++) {
            const struct cfbp_registered_buildpack *buildpack = &registry.buildpacks[i];
            printf("%-8u %-36s %-12s %s\n", buildpack->position, buildpack->name,
                   buildpack->stack ? buildpack->stack : "", buildpack->key);
        }
    }
    cfbp_registry_release(&registry);
    return status;
}

/* Asks on the terminal, as cf does; true for "y" or "yes" in any case. */
static bool confirmed(const char *name)
{
    fprintf(stderr, "Really delete the buildpack %s? [yN]: ", name);
    fflush(stderr);
    char answer[64];
    if (!fgets(answer, sizeof(answer), stdin)) {
        fputc('\n', stderr);
        return false;
    }
    answer[strcspn(answer, "\r\n")] = '\0';
    return strcasecmp(answer, "y") == 0 || strcasecmp(answer, "yes") == 0;
}

int cmd_delete_buildpack(int argc, char **argv)
{
    static const struct option options[] = {
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool force = false;
    int option;
    optind = 1;
    while ((option = getopt_long(argc, argv, ":fh", options, NULL)) != -1) {
        switch (option) {
        case 'f':
            force = true;
            break;
        case 'h':
            fputs(delete_usage, stdout);
            return 0;
        default:
            return command_option_error("delete-buildpack", option, argv, options);
        }
    }
    if (argc - optind != 1)
        return command_usage_error("delete-buildpack", "expected NAME");
    const char *name = argv[optind];
    struct cfbp_registry registry = {0};
    int status = open_registry("delete-buildpack", &registry);
    if (status != 0) {
        cfbp_registry_release(&registry);
        return status;
    }
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (!cfbp_registry_find(&registry, name)) {
        /* Checked before asking: no question about a buildpack that is not there. */
        cfbp_error_set(&err, CFBP_ERROR_NOT_FOUND, "buildpack %s does not exist", name);
        status = command_fail("delete-buildpack", err.message);
    } else if (!force && isatty(STDIN_FILENO) && !confirmed(name)) {
        printf("Buildpack %s has not been deleted.\n", name);
    } else if (cfbp_registry_remove(&registry, name, &err) < 0) {
        status = command_fail("delete-buildpack", err.message);
    } else {
        printf("Deleted buildpack %s\n", name);
    }
    cfbp_error_clear(&err);
    cfbp_registry_release(&registry);
    return status;
}
