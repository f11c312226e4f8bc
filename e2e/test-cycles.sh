#!/bin/bash
# test-cycles.sh - start and destroy a domain with two proxy shares CYCLES
# times (default 100) and count what each cycle leaks: helper processes,
# QEMU processes, fds of the daemon (/proc/PID/fd), helper pidfiles, QEMU
# pidfiles and socket files in the daemon's state directories.
# The domain starts paused: everything that can leak (the helpers, their
# pidfiles and sockets, QEMU and its monitor) exists once virsh start
# returns, and no guest has to boot, so a cycle takes a second, not the
# guest's boot time.
# Prints "lifecycle: N cycles, L leaks" before its summary line.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NAME=test-cycles
CYCLES=${CYCLES:-100}
e2e_setup "$NAME"

dom=e2e-cycles a=$(fresh_dir cycles-a) b=$(fresh_dir cycles-b)
define_domain "$dom" "proxyfs.mounts=a:/mnt/a,b:/mnt/b proxyfs.run=sleep:60 proxyfs.timeout=90" \
    "$(proxy_fs "$a" a)" "$(proxy_fs "$b" b)"

qemus_of() { pgrep -f -- "-name guest=$dom," || true; }
# the domain's socket files (monitor, agent) under its state directories
sockets() { find "$STATEDIR" "$VARDIR/lib/libvirt/qemu" -path "*-$dom/*" -type s 2>/dev/null | sort; }

# state: one line per resource, compared after every cycle with the start
state() {
    echo "daemon fds: $(daemon_fds)"
    echo "helpers of the exports: $( (helpers_of "$a"; helpers_of "$b") | wc -l)"
    echo "QEMU processes of the domain: $(qemus_of | wc -l)"
    echo "helper pidfiles: $(pidfiles_of "$dom" | wc -l)"
    echo "QEMU pidfile: $([[ -e $STATEDIR/$dom.pid ]] && echo 1 || echo 0)"
    echo "socket files of the domain: $(sockets | wc -l)"
}
# settled: the state once a destroyed domain's processes are reaped (5 s)
settled() {
    local i now
    for ((i = 0; i < 50; i++)); do
        now=$(state)
        [[ $now == "$BASE" ]] && break
        sleep 0.1
    done
    echo "$now"
}

BASE=$(state)
echo "-- before: $(paste -sd',' <<<"$BASE")"
leaks=0 started=0 t0=$SECONDS
for ((i = 1; i <= CYCLES; i++)); do
    if ! virsh start --paused "$dom" >/dev/null; then
        fail "cycle $i: virsh start --paused failed"
        continue
    fi
    h="$(helpers_of "$a" | wc -l) $(helpers_of "$b" | wc -l)"
    [[ $h == "1 1" ]] && started=$((started + 1)) || fail "cycle $i: helpers per export '$h', expected '1 1'"
    virsh destroy "$dom" >/dev/null || fail "cycle $i: virsh destroy failed"
    now=$(settled)
    if [[ $now != "$BASE" ]]; then
        n=$(diff <(echo "$BASE") <(echo "$now") | grep -c '^>' || true)
        leaks=$((leaks + n))
        fail "cycle $i leaked: $(diff <(echo "$BASE") <(echo "$now") | grep '^[<>]' | paste -sd' ')"
        BASE=$now                   # count each leak once
    fi
    ((i % 10)) || echo "   $i cycles, $leaks leaks, $((SECONDS - t0)) s"
done
check "cycles whose start ran one helper per share" "$CYCLES" "$started"
check "leaks after $CYCLES start/destroy cycles" 0 "$leaks"
echo "-- after: $(paste -sd',' <<<"$(state)")"
echo "lifecycle: $CYCLES cycles, $leaks leaks"

summary "$NAME"
