#!/bin/bash
# placement.sh RUNDIR - does it pay to place the proxy helper next to QEMU?
# Guest metadata throughput (fsbench meta) on one proxy share under these
# placements, interleaved, rotated every repeat:
#   free        no pinning at all
#   h-emu       <vcpupin 0 -> cpu 1> <emulatorpin -> cpu 0>, the helper left
#               where libvirt puts it: in the daemon's cgroups, its threads'
#               affinity set to the emulator's CPUs (cpu 0)
#   h-free      same cputune; the helper moved up to the domain's own cpuset
#               cgroup and unpinned (taskset 0-N): helper free, QEMU pinned
#   h-vcpu      same cputune; the helper moved into the vcpu0 cpuset cgroup:
#               on the vCPU thread's cpu 1
#   one-cpu     vCPU, emulator and helper all on cpu 0
# (taskset alone cannot move the helper off the emulator's CPUs: the cpuset
# cgroup refuses it with EINVAL.)
# Appends to RUNDIR/placement.tsv:
#   repeat variant helper_cpus workload ops seconds rate unit
# and RUNDIR/placement-affinity.txt: the threads' affinities and cgroups.
# Environment: BENCH_PLACEMENT_REPEATS (5), BENCH_PLACEMENT_NFILES (1000),
# BENCH_PLACEMENTS (the variants)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN=$1
REPEATS=${BENCH_PLACEMENT_REPEATS:-5}
NFILES=${BENCH_PLACEMENT_NFILES:-1000}
read -r -a VARIANTS <<<"${BENCH_PLACEMENTS:-free h-emu h-free h-vcpu one-cpu}"
(($(nproc) >= 2)) || die "placement: needs at least 2 CPUs"
out=$RUN/placement.tsv
aff=$RUN/placement-affinity.txt
[[ -s $out ]] || printf 'repeat\tvariant\thelper_cpus\tworkload\tops\tseconds\trate\tunit\n' > "$out"
bsay "placement: ${VARIANTS[*]} x $REPEATS repeats, $NFILES files"

cputune() { # cputune VCPU-CPU EMULATOR-CPU
    echo "  <cputune><vcpupin vcpu='0' cpuset='$1'/><emulatorpin cpuset='$2'/></cputune>"
}
variant_xml() {
    case $1 in
        free)                 ;;
        h-emu|h-free|h-vcpu)  cputune 1 0 ;;
        one-cpu)              cputune 0 0 ;;
        *)                    die "unknown placement '$1'" ;;
    esac
}
# place_helper VARIANT PID: move the helper as the variant says
place_helper() {
    local cg
    [[ $1 == h-free || $1 == h-vcpu ]] || return 0
    # the cgroup v1 cpuset hierarchy (as on this machine); with cgroup v2
    # only, the helper stays where libvirt put it
    cg=$(grep -E '^[0-9]+:cpuset:' "/proc/$2/cgroup" | cut -d: -f3 || true)
    if [[ -z $cg ]]; then
        bsay "placement: no cgroup v1 cpuset hierarchy: $1 leaves the helper in place" >&2
        return 0
    fi
    cg=/sys/fs/cgroup/cpuset$cg
    case $1 in
        h-free) echo "$2" > "${cg%/emulator}/tasks"
                taskset -a -pc "0-$(($(nproc) - 1))" "$2" >/dev/null ;;
        h-vcpu) echo "$2" > "${cg%/emulator}/vcpu0/tasks" ;;
        *)      ;;
    esac
}

# affinity_report VARIANT DOMAIN HELPER: who may run where
affinity_report() {
    local q t
    q=$(qemu_pid "$2") || return 0
    echo "== $1"
    for t in /proc/"$q"/task/*; do
        printf '  qemu thread %-7s %-16s cpus %s\n' "${t##*/}" "$(cat "$t/comm")" \
            "$(proc_field "${t#/proc/}" Cpus_allowed_list)"
    done
    printf '  helper %-12s %-16s cpus %s\n' "$3" virtfs-proxy-he "$(proc_field "$3" Cpus_allowed_list)"
    printf '  helper cgroup (cpuset): %s\n' "$(grep -E ':cpuset:' "/proc/$3/cgroup" | cut -d: -f3)"
    printf '  qemu   cgroup (cpuset): %s\n' "$(grep -E ':cpuset:' "/proc/$q/cgroup" | cut -d: -f3)"
}

: > "$aff"
n=${#VARIANTS[@]}
for ((r = 1; r <= REPEATS; r++)); do
    for ((i = 0; i < n; i++)); do
        v=${VARIANTS[$(((i + r - 1) % n))]}
        ensure_daemons
        dom=bench-pl
        dir=$(config_export proxy pl)
        bench_define "$dom" "proxyfs.mounts=b:/mnt/b proxyfs.run=meta:/mnt/b:$NFILES proxyfs.timeout=600" \
            "$(variant_xml "$v")" "$(config_fs proxy "$dir" b)"
        virsh start "$dom" >/dev/null
        h=$(helper_pids "$dom" | head -n 1)
        place_helper "$v" "$h"
        hc=$(proc_field "$h" Cpus_allowed_list)
        [[ $r -ne 1 ]] || affinity_report "$v" "$dom" "$h" >> "$aff"
        bench_wait_done "$dom" 660 || bsay "placement: repeat $r $v: guest timed out" >&2
        lines=$(bench_lines "$dom")
        [[ -n $lines ]] || die "placement: repeat $r $v: no numbers from the guest"
        while read -r w ops secs rate unit; do
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$v" "$hc" "$w" "$ops" "$secs" "$rate" "$unit"
        done <<<"$lines" >> "$out"
        bsay "placement: repeat $r/$REPEATS $v (helper cpus $hc):" \
             "$(awk '{ printf "%s %.0f  ", $1, $4 }' <<<"$lines")"
        cleanup_domain "$dom"
    done
done
rm -rf "$EXPORTS/pl"

# the medians: all metadata ops together (total ops / total time per boot),
# and per workload
awk -F'\t' -v OFS='\t' 'NR > 1 { ops[$1 SUBSEP $2] += $5; secs[$1 SUBSEP $2] += $6 }
    END { for (k in ops) { split(k, p, SUBSEP); print p[2], ops[k] / secs[k] } }' "$out" |
    sort -k1,1 -k2,2g |
    awk -F'\t' '
        function flush() { if (n) printf "%s\t%d\t%.1f\t%.1f\t%.1f\n", key, n, (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2), v[1], v[n]; n = 0 }
        $1 != key { flush(); key = $1 }
        { v[++n] = $2 }
        END { flush() }' > "$RUN/placement-summary.tsv"
{
    echo "placement: guest metadata ops/s (all metadata ops of a boot / their time): median [min-max]"
    base=$(awk -F'\t' '$1 == "free" { print $3 }' "$RUN/placement-summary.tsv")
    while IFS=$'\t' read -r v n med lo hi; do
        printf '  %-8s n=%s  %8s [%s-%s]  vs free %s\n' "$v" "$n" "$med" "$lo" "$hi" \
            "$(awk -v a="$med" -v b="${base:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
    done < "$RUN/placement-summary.tsv"
} | tee "$RUN/placement.txt"
