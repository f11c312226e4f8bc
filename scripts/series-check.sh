#!/usr/bin/env bash
# Fail, naming what differs, when the work tree holds commits or edits that
# the committed series does not. Passes when there is no work tree yet.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[[ -d $TREE/.git ]] || { say "no work tree: nothing to check"; exit 0; }

rc=0
dirty=$(tgit status --porcelain)
if [[ -n $dirty ]]; then
    echo "uncommitted changes in $TREE:"
    printf '%s\n' "$dirty" | head -n 20
    rc=1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tgit format-patch -q "${FORMAT_PATCH_OPTS[@]}" -o "$tmp" "$BASE_TAG..HEAD"
find "$tmp" -maxdepth 1 -name "*.patch" -printf "%f\n" | LC_ALL=C sort > "$tmp/names"
series_list > "$tmp/listed"
if ! diff -u --label series "$tmp/listed" --label work-tree "$tmp/names" > "$tmp/d1"; then
    echo "the series file and the work tree's commits differ:"
    cat "$tmp/d1"
    rc=1
fi
while read -r p; do
    if [[ ! -f $SERIES/$p ]]; then
        echo "not exported: $p"
        rc=1
    elif ! cmp -s "$tmp/$p" "$SERIES/$p"; then
        echo "differs from the exported series: $p"
        rc=1
    fi
done < "$tmp/names"
if ((rc)); then
    echo "run 'make series' and commit patches/libvirt"
else
    say "work tree and series agree ($(wc -l < "$tmp/names") patch(es))"
fi
exit "$rc"
