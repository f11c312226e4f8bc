#!/usr/bin/env bash
# check-counts.sh - make check-counts: every suite of make check ran the
# number of checks, attempts and skips that tests/expected-counts says. A
# suite that silently runs fewer checks (a loop over nothing, a scenario
# that no longer runs, a check that became a skip) still prints "0 failed";
# this is what notices. A change of a suite changes its line in
# tests/expected-counts in the same commit.
#
#   check-counts.sh                  compare, exit 1 on any difference
#   check-counts.sh --newer-than F   also refuse a result older than file F
#                                    (make check: one from before this run)
#   check-counts.sh --print          the current values, in the file's format
#
# Where the values come from (the suites' own summary lines):
#   e2e/HELPER/NAME   work/e2e/results/NAME.HELPER.count (e2e/run.sh; make e2e
#                     runs every scenario on libvirt's helper and a smoke run on
#                     QEMU's, make test-security four more on libvirt's)
#   security/...      work/security-summary, and test-hostusers' summary line
#   helper/...        work/helper/summary (make test-helper)
#   system            the last line of test-system's run.log
#   virtinst, repo, repo/virt-manager-deb, deb, controls
#                     the summary lines of make test-virtinst, test-repo,
#                     test-deb and test-controls in work/stage-logs/STAGE.log
#                     (make check keeps each stage's output there)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
EXPECTED=$TOP/tests/expected-counts
RESULTS=$WORK/e2e/results
mode=check newer=
while (($#)); do
    case $1 in
        --print) mode=print ;;
        --newer-than) newer=$2; shift ;;
        *) die "usage: $0 [--print] [--newer-than FILE]" ;;
    esac
    shift
done

declare -A SRC=()                   # key -> the file its value came from
# value FILE SED-EXPR: the last line of FILE that SED-EXPR rewrites (it
# prints with p), or nothing
value() { [[ -f $1 ]] && sed -nE "$2" "$1" | tail -n 1 || true; }
actual() { # actual: "KEY VALUE" for every result there is
    local f k v
    for f in "$RESULTS"/*.count; do
        [[ -e $f ]] || continue
        k=${f##*/}; k=${k%.count}   # NAME.HELPER
        v=$(value "$f" 's/^test-[a-z]+: ([0-9]+ passed, [0-9]+ failed)(, ([0-9]+) skipped)?$/\1, \3 skipped/p')
        v=${v/, \ skipped/, 0 skipped}
        echo "e2e/${k#*.}/${k%%.*} $v"
        SRC["e2e/${k#*.}/${k%%.*}"]=$f
    done
    f=$WORK/security-summary
    for k in containment "containment with QEMU's helper" lifecycle configurations; do
        v=$(value "$f" "s/^$k: (.*)$/\\1/p")
        [[ -z $v ]] && continue
        case $k in
            containment) k=security/containment ;;
            lifecycle) k=security/lifecycle ;;
            configurations) k=security/configurations ;;
            *) k=security/containment-qemu ;;
        esac
        echo "$k $v"
        SRC[$k]=$f
    done
    f=$RESULTS/hostusers.out
    v=$(value "$f" 's/^test-hostusers: ([0-9]+ passed, [0-9]+ failed)(, ([0-9]+) skipped)?$/\1, \3 skipped/p')
    v=${v/, \ skipped/, 0 skipped}
    [[ -z $v ]] || { echo "security/hostusers $v"; SRC[security/hostusers]=$f; }
    f=$WORK/helper/summary
    for k in fuzz proxydiff; do
        v=$(value "$f" "s/^$k: (.*)$/\\1/p")
        [[ -z $v ]] || { echo "helper/$k $v"; SRC[helper/$k]=$f; }
    done
    f=$WORK/system/test/out/run.log
    v=$(value "$f" 's/^test-system: ([0-9]+ passed, [0-9]+ failed)(, ([0-9]+) skipped)?$/\1, \3 skipped/p')
    v=${v/, \ skipped/, 0 skipped}
    [[ -z $v ]] || { echo "system $v"; SRC[system]=$f; }
    local key stage name
    for key in virtinst:test-virtinst:test-virtinst repo:test-repo:test-repo \
               repo/virt-manager-deb:test-repo:virt-manager-deb \
               deb:test-deb:system-install controls:test-controls:controls; do
        IFS=: read -r k stage name <<<"$key"
        f=$WORK/stage-logs/$stage.log
        if [[ $name == controls ]]; then
            v=$(value "$f" 's/^controls: ([0-9]+ controls, [0-9]+ caught)$/\1/p')
        else
            v=$(value "$f" "s/^$name: ([0-9]+ passed, [0-9]+ failed)(, ([0-9]+) skipped)?\$/\\1, \\3 skipped/p")
            v=${v/, \ skipped/, 0 skipped}
        fi
        [[ -z $v ]] || { echo "$k $v"; SRC[$k]=$f; }
    done
}

declare -A GOT=()
while read -r k v; do GOT[$k]=$v; done < <(actual)
# (actual runs in a process substitution: its SRC is not ours; again here)
actual > /dev/null

if [[ $mode == print ]]; then
    for k in "${!GOT[@]}"; do printf '%-36s %s\n' "$k" "${GOT[$k]}"; done | LC_ALL=C sort
    exit 0
fi

[[ -f $EXPECTED ]] || die "no $EXPECTED"
n=0 bad=0
while read -r k v; do
    [[ -z $k || $k == '#'* ]] && continue
    n=$((n + 1))
    got=${GOT[$k]:-}
    if [[ -z $got ]]; then
        echo "counts: $k: expected '$v', no result (did the suite run?)"
        bad=$((bad + 1))
    elif [[ $got != "$v" ]]; then
        echo "counts: $k: expected '$v', got '$got' (${SRC[$k]#"$TOP"/})"
        bad=$((bad + 1))
    elif [[ -n $newer && ${SRC[$k]} -ot $newer ]]; then
        echo "counts: $k: '$got' is from an earlier run (${SRC[$k]#"$TOP"/} older than ${newer#"$TOP"/})"
        bad=$((bad + 1))
    fi
    unset "GOT[$k]"
done < "$EXPECTED"
for k in "${!GOT[@]}"; do
    echo "counts: $k: '${GOT[$k]}' has no line in tests/expected-counts (a new suite? add it)"
done
if ((bad)); then
    echo "counts: $n expected, $bad differ: a suite runs other checks than tests/expected-counts says;"
    echo "counts: if the change is meant, update its line (scripts/check-counts.sh --print shows them all)"
    exit 1
fi
echo "counts: $n suites' counts as expected (tests/expected-counts)"
