/*
 * platform.c - what Cloud Foundry sets for an app (see platform.h).
 *
 * Staging and running share one VCAP_APPLICATION writer: Cloud Controller
 * gives the same document to both, and at run time the launcher adds where
 * the instance is (host, instance_id, instance_index, port) and writes it
 * back with Go's json.Marshal, whose map keys come out sorted (§4.6).
 */
#include "cfbp/platform.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/json.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/uri.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_APP_NAME "app"

/* The operator's staging environment group: carried from cfbp's own environment. */
static const char *const staging_group[] = {"http_proxy",    "https_proxy",  "no_proxy",
                                            "HTTP_PROXY",    "HTTPS_PROXY",  "NO_PROXY",
                                            "SSL_CERT_FILE", "SSL_CERT_DIR", NULL};

/* --- the app's settings --- */

int cfbp_app_settings_load(struct cfbp_app_settings *settings, const char *app_dir,
                           struct cfbp_error *err)
{
    memset(settings, 0, sizeof(*settings));
    settings->memory = CFBP_PLATFORM_DEFAULT_MEMORY_MB;
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, base = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, app_dir, "manifest.yml");
    int result = 0;
    if (cfbp_fs_is_file(path.buf) &&
        (result = cfbp_app_manifest_load(&settings->manifest, path.buf, err)) < 0)
        memset(&settings->manifest, 0, sizeof(settings->manifest));
    if (result == 0 && settings->manifest.count) {
        const struct cfbp_app *app = &settings->manifest.apps[0];
        if (app->name)
            settings->name = cfbp_xstrdup(app->name);
        if (app->stack)
            settings->stack = cfbp_xstrdup(app->stack);
        if (app->command)
            settings->command = cfbp_xstrdup(app->command);
        if (app->memory)
            settings->memory = app->memory;
        for (size_t i = 0; i < app->buildpacks.count; i++)
            cfbp_string_list_append(&settings->buildpacks, app->buildpacks.items[i]);
        for (size_t i = 0; i < app->env_count; i++)
            cfbp_environment_set(&settings->environment, app->env[i].name, app->env[i].value);
    }
    if (!settings->name)
        settings->name = cfbp_xstrdup(cfbp_path_basename(&base, app_dir));
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&base);
    return result;
}

bool cfbp_app_settings_add_env(struct cfbp_app_settings *settings, const char *assignment)
{
    return cfbp_environment_set_assignment(&settings->environment, assignment);
}

void cfbp_app_settings_release(struct cfbp_app_settings *settings)
{
    free(settings->name);
    free(settings->stack);
    free(settings->command);
    cfbp_string_list_clear(&settings->buildpacks);
    cfbp_environment_release(&settings->environment);
    cfbp_app_manifest_release(&settings->manifest);
    memset(settings, 0, sizeof(*settings));
}

/* --- environments --- */

static const char *app_name(const struct cfbp_platform_app *app)
{
    return app->name && *app->name ? app->name : DEFAULT_APP_NAME;
}

static unsigned long app_memory(const struct cfbp_platform_app *app)
{
    return app->memory ? app->memory : CFBP_PLATFORM_DEFAULT_MEMORY_MB;
}

/*
 * VCAP_APPLICATION as Cloud Controller gives it (a useful subset), with the
 * launcher's additions when instance is given. Keys in sorted order.
 */
static void vcap_application(const struct cfbp_platform_app *app,
                             const struct cfbp_platform_instance *instance, struct cfbp_strbuf *out)
{
    const char *name = app_name(app);
    cfbp_strbuf_append_string(out, "{\"application_id\":\"00000000-0000-0000-0000-000000000000\","
                                   "\"application_name\":");
    cfbp_json_write_string(out, name, strlen(name));
    cfbp_strbuf_append_string(out, ",\"application_uris\":[]");
    if (instance) {
        cfbp_strbuf_append_string(out, ",\"host\":\"0.0.0.0\",\"instance_id\":");
        cfbp_json_write_string(out, instance->guid, strlen(instance->guid));
        cfbp_strbuf_append_format(out, ",\"instance_index\":%u", instance->index);
    }
    cfbp_strbuf_append_format(
        out, ",\"limits\":{\"disk\":1024,\"fds\":16384,\"mem\":%lu},\"name\":", app_memory(app));
    cfbp_json_write_string(out, name, strlen(name));
    cfbp_strbuf_append_string(out, ",\"organization_name\":\"local\"");
    if (instance)
        cfbp_strbuf_append_format(out, ",\"port\":%u", instance->port);
    cfbp_strbuf_append_string(out, ",\"space_name\":\"local\",\"uris\":[]}");
}

/* The member of object whose name matches name as Go's decoder matches a field: any case. */
static const struct cfbp_json *go_field(const struct cfbp_json *object, const char *name)
{
    const struct cfbp_json *found = NULL;
    for (size_t i = 0; object && object->type == CFBP_JSON_OBJECT && i < object->count; i++)
        if (strcasecmp(object->keys[i], name) == 0)
            found = object->values[i]; /* a later one overwrites, as in Go */
    return found;
}

/*
 * DATABASE_URL, as the builder and the launcher derive it from VCAP_SERVICES
 * (buildpackapplifecycle's databaseuri): the credentials.uri of the first
 * bound service whose scheme is mysql (given as mysql2), mysql2, postgres or
 * postgresql (given as postgres); nothing when VCAP_SERVICES does not have
 * the shape {"label": [{"credentials": {"uri": "..."}}]} throughout. Go visits
 * the labels in random order; this takes them in document order.
 */
static bool database_url(const char *services, struct cfbp_strbuf *out)
{
    struct cfbp_json *root = NULL;
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    bool shaped = cfbp_json_parse(services, strlen(services), &root, &ignored) == 0 &&
                  root->type == CFBP_JSON_OBJECT;
    cfbp_error_clear(&ignored);
    /* Go's Unmarshal fails on any value of the wrong type, and then nothing is set. */
    for (size_t i = 0; shaped && i < root->count; i++) {
        const struct cfbp_json *bindings = root->values[i];
        shaped = bindings->type == CFBP_JSON_ARRAY || bindings->type == CFBP_JSON_NULL;
        for (size_t j = 0; shaped && bindings->type == CFBP_JSON_ARRAY && j < bindings->count;
             j++) {
            const struct cfbp_json *binding = bindings->values[j];
            const struct cfbp_json *credentials = go_field(binding, "credentials");
            const struct cfbp_json *uri = go_field(credentials, "uri");
            shaped = (binding->type == CFBP_JSON_OBJECT || binding->type == CFBP_JSON_NULL) &&
                     (!credentials || credentials->type == CFBP_JSON_OBJECT ||
                      credentials->type == CFBP_JSON_NULL) &&
                     (!uri || uri->type == CFBP_JSON_STRING || uri->type == CFBP_JSON_NULL);
        }
    }
    static const char *const schemes[][2] = {
        {"mysql", "mysql2"}, {"mysql2", NULL}, {"postgres", NULL}, {"postgresql", "postgres"}};
    bool found = false;
    for (size_t i = 0; shaped && !found && i < root->count; i++) {
        const struct cfbp_json *bindings = root->values[i];
        for (size_t j = 0; !found && bindings->type == CFBP_JSON_ARRAY && j < bindings->count;
             j++) {
            const char *uri =
                cfbp_json_string(go_field(go_field(bindings->values[j], "credentials"), "uri"));
            size_t scheme_length = uri ? strspn(uri, "abcdefghijklmnopqrstuvwxyz"
                                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")
                                       : 0;
            if (!uri || scheme_length == 0 || uri[scheme_length] != ':')
                continue;
            for (size_t k = 0; !found && k < sizeof(schemes) / sizeof(*schemes); k++) {
                if (strlen(schemes[k][0]) != scheme_length ||
                    strncasecmp(uri, schemes[k][0], scheme_length) != 0)
                    continue;
                cfbp_strbuf_set(out, schemes[k][1] ? schemes[k][1] : schemes[k][0]);
                cfbp_strbuf_append_string(out, uri + scheme_length);
                found = true;
            }
        }
    }
    cfbp_json_free(root);
    return found;
}

/* What both environments start from: the stack's PATH, LANG and the app's own variables. */
static void common_environment(struct cfbp_environment *out, const struct cfbp_platform_app *app,
                               const char *const *inherited)
{
    cfbp_environment_set(out, "PATH", CFBP_PLATFORM_STACK_PATH);
    cfbp_environment_set(out, "LANG", "en_US.UTF-8");
    cfbp_environment_set(out, "VCAP_SERVICES", "{}");
    if (inherited)
        cfbp_environment_inherit(out, inherited);
    cfbp_environment_merge(out, app->environment);
    struct cfbp_strbuf url = CFBP_STRBUF_INIT;
    const char *services = cfbp_environment_get(out, "VCAP_SERVICES");
    if (services && *services && database_url(services, &url))
        cfbp_environment_set(out, "DATABASE_URL", url.buf);
    cfbp_strbuf_release(&url);
}

/* Sets name to value in decimal, followed by suffix ("m" for MEMORY_LIMIT). */
static void set_number(struct cfbp_environment *out, const char *name, unsigned long value,
                       const char *suffix)
{
    char text[32];
    snprintf(text, sizeof(text), "%lu%s", value, suffix);
    cfbp_environment_set(out, name, text);
}

void cfbp_platform_staging_environment(struct cfbp_environment *out,
                                       const struct cfbp_platform_app *app, const char *stack,
                                       const char *home)
{
    cfbp_environment_set(out, "HOME", home);
    common_environment(out, app, staging_group);
    /* Set by the platform; the app cannot change them. */
    cfbp_environment_set(out, "CF_STACK", stack ? stack : "");
    set_number(out, "MEMORY_LIMIT", app_memory(app), "m");
    struct cfbp_strbuf value = CFBP_STRBUF_INIT;
    vcap_application(app, NULL, &value);
    cfbp_environment_set(out, "VCAP_APPLICATION", value.buf);
    cfbp_strbuf_release(&value);
}

void cfbp_platform_instance_environment(struct cfbp_environment *out,
                                        const struct cfbp_platform_app *app,
                                        const struct cfbp_platform_instance *instance)
{
    struct cfbp_strbuf value = CFBP_STRBUF_INIT;
    common_environment(out, app, NULL);
    /* Diego's, for this instance. */
    set_number(out, "PORT", instance->port, "");
    cfbp_environment_set(out, "INSTANCE_GUID", instance->guid);
    set_number(out, "INSTANCE_INDEX", instance->index, "");
    cfbp_environment_set(out, "CF_INSTANCE_GUID", instance->guid);
    set_number(out, "CF_INSTANCE_INDEX", instance->index, "");
    cfbp_environment_set(out, "CF_INSTANCE_IP", instance->ip);
    cfbp_environment_set(out, "CF_INSTANCE_INTERNAL_IP", instance->ip);
    set_number(out, "CF_INSTANCE_PORT", instance->port, "");
    cfbp_strbuf_append_format(&value, "[{\"external\":%u,\"internal\":%u}]", instance->port,
                              instance->port);
    cfbp_environment_set(out, "CF_INSTANCE_PORTS", value.buf);
    cfbp_strbuf_reset(&value);
    cfbp_strbuf_append_format(&value, "%s:%u", instance->ip, instance->port);
    cfbp_environment_set(out, "CF_INSTANCE_ADDR", value.buf);
    set_number(out, "MEMORY_LIMIT", app_memory(app), "m");
    /* The launcher's (§4.6). */
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, instance->home, "app");
    cfbp_environment_set(out, "HOME", path.buf);
    cfbp_path_join(&path, instance->home, "tmp");
    cfbp_environment_set(out, "TMPDIR", path.buf);
    cfbp_path_join(&path, instance->home, "deps");
    cfbp_environment_set(out, "DEPS_DIR", path.buf);
    cfbp_strbuf_reset(&value);
    vcap_application(app, instance, &value);
    cfbp_environment_set(out, "VCAP_APPLICATION", value.buf);
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&value);
}

/* --- profile scripts --- */

bool cfbp_platform_profile_name_splits(const char *name)
{
    return strpbrk(name, " \t\n*?[") != NULL;
}

/* The WARNING for one name; seen is where the launcher's loop finds it from the app directory. */
static void describe_profile_name(struct cfbp_strbuf *out, const char *seen, const char *name)
{
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&shown, seen);
    cfbp_strbuf_append_string(&shown, name);
    size_t first_word = strcspn(shown.buf, " \t\n");
    cfbp_strbuf_append_string(out, "WARNING: Cloud Foundry's launcher sources profile scripts "
                                   "through an unquoted variable, so bash splits or expands the "
                                   "name '");
    cfbp_uri_append_printable(out, shown.buf, 200);
    cfbp_strbuf_append_string(out, "' and does not source that file");
    if (first_word < shown.len) {
        cfbp_strbuf_set_length(&shown, first_word);
        cfbp_strbuf_append_string(out, " (it tries '");
        cfbp_uri_append_printable(out, shown.buf, 200);
        cfbp_strbuf_append_string(out, "')");
    }
    cfbp_strbuf_append_string(out, "; cfbp run does the same. Rename it without spaces or "
                                   "'*', '?', '['.\n");
    cfbp_strbuf_release(&shown);
}

void cfbp_platform_profile_warnings(const char *home, struct cfbp_strbuf *out)
{
    static const struct {
        const char *directory, *seen;
    } places[] = {{"profile.d", "../profile.d/"}, {"app/.profile.d", ".profile.d/"}};
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    for (size_t p = 0; p < sizeof(places) / sizeof(*places); p++) {
        cfbp_path_join(&path, home, places[p].directory);
        cfbp_string_list_clear(&names);
        if (cfbp_fs_type_of(path.buf) != CFBP_FS_DIRECTORY ||
            cfbp_fs_list_directory(path.buf, &names, &ignored) < 0)
            continue;
        for (size_t i = 0; i < names.count; i++)
            if (cfbp_platform_profile_name_splits(names.items[i]))
                describe_profile_name(out, places[p].seen, names.items[i]);
    }
    cfbp_error_clear(&ignored);
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&path);
}

void cfbp_platform_new_instance_guid(char guid[37])
{
    unsigned char bytes[16];
    size_t got = 0;
    while (got < sizeof(bytes)) {
        ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
        if (n > 0) {
            got += (size_t)n;
        } else if (errno != EINTR) {
            /* No kernel randomness (a very old kernel): unique enough for one machine. */
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            unsigned long long mix = (unsigned long long)now.tv_nsec ^
                                     ((unsigned long long)now.tv_sec << 20) ^
                                     ((unsigned long long)getpid() << 40);
            for (; got < sizeof(bytes); got++, mix = mix * 6364136223846793005ULL + 1)
                bytes[got] = (unsigned char)(mix >> 56);
        }
    }
    bytes[6] = (unsigned char)((bytes[6] & 0x0f) | 0x40); /* version 4 */
    bytes[8] = (unsigned char)((bytes[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    size_t at = 0;
    for (size_t i = 0; i < sizeof(bytes); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            guid[at++] = '-';
        guid[at++] = hex[bytes[i] >> 4];
        guid[at++] = hex[bytes[i] & 0x0f];
    }
    guid[at] = '\0';
}
