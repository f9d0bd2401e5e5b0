/*
 * cfbp - the buildpack author's and operator's tool: git-style subcommands
 * over libcfbp.
 *
 *   cfbp <command> [options] [arguments]
 *   cfbp <command> --help
 */
#include "commands.h"

#include "cfbp/alloc.h"
#include "cfbp/fs.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef CFBP_VERSION_STRING
#define CFBP_VERSION_STRING "0"
#endif

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"package", cmd_package, "zip a buildpack for cf create-buildpack (cached or not)"},
    {"summary", cmd_summary, "print a buildpack's dependencies as markdown"},
    {"stage", cmd_stage, "stage an app with buildpacks, as Cloud Foundry would"},
    {"run", cmd_run, "run a droplet: the web process and its sidecars"},
    {"create-buildpack", cmd_create_buildpack, "register a buildpack zip or directory by name"},
    {"buildpacks", cmd_buildpacks, "list the registered buildpacks"},
    {"delete-buildpack", cmd_delete_buildpack, "unregister a buildpack"},
    {"tarball", cmd_tarball, "write a reproducible .tgz of a directory"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: cfbp <command> [options] [arguments]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
        fprintf(out, "  %-18s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'cfbp <command> --help' for a command's options.\n");
}

static void out_of_memory(size_t size)
{
    static const char message[] = "cfbp: out of memory\n";
    (void)size;
    if (write(STDERR_FILENO, message, sizeof(message) - 1) < 0) {
        /* nothing more can be done */
    }
    _exit(1);
}

int command_fail(const char *command, const char *message)
{
    fprintf(stderr, "cfbp %s: %s\n", command, message);
    return 1;
}

int command_usage_error(const char *command, const char *message)
{
    fprintf(stderr, "cfbp %s: %s\nRun 'cfbp %s --help' for usage.\n", command, message, command);
    return 2;
}

int main(int argc, char **argv)
{
    cfbp_alloc_set_failure_handler(out_of_memory);
    cfbp_fs_catch_file_size_limit();
    /* Installed as a link named buildpack-packager: the Go packager's command line. */
    const char *program = argv[0] ? strrchr(argv[0], '/') : NULL;
    program = program ? program + 1 : argv[0];
    if (program && strcmp(program, "buildpack-packager") == 0)
        return cmd_buildpack_packager(argc, argv);
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("cfbp %s\n", CFBP_VERSION_STRING);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "cfbp: '%s' is not a command\n\n", argv[1]);
    usage(stderr);
    return 2;
}
