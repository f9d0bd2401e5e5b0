#!/usr/bin/env bash
# Makes a reproducible dependency archive for the benchmarks:
#   bench/make-dependency.sh OUT.tgz SIZE_MB
# Half the input is pseudo-random (incompressible, like binaries), half is
# hex text that compresses about 2:1, so the .tgz is about SIZE_MB and
# unpacks to a tree of ~2 MB files. The bytes depend only on SIZE_MB.
set -euo pipefail
out=$1
size_mb=${2:-140}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/dep/bin" "$work/dep/lib" "$work/dep/share"
# Pseudo-random bytes from AES-CTR over zeros with a fixed key: fast and repeatable.
# (openssl reads exactly the bytes it encrypts, so no pipe is cut short under pipefail.)
random_bytes() { head -c "$2" /dev/zero |
                   openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f -iv "$1"; }
files=$(( size_mb * 88 / 100 ))  # each pair of files adds ~1.14 MB of archive
for i in $(seq 1 "$files"); do
  iv=$(printf '%032x' "$i")
  random_bytes "$iv" $((1024 * 1024)) > "$work/dep/lib/blob-$i.so"
  # Text-like: a few thousand distinct lines, repeated with variation.
  random_bytes "$iv" $((64 * 1024)) | od -An -tx1 -v > "$work/dep/share/data-$i.txt"
done
printf '#!/bin/sh\necho benchmark\n' > "$work/dep/bin/config-server"
chmod 755 "$work/dep/bin/config-server"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 \
    -C "$work/dep" -cf - . | gzip -n -6 > "$out"
