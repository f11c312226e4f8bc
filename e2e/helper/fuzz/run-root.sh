#!/bin/sh
# Run fuzz_server as root, so that the credential switching (setfsuid,
# setfsgid, capset) and root-only requests (chown to any user, mknod of
# devices) are fuzzed too. To keep a resolution bug from reaching the host,
# it runs chrooted in a throw-away mount namespace: a tmpfs root with the
# system's /usr, /lib*, /bin, /etc bind-mounted read-only, a read-only /proc
# (for LeakSanitizer), and its own network namespace. Needs root and util-linux's unshare.
# Usage: run-root.sh FUZZER [libFuzzer options]   (results in $FUZZ_WORK)
set -eu
fuzzer=$(readlink -f "${1:?fuzz_server binary}")
shift
here=$(cd "$(dirname "$0")" && pwd)
work=${FUZZ_WORK:-$(mktemp -d /tmp/fuzz-proxy-root.XXXXXX)}
mkdir -p "$work"
[ "$(id -u)" = 0 ] || { echo "run-root.sh: needs root" >&2; exit 77; }

unshare --mount --net --propagation private -- /bin/sh -eu -c '
    work=$1 fuzzer=$2 here=$3; shift 3
    root=$work/root
    mkdir -p "$root"
    mount -t tmpfs -o mode=755 fuzzroot "$root"
    for d in usr bin lib lib64 etc; do
        [ -e "/$d" ] || continue
        if [ -L "/$d" ]; then cp -P "/$d" "$root/$d"; continue; fi
        mkdir -p "$root/$d"
        mount --rbind "/$d" "$root/$d"
        mount -o remount,bind,ro "$root/$d"
    done
    mkdir -p "$root/fuzz/corpus" "$root/fuzz/seeds" "$root/fuzz/artifacts" "$root/tmp" "$root/proc"
    # LeakSanitizer reads /proc; read-only, outside the scratch export
    mount -t proc -o ro,nosuid,nodev,noexec fuzzproc "$root/proc"
    cp "$fuzzer" "$root/fuzz/fuzz_server"
    cp -r "$here/corpus/." "$root/fuzz/seeds/"
    cp "$here/proxy.dict" "$root/fuzz/"
    FUZZ_TMPDIR=/tmp chroot "$root" /fuzz/fuzz_server -max_len=4096 \
        -dict=/fuzz/proxy.dict -print_final_stats=1 \
        -artifact_prefix=/fuzz/artifacts/ "$@" /fuzz/corpus /fuzz/seeds \
        > "$work/log" 2>&1 || true
    cp -r "$root/fuzz/artifacts" "$work/"
' sh "$work" "$fuzzer" "$here" "$@"

grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$work/log" || true
grep -E '^stat::' "$work/log" || true
crashes=$(find "$work/artifacts" -type f | wc -l)
echo "crashes: $crashes (log: $work/log)"
# a run that did not finish (the target died outside an input) fails too
grep -q -E '^#[0-9]+[[:space:]]+DONE' "$work/log" || { echo "fuzzing did not finish" >&2; exit 1; }
[ "$crashes" = 0 ]
