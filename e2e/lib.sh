# Shared pieces of the end-to-end tests: the private libvirt (virtlogd and
# virtqemud from the isolated prefix, started and stopped by pid), the
# unprivileged qemu user, domain XML for the test guest, and assertions.
# Sourced, never run.
# shellcheck shell=bash

. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

# E2E_* variables point these at another libvirt (tests/deb: the system's);
# unset, they are the private daemon's in $PREFIX.
E2E=${E2E_DIR:-$WORK/e2e}           # state of a run: logs, consoles, pids, results
# Proxy exports live below PRIVATE, a directory of root's alone (0700
# root:root, made and checked by ensure_private): a guest's root makes
# set-uid root programs and device nodes in a proxy export, and libvirt
# refuses, by default, an export that unprivileged host users can reach on
# a mount that honours them.  Stock 9p shares, which QEMU's unprivileged
# user opens by path, cannot live there (shared_dir).
# PRIVATE and SOCKDIR, where the harness's own sockets go (a helper started
# by hand), are below SHORT, the checkout's short directory outside it
# (scripts/lib.sh): a UNIX socket path holds 107 bytes and a path 4096, and
# the exports hold a file 4000 bytes deep. With E2E_DIR set (tests/deb, the
# system VM) they stay below it, as before.
if [[ -n ${E2E_DIR:-} ]]; then
    PRIVATE=$E2E/private
    SOCKDIR=$E2E
else
    PRIVATE=$SHORT/private
    SOCKDIR=$SHORT/sock              # 0711: QEMU's user connects to its sockets
fi
GUEST=${E2E_GUEST:-$WORK/guest}     # kernel, initramfs (e2e/guest/build-guest.sh)
QEMU_USER=${E2E_QEMU_USER:-proxyfs-qemu} # the unprivileged user QEMU runs as
LIBDIR=${E2E_LIBDIR-$PREFIX/lib/x86_64-linux-gnu}
URI=${E2E_URI:-"qemu:///system?socket=$VARDIR/run/libvirt/virtqemud-sock"}
LIBEXECDIR=${E2E_LIBEXECDIR:-$PREFIX/libexec}
# the two helpers: libvirt's own (the default of qemu.conf) and QEMU's, from
# Debian's qemu-system-common
OWN_HELPER=$LIBEXECDIR/libvirt_virtfs_proxy_helper
QEMU_HELPER=/usr/lib/qemu/virtfs-proxy-helper
# E2E_HELPER=qemu runs the tests on QEMU's helper, selected in qemu.conf
case ${E2E_HELPER:-libvirt} in
    libvirt) HELPER=$OWN_HELPER ;;
    qemu) HELPER=$QEMU_HELPER ;;
    *) die "E2E_HELPER is 'libvirt' or 'qemu', not '$E2E_HELPER'" ;;
esac

# helper_log_started EXPORT: the first line of the helper's log,
# once it serves; helper_log_done: its last, once QEMU closed its socket
helper_log_started() {
    if [[ $HELPER == "$OWN_HELPER" ]]; then
        echo "$HELPER: serving $1"
    else
        echo Started
    fi
}
helper_log_done() {
    if [[ $HELPER == "$OWN_HELPER" ]]; then
        echo "$HELPER: client closed the connection, exiting"
    else
        echo Done
    fi
}
# wait_until SECONDS COMMAND...: run COMMAND every 0.1 s until it
# succeeds (0) or SECONDS have passed (1)
wait_until() {
    local i secs=$1
    shift
    for ((i = 0; i < secs * 10; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
# helper_log_last FILE: the last line of a helper's log FILE, once it is
# helper_log_done's (5 s at most): virtlogd writes what the helper said
# last a moment after the helper has gone, later still on a loaded machine
helper_log_ended() { [[ $(tail -n 1 "$1" 2>/dev/null) == "$(helper_log_done)" ]]; }
helper_log_last() {
    wait_until 5 helper_log_ended "$1" || true
    tail -n 1 "$1" 2>/dev/null || true
}
STATEDIR=${E2E_STATEDIR:-$VARDIR/run/libvirt/qemu}
VIRSH=${E2E_VIRSH:-$PREFIX/bin/virsh}
SBINDIR=${E2E_SBINDIR:-$PREFIX/sbin}  # the daemons

virsh() { LD_LIBRARY_PATH=$LIBDIR "$VIRSH" -q -c "$URI" "$@"; }
# virsh_t SECONDS ARGS...: virsh, killed if it does not answer in time
virsh_t() {
    local t=$1
    shift
    LD_LIBRARY_PATH=$LIBDIR timeout "$t" "$VIRSH" -q -c "$URI" "$@"
}

# ---------------------------------------------------------------- assertions
T_PASS=0 T_FAIL=0 T_SKIP=0
pass() { T_PASS=$((T_PASS + 1)); echo "ok   - $*"; }
# skip WHY: a check that could not run here: counted apart, never a pass
skip() { T_SKIP=$((T_SKIP + 1)); echo "skip - $*"; }
CUR_DOM=''                          # the domain a failed assertion is about
declare -A DUMPED=()
fail() {
    T_FAIL=$((T_FAIL + 1))
    echo "FAIL - $*"
    if [[ -n $CUR_DOM && -z ${DUMPED[$CUR_DOM]:-} ]]; then
        DUMPED[$CUR_DOM]=1
        debug_dump "$CUR_DOM"
    fi
}
check() { # check DESCRIPTION EXPECTED ACTUAL
    # (multi-line values are shown on one line, their lines joined by " | ")
    if [[ $2 == "$3" ]]; then
        pass "$1 (${3//$'\n'/ | })"
    else
        fail "$1: expected '${2//$'\n'/ | }', got '${3//$'\n'/ | }'"
    fi
}
check_match() { # check_match DESCRIPTION REGEX ACTUAL
    if [[ $3 =~ $2 ]]; then pass "$1"; else fail "$1: '$3' does not match /$2/"; fi
}
summary() { # summary NAME: the plain closing line, and the exit status
    # (", K skipped" when a check was skipped: a parser that wants the
    # plain line then finds none, and a skip never reads as a pass)
    echo "$1: $T_PASS passed, $T_FAIL failed$( ((T_SKIP == 0)) || echo ", $T_SKIP skipped")"
    ((T_FAIL == 0))
}

# ---------------------------------------------------------------- the qemu user
ensure_qemu_user() {
    if ! getent group "$QEMU_USER" >/dev/null; then
        groupadd --system "$QEMU_USER"
    fi
    if ! getent passwd "$QEMU_USER" >/dev/null; then
        useradd --system --gid "$QEMU_USER" --no-create-home \
                --home-dir /nonexistent --shell /usr/sbin/nologin "$QEMU_USER"
    fi
    # Like Debian's libvirt-qemu, the user may use /dev/kvm: it joins group
    # kvm, and the group that owns /dev/kvm where that is another one (on
    # some build machines the node's group is a number that /etc/group
    # gives another name).  Without it libvirt finds /dev/kvm inaccessible
    # to QEMU's user while its probe (which keeps its capabilities) used
    # KVM, considers its cached capabilities stale ("KVM was enabled when
    # probing ..., but it is not available now") and probes the QEMU binary
    # twice on every define and start (2 s each here), and every binary
    # when the daemon starts.  The domains stay TCG (<domain type='qemu'>).
    local group
    for group in kvm $([[ -c /dev/kvm ]] && stat -c %g /dev/kvm); do
        getent group "$group" >/dev/null || continue
        group=$(getent group "$group" | cut -d: -f1)
        id -nG "$QEMU_USER" | grep -qw -- "$group" || usermod -a -G "$group" "$QEMU_USER"
    done
}

# ---------------------------------------------------------------- daemons
write_daemon_config() {
    local etc=$PREFIX/etc/libvirt helper_conf
    helper_conf="# No virtfs_proxy_helper: libvirt's own helper, the default."
    [[ $HELPER == "$OWN_HELPER" ]] || helper_conf="# QEMU's helper, from Debian's qemu-system-common.
virtfs_proxy_helper = \"$HELPER\""
    cat > "$etc/.qemu.conf.new" <<CONF
# Written by e2e/lib.sh for the private test daemon.

# QEMU runs unprivileged, as a dedicated user like Debian's libvirt-qemu:
# that is the point of proxy filesystems.
user = "$QEMU_USER"
group = "$QEMU_USER"

# libvirt's per-domain mount namespace fails in this environment
# ("failed to umount devfs on /dev"), so run QEMU in the host's namespace.
namespaces = [ ]

# Helpers' and QEMU's output go through our own virtlogd.
stdio_handler = "logd"

$helper_conf
CONF
    mv -f "$etc/.qemu.conf.new" "$etc/qemu.conf"       # no reader sees half of it
    cat > "$etc/virtqemud.conf" <<CONF
# Written by e2e/lib.sh: a log of what the daemon did, for failed tests.
log_filters = "1:util.conf 1:qemu.qemu_extdevice 1:qemu.virtfs_proxy 1:qemu.qemu_process 1:qemu.virtfs_proxy_helper 1:util.command 1:util.cgroup 2:qemu"
log_outputs = "1:file:$E2E/virtqemud.log"
CONF
}

daemon_pid() { # daemon_pid NAME: the pid of our daemon NAME, if it runs
    local f=$E2E/$1.pid pid
    [[ -f $f ]] || return 1
    pid=$(cat "$f")
    [[ -n $pid && -d /proc/$pid ]] || return 1
    # A daemon that runs while make install replaced its binary shows
    # ".../sbin/NAME (deleted)": it is still ours.
    case $(readlink "/proc/$pid/exe") in
        "$SBINDIR/$1"|"$SBINDIR/$1 (deleted)") ;;
        *) return 1 ;;
    esac
    echo "$pid"
}

STARTED_DAEMONS=()                  # the daemons this process started
start_one_daemon() { # start_one_daemon NAME SOCKET
    local name=$1 sock=$2 i
    daemon_pid "$name" >/dev/null && return 0
    STARTED_DAEMONS+=("$name")
    LD_LIBRARY_PATH=$LIBDIR "$SBINDIR/$name" --daemon --pid-file "$E2E/$name.pid"
    for ((i = 0; i < 100; i++)); do
        [[ -S $sock ]] && daemon_pid "$name" >/dev/null && return 0
        sleep 0.1
    done
    echo "e2e: $name did not come up" >&2
    return 1
}

start_daemons() {
    [[ -x $PREFIX/sbin/virtqemud ]] || die "no private libvirt in $PREFIX (make install)"
    mkdir -p "$E2E"
    ensure_short                    # the daemons' state directories are below it
    ensure_qemu_user
    local try
    for try in 1 2; do
        write_daemon_config
        start_one_daemon virtlogd "$VARDIR/run/libvirt/virtlogd-sock"
        start_one_daemon virtqemud "$VARDIR/run/libvirt/virtqemud-sock"
        daemon_read_config && return 0
        # never the daemon of whoever called us: we started it, so we stop it
        stop_one_daemon virtqemud
        ((try == 1)) || die "virtqemud ignored e2e/lib.sh's qemu.conf twice (above)"
        echo "HARNESS-WARNING: virtqemud ignored e2e/lib.sh's qemu.conf (above); starting it once more" |
            tee -a "$WORK/harness-warnings" >&2
    done
}

# daemon_read_config: the virtqemud we started read the qemu.conf that
# write_daemon_config wrote. Twice so far, a run of make check had a
# daemon that ran every domain in a per-domain mount namespace ("failed to
# umount devfs on /dev"), as if its qemu.conf lacked "namespaces = [ ]";
# the daemon's log (util.conf, write_daemon_config) names every setting it
# parsed, so this asks the log, once the daemon answers (it reads qemu.conf
# after its socket is there), and says what it found if it is wrong.
# daemon_parsed: the settings that the running virtqemud parsed from its
# configuration files, from its log: the lines from the last "libvirt
# version" line on, which a daemon writes before its first message. The
# daemon reads qemu.conf when its drivers start, which may be after its
# socket is there.
daemon_parsed() {
    awk '/ info : libvirt version: /{n = NR} {l[NR] = $0} END {for (i = n; i <= NR; i++) print l[i]}' "$E2E/virtqemud.log" |
        sed -n 's/.* debug : virConfAddEntry:[0-9]* : Add entry \([a-z_]*\) .*/\1/p' | sort -u | paste -sd' '
}
daemon_parsed_has() { [[ " $(daemon_parsed) " == *" $1 "* ]]; }
daemon_read_config() {
    local pid i
    [[ " ${STARTED_DAEMONS[*]} " == *" virtqemud "* ]] || return 0   # not ours
    pid=$(daemon_pid virtqemud) || return 0
    for ((i = 0; i < 100; i++)); do
        virsh_t 5 uri >/dev/null 2>&1 && break
        sleep 0.1
    done
    local entries
    entries=$(daemon_parsed)
    [[ " $entries " == *" namespaces "* ]] && return 0
    {
        echo "e2e: virtqemud (pid $pid) did not read 'namespaces' from $PREFIX/etc/libvirt/qemu.conf"
        echo "    settings it parsed (its log, util.conf): ${entries:-none}"
        echo "    qemu.conf now: $(stat -c '%s bytes, modified %y, changed %z' "$PREFIX/etc/libvirt/qemu.conf")"
        grep -Ev '^[[:space:]]*(#|$)' "$PREFIX/etc/libvirt/qemu.conf" | sed 's/^/    | /'
        echo "    virtqemud processes: $(pgrep -a virtqemud | paste -sd';')"
    } >&2
    return 1
}

stop_one_daemon() { # stop_one_daemon NAME: ours only, by pid
    local pid i
    pid=$(daemon_pid "$1") || { rm -f "$E2E/$1.pid"; return 0; }
    kill "$pid"
    for ((i = 0; i < 100; i++)); do
        [[ -d /proc/$pid ]] || break
        sleep 0.1
    done
    [[ -d /proc/$pid ]] && kill -9 "$pid"
    rm -f "$E2E/$1.pid"
}

# restart_virtqemud: stop our virtqemud by pid and start it again; whoever
# started the first one owns the new one (a test run from run.sh must not
# stop the runner's daemon when it exits)
restart_virtqemud() {
    local saved=("${STARTED_DAEMONS[@]}")
    stop_one_daemon virtqemud
    start_one_daemon virtqemud "$VARDIR/run/libvirt/virtqemud-sock"
    STARTED_DAEMONS=("${saved[@]}")
}

stop_daemons() {
    stop_one_daemon virtqemud
    stop_one_daemon virtlogd
}

# stop_started_daemons: stop only the daemons this process started (a test
# run from run.sh finds them running and leaves them alone)
stop_started_daemons() {
    local name
    for name in virtqemud virtlogd; do
        if [[ " ${STARTED_DAEMONS[*]} " == *" $name "* ]]; then
            stop_one_daemon "$name"
        fi
    done
    STARTED_DAEMONS=()
}

# ---------------------------------------------------------------- domains
# domain_xml NAME CMDLINE FILESYSTEM-XML...: a TCG guest with our kernel and
# initramfs; its serial console goes to $E2E/NAME.console.
domain_xml() {
    local name=$1 cmdline=$2 fs
    shift 2
    cat <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$GUEST/vmlinuz</kernel>
    <initrd>$GUEST/initramfs.gz</initrd>
    <cmdline>console=ttyS0 panic=-1 $cmdline</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
XML
    for fs in "$@"; do
        printf '%s\n' "$fs"
    done
    cat <<XML
    <serial type='file'>
      <source path='$E2E/$name.console'/>
    </serial>
    <console type='file'>
      <source path='$E2E/$name.console'/>
    </console>
    <memballoon model='none'/>
  </devices>
</domain>
XML
}

# proxy_fs DIR TAG [EXTRA-XML]
proxy_fs() {
    printf "    <filesystem type='mount' accessmode='passthrough'>\n      <driver type='proxy'/>\n      <source dir='%s'/>\n      <target dir='%s'/>\n%s    </filesystem>" \
        "$1" "$2" "${3:+      $3
}"
}

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

# wait_shutoff NAME SECONDS: wait until the domain is no longer running
is_shutoff() { [[ $(virsh domstate "$1" 2>/dev/null) == "shut off" ]]; }
wait_shutoff() { wait_until "$2" is_shutoff "$1"; }

# The pidfile of the helper of filesystem ALIAS (fs0, ...) of domain NAME
# is $STATEDIR/virtfs-proxy/NAME.ALIAS.pid (the same in every run).
# proxy helpers of a domain: pids of virtfs-proxy-helper whose pidfile names the domain
helper_pids() { # helper_pids NAME
    local f
    for f in "$STATEDIR/virtfs-proxy/$1".*.pid; do
        [[ -e $f ]] || continue
        cat "$f"; echo
    done
}

# ---------------------------------------------------------------- debugging
DOMLOGDIR=${E2E_DOMLOGDIR:-$VARDIR/log/libvirt/qemu}

DAEMON_LOG_OFFSET=0                 # where this test's part of virtqemud.log begins

# debug_dump NAME: what a failed assertion needs: the tails of the guest's
# console, the domain log and the daemon's log (its errors first)
debug_dump() {
    local n=$1
    echo "    ---- console $E2E/$n.console (last 20 lines)"
    tr -d '\r' < "$E2E/$n.console" 2>/dev/null | tail -n 20 | sed 's/^/    | /' || true
    echo "    ---- domain log $DOMLOGDIR/$n.log (last 20 lines)"
    tail -n 20 "$DOMLOGDIR/$n.log" 2>/dev/null | sed 's/^/    | /' || true
    echo "    ---- $E2E/virtqemud.log since the test began (last 10 errors/warnings, last 10 lines)"
    tail -c +$((DAEMON_LOG_OFFSET + 1)) "$E2E/virtqemud.log" 2>/dev/null |
        grep -E ': (error|warning) : ' | tail -n 10 | cut -c1-300 | sed 's/^/    | /' || true
    tail -c +$((DAEMON_LOG_OFFSET + 1)) "$E2E/virtqemud.log" 2>/dev/null |
        tail -n 10 | cut -c1-300 | sed 's/^/    | /' || true
    echo "    ----"
}

# ---------------------------------------------------------------- test domains
E2E_DOMAINS=()                      # domains this script defined

# cleanup_domain NAME: destroy (if running) and undefine, quietly
cleanup_domain() {
    virsh destroy "$1" >/dev/null 2>&1 || true
    virsh undefine "$1" >/dev/null 2>&1 || true
}
cleanup_domains() {
    local n
    for n in "${E2E_DOMAINS[@]}"; do
        cleanup_domain "$n"
    done
}

# define_domain NAME CMDLINE FILESYSTEM-XML...: write $E2E/NAME.xml and
# define it (any leftover of that name goes first, with its console and log)
define_domain() {
    local name=$1
    cleanup_domain "$name"
    rm -f "$E2E/$name.console" "$DOMLOGDIR/$name.log" \
          "$DOMLOGDIR/$name"-*-virtfs-proxy-helper.log
    domain_xml "$@" > "$E2E/$name.xml"
    E2E_DOMAINS+=("$name")
    CUR_DOM=$name
    assert_protected_exports "$E2E/$name.xml" || true
    virsh define "$E2E/$name.xml" >/dev/null
}

# mini_domain NAME [FILESYSTEM-XML]: a domain that needs no guest (no disk,
# no kernel: the firmware finds nothing to boot and waits), defined. QEMU
# and the helpers of its shares run all the same, at almost no CPU cost.
mini_domain() {
    cat > "$E2E/$1.xml" <<XML
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>32</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
${2:-}
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
XML
    E2E_DOMAINS+=("$1")
    virsh define "$E2E/$1.xml" >/dev/null
}

# device_filter PID: the entries of the maps of the BPF device programs in
# effect for PID's cgroup in the unified hierarchy (cgroup v2; on a hybrid
# host /sys/fs/cgroup/unified), from its cgroup up to the root, each map
# after the cgroup its program is attached to, with the domain's part of
# that path made the same for every domain. Needs bpftool.
device_filter() {
    local root=/sys/fs/cgroup dir id map
    [[ -d $root/unified ]] && root=$root/unified
    dir=$root$(sed -n 's/^0:://p' "/proc/$1/cgroup")
    while [[ $dir == "$root"/* ]]; do
        for id in $(bpftool cgroup show "$dir" 2>/dev/null | awk '$2 == "cgroup_device" { print $1 }'); do
            echo "program on ${dir#"$root"}" |
                sed -E 's/machine-qemu[^/]*\.scope|qemu-[0-9]+-[^/]*\.libvirt-qemu/DOMAIN/'
            for map in $(bpftool prog show id "$id" | sed -n 's/.*map_ids \([0-9,]*\).*/\1/p' | tr ',' ' '); do
                bpftool map dump id "$map" | grep '^key:' | LC_ALL=C sort
            done
        done
        dir=${dir%/*}
    done
}

# run_domain NAME SECONDS CMDLINE FILESYSTEM-XML...: define, start, wait
# until it shut off (destroyed, with a FAIL, after SECONDS)
run_domain() {
    local name=$1 secs=$2 t0=$SECONDS
    shift 2
    define_domain "$name" "$@"
    virsh start "$name" >/dev/null
    if wait_shutoff "$name" "$secs"; then
        pass "$name ran and shut off by itself ($((SECONDS - t0)) s)"
    else
        fail "$name still running after $secs s"
        virsh destroy "$name" >/dev/null 2>&1 || true
    fi
}

# console NAME: the guest's serial output, without the \r
console() { tr -d '\r' < "$E2E/$1.console" 2>/dev/null || true; }

# probe_exit NAME: the status on the guest's PROBE-EXIT line ('' if none)
probe_exit() { console "$1" | sed -n 's/^PROBE-EXIT \([0-9]*\)$/\1/p' | tail -n 1; }

# wait_console NAME REGEX SECONDS: wait for a console line matching REGEX;
# give up early once the guest printed its last line (PROBE-EXIT)
wait_console() {
    local i out
    for ((i = 0; i < $3 * 10; i++)); do
        out=$(console "$1")
        grep -Eq -- "$2" <<<"$out" && return 0
        grep -q '^PROBE-EXIT ' <<<"$out" && return 1
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------- exports
# ensure_private: $PRIVATE exists, a real directory, mode 0700, root:root
# (dies otherwise: every proxy export of the harness relies on it)
ensure_private() {
    mkdir -p "$E2E"
    [[ -n ${E2E_DIR:-} ]] || ensure_short
    [[ ! -L $PRIVATE ]] || die "$PRIVATE is a symbolic link, not root's private directory"
    [[ -d $PRIVATE ]] || mkdir -m 0700 "$PRIVATE"
    chown 0:0 "$PRIVATE"
    chmod 0700 "$PRIVATE"
    [[ $(stat -c '%F %u:%g %a' "$PRIVATE") == "directory 0:0 700" ]] ||
        die "$PRIVATE is not a 0700 root:root directory: $(stat -c '%F %u:%g %a' "$PRIVATE")"
}

# ensure_sockdir: $SOCKDIR exists, for sockets the harness binds
ensure_sockdir() {
    [[ -n ${E2E_DIR:-} ]] || ensure_short
    mkdir -p "$SOCKDIR"
    [[ -n ${E2E_DIR:-} ]] || chmod 0711 "$SOCKDIR"
}

# The directories fresh_dir and shared_dir made for this process, one a
# line (a file: they run in $(...)); remove_planted empties it.
PLANTED_LIST=$E2E/.exports.$$

# new_dir DIR [OWNER]: DIR anew, empty, mode 0755, recorded for remove_planted
new_dir() {
    rm -rf "$1"
    mkdir -m 0755 "$1"
    [[ -z ${2:-} ]] || chown "$2" "$1"
    echo "$1" >> "$PLANTED_LIST"
    echo "$1"
}

# fresh_dir NAME [OWNER]: an empty proxy export $PRIVATE/NAME, mode 0755
fresh_dir() {
    ensure_private
    new_dir "$PRIVATE/$1" "${2:-}"
}

# shared_dir NAME [OWNER]: an empty directory $E2E/NAME, mode 0755, for a
# stock 9p share (QEMU's local driver): QEMU, running as $QEMU_USER, opens
# it by path, so it cannot be below $PRIVATE.  Never a proxy export.
shared_dir() {
    mkdir -p "$E2E"
    new_dir "$E2E/$1" "${2:-}"
}

# find_planted DIR...: the set-uid or set-gid regular files and the device
# nodes below DIR... (what a guest or a hostile QEMU can plant through a
# proxy share, and what must not outlive a test)
find_planted() {
    (($#)) || return 0               # find without a directory would search "."
    find "$@" -xdev \( \( -type f -perm /6000 \) -o -type b -o -type c \) -print 2>/dev/null || true
}

# defuse DIR...: delete the set-id files and device nodes below DIR...
# (the rest stays, for a look after a failure), saying how many if any.
# find deletes them itself: their names are the guest's, and a name with
# a newline in it must not become two paths for a root rm.
defuse() {
    local n
    (($#)) || return 0
    n=$(find "$@" -xdev \( \( -type f -perm /6000 \) -o -type b -o -type c \) \
            -printf . -delete 2>/dev/null | wc -c) || true
    ((n == 0)) || echo "   (removed $n set-uid/set-gid files and device nodes planted in" \
        "$(printf '%s\n' "${@%/}" | sed 's|.*/||' | paste -sd' ' | cut -c1-120))"
    return 0
}

# remove_planted: defuse every directory fresh_dir and shared_dir made for
# this process; in the EXIT traps, after the domains are gone
remove_planted() {
    local dirs
    [[ -f $PLANTED_LIST ]] || return 0
    mapfile -t dirs < <(sort -u "$PLANTED_LIST")
    ((${#dirs[@]} == 0)) || defuse "${dirs[@]}"
    rm -f "$PLANTED_LIST"
}

# protecting_ancestor DIR: the nearest directory strictly above DIR (its
# real path) that keeps unprivileged users out, libvirt's rule for a proxy
# export: owned by root, no search permission for others, nor for its
# group unless that is gid 0; fails if there is none
protecting_ancestor() {
    local d uid gid mode
    d=$(readlink -f -- "$1") && [[ -n $d ]] || return 1
    while [[ $d != / ]]; do
        d=$(dirname -- "$d")
        read -r uid gid mode < <(stat -c '%u %g %a' -- "$d" 2>/dev/null) || return 1
        mode=$((8#$mode))
        if ((uid == 0 && (mode & 8#001) == 0 && (gid == 0 || (mode & 8#010) == 0))); then
            echo "$d"
            return 0
        fi
    done
    return 1
}

# assert_protected_export DIR: an ok line naming the directory above DIR
# that keeps unprivileged users out, or a FAIL; the status says which
assert_protected_export() {
    local a
    if a=$(protecting_ancestor "$1"); then
        pass "proxy export $1 is out of unprivileged users' reach: $a is $(stat -c '%a %U:%G' "$a")"
    else
        fail "proxy export $1 is reachable by unprivileged users: no root-owned directory above it denies them search"
        return 1
    fi
}

# proxy_exports XML-FILE: the <source dir> of every proxy filesystem in it
# but those with an <idmap>, whose guest makes files of the mapped range
# only and no device nodes, so libvirt lets host users reach them
proxy_exports() {
    awk '/<filesystem[ >]/ { fs = 1; proxy = 0; idmap = 0; src = "" }
         fs && /<driver type=.proxy./ { proxy = 1 }
         fs && /<idmap>/ { idmap = 1 }
         fs && match($0, /<source dir=.[^"\047]*/) { src = substr($0, RSTART + 13, RLENGTH - 13) }
         /<\/filesystem>/ { if (proxy && !idmap && src != "") print src; fs = 0 }' "$1"
}

# assert_protected_exports XML-FILE: assert_protected_export on each proxy
# export of the domain that libvirt would hand to a helper: those that do
# not exist, are symbolic links or are "/" are the bad configurations of
# test-configs and test-faults, which libvirt refuses before any helper
assert_protected_exports() {
    local d rc=0
    while read -r d; do
        [[ -d $d && ! -L $d && $(readlink -f -- "$d") != / ]] || continue
        assert_protected_export "$d" || rc=1
    done < <(proxy_exports "$1")
    return $rc
}

# seed_readonly DIR: what the guest's readonly scenario reads and tries to
# change in a <readonly/> export (owners, modes, an xattr, a symlink, times)
seed_readonly() {
    echo "seed for the readonly scenario" > "$1/seed"
    chown 1234:5678 "$1/seed"
    chmod 0640 "$1/seed"
    setfattr -n user.proxyfs.seed -v seed-xattr "$1/seed"
    mkdir -m 0750 "$1/subdir"
    echo nested > "$1/subdir/nested"
    ln -s seed "$1/seed-link"
    touch -h -d @1234567890 "$1/seed" "$1/subdir/nested" "$1/seed-link"
}

# path_fs DIR TAG ACCESSMODE [EXTRA-XML]: a stock 9p share (QEMU's local driver)
path_fs() {
    printf "    <filesystem type='mount' accessmode='%s'>\n      <driver type='path'/>\n      <source dir='%s'/>\n      <target dir='%s'/>\n%s    </filesystem>" \
        "$3" "$1" "$2" "${4:+      $4
}"
}

# qemu_pid NAME: the pid of the domain's QEMU (from libvirt's pidfile)
qemu_pid() {
    local pid
    pid=$(cat "$STATEDIR/$1.pid" 2>/dev/null) || return 1
    [[ -n $pid && -d /proc/$pid ]] || return 1
    echo "$pid"
}

# helpers_of EXPORT: pids of running virtfs-proxy-helper processes serving
# EXPORT (found by /proc, independently of libvirt's pidfiles)
helpers_of() {
    local p args
    for p in $(helper_procs); do
        args=$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null) || continue
        [[ " $args" == *" -p $1 "* ]] && echo "${p#/proc/}"
    done
    return 0
}

# helper_procs: /proc/PID of every process running either helper (one
# find, not a readlink per process: the cycles test asks after every cycle),
# also once a package upgrade replaced its binary ("PATH (deleted)")
helper_procs() {
    # find fails for processes that end while it looks: not an error here
    { find /proc/[0-9]*/exe -maxdepth 0 \( -lname "$OWN_HELPER" -o -lname "$OWN_HELPER (deleted)" \
        -o -lname "$QEMU_HELPER" -o -lname "$QEMU_HELPER (deleted)" \) 2>/dev/null || true; } |
        sed 's|/exe$||'
}

# helper_count: how many virtfs-proxy-helper processes run on the machine
helper_count() { helper_procs | wc -l; }

# pidfiles_of NAME: the helper pidfiles left for domain NAME
pidfiles_of() {
    local f
    for f in "$STATEDIR/virtfs-proxy/$1".*.pid; do
        [[ -e $f ]] && echo "$f"
    done
    return 0
}

# CAP_CHOWN 0, CAP_DAC_OVERRIDE 1, CAP_FOWNER 3, CAP_FSETID 4, CAP_SETGID 6,
# CAP_SETUID 7, CAP_MKNOD 27 (linux/capability.h): what the helper keeps
# after its chroot.
HELPER_CAPS_HEX=$(printf '%016x' $(( (1 << 0) | (1 << 1) | (1 << 3) | (1 << 4) | (1 << 6) | (1 << 7) | (1 << 27) )))

# check_helper_confined HPID EXPORT DAEMON-PID [ro]: the helper runs as
# root, chrooted into EXPORT, with only the capabilities it keeps, and
# inside libvirt's sandbox (patches "Confine virtfs-proxy-helper" and "Give
# virtfs-proxy-helper a mount namespace"): no-new-privs, its own mount,
# network and IPC namespaces (the others the daemon's), in which its root,
# the export, is mounted nosuid,nodev and read-only with "ro" (while the
# daemon's namespace has no mount of ours at EXPORT), no core dumps and 64
# open files (libvirt's "64 files" is a limit of 65)
check_helper_confined() {
    local hpid=$1 dir=$2 dpid=$3 mode=${4:-rw} ns h d
    check "helper Uid:" "0 0 0 0" "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$hpid/status")"
    check "helper root directory (chroot)" "$dir" "$(readlink "/proc/$hpid/root")"
    check "helper CapEff" "$HELPER_CAPS_HEX" "$(proc_field "$hpid" CapEff)"
    check "helper NoNewPrivs" 1 "$(proc_field "$hpid" NoNewPrivs)"
    for ns in mnt net ipc; do
        h=$(readlink "/proc/$hpid/ns/$ns") d=$(readlink "/proc/$dpid/ns/$ns")
        check_match "helper $ns namespace is its own ($h, daemon's $d)" "^$ns:\[[0-9]+\]\$" "$h"
        [[ $h != "$d" ]] || fail "helper shares the daemon's $ns namespace $d"
        check "helper $ns namespace has no other process" "$hpid" \
            "$(for p in /proc/[0-9]*; do [[ $(readlink "$p/ns/$ns" 2>/dev/null) == "$h" ]] && echo "${p#/proc/}"; done | paste -sd' ')"
    done
    for ns in pid uts user cgroup; do
        check "helper $ns namespace is the daemon's" "$(readlink "/proc/$dpid/ns/$ns")" "$(readlink "/proc/$hpid/ns/$ns")"
    done
    # mountinfo names mount points from the process's root: the export is "/"
    check "helper's export is mounted $mode,nosuid,nodev in its namespace" "$mode,nosuid,nodev" \
        "$(awk '$5 == "/" { o = $6 } END { print o }' "/proc/$hpid/mountinfo" |
           tr , '\n' | grep -xE 'ro|rw|nosuid|nodev' | paste -sd,)"
    check "no mount at the export in the daemon's namespace" "" \
        "$(awk -v d="$dir" '$5 == d' "/proc/$dpid/mountinfo")"
    check "helper has no network interface but lo" "lo" \
        "$(nsenter -t "$hpid" -n ip -o link show | awk -F': ' '{ print $2 }' | paste -sd' ')"
    check "helper Max open files (soft hard)" "65 65" "$(proc_limit "$hpid" "Max open files")"
    check "helper Max core file size (soft hard)" "0 0" "$(proc_limit "$hpid" "Max core file size")"
}

# proc_limit PID NAME: soft and hard value of limit NAME in /proc/PID/limits
proc_limit() { awk -v n="$2" 'index($0, n) == 1 { print $(NF - 2), $(NF - 1) }' "/proc/$1/limits"; }

# join_cgroups_of PID: move this (sub)shell into every cgroup of PID (QEMU's
# device filter then applies to what it runs)
join_cgroups_of() {
    local ctl path
    while IFS=: read -r _ ctl path; do
        [[ $ctl == name=* ]] && continue
        ctl=${ctl%%,*}
        echo "$BASHPID" > "/sys/fs/cgroup/${ctl:-unified}$path/cgroup.procs" 2>/dev/null || true
    done < "/proc/$1/cgroup"
}

# proc_field PID FIELD: a field of /proc/PID/status (e.g. Uid: the real uid)
proc_field() { awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status" 2>/dev/null; }

# sig_pending PID SIGNUM: signal SIGNUM waits for process PID (one that is
# stopped, say), sent to the process as a whole
sig_pending() {
    local mask
    mask=$(proc_field "$1" ShdPnd)
    [[ $mask =~ ^[0-9a-f]+$ ]] && (( (16#$mask >> ($2 - 1)) & 1 ))
}

# daemon_fds: how many fds our virtqemud has open
daemon_fds() { local pid; pid=$(daemon_pid virtqemud) && find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }

# wait_fds N: wait (5 s at most) for the daemon's fd count to be N
daemon_fds_are() { [[ $(daemon_fds) == "$1" ]]; }
wait_fds() { wait_until 5 daemon_fds_are "$1" || true; }   # the caller checks the count

# stop_process PID...: SIGSTOP each PID and wait (5 s at most) until it is
# stopped (State T): the signal takes effect only when the process next
# runs, later on a loaded machine. Returns 1 if one did not stop.
is_stopped() { [[ $(proc_field "$1" State) == T ]]; }
stop_process() {
    local p rc=0
    for p in "$@"; do
        kill -STOP "$p" 2>/dev/null || rc=1
        wait_until 5 is_stopped "$p" || rc=1
    done
    return "$rc"
}

# wait_gone PID SECONDS: wait until process PID no longer exists
# (a zombie counts as gone)
process_gone() { [[ ! -d /proc/$1 || $(awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null) == Z ]]; }
wait_gone() { wait_until "$2" process_gone "$1"; }

# require_root NAME: tests need root; say so and exit 0 otherwise
require_root() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "$1: SKIPPED: the end-to-end tests need root (the proxy helper runs as root, and they create a user)"
        exit 0
    fi
}

# e2e_cleanup: what a test leaves when it ends, pass or fail: its domains
# destroyed and undefined, nothing set-uid, set-gid or device-like in its
# exports, the daemons it started stopped
e2e_cleanup() {
    cleanup_domains
    remove_planted
    stop_started_daemons
}

# e2e_setup NAME: the common start of a test script: root, daemons,
# $PRIVATE, and e2e_cleanup as the EXIT trap
e2e_setup() {
    require_root "$1"
    ensure_private
    start_daemons
    DAEMON_LOG_OFFSET=$(stat -c %s "$E2E/virtqemud.log" 2>/dev/null || echo 0)
    trap e2e_cleanup EXIT
    echo "== $1"
}

# explain_mknod_eperm NAME: a guest mknod that failed with EPERM on a proxy
# share has a known cause; say it next to the failure
explain_mknod_eperm() {
    if console "$1" | grep -Eq '^PROBE mknod .* FAIL EPERM$'; then
        echo "   NOTE: mknod failed with EPERM although the helper has CAP_MKNOD: is the helper"
        echo "         under a device cgroup? libvirt leaves it in the daemon's cgroups, because"
        echo "         the domain's device filter (from cgroup_device_acl) denies mknod."
    fi
}

# tree_listing DIR: every entry under DIR with type, owner, mode, size,
# mtime, device numbers, link target and content checksum, for comparing
# a directory before and after
tree_listing() {
    (cd "$1" && find . -printf '%p %y %U:%G %m %s %T@ %C@ %D:%i %n %l\n' | LC_ALL=C sort &&
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum &&
        find . -print0 | LC_ALL=C sort -z | xargs -0r getfattr -h -d -m - 2>/dev/null)
}
