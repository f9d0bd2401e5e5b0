/*
 * test_cfbp.c - the library's version: the header's macros, cfbp_version()
 * and the CMake project's version (which names the shared library and the
 * packages) agree.
 */
#include "support.h"

#include "cfbp/cfbp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void the_versions_agree(void **state)
{
    (void)state;
    char expected[64];
    snprintf(expected, sizeof(expected), "%d.%d.%d", CFBP_VERSION_MAJOR, CFBP_VERSION_MINOR,
             CFBP_VERSION_PATCH);
    assert_string_equal(cfbp_version(), expected);
    assert_int_equal(CFBP_VERSION_NUMBER,
                     CFBP_VERSION_MAJOR * 10000 + CFBP_VERSION_MINOR * 100 + CFBP_VERSION_PATCH);
    char *cmake_lists = test_path(CFBP_SOURCE_DIR, "CMakeLists.txt");
    char *text = test_read_file(cmake_lists);
    assert_non_null(text);
    char project[96];
    snprintf(project, sizeof(project), "project(cfbp VERSION %s ", expected);
    if (!strstr(text, project))
        fail_msg("CMakeLists.txt does not say '%s': keep include/cfbp/cfbp.h's CFBP_VERSION_* "
                 "equal to the project's version",
                 project);
    free(text);
    free(cmake_lists);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_versions_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
