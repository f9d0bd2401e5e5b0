/*
 * packager.h - buildpack zips for `cf create-buildpack`, and their summary
 * (the job of Cloud Foundry's Go buildpack-packager, contract §2, §5.2, §9).
 *
 * cfbp_package works on a copy of the buildpack source: it writes VERSION
 * (without a newline) into the copy, runs the manifest's pre_package there,
 * and zips exactly the include_files plus, with `cached`, every dependency
 * for the stack under dependencies/<md5(uri)>/<file name>. The manifest in
 * the zip is the packaged form of §5.2, written as Go's yaml.v2 round trip
 * writes it: stack: added and cf_stacks removed for one stack, file: added to
 * each cached dependency, the entries a packaging profile excludes removed.
 *
 * Packaging profiles (libbuildpack's packaging_profiles: in manifest.yml,
 * each with a description and an exclude list of dependency names) choose
 * which dependencies a cached zip leaves out: the profile's exclusions, then
 * the `exclude` names added, then the `include` names taken back; every name
 * must be a dependency of the manifest and every include must take something
 * back. The zip name then says so: -<profile>, -<profile>+custom, or -custom.
 *
 * Every dependency's digest is checked as it is zipped (sha256; an md5-only
 * entry by md5, with a warning that md5 is weaker). A dependency comes from
 * the first of: --mirror in place of its uri (a directory, read in place, or
 * a base URL, downloaded into the download cache), so an explicit mirror is
 * the source of every dependency; the manifest's local_dependencies
 * directory in the copy (files pre_package built, by file name); the
 * download cache <cache_dir>/dependencies/<md5(uri)>/<file name>; the uri
 * itself (file:// read in place, others downloaded into the cache through
 * cfbp_fetch). Downloads are checked before they are cached; a cached copy
 * that no longer matches is removed.
 *
 * Members come in the Go packager's order (include_files, then the
 * dependencies in manifest order) with the Go packager's modes (the
 * permission bits of the file in the copy; a dependency gets its cached
 * file's, or 0666 less the umask as a new download would).
 *
 * Every shipped ELF program is audited against the stack (elf_audit.h)
 * before anything is zipped. The zip is reproducible (zip.h) and appears
 * under its final name only when complete.
 */
#ifndef CFBP_PACKAGER_H
#define CFBP_PACKAGER_H

#include "cfbp/digest.h"

#include "cfbp/string_list.h"

#include <stdbool.h>
#include <stddef.h>

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
    /* Something the user should know that does not stop packaging (may be NULL). */
    void (*warning)(void *data, const char *message);
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
    /* Packaging profiles (cached only): a packaging_profiles name, or NULL / "". */
    const char *profile;
    const char *const *exclude; /* dependency names left out as well */
    size_t exclude_count;
    const char *const *include; /* names taken back from the profile's exclusions */
    size_t include_count;
};

struct cfbp_package_result {
    char *zip_path; /* absolute */
    unsigned long long size;
    char sha256[CFBP_DIGEST_HEX_SIZE];
    /*
     * When pre_package exits non-zero: its combined output and exit status
     * (the Go packager prints that output on stdout). Set on that failure only.
     */
    char *pre_package_output;
    int pre_package_status;
};

/*
 * <language>_buildpack[-cached][<profile part>][-<stack>]-v<version>.zip
 * (§9.3); profile_part is "", "-<profile>", "-<profile>+custom" or "-custom"
 * (NULL for ""). A NULL language is written as nothing, as Go writes "".
 */
void cfbp_package_zip_name(struct cfbp_strbuf *out, const char *language, bool cached,
                           const char *profile_part, const char *stack, const char *version);

/*
 * Packages options->source_dir. result is filled on success; on failure it
 * may still hold pre_package's output. Release it either way.
 */
int cfbp_package(const struct cfbp_package_options *options, struct cfbp_package_result *result,
                 struct cfbp_error *err);
void cfbp_package_result_release(struct cfbp_package_result *result);

/*
 * Applies the profile options to the manifest at manifest_root as the Go
 * packager does (resolveExclusions, with its checks and messages): fills
 * excluded with the dependency names left out (sorted) and profile_part with
 * the zip name's part. Fails for profile options on an uncached package,
 * include without a profile, a bad or unknown profile name, an unknown
 * dependency name, an include that takes nothing back, and a
 * packaging_profiles section Go's loader would refuse.
 */
struct cfbp_manifest;
int cfbp_package_select(const struct cfbp_manifest *manifest,
                        const struct cfbp_package_options *options,
                        struct cfbp_string_list *excluded, struct cfbp_strbuf *profile_part,
                        struct cfbp_error *err);

/*
 * The Go buildpack-packager's command line (contract §9.1), parsed as Go's
 * `flag` package parses it: "-x" or "--x"; "-x=v" or "-x v" for string
 * flags; bool flags take "-x" or "-x=<any strconv.ParseBool value>" and never
 * the next argument; parsing stops at the first argument that is not a flag
 * and after "--". The flags are build's: cached, any-stack, version,
 * cachedir, stack, profile, exclude, include. Errors carry Go's own message
 * ("flag provided but not defined: -bogus"); kind CFBP_ERROR_USAGE.
 *
 * With CFBP_PACKAGE_FLAGS_CFBP, cfbp package's own flags are known too
 * (output, mirror, quiet) and arguments may come between flags, as
 * BUILDPACK_DIR does.
 */
#define CFBP_PACKAGE_FLAGS_CFBP 1u

struct cfbp_package_flags {
    bool cached, any_stack, quiet;
    bool help; /* -h, -help (with one dash or two): parsing stopped there */
    /* NULL when not given; pointers into argv */
    const char *version, *cache_dir, *stack, *profile, *exclude, *include;
    const char *output_dir, *mirror;
    struct cfbp_string_list arguments; /* what was not a flag, in order */
};

/* argv holds only the arguments (no program or command name). */
int cfbp_package_flags_parse(struct cfbp_package_flags *flags, int argc, char *const *argv,
                             unsigned mode, struct cfbp_error *err);
void cfbp_package_flags_release(struct cfbp_package_flags *flags);
/* Go's strconv.ParseBool: 1 t T TRUE true True, 0 f F FALSE false False. */
bool cfbp_package_parse_bool(const char *text, bool *value);
/* A comma-separated list as the Go packager splits it: trimmed, empty names dropped. */
void cfbp_package_split_names(const char *text, struct cfbp_string_list *out);

/* The markdown summary of the buildpack's dependencies and defaults, byte for byte as §9.4. */
int cfbp_package_summary(const char *source_dir, struct cfbp_strbuf *out, struct cfbp_error *err);

#ifdef __cplusplus
}
#endif

#endif
