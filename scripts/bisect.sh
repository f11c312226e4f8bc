#!/usr/bin/env bash
# Every patch on its own: check out each commit after the pristine tag in a
# copy of the work tree (the work tree is left alone), build it
# incrementally and run the whole unit suite including syntax-check. A copy,
# not a git worktree: libvirt registers syntax-check only where .git is a
# directory. Stops at the first patch that breaks anything, and names it.
# The commit that make unit passed in the work tree is not tested twice.
#
# The copy starts as the work tree and its build directory are (cp -a keeps
# every file's time), so ninja rebuilds for each patch only what the patch
# changes relative to the state before; nothing is configured or built from
# scratch (the HTML docs, most links). As root, the copies are bind-mounted
# over the work tree and work/build in a mount namespace of this script's
# own: every path a compile, a test or meson sees is then the same as in
# make build, and ccache (lib.sh) takes its objects without preprocessing
# anything. Without root, the copies are built where they are, from
# scratch, and ccache still finds what it can by preprocessed source.
#
# Syntax-check: the tip gets every rule on the whole tree (make unit, or
# here if make unit did not pass it). Every other patch gets the rules on
# the files that any patch of the series touches, as they are at that patch
# (scripts/syntax-check-changed.sh says why that is the same verdict): a
# file the series never touches is the same there as at the tip.
# BISECT_FROM=N starts at the Nth patch (after fixing the patch that failed).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

copy_src=$WORK/bisect/libvirt
copy_build=$WORK/bisect/build

if [[ -z ${BISECT_IN_NAMESPACE:-} ]]; then
    [[ -d $TREE/.git ]] || die "no work tree at $TREE (make tree)"
    say "bisect: copying the work tree and its build directory to $WORK/bisect"
    rm -rf "$WORK/bisect" "$WORK/bisect-build"   # also an older layout
    mkdir -p "$WORK/bisect"
    cp -a "$TREE" "$copy_src"
    if [[ $(id -u) == 0 ]] && unshare --mount --propagation private true 2>/dev/null; then
        if [[ -f $BUILD/build.ninja ]]; then
            cp -a "$BUILD" "$copy_build"
        else
            mkdir -p "$copy_build" "$BUILD"   # BUILD: the mount point
        fi
        BISECT_IN_NAMESPACE=1 exec unshare --mount --propagation private "$0" "$@"
    fi
    say "bisect: not root: building the copy from scratch in $copy_build"
    wt=$copy_src bbuild=$copy_build
else
    mount --bind "$copy_src" "$TREE"
    mount --bind "$copy_build" "$BUILD"
    say "bisect: in a mount namespace of its own, the copies at $TREE and $BUILD"
    wt=$TREE bbuild=$BUILD
fi

wgit() { git -c safe.directory="$wt" -C "$wt" "$@"; }
mapfile -t commits < <(wgit rev-list --reverse "$BASE_TAG..HEAD")
if ((${#commits[@]} == 0)); then
    say "the series is empty: testing the pristine tree once"
    commits=("$BASE_TAG")
fi
tip=${commits[-1]}
# the files that any patch touches (syntax-check-changed.sh)
touched=$WORK/bisect/touched-files
wgit log --format= --name-only --no-renames "$BASE_TAG..$tip" | sort -u > "$touched"

# make unit already built and tested this commit in the work tree
passed=$(cat "$WORK/unit-passed" 2>/dev/null || true)

t0=$SECONDS
ccache -z > /dev/null 2>&1 || true
i=0
for c in "${commits[@]}"; do
    i=$((i + 1))
    subject=$(wgit log -1 --format=%s "$c")
    if ((i < ${BISECT_FROM:-1})); then
        continue
    fi
    if [[ $c == "$passed" ]]; then
        say "bisect [$i/${#commits[@]}] $subject: passed make unit as the work tree's HEAD ($(cut -c1-12 <<<"$c")), not tested again"
        continue
    fi
    say "bisect [$i/${#commits[@]}] [+$((SECONDS - t0))s] $subject"
    wgit checkout -q -f --detach "$c"
    if ! "$TOP/scripts/build.sh" "$wt" "$bbuild" > "$WORK/bisect.log" 2>&1; then
        tail -n 40 "$WORK/bisect.log"
        die "patch $i ($subject) does not build (log: $WORK/bisect.log)"
    fi
    full=0
    if [[ $c == "$tip" ]]; then
        full=1
        unit=("$TOP/scripts/unit.sh" "$bbuild")
    else
        unit=(meson test -C "$bbuild" --num-processes "$(nproc)" --print-errorlogs --no-suite syntax-check)
    fi
    if ! "${unit[@]}" > "$WORK/bisect.log" 2>&1; then
        grep -E '^[0-9]+/[0-9]+ .*(FAIL|TIMEOUT)' "$WORK/bisect.log" || tail -n 40 "$WORK/bisect.log"
        die "patch $i ($subject) fails the unit suite (log: $WORK/bisect.log)"
    fi
    grep -E '^(Ok|Fail|Skipped):' "$WORK/bisect.log" | tr -s ' ' | paste -sd' '
    if ((full)); then
        echo "    (the tip: syntax-check with every rule on the whole tree)"
    elif ! "$TOP/scripts/syntax-check-changed.sh" "$bbuild" "$touched" > "$WORK/bisect.log" 2>&1; then
        grep -E -B3 '^make: \*\*\* .*sc_' "$WORK/bisect.log" || tail -n 40 "$WORK/bisect.log"
        die "patch $i ($subject) fails syntax-check (log: $WORK/bisect.log)"
    fi
done
ccache -s 2>/dev/null | grep -E '^(Cacheable|  (Hits|Misses)|  Direct)' | sed 's/^/    ccache: /' || true
from=${BISECT_FROM:-1}
say "bisect: patches $from to ${#commits[@]} of ${#commits[@]} build and pass the unit suite and syntax-check ($((SECONDS - t0)) s)"
