/*
 * buildpack_registry.h - named buildpacks on this machine, as a foundation's
 * admin buildpacks are (`cf create-buildpack`, `cf buildpacks`,
 * `cf delete-buildpack`), for `cfbp stage` to use by name or to detect with.
 *
 * The registry lives in a home directory (CFBP_HOME, else ~/.cfbp):
 * buildpacks.yml lists name, position, key, stack and where each buildpack
 * was unpacked (buildpacks/<name>/). Positions start at 1 and have no gaps;
 * adding at a taken position moves the others down, as Cloud Controller does.
 * A buildpack's key is "<name>_<sha256 of its zip>", the form of Cloud
 * Controller's keys (<guid>_<sha256>).
 */
#ifndef CFBP_BUILDPACK_REGISTRY_H
#define CFBP_BUILDPACK_REGISTRY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;
struct cfbp_strbuf;

struct cfbp_registered_buildpack {
    char *name;
    unsigned position;
    char *key;
    char *stack; /* the manifest's stack:, or NULL for any stack */
    char *root;  /* the unpacked buildpack's root (holds bin/) */
};

struct cfbp_registry {
    char *home;
    struct cfbp_registered_buildpack *buildpacks; /* in position order */
    size_t count, alloc;
};

/* Sets out to $CFBP_HOME, or $HOME/.cfbp. */
int cfbp_registry_default_home(struct cfbp_strbuf *out, struct cfbp_error *err);

/* Reads the registry in home (an empty registry when there is none yet). */
int cfbp_registry_load(struct cfbp_registry *registry, const char *home, struct cfbp_error *err);
void cfbp_registry_release(struct cfbp_registry *registry);

const struct cfbp_registered_buildpack *cfbp_registry_find(const struct cfbp_registry *registry,
                                                           const char *name);

/*
 * Registers the buildpack zip (or directory) at source as name, at position
 * (1-based; 0 or past the end: last), and saves the registry. A name that is
 * taken is an error. Like Cloud Controller, a zip whose manifest.yml is over
 * 1 MiB or not valid YAML is refused.
 */
int cfbp_registry_add(struct cfbp_registry *registry, const char *name, const char *source,
                      unsigned position, struct cfbp_error *err);
/* Unregisters name, removes its files and saves the registry. */
int cfbp_registry_remove(struct cfbp_registry *registry, const char *name, struct cfbp_error *err);

#ifdef __cplusplus
}
#endif

#endif
