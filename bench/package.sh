#!/usr/bin/env bash
# Benchmark: `cfbp package --cached` of a buildpack around a generated 140 MB
# dependency, beside `zip -0` of the same files (the floor: store everything)
# and `zip -6` (what deflating everything again, as the Go packager does, costs).
#
#   bench/package.sh            (BUILD=build SIZE_MB=140 RUNS=5)
#
# The dependency is reached through a file:// URI, so no network is involved;
# everything is warm in the page cache. Wall time: hyperfine median. Peak
# memory: GNU time's max RSS.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build}
size_mb=${SIZE_MB:-140}
runs=${RUNS:-5}
for tool in hyperfine /usr/bin/time zip; do
  command -v "$tool" >/dev/null || { echo "bench: needs $tool (scripts/install-deps installs it)" >&2; exit 1; }
done
[ -x "$build/bin/cfbp" ] || { echo "bench: build first: cmake -S . -B build && cmake --build build" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/cfbp-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
dependency=$work/deps/config-server-bench.tgz
mkdir -p "$work/deps" "$work/buildpack/bin"
"$repo/bench/make-dependency.sh" "$dependency" "$size_mb"
sha=$(sha256sum "$dependency" | cut -d' ' -f1)
uri="file://$dependency"
for program in supply finalize detect release compile; do
  cp "$build/bin/$program" "$work/buildpack/bin/"
done
printf '1.0.0' > "$work/buildpack/VERSION"
cat > "$work/buildpack/manifest.yml" <<YAML
language: bench
default_versions: [{name: config-server, version: 1.0.0}]
include_files: [bin/supply, bin/finalize, bin/detect, bin/release, bin/compile, manifest.yml, VERSION]
dependencies:
- name: config-server
  version: 1.0.0
  uri: $uri
  sha256: $sha
  cf_stacks: [cflinuxfs4]
YAML
# The same files, laid out as in the zip, for the zip runs (the dependency is hard-linked).
md5=$(printf '%s' "$uri" | md5sum | cut -d' ' -f1)
plain=$work/plain
mkdir -p "$plain/bin" "$plain/dependencies/$md5"
cp "$work/buildpack/bin/"* "$plain/bin/"
cp "$work/buildpack/manifest.yml" "$work/buildpack/VERSION" "$plain/"
ln "$dependency" "$plain/dependencies/$md5/config-server-bench.tgz"
cat "$dependency" > /dev/null

package_cmd="$build/bin/cfbp package --cached --stack cflinuxfs4 --quiet --output $work/out --cachedir $work/cache $work/buildpack"
zip0_cmd="cd $plain && zip -0 -q -r -D -X $work/zip0.zip ."
zip6_cmd="cd $plain && zip -6 -q -r -D -X $work/zip6.zip ."
hyperfine --style basic --runs "$runs" --warmup 1 --export-csv "$work/times.csv" \
  --prepare "rm -rf $work/out $work/zip0.zip $work/zip6.zip" \
  -n "cfbp package" "$package_cmd > /dev/null" \
  -n "zip -0" "$zip0_cmd" \
  -n "zip -6" "$zip6_cmd" >&2

peak_kb() {
  rm -rf "$work/out" "$work/zip0.zip" "$work/zip6.zip"
  /usr/bin/time -f '%M' -o "$work/rss" bash -c "$1" > /dev/null
  cat "$work/rss"
}
package_rss=$(peak_kb "exec $package_cmd")
zip0_rss=$(peak_kb "$zip0_cmd")
zip6_rss=$(peak_kb "$zip6_cmd")

awk -F, -v size="$(stat -c %s "$dependency")" -v p_rss="$package_rss" -v z0_rss="$zip0_rss" \
    -v z6_rss="$zip6_rss" '
  NR > 1 { median[$1] = $4 }   # command,mean,stddev,median,user,system,min,max
  END {
    printf "dependency: %.1f MiB (.tgz)\n", size / 1048576
    printf "%-14s %10s %14s\n", "", "median s", "peak RSS MB"
    printf "%-14s %10.3f %14.1f\n", "cfbp package", median["cfbp package"], p_rss / 1024
    printf "%-14s %10.3f %14.1f\n", "zip -0", median["zip -0"], z0_rss / 1024
    printf "%-14s %10.3f %14.1f\n", "zip -6", median["zip -6"], z6_rss / 1024
    printf "cfbp package / zip -0 = %.2f\n", median["cfbp package"] / median["zip -0"]
  }' "$work/times.csv"
