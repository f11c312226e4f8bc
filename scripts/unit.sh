#!/usr/bin/env bash
# libvirt's own test suite in the work tree: every unit test plus the
# syntax-check suite (which meson registers only in a git checkout).
# Usage: unit.sh [BUILDDIR]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

build=${1:-$BUILD}
[[ -f $build/build.ninja ]] || die "no build at $build (make build)"

n=$(meson test -C "$build" --list --suite syntax-check 2>/dev/null | grep -c ':syntax-check / ' || true)
((n > 0)) || die "the syntax-check suite is not registered in $build: is the tree a git checkout?"

say "meson test: all unit tests and $n syntax-check rules"
rm -f "$WORK/unit-passed"
meson test -C "$build" --num-processes "$(nproc)" --print-errorlogs
# The work tree's commit that passed, if nothing uncommitted was built
# with it: make bisect need not test that commit again.
if [[ $build == "$BUILD" && -z $(tgit status --porcelain) ]]; then
    tgit rev-parse HEAD > "$WORK/unit-passed"
fi
