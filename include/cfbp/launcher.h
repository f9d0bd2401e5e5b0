/*
 * launcher.h - running a droplet as one Cloud Foundry instance: its web
 * process and every sidecar attached to web, side by side on localhost
 * (contract §4.6; sidecar-series §1.3 and §6).
 *
 * The droplet is unpacked into a fresh home directory; each process starts as
 * the launcher starts it: `bash` changes into the app directory, sources the
 * profile scripts (every file in ../profile.d, then in .profile.d, then .profile,
 * through the launcher's unquoted variable: a name with a space fails to
 * load, after a WARNING line) and execs the command with `bash -c`, in the
 * environment Diego and the launcher give an instance (platform.h: PORT,
 * INSTANCE_GUID, CF_INSTANCE_*, HOME, TMPDIR, DEPS_DIR, VCAP_APPLICATION). Output lines are
 * prefixed as `cf logs` shows them ("[APP/PROC/WEB/0] OUT ...",
 * "[APP/PROC/WEB/SIDECAR/CONFIG-SERVER/0] ERR ..."). When any process exits,
 * the instance stops, as Diego stops it.
 *
 * The web command is the app manifest's `command:`, else staging_info.yml's
 * start_command. Sidecars come from the droplet's launch.yml files and from
 * the app manifest's `sidecars:`; the same name in both is refused, as Cloud
 * Controller refuses it.
 */
#ifndef CFBP_LAUNCHER_H
#define CFBP_LAUNCHER_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;
struct cfbp_environment;

struct cfbp_launcher_options {
    const char *droplet;  /* a droplet .tgz, or an unpacked droplet directory */
    unsigned port;        /* PORT, where the web process must listen */
    const char *app_name; /* NULL: the app manifest's name */
    unsigned long memory; /* MB, for MEMORY_LIMIT; 0: the app manifest's, else 1024 */
    /* Variables on top of the app manifest's env: (may be NULL). */
    const struct cfbp_environment *app_environment;
    int stop_fd;  /* readable when the instance must stop (e.g. after Ctrl-C); -1: none */
    FILE *output; /* where the prefixed lines and the launcher's own lines go */
};

/*
 * Runs the instance until a process exits or stop_fd is readable.
 * *exit_status gets the status of the process that ended the instance, or 0
 * when it was stopped from outside.
 */
int cfbp_launcher_run(const struct cfbp_launcher_options *options, int *exit_status,
                      struct cfbp_error *err);

#ifdef __cplusplus
}
#endif

#endif
