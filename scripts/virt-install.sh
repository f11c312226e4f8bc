#!/usr/bin/env bash
# virt-install from the patched virt-manager tree (make virt-manager-tree):
#   scripts/virt-install.sh --connect URI --filesystem /srv/share,share,driver.type=proxy ...
# Debian's /usr/bin/python3 is used on purpose: the modules virtinst needs
# (libvirt, gi, libxml2) come from Debian's packages.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
VM_TREE=$WORK/virt-manager
[[ -d $VM_TREE/virtinst ]] || die "no patched virt-manager tree in $VM_TREE: run 'make virt-manager-tree'"
PYTHONPATH=$VM_TREE PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 -c \
    'import sys; sys.argv[0] = "virt-install"; from virtinst import virtinstall; virtinstall.runcli()' "$@"
