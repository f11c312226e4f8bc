#!/bin/bash
# test-virsh.sh - proxy filesystems as a virsh user meets them: the XML
# round trip, every configuration libvirt refuses and its exact message (at
# define and at start time, with nothing left behind), domxml-to-native,
# save/managedsave/snapshot/hotplug refusals, and a helper started by hand
# behind <source socket>.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NAME=test-virsh
e2e_setup "$NAME"

export_dir=$(fresh_dir virsh-export)
quid=$(id -u "$QEMU_USER") qgid=$(id -g "$QEMU_USER")

# expect_error DESCRIPTION EXPECTED-STDERR VIRSH-ARGS...: virsh fails and
# prints exactly EXPECTED-STDERR
expect_error() {
    local desc=$1 want=$2 got rc=0
    shift 2
    got=$(virsh "$@" 2>&1 >/dev/null) || rc=$?
    if ((rc == 0)); then
        fail "$desc: virsh $1 succeeded"
    elif [[ $want == '^'* ]]; then    # a regular expression
        check_match "$desc (${got//$'\n'/ | })" "$want" "$got"
    else
        check "$desc" "$want" "$got"
    fi
}

# fs_xml ATTRS DRIVER-ATTRS INNER [TAG]: a proxy filesystem element
fs_xml() {
    printf "    <filesystem type='mount'%s>\n      <driver type='proxy'%s/>\n%s\n      <target dir='%s'/>\n    </filesystem>" "$1" "$2" "$3" "${4:-t}"
}
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

echo "-- refused at define time"
bad() { # bad DESCRIPTION MESSAGE FILESYSTEM-XML
    domain_xml e2e-virsh-bad "proxyfs.run=none" "$3" > "$E2E/e2e-virsh-bad.xml"
    expect_error "$1" "error: Failed to define domain from $E2E/e2e-virsh-bad.xml
error: $2" define "$E2E/e2e-virsh-bad.xml"
    check "$1: not defined" "" "$(virsh list --all --name | grep -x e2e-virsh-bad || true)"
}
bad "accessmode mapped" \
    "unsupported configuration: the 'proxy' filesystem driver does not support accessmode 'mapped', only 'passthrough'" \
    "$(fs_xml " accessmode='mapped'" "" "$SRC")"
bad "accessmode squash" \
    "unsupported configuration: the 'proxy' filesystem driver does not support accessmode 'squash', only 'passthrough'" \
    "$(fs_xml " accessmode='squash'" "" "$SRC")"
bad "fmode/dmode" \
    "unsupported configuration: the 'proxy' filesystem driver does not support fmode and dmode" \
    "$(fs_xml " accessmode='passthrough' fmode='0644' dmode='0755'" "" "$SRC")"
bad "multidevs" \
    "unsupported configuration: the 'proxy' filesystem driver does not support multidevs" \
    "$(fs_xml " accessmode='passthrough' multidevs='remap'" "" "$SRC")"
bad "driver format" \
    "unsupported configuration: the 'proxy' filesystem driver does not support format" \
    "$(fs_xml " accessmode='passthrough'" " format='raw'" "$SRC")"
bad "driver queue" \
    "unsupported configuration: the 'proxy' filesystem driver does not support queue" \
    "$(fs_xml " accessmode='passthrough'" " queue='1024'" "$SRC")"
bad "<binary> with <source socket>" \
    "unsupported configuration: <binary> cannot be used with <source socket>: libvirt does not start the helper of a proxy filesystem that has a socket" \
    "$(fs_xml " accessmode='passthrough'" "" "      <binary path='$HELPER'/>
      <source socket='$E2E/virsh-none.sock'/>")"

echo "-- refused at start time, nothing left behind"
# bad_start DESCRIPTION MESSAGE EXPORT FILESYSTEM-XML [DOMAIN-XML-FILTER]
# (a MESSAGE starting with ^ is a regular expression)
bad_start() {
    local dom=e2e-virsh-start fds
    define_domain "$dom" "proxyfs.run=none" "$4"
    if [[ -n ${5:-} ]]; then      # redefine from the filtered XML
        virsh undefine "$dom" >/dev/null
        sed -i "$5" "$E2E/$dom.xml"
        virsh define "$E2E/$dom.xml" >/dev/null
    fi
    fds=$(daemon_fds)
    local want="error: Failed to start domain '$dom'
error: $2"
    [[ $2 != '^'* ]] || want="^error: Failed to start domain '$dom'
error: ${2#^}"
    expect_error "$1" "$want" start "$dom"
    check "$1: domain shut off" "shut off" "$(virsh domstate "$dom")"
    check "$1: no helper" "" "$(helpers_of "$3")"
    check "$1: no pidfile" "" "$(pidfiles_of "$dom")"
    check "$1: no QEMU pidfile" "absent" "$([[ -e $STATEDIR/$dom.pid ]] && echo present || echo absent)"
    check "$1: daemon fd count unchanged" "$fds" "$(daemon_fds)"
    cleanup_domain "$dom"
}
missing=$E2E/virsh-missing link=$E2E/virsh-link file=$E2E/virsh-file
rm -rf "$missing" "$link" "$file"
ln -s "$export_dir" "$link"
echo "not a directory" > "$file"
bad_start "export missing" \
    "cannot access proxy filesystem export '$missing': No such file or directory" \
    "$missing" "$(proxy_fs "$missing" t)"
bad_start "export is a symlink" \
    "Requested operation is not valid: proxy filesystem export '$link' is a symbolic link: virtfs-proxy-helper only exports a real directory" \
    "$link" "$(proxy_fs "$link" t)"
bad_start "export is a file" \
    "Requested operation is not valid: proxy filesystem export '$file' is not a directory" \
    "$file" "$(proxy_fs "$file" t)"
bad_start "<source socket> missing" \
    "cannot access socket '$E2E/virsh-none.sock' of the externally started virtfs-proxy-helper of filesystem 't': No such file or directory" \
    none "$(fs_xml " accessmode='passthrough'" "" "      <source socket='$E2E/virsh-none.sock'/>")"
bad_start "<source socket> not a socket" \
    "Requested operation is not valid: '$file' of filesystem 't' is not a socket" \
    none "$(fs_xml " accessmode='passthrough'" "" "      <source socket='$file'/>")"
bad_start "<binary> not executable" \
    "operation failed: virtfs-proxy-helper '/nonexistent/virtfs-proxy-helper' is not executable" \
    "$export_dir" "$(fs_xml " accessmode='passthrough'" "" "      <binary path='/nonexistent/virtfs-proxy-helper'/>
$SRC")"
# QEMU itself fails after the helper started: the helper must be stopped.
bad_start "QEMU fails after the helper started" \
    '^internal error: (qemu unexpectedly closed the monitor|process exited while connecting to monitor): qemu-system-x86_64: -no-such-option: invalid option$' \
    "$export_dir" "$(proxy_fs "$export_dir" t)" \
    "s|<domain type='qemu'>|<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>|; s|</devices>|</devices>\n  <qemu:commandline><qemu:arg value='-no-such-option'/></qemu:commandline>|"
check "QEMU failed: the helper had started and ended (its log)" "Started Done" \
    "$(paste -sd' ' "$DOMLOGDIR/e2e-virsh-start-fs0-virtfs-proxy-helper.log" 2>/dev/null)"

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
check "nothing saved" "" "$(ls "$E2E/$dom.save" "$E2E/$dom.mem" "$PREFIX/var/lib/libvirt/qemu/save/$dom.save" 2>/dev/null || true)"
hot=$(fresh_dir virsh-hot)
proxy_fs "$hot" hot > "$E2E/virsh-hot.xml"
expect_error "attach-device --live of a proxy filesystem" "error: Failed to attach device from $E2E/virsh-hot.xml
error: Operation not supported: only virtiofs filesystems can be hotplugged" \
    attach-device "$dom" "$E2E/virsh-hot.xml" --live
check "no helper for the refused hotplug" "" "$(helpers_of "$hot")"
check "domain still running" "running" "$(virsh domstate "$dom")"
check "its helper still running" "$(cat "$(pidfiles_of "$dom")")" "$(helpers_of "$export_dir")"
virsh destroy "$dom" >/dev/null

echo "-- a helper started by hand behind <source socket>"
ext=$(fresh_dir virsh-ext-export)
sockdir=$E2E/virsh-ext
rm -rf "$sockdir"
mkdir -m 0755 "$sockdir"
sock=$sockdir/proxy.sock
"$HELPER" -n -s "$sock" -p "$ext" -u "$quid" -g "$qgid" > "$sockdir/helper.log" 2>&1 &
ext_pid=$!
trap 'kill "$ext_pid" 2>/dev/null || true; cleanup_domains; stop_started_daemons' EXIT
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
check "... with status 0, log Started/Done" "0 Started Done" "$rc $(paste -sd' ' "$sockdir/helper.log")"
rm -rf "$sockdir"

summary "$NAME"
