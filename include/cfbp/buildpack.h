/*
 * buildpack.h - where a buildpack's programs find themselves, and the check
 * every buildpack makes first (libbuildpack's GetBuildpackDir and
 * CheckBuildpackValid, contract §3.7, §6.3).
 */
#ifndef CFBP_BUILDPACK_H
#define CFBP_BUILDPACK_H

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_strbuf;
struct cfbp_manifest;
struct cfbp_log;
struct cfbp_error;

/*
 * Sets out to the buildpack root: $BUILDPACK_DIR when set, otherwise the
 * parent of the directory holding the program (<root>/bin/<program>), taken
 * from argv0 or, when argv0 has no '/', from /proc/self/exe.
 */
int cfbp_buildpack_find_root(const char *argv0, struct cfbp_strbuf *out, struct cfbp_error *err);

/* Go's strings.Title: "config-server-sidecar" -> "Config-Server-Sidecar", "my_lang" -> "My_lang".
 */
void cfbp_buildpack_title(const char *language, struct cfbp_strbuf *out);

/*
 * Logs "-----> <Title> Buildpack version <VERSION>" and checks that the
 * manifest supports stack; if not, returns (kind CFBP_ERROR_STACK, for the
 * program to print) libbuildpack's sentence
 * "Stack not supported by buildpack: required stack <stack> was not found",
 * followed by the stacks the buildpack does support (and a note when
 * CF_STACK is not set at all).
 */
int cfbp_buildpack_check_valid(const struct cfbp_manifest *manifest, const char *stack,
                               struct cfbp_log *log, struct cfbp_error *err);

/*
 * Sets root to where the buildpack in directory really starts: directory
 * itself when it holds bin/, or its only subdirectory when that holds bin/
 * (the builder accepts one nested top directory, contract §2.1). Otherwise
 * the builder's error: "malformed buildpack does not contain a /bin dir: <shown>".
 */
int cfbp_buildpack_locate_root(const char *directory, const char *shown, struct cfbp_strbuf *root,
                               struct cfbp_error *err);

/*
 * Unpacks the buildpack zip at zip into destination (created), keeping the
 * members' modes, refusing unsafe members; sha256 gets the zip's digest.
 */
int cfbp_buildpack_unpack_zip(const char *zip, const char *destination, char sha256[65],
                              struct cfbp_error *err);

#ifdef __cplusplus
}
#endif

#endif
