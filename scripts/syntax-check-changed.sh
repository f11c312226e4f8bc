#!/usr/bin/env bash
# syntax-check-changed.sh BUILDDIR LIST: every rule of libvirt's syntax-check,
# in one make run, on those files of BUILDDIR's source tree that LIST names
# (one path per line, relative to the tree's top; names of files that the
# tree's HEAD does not have are left out).
#
# make bisect gives the files that any patch of the series touches. The
# series' tip gets the whole syntax-check suite (make unit, or make bisect
# itself); every other patch gets this. All but three rules look at one file
# at a time, and a file that no patch touches is at every patch what it is
# at the tip, where it passed: only the touched ones can fail, and they get
# every rule. The three that relate files to each other (mock-noinline:
# mocked functions against the headers' G_NO_INLINE; po_check: files with
# messages against POTFILES; group-qemu-caps, which reads its own files) get
# the whole tree, as in meson test. The verdict is the same at a tenth of
# the cost: 132 rules each listing and searching the whole tree took 150 s
# of CPU per patch, more than the patch's build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

build=${1:?usage: syntax-check-changed.sh BUILDDIR LIST}
list=$(realpath "${2:?usage: syntax-check-changed.sh BUILDDIR LIST}")
mk=$build/build-aux/Makefile
[[ -f $mk ]] || die "no syntax-check in $build (not configured from a git tree?)"
src=$(sed -n 's/^top_srcdir *= *//p' "$mk")
[[ -f $src/build-aux/syntax-check.mk ]] || die "no build-aux/syntax-check.mk under '$src'"

cross=(sc_mock-noinline sc_po_check sc_group-qemu-caps)
mapfile -t rules < <(sed -n 's/^sc_\([a-zA-Z0-9_-]*\):.*/sc_\1/p' "$src/build-aux/syntax-check.mk" |
                     grep -vxF -e "${cross[0]}" -e "${cross[1]}" -e "${cross[2]}")
((${#rules[@]} > 100)) || die "only ${#rules[@]} syntax-check rules found"
[[ -s $list ]] || die "$list names no file"
files=$(mktemp)
trap 'rm -f "$files"' EXIT
git -c safe.directory="$src" -C "$src" ls-files | { grep -Fx -f "$list" || true; } > "$files"
n=$(wc -l < "$files")

# VC_LIST is the rules' list of files, git's files of HEAD; here only those
# that LIST names (regular files: the series adds no other kind)
say "syntax-check: ${#rules[@]} rules on the $n files of $list here, ${#cross[@]} on all files"
make -C "$build/build-aux" -k -j"$(nproc)" --no-print-directory \
    VC_LIST="cat '$files'" "${rules[@]}"
make -C "$build/build-aux" -k -j"$(nproc)" --no-print-directory "${cross[@]}"
