#!/usr/bin/env bash
# Configure (once) and build the work tree with meson + ninja: QEMU driver,
# tests and HTML docs on, -Werror as a git checkout has it, -O2 as libvirt's
# default but without debug info (make bisect builds the tree once per
# patch, and -g slows every compile and link for nothing a test uses). The
# Cloud Hypervisor driver is off: it does not build with -Werror against
# bookworm's curl, and we do not need it. QEMU's default user is the dedicated
# unprivileged user of the end-to-end tests (e2e/lib.sh creates it). The
# state directories (localstatedir, runstatedir), where the private daemons
# put their sockets, are on the short path VARDIR outside the checkout
# (scripts/lib.sh says why).
# Usage: build.sh [SRCDIR BUILDDIR]   (defaults: the work tree and work/build)
# Environment: BUILD_OPTIMIZATION (meson's optimization level, default 2,
# which make bisect keeps so that ccache can reuse make build's objects)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

src=${1:-$TREE}
build=${2:-$BUILD}
[[ -f $src/meson.build ]] || die "no libvirt tree at $src (make tree)"
opt=${BUILD_OPTIMIZATION:-2}
check_sock_room
# buildopt NAME: the value of meson option NAME in $build
buildopt() {
    meson introspect --buildoptions "$build" 2>/dev/null |
        /usr/bin/python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$1" 2>/dev/null
}

if [[ ! -f $build/build.ninja ]]; then
    say "configuring $build (meson setup)"
    rm -rf "$build"
    meson setup "$build" "$src" \
        --prefix="$PREFIX" \
        -Dlocalstatedir="$VARDIR" -Drunstatedir="$VARDIR/run" \
        -Ddriver_qemu=enabled -Ddriver_ch=disabled \
        -Ddocs=enabled -Dtests=enabled -Dwerror=true \
        -Ddebug=false -Doptimization="$opt" \
        -Dqemu_user=proxyfs-qemu -Dqemu_group=proxyfs-qemu \
        > "$build.setup.log" 2>&1 || { tail -n 40 "$build.setup.log" >&2; die "meson setup failed (log: $build.setup.log)"; }
fi
# A build configured before the state directories moved out of work/ (or
# for another checkout's) is moved over: every path macro changes, so much
# of libvirt recompiles once.
if [[ $(buildopt localstatedir) != "$VARDIR" || $(buildopt runstatedir) != "$VARDIR/run" ]]; then
    say "reconfiguring $build: localstatedir $VARDIR, runstatedir $VARDIR/run (UNIX socket paths hold $SOCK_MAX bytes)"
    meson configure "$build" -Dlocalstatedir="$VARDIR" -Drunstatedir="$VARDIR/run" > /dev/null
fi
if [[ $(buildopt optimization) != "$opt" ]]; then
    say "reconfiguring $build for -O$opt"
    meson configure "$build" -Doptimization="$opt" > /dev/null
fi
say "building $build (ninja, $(nproc) jobs, -O$opt)"
ninja -C "$build"
# The helper is a meson 'auto' feature (a bisect checks out patches that
# lack the option, so it cannot be forced on here): a missing libseccomp
# would leave the helper and its unit test out without an error.
if grep -q "option('virtfs_proxy_helper'" "$src/meson_options.txt" &&
        [[ ! -x $build/src/libvirt_virtfs_proxy_helper ]]; then
    die "$build has no libvirt_virtfs_proxy_helper: is libseccomp-dev installed (make deps)?"
fi
