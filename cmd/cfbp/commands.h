/*
 * commands.h - the subcommands of cfbp, one file each (cmd_<name>.c), and the
 * one way they all report a mistake.
 *
 * Each takes the arguments after its own name (argv[0] is the subcommand
 * name), parses its options, calls the library and returns the exit status.
 * Every error a command prints is one line, "cfbp <command>: <message>", on
 * stderr; a usage error adds "Run 'cfbp <command> --help' for usage." and
 * exits 2; help goes to stdout and exits 0.
 */
#ifndef CFBP_COMMANDS_H
#define CFBP_COMMANDS_H

struct option;

int cmd_buildpacks(int argc, char **argv);
int cmd_create_buildpack(int argc, char **argv);
int cmd_delete_buildpack(int argc, char **argv);
int cmd_package(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_stage(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_tarball(int argc, char **argv);
/* The Go buildpack-packager's command line (cfbp run under that name): build, summary, help. */
int cmd_buildpack_packager(int argc, char **argv);

/* Prints "cfbp <command>: <message>" to stderr and returns 1. */
int command_fail(const char *command, const char *message);
/* Prints a usage error with a hint to run --help and returns 2. */
int command_usage_error(const char *command, const char *message);
/*
 * The usage error for what getopt_long (or getopt_long_only) just refused:
 * code is what it returned ('?', or ':' with an optstring that starts with
 * ':'), long_options its table. Names the option as it was typed ("unknown
 * option '--bogus'", "option '--stack' needs a value", "option '--help'
 * takes no value") and returns 2. main() sets opterr = 0, so getopt itself
 * prints nothing.
 */
int command_option_error(const char *command, int code, char **argv,
                         const struct option *long_options);

#endif
