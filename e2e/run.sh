#!/bin/bash
# run.sh - the end-to-end tests of proxy filesystems through virsh (issue #4).
#
# The daemon's helper is libvirt's own, qemu.conf's default; with
# E2E_HELPER=qemu it is QEMU's, named in qemu.conf (make e2e runs a few
# scenarios so, as a smoke test).
#
# Builds the test guest, starts the private libvirt daemons (e2e/lib.sh),
# runs every scenario (or those named: run.sh semantics lifecycle ...), and
# always stops the daemons it started and destroys/undefines the test
# domains, whatever happens. Each scenario's output also goes to
# work/e2e/results/NAME.out. Ends with one overall line; exits non-zero if
# any scenario failed.
#
# Needs root (the helper runs as root, a user is created, libvirt's system
# daemon runs); without root it says the tests are skipped, and exits 0.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

ALL=(semantics processes readonly mixed lifecycle stale virsh contrast ownhelper idmap)

if [[ $(id -u) -ne 0 ]]; then
    echo "e2e: SKIPPED: the end-to-end tests need root (they run libvirt's system daemon, start"
    echo "e2e: virtfs-proxy-helper as root and create the unprivileged user $QEMU_USER); run as root"
    exit 0
fi

tests=("$@")
((${#tests[@]})) || tests=("${ALL[@]}")
for t in "${tests[@]}"; do
    [[ -x $HERE/test-$t.sh ]] || die "no scenario '$t' (known: ${ALL[*]})"
done
[[ -x $PREFIX/sbin/virtqemud ]] || die "no patched libvirt in $PREFIX: run 'make install' first"
if [[ $HELPER == "$OWN_HELPER" ]]; then
    [[ -x $HELPER ]] || die "no $HELPER: libvirt built without its helper (needs libseccomp-dev)"
else
    [[ -x $HELPER ]] || die "no $HELPER (Debian's qemu-system-common; QEMU >= 9.2 removed it)"
fi
command -v qemu-system-x86_64 >/dev/null || die "no qemu-system-x86_64"

T0=$SECONDS
say "e2e: building the test guest"
"$TOP/e2e/guest/build-guest.sh" | tail -n 1

# cleanup: every test domain (they are all named e2e-*), then our daemons
cleanup() {
    local n
    if daemon_pid virtqemud >/dev/null; then
        for n in $(virsh list --all --name 2>/dev/null | grep '^e2e-' || true); do
            cleanup_domain "$n"
        done
    fi
    stop_started_daemons
}
trap cleanup EXIT
# Proxy exports are below $PRIVATE (0700 root:root); a set-uid file or a
# device node elsewhere in $E2E is a leftover of the layout before it, or
# of a test killed before its trap: out with it
ensure_private
say "e2e: exports below ${PRIVATE#"$TOP"/} ($(stat -c '%a %U:%G' "$PRIVATE")); earlier runs' leftovers elsewhere in ${E2E#"$TOP"/} defused"
mapfile -t old < <(find "$E2E" -mindepth 1 -maxdepth 1 ! -path "$PRIVATE")
((${#old[@]} == 0)) || defuse "${old[@]}"
say "e2e: starting the daemons"
start_daemons
echo "    virtlogd pid $(daemon_pid virtlogd), virtqemud pid $(daemon_pid virtqemud)" \
     "(started here: ${STARTED_DAEMONS[*]:-none})"

mkdir -p "$E2E/results"
declare -A RESULT=() SECS=()
# a scenario passed when it failed nothing and skipped nothing; one with
# skips and no failure counts as skipped, never as passed
failed=0 skipped=0 tp=0 tf=0 ts=0
for t in "${tests[@]}"; do
    say "e2e: test-$t.sh (helper: ${HELPER##*/})"
    t1=$SECONDS rc=0
    # NAME.HELPER.count: its summary line, for scripts/check-counts.sh
    count=$E2E/results/$t.${E2E_HELPER:-libvirt}.count
    rm -f "$count"
    "$HERE/test-$t.sh" 2>&1 | tee "$E2E/results/$t.out" || rc=$?
    SECS[$t]=$((SECONDS - t1))
    line=$(grep -E "^test-$t: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$" "$E2E/results/$t.out" | tail -n 1 || true)
    if [[ -z $line ]]; then
        RESULT[$t]="no summary line (exit status $rc)"
        failed=$((failed + 1))
        continue
    fi
    printf '%s\n' "$line" > "$count"
    read -r p f k <<<"$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?$/\1 \2 \4/' <<<"$line")"
    k=${k:-0}
    tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + k))
    RESULT[$t]="$p passed, $f failed, $k skipped"
    if ((rc != 0 || f != 0)); then
        failed=$((failed + 1))
        ((rc != 0)) && RESULT[$t]+=" (exit status $rc)"
    elif ((k != 0)); then
        skipped=$((skipped + 1))
    fi
done

echo
say "e2e: results"
for t in "${tests[@]}"; do
    printf '    %-12s %-48s %4d s\n' "$t" "${RESULT[$t]}" "${SECS[$t]}"
done
echo "e2e (${HELPER##*/}): ${#tests[@]} scenarios, $((${#tests[@]} - failed - skipped)) passed, $failed failed, $skipped skipped; $tp assertions passed, $tf failed, $ts skipped; $((SECONDS - T0)) s"
((failed == 0))
