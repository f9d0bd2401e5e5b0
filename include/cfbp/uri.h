/*
 * uri.h - the few things we need to know about a dependency URI.
 *
 * Credentials in a URI ("https://user:token@host/...") must never reach a log
 * or an error message: every message that shows a URI shows the redacted form.
 * Nor may bytes that a terminal acts on: text that came from outside (a URI, a
 * server's redirect, curl's message about it) is shown through
 * cfbp_uri_append_printable.
 */
#ifndef CFBP_URI_H
#define CFBP_URI_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_strbuf;
struct cfbp_error;

enum cfbp_uri_scheme { CFBP_URI_OTHER, CFBP_URI_HTTP, CFBP_URI_HTTPS, CFBP_URI_FILE };

enum cfbp_uri_scheme cfbp_uri_scheme_of(const char *uri);
/*
 * Sets out to uri as it may be shown: its user information replaced by
 * "-redacted-:-redacted-" (libbuildpack's form, even for a user without a
 * password) and other bytes made printable (cfbp_uri_append_printable).
 *
 * The user information starts after the scheme's slashes and ends at the
 * last '@' that either has no '/' before it or has a ':' before it (a
 * password may hold a '/': "https://KEY:abc/def@host/x"). That is wider than
 * RFC 3986 on purpose: a password holding an unescaped '?', '#', '/', '@' or
 * ':' is still hidden whole ("https://u:s3?cr#et@host/x"). The price is that
 * some legal URIs show too little, never too much: an '@' in a query or
 * fragment right after the host ("https://host?to=a@b"), or anywhere after a
 * ':' such as a port's ("https://host:8080/pkg@1.0.tgz" shows as
 * "https://-redacted-:-redacted-@1.0.tgz"). A file URI with an empty
 * authority ("file:///a:b@c") has no user information. Text without a
 * recognised scheme and slashes (" https://u:p@host/x" with its leading
 * space, "https//u:p@host/x", "user:pass@host/x") is searched the same way
 * from its start, or from after its first "//" ("https//token@host/x").
 */
void cfbp_uri_redact(struct cfbp_strbuf *out, const char *uri);
/*
 * Sets out to uri's user information, as cfbp_uri_redact finds it ("user:pass",
 * still percent-encoded), and returns true; returns false (out empty) when
 * the URI has none.
 */
bool cfbp_uri_user_info(struct cfbp_strbuf *out, const char *uri);
/*
 * Appends text for one line of a log or an error message: bytes outside
 * printable ASCII (control characters, DEL, any byte >= 0x80) become "\xNN",
 * so nothing in it can start a line, move the cursor or change colours. At
 * most limit bytes of text are shown; a longer text ends in "..." (pass
 * (size_t)-1 for no limit).
 */
void cfbp_uri_append_printable(struct cfbp_strbuf *out, const char *text, size_t limit);
/*
 * Sets out to the last segment of the URI's path (query and fragment removed),
 * which names the downloaded file. A segment that could not be a file name
 * (empty, ".", "..") gives "download".
 */
const char *cfbp_uri_file_name(struct cfbp_strbuf *out, const char *uri);
/* For a file:// URI, sets out to the local path it names (percent-decoded); errors show the URI
 * redacted. */
int cfbp_uri_file_path(struct cfbp_strbuf *out, const char *uri, struct cfbp_error *err);

#ifdef __cplusplus
}
#endif

#endif
