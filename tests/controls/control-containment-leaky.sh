#!/usr/bin/env bash
# control-containment-leaky.sh: containment.sh against a leaky helper.
# The wrapper starts QEMU's real helper with the export's PARENT as its
# root (one level too high), as a helper that confines itself to the
# wrong directory would. Every export then sees its neighbours (the
# canary, export-OTHER, the exports of earlier attempts) as "../NAME" and
# "/NAME". containment.sh must FAIL, and its oracles must name the
# escapes: an fd on a protected inode and a change outside the export,
# both in the neighbouring share export-OTHER (A36), which the oracles
# used not to watch.
# Exit: 0 caught, 1 missed, 2 setup failed (tests/controls/run.sh).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
REAL=/usr/lib/qemu/virtfs-proxy-helper

((EUID == 0)) || { echo "control: containment-leaky needs root"; exit 2; }
[[ -x $REAL ]] || { echo "control: no $REAL (qemu-system-common)"; exit 2; }
D=$(mktemp -d /tmp/control-leaky.XXXXXX)
trap 'rm -rf "$D"' EXIT
chmod 0755 "$D"
# proxyclient starts "HELPER -n -f FD -p EXPORT"
cat > "$D/virtfs-proxy-leaky" <<EOS
#!/bin/sh
# one level too high: the export's parent becomes the helper's root
[ "\$1 \$2 \$4" = "-n -f -p" ] || { echo "leaky wrapper: unexpected arguments: \$*" >&2; exit 2; }
exec $REAL "\$1" "\$2" "\$3" "\$4" "\${5%/*}"
EOS
chmod 0755 "$D/virtfs-proxy-leaky"

echo "control: breaking: HELPER=$D/virtfs-proxy-leaky (QEMU's helper rooted at the export's parent)"
set +e
HELPER=$D/virtfs-proxy-leaky "$TOP/e2e/security/containment.sh" > "$D/out" 2>&1
rc=$?
set -e
cat "$D/out"
fails=$(grep -c '^A[0-9a-z]* *FAIL ' "$D/out" || true)
# A36's escapes into export-OTHER, as the oracles report them
nb_fd=$(sed -n '/^A36 /,/^A[0-9]/p' "$D/out" | grep -c '!! fd on a protected inode .*NEIGHBOUR' || true)
nb_changed=$(sed -n '/^A36 /,/^A[0-9]/p' "$D/out" | grep -c '!! outside the export changed: .*export-OTHER' || true)
if ((rc != 0 && nb_fd > 0 && nb_changed > 0)); then
    echo "control: containment.sh against a helper rooted one level too high -> caught: exit $rc, $fails attempts FAIL, A36 names $nb_fd fd(s) on export-OTHER's files and its changed tree"
    exit 0
fi
echo "control: containment.sh against a helper rooted one level too high -> MISSED: exit $rc, $fails attempts FAIL, A36: $nb_fd fd(s) on export-OTHER, $nb_changed change reports"
exit 1
