#!/bin/bash
# test-configs.sh - a table of invalid proxy filesystem configurations, each
# sent through virsh define (and virsh start where the problem only shows
# when the domain starts), with virsh's exact error and nothing left behind:
# no domain, no helper, no pidfile, no QEMU, the daemon's fds unchanged.
# Prints "configurations: N bad configurations, M refused" before its
# summary line; a configuration counts as refused when all its assertions
# held.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NAME=test-configs
e2e_setup "$NAME"

export_dir=$(fresh_dir conf-export)
SRC="      <source dir='$export_dir'/>"

N_CONF=0 N_REFUSED=0 FAILS_BEFORE=0
row_begin() { N_CONF=$((N_CONF + 1)) FAILS_BEFORE=$T_FAIL; }
row_end() { ((T_FAIL > FAILS_BEFORE)) || N_REFUSED=$((N_REFUSED + 1)); }

echo "-- refused at define time"
bad() { # bad DESCRIPTION MESSAGE FILESYSTEM-XML
    row_begin
    domain_xml e2e-conf-bad "proxyfs.run=none" "$3" > "$E2E/e2e-conf-bad.xml"
    expect_error "$1" "error: Failed to define domain from $E2E/e2e-conf-bad.xml
error: $2" define "$E2E/e2e-conf-bad.xml"
    check "$1: not defined" "" "$(virsh list --all --name | grep -x e2e-conf-bad || true)"
    row_end
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
      <source socket='$SOCKDIR/conf-none.sock'/>")"

bad "<binary> options" \
    "unsupported configuration: the 'proxy' filesystem driver supports only the 'path' of <binary>, not its attribute 'xattr'" \
    "$(fs_xml " accessmode='passthrough'" "" "      <binary path='$HELPER' xattr='on'><cache mode='always'/></binary>
$SRC")"
bad "filesystem type bind" \
    "unsupported configuration: only supports mount filesystem type" \
    "$(fs_xml "" "" "$SRC" | sed "s/type='mount'/type='bind'/")"
bad "no source" \
    "missing source information for device t" \
    "$(fs_xml " accessmode='passthrough'" "" "")"
bad "relative export" \
    "unsupported configuration: export 'srv/share' of a proxy filesystem must be an absolute path" \
    "$(fs_xml " accessmode='passthrough'" "" "      <source dir='srv/share'/>")"
bad "export /" \
    "unsupported configuration: a proxy filesystem cannot export '/': the guest would get root access to the whole host filesystem" \
    "$(fs_xml " accessmode='passthrough'" "" "      <source dir='/'/>")"
bad "export //./" \
    "unsupported configuration: a proxy filesystem cannot export '/': the guest would get root access to the whole host filesystem" \
    "$(fs_xml " accessmode='passthrough'" "" "      <source dir='//./'/>")"
bad "relative <source socket>" \
    "unsupported configuration: socket 'share.sock' of a proxy filesystem must be an absolute path" \
    "$(fs_xml " accessmode='passthrough'" "" "      <source socket='share.sock'/>")"
bad "relative <binary>" \
    "unsupported configuration: <binary> path 'virtfs-proxy-helper' of a proxy filesystem must be absolute" \
    "$(fs_xml " accessmode='passthrough'" "" "      <binary path='virtfs-proxy-helper'/>
$SRC")"

echo "-- refused at start time, nothing left behind"
# bad_start DESCRIPTION MESSAGE EXPORT FILESYSTEM-XML [DOMAIN-XML-FILTER]
# (a MESSAGE starting with ^ is a regular expression; EXPORT
# socket:STATE:PATH for a <source socket> row: PATH must be left STATE,
# "absent" or what stat -c '%F, %s bytes' says)
bad_start() {
    local dom=e2e-conf-start fds helpers after
    row_begin
    define_domain "$dom" "proxyfs.run=none" "$4"
    if [[ -n ${5:-} ]]; then      # redefine from the filtered XML
        virsh undefine "$dom" >/dev/null
        sed -i "$5" "$E2E/$dom.xml"
        virsh define "$E2E/$dom.xml" >/dev/null
    fi
    fds=$(daemon_fds) helpers=$(helper_count)
    local want="error: Failed to start domain '$dom'
error: $2"
    [[ $2 != '^'* ]] || want="^error: Failed to start domain '$dom'
error: ${2#^}"
    expect_error "$1" "$want" start "$dom"
    check "$1: domain shut off" "shut off" "$(virsh domstate "$dom")"
    if [[ $3 == socket:* ]]; then
        # no export and no helper of libvirt's (the count above): what the
        # row can show is that the socket path is as the row made it
        local sock=${3#socket:*:} state=${3#socket:}
        state=${state%%:*}
        check "$1: $sock is still $state" "$state" \
            "$( { [[ -e $sock || -L $sock ]] && stat -c '%F, %s bytes' "$sock"; } || echo absent)"
    else
        check "$1: no helper" "" "$(helpers_of "$3")"
    fi
    check "$1: helper processes on the machine unchanged" "$helpers" "$(helper_count)"
    check "$1: no pidfile" "" "$(pidfiles_of "$dom")"
    check "$1: no QEMU pidfile" "absent" "$([[ -e $STATEDIR/$dom.pid ]] && echo present || echo absent)"
    # a leak adds fds; one the daemon had open for a moment when they were
    # counted (seen once after the redefine) may be gone
    after=$(daemon_fds)
    check "$1: daemon fd count not above its count before ($fds)" yes \
        "$( ((after <= fds)) && echo yes || echo "no: $after")"
    cleanup_domain "$dom"
    row_end
}
# below $PRIVATE, like the exports: each is refused for what it is, not
# for where it is
missing=$PRIVATE/conf-missing link=$PRIVATE/conf-link file=$PRIVATE/conf-file
rm -rf "$missing" "$link" "$file" "$E2E/conf-missing" "$E2E/conf-link" "$E2E/conf-file"
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
    "cannot access socket '$SOCKDIR/conf-none.sock' of the externally started virtfs-proxy-helper of filesystem 't': No such file or directory" \
    "socket:absent:$SOCKDIR/conf-none.sock" "$(fs_xml " accessmode='passthrough'" "" "      <source socket='$SOCKDIR/conf-none.sock'/>")"
bad_start "<source socket> not a socket" \
    "Requested operation is not valid: '$file' of filesystem 't' is not a socket" \
    "socket:regular file, 16 bytes:$file" "$(fs_xml " accessmode='passthrough'" "" "      <source socket='$file'/>")"
bad_start "<binary> not executable" \
    "operation failed: virtfs-proxy-helper '/nonexistent/virtfs-proxy-helper' is not executable" \
    "$export_dir" "$(fs_xml " accessmode='passthrough'" "" "      <binary path='/nonexistent/virtfs-proxy-helper'/>
$SRC")"
bad_start "export reaches / through .." \
    "Requested operation is not valid: proxy filesystem export '/tmp/..' is the host's root directory: the guest would get root access to the whole host filesystem" \
    "/tmp/.." "$(proxy_fs /tmp/.. t)"
bad_start "<binary> is not the helper" \
    "operation failed: virtfs-proxy-helper '/bin/true' exited during its start" \
    "$export_dir" "$(fs_xml " accessmode='passthrough'" "" "      <binary path='/bin/true'/>
$SRC")"
# a helper that says why it gives up, as QEMU's does when it cannot chroot:
# virsh's error carries its last log lines, control bytes replaced by '?'
fake=$E2E/conf-fake-helper
printf '#!/bin/sh\necho "fake helper: setting up $*" >&2\necho "fake helper: cannot chroot, giving up" >&2\nprintf "fake helper: \\033]0;terminal title\\007 control bytes\\n" >&2\nexit 0\n' > "$fake"
chmod 0755 "$fake"
bad_start "<binary> gives up with a message" \
    "^operation failed: virtfs-proxy-helper '$fake' exited during its start; its log $DOMLOGDIR/e2e-conf-start-fs0-virtfs-proxy-helper\.log ends with: fake helper: setting up -n -f [0-9]+ -p $export_dir; fake helper: cannot chroot, giving up; fake helper: \\?\\]0;terminal title\\? control bytes\$" \
    "$export_dir" "$(fs_xml " accessmode='passthrough'" "" "      <binary path='$fake'/>
$SRC")"
# QEMU itself fails after the helper started: the helper must be stopped.
bad_start "QEMU fails after the helper started" \
    '^internal error: (qemu unexpectedly closed the monitor|process exited while connecting to monitor): qemu-system-x86_64: -no-such-option: invalid option$' \
    "$export_dir" "$(proxy_fs "$export_dir" t)" \
    "s|<domain type='qemu'>|<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>|; s|</devices>|</devices>\n  <qemu:commandline><qemu:arg value='-no-such-option'/></qemu:commandline>|"
check "QEMU failed: the helper had started and ended (its log)" "$(helper_log_started "$export_dir") $(helper_log_done)" \
    "$(helper_log_last "$DOMLOGDIR/e2e-conf-start-fs0-virtfs-proxy-helper.log" >/dev/null
       paste -sd' ' "$DOMLOGDIR/e2e-conf-start-fs0-virtfs-proxy-helper.log" 2>/dev/null)"


echo "configurations: $N_CONF bad configurations, $N_REFUSED refused"
summary "$NAME"
