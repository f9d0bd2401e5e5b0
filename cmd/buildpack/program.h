/*
 * program.h - what every program of the config-server sidecar buildpack
 * does first and last: find the buildpack, load its manifest, read the
 * staging arguments, and turn a failure into a log line and an exit code.
 */
#ifndef BUILDPACK_PROGRAM_H
#define BUILDPACK_PROGRAM_H

#include "cfbp/error.h"
#include "cfbp/log.h"
#include "cfbp/manifest.h"
#include "cfbp/stager.h"

enum { EXIT_STAGING_FAILED = 1, EXIT_USAGE = 2 };

struct program {
    const char *name;
    struct cfbp_log log;
    struct cfbp_manifest manifest;
    struct cfbp_stager stager;
    const char *stack; /* CF_STACK, possibly NULL */
    struct cfbp_error err;
};

/* Sets up logging (BP_DEBUG turns on debug lines) and the out-of-memory handler. */
void program_init(struct program *program, const char *name);
/* Loads <root>/manifest.yml and VERSION. Returns 0 or an exit code (already reported). */
int program_load_manifest(struct program *program, const char *argv0);
/* Reads the staging arguments (argv without the program name). Returns 0 or an exit code. */
int program_load_stager(struct program *program, enum cfbp_stager_phase phase, int argc,
                        char *const *argv);
/*
 * The whole life of supply or finalize: set up, read the staging arguments
 * and the manifest, run body (which fails by setting program->err and
 * returning -1), and turn the outcome into an exit status: EXIT_USAGE for
 * wrong staging arguments only; any failure of body is a staging error
 * (**ERROR** in the log, EXIT_STAGING_FAILED), whatever its kind.
 */
int program_main(const char *name, enum cfbp_stager_phase phase, int argc, char **argv,
                 int (*body)(struct program *program));
/*
 * Reports program->err and returns the exit code for it: a usage error on
 * stderr (EXIT_USAGE), anything else as a staging error in the log.
 */
int program_fail(struct program *program);
void program_release(struct program *program);

#endif
