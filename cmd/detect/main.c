/*
 * detect - never claims an app: this is a supply buildpack.
 *
 *   detect BUILD_DIR
 *
 * Cloud Foundry only runs detect when no buildpack was named; it keeps
 * stdout as the buildpack's name and shows stderr, so the reason goes to
 * stderr and the exit status says "not me" (contract §3.1).
 */
#include "../buildpack/program.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "config-server-sidecar: this is a supply buildpack and detects no app; name "
                    "it before your app's buildpack (cf push -b "
                    "config-server-sidecar_buildpack -b ruby_buildpack)\n");
    return EXIT_STAGING_FAILED;
}
