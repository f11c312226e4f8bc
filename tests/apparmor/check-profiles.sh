#!/usr/bin/env bash
# The daemons' AppArmor profiles, as the patched build installs them into
# the prefix, must still parse, and must let the daemons run the helper.
# AppArmor is not active on these machines, so this checks syntax only
# (apparmor_parser -QK: parse, load nothing).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

dir=$PREFIX/etc/apparmor.d
command -v apparmor_parser >/dev/null || die "apparmor_parser missing (make deps)"
[[ -d $dir ]] || die "no profiles in $dir (make install)"

pass=0 fail=0
for p in usr.sbin.virtqemud usr.sbin.libvirtd; do
    if out=$(apparmor_parser -QK -I "$dir" "$dir/$p" 2>&1); then
        pass=$((pass + 1)); echo "ok   - $p parses"
    else
        fail=$((fail + 1)); echo "FAIL - $p does not parse:"; printf '%s\n' "$out"
    fi
    if grep -Eq '^ +/usr/\{lib,lib64,lib/qemu,libexec\}/virtfs-proxy-helper PUx,$' "$dir/$p"; then
        pass=$((pass + 1)); echo "ok   - $p may run virtfs-proxy-helper"
    else
        fail=$((fail + 1)); echo "FAIL - $p has no rule for virtfs-proxy-helper"
    fi
done
echo "apparmor: $pass passed, $fail failed"
((fail == 0))
