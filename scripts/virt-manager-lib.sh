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
