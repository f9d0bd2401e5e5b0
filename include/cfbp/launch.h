/*
 * launch.h - launch.yml, where a buildpack declares processes and sidecars
 * (contract §5.6; sidecar-series §6).
 *
 * An entry with a non-empty sidecar_for is a sidecar attached to those
 * process types; the builder turns it into result.json's sidecars[] with
 * its type as the name. Written through libyaml's emitter.
 */
#ifndef CFBP_LAUNCH_H
#define CFBP_LAUNCH_H

#include "cfbp/string_list.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;

struct cfbp_launch_process {
    char *type;
    char *command;
    unsigned long memory; /* limits.memory in MB; 0 when not set */
    struct cfbp_string_list sidecar_for;
};

struct cfbp_launch {
    struct cfbp_launch_process *processes;
    size_t count, alloc;
};

/* Appends a process (copies type and command). */
struct cfbp_launch_process *cfbp_launch_add(struct cfbp_launch *launch, const char *type,
                                            const char *command);
void cfbp_launch_release(struct cfbp_launch *launch);

/* Writes launch to path (atomically). */
int cfbp_launch_write(const struct cfbp_launch *launch, const char *path, struct cfbp_error *err);
/* Reads path; a missing file is CFBP_ERROR_NOT_FOUND. Other keys are ignored, as the builder does.
 */
int cfbp_launch_read(struct cfbp_launch *launch, const char *path, struct cfbp_error *err);

#ifdef __cplusplus
}
#endif

#endif
