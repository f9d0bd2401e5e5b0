/*
 * sidecar.c - installing and declaring the config-server sidecar (see sidecar.h).
 */
#include "sidecar.h"

#include "cfbp/app_manifest.h"
#include "cfbp/beneath.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/install.h"
#include "cfbp/launch.h"
#include "cfbp/log.h"
#include "cfbp/manifest.h"
#include "cfbp/path.h"
#include "cfbp/stager.h"
#include "cfbp/strbuf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_memory(unsigned long *memory, struct cfbp_error *err)
{
    const char *text = getenv("CONFIG_SERVER_SIDECAR_MEMORY");
    *memory = SIDECAR_DEFAULT_MEMORY;
    if (!text || !*text)
        return 0;
    unsigned long value = 0;
    bool digits = text[0] >= '1' && text[0] <= '9';
    for (const char *c = text; digits && *c; c++) {
        digits = isdigit((unsigned char)*c);
        if (digits && value <= SIDECAR_MAX_MEMORY)
            value = value * 10 + (unsigned long)(*c - '0');
    }
    if (!digits || value > SIDECAR_MAX_MEMORY)
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "CONFIG_SERVER_SIDECAR_MEMORY must be a positive whole number of "
                              "megabytes, such as 64 (got '%s'); fix it with cf set-env and "
                              "restage",
                              text);
    *memory = value;
    return 0;
}

static bool app_declares_sidecar(const char *build_dir, struct cfbp_log *log)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, build_dir, "manifest.yml");
    bool declared = false;
    if (cfbp_fs_is_file(path.buf)) {
        struct cfbp_app_manifest manifest;
        struct cfbp_error err = CFBP_ERROR_INIT;
        if (cfbp_app_manifest_load(&manifest, path.buf, &err) == 0) {
            declared = cfbp_app_manifest_find_sidecar(&manifest, SIDECAR_NAME) != NULL;
            cfbp_app_manifest_release(&manifest);
        } else {
            /* cf push already accepted the manifest it used; this copy only informs us. */
            cfbp_log_warning(log, "Ignoring the app's manifest.yml: %s", err.message);
        }
        cfbp_error_clear(&err);
    }
    cfbp_strbuf_release(&path);
    return declared;
}

int sidecar_plan_read(struct sidecar_plan *plan, const char *build_dir, struct cfbp_log *log,
                      struct cfbp_error *err)
{
    if (read_memory(&plan->memory, err) < 0)
        return -1;
    const char *mode = getenv("CONFIG_SERVER_SIDECAR");
    if (mode && strcmp(mode, "manifest") == 0) {
        plan->owner = SIDECAR_DECLARED_BY_APP;
    } else if (mode && *mode && strcmp(mode, "buildpack") != 0) {
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "CONFIG_SERVER_SIDECAR must be 'buildpack' (the buildpack declares "
                              "the sidecar) or 'manifest' (the app's manifest does), not '%s'",
                              mode);
    } else if (!(mode && *mode) && app_declares_sidecar(build_dir, log)) {
        plan->owner = SIDECAR_DECLARED_BY_APP;
    } else {
        plan->owner = SIDECAR_DECLARED_BY_BUILDPACK;
    }
    return 0;
}

int sidecar_install(struct cfbp_installer *installer, const struct cfbp_stager *stager,
                    struct cfbp_error *err)
{
    const struct cfbp_dependency *dependency;
    if (cfbp_manifest_default_version(installer->manifest, SIDECAR_NAME, installer->stack,
                                      &dependency, err) < 0)
        return -1;
    cfbp_log_info(installer->log, "Using %s version %s", dependency->name, dependency->version);
    if (cfbp_installer_install(installer, dependency->name, dependency->version, stager->dep_dir, 0,
                               err) < 0)
        return -1;
    struct cfbp_strbuf binary = CFBP_STRBUF_INIT;
    cfbp_path_join(&binary, stager->dep_dir, "bin/" SIDECAR_NAME);
    int result = 0;
    if (!cfbp_fs_is_file(binary.buf) || access(binary.buf, X_OK) != 0)
        result = cfbp_error_set(err, CFBP_ERROR_INVALID,
                                "the %s %s archive has no executable bin/%s; the dependency in "
                                "manifest.yml points at the wrong file",
                                dependency->name, dependency->version, SIDECAR_NAME);
    cfbp_strbuf_release(&binary);
    return result;
}

int sidecar_write_profile(const struct cfbp_stager *stager, struct cfbp_error *err)
{
    static const char script[] =
        "# Written by the config-server sidecar buildpack: the app and its config-server\n"
        "# sidecar find each other on this port unless the app sets another.\n"
        "export CONFIG_SERVER_PORT=\"${CONFIG_SERVER_PORT:-" SIDECAR_DEFAULT_PORT "}\"\n";
    return cfbp_stager_write_profile_d(stager, SIDECAR_NAME ".sh", script, err);
}

/* The command that starts the sidecar whatever the final buildpack put on PATH. */
static void sidecar_command(const struct cfbp_stager *stager, struct cfbp_strbuf *out)
{
    cfbp_strbuf_append_format(out, "$DEPS_DIR/%s/bin/%s", stager->deps_idx, SIDECAR_NAME);
}

static int write_launch_yml(const struct sidecar_plan *plan, const struct cfbp_stager *stager,
                            struct cfbp_error *err)
{
    struct cfbp_strbuf command = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT;
    sidecar_command(stager, &command);
    struct cfbp_launch launch = {0};
    struct cfbp_launch_process *process = cfbp_launch_add(&launch, SIDECAR_NAME, command.buf);
    process->memory = plan->memory;
    cfbp_string_list_append(&process->sidecar_for, "web");
    cfbp_path_join(&path, stager->dep_dir, "launch.yml");
    int result = cfbp_launch_write(&launch, path.buf, err);
    cfbp_launch_release(&launch);
    cfbp_strbuf_release(&command);
    cfbp_strbuf_release(&path);
    return result;
}

/*
 * True when Cloud Foundry's builder will not read this buildpack's
 * launch.yml: it looks under the index without its zero padding
 * (deps/3/launch.yml for DEPS_IDX 03), which is another directory from 10
 * buildpacks on (contract §17).
 */
static bool launch_yml_is_ignored(const char *deps_idx)
{
    return deps_idx[0] == '0' && deps_idx[1] != '\0';
}

static int write_app_launcher(const struct cfbp_stager *stager, struct cfbp_log *log,
                              struct cfbp_error *err)
{
    struct cfbp_strbuf command = CFBP_STRBUF_INIT, script = CFBP_STRBUF_INIT,
                       path = CFBP_STRBUF_INIT;
    sidecar_command(stager, &command);
    cfbp_strbuf_append_format(&script,
                              "#!/bin/sh\n"
                              "# Written by the config-server sidecar buildpack for manifests "
                              "that run ./config-server.\n"
                              "exec \"%s\" \"$@\"\n",
                              command.buf);
    cfbp_path_join(&path, stager->build_dir, SIDECAR_NAME);
    struct cfbp_beneath build = CFBP_BENEATH_INIT;
    int result = cfbp_beneath_open(&build, stager->build_dir, err);
    if (result == 0 && cfbp_beneath_type_of(&build, SIDECAR_NAME) != CFBP_FS_MISSING)
        cfbp_log_warning(log, "Replacing the app's own %s with the buildpack's", path.buf);
    if (result == 0)
        result = cfbp_beneath_write_file(&build, SIDECAR_NAME, script.buf, script.len, 0755, err);
    cfbp_beneath_close(&build);
    cfbp_strbuf_release(&command);
    cfbp_strbuf_release(&script);
    cfbp_strbuf_release(&path);
    return result;
}

int sidecar_declare(const struct sidecar_plan *plan, const struct cfbp_stager *stager,
                    struct cfbp_log *log, struct cfbp_error *err)
{
    if (plan->owner == SIDECAR_DECLARED_BY_APP) {
        cfbp_log_info(log, "The app's manifest declares the %s sidecar; adding ./%s for it",
                      SIDECAR_NAME, SIDECAR_NAME);
        return write_app_launcher(stager, log, err);
    }
    cfbp_log_info(log, "Declaring the %s sidecar for web processes (%lu MB)", SIDECAR_NAME,
                  plan->memory);
    if (write_launch_yml(plan, stager, err) < 0)
        return -1;
    if (!launch_yml_is_ignored(stager->deps_idx))
        return 0;
    /* launch.yml stays (a builder that reads the padded index will find it), and the seed's
     * manifest form is made ready: the app only has to declare the sidecar. */
    cfbp_log_warning(log,
                     "With 10 or more buildpacks Cloud Foundry's builder ignores deps/%s/"
                     "launch.yml (it looks for deps/%d/launch.yml), so the %s sidecar declared "
                     "there will not run. Declare it in the app's manifest and restage:\n"
                     "  sidecars:\n"
                     "  - name: %s\n"
                     "    process_types: [web]\n"
                     "    command: ./%s\n"
                     "    memory: %luM\n"
                     "(./%s is written into the app for it.)",
                     stager->deps_idx, atoi(stager->deps_idx), SIDECAR_NAME, SIDECAR_NAME,
                     SIDECAR_NAME, plan->memory, SIDECAR_NAME);
    return write_app_launcher(stager, log, err);
}
