/*
 * release - prints the buildpack's default process types: none.
 *
 *   release BUILD_DIR
 *
 * The sidecar is declared in launch.yml, and a final buildpack that writes
 * launch.yml is never asked for release (contract §3.5). When release does
 * run (the app declares the sidecar), the app's Procfile or `command:` is the
 * start command; an empty map lets the builder say so clearly.
 */
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("---\ndefault_process_types: {}\n", stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}
