#!/usr/bin/env bash
# Makes the realistic benchmark inputs (issue 12) and caches them, so that only
# the first run on a machine pays for them (a few minutes: downloads, then gzip,
# xz and zip of about 730 MiB):
#
#   bench/make-inputs.sh [-f FORMATS] [jdk] [node]     (default: both, all formats)
#
#   -f FORMATS  comma-separated, from tgz txz zip: the archives to make besides the
#               plain .tar (default: all three; bench/run asks for those it runs)
#
#   jdk   Debian 12's OpenJDK 17 (openjdk-17-jdk-headless and -jre-headless,
#         fetched with `apt-get download`, unpacked with dpkg-deb), the tree
#         usr/lib/jvm/java-17-openjdk-amd64 with every symlink resolved inside
#         the unpacked packages (links to /etc/... become the files the packages
#         ship there; links to files no package ships are dropped): ~260 MiB in
#         ~300 files, a few large (modules, libjvm.so, src.zip is not shipped).
#   node  a node_modules tree from the npm registry: the packages and date in
#         bench/node-packages.txt, installed with --ignore-scripts: ~29,000
#         entries, ~470 MiB, mostly small text files.
#
# Each tree gets bin/config-server (a two-line script), which the sidecar's
# supply checks for after installing, and is packed as SHAPE.tar (the write
# floor's input), SHAPE.tgz (gzip -6), SHAPE.tar.xz (xz -6, one thread, so one
# block, as most published .tar.xz are) and SHAPE.zip (zip -6, symlinks kept).
# Members are sorted with fixed owners and times.
#
# Where: $CFBP_BENCH_CACHE/inputs (default ${XDG_CACHE_HOME:-~/.cache}/cfbp-bench/inputs: outside the repository, which
# tests and packaging copy).
# A file appears only once complete (made under a temporary name, then renamed),
# so an interrupted run just starts that file again. Delete the directory to
# make everything afresh. As root, missing Debian tools are installed.
set -euo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
cache=${CFBP_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cfbp-bench}
inputs=$cache/inputs
mkdir -p "$inputs"
formats=tgz,txz,zip
if [ "${1:-}" = -f ]; then
    formats=${2:?-f needs a list of formats}
    shift 2
fi
# One maker at a time: a second run waits here, then finds the files made.
exec 9>"$inputs/.lock"
flock 9

say() { printf 'make-inputs: %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 1
}

# need COMMAND DEBIAN-PACKAGE: installs the package as root, else names it.
need() {
    command -v "$1" >/dev/null && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        say "installing $2 (for $1)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" \
            >/dev/null 2>&1 || {
            DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                    "$2" >/dev/null
        } || die "could not install $2; install it (it gives $1) and run again"
        return 0
    fi
    die "needs $1: install the Debian package $2 (as root: apt-get install $2)"
}

work=
cleanup() { [ -z "$work" ] || rm -rf "$work"; }
trap cleanup EXIT

# The config-server the sidecar's supply requires after installing.
add_sidecar_binary() {
    mkdir -p "$1/bin"
    printf '#!/bin/sh\necho benchmark\n' >"$1/bin/config-server"
    chmod 755 "$1/bin/config-server"
}

make_jdk_tree() {
    local out=$1
    need apt-get apt
    need dpkg-deb dpkg
    work=$(mktemp -d "$inputs/.jdk-XXXXXX")
    local packages=(openjdk-17-jdk-headless openjdk-17-jre-headless)
    say "jdk: apt-get download ${packages[*]}"
    # The sandbox user (_apt) cannot write into our directory; root downloads itself.
    if ! (cd "$work" && apt-get -q -o APT::Sandbox::User=root download "${packages[@]}" \
        >/dev/null); then
        [ "$(id -u)" -eq 0 ] || die "apt-get download failed; as root, run apt-get update first"
        say "jdk: apt-get update, then again"
        apt-get update -qq >/dev/null
        (cd "$work" && apt-get -q -o APT::Sandbox::User=root download "${packages[@]}" >/dev/null)
    fi
    local deb
    for deb in "$work"/*.deb; do
        dpkg-deb -x "$deb" "$work/root"
    done
    local jvm=$work/root/usr/lib/jvm/java-17-openjdk-amd64
    [ -d "$jvm" ] || die "jdk: the packages hold no usr/lib/jvm/java-17-openjdk-amd64"
    # Absolute links (to /etc/java-17-openjdk, /usr/share/doc...) point into the unpacked
    # packages instead; links to what no package ships are dropped, until none is left.
    local link
    while IFS= read -r -d '' link; do
        ln -sfn "$work/root$(readlink "$link")" "$link"
    done < <(find "$work/root" -type l -lname '/*' -print0)
    while [ -n "$(find "$work/root" -xtype l -print -quit)" ]; do
        find "$work/root" -xtype l -delete
    done
    cp -rL "$jvm" "$work/tree"
    add_sidecar_binary "$work/tree"
    dpkg-deb -f "$work"/openjdk-17-jre-headless_*.deb Package Version >"$work/tree/.bench-source"
    mv "$work/tree" "$out"
    rm -rf "$work"
    work=
}

make_node_tree() {
    local out=$1 list=$bench/node-packages.txt
    need node nodejs
    need npm npm
    local before
    before=$(awk '$1 == "before" { print $2 }' "$list")
    local packages=()
    mapfile -t packages < <(grep -v -e '^#' -e '^before ' -e '^$' "$list")
    work=$(mktemp -d "$inputs/.node-XXXXXX")
    mkdir -p "$work/project"
    printf '{"name": "bench-node-shape", "version": "1.0.0", "private": true}\n' \
        >"$work/project/package.json"
    say "node: npm install --before=$before ${#packages[@]} packages (a minute or two)"
    (cd "$work/project" &&
        npm install --ignore-scripts --no-audit --no-fund --loglevel=error \
            --before="$before" "${packages[@]}" >/dev/null) ||
        die "node: npm install failed (see npm's message above)"
    mkdir -p "$work/tree"
    mv "$work/project/node_modules" "$work/project/package.json" "$work/tree/"
    add_sidecar_binary "$work/tree"
    printf 'npm install --before=%s %s\n' "$before" "${packages[*]}" >"$work/tree/.bench-source"
    mv "$work/tree" "$out"
    rm -rf "$work"
    work=
}

# make_file OUT COMMAND...: runs COMMAND with stdout to a temporary file, then renames it.
make_file() {
    local out=$1
    shift
    [ -s "$out" ] && return 0
    say "making $out"
    "$@" >"$out.partial"
    mv "$out.partial" "$out"
}

pack_tar() { tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 \
    -C "$1" -cf - .; }
pack_zip() {
    # zip writes to a file it names; members in sorted order, directories included.
    local tree=$1 zip
    zip=$(mktemp -u "$inputs/.zip-XXXXXX.zip")
    (cd "$tree" && find . -mindepth 1 -print | LC_ALL=C sort | sed 's|^\./||' |
        TZ=UTC zip -q -X -y -6 -@ "$zip")
    cat "$zip"
    rm -f "$zip"
}

make_shape() {
    local shape=$1 dir=$inputs/$1
    mkdir -p "$dir"
    if [ ! -d "$dir/tree" ]; then
        "make_${shape}_tree" "$dir/tree"
    fi
    need gzip gzip
    need xz xz-utils
    need zip zip
    make_file "$dir/$shape.tar" pack_tar "$dir/tree"
    [[ ,$formats, != *,tgz,* ]] || make_file "$dir/$shape.tgz" gzip -6 -n -c "$dir/$shape.tar"
    [[ ,$formats, != *,zip,* ]] || make_file "$dir/$shape.zip" pack_zip "$dir/tree"
    [[ ,$formats, != *,txz,* ]] || make_file "$dir/$shape.tar.xz" xz -6 -T1 -c "$dir/$shape.tar"
    say "$shape: ready in $dir"
}

shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(jdk node)
for shape in "${shapes[@]}"; do
    case $shape in
    jdk | node) make_shape "$shape" ;;
    *) die "unknown shape '$shape' (jdk or node)" ;;
    esac
done
