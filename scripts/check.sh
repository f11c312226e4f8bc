#!/usr/bin/env bash
# check.sh - make check, what CI runs: every stage in order, each timed.
# The Debian 12 system image for make test-system builds in the background
# from the start (it is mostly downloads and dpkg in a chroot, and it needs
# nothing of ours), so that it is ready when test-system needs it.
# Stage times go to work/ci-stage-times, and are printed at the end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# bisect runs in place (BISECT_IN_PLACE, see bisect.sh): it builds and
# tests every patch in the work tree and ends with make build and make
# unit of the whole series, which the later stages use.
STAGES=(deps bisect install test-workflow test-apparmor test-virtinst screenshot
        test-security e2e test-bench deb test-deb test-system)
export BISECT_IN_PLACE=1
TIMES=$WORK/ci-stage-times
mkdir -p "$WORK"
: > "$TIMES"
t_all=$SECONDS

record() { # record STAGE SECONDS STATUS
    printf '%-14s %4d min %02d s  %s\n' "$1" $(($2 / 60)) $(($2 % 60)) "$3" >> "$TIMES"
}
report() {
    echo "==> stage times (also in ${TIMES#"$TOP"/}):"
    sed 's/^/    /' "$TIMES"
}

image_pid=
start_image() { # after make deps, which installs debootstrap
    [[ $(id -u) == 0 ]] || return 0
    say "check: building the Debian 12 system image in the background (log: work/system-image.log)"
    "$TOP/scripts/system-image.sh" > "$WORK/system-image.log" 2>&1 &
    image_pid=$!
    t_image=$SECONDS
}
stop_image() { [[ -z $image_pid ]] || kill "$image_pid" 2>/dev/null || true; }
trap stop_image EXIT

for stage in "${STAGES[@]}"; do
    [[ $stage != bisect ]] || start_image
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
    if make --no-print-directory -C "$TOP" "$stage"; then
        record "$stage" $((SECONDS - t)) ok
    else
        record "$stage" $((SECONDS - t)) FAILED
        report
        die "make $stage failed"
    fi
done
record total $((SECONDS - t_all)) ""
report
echo "==> make check: all stages passed"
