#!/usr/bin/env bash
# check-paths.sh - the paths the suites bind sockets at, and the deepest
# file they make, fit whatever the checkout's depth: a UNIX socket path
# holds 107 bytes (sun_path), a path 4095 (PATH_MAX with its NUL). Reads
# where the configured build (work/build) puts libvirt's state and run
# directories, and where e2e/lib.sh puts the exports and its own sockets;
# one line per path with its length and limit; fails on any that does not
# fit, or when the harness talks to another socket than the build makes.
# Seconds; make check runs it right after make build.
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"

[[ -f $BUILD/build.ninja ]] || die "no build at $BUILD (make build)"
# opt NAME: meson option NAME of the build
opt() {
    meson introspect --buildoptions "$BUILD" |
        /usr/bin/python3 -c 'import json, sys; print(next((o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]), ""))' "$1"
}
prefix=$(opt prefix)
localstatedir=$(opt localstatedir)
[[ $localstatedir == /* ]] || localstatedir=$prefix/$localstatedir   # as libvirt's meson.build
runstatedir=$(opt runstatedir)
[[ -n $runstatedir ]] || runstatedir=$localstatedir/run

fails=0
# fit WHAT PATH MAX [SHOWN]: PATH is at most MAX bytes long (SHOWN: how
# to name it, if not by itself)
fit() {
    local n=${#2}
    if ((n <= $3)); then
        echo "ok   - $1: $n bytes (at most $3): ${4:-$2}"
    else
        echo "FAIL - $1: $n bytes, more than the $3 it may have: ${4:-$2}"
        fails=$((fails + 1))
    fi
}

# libvirt's names: the daemons' sockets; a domain's directory is
# domain-ID-<the name cut to 20 bytes>; 6 digits of ID
fit "virtqemud's socket" "$runstatedir/libvirt/virtqemud-sock" 107
fit "virtlogd's socket" "$runstatedir/libvirt/virtlogd-sock" 107
fit "a domain's monitor socket" "$localstatedir/lib/libvirt/qemu/domain-999999-e2e-hostile-H10-setu/monitor.sock" 107
want="qemu:///system?socket=$runstatedir/libvirt/virtqemud-sock"
if [[ $URI == "$want" ]]; then
    echo "ok   - e2e/lib.sh's URI names the build's socket: $URI"
else
    echo "FAIL - e2e/lib.sh's URI is $URI, the build's daemon listens at $want"
    fails=$((fails + 1))
fi
# the harness's own: a helper started by hand (test-hostusers)
fit "the harness's helper socket" "${SOCKDIR:-$E2E}/hostusers-helper.sock" 107
fit "test-virsh's helper socket" "${SOCKDIR:-$E2E}/virsh-ext/proxy.sock" 107
# test-ownhelper's file 4000 bytes below an export, which the host reads by path
fit "the deepest file below an export" "$PRIVATE/ownhelper-export/$(printf 'x%.0s' {1..4000})" 4095 \
    "$PRIVATE/ownhelper-export/<4000 bytes>"

if ((fails)); then
    echo "check-paths: FAILED: $fails path(s) too long for the checkout at $TOP (${#TOP} bytes)"
    exit 1
fi
echo "check-paths: every socket path and the deepest export path fit (checkout: ${#TOP} bytes)"
