#!/usr/bin/env bash
# Two clean builds of the config-server release artifact, from two different
# checkout paths, must give the same bytes, and the ones manifest.yml lists.
#   artifact_rebuild.sh SOURCE_DIR BUILT_ARTIFACT
set -euo pipefail
source_dir=$1
built=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/cfbp-rebuild-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/elsewhere"
tar -C "$source_dir" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$work/elsewhere" -xf -
cmake -S "$work/elsewhere" -B "$work/out" -DCFBP_TESTS=OFF >/dev/null
cmake --build "$work/out" -j "$(nproc)" --target config-server-artifact >/dev/null
rebuilt=$work/out/artifacts/$(basename "$built")
a=$(sha256sum "$built" | cut -d' ' -f1)
b=$(sha256sum "$rebuilt" | cut -d' ' -f1)
echo "this build:    $a"
echo "clean rebuild: $b"
if [ "$a" != "$b" ]; then
  echo "artifact_rebuild: the artifact is not reproducible" >&2
  exit 1
fi
grep -q "sha256: $a" "$source_dir/manifest.yml" || {
  echo "artifact_rebuild: manifest.yml does not list $a; run scripts/update-artifact-sha256" >&2
  exit 1
}
