#!/usr/bin/env bash
# smoke.sh - proves the system test bed: builds (or reuses) the Debian 12
# system image, boots it with tests/system/smoke-in-vm.sh as the test, and
# reports its checks and the times. Results in work/system/smoke/out/.
# Needs root. Environment: TIMEOUT (seconds for the VM, default 1800).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../../scripts/lib.sh"

[[ $(id -u) -eq 0 ]] || die "the system test bed needs root (debootstrap, chroot)"
t0=$SECONDS
"$TOP/scripts/system-image.sh"
img=$(readlink -f "$WORK/system/current")

D=$WORK/system/smoke
rm -rf "$D"
mkdir -p "$D/data"
install -m 0755 "$here/smoke-in-vm.sh" "$D/data/run"
cp "$img/kernel.release" "$D/data/expect-kernel-release"
t1=$SECONDS
rc=0
"$TOP/scripts/system-vm.sh" --timeout "${TIMEOUT:-1800}" "$D/data" "$D/out" || rc=$?

tail -n 1 "$D/out/run.log" 2>/dev/null || true
say "system-smoke: image $((t1 - t0)) s, VM run $((SECONDS - t1)) s" \
    "(boot to the test unit $(cat "$D/out/boot-to-unit" 2>/dev/null || echo '?') s), whole $((SECONDS - t0)) s"
exit "$rc"
