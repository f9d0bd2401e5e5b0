/*
 * compile - the legacy single-buildpack entry point (contract §3.4, §3.6).
 *
 *   compile BUILD_DIR CACHE_DIR
 *
 * Old platforms and Heroku-style runners know only compile. Like the
 * libbuildpack scaffold's shim, it keeps the deps directory inside the app
 * (BUILD_DIR/.cloudfoundry, index 0), tells the launcher where that is with
 * a profile script that sorts before 000_multi-supply.sh, and runs this
 * buildpack's own supply and finalize.
 */
#include "../buildpack/program.h"

#include "cfbp/beneath.h"
#include "cfbp/buildpack.h"
#include "cfbp/fs.h"
#include "cfbp/path.h"
#include "cfbp/process.h"
#include "cfbp/strbuf.h"

#include <stdio.h>

static int run_phase(struct program *program, const char *root, const char *phase,
                     const char *build_dir, const char *cache_dir, const char *deps_dir)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, root, "bin");
    cfbp_path_append(&path, phase);
    char *argv[] = {path.buf, (char *)build_dir, (char *)cache_dir, (char *)deps_dir, "0", NULL};
    int status = 0;
    if (cfbp_process_run(argv, NULL, &status, &program->err) < 0)
        status = program_fail(program);
    cfbp_strbuf_release(&path);
    return status;
}

/* <build>/.profile.d/0000_set-deps-dir.sh sorts before 000_multi-supply.sh, which needs it. */
static int write_deps_dir_script(struct program *program, const char *build_dir)
{
    static const char script[] = "export DEPS_DIR=$HOME/.cloudfoundry\n";
    struct cfbp_beneath build = CFBP_BENEATH_INIT;
    int result = cfbp_beneath_open(&build, build_dir, &program->err);
    if (result == 0)
        result = cfbp_beneath_write_file(&build, ".profile.d/0000_set-deps-dir.sh", script,
                                         sizeof(script) - 1, 0755, &program->err);
    cfbp_beneath_close(&build);
    return result < 0 ? program_fail(program) : 0;
}

static int compile(struct program *program, const char *argv0, const char *build_argument,
                   const char *cache_argument)
{
    struct cfbp_strbuf root = CFBP_STRBUF_INIT, build = CFBP_STRBUF_INIT, deps = CFBP_STRBUF_INIT,
                       path = CFBP_STRBUF_INIT;
    struct cfbp_error *err = &program->err;
    int status = 0;
    if (cfbp_buildpack_find_root(argv0, &root, err) < 0 ||
        cfbp_path_absolute(&build, build_argument, err) < 0)
        status = program_fail(program);
    if (status == 0) {
        /* The app's own files may hold links: make .cloudfoundry/0 without following any. */
        struct cfbp_beneath app = CFBP_BENEATH_INIT;
        cfbp_path_join(&deps, build.buf, ".cloudfoundry");
        if (cfbp_beneath_open(&app, build.buf, err) < 0 ||
            cfbp_beneath_mkdir_p(&app, ".cloudfoundry/0", 0755, err) < 0)
            status = program_fail(program);
        cfbp_beneath_close(&app);
    }
    if (status == 0)
        status = write_deps_dir_script(program, build.buf);
    if (status == 0)
        status = run_phase(program, root.buf, "supply", build.buf, cache_argument, deps.buf);
    if (status == 0)
        status = run_phase(program, root.buf, "finalize", build.buf, cache_argument, deps.buf);
    cfbp_strbuf_release(&root);
    cfbp_strbuf_release(&build);
    cfbp_strbuf_release(&deps);
    cfbp_strbuf_release(&path);
    return status;
}

int main(int argc, char **argv)
{
    struct program program;
    program_init(&program, "compile");
    int status;
    if (argc != 3) {
        fprintf(stderr, "compile: expected the arguments BUILD_DIR CACHE_DIR, got %d\n", argc - 1);
        status = EXIT_USAGE;
    } else if (!*argv[1] || !cfbp_fs_is_directory(argv[1])) {
        /* As supply and finalize refuse theirs: never the current directory for "". */
        fprintf(stderr, "compile: BUILD_DIR '%s' is not a directory\n", argv[1]);
        status = EXIT_USAGE;
    } else {
        status = compile(&program, argv[0], argv[1], argv[2]);
    }
    program_release(&program);
    return status;
}
