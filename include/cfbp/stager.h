/*
 * stager.h - the staging directories and the files buildpacks leave in them
 * (libbuildpack's Stager; contract §3, §4.3, §5.4, §5.5, §5.8, §6.9).
 *
 * DEPS_IDX is kept as the string the builder passed ("03" is not "3", §4.2);
 * it is only checked to be one safe path component. All directory arguments
 * are made absolute, so nothing depends on the working directory.
 *
 * The directories the platform gives (BUILD_DIR, CACHE_DIR, DEPS_DIR,
 * PROFILE_DIR) are trusted, links on the way to them included; nothing inside
 * them is. DEPS_DIR is shared with every buildpack, so DEPS_DIR/<idx> itself
 * must not be a link. Every file written here is written beneath one of them
 * without following a link (beneath.h): a dependency that planted
 * deps/<idx>/profile.d as a link, or an app whose .profile.d is one, gets an
 * error, not a write somewhere else. Other buildpacks' deps directories and
 * files that are links are skipped.
 *
 * Every write can be taken back. A file is made under a hidden temporary
 * name beside its place (".<name>.cfbp-<pid>-<n>") and moved in with
 * rename(2); what it replaces is kept under such a name until the stager is
 * released. Between cfbp_stager_begin_changes and cfbp_stager_release, each
 * file written, file replaced and directory made is noted, with the times of
 * the directories it changed, so that a failed finalize can put BUILD_DIR,
 * PROFILE_DIR and CACHE_DIR back exactly as they were.
 */
#ifndef CFBP_STAGER_H
#define CFBP_STAGER_H

#include "cfbp/string_list.h"
#include "cfbp/workdir.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;
struct cfbp_log;
struct cfbp_stager_changes;
struct cfbp_yaml_node;

enum cfbp_stager_phase {
    CFBP_PHASE_SUPPLY,  /* BUILD_DIR CACHE_DIR DEPS_DIR DEPS_IDX */
    CFBP_PHASE_FINALIZE /* BUILD_DIR CACHE_DIR DEPS_DIR DEPS_IDX [PROFILE_DIR] */
};

struct cfbp_stager {
    char *build_dir;
    char *cache_dir;
    char *deps_dir;
    char *deps_idx;    /* opaque */
    char *dep_dir;     /* <deps_dir>/<deps_idx> */
    char *profile_dir; /* finalize's 5th argument, or <build_dir>/.profile.d */
    /* profile_dir as the directory our writes stay beneath and the path below it:
     * (<build_dir>, ".profile.d"), or (<PROFILE_DIR>, "") when the builder gave one. */
    char *profile_root;
    char *profile_relative;
    /* What <dep_dir> held before this run, for cfbp_stager_rollback_dep_dir. */
    struct cfbp_string_list dep_dir_entries;
    struct cfbp_saved_times dep_dir_times;
    bool dep_dir_remembered;
    /* What this run changed since cfbp_stager_begin_changes (NULL before): see stager.c. */
    struct cfbp_stager_changes *changes;
};

/*
 * Takes the script's arguments (without the program name). supply needs
 * exactly four; finalize four or five, an empty fifth counting as absent
 * (§3.3). BUILD_DIR and DEPS_DIR must exist. DEPS_DIR/<idx> must be a
 * directory or missing: a symlink there (an earlier buildpack can plant one)
 * is an error of kind CFBP_ERROR_UNSAFE_PATH that names it. Everything is
 * checked before anything is made: then supply creates CACHE_DIR and the
 * deps directory when missing; finalize creates nothing here (CACHE_DIR is
 * made when BUILDPACK_METADATA is written, so it can be taken back).
 */
int cfbp_stager_init(struct cfbp_stager *stager, enum cfbp_stager_phase phase, int argc,
                     char *const *argv, struct cfbp_error *err);
/* Frees the stager, keeping every change it made (the replaced files it kept are removed). */
void cfbp_stager_release(struct cfbp_stager *stager);

/*
 * From now on, notes every change the stager's writes make, so that
 * cfbp_stager_rollback_changes can take them back: finalize is all or nothing.
 */
void cfbp_stager_begin_changes(struct cfbp_stager *stager);
/*
 * Takes back every change noted since cfbp_stager_begin_changes, newest
 * first: files written are removed, files replaced are put back, directories
 * made are removed, and the changed directories get their times back. The
 * trees end as they were before (names, types, modes, contents and times).
 * Nothing is followed through a link. Does nothing unless begun.
 */
void cfbp_stager_rollback_changes(struct cfbp_stager *stager);

/*
 * Remembers which entries <dep_dir> holds now, and its times, so that a
 * supply that fails part way can take back everything it added.
 */
int cfbp_stager_remember_dep_dir(struct cfbp_stager *stager, struct cfbp_error *err);
/*
 * Removes every entry of <dep_dir> that was not there when it was
 * remembered (never following links) and puts its times back: a failed
 * supply leaves no half-installed state. Does nothing unless remembered.
 */
void cfbp_stager_rollback_dep_dir(struct cfbp_stager *stager);

/* Fails when a V3 (cloud native) buildpack ran before us (§6.2); sentinel_path is its marker. */
int cfbp_stager_check_not_after_v3(const char *sentinel_path, struct cfbp_error *err);

/* Writes <dep_dir>/config.yml: config (an empty mapping when NULL), name, version (§5.4). */
int cfbp_stager_write_config_yml(const struct cfbp_stager *stager, const char *name,
                                 const char *version, const struct cfbp_yaml_node *config,
                                 struct cfbp_error *err);
/* Writes <dep_dir>/env/<name> holding exactly value, mode 0644 (§5.5). */
int cfbp_stager_write_env_file(const struct cfbp_stager *stager, const char *name,
                               const char *value, struct cfbp_error *err);
/* Writes <dep_dir>/profile.d/<script_name>, mode 0755 (§5.5). */
int cfbp_stager_write_profile_d(const struct cfbp_stager *stager, const char *script_name,
                                const char *body, struct cfbp_error *err);
/* Makes a relative symlink <dep_dir>/bin/<name> pointing at target. */
int cfbp_stager_add_bin_link(const struct cfbp_stager *stager, const char *target, const char *name,
                             struct cfbp_error *err);

/*
 * Sets PATH, LD_LIBRARY_PATH, LIBRARY_PATH, CPATH and PKG_CONFIG_PATH from
 * every deps directory's bin, lib, include and pkgconfig (highest index
 * first), then every deps/<idx>/env/<NAME> file (lowest index wins) (§6.9).
 * A deps/<idx> that is a link is not a deps directory (as in libbuildpack).
 */
int cfbp_stager_set_staging_environment(const struct cfbp_stager *stager, struct cfbp_error *err);
/*
 * Writes <profile_dir>/000_multi-supply.sh (always, 0755) and copies every
 * regular file of deps/<idx>/profile.d/ to <profile_dir>/<idx>_<name> (§5.5),
 * making <profile_dir> (and a PROFILE_DIR's parents) when missing.
 * Line order is fixed: PATH, LD_LIBRARY_PATH, LIBRARY_PATH.
 */
int cfbp_stager_set_launch_environment(const struct cfbp_stager *stager, struct cfbp_error *err);

/* Warns "buildpack version changed from X to Y" when CACHE_DIR remembers another version. */
void cfbp_stager_check_buildpack_metadata(const struct cfbp_stager *stager, const char *language,
                                          const char *version, struct cfbp_log *log);
/* Remembers language and version in <CACHE_DIR>/BUILDPACK_METADATA (§5.8). */
int cfbp_stager_write_buildpack_metadata(const struct cfbp_stager *stager, const char *language,
                                         const char *version, struct cfbp_error *err);

/*
 * Tests only: true makes writes keep what they replace as a hard link, as on
 * a file system without renameat2 RENAME_EXCHANGE.
 */
void cfbp_stager_force_no_exchange(bool no_exchange);

#ifdef __cplusplus
}
#endif

#endif
