/*
 * supply - installs the config-server sidecar into DEPS_DIR/DEPS_IDX.
 *
 *   supply BUILD_DIR CACHE_DIR DEPS_DIR DEPS_IDX
 *
 * The recipe: check the stack, install the default config-server, agree on
 * a port through profile.d, record config.yml, and declare the sidecar.
 * Everything that can be refused (bad settings, no default version) is
 * checked before anything is written, and a failure after that (a full
 * disk, say) takes back what this run added to DEPS_DIR/DEPS_IDX.
 */
#include "../buildpack/program.h"
#include "../buildpack/sidecar.h"

#include "cfbp/buildpack.h"
#include "cfbp/install.h"

static int supply_steps(struct program *program)
{
    struct cfbp_stager *stager = &program->stager;
    struct cfbp_manifest *manifest = &program->manifest;
    struct cfbp_error *err = &program->err;
    struct cfbp_log *log = &program->log;
    if (cfbp_buildpack_check_valid(manifest, program->stack, log, err) < 0)
        return -1;
    cfbp_stager_check_buildpack_metadata(stager, manifest->language, manifest->version, log);
    struct sidecar_plan plan;
    if (cfbp_manifest_apply_overrides(manifest, stager->deps_dir, err) < 0 ||
        cfbp_stager_set_staging_environment(stager, err) < 0 ||
        sidecar_plan_read(&plan, stager->build_dir, log, err) < 0)
        return -1;
    cfbp_log_begin_step(log, "Supplying %s", manifest->language);
    struct cfbp_installer installer;
    cfbp_installer_init(&installer, manifest, program->stack, log);
    cfbp_installer_set_app_cache_dir(&installer, stager->cache_dir);
    int result = sidecar_install(&installer, stager, err);
    if (result == 0)
        result = cfbp_installer_clean_app_cache(&installer, err);
    cfbp_installer_release(&installer);
    /* The write outside DEPS_DIR/DEPS_IDX (./config-server in the app) comes last. */
    if (result < 0 || sidecar_write_profile(stager, err) < 0 ||
        cfbp_stager_write_config_yml(stager, manifest->language, manifest->version, NULL, err) <
            0 ||
        cfbp_stager_write_buildpack_metadata(stager, manifest->language, manifest->version, err) <
            0 ||
        sidecar_declare(&plan, stager, log, err) < 0)
        return -1;
    return 0;
}

/*
 * All or nothing: a supply that fails part way puts back the files its own
 * writes replaced (config.yml, profile.d, launch.yml, BUILDPACK_METADATA,
 * ./config-server) and takes back what it added to DEPS_DIR/DEPS_IDX.
 */
static int supply(struct program *program)
{
    if (cfbp_stager_remember_dep_dir(&program->stager, &program->err) < 0)
        return -1;
    cfbp_stager_begin_changes(&program->stager);
    if (supply_steps(program) == 0)
        return 0;
    cfbp_stager_rollback_changes(&program->stager);
    cfbp_stager_rollback_dep_dir(&program->stager);
    return -1;
}

int main(int argc, char **argv)
{
    return program_main("supply", CFBP_PHASE_SUPPLY, argc, argv, supply);
}
