/*
 * cfbp.h - libcfbp, the buildpack framework library for C: its version, and
 * every header of its API in one include.
 *
 * What a 0.x version promises: a patch release (0.1.0 to 0.1.1) keeps the API
 * and the ABI; a minor release (0.1 to 0.2) may change either, and when the
 * ABI changes the shared library's SONAME (libcfbp.so.0) changes with it.
 * From 1.0 on, the API and ABI change only with the major version.
 * CFBP_VERSION_* say which headers a program was built with; cfbp_version()
 * says which library it runs with.
 */
#ifndef CFBP_CFBP_H
#define CFBP_CFBP_H

/* The version of these headers (kept equal to the CMake project's version). */
#define CFBP_VERSION_MAJOR 0
#define CFBP_VERSION_MINOR 1
#define CFBP_VERSION_PATCH 0
/* Major, minor and patch in one comparable number: 0.1.0 is 100. */
#define CFBP_VERSION_NUMBER                                                                        \
    (CFBP_VERSION_MAJOR * 10000 + CFBP_VERSION_MINOR * 100 + CFBP_VERSION_PATCH)

#include "cfbp/alloc.h"
#include "cfbp/app_manifest.h"
#include "cfbp/archive.h"
#include "cfbp/beneath.h"
#include "cfbp/builder.h"
#include "cfbp/buildpack.h"
#include "cfbp/buildpack_registry.h"
#include "cfbp/digest.h"
#include "cfbp/elf_audit.h"
#include "cfbp/error.h"
#include "cfbp/fetch.h"
#include "cfbp/fs.h"
#include "cfbp/hooks.h"
#include "cfbp/install.h"
#include "cfbp/json.h"
#include "cfbp/launch.h"
#include "cfbp/launcher.h"
#include "cfbp/log.h"
#include "cfbp/manifest.h"
#include "cfbp/packager.h"
#include "cfbp/path.h"
#include "cfbp/platform.h"
#include "cfbp/process.h"
#include "cfbp/stager.h"
#include "cfbp/staging_result.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"
#include "cfbp/tarball.h"
#include "cfbp/text_table.h"
#include "cfbp/uri.h"
#include "cfbp/version.h"
#include "cfbp/workdir.h"
#include "cfbp/yaml.h"
#include "cfbp/zip.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the library this program runs with, "0.1.0". */
const char *cfbp_version(void);

#ifdef __cplusplus
}
#endif

#endif
