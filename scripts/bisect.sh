#!/usr/bin/env bash
# Every patch on its own: check out each commit after the pristine tag in a
# separate clone of the work tree (the work tree is left alone), build it
# incrementally and run the whole unit suite including syntax-check. A clone,
# not a git worktree: libvirt registers syntax-check only where .git is a
# directory. Stops at the first patch that breaks anything, and names it.
# The commit that make unit passed in the work tree is not tested twice.
#
# The patches are built with -O1, not -O2: a compile takes about two thirds
# of the time (qemu_driver.c: 5.2 s against 7.6 s), and -O1 still runs the
# flow analysis behind -Wmaybe-uninitialized and friends. The whole series
# (the work tree's HEAD) is built with -O2 by make build, by make deb, and
# is what make unit tests.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

wt=$WORK/bisect
bbuild=$WORK/bisect-build
[[ -d $TREE/.git ]] || die "no work tree at $TREE (make tree)"

mapfile -t commits < <(tgit rev-list --reverse "$BASE_TAG..HEAD")
if ((${#commits[@]} == 0)); then
    say "the series is empty: testing the pristine tree once"
    commits=("$BASE_TAG")
fi

wgit() { git -c safe.directory="$wt" -C "$wt" "$@"; }
if [[ ! -d $wt/.git ]]; then
    rm -rf "$wt" "$bbuild"
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
i=0
for c in "${commits[@]}"; do
    i=$((i + 1))
    subject=$(tgit log -1 --format=%s "$c")
    if [[ $c == "$passed" ]]; then
        say "bisect [$i/${#commits[@]}] $subject: passed make unit as the work tree's HEAD ($(cut -c1-12 <<<"$c")), not tested again"
        continue
    fi
    say "bisect [$i/${#commits[@]}] [+$((SECONDS - t0))s] $subject"
    wgit checkout -q --detach "$c"
    if ! BUILD_OPTIMIZATION=1 "$TOP/scripts/build.sh" "$wt" "$bbuild" > "$WORK/bisect.log" 2>&1; then
        tail -n 40 "$WORK/bisect.log"
        die "patch $i ($subject) does not build (log: $WORK/bisect.log)"
    fi
    if ! "$TOP/scripts/unit.sh" "$bbuild" > "$WORK/bisect.log" 2>&1; then
        grep -E '^[0-9]+/[0-9]+ .*(FAIL|TIMEOUT)' "$WORK/bisect.log" || tail -n 40 "$WORK/bisect.log"
        die "patch $i ($subject) fails the unit suite (log: $WORK/bisect.log)"
    fi
    grep -E '^(Ok|Fail|Skipped):' "$WORK/bisect.log" | tr -s ' ' | paste -sd' '
done
say "bisect: all ${#commits[@]} commit(s) build and pass the unit suite and syntax-check ($((SECONDS - t0)) s)"
