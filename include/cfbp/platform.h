/*
 * platform.h - what Cloud Foundry sets for an app, in one place: the
 * settings `cf push` takes from the app's manifest.yml, the environment its
 * buildpacks stage in (Cloud Controller and the builder, contract §4.4), and
 * the environment an instance runs in (Diego and the launcher, §4.6).
 *
 * The builder (cfbp stage) and the launcher (cfbp run) both build their
 * environments here from plain values, so that staging and running cannot
 * drift apart: one stack PATH, one default app name and memory, one
 * VCAP_APPLICATION.
 */
#ifndef CFBP_PLATFORM_H
#define CFBP_PLATFORM_H

#include "cfbp/app_manifest.h"
#include "cfbp/process.h"
#include "cfbp/string_list.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;
struct cfbp_strbuf;

/* The PATH of a cflinuxfs4 or cflinuxfs5 container (the same), where scripts and apps run. */
#define CFBP_PLATFORM_STACK_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* Cloud Controller's default memory limit for an app, in MB. */
#define CFBP_PLATFORM_DEFAULT_MEMORY_MB 1024
/* The stack an app stages on when neither the command line nor its manifest names one. */
#define CFBP_PLATFORM_DEFAULT_STACK "cflinuxfs4"

/*
 * An app's settings, from the first application of its manifest.yml (when
 * there is one) and from what the command line adds.
 */
struct cfbp_app_settings {
    char *name;           /* the manifest's name, else the app directory's base name */
    char *stack;          /* the manifest's stack, or NULL */
    unsigned long memory; /* MB: the manifest's, else CFBP_PLATFORM_DEFAULT_MEMORY_MB */
    char *command;        /* the manifest's command:, or NULL */
    struct cfbp_string_list buildpacks;  /* the manifest's buildpacks: */
    struct cfbp_environment environment; /* the manifest's env:, then cfbp_app_settings_add_env */
    struct cfbp_app_manifest manifest;   /* the whole manifest (sidecars:), empty without one */
};

/* Reads <app_dir>/manifest.yml when there is one; defaults otherwise. */
int cfbp_app_settings_load(struct cfbp_app_settings *settings, const char *app_dir,
                           struct cfbp_error *err);
/* Adds one NAME=VALUE (cfbp's --env); false when it is not of that form. */
bool cfbp_app_settings_add_env(struct cfbp_app_settings *settings, const char *assignment);
void cfbp_app_settings_release(struct cfbp_app_settings *settings);

/* The app as the platform describes it to its buildpacks and its instances. */
struct cfbp_platform_app {
    const char *name;                           /* NULL: "app" */
    unsigned long memory;                       /* MB; 0: CFBP_PLATFORM_DEFAULT_MEMORY_MB */
    const struct cfbp_environment *environment; /* the app's own variables; may be NULL */
};

/* One running instance, as Diego places it. */
struct cfbp_platform_instance {
    const char *home; /* its /home/vcap: app/, deps/, tmp/ are under it */
    unsigned port;    /* PORT, where the web process listens (no router: external = internal) */
    unsigned index;   /* INSTANCE_INDEX */
    const char *guid; /* INSTANCE_GUID (cfbp_platform_new_instance_guid) */
    const char *ip;   /* CF_INSTANCE_IP and CF_INSTANCE_INTERNAL_IP */
};

/*
 * The environment of the staging scripts: PATH, LANG, HOME (home), an empty
 * VCAP_SERVICES, the staging environment group (the proxy and CA variables
 * of this process), the app's variables, then what the app cannot change:
 * CF_STACK, MEMORY_LIMIT and VCAP_APPLICATION. Both environments get
 * DATABASE_URL when VCAP_SERVICES binds a MySQL or PostgreSQL service, as
 * the builder and the launcher derive it (mysql:// given as mysql2://,
 * postgresql:// as postgres://).
 */
void cfbp_platform_staging_environment(struct cfbp_environment *out,
                                       const struct cfbp_platform_app *app, const char *stack,
                                       const char *home);

/*
 * The environment of an instance's processes: PATH, LANG, an empty
 * VCAP_SERVICES, the app's variables, then Diego's (PORT, INSTANCE_GUID,
 * INSTANCE_INDEX, CF_INSTANCE_GUID, CF_INSTANCE_INDEX, CF_INSTANCE_IP,
 * CF_INSTANCE_INTERNAL_IP, CF_INSTANCE_PORT, CF_INSTANCE_PORTS,
 * CF_INSTANCE_ADDR, MEMORY_LIMIT) and the launcher's (HOME, TMPDIR,
 * DEPS_DIR, and VCAP_APPLICATION with host, instance_id from INSTANCE_GUID,
 * instance_index and port).
 */
void cfbp_platform_instance_environment(struct cfbp_environment *out,
                                        const struct cfbp_platform_app *app,
                                        const struct cfbp_platform_instance *instance);

/*
 * True when the launcher will not source a profile script of this name as
 * named: it sources every script in ../profile.d and .profile.d through an
 * unquoted variable (§4.6), so bash splits a name at spaces, tabs and
 * newlines, and expands one holding '*', '?' or '['.
 */
bool cfbp_platform_profile_name_splits(const char *name);
/*
 * Appends a WARNING line for each such profile script of a droplet laid out
 * under home (home/profile.d, home/app/.profile.d).
 */
void cfbp_platform_profile_warnings(const char *home, struct cfbp_strbuf *out);

/* A fresh random instance GUID ("41653aa4-3a3a-486a-4431-ef258b39f042"). */
void cfbp_platform_new_instance_guid(char guid[37]);

#ifdef __cplusplus
}
#endif

#endif
