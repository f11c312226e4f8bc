#!/usr/bin/env bash
# The virtinst tests (pytest) against the patched virt-manager tree:
#  - the --filesystem parser, the XML builder and domcaps, in process;
#  - virt-install --print-xml from the patched and the pristine tree, and,
#    as root with a private libvirt in work/prefix, against that daemon
#    (started here if it is not running, and then stopped again);
#  - the in-process tests once more against the pristine tree, where they
#    must fail.
# Installs nothing: the packages it needs are listed when missing.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../e2e/lib.sh"                 # start_daemons, stop_started_daemons
. "$HERE/../../scripts/virt-manager-lib.sh"

# Debian's python3 with Debian's modules, whatever python3 comes first on PATH.
PYTHON=${PYTHON:-/usr/bin/python3}
PKGS="python3-pytest python3-libvirt python3-gi python3-libxml2 gir1.2-libosinfo-1.0 python3-requests"
"$PYTHON" - <<'PY' || die "missing Python modules; install: apt-get install $PKGS"
import gi
gi.require_version("Libosinfo", "1.0")
from gi.repository import Libosinfo
import libvirt, libxml2, pytest, requests
PY
# the tree under test: the patch queue's, or VIRTINST_TREE (the negative
# control tests/controls/control-virtinst-no-series.sh gives the pristine one)
UNDER_TEST=${VIRTINST_TREE:-$TREE}
[[ -d $TREE/.git ]] || die "no virt-manager tree at $TREE (make virt-manager-tree)"
[[ -f $UNDER_TEST/virtinst/cli.py ]] || die "no virtinst in $UNDER_TEST"

PRISTINE=$WORK/virt-manager-pristine
say "exporting $BASE_TAG to ${PRISTINE#"$TOP"/}"
rm -rf "$PRISTINE"
mkdir -p "$PRISTINE"
tgit archive "$BASE_TAG" | tar -x -C "$PRISTINE"

log=$(mktemp)
trap 'rm -f "$log"; stop_started_daemons' EXIT
if [[ $(id -u) == 0 && -x $PREFIX/sbin/virtqemud ]]; then
    say "private libvirt daemons (reused when running)"
    start_daemons
fi

export PYTHONDONTWRITEBYTECODE=1 VIRTINST_TREE=$UNDER_TEST VIRTINST_PRISTINE=$PRISTINE VIRTINST_PRIVATE_URI=$URI

# count WORD: the number before WORD on pytest's closing line (0 if none)
count() { tail -n 1 "$log" | grep -oE "[0-9]+ $1" | grep -oE '[0-9]+' || echo 0; }

say "pytest: the patched tree ${UNDER_TEST#"$TOP"/}"
rc=0
"$PYTHON" -m pytest -p no:cacheprovider -rs -v "$HERE" 2>&1 | tee "$log" || rc=$?
passed=$(count passed) failed=$(( $(count failed) + $(count error) )) skipped=$(count skipped)
((rc == 0)) || ((failed > 0)) || failed=1      # pytest failed without a count

say "pytest: the in-process tests against the pristine tree, which must fail"
prc=0
VIRTINST_TREE=$PRISTINE "$PYTHON" -m pytest -p no:cacheprovider -q \
    "$HERE/test_proxy_filesystem.py" > "$log" 2>&1 || prc=$?
if ((prc == 0)); then
    echo "FAIL - the tests pass against the unpatched tree: they test nothing"
    failed=$((failed + 1))
elif ((prc != 1)) || ! grep -q '^FAILED' "$log"; then
    # 2-5: interrupted, internal error, usage error, nothing collected
    echo "FAIL - pytest against the unpatched tree did not run its tests (exit $prc):"
    tail -n 5 "$log" | sed 's/^/    /'
    failed=$((failed + 1))
else
    grep '^FAILED' "$log" | sed 's/^/    /'
    echo "ok   - against the pristine tree: $(tail -n 1 "$log")"
    passed=$((passed + 1))
fi

echo "test-virtinst: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
