# Shared settings for the harness scripts. Sourced, never run.
# shellcheck shell=bash

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${WORK:-$TOP/work}                  # everything generated; git-ignored
DL=${DL:-$WORK/dl}                             # downloaded source packages
TREE=$WORK/libvirt                       # libvirt git work tree (the patch queue)
BUILD=$WORK/build                        # meson build directory of $TREE
PREFIX=$WORK/prefix                      # isolated install prefix
SERIES=${SERIES:-$TOP/patches/libvirt}             # exported series + 'series' file

# A UNIX socket path holds at most 107 bytes (sun_path, 108 with its NUL),
# and the private daemons' sockets (virtqemud-sock, each domain's
# monitor.sock below lib/libvirt/qemu/domain-ID-NAME/) live in libvirt's
# localstatedir. Below a deep checkout they would not fit, so that
# directory is not in work/ but on a short path of this checkout's own:
# SHORT, /var/tmp/pxfs-UID-HASH, HASH the first 8 hex digits of the SHA-256
# of the checkout path, so two checkouts never share daemons or state. Not
# /run or /tmp: on a systemd host /run (and /tmp on Debian 13) is a tmpfs
# mounted nosuid,nodev(,noexec), which would change what the suites prove
# (set-uid programs and device nodes in the exports, user xattrs, which
# bookworm's tmpfs lacks) and the benchmark's disk. It is 0711: QEMU runs
# as an unprivileged user and opens files below it by path (master-key.aes,
# its pid file); made and checked (ours, a real directory: /var/tmp is open
# to all) by ensure_short. build.sh
# configures localstatedir=VARDIR, runstatedir=VARDIR/run.
_short_hash=$(printf %s "$TOP" | sha256sum | cut -c1-8)
SHORT=${PROXYFS_SHORT:-/var/tmp/pxfs-$(id -u)-$_short_hash}
unset _short_hash
VARDIR=$SHORT/var                        # the private libvirt's localstatedir
SOCK_MAX=107                             # bytes of a UNIX socket path
# The longest socket path below VARDIR: a domain's monitor socket, whose
# directory name libvirt cuts to domain-ID-<20 bytes of the name>; ID taken
# as 6 digits, which no run of the harness reaches.
SOCK_LONGEST=$VARDIR/lib/libvirt/qemu/domain-999999-xxxxxxxxxxxxxxxxxxxx/monitor.sock

# ccache, which meson puts in front of the compiler by itself once it is
# installed (make deps): make bisect builds every patch, and most of a
# patch's objects are the same source as an object that make build or an
# earlier patch already compiled. The cache is keyed by content and lives
# under work/; an empty one is only slower. make deb does not use it.
export CCACHE_DIR=${CCACHE_DIR:-$WORK/ccache}
export CCACHE_BASEDIR=$WORK CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-4G}

LIBVIRT_VERSION=9.0.0
LIBVIRT_TARBALL_NAME=libvirt_$LIBVIRT_VERSION.orig.tar.xz
BASE_TAG=v$LIBVIRT_VERSION-pristine

# A fixed identity and dates make the work tree reproducible: the same
# series always gives the same commit ids.
export GIT_AUTHOR_NAME="libvirt proxy-fs project"
export GIT_AUTHOR_EMAIL="proxy-fs@invalid"
export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME
export GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
PRISTINE_DATE="2023-01-16T00:00:00+00:00"    # libvirt 9.0.0 release day

# Options that make 'git format-patch' output a function of the commits only.
FORMAT_PATCH_OPTS=(--zero-commit --no-signature --no-numbered --full-index
                   --no-renames --stat=80 --subject-prefix=PATCH
                   --no-base --no-thread --no-cover-letter --encoding=UTF-8)

say() { printf '==> %s\n' "$*"; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# check_sock_room: die, naming the path and the limit, when the longest
# socket path of the private daemons would not fit in a UNIX socket address
# (PROXYFS_SHORT set to a deep directory); libvirt would fail only deep in a
# suite, at the first domain start.
check_sock_room() {
    local n=${#SOCK_LONGEST}
    ((n <= SOCK_MAX)) ||
        die "the private libvirt's sockets would be $n bytes long, like $SOCK_LONGEST, and a UNIX socket path holds $SOCK_MAX: set PROXYFS_SHORT to a directory of at most $((${#SHORT} + SOCK_MAX - n)) bytes"
}

# ensure_short: make SHORT and VARDIR (a real directory of ours, 0711) or
# die saying what is wrong with them; mkdir without -p, so that a name that
# someone else planted first is never used
ensure_short() {
    check_sock_room
    if [[ ! -e $SHORT && ! -L $SHORT ]]; then
        mkdir -m 0711 "$SHORT" 2>/dev/null || [[ -d $SHORT && ! -L $SHORT ]] ||
            die "cannot make $SHORT"
    fi
    [[ -d $SHORT && ! -L $SHORT ]] || die "$SHORT is not a directory (or is a symlink)"
    [[ $(stat -c %u "$SHORT") == "$(id -u)" ]] ||
        die "$SHORT belongs to uid $(stat -c %u "$SHORT"), not to us ($(id -u)): remove it, or set PROXYFS_SHORT"
    chmod 0711 "$SHORT"
    mkdir -p "$VARDIR"
}

# The tree's git, whatever the caller's cwd and ownership rules.
tgit() { git -c safe.directory="$TREE" -C "$TREE" "$@"; }

series_list() {
    [[ -f $SERIES/series ]] || return 0
    grep -v -e '^#' -e '^[[:space:]]*$' "$SERIES/series" || true
}

# ---------------------------------------------------------------- patch queue
# The work tree as a patch queue, for whichever TREE, SERIES and BASE_TAG
# the caller set (libvirt's here, virt-manager's in virt-manager-lib.sh).
SYNCED=.git/proxyfs-synced-head      # in TREE: the HEAD the series last gave

# queue_apply: git am every patch of the series onto TREE
queue_apply() {
    local p n=0
    while read -r p; do
        [[ -f $SERIES/$p ]] || die "series lists $p, which is not in $SERIES"
        n=$((n + 1))
        if ! tgit am -q --committer-date-is-author-date --keep-cr "$SERIES/$p"; then
            tgit am --abort || true
            die "patch $p does not apply"
        fi
    done < <(series_list)
    say "applied $n patch(es) on $BASE_TAG"
    tgit rev-parse HEAD > "$TREE/$SYNCED"
}

# queue_check: 0 when nothing is uncommitted in TREE and its commits after
# BASE_TAG export to exactly the committed series; otherwise says what
# differs and returns 1
queue_check() {
    local rc=0 dirty tmp p
    dirty=$(tgit status --porcelain)
    if [[ -n $dirty ]]; then
        echo "uncommitted changes in $TREE:"
        printf '%s\n' "$dirty" | head -n 20
        rc=1
    fi
    tmp=$(mktemp -d)
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
    rm -rf "$tmp"
    return "$rc"
}

# queue_reuse HOW-TO-EXPORT: an existing TREE that is exactly what the
# series made is kept, or re-applied if only the series changed since; one
# that holds work the series lacks is left alone, with an error
queue_reuse() {
    if [[ -f $TREE/$SYNCED ]] && [[ $(tgit rev-parse HEAD) == "$(cat "$TREE/$SYNCED")" ]] &&
       [[ -z $(tgit status --porcelain) ]]; then
        if queue_check >/dev/null 2>&1; then
            say "work tree ${TREE#"$TOP"/} already matches the series"
            return 0
        fi
        say "the series changed: re-applying it on $BASE_TAG"
        tgit reset -q --hard "$BASE_TAG"
        queue_apply
        return 0
    fi
    {
        echo "${0##*/}: error: $TREE holds work that the series does not have:"
        tgit status --short | head -n 20
        tgit log --oneline "$(cat "$TREE/$SYNCED" 2>/dev/null || echo "$BASE_TAG")..HEAD" 2>/dev/null | head -n 20
        echo "$1, or remove $TREE to start over."
    } >&2
    exit 1
}

# queue_export TITLE: TREE's commits after BASE_TAG -> SERIES/*.patch and
# SERIES/series (headed "# TITLE"); byte-identical when run twice
queue_export() {
    local tmp f
    if [[ -n $(tgit status --porcelain) ]]; then
        tgit status --short >&2
        die "the work tree has uncommitted changes; commit them (git commit --fixup …) first"
    fi
    tmp=$(mktemp -d)
    tgit format-patch -q "${FORMAT_PATCH_OPTS[@]}" -o "$tmp" "$BASE_TAG..HEAD"
    mkdir -p "$SERIES"
    rm -f "$SERIES"/*.patch
    {
        echo "# $1"
        for f in "$tmp"/*.patch; do
            [[ -e $f ]] || continue
            cp "$f" "$SERIES/"
            basename "$f"
        done
    } > "$SERIES/series"
    rm -rf "$tmp"
    tgit rev-parse HEAD > "$TREE/$SYNCED"
    say "exported $(series_list | wc -l) patch(es) to ${SERIES#"$TOP"/}"
}
