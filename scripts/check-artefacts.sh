#!/usr/bin/env bash
# check-artefacts.sh [DIR...] - nothing that hands a local user more than
# they have is left in the checkout: no set-uid or set-gid regular file and
# no device node (block or character) anywhere below DIR... (default: the
# checkout, work/ and its libvirt build, .debs and images included, and the
# checkout's short directory SHORT, where the exports are).  The
# end of make check (scripts/check.sh, after every stage and make bisect)
# and make check-artefacts.  Fails listing each offending path (mode,
# owner, type); exits 0 with one line otherwise.
#
# What the suites plant (a guest's set-uid root files and device nodes in
# a proxy export, proxyclient made set-uid root by test-hostile, the
# semantics layout's nodes) is removed by their traps; what the builds
# stage (the initramfs roots with dev/console) is removed after packing.
# One tree may hold such files while it exists, and only below a directory
# of root's alone: the Debian root scripts/system-image.sh builds in
# work/system/.image-*/private (0700 root:root; removed once root.raw is
# made, or on failure).  It is skipped, and named, only while that holds;
# with its parent open to others it counts like anything else.
# The scan stays on each DIR's file system (-xdev): a file system mounted
# below is not the checkout's (a chroot's bound /dev while the image
# builds); such mounts are named.
#
# check-artefacts.sh --self-test: in a temporary directory, a set-uid root
# file, a set-gid file, a character and a block device node (as root) and
# an image root below a 0755 directory must each be reported, and nothing
# else (a set-gid directory, a sticky file, a FIFO, a symbolic link to a
# set-uid program, an image root below a 0700 root directory); once they
# are gone the check passes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

NAME=check-artefacts

# offenders DIR: "MODE OWNER:GROUP PATH" of every set-id regular file and
# device node below DIR, skipping protected image roots (named on stderr)
offenders() {
    local dir=$1 p prune=()
    for p in "$dir"/work/system/.image-*/private; do
        [[ -d $p && ! -L $p ]] || continue
        if [[ $(stat -c '%u:%g %a' "$p") == "0:0 700" ]]; then
            echo "$NAME: skipped ${p#"$dir"/}: a Debian root being built (or left by a killed build), root's alone (0700 root:root)" >&2
            prune+=(-path "$p" -prune -o)
        fi
    done
    find "$dir" -xdev "${prune[@]}" \( \( -type f -perm /6000 \) -o -type b -o -type c \) \
        -printf '%M %u:%g %p\n'
}

# mounts_below DIR: mount points strictly below DIR (not scanned)
mounts_below() {
    awk -v d="$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo
}

check_dirs() {
    local dir out n=0 m
    for dir in "$@"; do
        [[ -d $dir ]] || die "$NAME: no directory $dir"
        dir=$(cd "$dir" && pwd -P)
        while read -r m; do
            [[ -n $m ]] && echo "$NAME: not scanned (another file system mounted there): $m" >&2
        done < <(mounts_below "$dir")
        out=$(offenders "$dir")
        [[ -n $out ]] || continue
        n=$((n + $(wc -l <<<"$out")))
        echo "$NAME: set-uid/set-gid files and device nodes below $dir:"
        sed 's/^/    /' <<<"$out"
    done
    if ((n > 0)); then
        echo "$NAME: FAILED: $n set-uid/set-gid files or device nodes left behind (listed above)"
        return 1
    fi
    echo "$NAME: no set-uid/set-gid file and no device node below $*"
}

SELF_TMP=
self_test() {
    local t rc=0 out want got
    # mktemp's 0700: what the test plants is never within others' reach
    SELF_TMP=$(mktemp -d /tmp/check-artefacts.XXXXXX)
    trap 'rm -rf "$SELF_TMP"' EXIT
    t=$SELF_TMP
    mkdir -p "$t/tree/sub" "$t/tree/work/system/.image-k.1/private/root/usr/bin" \
             "$t/tree/work/system/.image-k.2/private/root/usr/bin"
    # planted: each must be reported
    printf 'x\n' > "$t/tree/sub/suid"; chmod 4755 "$t/tree/sub/suid"
    printf 'x\n' > "$t/tree/sgid"; chmod 2755 "$t/tree/sgid"
    printf 'x\n' > "$t/tree/work/system/.image-k.2/private/root/usr/bin/passwd"
    chmod 4755 "$t/tree/work/system/.image-k.2/private/root/usr/bin/passwd"
    chmod 0755 "$t/tree/work/system/.image-k.2/private"         # open: counts
    want=("$t/tree/sgid" "$t/tree/sub/suid" "$t/tree/work/system/.image-k.2/private/root/usr/bin/passwd")
    if ((EUID == 0)); then
        mknod -m 0600 "$t/tree/sub/null" c 1 3
        mknod -m 0600 "$t/tree/loop" b 7 0
        want+=("$t/tree/loop" "$t/tree/sub/null")
    else
        echo "$NAME: self-test: not root, no device nodes planted"
    fi
    # not reported
    mkdir -m 2775 "$t/tree/sgid-dir"
    printf 'x\n' > "$t/tree/sticky"; chmod 1755 "$t/tree/sticky"
    mkfifo "$t/tree/fifo"
    ln -s /usr/bin/passwd "$t/tree/passwd-link"
    printf 'x\n' > "$t/tree/work/system/.image-k.1/private/root/usr/bin/passwd"
    chmod 4755 "$t/tree/work/system/.image-k.1/private/root/usr/bin/passwd"
    chmod 0700 "$t/tree/work/system/.image-k.1/private"          # root's alone: skipped
    # (not root: the directory is not root's, so it counts)
    ((EUID == 0)) || want+=("$t/tree/work/system/.image-k.1/private/root/usr/bin/passwd")
    mapfile -t want < <(printf '%s\n' "${want[@]}" | LC_ALL=C sort)

    out=$("$0" "$t/tree" 2>&1) && { echo "$out"; echo "$NAME: self-test FAILED: the check passed with files planted"; return 1; }
    got=$(sed -n 's/^    [^ ]* [^ ]* //p' <<<"$out" | LC_ALL=C sort)
    if [[ $got == "$(printf '%s\n' "${want[@]}")" ]]; then
        echo "$NAME: self-test: planted ${#want[@]} (set-uid, set-gid, image root open to others$( ((EUID == 0)) && echo ', char and block device')): the check fails naming exactly them"
    else
        echo "$out"
        echo "$NAME: self-test FAILED: reported"; sed 's/^/    /' <<<"$got"
        echo "    expected"; printf '    %s\n' "${want[@]}"
        rc=1
    fi
    ((EUID != 0)) || grep -q '^check-artefacts: skipped .*\.image-k\.1/private' <<<"$out" ||
        { echo "$NAME: self-test FAILED: the protected image root was not named as skipped"; rc=1; }
    rm -f "${want[@]}"
    if out=$("$0" "$t/tree" 2>&1); then
        echo "$NAME: self-test: with them removed the check passes"
    else
        echo "$out"
        echo "$NAME: self-test FAILED: the check still fails with the planted files removed"
        rc=1
    fi
    return $rc
}

if [[ ${1:-} == --self-test ]]; then
    self_test
    exit
fi
# by default the checkout and, if it exists, its short directory outside
# it (scripts/lib.sh's SHORT: the suites' exports and the private daemons'
# state)
if ((!$#)); then
    set -- "$TOP"
    [[ ! -d $SHORT ]] || set -- "$@" "$SHORT"
fi
check_dirs "$@"
