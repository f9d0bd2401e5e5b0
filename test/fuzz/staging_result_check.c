/*
 * staging_result_check.c - the checks the release output and Procfile
 * targets share (see staging_result_check.h).
 */
#include "staging_result_check.h"

#include "fuzz_support.h"

#include "cfbp/error.h"
#include "cfbp/json.h"
#include "cfbp/staging_result.h"
#include "cfbp/strbuf.h"

static void check_json(const struct cfbp_strbuf *text, const char *what)
{
    struct cfbp_json *value = NULL;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_json_parse(text->buf, text->len, &value, &err) < 0)
        fuzz_fail("%s is not JSON: %s\n%s", what, err.message, text->buf);
    if (value->type != CFBP_JSON_OBJECT)
        fuzz_fail("%s is %s, not an object", what, cfbp_json_type_name(value->type));
    cfbp_json_free(value);
}

void check_staging_result(const struct cfbp_staging_result *result)
{
    for (size_t i = 0; i < result->process_count; i++)
        if (!result->processes[i].type || !result->processes[i].command)
            fuzz_fail("process %zu has no type or no command", i);
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_staging_result_write_json(result, false, &text);
    check_json(&text, "result.json");
    cfbp_strbuf_reset(&text);
    cfbp_staging_result_write_json(result, true, &text);
    check_json(&text, "the failed build's result.json");
    cfbp_strbuf_reset(&text);
    cfbp_staging_result_write_staging_info(result, &text);
    check_json(&text, "staging_info.yml");
    cfbp_strbuf_release(&text);
}
