# Debian packages of what `cmake --install` installs, one per install component:
#
#   runtime      libcfbp0      libcfbp.so.0 (the package is named after the SONAME)
#   development  libcfbp-dev   headers, libcfbp.so, libcfbp.a, cfbp.pc, the CMake package
#   tools        cfbp-tools    cfbp, and the buildpack programs and config-server in
#                              libexec/cfbp/
#
#   cmake -S . -B build-deb -DCMAKE_INSTALL_PREFIX=/usr -DCFBP_TESTS=OFF
#   cmake --build build-deb && (cd build-deb && cpack -G DEB)
#   apt-get install ./build-deb/libcfbp0_*.deb ./build-deb/libcfbp-dev_*.deb
#
# Configuring with the prefix /usr gives Debian's multiarch library directory
# (lib/x86_64-linux-gnu); the packages install under /usr either way.
# dpkg-shlibdeps (dpkg-dev) works out the Depends of the programs and the library.
set(CPACK_PACKAGE_NAME cfbp)
set(CPACK_PACKAGE_VENDOR "cfbp project")
set(CPACK_PACKAGE_CONTACT "cfbp project <cfbp@users.noreply.github.com>")
set(CPACK_PACKAGE_HOMEPAGE_URL "https://github.com/cfbp-project/config-server-sidecar-buildpack")
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_COMPONENTS_ALL runtime development tools)
set(CPACK_COMPONENT_DEVELOPMENT_DEPENDS runtime)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libcfbp${CFBP_SOVERSION})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
# libcurl is loaded with dlopen on the first download (lib/curl_loader.c), which
# dpkg-shlibdeps cannot see.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "libcurl4")
set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS "libcurl4")
# A shlibs file, so that packages of programs linked with libcfbp.so.0 depend on
# libcfbp0 (>= this version): the SONAME changes with any ABI break. CPack adds the
# ldconfig calls. (Only libcfbp0 holds a shared library.)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
string(CONCAT CPACK_DEBIAN_RUNTIME_DESCRIPTION
    "C framework for Cloud Foundry buildpacks: the shared library\n"
    "libcfbp does for buildpacks written in C what libbuildpack does for Go ones:\n"
    "the buildpack manifest, versions and constraints, dependency downloads and\n"
    "installs, the staging directories and the files the platform reads from them.")

set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME libcfbp-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
# cfbp.pc's Requires.private and the CMake package's cfbp::cfbp_static need these.
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS
    "libarchive-dev, libyaml-dev, nettle-dev, zlib1g-dev, libelf-dev, libxxhash-dev")
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_RECOMMENDS "pkg-config")
string(CONCAT CPACK_DEBIAN_DEVELOPMENT_DESCRIPTION
    "C framework for Cloud Foundry buildpacks: development files\n"
    "Headers, the static library, pkg-config file (cfbp) and CMake package\n"
    "(find_package(cfbp): cfbp::cfbp, cfbp::cfbp_static) of libcfbp.")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME cfbp-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION devel)
string(CONCAT CPACK_DEBIAN_TOOLS_DESCRIPTION
    "Packages, stages and runs Cloud Foundry buildpacks locally\n"
    "cfbp package makes the zips cf create-buildpack takes; cfbp stage and cfbp run\n"
    "stage and run an app with buildpacks the way Cloud Foundry does. Also ships\n"
    "the config-server sidecar buildpack's programs in /usr/libexec/cfbp.")

include(CPack)
