/*
 * manifest.h - the buildpack's manifest.yml, VERSION and override.yml.
 *
 * cfbp_manifest_load reads <root>/manifest.yml (contract §5.1, §5.2) and
 * <root>/VERSION (§5.3) and checks every value it will use: a malformed file
 * or a wrong type is an error naming the file, line and column, found at load
 * time rather than halfway through staging. In particular deprecation dates
 * must be YYYY-MM-DD and default versions must be usable constraints.
 *
 * Lookups are filtered by stack (§6.4): an entry is visible on CF_STACK when
 * the manifest's top-level `stack:` equals it (a manifest packaged with
 * --stack) or, without one, when the entry's cf_stacks lists it. An empty
 * stack matches nothing.
 */
#ifndef CFBP_MANIFEST_H
#define CFBP_MANIFEST_H

#include "cfbp/string_list.h"
#include "cfbp/yaml.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;

struct cfbp_dependency {
    char *name;
    char *version;
    char *uri;
    char *sha256; /* lowercase hex, or NULL for an md5-only entry */
    char *md5;    /* lowercase hex when the manifest gives only md5 (weaker), else NULL */
    char *file;   /* cached copy, relative to the buildpack root (packaged zips), or NULL */
    char *source, *source_sha256;
    struct cfbp_string_list cf_stacks;
    struct cfbp_string_list modules; /* names from the entry's own `dependencies:` */
    size_t line, column;
};

struct cfbp_default_version {
    char *name;
    char *version; /* a constraint */
    size_t line, column;
};

struct cfbp_deprecation {
    char *name;
    char *version_line; /* a constraint, or an exact non-semver version */
    char *date;         /* YYYY-MM-DD, checked at load */
    char *link;         /* or NULL */
    int year, month, day;
};

struct cfbp_manifest {
    char *root; /* absolute buildpack root */
    char *path; /* <root>/manifest.yml */
    char *language;
    char *version; /* VERSION, trimmed */
    char *stack;   /* top-level stack of a packaged manifest, or NULL */
    char *pre_package;
    struct cfbp_string_list include_files;
    struct cfbp_dependency *dependencies;
    size_t dependency_count, dependency_alloc;
    struct cfbp_default_version *defaults;
    size_t default_count, default_alloc;
    struct cfbp_deprecation *deprecations;
    size_t deprecation_count, deprecation_alloc;
    struct cfbp_yaml_document document; /* the tree as read, for the packager */
};

/* The largest manifest.yml accepted; Cloud Controller refuses bigger ones (§2.1). */
#define CFBP_MANIFEST_MAX_BYTES (1024 * 1024)

/* Loads <root>/manifest.yml and <root>/VERSION. */
int cfbp_manifest_load(struct cfbp_manifest *manifest, const char *root, struct cfbp_error *err);
/* Loads <root>/manifest.yml only (version stays NULL): for tools that set the version. */
int cfbp_manifest_load_without_version(struct cfbp_manifest *manifest, const char *root,
                                       struct cfbp_error *err);
void cfbp_manifest_release(struct cfbp_manifest *manifest);

/*
 * Applies every <deps_dir>/<idx>/override.yml (in lexical order of idx) whose
 * top-level key is this manifest's language (§5.7). Default versions replace
 * entries of the same name; dependencies replace entries with the same name
 * and version (libbuildpack#9: upstream cannot do this) or are added.
 */
int cfbp_manifest_apply_overrides(struct cfbp_manifest *manifest, const char *deps_dir,
                                  struct cfbp_error *err);

/* Whether the buildpack supports stack at all (§6.4). */
bool cfbp_manifest_supports_stack(const struct cfbp_manifest *manifest, const char *stack);
/* Whether one entry is visible on stack. */
bool cfbp_manifest_dependency_on_stack(const struct cfbp_manifest *manifest,
                                       const struct cfbp_dependency *dependency, const char *stack);
/* The entry with exactly this name and version on stack, or NULL. */
const struct cfbp_dependency *cfbp_manifest_find(const struct cfbp_manifest *manifest,
                                                 const char *name, const char *version,
                                                 const char *stack);
/* Appends the versions of name on stack to versions, in manifest order. */
void cfbp_manifest_versions(const struct cfbp_manifest *manifest, const char *name,
                            const char *stack, struct cfbp_string_list *versions);
/*
 * Resolves the single default_versions entry for name against the versions on
 * stack and points *out at the chosen entry. Errors: "no default version for
 * <name>", "found <n> default versions for <name>", or no match.
 */
int cfbp_manifest_default_version(const struct cfbp_manifest *manifest, const char *name,
                                  const char *stack, const struct cfbp_dependency **out,
                                  struct cfbp_error *err);

#ifdef __cplusplus
}
#endif

#endif
