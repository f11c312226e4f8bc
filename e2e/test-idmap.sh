#!/bin/bash
# test-idmap.sh - a proxy share with <idmap>: libvirt's helper serves from a
# user namespace with the map, so the kernel shifts every id. Checked from
# the host: the guest's root owns files as host uid 100000, its chown to
# 1000:1000 gives 101000:101000, its set-uid program runs as 100000 for an
# unprivileged host user, it makes no device node, a host file of root's is
# the overflow id's in the guest and out of its reach, and the helper holds
# no capability in the host's user namespace. Also what libvirt refuses: an
# export of an unmapped owner, QEMU's helper.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NAME=test-idmap
e2e_setup "$NAME"

dom=e2e-idmap
idmap="<idmap>
        <uid start='0' target='100000' count='65536'/>
        <gid start='0' target='100000' count='65536'/>
      </idmap>"
# reachable by host users (mode 0755 up to /): libvirt refuses that for a
# share without <idmap>, and takes it for one with
dir=$(shared_dir idmap-export)
printf 'host root\n' > "$dir/hostroot"
chmod 0644 "$dir/hostroot"

if [[ $HELPER != "$OWN_HELPER" ]]; then
    define_domain "$dom" "proxyfs.run=none" "$(proxy_fs "$dir" share "$idmap")"
    expect_error "QEMU's helper cannot map ids" "error: Failed to start domain '$dom'
error: unsupported configuration: filesystem 'share': <idmap> needs libvirt's own virtfs proxy helper, not '$HELPER'" \
        start "$dom"
    check "no helper" "" "$(helpers_of "$dir")"
    rm -rf "$dir"
    summary "$NAME"
    exit
fi

echo "-- export $dir, reachable by host users, uid and gid map 0:100000:65536"
define_domain "$dom" "proxyfs.mounts=share:/mnt/share proxyfs.run=idmap:/mnt/share" \
    "$(proxy_fs "$dir" share "$idmap")"
check "virsh dumpxml shows the map" \
    "<idmap>|<uid start='0' target='100000' count='65536'/>|<gid start='0' target='100000' count='65536'/>|</idmap>" \
    "$(virsh dumpxml "$dom" | sed -n '/<idmap>/,/<\/idmap>/p' | sed 's/^ *//' | paste -sd'|')"
expect_error "an export of root's is refused" "error: Failed to start domain '$dom'
error: Requested operation is not valid: proxy filesystem export '$dir' is owned by 0:0, outside the host ids of its <idmap> (uid 0:100000:65536, gid 0:100000:65536): the guest's root would own nothing there; chown it to the host ids that guest root maps to" \
    start "$dom"
check "no helper after the refusal" "" "$(helpers_of "$dir")"
chown 100000:100000 "$dir"

t0=$SECONDS
virsh start "$dom" >/dev/null
hpid=$(helpers_of "$dir" | head -n 1)
check "the helper's command line" \
    "$HELPER -n -f FD -p $dir --uid-map 0:100000:65536 --gid-map 0:100000:65536" \
    "$(tr '\0' ' ' < "/proc/${hpid:-none}/cmdline" 2>&1 | sed 's/ -f [0-9][0-9]* / -f FD /; s/ $//')"
check "the helper's uid_map" "0 100000 65536" \
    "$(awk '{ print $1, $2, $3 }' "/proc/${hpid:-none}/uid_map" 2>&1)"
check "the helper's gid_map" "0 100000 65536" \
    "$(awk '{ print $1, $2, $3 }' "/proc/${hpid:-none}/gid_map" 2>&1)"
check "the helper runs as host uid 100000 (real, effective, saved, fs)" \
    "100000 100000 100000 100000" "$(grep '^Uid:' "/proc/${hpid:-none}/status" | cut -f2- | tr '\t' ' ')"
check "the helper runs as host gid 100000" \
    "100000 100000 100000 100000" "$(grep '^Gid:' "/proc/${hpid:-none}/status" | cut -f2- | tr '\t' ' ')"
# its capabilities are the namespace's: in the host's, a process has one
# only as root of the namespace that owns it, or of an ancestor of that
itsns=$(readlink "/proc/${hpid:-none}/ns/user" 2>&1) || true
if [[ $itsns == user:* && $itsns != "$(readlink /proc/1/ns/user)" ]]; then
    pass "the helper's user namespace ($itsns) is not the host's: its capabilities hold there only"
else
    fail "the helper is in the host's user namespace ($itsns)"
fi

if wait_shutoff "$dom" 180; then
    pass "$dom ran and shut off by itself ($((SECONDS - t0)) s)"
else
    fail "$dom still running after 180 s"
    virsh destroy "$dom" >/dev/null 2>&1 || true
fi
check "guest mounted the share" "PROBE-MOUNT share /mnt/share ok" "$(console "$dom" | grep '^PROBE-MOUNT')"
check "guest PROBE-EXIT" 0 "$(probe_exit "$dom")"
# what the guest saw: ids as it set them, the overflow id for host root's
# file, EINVAL for ids outside the map, EPERM for device nodes
m=/mnt/share
for line in "owner $m/idm/root-file ok 0:0" "owner $m/idm/user-file ok 1000:1000" \
            "owner $m/idm/sgid/root-file ok 0:1000" "sgid-inherit $m/idm/sgid/sub ok 1000 g+s" \
            "owner $m/idm/sgid/user-file ok 1000:1000" \
            "mkfifo $m/idm/fifo ok" "mknod-sock $m/idm/socket ok" \
            "mknod $m/idm/null ok EPERM" "mknod-blk $m/idm/sda ok EPERM" \
            "chown-unmapped $m/idm/user-file ok EINVAL" "chgrp-unmapped $m/idm/user-file ok EINVAL" \
            "owner $m/hostroot ok 65534:65534" \
            "chown-hostroot $m/hostroot ok EPERM" "chmod-hostroot $m/hostroot ok EPERM"; do
    check "guest: $line" "PROBE $line" \
        "$(console "$dom" | grep -xF "PROBE $line" | head -n 1 || true)"
done
# once after the chown, once after the refused chowns outside the map
check "guest: the user's file kept its owner after the refused chowns" 2 \
    "$(console "$dom" | grep -cxF "PROBE owner $m/idm/user-file ok 1000:1000")"
check "guest: nothing failed" "PROBE-SUMMARY 0 fail" \
    "$(console "$dom" | sed -n 's/^\(PROBE-SUMMARY\) [0-9]* ok \([0-9]* fail\)$/\1 \2/p' | tail -n 1)"

# the host's view: every id shifted by 100000
owner() { stat -c '%u:%g %a' "$dir/$1" 2>&1; }
check "host: guest root's file" "100000:100000 644" "$(owner idm/root-file)"
check "host: the guest's set-uid program" "100000:100000 4755" "$(owner idm/suid)"
check "host: chown to 1000:1000" "101000:101000 644" "$(owner idm/user-file)"
check "host: chown to the overflow id 65534" "165534:165534 644" "$(owner idm/nobody-file)"
check "host: set-gid directory" "100000:101000 2777" "$(owner idm/sgid)"
check "host: root's file in it" "100000:101000 644" "$(owner idm/sgid/root-file)"
check "host: a user's file in it" "101000:101000 600" "$(owner idm/sgid/user-file)"
check "host: FIFO" "100000:100000 600" "$(owner idm/fifo)"
check "host: no device node made" "" "$(find "$dir" \( -type b -o -type c \) -printf '%P ')"
check "host: host root's file untouched" "0:0 644" "$(owner hostroot)"
check "host: nothing of host root's but that file" "hostroot" \
    "$(find "$dir" -mindepth 1 \( -uid 0 -o -gid 0 \) -printf '%P\n' | paste -sd' ')"

# an unprivileged host user: the set-uid program gives the mapped root,
# 100000, and root's file of the guest is not theirs to write
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
check "host user nobody runs the guest's set-uid program as euid 100000" \
    "PROBE-WHOAMI 65534 100000" "$(as_nobody "$dir/idm/suid" whoami 2>&1)"
if as_nobody sh -c ">> '$dir/idm/root-file'" 2>/dev/null; then
    fail "host user nobody could write the guest root's file"
else
    pass "host user nobody cannot write the guest root's file"
fi

rm -rf "$dir"

# Two running domains whose maps overlap: a set-uid program of one range
# reaches the other's files. libvirt warns in the starting domain's log,
# naming the other domain and the shared ids; a disjoint map gets no
# warning. Paused domains without a guest: the helpers run all the same.
echo "-- maps of running domains: 0:100000:65536, then 0:150000:65536 (overlaps), then 0:300000:65536"
idmap_of() { printf "<idmap><uid start='0' target='%s' count='65536'/><gid start='0' target='%s' count='65536'/></idmap>" "$1" "$1"; }
for t in 100000 150000 300000; do
    d=$(fresh_dir "idmap-$t" "$t:$t")
    mini_domain "e2e-idmap-$t" "$(proxy_fs "$d" share "$(idmap_of "$t")")"
    rm -f "$DOMLOGDIR/e2e-idmap-$t.log"
    virsh start --paused "e2e-idmap-$t" >/dev/null || fail "virsh start --paused e2e-idmap-$t"
done
warning="warning: the <idmap> of filesystem 'share' maps to host uids 150000-165535, which filesystem 'share' of running domain 'e2e-idmap-100000' maps to as well: host users who can run a set-user-ID program of one range reach the other domain's files too; give each domain a range of its own"
check "the overlapping domain's log warns, naming the other domain and the ids" "$warning" \
    "$(grep '^warning: the <idmap>' "$DOMLOGDIR/e2e-idmap-150000.log" 2>&1)"
check "the first domain's log has no warning" "" "$(grep '^warning: the <idmap>' "$DOMLOGDIR/e2e-idmap-100000.log" 2>&1)"
check "the disjoint domain's log has no warning" "" "$(grep '^warning: the <idmap>' "$DOMLOGDIR/e2e-idmap-300000.log" 2>&1)"
# the map of a domain that is gone no longer counts
virsh destroy e2e-idmap-100000 >/dev/null
virsh destroy e2e-idmap-150000 >/dev/null
rm -f "$DOMLOGDIR/e2e-idmap-150000.log"
virsh start --paused e2e-idmap-150000 >/dev/null || fail "virsh start --paused e2e-idmap-150000 (again)"
check "once that domain is destroyed, no warning" "" "$(grep '^warning: the <idmap>' "$DOMLOGDIR/e2e-idmap-150000.log" 2>&1)"
# nor does a daemon restart forget the maps of running domains: with only
# the first domain running, the daemon restarts; once it has reconnected
# to that domain (a monitor command waits for the reconnect's job), the
# overlapping one starts
virsh destroy e2e-idmap-150000 >/dev/null
virsh start --paused e2e-idmap-100000 >/dev/null || fail "virsh start --paused e2e-idmap-100000 (again)"
restart_virtqemud
reconnected() { virsh qemu-monitor-command "$1" '{"execute":"query-status"}' >/dev/null 2>&1; }
wait_until 30 reconnected e2e-idmap-100000 || fail "the restarted daemon did not reconnect to e2e-idmap-100000"
check "the first domain survived the restart" paused "$(virsh domstate e2e-idmap-100000 2>&1)"
rm -f "$DOMLOGDIR/e2e-idmap-150000.log"
virsh start --paused e2e-idmap-150000 >/dev/null || fail "virsh start --paused e2e-idmap-150000 (after the restart)"
check "after a daemon restart, the running domain's map still counts" "$warning" \
    "$(grep '^warning: the <idmap>' "$DOMLOGDIR/e2e-idmap-150000.log" 2>&1)"
for t in 100000 150000 300000; do cleanup_domain "e2e-idmap-$t"; done
summary "$NAME"
