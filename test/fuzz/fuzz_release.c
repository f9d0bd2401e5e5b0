/*
 * fuzz_release.c - a buildpack's `release` output (the default_process_types
 * map, cfbp_staging_result_merge_map in lib/staging_result.c) on any bytes.
 *
 * The input is merged over a launch.yml's processes, as the builder does for
 * the last buildpack; a merge either fails naming "release output", or the
 * result.json and staging_info.yml written from it are valid JSON. The same
 * bytes are also read as the buildpack's config.yml, whose output_metadata
 * result.json carries as JSON (cfbp_yaml_write_json).
 */
#include "fuzz_support.h"
#include "staging_result_check.h"

#include "cfbp/error.h"
#include "cfbp/launch.h"
#include "cfbp/staging_result.h"
#include "cfbp/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfbp_staging_result result = {0};
    struct cfbp_strbuf config = CFBP_STRBUF_INIT;
    fuzz_write_file("config.yml", data, size, &config);
    cfbp_staging_result_add_buildpack(&result, "0", config.buf, "fallback");
    cfbp_strbuf_release(&config);
    struct cfbp_launch launch = {0};
    cfbp_launch_add(&launch, "web", "existing");
    cfbp_string_list_append(&cfbp_launch_add(&launch, "sidecar", "./sidecar")->sidecar_for, "web");
    cfbp_staging_result_merge_launch(&result, &launch);
    cfbp_launch_release(&launch);
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_staging_result_merge_map(&result, (const char *)data, size, "release output",
                                      "default_process_types", &err) < 0) {
        fuzz_expect_prefix(err.message, "release output");
        cfbp_error_clear(&err);
    }
    check_staging_result(&result);
    cfbp_staging_result_release(&result);
    return 0;
}
