#!/bin/bash
# test-processes.sh - who runs what: QEMU as the unprivileged user, the proxy
# helper as root chrooted into the export with exactly the capabilities it
# keeps and QEMU's environment, in the daemon's cgroups but on the
# emulator's CPUs, its command line in the domain log.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NAME=test-processes
e2e_setup "$NAME"

dom=e2e-processes
dir=$(fresh_dir processes-export)
quid=$(id -u "$QEMU_USER") qgid=$(id -g "$QEMU_USER")
echo "-- export $dir; $QEMU_USER is $quid:$qgid; expected helper CapEff $HELPER_CAPS_HEX"

# The guest writes a few files, then sleeps while we look at the processes.
# The emulator threads are pinned to the last CPU, where the helper must
# follow them.
pin=$(($(nproc) - 1))
define_domain "$dom" "proxyfs.mounts=share:/mnt/share proxyfs.run=io:/mnt/share:20:30,sleep:60 proxyfs.timeout=60" \
    "$(proxy_fs "$dir" share)"
sed -i "s|^  <vcpu>1</vcpu>\$|&\n  <cputune><emulatorpin cpuset='$pin'/></cputune>|" "$E2E/$dom.xml"
grep -q "<emulatorpin cpuset='$pin'/>" "$E2E/$dom.xml" || die "could not pin $dom's emulator"
virsh undefine "$dom" >/dev/null
virsh define "$E2E/$dom.xml" >/dev/null
virsh start "$dom" >/dev/null
if wait_console "$dom" '^PROBE-RUN sleep' 60; then
    pass "guest did its io on the share and sleeps"
else
    fail "guest never got to sleep"
fi
check "guest io result" "PROBE io /mnt/share/io ok synced=20" "$(console "$dom" | grep '^PROBE io ' | tail -n 1)"
check "files written through the helper, on the host" 20 "$(find "$dir/io" -type f -size 64k | wc -l)"

qpid=$(qemu_pid "$dom" || true)
mapfile -t pidfiles < <(pidfiles_of "$dom")
check "one helper pidfile for the domain" 1 "${#pidfiles[@]}"
check "pidfile name is virtfs-proxy/<name>.<alias>.pid (no domain id)" \
    "$STATEDIR/virtfs-proxy/$dom.fs0.pid" "${pidfiles[0]:-none}"
hpid=$(cat "${pidfiles[0]:-/dev/null}" 2>/dev/null || true)
check "the pidfile's pid is the helper serving the export" "$(helpers_of "$dir")" "$hpid"
[[ -n $qpid && -n $hpid ]] || { fail "no QEMU ($qpid) or helper ($hpid) pid"; summary "$NAME"; }
echo "   QEMU pid $qpid, helper pid $hpid"

echo "-- QEMU"
check "QEMU Uid: (real effective saved fs)" "$quid $quid $quid $quid" \
    "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$qpid/status")"
check "QEMU Gid:" "$qgid $qgid $qgid $qgid" \
    "$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' "/proc/$qpid/status")"
check "QEMU CapEff" 0000000000000000 "$(proc_field "$qpid" CapEff)"
check_match "QEMU got the helper's socket as sock_fd" \
    "-fsdev proxy,id=fsdev-fs0,sock_fd=[0-9]+ " "$(tr '\0' ' ' < "/proc/$qpid/cmdline")"
qfd=$(tr '\0' '\n' < "/proc/$qpid/cmdline" | sed -n 's/^proxy,id=fsdev-fs0,sock_fd=\([0-9]*\)$/\1/p')
check_match "QEMU's sock_fd $qfd is a socket" '^socket:\[[0-9]+\]$' "$(readlink "/proc/$qpid/fd/$qfd" 2>/dev/null)"

echo "-- helper"
check_helper_confined "$hpid" "$dir" "$(daemon_pid virtqemud)"
check "helper Gid:" "0 0 0 0" "$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' "/proc/$hpid/status")"
check "helper CapPrm" "$HELPER_CAPS_HEX" "$(proc_field "$hpid" CapPrm)"
check "helper parent is init (daemonized)" 1 "$(proc_field "$hpid" PPid)"
args=$(tr '\0' ' ' < "/proc/$hpid/cmdline")
check_match "helper command line" "^$HELPER -n -f [0-9]+ -p $dir \$" "$args"
hfd=$(sed -n 's/.* -f \([0-9]*\) .*/\1/p' <<<"$args")
hsock=$(readlink "/proc/$hpid/fd/$hfd" 2>/dev/null || true)
check_match "helper's fd $hfd is a socket" '^socket:\[[0-9]+\]$' "$hsock"
# The two ends of one socketpair: each one's peer is the other (ss shows it).
if command -v ss >/dev/null; then
    hino=${hsock//[^0-9]/}
    qino=$(readlink "/proc/$qpid/fd/$qfd" | sed 's/[^0-9]//g')
    check "helper's socket peer is QEMU's socket" "$qino" \
        "$(ss -xp 2>/dev/null | awk -v i="$hino" '$6 == i { print $8; exit }')"
fi

# fd_kinds PID: its open fds, one "N:target" a line, sorted, socket and
# pipe inode numbers dropped, and the pidfile's fd number shown as P
fd_kinds() {
    local f
    for f in /proc/"$1"/fd/*; do
        echo "${f##*/}:$(readlink "$f" | sed -E 's/^(socket|pipe):\[[0-9]+\]$/\1/')"
    done | sed -E "s|^[0-9]+:${pidfiles[0]:-none}\$|P:pidfile|" | LC_ALL=C sort | paste -sd' '
}
# libvirt's helper also holds its root, the export, for the *at() calls
own_root=
[[ $HELPER != "$OWN_HELPER" ]] || own_root=3:$dir
check "helper's open fds: stdin, log pipe, its socket, its locked pidfile${own_root:+, its root}" \
    "$(printf '%s\n' 0:/dev/null 1:pipe 2:pipe "$hfd:socket" P:pidfile $own_root | LC_ALL=C sort | paste -sd' ')" \
    "$(fd_kinds "$hpid")"
check "QEMU holds no fd of the helper's end" "" \
    "$(for f in /proc/"$qpid"/fd/*; do [[ $(readlink "$f") == "$hsock" ]] && echo "${f##*/}"; done || true)"

echo "-- environment"
# env_names PID: the names of PID's environment variables, one a line, sorted
env_names() { tr '\0' '\n' < "/proc/$1/environ" | sed 's/=.*//' | LC_ALL=C sort -u; }
# libvirt gives the helper what it gives QEMU (virCommandAddEnvPassCommon),
# not the daemon's own environment
check "helper's LC_ALL" C "$(tr '\0' '\n' < "/proc/$hpid/environ" | sed -n 's/^LC_ALL=//p')"
check "helper's environment: no variable that QEMU's lacks" "" \
    "$(comm -23 <(env_names "$hpid") <(env_names "$qpid") | paste -sd' ')"
daemon_only=$(comm -23 <(env_names "$(daemon_pid virtqemud)") <(env_names "$qpid") | paste -sd' ')
check "... though the daemon's has some (so the check above can fail)" yes \
    "$([[ -n $daemon_only ]] && echo yes || echo no)"
echo "   the daemon's own, not passed on: $(wc -w <<<"$daemon_only") variables, among them $(cut -d' ' -f1-3 <<<"$daemon_only")"

echo "-- what the helper loads"
# the shared objects mapped into the helper, by file name
helper_libs=$(awk '$6 ~ /\.so/ { n = split($6, p, "/"); print p[n] }' "/proc/$hpid/maps" | sort -u)
echo "   $(grep -c . <<<"$helper_libs") shared objects, VmRSS $(proc_field "$hpid" VmRSS) kB: $(paste -sd' ' <<<"$helper_libs")"
if [[ $HELPER == "$OWN_HELPER" ]]; then
    # a root process with a hostile client loads no more than it uses:
    # built without libvirt.so, it maps GLib, libseccomp and the C library
    check "libvirt's helper maps no libvirt.so, GnuTLS, libxml2, libnl or libselinux" "" \
        "$(grep -E '^lib(virt|gnutls|xml2|nl|selinux)' <<<"$helper_libs" || true)"
    check "... and at most 8 shared objects (ld.so, libc, libm, libgcc_s, GLib, PCRE2, libseccomp)" yes \
        "$( (($(grep -c . <<<"$helper_libs") <= 8)) && echo yes || echo "no: $(paste -sd' ' <<<"$helper_libs")")"
fi

echo "-- cgroups"
# cgroup_of PID CONTROLLER: the PID's cgroup path for a v1 controller ('' is
# the unified hierarchy)
cgroup_of() { awk -F: -v c="$2" '$2 == c { print $3 }' "/proc/$1/cgroup"; }
vm_cg="/machine/qemu-$(virsh domid "$dom")-$dom.libvirt-qemu"
dpid=$(daemon_pid virtqemud)
# The helper makes the guest's device nodes, and the domain's device
# filter, which denies mknod, holds in every cgroup of the domain: libvirt
# leaves the helper in the cgroups of the daemon that started it
# (qemuVirtFSProxyStart), and opens nothing for QEMU.
for ctl in cpu cpuset devices memory ''; do
    check "helper's ${ctl:-unified} cgroup is virtqemud's, not the domain's" \
        "$(cgroup_of "$dpid" "$ctl")" "$(cgroup_of "$hpid" "$ctl")"
done
check "QEMU's cpu cgroup is the domain's emulator group" "$vm_cg/emulator" "$(cgroup_of "$qpid" cpu)"
# QEMU's device filter: libvirt's BPF program on the domain's cgroup in the
# unified hierarchy (this host's hybrid layout), its map the device ACL;
# the same for a domain without proxy shares (a proxy domain once had
# wildcard entries there, mknod of any node, for the helper)
mini_domain e2e-processes-plain
if virsh start --paused e2e-processes-plain >/dev/null; then
    plain=$(device_filter "$(qemu_pid e2e-processes-plain || echo 0)")
    sed "s/^/    | /" <<<"$plain"
    check_match "QEMU's device filter without a proxy share: libvirt's program and the device ACL" \
        '^program on /machine/DOMAIN( key:( [0-9a-f]{2})+ +value:( [0-9a-f]{2})+){5,}$' \
        "$(tr '\n' ' ' <<<"$plain" | sed 's/ *$//')"
    check "... with the proxy share: the same, nothing opened for the helper" "$plain" "$(device_filter "$qpid")"
else
    fail "virsh start --paused e2e-processes-plain"
fi
cleanup_domain e2e-processes-plain

echo "-- CPUs: the helper follows <emulatorpin cpuset='$pin'/>"
check "QEMU's main thread on CPU $pin" "$pin" "$(proc_field "$qpid" Cpus_allowed_list)"
check "every thread of the helper on CPU $pin" "$pin" \
    "$(for t in /proc/"$hpid"/task/*; do proc_field "${t#/proc/}" Cpus_allowed_list; done | sort -u | paste -sd' ')"

echo "-- what keeps a compromised QEMU from using the export (kbase: security model)"
# QEMU's seccomp sandbox sets no-new-privs: a set-uid program the helper made
# in the export cannot run as root when QEMU executes it through an fd.
check "QEMU NoNewPrivs (seccomp sandbox)" 1 "$(proc_field "$qpid" NoNewPrivs)"
check "QEMU Seccomp mode (filter)" 2 "$(proc_field "$qpid" Seccomp)"
# The domain's device cgroup keeps QEMU from opening device nodes the guest
# created in the export. Try it as QEMU would: QEMU's user, in QEMU's
# cgroups, opening a node of loop0 (not in the device ACL) that it owns.
# The node is not in the export, which QEMU's user cannot reach below
# $PRIVATE, but in a directory of QEMU's user's alone: no other local user
# can reach it while it exists (e2e_cleanup removes it if the test dies).
nodedir=$(shared_dir processes-devnode "$quid:$qgid")
chmod 0700 "$nodedir"
node=$nodedir/devnode-loop0
mknod -m 0600 "$node" b 7 0
chown "$quid:$qgid" "$node"
open_node() { # open_node CGROUP-JOIN(yes|no): open $node as QEMU's user
    ( [[ $1 == no ]] || join_cgroups_of "$qpid"
      exec setpriv --reuid="$quid" --regid="$qgid" --clear-groups \
          dd if="$node" of=/dev/null bs=512 count=1 status=none ) 2>&1 && echo opened
}
check "loop0 node opens for QEMU's user outside the domain's cgroups" opened "$(open_node no)"
check_match "loop0 node is refused to QEMU's user inside them (device cgroup)" "Operation not permitted" "$(open_node yes)"
rm -f "$node"

echo "-- logs"
dlog=$DOMLOGDIR/$dom.log
check "domain log: the helper's start is recorded" 1 \
    "$(grep -c ': Starting external device: virtfs-proxy-helper$' "$dlog")"
logged=$(grep -A1 ': Starting external device: virtfs-proxy-helper$' "$dlog" | tail -n 1)
check "domain log: the helper's command line, after its environment" "$HELPER -n -f $hfd -p $dir" \
    "$HELPER ${logged#* "$HELPER "}"
check_match "domain log: the helper's environment starts with LC_ALL=C, as QEMU's does" "^LC_ALL=C " "$logged"
check_match "domain log: QEMU's -fsdev" "^-fsdev proxy,id=fsdev-fs0,sock_fd=$qfd \\\\\$" \
    "$(grep '^-fsdev ' "$dlog")"
hlog=$DOMLOGDIR/$dom-fs0-virtfs-proxy-helper.log
check "helper log exists, says Started" "$(helper_log_started "$dir")" "$(head -n 1 "$hlog" 2>/dev/null)"

echo "-- destroy"
virsh destroy "$dom" >/dev/null
check "helper gone after destroy" "" "$(helpers_of "$dir")"
check "helper log ends with Done (EOF from QEMU)" "$(helper_log_done)" "$(helper_log_last "$hlog")"

summary "$NAME"
