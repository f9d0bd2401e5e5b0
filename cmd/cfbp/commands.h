/*
 * commands.h - the subcommands of cfbp, one file each (cmd_<name>.c).
 *
 * Each takes the arguments after its own name (argv[0] is the subcommand
 * name), parses its options, calls the library and returns the exit status.
 */
#ifndef CFBP_COMMANDS_H
#define CFBP_COMMANDS_H

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

#endif
