/*
 * fuzz_procfile.c - an app's Procfile (the whole-document map of
 * cfbp_staging_result_merge_map in lib/staging_result.c, which the builder
 * calls on <app>/Procfile) on any bytes.
 *
 * A merge either fails naming "Procfile", or the result.json and
 * staging_info.yml written from it are valid JSON.
 */
#include "fuzz_support.h"
#include "staging_result_check.h"

#include "cfbp/error.h"
#include "cfbp/staging_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfbp_staging_result result = {0};
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_staging_result_merge_map(&result, (const char *)data, size, "Procfile", NULL, &err) <
        0) {
        fuzz_expect_prefix(err.message, "Procfile");
        cfbp_error_clear(&err);
    }
    check_staging_result(&result);
    cfbp_staging_result_release(&result);
    return 0;
}
