#!/usr/bin/env bash
# Every installed header, as a user of the library includes it (ctest -L install):
#
#   headers.sh BUILD_DIR C_COMPILER CXX_COMPILER LIBDIR
#
# `cmake --install` BUILD_DIR into a temporary prefix, then
#   - compiles each header alone in C17 (a header includes what it needs);
#   - compiles and links a C file that includes all of them, calls libcfbp, and
#     takes the address of every symbol libcfbp.so exports that a header
#     declares: each declaration must name something the library has;
#   - compiles and links the same in C++17 (g++): every declaration must have
#     C linkage (extern "C"), and the headers use nothing C++ lacks.
# Every failure is listed before the test fails; for C++, with the headers
# whose functions the linker looked for under C++ names.
set -uo pipefail
build_dir=$1 cc=$2 cxx=$3 libdir=$4

work=$(mktemp -d "${TMPDIR:-/tmp}/cfbp-headers-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
if ! cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log" 2>&1; then
  cat "$work/install.log" >&2
  echo "headers test: cmake --install failed" >&2
  exit 1
fi
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
cflags=$(pkg-config --cflags cfbp) libs=$(pkg-config --libs cfbp)
rpath=-Wl,-rpath,$prefix/$libdir
warnings=(-Wall -Wextra -Werror)

failures=()
# check NAME COMMAND...: runs the compiler, keeping what it said when it fails.
check() {
  local name=$1
  shift
  if "$@" >"$work/out" 2>&1; then
    echo "ok    $name"
  else
    echo "FAIL  $name"
    sed -n '1,16s/^/      /p' "$work/out"
    failures+=("$name")
  fi
}

headers=()
for path in "$prefix"/include/cfbp/*.h; do
  headers+=("cfbp/$(basename "$path")")
done
for header in "${headers[@]}"; do
  printf '#include <%s>\n' "$header" >"$work/alone.c"
  check "C17: $header alone" "$cc" -std=c17 "${warnings[@]}" $cflags -fsyntax-only "$work/alone.c"
done

# Every symbol libcfbp.so exports that an installed header names: CFBP_SYMBOL(name) lines.
nm -D --defined-only "$prefix/$libdir/libcfbp.so" | awk '{print $3}' | sort -u >"$work/exported"
grep -ohw 'cfbp_[A-Za-z0-9_]*' "$prefix"/include/cfbp/*.h | sort -u >"$work/declared"
comm -12 "$work/exported" "$work/declared" | sed 's/.*/CFBP_SYMBOL(&)/' >"$work/symbols.inc"
undeclared=$(comm -23 "$work/exported" "$work/declared")
[ -z "$undeclared" ] || echo "note: exported but in no installed header: $(echo $undeclared)"

# All of them, the address of each of those symbols (the linker must find each under its
# C name), and a call into the library.
{
  printf '#include <%s>\n' "${headers[@]}"
  cat <<'EOF'
#include <string.h>
#ifdef __cplusplus
#define CFBP_SYMBOL(name) reinterpret_cast<const void *>(&name),
extern const void *const cfbp_test_symbols[];
#else
#define CFBP_SYMBOL(name) (const void *)&name,
#endif
const void *const cfbp_test_symbols[] = {
#include "symbols.inc"
};
int main(void)
{
    struct cfbp_error err = CFBP_ERROR_INIT;
    cfbp_error_set(&err, CFBP_ERROR_FAILED, "%s", "from the header test");
    int ok = err.message && strcmp(err.message, "from the header test") == 0;
    cfbp_error_clear(&err);
    return ok ? 0 : 1;
}
EOF
} >"$work/all.c"
cp "$work/all.c" "$work/all.cpp"

check "C17: all headers, linked with libcfbp.so" \
  "$cc" -std=c17 "${warnings[@]}" $cflags "$work/all.c" -o "$work/all-c" $libs "$rpath"
[ -x "$work/all-c" ] && check "C17: the program runs" "$work/all-c"
check "C++17: all headers, linked with libcfbp.so" \
  "$cxx" -std=c++17 "${warnings[@]}" $cflags "$work/all.cpp" -o "$work/all-cxx" $libs "$rpath"
if [ -x "$work/all-cxx" ]; then
  check "C++17: the program runs" "$work/all-cxx"
else
  # Functions the linker looked for under C++ (mangled) names: their headers lack extern "C".
  missing=$(sed -n 's/.*undefined reference to `\(cfbp_[A-Za-z0-9_]*\)(.*/\1/p' "$work/out" |
            sort -u)
  if [ -n "$missing" ]; then
    echo "      $(echo $missing | wc -w) functions have C++ linkage; the headers declaring them:"
    for name in $missing; do
      grep -lE "\\b$name\\(" "$prefix"/include/cfbp/*.h | xargs -n1 basename
    done | sort | uniq -c | awk '{printf "        cfbp/%s (%d)\n", $2, $1}'
  fi
fi

if [ ${#failures[@]} -gt 0 ]; then
  echo "headers test: ${#failures[@]} failed:" >&2
  printf '  %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "headers test: all ${#headers[@]} headers compile alone in C17, and together in C17 and C++17"
