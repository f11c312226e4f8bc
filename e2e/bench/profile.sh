#!/bin/bash
# profile.sh RUNDIR - which proxy requests one guest operation costs, with
# each helper (libvirt's and QEMU's). One guest per helper runs fsbench's
# metadata phases (create, stat, chmod, chown, rename, walk, unlink) on
# BENCH_PROFILE_NFILES files, while strace records what the helper reads
# from QEMU; fsbench looks up DIR/.phase-NAME before each phase, which
# marks the phases in that stream. profile-count.py turns the trace into
# requests per guest operation, by type. strace slows the helper: the
# counts are the result, not the times. Writes RUNDIR/profile.tsv
# (helper phase type per_op) and RUNDIR/profile.txt.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN=$1
NFILES=${BENCH_PROFILE_NFILES:-200}
TIMEOUT=${BENCH_GUEST_TIMEOUT:-600}
command -v strace >/dev/null || die "profile: no strace (apt-get install strace)"

traced() { [[ $(proc_field "$1" TracerPid) != 0 ]]; }

printf 'helper\tphase\ttype\tper_op\n' > "$RUN/profile.tsv"
for cfg in proxy proxy-qemu; do
    ensure_daemons
    dom=bench-profile-$cfg
    dir=$(config_export "$cfg" "profile-$cfg")
    bench_define "$dom" "$(config_cmdline "$cfg" b /mnt/b "meta:/mnt/b:$NFILES") proxyfs.timeout=$TIMEOUT" \
        "$(config_domain_xml "$cfg")" "$(config_fs "$cfg" "$dir" b)"
    # paused, so that strace is attached before the guest's first request
    virsh start --paused "$dom" >/dev/null
    hpid=$(helpers_of "$dir")
    [[ $hpid =~ ^[0-9]+$ ]] || die "profile: $cfg: no helper for $dir"
    trace=$RUN/profile-$cfg.strace
    strace -f -qq -xx -s 200 -e trace=read,recvfrom -p "$hpid" -o "$trace" &
    spid=$!
    wait_until 10 traced "$hpid" || die "profile: $cfg: strace did not attach to $hpid"
    virsh resume "$dom" >/dev/null
    bench_wait_done "$dom" $((TIMEOUT + 60)) || bsay "profile: $cfg: guest timed out" >&2
    kill "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    bench_lines "$dom" | sed "s/^/    $cfg: /"
    /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/profile-count.py" "$cfg" "$NFILES" "$trace" >> "$RUN/profile.tsv" ||
        die "profile: $cfg: could not count the requests in $trace"
    ensure_daemons
    cleanup_domain "$dom"
    rm -rf "$dir"
done
/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/profile-count.py" --table "$RUN/profile.tsv" | tee "$RUN/profile.txt"
