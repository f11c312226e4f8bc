#!/bin/bash
# test-faults.sh - faults lose nothing:
#  (a) the helper is SIGKILLed while the guest writes new files and syncs
#      each: every file the guest reported synced is on the host with its
#      size and SHA-256, and the daemon stays healthy;
#  (b) the daemon is SIGKILLed while two domains with two proxy shares each
#      run, then restarted: it keeps the four helpers, and each pair goes
#      away with its own domain;
#  (c) the export is removed, or replaced by a symbolic link, between define
#      and start: start fails with a clear message and leaves nothing behind,
#      and the same domain starts once the export is back.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NAME=test-faults
e2e_setup "$NAME"

# nothing_left DOM EXPORT...: no helper, no pidfile, no QEMU of DOM
nothing_left() {
    local dom=$1 dir
    shift
    for dir in "$@"; do
        check "$dom: no helper serves $dir" "" "$(helpers_of "$dir")"
    done
    check "$dom: no helper pidfile" "" "$(pidfiles_of "$dom")"
    check "$dom: no QEMU pidfile" "absent" "$([[ -e $STATEDIR/$dom.pid ]] && echo present || echo absent)"
}

echo "-- (a) helper SIGKILLed while the guest streams synced files"
dom=e2e-fault-stream dir=$(fresh_dir fault-stream)
define_domain "$dom" "proxyfs.mounts=share:/mnt/share proxyfs.run=stream:/mnt/share:100000:60,sleep:60 proxyfs.timeout=90" \
    "$(proxy_fs "$dir" share)"
fds=$(daemon_fds)
virsh start "$dom" >/dev/null
hpid=$(helpers_of "$dir")
check_match "$dom: a helper runs" '^[0-9]+$' "$hpid"
wait_console "$dom" '^PROBE-STREAM synced s00039 ' 90 || fail "$dom: guest did not sync 40 files"
[[ -z $hpid ]] || kill -KILL "$hpid"
check "$dom: helper killed" "gone" "$(wait_gone "$hpid" 5 && echo gone || echo running)"
if wait_console "$dom" '^PROBE-STREAM done ' 20; then
    pass "$dom: the guest's stream ended (no hang)"
else
    fail "$dom: the guest's stream still runs 20 s after the helper died"
fi
check_match "$dom: the stream stopped on an I/O error" '^PROBE-STREAM done synced=[0-9]+ stopped=error$' \
    "$(console "$dom" | grep '^PROBE-STREAM done')"
check_match "$dom: the failing call got EIO" '^PROBE (open|write|fsync|close) /mnt/share/stream/s[0-9]+ FAIL EIO$' \
    "$(console "$dom" | grep -E '^PROBE [a-z]+ .* FAIL ' | head -n 1)"
synced=0 bad=()
while read -r _ _ file size sum; do
    synced=$((synced + 1))
    got="$(stat -c %s "$dir/stream/$file" 2>/dev/null) $(sha256sum < "$dir/stream/$file" 2>/dev/null | cut -d' ' -f1)"
    [[ $got == "$size $sum" ]] || bad+=("$file: guest synced $size $sum, host has '$got'")
done < <(console "$dom" | grep '^PROBE-STREAM synced ')
check_match "$dom: files the guest synced before the kill (at least 40)" '^([4-9][0-9]|[1-9][0-9]{2,})$' "$synced"
check "$dom: synced files on the host with their size and SHA-256" "$synced of $synced" \
    "$((synced - ${#bad[@]})) of $synced"
for b in "${bad[@]}"; do echo "    $b"; done
list=$(virsh_t 10 list 2>&1) || true
check_match "$dom: virsh list answers and shows the domain running" "[0-9]+ +$dom +running" "$list"
virsh_t 30 destroy "$dom" >/dev/null || fail "$dom: virsh destroy failed"
nothing_left "$dom" "$dir"
wait_fds "$fds"
check "$dom: virtqemud fd count back to its value before start" "$fds" "$(daemon_fds)"

echo "-- (b) daemon SIGKILLed while two domains with two proxy shares each run"
doms=(e2e-fault-dk1 e2e-fault-dk2)
declare -A DIRS=() HPIDS=() QPIDS=()
for dom in "${doms[@]}"; do
    d1=$(fresh_dir "$dom-a") d2=$(fresh_dir "$dom-b")
    DIRS[$dom]="$d1 $d2"
    define_domain "$dom" "proxyfs.mounts=a:/mnt/a,b:/mnt/b proxyfs.run=sleep:120 proxyfs.timeout=150" \
        "$(proxy_fs "$d1" a)" "$(proxy_fs "$d2" b)"
    virsh start "$dom" >/dev/null
done
for dom in "${doms[@]}"; do
    wait_console "$dom" '^PROBE-RUN sleep' 60 || fail "$dom: guest did not boot"
    check "$dom: both shares mounted" "PROBE-MOUNT a /mnt/a ok PROBE-MOUNT b /mnt/b ok" \
        "$(console "$dom" | grep '^PROBE-MOUNT' | paste -sd' ')"
    read -r d1 d2 <<<"${DIRS[$dom]}"
    HPIDS[$dom]="$(helpers_of "$d1") $(helpers_of "$d2")"
    QPIDS[$dom]=$(qemu_pid "$dom" || true)
    check_match "$dom: two helpers and QEMU run" '^[0-9]+ [0-9]+ [0-9]+$' "${HPIDS[$dom]} ${QPIDS[$dom]}"
done
dpid=$(daemon_pid virtqemud)
kill -KILL "$dpid"
check "virtqemud (pid $dpid) SIGKILLed" "gone" "$(wait_gone "$dpid" 5 && echo gone || echo running)"
for dom in "${doms[@]}"; do
    read -r h1 h2 <<<"${HPIDS[$dom]}"
    check "$dom: helpers and QEMU survive the daemon" "alive alive alive" \
        "$(for p in "$h1" "$h2" "${QPIDS[$dom]}"; do [[ -d /proc/$p ]] && echo alive || echo dead; done | paste -sd' ')"
done
restart_virtqemud
for dom in "${doms[@]}"; do
    read -r d1 d2 <<<"${DIRS[$dom]}"
    check "$dom: running after the restart" "running" "$(virsh domstate "$dom")"
    check "$dom: the same helpers serve the exports" "${HPIDS[$dom]}" "$(helpers_of "$d1") $(helpers_of "$d2")"
    check "$dom: the pidfiles still name them" "$(tr ' ' '\n' <<<"${HPIDS[$dom]}" | sort -n | paste -sd' ')" \
        "$(pidfiles_of "$dom" | while read -r f; do cat "$f"; echo; done | sort -n | paste -sd' ')"
    check "$dom: the same QEMU" "${QPIDS[$dom]}" "$(qemu_pid "$dom")"
done
virsh destroy "${doms[0]}" >/dev/null
read -r h1 h2 <<<"${HPIDS[${doms[0]}]}"
check "${doms[0]}: its helpers end with it" "gone gone" \
    "$(for p in "$h1" "$h2"; do wait_gone "$p" 10 && echo gone || echo running; done | paste -sd' ')"
# shellcheck disable=SC2086 # two directories
nothing_left "${doms[0]}" ${DIRS[${doms[0]}]}
read -r h1 h2 <<<"${HPIDS[${doms[1]}]}"
check "${doms[1]}: its helpers still run" "alive alive" \
    "$(for p in "$h1" "$h2"; do [[ -d /proc/$p ]] && echo alive || echo dead; done | paste -sd' ')"
virsh destroy "${doms[1]}" >/dev/null
check "${doms[1]}: its helpers end with it" "gone gone" \
    "$(for p in "$h1" "$h2"; do wait_gone "$p" 10 && echo gone || echo running; done | paste -sd' ')"
# shellcheck disable=SC2086 # two directories
nothing_left "${doms[1]}" ${DIRS[${doms[1]}]}

echo "-- (c) the export removed or replaced by a symlink between define and start"
dom=e2e-fault-export dir=$(fresh_dir fault-export) other=$(fresh_dir fault-export-other)
define_domain "$dom" "proxyfs.mounts=share:/mnt/share proxyfs.run=none" "$(proxy_fs "$dir" share)"
# start_refused DESCRIPTION MESSAGE: virsh start fails with exactly MESSAGE
start_refused() {
    local fds got rc=0
    fds=$(daemon_fds)
    got=$(virsh start "$dom" 2>&1 >/dev/null) || rc=$?
    check "$1: virsh start fails" 1 "$rc"
    check "$1: the message" "error: Failed to start domain '$dom'
error: $2" "$got"
    check "$1: shut off" "shut off" "$(virsh domstate "$dom")"
    nothing_left "$dom" "$dir" "$other"
    wait_fds "$fds"                 # (5 s at most: a closing fd is not a leak)
    check "$1: daemon fd count unchanged" "$fds" "$(daemon_fds)"
}
rmdir "$dir"
start_refused "export removed" \
    "cannot access proxy filesystem export '$dir': No such file or directory"
ln -s "$other" "$dir"
start_refused "export replaced by a symlink" \
    "Requested operation is not valid: proxy filesystem export '$dir' is a symbolic link: virtfs-proxy-helper only exports a real directory"
check "the symlink's target stays empty" "" "$(ls -A "$other")"
rm "$dir"
mkdir -m 0755 "$dir"
if virsh start "$dom" >/dev/null; then pass "$dom: starts once the export is back"; else fail "$dom: does not start with the export back"; fi
check "$dom: a helper serves the export" 1 "$(helpers_of "$dir" | wc -l)"
virsh destroy "$dom" >/dev/null
nothing_left "$dom" "$dir"

summary "$NAME"
