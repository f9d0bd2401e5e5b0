/*
 * fuzz_app_manifest.c - an app's manifest.yml (lib/app_manifest.c) on any bytes.
 *
 * The input is written as manifest.yml and loaded as the sidecar buildpack
 * and `cfbp stage` load it. A load either fails naming the file, or gives
 * apps whose every sidecar can be found by name. Every line of the input is
 * also read as a memory size: a size that parses is a whole number of MB.
 */
#include "fuzz_support.h"

#include "cfbp/app_manifest.h"
#include "cfbp/error.h"
#include "cfbp/strbuf.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    fuzz_write_file("manifest.yml", data, size, &path);
    struct cfbp_app_manifest manifest;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_app_manifest_load(&manifest, path.buf, &err) < 0) {
        fuzz_expect_prefix(err.message, path.buf);
        cfbp_error_clear(&err);
    } else {
        for (size_t a = 0; a < manifest.count; a++) {
            const struct cfbp_app *app = &manifest.apps[a];
            for (size_t s = 0; s < app->sidecar_count; s++) {
                const char *name = app->sidecars[s].name;
                const struct cfbp_app_sidecar *found =
                    name ? cfbp_app_manifest_find_sidecar(&manifest, name) : NULL;
                if (name && (!found || !found->name || strcmp(found->name, name) != 0))
                    fuzz_fail("the sidecar %s is not found by name", name);
            }
        }
        cfbp_app_manifest_find_sidecar(&manifest, "config-server");
        cfbp_app_manifest_release(&manifest);
    }
    char *text = fuzz_text(data, size);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long megabytes = 0;
        cfbp_parse_megabytes(line, &megabytes);
    }
    free(text);
    cfbp_strbuf_release(&path);
    return 0;
}
