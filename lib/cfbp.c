/*
 * cfbp.c - the library's own version (see cfbp.h).
 */
#include "cfbp/cfbp.h"

#define CFBP_STRINGIFY(x) #x
#define CFBP_VERSION_TEXT(major, minor, patch)                                                     \
    CFBP_STRINGIFY(major) "." CFBP_STRINGIFY(minor) "." CFBP_STRINGIFY(patch)

const char *cfbp_version(void)
{
    return CFBP_VERSION_TEXT(CFBP_VERSION_MAJOR, CFBP_VERSION_MINOR, CFBP_VERSION_PATCH);
}
