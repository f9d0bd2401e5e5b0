/*
 * packager.h - buildpack zips for `cf create-buildpack`, and their summary
 * (the job of Cloud Foundry's Go buildpack-packager, contract §2, §5.2, §9).
 *
 * cfbp_package works on a copy of the buildpack source: it writes VERSION
 * (without a newline) into the copy, runs the manifest's pre_package there,
 * and zips exactly the include_files plus, with `cached`, every dependency
 * for the stack under dependencies/<md5(uri)>/<file name>. The manifest in
 * the zip is the packaged form of §5.2: stack: added and cf_stacks removed
 * for one stack, file: added to each cached dependency.
 *
 * Every dependency's sha256 is checked as it is zipped. A dependency comes
 * from the first of: the manifest's local_dependencies directory in the copy
 * (files pre_package built, by file name); the download cache
 * <cache_dir>/dependencies/<md5(uri)>/<file name>; then --mirror in place of
 * its uri (a directory, read in place, or a base URL, downloaded into the
 * cache), or the uri itself (file:// read in place, others downloaded into
 * the cache through cfbp_fetch). Downloads are checked before they are
 * cached; a cached copy that no longer matches is removed.
 *
 * Every shipped ELF program is audited against the stack (elf_audit.h)
 * before anything is zipped. The zip is reproducible (zip.h) and appears
 * under its final name only when complete.
 */
#ifndef CFBP_PACKAGER_H
#define CFBP_PACKAGER_H

#include "cfbp/digest.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;
struct cfbp_strbuf;

/* What the packager reports as it goes; the program decides how to show it. */
struct cfbp_package_reporter {
    void (*step)(void *data, const char *message);
    /* Bytes of a download or of the zip; total is 0 while unknown. */
    void (*progress)(void *data, const char *what, unsigned long long done,
                     unsigned long long total);
    void *data;
};

struct cfbp_package_options {
    const char *source_dir; /* the buildpack source (required) */
    const char *output_dir; /* where the zip goes; NULL: source_dir */
    const char *stack;      /* one stack, or NULL with any_stack */
    bool any_stack;
    bool cached;
    const char *version;   /* NULL: the source's VERSION file */
    const char *cache_dir; /* the download cache (required for cached) */
    const char *mirror;    /* a directory or base URL, or NULL */
    long long mtime;       /* the time every zip member gets */
    struct cfbp_package_reporter reporter;
};

struct cfbp_package_result {
    char *zip_path; /* absolute */
    unsigned long long size;
    char sha256[CFBP_DIGEST_HEX_SIZE];
};

/* <language>_buildpack[-cached][-<stack>]-v<version>.zip (§9.3) */
void cfbp_package_zip_name(struct cfbp_strbuf *out, const char *language, bool cached,
                           const char *stack, const char *version);

int cfbp_package(const struct cfbp_package_options *options, struct cfbp_package_result *result,
                 struct cfbp_error *err);
void cfbp_package_result_release(struct cfbp_package_result *result);

/* The markdown summary of the buildpack's dependencies and defaults, byte for byte as §9.4. */
int cfbp_package_summary(const char *source_dir, struct cfbp_strbuf *out, struct cfbp_error *err);

#ifdef __cplusplus
}
#endif

#endif
