#!/bin/bash
# check-semantics.sh HOSTDIR - host-side verifier of the guest's `probe semantics`.
#
# HOSTDIR is the exported directory as the host sees it (the guest ran
# `probe semantics /mnt/x` on a share of HOSTDIR); everything is under
# HOSTDIR/sem.  Run as root (the layout holds root-only files).
#
# Prints `ok - ...` or `FAIL - ...` per check and finally exactly
#   semantics: N passed, M failed
# Exit status: 0 when M is 0, 1 otherwise, 2 on bad usage.
#
# The expected layout is the one in probe.c (sem_layout) and README.md.
# The big file's expected SHA-256 is computed here from the probe's
# deterministic generator (`probe gen-data`, a static binary that also runs on
# the host) piped through sha256sum, so it does not rely on the probe's own
# SHA-256 code.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
PROBE=${PROBE:-$TOP/work/guest/probe}

[[ $# -eq 1 && -d $1 ]] || { echo "usage: ${0##*/} HOSTDIR" >&2; exit 2; }
S=$1/sem

if ! command -v getfattr >/dev/null; then
    echo "# installing attr (getfattr)"
    apt-get install -y -qq attr >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq attr >/dev/null 2>&1; } ||
        echo "# could not install attr: xattr checks will fail"
fi
if [[ ! -x $PROBE ]]; then
    echo "# $PROBE missing: run e2e/guest/build-guest.sh first"
fi

passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
# check DESCRIPTION WANT GOT
check() {
    if [[ $2 == "$3" ]]; then ok "$1: $3"; else fail "$1: want '$2', got '$3'"; fi
}

# node NAME TYPE MODE UID:GID - type (as stat %F), octal mode incl. special
# bits (stat %a, no leading zero), and owner of HOSTDIR/sem/NAME, not followed.
node() {
    local type=$2 mode=$3 owner=$4 p=$S${1:+/$1} label=sem${1:+/$1} got
    if ! got=$(stat -c '%F|%a|%u:%g' -- "$p" 2>/dev/null); then
        fail "$label: missing"
        return
    fi
    check "$label type" "$type" "${got%%|*}"
    got=${got#*|}
    check "$label mode" "$mode" "${got%%|*}"
    check "$label owner" "$owner" "${got#*|}"
}

#    name                  type                mode  uid:gid
node ""                    directory           755   0:0
node file                  "regular file"      640   1234:5678
node hardlink              "regular file"      640   1234:5678
node symlink               "symbolic link"     777   4321:8765
node dir                   directory           750   4321:8765
node dir/nested            "regular file"      600   65534:65534
node setgid-dir            directory           2775  1234:5678
node setgid-dir/inherited  "regular empty file" 644  1234:5678
node sticky-dir            directory           1777  0:0
node sticky-dir/user-file  "regular file"      644   4321:8765
node setuid-file           "regular file"      4755  4321:8765
node chown-back            "regular empty file" 644  0:0
node fifo                  fifo                620   1234:5678
node chardev               "character special file" 600 0:0
node renamed               "regular file"      644   0:0
node renamed-dir           directory           755   0:0
node truncated             "regular file"      644   0:0
node big                   "regular file"      644   0:0

# Names that were renamed away or removed.
for name in rename-src rename-dir-src unlinked rmdir-me; do
    if [[ -e $S/$name || -L $S/$name ]]; then
        fail "sem/$name: still exists"
    else
        ok "sem/$name: absent"
    fi
done

# Nothing else at the top level.
want_top="big chardev chown-back dir fifo file hardlink renamed renamed-dir setgid-dir setuid-file sticky-dir symlink truncated"
got_top=$(find "$S" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | LC_ALL=C sort | tr '\n' ' ' || true)
check "sem entries" "$want_top" "${got_top% }"

# Device numbers (stat prints them in hex).
devnum() {
    local major minor
    read -r major minor < <(stat -c '%t %T' -- "$1" 2>/dev/null) || { echo none; return; }
    printf '%d:%d' "0x$major" "0x$minor"
}
check "sem/chardev device" "1:3" "$(devnum "$S/chardev")"

# Hard link: the same inode, two links.
check "sem/hardlink inode" "$(stat -c %i -- "$S/file" 2>/dev/null || echo none)" \
      "$(stat -c %i -- "$S/hardlink" 2>/dev/null || echo missing)"
check "sem/file link count" 2 "$(stat -c %h -- "$S/file" 2>/dev/null || echo none)"

# Symlink target.
check "sem/symlink target" file "$(readlink -- "$S/symlink" 2>/dev/null || echo none)"

# Contents.
content() { cat -- "$1" 2>/dev/null || echo "<unreadable>"; }
check "sem/file content" "proxyfs semantics: file" "$(content "$S/file")"
check "sem/dir/nested content" "proxyfs semantics: nested" "$(content "$S/dir/nested")"
check "sem/sticky-dir/user-file content" "proxyfs semantics: user-file" "$(content "$S/sticky-dir/user-file")"
check "sem/renamed content" "proxyfs semantics: renamed" "$(content "$S/renamed")"
check "sem/truncated content" "0123456789" "$(content "$S/truncated")"
check "sem/truncated size" 10 "$(stat -c %s -- "$S/truncated" 2>/dev/null || echo none)"

# Times set with utimensat.
check "sem/file mtime" 1234567890 "$(stat -c %Y -- "$S/file" 2>/dev/null || echo none)"

# Extended attributes.
xattr() { getfattr --absolute-names --only-values -n "$2" -- "$1" 2>/dev/null || echo "<none>"; }
check "sem/file user.proxyfs.file" file-xattr-value "$(xattr "$S/file" user.proxyfs.file)"
check "sem/dir user.proxyfs.dir" dir-xattr-value "$(xattr "$S/dir" user.proxyfs.dir)"
check "sem/file user.proxyfs.gone removed" "<none>" "$(xattr "$S/file" user.proxyfs.gone)"

# The 8 MiB file: size and SHA-256 against the generator's.
check "sem/big size" 8388608 "$(stat -c %s -- "$S/big" 2>/dev/null || echo none)"
if [[ -x $PROBE ]]; then
    want=$("$PROBE" gen-data 8388608 | sha256sum | cut -d' ' -f1)
    check "probe gen-checksum agrees with sha256sum" "$want" "$("$PROBE" gen-checksum 8388608)"
else
    want="<no probe binary>"
fi
check "sem/big sha256" "$want" "$(sha256sum -- "$S/big" 2>/dev/null | cut -d' ' -f1 || echo none)"

echo "semantics: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
