#!/bin/bash
# test-lifecycle.sh - the helper lives and dies with its domain:
#  (a) virsh destroy, (b) guest power-off, (c) daemon restart under a running
#  guest, (d) the helper SIGKILLed under a writing guest, (e) QEMU SIGKILLed,
#  (f) QEMU SIGKILLed while the daemon is down, (g) the helper hung
#  (SIGSTOPped, so that it cannot exit by itself when QEMU goes) and the
#  domain destroyed: the daemon must kill it, and answers virsh list while
#  it waits for the helper to go; (h) a helper held back before it serves:
#  virsh list answers while the start waits for it; (i) virsh destroy
#  while the start waits for such a helper: the start fails, the daemon
#  lives on.
# After each: no helper process, no pidfile, and (a, b, e, g, h, i) the
# daemon's fd count back to where it was before the start.
# LIFECYCLE_CASES=LETTERS runs those cases only (a control runs g alone).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NAME=test-lifecycle
e2e_setup "$NAME"
CASES=${LIFECYCLE_CASES:-abcdefghi}
[[ $CASES =~ ^[a-i]+$ ]] || die "LIFECYCLE_CASES is letters a to i, not '$CASES'"
case_on() { [[ $CASES == *"$1"* ]]; }

# start_guest DOM DIR RUNS: define and start a domain with one proxy share
# of DIR (fresh) running RUNS; FDS_BEFORE is the daemon's fd count before
start_guest() {
    local dom=$1 dir=$2 runs=$3
    define_domain "$dom" "proxyfs.mounts=share:/mnt/share proxyfs.run=$runs proxyfs.timeout=90" \
        "$(proxy_fs "$dir" share)"
    FDS_BEFORE=$(daemon_fds)
    virsh start "$dom" >/dev/null
    HPID=$(helpers_of "$dir")
    QPID=$(qemu_pid "$dom" || true)
    check_match "$dom: a helper and QEMU run" '^[0-9]+ [0-9]+$' "$HPID $QPID"
}

# check_clean DOM DIR [FDS]: nothing of the domain's helper is left
check_clean() {
    check "$1: no helper process for the export" "" "$(helpers_of "$2")"
    check "$1: old helper pid $HPID gone" "gone" "$(wait_gone "$HPID" 10 && echo gone || echo running)"
    check "$1: no pidfile in $STATEDIR" "" "$(pidfiles_of "$1")"
    if [[ -n ${3:-} ]]; then
        wait_fds "$3"
        check "$1: virtqemud fd count back to its value before start" "$3" "$(daemon_fds)"
    fi
}

# start_held DOM DIR: define DOM with a proxy share of DIR (fresh) whose
# helper is held back before it serves, and start it paused in the
# background (SPID), once the daemon started the helper (HPID, from its
# pidfile). The helper is behind a script of its own name (libvirt treats
# it as the helper it wraps) that execs it only once $RELEASE exists (60 s
# at most). FDS_BEFORE is the daemon's fd count before the start.
start_held() {
    local dom=$1 dir=$2 held=$E2E/held-helper/${HELPER##*/} i
    RELEASE=$E2E/held-helper/release
    mkdir -p "${held%/*}"
    rm -f "$RELEASE"
    printf '%s\n' '#!/bin/sh' \
        "# test-lifecycle: the helper, once $RELEASE exists (60 s at most)" \
        'i=0' \
        "while [ ! -e '$RELEASE' ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done" \
        "exec '$HELPER' \"\$@\"" > "$held"
    chmod 0755 "$held"
    define_domain "$dom" "proxyfs.run=none" "$(proxy_fs "$dir" share "<binary path='$held'/>")"
    FDS_BEFORE=$(daemon_fds)
    virsh_t 60 start --paused "$dom" > "$E2E/$dom.start.out" 2>&1 &
    SPID=$!
    for ((i = 0; i < 100; i++)); do
        [[ -n $(pidfiles_of "$dom") ]] && break
        sleep 0.1
    done
    HPID=$(pidfiles_of "$dom" | head -n 1 | xargs -r cat)
    check_match "$dom: the held-back helper was started (its pidfile)" '^[0-9]+$' "$HPID"
}

# synced DOM: how many files the guest's io run has synced so far
synced() { console "$1" | sed -n 's/^PROBE-IO synced \([0-9]*\)$/\1/p' | tail -n 1; }

if case_on a; then
    echo "-- (a) virsh destroy"
    dom=e2e-life-destroy dir=$(fresh_dir life-destroy)
    start_guest "$dom" "$dir" sleep:60
    wait_console "$dom" '^PROBE-RUN sleep' 60 || fail "$dom: guest did not boot"
    check "$dom: share mounted" "PROBE-MOUNT share /mnt/share ok" "$(console "$dom" | grep '^PROBE-MOUNT')"
    virsh destroy "$dom" >/dev/null
    check "$dom: shut off" "shut off" "$(virsh domstate "$dom")"
    check_clean "$dom" "$dir" "$FDS_BEFORE"
fi

if case_on b; then
    echo "-- (b) guest-initiated power-off"
    dom=e2e-life-poweroff dir=$(fresh_dir life-poweroff)
    start_guest "$dom" "$dir" io:/mnt/share:10:30
    if wait_shutoff "$dom" 60; then pass "$dom: guest powered off by itself"; else fail "$dom: guest did not power off"; fi
    check "$dom: PROBE-EXIT" 0 "$(probe_exit "$dom")"
    check "$dom: shut off reason" "shut off (shutdown)" "$(virsh domstate --reason "$dom")"
    check_clean "$dom" "$dir" "$FDS_BEFORE"
fi

if case_on c; then
    echo "-- (c) daemon restart while the guest writes"
    dom=e2e-life-restart dir=$(fresh_dir life-restart)
    start_guest "$dom" "$dir" io:/mnt/share:100000:45,sleep:60
    wait_console "$dom" '^PROBE-IO synced 25$' 60 || fail "$dom: guest io did not start"
    old_dpid=$(daemon_pid virtqemud)
    stop_one_daemon virtqemud
    check "$dom: virtqemud (pid $old_dpid) stopped" "gone" "$(wait_gone "$old_dpid" 1 && echo gone || echo running)"
    check "$dom: helper survives the daemon" "$HPID" "$(helpers_of "$dir")"
    at_stop=$(synced "$dom")
    check_match "$dom: files synced when the daemon stopped: $at_stop" '^[0-9]+$' "$at_stop"
    # the guest goes on writing: wait (30 s at most) for its next report of
    # synced files (one every 25 files), not for a time
    for ((i = 0; i < 300; i++)); do
        now=$(synced "$dom")
        (( ${now:-0} > ${at_stop:-0} )) && break
        sleep 0.1
    done
    if (( ${now:-0} > ${at_stop:-0} )); then
        pass "$dom: share works with the daemon down (synced $at_stop -> $(synced "$dom"))"
    else
        fail "$dom: no io progress while the daemon was down (synced $at_stop -> $(synced "$dom") in 30 s)"
    fi
    restart_virtqemud
    check "$dom: domain still running after the daemon's restart" "running" "$(virsh domstate "$dom")"
    check "$dom: same helper pid in the pidfile" "$HPID" "$(cat "$(pidfiles_of "$dom")" 2>/dev/null)"
    check "$dom: same helper process serves the export" "$HPID" "$(helpers_of "$dir")"
    check "$dom: same QEMU" "$QPID" "$(qemu_pid "$dom")"
    at_restart=$(synced "$dom")
    if wait_console "$dom" "^PROBE-IO synced $((at_restart + 25))\$" 30; then
        pass "$dom: guest io goes on after the restart (synced $at_restart -> $((at_restart + 25)))"
    else
        fail "$dom: guest io stalled after the restart (synced $(synced "$dom"))"
    fi
    check "$dom: no io error" "" "$(console "$dom" | grep -E '^PROBE .* FAIL' || true)"
    virsh destroy "$dom" >/dev/null
    check_clean "$dom" "$dir"
    check "$dom: helper log ends with Done" "$(helper_log_done)" "$(helper_log_last "$DOMLOGDIR/$dom-fs0-virtfs-proxy-helper.log")"
fi

if case_on d; then
    echo "-- (d) helper SIGKILLed while the guest writes"
    dom=e2e-life-killhelper dir=$(fresh_dir life-killhelper)
    start_guest "$dom" "$dir" io:/mnt/share:100000:60,sleep:60
    wait_console "$dom" '^PROBE-IO synced 25$' 60 || fail "$dom: guest io did not start"
    kill -KILL "$HPID"
    check "$dom: helper killed" "gone" "$(wait_gone "$HPID" 5 && echo gone || echo running)"
    if wait_console "$dom" '^PROBE-IO done ' 20; then
        pass "$dom: guest io ended (no hang)"
    else
        fail "$dom: guest io still running 20 s after the helper died"
    fi
    check_match "$dom: the guest's file op failed with EIO" '^PROBE (open|write|fsync|close) /mnt/share/io/f[0-9]+ FAIL EIO$' \
        "$(console "$dom" | grep -E '^PROBE [a-z]+ .* FAIL ' | head -n 1)"
    check_match "$dom: io stopped on the error" '^PROBE-IO done synced=[0-9]+ stopped=error$' "$(console "$dom" | grep '^PROBE-IO done')"
    list=$(virsh_t 10 list 2>&1) || true
    check_match "$dom: virsh list answers and shows the domain running" "[0-9]+ +$dom +running" "$list"
    check "$dom: still running (the guest sleeps)" "running" "$(virsh domstate "$dom")"
    if virsh_t 30 destroy "$dom" >/dev/null; then pass "$dom: virsh destroy works"; else fail "$dom: virsh destroy failed"; fi
    check "$dom: shut off" "shut off" "$(virsh domstate "$dom")"
    check_clean "$dom" "$dir" "$FDS_BEFORE"
fi

if case_on e; then
    echo "-- (e) QEMU SIGKILLed"
    dom=e2e-life-killqemu dir=$(fresh_dir life-killqemu)
    start_guest "$dom" "$dir" io:/mnt/share:10:30,sleep:60
    wait_console "$dom" '^PROBE-RUN sleep' 60 || fail "$dom: guest did not get to sleep"
    kill -KILL "$QPID"
    check "$dom: helper exits after QEMU died" "gone" "$(wait_gone "$HPID" 10 && echo gone || echo running)"
    if wait_shutoff "$dom" 10; then pass "$dom: libvirt noticed: shut off"; else fail "$dom: libvirt did not notice QEMU's death"; fi
    check "$dom: shut off reason" "shut off (crashed)" "$(virsh domstate --reason "$dom")"
    check_clean "$dom" "$dir" "$FDS_BEFORE"
    check "$dom: helper log ends with Done (EOF)" "$(helper_log_done)" "$(helper_log_last "$DOMLOGDIR/$dom-fs0-virtfs-proxy-helper.log")"
fi

if case_on f; then
    echo "-- (f) QEMU dies while the daemon is down"
    dom=e2e-life-daemondown dir=$(fresh_dir life-daemondown)
    start_guest "$dom" "$dir" sleep:60
    wait_console "$dom" '^PROBE-RUN sleep' 60 || fail "$dom: guest did not get to sleep"
    stop_one_daemon virtqemud
    kill -KILL "$QPID"
    check "$dom: helper exits after QEMU died" "gone" "$(wait_gone "$HPID" 10 && echo gone || echo running)"
    check "$dom: its pidfile is still there (nobody to remove it)" 1 "$(pidfiles_of "$dom" | wc -l)"
    restart_virtqemud
    if wait_shutoff "$dom" 10; then pass "$dom: the restarted daemon found it shut off"; else fail "$dom: not shut off after the daemon's restart"; fi
    check_clean "$dom" "$dir"
fi

if case_on g; then
    echo "-- (g) a hung helper (SIGSTOPped: it cannot see QEMU go) and virsh destroy"
    dom=e2e-life-hung dir=$(fresh_dir life-hung)
    define_domain "$dom" "proxyfs.run=none" "$(proxy_fs "$dir" share)"
    FDS_BEFORE=$(daemon_fds)
    virsh start --paused "$dom" >/dev/null
    HPID=$(helpers_of "$dir")
    check_match "$dom: one helper runs" '^[0-9]+$' "$HPID"
    [[ -z $HPID ]] || stop_process "$HPID" || true
    check "$dom: helper $HPID stopped (State T)" T "$(proc_field "${HPID:-0}" State)"
    t=$SECONDS
    virsh_t 60 destroy "$dom" >/dev/null &
    dpid=$!
    # the daemon sends SIGTERM, which waits while the helper is stopped, and
    # gives the helper 10 s before SIGKILL: virsh list must answer meanwhile
    for ((i = 0; i < 150; i++)); do
        sig_pending "${HPID:-0}" 15 && break
        sleep 0.1
    done
    if sig_pending "${HPID:-0}" 15; then
        list=$(virsh_t 8 list --all 2>&1) || list="no answer in 8 s: $list"
        check_match "$dom: virsh list answers while the daemon waits for the hung helper" "^ *[0-9]+ +$dom " "$list"
        check "$dom: ... and the helper was still there then, stopped" T "$(proc_field "$HPID" State)"
    else
        fail "$dom: the daemon sent the hung helper (pid ${HPID:-none}) no SIGTERM in 15 s"
    fi
    drc=0
    wait "$dpid" || drc=$?
    check "$dom: virsh destroy succeeded" 0 "$drc"
    check "$dom: no helper left after destroy (the hung helper, pid $HPID)" "gone" \
        "$(wait_gone "${HPID:-0}" 30 && echo gone || echo "running (State $(proc_field "$HPID" State)) $((SECONDS - t)) s after destroy")"
    check_clean "$dom" "$dir" "$FDS_BEFORE"
fi

if case_on h; then
    echo "-- (h) a helper held back before it serves, and virsh list"
    dom=e2e-life-heldback dir=$(fresh_dir life-heldback)
    start_held "$dom" "$dir"
    # the daemon waits up to 30 s for the helper to serve; a list that
    # waited for the domain's lock would not answer in 20 s
    list=$(virsh_t 20 list --all 2>&1) || list="no answer in 20 s: $list"
    check_match "$dom: virsh list answers while the start waits for the helper" " $dom " "$list"
    check "$dom: ... and the start was still waiting then" "waiting" \
        "$(kill -0 "$SPID" 2>/dev/null && echo waiting || echo "ended: $(cat "$E2E/$dom.start.out")")"
    touch "$RELEASE"
    src=0
    wait "$SPID" || src=$?
    check "$dom: once the helper serves, virsh start succeeds" "0" "$src$(grep -v '^$' "$E2E/$dom.start.out" | sed 's/^/ /' || true)"
    check "$dom: paused" "paused" "$(virsh domstate "$dom")"
    check "$dom: the pidfile's pid runs the helper itself now" "$HELPER" "$(readlink "/proc/${HPID:-0}/exe")"
    virsh destroy "$dom" >/dev/null
    check_clean "$dom" "$dir" "$FDS_BEFORE"
    rm -rf "$E2E/held-helper"
fi

if case_on i; then
    echo "-- (i) virsh destroy while the start waits for a held-back helper"
    dom=e2e-life-destroystart dir=$(fresh_dir life-destroystart)
    dpid_before=$(daemon_pid virtqemud)
    start_held "$dom" "$dir"
    if virsh_t 30 destroy "$dom" >/dev/null 2>&1; then pass "$dom: virsh destroy works while the start waits"; else fail "$dom: virsh destroy failed while the start waited"; fi
    src=0
    wait "$SPID" || src=$?
    check_match "$dom: the start failed: the helper it waited for was stopped" \
        "^[1-9][0-9]* error: Failed to start domain '$dom'.*(exited during its start|domain was destroyed while its virtfs-proxy-helpers started)" \
        "$src $(paste -sd' ' "$E2E/$dom.start.out")"
    check "$dom: shut off" "shut off" "$(virsh domstate "$dom")"
    check "$dom: the daemon survived (same pid)" "$dpid_before" "$(daemon_pid virtqemud)"
    check_clean "$dom" "$dir" "$FDS_BEFORE"
    rm -rf "$E2E/held-helper"
fi

summary "$NAME"
