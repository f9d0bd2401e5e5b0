/*
 * cfbp buildpacks - lists the registered buildpacks in position order, as
 * `cf buildpacks` does; cfbp delete-buildpack removes one.
 */
#include "commands.h"

#include "cfbp/buildpack_registry.h"
#include "cfbp/error.h"
#include "cfbp/strbuf.h"

#include <stdio.h>
#include <string.h>

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
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        puts("usage: cfbp buildpacks\n\nLists the registered buildpacks in position order.");
        return 0;
    }
    if (argc != 1)
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

int cmd_delete_buildpack(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        puts("usage: cfbp delete-buildpack NAME\n\nUnregisters the buildpack and removes its "
             "files.");
        return 0;
    }
    if (argc != 2)
        return command_usage_error("delete-buildpack", "expected NAME");
    struct cfbp_registry registry = {0};
    int status = open_registry("delete-buildpack", &registry);
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (status == 0 && cfbp_registry_remove(&registry, argv[1], &err) < 0)
        status = command_fail("delete-buildpack", err.message);
    else if (status == 0)
        printf("Deleted buildpack %s\n", argv[1]);
    cfbp_error_clear(&err);
    cfbp_registry_release(&registry);
    return status;
}
