# proxyfs-prerm.sh - the part of the prerm scripts of libvirt-daemon-system
# and libvirt-daemon-driver-qemu that scripts/deb.sh adds, before
# debhelper's part (so libvirtd still runs). Shell for /bin/sh, set -e.
# (Never write debhelper's token in this file, not even in a comment:
# dh_installdeb replaces every occurrence with its shell code.)
#
# When these packages are removed, or replaced by a libvirt without proxy
# filesystems (Debian's own, for instance), a domain with
# <driver type='proxy'/> is lost from libvirt's view: that libvirt cannot
# parse its definition and skips it without a word. Worse, a running one
# keeps a virtfs-proxy-helper running as root that no libvirt will ever
# stop. So before that happens:
#   - name every defined domain that uses proxy filesystems, and say what
#     becomes of it (its definition stays in /etc/libvirt/qemu);
#   - stop every running one through libvirt, which stops its helpers:
#     a shutdown, then a destroy when it is still running after
#     PROXYFS_PRERM_SHUTDOWN_WAIT seconds (default 30).
# Upgrades to a version that keeps proxy filesystems (+proxyfs) do nothing.
# Both packages run this; the second finds nothing left to stop.

proxyfs_domains() { # proxyfs_domains DIR: names of the domains in DIR/*.xml with a proxy filesystem
    for _f in "$1"/*.xml; do
        [ -f "$_f" ] || continue
        grep -q "<driver type=.proxy.[ /]" "$_f" 2>/dev/null || continue
        sed -n 's|^ *<name>\(.*\)</name>.*|\1|p' "$_f" | head -n 1
    done
}

proxyfs_prerm() {
    case "$1" in
        remove|deconfigure) _why="libvirt is being removed" ;;
        upgrade)
            case "$2" in
                *+proxyfs*) return 0 ;;
            esac
            _why="libvirt $2, which replaces this one, has no proxy filesystems" ;;
        *) return 0 ;;
    esac
    _defined=$(proxyfs_domains /etc/libvirt/qemu | tr '\n' ' ')
    _running=$(proxyfs_domains /run/libvirt/qemu | tr '\n' ' ')
    [ -n "$_defined$_running" ] || return 0

    echo "libvirt: $_why." >&2
    if [ -n "$_defined" ]; then
        echo "libvirt: these domains use proxy filesystems (<driver type='proxy'/>): ${_defined% }." >&2
        echo "libvirt: a libvirt without proxy filesystems cannot read them: it does not list them" >&2
        echo "libvirt: and cannot start them. Their definitions stay in /etc/libvirt/qemu/; a libvirt" >&2
        echo "libvirt: with proxy filesystems (+proxyfs) lists them again." >&2
    fi
    [ -n "$_running" ] || return 0
    _wait=${PROXYFS_PRERM_SHUTDOWN_WAIT:-30}
    for _d in $_running; do
        echo "libvirt: stopping domain $_d: its virtfs-proxy-helper runs as root, and the" >&2
        echo "libvirt: libvirt that follows could not stop it (shutdown; destroy after $_wait s)." >&2
        if ! command -v virsh >/dev/null 2>&1 ||
           ! virsh -q -c qemu:///system domstate "$_d" >/dev/null 2>&1; then
            echo "libvirt: cannot reach libvirtd to stop $_d: stop it yourself (virsh destroy $_d)" >&2
            echo "libvirt: before this libvirt goes, or its helper stays behind." >&2
            continue
        fi
        virsh -q -c qemu:///system shutdown "$_d" >/dev/null 2>&1 || true
        _i=0
        while [ "$_i" -lt "$_wait" ] &&
              [ "$(virsh -q -c qemu:///system domstate "$_d" 2>/dev/null)" != "shut off" ]; do
            sleep 1
            _i=$((_i + 1))
        done
        if [ "$(virsh -q -c qemu:///system domstate "$_d" 2>/dev/null)" != "shut off" ]; then
            virsh -q -c qemu:///system destroy "$_d" >/dev/null 2>&1 || true
        fi
        echo "libvirt: domain $_d: $(virsh -q -c qemu:///system domstate "$_d" 2>&1)." >&2
    done
}
proxyfs_prerm "$@"
