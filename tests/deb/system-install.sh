#!/usr/bin/env bash
# shellcheck disable=SC2034  # the E2E_* settings below are read by e2e/lib.sh
# system-install.sh - the .debs of work/deb/out (scripts/deb.sh) on this very
# machine: install them with service starts forbidden, start the system's
# virtlogd and libvirtd ourselves, boot the e2e guest on a proxy share
# through qemu:///system, check what it did and who ran what, then purge
# everything. Right after the purge, before any cleanup of ours, the machine
# must be as we found it (packages, accounts, stat overrides, /etc, /var/lib
# and libvirt's directories): each leftover is a failure of its own, unless
# it is on the allow-list below with its reason. Then we clean up what is
# left, and check that this worked too.
#   --packages-only  install, check the installed files, purge, compare:
#                    no daemons, no guests (the negative control's run)
#   DEB_OUT=DIR      the .debs to install (default work/deb/out)
# Ends with "system-install: N passed, M failed, K skipped"; a skip fails
# the run as well. Needs root.
set -euo pipefail
NAME=system-install
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=${WORK:-$(cd "$here/../.." && pwd)/work}
PACKAGES_ONLY=0
case ${1:-} in
    --packages-only) PACKAGES_ONLY=1 ;;
    '') ;;
    *) echo "usage: ${0##*/} [--packages-only]" >&2; exit 2 ;;
esac

# e2e/lib.sh, pointed at the system's libvirt (Debian 12 ships the monolithic
# libvirtd: the split daemons' binaries are not installed) and at a state
# directory and guest copy of our own, away from concurrent private-daemon runs.
E2E_DIR=$work/deb/e2e
E2E_GUEST=$E2E_DIR/guest
E2E_QEMU_USER=libvirt-qemu                      # Debian's, made by the postinst
E2E_LIBDIR=
E2E_URI=qemu:///system
E2E_STATEDIR=/run/libvirt/qemu
E2E_VIRSH=/usr/bin/virsh
E2E_SBINDIR=/usr/sbin
E2E_DOMLOGDIR=/var/log/libvirt/qemu
E2E_LIBEXECDIR=/usr/lib/libvirt
# shellcheck source=../../e2e/lib.sh
. "$here/../../e2e/lib.sh"

OUT=${DEB_OUT:-$WORK/deb/out}
SNAP=$E2E/snapshots
# What we install: the daemon, the QEMU driver, virsh, and what
# libvirt-daemon-system depends on (its sysv flavour: there is no systemd).
PKGS=(libvirt0 libvirt-clients libvirt-daemon libvirt-daemon-driver-qemu
      libvirt-daemon-system libvirt-daemon-system-sysv
      libvirt-daemon-config-network libvirt-daemon-config-nwfilter)
LIBVIRT_DIRS=(/etc/libvirt /var/lib/libvirt /run/libvirt /var/log/libvirt /var/cache/libvirt)
LEFTOVER_RE='libvirt|virtlogd|virtlockd|virtqemud'   # new files of these names in /etc, /var/lib are ours
POLICY=/usr/sbin/policy-rc.d

require_root "$NAME"
T_SKIP=0
skip() { T_SKIP=$((T_SKIP + 1)); echo "SKIP - $*"; }
summary() { # the closing line with the skips; a skip is not a pass
    echo "$1: $T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
    ((T_FAIL == 0 && T_SKIP == 0))
}
export DEBIAN_FRONTEND=noninteractive LC_ALL=C   # one collation for sort, comm, join
t0=$SECONDS
step() { echo "== [+$((SECONDS - t0))s] $*"; }

# ------------------------------------------------------------ preconditions
deb_of() { # deb_of PACKAGE: its .deb in $OUT
    local f
    f=$(compgen -G "$OUT/${1}_*_amd64.deb" || compgen -G "$OUT/${1}_*_all.deb") ||
        die "no $1 .deb in $OUT (make deb)"
    echo "$f"
}
debs=()
for p in "${PKGS[@]}"; do debs+=("$(deb_of "$p")"); done
VERSION=$(dpkg-deb -f "$(deb_of libvirt-daemon)" Version)
[[ $VERSION == *+proxyfs* ]] || die "$OUT holds libvirt $VERSION, not a +proxyfs build"
mapfile -t series_files < <(series_list)
series_sum=$( (cd "$SERIES" && cat series "${series_files[@]}") | sha256sum | awk '{ print $1 }')
[[ $(cat "$OUT/series.sha256" 2>/dev/null) == "$series_sum" ]] ||
    die "the .debs in $OUT were not built from the current $SERIES: make deb"

running_system_daemons() {
    local p e
    for p in /proc/[0-9]*; do
        e=$(readlink "$p/exe" 2>/dev/null) || continue
        case $e in /usr/sbin/libvirtd|/usr/sbin/virtlogd|/usr/sbin/virtqemud|/usr/sbin/virtlockd)
            echo "${p#/proc/} $e" ;;
        esac
    done
}
[[ -z $(running_system_daemons) ]] ||
    die "a system libvirt daemon runs already: $(running_system_daemons | paste -sd,); not touching it"

if ((!PACKAGES_ONLY)) && [[ ! -f $work/guest/vmlinuz || ! -f $work/guest/initramfs.gz ]]; then
    step "building the test guest (e2e/guest/build-guest.sh)"
    "$TOP/e2e/guest/build-guest.sh"
fi
rm -rf "$E2E"
mkdir -p "$GUEST" "$SNAP"
# our own copies: libvirt relabels kernel and initrd while a domain runs,
# which must not collide with the private daemon's guests
((PACKAGES_ONLY)) || cp "$work/guest/vmlinuz" "$work/guest/initramfs.gz" "$GUEST/"

# ------------------------------------------------------------ snapshots
# listing ROOT...: every path under each root with type, owner and mode
listing() {
    local r
    for r in "$@"; do
        if [[ -e $r ]]; then
            find "$r" -xdev -printf '%p %y %u:%g %m\n' 2>/dev/null | LC_ALL=C sort
        else
            echo "$r absent"
        fi
    done
}
snapshot() { # snapshot NAME: the machine state we promise to restore
    local d=$SNAP/$1
    mkdir -p "$d"
    dpkg-query -W -f='${binary:Package} ${Version} ${db:Status-Abbrev}\n' | LC_ALL=C sort > "$d/packages"
    apt-mark showauto | LC_ALL=C sort > "$d/apt-auto"
    cp /etc/passwd "$d/passwd"
    cp /etc/group "$d/group"
    cut -d: -f1 /etc/shadow > "$d/shadow-names"       # names only: no hashes in our files
    cut -d: -f1 /etc/gshadow > "$d/gshadow-names"
    dpkg-statoverride --list | LC_ALL=C sort > "$d/statoverride"
    listing "${LIBVIRT_DIRS[@]}" > "$d/libvirt-dirs"
    find /etc -xdev -printf '%p %y %u:%g %m\n' 2>/dev/null | LC_ALL=C sort > "$d/etc"
    find /var/lib -xdev -maxdepth 4 \( -path /var/lib/dpkg -o -path /var/lib/apt \
         -o -path /var/lib/postgresql \) -prune -o -printf '%p %y %u:%g %m\n' 2>/dev/null |
        LC_ALL=C sort > "$d/var-lib"
    cp "$POLICY" "$d/policy-rc.d" 2>/dev/null || echo absent > "$d/policy-rc.d"
}
names_of() { awk -F: '{ print $1 }' "$1" | LC_ALL=C sort; }
pkgs_of() { awk '{ print $1 }' "$1"; }
paths_of() { awk '$2 != "absent" { print $1 }' "$1" | sort -u; }

# ------------------------------------------------------------ leftovers
# What the purge may leave, each with its reason: "FILE ITEM|REASON", FILE
# one of the snapshot's files, ITEM a line of leftovers()'s report for it
# ("+path" left, "-path" gone, "+name" account added); "FILE ITEM" is a glob
# pattern. Anything else left is a failure of the purge.
ALLOW=(
    "etc -/etc/apparmor.d/disable|dh_apparmor's postrm (Debian's debhelper, stock libvirt too) removes this empty directory of the apparmor package"
    # Debian 12's libvirt-daemon-system postinst creates the empty local
    # overrides of its abstractions; its postrm removes them on abort-install
    # only, never on purge (stock Debian's packaging, not the series')
    "etc +/etc/apparmor.d/local/abstractions|Debian's libvirt-daemon-system postinst makes it, no postrm purge removes it (stock Debian 12)"
    "etc +/etc/apparmor.d/local/abstractions/libvirt-lxc|Debian's libvirt-daemon-system postinst makes it, no postrm purge removes it (stock Debian 12)"
    "etc +/etc/apparmor.d/local/abstractions/libvirt-qemu|Debian's libvirt-daemon-system postinst makes it, no postrm purge removes it (stock Debian 12)"
    # Left by stock Debian 12 once libvirtd has run (found by this check,
    # not by the series): the secret driver makes /etc/libvirt/secrets and
    # the QEMU driver /var/lib/libvirt/qemu/checkpoint at start; no package
    # owns them, and the postrm's rmdir list (save, snapshot, dump, nvram,
    # ram, channel) has no checkpoint, so the directories above stay too.
    # Each path in the two snapshots that list it (libvirt's directories,
    # and /etc or /var/lib).
    "libvirt-dirs +/etc/libvirt|stock Debian 12: /etc/libvirt/secrets, made by libvirtd's secret driver at start, keeps it"
    "etc +/etc/libvirt|stock Debian 12: /etc/libvirt/secrets, made by libvirtd's secret driver at start, keeps it"
    "libvirt-dirs +/etc/libvirt/secrets|stock Debian 12: libvirtd's secret driver makes it at start; no package owns it, no postrm removes it"
    "etc +/etc/libvirt/secrets|stock Debian 12: libvirtd's secret driver makes it at start; no package owns it, no postrm removes it"
    "libvirt-dirs +/var/lib/libvirt|stock Debian 12: /var/lib/libvirt/qemu/checkpoint keeps it"
    "var-lib +/var/lib/libvirt|stock Debian 12: /var/lib/libvirt/qemu/checkpoint keeps it"
    "libvirt-dirs +/var/lib/libvirt/qemu|stock Debian 12: /var/lib/libvirt/qemu/checkpoint keeps it (the postrm's rmdir fails)"
    "var-lib +/var/lib/libvirt/qemu|stock Debian 12: /var/lib/libvirt/qemu/checkpoint keeps it (the postrm's rmdir fails)"
    "libvirt-dirs +/var/lib/libvirt/qemu/checkpoint|stock Debian 12: the QEMU driver makes it at start, the postrm's rmdir list lacks it"
    "var-lib +/var/lib/libvirt/qemu/checkpoint|stock Debian 12: the QEMU driver makes it at start, the postrm's rmdir list lacks it"
    # the runtime state of the daemons this test ran (sockets, pidfiles,
    # status XML): /run is a tmpfs, emptied at boot, and no postrm of
    # Debian's clears it
    "libvirt-dirs +/run/libvirt|runtime state of the daemons the test ran, on the /run tmpfs (no Debian postrm clears /run)"
    "libvirt-dirs +/run/libvirt/*|runtime state of the daemons the test ran, on the /run tmpfs (no Debian postrm clears /run)"
)
allowed() { # allowed FILE ITEM: the reason, if FILE ITEM is on the allow-list
    local a
    for a in "${ALLOW[@]}"; do
        # shellcheck disable=SC2053  # the allow-list's entries are glob patterns
        [[ "$1 $2" == ${a%%|*} ]] && { echo "${a#*|}"; return 0; }
    done
    return 1
}
# leftovers FILE: what differs in FILE between the snapshots before and
# purged, as far as the install is concerned, one "+item" or "-item" a line.
# Accounts, stat overrides and packages: every difference. libvirt's own
# directories: every path added or gone. /etc and /var/lib: added paths the
# install made (in the installed snapshot) or that are libvirt's by name,
# and directories gone (others share this machine: their files are not
# ours). Paths are compared, not their attributes (that is the cleanup's
# final comparison).
leftovers() {
    local b=$SNAP/before/$1 n=$SNAP/purged/$1 a=$SNAP/installed/$1
    case $1 in
        passwd|group)
            diff <(names_of "$b") <(names_of "$n") | sed -n 's/^> /+/p; s/^< /-/p' ;;
        packages|apt-auto|shadow-names|gshadow-names|statoverride)
            diff "$b" "$n" | sed -n 's/^> /+/p; s/^< /-/p' ;;
        libvirt-dirs)
            comm -13 <(paths_of "$b") <(paths_of "$n") | sed 's/^/+/'
            comm -23 <(paths_of "$b") <(paths_of "$n") | sed 's/^/-/' ;;
        etc|var-lib)
            local added
            added=$(comm -13 <(paths_of "$b") <(paths_of "$n"))
            if [[ -n $added ]]; then
                { grep -E "$LEFTOVER_RE" <<<"$added" || true
                  [[ ! -f $a ]] || comm -12 <(echo "$added") <(paths_of "$a"); } | LC_ALL=C sort -u | sed 's/^/+/'
            fi
            comm -23 <(awk '$2 == "d" { print $1 }' "$b" | LC_ALL=C sort -u) <(paths_of "$n") | sed 's/^/-/' ;;
    esac
}
check_purged() { # the machine right after the purge, before our cleanup
    local f item why n
    for f in packages apt-auto passwd group shadow-names gshadow-names statoverride \
             libvirt-dirs etc var-lib; do
        n=0
        while read -r item; do
            [[ -n $item ]] || continue
            if why=$(allowed "$f" "$item"); then
                echo "   allowed: $f $item ($why)"
            else
                fail "purge left the machine changed: $f $item"
                n=$((n + 1))
            fi
        done < <(leftovers "$f")
        ((n)) || pass "purge left nothing: $f"
    done
}

# ------------------------------------------------------------ restore
RESTORED=0
restore() {
    ((RESTORED)) && return 0
    RESTORED=1
    set +e
    step "restore: domains, what the guests planted in the exports, our daemons"
    cleanup_domains
    remove_planted
    virsh net-destroy default >/dev/null 2>&1
    stop_one_daemon libvirtd
    stop_one_daemon virtlogd
    local b=$SNAP/before a=$SNAP/installed
    if [[ -d $a ]]; then
        # what the install added or changed, from the snapshots around it
        # (not whatever else changed meanwhile: others share this machine)
        local new changed
        mapfile -t new < <(comm -13 <(pkgs_of "$b/packages") <(pkgs_of "$a/packages"))
        mapfile -t changed < <(join -o 1.1,1.2,2.2 <(awk '{ print $1, $2 }' "$b/packages") \
                                   <(awk '{ print $1, $2 }' "$a/packages") | awk '$2 != $3 { print $1 "=" $2 }')
        if ((${#new[@]})); then
            step "restore: purging ${#new[@]} packages: ${new[*]}"
            apt-get purge -y -q "${new[@]}" > "$E2E/purge.log" 2>&1 ||
                { tail -n 20 "$E2E/purge.log"; echo "purge failed"; }
        fi
        if ((${#changed[@]})); then
            step "restore: Debian's versions again: ${changed[*]}"
            apt-get install -y -q --allow-downgrades --no-install-recommends "${changed[@]}" \
                > "$E2E/downgrade.log" 2>&1 || { tail -n 20 "$E2E/downgrade.log"; echo "downgrade failed"; }
        fi
        # apt's auto/manual marks as they were
        local m
        for m in $(comm -23 "$b/apt-auto" <(apt-mark showauto | LC_ALL=C sort)); do
            apt-mark auto "$m" >/dev/null
        done
        for m in $(comm -13 "$b/apt-auto" <(apt-mark showauto | LC_ALL=C sort)); do
            grep -qx "$m" <(pkgs_of "$b/packages") && apt-mark manual "$m" >/dev/null
        done
    fi
    # the machine as the purge left it: check_purged compares this with
    # before; everything below is our own cleanup
    step "snapshot right after the purge (before any cleanup)"
    rm -rf "$SNAP/purged"
    snapshot purged
    cp "$b/policy-rc.d" "$SNAP/purged/policy-rc.d"   # ours, not the packages'
    step "cleanup: what the purge left (reported above or below as leftovers)"
    if [[ -d $a ]]; then
        # accounts the postinst made and the postrm left (it deletes some itself)
        for m in $(comm -13 <(names_of "$b/passwd") <(names_of "$a/passwd")); do
            getent passwd "$m" >/dev/null && { echo "   userdel $m"; userdel "$m"; }
        done
        for m in $(comm -13 <(names_of "$b/group") <(names_of "$a/group")); do
            getent group "$m" >/dev/null && { echo "   groupdel $m"; groupdel "$m"; }
        done
    fi
    # dpkg-statoverride entries the postinst added (the postrm keeps them)
    local path
    comm -13 "$b/statoverride" <(dpkg-statoverride --list | LC_ALL=C sort) |
        while read -r _ _ _ path; do
            echo "   dpkg-statoverride --remove $path"
            dpkg-statoverride --remove "$path"
        done
    # paths left behind (leftovers' "+path" lines)
    local f
    for f in libvirt-dirs etc var-lib; do
        leftovers "$f" | sed -n 's/^+//p'
    done | LC_ALL=C sort -ru | while read -r path; do
        [[ -e $path || -L $path ]] || continue
        echo "   rm -rf $path"
        rm -rf "$path"
    done
    # directories that went away: dh_apparmor's postrm removes the empty
    # /etc/apparmor.d/disable, which belongs to the apparmor package
    local type owner mode
    cat "$b/libvirt-dirs" "$b/etc" "$b/var-lib" | awk '$2 == "d"' | LC_ALL=C sort |
        while read -r path type owner mode; do
            [[ -e $path ]] && continue
            echo "   mkdir $path ($owner $mode)"
            mkdir "$path" && chown "$owner" "$path" && chmod "$mode" "$path"
        done
    # the policy-rc.d that was there before
    if [[ $(cat "$b/policy-rc.d") == absent ]]; then
        rm -f "$POLICY"
    else
        cp "$b/policy-rc.d" "$POLICY"
        chmod 0755 "$POLICY"
    fi
    set -e
}

# ------------------------------------------------------------ the end
# finish: purge, the machine as the purge left it (every leftover a FAIL,
# unless allowed), then our cleanup and the machine as before (that the
# cleanup worked, attributes too)
finish() {
    restore
    step "the machine right after the purge, compared with before"
    check_purged
    check "no dnsmasq and no virbr0 left (the default network never started)" "" \
        "$(pgrep -a dnsmasq; ip -o link show virbr0 2>/dev/null)"
    step "snapshot after our cleanup, compared with before"
    rm -rf "$SNAP/after"
    snapshot after
    local f d
    for f in packages apt-auto passwd group shadow-names gshadow-names statoverride \
             libvirt-dirs etc var-lib policy-rc.d; do
        if d=$(diff -u "$SNAP/before/$f" "$SNAP/after/$f"); then
            pass "after the cleanup, machine as before: $f"
        else
            fail "after the cleanup, machine as before: $f differs"
            sed 's/^/    /' <<<"$d" | head -n 40
        fi
    done
    check "no libvirt daemon left running" "" "$(running_system_daemons)"
    echo "   (state and logs: $E2E; $((SECONDS - t0)) s in all)"
    summary "$NAME"
}

# ------------------------------------------------------------ install
step "snapshot before (packages, accounts, stat overrides, /etc, /var/lib, libvirt dirs)"
snapshot before
trap 'restore' EXIT
trap 'exit 130' INT TERM HUP         # so that EXIT's restore runs
echo "   $(wc -l < "$SNAP/before/packages") packages, $(wc -l < "$SNAP/before/passwd") users"

step "policy-rc.d forbids service starts during the install"
cat > "$POLICY" <<'EOF'
#!/bin/sh
# tests/deb/system-install.sh: no service starts while it installs libvirt
exit 101
EOF
chmod 0755 "$POLICY"

step "installing libvirt $VERSION: ${PKGS[*]}"
if ! apt-get install -y -q --no-install-recommends "${debs[@]}" > "$E2E/install.log" 2>&1; then
    tail -n 30 "$E2E/install.log"
    snapshot installed
    fail "apt-get install of the .debs"
    finish
    exit 1
fi
snapshot installed
echo "   new packages: $(comm -13 <(pkgs_of "$SNAP/before/packages") <(pkgs_of "$SNAP/installed/packages") | paste -sd' ')"
pass "apt-get install of ${#PKGS[@]} .debs (log: $E2E/install.log)"
for p in "${PKGS[@]}"; do
    check "$p installed at our version" "$VERSION ii " "$(dpkg-query -W -f='${Version} ${db:Status-Abbrev}' "$p")"
done
check "no libvirt daemon started by the install (policy-rc.d)" "" "$(running_system_daemons)"
check "qemu.conf documents the helper's default path: libvirt's own" \
    '#virtfs_proxy_helper = "/usr/lib/libvirt/libvirt_virtfs_proxy_helper"' \
    "$(grep '^#virtfs_proxy_helper' /etc/libvirt/qemu.conf)"
check "the postinst made Debian's QEMU user" libvirt-qemu "$(getent passwd libvirt-qemu | cut -d: -f1)"
check "libvirt's own helper is installed and runs" \
    "/usr/lib/libvirt/libvirt_virtfs_proxy_helper (libvirt) 9.0.0" \
    "$(/usr/lib/libvirt/libvirt_virtfs_proxy_helper --version 2>&1)"
# the packaged augeas lens reads the new setting (libvirt-daemon-driver-qemu)
printf 'virtfs_proxy_helper = "/opt/helper"\n' > "$E2E/lens-check.conf"
check "packaged augeas lens parses virtfs_proxy_helper" /opt/helper \
    "$(augtool -L -r / -t "Libvirtd_qemu.lns incl $E2E/lens-check.conf" \
        get "/files$E2E/lens-check.conf/virtfs_proxy_helper" 2>&1 | sed 's/.* = //')"
# AppArmor is not enforced here: the installed profile can only be parsed
# (apparmor_parser: package apparmor, which make deps installs)
if command -v apparmor_parser >/dev/null; then
    check "installed usr.sbin.libvirtd profile parses and stacks each helper's profile" 2 \
        "$(apparmor_parser -QK /etc/apparmor.d/usr.sbin.libvirtd >/dev/null 2>&1 &&
           grep -Ec 'proxy.helper ix -> &libvirt-virtfs-proxy-helper(-qemu)?,$' /etc/apparmor.d/usr.sbin.libvirtd)"
    for p in libvirt-virtfs-proxy-helper libvirt-virtfs-proxy-helper-qemu; do
        check "installed $p profile parses" 0 \
            "$(apparmor_parser -QK "/etc/apparmor.d/$p" >/dev/null 2>&1; echo $?)"
    done
else
    skip "installed AppArmor profiles parse: no apparmor_parser (apt-get install apparmor, or make deps)"
    for p in libvirt-virtfs-proxy-helper libvirt-virtfs-proxy-helper-qemu; do
        skip "installed $p profile parses: no apparmor_parser"
    done
fi
if ((PACKAGES_ONLY)); then
    finish || exit 1
    exit 0
fi

# ------------------------------------------------------------ configure, start
step "configuring /etc/libvirt for this machine, starting virtlogd and libvirtd"
# The postinst put libvirt-qemu in group kvm; this machine's /dev/kvm may
# belong to another group (see ensure_qemu_user in e2e/lib.sh), and libvirtd
# would then probe QEMU again at every define and start. userdel at the
# purge takes the membership away with the user.
kvm_group=$(getent group "$(stat -c %g /dev/kvm 2>/dev/null || echo none)" | cut -d: -f1 || true)
if [[ -n $kvm_group ]] && ! id -nG libvirt-qemu | grep -qw -- "$kvm_group"; then
    echo "   usermod -a -G $kvm_group libvirt-qemu (the group of /dev/kvm here)"
    usermod -a -G "$kvm_group" libvirt-qemu
fi
cat >> /etc/libvirt/qemu.conf <<'EOF'

# Added by tests/deb/system-install.sh (purged with the package):
# libvirt's per-domain mount namespace fails in this environment.
namespaces = [ ]
EOF
cat >> /etc/libvirt/libvirtd.conf <<EOF

# Added by tests/deb/system-install.sh: what the daemon did, for failed tests.
log_filters = "1:qemu.qemu_extdevice 1:qemu.virtfs_proxy 1:qemu.qemu_process 1:qemu.virtfs_proxy_helper 1:util.command 2:qemu"
log_outputs = "1:file:$E2E/libvirtd.log"
EOF
ln -sf libvirtd.log "$E2E/virtqemud.log"        # where lib.sh's debug_dump looks
# libvirt-daemon-config-network marks its "default" network autostart: with
# dnsmasq-base present the daemon would bring up virbr0, NAT rules and a
# dnsmasq that outlive it. The test needs no network.
rm -f /etc/libvirt/qemu/networks/autostart/default.xml
start_one_daemon virtlogd /run/libvirt/virtlogd-sock
start_one_daemon libvirtd /run/libvirt/libvirt-sock
check "virtlogd runs, from /usr/sbin" 1 "$(daemon_pid virtlogd >/dev/null && echo 1)"
check "libvirtd runs, from /usr/sbin" 1 "$(daemon_pid libvirtd >/dev/null && echo 1)"
t=$SECONDS
check "virsh uri (first call waits for the QEMU capabilities probe)" qemu:///system "$(virsh_t 300 uri)"
echo "   ($((SECONDS - t)) s)"
check_match "domain capabilities list the proxy filesystem driver" \
    "<value>proxy</value>" "$(virsh domcapabilities --virttype qemu --emulatorbin /usr/bin/qemu-system-x86_64 |
                               sed -n '/<filesystem/,/<\/filesystem>/p' | tr -d ' \n')"

# ------------------------------------------------------------ the guest's semantics
step "guest: the semantics layout on a proxy share (owners, modes, nodes, xattrs)"
dom=deb-semantics
dir=$(fresh_dir semantics-export)
run_domain "$dom" 180 "proxyfs.mounts=share:/mnt/share proxyfs.run=semantics:/mnt/share" \
    "$(proxy_fs "$dir" share)"
check "guest PROBE-EXIT" 0 "$(probe_exit "$dom")"
check "guest's chown landed on the host: sem/file owner" 1234:5678 "$(stat -c %u:%g "$dir/sem/file" 2>&1)"
out=$("$TOP/e2e/guest/check-semantics.sh" "$dir" 2>&1) || true
grep '^FAIL' <<<"$out" | sed 's/^/    /' || true
check_match "host check-semantics: 0 failed" '^semantics: [1-9][0-9]* passed, 0 failed$' "$(tail -n 1 <<<"$out")"
check "no helper left after the guest powered off" "" "$(helpers_of "$dir")"

# ------------------------------------------------------------ who runs what
step "guest: io then sleep; who runs what"
dom=deb-processes
dir=$(fresh_dir processes-export)
define_domain "$dom" "proxyfs.mounts=share:/mnt/share proxyfs.run=io:/mnt/share:20:30,sleep:60 proxyfs.timeout=60" \
    "$(proxy_fs "$dir" share)"
virsh start "$dom" >/dev/null
if wait_console "$dom" '^PROBE-RUN sleep' 120; then
    pass "guest did its io on the share and sleeps"
else
    fail "guest never got to sleep"
fi
check "files written through the helper, on the host" 20 "$(find "$dir/io" -type f -size 64k 2>/dev/null | wc -l)"
quid=$(id -u libvirt-qemu)
qgid=$(getent group libvirt-qemu | cut -d: -f3)
qpid=$(qemu_pid "$dom" || true)
mapfile -t pidfiles < <(pidfiles_of "$dom")
check "one helper pidfile in $STATEDIR" 1 "${#pidfiles[@]}"
hpid=$(cat "${pidfiles[0]:-/dev/null}" 2>/dev/null || true)
check "the pidfile's pid is the helper serving the export" "$(helpers_of "$dir")" "$hpid"
if [[ -n $qpid && -n $hpid ]]; then
    check "QEMU runs as libvirt-qemu (Uid: real effective saved fs)" "$quid $quid $quid $quid" \
        "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$qpid/status")"
    check "QEMU's group is libvirt-qemu (Gid:)" "$qgid $qgid $qgid $qgid" \
        "$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' "/proc/$qpid/status")"
    check "QEMU CapEff" 0000000000000000 "$(proc_field "$qpid" CapEff)"
    check_match "QEMU got the helper's socket as sock_fd" \
        "-fsdev proxy,id=fsdev-fs0,sock_fd=[0-9]+ " "$(tr '\0' ' ' < "/proc/$qpid/cmdline")"
    check_helper_confined "$hpid" "$dir" "$(daemon_pid libvirtd)"
    check_match "helper command line: the built-in default path, libvirt's helper" \
        "^/usr/lib/libvirt/libvirt_virtfs_proxy_helper -n -f [0-9]+ -p $dir \$" "$(tr '\0' ' ' < "/proc/$hpid/cmdline")"
    check "domain log in /var/log/libvirt/qemu records the helper's start" 1 \
        "$(grep -c ': Starting external device: virtfs-proxy-helper$' "$DOMLOGDIR/$dom.log" 2>/dev/null)"
else
    fail "no QEMU ($qpid) or helper ($hpid) pid"
fi

step "virsh destroy"
virsh destroy "$dom" >/dev/null
[[ -z $hpid ]] || wait_gone "$hpid" 10 || true
check "no helper serves the export after destroy" "" "$(helpers_of "$dir")"
check "no helper pidfile left" "" "$(pidfiles_of "$dom")"
cleanup_domains
CUR_DOM=''

# ------------------------------------------------------------ leave no trace
finish
