#!/usr/bin/env bash
# syntax-check-changed.sh BUILDDIR BASE: every rule of libvirt's syntax-check,
# in one make run, on the files of BUILDDIR's source tree that differ from
# BASE (a commit of that tree: make bisect gives the pristine tag).
#
# make bisect runs the whole syntax-check suite (meson test) on the first
# patch it tests, and make unit on the whole series; on every other patch
# it runs this. All but three rules look at one file at a time, so a file
# that is as it was in BASE passes as it did there, and only the changed
# ones can fail: they get only those. The three that relate files to each
# other (mock-noinline: mocked functions against the headers' G_NO_INLINE;
# po_check: files with messages against POTFILES; group-qemu-caps, which
# reads its own files) get the whole tree, as in meson test. The verdict is
# the same at a tenth of the cost: 132 rules each listing and searching the
# whole tree took 150 s of CPU per patch, more than the patch's build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

build=${1:?usage: syntax-check-changed.sh BUILDDIR BASE}
base=${2:?usage: syntax-check-changed.sh BUILDDIR BASE}
mk=$build/build-aux/Makefile
[[ -f $mk ]] || die "no syntax-check in $build (not configured from a git tree?)"
src=$(sed -n 's/^top_srcdir *= *//p' "$mk")
[[ -f $src/build-aux/syntax-check.mk ]] || die "no build-aux/syntax-check.mk under '$src'"

cross=(sc_mock-noinline sc_po_check sc_group-qemu-caps)
mapfile -t rules < <(sed -n 's/^sc_\([a-zA-Z0-9_-]*\):.*/sc_\1/p' "$src/build-aux/syntax-check.mk" |
                     grep -vxF -e "${cross[0]}" -e "${cross[1]}" -e "${cross[2]}")
((${#rules[@]} > 100)) || die "only ${#rules[@]} syntax-check rules found"
n=$(git -c safe.directory="$src" -C "$src" diff --name-only --no-renames --diff-filter=d "$base" HEAD | wc -l)

# VC_LIST is the rules' list of files, git's files of HEAD; here only the
# changed ones (regular files: the series adds no other kind)
say "syntax-check: ${#rules[@]} rules on the $n files changed since $base, ${#cross[@]} on all files"
make -C "$build/build-aux" -k -j"$(nproc)" --no-print-directory \
    VC_LIST="cd \$(top_srcdir); git -c safe.directory='$src' diff --name-only --no-renames --diff-filter=d '$base' HEAD" \
    "${rules[@]}"
make -C "$build/build-aux" -k -j"$(nproc)" --no-print-directory "${cross[@]}"
