#!/bin/bash
# build-guest.sh - the kernel and initramfs of the e2e test guest.
#
# Produces, under work/guest/ (git-ignored; GUEST=DIR overrides):
#   vmlinuz          Debian 12's kernel, from the package linux-image-amd64
#                    depends on, downloaded and unpacked, never installed
#   initramfs.gz     newc cpio + gzip: static busybox, the 9p/virtio modules
#                    in load order, /init (e2e/guest/init), /probe
#   probe            the static probe, also usable on the host
#   kernel/          the unpacked kernel package (modules, depmod output)
#
# Idempotent: what exists is reused; the initramfs is rebuilt only when one of
# its inputs changed.  Needs root the first time (apt-get, mknod).
#
# Environment: GUEST_KERNEL_PKG=linux-image-... to pin the kernel package;
# GUEST_MODULES="virtio_pci 9pnet_virtio 9p" the modules wanted (their
# dependencies are added from the kernel's modules.dep).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
GUEST=${GUEST:-$TOP/work/guest}
KDIR=$GUEST/kernel
MODULES=${GUEST_MODULES:-virtio_pci 9pnet_virtio 9p}

say() { printf '==> guest: %s\n' "$*"; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }
. "$HERE/initramfs-lib.sh"

export DEBIAN_FRONTEND=noninteractive
apt_updated=
apt_update_once() {
    [[ -z $apt_updated ]] || return 0
    say "apt-get update"
    apt-get update -qq >/dev/null
    apt_updated=1
}

# ensure_pkgs PKG... - install the packages that are missing.
ensure_pkgs() {
    local missing=() p
    for p; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -qx 'install ok installed' ||
            missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    [[ $(id -u) -eq 0 ]] || die "run as root to install: ${missing[*]}"
    say "installing ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
        apt_update_once
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    }
}

mkdir -p "$GUEST"
ensure_pkgs busybox-static cpio gcc libc6-dev kmod gzip

# --- 1. The kernel ----------------------------------------------------------

kernel_pkg() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
}

KREL=$(cat "$GUEST/kernel.release" 2>/dev/null || true)
if [[ -n $KREL && -f $GUEST/vmlinuz && -f $KDIR/lib/modules/$KREL/modules.dep ]]; then
    say "kernel $KREL: present"
else
    pkg=${GUEST_KERNEL_PKG:-$(kernel_pkg)}
    if [[ -z $pkg ]]; then
        apt_update_once
        pkg=$(kernel_pkg)
    fi
    [[ -n $pkg ]] || die "cannot tell which image package linux-image-amd64 depends on"
    mkdir -p "$GUEST/debs"
    if ! compgen -G "$GUEST/debs/${pkg}_*.deb" >/dev/null; then
        say "downloading $pkg (download only, not installed)"
        (cd "$GUEST/debs" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >/dev/null) || {
            apt_update_once
            (cd "$GUEST/debs" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >/dev/null)
        }
    fi
    debs=("$GUEST/debs/${pkg}"_*.deb)
    deb=${debs[-1]}
    say "unpacking ${deb##*/} (dpkg-deb -x)"
    rm -rf "$KDIR.tmp"
    dpkg-deb -x "$deb" "$KDIR.tmp"
    KREL=$(ls "$KDIR.tmp/lib/modules")
    [[ $KREL != *$'\n'* && -f $KDIR.tmp/boot/vmlinuz-$KREL ]] ||
        die "unexpected layout in $deb"
    say "depmod for $KREL"
    depmod -b "$KDIR.tmp" "$KREL"
    rm -rf "$KDIR"
    mv "$KDIR.tmp" "$KDIR"
    install -m 0644 "$KDIR/boot/vmlinuz-$KREL" "$GUEST/vmlinuz"
    echo "$KREL" > "$GUEST/kernel.release"
fi
MODDIR=$KDIR/lib/modules/$KREL

# --- 2. The modules, in load order -------------------------------------------

# Module name of a modules.dep path: basename, no .ko[.xz|.zst|.gz], '-' -> '_'.

declare -A DEPS=() PATH_OF=() SEEN=()
while IFS= read -r line; do
    path=${line%%:*}
    DEPS[$path]=${line#*:}
    name=${path##*/}
    name=${name%%.ko*}
    PATH_OF[${name//-/_}]=$path
done < "$MODDIR/modules.dep"

ORDER=()
visit() {      # depth first: dependencies before the module itself
    local path=$1 dep
    [[ -z ${SEEN[$path]:-} ]] || return 0
    SEEN[$path]=1
    for dep in ${DEPS[$path]}; do
        visit "$dep"
    done
    ORDER+=("$path")
}
for m in $MODULES; do
    m=${m//-/_}
    if [[ -n ${PATH_OF[$m]:-} ]]; then
        visit "${PATH_OF[$m]}"
    elif grep -q "/${m//_/[-_]}\.ko" "$MODDIR/modules.builtin"; then
        say "module $m is built in"
    else
        die "module $m is in neither modules.dep nor modules.builtin of $KREL"
    fi
done

# --- 3. The probe -----------------------------------------------------------

src_sum=$(sha256sum < "$HERE/probe.c")
if [[ -x $GUEST/probe && $(cat "$GUEST/probe.src-sha256" 2>/dev/null) == "$src_sum" ]]; then
    say "probe: up to date"
else
    say "compiling probe (gcc -static)"
    gcc -static -O2 -Wall -Werror -o "$GUEST/probe.tmp" "$HERE/probe.c"
    "$GUEST/probe.tmp" selftest >/dev/null || die "probe self-test failed"
    mv "$GUEST/probe.tmp" "$GUEST/probe"
    echo "$src_sum" > "$GUEST/probe.src-sha256"
fi

# --- 4. The initramfs -------------------------------------------------------

inputs=$({
    echo "$KREL"
    printf '%s\n' "${ORDER[@]}"
    sha256sum "$HERE/init" "$GUEST/probe" "$(readlink -f /bin/busybox)" "$HERE/build-guest.sh" "$HERE/initramfs-lib.sh"
} | sha256sum)
if [[ -f $GUEST/initramfs.gz && $(cat "$GUEST/initramfs.inputs" 2>/dev/null) == "$inputs" ]]; then
    say "initramfs: up to date"
else
    say "building initramfs (${#ORDER[@]} modules: $(for p in "${ORDER[@]}"; do modname "$p"; done | paste -sd' '))"
    [[ $(id -u) -eq 0 ]] || die "run as root (the initramfs needs /dev/console)"
    R=$GUEST/initramfs.root
    rm -rf "$R"
    mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,mnt,tmp,lib/modules}
    install -m 0755 "$(readlink -f /bin/busybox)" "$R/bin/busybox"
    ln -s busybox "$R/bin/sh"
    install -m 0755 "$HERE/init" "$R/init"
    install -m 0755 "$GUEST/probe" "$R/probe"
    mknod -m 0600 "$R/dev/console" c 5 1
    : > "$R/modules.order"
    add_modules "$R" "$MODDIR" "${ORDER[@]}"
    pack_initramfs "$R" "$GUEST/initramfs.gz"
    echo "$inputs" > "$GUEST/initramfs.inputs"
fi
# the staging root holds a device node (dev/console): only the archive stays
rm -rf "$GUEST/initramfs.root"

say "ready: $GUEST/vmlinuz ($KREL), $GUEST/initramfs.gz ($(du -k "$GUEST/initramfs.gz" | cut -f1) KiB), $GUEST/probe"
