#!/bin/bash
# startup.sh RUNDIR - start-up cost of proxy shares: `virsh start` until the
# guest prints BENCH-READY (fsbench ready, nothing mounted), with N proxy
# shares in one domain, and the same with N stock 9p (mapped) shares, which
# start no helper: the difference of the two slopes is the helpers' own cost.
# With the kind virtiofs, N virtiofs shares: one virtiofsd each, which
# libvirt starts the way it starts a proxy helper (a daemonized root
# process with a pidfile and a log through virtlogd), as a yardstick.
# Appends to RUNDIR/startup.tsv:
#   repeat kind nshares virsh_start_ms ready_ms guest_uptime_ms prekernel_ms helpers helpers_ms
# ready_ms is host time from `virsh start` to the marker; guest_uptime_ms the
# guest's own /proc/uptime then (its boot under TCG, noisy on a loaded host);
# prekernel_ms = ready_ms - guest_uptime_ms: everything before the guest
# kernel's clock started (libvirt, helpers, QEMU start-up, SeaBIOS and the
# kernel/initrd load under TCG), the part helpers add to. helpers_ms is
# the daemon's own clock, from its debug log: from "Creating domain log
# file" to "Building mount namespace", the part of qemuProcessLaunch()
# that starts every helper and waits until each serves (for a mapped
# share, none), without QEMU's start-up, whose noise drowns a helper's
# share of `virsh start`.
# Environment: BENCH_STARTUP_COUNTS (default "0 1 8 32"), BENCH_STARTUP_REPEATS (3),
# BENCH_STARTUP_KINDS (default "proxy mapped")
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN=$1
read -r -a COUNTS <<<"${BENCH_STARTUP_COUNTS:-0 1 8 32}"
REPEATS=${BENCH_STARTUP_REPEATS:-3}
read -r -a KINDS <<<"${BENCH_STARTUP_KINDS:-proxy mapped}"
out=$RUN/startup.tsv
[[ -s $out ]] || printf 'repeat\tkind\tnshares\tvirsh_start_ms\tready_ms\tguest_uptime_ms\tprekernel_ms\thelpers\thelpers_ms\n' > "$out"
bsay "startup: ${COUNTS[*]} shares x (${KINDS[*]}) x $REPEATS repeats"

ms() { echo $(($(date +%s%N) / 1000000)); }

# helper_phase_ms LINE: in the daemon's log from LINE on, the milliseconds
# between the first "Creating domain log file" and the "Building mount
# namespace" after it (qemuProcessLaunch's debug messages)
helper_phase_ms() {
    tail -n +"$1" "$E2E/virtqemud.log" | awk '
        function t(s,  a) { split(substr(s, 12, 12), a, ":"); return (a[1] * 3600 + a[2] * 60 + a[3]) * 1000 }
        / : Creating domain log file$/ && s == "" { s = t($0) }
        / : Building mount namespace$/ && s != "" && d == "" { d = t($0) - s; if (d < 0) d += 86400000 }
        END { if (d != "") printf "%d", d }'   # no exit: tail would die of SIGPIPE
}

for ((r = 1; r <= REPEATS; r++)); do
    for nfs in "${COUNTS[@]}"; do
        for k in "${KINDS[@]}"; do
            ensure_daemons
            dom=bench-st-$k
            fss=()
            for ((j = 0; j < nfs; j++)); do
                d=$(config_export "$k" "st-$k-$j")
                fss+=("$(config_fs "$k" "$d" "t$j")")
            done
            bench_define "$dom" "proxyfs.run=ready proxyfs.timeout=60" "$(config_domain_xml "$k")" \
                "${fss[@]}"
            logline=$(($(wc -l < "$E2E/virtqemud.log") + 1))
            t0=$(ms)
            virsh start "$dom" >/dev/null
            t1=$(ms)
            if [[ $k == virtiofs ]]; then
                # QEMU 7.2's virtiofsd forks once for its sandbox: count
                # only the processes libvirt started
                nh=$(pgrep -f -- "-o source=$EXPORTS/st-virtiofs-" |
                     while read -r p; do
                         [[ $(ps -o comm= -p "$(ps -o ppid= -p "$p")") == virtiofsd ]] || echo "$p"
                     done | grep -c . || true)
            else
                nh=$(helper_pids "$dom" | grep -c . || true)
            fi
            ready=''
            while (($(ms) - t0 < 120000)); do
                if grep -q '^BENCH-READY' "$E2E/$dom.console" 2>/dev/null; then
                    ready=$(($(ms) - t0))
                    break
                fi
                sleep 0.02
            done
            [[ -n $ready ]] || die "startup: $k $nfs shares: no BENCH-READY within 120 s"
            up=$(console "$dom" | awk '$1 == "BENCH-READY" { printf "%d", $2 * 1000; exit }')
            hms=$(helper_phase_ms "$logline")
            [[ -n $hms ]] || die "startup: $k $nfs shares: no 'Creating domain log file' ... 'Building mount namespace' (qemuProcessLaunch's debug messages) in $E2E/virtqemud.log from line $logline"
            cleanup_domain "$dom"
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$k" "$nfs" $((t1 - t0)) "$ready" \
                "$up" $((ready - up)) "$nh" "$hms" >> "$out"
            bsay "startup: repeat $r $k x$nfs: virsh start $((t1 - t0)) ms (helpers $hms ms), ready $ready ms" \
                 "(guest uptime $up ms, so $((ready - up)) ms before the guest kernel), $nh helpers"
            rm -rf "$(export_base "$k")"/st-"$k"-*
        done
    done
done

# least-squares slope and intercept of ms over nshares, per kind and metric
awk -F'\t' -f "$(dirname "${BASH_SOURCE[0]}")/lsq.awk" -f /dev/stdin "$out" <<'EOF' | sort > "$RUN/startup-fit.tsv"
    BEGIN { nm = split("4 5 7 9", metrics, " ") }
    NR > 1 {
        for (i = 1; i <= nm; i++)
            lsq_add($2 SUBSEP metrics[i], $3, $(metrics[i]))
    }
    END {
        name[4] = "virsh-start"; name[5] = "ready"; name[7] = "pre-kernel"; name[9] = "helper-phase"
        for (key in lsq_n) {
            if (!lsq_fits(key)) continue
            split(key, p, SUBSEP)
            slope[p[1], p[2]] = lsq_slope(key)
            printf "%s\t%s\t%.2f\t%.1f\n", p[1], name[p[2]], lsq_slope(key), lsq_intercept(key)
        }
        for (i = 1; i <= nm; i++) {
            m = metrics[i]
            if ((("proxy", m) in slope) && (("mapped", m) in slope))
                printf "helper-only\t%s\t%.1f\t\n", name[m], slope["proxy", m] - slope["mapped", m]
            if ((("virtiofs", m) in slope) && (("mapped", m) in slope))
                printf "virtiofsd-only\t%s\t%.1f\t\n", name[m], slope["virtiofs", m] - slope["mapped", m]
            if ((("proxy", m) in slope) && (("proxy-qemu", m) in slope))
                printf "ours-minus-qemu\t%s\t%.2f\t\n", name[m], slope["proxy", m] - slope["proxy-qemu", m]
        }
    }
EOF
{
    echo "start-up: least-squares fit of latency over the number of shares in one domain"
    printf '  %-12s %-12s %14s %14s\n' kind metric "ms per share" "ms at 0"
    while IFS=$'\t' read -r k m b a; do
        printf '  %-12s %-12s %14s %14s\n' "$k" "$m" "$b" "${a:--}"
    done < "$RUN/startup-fit.tsv"
    echo "  (helper-only = proxy slope - mapped slope: the helper's own cost per share;"
    echo "   virtiofsd-only = the same for libvirt's virtiofsd, when measured;"
    echo "   ours-minus-qemu = proxy slope - proxy-qemu slope: libvirt's helper against QEMU's)"
} | tee "$RUN/startup-fit.txt"
