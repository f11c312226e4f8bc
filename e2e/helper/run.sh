#!/usr/bin/env bash
# run.sh - make test-helper: libvirt's own virtfs proxy helper (series
# patches "util: Add virproxyproto ..." and "util: Add a virtfs proxy
# helper of libvirt's own") tested where libvirt's unit test cannot:
#   1. fuzz/: the request parser and dispatcher under libFuzzer, built with
#      Debian's clang (AddressSanitizer, UndefinedBehaviorSanitizer,
#      LeakSanitizer), from the seed corpus: FUZZ_RUNS executions (default
#      100000) as nobody, and as many as root, chrooted in a throw-away
#      mount namespace (fuzz/run-root.sh), so that the credential switching
#      is fuzzed too;
#   2. proxydiff.py: the same request transcripts to QEMU 7.2's helper and
#      to ours, each started as libvirt starts it; every reply and the
#      export tree afterwards must be equal, but for the differences listed
#      with their reason (QEMU's bugs, our stricter parsing).
# e2e/security/containment.sh runs against ours (and QEMU's) in make
# test-security, on the installed helper.
# Ends with two lines (also in work/helper/summary):
#   fuzz: N executions, C crashes
#   proxydiff: ... 0 unexplained differences
# and a non-zero status if anything failed.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../../scripts/lib.sh"

RUNS=${FUZZ_RUNS:-100000}
OURS=$BUILD/src/libvirt_virtfs_proxy_helper
QEMUS=/usr/lib/qemu/virtfs-proxy-helper
OUT=$WORK/helper

((EUID == 0)) || die "needs root (the helpers run as root, the root fuzz run chroots)"
[[ -x $OURS ]] || die "no $OURS (make build)"
[[ -x $QEMUS ]] || die "no $QEMUS (make deps: qemu-system-common)"
rm -rf "$OUT"
mkdir -p "$OUT"
rc=0

say "helper: building the fuzz target (clang, ASan, UBSan) from $TREE"
"$HERE/fuzz/build.sh" "$TREE" "$BUILD" "$OUT/fuzz_server" > "$OUT/fuzz-build.log" 2>&1 ||
    { cat "$OUT/fuzz-build.log" >&2; die "the fuzz target does not build"; }

# executions: the number on libFuzzer's DONE line of a run's log
executions() { sed -n 's/^#\([0-9][0-9]*\)[[:space:]][[:space:]]*DONE.*/\1/p' "$1/log" | tail -n 1; }
total=0 crashes=0
for who in nobody root; do
    say "helper: fuzzing as $who, $RUNS executions"
    script=$HERE/fuzz/run.sh
    [[ $who == root ]] && script=$HERE/fuzz/run-root.sh
    FUZZ_WORK=$OUT/fuzz-$who "$script" "$OUT/fuzz_server" -runs="$RUNS" | sed 's/^/    /' || rc=1
    n=$(executions "$OUT/fuzz-$who")
    c=$(find "$OUT/fuzz-$who/artifacts" -type f 2>/dev/null | wc -l)
    [[ -n $n ]] || { echo "    fuzzing as $who did not finish (log: $OUT/fuzz-$who/log)"; n=0; rc=1; }
    total=$((total + n)) crashes=$((crashes + c))
done

say "helper: the differential test, $QEMUS against $OURS"
python3 "$HERE/proxydiff.py" --ours "$OURS" --qemu "$QEMUS" > "$OUT/proxydiff.out" 2>&1 || rc=1
sed 's/^/    /' "$OUT/proxydiff.out" | tail -n 25

say "helper: round trips through both helpers, a smoke run of make bench-helper (values not checked)"
# a broken benchmark fails here, never a number: every kind of request in
# every placement must give its ratio line
RTT_ROUNDS=1 RTT_COUNT=50 "$HERE/bench-rtt.sh" > "$OUT/rtt-smoke.out" 2>&1 || rc=1
sed -n 's/^bench-rtt: /    /p' "$OUT/rtt-smoke.out"
placements=$(( $(nproc) < 2 ? 1 : 2 ))
ratios=$(grep -cE '^bench-rtt: [a-zA-Z ]+, [a-z+ ]+: ours [0-9.]+ us, QEMU.s [0-9.]+ us, ratio [0-9.]+$' "$OUT/rtt-smoke.out" || true)
floors=$(grep -cE '^bench-rtt: [a-zA-Z ]+, [a-z+ ]+: floor [0-9.]+ us \(null helper\), above it ours -?[0-9.]+ us, QEMU.s -?[0-9.]+ us$' "$OUT/rtt-smoke.out" || true)
memory=$(grep -cE '^bench-rtt: [a-zA-Z ]+, memory: VmRSS ours [1-9][0-9]* kB, QEMU.s [1-9][0-9]* kB, ratio [0-9.]+; private ours [1-9][0-9]* kB, QEMU.s [1-9][0-9]* kB$' "$OUT/rtt-smoke.out" || true)
if ((ratios != 4 * placements || floors != 4 * placements || memory != placements)); then
    echo "    bench-helper gave $ratios ratio lines, $floors floor lines and $memory memory lines, not $((4 * placements)), $((4 * placements)) and $placements (4 kinds of request, $placements placements): see $OUT/rtt-smoke.out"
    rc=1
fi

{
    echo "fuzz: $total executions, $crashes crashes"
    grep '^proxydiff: ' "$OUT/proxydiff.out" | tail -n 1 || echo "proxydiff: no summary line (see $OUT/proxydiff.out)"
} > "$OUT/summary"
grep -q '^proxydiff: no summary' "$OUT/summary" && rc=1
echo
cat "$OUT/summary"
exit "$rc"
