#!/usr/bin/env bash
# control-deb-purge-leftover.sh - test-deb against a libvirt package whose
# purge leaves a file: libvirt-daemon-driver-qemu of work/deb/out repacked
# (dpkg-deb, in a temporary directory) with a postinst that creates
# /etc/proxyfs-control-leftover.conf, which no postrm removes. Only the
# packages part of test-deb runs (system-install.sh --packages-only: install,
# purge, compare; no daemons, no guests). Caught when it fails with
# "FAIL - purge left the machine changed: etc +/etc/proxyfs-control-leftover.conf".
# It installs into the system: run it under flock /tmp/proxyfs-e2e.lock.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../../scripts/lib.sh"
LEFTOVER=/etc/proxyfs-control-leftover.conf
OUT=${DEB_OUT:-$WORK/deb/out}          # the .debs of make deb
PKG=libvirt-daemon-driver-qemu

setup_failed() { echo "control: setup failed: $*"; exit 2; }
[[ $(id -u) == 0 ]] || setup_failed "needs root"
[[ ! -e $LEFTOVER ]] || setup_failed "$LEFTOVER exists already"
orig=$(compgen -G "$OUT/${PKG}_*_amd64.deb") || setup_failed "no $PKG .deb in $OUT (make deb)"
[[ -f $OUT/series.sha256 ]] || setup_failed "no $OUT/series.sha256 (make deb)"

tmp=$(mktemp -d)
undo() {
    rm -rf "$tmp"
    # system-install.sh's cleanup removes it; this is in case it did not get that far
    rm -f "$LEFTOVER"
}
trap undo EXIT

echo "control: repacking ${orig##*/} with a postinst that creates $LEFTOVER"
for f in "$OUT"/*.deb "$OUT/series.sha256"; do
    [[ $f == "$orig" ]] || ln -s "$f" "$tmp/"
done
dpkg-deb -R "$orig" "$tmp/root"
[[ ! -e $tmp/root/DEBIAN/postinst ]] || setup_failed "$PKG has a postinst already: pick another package"
cat > "$tmp/root/DEBIAN/postinst" <<EOF
#!/bin/sh
set -e
# control-deb-purge-leftover.sh: a file that no postrm removes
[ "\$1" != configure ] || echo leftover > $LEFTOVER
EOF
chmod 0755 "$tmp/root/DEBIAN/postinst"
dpkg-deb -b "$tmp/root" "$tmp/${orig##*/}" >/dev/null
rm -rf "$tmp/root"
dpkg-deb -I "$tmp/${orig##*/}" postinst | grep -q "$LEFTOVER" || setup_failed "the repacked .deb has no such postinst"

echo "control: running tests/deb/system-install.sh --packages-only with DEB_OUT=$tmp"
rc=0
DEB_OUT=$tmp "$TOP/tests/deb/system-install.sh" --packages-only 2>&1 | tee "$tmp/log" || rc=$?
want="FAIL - purge left the machine changed: etc +$LEFTOVER"
if [[ -e $LEFTOVER ]]; then
    echo "control: system-install.sh's cleanup did not remove $LEFTOVER"
fi
if ! grep -qE '^system-install: [0-9]+ passed' "$tmp/log"; then
    echo "control: setup failed: system-install.sh did not run its tests (exit $rc): $(tail -n 1 "$tmp/log")"
    exit 2
elif ((rc == 0)); then
    echo "control: a purge that leaves $LEFTOVER -> MISSED: system-install passed ($(tail -n 1 "$tmp/log"))"
    exit 1
elif grep -qxF "$want" "$tmp/log" && ! grep -q '^FAIL - apt-get install' "$tmp/log"; then
    echo "control: a purge that leaves $LEFTOVER -> system-install failed: '$want' ($(tail -n 1 "$tmp/log"))"
    exit 0
else
    echo "control: a purge that leaves $LEFTOVER -> system-install failed (exit $rc), but not naming $LEFTOVER: $(grep '^FAIL' "$tmp/log" | head -n 3 | paste -sd';')"
    exit 1
fi
