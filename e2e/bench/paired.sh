#!/bin/bash
# paired.sh RUNDIR - libvirt's helper against QEMU's, repeat by repeat.
#
# The medians of summarize.sh and startup.sh compare two spreads. But the
# configurations of one repeat run back to back, and unpinned most of a
# repeat's noise is where the scheduler put that repeat's threads, which
# moves both helpers' numbers alike. So this pairs them:
#   fs       per repeat, ours ÷ QEMU's rate for each workload (proxy ÷
#            proxy-qemu): median [min, max] over the repeats, and in how
#            many ours is at least as fast. The data workloads are the
#            control: QEMU reads and writes through the fd the helper
#            opened, so no helper takes part, and their spread is the
#            noise of the run;
#   startup  per repeat, the least-squares slope over the share counts,
#            ours minus QEMU's in ms per share (negative: ours is faster),
#            for virsh start and for the helper phase of the daemon's log.
# Writes RUNDIR/paired.tsv (part, name, role, n, median, min, max, wins)
# and RUNDIR/paired.txt; a part whose data lacks either helper is left
# out. Never judges the numbers.
set -euo pipefail
RUN=$1
[[ -d $RUN ]] || { echo "paired: no directory $RUN" >&2; exit 1; }

# stats: reads "part name role value" lines, writes one paired.tsv row per
# (part, name): n, median, min, max, and the count of values on ours' side
# (fs: >= 1; startup: <= 0)
stats() {
    sort -t$'\t' -k1,1 -k2,2 -k4,4g | awk -F'\t' -v OFS='\t' '
        function flush(   med) {
            if (!n) return
            med = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            print part, name, role, n, med, v[1], v[n], wins
            n = 0; wins = 0
        }
        $1 != part || $2 != name { flush(); part = $1; name = $2; role = $3 }
        { v[++n] = $4; if (($1 == "fs" && $4 >= 1) || ($1 == "startup" && $4 <= 0)) wins++ }
        END { flush() }'
}

{
    if [[ -s $RUN/fs.tsv ]]; then
        # repeat config qemu_uid workload ops seconds rate unit
        awk -F'\t' -v OFS='\t' '
            NR > 1 && ($2 == "proxy" || $2 == "proxy-qemu") { rate[$1, $4, $2] = $7; key[$1, $4] = 1 }
            END {
                for (k in key) {
                    split(k, p, SUBSEP)
                    if (!((p[1], p[2], "proxy") in rate) || !((p[1], p[2], "proxy-qemu") in rate) ||
                        rate[p[1], p[2], "proxy-qemu"] <= 0)
                        continue
                    role = p[2] ~ /^(seqwrite|seqread|randread)$/ ? "control" : "metadata"
                    print "fs", p[2], role, rate[p[1], p[2], "proxy"] / rate[p[1], p[2], "proxy-qemu"]
                }
            }' "$RUN/fs.tsv"
    fi
    if [[ -s $RUN/startup.tsv ]]; then
        # repeat kind nshares virsh_start_ms ready_ms guest_uptime_ms
        # prekernel_ms helpers helpers_ms: a slope per repeat, kind, metric
        awk -F'\t' -v OFS='\t' -f "$(dirname "${BASH_SOURCE[0]}")/lsq.awk" -f /dev/stdin \
            "$RUN/startup.tsv" <<'EOF'
            NR > 1 && ($2 == "proxy" || $2 == "proxy-qemu") {
                for (m = 4; m <= 9; m += 5)
                    lsq_add($1 SUBSEP $2 SUBSEP m, $3, $m)
            }
            END {
                name[4] = "virsh-start"; name[9] = "helper-phase"
                for (k in lsq_n) {
                    split(k, p, SUBSEP)
                    q = p[1] SUBSEP "proxy-qemu" SUBSEP p[3]
                    if (p[2] == "proxy" && lsq_fits(k) && lsq_fits(q))
                        print "startup", name[p[3]], "ms/share", lsq_slope(k) - lsq_slope(q)
                }
            }
EOF
    fi
} | stats > "$RUN/paired.tsv"

# the printed view, workloads in the order the guest runs them
awk -F'\t' '
    BEGIN {
        nw = split("create stat chmod chown rename walk unlink seqwrite seqread randread", order, " ")
        for (i = 1; i <= nw; i++) rank[order[i]] = i
    }
    $1 == "fs" { fs[rank[$2]] = $0; nfs++ }
    $1 == "startup" { st[$2] = $0; nst++ }
    function f(x) { return sprintf("%.2f", x) }
    END {
        if (nfs) {
            print "paired: ours ÷ QEMU'"'"'s rate in each repeat (higher: ours is faster)"
            printf "  %-9s %-9s %-24s %s\n", "workload", "role", "median [min, max]", "ours >= QEMU'"'"'s"
            for (i = 1; i <= nw; i++) {
                if (!(i in fs)) continue
                split(fs[i], r, "\t")
                if (r[3] == "control") { clo = (clo == "" || r[6] < clo) ? r[6] : clo; chi = (r[7] > chi) ? r[7] : chi }
                printf "  %-9s %-9s %-24s %d of %d\n", r[2], r[3], f(r[5]) " [" f(r[6]) ", " f(r[7]) "]", r[8], r[4]
            }
            if (clo != "")
                printf "  control: no helper takes part in the data workloads, so their [%s, %s] is the noise of this run\n", f(clo), f(chi)
        }
        if (nst) {
            print "paired: ours minus QEMU'"'"'s start-up slope in each repeat, ms per share (negative: ours is faster)"
            printf "  %-13s %-24s %s\n", "metric", "median [min, max]", "ours <= QEMU'"'"'s"
            split("virsh-start helper-phase", ms, " ")
            for (i = 1; i <= 2; i++) {
                if (!(ms[i] in st)) continue
                split(st[ms[i]], r, "\t")
                printf "  %-13s %-24s %d of %d\n", r[2], f(r[5]) " [" f(r[6]) ", " f(r[7]) "]", r[8], r[4]
            }
        }
    }' "$RUN/paired.tsv" | tee "$RUN/paired.txt"
