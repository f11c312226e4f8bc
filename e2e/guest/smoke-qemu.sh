#!/bin/bash
# smoke-qemu.sh - the proxy share end to end by hand, without libvirt.
#
#   virtfs-proxy-helper -n -f A -p EXPORT      as root, chrooted in EXPORT
#   qemu-system-x86_64 ... -fsdev proxy,id=fsdev0,sock_fd=B
#                         -device virtio-9p-pci,fsdev=fsdev0,mount_tag=share
#                                              as an unprivileged user (nobody)
# where A and B are the two ends of one socketpair, inherited as plain fds.
#
# smoke-qemu.sh [SCENARIO], SCENARIO one of:
#   semantics  (default) the guest runs `probe semantics`; check-semantics.sh
#              then verifies the export from the host
#   readonly   QEMU gets readonly=on (the guest mounts read-write, so QEMU
#              itself must refuse); the export is seeded with a file `seed`
#   rootgid    reproducer of the helper's lost-capabilities bug (see probe.c);
#              passes when the guest finished, and says if the bug showed
#   io-kill    `probe io`; the helper is SIGKILLed once 50 files are synced;
#              passes when the guest reports the error and powers off
#
# Run as root.  Environment: RUNAS (default nobody), TIMEOUT (seconds for the
# VM, default 120), GUEST_TIMEOUT (proxyfs.timeout, default 90), KEEP=1 keeps
# the run directory even on success, QEMU, HELPER to use other binaries,
# KILL_SIGNAL (io-kill: the signal for the helper, default KILL; STOP shows
# that a hung helper still lets the guest finish).  TCG only: KVM hangs on these machines.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
GUEST=${GUEST:-$TOP/work/guest}
RUNAS=${RUNAS:-nobody}
TIMEOUT=${TIMEOUT:-120}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-90}
KILL_SIGNAL=${KILL_SIGNAL:-KILL}
QEMU=${QEMU:-qemu-system-x86_64}
HELPER=${HELPER:-}
SCENARIO=${1:-semantics}
case $SCENARIO in
    semantics|readonly|rootgid|io-kill) ;;
    *) echo "usage: ${0##*/} [semantics|readonly|rootgid|io-kill]" >&2; exit 2 ;;
esac

say() { printf '==> smoke: %s\n' "$*"; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (the helper must run as root)"

if [[ -z $HELPER ]]; then
    for HELPER in /usr/lib/qemu/virtfs-proxy-helper /usr/libexec/virtfs-proxy-helper ""; do
        [[ -z $HELPER || -x $HELPER ]] && break
    done
fi
if [[ -z $HELPER ]] || ! command -v "$QEMU" >/dev/null; then
    say "installing qemu-system-x86"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        qemu-system-x86 >/dev/null || die "cannot install qemu-system-x86"
    HELPER=/usr/lib/qemu/virtfs-proxy-helper
fi
[[ -x $HELPER ]] || die "no virtfs-proxy-helper (QEMU >= 9.2 removed it)"

"$HERE/build-guest.sh"

# A private run directory that RUNAS can read (kernel and initrd are copied
# there so QEMU never needs access to the work tree).
RUN=$(mktemp -d /tmp/proxyfs-smoke.XXXXXX)
chmod 0755 "$RUN"
EXPORT=$RUN/export
mkdir -m 0755 "$EXPORT"
install -m 0644 "$GUEST/vmlinuz" "$GUEST/initramfs.gz" "$RUN/"
say "run directory $RUN, export $EXPORT"

FSDEV_OPTS='' KILL_ON=''
case $SCENARIO in
    semantics) RUNS=semantics:/mnt/share ;;
    rootgid)   RUNS=rootgid:/mnt/share ;;
    readonly)  RUNS=readonly:/mnt/share
               FSDEV_OPTS=,readonly=on
               echo "seed for the readonly scenario" > "$EXPORT/seed" ;;
    io-kill)   RUNS=io:/mnt/share:100000:60
               KILL_ON="PROBE-IO synced 50" ;;
esac
APPEND="console=ttyS0 panic=-1 proxyfs.mounts=share:/mnt/share proxyfs.run=$RUNS proxyfs.timeout=$GUEST_TIMEOUT"
QEMU_ARGV=(
    setpriv --reuid="$(id -u "$RUNAS")" --regid="$(id -g "$RUNAS")" --clear-groups --
    "$QEMU" -name proxyfs-smoke -machine pc -accel tcg -m 512 -smp 1
    -nodefaults -no-user-config -display none -serial stdio -no-reboot
    -kernel "$RUN/vmlinuz" -initrd "$RUN/initramfs.gz" -append "$APPEND"
    -fsdev "proxy,id=fsdev0,sock_fd=@FD@$FSDEV_OPTS"
    -device "virtio-9p-pci,fsdev=fsdev0,mount_tag=share"
)

# The launcher: socketpair, helper on one end, QEMU on the other; each end is
# closed in the parent once its process has it.  @FD@ in QEMU's arguments
# becomes QEMU's fd number.  With a pattern in the environment variable
# KILL_ON, the helper gets signal KILL_SIGNAL as soon as that text is in the
# serial log.
LAUNCH=$(cat <<'EOF'
import os, signal, socket, subprocess, sys, time

helper, export, helper_log, serial_log, timeout = sys.argv[1:6]
qemu_argv = sys.argv[6:]
procs = []

def stop(*_):
    raise KeyboardInterrupt
signal.signal(signal.SIGTERM, stop)

try:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with open(helper_log, "wb") as hl:
        h = subprocess.Popen([helper, "-n", "-f", str(a.fileno()), "-p", export],
                             pass_fds=[a.fileno()], stdin=subprocess.DEVNULL,
                             stdout=hl, stderr=hl)
    procs.append(h)
    a.close()
    argv = [x.replace("@FD@", str(b.fileno())) for x in qemu_argv]
    start = time.monotonic()
    with open(serial_log, "wb") as sl:
        q = subprocess.Popen(argv, pass_fds=[b.fileno()],
                             stdin=subprocess.DEVNULL, stdout=sl,
                             stderr=subprocess.STDOUT)
    procs.append(q)
    b.close()
    kill_on = os.environ.get("KILL_ON", "").encode()
    kill_sig = getattr(signal, "SIG" + os.environ.get("KILL_SIGNAL", "KILL"))
    killed = ""
    while kill_on and q.poll() is None and time.monotonic() - start < float(timeout):
        with open(serial_log, "rb") as sl:
            if kill_on in sl.read():
                h.send_signal(kill_sig)
                killed = f" helper-{kill_sig.name}-at={time.monotonic() - start:.1f}s"
                break
        time.sleep(0.1)
    try:
        qrc = q.wait(max(1.0, float(timeout) - (time.monotonic() - start)))
    except subprocess.TimeoutExpired:
        q.kill()
        q.wait()
        qrc = "timeout"
    elapsed = time.monotonic() - start
    try:
        hrc = h.wait(10)           # EOF on its socket: it logs Done, exits 0
    except subprocess.TimeoutExpired:
        h.kill()
        h.wait()
        hrc = "killed (still running 10 s after QEMU)"
    print(f"qemu-exit={qrc} helper-exit={hrc} vm-seconds={elapsed:.1f}{killed}")
    sys.exit(0 if qrc == 0 else 1)
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
EOF
)

say "scenario $SCENARIO: booting (TCG, QEMU as $RUNAS, helper as root), at most $TIMEOUT s"
set +e
KILL_ON=$KILL_ON KILL_SIGNAL=$KILL_SIGNAL timeout $((TIMEOUT + 30)) python3 -c "$LAUNCH" "$HELPER" "$EXPORT" \
    "$RUN/helper.log" "$RUN/serial.log" "$TIMEOUT" "${QEMU_ARGV[@]}" > "$RUN/launch.txt"
launch_rc=$?
set -e

say "serial log ($RUN/serial.log)"
sed 's/\r$//' "$RUN/serial.log"
say "helper log"
cat "$RUN/helper.log"
say "launcher: $(cat "$RUN/launch.txt") (rc $launch_rc)"

rc=0
serial() { sed 's/\r$//' "$RUN/serial.log"; }
exit_line=$(serial | grep '^PROBE-EXIT ' | tail -n 1 || true)
[[ -n $exit_line ]] || { say "guest gave no PROBE-EXIT line"; rc=1; }

case $SCENARIO in
    semantics|readonly)
        if [[ $exit_line != "PROBE-EXIT 0" ]]; then
            say "guest did not pass: ${exit_line:-no PROBE-EXIT line}"
            rc=1
        fi ;;&
    semantics)
        say "host-side check of $EXPORT"
        "$HERE/check-semantics.sh" "$EXPORT" > "$RUN/check.txt" 2>&1 || rc=1
        grep -v '^ok - ' "$RUN/check.txt" || true ;;
    readonly)
        if [[ $(cat "$EXPORT/seed") != "seed for the readonly scenario" ||
              $(find "$EXPORT" -mindepth 1 | wc -l) -ne 1 ]]; then
            say "the export changed"; rc=1
        else
            say "the export is unchanged"
        fi ;;
    rootgid)
        if serial | grep -q '^PROBE chown /mnt/share/rootgid/after FAIL EPERM'; then
            say "helper bug reproduced: chown fails with EPERM after a uid 0/gid 5678 create"
        else
            say "helper bug NOT reproduced"
        fi ;;
    io-kill)
        grep -q 'qemu-exit=0 ' "$RUN/launch.txt" ||
            { say "the guest did not power off by itself"; rc=1; }
        [[ $KILL_SIGNAL != KILL ]] || serial | grep -q '^PROBE .* FAIL ' ||
            { say "the guest reported no failed call after the helper was killed"; rc=1; }
        grep -q "helper-SIG$KILL_SIGNAL-at" "$RUN/launch.txt" ||
            { say "the helper never got SIG$KILL_SIGNAL"; rc=1; } ;;
esac

if [[ $rc -eq 0 && -z ${KEEP:-} ]]; then
    rm -rf "$RUN"
else
    say "kept $RUN"
fi
if [[ $rc -eq 0 ]]; then say "PASS"; else say "FAIL"; fi
exit $rc
