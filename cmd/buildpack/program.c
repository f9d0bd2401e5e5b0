/*
 * program.c - start-up and failure handling shared by supply, finalize,
 * detect, release and compile (see program.h).
 */
#include "program.h"

#include "cfbp/alloc.h"
#include "cfbp/buildpack.h"
#include "cfbp/fs.h"
#include "cfbp/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A V3 (cloud native) buildpack leaves this behind; V2 buildpacks must not follow one (§6.2). */
#define V3_SENTINEL "/home/vcap/app/.cloudfoundry/sentinel"

static void out_of_memory(size_t size)
{
    static const char message[] =
        "       **ERROR** out of memory; raise the staging memory limit\n";
    (void)size;
    if (write(STDOUT_FILENO, message, sizeof(message) - 1) < 0) {
        /* nothing more can be done */
    }
    _exit(EXIT_STAGING_FAILED);
}

void program_init(struct program *program, const char *name)
{
    memset(program, 0, sizeof(*program));
    program->name = name;
    cfbp_alloc_set_failure_handler(out_of_memory);
    cfbp_fs_catch_file_size_limit();
    const char *debug = getenv("BP_DEBUG");
    cfbp_log_init(&program->log, stdout, debug && *debug);
    program->stack = getenv("CF_STACK");
}

int program_load_manifest(struct program *program, const char *argv0)
{
    struct cfbp_strbuf root = CFBP_STRBUF_INIT;
    int result = cfbp_buildpack_find_root(argv0, &root, &program->err);
    if (result == 0)
        result = cfbp_manifest_load(&program->manifest, root.buf, &program->err);
    cfbp_strbuf_release(&root);
    return result < 0 ? program_fail(program) : 0;
}

int program_load_stager(struct program *program, enum cfbp_stager_phase phase, int argc,
                        char *const *argv)
{
    if (cfbp_stager_init(&program->stager, phase, argc, argv, &program->err) < 0 ||
        cfbp_stager_check_not_after_v3(V3_SENTINEL, &program->err) < 0)
        return program_fail(program);
    return 0;
}

static const char *error_message(const struct program *program)
{
    return program->err.message ? program->err.message : "unknown error";
}

/* Logs program->err as a staging error (**ERROR** lines) and returns its exit code. */
static int staging_failed(struct program *program)
{
    /* The library reports and never prints: each error is shown once, here. */
    if (program->err.detail)
        cfbp_log_error(&program->log, "%s", program->err.detail);
    cfbp_log_error(&program->log, "%s", error_message(program));
    return EXIT_STAGING_FAILED;
}

int program_fail(struct program *program)
{
    if (program->err.kind != CFBP_ERROR_USAGE)
        return staging_failed(program);
    fprintf(stderr, "%s: %s\n", program->name, error_message(program));
    return EXIT_USAGE;
}

int program_main(const char *name, enum cfbp_stager_phase phase, int argc, char **argv,
                 int (*body)(struct program *program))
{
    struct program program;
    program_init(&program, name);
    int status = program_load_stager(&program, phase, argc - 1, argv + 1);
    if (status == 0)
        status = program_load_manifest(&program, argv[0]);
    /*
     * The staging arguments were right: a wrong setting found from here on
     * (a mirror, a proxy or a timeout in the environment) fails staging as
     * any other error does, in the staging log, not as a usage error.
     */
    if (status == 0 && body(&program) < 0)
        status = staging_failed(&program);
    program_release(&program);
    return status;
}

void program_release(struct program *program)
{
    cfbp_manifest_release(&program->manifest);
    cfbp_stager_release(&program->stager);
    cfbp_error_clear(&program->err);
}
