/*
 * config_source.c - reading CONFIG_SERVER_CONFIG_FILE and VCAP_SERVICES (see config_source.h).
 */
#include "config_source.h"

#include "cfbp/error.h"
#include "cfbp/json.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define FILE_VARIABLE "CONFIG_SERVER_CONFIG_FILE"

static int read_bounded(int descriptor, struct cfbp_strbuf *out, const char *path,
                        struct cfbp_error *err)
{
    for (;;) {
        cfbp_strbuf_grow(out, 64 * 1024);
        ssize_t got = read(descriptor, out->buf + out->len, out->alloc - out->len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot read %s %s",
                                        FILE_VARIABLE, path);
        if (got == 0)
            return 0;
        cfbp_strbuf_set_length(out, out->len + (size_t)got);
        if (out->len > CONFIG_SOURCE_MAX_FILE_BYTES)
            return cfbp_error_set(err, CFBP_ERROR_INVALID,
                                  "%s %s is larger than the %d bytes a configuration may have",
                                  FILE_VARIABLE, path, CONFIG_SOURCE_MAX_FILE_BYTES);
    }
}

static int load_file(struct config_source *source, const char *path, struct cfbp_error *err)
{
    int descriptor = open(path, O_RDONLY | O_CLOEXEC);
    if (descriptor < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot open %s %s", FILE_VARIABLE,
                                    path);
    int result = read_bounded(descriptor, &source->body, path, err);
    close(descriptor);
    if (result < 0)
        return -1;
    struct cfbp_json *document;
    if (cfbp_json_parse(source->body.buf, source->body.len, &document, err) < 0)
        return cfbp_error_prefix(err, "%s %s is not valid JSON", FILE_VARIABLE, path);
    cfbp_json_free(document);
    cfbp_strbuf_append_format(&source->description, "%s", path);
    return 0;
}

static bool has_tag(const struct cfbp_json *instance, const char *tag)
{
    const struct cfbp_json *tags = cfbp_json_get(instance, "tags");
    if (!tags || tags->type != CFBP_JSON_ARRAY)
        return false;
    for (size_t i = 0; i < tags->count; i++) {
        const char *text = cfbp_json_string(tags->values[i]);
        if (text && strcmp(text, tag) == 0)
            return true;
    }
    return false;
}

/* The first instance tagged config-server, in document and array order; NULL if none. */
static const struct cfbp_json *find_binding(const struct cfbp_json *services, const char **label)
{
    for (size_t i = 0; i < services->count; i++) {
        const struct cfbp_json *instances = services->values[i];
        if (instances->type != CFBP_JSON_ARRAY)
            continue;
        for (size_t j = 0; j < instances->count; j++) {
            if (has_tag(instances->values[j], CONFIG_SOURCE_TAG)) {
                *label = services->keys[i];
                return instances->values[j];
            }
        }
    }
    return NULL;
}

static int use_binding(struct config_source *source, const struct cfbp_json *binding,
                       const char *label, struct cfbp_error *err)
{
    const char *name = cfbp_json_string(cfbp_json_get(binding, "name"));
    const struct cfbp_json *credentials = cfbp_json_get(binding, "credentials");
    cfbp_strbuf_append_format(&source->description, "VCAP_SERVICES binding \"%s\" (service %s)",
                              name ? name : "", label);
    if (!credentials)
        return cfbp_error_set(err, CFBP_ERROR_INVALID, "the %s has no credentials",
                              source->description.buf);
    if (credentials->type != CFBP_JSON_OBJECT)
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "the credentials of the %s must be a JSON object (found: %s)",
                              source->description.buf, cfbp_json_type_name(credentials->type));
    cfbp_json_write(&source->body, credentials);
    cfbp_strbuf_append_char(&source->body, '\n');
    return 0;
}

static int load_vcap_services(struct config_source *source, const char *text, bool *found,
                              struct cfbp_error *err)
{
    struct cfbp_json *services;
    *found = false;
    if (cfbp_json_parse(text, strlen(text), &services, err) < 0)
        return cfbp_error_prefix(err, "VCAP_SERVICES is not valid JSON");
    int result = 0;
    const char *label = NULL;
    if (services->type != CFBP_JSON_OBJECT) {
        result = cfbp_error_set(err, CFBP_ERROR_INVALID,
                                "VCAP_SERVICES must be a JSON object of service lists, not %s",
                                cfbp_json_type_name(services->type));
    } else {
        const struct cfbp_json *binding = find_binding(services, &label);
        if (binding) {
            *found = true;
            result = use_binding(source, binding, label, err);
        }
    }
    cfbp_json_free(services);
    return result;
}

int config_source_load(struct config_source *source, const char *config_file,
                       const char *vcap_services, struct cfbp_error *err)
{
    cfbp_strbuf_init(&source->body, 0);
    cfbp_strbuf_init(&source->description, 0);
    if (config_file && *config_file)
        return load_file(source, config_file, err);
    if (vcap_services && *vcap_services) {
        bool found;
        if (load_vcap_services(source, vcap_services, &found, err) < 0)
            return -1;
        if (found)
            return 0;
    }
    cfbp_strbuf_set(&source->body, CONFIG_SOURCE_DEFAULT_BODY);
    return 0;
}

void config_source_release(struct config_source *source)
{
    cfbp_strbuf_release(&source->body);
    cfbp_strbuf_release(&source->description);
}
