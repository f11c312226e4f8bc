#!/usr/bin/env bash
# Install the built libvirt into the isolated prefix work/prefix. The build
# was configured with that prefix, and its state directories on the
# checkout's short path VARDIR (scripts/lib.sh), so nothing else lands
# outside the checkout and a system libvirt is never touched.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[[ -f $BUILD/build.ninja ]] || die "no build at $BUILD (make build)"
prefix=$(meson introspect --buildoptions "$BUILD" |
         python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
[[ $prefix == "$PREFIX" ]] || die "$BUILD is configured for prefix $prefix, not $PREFIX; remove $BUILD and rebuild"
# the state directories (localstatedir, runstatedir) are below SHORT, not
# PREFIX (scripts/lib.sh): meson install makes its empty directories there
ensure_short
say "installing into $PREFIX, state directories below $VARDIR"
meson install -C "$BUILD" --quiet --no-rebuild > "$WORK/install.log" 2>&1 ||
    { tail -n 30 "$WORK/install.log" >&2; die "meson install failed (log: $WORK/install.log)"; }
say "installed: $PREFIX/sbin/virtqemud, $PREFIX/bin/virsh"
