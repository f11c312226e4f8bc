#!/usr/bin/env bash
# bench-rtt.sh - make bench-helper: one request round trip through QEMU 7.2's
# helper and libvirt's own, in the same run (rtt.c: rounds alternate
# between the helpers). Prints each helper's median time per request and
# the ratio ours / QEMU's per kind of request. Numbers mean something only
# on an idle machine; nothing here checks their values.
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
say "bench-rtt: $ROUNDS rounds of $COUNT requests of each kind per helper (load now: $(cut -d' ' -f1-3 /proc/loadavg))"
"$OUT/rtt" "$ROUNDS" "$COUNT" "$QEMUS" "$OURS" | tee "$OUT/result"
# rtt: HELPER: KIND: N us
awk -F': ' -v q="$QEMUS" -v o="$OURS" '
    { v = $4; sub(/ us$/, "", v); if ($2 == q) qv[$3] = v; else if ($2 == o) ov[$3] = v }
    END { for (k in qv) if (k in ov)
              printf "bench-rtt: %s: ours %.1f us, QEMU'"'"'s %.1f us, ratio %.2f\n", k, ov[k], qv[k], ov[k] / qv[k] }' \
    "$OUT/result" | sort | tee "$OUT/ratios"
