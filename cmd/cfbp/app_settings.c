/*
 * app_settings.c - an app's settings for staging and running (see app_settings.h).
 */
#include "app_settings.h"

#include "cfbp/alloc.h"
#include "cfbp/app_manifest.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MEMORY 1024 /* MB, Cloud Controller's default */

int app_settings_load(struct app_settings *settings, const char *app_dir, struct cfbp_error *err)
{
    memset(settings, 0, sizeof(*settings));
    settings->memory = DEFAULT_MEMORY;
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, base = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, app_dir, "manifest.yml");
    int result = 0;
    if (cfbp_fs_is_file(path.buf)) {
        struct cfbp_app_manifest manifest;
        result = cfbp_app_manifest_load(&manifest, path.buf, err);
        if (result == 0 && manifest.count) {
            const struct cfbp_app *app = &manifest.apps[0];
            if (app->name)
                settings->name = cfbp_xstrdup(app->name);
            if (app->stack)
                settings->stack = cfbp_xstrdup(app->stack);
            if (app->memory)
                settings->memory = app->memory;
            for (size_t i = 0; i < app->buildpacks.count; i++)
                cfbp_string_list_append(&settings->buildpacks, app->buildpacks.items[i]);
            for (size_t i = 0; i < app->env_count; i++)
                cfbp_environment_set(&settings->environment, app->env[i].name, app->env[i].value);
        }
        if (result == 0)
            cfbp_app_manifest_release(&manifest);
    }
    if (!settings->name)
        settings->name = cfbp_xstrdup(cfbp_path_basename(&base, app_dir));
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&base);
    return result;
}

bool app_settings_add_env(struct app_settings *settings, const char *assignment)
{
    return cfbp_environment_set_assignment(&settings->environment, assignment);
}

void app_settings_release(struct app_settings *settings)
{
    free(settings->name);
    free(settings->stack);
    cfbp_string_list_clear(&settings->buildpacks);
    cfbp_environment_release(&settings->environment);
    memset(settings, 0, sizeof(*settings));
}
