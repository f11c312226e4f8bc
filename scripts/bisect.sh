#!/usr/bin/env bash
# Every patch on its own: check out each commit after the pristine tag in a
# separate clone of the work tree (the work tree is left alone), build it
# incrementally and run the whole unit suite including syntax-check. A clone,
# not a git worktree: libvirt registers syntax-check only where .git is a
# directory. Stops at the first patch that breaks anything, and names it.
# The commit that make unit passed in the work tree is not tested twice.
#
# The patches are built like the work tree (-O2, scripts/build.sh) and laid
# out like it: the clone in work/bisect/libvirt, its build directory in
# work/bisect/build, so that compile commands and line markers are the same
# as make build's. ccache (lib.sh) then finds every object whose
# preprocessed source a patch leaves as make build or an earlier patch
# compiled it; only what a patch changes, and what includes a header the
# series changes later, is compiled again. The cache statistics of the
# whole run are printed at the end.
#
# The first patch tested gets the whole unit suite with every syntax-check
# rule on the whole tree, as make unit gives the series; every later one
# gets the unit suite and the rules on the files it changed
# (scripts/syntax-check-changed.sh says why that is the same verdict).
# BISECT_FROM=N starts at the Nth patch (after fixing the patch that failed).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

wt=$WORK/bisect/libvirt
bbuild=$WORK/bisect/build
[[ -d $TREE/.git ]] || die "no work tree at $TREE (make tree)"

mapfile -t commits < <(tgit rev-list --reverse "$BASE_TAG..HEAD")
if ((${#commits[@]} == 0)); then
    say "the series is empty: testing the pristine tree once"
    commits=("$BASE_TAG")
fi

wgit() { git -c safe.directory="$wt" -C "$wt" "$@"; }
if [[ ! -d $wt/.git ]]; then
    rm -rf "$WORK/bisect" "$WORK/bisect-build"   # also an older layout
    git -c safe.directory="$TREE" clone -q --no-checkout "$TREE" "$wt"
    wgit checkout -q --detach "$BASE_TAG"
    # Untracked in the work tree's index (see tree.sh), but the build needs it.
    cp -a "$TREE/src/keycodemapdb" "$wt/src/keycodemapdb"
    echo "/src/keycodemapdb/" >> "$wt/.git/info/exclude"
fi
wgit fetch -q --tags "$TREE" HEAD

# make unit already built and tested this commit in the work tree
passed=$(cat "$WORK/unit-passed" 2>/dev/null || true)

t0=$SECONDS
ccache -z > /dev/null 2>&1 || true
i=0 full=1
for c in "${commits[@]}"; do
    i=$((i + 1))
    subject=$(tgit log -1 --format=%s "$c")
    if ((i < ${BISECT_FROM:-1})); then
        continue
    fi
    if [[ $c == "$passed" ]]; then
        say "bisect [$i/${#commits[@]}] $subject: passed make unit as the work tree's HEAD ($(cut -c1-12 <<<"$c")), not tested again"
        continue
    fi
    say "bisect [$i/${#commits[@]}] [+$((SECONDS - t0))s] $subject"
    wgit checkout -q --detach "$c"
    if ! "$TOP/scripts/build.sh" "$wt" "$bbuild" > "$WORK/bisect.log" 2>&1; then
        tail -n 40 "$WORK/bisect.log"
        die "patch $i ($subject) does not build (log: $WORK/bisect.log)"
    fi
    if ((full)); then
        unit=("$TOP/scripts/unit.sh" "$bbuild")
    else
        unit=(meson test -C "$bbuild" --num-processes "$(nproc)" --print-errorlogs --no-suite syntax-check)
    fi
    if ! "${unit[@]}" > "$WORK/bisect.log" 2>&1; then
        grep -E '^[0-9]+/[0-9]+ .*(FAIL|TIMEOUT)' "$WORK/bisect.log" || tail -n 40 "$WORK/bisect.log"
        die "patch $i ($subject) fails the unit suite (log: $WORK/bisect.log)"
    fi
    grep -E '^(Ok|Fail|Skipped):' "$WORK/bisect.log" | tr -s ' ' | paste -sd' '
    if ((!full)) && ! "$TOP/scripts/syntax-check-changed.sh" "$bbuild" "$BASE_TAG" > "$WORK/bisect.log" 2>&1; then
        grep -E -B3 '^make: \*\*\* .*sc_' "$WORK/bisect.log" || tail -n 40 "$WORK/bisect.log"
        die "patch $i ($subject) fails syntax-check (log: $WORK/bisect.log)"
    fi
    ((!full)) || echo "    (syntax-check: every rule on the whole tree)"
    full=0
done
ccache -s 2>/dev/null | grep -E '^(Cacheable|  (Hits|Misses))' | sed 's/^/    ccache: /' || true
from=${BISECT_FROM:-1}
say "bisect: patches $from to ${#commits[@]} of ${#commits[@]} build and pass the unit suite and syntax-check ($((SECONDS - t0)) s)"
