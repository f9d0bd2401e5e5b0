/*
 * builder.h - staging an app with buildpacks, as Cloud Foundry's builder
 * (buildpackapplifecycle) does it (contract §3, §4, §5.9, §10).
 *
 * The app directory is copied (never changed); buildpacks run on the copy
 * with the staging environment, their output streaming through; the result
 * is a droplet .tgz laid out as §4.5, a result.json in the builder's format,
 * and a build-artifacts cache kept between stagings. Its quirks are kept
 * (contract §17): launch.yml is looked for under the unpadded deps index
 * (deps/3/, not deps/03/), so from ten buildpacks on some are not read; a
 * WARNING line names each launch.yml a buildpack wrote that Cloud Foundry
 * will not read, and the other surprises get one too.
 *
 * A failure reports the builder's exit status (§8) and its message, a
 * script's failure in os/exec's words ("exit status 7", "signal: killed",
 * "fork/exec <path>: no such file or directory"):
 *   222 None of the buildpacks detected a compatible application
 *   223 Failed to compile droplet: ...      (the final buildpack failed)
 *   224 Failed to build droplet release: ... (also: release printed more than 1 MiB)
 *   225 Failed to run all supply scripts: ... (a supply buildpack failed, or a named
 *       buildpack has no bin/)
 *   1   anything else (a bad Procfile, a buildpack that is not there, ...)
 * As the builder does, no result.json is written when staging fails before
 * the final buildpack runs (setup, detection, the supply phase); after, it is
 * the builder's failed form: the buildpacks, "process_types":null.
 *
 * What staging reads from buildpacks and the app is bounded, where the real
 * builder reads whatever it gets: release output 1 MiB, detect output 64 KiB,
 * the Procfile, launch.yml and each config.yml 1 MiB; more fails the staging
 * with a message naming the buildpack (or the Procfile) and the limit, and a
 * script that prints too much is killed rather than read to its end.
 *
 * Each script runs with stdin from /dev/null in a process group of its own;
 * when it ends, whatever it left running in the group is killed (the
 * container would end it). The temporary directory (under $TMPDIR) is
 * removed whatever happens, including a stop through options->stop_fd.
 */
#ifndef CFBP_BUILDER_H
#define CFBP_BUILDER_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;
struct cfbp_environment;
struct cfbp_registry;

enum {
    CFBP_BUILDER_FAILED = 1,
    CFBP_BUILDER_DETECT_FAILED = 222,
    CFBP_BUILDER_COMPILE_FAILED = 223,
    CFBP_BUILDER_RELEASE_FAILED = 224,
    CFBP_BUILDER_SUPPLY_FAILED = 225,
    /*
     * stop_fd became readable, or a script failed while stdout or stderr was a pipe with no
     * reader left: staging was abandoned (cfbp stage exits 128 + the signal, SIGPIPE for the
     * latter), and nothing is written.
     */
    CFBP_BUILDER_STOPPED = 130,
};

struct cfbp_builder_options {
    const char *app_dir;
    /* Registered names, directories or zips, in order; none: detect among the registry's. */
    const char *const *buildpacks;
    size_t buildpack_count;
    const struct cfbp_registry *registry; /* may be NULL */
    const char *stack;
    const char *droplet; /* the droplet .tgz to write */
    const char *result;  /* the result.json to write */
    const char
        *cache_dir; /* the build-artifacts cache, kept between stagings (relative: to the cwd) */
    const char *app_name;
    unsigned long memory; /* MB, for MEMORY_LIMIT and VCAP_APPLICATION */
    /* The app's own variables (its manifest's env: and more); they also reach the scripts. */
    const struct cfbp_environment *app_environment;
    FILE *messages; /* where the builder's own lines go (stderr) */
    /*
     * Readable when staging must stop (cfbp stage's signal handlers write to a
     * pipe): the running script's process group gets SIGTERM (SIGKILL after
     * CFBP_PROCESS_STOP_GRACE_MS), nothing more runs or is written, and
     * CFBP_BUILDER_STOPPED is returned. -1: never.
     */
    int stop_fd;
};

/*
 * Stages the app. Returns 0, or -1 with err set to the builder's message and
 * *exit_status to its exit status (or CFBP_BUILDER_STOPPED); *exit_status is
 * 0 on success.
 */
int cfbp_builder_stage(const struct cfbp_builder_options *options, int *exit_status,
                       struct cfbp_error *err);

/* Where the builder keeps a supply buildpack's cache: the 16-hex-digit XXH64 of its key (§4.1). */
void cfbp_builder_cache_name(const char *key, char name[17]);

#ifdef __cplusplus
}
#endif

#endif
