/*
 * config_source.h - choosing and validating what the sidecar serves.
 *
 * The seed served one hard-coded document. This sidecar serves, in order of
 * preference:
 *   1. the JSON file named by CONFIG_SERVER_CONFIG_FILE, byte for byte;
 *   2. the credentials of the first VCAP_SERVICES binding tagged
 *      "config-server" (services in document order, instances in array
 *      order), as compact JSON plus a newline;
 *   3. the seed's document.
 * Everything is checked once, at start: a sidecar that would serve broken
 * configuration refuses to start, so that the platform reports the crash
 * instead of apps failing later.
 */
#ifndef CONFIG_SERVER_CONFIG_SOURCE_H
#define CONFIG_SERVER_CONFIG_SOURCE_H

#include "cfbp/strbuf.h"

struct cfbp_error;

#define CONFIG_SOURCE_MAX_FILE_BYTES (1024 * 1024)
#define CONFIG_SOURCE_TAG            "config-server"
/* The Go sidecar's body: written with Fprintln, hence the newline. */
#define CONFIG_SOURCE_DEFAULT_BODY                                                                 \
    "{\"Scope\":\"some-service.admin\",\"Password\":\"not-a-real-p4$$w0rd\"}\n"

struct config_source {
    struct cfbp_strbuf body;        /* the bytes served on /config/ */
    struct cfbp_strbuf description; /* where they came from; empty for the seed's document */
};

/*
 * Loads the configuration. config_file and vcap_services are the values of
 * CONFIG_SERVER_CONFIG_FILE and VCAP_SERVICES; NULL or empty means unset.
 * On failure err names the file or variable, and for bad JSON the line,
 * column and problem.
 */
int config_source_load(struct config_source *source, const char *config_file,
                       const char *vcap_services, struct cfbp_error *err);
void config_source_release(struct config_source *source);

#endif
