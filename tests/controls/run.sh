#!/usr/bin/env bash
# run.sh - make test-controls: the negative controls. Each control runs a
# suite (or the part of it that its defect concerns) once against a
# deliberately broken target, and the suite must fail, for the reason the
# control names. A control that is not caught means that the suite would
# pass that defect in the product: test-controls then fails.
#
# A control is tests/controls/control-NAME.sh. It prints what it breaks,
# runs the suite, and exits
#   0  caught: the suite failed, and its output names the defect
#   1  missed: the suite passed (or failed for another reason)
#   2+ the control could not be set up (counted as an error, also fails)
# It undoes what it broke on every path (its own trap).
#
# Prints one line per control, then "controls: N controls, M caught"
# (also in work/controls-summary). The exit status is 0 only when every
# control was caught.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../../scripts/lib.sh"
SUMMARY=$WORK/controls-summary
LOGS=$WORK/controls
rm -f "$SUMMARY"
mkdir -p "$LOGS"

if ((EUID != 0)); then
    echo "controls: skipped: needs root (the suites they break do)"
    echo "controls: skipped (not root)" > "$SUMMARY"
    exit 1
fi

shopt -s nullglob
controls=("$HERE"/control-*.sh)
((${#controls[@]})) || die "no control in $HERE"
n=0 caught=0 lines=()
for c in "${controls[@]}"; do
    name=${c##*/control-}
    name=${name%.sh}
    n=$((n + 1))
    say "controls: $name (log: ${LOGS#"$TOP"/}/$name.log)"
    t=$SECONDS
    set +e
    bash "$c" > "$LOGS/$name.log" 2>&1
    rc=$?
    set -e
    why=$(grep -E '^control: ' "$LOGS/$name.log" | tail -n 1 | sed 's/^control: //')
    case $rc in
        0) caught=$((caught + 1)); verdict="caught" ;;
        1) verdict="MISSED" ;;
        *) verdict="ERROR (exit $rc)" ;;
    esac
    line=$(printf 'control %-24s %-16s %4d s  %s' "$name" "$verdict" $((SECONDS - t)) "$why")
    echo "$line"
    lines+=("$line")
    [[ $rc == 0 ]] || tail -n 20 "$LOGS/$name.log" | sed 's/^/    | /'
done
{
    printf '%s\n' "${lines[@]}"
    echo "controls: $n controls, $caught caught"
} > "$SUMMARY"
echo "controls: $n controls, $caught caught"
((caught == n))
