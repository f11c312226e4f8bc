#!/bin/bash
# test-readonly.sh - a <readonly/> proxy share: the guest mounts it read-write,
# QEMU refuses every modifying call with EROFS, and the host directory stays
# byte for byte as it was (entries, owners, modes, times, contents, xattrs).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NAME=test-readonly
e2e_setup "$NAME"

dom=e2e-readonly
dir=$(fresh_dir readonly-export)
seed_readonly "$dir"
before=$(tree_listing "$dir")
echo "-- export $dir ($(wc -l <<<"$before") listing lines), <readonly/>, guest mounts it rw"

t0=$SECONDS
define_domain "$dom" "proxyfs.mounts=share:/mnt/share proxyfs.run=readonly:/mnt/share" \
    "$(proxy_fs "$dir" share "<readonly/>")"
virsh start "$dom" >/dev/null
# the helper serves before QEMU starts, and until the guest is gone: libvirt's
# helper is told -r (it then refuses writes itself), QEMU's has no such option
hpids=$(helpers_of "$dir" | paste -sd' ')
case $HELPER in
    "$OWN_HELPER") want_args="$HELPER -n -f FD -p $dir -r" ;;
    *) want_args="$HELPER -n -f FD -p $dir" ;;
esac
check "the helper's command line (/proc/PID/cmdline)" "$want_args" \
    "$(tr '\0' ' ' < "/proc/${hpids:-none}/cmdline" 2>&1 | sed 's/ -f [0-9][0-9]* / -f FD /; s/ $//')"
# what the kernel enforces for the helper, whatever QEMU's readonly=on
# does: its view of the export (its root, "/" in its mountinfo) is read-only
check "the helper's export is mounted ro,nosuid,nodev in its namespace" "ro,nosuid,nodev" \
    "$(awk '$5 == "/" { o = $6 } END { print o }' "/proc/${hpids:-none}/mountinfo" 2>&1 |
       tr , '\n' | grep -xE 'ro|rw|nosuid|nodev' | paste -sd,)"
if wait_shutoff "$dom" 120; then
    pass "$dom ran and shut off by itself ($((SECONDS - t0)) s)"
else
    fail "$dom still running after 120 s"
    virsh destroy "$dom" >/dev/null 2>&1 || true
fi
check_match "QEMU got readonly=on" '^-fsdev proxy,id=fsdev-fs0,sock_fd=[0-9]+,readonly=on ' \
    "$(grep '^-fsdev ' "$DOMLOGDIR/$dom.log")"
check "guest mounted the share read-write" "PROBE-MOUNT share /mnt/share ok" "$(console "$dom" | grep '^PROBE-MOUNT')"
check "guest PROBE-EXIT" 0 "$(probe_exit "$dom")"
check "read of the seed works" "PROBE read /mnt/share/seed ok" "$(console "$dom" | grep '^PROBE read ')"
# every modifying call: "PROBE <op> <path> ok EROFS"
ops=$(console "$dom" | awk '$1 == "PROBE" && $2 != "read" { print $2 "=" $4 "/" $5 }' | paste -sd' ')
check "every modifying call failed with EROFS" \
    "create=ok/EROFS write=ok/EROFS truncate=ok/EROFS chown=ok/EROFS chmod=ok/EROFS utime=ok/EROFS setxattr=ok/EROFS mkdir=ok/EROFS mkfifo=ok/EROFS mknod=ok/EROFS symlink=ok/EROFS link=ok/EROFS rename=ok/EROFS unlink=ok/EROFS" \
    "$ops"

after=$(tree_listing "$dir")
if [[ $before == "$after" ]]; then
    pass "host directory unchanged ($(wc -l <<<"$after") listing lines identical)"
else
    fail "host directory changed:"
    diff <(echo "$before") <(echo "$after") | sed 's/^/    /' || true
fi
check "seed content" "seed for the readonly scenario" "$(cat "$dir/seed")"

summary "$NAME"
