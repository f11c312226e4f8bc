#!/usr/bin/env bash
# control-daemon-leaves-stopped-helper.sh - a daemon that does not stop a
# stopped helper: test-lifecycle's case (g) (a helper SIGSTOPped, so that it
# cannot exit by itself when QEMU goes, then virsh destroy) must fail, naming
# the helper's pid.
#
# The break: the private daemon's qemu.conf names, as virtfs_proxy_helper,
# a wrapper that runs libvirt's helper as its child and waits. The daemon
# knows, records and signals the wrapper's pid only; the helper behind it,
# stopped by the test, is what the daemon cannot see, as if it had escaped
# the daemon's bookkeeping. One domain started paused and destroyed.
#
# Starts the private daemons itself (none may run: run under the e2e lock),
# and on every path stops them, writes e2e/lib.sh's qemu.conf back, and
# kills by pid the helper it left behind. Exit 0 caught, 1 missed, 2 setup.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../e2e/lib.sh
. "$HERE/../../e2e/lib.sh"
BROKEN="libvirt's helper behind a wrapper (qemu.conf virtfs_proxy_helper) that forks it: the daemon signals the wrapper, not the stopped helper"

setup_error() { echo "control: $BROKEN -> not run: $*"; exit 2; }
((EUID == 0)) || setup_error "needs root"
[[ -x $OWN_HELPER ]] || setup_error "no $OWN_HELPER (make install)"
[[ -x $PREFIX/sbin/virtqemud ]] || setup_error "no private libvirt (make install)"
if daemon_pid virtqemud >/dev/null || daemon_pid virtlogd >/dev/null; then
    setup_error "a private daemon runs already (another run? take /tmp/proxyfs-e2e.lock)"
fi

wrapper=$E2E/control-forking-helper
export_dir=$PRIVATE/life-hung          # test-lifecycle (g)'s export
undo() {
    local p
    # the helper the broken daemon left, stopped: ours, by its pid
    for p in $(helpers_of "$export_dir"); do
        echo "(undo) killing the helper left behind, pid $p"
        kill -KILL "$p" 2>/dev/null || true
    done
    cleanup_domain e2e-life-hung
    stop_started_daemons
    write_daemon_config                # e2e/lib.sh's qemu.conf again
    rm -f "$wrapper"
}
trap undo EXIT

mkdir -p "$E2E"
ensure_private
ensure_qemu_user
cat > "$wrapper" <<EOF
#!/bin/sh
# control-daemon-leaves-stopped-helper.sh: the helper as a child the daemon
# does not know of
"$OWN_HELPER" "\$@" &
wait
EOF
chmod 0755 "$wrapper"
write_daemon_config
printf '\n# control-daemon-leaves-stopped-helper.sh\nvirtfs_proxy_helper = "%s"\n' "$wrapper" \
    >> "$PREFIX/etc/libvirt/qemu.conf"
start_one_daemon virtlogd "$VARDIR/run/libvirt/virtlogd-sock" || setup_error "virtlogd did not start"
start_one_daemon virtqemud "$VARDIR/run/libvirt/virtqemud-sock" || setup_error "virtqemud did not start"
# the test below rewrites qemu.conf (e2e_setup): the daemon must have read
# this one first, which it does when its drivers start, after its socket
wait_until 20 daemon_parsed_has virtfs_proxy_helper ||
    setup_error "virtqemud did not read virtfs_proxy_helper from its qemu.conf (parsed: $(daemon_parsed))"
echo "control: $BROKEN"
echo "control: daemons started with $wrapper as the helper; running LIFECYCLE_CASES=g e2e/test-lifecycle.sh"

rc=0
out=$(LIFECYCLE_CASES=g "$TOP/e2e/test-lifecycle.sh" 2>&1) || rc=$?
printf '%s\n' "$out"
# the wrapper must really have been the daemon's helper, or this proves nothing
if ! grep -q "$wrapper" "$DOMLOGDIR/e2e-life-hung.log" 2>/dev/null &&
   ! grep -q "control-forking-helper" "$E2E/virtqemud.log" 2>/dev/null; then
    echo "control: $BROKEN -> not run: the daemon did not start the wrapper (no trace in its logs)"
    exit 2
fi
why=$(grep -E "^FAIL - e2e-life-hung: no helper left after destroy \(the hung helper, pid [0-9]+\)" <<<"$out" | head -n 1 || true)
if ((rc != 0)) && [[ -n $why ]]; then
    echo "control: $BROKEN -> test-lifecycle failed: ${why#FAIL - }"
    exit 0
fi
echo "control: $BROKEN -> MISSED: test-lifecycle (g) exit status $rc, no failure naming the left helper"
exit 1
