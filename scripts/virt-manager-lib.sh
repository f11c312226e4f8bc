# Settings of the virt-manager patch queue, on top of lib.sh (identity,
# format-patch options, say/die, tgit, series_list). Sourced, never run.
# shellcheck shell=bash disable=SC2034  # settings read by the scripts that source it
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Debian's virt-manager source package cannot be fetched, but its binary
# packages carry the complete Python sources: the queue is built on those.
VM_VERSION=1:4.1.0-2
VM_PACKAGES=(virtinst virt-manager)
VM_PIN=$TOP/upstream/virt-manager.sha256
VM_DL=${VM_DL:-$DL}                      # where the .debs are downloaded
VM_DEBS=${VM_DEBS:-$WORK/virt-manager-debs}   # the .debs unpacked
TREE=$WORK/virt-manager                  # git work tree (the patch queue)
SERIES=${VM_SERIES:-$TOP/patches/virt-manager}
BASE_TAG=v4.1.0-2-pristine
PRISTINE_DATE="2022-11-06T13:09:07+01:00"   # the 1:4.1.0-2 upload

vm_deb_name() { echo "${1}_${VM_VERSION/:/%3a}_all.deb"; }

# vm_series_check: 0 when the tree's commits after BASE_TAG export to
# exactly the committed series; otherwise say what differs.
vm_series_check() {
    local tmp rc=0 p
    tmp=$(mktemp -d)
    if [[ -n $(tgit status --porcelain) ]]; then
        echo "uncommitted changes in $TREE:"
        tgit status --short | head -n 20
        rc=1
    fi
    tgit format-patch -q "${FORMAT_PATCH_OPTS[@]}" -o "$tmp" "$BASE_TAG..HEAD"
    find "$tmp" -maxdepth 1 -name '*.patch' -printf '%f\n' | LC_ALL=C sort > "$tmp/names"
    if ! diff -u --label series <(series_list) --label work-tree "$tmp/names"; then
        rc=1
    fi
    while read -r p; do
        if [[ -f $SERIES/$p ]] && ! cmp -s "$tmp/$p" "$SERIES/$p"; then
            echo "differs from the exported series: $p"
            rc=1
        fi
    done < "$tmp/names"
    rm -rf "$tmp"
    return "$rc"
}
