#!/bin/bash
# profile.sh RUNDIR - which proxy requests one guest operation costs, with
# each helper (libvirt's and QEMU's). One guest per helper runs fsbench's
# metadata phases (create, stat, chmod, chown, rename, walk, unlink) on
# BENCH_PROFILE_NFILES files, while strace records what the helper reads
# from QEMU; fsbench looks up DIR/.phase-NAME before each phase, which
# marks the phases in that stream. profile-count.py turns the trace into
# requests per guest operation, by type. strace slows the helper: the
# counts are the result, not the times. A second guest per helper runs
# the same untraced, under perf stat: the helper's CPU time, context
# switches (each a sleep and a wakeup) and CPU migrations over the run,
# per request. Writes RUNDIR/profile.tsv (helper phase type per_op),
# RUNDIR/profile-cost.tsv and RUNDIR/profile.txt.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN=$1
NFILES=${BENCH_PROFILE_NFILES:-200}
TIMEOUT=${BENCH_GUEST_TIMEOUT:-600}
command -v strace >/dev/null || die "profile: no strace (apt-get install strace)"
command -v perf >/dev/null || die "profile: no perf (apt-get install linux-perf)"

traced() { [[ $(proc_field "$1" TracerPid) != 0 ]]; }

# one guest of CONFIG, paused; TOOL... attached to its helper (the pid
# appended), then resumed until it is done. Sets DOM, DIR, TOOLPID.
profile_guest() {
    local cfg=$1 hpid
    shift
    ensure_daemons
    DOM=bench-profile-$cfg
    DIR=$(config_export "$cfg" "profile-$cfg")
    bench_define "$DOM" "$(config_cmdline "$cfg" b /mnt/b "meta:/mnt/b:$NFILES") proxyfs.timeout=$TIMEOUT" \
        "$(config_domain_xml "$cfg")" "$(config_fs "$cfg" "$DIR" b)"
    # paused, so that the tool is attached before the guest's first request
    virsh start --paused "$DOM" >/dev/null
    hpid=$(helpers_of "$DIR")
    [[ $hpid =~ ^[0-9]+$ ]] || die "profile: $cfg: no helper for $DIR"
    "$@" "$hpid" &
    TOOLPID=$!
    wait_until 10 traced_or_counted "$hpid" || die "profile: $cfg: $1 did not attach to $hpid"
    virsh resume "$DOM" >/dev/null
    bench_wait_done "$DOM" $((TIMEOUT + 60)) || bsay "profile: $cfg: guest timed out" >&2
    kill -INT "$TOOLPID" 2>/dev/null || true
    wait "$TOOLPID" 2>/dev/null || true
}
profile_done() {
    ensure_daemons
    cleanup_domain "$DOM"
    rm -rf "$DIR"
}
# strace traces; perf stat opens a counter on the task, which shows as an
# anonymous perf_event fd of perf's
traced_or_counted() {
    [[ $(proc_field "$1" TracerPid) != 0 ]] ||
        find "/proc/$TOOLPID/fd" -lname 'anon_inode:*perf_event*' -print -quit 2>/dev/null | grep -q .
}
strace_helper() { exec strace -f -qq -xx -s 200 -e trace=read,recvfrom -o "$TRACE" -p "$1"; }
perf_helper() { exec perf stat -x, -o "$PERF" -e task-clock,context-switches,cpu-migrations -p "$1"; }

printf 'helper\tphase\ttype\tper_op\n' > "$RUN/profile.tsv"
printf 'helper\trequests\ttask_clock_ms\tcontext_switches\tcpu_migrations\n' > "$RUN/profile-cost.tsv"
for cfg in proxy proxy-qemu; do
    TRACE=$RUN/profile-$cfg.strace
    profile_guest "$cfg" strace_helper
    bench_lines "$DOM" | sed "s/^/    $cfg, traced: /"
    /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/profile-count.py" "$cfg" "$NFILES" "$TRACE" >> "$RUN/profile.tsv" ||
        die "profile: $cfg: could not count the requests in $TRACE"
    profile_done

    PERF=$RUN/profile-$cfg.perf
    profile_guest "$cfg" perf_helper
    bench_lines "$DOM" | sed "s/^/    $cfg, untraced: /"
    profile_done
    requests=$(/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/profile-count.py" --total "$TRACE")
    awk -F, -v h="$cfg" -v n="$requests" '
        $3 == "task-clock" { t = $1 } $3 == "context-switches" { c = $1 } $3 == "cpu-migrations" { m = $1 }
        END { if (t == "" || c == "") exit 1; printf "%s\t%d\t%s\t%s\t%s\n", h, n, t, c, m }' "$PERF" \
        >> "$RUN/profile-cost.tsv" || die "profile: $cfg: no counts in $PERF"
done
/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/profile-count.py" --table "$RUN/profile.tsv" "$RUN/profile-cost.tsv" |
    tee "$RUN/profile.txt"
