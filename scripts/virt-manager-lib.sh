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

# vm_fetch_debs: the pinned .debs in VM_DL, downloaded when missing; dies
# unless each matches its sha256 in VM_PIN (virt-manager-tree.sh and
# virt-manager-deb.sh both build on them)
vm_fetch_debs() {
    local pkg deb expected actual
    mkdir -p "$VM_DL"
    for pkg in "${VM_PACKAGES[@]}"; do
        deb=$(vm_deb_name "$pkg")
        if [[ ! -f $VM_DL/$deb ]]; then
            say "downloading $pkg $VM_VERSION"
            (cd "$VM_DL" && apt-get download -q "$pkg=$VM_VERSION") ||
                die "apt-get download $pkg=$VM_VERSION failed (apt-get update?)"
        fi
        expected=$(awk -v f="$deb" '$2 == f { print $1 }' "$VM_PIN")
        [[ $expected =~ ^[0-9a-f]{64}$ ]] || die "$VM_PIN pins no sha256 for $deb"
        actual=$(sha256sum "$VM_DL/$deb" | awk '{print $1}')
        if [[ $actual != "$expected" ]]; then
            {
                echo "${0##*/}: error: $VM_DL/$deb is not the pinned $pkg $VM_VERSION"
                echo "  expected sha256: $expected"
                echo "  actual sha256:   $actual"
                echo "Refusing to continue. Delete the file to download it again."
            } >&2
            exit 1
        fi
        say "verified $deb (sha256 $actual)"
    done
}
