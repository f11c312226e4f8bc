#!/usr/bin/env bash
# run.sh - the security and fault suite (make test-security):
#   1. containment.sh: a compromised QEMU against helpers started here,
#      libvirt's own (the default) and QEMU's;
#   2. through the private libvirt (e2e/run.sh, on libvirt's helper):
#      test-hostile (the same against helpers libvirt started, QEMU's
#      socket taken from a paused domain), test-faults, test-cycles and
#      test-configs;
#   3. test-hostusers.sh: what QEMU plants in an export, seen by an
#      unprivileged host user; exports host users can reach, refused by
#      virsh start; the qemu.conf opt-out as the negative control.
# Ends with four lines that give the state at a glance:
#   containment: N attempts, M contained, K skipped   (libvirt's helper: 1-3)
#   containment with QEMU's helper: N attempts, M contained, K skipped, H known holes
#   lifecycle: N cycles, L leaks
#   configurations: N bad configurations, M refused   (test-configs, 3)
# (also kept in work/security-summary); the exit status is non-zero if
# anything failed.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../../scripts/lib.sh"
RESULTS=$WORK/e2e/results
SUMMARY=$WORK/security-summary

if ((EUID != 0)); then
    echo "security: skipped: needs root (the helper runs as root)"
    exit 0
fi

rm -f "$SUMMARY" "$RESULTS"/{hostile,faults,cycles,configs,hostusers}.out
mkdir -p "$WORK" "$RESULTS"
rc=0
say "security: containment.sh against libvirt's helper (started here)"
HELPER=$PREFIX/libexec/libvirt_virtfs_proxy_helper "$HERE/containment.sh" | tee "$WORK/containment.out" || rc=1
say "security: containment.sh against QEMU's helper (started here)"
"$HERE/containment.sh" | tee "$WORK/containment-qemu.out" || rc=1
say "security: through libvirt: hostile QEMU, faults, start/destroy cycles, bad configurations"
"$TOP/e2e/run.sh" hostile faults cycles configs || rc=1
say "security: what QEMU plants, seen by an unprivileged host user; exports host users can reach"
"$HERE/test-hostusers.sh" 2>&1 | tee "$RESULTS/hostusers.out" || rc=1
grep -Eq '^test-hostusers: [0-9]+ passed, 0 failed$' "$RESULTS/hostusers.out" || rc=1

# line FILE REGEX: the last line of FILE matching REGEX, or a marker
line() { grep -E "$2" "$1" 2>/dev/null | tail -n 1 || echo "(no such line in ${1##*/})"; }
# counts FILE NAME WHAT1 WHAT2: "N M" from FILE's last line
# "NAME: N WHAT1, M WHAT2", or "x x" when there is none (a suite that
# printed no summary must not count as 0 of 0)
counts() {
    local l
    l=$(grep -E "^$2: " "$1" 2>/dev/null | tail -n 1) || true
    sed -E "s/^$2: ([0-9]+) $3, ([0-9]+) $4\$/\\1 \\2/;t;s/.*/x x/" <<<"${l:-none}"
}
# containment.sh's line also gives its skipped attempts (counted as
# attempts, never as contained): "containment: N attempts, M contained,
# K skipped"
skipped() {
    local l
    l=$(grep -E '^containment: ' "$1" 2>/dev/null | tail -n 1) || true
    sed -E 's/^containment: [0-9]+ attempts, [0-9]+ contained, ([0-9]+) skipped$/\1/;t;s/.*/x/' <<<"${l:-none}"
}
read -r a1 c1 < <(counts "$WORK/containment.out" containment attempts "contained, [0-9]+ skipped")
read -r a2 c2 < <(counts "$RESULTS/hostile.out" containment-libvirt attempts contained)
read -r a3 c3 < <(counts "$RESULTS/hostusers.out" containment-hostusers attempts contained)
k1=$(skipped "$WORK/containment.out")
if [[ "$a1$c1$k1$a2$c2$a3$c3" =~ ^[0-9]+$ ]]; then
    contained="containment: $((a1 + a2 + a3)) attempts, $((c1 + c2 + c3)) contained, $k1 skipped"
else
    contained="containment: incomplete (containment.sh: $a1/$c1, test-hostile: $a2/$c2, test-hostusers: $a3/$c3)"
    rc=1
fi
# the bad configurations of test-configs and of test-hostusers
read -r n1 r1 < <(counts "$RESULTS/configs.out" configurations "bad configurations" refused)
read -r n2 r2 < <(counts "$RESULTS/hostusers.out" configurations-hostusers "bad configurations" refused)
if [[ "$n1$r1$n2$r2" =~ ^[0-9]+$ ]]; then
    configurations="configurations: $((n1 + n2)) bad configurations, $((r1 + r2)) refused"
else
    configurations="(no such line: configurations incomplete (test-configs: $n1/$r1, test-hostusers: $n2/$r2))"
    rc=1
fi
qemu_line=$(line "$WORK/containment-qemu.out" '^containment: [0-9]+ attempts, [0-9]+ contained, [0-9]+ skipped$')
qemu_known=$(line "$WORK/containment-qemu.out" '^failed: [0-9]+, known: [0-9]+,' | sed -E 's/.*known: ([0-9]+),.*/\1/')
{
    echo "$contained"
    echo "containment with QEMU's helper: ${qemu_line#containment: }, $qemu_known known holes"
    line "$RESULTS/cycles.out" '^lifecycle: [0-9]+ cycles, [0-9]+ leaks$'
    echo "$configurations"
} > "$SUMMARY"
grep -q '^(no such' "$SUMMARY" && rc=1
echo
cat "$SUMMARY"
exit "$rc"
