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
# from their static archives too.
#
# zlib and libyaml, which libcfbp itself uses, are linked from theirs as well
# (cfbp_zlib_static, cfbp_yaml_static; lib/CMakeLists.txt puts them in
# libcfbp.a's link interface): each shared library costs a small install
# about 0.15 ms of the loader's work on the VMs we measure (issue 12), and a
# cached supply loads only libc. What the programs run with is then what
# they were built and tested with, as with the Go buildpacks' static
# binaries; a zlib or libyaml fix reaches them with a rebuild of the
# buildpack, not with a stack update. The programs do not export these
# symbols, so a library loaded later (libcurl needs libz.so.1) keeps its own.
#
# Debian: libarchive-dev, liblzma-dev, libzstd-dev, libbz2-dev, nettle-dev,
# zlib1g-dev and libyaml-dev hold the archives (scripts/install-deps). They are built as
# position-independent code (Debian's default PIE), which our PIE programs
# need; they are not usable in a shared library, so libcfbp.so links the
# shared libarchive (lib/CMakeLists.txt).

set(cfbp_static_archives "")
foreach(library IN ITEMS archive lzma zstd bz2 nettle z yaml)
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

add_library(cfbp_zlib_static INTERFACE)
target_include_directories(cfbp_zlib_static INTERFACE ${ZLIB_INCLUDE_DIRS})
target_link_libraries(cfbp_zlib_static INTERFACE ${CFBP_STATIC_Z})
add_library(cfbp_yaml_static INTERFACE)
target_include_directories(cfbp_yaml_static INTERFACE ${YAML_INCLUDE_DIRS})
target_link_libraries(cfbp_yaml_static INTERFACE ${CFBP_STATIC_YAML})

# libarchive.a first: the linker takes from each archive what the ones before it need.
list(REMOVE_ITEM cfbp_static_archives ${CFBP_STATIC_Z} ${CFBP_STATIC_YAML})
add_library(cfbp_libarchive_static INTERFACE)
target_include_directories(cfbp_libarchive_static INTERFACE ${LIBARCHIVE_INCLUDE_DIRS})
target_link_libraries(cfbp_libarchive_static INTERFACE ${cfbp_static_archives} cfbp_zlib_static)
target_link_options(cfbp_libarchive_static INTERFACE LINKER:--gc-sections)
unset(cfbp_static_archives)
