/*
 * binary-supply: a supply buildpack built on the installed libcfbp alone.
 *
 *   bin/supply BUILD_DIR CACHE_DIR DEPS_DIR DEPS_IDX
 *
 * Installs the default version, for CF_STACK, of the one dependency that
 * manifest.yml names in default_versions into DEPS_DIR/DEPS_IDX. Its archive
 * holds its programs under bin/, so they land in DEPS_DIR/DEPS_IDX/bin, which
 * Cloud Foundry puts on PATH for the buildpacks after this one and for the
 * app. Then it writes DEPS_DIR/DEPS_IDX/config.yml, as every supply must.
 *
 * Exit codes: 0 done, 1 staging failed (the **ERROR** line says why), 2 wrong
 * arguments. A failure takes back what this run added to DEPS_DIR/DEPS_IDX.
 */
#include <cfbp/buildpack.h>
#include <cfbp/error.h>
#include <cfbp/fs.h>
#include <cfbp/install.h>
#include <cfbp/log.h>
#include <cfbp/manifest.h>
#include <cfbp/path.h>
#include <cfbp/stager.h>
#include <cfbp/strbuf.h>

#include <stdio.h>
#include <stdlib.h>

enum { EXIT_STAGING_FAILED = 1, EXIT_USAGE = 2 };

/* Installs the dependency and checks that it brought a bin/ directory. */
static int install_dependency(struct cfbp_stager *stager, const struct cfbp_manifest *manifest,
                              const char *stack, struct cfbp_log *log, struct cfbp_error *err)
{
    if (manifest->default_count != 1)
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "%s must name exactly one dependency in default_versions (it "
                              "names %zu)",
                              manifest->path, manifest->default_count);
    const struct cfbp_dependency *dependency;
    if (cfbp_manifest_default_version(manifest, manifest->defaults[0].name, stack, &dependency,
                                      err) < 0)
        return -1;
    cfbp_log_info(log, "Using %s version %s", dependency->name, dependency->version);

    struct cfbp_installer installer;
    cfbp_installer_init(&installer, manifest, stack, log);
    cfbp_installer_set_app_cache_dir(&installer, stager->cache_dir);
    int result = cfbp_installer_install(&installer, dependency->name, dependency->version,
                                        stager->dep_dir, 0, err);
    if (result == 0)
        result = cfbp_installer_clean_app_cache(&installer, err);
    cfbp_installer_release(&installer);
    if (result < 0)
        return -1;

    struct cfbp_strbuf bin = CFBP_STRBUF_INIT;
    cfbp_path_join(&bin, stager->dep_dir, "bin");
    if (!cfbp_fs_is_directory(bin.buf))
        result = cfbp_error_set(err, CFBP_ERROR_INVALID,
                                "the %s %s archive has no bin/ directory; the dependency in "
                                "manifest.yml points at the wrong file",
                                dependency->name, dependency->version);
    cfbp_strbuf_release(&bin);
    return result;
}

static int supply(struct cfbp_stager *stager, struct cfbp_manifest *manifest, const char *stack,
                  struct cfbp_log *log, struct cfbp_error *err)
{
    if (cfbp_buildpack_check_valid(manifest, stack, log, err) < 0 ||
        cfbp_manifest_apply_overrides(manifest, stager->deps_dir, err) < 0)
        return -1;
    cfbp_log_begin_step(log, "Supplying %s", manifest->language);
    if (cfbp_stager_remember_dep_dir(stager, err) < 0)
        return -1;
    if (install_dependency(stager, manifest, stack, log, err) < 0 ||
        cfbp_stager_write_config_yml(stager, manifest->language, manifest->version, NULL, err) <
            0) {
        cfbp_stager_rollback_dep_dir(stager);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *debug = getenv("BP_DEBUG");
    const char *stack = getenv("CF_STACK");
    struct cfbp_log log;
    cfbp_log_init(&log, stdout, debug && *debug);
    /* A file size limit (ulimit -f) becomes a write error instead of killing us. */
    cfbp_fs_catch_file_size_limit();

    struct cfbp_error err = CFBP_ERROR_INIT;
    struct cfbp_stager stager = {0};
    struct cfbp_manifest manifest = {0};
    struct cfbp_strbuf root = CFBP_STRBUF_INIT;
    int status = 0;
    if (cfbp_stager_init(&stager, CFBP_PHASE_SUPPLY, argc - 1, argv + 1, &err) < 0 ||
        cfbp_buildpack_find_root(argv[0], &root, &err) < 0 ||
        cfbp_manifest_load(&manifest, root.buf, &err) < 0 ||
        supply(&stager, &manifest, stack, &log, &err) < 0) {
        if (err.kind == CFBP_ERROR_USAGE) {
            fprintf(stderr, "supply: %s\n", err.message);
            status = EXIT_USAGE;
        } else {
            /* The library never prints: each error is shown once, here. */
            if (err.detail)
                cfbp_log_error(&log, "%s", err.detail);
            cfbp_log_error(&log, "%s", err.message);
            status = EXIT_STAGING_FAILED;
        }
    }
    cfbp_strbuf_release(&root);
    cfbp_manifest_release(&manifest);
    cfbp_stager_release(&stager);
    cfbp_error_clear(&err);
    return status;
}
