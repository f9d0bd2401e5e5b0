# libarchive for the programs of this repository, from its static archive
# (included by the top-level CMakeLists.txt; defines cfbp_libarchive_static).
#
# Why: libarchive.so.13 needs libxml2, ICU, nettle, libacl, lz4, zstd, bzip2, ...
# and loading them was most of a cached supply's start-up (issue 12). libcfbp
# reads tar and zip (gzip and xz filters) and writes pax tar.gz and zip, so the
# programs link libarchive.a and take only those objects.
#
# How: libarchive.a is compiled with -ffunction-sections, and the only thing
# that drags in every writer (xar, hence libxml2; 7zip; iso9660; ...) is the
# by-name/by-code table of archive_write_set_format.o, which nothing of ours
# calls; -Wl,--gc-sections drops it, and with it every reference to libxml2.
# What stays needs (nm, ld -Map): zlib (deflate, inflate, crc32), liblzma (the
# xz filter and LZMA zip entries), libzstd and libbz2 (zstd and bzip2 zip
# entries) and nettle (encrypted zip: AES, HMAC-SHA1, PBKDF2). They are linked
# from their static archives too, except zlib: libz.so.1 is on every stack
# and libcfbp links it anyway (PkgConfig::ZLIB).
#
# Debian: libarchive-dev, liblzma-dev, libzstd-dev, libbz2-dev, nettle-dev and
# zlib1g-dev hold the archives (scripts/install-deps). They are built as
# position-independent code (Debian's default PIE), which our PIE programs
# need; they are not usable in a shared library, so libcfbp.so links the
# shared libarchive (lib/CMakeLists.txt).

set(cfbp_static_archives "")
foreach(library IN ITEMS archive lzma zstd bz2 nettle)
  string(TOUPPER "${library}" variable)
  find_library(CFBP_STATIC_${variable} NAMES lib${library}.a
               DOC "lib${library}.a, linked into the programs of this repository")
  if(NOT CFBP_STATIC_${variable})
    message(FATAL_ERROR "lib${library}.a not found: the programs link libarchive and the "
                        "compression libraries it needs statically (cmake/libarchive_static.cmake); "
                        "run scripts/install-deps")
  endif()
  list(APPEND cfbp_static_archives ${CFBP_STATIC_${variable}})
endforeach()

# libarchive.a first: the linker takes from each archive what the ones before it need.
add_library(cfbp_libarchive_static INTERFACE)
target_include_directories(cfbp_libarchive_static INTERFACE ${LIBARCHIVE_INCLUDE_DIRS})
target_link_libraries(cfbp_libarchive_static INTERFACE ${cfbp_static_archives} PkgConfig::ZLIB)
target_link_options(cfbp_libarchive_static INTERFACE LINKER:--gc-sections)
unset(cfbp_static_archives)
