#!/bin/bash
# test-semantics.sh - a proxy share through libvirt: the guest builds the
# `semantics` layout (owners, modes, device nodes, xattrs, links, an 8 MiB
# file) on a <driver type='proxy'/> share while QEMU runs unprivileged, and
# the host checks every entry with guest/check-semantics.sh.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NAME=test-semantics
e2e_setup "$NAME"

dom=e2e-semantics
dir=$(fresh_dir semantics-export)
echo "-- export $dir, guest runs semantics"
run_domain "$dom" 120 "proxyfs.mounts=share:/mnt/share proxyfs.run=semantics:/mnt/share" \
    "$(proxy_fs "$dir" share)"
check "guest PROBE-EXIT" 0 "$(probe_exit "$dom")"
check "guest probe summary has no FAIL" 0 \
    "$(console "$dom" | sed -n 's/^PROBE-SUMMARY [0-9]* ok \([0-9]*\) fail$/\1/p' | tail -n 1)"

echo "-- host side: check-semantics.sh $dir"
out=$("$TOP/e2e/guest/check-semantics.sh" "$dir" 2>&1) || true
grep '^FAIL' <<<"$out" | sed 's/^/    /' || true
last=$(tail -n 1 <<<"$out")
check_match "host check-semantics: 0 failed" '^semantics: [1-9][0-9]* passed, 0 failed$' "$last"
echo "   ($last)"

summary "$NAME"
