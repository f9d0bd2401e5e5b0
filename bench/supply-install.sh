#!/usr/bin/env bash
# Benchmark: `supply` installing a 140 MB .tgz dependency from a cached
# buildpack's `file:` entry, against `tar -xzf` of the same file.
#
#   bench/supply-install.sh            (BUILD=build SIZE_MB=140 RUNS=7)
#
# Both run warm (the archive is in the page cache) into a fresh directory on
# the same file system; the output is removed between runs, untimed. Wall
# time comes from hyperfine (median), peak memory (max RSS) from GNU time.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build}
size_mb=${SIZE_MB:-140}
runs=${RUNS:-7}
for tool in hyperfine /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench: needs $tool (scripts/install-deps installs it)" >&2; exit 1; }
done
[ -x "$build/bin/supply" ] || { echo "bench: build first: cmake -S . -B build && cmake --build build" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/cfbp-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/buildpack
mkdir -p "$root/bin" "$root/dependencies" "$work/app"
cp "$build/bin/supply" "$root/bin/"
archive=$root/dependencies/config-server-bench.tgz
"$repo/bench/make-dependency.sh" "$archive" "$size_mb"
sha=$(sha256sum "$archive" | cut -d' ' -f1)
printf '0.0.0-bench' > "$root/VERSION"
cat > "$root/manifest.yml" <<YAML
language: config-server-sidecar
default_versions: [{name: config-server, version: 1.0.0}]
dependencies:
- name: config-server
  version: 1.0.0
  uri: https://example.invalid/config-server-bench.tgz
  sha256: $sha
  cf_stacks: [cflinuxfs4]
  file: dependencies/config-server-bench.tgz
YAML
cat "$archive" > /dev/null   # warm the page cache for both contestants

tar_cmd="tar -xzf $archive -C $work/tar-out"
supply_cmd="env CF_STACK=cflinuxfs4 $root/bin/supply $work/app $work/cache $work/deps 0"
hyperfine --style basic --runs "$runs" --warmup 1 --export-csv "$work/times.csv" \
  --prepare "rm -rf $work/tar-out $work/deps $work/cache && mkdir -p $work/tar-out $work/deps/0" \
  -n "tar -xzf" "$tar_cmd" \
  -n "supply" "$supply_cmd > /dev/null" >&2

peak_kb() {
  rm -rf "$work/tar-out" "$work/deps" "$work/cache"
  mkdir -p "$work/tar-out" "$work/deps/0"
  /usr/bin/time -f '%M' -o "$work/rss" "$@" > /dev/null
  cat "$work/rss"
}
tar_rss=$(peak_kb tar -xzf "$archive" -C "$work/tar-out")
supply_rss=$(peak_kb env CF_STACK=cflinuxfs4 "$root/bin/supply" "$work/app" "$work/cache" "$work/deps" 0)

awk -F, -v size="$(stat -c %s "$archive")" -v tar_rss="$tar_rss" -v supply_rss="$supply_rss" '
  NR > 1 { median[$1] = $4 }   # command,mean,stddev,median,user,system,min,max
  END {
    printf "archive: %.1f MiB (.tgz)\n", size / 1048576
    printf "%-10s %10s %14s\n", "", "median s", "peak RSS MB"
    printf "%-10s %10.3f %14.1f\n", "tar -xzf", median["tar -xzf"], tar_rss / 1024
    printf "%-10s %10.3f %14.1f\n", "supply", median["supply"], supply_rss / 1024
    printf "supply / tar = %.2f\n", median["supply"] / median["tar -xzf"]
  }' "$work/times.csv"
