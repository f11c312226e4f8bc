#!/usr/bin/env bash
# The AppArmor profiles, as the patched build installs them into the prefix,
# must still parse; the daemons must run the helper stacked on their own
# profile (they start it with no_new_privs, which forbids any other
# transition), and the helper's own profile must be there. AppArmor is not
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
for p in usr.sbin.virtqemud usr.sbin.libvirtd libvirt-virtfs-proxy-helper; do
    if out=$(apparmor_parser -QK -I "$dir" "$dir/$p" 2>&1); then
        ok "$p parses"
    else
        bad "$p does not parse:"; printf '%s\n' "$out"
    fi
done
for p in usr.sbin.virtqemud usr.sbin.libvirtd; do
    if grep -Eq '^ +/usr/\{lib,lib64,lib/qemu,libexec\}/virtfs-proxy-helper ix -> &libvirt-virtfs-proxy-helper,$' "$dir/$p"; then
        ok "$p runs virtfs-proxy-helper stacked with libvirt-virtfs-proxy-helper"
    else
        bad "$p has no stacking rule for virtfs-proxy-helper"
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
if grep -q '^profile libvirt-virtfs-proxy-helper flags=(attach_disconnected) {$' "$dir/libvirt-virtfs-proxy-helper"; then
    ok "libvirt-virtfs-proxy-helper defines the profile of that name"
else
    bad "libvirt-virtfs-proxy-helper does not define profile libvirt-virtfs-proxy-helper"
fi
echo "apparmor: $pass passed, $fail failed"
((fail == 0))
