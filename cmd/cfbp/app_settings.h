/*
 * app_settings.h - what `cfbp stage` and `cfbp run` take from an app's
 * manifest.yml (its first application) and from --env NAME=VALUE options.
 */
#ifndef CFBP_APP_SETTINGS_H
#define CFBP_APP_SETTINGS_H

#include "cfbp/process.h"
#include "cfbp/string_list.h"

struct cfbp_error;

struct app_settings {
    char *name;
    char *stack;
    unsigned long memory; /* MB */
    struct cfbp_string_list buildpacks;
    struct cfbp_environment environment; /* the manifest's env:, then --env */
};

/* Reads <app_dir>/manifest.yml when there is one; defaults otherwise. */
int app_settings_load(struct app_settings *settings, const char *app_dir, struct cfbp_error *err);
/* Adds one --env NAME=VALUE; false when it is not of that form. */
bool app_settings_add_env(struct app_settings *settings, const char *assignment);
void app_settings_release(struct app_settings *settings);

#endif
