#!/usr/bin/env bash
# control-deep-short: the checkout's short directory (scripts/lib.sh's
# SHORT, where the suites' sockets and exports go) set 100 bytes deep, as
# if the harness still kept them below a deep checkout; make check-paths
# must fail naming the harness's helper socket over 107 bytes. Breaks
# nothing on disk (PROXYFS_SHORT, in this process only): no trap needed.
# Seconds.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../../scripts/lib.sh"

[[ -f $BUILD/build.ninja ]] || { echo "control: no build at $BUILD (make build)"; exit 2; }
deep=/tmp/$(printf 'd%.0s' {1..95})          # 100 bytes; never made
echo "control: breaking: PROXYFS_SHORT=$deep (${#deep} bytes)"
rc=0
out=$(PROXYFS_SHORT=$deep "$TOP/scripts/check-paths.sh" 2>&1) || rc=$?
printf '%s\n' "$out"
want="FAIL - the harness's helper socket: $((${#deep} + 27)) bytes, more than the 107 it may have: $deep/sock/hostusers-helper.sock"
if ((rc == 0)); then
    echo "control: SHORT 100 bytes deep -> MISSED: check-paths passed"
    exit 1
elif grep -qxF "$want" <<<"$out"; then
    echo "control: SHORT 100 bytes deep -> check-paths failed: '$want'"
    exit 0
else
    echo "control: SHORT 100 bytes deep -> check-paths failed (exit $rc) without the line '$want'"
    exit 1
fi
