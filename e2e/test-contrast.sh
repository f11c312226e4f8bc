#!/bin/bash
# test-contrast.sh - what the proxy driver buys, measured: the guest's
# `contrast` scenario (write a file, chown it 1234:5678, mknod c 1 3,
# symlink) on stock 9p passthrough shares (<driver type='path'/>) and on a
# proxy share, in one domain, with QEMU unprivileged.
#   stock, export owned by root:      every op fails (EACCES)
#   stock, export owned by QEMU's user: every op fails (EPERM: QEMU
#       creates, then cannot chown to the guest's root, and removes it)
#   proxy:                            every op works, owners as the guest set them
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NAME=test-contrast
e2e_setup "$NAME"

dom=e2e-contrast
sroot=$(shared_dir contrast-stock-root)
sqemu=$(shared_dir contrast-stock-qemu "$QEMU_USER:$QEMU_USER")
prox=$(fresh_dir contrast-proxy)
echo "-- stock passthrough $sroot (root's), $sqemu ($QEMU_USER's); proxy $prox"
run_domain "$dom" 120 \
    "proxyfs.mounts=sroot:/mnt/sroot,sqemu:/mnt/sqemu,proxy:/mnt/proxy proxyfs.run=contrast:/mnt/sroot,contrast:/mnt/sqemu,contrast:/mnt/proxy" \
    "$(path_fs "$sroot" sroot passthrough)" "$(path_fs "$sqemu" sqemu passthrough)" "$(proxy_fs "$prox" proxy)"
check "all three shares mounted" 3 "$(console "$dom" | grep -c '^PROBE-MOUNT .* ok$')"
# results MOUNTPOINT: "op=ok|errno ..." for the contrast run on MOUNTPOINT
results() {
    console "$dom" | awk -v m="$1/" '$1 == "PROBE" && index($3, m) == 1 { print $2 "=" ($4 == "ok" ? "ok" : $5) }' | paste -sd' '
}

echo "-- stock 9p passthrough, QEMU as $QEMU_USER"
check "export owned by root: every op fails" "write=EACCES chown=ENOENT mknod=EACCES symlink=EACCES" "$(results /mnt/sroot)"
check "export owned by $QEMU_USER: every op fails" "write=EPERM chown=ENOENT mknod=EPERM symlink=EPERM" "$(results /mnt/sqemu)"
check "nothing landed in either stock export" "" "$(find "$sroot" "$sqemu" -mindepth 1)"

echo "-- proxy share"
check "every op works" "write=ok chown=ok mknod=ok symlink=ok" "$(results /mnt/proxy)"
explain_mknod_eperm "$dom"
check "host: contrast-file" "1234:5678 644 regular file 9 contrast" \
    "$(stat -c '%u:%g %a %F %s' "$prox/contrast-file" 2>/dev/null) $(cat "$prox/contrast-file" 2>/dev/null)"
check "host: contrast-chardev" "0:0 600 character special file 1:3" \
    "$(stat -c '%u:%g %a %F %t:%T' "$prox/contrast-chardev" 2>/dev/null)"
check "host: contrast-symlink" "0:0 symbolic link contrast-file" \
    "$(stat -c '%u:%g %F' "$prox/contrast-symlink" 2>/dev/null) $(readlink "$prox/contrast-symlink")"

summary "$NAME"
