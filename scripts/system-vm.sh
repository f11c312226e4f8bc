#!/usr/bin/env bash
# system-vm.sh - boot the stock Debian 12 system image (scripts/system-image.sh)
# under QEMU TCG, run a test in it, and bring the results back.
#
#   system-vm.sh [--timeout SECONDS] [--mem MiB] DATA_DIR OUT_DIR
#
# DATA_DIR becomes the VM's second disk (ext4, label proxyfs-data), mounted at
# /srv/test; it must hold `run`, the test, which proxyfs-test.service runs
# with bash at the end of the boot, output teed to the serial console and to
# /srv/test/out/run.log. Whatever the test writes into $TEST_OUT
# (/srv/test/out) comes back into OUT_DIR, read from the disk image with
# debugfs (no mount), along with the unit's files:
#   run.log  status  kernel.log  journal.log     from the VM
#   console.log  boot-to-unit                    from this side
# OUT_DIR must be empty or absent. Console lines starting with "== ", "ok ",
# "FAIL" or "SYSTEM:" are echoed as they come.
#
# Exits with the test's status (0 only if the test said 0); 1 when the VM
# timed out (default 1800 s) or never ran the test, with the console's end.
# The cached root.raw is never written: the VM runs on a qcow2 overlay.
# Environment: SYSTEM_IMAGE=DIR (default work/system/current), KEEP=1 keeps
# the overlay and the data image (OUT_DIR/disks), QEMU=binary. TCG only.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

TIMEOUT=1800
MEM=${MEM:-3072}
usage() { echo "usage: ${0##*/} [--timeout SECONDS] [--mem MiB] DATA_DIR OUT_DIR" >&2; exit 2; }
while (($#)); do
    case $1 in
        --timeout) TIMEOUT=${2:?}; shift 2 ;;
        --mem) MEM=${2:?}; shift 2 ;;
        -h|--help) usage ;;
        -*) usage ;;
        *) break ;;
    esac
done
(($# == 2)) || usage
[[ $TIMEOUT =~ ^[0-9]+$ && $MEM =~ ^[0-9]+$ ]] || usage
DATA=$(cd "$1" && pwd) || die "no data directory $1"
[[ -f $DATA/run ]] || die "$DATA has no 'run' (the test the VM runs)"
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
[[ -z $(ls -A "$OUT") ]] || die "$OUT is not empty: results of an earlier run would mix with this one's"

IMG=$(readlink -f "${SYSTEM_IMAGE:-$WORK/system/current}") ||
    die "no system image: make system-image"
[[ -f $IMG/done ]] || die "$IMG is not a complete system image: make system-image"
QEMU=${QEMU:-qemu-system-x86_64}
for t in "$QEMU" qemu-img mkfs.ext4 debugfs e2fsck timeout; do
    command -v "$t" >/dev/null || die "$t missing (make deps)"
done

step() { printf '==> system-vm: %s\n' "$*"; }
DISKS=$OUT/disks
mkdir -p "$DISKS"
qpid=
cleanup() {
    [[ -n $qpid ]] && kill "$qpid" 2>/dev/null
    if [[ ${KEEP:-} == 1 ]]; then
        echo "==> system-vm: kept ${DISKS#"$TOP"/}/ (overlay.qcow2, data.img)"
    else
        rm -rf "$DISKS"
    fi
}
trap cleanup EXIT

# --- the disks ---------------------------------------------------------------
# The data disk: DATA_DIR as it is, with room for the results.
mb=$(du -s -BM "$DATA" | cut -f1); mb=${mb%M}
size=$((mb + 256))
mkfs.ext4 -q -F -L proxyfs-data -d "$DATA" "$DISKS/data.img" "${size}M" >/dev/null
if ! debugfs -R 'stat /out' "$DISKS/data.img" 2>/dev/null | grep -q '^Inode:'; then
    debugfs -w -R 'mkdir /out' "$DISKS/data.img" >/dev/null 2>&1
fi
qemu-img create -q -f qcow2 -F raw -b "$IMG/root.raw" "$DISKS/overlay.qcow2"

# --- the boot ----------------------------------------------------------------
# panic=-1: a kernel that panics reboots at once, and -no-reboot makes that
# QEMU's exit rather than a hang until the timeout. -cpu max: every feature
# TCG emulates, for the nested QEMU. That includes SVM, and kvm_amd would
# give the VM a /dev/kvm on emulated SVM: the blacklist keeps nested guests
# on TCG. (-cpu max,svm=off is no way out: with QEMU 7.2's TCG, mount() and
# mount namespaces then misbehave in the VM, and udevd never starts.)
APPEND="root=/dev/vda rw console=ttyS0 loglevel=4 panic=-1 apparmor=1 security=apparmor systemd.unified_cgroup_hierarchy=1 modprobe.blacklist=kvm_amd,kvm_intel"
step "booting ${IMG#"$TOP"/} ($(cat "$IMG/kernel.release"), TCG, ${MEM} MiB, timeout ${TIMEOUT} s), data disk ${size} MiB"
: >"$OUT/console.log"
start=$(date +%s)
timeout --kill-after=10 "$TIMEOUT" "$QEMU" \
    -accel tcg,thread=multi -smp 2 -m "$MEM" -cpu max \
    -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" -append "$APPEND" \
    -drive file="$DISKS/overlay.qcow2",if=virtio,format=qcow2 \
    -drive file="$DISKS/data.img",if=virtio,format=raw \
    -nic none -display none -monitor none -no-reboot \
    -serial file:"$OUT/console.log" &
qpid=$!

# The console as it grows: the test's and the unit's marker lines. journald
# forwards the unit's output prefixed "[  12.345678] proxyfs-test[PID]: ",
# and the serial getty's login prompt may come first on the same line: what
# follows the prefix is the line. Ends when QEMU does (tail --pid reads what
# is left first).
follow() {
    local line re='proxyfs-test\[[0-9]+\]: (.*)$'
    tail -n +1 -s 1 -F --pid="$qpid" "$OUT/console.log" 2>/dev/null |
    while IFS= read -r line; do
        line=${line//$'\r'/}
        [[ $line =~ $re ]] && line=${BASH_REMATCH[1]}
        [[ $line == "== "* || $line == "ok "* || $line == FAIL* || $line == SYSTEM:* ]] || continue
        printf '  vm| %s\n' "$line"
        if [[ $line == "SYSTEM: test unit started"* ]]; then
            echo "$(($(date +%s) - start))" >"$OUT/boot-to-unit"
            step "booted to the test unit after $(cat "$OUT/boot-to-unit") s"
        fi
    done
}
follow &
fpid=$!
rc=0
wait "$qpid" || rc=$?
qpid=
wait "$fpid" || true
elapsed=$(($(date +%s) - start))
timed_out=
if ((rc == 124 || rc == 137)); then
    timed_out=1
    step "the VM TIMED OUT after $elapsed s (--timeout $TIMEOUT)"
elif ((rc != 0)); then
    step "QEMU exited with status $rc after $elapsed s"
elif grep -aq 'reboot: Power down' "$OUT/console.log"; then
    step "the VM powered off after $elapsed s"
else
    step "QEMU stopped after $elapsed s, but the VM did not power off (killed?)"
fi

# --- the results ----------------------------------------------------------------
# A VM stopped by the timeout leaves the journal unreplayed: e2fsck -p
# replays it, so debugfs reads what the test last wrote.
e2fsck -p "$DISKS/data.img" >"$DISKS/e2fsck.log" 2>&1 || true
debugfs -R "rdump /out $DISKS" "$DISKS/data.img" >"$DISKS/rdump.log" 2>&1 || true
if [[ -d $DISKS/out ]]; then
    cp -a "$DISKS/out/." "$OUT/"
    rm -rf "$DISKS/out"
fi

# The console's end, without colours and systemd's "Job ... running" spinner.
console_tail() {
    echo "--- the last 30 console lines (${OUT#"$TOP"/}/console.log):"
    tr -d '\r' <"$OUT/console.log" | sed -e 's/\x1b\[[0-9;]*[a-zA-Z]//g' -e 's/\x1b[A-Z]//g' |
        grep -av '^\[[ *]*\] .*Job .* running' | tail -n 30
    echo "---"
}
status=$(cat "$OUT/status" 2>/dev/null || true)
if [[ $status =~ ^[0-9]+$ ]]; then
    [[ -z $timed_out ]] || echo "${0##*/}: warning: the test finished (status $status) but the VM did not power off" >&2
    step "test status $status (results in ${OUT#"$TOP"/}/)"
    exit "$status"
fi
if [[ -n $status ]]; then
    step "no test status: $status"
elif grep -aq 'SYSTEM: test unit started' "$OUT/console.log"; then
    step "the test unit started but left no status${timed_out:+ (the test did not finish in time)}"
else
    step "the VM never reached the test unit${timed_out:+ before the timeout}"
fi
console_tail
exit 1
