/*
 * sidecar.h - the config-server sidecar: how this buildpack installs it, how
 * the app and the sidecar agree on a port, and who declares the sidecar.
 *
 * By default the buildpack declares the sidecar in launch.yml, so the app's
 * manifest needs no `sidecars:` block. When the app declares a sidecar named
 * config-server itself (the seed series' manifests), or the staging variable
 * CONFIG_SERVER_SIDECAR=manifest asks for it, launch.yml must not declare it
 * too (Cloud Controller rejects the clash); instead an executable
 * BUILD_DIR/config-server runs the installed binary, so `command:
 * './config-server'` keeps working.
 *
 * With a zero-padded DEPS_IDX (10 or more buildpacks) Cloud Foundry's
 * builder never reads this buildpack's launch.yml (contract §17). The
 * buildpack then still writes it, also writes BUILD_DIR/config-server, and
 * warns with the `sidecars:` block that makes the sidecar run: it cannot
 * declare the sidecar any other way from inside staging.
 */
#ifndef BUILDPACK_SIDECAR_H
#define BUILDPACK_SIDECAR_H

#include <stdbool.h>

struct cfbp_error;
struct cfbp_installer;
struct cfbp_log;
struct cfbp_stager;

#define SIDECAR_NAME           "config-server"
#define SIDECAR_DEFAULT_PORT   "8082"
#define SIDECAR_DEFAULT_MEMORY 64UL
#define SIDECAR_MAX_MEMORY     (1024UL * 1024UL) /* 1 TB is certainly a typo */

enum sidecar_owner { SIDECAR_DECLARED_BY_BUILDPACK, SIDECAR_DECLARED_BY_APP };

struct sidecar_plan {
    enum sidecar_owner owner;
    unsigned long memory; /* MB, for launch.yml */
};

/*
 * Decides the plan from CONFIG_SERVER_SIDECAR_MEMORY, CONFIG_SERVER_SIDECAR
 * and the app's manifest.yml in build_dir. Bad values are errors that say
 * what is accepted.
 */
int sidecar_plan_read(struct sidecar_plan *plan, const char *build_dir, struct cfbp_log *log,
                      struct cfbp_error *err);

/* Installs the stack's default config-server into the deps directory and checks the binary. */
int sidecar_install(struct cfbp_installer *installer, const struct cfbp_stager *stager,
                    struct cfbp_error *err);

/* Writes deps/<idx>/profile.d/config-server.sh, defaulting CONFIG_SERVER_PORT to 8082. */
int sidecar_write_profile(const struct cfbp_stager *stager, struct cfbp_error *err);

/* Writes launch.yml, or the BUILD_DIR/config-server launcher, as the plan says. */
int sidecar_declare(const struct sidecar_plan *plan, const struct cfbp_stager *stager,
                    struct cfbp_log *log, struct cfbp_error *err);

#endif
