/*
 * staging_result_check.h - what the release output and Procfile targets
 * check after merging: result.json and staging_info.yml are valid JSON
 * (they are written by hand, and the platform parses them), and every
 * merged process type has a command.
 */
#ifndef CFBP_FUZZ_STAGING_RESULT_CHECK_H
#define CFBP_FUZZ_STAGING_RESULT_CHECK_H

struct cfbp_staging_result;

void check_staging_result(const struct cfbp_staging_result *result);

#endif
