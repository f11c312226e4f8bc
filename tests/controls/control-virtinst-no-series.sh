#!/usr/bin/env bash
# control-virtinst-no-series.sh - make test-virtinst (tests/virtinst/run.sh)
# against virt-install/virtinst without the virt-manager series: Debian's
# 1:4.1.0-2 sources (the queue's base tag), exported to a temporary
# directory and given to run.sh as VIRTINST_TREE. Caught when run.sh fails
# and pytest names the proxy tests, among them
#   test_virt_install.py::test_print_xml_test_driver_patched FAILED
#   test_proxy_filesystem.py::test_cli_proxy_defaults_to_passthrough FAILED
# (the XML has accessmode="mapped", not "passthrough", next to its
# <driver type="proxy"/>). As root, run.sh uses the private daemons of
# work/prefix: run it under flock /tmp/proxyfs-e2e.lock.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../../scripts/virt-manager-lib.sh"       # TREE, BASE_TAG, tgit

setup_failed() { echo "control: setup failed: $*"; exit 2; }
[[ -d $TREE/.git ]] || setup_failed "no virt-manager tree at $TREE (make virt-manager-tree)"
tgit rev-parse -q --verify "refs/tags/$BASE_TAG" >/dev/null || setup_failed "no tag $BASE_TAG in $TREE"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/tree"
tgit archive "$BASE_TAG" | tar -x -C "$tmp/tree"
[[ -f $tmp/tree/virtinst/cli.py ]] || setup_failed "the export of $BASE_TAG has no virtinst/cli.py"
# the export is really without the series: no proxy support in virtinst
grep -q 'supports_filesystem_proxy' "$tmp/tree/virtinst/domcapabilities.py" &&
    setup_failed "$BASE_TAG's virtinst already knows the proxy driver"

echo "control: tests/virtinst/run.sh with VIRTINST_TREE=$BASE_TAG (no virt-manager series)"
rc=0
VIRTINST_TREE=$tmp/tree "$TOP/tests/virtinst/run.sh" > "$tmp/log" 2>&1 || rc=$?
grep -E ' (FAILED|PASSED)( |$)|^test-virtinst:' "$tmp/log" | sed 's/^/    | /' || true
last=$(grep '^test-virtinst: ' "$tmp/log" | tail -n 1 || true)
want=(test_virt_install.py::test_print_xml_test_driver_patched
      test_proxy_filesystem.py::test_cli_proxy_defaults_to_passthrough)
missing=()
for t in "${want[@]}"; do
    # pytest -v: "[DIR/]FILE::TEST FAILED [ n%]"
    grep -qF "$t FAILED" "$tmp/log" || missing+=("$t")
done
if ((rc == 0)); then
    echo "control: virtinst without the series -> MISSED: run.sh passed ($last)"
    exit 1
elif [[ ! $last =~ ^test-virtinst:\ [0-9]+\ passed,\ [1-9][0-9]*\ failed ]] || ((${#missing[@]})); then
    tail -n 15 "$tmp/log" | sed 's/^/    | /'
    echo "control: virtinst without the series -> run.sh failed (exit $rc, '$last'), but not in ${missing[*]:-its summary}"
    exit 1
else
    echo "control: virtinst without the series -> run.sh failed: ${want[*]##*::} FAILED ($last)"
    exit 0
fi
