#!/bin/bash
# scale.sh RUNDIR - many shares at once. BENCH_SCALE_SETS lists the sets to
# run, each KIND:DOMAINS:SHARES (KIND proxy or virtiofs), one after the
# other; the default, "proxy:$BENCH_SCALE_DOMAINS:1" (16 domains), writes
# the files below, every other set the same files with "-KIND-DxS" before
# the suffix. The domains are started one after the other; each guest
# mounts its shares, runs a small metadata pass on each of its first two
# and sleeps. Records the helpers' VmRSS and virtqemud's fds, threads and
# RSS before, during (all guests done with their shares) and after (all
# destroyed), and counts what is left after: helpers, QEMUs, pidfiles and
# virtqemud fds beyond those before. Writes
#   RUNDIR/scale.tsv        phase virtqemud_fds virtqemud_threads virtqemud_rss_kib helpers qemus
#   RUNDIR/scale-rss.tsv    domain helper_pids helper_rss_kib qemu_rss_kib virsh_start_ms
#   RUNDIR/scale.txt        the means, and "scale: ... N leaks"
# (helper_rss_kib: the sum over the domain's helper processes; a virtiofs
# share has two, virtiofsd and its sandboxed child).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN=$1
read -r -a SETS <<<"${BENCH_SCALE_SETS:-proxy:${BENCH_SCALE_DOMAINS:-16}:1}"
VIRTIOFSD=/usr/lib/qemu/virtiofsd
ensure_daemons

# helpers_below PREFIX: pids of the helpers (libvirt's proxy helper or
# virtiofsd) serving an export whose path starts with PREFIX
helpers_below() {
    local p args
    for p in /proc/[0-9]*; do
        case $(readlink "$p/exe" 2>/dev/null) in
            "$HELPER"|"$VIRTIOFSD") ;;
            *) continue ;;
        esac
        args=$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null) || continue
        [[ $args == *" -p $1"* || $args == *"source=$1"* ]] && echo "${p#/proc/}"
    done
    return 0
}
snapshot() { # snapshot PHASE
    local pid fds thr rss nh nq
    pid=$(daemon_pid virtqemud)
    fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
    thr=$(proc_field "$pid" Threads)
    rss=$(proc_field "$pid" VmRSS)
    nh=$(helpers_below "$EXPORTS/sc-" | grep -c . || true)
    nq=$(for d in "${doms[@]}"; do qemu_pid "$d" || true; done | grep -c . || true)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$fds" "$thr" "$rss" "$nh" "$nq" >> "$TSV"
    bsay "scale $SET: $1: virtqemud $fds fds, $thr threads, VmRSS $rss kB; $nh helper processes, $nq QEMUs"
    SNAP_FDS[$1]=$fds SNAP_HELPERS[$1]=$nh SNAP_QEMUS[$1]=$nq
}
# fs_of KIND DIR TAG: the <filesystem> of one share
fs_of() {
    case $1 in
        proxy)    config_fs proxy "$2" "$3" ;;
        virtiofs) config_fs virtiofs "$2" "$3" ;;
        *)        die "scale: unknown kind '$1' (proxy, virtiofs)" ;;
    esac
}

run_set() {
    local kind=$1 n=$2 shares=$3 d i s mounts runs fsxml dir t0 t h q rss ok sfx
    SET=$kind:$n:$shares
    sfx=
    [[ $SET == "proxy:${BENCH_SCALE_DOMAINS:-16}:1" ]] || sfx=-$kind-${n}x$shares
    TSV=$RUN/scale$sfx.tsv RSS=$RUN/scale-rss$sfx.tsv TXT=$RUN/scale$sfx.txt
    declare -gA SNAP_FDS=() SNAP_HELPERS=() SNAP_QEMUS=()
    bsay "scale $SET: $n domains with $shares $kind share(s) each"
    printf 'phase\tvirtqemud_fds\tvirtqemud_threads\tvirtqemud_rss_kib\thelpers\tqemus\n' > "$TSV"
    printf 'domain\thelper_pids\thelper_rss_kib\tqemu_rss_kib\tvirsh_start_ms\n' > "$RSS"
    doms=()
    for ((i = 1; i <= n; i++)); do
        doms+=("bench-sc-$i")
    done
    sleep 2                             # earlier virsh connections settle
    snapshot before

    declare -A START_MS=()
    for d in "${doms[@]}"; do
        mounts='' runs='' fsxml=()
        for ((s = 0; s < shares; s++)); do
            dir=$(config_export "$kind" "sc-${d#bench-}-$s")
            fsxml+=("$(fs_of "$kind" "$dir" "b$s")")
            # 9p shares are mounted by the guest's init, virtiofs ones by
            # fsbench; the metadata pass runs on the first two
            if [[ $kind == virtiofs ]]; then
                runs+="mount:virtiofs:b$s:/mnt/b$s,"
            else
                mounts+="${mounts:+,}b$s:/mnt/b$s"
            fi
        done
        for ((s = 0; s < shares && s < 2; s++)); do
            runs+="meta:/mnt/b$s:20,"
        done
        bench_define "$d" "${mounts:+proxyfs.mounts=$mounts }proxyfs.run=${runs}sleep:900 proxyfs.timeout=1000" \
            "$(config_domain_xml "$kind")" "${fsxml[@]}"
        t0=$(date +%s%N)
        virsh start "$d" >/dev/null
        START_MS[$d]=$((($(date +%s%N) - t0) / 1000000))
    done
    bsay "scale $SET: $n domains started; waiting for every guest to finish its share passes"
    declare -A DONE=()
    for ((t = 0; t < 900 && ${#DONE[@]} < n; t += 2)); do
        for d in "${doms[@]}"; do
            [[ -z ${DONE[$d]:-} ]] || continue
            if console "$d" | grep -q '^PROBE-RUN sleep'; then
                if console "$d" | grep -qE '^BENCH-FAIL|^PROBE-RUN-EXIT [1-9]'; then
                    DONE[$d]=failed
                    bsay "scale $SET: $d: a share pass failed: $(console "$d" | grep -m1 -E '^BENCH-FAIL|^PROBE-RUN-EXIT [1-9]')"
                else
                    DONE[$d]=ok
                fi
            elif [[ $(virsh_t 10 domstate "$d" 2>/dev/null) == "shut off" ]]; then
                DONE[$d]=dead
                bsay "scale $SET: $d ended before its share passes: $(console "$d" | grep -m1 -E 'panic|PROBE-EXIT' || true)"
            fi
        done
        sleep 2
    done
    ok=$(printf '%s\n' "${DONE[@]}" | grep -c '^ok$' || true)
    bsay "scale $SET: $ok of $n guests through their share passes"
    snapshot during
    for d in "${doms[@]}"; do
        h=$(helpers_below "$EXPORTS/sc-${d#bench-}-" | paste -sd,)
        rss=0
        for p in ${h//,/ }; do
            rss=$((rss + $(proc_field "$p" VmRSS | grep -o '^[0-9]*' || echo 0)))
        done
        q=$(qemu_pid "$d" || true)
        printf '%s\t%s\t%s\t%s\t%s\n' "$d" "$h" "$rss" "$(proc_field "$q" VmRSS)" \
            "${START_MS[$d]}" >> "$RSS"
    done
    for d in "${doms[@]}"; do
        cleanup_domain "$d"
    done
    sleep 2
    snapshot after
    local pidfiles leaks
    pidfiles=$(for d in "${doms[@]}"; do pidfiles_of "$d"; done | grep -c . || true)
    leaks=$((SNAP_HELPERS[after] + SNAP_QEMUS[after] + pidfiles +
             (SNAP_FDS[after] > SNAP_FDS[before] ? SNAP_FDS[after] - SNAP_FDS[before] : 0)))
    rm -rf "$EXPORTS"/sc-*
    {
        awk -F'\t' -v set="$SET" -v ok="$ok" -v n="$n" 'NR > 1 && $3 != "" { k++; s += $3; q += $4; v += $5; if (!mn || $3 < mn) mn = $3; if ($3 > mx) mx = $3 }
            END { if (k) printf "scale %s: %d of %d guests through; helper VmRSS per domain mean %.0f kB [%d-%d], sum %d kB; QEMU VmRSS mean %.0f kB; virsh start mean %.0f ms\n", set, ok, n, s / k, mn, mx, s, q / k, v / k }' "$RSS"
        printf 'scale %s: virtqemud fds %s before, %s during, %s after\n' "$SET" \
            "${SNAP_FDS[before]}" "${SNAP_FDS[during]}" "${SNAP_FDS[after]}"
        printf 'scale %s: after destroy: %s helper processes, %s QEMUs, %s pidfiles, %s more virtqemud fds: %s leaks\n' \
            "$SET" "${SNAP_HELPERS[after]}" "${SNAP_QEMUS[after]}" "$pidfiles" \
            "$((SNAP_FDS[after] - SNAP_FDS[before]))" "$leaks"
    } | tee "$TXT"
}

for set in "${SETS[@]}"; do
    IFS=: read -r kind n shares <<<"$set"
    [[ $n =~ ^[1-9][0-9]*$ && $shares =~ ^[1-9][0-9]*$ ]] || die "scale: bad set '$set' (KIND:DOMAINS:SHARES)"
    run_set "$kind" "$n" "$shares"
done
