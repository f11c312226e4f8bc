#!/usr/bin/env bash
# shellcheck disable=SC2034  # the E2E_* settings below are read by e2e/lib.sh
# in-vm.sh - the proxy filesystem on the system that users run: inside the
# stock Debian 12 system VM (tests/system/test-system.sh boots it), with
# systemd, Debian's kernel, AppArmor enforcing and cgroup v2. It upgrades
# Debian's libvirt to ours from our signed apt repository, as README's
# "Use it" says, and drives libvirtd through qemu:///system with the stock
# qemu.conf:
#
#   - the system is what users run (LSM, profiles, cgroup2fs, PID 1);
#   - the upgrade from Debian's libvirt with a domain running (it keeps
#     running): versions, libvirtd restarted by its unit, the helper's
#     AppArmor profile loaded and enforcing, domain capabilities;
#   - a nested TCG guest on a proxy share and a <readonly/> one, served by
#     libvirt's own helper (the default of the stock qemu.conf): passthrough
#     semantics (chown, mknod, set-group-ID directory, owners on the host),
#     EROFS and an unchanged host tree, who runs what (QEMU as libvirt-qemu
#     under its libvirt-UUID profile, the helper as root, in the export,
#     stacked on libvirtd's profile, in libvirtd's cgroup and not the
#     domain's, in a mount namespace of its own with its export rw or ro,
#     nosuid and nodev there); QEMU's device filter (the BPF map of its
#     cgroup) the same with a proxy share as without;
#   - a second, short nested guest on an <idmap> share (0:100000:65536)
#     below a directory host users can reach, started with
#     kernel.unprivileged_userns_clone=0: the helper stacked on libvirtd's
#     profile, in a user namespace of its own with the map, as host uid
#     100000; on the host every id the guest set shifted by 100000, no
#     device node, host root's file untouched, and the guest's set-uid
#     program run by an unprivileged user with euid 100000;
#   - QEMU's helper, named in <binary path>: it starts, confined the same
#     way under a stacked profile of its own without mounts, and destroy
#     stops it;
#   - 'apt-get upgrade' to the next release (+proxyfsN+1) under the
#     running guest, with libvirtd killed (kill -9) and kept down before
#     it (systemd's restart held off), two more proxy domains' QEMUs gone
#     meanwhile and their helpers hung: the upgraded libvirtd stops the
#     old helper, whose binary the upgrade replaced, on its reconnect, and
#     a start of the domain whose run it never knew about (its status file
#     removed, as a crash in the middle of a start leaves it) stops that
#     one's old helper from its locked pidfile; for the guest, the QEMU
#     and the helpers are the same processes, their pidfiles the same
#     files naming the same pids,
#     the guest's writes after the upgrade land, and destroy afterwards,
#     with both helpers SIGSTOPped first (so that they cannot exit by
#     themselves when QEMU goes), has the upgraded daemon kill them and
#     leaves nothing;
#   - virsh destroy leaves nothing; a helper that cannot start is refused
#     with its cause in virsh's error;
#   - every proxy export is below e2e/lib.sh's $PRIVATE (0700 root:root);
#     an export below a 0755 directory of the root file system, which host
#     users can reach, is refused by virsh start with libvirt's exact
#     message, and nothing is left (no helper, pidfile or QEMU); once its
#     parent is chmod 0700 the same domain starts, and its destroy leaves
#     no AppArmor profile either; after the guest, an unprivileged user of the
#     VM (proxyfs-hostuser) can neither list the export nor reach the
#     device node and the set-uid file the guest made there (Permission
#     denied), which root sees and opens;
#   - the downgrade to Debian's libvirt with a proxy domain running: the
#     package names the proxy domains and stops the running one (no root
#     helper is left that nobody would stop); a domain without proxy shares
#     keeps running; the definitions stay on disk and come back with ours;
#     what the prerm did is read from the domain log (reason=destroyed,
#     QEMU's SIGTERM from libvirtd) and timed against its own line (the
#     destroy 5 to 90 s after it began on the domain: the shutdown's wait);
#   - apt-get purge of our packages with a proxy domain running: no helper
#     runs, and no file or directory below /usr /etc /var /run /opt exists
#     that did not before the install (a list of every name, taken before
#     and after; apt's, dpkg's, the journal's and systemd's state aside);
#   - no AppArmor DENIED line in the kernel log but the one a test expects,
#     with printk's rate limit off for the run (kernel.printk_ratelimit=0)
#     and no kernel line saying that audit lines were suppressed or lost.
#
# Layout on the data disk (/srv/test): proxyfs/ (this repository's scripts),
# repo-1/ (make repo: our packages), repo-2/ (the next release of ours, see
# scripts/deb-next.sh), debian/ (Debian's own libvirt packages: the VM has
# no network, this stands in for Debian's archive), guest/ (kernel,
# initramfs, probe). Ends with "test-system: N passed, M failed".
set -euo pipefail
NAME=test-system
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA=${DATA:-/srv/test}
TEST_OUT=${TEST_OUT:-$DATA/out}        # comes back to the host

E2E_DIR=/var/lib/proxyfs-test          # exports, consoles: the VM's root fs
E2E_GUEST=$E2E_DIR/guest
E2E_QEMU_USER=libvirt-qemu
E2E_LIBDIR=
E2E_URI=qemu:///system
E2E_STATEDIR=/run/libvirt/qemu
E2E_VIRSH=/usr/bin/virsh
E2E_SBINDIR=/usr/sbin
E2E_DOMLOGDIR=/var/log/libvirt/qemu
E2E_LIBEXECDIR=/usr/lib/libvirt
# shellcheck source=../../e2e/lib.sh
. "$here/../../e2e/lib.sh"
# shellcheck source=../../e2e/security/hostusers-lib.sh
. "$here/../../e2e/security/hostusers-lib.sh"
export PROBE=$DATA/guest/probe         # check-semantics.sh's generator

export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
t0=$SECONDS
step() { echo "== [+$((SECONDS - t0))s] $*"; }
mkdir -p "$GUEST"
# the guests' consoles and logs come back with the results
keep_logs() {
    mkdir -p "$TEST_OUT/logs"
    cp "$E2E"/*.console "$DOMLOGDIR"/*.log "$TEST_OUT/logs/" 2>/dev/null || true
}
trap keep_logs EXIT
cp "$DATA/guest/vmlinuz" "$DATA/guest/initramfs.gz" "$GUEST/"
libvirtd_pid() { systemctl show -p MainPID --value libvirtd; }
aa_label() { cat "/proc/$1/attr/current" 2>/dev/null; }
# the AppArmor DENIED lines of the kernel log since this boot
denied_lines() { journalctl -k -b -o cat 2>/dev/null | grep 'apparmor="DENIED"' || true; }
# the kernel's lines that say audit lines were dropped: printk's rate limit
# (kauditd_printk_skb: N callbacks suppressed, printk limit exceeded) or
# audit's backlog (audit_lost=, audit_backlog=)
AUDIT_LOST='callbacks suppressed|printk limit exceeded|audit_lost=|audit_backlog=|backlog limit exceeded'
# pidfiles_with_pids NAME: "ALIAS PID" for each helper pidfile of domain
# NAME (NAME.ALIAS... below the state directory), one a line
pidfiles_with_pids() {
    local f n
    for f in $(pidfiles_of "$1"); do
        n=${f##*/"$1".}
        echo "${n%%[.-]*} $(cat "$f" 2>&1)"
    done
}
# pidfiles_stat NAME: path, inode and modification time of each helper pidfile
pidfiles_stat() { local f; for f in $(pidfiles_of "$1"); do stat -c '%n %i %Y' "$f"; done; }
# system_files: every file and directory name below /usr, /etc, /var,
# /run and /opt, but the trees that change whatever we do (apt's and
# dpkg's state and logs, the journal, systemd's runtime state) and this
# test's own exports
system_files() {
    find /usr /etc /var /run /opt \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache/apt \
        -o -path /var/cache/debconf -o -path /var/log/journal -o -path /var/log/apt -o -path /etc/apt \
        -o -path /var/lib/systemd -o -path /run/systemd -o -path /run/udev -o -path /run/user \
        -o -path /run/log -o -path /var/tmp -o -path "$E2E" -o -path /var/cache/ldconfig \
        -o -path /var/cache/man -o -path /run/lock -o -path /run/mount \) -prune -o -print 2>/dev/null | LC_ALL=C sort
}

# ------------------------------------------------------------ the system
step "the system: $(uname -r), $(systemctl is-system-running 2>/dev/null || true)"
check_match "active LSMs include apparmor" '(^|,)apparmor(,|$)' "$(cat /sys/kernel/security/lsm)"
check "AppArmor enabled (aa-enabled)" Yes "$(aa-enabled 2>&1)"
check "cgroup file system" cgroup2fs "$(stat -fc %T /sys/fs/cgroup)"
check "PID 1" systemd "$(cat /proc/1/comm)"
# Without auditd the kernel prints AppArmor's audit lines through
# printk_ratelimit(): a burst of them (10 in 5 s by default) would drop the
# rest, a DENIED among them. Off for the run; lost or suppressed audit lines
# fail the DENIED check at the end.
echo 0 > /proc/sys/kernel/printk_ratelimit
check "kernel.printk_ratelimit 0: audit lines are not rate-limited" 0 "$(cat /proc/sys/kernel/printk_ratelimit)"
check "Debian's libvirt before the install" "9.0.0-4+deb12u2" "$(dpkg-query -W -f='${Version}' libvirt-daemon)"

# ------------------------------------------------------------ offline apt
# No network in the VM: the archive's sources go aside, and a local copy of
# Debian's own libvirt packages plays the archive (for the downgrade).
DEBIAN_VERSION=9.0.0-4+deb12u2
PKGS=(libvirt0 libvirt-clients libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-system
      libvirt-daemon-system-systemd libvirt-daemon-config-network libvirt-daemon-config-nwfilter)
mkdir -p /etc/apt/offline /etc/apt/keyrings
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*; do
    [[ -e $f ]] && mv "$f" /etc/apt/offline/
done
echo "deb [trusted=yes] file:$DATA/debian ./" > /etc/apt/sources.list.d/debian-archive-stand-in.list
pkg_versions() { dpkg-query -W -f='${Version} ${db:Status-Abbrev}\n' "${PKGS[@]}" 2>&1 | sort | uniq -c | awk '{ $1 = $1 } 1'; }
# apt_said REGEX LOG: the first line of TEST_OUT/LOG matching REGEX, without
# the carriage returns and trailing blanks of apt's terminal output
apt_said() { grep -m1 -- "$1" "$TEST_OUT/$2" | tr -d '\r' | sed 's/[[:space:]]*$//' || true; }
apt_log_ts() { # apt_log_ts LOG apt-get ARGS...: apt_log, each line also in LOG.ts after its arrival time
    local log=$TEST_OUT/$1 l
    shift
    : > "$log.ts"
    if "$@" 2>&1 | while IFS= read -r l; do
            printf '%s %s\n' "$EPOCHREALTIME" "$l" >> "$log.ts"
            printf '%s\n' "$l"
        done > "$log"; then
        pass "$* (log: ${log##*/})"
    else
        tail -n 30 "$log" | sed 's/^/    | /'
        fail "$*"
    fi
}
apt_log() { # apt_log LOG apt-get ARGS...: run it, keep its output in TEST_OUT/LOG
    local log=$TEST_OUT/$1
    shift
    if "$@" > "$log" 2>&1; then
        pass "$* (log: ${log##*/})"
    else
        tail -n 30 "$log" | sed 's/^/    | /'
        fail "$*"
    fi
}


step "sys-stock: a domain without proxy shares, running under Debian's libvirt"
check "virsh uri (Debian's libvirt)" qemu:///system "$(virsh_t 300 uri)"
mini_domain sys-stock
virsh start sys-stock >/dev/null || fail "virsh start sys-stock"
stock_qpid=$(qemu_pid sys-stock || true)
check_match "sys-stock: its QEMU runs" '^[0-9]+$' "$stock_qpid"

# ------------------------------------------------------------ upgrade
# README's "Use it", with the repository published at /srv/proxyfs-repo
# (a directory: a file: URI stands for the web server users would have).
REPO_URI=file:/srv/proxyfs-repo
VERSION=$(dpkg-deb -f "$(ls "$DATA"/repo-1/pool/main/libv/libvirt/libvirt-daemon_*.deb)" Version)
NEXT=$(dpkg-deb -f "$(ls "$DATA"/repo-2/pool/main/libv/libvirt/libvirt-daemon_*.deb)" Version)
ln -sfn "$DATA/repo-1" /srv/proxyfs-repo
# what the system holds before our packages: the purge at the end must
# leave nothing that is not in this list
system_files > "$TEST_OUT/files-before-install"
step "README's repository route: the key, one source, apt-get update, apt-get upgrade to $VERSION"
install -m 0644 /srv/proxyfs-repo/proxyfs-archive-keyring.gpg /etc/apt/keyrings/
echo "deb [signed-by=/etc/apt/keyrings/proxyfs-archive-keyring.gpg] $REPO_URI bookworm main" \
    > /etc/apt/sources.list.d/proxyfs.list
apt_log update-1.log apt-get update
check "apt-get update: no error or warning" "" "$(grep -E '^(W|E):' "$TEST_OUT/update-1.log" || true)"
check "the candidate for libvirt-daemon-system is ours" "$VERSION" \
    "$(apt-cache policy libvirt-daemon-system | awk '$1 == "Candidate:" { print $2 }')"
daemon_before=$(libvirtd_pid)
apt_log upgrade-1.log apt-get upgrade -y -q
check "all ${#PKGS[@]} libvirt packages at our version" "${#PKGS[@]} $VERSION ii" "$(pkg_versions)"
check "libvirtd active after the upgrade (restarted by the package)" active "$(systemctl is-active libvirtd)"
check_match "libvirtd is a new process" "^[0-9]+ -> [0-9]+$" \
    "$daemon_before -> $(libvirtd_pid | grep -vx "$daemon_before" || true)"
check "the stock qemu.conf, with the helper documented: libvirt's own" \
    '#virtfs_proxy_helper = "/usr/lib/libvirt/libvirt_virtfs_proxy_helper"' "$(grep '^#virtfs_proxy_helper' /etc/libvirt/qemu.conf)"
check "no setting in qemu.conf (stock)" "" "$(grep -Ev '^[[:space:]]*(#|$)' /etc/libvirt/qemu.conf)"
profiles=$(cat /sys/kernel/security/apparmor/profiles)
check "libvirtd's profile enforcing" "libvirtd (enforce)" "$(grep -x 'libvirtd (.*)' <<<"$profiles")"
check "libvirt's helper's profile loaded and enforcing" "libvirt-virtfs-proxy-helper (enforce)" \
    "$(grep -x 'libvirt-virtfs-proxy-helper (.*)' <<<"$profiles")"
check "QEMU's helper's profile loaded and enforcing" "libvirt-virtfs-proxy-helper-qemu (enforce)" \
    "$(grep -x 'libvirt-virtfs-proxy-helper-qemu (.*)' <<<"$profiles")"
check "libvirtd runs under its profile" "libvirtd (enforce)" "$(aa_label "$(libvirtd_pid)")"
t=$SECONDS
check "virsh uri" qemu:///system "$(virsh_t 300 uri)"
echo "   (first connection: $((SECONDS - t)) s)"
check "sys-stock kept running through the upgrade: the same QEMU" "running $stock_qpid" \
    "$(virsh domstate sys-stock) $(qemu_pid sys-stock || true)"
check_match "domain capabilities list the proxy driver" "<value>proxy</value>" \
    "$(virsh domcapabilities --virttype qemu | sed -n '/<filesystem/,/<\/filesystem>/p' | tr -d ' \n')"
denied_before=$(denied_lines | wc -l)

# ------------------------------------------------------------ the guest
# One nested guest (4-6 minutes under TCG in TCG) does everything that needs
# a guest: semantics on the proxy share, the read-only share, I/O, then it
# waits while libvirt is upgraded under it, streams files after the
# upgrade, and sleeps until it is destroyed.
step "guest sys-main: a proxy share and a <readonly/> one (nested TCG: minutes)"
dom=sys-main
rw=$(fresh_dir main-export)
ro=$(fresh_dir ro-export)
seed_readonly "$ro"
ro_before=$(tree_listing "$ro")
define_domain "$dom" "quiet proxyfs.mounts=share:/mnt/share,ro:/mnt/ro proxyfs.timeout=1500 proxyfs.run=semantics:/mnt/share,readonly:/mnt/ro,io:/mnt/share:20:120,waitfor:/mnt/share/go-ahead:1200,stream:/mnt/share:8:120,sleep:1200" \
    "$(proxy_fs "$rw" share)" "$(proxy_fs "$ro" ro "<readonly/>")"
t_start=$SECONDS
running=1
if out=$(virsh start "$dom" 2>&1); then
    pass "virsh start $dom ($((SECONDS - t_start)) s)"
else
    fail "virsh start $dom: $out"
    running=0
    echo "   AppArmor says:"
    journalctl -k -b -o cat | grep 'apparmor=' | tail -n 5 | sed 's/^/    | /'
fi
qpid=$(qemu_pid "$dom" || true)
mapfile -t hpids < <(helper_pids "$dom")
check "two helpers, one per share" 2 "${#hpids[@]}"
hrw=$(helpers_of "$rw") hro=$(helpers_of "$ro")
main_pidfiles=$(pidfiles_with_pids "$dom") main_pidfile_stat=$(pidfiles_stat "$dom")
check "the helper pidfiles name the two helpers (fs0 the share's, fs1 the read-only one's)" "fs0 $hrw
fs1 $hro" "$main_pidfiles"

# ------------------------------------------------------------ id-mapped share
# A second, short guest (it powers off after its probe) on a share with
# <idmap>, in a directory that host users can reach, started with
# unprivileged user namespaces off (Debian's
# kernel.unprivileged_userns_clone=0): libvirt's helper creates its
# namespace as root, so nothing may depend on that setting.
step "guest sys-idmap: an <idmap> share (0:100000:65536) below a directory host users can reach"
di=sys-idmap
xi=$(shared_dir idmap-export)
printf 'host root\n' > "$xi/hostroot"
chmod 0644 "$xi/hostroot"
chown 100000:100000 "$xi"
define_domain "$di" "quiet proxyfs.mounts=share:/mnt/share proxyfs.run=idmap:/mnt/share" \
    "$(proxy_fs "$xi" share "<idmap>
        <uid start='0' target='100000' count='65536'/>
        <gid start='0' target='100000' count='65536'/>
      </idmap>")"
userns_was=$(cat /proc/sys/kernel/unprivileged_userns_clone)
echo 0 > /proc/sys/kernel/unprivileged_userns_clone
check "kernel.unprivileged_userns_clone 0 for the start" 0 "$(cat /proc/sys/kernel/unprivileged_userns_clone)"
t_idmap=$SECONDS
idmap_running=1
if out=$(virsh start "$di" 2>&1); then
    pass "virsh start $di"
else
    fail "virsh start $di: $out"
    idmap_running=0
fi
echo "$userns_was" > /proc/sys/kernel/unprivileged_userns_clone
hi=$(helpers_of "$xi")
check "$di: helper stacked on libvirtd's AppArmor profile" \
    "libvirt-virtfs-proxy-helper//&libvirtd (enforce)" "$(aa_label "${hi:-none}")"
check "$di: the helper's uid_map and gid_map" "0 100000 65536|0 100000 65536" \
    "$(awk '{ print $1, $2, $3 }' "/proc/${hi:-none}/uid_map" 2>&1)|$(awk '{ print $1, $2, $3 }' "/proc/${hi:-none}/gid_map" 2>&1)"
check "$di: the helper runs as host uid and gid 100000" "100000 100000 100000 100000|100000 100000 100000 100000" \
    "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/${hi:-none}/status")|$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' "/proc/${hi:-none}/status")"
itsns=$(readlink "/proc/${hi:-none}/ns/user" 2>&1) || true
check "$di: the helper's user namespace is not the host's" "yes" \
    "$([[ $itsns == user:* && $itsns != "$(readlink /proc/1/ns/user)" ]] && echo yes || echo "no: $itsns")"

# ------------------------------------------------------------ meanwhile
# What needs no guest runs while the guest boots.
step "virsh destroy of a running domain (paused: no guest needed) leaves nothing"
d2=sys-destroy
x=$(fresh_dir destroy-export)
define_domain "$d2" "" "$(proxy_fs "$x" share)"
if virsh start --paused "$d2" >/dev/null; then
    h=$(helpers_of "$x")
    check_match "$d2: its helper runs" '^[0-9]+$' "$h"
    virsh destroy "$d2" >/dev/null
    [[ -z $h ]] || wait_gone "$h" 10 || true
    check "$d2: no helper after destroy" "" "$(helpers_of "$x")"
    check "$d2: no helper pidfile after destroy" "" "$(pidfiles_of "$d2")"
    check "$d2: no QEMU pidfile after destroy" "" "$(ls "$STATEDIR/$d2.pid" 2>/dev/null)"
else
    fail "virsh start --paused $d2"
fi
# A helper that hangs does not exit when QEMU goes: libvirt must signal it,
# which AppArmor allows only between the daemon and the helper's profile.
if virsh start --paused "$d2" >/dev/null; then
    h=$(helpers_of "$x")
    [[ -z $h ]] || stop_process "$h" || true
    t=$SECONDS
    virsh destroy "$d2" >/dev/null
    [[ -z $h ]] || wait_gone "$h" 30 || true
    check "$d2: a stopped (hung) helper is killed on destroy ($((SECONDS - t)) s)" "" "$(helpers_of "$x")"
    check "$d2: its pidfile removed" "" "$(pidfiles_of "$d2")"
else
    fail "virsh start --paused $d2 (second)"
fi
cleanup_domain "$d2"
CUR_DOM=$dom

step "QEMU's helper, named in <binary path>: confined the same way, stopped on destroy"
d4=sys-qemuhelper
q=$(fresh_dir qemuhelper-export)
define_domain "$d4" "" "$(proxy_fs "$q" share "<binary path='$QEMU_HELPER'/>")"
if virsh start --paused "$d4" >/dev/null; then
    h=$(helpers_of "$q")
    check "$d4: QEMU's helper serves the export" "$QEMU_HELPER" "$(readlink "/proc/${h:-0}/exe" 2>&1)"
    if [[ -n $h ]]; then
        check_helper_confined "$h" "$q" "$(libvirtd_pid)"
        check "$d4: helper under its own profile (no mounts), stacked on libvirtd's" \
            "libvirt-virtfs-proxy-helper-qemu//&libvirtd (enforce)" "$(aa_label "$h")"
    fi
    virsh destroy "$d4" >/dev/null
    [[ -z $h ]] || wait_gone "$h" 10 || true
    check "$d4: no helper after destroy" "" "$(helpers_of "$q")"
else
    fail "virsh start --paused $d4"
fi
cleanup_domain "$d4"
CUR_DOM=$dom

step "a helper that AppArmor does not let libvirtd run: virsh names the cause"
# /usr/bin/* is PUx in libvirtd's profile: under no_new_privs AppArmor
# refuses that exec (the cause of the failure our first users saw).
d3=sys-denied
y=$(fresh_dir denied-export)
define_domain "$d3" "" "$(fs_xml " accessmode='passthrough'" "" "      <binary path='/usr/bin/true'/>
      <source dir='$y'/>" t)"
err=$(virsh start "$d3" 2>&1 >/dev/null) || true
check_match "virsh start fails naming the helper" "virtfs-proxy-helper '/usr/bin/true' exited during its start" "$err"
check_match "... and the cause from the helper's log" "cannot execute binary /usr/bin/true: Operation not permitted" "$err"
check "$d3: not running, nothing left" "shut off|" "$(virsh domstate "$d3")|$(pidfiles_of "$d3")"
cleanup_domain "$d3"
EXPECTED_DENIED='apparmor="DENIED" operation="exec" .*info="no new privs".* profile="libvirtd" name="/usr/bin/true"'
CUR_DOM=$dom

step "an export host users can reach (below a 0755 directory of the root file system): refused"
d5=sys-open
open_dir=$E2E/open
rm -rf "$open_dir"
mkdir -m 0755 "$open_dir" "$open_dir/export"
if a=$(protecting_ancestor "$open_dir/export"); then
    fail "$open_dir/export is out of host users' reach ($a): nothing to refuse"
fi
mini_domain "$d5" "$(proxy_fs "$open_dir/export" share)"
d5_uuid=$(virsh domuuid "$d5")
helpers_before=$(helper_procs | wc -l)
expect_error "$d5: virsh start refused with libvirt's message" "error: Failed to start domain '$d5'
error: $(unprotected_error share "$open_dir/export" "its mount lacks nosuid and nodev")" start "$d5"
check "$d5: shut off, no helper, no helper pidfile, no QEMU pidfile" "shut off|$helpers_before||absent" \
    "$(virsh domstate "$d5")|$(helper_procs | wc -l)|$(pidfiles_of "$d5")|$([[ -e $STATEDIR/$d5.pid ]] && echo present || echo absent)"
check "$d5: the export is empty" "" "$(find "$open_dir/export" -mindepth 1 | head -3)"
# d5_profile: the domain's AppArmor profile, loaded (its line) and on disk
d5_profile() {
    grep "^libvirt-$d5_uuid " /sys/kernel/security/apparmor/profiles || true
    ls /etc/apparmor.d/libvirt/"libvirt-$d5_uuid"* 2>/dev/null || true
}
# Stock libvirt: a start that fails before the domain is labelled stops it
# without RestoreAllLabel, which is what removes the profile (seen here:
# loaded and on disk after the refusal); the next start replaces it.
echo "   note: after the refusal the domain's AppArmor profile is $( [[ -n $(d5_profile) ]] && echo 'still loaded and on disk (stock libvirt: see the comment)' || echo 'gone')"
# the message's first way out: chmod go-x a root-owned directory above
step "the same export once its parent is closed (chmod 0700): $d5 starts, its destroy leaves nothing"
chmod 0700 "$open_dir"
if out=$(virsh start --paused "$d5" 2>&1); then
    h=$(helpers_of "$open_dir/export")
    check_match "$d5: its helper runs" '^[0-9]+$' "$h"
    virsh destroy "$d5" >/dev/null
    [[ -z $h ]] || wait_gone "$h" 10 || true
    # (the profile's file in /etc/apparmor.d/libvirt stays until the domain
    # is undefined, as for any domain: seen in the second run)
    check "$d5: after destroy no helper, no helper pidfile, no QEMU pidfile, its AppArmor profile unloaded" "|||" \
        "$(helpers_of "$open_dir/export")|$(pidfiles_of "$d5")|$(ls "$STATEDIR/$d5.pid" 2>/dev/null)|$(grep "^libvirt-$d5_uuid " /sys/kernel/security/apparmor/profiles || true)"
else
    fail "virsh start --paused $d5 with its export's parent 0700: $out"
fi
cleanup_domain "$d5"
rm -rf "$open_dir"

# ------------------------------------------------------------ who runs what
# env_names PID: the names of PID's environment variables, one a line, sorted
env_names() { tr '\0' '\n' < "/proc/$1/environ" | sed 's/=.*//' | LC_ALL=C sort -u; }
step "who runs what, while the guest works"
if [[ -n $qpid && -n $hrw && -n $hro ]]; then
    quid=$(id -u libvirt-qemu)
    check "QEMU runs as libvirt-qemu (Uid:)" "$quid $quid $quid $quid" \
        "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$qpid/status")"
    check "QEMU CapEff" 0000000000000000 "$(proc_field "$qpid" CapEff)"
    check_match "QEMU under its per-domain AppArmor profile" \
        '^libvirt-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12} \(enforce\)$' "$(aa_label "$qpid")"
    check_match "QEMU got both sockets" \
        "-fsdev proxy,id=fsdev-fs0,sock_fd=[0-9]+ .*-fsdev proxy,id=fsdev-fs1,sock_fd=[0-9]+,readonly=on " \
        "$(tr '\0' ' ' < "/proc/$qpid/cmdline")"
    for h in "$hrw:rw:$rw" "$hro:ro:$ro"; do
        hpid=${h%%:*} export_dir=${h#*:*:} mode=${h#*:} mode=${mode%%:*}
        echo "   helper $hpid for $export_dir ($mode)"
        check "helper is libvirt's own, the stock qemu.conf's default" "$OWN_HELPER" "$(readlink "/proc/$hpid/exe")"
        check_helper_confined "$hpid" "$export_dir" "$(libvirtd_pid)" "$mode"
        check "helper stacked on libvirtd's AppArmor profile" \
            "libvirt-virtfs-proxy-helper//&libvirtd (enforce)" "$(aa_label "$hpid")"
        check "helper in libvirtd's cgroup, not the domain's (v2)" "0::/system.slice/libvirtd.service" \
            "$(cat "/proc/$hpid/cgroup")"
        # 0060: QEMU's environment (virCommandAddEnvPassCommon), not libvirtd's
        check "helper's LC_ALL" C "$(tr '\0' '\n' < "/proc/$hpid/environ" | sed -n 's/^LC_ALL=//p')"
        check "helper's environment: no variable that QEMU's lacks" "" \
            "$(comm -23 <(env_names "$hpid") <(env_names "$qpid") | paste -sd' ')"
    done
    check_match "... and libvirtd's has variables QEMU's lacks (systemd's), so that check can fail" \
        '(INVOCATION_ID|JOURNAL_STREAM)' "$(comm -23 <(env_names "$(libvirtd_pid)") <(env_names "$qpid") | paste -sd' ')"
    check_match "QEMU's cgroup is the domain's emulator cgroup" '^0::/machine\.slice/machine-qemu.*sys.*main\.scope(/libvirt)?/emulator$' \
        "$(cat "/proc/$qpid/cgroup")"
else
    fail "no QEMU ($qpid) or helpers ($hrw, $hro) for $dom"
fi

# ------------------------------------------------------------ QEMU's device filter
step "QEMU's device filter (the BPF map of its cgroup): the same with a proxy share as without"
check_match "bpftool is there" '^bpftool v' "$(bpftool version 2>&1 | head -n 1)"
mini_domain sys-dev-plain
mini_domain sys-dev-proxy "$(proxy_fs "$(fresh_dir dev-export)" share)"
for d in sys-dev-plain sys-dev-proxy; do
    virsh start --paused "$d" >/dev/null || fail "virsh start --paused $d"
done
plain=$(device_filter "$(qemu_pid sys-dev-plain || echo 0)")
proxy=$(device_filter "$(qemu_pid sys-dev-proxy || echo 0)")
echo "$plain" | sed 's/^/    | /'
# libvirt's program on the domain's cgroup, its map the device ACL of
# qemu.conf (/dev/null, /dev/urandom, ...: a dozen entries)
check_match "without a proxy share: libvirt's device program, its map the device ACL" \
    '^program on /machine\.slice/DOMAIN/libvirt( key: [^ ]+( [0-9a-f]{2})+ +value:( [0-9a-f]{2})+){5,}$' \
    "$(tr '\n' ' ' <<<"$plain" | sed 's/ *$//')"
check "with a proxy share: the same, nothing opened for the helper" "$plain" "$proxy"
for d in sys-dev-plain sys-dev-proxy; do cleanup_domain "$d"; done
CUR_DOM=$dom

# ------------------------------------------------------------ sys-idmap's files
step "what the sys-idmap guest made, seen from the host and by an unprivileged user"
if ((!idmap_running)); then
    fail "$di did not start: no checks of its share"
else
    if wait_shutoff "$di" 900; then
        pass "$di ran and shut off by itself ($((SECONDS - t_idmap)) s after start)"
    else
        fail "$di still running $((SECONDS - t_idmap)) s after start"
        virsh destroy "$di" >/dev/null 2>&1 || true
    fi
    check "$di: guest PROBE-EXIT" 0 "$(probe_exit "$di")"
    check "$di: in the guest, device nodes EPERM, ids outside the map EINVAL, host root's file 65534 and out of reach" \
        "mknod=EPERM mknod-blk=EPERM chown-unmapped=EINVAL chgrp-unmapped=EINVAL owner=65534:65534 chown-hostroot=EPERM chmod-hostroot=EPERM" \
        "$(console "$di" | awk '$1 == "PROBE" && ($2 ~ /^(mknod|mknod-blk|chown-unmapped|chgrp-unmapped|chown-hostroot|chmod-hostroot)$/ || $3 ~ /hostroot$/) && $4 == "ok" { print $2 "=" $5 }' | paste -sd' ')"
    check "$di: nothing failed in the guest" "PROBE-SUMMARY 0 fail" \
        "$(console "$di" | sed -n 's/^\(PROBE-SUMMARY\) [0-9]* ok \([0-9]* fail\)$/\1 \2/p' | tail -n 1)"
    check "$di: on the host, every id shifted by 100000" \
        "root-file 100000:100000 644|suid 100000:100000 4755|user-file 101000:101000 644|nobody-file 165534:165534 644|sgid/user-file 101000:101000 600|fifo 100000:100000 600" \
        "$(for f in root-file suid user-file nobody-file sgid/user-file fifo; do
               printf '%s %s|' "$f" "$(stat -c '%u:%g %a' "$xi/idm/$f" 2>&1)"
           done | sed 's/|$//')"
    check "$di: no device node on the host, host root's file untouched" "|0:0 644" \
        "$(find "$xi" \( -type b -o -type c \) -printf '%P ')|$(stat -c '%u:%g %a' "$xi/hostroot")"
    ensure_host_user
    check_user "$di: $HOST_USER runs the guest's set-uid program with euid 100000, not 0" 0 \
        "PROBE-WHOAMI $HUID 100000" "$xi/idm/suid" whoami
fi
cleanup_domain "$di"
rm -rf "$xi"
CUR_DOM=$dom

# ------------------------------------------------------------ upgrade under the guest
if ((!running)); then
    fail "$dom did not start: no guest checks"
elif wait_console "$dom" '^PROBE-RUN waitfor ' 900; then
    pass "$dom: semantics, readonly and io done; the guest waits ($((SECONDS - t_start)) s after start)"
else
    fail "$dom: the guest never got to its wait"
fi
step "libvirtd killed (kill -9) and kept down; meanwhile two proxy domains' QEMUs die, their helpers hung"
# What a crashed daemon leaves for its upgraded successor. sys-crash is a
# domain whose QEMU went while libvirtd was down: the daemon's status file
# names its helper. sys-crash-new stands for a crash in the middle of a
# start, before libvirtd wrote the domain's status: its status file is
# removed, so that only the helper's locked pidfile is left. Both helpers
# are SIGSTOPped, so that they cannot end by themselves when QEMU goes.
cr=sys-crash cn=sys-crash-new
xc=$(fresh_dir crash-export) xn=$(fresh_dir crash-new-export)
mini_domain "$cr" "$(proxy_fs "$xc" share)"
mini_domain "$cn" "$(proxy_fs "$xn" share)"
for d in "$cr" "$cn"; do
    virsh start --paused "$d" >/dev/null || fail "virsh start --paused $d"
done
hc=$(helpers_of "$xc") hn=$(helpers_of "$xn") qc=$(qemu_pid "$cr" || true) qn=$(qemu_pid "$cn" || true)
check_match "$cr and $cn: their QEMUs and helpers run" '^[0-9]+ [0-9]+ [0-9]+ [0-9]+$' "$qc $hc $qn $hn"
# systemd would restart libvirtd at once (Restart=on-failure): a runtime
# drop-in keeps it down until the upgrade
mkdir -p /run/systemd/system/libvirtd.service.d
printf '[Service]\nRestart=no\n' > /run/systemd/system/libvirtd.service.d/zz-proxyfs-test.conf
systemctl daemon-reload
daemon_before=$(libvirtd_pid)
stop_process $hc $hn || true
kill -KILL "$daemon_before"
wait_gone "$daemon_before" 10 || true
kill -KILL $qc $qn || true
wait_gone "$qc" 10 || true
wait_gone "$qn" 10 || true
rm -f "$STATEDIR/$cn.xml"
check "libvirtd down (killed, not restarted); both QEMUs gone; both helpers there, stopped" \
    "failed|gone gone|T T" \
    "$(systemctl is-active libvirtd || true)|$([[ -d /proc/$qc ]] && echo alive || echo gone) $([[ -d /proc/$qn ]] && echo alive || echo gone)|$(for h in $hc $hn; do proc_field "$h" State; done | paste -sd' ')"

step "the next release ($NEXT) is published: apt-get upgrade while $dom runs and libvirtd is down"
ln -sfn "$DATA/repo-2" /srv/proxyfs-repo
apt_log update-2.log apt-get update
t_restart=$(date +%s)
apt_log upgrade-2.log apt-get upgrade -y -q
check "all ${#PKGS[@]} libvirt packages at the next version" "${#PKGS[@]} $NEXT ii" "$(pkg_versions)"
# (sys-crash's old helper may be gone already: the package may have
# started libvirtd, whose reconnect stops it)
check "the upgrade replaced the helper's binary: $cn's old helper runs a deleted file" \
    "$OWN_HELPER (deleted)" "$(readlink "/proc/$hn/exe")"
echo "   libvirtd after the upgrade: $(systemctl is-active libvirtd || true) (started by the package, or by us now)"
systemctl start libvirtd
rm -f /run/systemd/system/libvirtd.service.d/zz-proxyfs-test.conf
systemctl daemon-reload
check "libvirtd active again" active "$(systemctl is-active libvirtd)"
check_match "libvirtd is a new process" "^[0-9]+ -> [0-9]+$" \
    "$daemon_before -> $(libvirtd_pid | grep -vx "$daemon_before" || true)"
check "virsh: $dom still running" running "$(virsh_t 120 domstate "$dom")"
check "the same QEMU" "$qpid" "$(qemu_pid "$dom" || true)"
check "the same helpers" "$hrw $hro" "$(helpers_of "$rw") $(helpers_of "$ro")"
check "the same helper pidfiles, naming the same pids" "fs0 $hrw
fs1 $hro" "$(pidfiles_with_pids "$dom")"
check "... the same files (inode, modification time)" "${main_pidfile_stat:-(none at the start)}" "$(pidfiles_stat "$dom")"
touch "$rw/go-ahead"
step "what the upgraded libvirtd did with the crashed daemon's helpers"
check "$cr: shut off by the reconnect (its QEMU was gone)" "shut off" "$(virsh_t 120 domstate "$cr")"
check "$cr: its old helper $hc stopped by the upgraded libvirtd" gone \
    "$(wait_gone "$hc" 30 && echo gone || echo "alive, $(proc_field "$hc" State)")"
check "$cr: no helper pidfile left" "" "$(pidfiles_of "$cr")"
check "$cn: libvirtd never knew it ran: shut off, its old helper $hn still holds its pidfile" \
    "shut off|$STATEDIR/virtfs-proxy/$cn.fs0.pid|$hn" \
    "$(virsh domstate "$cn")|$(pidfiles_of "$cn")|$(cat "$STATEDIR/virtfs-proxy/$cn.fs0.pid" 2>&1)"
if virsh start --paused "$cn" >/dev/null; then
    pass "virsh start --paused $cn"
else
    fail "virsh start --paused $cn"
fi
check "$cn: the start stopped the old helper $hn (a deleted binary) from its locked pidfile" gone \
    "$(wait_gone "$hn" 30 && echo gone || echo "alive, $(proc_field "$hn" State)")"
new_hn=$(helpers_of "$xn")
check_match "$cn: a new helper serves its export, from the new binary" "^[0-9]+ $OWN_HELPER\$" \
    "$new_hn $(readlink "/proc/${new_hn:-0}/exe")"
check "$cn: its pidfile names the new helper" "$new_hn" "$(cat "$STATEDIR/virtfs-proxy/$cn.fs0.pid" 2>&1)"
for d in "$cr" "$cn"; do cleanup_domain "$d"; done
CUR_DOM=$dom

if ((running)) && wait_console "$dom" '^PROBE-RUN sleep ' 600; then
    pass "$dom streamed its files after the upgrade ($((SECONDS - t_start)) s after start)"
else
    fail "$dom: no stream after the upgrade"
fi
check "guest: every run before the final sleep passed" "semantics:0 readonly:0 io:0 waitfor:0 stream:0" \
    "$(console "$dom" | awk '$1 == "PROBE-RUN" { r = $2 } $1 == "PROBE-RUN-EXIT" { printf "%s%s:%s", sep, r, $2; sep = " " }')"
step "virsh destroy of $dom, under the upgraded daemon, its helpers SIGSTOPped first"
# A helper ends by itself once QEMU closes its socket: stopped, it cannot,
# and only the upgraded daemon (which knows them from the pidfiles of the
# daemon before it) can end them.
stop_process $hrw $hro || true
check "helpers $hrw $hro stopped (State T)" "T T" \
    "$(for h in $hrw $hro; do awk '$1 == "State:" { print $2 }' "/proc/$h/status"; done | paste -sd' ')"
t=$SECONDS
virsh destroy "$dom" >/dev/null || fail "virsh destroy $dom"
check "the stopped helpers $hrw $hro killed by the upgraded daemon (destroy + $((SECONDS - t)) s)" "gone gone" \
    "$(for h in $hrw $hro; do wait_gone "$h" 30 && echo gone || echo "alive($h)"; done | paste -sd' ')"
check "no helper left after destroy" "" \
    "$(helpers_of "$rw")$(helpers_of "$ro")"
check "no helper pidfile left" "" "$(pidfiles_of "$dom")"
check "no QEMU pidfile left" "" "$(ls "$STATEDIR/$dom.pid" 2>/dev/null)"

step "what the guest did, checked on the host"
check "guest's chown landed: sem/file owner" 1234:5678 "$(stat -c %u:%g "$rw/sem/file" 2>&1)"
out=$("$TOP/e2e/guest/check-semantics.sh" "$rw" 2>&1) || true
grep '^FAIL' <<<"$out" | sed 's/^/    /' || true
check_match "check-semantics on the host: 0 failed" '^semantics: [1-9][0-9]* passed, 0 failed$' "$(tail -n 1 <<<"$out")"
check "set-group-ID directory: mode and owner" "2775 1234:5678" "$(stat -c '%a %u:%g' "$rw/sem/setgid-dir" 2>&1)"

step "what the guest made, seen by an unprivileged user of the VM"
ensure_host_user
echo "   the user: $HOST_USER ($HUID:$HGID); the export: $rw, below $(protecting_ancestor "$rw" || echo '(nothing protecting!)')"
check "root sees the guest's device node and set-uid file" \
    "character special file 1:3 600 0:0|regular file 4755 4321:8765" \
    "$(stat -c '%F %Hr:%Lr %a %u:%g' "$rw/sem/chardev" 2>&1)|$(stat -c '%F %a %u:%g' "$rw/sem/setuid-file" 2>&1)"
# the control: the node works for root (the VM's root file system honours
# device nodes: only the path keeps the user out)
rc=0 out=$(head -c1 "$rw/sem/chardev" 2>&1 | od -An -c) || rc=$?
check "root opens the node (/dev/null's numbers: opens, reads nothing)" "0 " "$rc $out"
check_user "the user lists the directory above \$PRIVATE" 0 "$(ls "$E2E")" ls "$E2E"
check_user "the user cannot list the export" 2 "ls: cannot access '$rw': Permission denied" ls "$rw"
# stat needs no permission on the node itself: only the path refuses it
check_user "the user cannot even stat the device node" 1 \
    "stat: cannot statx '$rw/sem/chardev': Permission denied" stat -c %F "$rw/sem/chardev"
# the guest made the node 0600; its root could as well make it 0666, as
# here: then only the path refuses the open
chmod 0666 "$rw/sem/chardev"
check_user "nor open it, made 0666" 1 "head: cannot open '$rw/sem/chardev' for reading: Permission denied" \
    head -c1 "$rw/sem/chardev"
check_user "nor run the set-uid file" 1 "runuser: failed to execute $rw/sem/setuid-file: Permission denied" \
    "$rw/sem/setuid-file"
check "a file made in it inherited its group" "1234:5678" "$(stat -c '%u:%g' "$rw/sem/setgid-dir/inherited" 2>&1)"
ops=$(console "$dom" | awk '$1 == "PROBE" && $3 ~ "^/mnt/ro/" && $2 != "read" { print $2 "=" $4 "/" $5 }' | paste -sd' ')
check "read-only share: every modifying call failed with EROFS" \
    "create=ok/EROFS write=ok/EROFS truncate=ok/EROFS chown=ok/EROFS chmod=ok/EROFS utime=ok/EROFS setxattr=ok/EROFS mkdir=ok/EROFS mkfifo=ok/EROFS mknod=ok/EROFS symlink=ok/EROFS link=ok/EROFS rename=ok/EROFS unlink=ok/EROFS" \
    "$ops"
if [[ $ro_before == "$(tree_listing "$ro")" ]]; then
    pass "read-only share: the host directory is unchanged"
else
    fail "read-only share: the host directory changed"
fi
check "io: 20 files written through the helper" 20 "$(find "$rw/io" -type f -size 64k 2>/dev/null | wc -l)"
# the files the guest streamed after the upgrade: each with its size and
# checksum, made after the daemon came back
n=0 bad=0
while read -r _ _ file size sum; do
    n=$((n + 1))
    got="$(stat -c '%s' "$rw/stream/$file" 2>/dev/null) $(sha256sum < "$rw/stream/$file" 2>/dev/null | cut -d' ' -f1)"
    [[ $got == "$size $sum" ]] || { bad=$((bad + 1)); echo "    $file: $got, guest said $size $sum"; }
    (( $(stat -c %Z "$rw/stream/$file" 2>/dev/null || echo 0) >= t_restart )) ||
        { bad=$((bad + 1)); echo "    $file: changed before the upgrade"; }
done < <(console "$dom" | grep '^PROBE-STREAM synced ')
check "files streamed after the upgrade: 8, on the host as the guest wrote them" "8 0" "$n $bad"
cleanup_domain "$dom"
CUR_DOM=''

# ------------------------------------------------------------ downgrade
# Debian's libvirt cannot parse <driver type='proxy'/>: it would skip such
# domains without a word, and leave a running one's root helper behind with
# nobody to stop it. Our packages name them and stop the running ones.
step "downgrade to Debian's libvirt $DEBIAN_VERSION with a proxy domain running"
z=$(fresh_dir down-export)
mini_domain sys-down "$(proxy_fs "$z" share)"
virsh start sys-down >/dev/null || fail "virsh start sys-down"
down_helper=$(helpers_of "$z")
check_match "sys-down: its helper runs" '^[0-9]+$' "$down_helper"
mini_domain sys-defined "$(proxy_fs "$(fresh_dir defined-export)" share)"
# The firmware of these domains ignores ACPI: the prerm's shutdown cannot
# succeed, and it destroys them after the wait. 5 s instead of the default
# 30 (the variable reaches the maintainer scripts through apt and dpkg).
export PROXYFS_PRERM_SHUTDOWN_WAIT=5
t=$SECONDS
apt_log_ts downgrade.log apt-get install -y -q --allow-downgrades "${PKGS[@]/%/=$DEBIAN_VERSION}"
echo "   (downgrade: $((SECONDS - t)) s)"
check "all ${#PKGS[@]} libvirt packages at Debian's version" "${#PKGS[@]} $DEBIAN_VERSION ii" "$(pkg_versions)"
check "the package named both proxy domains" \
    "libvirt: these domains use proxy filesystems (<driver type='proxy'/>): sys-defined sys-down." \
    "$(apt_said 'these domains use proxy' downgrade.log)"
check "... said why" "libvirt: libvirt $DEBIAN_VERSION, which replaces this one, has no proxy filesystems." \
    "$(apt_said 'which replaces this one' downgrade.log)"
check "... and stopped the running one" "libvirt: domain sys-down: shut off." \
    "$(apt_said '^libvirt: domain sys-down:' downgrade.log)"
check "... said: a shutdown, then a destroy after the wait" \
    "libvirt: libvirt that follows could not stop it (shutdown; destroy after 5 s)." \
    "$(apt_said 'shutdown; destroy after' downgrade.log)"
# what it did: the domain log's last stop line, and QEMU's signal from
# libvirtd, at least the 5 s of the wait after the prerm began on sys-down
stop_line=$(grep ': shutting down, reason=' "$DOMLOGDIR/sys-down.log" 2>/dev/null | tail -n 1)
check "sys-down was destroyed (its domain log)" "reason=destroyed" "${stop_line##*: shutting down, }"
check_match "... QEMU ended by libvirtd's SIGTERM" 'qemu-system-x86_64: terminating on signal 15 from pid [0-9]+ \(/usr/sbin/libvirtd\)$' \
    "$(grep 'terminating on signal' "$DOMLOGDIR/sys-down.log" 2>/dev/null | tail -n 1)"
t_said=$(awk '/libvirt: stopping domain sys-down:/ { print $1; exit }' "$TEST_OUT/downgrade.log.ts")
t_stop=$(date -d "${stop_line%%: shutting down*}" +%s.%N 2>/dev/null || true)
waited=$(awk -v a="$t_said" -v b="$t_stop" 'BEGIN { if (a == "" || b == "") print "?"; else printf "%.1f", b - a }')
check "... after the wait: destroyed 5 to 90 s after the prerm began on it (${waited} s)" yes \
    "$(awk -v w="$waited" 'BEGIN { print (w != "?" && w + 0 >= 5 && w + 0 < 90) ? "yes" : "no" }')"
[[ -z $down_helper ]] || wait_gone "$down_helper" 10 || true
check "no virtfs-proxy-helper runs on the system" "" "$(helper_procs)"
check "no helper pidfile of sys-down" "" "$(pidfiles_of sys-down)"
check "libvirtd active (Debian's)" active "$(systemctl is-active libvirtd)"
check "sys-stock kept running through the downgrade: the same QEMU" "running $stock_qpid" \
    "$(virsh_t 120 domstate sys-stock) $(qemu_pid sys-stock || true)"
check "Debian's libvirt does not list the proxy domains (why the package warns)" "sys-stock" \
    "$(virsh list --all --name | grep -v '^$' | sort | paste -sd' ')"
check "their definitions are kept" "sys-defined.xml sys-down.xml" \
    "$(cd /etc/libvirt/qemu && ls sys-defined.xml sys-down.xml 2>&1 | paste -sd' ')"

step "back to ours: apt-get upgrade, the proxy domains are listed again"
apt_log upgrade-3.log apt-get upgrade -y -q
check "all ${#PKGS[@]} libvirt packages at the next version again" "${#PKGS[@]} $NEXT ii" "$(pkg_versions)"
check "nothing was lost: every domain listed again" "sys-defined sys-down sys-stock" \
    "$(virsh_t 120 list --all --name | grep -v '^$' | sort | paste -sd' ')"

# ------------------------------------------------------------ purge
step "apt-get purge of our packages with a proxy domain running"
keep_logs                              # the purge removes /var/log/libvirt
virsh start sys-defined >/dev/null || fail "virsh start sys-defined"
purge_helper=$(helper_procs | sed 's|^/proc/||')
check_match "sys-defined: its helper runs" '^[0-9]+$' "$purge_helper"
# sys-stock has done its part; libvirt-guests would otherwise wait for a
# shutdown that its firmware never does
virsh destroy sys-stock >/dev/null || true
aa_loaded() { grep -c "^$1 (" /sys/kernel/security/apparmor/profiles || true; }
apt_log purge.log apt-get purge -y -q "${PKGS[@]}"
check "the package stopped the running proxy domain" "libvirt: domain sys-defined: shut off." \
    "$(apt_said '^libvirt: domain sys-defined:' purge.log)"
[[ -z $purge_helper ]] || wait_gone "$purge_helper" 10 || true
check "no virtfs-proxy-helper runs on the system" "" "$(helper_procs)"
check "no libvirt package left" "" "$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' 'libvirt*' 2>/dev/null | awk '$2 != "un"' || true)"
# the daemon's empty pidfile directory /run/libvirt/qemu/virtfs-proxy (on
# the /run tmpfs, like the rest of /run/libvirt that Debian's purge leaves)
# is not a file of the helper's: any file in it is
check "no file of the helper's left (profile, cache, pidfile, log)" "" \
    "$(find /etc /var /run -name '*virtfs-proxy*' ! \( -type d -empty -path /run/libvirt/qemu/virtfs-proxy \) 2>/dev/null | sort)"
# nothing added: every name below /usr, /etc, /var, /run, /opt that was not
# there before the install, but the definitions of the domains (kept on
# purpose, the prerm says so), the test's user (ensure_host_user: adduser's
# /run/adduser) and the per-domain AppArmor profiles that libvirt writes for
# every domain it starts, proxy or not, and that Debian's purge leaves in
# /etc/apparmor.d/libvirt (seen in the first run: one per domain started,
# and the .files of the one the purge's prerm stopped); those are listed
system_files > "$TEST_OUT/files-after-purge"
new_names=$(LC_ALL=C comm -13 "$TEST_OUT/files-before-install" "$TEST_OUT/files-after-purge")
domain_profiles=$(grep -E '^/etc/apparmor\.d/libvirt/libvirt-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}(\.files)?$' <<<"$new_names" || true)
[[ -z $domain_profiles ]] ||
    echo "   note: libvirt's per-domain AppArmor profiles left by the purge (any domain's): $(grep -c . <<<"$domain_profiles")"
added=$(grep -vE '^/etc/libvirt/qemu/sys-(defined|down)\.xml$|^/etc/(passwd|group|shadow|gshadow|subuid|subgid)-$|^/run/adduser$|^/run/libvirt/qemu/virtfs-proxy$|^/etc/apparmor\.d/libvirt/libvirt-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}(\.files)?$' <<<"$new_names" || true)
if [[ -n $added ]]; then
    echo "   added since before the install ($(wc -l <<<"$added") names; files-before-install, files-after-purge):"
    head -n 60 <<<"$added" | sed 's/^/    + /'
fi
check "nothing added to /usr /etc /var /run /opt since before the install" 0 "$(grep -c . <<<"$added" || true)"
check "the helpers' profiles stay loaded exactly when Debian's libvirtd profile does" \
    "$(aa_loaded libvirtd) $(aa_loaded libvirtd)" \
    "$(aa_loaded libvirt-virtfs-proxy-helper) $(aa_loaded libvirt-virtfs-proxy-helper-qemu)"
check "no QEMU left running" "" "$(pgrep -x qemu-system-x86 || true)"

# ------------------------------------------------------------ AppArmor
step "AppArmor: DENIED lines in the kernel log"
mapfile -t denied < <(denied_lines | tail -n +$((denied_before + 1)))
unexpected=0 expected=0
for l in "${denied[@]}"; do
    if [[ $l =~ $EXPECTED_DENIED ]]; then
        expected=$((expected + 1))
    else
        unexpected=$((unexpected + 1))
        echo "    $l"
    fi
done
check "the expected denial: libvirtd may not exec /usr/bin/true under no_new_privs" 1 "$expected"
check "no other DENIED line since the install" 0 "$unexpected"
check "no DENIED line before the install either" 0 "$denied_before"
lost=$(journalctl -k -b -o cat 2>/dev/null | grep -E "$AUDIT_LOST" || true)
check "no audit line lost or suppressed since the boot (a DENIED cannot hide)" "" "$lost"

echo "   ($((SECONDS - t0)) s in all)"
summary "$NAME"
