#!/bin/bash
# test-virsh.sh - proxy filesystems as a virsh user meets them: the XML
# round trip, domxml-to-native, save/managedsave/snapshot refusals, the
# hotplug, hot-unplug and live update refusals,
# and a helper started by hand behind <source socket>.  The configurations
# libvirt refuses are in test-configs.sh.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NAME=test-virsh
e2e_setup "$NAME"

export_dir=$(fresh_dir virsh-export)
quid=$(id -u "$QEMU_USER") qgid=$(id -g "$QEMU_USER")

SRC="      <source dir='$export_dir'/>"

echo "-- define, dumpxml, define again, dumpxml"
dom=e2e-virsh-xml
define_domain "$dom" "proxyfs.run=none" "$(proxy_fs "$export_dir" share)" \
    "$(fs_xml " accessmode='passthrough'" "" "      <binary path='$HELPER'/>
$SRC")" \
    "$(fs_xml " accessmode='passthrough'" " wrpolicy='immediate'" "      <source socket='$E2E/virsh-none.sock'/>
      <readonly/>")"
xml1=$(virsh dumpxml "$dom")
printf '%s\n' "$xml1" > "$E2E/$dom.dump1.xml"
virsh define "$E2E/$dom.dump1.xml" >/dev/null
xml2=$(virsh dumpxml "$dom")
check "second dumpxml identical to the first" "$(sha256sum <<<"$xml1")" "$(sha256sum <<<"$xml2")"
fsxml=$(sed -n '/<filesystem/,/<\/filesystem>/p' <<<"$xml2" | grep -v '<address ')
check "the filesystems as libvirt keeps them" "    <filesystem type='mount' accessmode='passthrough'>
      <driver type='proxy'/>
      <source dir='$export_dir'/>
      <target dir='share'/>
    </filesystem>
    <filesystem type='mount' accessmode='passthrough'>
      <driver type='proxy'/>
      <binary path='$HELPER'/>
      <source dir='$export_dir'/>
      <target dir='t'/>
    </filesystem>
    <filesystem type='mount' accessmode='passthrough'>
      <driver type='proxy' wrpolicy='immediate'/>
      <source socket='$E2E/virsh-none.sock'/>
      <target dir='t'/>
      <readonly/>
    </filesystem>" "$fsxml"
dom=e2e-virsh-noam
define_domain "$dom" "proxyfs.run=none" "$(fs_xml "" "" "$SRC")"
check "no accessmode: defaults to passthrough" "<filesystem type='mount' accessmode='passthrough'>" \
    "$(virsh dumpxml "$dom" | grep -o "<filesystem[^>]*>")"

echo "-- domxml-to-native"
domain_xml e2e-virsh-native "proxyfs.run=none" "$(proxy_fs "$export_dir" tag1)" > "$E2E/e2e-virsh-native.xml"
expect_error "qemu-argv of a proxy domain" \
    "error: unsupported configuration: proxy filesystem 'tag1' has no command line form: QEMU gets a socket to the virtfs-proxy-helper libvirt starts with the domain; use <source socket='...'/> for a helper started by hand" \
    domxml-to-native qemu-argv "$E2E/e2e-virsh-native.xml"
domain_xml e2e-virsh-native "proxyfs.run=none" \
    "$(fs_xml " accessmode='passthrough'" "" "      <source socket='$E2E/virsh-none.sock'/>")" > "$E2E/e2e-virsh-native.xml"
argv=$(virsh domxml-to-native qemu-argv "$E2E/e2e-virsh-native.xml" 2>&1) || fail "qemu-argv of a <source socket> domain failed: $argv"
check "qemu-argv of a <source socket> domain has the -fsdev" "-fsdev proxy,id=fsdev-fs0,socket=$E2E/virsh-none.sock" \
    "$(grep -o -- "-fsdev [^ ]*" <<<"$argv")"
check_match "... and the 9p device" '"driver":"virtio-9p-pci","id":"fs0","fsdev":"fsdev-fs0","mount_tag":"t"' "$argv"

echo "-- a running proxy domain: save, managedsave, snapshot, hotplug"
dom=e2e-virsh-run
define_domain "$dom" "proxyfs.mounts=share:/mnt/share proxyfs.run=sleep:60 proxyfs.timeout=60" \
    "$(proxy_fs "$export_dir" share)"
virsh start "$dom" >/dev/null
msg="Requested operation is not valid: migrating or saving the state of a domain with a proxy filesystem is not supported"
rm -f "$E2E/$dom.save" "$E2E/$dom.mem"
expect_error "virsh save" "error: Failed to save domain '$dom' to $E2E/$dom.save
error: $msg" save "$dom" "$E2E/$dom.save"
expect_error "virsh managedsave" "error: Failed to save domain '$dom' state
error: $msg" managedsave "$dom"
expect_error "virsh snapshot-create-as with memory" "error: $msg" \
    snapshot-create-as "$dom" s1 --memspec "file=$E2E/$dom.mem,snapshot=external"
check "nothing saved" "" "$(ls "$E2E/$dom.save" "$E2E/$dom.mem" "$VARDIR/lib/libvirt/qemu/save/$dom.save" 2>/dev/null || true)"
hot=$(fresh_dir virsh-hot)
proxy_fs "$hot" hot > "$E2E/virsh-hot.xml"
expect_error "attach-device --live of a proxy filesystem" "error: Failed to attach device from $E2E/virsh-hot.xml
error: Operation not supported: proxy filesystems cannot be hotplugged: QEMU cannot add or remove the fsdev of a running domain" \
    attach-device "$dom" "$E2E/virsh-hot.xml" --live
check "no helper for the refused hotplug" "" "$(helpers_of "$hot")"
proxy_fs "$export_dir" share > "$E2E/virsh-unplug.xml"
expect_error "detach-device --live of the proxy filesystem" "error: Failed to detach device from $E2E/virsh-unplug.xml
error: Operation not supported: proxy filesystems cannot be hotplugged: QEMU cannot add or remove the fsdev of a running domain" \
    detach-device "$dom" "$E2E/virsh-unplug.xml" --live
proxy_fs "$export_dir" share "<readonly/>" > "$E2E/virsh-update.xml"
expect_error "update-device --live of the proxy filesystem" "error: Failed to update device from $E2E/virsh-update.xml
error: unsupported configuration: live update of device 'filesystem' is not supported" \
    update-device "$dom" "$E2E/virsh-update.xml" --live
check "the filesystem is unchanged" "1 0" \
    "$(virsh dumpxml "$dom" | grep -c "<filesystem type='mount'") $(virsh dumpxml "$dom" | grep -c '<readonly/>')"
check "domain still running" "running" "$(virsh domstate "$dom")"
# (both sides non-empty: with no pidfile and no helper they would be equal)
pf=$(pidfiles_of "$dom")
hpid=$( [[ -n $pf && $pf != *$'\n'* ]] && cat "$pf" 2>/dev/null || true)
check_match "its one helper pidfile names a pid (${pf##*/}: $hpid)" '^[0-9]+$' "$hpid"
check "its helper still running: the pid of its pidfile serves the export" "${hpid:-(no pid)}" "$(helpers_of "$export_dir")"
virsh destroy "$dom" >/dev/null

echo "-- a helper started by hand behind <source socket>"
# the export below $PRIVATE (libvirt's helper refuses, started by hand, an
# export unprivileged users can reach); the socket outside it, below
# $SOCKDIR, where QEMU's user can connect whatever the checkout's depth
# (sun_path holds 107 bytes)
ext=$(fresh_dir virsh-ext-export)
assert_protected_export "$ext" || true
ensure_sockdir
sockdir=$SOCKDIR/virsh-ext
rm -rf "$sockdir"
mkdir -m 0755 "$sockdir"
sock=$sockdir/proxy.sock
"$HELPER" -n -s "$sock" -p "$ext" -u "$quid" -g "$qgid" > "$sockdir/helper.log" 2>&1 &
ext_pid=$!
trap 'kill "$ext_pid" 2>/dev/null || true; e2e_cleanup' EXIT
for ((i = 0; i < 50; i++)); do [[ -S $sock ]] && break; sleep 0.1; done
check "the helper's socket: owner, mode" "$quid:$qgid 770 socket" "$(stat -c '%u:%g %a %F' "$sock" 2>/dev/null)"
dom=e2e-virsh-ext
run_domain "$dom" 120 "proxyfs.mounts=share:/mnt/share proxyfs.run=semantics:/mnt/share" \
    "$(fs_xml " accessmode='passthrough'" "" "      <source socket='$sock'/>" share)"
check "libvirt started no helper of its own" "0" "$(grep -c 'Starting external device' "$DOMLOGDIR/$dom.log")"
check "no pidfile" "" "$(pidfiles_of "$dom")"
check_match "QEMU got socket=" "^-fsdev proxy,id=fsdev-fs0,socket=$sock " "$(grep '^-fsdev ' "$DOMLOGDIR/$dom.log")"
check "guest PROBE-EXIT" 0 "$(probe_exit "$dom")"
out=$("$TOP/e2e/guest/check-semantics.sh" "$ext" 2>&1) || true
grep '^FAIL' <<<"$out" | sed 's/^/    /' || true
check_match "host check-semantics: 0 failed" '^semantics: [1-9][0-9]* passed, 0 failed$' "$(tail -n 1 <<<"$out")"
check "the hand-started helper exits when QEMU is gone" "gone" "$(wait_gone "$ext_pid" 10 && echo gone || echo running)"
wait "$ext_pid" 2>/dev/null && rc=0 || rc=$?
check "... with status 0, log Started/Done" "0 $(helper_log_started "$ext") $(helper_log_done)" "$rc $(paste -sd' ' "$sockdir/helper.log")"
rm -rf "$sockdir"

summary "$NAME"
