/*
 * finalize - lets the config-server sidecar buildpack also be the last one.
 *
 *   finalize BUILD_DIR CACHE_DIR DEPS_DIR DEPS_IDX [PROFILE_DIR]
 *
 * supply has already installed and declared the sidecar; as the final
 * buildpack we must also write the launch environment for every buildpack's
 * deps directory (000_multi-supply.sh and the profile.d copies), which is
 * what puts their bin/ directories on PATH at run time.
 *
 * All or nothing: a finalize that fails takes back everything it wrote
 * (BUILD_DIR/.profile.d or PROFILE_DIR, and CACHE_DIR/BUILDPACK_METADATA),
 * so BUILD_DIR is exactly as it was, times included.
 */
#include "../buildpack/program.h"

#include "cfbp/log.h"

static int finalize_steps(struct program *program)
{
    struct cfbp_stager *stager = &program->stager;
    struct cfbp_manifest *manifest = &program->manifest;
    struct cfbp_error *err = &program->err;
    if (cfbp_manifest_apply_overrides(manifest, stager->deps_dir, err) < 0 ||
        cfbp_stager_set_staging_environment(stager, err) < 0)
        return -1;
    cfbp_log_begin_step(&program->log, "Finalizing %s", manifest->language);
    if (cfbp_stager_set_launch_environment(stager, err) < 0 ||
        cfbp_stager_write_buildpack_metadata(stager, manifest->language, manifest->version, err) <
            0)
        return -1;
    return 0;
}

static int finalize(struct program *program)
{
    cfbp_stager_begin_changes(&program->stager);
    if (finalize_steps(program) == 0)
        return 0;
    cfbp_stager_rollback_changes(&program->stager);
    return -1;
}

int main(int argc, char **argv)
{
    return program_main("finalize", CFBP_PHASE_FINALIZE, argc, argv, finalize);
}
