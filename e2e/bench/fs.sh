#!/bin/bash
# fs.sh RUNDIR - file system throughput of each share configuration, one
# guest boot per (repeat, configuration), the configurations interleaved and
# their order rotated every repeat so that a change in host load hits them
# alike.  Appends to RUNDIR/fs.tsv:
#   repeat config qemu_uid workload ops seconds rate unit
# Environment: BENCH_REPEATS BENCH_CONFIGS BENCH_NFILES BENCH_FILE_MIB BENCH_NRAND
# BENCH_PIN=1: every domain gets the same <cputune>, the vCPU on the last
# CPU and the emulator (with it a proxy share's helper) on CPU 0, so that
# the scheduler's placement of QEMU's threads, which moves sequential
# reads by a factor of two between boots here, is the same in every boot
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN=$1
REPEATS=${BENCH_REPEATS:-5}
read -r -a CONFIGS <<<"${BENCH_CONFIGS:-${CONFIGS_ALL[*]}}"
NFILES=${BENCH_NFILES:-1000}
MIB=${BENCH_FILE_MIB:-64}
NRAND=${BENCH_NRAND:-2000}
TIMEOUT=${BENCH_GUEST_TIMEOUT:-600}
PIN=
[[ ${BENCH_PIN:-0} != 1 ]] ||
    PIN="  <cputune><vcpupin vcpu='0' cpuset='$(($(nproc) - 1))'/><emulatorpin cpuset='0'/></cputune>"

out=$RUN/fs.tsv
[[ -s $out ]] || printf 'repeat\tconfig\tqemu_uid\tworkload\tops\tseconds\trate\tunit\n' > "$out"
bsay "fs: ${#CONFIGS[@]} configurations (${CONFIGS[*]}) x $REPEATS repeats${PIN:+, pinned};" \
     "$NFILES files, $MIB MiB file, $NRAND random 4 KiB reads"

n=${#CONFIGS[@]}
for ((r = 1; r <= REPEATS; r++)); do
    for ((i = 0; i < n; i++)); do
        cfg=${CONFIGS[$(((i + r - 1) % n))]}
        ensure_daemons
        dom=bench-fs-$cfg
        dir=$(config_export "$cfg" "fs-$cfg")
        run="all:/mnt/b:$NFILES:$MIB:$NRAND"
        bench_define "$dom" "$(config_cmdline "$cfg" b /mnt/b "$run") proxyfs.timeout=$TIMEOUT" \
            "$(config_domain_xml "$cfg")$PIN" "$(config_fs "$cfg" "$dir" b)"
        t0=$SECONDS
        virsh start "$dom" >/dev/null
        uid=$(qemu_uid "$dom" || echo '?')
        want=$(id -u "$QEMU_USER")
        [[ $cfg != local ]] || want=0
        [[ $uid == "$want" ]] || die "fs: $cfg: QEMU runs as uid '$uid', not $want"
        if ! bench_wait_done "$dom" $((TIMEOUT + 60)); then
            bsay "fs: repeat $r $cfg: guest timed out" >&2
        fi
        lines=$(bench_lines "$dom")
        if [[ -z $lines ]] || console "$dom" | grep -q '^BENCH-FAIL'; then
            console "$dom" | grep -E '^(BENCH|PROBE)' | tail -n 20 | sed 's/^/    | /' >&2
            die "fs: repeat $r $cfg: the guest produced no (or failing) numbers"
        fi
        while read -r w ops secs rate unit; do
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$cfg" "$uid" "$w" "$ops" "$secs" "$rate" "$unit"
        done <<<"$lines" >> "$out"
        bsay "fs: repeat $r/$REPEATS $cfg (QEMU uid $uid): $((SECONDS - t0)) s;" \
             "$(awk '$1 == "create" || $1 == "seqwrite" || $1 == "seqread" { printf "%s %.0f %s  ", $1, $4, $5 }' <<<"$lines")"
        [[ $r -ne 1 ]] || console "$dom" | grep '^BENCH-INFO mount' | sed "s/^/    $cfg: /"
        ensure_daemons
        cleanup_domain "$dom"
        rm -rf "$dir"
    done
done
