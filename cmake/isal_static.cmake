# ISA-L's inflate (igzip) for libcfbp's gzip reader, from a static archive
# built from Debian's source of libisal (included by the top-level
# CMakeLists.txt; defines the imported target cfbp_isal and CFBP_ISAL_ARCHIVE).
#
# Why: extracting a .tgz is bound by inflate, and zlib's inflate was most of a
# JDK-sized install (issue 12). igzip inflates the same stream in about 0.6 of
# zlib's time on x86-64, CRC-32 included. No stack has libisal (cflinuxfs4/5)
# and Debian 12 ships it only as a shared library, so it is built from source
# and linked in: the programs, libcfbp.so and (as libisal_cfbp.a, installed
# beside it) libcfbp.a all carry it, and nothing new is loaded at run time.
#
# scripts/install-deps downloads libisal_2.30.0.orig.tar.xz from Debian's
# archive, checks its SHA-256 (the one libisal_2.30.0-5.dsc gives), and builds
# igzip and the CRC code it needs, position-independent, with nasm into
# .deps/isa-l-2.30.0/ (lib/libisal.a, include/) once per checkout.

set(CFBP_ISAL_VERSION 2.30.0)
set(CFBP_ISAL_DIR "${PROJECT_SOURCE_DIR}/.deps/isa-l-${CFBP_ISAL_VERSION}"
    CACHE PATH "ISA-L's inflate, built by scripts/install-deps (lib/libisal.a, include/)")
set(CFBP_ISAL_ARCHIVE "${CFBP_ISAL_DIR}/lib/libisal.a")
if(NOT EXISTS "${CFBP_ISAL_ARCHIVE}" OR NOT EXISTS "${CFBP_ISAL_DIR}/include/igzip_lib.h")
  message(FATAL_ERROR "${CFBP_ISAL_ARCHIVE} not found: libcfbp inflates gzip with ISA-L, built "
                      "from Debian's source by scripts/install-deps (cmake/isal_static.cmake); "
                      "run scripts/install-deps")
endif()

add_library(cfbp_isal STATIC IMPORTED GLOBAL)
set_target_properties(cfbp_isal PROPERTIES
  IMPORTED_LOCATION "${CFBP_ISAL_ARCHIVE}"
  INTERFACE_INCLUDE_DIRECTORIES "${CFBP_ISAL_DIR}/include")
