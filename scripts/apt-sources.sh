#!/usr/bin/env bash
# Make Debian source packages reachable: derive a deb-src sources file from
# the machine's own Debian sources file (same URIs, suites, keyring), so no
# registry host is ever written into this repository.
set -euo pipefail

src=/etc/apt/sources.list.d/debian.sources
dst=/etc/apt/sources.list.d/debian-src.sources

if grep -qs '^Types:.*deb-src' "$src" "$dst"; then
    exit 0
fi
if [[ ! -r $src ]]; then
    echo "apt-sources: $src not found; cannot derive deb-src entries" >&2
    exit 1
fi
echo "apt-sources: deriving $dst from $src"
sed -e 's/^Types:.*/Types: deb-src/' "$src" > "$dst.tmp"
mv "$dst.tmp" "$dst"
rm -f /var/lib/libvirt-proxy-fs-apt-updated
