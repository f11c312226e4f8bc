# Shared settings for the harness scripts. Sourced, never run.
# shellcheck shell=bash

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${WORK:-$TOP/work}                  # everything generated; git-ignored
DL=${DL:-$WORK/dl}                             # downloaded source packages
TREE=$WORK/libvirt                       # libvirt git work tree (the patch queue)
BUILD=$WORK/build                        # meson build directory of $TREE
PREFIX=$WORK/prefix                      # isolated install prefix
SERIES=${SERIES:-$TOP/patches/libvirt}             # exported series + 'series' file

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

# The tree's git, whatever the caller's cwd and ownership rules.
tgit() { git -c safe.directory="$TREE" -C "$TREE" "$@"; }

series_list() {
    [[ -f $SERIES/series ]] || return 0
    grep -v -e '^#' -e '^[[:space:]]*$' "$SERIES/series" || true
}
