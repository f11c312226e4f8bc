#!/usr/bin/env bash
# bench-rtt.sh - make bench-helper: one request round trip through QEMU 7.2's
# helper and libvirt's own, in the same run (rtt.c: rounds alternate
# between the helpers). Prints each helper's median time per request and
# the ratio ours / QEMU's per kind of request, and the floor: the same
# requests answered by null-helper.c, which touches no file, so that what
# each helper adds to a bare round trip can be read off; and each helper's
# memory (VmRSS and private) once it has served them. Helpers get the
# environment libvirt gives them. Numbers mean something only on an idle
# machine; nothing here checks their values.
# Environment: RTT_ROUNDS (default 11), RTT_COUNT (requests of each kind per
# round and helper, default 2000).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../../scripts/lib.sh"

ROUNDS=${RTT_ROUNDS:-11}
COUNT=${RTT_COUNT:-2000}
OURS=$BUILD/src/libvirt_virtfs_proxy_helper
QEMUS=/usr/lib/qemu/virtfs-proxy-helper
OUT=$WORK/helper-rtt
((EUID == 0)) || die "needs root (the helpers run as root)"
[[ -x $OURS ]] || die "no $OURS (make build)"
[[ -x $QEMUS ]] || die "no $QEMUS (make deps: qemu-system-common)"
mkdir -p "$OUT"
gcc -static -O2 -Wall -Wextra -Werror -o "$OUT/rtt" "$HERE/rtt.c"
gcc -static -O2 -Wall -Wextra -Werror -o "$OUT/null-helper" "$HERE/null-helper.c"
# Where the client and the helper run decides most of a short round trip:
# a wakeup on another CPU costs tens of microseconds here, and an unpinned
# run lands one helper or the other there at random. So each helper is
# measured in two fixed placements, all on CPU 0 ("same CPU"), and the
# client on CPU 0 with the helper on CPU 1 ("other CPU"), as QEMU's 9p
# thread and the helper may run.
ncpu=$(nproc)
placements=("same CPU:0:0")
((ncpu < 2)) || placements+=("other CPU:0:1")
say "bench-rtt: $ROUNDS rounds of $COUNT requests of each kind per helper and placement (load now: $(cut -d' ' -f1-3 /proc/loadavg))"
: > "$OUT/result"
: > "$OUT/ratios"
for pl in "${placements[@]}"; do
    IFS=: read -r where ccpu hcpu <<<"$pl"
    for h in qemu ours null; do
        case $h in
        qemu) bin=$QEMUS ;;
        ours) bin=$OURS ;;
        null) bin=$OUT/null-helper ;;
        esac
        # the environment libvirt gives a helper (virCommandAddEnvPassCommon)
        printf '#!/bin/sh\nexec env -i LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin taskset -c %s %s "$@"\n' \
            "$hcpu" "$bin" > "$OUT/$h"
        chmod 0755 "$OUT/$h"
    done
    taskset -c "$ccpu" "$OUT/rtt" "$ROUNDS" "$COUNT" "$OUT/qemu" "$OUT/ours" "$OUT/null" |
        sed "s|^rtt: |rtt: $where: |" | tee -a "$OUT/result"
    # rtt: WHERE: HELPER: KIND: N us
    awk -F': ' -v q="$OUT/qemu" -v o="$OUT/ours" -v n="$OUT/null" -v w="$where" '
        $2 == w && $5 ~ / us$/ { v = $5; sub(/ us$/, "", v)
                  if ($3 == q) qv[$4] = v; else if ($3 == o) ov[$4] = v; else if ($3 == n) nv[$4] = v }
        END { for (k in qv) if (k in ov) {
                  printf "bench-rtt: %s, %s: ours %.1f us, QEMU'"'"'s %.1f us, ratio %.2f\n", w, k, ov[k], qv[k], ov[k] / qv[k]
                  if (k in nv)
                      printf "bench-rtt: %s, %s: floor %.1f us (null helper), above it ours %.1f us, QEMU'"'"'s %.1f us\n", w, k, nv[k], ov[k] - nv[k], qv[k] - nv[k] } }' \
        "$OUT/result" | sort | tee -a "$OUT/ratios"
    # rtt: WHERE: HELPER: memory: VmRSS N kB, private N kB
    awk -F': ' -v q="$OUT/qemu" -v o="$OUT/ours" -v w="$where" '
        $2 == w && $4 == "memory" { split($5, f, " "); rss[$3] = f[2]; priv[$3] = f[5] }
        END { if ((q in rss) && (o in rss) && rss[q] > 0)
                  printf "bench-rtt: %s, memory: VmRSS ours %d kB, QEMU'"'"'s %d kB, ratio %.2f; private ours %d kB, QEMU'"'"'s %d kB\n",
                         w, rss[o], rss[q], rss[o] / rss[q], priv[o], priv[q] }' \
        "$OUT/result" | tee -a "$OUT/ratios"
done
