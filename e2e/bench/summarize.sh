#!/bin/bash
# summarize.sh RUNDIR - medians and spread of RUNDIR/fs.tsv per workload and
# configuration, and the ratios of the proxy's median to the others' (and of
# the proxy on QEMU's helper to local passthrough's).
# Writes RUNDIR/summary.tsv:
#   workload unit config n median min max q1 q3
# and prints a table (rate: median [min-max], then the ratios).
# Quartiles interpolate linearly between the sorted values (n >= 1).
set -euo pipefail
RUN=$1
[[ -s $RUN/fs.tsv ]] || { echo "summarize: no $RUN/fs.tsv" >&2; exit 1; }

# workload order as the guest runs them
ORDER="create stat chmod chown rename walk unlink seqwrite seqread randread"

tail -n +2 "$RUN/fs.tsv" | awk -F'\t' -v OFS='\t' '{ print $4, $8, $2, $7 }' |
    sort -t$'\t' -k1,1 -k3,3 -k4,4g |
    awk -F'\t' -v OFS='\t' '
        function q(p,   h, lo) {        # p-quantile of v[1..n]
            h = (n - 1) * p + 1; lo = int(h)
            return lo >= n ? v[n] : v[lo] + (h - lo) * (v[lo + 1] - v[lo])
        }
        function flush() {
            if (n) print key_w, key_u, key_c, n, q(0.5), v[1], v[n], q(0.25), q(0.75)
            n = 0
        }
        BEGIN { print "workload", "unit", "config", "n", "median", "min", "max", "q1", "q3" }
        $1 != key_w || $3 != key_c { flush(); key_w = $1; key_u = $2; key_c = $3 }
        { v[++n] = $4 }
        END { flush() }' > "$RUN/summary.tsv"

# the printed table: one row per workload, configurations in a fixed order
awk -F'\t' -v order="$ORDER" '
    NR == 1 { next }
    {
        seen[$3] = 1; unit[$1] = $2; n[$1, $3] = $4
        med[$1, $3] = $5; lo[$1, $3] = $6; hi[$1, $3] = $7
    }
    function cell(w, c) {
        if (!((w, c) in med)) return sprintf("%-24s", "-")
        return sprintf("%-24s", sprintf(fmt(med[w, c]) " [" fmt(lo[w, c]) "-" fmt(hi[w, c]) "]"))
    }
    function fmt(x) { return x >= 100 ? sprintf("%.0f", x) : sprintf("%.1f", x) }
    function ratio(w, a, b) {
        if (!((w, a) in med) || !((w, b) in med) || med[w, b] == 0) return sprintf("%-9s", "-")
        return sprintf("%-9.2f", med[w, a] / med[w, b])
    }
    END {
        nc = 0
        na = split("proxy proxy-qemu local mapped virtiofs", all, " ")
        for (i = 1; i <= na; i++) if (all[i] in seen) cfg[++nc] = all[i]
        reps = 0
        for (k in n) if (n[k] > reps) reps = n[k]
        printf "median [min-max] over %d repeats (rates: higher is better)\n", reps
        printf "%-9s %-6s", "workload", "unit"
        for (i = 1; i <= nc; i++) printf " %-24s", cfg[i]
        printf " %-9s %-9s %-9s %-9s\n", "prx/local", "qprx/locl", "prx/mapd", "prx/vfs"
        m = split(order, ws, " ")
        for (j = 1; j <= m; j++) {
            w = ws[j]
            if (!(w in unit)) continue
            printf "%-9s %-6s", w, unit[w]
            for (i = 1; i <= nc; i++) printf " %s", cell(w, cfg[i])
            printf " %s %s %s %s\n", ratio(w, "proxy", "local"), ratio(w, "proxy-qemu", "local"),
                ratio(w, "proxy", "mapped"), ratio(w, "proxy", "virtiofs")
        }
    }' "$RUN/summary.tsv"
