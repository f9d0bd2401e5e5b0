/*
 * uri.h - the few things we need to know about a dependency URI.
 *
 * Credentials in a URI ("https://user:token@host/...") must never reach a log
 * or an error message: every message that shows a URI shows the redacted form.
 */
#ifndef CFBP_URI_H
#define CFBP_URI_H

#include <stdbool.h>

struct cfbp_strbuf;
struct cfbp_error;

enum cfbp_uri_scheme { CFBP_URI_OTHER, CFBP_URI_HTTP, CFBP_URI_HTTPS, CFBP_URI_FILE };

enum cfbp_uri_scheme cfbp_uri_scheme_of(const char *uri);
/* Sets out to uri with its user information replaced by "-redacted-:-redacted-" (libbuildpack's
 * form). */
void cfbp_uri_redact(struct cfbp_strbuf *out, const char *uri);
/*
 * Sets out to the last segment of the URI's path (query and fragment removed),
 * which names the downloaded file. A segment that could not be a file name
 * (empty, ".", "..") gives "download".
 */
const char *cfbp_uri_file_name(struct cfbp_strbuf *out, const char *uri);
/* For a file:// URI, sets out to the local path it names (percent-decoded). */
int cfbp_uri_file_path(struct cfbp_strbuf *out, const char *uri, struct cfbp_error *err);

#endif
