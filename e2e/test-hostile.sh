#!/bin/bash
# test-hostile.sh - a compromised QEMU against the helper libvirt started.
#
# Each attempt starts a domain with one proxy share through virsh, paused,
# takes a copy of QEMU's end of the socket with pidfd_getfd(2)
# (proxyclient --steal) and, as QEMU's user with no-new-privs like QEMU
# under libvirt, sends the helper what a hostile QEMU would.  After each
# attempt a canary tree next to the exports must be unchanged, no escape
# marker may exist outside the exports, every fd the client got must be an
# inode of its export, and the domain's destroy must leave no helper and no
# pidfile.  e2e/security/containment.sh runs the same kinds of attempts, and
# more, against helpers it starts itself.
# Prints "containment-libvirt: N attempts, M contained" before its summary.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$TOP/e2e/security/transcript-lib.sh"
NAME=test-hostile
e2e_setup "$NAME"

PC=$E2E/bin/proxyclient
mkdir -p "$E2E/bin"
gcc -static -O2 -Wall -Wextra -Werror -o "$PC" "$TOP/e2e/security/proxyclient.c"
quid=$(id -u "$QEMU_USER") qgid=$(id -g "$QEMU_USER")

# The exports are below $PRIVATE (root's alone: the set-uid root programs
# and device nodes made in them are out of other users' reach, and
# e2e_cleanup removes them when the test ends).  The canary: next to the
# exports, so that "../hostile-canary" from an export names it on the host.
CANARY=$PRIVATE/hostile-canary
rm -rf "$CANARY" "$PRIVATE"/hostile-export-* "$E2E"/hostile-canary "$E2E"/hostile-export-*
mkdir -p "$CANARY/dir"
printf 'secret\n' > "$CANARY/secret"
printf 'public\n' > "$CANARY/public"
printf 'inner\n' > "$CANARY/dir/inner"
chmod 0600 "$CANARY/secret"
chmod 0644 "$CANARY/public"
chmod 0750 "$CANARY/dir"
chown 1234:5678 "$CANARY/public"
ln -s secret "$CANARY/link"
setfattr -n user.canary -v intact "$CANARY/public"
touch -h -d '2001-02-03 04:05:06' "$CANARY"/* "$CANARY/dir/inner"
canary_state() {
    tree_listing "$CANARY"
    getfattr -h -R -d -m - "$CANARY" 2>/dev/null | sort
    stat -c '%n %h %i' "$CANARY"/*
}
BASELINE=$(canary_state)
declare -A PROTECTED=()
while read -r di; do PROTECTED[$di]=1; done < <(
    find "$CANARY" -printf '%D:%i\n'; stat -c '%d:%i' / /etc /etc/passwd /etc/shadow "$E2E" "$PRIVATE")

N_ATT=0 N_CONT=0
# where the two helpers answer differently, each one's answer is asserted
ours() { [[ $HELPER == "$OWN_HELPER" ]]; }
ID='' E='' DOM='' QPID='' QFD='' HPID='' OUT='' RUN=0 ERRS=()

# attempt ID [RUNS WAIT]: a fresh export E served by a paused domain's
# helper; with RUNS the guest boots first, mounts the share, runs RUNS and
# is paused once its console shows WAIT. FSEXTRA (say <readonly/>) goes
# into the share's XML; with OWNER (say 100000:100000), the export's top
# directory gets that owner, as an id-mapped share's needs.
attempt() {
    ID=$1 RUN=0 ERRS=()
    local runs=${2:-io:/mnt/share:5:20}
    E=$(fresh_dir "hostile-export-$ID") DOM=e2e-hostile-$ID
    mkdir "$E/sub"
    printf 'inside-export\n' > "$E/file"
    chmod 0755 "$E" "$E/sub"
    [[ -z ${OWNER:-} ]] || chown "$OWNER" "$E"
    define_domain "$DOM" "proxyfs.mounts=share:/mnt/share proxyfs.run=$runs proxyfs.timeout=60" \
        "$(proxy_fs "$E" share "${FSEXTRA:-}")"
    FDS=$(daemon_fds)
    if [[ -z ${2:-} ]]; then
        virsh start --paused "$DOM" >/dev/null
    else
        virsh start "$DOM" >/dev/null
        wait_console "$DOM" "$3" 60 || ERRS+=("the guest did not get to /$3/")
        virsh suspend "$DOM" >/dev/null
    fi
    QPID=$(qemu_pid "$DOM" || true) HPID=$(helpers_of "$E") QFD=''
    [[ -z $QPID ]] ||
        QFD=$(tr '\0' '\n' < "/proc/$QPID/cmdline" | sed -n 's/^proxy,id=fsdev-fs0,sock_fd=\([0-9]*\).*/\1/p')
    [[ -n $QPID && -n $HPID && -n $QFD ]] || ERRS+=("no QEMU/helper/sock_fd: '$QPID' '$HPID' '$QFD'")
}

# pc [--in-cgroup] [--without-no-new-privs] -- COMMANDS...: one client
# run as QEMU would be (in QEMU's cgroups; without the no-new-privs that
# QEMU's seccomp sandbox sets)
pc() {
    local cg=no nnp=--no-new-privs
    while [[ $1 != -- ]]; do
        case $1 in
        --in-cgroup) cg=yes ;;
        --without-no-new-privs) nnp='' ;;
        esac
        shift
    done
    shift                                   # --
    RUN=$((RUN + 1))
    OUT=$E2E/hostile-$ID.$RUN.out
    ( [[ $cg == no ]] || join_cgroups_of "$QPID"
      exec timeout -k 5 60 "$PC" --steal "$QPID:$QFD" --user "$quid:$qgid" ${nnp:+"$nnp"} \
          --timeout 3 -- "$@" ) > "$OUT" 2>&1 || ERRS+=("client run $RUN exited $?")
}

# finish: the checks after every attempt, then destroy; one verdict line
finish() {
    local now line f hits
    declare -A inside=()
    now=$(canary_state)
    [[ $now == "$BASELINE" ]] || ERRS+=("canary changed: $(diff <(echo "$BASELINE") <(echo "$now") | grep '^[<>]' | head -4 | paste -sd' ')")
    hits=$(find / /etc /tmp -maxdepth 1 -name 'pxc-escape*' 2>/dev/null
           find "$E2E" "$PRIVATE" -path "$PRIVATE/hostile-export-*" -prune -o -name 'pxc-escape*' -print | sort -u)
    [[ -z $hits ]] || ERRS+=("escape marker outside the exports: $hits")
    while read -r di; do inside[$di]=1; done < <(find "$E" -printf '%D:%i\n')
    for f in "$E2E/hostile-$ID".*.out; do
        while read -r line; do
            [[ $line =~ \ dev=([0-9]+)\ ino=([0-9]+)\ .*type=([a-z?]+) ]] || continue
            if [[ -n ${PROTECTED[${BASH_REMATCH[1]}:${BASH_REMATCH[2]}]:-} ]]; then
                ERRS+=("fd on a protected inode: ${line:0:160}")
            elif [[ -z ${inside[${BASH_REMATCH[1]}:${BASH_REMATCH[2]}]:-} ]]; then
                ERRS+=("fd outside the export: ${line:0:160}")
            fi
        done < <(grep -E '^REQ .* fd#' "$f")
    done
    if [[ $(virsh domstate "$DOM") != "shut off" ]]; then
        virsh destroy "$DOM" >/dev/null 2>&1 || ERRS+=("virsh destroy failed")
    fi
    wait_gone "$HPID" 10 || ERRS+=("helper $HPID still runs after destroy")
    [[ -z $(pidfiles_of "$DOM") ]] || ERRS+=("pidfile left: $(pidfiles_of "$DOM")")
    N_ATT=$((N_ATT + 1))
    if ((${#ERRS[@]} == 0)); then
        N_CONT=$((N_CONT + 1))
        pass "$ID contained: $(sed -n 's/^REQ [0-9]* \([a-z-]*\) .* -> \([A-Za-z0-9_]*\).*/\1=\2/p' "$E2E/hostile-$ID".*.out | paste -sd' ' | cut -c1-200)"
    else
        fail "$ID: ${ERRS[*]}"
        for f in "$E2E/hostile-$ID".*.out; do sed 's/^/    | /' "$f" | cut -c1-200; done
    fi
}

echo "-- H1: .. chains, absolute paths, an embedded NUL"
attempt H1-traversal
pc -- lstat ../hostile-canary/secret  open ../../../../etc/shadow rdonly  open /etc/passwd rdonly \
      create ../../pxc-escape-dotdot 'wronly|creat' 0644 0 0  chmod ../hostile-canary/secret 0777 \
      lstat ..  open 'file\0/../../hostile-canary/secret' rdonly  lstat "$CANARY/public"
want 1 ENOENT; want 2 ENOENT; want 3 ENOENT; want 4 'ok fd#1 .*'; want 5 ENOENT
# QEMU's helper opens what precedes the NUL; libvirt's refuses the name
want 6 "ok $(ino_re "$E") .*"; want 8 ENOENT
if ours; then want 7 EINVAL; else want 7 "ok fd#2 $(ino_re "$E/file") .*"; fi
host "../../ create landed at the export root" test -f "$E/pxc-escape-dotdot"
finish

echo "-- H2: symbolic links to /, .. and the canary"
attempt H2-symlinks
pc -- symlink / pxc-root 0 0  open pxc-root/etc/passwd rdonly  symlink ../.. pxc-up 0 0 \
      chmod pxc-up/hostile-canary/secret 0777  chown pxc-up/hostile-canary/public 0 0 \
      truncate pxc-up/hostile-canary/public 0  rename pxc-up/hostile-canary/public pxc-stolen \
      symlink "$CANARY/secret" pxc-sl 0 0  open pxc-sl rdonly  open pxc-root directory
want 1 ok; want 2 ENOENT; want 3 ok; for n in 4 5 6 7; do want $n ENOENT; done
# QEMU's helper follows a link it opens, inside its chroot; libvirt's
# opens nothing through a link (a 9p client resolves links itself)
want 8 ok
if ours; then want 9 ELOOP; want 10 ELOOP; else want 9 ENOENT; want 10 "ok fd#1 $(ino_re "$E") .*"; fi
finish

echo "-- H3: hard links to files outside"
attempt H3-hardlinks
pc -- link ../hostile-canary/secret pxc-hl  link /etc/shadow pxc-hl  link "$CANARY/secret" pxc-hl \
      link file ../../pxc-escape-hl
want 1 ENOENT; want 2 ENOENT; want 3 ENOENT; want 4 ok
host "canary secret still has one link" test "$(stat -c %h "$CANARY/secret")" = 1
finish

# QEMU's helper opens the node, and the nodev mount of its namespace refuses
# (its CVE-2023-2861 check would come after the open); libvirt's refuses
# any device node with ENXIO before it opens anything.
echo "-- H4: device nodes through the helper (CVE-2023-2861)"
attempt H4-devnode
pc -- mknod pxc-null c0666 1:3 0 0  open pxc-null rdonly  open pxc-null wronly \
      mknod pxc-null2 c0666 1:3 1000 1000  mknod pxc-disk b0600 "$(mountpoint -d /)" "$quid" "$qgid"
want 1 ok; want 4 EPERM; want 5 EPERM
if ours; then want 2 ENXIO; want 3 ENXIO; else want 2 EACCES; want 3 EACCES; fi
finish

echo "-- H5: a root-only device node opened by QEMU itself, in the domain's cgroups"
# The nodev mount refuses first (EACCES); the domain's device cgroup (EPERM)
# is the guard behind it.
attempt H5-devnode-cgroup
pc --in-cgroup -- mknod pxc-hwrng c0600 10:183 0 0  chown pxc-hwrng "$quid" "$qgid" \
      open / directory  local-openat 1 pxc-hwrng rdonly
want 1 ok; want 2 ok; want 3 'ok fd#1 .*'; want 4 EACCES
finish

# setuid_attempt [pc options]: the client copies itself into a new file,
# has the helper make it set-uid root and executes it through a directory
# fd; it must run with QEMU's uid as its effective uid
setuid_attempt() {
    pc "$@" -- create pxc-suid 'wronly|creat|excl' 0755 0 0  write-self 1  close 1 \
          chmod pxc-suid 04755  open / directory  local-execat 2 pxc-suid
    want 1 'ok fd#1 .*'; want 2 'ok wrote=[0-9]+'; want 3 ok; want 4 'ok fd#2 .*'
    want 5 "ok out=\"WHOAMI uid=$quid euid=$quid .*"
}

echo "-- H6: a set-uid root program made in the export, executed by QEMU"
attempt H6-setuid
setuid_attempt
host "the set-uid root file stays in the export" test "$(stat -c '%a %u' "$E/pxc-suid")" = "4755 0"
finish

# The guest is paused while it writes files: its requests after the helper
# died fail with EIO.  (Paused before its first request, the guest's mkdir
# failed with EINVAL, and a mount after the helper died fails with EINVAL.)
echo "-- H7: an oversized request: the helper exits, the guest gets EIO, libvirt cleans up"
attempt H7-oversized io:/mnt/share:100000:60 '^PROBE-IO synced 25$'
pc -- raw 8 65537 fill:65537  lstat file
# one send (header and payload) that fits the socket's buffer; the helper
# reads the header alone and hangs up with the payload unread: a reset,
# then nothing to send to (as containment's A28)
want 1 ECONNRESET; want 2 EPIPE
wait_gone "$HPID" 5 || ERRS+=("the helper survived an oversized request")
virsh resume "$DOM" >/dev/null
wait_console "$DOM" '^PROBE-IO done ' 60 || ERRS+=("the guest's io did not end")
line=$(console "$DOM" | grep -E '^PROBE [a-z]+ .* FAIL ' | head -n 1)
[[ $line =~ ^PROBE\ (open|write|fsync|close)\ /mnt/share/io/f[0-9]+\ FAIL\ EIO$ ]] ||
    ERRS+=("guest: no EIO from the share: '$line'")
echo "    guest: $line"
list=$(virsh_t 10 list 2>&1) || true
[[ $list =~ $DOM ]] || ERRS+=("virsh list does not answer with the domain: $list")
finish
wait_fds "$FDS"
check "H7: daemon fd count back after destroy" "$FDS" "$(daemon_fds)"

echo "-- H8: an unknown request type"
attempt H8-unknown-type
pc -- raw 99 0 -  lstat file
want 1 EOF; want 2 EPIPE
wait_gone "$HPID" 5 || ERRS+=("the helper survived an unknown request")
finish

# H9-H11: what the helper's mount namespace holds, with nothing else in the
# way: no device cgroup, no no-new-privs, and a helper that writes what it
# is asked to (kbase: security model)
echo "-- H9: a device node made by the helper, opened by QEMU outside any device cgroup"
attempt H9-devnode-bare
pc -- mknod pxc-null c0600 1:3 0 0  chown pxc-null "$quid" "$qgid" \
      open / directory  local-openat 1 pxc-null rdonly
want 1 ok; want 2 ok; want 3 'ok fd#1 .*'; want 4 EACCES
host "the node is a character device 1:3 of QEMU's user" \
    test "$(stat -c '%F %t:%T %u' "$E/pxc-null")" = "character special file 1:3 $quid"
finish

echo "-- H10: a set-uid root program, executed by a QEMU without no-new-privs"
attempt H10-setuid-bare
setuid_attempt --without-no-new-privs
host "the file is set-uid root" test "$(stat -c '%a %u' "$E/pxc-suid")" = "4755 0"
finish

echo "-- H11: writes to a <readonly/> export through its helper"
FSEXTRA='<readonly/>' attempt H11-readonly-write
before=$(tree_listing "$E"; getfattr -h -R -d -m - "$E" 2>/dev/null)
pc -- create pxc-new 'wronly|creat|excl' 0644 0 0  open file wronly  open file 'rdwr|trunc' \
      mkdir pxc-dir 0755 0 0  mknod pxc-node c0600 1:3 0 0  symlink file pxc-sl 0 0 \
      link file pxc-hl  chmod file 0666  chown file 1 1  truncate file 0  utime file 0 \
      rename file pxc-renamed  remove file  remove sub  lsetxattr file user.pxc x - 0 \
      open file rdonly
for n in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do want "$n" EROFS; done
want 16 "ok fd#1 $(ino_re "$E/file") .*"
host "the export is unchanged" test "$(tree_listing "$E"; getfattr -h -R -d -m - "$E" 2>/dev/null)" = "$before"
finish

# H12-H13: the helper of an id-mapped share (libvirt's only: libvirt
# refuses QEMU's for it). The kernel maps whatever QEMU asks for: what it
# makes belongs to the mapped range, device nodes and ids outside the map
# fail, the files of host root's (the export's file and sub) are out of its
# reach, and a set-uid program it makes runs as the mapped root, not root.
IDMAP="<idmap><uid start='0' target='100000' count='65536'/><gid start='0' target='100000' count='65536'/></idmap>"
if ours; then
    echo "-- H12: device nodes, ids outside the map and host root's files, on an id-mapped share"
    FSEXTRA=$IDMAP OWNER=100000:100000 attempt H12-idmap
    pc -- mknod pxc-null c0666 1:3 0 0  mknod pxc-disk b0600 "$(mountpoint -d /)" 0 0 \
          create pxc-root 'wronly|creat|excl' 06755 0 0  chown pxc-root 70000 0 \
          create pxc-far 'wronly|creat|excl' 0644 70000 0  chown file 0 0  chmod file 04777 \
          chown pxc-root 4294967294 0  mkdir pxc-dir 0777 1000 1000  rename file pxc-moved \
          remove file
    want 1 EPERM; want 2 EPERM; want 3 'ok fd#1 .*'; want 4 EINVAL; want 5 EPERM; want 6 EPERM
    want 7 EPERM; want 8 EINVAL; want 9 ok; want 10 ok; want 11 ENOENT
    host "no device node in the export" test -z "$(find "$E" \( -type b -o -type c \) -print)"
    host "what QEMU made is the mapped range's: pxc-root 100000:100000 6755" \
        test "$(stat -c '%u:%g %a' "$E/pxc-root")" = "100000:100000 6755"
    host "pxc-dir 101000:101000 777" test "$(stat -c '%u:%g %a' "$E/pxc-dir")" = "101000:101000 777"
    host "host root's file is unchanged, and only moved" \
        test "$(stat -c '%u:%g %a' "$E/pxc-moved")" = "0:0 644"
    host "nothing new of host root's" \
        test "$(find "$E" -mindepth 1 -uid 0 -printf '%P\n' | sort | paste -sd' ')" = "pxc-moved sub"
    finish

    # executed through the helper's directory fd, the file is on the helper's
    # nosuid copy of the export (as in H10); on the host it is set-uid to
    # the mapped root, which test-idmap runs as an unprivileged host user
    echo "-- H13: a set-uid program made on an id-mapped share, executed without no-new-privs"
    FSEXTRA=$IDMAP OWNER=100000:100000 attempt H13-idmap-setuid
    pc --without-no-new-privs -- create pxc-suid 'wronly|creat|excl' 0755 0 0  write-self 1  close 1 \
          chmod pxc-suid 04755  open / directory  local-execat 2 pxc-suid
    want 1 'ok fd#1 .*'; want 2 'ok wrote=[0-9]+'; want 3 ok; want 4 'ok fd#2 .*'
    want 5 "ok out=\"WHOAMI uid=$quid euid=$quid .*"
    host "the file is set-uid 100000, not root" test "$(stat -c '%a %u' "$E/pxc-suid")" = "4755 100000"
    finish
fi

echo "containment-libvirt: $N_ATT attempts, $N_CONT contained"
summary "$NAME"
