#!/bin/bash
# build-bench-guest.sh - the benchmark guest: the e2e guest's kernel and
# initramfs, with /probe replaced by the static fsbench and the virtiofs
# modules (fuse, virtiofs) added after the 9p ones.  The e2e guest itself is
# only built (e2e/guest/build-guest.sh), never changed.
#
# Produces, under work/bench/guest/ (BENCH_GUEST=DIR overrides):
#   vmlinuz, initramfs.gz, fsbench (also runs on the host)
# Idempotent: rebuilt only when an input changed.  Needs root (via the e2e
# guest build the first time).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SRC_GUEST=$TOP/work/guest
OUT=${BENCH_GUEST:-$TOP/work/bench/guest}

say() { printf '==> bench guest: %s\n' "$*"; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }
. "$TOP/e2e/guest/initramfs-lib.sh"

say "the e2e guest (kernel, initramfs)"
"$TOP/e2e/guest/build-guest.sh" | tail -n 1
KREL=$(cat "$SRC_GUEST/kernel.release")
MODDIR=$SRC_GUEST/kernel/lib/modules/$KREL
mkdir -p "$OUT"

sum=$(sha256sum < "$HERE/fsbench.c")
if [[ -x $OUT/fsbench && $(cat "$OUT/fsbench.src-sha256" 2>/dev/null) == "$sum" ]]; then
    say "fsbench: up to date"
else
    say "compiling fsbench (gcc -static)"
    gcc -static -O2 -Wall -Werror -o "$OUT/fsbench.tmp" "$HERE/fsbench.c"
    mv "$OUT/fsbench.tmp" "$OUT/fsbench"
    echo "$sum" > "$OUT/fsbench.src-sha256"
fi

# fuse and virtiofs from modules.dep; virtio and virtio_ring are loaded
# already for 9p.
mods=()
for m in fuse virtiofs; do
    p=$(awk -F: -v re="/$m[.]ko" '$1 ~ re { print $1; exit }' "$MODDIR/modules.dep")
    [[ -n $p ]] || die "module $m not in $MODDIR/modules.dep"
    mods+=("$p")
done

inputs=$({
    echo "$KREL ${mods[*]}"
    sha256sum "$SRC_GUEST/initramfs.gz" "$OUT/fsbench" "$HERE/build-bench-guest.sh" \
        "$TOP/e2e/guest/initramfs-lib.sh"
} | sha256sum)
if [[ -f $OUT/initramfs.gz && -f $OUT/vmlinuz &&
      $(cat "$OUT/initramfs.inputs" 2>/dev/null) == "$inputs" ]]; then
    say "initramfs: up to date"
else
    say "repacking the e2e initramfs with fsbench as /probe, + fuse virtiofs"
    R=$OUT/root
    rm -rf "$R"
    mkdir -p "$R"
    (cd "$R" && gzip -dc "$SRC_GUEST/initramfs.gz" | cpio --quiet -id)
    install -m 0755 "$OUT/fsbench" "$R/probe"
    add_modules "$R" "$MODDIR" "${mods[@]}"
    pack_initramfs "$R" "$OUT/initramfs.gz"
    install -m 0644 "$SRC_GUEST/vmlinuz" "$OUT/vmlinuz"
    echo "$inputs" > "$OUT/initramfs.inputs"
fi
# the staging root holds a device node (dev/console): only the archive stays
rm -rf "$OUT/root"
say "ready: $OUT/vmlinuz ($KREL), $OUT/initramfs.gz"
