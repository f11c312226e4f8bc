#!/usr/bin/env bash
# Fetch the libvirt release tarball through Debian's source package and verify
# it against the sha256 pinned in upstream/libvirt.sha256.
# LIBVIRT_TARBALL=/path verifies (and then uses) another file instead.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pin=$TOP/upstream/libvirt.sha256
expected=$(awk '{print $1; exit}' "$pin")
[[ $expected =~ ^[0-9a-f]{64}$ ]] || die "$pin holds no sha256"

tarball=${LIBVIRT_TARBALL:-$DL/$LIBVIRT_TARBALL_NAME}
if [[ -z ${LIBVIRT_TARBALL:-} && ! -f $tarball ]]; then
    say "downloading Debian's libvirt source package (for $LIBVIRT_TARBALL_NAME)"
    mkdir -p "$DL"
    (cd "$DL" && apt-get source -q --download-only libvirt) ||
        die "apt-get source failed: are deb-src entries present? (make deps)"
fi
[[ -f $tarball ]] || die "$tarball does not exist"

actual=$(sha256sum "$tarball" | awk '{print $1}')
if [[ $actual != "$expected" ]]; then
    {
        echo "fetch.sh: error: $tarball is not the pinned libvirt $LIBVIRT_VERSION release"
        echo "  expected sha256: $expected"
        echo "  actual sha256:   $actual"
        echo "Refusing to continue. Delete the file to download it again."
    } >&2
    exit 1
fi
say "verified $tarball (sha256 $actual)"
