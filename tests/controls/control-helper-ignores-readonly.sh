#!/usr/bin/env bash
# control-helper-ignores-readonly.sh - libvirt's helper that ignores -r:
# e2e/test-readonly.sh must fail, because the helper's own view of the
# export (its root, in its mount namespace) is read-write.
#
# The break: the private daemon's qemu.conf names, as virtfs_proxy_helper,
# a wrapper called libvirt_virtfs_proxy_helper (so that the daemon takes it
# for libvirt's helper: it passes -r and leaves the mount namespace to the
# helper) that drops -r and execs libvirt's real helper. QEMU still gets
# readonly=on and refuses the guest's writes itself (EROFS): what tells the
# two apart is what the kernel enforces for the helper, its read-only mount.
# Caught only since the daemon stopped giving libvirt's helper a read-only
# bind mount of its own; before, the daemon's mount hid such a helper.
#
# Starts the private daemons itself (none may run: run under the e2e lock),
# and on every path stops them, writes e2e/lib.sh's qemu.conf back and
# removes the wrapper. Exit 0 caught, 1 missed, 2 setup.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../e2e/lib.sh
. "$HERE/../../e2e/lib.sh"
BROKEN="libvirt's helper behind a wrapper (qemu.conf virtfs_proxy_helper, named libvirt_virtfs_proxy_helper) that drops -r"

setup_error() { echo "control: $BROKEN -> not run: $*"; exit 2; }
((EUID == 0)) || setup_error "needs root"
[[ -x $OWN_HELPER ]] || setup_error "no $OWN_HELPER (make install)"
[[ -x $PREFIX/sbin/virtqemud ]] || setup_error "no private libvirt (make install)"
[[ $HELPER == "$OWN_HELPER" ]] || setup_error "E2E_HELPER is not libvirt: the control breaks libvirt's helper"
if daemon_pid virtqemud >/dev/null || daemon_pid virtlogd >/dev/null; then
    setup_error "a private daemon runs already (another run? take /tmp/proxyfs-e2e.lock)"
fi

wrapdir=$E2E/control-ignores-readonly
wrapper=$wrapdir/libvirt_virtfs_proxy_helper
undo() {
    cleanup_domain e2e-readonly
    stop_started_daemons
    write_daemon_config                # e2e/lib.sh's qemu.conf again
    rm -f "$wrapper"
    rmdir "$wrapdir" 2>/dev/null || true
}
trap undo EXIT

mkdir -p "$E2E"
ensure_private
ensure_qemu_user
mkdir -p "$wrapdir"
chmod 0755 "$wrapdir"
cat > "$wrapper" <<EOF
#!/bin/sh
# control-helper-ignores-readonly.sh: libvirt's helper, without -r
for a do
    shift
    [ "\$a" = -r ] || set -- "\$@" "\$a"
done
exec "$OWN_HELPER" "\$@"
EOF
chmod 0755 "$wrapper"
write_daemon_config
printf '\n# control-helper-ignores-readonly.sh\nvirtfs_proxy_helper = "%s"\n' "$wrapper" \
    >> "$PREFIX/etc/libvirt/qemu.conf"
start_one_daemon virtlogd "$VARDIR/run/libvirt/virtlogd-sock" || setup_error "virtlogd did not start"
start_one_daemon virtqemud "$VARDIR/run/libvirt/virtqemud-sock" || setup_error "virtqemud did not start"
# the test below rewrites qemu.conf (e2e_setup): the daemon must have read
# this one first, which it does when its drivers start, after its socket
wait_until 20 daemon_parsed_has virtfs_proxy_helper ||
    setup_error "virtqemud did not read virtfs_proxy_helper from its qemu.conf (parsed: $(daemon_parsed))"
echo "control: $BROKEN"
echo "control: daemons started with $wrapper as the helper; running e2e/test-readonly.sh"

rc=0
out=$("$TOP/e2e/test-readonly.sh" 2>&1) || rc=$?
printf '%s\n' "$out"
# the daemon must really have run the wrapper, with -r, or this proves nothing
if ! grep -q "$wrapper -n -f [0-9]* -p .* -r" "$DOMLOGDIR/e2e-readonly.log" 2>/dev/null; then
    echo "control: $BROKEN -> not run: no '$wrapper ... -r' in the domain log"
    exit 2
fi
why=$(grep -F "FAIL - the helper's export is mounted ro,nosuid,nodev in its namespace: expected 'ro,nosuid,nodev', got 'rw,nosuid,nodev'" <<<"$out" | head -n 1 || true)
if ((rc != 0)) && [[ -n $why ]]; then
    echo "control: $BROKEN -> test-readonly failed: ${why#FAIL - }"
    exit 0
fi
echo "control: $BROKEN -> MISSED: test-readonly exit status $rc, no failure naming the helper's read-write export"
exit 1
