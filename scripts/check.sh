#!/usr/bin/env bash
# check.sh - make check, what CI runs: every stage in order, each timed.
# The Debian 12 system image for make test-system builds in the background
# from the start (it is mostly downloads and dpkg in a chroot, and it needs
# nothing of ours), so that it is ready when test-system needs it.
# Stage times go to work/ci-stage-times, and are printed at the end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# make bisect (every patch built and unit-tested, in a copy of the work
# tree) runs in the background from the end of make unit on, at the lowest
# CPU priority: it takes whatever CPU the stages after unit leave, and
# check waits for it at the end. The two cores stay busy throughout (0-2%
# idle, measured), so what makes check shorter is less CPU work in any
# stage, not another order.
STAGES=(deps build check-paths unit test-helper install test-workflow test-apparmor test-virtinst
        test-security e2e test-bench deb virt-manager-deb repo test-repo test-deb test-controls test-system
        check-counts)
TIMES=$WORK/ci-stage-times
mkdir -p "$WORK"
: > "$TIMES"
# check-counts takes no suite's result from before this run
touch "$WORK/ci-started"
rm -f "$WORK/harness-warnings"
# each stage's output also goes to work/stage-logs/STAGE.log: check-counts
# reads the summary lines of the suites that keep no summary file
LOGS=$WORK/stage-logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
export CHECK_COUNTS_ARGS="--newer-than $WORK/ci-started"
t_all=$SECONDS

record() { # record STAGE SECONDS STATUS
    printf '%-14s %4d min %02d s  %s\n' "$1" $(($2 / 60)) $(($2 % 60)) "$3" >> "$TIMES"
}
report() {
    echo "==> stage times (also in ${TIMES#"$TOP"/}):"
    sed 's/^/    /' "$TIMES"
    # what the harness recovered from (e2e/lib.sh), for whoever reads CI
    if [[ -s $WORK/harness-warnings ]]; then
        echo "==> harness warnings (also in work/harness-warnings):"
        sed 's/^/    /' "$WORK/harness-warnings"
    fi
}

image_pid=
start_image() { # after make deps, which installs debootstrap
    [[ $(id -u) == 0 ]] || return 0
    say "check: building the Debian 12 system image in the background (log: work/system-image.log)"
    "$TOP/scripts/system-image.sh" > "$WORK/system-image.log" 2>&1 &
    image_pid=$!
    t_image=$SECONDS
}
bisect_pid=
start_bisect() { # once make unit passed: the commit it tested is skipped
    say "check: make bisect in the background, nice 19 (log: work/bisect-background.log)"
    nice -n 19 make --no-print-directory -C "$TOP" bisect > "$WORK/bisect-background.log" 2>&1 &
    bisect_pid=$!
    t_bisect=$SECONDS
}
artefacts_checked=
stop_background() {
    [[ -z $image_pid ]] || kill "$image_pid" 2>/dev/null || true
    [[ -z $bisect_pid ]] || kill "$bisect_pid" 2>/dev/null || true
    # a failed stage is where a suite is likeliest to have left something
    # planted: name it, even though check has failed already
    if [[ -z $artefacts_checked ]]; then
        wait 2>/dev/null || true
        "$TOP/scripts/check-artefacts.sh" || true
    fi
}
trap stop_background EXIT

# failed_checks LOG: the failed checks of a stage, with the lines that
# follow each (the console, domain and daemon logs a test prints), again at
# the end: a CI log cut in its middle still shows why the stage failed
failed_checks() {
    local n
    n=$(grep -cE '^FAIL[ :-]' "$1" || true)
    ((n > 0)) || return 0
    say "check: the $n failed check(s) of this stage (whole log: ${1#"$TOP"/})"
    grep -E -A12 '^FAIL[ :-]' "$1" | head -n 120 | sed 's/^/    /'
}

for stage in "${STAGES[@]}"; do
    [[ $stage != build ]] || start_image
    if [[ $stage == test-system && -n $image_pid ]]; then
        say "check: waiting for the system image (background build)"
        if wait "$image_pid"; then
            image_pid=
            record system-image $((SECONDS - t_image)) "ok (in the background, done $((SECONDS - t_all)) s into check)"
        else
            image_pid=
            record system-image $((SECONDS - t_image)) FAILED
            tail -n 30 "$WORK/system-image.log"
            report
            die "the system image did not build (log: $WORK/system-image.log)"
        fi
    fi
    say "check: make $stage"
    t=$SECONDS
    if make --no-print-directory -C "$TOP" "$stage" 2>&1 | tee "$LOGS/$stage.log"; then
        record "$stage" $((SECONDS - t)) ok
    else
        record "$stage" $((SECONDS - t)) FAILED
        failed_checks "$LOGS/$stage.log"
        report
        die "make $stage failed"
    fi
    [[ $stage != unit ]] || start_bisect
done

say "check: waiting for make bisect (background)"
t=$SECONDS
if wait "$bisect_pid"; then
    bisect_pid=
    record bisect $((SECONDS - t_bisect)) "ok (in the background; waited $((SECONDS - t)) s for it at the end)"
    grep -E '^==> bisect' "$WORK/bisect-background.log" | tail -n 1
else
    bisect_pid=
    record bisect $((SECONDS - t_bisect)) FAILED
    tail -n 40 "$WORK/bisect-background.log"
    report
    die "make bisect failed (log: $WORK/bisect-background.log)"
fi
# last, once everything that runs has ended: nothing set-uid, set-gid or
# device-like left anywhere in the checkout
say "check: make check-artefacts"
t=$SECONDS
artefacts_checked=1
if make --no-print-directory -C "$TOP" check-artefacts; then
    record check-artefacts $((SECONDS - t)) ok
else
    record check-artefacts $((SECONDS - t)) FAILED
    report
    die "make check-artefacts failed: set-uid/set-gid files or device nodes left in the checkout"
fi
record total $((SECONDS - t_all)) ""
report
echo "==> make check: all stages passed"
