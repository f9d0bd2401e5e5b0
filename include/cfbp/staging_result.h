/*
 * staging_result.h - what staging produced, in the builder's formats
 * (contract §5.9, §10.6).
 *
 * Processes are merged from each buildpack's launch.yml (in buildpack
 * order), the final buildpack's `release` output and the app's Procfile
 * (which wins): an entry with a known type replaces the earlier one in
 * place, a new type is appended. Map-shaped sources (release, Procfile) are
 * merged in key order, where Go uses its random map order. Entries with a
 * non-empty sidecar_for are sidecars.
 *
 * result.json and staging_info.yml are written as Go's json.Encoder writes
 * them: compact, fixed field order, empty fields omitted where the builder
 * omits them, "<", ">" and "&" escaped, a trailing newline.
 */
#ifndef CFBP_STAGING_RESULT_H
#define CFBP_STAGING_RESULT_H

#include "cfbp/string_list.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;
struct cfbp_json;
struct cfbp_launch;
struct cfbp_strbuf;
struct cfbp_yaml_node;

struct cfbp_staged_process {
    char *type;
    char *command;
    struct cfbp_string_list sidecar_for; /* empty: a process type */
    unsigned long memory;                /* MB; sidecars only, 0 when unset */
};

struct cfbp_staged_buildpack {
    char *key;
    char *name;
    char *version;
    bool has_config;         /* config.yml had a `config:` (then "config":{} is written) */
    char *entrypoint_prefix; /* config.entrypoint_prefix, or NULL */
    struct cfbp_yaml_node *output_metadata; /* or NULL */
};

struct cfbp_staging_result {
    struct cfbp_staged_process *processes;
    size_t process_count, process_alloc;
    struct cfbp_staged_buildpack *buildpacks;
    size_t buildpack_count, buildpack_alloc;
};

void cfbp_staging_result_release(struct cfbp_staging_result *result);

/* Merges a launch.yml's processes. */
void cfbp_staging_result_merge_launch(struct cfbp_staging_result *result,
                                      const struct cfbp_launch *launch);
/*
 * Merges a YAML map of type to command: the whole document (a Procfile) when
 * key is NULL, or the map under key (`default_process_types` for release
 * output). name is used in error messages.
 */
int cfbp_staging_result_merge_map(struct cfbp_staging_result *result, const char *text,
                                  size_t length, const char *name, const char *key,
                                  struct cfbp_error *err);

/* The largest config.yml that is read; a larger one is ignored here (the builder refuses it). */
#define CFBP_CONFIG_YML_MAX_BYTES (1 << 20)

/*
 * Adds a buildpack's metadata from its deps/<idx>/config.yml (which may be
 * missing; a file that does not parse is ignored, as the builder ignores it).
 * fallback_name is used when config.yml gives none (the detect output).
 */
struct cfbp_staged_buildpack *cfbp_staging_result_add_buildpack(struct cfbp_staging_result *result,
                                                                const char *key,
                                                                const char *config_yml_path,
                                                                const char *fallback_name);

/* The web process's command, or NULL. */
const char *cfbp_staging_result_start_command(const struct cfbp_staging_result *result);

/* Appends result.json's bytes; failed writes the minimal form the builder writes on failure. */
void cfbp_staging_result_write_json(const struct cfbp_staging_result *result, bool failed,
                                    struct cfbp_strbuf *out);
/* Appends staging_info.yml's bytes (JSON, which is YAML). */
void cfbp_staging_result_write_staging_info(const struct cfbp_staging_result *result,
                                            struct cfbp_strbuf *out);

/* Appends a YAML tree as JSON (maps with sorted keys, scalars typed as YAML 1.1 reads them). */
void cfbp_yaml_write_json(const struct cfbp_yaml_node *node, struct cfbp_strbuf *out);

#ifdef __cplusplus
}
#endif

#endif
