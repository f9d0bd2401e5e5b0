/*
 * dependency_mirror.h - downloading dependencies from an operator's mirror.
 *
 * A foundation that cannot reach the internet (or should not) keeps copies of
 * the dependencies on a server of its own. The operator names it in an
 * environment variable, set with `cf set-env` or in the staging environment
 * variable group, and every dependency download at staging goes there
 * instead; the manifest's sha256 is still checked, so a mirror is trusted
 * with nothing. libbuildpack has no such setting (libbuildpack#4); the names
 * and rules are Paketo's (packit postal), so people who know those recognise
 * them:
 *
 *   BP_DEPENDENCY_MIRROR=https://mirror.example.org/{originalHost}
 *       Every dependency URI keeps its path and query and gets the mirror's
 *       scheme, user information, host and port; the mirror's own path goes
 *       in front, with {originalHost} replaced by the host of the original
 *       URI (lower case, without port or IPv6 brackets); the original's user
 *       information is not sent to the mirror:
 *       https://github.com/org/repo/x.tgz becomes
 *       https://mirror.example.org/github.com/org/repo/x.tgz.
 *   BP_DEPENDENCY_MIRROR_<HOST>=https://mirror.example.org/github
 *       The same for the URIs on one host only, and chosen over the general
 *       one. <HOST> is the host upper-cased with '-' written as "__" and '.'
 *       as '_': BP_DEPENDENCY_MIRROR_GITHUB_COM for github.com,
 *       BP_DEPENDENCY_MIRROR_DL__CDN_EXAMPLE_ORG for dl-cdn.example.org.
 *
 * Where we differ from Paketo: http:// mirrors are allowed as well as https://
 * and file:// (an internal server often has no TLS; the digest guards the
 * bytes); the host-specific variable must name the URI's host exactly, where
 * Paketo takes any URI that contains the host name anywhere; the original
 * query is kept (Paketo drops it), so a mirror may not have a query or a
 * fragment of its own; a mirror path ending in '/' does not double the slash;
 * {originalHost} is replaced wherever it appears in the mirror's path, and in
 * lower case (Paketo keeps the URI's spelling).
 *
 * An empty variable counts as unset. A value that is not an http, https or
 * file URL with a host (file: none or localhost) fails with kind
 * CFBP_ERROR_USAGE and a message naming the variable and showing the value
 * with its credentials redacted (cfbp_uri_redact). Only http and https URIs
 * are mirrored: a file:// dependency is read where it is.
 */
#ifndef CFBP_DEPENDENCY_MIRROR_H
#define CFBP_DEPENDENCY_MIRROR_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_strbuf;
struct cfbp_error;

/* The general variable, and the prefix of the host-specific ones. */
#define CFBP_DEPENDENCY_MIRROR_VARIABLE "BP_DEPENDENCY_MIRROR"

/*
 * Finds the mirror for uri in the process environment. Returns 1 with
 * mirrored set to the URI to download from and variable to the name of the
 * variable that chose it; 0 when no mirror applies (both left empty); -1 on
 * a mirror that cannot be used, or a uri the mirror cannot be applied to.
 */
int cfbp_dependency_mirror_find(const char *uri, struct cfbp_strbuf *mirrored,
                                struct cfbp_strbuf *variable, struct cfbp_error *err);

/*
 * Rewrites uri (http or https) through mirror, the value of the variable
 * named variable (used in messages only), into out. Returns 0 or -1.
 */
int cfbp_dependency_mirror_apply(const char *mirror, const char *variable, const char *uri,
                                 struct cfbp_strbuf *out, struct cfbp_error *err);

/*
 * Sets out to the host-specific variable for host ("github.com" gives
 * BP_DEPENDENCY_MIRROR_GITHUB_COM) and returns true; false (out empty) for a
 * host no variable name can spell (an IPv6 address, a character other than
 * letters, digits, '.' and '-').
 */
bool cfbp_dependency_mirror_host_variable(struct cfbp_strbuf *out, const char *host);

#ifdef __cplusplus
}
#endif

#endif
