/*
 * path.h - the one path helper: joining and taking apart path strings.
 *
 * Pure string work; nothing here touches the file system (see fs.h for that).
 */
#ifndef CFBP_PATH_H
#define CFBP_PATH_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_strbuf;
struct cfbp_error;

/* Sets out to "<base>/<name>" with exactly one '/' between (name may be "a/b"). */
void cfbp_path_join(struct cfbp_strbuf *out, const char *base, const char *name);
/* Appends "/<name>" to out (no doubled '/'). */
void cfbp_path_append(struct cfbp_strbuf *out, const char *name);
/* The last component of path, without trailing slashes, as a pointer into a copy in out. */
const char *cfbp_path_basename(struct cfbp_strbuf *out, const char *path);
/* Sets out to everything before the last component ("." when there is none). */
void cfbp_path_dirname(struct cfbp_strbuf *out, const char *path);
/* Sets out to path made absolute against the working directory, lexically cleaned. */
int cfbp_path_absolute(struct cfbp_strbuf *out, const char *path, struct cfbp_error *err);
/*
 * Lexically cleans a relative path: drops "." components and doubled slashes.
 * Returns false (out unspecified) when the path is empty, absolute, or has a
 * ".." component: the names archive members and manifest "file:" entries may
 * not have.
 */
bool cfbp_path_clean_relative(struct cfbp_strbuf *out, const char *path);

#ifdef __cplusplus
}
#endif

#endif
