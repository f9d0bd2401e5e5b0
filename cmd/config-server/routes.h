/*
 * routes.h - what the sidecar answers, routed the way Go's ServeMux routes.
 *
 * The Go sidecar registers one handler on the subtree pattern "/config/".
 * ServeMux then gives, for any method: the configuration for "/config/" and
 * everything below it; a 301 from "/config" to "/config/"; a 301 from any
 * unclean path ("//", "/./", "/../") to its cleaned form; 404 for the rest.
 * Apps and their HTTP clients were written against exactly that.
 */
#ifndef CONFIG_SERVER_ROUTES_H
#define CONFIG_SERVER_ROUTES_H

#include "cfbp/strbuf.h"

#include <stddef.h>

struct http_request;
struct http_response;
struct request_log;

struct routes {
    const char *config_body; /* the bytes served on /config/ (borrowed) */
    size_t config_length;
    struct request_log *log; /* gets "Received a request for config." per hit; NULL for none */
};

/* Fills response (initialised by the caller) with the answer to request. */
void routes_answer(const struct routes *routes, const struct http_request *request,
                   struct http_response *response);

/* Go's cleanPath: path.Clean, keeping a trailing slash. Replaces out's contents. */
void routes_clean_path(struct cfbp_strbuf *out, const char *path, size_t length);

#endif
