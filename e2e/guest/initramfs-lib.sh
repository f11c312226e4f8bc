# Pieces of an initramfs build shared by build-guest.sh and
# e2e/bench/build-bench-guest.sh. Sourced, never run; needs die().
# shellcheck shell=bash

# modname FILE: the module name the kernel uses for a .ko file
modname() { local b=${1##*/}; b=${b%%.ko*}; echo "${b//-/_}"; }

# add_modules ROOT MODDIR FILE...: the modules FILE... (paths under MODDIR,
# compressed or not) as ROOT/lib/modules/NAME.ko, their names appended to
# ROOT/modules.order in the order given (init loads them in that order)
add_modules() {
    local root=$1 moddir=$2 p name
    shift 2
    mkdir -p "$root/lib/modules"
    for p in "$@"; do
        name=$(modname "$p")
        case $p in
            *.ko.xz)  xz -dc "$moddir/$p" > "$root/lib/modules/$name.ko" ;;
            *.ko.zst) zstd -qdc "$moddir/$p" > "$root/lib/modules/$name.ko" ;;
            *.ko.gz)  gzip -dc "$moddir/$p" > "$root/lib/modules/$name.ko" ;;
            *.ko)     cp "$moddir/$p" "$root/lib/modules/$name.ko" ;;
            *)        die "unknown module file $p" ;;
        esac
        echo "$name" >> "$root/modules.order"
    done
}

# pack_initramfs ROOT OUT: ROOT as a gzip'ed newc cpio at OUT, replaced
# atomically; fixed times and owners, so the same inputs give the same
# archive
pack_initramfs() {
    local root=$1 out=$2
    find "$root" -exec touch -h -d @0 {} +
    (cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
        cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9 -n > "$out.tmp"
    chmod 0644 "$out.tmp"
    mv "$out.tmp" "$out"
}
