# Pieces of e2e/security/test-hostusers.sh that other tests may want:
# an unprivileged host user, commands run as that user, libvirt's refusal
# message for an export host users can reach, qemu.conf settings for the
# private daemon.  Sourced after e2e/lib.sh, never run.
# shellcheck shell=bash disable=SC2034  # HUID, HGID: for the scripts that source it

HOST_USER=${E2E_HOST_USER:-proxyfs-hostuser} # an unprivileged user of the host
RUNUSER=/usr/sbin/runuser

# ensure_host_user: the dedicated system user exists (kept, like QEMU's
# user), with no supplementary group; sets HUID and HGID
ensure_host_user() {
    getent group "$HOST_USER" >/dev/null || groupadd --system "$HOST_USER"
    getent passwd "$HOST_USER" >/dev/null ||
        useradd --system --gid "$HOST_USER" --no-create-home \
                --home-dir /nonexistent --shell /usr/sbin/nologin "$HOST_USER"
    HUID=$(id -u "$HOST_USER") HGID=$(id -g "$HOST_USER")
    [[ $(id -G "$HOST_USER") == "$HGID" ]] ||
        die "$HOST_USER is in other groups than its own: $(id -nG "$HOST_USER")"
}

# as_user CMD...: CMD run by the host user, with an empty environment, in
# /, its output (stdout and stderr) on stdout and runuser's status.
# runuser, not setpriv: setpriv keeps root's capabilities effective up to
# its execve (PR_SET_KEEPCAPS, then capset), so the kernel resolves the
# program's path as root: a set-uid program below a 0700 root directory
# then runs, with euid 0, for a user who cannot reach it (seen with
# util-linux 2.38.1).  runuser drops everything before it executes CMD.
as_user() {
    (cd / && env -i PATH=/usr/bin:/bin LC_ALL=C "$RUNUSER" -u "$HOST_USER" -- "$@") 2>&1
}

# check_user CHECK-DESCRIPTION EXPECTED-STATUS EXPECTED-OUTPUT CMD...: CMD
# as the host user gives exactly that output and status
check_user() {
    local desc=$1 want_rc=$2 want=$3 got rc=0
    shift 3
    got=$(as_user "$@") || rc=$?
    check "$desc" "$want (status $want_rc)" "$got (status $rc)"
}

# unprotected_problem EXPORT LACKS: what virProxyExportCheckProtected says
# of EXPORT (its real path, its parent's owner, group and mode), given
# the clause about the mounts ("its mount lacks nosuid and nodev", ...)
unprotected_problem() {
    local real parent u g m
    real=$(readlink -f -- "$1")
    parent=$(dirname -- "$real")
    read -r u g m < <(stat -c '%u %g %a' -- "$parent")
    printf "export '%s' is open to unprivileged host users: no directory above it is owned by root and closed to others (its parent '%s' has owner %s, group %s and mode %04o), and %s" \
        "$real" "$parent" "$u" "$g" "$((8#$m))" "$2"
}

# unprotected_error TARGET EXPORT LACKS: virsh's error line for it
unprotected_error() {
    printf "unsupported configuration: proxy filesystem '%s': %s; set-user-ID programs and device nodes that the guest makes there would work for them. Fix one: chmod go-x a root-owned directory above the export, mount the export nosuid,nodev, or set virtfs_proxy_allow_unprotected_exports = 1 in qemu.conf" \
        "$1" "$(unprotected_problem "$2" "$3")"
}

# acl_xattr UID: the value of system.posix_acl_access (hex) that gives the
# owner rwx, user UID r-x, the group r-x and others nothing (no setfacl
# needed): version 2, then (tag u16, perm u16, id u32) little-endian
acl_xattr() {
    local le
    le=$(printf '%02x%02x%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))
    printf '0x02000000%s%s%s%s%s' 01000700ffffffff "02000500$le" 04000500ffffffff \
        10000500ffffffff 20000000ffffffff
}

# ------------------------------------------------------- qemu.conf settings
QEMU_CONF_EXTRA=''                  # what qemu_conf_set added, for the trap

# qemu_conf_set LINE...: the private daemon's qemu.conf as e2e/lib.sh
# writes it plus LINE..., and virtqemud restarted to read it (no domain
# may run: libvirt would keep it, but the tests here expect none).  Only a
# daemon this script started: one that another test or another person's
# run uses is not restarted under them (a FAIL, and status 1)
qemu_conf_set() {
    if [[ " ${STARTED_DAEMONS[*]} " != *" virtqemud "* ]]; then
        fail "qemu.conf not changed for '$*': virtqemud runs for someone else (pid $(daemon_pid virtqemud || echo '?')); run this test on a quiet daemon"
        return 1
    fi
    write_daemon_config
    printf '%s\n' "# Added by ${0##*/} for one check; restored when it ends." "$@" \
        >> "$PREFIX/etc/libvirt/qemu.conf"
    QEMU_CONF_EXTRA="$*"
    daemon_restart_checked "for '$*'"
}

# daemon_restart_checked WHY: restart_virtqemud, then a new virtqemud must
# answer (a FAIL naming the old and new pids, and status 1, otherwise).
# The daemons' pidfiles are shared by every run of the harness: when the
# new daemon did not come up, another run may have started one in between
# (seen: its "Failed to acquire pid file .../driver.pid"), which is not
# ours to stop at the end
daemon_restart_checked() {
    local old new n
    old=$(daemon_pid virtqemud || echo none)
    restart_virtqemud || true
    new=$(daemon_pid virtqemud || echo none)
    if [[ $new == none || $new == "$old" ]] || ! virsh_t 30 uri >/dev/null 2>&1; then
        fail "virtqemud restarted $1: pid $old, then $new, not answering; another run of the harness may have started one meanwhile: left alone"
        for n in "${!STARTED_DAEMONS[@]}"; do
            [[ ${STARTED_DAEMONS[$n]} != virtqemud ]] || unset 'STARTED_DAEMONS[n]'
        done
        write_daemon_config             # whoever runs now gets lib.sh's qemu.conf
        QEMU_CONF_EXTRA=''
        return 1
    fi
}

# qemu_conf_restore: back to e2e/lib.sh's qemu.conf (if qemu_conf_set
# changed it), virtqemud restarted if it runs
qemu_conf_restore() {
    [[ -n $QEMU_CONF_EXTRA ]] || return 0
    write_daemon_config
    QEMU_CONF_EXTRA=''
    if [[ " ${STARTED_DAEMONS[*]} " == *" virtqemud "* ]] && daemon_pid virtqemud >/dev/null; then
        daemon_restart_checked "with e2e/lib.sh's qemu.conf"
    fi
}

# conf_knows SETTING: the installed libvirt reads SETTING from qemu.conf
# (its augeas lens lists it)
conf_knows() {
    grep -q "\"$1\"" "$PREFIX/share/augeas/lenses/libvirtd_qemu.aug" 2>/dev/null
}
