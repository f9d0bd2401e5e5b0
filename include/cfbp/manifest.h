/*
 * manifest.h - the buildpack's manifest.yml, VERSION and override.yml.
 *
 * The manifest is read the way libbuildpack and Go's packager read it with
 * yaml.v2 (contract §5.1): unknown keys are ignored, a missing or null key is
 * its zero value (no `language` is the language ""), a plain scalar is read
 * as its text (`version: 1.10` is "1.10"), and a list or mapping where a
 * single value belongs, or the reverse, is an error.
 *
 * cfbp_manifest_load, for staging and packaging, also checks every value it
 * will use, so that what is really broken fails at load time naming the
 * file, line and column rather than halfway through staging: a sha256 that
 * is not 64 hex characters, an md5 (used only without a sha256) that is not
 * 32, a deprecation date that yaml.v2 would not read as a timestamp, a
 * `file:` leaving the buildpack. A default version is checked only when it
 * is resolved, as in libbuildpack.
 * Entries without uri or digest load (override.yml adds versions that way,
 * §5.7); installing one fails (install.h).
 *
 * cfbp_manifest_load_for_summary reads only what Go's packager model reads
 * (packager/models.go), with only yaml.v2's type errors, so that `summary`
 * lists every manifest Go's summary lists.
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
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;

struct cfbp_dependency {
    char *name;    /* "" when not given, as every text below but the NULL ones */
    char *version; /* the text as written; compared as a string for lookups */
    char *uri;     /* "" when not given (an override.yml may add a version without one) */
    char *sha256;  /* lowercase hex, or NULL for an md5-only entry or one without a digest */
    char *md5;     /* lowercase hex when the manifest gives only md5 (weaker), else NULL */
    char *file;    /* cached copy, relative to the buildpack root (packaged zips), or NULL */
    char *source, *source_sha256; /* informational, NULL unless a single value */
    struct cfbp_string_list cf_stacks;
    struct cfbp_string_list modules; /* names from the entry's own `dependencies:` */
    char *defined_in;                /* the file that lists it: manifest.yml or an override.yml */
    size_t line, column;             /* where in defined_in */
};

struct cfbp_default_version {
    char *name;    /* "" when not given */
    char *version; /* a constraint, checked when resolved */
    size_t line, column;
};

struct cfbp_deprecation {
    char *name;         /* "" when not given */
    char *version_line; /* a constraint, or an exact non-semver version; never checked, as
                           libbuildpack only tries it ("" when not given) */
    char *date;         /* as written: yaml.v2's timestamp forms, 2025-04-30 or 2025-4-30 or
                           with a time of day */
    char *link;         /* or NULL */
    int year, month, day;
    time_t moment; /* the instant date names, UTC (midnight for a date alone) */
};

struct cfbp_manifest {
    char *root;     /* absolute buildpack root */
    char *path;     /* <root>/manifest.yml */
    char *language; /* "" when the manifest has none, as in Go (zip `_buildpack-v1.zip`) */
    char *version;  /* VERSION, trimmed */
    char *stack;    /* top-level stack of a packaged manifest, or NULL */
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
/*
 * Loads <root>/manifest.yml only as far as Go's packager reads it for
 * `summary`: YAML errors and a list or mapping where its model holds a value
 * (or the reverse) fail; values are kept as written and unchecked (sha256,
 * md5 and file as given), and dependency_deprecation_dates,
 * which that model does not read, are not read at all. Not for installing.
 */
int cfbp_manifest_load_for_summary(struct cfbp_manifest *manifest, const char *root,
                                   struct cfbp_error *err);
void cfbp_manifest_release(struct cfbp_manifest *manifest);

/*
 * Applies every <deps_dir>/<idx>/override.yml (in lexical order of idx) whose
 * top-level key is this manifest's language (§5.7). Default versions replace
 * entries of the same name. A dependency with a new name and version is
 * added, also without uri or digest (it then counts for version resolution
 * but cannot be installed). One with the name and version of an entry
 * already there replaces it when it gives a uri (libbuildpack#9: upstream
 * cannot do this) and, without a uri, leaves it as it is (as upstream does).
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
