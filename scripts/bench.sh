#!/bin/bash
# bench.sh [--smoke] - proxy shares against stock 9p (passthrough with root
# QEMU, mapped) and virtiofs, all through the private libvirt (issue #6).
#
#   1. fs         throughput in the guest, configurations interleaved
#   2. startup    virsh start -> guest ready with 0..32 proxy shares; 16
#                 domains at once: helper RSS, virtqemud fds/threads
#   3. placement  metadata throughput with the helper placed near/far
#   4. the table, the paired view of both helpers (e2e/bench/paired.sh),
#      and the plot when python3-matplotlib is present
#
# Results: work/bench/RUN/ (RUN = date-time; work/bench/latest points to it):
# env.txt fs.tsv summary.tsv table.txt startup.tsv startup-fit.txt scale.tsv
# scale-rss.tsv placement.tsv placement.txt placement-affinity.txt
# paired.tsv paired.txt.
#
# --smoke (or BENCH_SMOKE=1): every configuration once with tiny sizes, and
# checks that numbers came out; never judges the numbers (future make test-bench).
# Sizes: BENCH_REPEATS BENCH_NFILES BENCH_FILE_MIB BENCH_NRAND BENCH_CONFIGS
# BENCH_STARTUP_COUNTS BENCH_STARTUP_REPEATS BENCH_SCALE_DOMAINS
# BENCH_PLACEMENT_REPEATS BENCH_PLACEMENT_NFILES BENCH_PLACEMENTS;
# BENCH_STAGES="fs startup scale placement profile" picks stages (profile:
# requests per guest operation, e2e/bench/profile.sh; in the smoke run,
# not in the default full run). BENCH_SCALE_SETS="KIND:DOMAINS:SHARES ..."
# (e2e/bench/scale.sh) the scale stage's sets.
# Needs root. Timings are only as good as the host is quiet: see loadavg.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../e2e/bench/lib.sh"
B=$TOP/e2e/bench

SMOKE=${BENCH_SMOKE:-0}
[[ ${1:-} == --smoke ]] && SMOKE=1
if [[ $(id -u) -ne 0 ]]; then
    echo "bench: SKIPPED: needs root (private libvirt daemons, root helpers)"
    exit 0
fi
if [[ $SMOKE == 1 ]]; then
    export BENCH_REPEATS=1 BENCH_NFILES=20 BENCH_FILE_MIB=2 BENCH_NRAND=20
    # two share counts and both helpers: the slope fits and the paired
    # start-up rows get data
    export BENCH_STARTUP_COUNTS="0 2" BENCH_STARTUP_REPEATS=1 BENCH_STARTUP_KINDS="proxy proxy-qemu"
    export BENCH_SCALE_DOMAINS=1
    export BENCH_PLACEMENT_REPEATS=1 BENCH_PLACEMENT_NFILES=20 BENCH_PLACEMENTS=h-emu
    export BENCH_PROFILE_NFILES=20
fi
# the smoke run checks that the profile stage works too
read -r -a STAGES <<<"${BENCH_STAGES:-fs startup scale placement$([[ $SMOKE == 1 ]] && echo ' profile')}"

T0=$SECONDS
bsay "building the bench guest"
"$B/build-bench-guest.sh" | tail -n 1

# BENCH_RUN=DIR adds to an earlier run's directory (e.g. the stages a daemon
# restart by someone else cut short)
name=$([[ $SMOKE == 1 ]] && echo smoke-)$(date +%Y%m%d-%H%M%S)
RUN=${BENCH_RUN:-$BENCH_DIR/$name}
mkdir -p "$RUN"
RUN=$(cd "$RUN" && pwd)
ln -sfn "${RUN##*/}" "$BENCH_DIR/latest$([[ $SMOKE == 1 ]] && echo -smoke)"

cleanup() {
    bench_cleanup
    stop_started_daemons
}
trap cleanup EXIT
ensure_daemons
bench_cleanup
bsay "results: $RUN"
print_env | tee -a "$RUN/env.txt"

for s in "${STAGES[@]}"; do
    rc=0
    case $s in
        fs)        { "$B/fs.sh" "$RUN" && "$B/summarize.sh" "$RUN" | tee "$RUN/table.txt"; } || rc=$? ;;
        startup)   "$B/startup.sh" "$RUN" || rc=$? ;;
        scale)     "$B/scale.sh" "$RUN" || rc=$? ;;
        placement) "$B/placement.sh" "$RUN" || rc=$? ;;
        profile)   "$B/profile.sh" "$RUN" || rc=$? ;;
        *)         die "unknown stage '$s' (fs startup scale placement profile)" ;;
    esac
    # a stage that set -e ended (a SIGPIPE is 141) says nothing itself
    ((rc == 0)) || die "bench stage '$s' failed with exit status $rc (results so far: $RUN)"
done

echo "loadavg at end: $(cat /proc/loadavg)" | tee -a "$RUN/env.txt"
# both helpers, repeat by repeat, from whatever fs and startup measured
"$B/paired.sh" "$RUN"
if [[ " ${STAGES[*]} " == *" fs "* ]]; then
    if ! awk -F'\t' '$2 == "local" { found = 1 } END { exit !found }' "$RUN/fs.tsv"; then
        bsay "no plot: BENCH_CONFIGS left out local passthrough, which the plot is relative to"
    elif /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
        png=$RUN/bench-proxy-vs-local.png
        [[ $SMOKE == 1 ]] || png=$TOP/docs/bench-proxy-vs-local.png
        cmd="scripts/bench-plot.py ${RUN#"$TOP"/} ${png#"$TOP"/}"
        bsay "plot: $cmd"
        (cd "$TOP" && $cmd)
        echo "$cmd" > "$RUN/plot-command.txt"
    else
        bsay "no plot: python3-matplotlib is not installed (apt-get install python3-matplotlib)"
    fi
fi

if [[ $SMOKE == 1 ]]; then
    "$B/check-smoke.sh" "$RUN"
fi
bsay "done in $((SECONDS - T0)) s: $RUN"
