#!/usr/bin/env bash
# The installed libcfbp, as a buildpack author gets it (ctest -L install).
#
#   run.sh SOURCE_DIR BUILD_DIR C_COMPILER LIBDIR
#
# `cmake --install` BUILD_DIR into a temporary prefix; checks what landed there
# that libcfbp.so exports only cfbp_ symbols under the SONAME libcfbp.so.0 (and
# libcfbp.a defines only cfbp_ and cfbpi_ ones);
# builds examples/binary-supply against the prefix four ways (pkg-config with
# libcfbp.so, pkg-config --static with libcfbp.a, find_package with cfbp::cfbp
# and with cfbp::cfbp_static); runs each on a dependency made here (a .tgz
# served by file://) and checks it landed in deps/<idx>/bin with config.yml;
# finally packages the example with the installed `cfbp package` and stages an
# app with it and a final buildpack written here using `cfbp stage`, and looks
# for the dependency in the droplet. Everything happens in one temporary
# directory, removed at the end.
set -euo pipefail
source_dir=$1 build_dir=$2 cc=$3 libdir=$4

work=$(mktemp -d "${TMPDIR:-/tmp}/cfbp-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
log=$work/log
: >"$log"
fail() {
  echo "install test: $*" >&2
  [ -s "$log" ] && { echo "--- its output:" >&2; tail -n 40 "$log" >&2; }
  exit 1
}
step() { echo "==> $*"; : >"$log"; }
# Everything the programs write for themselves stays in $work.
export HOME=$work/home CFBP_HOME=$work/cfbp-home TMPDIR=$work/tmp CC=$cc
mkdir -p "$HOME" "$CFBP_HOME" "$TMPDIR"
unset BUILDPACK_DIR BP_DEBUG CF_STACK

step "cmake --install $build_dir --prefix $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$log" 2>&1 || fail "cmake --install failed"
for file in "$libdir/libcfbp.so.0" "$libdir/libcfbp.so" "$libdir/libcfbp.a" \
            "$libdir/pkgconfig/cfbp.pc" "$libdir/cmake/cfbp/cfbpConfig.cmake" \
            "$libdir/cmake/cfbp/cfbpConfigVersion.cmake" "$libdir/cmake/cfbp/cfbpTargets.cmake" \
            "$libdir/cmake/cfbp/cfbpStaticTargets.cmake" include/cfbp/stager.h bin/cfbp \
            libexec/cfbp/supply libexec/cfbp/finalize libexec/cfbp/detect libexec/cfbp/release \
            libexec/cfbp/compile libexec/cfbp/config-server; do
  [ -e "$prefix/$file" ] || fail "cmake --install did not install $file"
done
installed=$(find "$source_dir/include/cfbp" -name '*.h' | wc -l)
[ "$(find "$prefix/include/cfbp" -name '*.h' | wc -l)" -eq "$installed" ] ||
  fail "not all $installed headers of include/cfbp/ were installed"

step "libcfbp.so: SONAME and exported symbols"
so=$prefix/$libdir/libcfbp.so.0
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libcfbp.so.0 ] || fail "the SONAME of libcfbp.so.0 is '$soname', not libcfbp.so.0"
exported=$(nm -D --defined-only "$so" | awk '{print $3}')
others=$(grep -v '^cfbp_' <<<"$exported" || true)
[ -z "$others" ] || fail "libcfbp.so exports symbols other than cfbp_*: $(echo $others)"
count=$(grep -c '^cfbp_' <<<"$exported" || true)
[ "$count" -gt 100 ] || fail "libcfbp.so exports only $count cfbp_ symbols"
echo "SONAME $soname; $count symbols exported, all cfbp_*"
# libcfbp.a: the public API (cfbp_) and what its files share among themselves (cfbpi_), nothing
# a user's program could also define.
defined=$(nm -g --defined-only "$prefix/$libdir/libcfbp.a" 2>/dev/null | awk 'NF == 3 {print $3}')
others=$(grep -v -e '^cfbp_' -e '^cfbpi_' <<<"$defined" || true)
[ -z "$others" ] || fail "libcfbp.a defines symbols other than cfbp_* and cfbpi_*: $(echo $others)"
echo "libcfbp.a: $(wc -l <<<"$defined") symbols defined, all cfbp_* or cfbpi_*"

step "a dependency and the example buildpack"
mkdir -p "$work/dependency/bin"
printf '#!/bin/sh\necho "hello from the dependency"\n' >"$work/dependency/bin/hello"
chmod 0755 "$work/dependency/bin/hello"
tar -C "$work/dependency" -czf "$work/hello-1.2.3-linux-x64.tgz" bin
sha256=$(sha256sum "$work/hello-1.2.3-linux-x64.tgz" | cut -d' ' -f1)
example=$work/binary-supply
mkdir "$example"
(cd "$source_dir/examples/binary-supply" &&
  cp -R supply.c CMakeLists.txt Makefile README.md VERSION bin scripts "$example/")
rm -f "$example/bin/supply"
cat >"$example/manifest.yml" <<EOF
---
language: binary-supply
default_versions:
- name: hello
  version: 1.2.x
dependency_deprecation_dates: []
pre_package: scripts/build
include_files:
- bin/supply
- bin/detect
- manifest.yml
- VERSION
- README.md
dependencies:
- name: hello
  version: 1.2.3
  uri: file://$work/hello-1.2.3-linux-x64.tgz
  sha256: $sha256
  cf_stacks:
  - cflinuxfs4
EOF

export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
# check_linking shared|static BINARY: whether BINARY needs libcfbp.so.0, as it should.
check_linking() {
  # Whole outputs into variables, never "cmd | grep -q": with pipefail, grep -q leaving early
  # can make the pipeline fail on the writer's SIGPIPE.
  dynamic=$(readelf -d "$2")
  if grep -q 'NEEDED.*\[libcfbp\.so\.0\]' <<<"$dynamic"; then linked=shared; else linked=static; fi
  [ "$linked" = "$1" ] || fail "$2 links libcfbp $linked, not $1"
}
mkdir "$work/supplies"

step "build with pkg-config, libcfbp.so"
make -C "$example" --always-make LIBCFBP=shared LDFLAGS="-Wl,-rpath,$prefix/$libdir" \
  bin/supply >"$log" 2>&1 || fail "make LIBCFBP=shared failed"
mv "$example/bin/supply" "$work/supplies/pkg-config-shared"
check_linking shared "$work/supplies/pkg-config-shared"

step "build with pkg-config --static, libcfbp.a"
make -C "$example" --always-make bin/supply >"$log" 2>&1 || fail "make (libcfbp.a) failed"
mv "$example/bin/supply" "$work/supplies/pkg-config-static"
check_linking static "$work/supplies/pkg-config-static"

for variant in shared static; do
  step "build with find_package(cfbp), cfbp::cfbp$([ $variant = static ] && echo _static)"
  option=OFF
  [ $variant = static ] && option=ON
  cmake -S "$example" -B "$work/cmake-$variant" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" -DBINARY_SUPPLY_STATIC=$option >"$log" 2>&1 ||
    fail "configuring the example with find_package(cfbp) failed"
  found=$(sed -n 's/^cfbp_DIR:PATH=//p' "$work/cmake-$variant/CMakeCache.txt")
  [ "$found" = "$prefix/$libdir/cmake/cfbp" ] || fail "find_package(cfbp) found $found"
  cmake --build "$work/cmake-$variant" >"$log" 2>&1 || fail "building the example with CMake failed"
  mv "$work/cmake-$variant/supply" "$work/supplies/cmake-$variant"
  check_linking $variant "$work/supplies/cmake-$variant"
done

for supply in "$work"/supplies/*; do
  name=$(basename "$supply")
  step "run $name"
  run=$work/run-$name
  mkdir -p "$run/app" "$run/deps"
  CF_STACK=cflinuxfs4 BUILDPACK_DIR=$example "$supply" "$run/app" "$run/cache" "$run/deps" 0 \
    >"$log" 2>&1 || fail "$name failed"
  grep -q 'Installing hello 1.2.3' "$log" || fail "$name did not say it installed hello 1.2.3"
  [ -x "$run/deps/0/bin/hello" ] || fail "$name did not install deps/0/bin/hello"
  [ "$("$run/deps/0/bin/hello")" = "hello from the dependency" ] || fail "deps/0/bin/hello is wrong"
  grep -q '^name: binary-supply' "$run/deps/0/config.yml" 2>/dev/null ||
    fail "$name wrote no deps/0/config.yml naming binary-supply"
done

step "a stack the manifest does not support fails and adds nothing"
run=$work/run-wrong-stack
mkdir -p "$run/app" "$run/deps"
status=0
CF_STACK=cflinuxfs3 BUILDPACK_DIR=$example "$work/supplies/pkg-config-static" "$run/app" \
  "$run/cache" "$run/deps" 0 >"$log" 2>&1 || status=$?
[ "$status" -eq 1 ] || fail "supply on cflinuxfs3 exited $status, not 1"
grep -q 'Stack not supported by buildpack' "$log" || fail "supply on cflinuxfs3 did not say why"
[ -z "$(ls -A "$run/deps/0")" ] || fail "supply on cflinuxfs3 left files in deps/0"

step "cfbp package the example (pre_package builds bin/supply with libcfbp.a)"
"$prefix/bin/cfbp" package --any-stack --output "$work/zips" "$example" >"$log" 2>&1 ||
  fail "cfbp package failed"
zip=$(ls "$work"/zips/*.zip)
members=$(unzip -l "$zip")
grep -q ' bin/supply$' <<<"$members" || fail "$zip holds no bin/supply"

step "cfbp stage an app with it and a final buildpack"
final=$work/final-buildpack
mkdir -p "$final/bin" "$work/app"
echo "an app" >"$work/app/index.txt"
printf '#!/bin/sh\nexit 0\n' >"$final/bin/detect"
printf '#!/bin/sh\nexit 0\n' >"$final/bin/supply"
# Runs what the supply buildpacks put on PATH, as a final buildpack would.
cat >"$final/bin/finalize" <<'EOF'
#!/bin/sh
set -e
for bin in "$3"/*/bin; do PATH="$bin:$PATH"; done
hello >"$1/hello-at-staging.txt"
EOF
printf '#!/bin/sh\nprintf -- "---\\ndefault_process_types:\\n  web: hello\\n"\n' >"$final/bin/release"
chmod 0755 "$final"/bin/*
"$prefix/bin/cfbp" stage "$work/app" -b "$zip" -b "$final" --droplet "$work/droplet.tgz" \
  >"$log" 2>&1 || fail "cfbp stage failed"
grep -q 'Installing hello 1.2.3' "$log" || fail "staging did not install hello 1.2.3"
tar -tzf "$work/droplet.tgz" >"$work/droplet.list"
for member in ./deps/0/bin/hello ./deps/0/config.yml ./app/hello-at-staging.txt; do
  grep -qx "$member" "$work/droplet.list" || fail "the droplet has no $member"
done
tar -xzf "$work/droplet.tgz" -C "$work/tmp" ./app/hello-at-staging.txt
[ "$(cat "$work/tmp/app/hello-at-staging.txt")" = "hello from the dependency" ] ||
  fail "the final buildpack did not find hello on PATH"
step "the installed library works for a buildpack built on it alone"
