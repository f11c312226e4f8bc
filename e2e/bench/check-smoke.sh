#!/bin/bash
# check-smoke.sh RUNDIR - did a smoke run (scripts/bench.sh --smoke) produce
# numbers for everything?  Never judges the numbers themselves.  Ends with
# "bench-smoke: N passed, M failed"; exit status 1 if anything is missing.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RUN=$1
read -r -a CONFIGS <<<"${BENCH_CONFIGS:-${CONFIGS_ALL[*]}}"
WORKLOADS=(create stat chmod chown rename walk unlink seqwrite seqread randread)
quid=$(id -u "$QEMU_USER")

# positive X: X is a number above 0
positive() { awk -v x="$1" 'BEGIN { exit !(x + 0 > 0) }'; }

for c in "${CONFIGS[@]}"; do
    got=0
    for w in "${WORKLOADS[@]}"; do
        r=$(awk -F'\t' -v c="$c" -v w="$w" '$2 == c && $4 == w { print $7; exit }' "$RUN/fs.tsv" 2>/dev/null)
        [[ -n $r ]] && positive "$r" && got=$((got + 1))
    done
    check "fs $c: a positive rate for each of the ${#WORKLOADS[@]} workloads" "${#WORKLOADS[@]}" "$got"
    want=$quid
    [[ $c == local ]] && want=0
    check "fs $c: QEMU's uid" "$want" \
        "$(awk -F'\t' -v c="$c" '$2 == c { print $3; exit }' "$RUN/fs.tsv" 2>/dev/null)"
done
check_match "fs: summary table has a ratio column" 'prx/local' "$(cat "$RUN/table.txt" 2>/dev/null)"
check_match "fs: ... and one for QEMU's helper" 'qprx/locl' "$(cat "$RUN/table.txt" 2>/dev/null)"
check "paired: ours ÷ QEMU's per repeat for every workload, the data workloads as control" \
    "${#WORKLOADS[@]} 3" \
    "$(awk -F'\t' '$1 == "fs" && $4 > 0 && $5 > 0 { n++; if ($3 == "control") c++ } END { print n + 0, c + 0 }' \
        "$RUN/paired.tsv" 2>/dev/null)"
check_match "startup: latencies measured, one helper per proxy share, the helper phase from the daemon's log" '^ok$' \
    "$(awk -F'\t' 'NR > 1 { n++; if (!($5 > 0) || ($2 ~ /^proxy/ && $8 != $3) || $9 !~ /^[0-9]+$/) bad = 1 }
                   END { print (n && !bad) ? "ok" : "bad (" n " rows)" }' "$RUN/startup.tsv" 2>/dev/null)"
check "startup: a slope per share for both helpers, and ours minus QEMU's" \
    "ours-minus-qemu proxy proxy-qemu" \
    "$(awk -F'\t' '$2 == "helper-phase" && $3 ~ /^-?[0-9.]+$/ { print $1 }' "$RUN/startup-fit.tsv" 2>/dev/null |
       sort | paste -sd' ')"
check "paired: ours minus QEMU's start-up slope for virsh start and the helper phase" \
    "helper-phase virsh-start" \
    "$(awk -F'\t' '$1 == "startup" && $4 > 0 && $5 ~ /^-?[0-9.e+-]+$/ { print $2 }' "$RUN/paired.tsv" 2>/dev/null |
       sort | paste -sd' ')"
check_match "scale: every helper's VmRSS measured" '^ok$' \
    "$(awk -F'\t' 'NR > 1 { n++; if (!($3 > 0)) bad = 1 } END { print (n && !bad) ? "ok" : "bad (" n " rows)" }' \
        "$RUN/scale-rss.tsv" 2>/dev/null)"
check "scale: before, during, after snapshots" "before during after" \
    "$(awk -F'\t' 'NR > 1 { print $1 }' "$RUN/scale.tsv" 2>/dev/null | paste -sd' ')"
check_match "scale: nothing left after destroy" ': 0 leaks$' \
    "$(grep 'after destroy' "$RUN/scale.txt" 2>/dev/null)"
check "profile: requests counted for every phase with both helpers" "14 2" \
    "$(awk -F'\t' 'NR > 1 && $3 == "all" && $4 > 0 { n++ } END { print n + 0 }' "$RUN/profile.tsv" 2>/dev/null) $(awk -F'\t' 'NR > 1 && $3 > 0 && $4 > 0 { n++ } END { print n + 0 }' "$RUN/profile-cost.tsv" 2>/dev/null)"
check_match "placement: metadata rates measured" '^[a-z-]+ +n=1 +[0-9.]+' \
    "$(sed -n 2p "$RUN/placement.txt" 2>/dev/null | sed 's/^ *//')"
summary bench-smoke
