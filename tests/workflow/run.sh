#!/usr/bin/env bash
# Tests of the patch-queue workflow itself, in a scratch work area so the
# real work tree is never touched:
#  - a tarball that is not the pinned one is refused, naming both hashes;
#  - the same series gives the same commit ids;
#  - exporting twice gives byte-identical patches;
#  - series-check catches an unexported commit and an uncommitted edit, and
#    tree.sh refuses to reset a tree holding such work.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
expect_fail() { # expect_fail NAME PATTERN CMD...
    local name=$1 pat=$2 out; shift 2
    if out=$("$@" 2>&1); then bad "$name: succeeded"; printf '%s\n' "$out"; return; fi
    if grep -qE -- "$pat" <<<"$out"; then ok "$name"; else bad "$name: no '$pat' in:"; printf '%s\n' "$out"; fi
}
expect_pass() { # expect_pass NAME CMD...
    local name=$1 out; shift
    if out=$("$@" 2>&1); then ok "$name"; else bad "$name"; printf '%s\n' "$out"; fi
}

real_tree_head=$(tgit rev-parse HEAD)
real_tarball=$DL/$LIBVIRT_TARBALL_NAME
scratch=$(mktemp -d "$WORK/workflow-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# 1. Tarball verification.
pinned=$(awk '{print $1; exit}' "$TOP/upstream/libvirt.sha256")
cp "$real_tarball" "$scratch/bad.tar.xz"
printf 'X' | dd of="$scratch/bad.tar.xz" bs=1 seek=4096 conv=notrunc status=none
actual=$(sha256sum "$scratch/bad.tar.xz" | awk '{print $1}')
expect_fail "corrupted tarball is refused naming expected hash" "expected sha256: $pinned" \
    env LIBVIRT_TARBALL="$scratch/bad.tar.xz" "$TOP/scripts/fetch.sh"
expect_fail "corrupted tarball is refused naming actual hash" "actual sha256: +$actual" \
    env LIBVIRT_TARBALL="$scratch/bad.tar.xz" "$TOP/scripts/fetch.sh"
expect_pass "the pinned tarball verifies" env LIBVIRT_TARBALL="$real_tarball" "$TOP/scripts/fetch.sh"

# 2. A scratch work tree from a copy of the series.
export WORK=$scratch/work DL SERIES=$scratch/series
cp -r "$TOP/patches/libvirt" "$SERIES"
. "$TOP/scripts/lib.sh"
echo "# building a scratch work tree in $TREE"
"$TOP/scripts/tree.sh" > "$scratch/tree.log" 2>&1 || { cat "$scratch/tree.log"; exit 1; }
scratch_head=$(tgit rev-parse HEAD)
if [[ $scratch_head == "$real_tree_head" ]]; then
    ok "same series, same commit ids ($scratch_head)"
else
    bad "same series gave $scratch_head here but $real_tree_head in the work tree (unexported work there?)"
fi

expect_pass "series-check passes on a fresh tree" "$TOP/scripts/series-check.sh"
"$TOP/scripts/export.sh" > /dev/null
cp -r "$SERIES" "$scratch/export1"
"$TOP/scripts/export.sh" > /dev/null
if diff -r "$scratch/export1" "$SERIES" > /dev/null &&
   diff -r "$TOP/patches/libvirt" "$SERIES" > /dev/null; then
    ok "exporting twice gives byte-identical patches, equal to the committed ones"
else
    bad "export is not reproducible:"; diff -r "$TOP/patches/libvirt" "$SERIES" | head -n 20
fi

# 3. Unexported work is caught.
echo "/* workflow test */" >> "$TREE/src/libvirt.c"
expect_fail "series-check catches an uncommitted edit" "uncommitted changes.*" "$TOP/scripts/series-check.sh"
expect_fail "tree.sh will not reset a tree with an uncommitted edit" "holds work that the series does not have" \
    "$TOP/scripts/tree.sh"
tgit commit -q -a -m "test: an unexported commit"
expect_fail "series-check catches an unexported commit" "not exported: .*test-an-unexported-commit.patch" \
    "$TOP/scripts/series-check.sh"
expect_fail "tree.sh will not reset a tree with an unexported commit" "holds work that the series does not have" \
    "$TOP/scripts/tree.sh"
"$TOP/scripts/export.sh" > /dev/null
expect_pass "series-check passes after export" "$TOP/scripts/series-check.sh"
if grep -qx '.*-test-an-unexported-commit.patch' "$SERIES/series"; then
    ok "the new patch is listed last in 'series'"
else
    bad "series file does not list the new patch"; cat "$SERIES/series"
fi

# 4. A changed series is re-applied when the tree holds no work of its own.
tgit reset -q --hard HEAD~1
tgit rev-parse HEAD > "$TREE/.git/proxyfs-synced-head"
expect_pass "tree.sh re-applies a series that gained a patch" "$TOP/scripts/tree.sh"
if tgit log -1 --format=%s | grep -qx 'test: an unexported commit'; then
    ok "the re-applied tree ends with the new patch"
else
    bad "tree.sh did not apply the new patch"
fi

echo "workflow: $pass passed, $fail failed"
((fail == 0))
