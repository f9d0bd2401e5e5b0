/*
 * install.h - installing a manifest dependency (libbuildpack's Installer).
 *
 * cfbp_installer_install finds the entry for name and version on the stack
 * and takes its bytes from the first source that has them (contract §6.7):
 *   1. the entry's `file:` (a cached buildpack)       logs "Copy [<path>]"
 *   2. a file:// URI, read in place                   logs "Copy [<path>]"
 *   3. the app cache <CACHE_DIR>/dependencies/<sha256(uri)>/<name>
 *                                                     logs "Copy [<path>]"
 *   4. the network (into the app cache when there is one)
 *                                                     logs "Download [<uri>]"
 * then warns about newer patch versions, prereleases and end-of-life dates
 * (§6.6), and installs through cfbp_archive_install: one pass that hashes
 * and extracts, with nothing moved into place unless the sha256 matches.
 * An md5-only entry logs a warning that md5 is weaker; its file's md5 is
 * checked (before a download enters the app cache, and before extraction)
 * and the sha256 of those same bytes is then what extraction must match.
 * An entry without uri or digest fails before anything is fetched.
 *
 * A download with a sha256 is extracted while it arrives (download.h): the
 * bytes go to the app cache and to the extraction at once, and the tree is
 * placed only once their digest matched. A .zip (read from its end) and an
 * md5-only entry are downloaded first, then installed. A download that takes
 * longer than progress_interval logs how far it is, every progress_interval.
 *
 * A download is checked before it enters the app cache, so the cache never
 * holds a bad file; a cached copy that no longer matches is dropped and
 * downloaded again instead of failing every later staging (as libbuildpack
 * does).
 *
 * A name or version the manifest does not offer fails with kind
 * CFBP_ERROR_NOT_FOUND, "dependency <name> <version> not found", and as the
 * error's detail libbuildpack's "DEPENDENCY MISSING IN MANIFEST:" block
 * listing the versions there are, for the program to print.
 */
#ifndef CFBP_INSTALL_H
#define CFBP_INSTALL_H

#include "cfbp/fetch.h"
#include "cfbp/string_list.h"

#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_manifest;
struct cfbp_log;
struct cfbp_error;

struct cfbp_installer {
    const struct cfbp_manifest *manifest;
    const char *stack;
    struct cfbp_log *log;
    char *app_cache_dir; /* CACHE_DIR, or NULL for no app cache */
    struct cfbp_string_list used_cache_files;
    struct cfbp_fetch_options fetch;
    time_t now; /* the day end-of-life dates are compared with */
    /* A download taking longer logs "Downloaded 45% (118.0 MB of 262.1 MB, 38.4 MB/s)" this
     * often, in seconds (default 5), and a last line when it ends. */
    double progress_interval;
};

void cfbp_installer_init(struct cfbp_installer *installer, const struct cfbp_manifest *manifest,
                         const char *stack, struct cfbp_log *log);
/* Keeps downloads in <cache_dir>/dependencies between stagings. */
void cfbp_installer_set_app_cache_dir(struct cfbp_installer *installer, const char *cache_dir);
void cfbp_installer_release(struct cfbp_installer *installer);

/* Installs name at exactly version into destination (see above). */
int cfbp_installer_install(struct cfbp_installer *installer, const char *name, const char *version,
                           const char *destination, unsigned strip_components,
                           struct cfbp_error *err);
/* Installs the only version of name on the stack; none or several is an error. */
int cfbp_installer_install_only_version(struct cfbp_installer *installer, const char *name,
                                        const char *destination, struct cfbp_error *err);
/* Deletes files under <CACHE_DIR>/dependencies that this run did not use. */
int cfbp_installer_clean_app_cache(struct cfbp_installer *installer, struct cfbp_error *err);

#ifdef __cplusplus
}
#endif

#endif
