#!/bin/bash
# test-hostusers.sh - what a guest, or a compromised QEMU, leaves in a proxy
# export, seen by an unprivileged user of the host (issue #23).
#
# The helper creates, as root, what QEMU asks for: set-user-ID root
# programs, device nodes, any mode on the export.  Its own mount namespace
# makes the export nosuid,nodev for itself and QEMU only; on the host,
# libvirt starts a helper only for an export that host users cannot reach
# (a root-owned directory above it closed to others) or that is mounted
# nosuid,nodev (series 0029, 0030).  Here, as the dedicated user
# proxyfs-hostuser (runuser: no capability, no group but its own):
#
#   U1-U5  containment attempts through libvirt: a paused domain, QEMU's
#          socket taken with proxyclient --steal, and as QEMU's user a
#          set-uid root program (whoami.c: prints its ids, nothing more),
#          device nodes (c 1:5, the root disk's), the export's root made
#          0777; then the host user runs the program, opens the nodes,
#          lists and writes the export.  On an export below e2e/lib.sh's
#          $PRIVATE (0700 root:root) every step is "Permission denied"; on
#          a nosuid,nodev tmpfs the user reaches everything, the program
#          runs with the user's euid and the nodes do not open (not even
#          for root).  An attempt is contained when the helper's answers,
#          the host-side state and every host-user check hold, and the
#          destroy leaves no helper and no pidfile.
#   S1     a 0710 root:root directory above the export (its group is
#          root's) is protection enough: the domain starts.
#   C1-C8  exports that host users can reach, refused by virsh start with
#          libvirt's exact message (real path, parent's owner, group and
#          mode, the missing mount options computed here), nothing left
#          behind: 0755 parents; a parent of the host user's; a 0750 root
#          parent of another group; one with an ACL for the user; a path
#          through a symbolic link; tmpfs mounts lacking nodev, nosuid, or
#          with a plain mount below.
#   N1     the negative control: with virtfs_proxy_allow_unprotected_exports
#          = 1 in qemu.conf a refused export starts, and the host user runs
#          the planted program with euid 0: the check above is what
#          protects.  The program lives below a 0700 directory of the host
#          user's (no other user reaches it), only between the chmod and
#          the run, and is deleted at once (and by the EXIT trap).
#   P1-P3  (a FAIL if the installed libvirt's qemu.conf lens lacks them): virtfs_proxy_allow_device_nodes = 0 (mknod c
#          1:3 EPERM, the whiteout c 0:0 made) and virtfs_proxy_allow_setid
#          = 0 (S_ISUID stripped, S_ISGID kept on directories only); a
#          domain on QEMU's helper refused while a policy is 0 (a bad
#          configuration, counted).
#   H1-H3  (a FAIL if libvirt's helper lacks --allow-unprotected-export):
#          the helper started by hand (-s) refuses a reachable export,
#          serves it with the option, serves a protected one.
#
# Prints "containment-hostusers: N attempts, M contained" and
# "configurations-hostusers: N bad configurations, M refused" before its
# summary line.  The EXIT trap, pass or fail: domains destroyed, the
# planted files and nodes removed, tmpfs mounts unmounted, the directories
# outside $PRIVATE removed, qemu.conf restored (virtqemud restarted).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib.sh"
. "$HERE/transcript-lib.sh"
. "$HERE/hostusers-lib.sh"
NAME=test-hostusers
e2e_setup "$NAME"

# Outside $PRIVATE, for the layouts libvirt must refuse (nothing is ever
# planted there but in OWN, the host user's own 0700 directory) and for
# the tmpfs mounts
OPEN=$E2E/hostusers-open            # root:root 0755
OWN=$E2E/hostusers-own              # the host user's, 0700
GROUPDIR=$E2E/hostusers-group       # root:HOST_USER 0750
ACLDIR=$E2E/hostusers-acl           # root:root 0750, ACL u:HOST_USER:r-x
VIA=$E2E/hostusers-via              # a symbolic link to OPEN
DIR0710=$E2E/hostusers-0710         # root:root 0710
MNT=$E2E/hostusers-mnt              # tmpfs nosuid,nodev
MNT_NOSUID=$E2E/hostusers-nosuid    # tmpfs nosuid
MNT_NODEV=$E2E/hostusers-nodev      # tmpfs nodev
AREAS=("$OPEN" "$OWN" "$GROUPDIR" "$ACLDIR" "$VIA" "$DIR0710" "$MNT" "$MNT_NOSUID" "$MNT_NODEV")
ensure_sockdir                      # SOCK: a UNIX socket path holds 107 bytes
SOCK=$SOCKDIR/hostusers-helper.sock
HAND_PID=''                         # a helper started by hand (H1-H3)

# Every step goes on whatever the one before did (set -e holds in a
# trap too): the shared qemu.conf must not keep the opt-out.
hostusers_cleanup() {
    local m
    cleanup_domains || true
    rm -f "$OWN/export/pxc-suid" || true        # the negative control's, first
    if [[ -n $HAND_PID && -d /proc/$HAND_PID ]]; then
        kill -KILL "$HAND_PID" 2>/dev/null || true
    fi
    rm -f "$SOCK" || true
    # the set-id files and nodes, then the mounts (their content goes with
    # them), then the directories
    defuse "${AREAS[@]}" || true
    while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done < <(findmnt -rn -o TARGET | grep -E "^$E2E/hostusers-" | sort -r)
    rm -rf "${AREAS[@]}" || true
    qemu_conf_restore || echo "   (could not restore $PREFIX/etc/libvirt/qemu.conf)"
    e2e_cleanup
}
trap hostusers_cleanup EXIT

PC=$E2E/bin/pxc-hostusers-client
WHOAMI=$E2E/bin/pxc-whoami
mkdir -p "$E2E/bin"
gcc -static -O2 -Wall -Wextra -Werror -o "$PC" "$HERE/proxyclient.c"
gcc -static -O2 -Wall -Wextra -Werror -o "$WHOAMI" "$HERE/whoami.c"
chmod 0755 "$E2E/bin" "$PC" "$WHOAMI"
WHOAMI_SUM=$(sha256sum < "$WHOAMI" | cut -d' ' -f1)
quid=$(id -u "$QEMU_USER") qgid=$(id -g "$QEMU_USER")
ROOT_DEV=$(mountpoint -d /)
ensure_host_user
rm -rf "${AREAS[@]}"

echo "-- the host user: $HOST_USER ($HUID:$HGID)"
check "the host user runs with its ids alone and no capability" \
    "Uid: $HUID $HUID $HUID $HUID|Gid: $HGID $HGID $HGID $HGID|Groups: $HGID|CapPrm: 0000000000000000|CapEff: 0000000000000000" \
    "$(as_user grep -E '^(Uid|Gid|Groups|CapEff|CapPrm):' /proc/self/status | tr -s '\t ' ' ' | sed 's/ $//' | paste -sd'|')"
check_user "the host user runs a program it can reach" 0 \
    "WHOAMI uid=$HUID euid=$HUID gid=$HGID egid=$HGID" "$WHOAMI"
check_user "the host user cannot list \$PRIVATE ($(stat -c '%a %U:%G' "$PRIVATE"))" 2 \
    "ls: cannot open directory '$PRIVATE': Permission denied" ls "$PRIVATE"
mkdir -m 0755 "$OPEN"
if a=$(protecting_ancestor "$OPEN/export"); then
    fail "$OPEN is not open to host users ($a keeps them out): the refusals below cannot be tested here"
fi

# ------------------------------------------------------------ attempts
N_ATT=0 N_CONT=0
ID='' E='' DOM='' QPID='' QFD='' HPID='' OUT='' RUN=0 ERRS=() FAILS_BEFORE=0

# define_plain NAME EXPORT: define a domain with one proxy share (tag
# share) of EXPORT, without lib.sh's define_domain, which asserts that
# the export is below a protecting directory
define_plain() {
    cleanup_domain "$1"
    rm -f "$E2E/$1.console" "$DOMLOGDIR/$1.log" "$DOMLOGDIR/$1"-*-virtfs-proxy-helper.log
    domain_xml "$1" "proxyfs.run=none" "$(proxy_fs "$2" share)" > "$E2E/$1.xml"
    E2E_DOMAINS+=("$1")
    CUR_DOM=$1
    virsh define "$E2E/$1.xml" >/dev/null
}

# attempt ID EXPORT: a paused domain serving EXPORT (made and seeded
# here); QPID, QFD and HPID for the client
attempt() {
    ID=$1 E=$2 DOM=e2e-hostusers-$1 RUN=0 ERRS=() FAILS_BEFORE=$T_FAIL
    printf 'inside-export\n' > "$E/file"
    if [[ $E == "$PRIVATE"/* ]]; then
        define_domain "$DOM" "proxyfs.run=none" "$(proxy_fs "$E" share)"
    else
        define_plain "$DOM" "$E"
    fi
    virsh start --paused "$DOM" >/dev/null || ERRS+=("virsh start --paused failed")
    QPID=$(qemu_pid "$DOM" || true) HPID=$(helpers_of "$E") QFD=''
    [[ -z $QPID ]] ||
        QFD=$(tr '\0' '\n' < "/proc/$QPID/cmdline" | sed -n 's/^proxy,id=fsdev-fs0,sock_fd=\([0-9]*\).*/\1/p')
    [[ -n $QPID && -n $HPID && -n $QFD ]] || ERRS+=("no QEMU/helper/sock_fd: '$QPID' '$HPID' '$QFD'")
}

# pc -- COMMANDS...: one client run as QEMU under libvirt: its uid and
# gid, no-new-privs
pc() {
    [[ $1 == -- ]] && shift
    RUN=$((RUN + 1))
    OUT=$E2E/hostusers-$ID.$RUN.out
    ( exec timeout -k 5 60 "$PC" --steal "$QPID:$QFD" --user "$quid:$qgid" --no-new-privs \
          --timeout 3 -- "$@" ) > "$OUT" 2>&1 || ERRS+=("client run $RUN exited $?")
}

# plant_setuid: QEMU has the helper make pxc-suid, a copy of whoami,
# set-uid root (close is the client's own: no request line)
plant_setuid() {
    pc -- create pxc-suid 'wronly|creat|excl' 0755 0 0  write-file 1 "$WHOAMI"  close 1 \
          chmod pxc-suid 04755  lstat pxc-suid
    want 1 'ok fd#1 .*'; want 2 "ok wrote=$(stat -c %s "$WHOAMI")"; want 3 ok
    want 4 'ok .* mode=0104755 type=reg uid=0 gid=0 .*'
    check "$ID: the guest's program is on the host, set-uid root, whoami's bytes" \
        "regular file 4755 0:0 $WHOAMI_SUM" \
        "$(stat -c '%F %a %u:%g' "$E/pxc-suid" 2>&1) $(sha256sum < "$E/pxc-suid" 2>/dev/null | cut -d' ' -f1)"
}

# finish: destroy; no helper, no pidfile; the verdict line
finish() {
    local f
    if [[ $(virsh domstate "$DOM") != "shut off" ]]; then
        virsh destroy "$DOM" >/dev/null 2>&1 || ERRS+=("virsh destroy failed")
    fi
    [[ -z $HPID ]] || wait_gone "$HPID" 10 || ERRS+=("helper $HPID still runs after destroy")
    [[ -z $(pidfiles_of "$DOM") ]] || ERRS+=("pidfile left: $(pidfiles_of "$DOM")")
    N_ATT=$((N_ATT + 1))
    if ((${#ERRS[@]} == 0 && T_FAIL == FAILS_BEFORE)); then
        N_CONT=$((N_CONT + 1))
        pass "$ID contained: $(sed -n 's/^REQ [0-9]* \([a-z-]*\) .* -> \([A-Za-z0-9_]*\).*/\1=\2/p' "$E2E/hostusers-$ID".*.out | paste -sd' ' | cut -c1-200)"
    else
        fail "$ID not contained${ERRS[*]:+: ${ERRS[*]}}"
        for f in "$E2E/hostusers-$ID".*.out; do sed 's/^/    | /' "$f" | cut -c1-200; done
    fi
    rm -f "$E2E/hostusers-$ID".*.out
    # what was planted goes now, not at the end of the test
    defuse "$E" > /dev/null
}

echo "-- U1: a set-uid root program in an export below \$PRIVATE"
attempt U1-setuid "$(fresh_dir hostusers-U1)"
plant_setuid
check_user "U1: the host user cannot run it (no WHOAMI line: no euid 0)" 1 \
    "runuser: failed to execute $E/pxc-suid: Permission denied" "$E/pxc-suid"
check_user "U1: nor list the export" 2 "ls: cannot access '$E': Permission denied" ls "$E"
finish

echo "-- U2: device nodes in an export below \$PRIVATE"
attempt U2-devnodes "$(fresh_dir hostusers-U2)"
pc -- mknod pxc-zero c0666 1:5 0 0  mknod pxc-disk b0666 "$ROOT_DEV" 0 0
want 1 ok; want 2 ok
check "U2: the nodes are on the host, mode 0666" \
    "character special file 1:5 666 0:0|block special file $ROOT_DEV 666 0:0" \
    "$(stat -c '%F %Hr:%Lr %a %u:%g' "$E/pxc-zero" "$E/pxc-disk" 2>&1 | paste -sd'|')"
# the control: the node works; only the path keeps the user out (root
# does not open the root disk's node: this machine refuses that even to
# root, test-hostile H4)
check "U2: root opens the zero node and reads 4 zero bytes" "00 00 00 00" \
    "$(head -c4 "$E/pxc-zero" 2>&1 | od -An -tx1 | tr -s ' ' | sed 's/^ //;s/ $//')"
check_user "U2: the host user cannot open the zero node" 1 \
    "head: cannot open '$E/pxc-zero' for reading: Permission denied" head -c4 "$E/pxc-zero"
check_user "U2: nor the root disk's node" 1 \
    "head: cannot open '$E/pxc-disk' for reading: Permission denied" head -c4 "$E/pxc-disk"
finish

echo "-- U3: the export's root made 0777, a 0777 directory and a 0666 file in it, below \$PRIVATE"
attempt U3-export-0777 "$(fresh_dir hostusers-U3)"
pc -- chmod / 0777  mkdir pxc-open 0777 0 0  chmod pxc-open 0777 \
      create pxc-open/pxc-note 'wronly|creat|excl' 0666 0 0  chmod pxc-open/pxc-note 0666
want 1 ok; want 2 ok; want 3 ok; want 4 'ok fd#1 .*'; want 5 ok
check "U3: on the host the export, its directory and file are open to all" \
    "777 0:0|777 0:0|666 0:0" \
    "$(stat -c '%a %u:%g' "$E" "$E/pxc-open" "$E/pxc-open/pxc-note" 2>&1 | paste -sd'|')"
check_user "U3: the host user cannot list the export" 2 "ls: cannot access '$E': Permission denied" ls "$E"
check_user "U3: nor create a file in it" 1 \
    "touch: cannot touch '$E/pxc-user': Permission denied" touch "$E/pxc-user"
check_user "U3: nor read the 0666 file" 1 \
    "cat: $E/pxc-open/pxc-note: Permission denied" cat "$E/pxc-open/pxc-note"
check "U3: nothing of the host user's in the export" "file pxc-open" "$(ls "$E" | paste -sd' ')"
finish

echo "-- S1: a 0710 root:root directory above the export (group root may search) protects"
mkdir -m 0710 "$DIR0710"
chown 0:0 "$DIR0710"
mkdir -m 0755 "$DIR0710/export"
define_plain e2e-hostusers-S1 "$DIR0710/export"
rc=0 out=$(virsh start --paused e2e-hostusers-S1 2>&1) || rc=$?
check "S1: virsh start --paused" "0 " "$rc ${out//$'\n'/ | }"
h=$(helpers_of "$DIR0710/export")
check "S1: a helper serves it" 1 "$(wc -w <<<"$h")"
check_user "S1: the host user cannot list it" 2 \
    "ls: cannot access '$DIR0710/export': Permission denied" ls "$DIR0710/export"
cleanup_domain e2e-hostusers-S1
[[ -z $h ]] || wait_gone "$h" 10 || fail "S1: helper $h still runs after destroy"

# ------------------------------------------------------- refused at start
N_CONF=0 N_REFUSED=0
# refused ID DESCRIPTION EXPORT LACKS: virsh start fails with libvirt's
# message for EXPORT, and leaves nothing: no helper, no pidfile, no QEMU,
# nothing in the export; counted as a bad configuration (REFUSED_AGAIN=1:
# not counted, the same configuration checked again)
refused() {
    local id=$1 desc=$2 e=$3 dom=e2e-hostusers-$1 helpers before=$T_FAIL tree
    [[ -n ${REFUSED_AGAIN:-} ]] || N_CONF=$((N_CONF + 1))
    define_plain "$dom" "$e"
    helpers=$(helper_count) tree=$(tree_listing "$e")
    expect_error "$id: $desc: refused" "error: Failed to start domain '$dom'
error: $(unprotected_error share "$e" "$4")" start "$dom"
    check "$id: domain shut off" "shut off" "$(virsh domstate "$dom")"
    check "$id: no helper, helper processes unchanged, no pidfile, no QEMU pidfile" \
        "|$helpers||absent" \
        "$(helpers_of "$e" | paste -sd' ')|$(helper_count)|$(pidfiles_of "$dom")|$([[ -e $STATEDIR/$dom.pid ]] && echo present || echo absent)"
    if [[ $(tree_listing "$e") == "$tree" ]]; then
        pass "$id: the export is as before"
    else
        fail "$id: the export changed: $(diff <(echo "$tree") <(tree_listing "$e") | grep '^[<>]' | head -3 | paste -sd' ')"
    fi
    cleanup_domain "$dom"
    [[ -n ${REFUSED_AGAIN:-} ]] || ((T_FAIL > before)) || N_REFUSED=$((N_REFUSED + 1))
}

echo "-- C1-C8: exports host users can reach, refused by virsh start"
mkdir -m 0755 "$OPEN/export"
refused C1 "0755 root:root parents, no nosuid, no nodev" "$OPEN/export" "its mount lacks nosuid and nodev"

mkdir -m 0700 "$OWN"
mkdir -m 0755 "$OWN/export"
chown "$HUID:$HGID" "$OWN"
refused C2 "a parent of the host user's (0700)" "$OWN/export" "its mount lacks nosuid and nodev"

mkdir -m 0750 "$GROUPDIR"
chown "0:$HGID" "$GROUPDIR"
mkdir -m 0755 "$GROUPDIR/export"
check_user "C3: the host user reaches the export through its group" 0 "$GROUPDIR/export" ls -d "$GROUPDIR/export"
refused C3 "a 0750 root parent of the host user's group" "$GROUPDIR/export" "its mount lacks nosuid and nodev"

mkdir -m 0750 "$ACLDIR"
chown 0:0 "$ACLDIR"
setfattr -n system.posix_acl_access -v "$(acl_xattr "$HUID")" "$ACLDIR"
mkdir -m 0755 "$ACLDIR/export"
check "C4: the parent is root:root 0750 (the ACL's mask as group bits)" "750 0:0" "$(stat -c '%a %u:%g' "$ACLDIR")"
check_user "C4: the host user reaches the export through the ACL" 0 "$ACLDIR/export" ls -d "$ACLDIR/export"
refused C4 "a 0750 root:root parent with an ACL for the host user" "$ACLDIR/export" "its mount lacks nosuid and nodev"

ln -s "${OPEN##*/}" "$VIA"
refused C5 "the export named through a symbolic link (the message names the real path)" \
    "$VIA/export" "its mount lacks nosuid and nodev"

mkdir -m 0755 "$MNT_NOSUID" "$MNT_NODEV" "$MNT"
mount -t tmpfs -o nosuid,mode=0755,size=8m proxyfs-hostusers "$MNT_NOSUID"
mount -t tmpfs -o nodev,mode=0755,size=8m proxyfs-hostusers "$MNT_NODEV"
mount -t tmpfs -o nosuid,nodev,mode=0755,size=8m proxyfs-hostusers "$MNT"
mkdir -m 0755 "$MNT_NOSUID/export" "$MNT_NODEV/export" "$MNT/export" "$MNT/export-sub"
mkdir -m 0755 "$MNT/export-sub/sub"
mount -t tmpfs -o mode=0755,size=8m proxyfs-hostusers "$MNT/export-sub/sub"
refused C6 "a tmpfs mounted nosuid only" "$MNT_NOSUID/export" "its mount lacks nodev"
refused C7 "a tmpfs mounted nodev only" "$MNT_NODEV/export" "its mount lacks nosuid"
refused C8 "a nosuid,nodev tmpfs with a plain mount below the export" "$MNT/export-sub" \
    "the mount at '$MNT/export-sub/sub' below it lacks nosuid and nodev"

# ----------------------------------------------- a nosuid,nodev export
echo "-- U4: a set-uid root program in an export on a nosuid,nodev tmpfs (0755 parents)"
attempt U4-setuid-nosuid-mount "$MNT/export"
plant_setuid
check_user "U4: the host user reaches and lists the export" 0 "file
pxc-suid" ls "$E"
check_user "U4: and runs the program with its own euid (nosuid)" 0 \
    "WHOAMI uid=$HUID euid=$HUID gid=$HGID egid=$HGID" "$E/pxc-suid"
finish
rm -f "$E/pxc-suid"

echo "-- U5: device nodes in an export on a nosuid,nodev tmpfs"
attempt U5-devnodes-nodev-mount "$MNT/export"
pc -- mknod pxc-zero c0666 1:5 0 0  mknod pxc-disk b0666 "$ROOT_DEV" 0 0
want 1 ok; want 2 ok
check "U5: the nodes are on the host, mode 0666" \
    "character special file 1:5 666 0:0|block special file $ROOT_DEV 666 0:0" \
    "$(stat -c '%F %Hr:%Lr %a %u:%g' "$E/pxc-zero" "$E/pxc-disk" 2>&1 | paste -sd'|')"
check_user "U5: the host user cannot open the zero node (nodev)" 1 \
    "head: cannot open '$E/pxc-zero' for reading: Permission denied" head -c4 "$E/pxc-zero"
check_user "U5: nor the root disk's" 1 \
    "head: cannot open '$E/pxc-disk' for reading: Permission denied" head -c4 "$E/pxc-disk"
check "U5: nor does root (the mount, not the path, protects here)" \
    "head: cannot open '$E/pxc-zero' for reading: Permission denied" "$(head -c4 "$E/pxc-zero" 2>&1)"
finish
rm -f "$E/pxc-zero" "$E/pxc-disk"

# ------------------------------------------------ the negative control
echo "-- N1: with virtfs_proxy_allow_unprotected_exports = 1 (the negative control)"
if qemu_conf_set "virtfs_proxy_allow_unprotected_exports = 1"; then
    define_plain e2e-hostusers-N1-open "$OPEN/export"
    rc=0 out=$(virsh start --paused e2e-hostusers-N1-open 2>&1) || rc=$?
    check "N1: C1's 0755 export starts" "0 " "$rc ${out//$'\n'/ | }"
    h=$(helpers_of "$OPEN/export")
    check "N1: a helper serves it" 1 "$(wc -w <<<"$h")"
    cleanup_domain e2e-hostusers-N1-open
    [[ -z $h ]] || wait_gone "$h" 10 || fail "N1: helper $h still runs after destroy"
    # the program: below OWN, which only the host user (and root) can reach;
    # set-uid root from the chmod to the rm below
    attempt N1-optout "$OWN/export"
    plant_setuid
    check_user "N1: the host user runs the guest's program with euid 0: the check is what protects" 0 \
        "WHOAMI uid=$HUID euid=0 gid=$HGID egid=$HGID" "$E/pxc-suid"
    rm -f "$E/pxc-suid"
    check "N1: the program is gone" absent "$([[ -e $E/pxc-suid ]] && echo present || echo absent)"
    virsh destroy "$DOM" >/dev/null 2>&1 || true
    ((${#ERRS[@]} == 0)) || fail "N1: ${ERRS[*]}"
    [[ -z $HPID ]] || wait_gone "$HPID" 10 || fail "N1: helper $HPID still runs after destroy"
    rm -f "$E2E/hostusers-N1-optout".*.out
    qemu_conf_restore || true
fi
REFUSED_AGAIN=1 refused C1 "again, once qemu.conf is restored" "$OPEN/export" "its mount lacks nosuid and nodev"

# ------------------------------------------------------------- policies
if [[ $HELPER != "$OWN_HELPER" ]]; then
    echo "-- P1-P3: skipped: the policies are libvirt's helper's (E2E_HELPER=qemu)"
elif ! conf_knows virtfs_proxy_allow_device_nodes || ! conf_knows virtfs_proxy_allow_setid; then
    fail "P1-P3: $PREFIX's libvirt does not know virtfs_proxy_allow_device_nodes and virtfs_proxy_allow_setid (its libvirtd_qemu.aug), which the series has"
else
    echo "-- P1: virtfs_proxy_allow_device_nodes = 0"
    qemu_conf_set "virtfs_proxy_allow_device_nodes = 0" || true
    attempt P1-no-device-nodes "$(fresh_dir hostusers-P1)"
    pc -- mknod pxc-null c0666 1:3 0 0  mknod pxc-loop b0600 7:0 0 0  mknod pxc-wh c0000 0:0 0 0 \
          mknod pxc-fifo p0644 0:0 0 0
    want 1 EPERM; want 2 EPERM; want 3 ok; want 4 ok
    check "P1: on the host: no device node, the whiteout and the FIFO" \
        "absent absent|character special file 0:0|fifo" \
        "$([[ -e $E/pxc-null ]] && echo present || echo absent) $([[ -e $E/pxc-loop ]] && echo present || echo absent)|$(stat -c '%F %Hr:%Lr' "$E/pxc-wh" 2>&1)|$(stat -c '%F' "$E/pxc-fifo" 2>&1)"
    finish
    echo "-- P2: virtfs_proxy_allow_setid = 0"
    qemu_conf_set "virtfs_proxy_allow_setid = 0" || true
    attempt P2-no-setid "$(fresh_dir hostusers-P2)"
    # (Linux's mkdir keeps neither set-ID bit of the mode it is given: a
    # guest's mkdir -m 2775 is a MKDIR and a CHMOD)
    pc -- create pxc-suid 'wronly|creat|excl' 04755 0 0  chmod file 04755  mkdir pxc-sgid 02775 0 0 \
          chmod pxc-sgid 06775  create pxc-sgidf 'wronly|creat|excl' 02755 0 0  chmod pxc-sgidf 02755
    want 1 'ok fd#1 .*'; want 2 ok; want 3 ok; want 4 ok; want 5 'ok fd#2 .*'; want 6 ok
    check "P2: modes on the host: S_ISUID stripped everywhere, S_ISGID kept on the directory only" \
        "pxc-suid 755|file 755|pxc-sgid 2775|pxc-sgidf 755" \
        "$(for f in pxc-suid file pxc-sgid pxc-sgidf; do echo "$f $(stat -c %a "$E/$f" 2>&1)"; done | paste -sd'|')"
    finish
    echo "-- P3: a policy that QEMU's helper cannot enforce refuses its domain"
    qemu_conf_set "virtfs_proxy_allow_device_nodes = 0" || true
    N_CONF=$((N_CONF + 1)) before=$T_FAIL
    e=$(fresh_dir hostusers-P3)
    define_domain e2e-hostusers-P3 "proxyfs.run=none" "$(proxy_fs "$e" share "<binary path='$QEMU_HELPER'/>")"
    expect_error "P3: QEMU's helper named in <binary path>, virtfs_proxy_allow_device_nodes = 0: refused" \
        "error: Failed to start domain 'e2e-hostusers-P3'
error: unsupported configuration: filesystem 'share': virtfs_proxy_allow_device_nodes = 0 in qemu.conf needs libvirt's own virtfs proxy helper, not '$QEMU_HELPER'" \
        start e2e-hostusers-P3
    check "P3: no helper, no pidfile" "|" "$(helpers_of "$e" | paste -sd' ')|$(pidfiles_of e2e-hostusers-P3)"
    cleanup_domain e2e-hostusers-P3
    ((T_FAIL > before)) || N_REFUSED=$((N_REFUSED + 1))
    qemu_conf_restore || true
fi

# ---------------------------------------------- the helper started by hand
if ! "$OWN_HELPER" --help 2>&1 | grep -q -- '--allow-unprotected-export'; then
    fail "H1-H3: $OWN_HELPER has no --allow-unprotected-export, which the series gives it"
else
    # hand_helper EXPORT [OPTION]: the helper on SOCK, by hand, as an
    # administrator would start it for <source socket>; HAND_PID
    hand_helper() {
        rm -f "$SOCK"
        "$OWN_HELPER" -n -s "$SOCK" -u "$quid" -g "$qgid" -p "$1" ${2:+"$2"} > "$E2E/hostusers-hand.log" 2>&1 &
        HAND_PID=$!
    }
    # serving: the socket appears and the helper runs; then it is ended
    serving() {
        local i
        for ((i = 0; i < 50; i++)); do [[ -S $SOCK ]] && break; sleep 0.1; done
        check "$1" "socket alive" "$([[ -S $SOCK ]] && echo socket || echo no-socket) $([[ -d /proc/$HAND_PID ]] && echo alive || echo gone)"
        kill -TERM "$HAND_PID" 2>/dev/null || true
        wait_gone "$HAND_PID" 5 || kill -KILL "$HAND_PID" 2>/dev/null || true
        wait "$HAND_PID" 2>/dev/null || true
        HAND_PID=''
        rm -f "$SOCK"
    }
    echo "-- H1: libvirt's helper started by hand refuses C1's export"
    rm -f "$SOCK"
    rc=0
    timeout -k 2 10 "$OWN_HELPER" -n -s "$SOCK" -u "$quid" -g "$qgid" -p "$OPEN/export" \
        > "$E2E/hostusers-hand.log" 2>&1 || rc=$?
    check "H1: the helper exits at once with a failure" yes "$( ((rc != 0 && rc != 124)) && echo yes || echo "no: status $rc")"
    check "H1: its one line names the export, why, and the ways out" \
        "$OWN_HELPER: $(unprotected_problem "$OPEN/export" "its mount lacks nosuid and nodev"); set-user-ID programs and device nodes that the guest makes there would work for them. Fix one: chmod go-x a root-owned directory above the export, mount the export nosuid,nodev, or pass --allow-unprotected-export" \
        "$(cat "$E2E/hostusers-hand.log")"
    check "H1: no socket" absent "$([[ -e $SOCK ]] && echo present || echo absent)"
    echo "-- H2: with --allow-unprotected-export it serves it"
    hand_helper "$OPEN/export" --allow-unprotected-export
    serving "H2: the helper serves C1's export"
    echo "-- H3: a protected export it serves without the option"
    hand_helper "$(fresh_dir hostusers-H3)"
    serving "H3: the helper serves an export below \$PRIVATE"
fi

echo "containment-hostusers: $N_ATT attempts, $N_CONT contained"
echo "configurations-hostusers: $N_CONF bad configurations, $N_REFUSED refused"
summary "$NAME"
