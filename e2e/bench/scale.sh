#!/bin/bash
# scale.sh RUNDIR - many domains at once: BENCH_SCALE_DOMAINS (default 16)
# domains with one proxy share each, started one after the other; each guest
# mounts its share, runs a small metadata pass on it and sleeps.  Records the
# helpers' VmRSS and virtqemud's fds, threads and RSS before, during (all
# guests done with their share) and after (all destroyed).  Writes
#   RUNDIR/scale.tsv        phase virtqemud_fds virtqemud_threads virtqemud_rss_kib helpers qemus
#   RUNDIR/scale-rss.tsv    domain helper_pid helper_rss_kib qemu_rss_kib virsh_start_ms
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN=$1
N=${BENCH_SCALE_DOMAINS:-16}
bsay "scale: $N domains with one proxy share each"
ensure_daemons

all_helpers() { # pids of every running virtfs-proxy-helper serving a bench export
    local p
    for p in /proc/[0-9]*; do
        [[ $(readlink "$p/exe" 2>/dev/null) == "$HELPER" ]] || continue
        tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -q " -p $EXPORTS/" && echo "${p#/proc/}"
    done
    return 0
}
snapshot() { # snapshot PHASE
    local pid fds thr rss nh nq
    pid=$(daemon_pid virtqemud)
    fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
    thr=$(proc_field "$pid" Threads)
    rss=$(proc_field "$pid" VmRSS)
    nh=$(all_helpers | grep -c . || true)
    nq=$(for d in "${doms[@]}"; do qemu_pid "$d" || true; done | grep -c . || true)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$fds" "$thr" "$rss" "$nh" "$nq" >> "$RUN/scale.tsv"
    bsay "scale: $1: virtqemud $fds fds, $thr threads, VmRSS $rss kB; $nh helpers, $nq QEMUs"
}

printf 'phase\tvirtqemud_fds\tvirtqemud_threads\tvirtqemud_rss_kib\thelpers\tqemus\n' > "$RUN/scale.tsv"
printf 'domain\thelper_pid\thelper_rss_kib\tqemu_rss_kib\tvirsh_start_ms\n' > "$RUN/scale-rss.tsv"
doms=()
for ((i = 1; i <= N; i++)); do
    doms+=("bench-sc-$i")
done
sleep 2                             # earlier virsh connections settle
snapshot before

declare -A START_MS=()
for d in "${doms[@]}"; do
    dir=$(config_export proxy "sc-${d#bench-}")
    bench_define "$d" "proxyfs.mounts=b:/mnt/b proxyfs.run=meta:/mnt/b:20,sleep:900 proxyfs.timeout=1000" \
        "" "$(config_fs proxy "$dir" b)"
    t0=$(date +%s%N)
    virsh start "$d" >/dev/null
    START_MS[$d]=$((($(date +%s%N) - t0) / 1000000))
done
bsay "scale: $N domains started; waiting for every guest to finish its share pass"
declare -A DONE=()
for ((t = 0; t < 600 && ${#DONE[@]} < N; t += 2)); do
    for d in "${doms[@]}"; do
        [[ -z ${DONE[$d]:-} ]] || continue
        if console "$d" | grep -q '^PROBE-RUN sleep'; then
            DONE[$d]=ok
        elif [[ $(virsh_t 10 domstate "$d" 2>/dev/null) == "shut off" ]]; then
            DONE[$d]=dead
            bsay "scale: $d ended before its share pass: $(console "$d" | grep -m1 -E 'panic|PROBE-EXIT' || true)"
        fi
    done
    sleep 2
done
bsay "scale: $(printf '%s\n' "${DONE[@]}" | grep -c '^ok$' || true) of $N guests through their share pass"
snapshot during
for d in "${doms[@]}"; do
    h=$(helper_pids "$d" | head -n 1)
    q=$(qemu_pid "$d" || true)
    printf '%s\t%s\t%s\t%s\t%s\n' "$d" "$h" "$(proc_field "$h" VmRSS)" \
        "$(proc_field "$q" VmRSS)" "${START_MS[$d]}" >> "$RUN/scale-rss.tsv"
done
for d in "${doms[@]}"; do
    cleanup_domain "$d"
done
sleep 2
snapshot after
rm -rf "$EXPORTS"/sc-*
awk -F'\t' 'NR > 1 && $3 != "" { n++; s += $3; q += $4; v += $5; if (!mn || $3 < mn) mn = $3; if ($3 > mx) mx = $3 }
    END { if (n) printf "scale: helper VmRSS mean %.0f kB [%d-%d] over %d helpers (sum %d kB); QEMU VmRSS mean %.0f kB; virsh start mean %.0f ms\n", s / n, mn, mx, n, s, q / n, v / n }' \
    "$RUN/scale-rss.tsv" | tee "$RUN/scale.txt"
