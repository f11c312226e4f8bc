#!/usr/bin/env bash
# The AppArmor profiles, as the patched build installs them into the prefix,
# must still parse; the daemons must run the helper stacked on their own
# profile (they start it with no_new_privs, which forbids any other
# transition), each helper under its own profile: libvirt's with the mounts
# it makes itself, QEMU's without any mount, pivot_root or sys_admin. AppArmor is not
# active on these machines, so this checks syntax only (apparmor_parser
# -QK: parse, load nothing); tests/system enforces them on a Debian system.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

dir=$PREFIX/etc/apparmor.d
command -v apparmor_parser >/dev/null || die "apparmor_parser missing (make deps)"
[[ -d $dir ]] || die "no profiles in $dir (make install)"

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
for p in usr.sbin.virtqemud usr.sbin.libvirtd libvirt-virtfs-proxy-helper libvirt-virtfs-proxy-helper-qemu; do
    if out=$(apparmor_parser -QK -I "$dir" "$dir/$p" 2>&1); then
        ok "$p parses"
    else
        bad "$p does not parse:"; printf '%s\n' "$out"
    fi
done
for p in usr.sbin.virtqemud usr.sbin.libvirtd; do
    if grep -Eq '^ +/usr/\{lib,lib64,lib/qemu,libexec\}/virtfs-proxy-helper ix -> &libvirt-virtfs-proxy-helper-qemu,$' "$dir/$p"; then
        ok "$p runs QEMU's virtfs-proxy-helper stacked with libvirt-virtfs-proxy-helper-qemu"
    else
        bad "$p has no stacking rule for QEMU's virtfs-proxy-helper onto libvirt-virtfs-proxy-helper-qemu"
    fi
    if grep -Fqx "  $PREFIX/libexec/libvirt_virtfs_proxy_helper ix -> &libvirt-virtfs-proxy-helper," "$dir/$p"; then
        ok "$p runs libvirt's own helper stacked with libvirt-virtfs-proxy-helper"
    else
        bad "$p has no stacking rule for libvirt_virtfs_proxy_helper (it would fall under '@libexecdir@/* PUxr')"
    fi
    # what libvirt's helper does to confine itself, which every profile of
    # the stack must allow
    for rule in 'mount options=(rw, rprivate) -> /,' 'pivot_root,' 'umount /,' \
                'mount fstype=tmpfs options=(rw, nosuid, nodev, noexec) -> /**,'; do
        for q in "$p" libvirt-virtfs-proxy-helper; do
            if grep -Fqx "  $rule" "$dir/$q"; then
                ok "$q allows the helper's '$rule'"
            else
                bad "$q lacks '$rule', which libvirt's helper needs"
            fi
        done
    done
    if grep -q 'virtfs-proxy-helper PUx' "$dir/$p"; then
        bad "$p still has a PUx rule for the helper (refused under no_new_privs)"
    else
        ok "$p has no PUx rule for the helper"
    fi
done
for p in libvirt-virtfs-proxy-helper libvirt-virtfs-proxy-helper-qemu; do
    if grep -q "^profile $p flags=(attach_disconnected) {\$" "$dir/$p"; then
        ok "$p defines the profile of that name"
    else
        bad "$p does not define profile $p"
    fi
done
# QEMU's helper makes no mount: libvirt makes its namespace before the exec
q=libvirt-virtfs-proxy-helper-qemu
check_none() { # check_none FILE WHAT REGEX
    local hits
    hits=$(grep -E "$3" "$dir/$1" | grep -v '^ *#' || true)
    if [[ -z $hits ]]; then
        ok "$1 allows no $2"
    else
        bad "$1 allows $2: $hits"
    fi
}
check_none "$q" "mount or umount" '^ *(mount|umount|remount)\b'
check_none "$q" "pivot_root" '^ *pivot_root'
check_none "$q" "sys_admin" 'capability +sys_admin'
check_none "$q" "rule naming libvirt's helper" 'libvirt_virtfs_proxy_helper'
check_none libvirt-virtfs-proxy-helper "rule naming QEMU's helper" '/virtfs-proxy-helper +[a-z]+,'
# libvirt's helper requires mount_setattr(): no remount of a bind
check_none libvirt-virtfs-proxy-helper "remount" 'remount'
echo "apparmor: $pass passed, $fail failed"
((fail == 0))
