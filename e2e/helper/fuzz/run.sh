#!/bin/sh
# Run fuzz_server for a bounded number of executions (CI) or a time.
# As root it drops to nobody first: the target works on a scratch export
# of its own, and a bug in the helper's path resolution must not be able
# to change anything that nobody could not.
# Usage: run.sh FUZZER [-runs=N | -max_total_time=S] [more libFuzzer options]
# Environment: FUZZ_WORK (scratch directory, default a new one in /tmp;
# the target's scratch export in it is removed after the run)
set -eu
fuzzer=$(readlink -f "${1:?fuzz_server binary}")
shift
here=$(cd "$(dirname "$0")" && pwd)
work=${FUZZ_WORK:-$(mktemp -d /tmp/fuzz-proxy.XXXXXX)}
mkdir -p "$work/corpus" "$work/artifacts"
cp -r "$here/corpus/." "$work/seeds/" 2>/dev/null || { mkdir -p "$work/seeds"; cp -r "$here/corpus/." "$work/seeds/"; }
run=
if [ "$(id -u)" = 0 ]; then
    chown -R nobody "$work"
    run="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
# absolute paths: the helper's xattr calls change the working directory
FUZZ_TMPDIR=$work $run "$fuzzer" -max_len=4096 -dict="$here/proxy.dict" \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@" \
    "$work/corpus" "$work/seeds" > "$work/log" 2>&1 || true
# the scratch export (vpfuzz.*) holds what the last inputs left: set-uid
# files of nobody's, opened modes; the crash inputs in artifacts/ replay
# any finding, so it goes, and none may stay
for d in "$work"/vpfuzz.*; do
    [ -e "$d" ] || continue
    chmod -R u+rwX "$d" 2>/dev/null || true
    rm -rf "$d"
done
if ls -d "$work"/vpfuzz.* > /dev/null 2>&1; then
    echo "cannot remove the scratch export in $work" >&2
    exit 1
fi
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$work/log" || true
grep -E '^stat::' "$work/log" || true
crashes=$(find "$work/artifacts" -type f | wc -l)
echo "crashes: $crashes (log: $work/log)"
# a run that did not finish (the target died outside an input) fails too
grep -q -E '^#[0-9]+[[:space:]]+DONE' "$work/log" || { echo "fuzzing did not finish" >&2; exit 1; }
[ "$crashes" = 0 ]
