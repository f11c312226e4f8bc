#!/bin/bash
# test-stale.sh - what an earlier run left behind, and pids libvirt must
# not trust:
#  (a) a run whose status the daemon never saved (it was SIGKILLed, and the
#      domain's status XML is gone, as when the daemon dies while starting
#      the domain): QEMU died, the helper ended, its pidfile names a dead
#      pid; the next start of the domain finds the pidfile and replaces it;
#  (b) the same, but that run's helper still runs (hung: SIGSTOPped) and
#      holds its pidfile: the next start stops it;
#  (c) a stale pidfile of the share that the helper rewrote to name another
#      process (a root 'sleep'), locked by nobody: the next start does not
#      signal that process;
#  (d) a running domain whose helper rewrote its pidfile to name a root
#      'sleep': destroy does not signal the sleep, and the helper ends;
#  (e) the same after a daemon restart (the helper's pid and start time
#      come back from the status XML), with the helper hung (SIGSTOPped),
#      so that only libvirt's signal to the recorded pid can end it.
# After each: destroy leaves no helper and no pidfile.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NAME=test-stale
e2e_setup "$NAME"

# crash_run DOM DIR: start DOM paused (QEMU and the helper run), SIGKILL the
# daemon, drop the domain's status XML, restart the daemon: the domain is
# shut off for libvirt while the processes of that run may still be there.
# Sets HPID, QPID.
crash_run() {
    local dom=$1 dir=$2 dpid
    virsh start --paused "$dom" >/dev/null
    HPID=$(helpers_of "$dir")
    QPID=$(qemu_pid "$dom" || true)
    check_match "$dom: a helper and QEMU run" '^[0-9]+ [0-9]+$' "$HPID $QPID"
    check "$dom: its pidfile names its helper" "$HPID" "$(cat "$STATEDIR/virtfs-proxy/$dom.fs0.pid" 2>/dev/null)"
    dpid=$(daemon_pid virtqemud)
    kill -KILL "$dpid"
    wait_gone "$dpid" 5 || fail "virtqemud $dpid survived SIGKILL"
    rm -f "$STATEDIR/$dom.xml"
}

# finish DOM DIR: the domain runs with a new helper; destroy it and check
# that nothing is left
finish() {
    local dom=$1 dir=$2 h
    check "$dom: started (paused)" "paused" "$(virsh domstate "$dom")"
    h=$(helpers_of "$dir")
    check_match "$dom: one helper serves the export" '^[0-9]+$' "$h"
    check "$dom: the pidfile names it" "$h" "$(cat "$STATEDIR/virtfs-proxy/$dom.fs0.pid" 2>/dev/null)"
    virsh destroy "$dom" >/dev/null
    [[ -z $h ]] || wait_gone "$h" 10 || true
    check "$dom: no helper after destroy" "" "$(helpers_of "$dir")"
    check "$dom: no pidfile after destroy" "" "$(pidfiles_of "$dom")"
}

echo "-- (a) a crashed run's pidfile naming a dead helper"
dom=e2e-stale-dead dir=$(fresh_dir stale-dead)
define_domain "$dom" "proxyfs.run=none" "$(proxy_fs "$dir" share)"
crash_run "$dom" "$dir"
kill -KILL "$QPID"
wait_gone "$QPID" 5 || fail "QEMU $QPID survived SIGKILL"
check "$dom: its helper ends with QEMU" "gone" "$(wait_gone "$HPID" 10 && echo gone || echo running)"
restart_virtqemud
check "$dom: shut off for the restarted daemon" "shut off" "$(virsh domstate "$dom")"
check "$dom: the old pidfile is left, naming the dead helper" "$HPID" \
    "$(cat "$STATEDIR/virtfs-proxy/$dom.fs0.pid" 2>/dev/null)"
if virsh start --paused "$dom" >/dev/null; then pass "$dom: starts again"; else fail "$dom: does not start again"; fi
finish "$dom" "$dir"

echo "-- (b) a crashed run's helper still running (hung)"
dom=e2e-stale-live dir=$(fresh_dir stale-live)
define_domain "$dom" "proxyfs.run=none" "$(proxy_fs "$dir" share)"
crash_run "$dom" "$dir"
old=$HPID
# stopped, the helper does not see QEMU go and keeps its pidfile locked
stop_process "$old" || true
kill -KILL "$QPID"
wait_gone "$QPID" 5 || fail "QEMU $QPID survived SIGKILL"
restart_virtqemud
check "$dom: shut off for the restarted daemon" "shut off" "$(virsh domstate "$dom")"
check "$dom: the old helper still runs" "running" "$(wait_gone "$old" 1 && echo gone || echo running)"
t=$SECONDS
if virsh start --paused "$dom" >/dev/null; then pass "$dom: starts again ($((SECONDS - t)) s)"; else fail "$dom: does not start again"; fi
check "$dom: the old helper was stopped by the start" "gone" "$(wait_gone "$old" 5 && echo gone || echo running)"
check_match "$dom: the daemon said so" "Stopping virtfs-proxy-helper \\(pid $old\\) left behind by an earlier run" \
    "$(tail -c +$((DAEMON_LOG_OFFSET + 1)) "$E2E/virtqemud.log" | grep -o 'Stopping virtfs-proxy-helper (pid [0-9]*) left behind by an earlier run' | tail -n 1)"
finish "$dom" "$dir"

echo "-- (c) a stale pidfile naming another process"
dom=e2e-stale-other dir=$(fresh_dir stale-other)
define_domain "$dom" "proxyfs.run=none" "$(proxy_fs "$dir" share)"
sleep 300 &
bystander=$!
printf '%s' "$bystander" > "$STATEDIR/virtfs-proxy/$dom.fs0.pid"
if virsh start --paused "$dom" >/dev/null; then pass "$dom: starts"; else fail "$dom: does not start"; fi
check "$dom: the process the stale pidfile named is alive" "alive" \
    "$([[ -d /proc/$bystander ]] && echo alive || echo killed)"
finish "$dom" "$dir"
check "$dom: ... and still alive after destroy" "alive" \
    "$([[ -d /proc/$bystander ]] && echo alive || echo killed)"
kill "$bystander" 2>/dev/null || true
wait "$bystander" 2>/dev/null || true

# overwrite_pidfile DOM PID: what a compromised helper can do to its pidfile
overwrite_pidfile() { printf '%s\n' "$2" > "$STATEDIR/virtfs-proxy/$1.fs0.pid"; }

# start_paused NAME: domain e2e-stale-NAME with one share, started paused;
# sets dom, dir and h (its helper)
start_paused() {
    dom=e2e-stale-$1 dir=$(fresh_dir "stale-$1")
    define_domain "$dom" "proxyfs.run=none" "$(proxy_fs "$dir" share)"
    virsh start --paused "$dom" >/dev/null
    h=$(helpers_of "$dir")
    check_match "$dom: a helper runs" '^[0-9]+$' "$h"
}

# check_bystander: the process a rewritten pidfile named was left alone
check_bystander() {
    check "$dom: the process the pidfile named is alive" "alive" \
        "$([[ -d /proc/$bystander ]] && echo alive || echo killed)"
}

echo "-- (d) destroy with a pidfile naming another process"
start_paused destroy
sleep 300 &
bystander=$!
overwrite_pidfile "$dom" "$bystander"
virsh destroy "$dom" >/dev/null
check "$dom: the helper ended" "gone" "$(wait_gone "$h" 10 && echo gone || echo running)"
check_bystander
check "$dom: no pidfile after destroy" "" "$(pidfiles_of "$dom")"
check_match "$dom: the daemon said it ignored the pidfile" \
    "pidfile '$STATEDIR/virtfs-proxy/$dom.fs0.pid' names pid $bystander, not the helper's pid $h: ignoring its content" \
    "$(tail -c +$((DAEMON_LOG_OFFSET + 1)) "$E2E/virtqemud.log" | grep -F "$dom.fs0.pid' names pid" | tail -n 1)"

echo "-- (e) the same after a daemon restart, with the helper hung"
start_paused restart
st=$(awk '{ print $22 }' "/proc/$h/stat" 2>/dev/null)
check "$dom: the status XML records the helper's pid and start time" \
    "<helper alias='fs0' pid='$h' starttime='$st'/>" \
    "$(grep -o "<helper alias='fs0' pid='[0-9]*' starttime='[0-9]*'/>" "$STATEDIR/$dom.xml")"
restart_virtqemud
check "$dom: still there (paused) after the restart" "paused" "$(virsh domstate "$dom")"
check "$dom: the same helper" "$h" "$(helpers_of "$dir")"
stop_process "$h" || true
overwrite_pidfile "$dom" "$bystander"
t=$SECONDS
virsh destroy "$dom" >/dev/null
check "$dom: the hung helper was killed by the recorded pid ($((SECONDS - t)) s)" "gone" \
    "$(wait_gone "$h" 10 && echo gone || echo running)"
check_bystander
check "$dom: no pidfile after destroy" "" "$(pidfiles_of "$dom")"
kill "$bystander" 2>/dev/null || true
wait "$bystander" 2>/dev/null || true

summary "$NAME"
