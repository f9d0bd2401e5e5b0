/*
 * app_manifest.h - the app's own manifest.yml (the one `cf push` reads).
 *
 * Buildpacks see it because it is usually pushed with the app bits. The
 * sidecar buildpack reads it to avoid declaring a sidecar the app already
 * declares (Cloud Controller rejects the clash, sidecar-series §6); the local
 * staging runner reads buildpacks, env, command and sidecars from it.
 *
 * Both layouts are read: an `applications:` list, or one app's keys at the
 * top level (the old form). Memory sizes ("64M", "1G", "512MB") are kept in
 * megabytes.
 */
#ifndef CFBP_APP_MANIFEST_H
#define CFBP_APP_MANIFEST_H

#include "cfbp/string_list.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;

struct cfbp_app_sidecar {
    char *name;
    char *command;
    struct cfbp_string_list process_types;
    unsigned long memory; /* MB, 0 when not set */
};

struct cfbp_app_env {
    char *name;
    char *value; /* the raw scalar text: 8082, true, ... */
};

struct cfbp_app {
    char *name;
    char *command; /* or NULL */
    char *stack;   /* or NULL */
    unsigned long memory;
    struct cfbp_string_list buildpacks;
    struct cfbp_app_env *env;
    size_t env_count, env_alloc;
    struct cfbp_app_sidecar *sidecars;
    size_t sidecar_count, sidecar_alloc;
};

struct cfbp_app_manifest {
    struct cfbp_app *apps;
    size_t count, alloc;
};

int cfbp_app_manifest_load(struct cfbp_app_manifest *manifest, const char *path,
                           struct cfbp_error *err);
void cfbp_app_manifest_release(struct cfbp_app_manifest *manifest);

/* The sidecar called name in any app of the manifest, or NULL. */
const struct cfbp_app_sidecar *
cfbp_app_manifest_find_sidecar(const struct cfbp_app_manifest *manifest, const char *name);

/* Parses a Cloud Foundry size ("64M", "1G", "512MB", "1024"): megabytes, 0 on error. */
bool cfbp_parse_megabytes(const char *text, unsigned long *megabytes);

#ifdef __cplusplus
}
#endif

#endif
