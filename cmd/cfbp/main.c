/*
 * cfbp - the buildpack author's and operator's tool: git-style subcommands
 * over libcfbp.
 *
 *   cfbp <command> [options] [arguments]
 *   cfbp <command> --help     (or -h, or cfbp help <command>)
 *
 * main() only dispatches; every command parses its own options. Errors have
 * one form everywhere (commands.h): "cfbp <command>: <message>" on stderr,
 * plus one hint line for usage errors.
 */
#include "commands.h"

#include "cfbp/alloc.h"
#include "cfbp/fs.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef CFBP_VERSION_STRING
#define CFBP_VERSION_STRING "0"
#endif

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

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
    {"help", cmd_help, "show the help of cfbp or of a command"},
    {"version", cmd_version, "print cfbp's version"},
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
        if (strcmp(name, commands[i].name) == 0)
            return &commands[i];
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: cfbp <command> [options] [arguments]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
        fprintf(out, "  %-18s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'cfbp <command> --help' or 'cfbp help <command>' for a command's "
                 "options; see also cfbp(1).\n");
}

static bool is_help_flag(const char *argument)
{
    return strcmp(argument, "--help") == 0 || strcmp(argument, "-h") == 0;
}

static const char help_usage[] = "usage: cfbp help [COMMAND]\n"
                                 "\n"
                                 "Shows the commands of cfbp, or the options of COMMAND (the same\n"
                                 "as cfbp COMMAND --help).\n"
                                 "\n"
                                 "  -h, --help   show this help\n";

static int cmd_help(int argc, char **argv)
{
    if (argc == 1) {
        usage(stdout);
        return 0;
    }
    if (is_help_flag(argv[1])) {
        fputs(help_usage, stdout);
        return 0;
    }
    if (argv[1][0] == '-') {
        fprintf(stderr, "cfbp help: unknown option '%s'\n", argv[1]);
        return command_usage_error("help", NULL);
    }
    if (argc > 2)
        return command_usage_error("help", "expected at most one COMMAND");
    const struct command *command = find_command(argv[1]);
    if (!command) {
        char message[256];
        snprintf(message, sizeof(message), "'%.200s' is not a command", argv[1]);
        return command_usage_error("help", message);
    }
    char *help_argv[] = {(char *)command->name, "--help", NULL};
    return command->run(2, help_argv);
}

static int cmd_version(int argc, char **argv)
{
    if (argc == 2 && is_help_flag(argv[1])) {
        puts("usage: cfbp version\n\nPrints cfbp's version, as the option of that name does.\n\n"
             "  -h, --help   show this help");
        return 0;
    }
    if (argc > 1 && argv[1][0] == '-') {
        fprintf(stderr, "cfbp version: unknown option '%s'\n", argv[1]);
        return command_usage_error("version", NULL);
    }
    if (argc > 1)
        return command_usage_error("version", "takes no arguments");
    printf("cfbp %s\n", CFBP_VERSION_STRING);
    return 0;
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
    if (message)
        fprintf(stderr, "cfbp %s: %s\n", command, message);
    fprintf(stderr, "Run 'cfbp %s --help' for usage.\n", command);
    return 2;
}

/* The long option named by argument ("--name", "-name", either with "=value"), or NULL. */
static const struct option *long_option_named(const struct option *options, const char *argument)
{
    if (!options || argument[0] != '-')
        return NULL;
    const char *name = argument + (argument[1] == '-' ? 2 : 1);
    size_t length = strcspn(name, "=");
    for (; options->name; options++)
        if (strlen(options->name) == length && strncmp(options->name, name, length) == 0)
            return options;
    return NULL;
}

int command_option_error(const char *command, int code, char **argv,
                         const struct option *long_options)
{
    /* What getopt was looking at: it has moved past the option, unless it stopped inside a
     * cluster of short options ("-xq"), where optopt names the one refused. */
    const char *argument = optind > 0 && argv[optind - 1] ? argv[optind - 1] : "";
    int name_length = (int)strcspn(argument, "=");
    if (code == ':') {
        if (argument[0] == '-' && name_length > 2)
            fprintf(stderr, "cfbp %s: option '%.*s' needs a value\n", command, name_length,
                    argument);
        else
            fprintf(stderr, "cfbp %s: option '-%c' needs a value\n", command, optopt);
    } else if (optopt == 0) {
        fprintf(stderr, "cfbp %s: unknown option '%.*s'\n", command, name_length, argument);
    } else {
        const struct option *option = long_option_named(long_options, argument);
        if (option && option->has_arg == no_argument && option->val == optopt &&
            argument[name_length] == '=')
            fprintf(stderr, "cfbp %s: option '%.*s' takes no value\n", command, name_length,
                    argument);
        else
            fprintf(stderr, "cfbp %s: unknown option '-%c'\n", command, optopt);
    }
    return command_usage_error(command, NULL);
}

int main(int argc, char **argv)
{
    cfbp_alloc_set_failure_handler(out_of_memory);
    cfbp_fs_catch_file_size_limit();
    /* Every command reports its own option errors, in its own words (command_option_error). */
    opterr = 0;
    /* Installed as a link named buildpack-packager: the Go packager's command line. */
    const char *program = argv[0] ? strrchr(argv[0], '/') : NULL;
    program = program ? program + 1 : argv[0];
    if (program && strcmp(program, "buildpack-packager") == 0)
        return cmd_buildpack_packager(argc, argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (is_help_flag(argv[1]))
        return cmd_help(1, argv + 1);
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(1, argv + 1);
    const struct command *command = find_command(argv[1]);
    if (command)
        return command->run(argc - 1, argv + 1);
    if (argv[1][0] == '-')
        fprintf(stderr, "cfbp: unknown option '%s'\n", argv[1]);
    else
        fprintf(stderr, "cfbp: '%s' is not a command\n", argv[1]);
    fprintf(stderr, "Run 'cfbp --help' for the list of commands.\n");
    return 2;
}
