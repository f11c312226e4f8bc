#!/bin/bash
# test-ownhelper.sh - real guests on libvirt's own virtfs proxy helper
# (series 0024-0028), named in <binary path='...'/> so that it is the one
# under test also when E2E_HELPER=qemu makes QEMU's the daemon's:
#   - probe sgid: a set-group-ID directory of another group; guest root
#     creates a file in it (the file takes the directory's group), chowns it,
#     makes a device node, then a user creates a file; owners, type and
#     device number checked on the host, and the helper served to the end;
#   - probe longpath: a file 4000 bytes below the share, found on the host;
#   - probe semantics: the whole layout, checked by check-semantics.sh;
#   - the sgid scenario on QEMU's helper (<binary path>), for contrast: after the create by
#     root with group 5678, chown fails with EPERM (A34) and the next mknod
#     aborts the helper (EIO in the guest, no "Done" in its log). Asserted,
#     so that a QEMU helper without the bug would be noticed.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NAME=test-ownhelper
e2e_setup "$NAME"

own=$OWN_HELPER
check "libvirt's own helper is installed" \
    "$own (libvirt) 9.0.0" "$("$own" --version 2>&1 || true)"

dom=e2e-ownhelper
dir=$(fresh_dir ownhelper-export)
echo "-- $dom: export $dir, <binary path='$own'/>, guest runs sgid, longpath, semantics"
run_domain "$dom" 180 \
    "proxyfs.mounts=share:/mnt/share proxyfs.run=sgid:/mnt/share,longpath:/mnt/share,semantics:/mnt/share" \
    "$(proxy_fs "$dir" share "<binary path='$own'/>")"
check "guest PROBE-EXIT" 0 "$(probe_exit "$dom")"
check "no probe FAIL line" "" "$(console "$dom" | grep '^PROBE .* FAIL ' || true)"
check "three scenarios without a failure" 3 \
    "$(console "$dom" | grep -c '^PROBE-SUMMARY [1-9][0-9]* ok 0 fail$' || true)"

echo "-- host side"
check "sgid: the directory (set-group-ID, group 5678)" "2777 0:5678" \
    "$(stat -c '%a %u:%g' "$dir/sgid" 2>&1)"
check "sgid: root's file, chowned after it took the group" "1234:4321" \
    "$(stat -c '%u:%g' "$dir/sgid/root-file" 2>&1)"
check "sgid: the device node root made after that" "character special file 1:3 0:5678" \
    "$(stat -c '%F %t:%T %u:%g' "$dir/sgid/null" 2>&1)"
check "sgid: the user's file, in the directory's group" "1000:5678" \
    "$(stat -c '%u:%g' "$dir/sgid/user-file" 2>&1)"
deep=$(find "$dir/long" -type f 2>/dev/null || true)
check "longpath: one file, 4000 bytes below the share" "1 4000" \
    "$(grep -c . <<<"$deep") $((${#deep} - ${#dir} - 1))"
check "longpath: its content" "deep" "$(cat "$deep" 2>&1)"
out=$("$TOP/e2e/guest/check-semantics.sh" "$dir" 2>&1) || true
grep '^FAIL' <<<"$out" | sed 's/^/    /' || true
check_match "host check-semantics: 0 failed" '^semantics: [1-9][0-9]* passed, 0 failed$' \
    "$(tail -n 1 <<<"$out")"
# the helper served until QEMU closed its socket: the two lines of its log
check "the helper's log: serving, then QEMU closed the connection" \
    "serving $dir|client closed the connection, exiting" \
    "$(sed 's/^[^:]*: //' "$DOMLOGDIR/$dom-fs0-virtfs-proxy-helper.log" 2>&1 | paste -sd'|')"

dom=e2e-ownhelper-qemu
dir=$(fresh_dir ownhelper-qemu-export)
echo "-- contrast: $dom, QEMU's helper, guest runs sgid"
run_domain "$dom" 120 "proxyfs.mounts=share:/mnt/share proxyfs.run=sgid:/mnt/share" \
    "$(proxy_fs "$dir" share "<binary path='$QEMU_HELPER'/>")"
check "QEMU's helper: root's create in the directory works" \
    "PROBE owner /mnt/share/sgid/root-file ok 0:5678" \
    "$(console "$dom" | grep '^PROBE owner /mnt/share/sgid/root-file ' | head -n 1)"
check "QEMU's helper: then chown fails, and mknod finds the helper gone (A34)" \
    "PROBE chown /mnt/share/sgid/root-file FAIL EPERM|PROBE mknod /mnt/share/sgid/null FAIL EIO" \
    "$(console "$dom" | grep -E '^PROBE (chown /mnt/share/sgid/root-file|mknod) ' | paste -sd'|')"
check "QEMU's helper: its log ends without its Done line (it aborted)" "Started" \
    "$(tail -n 1 "$DOMLOGDIR/$dom-fs0-virtfs-proxy-helper.log" 2>&1)"

summary "$NAME"
