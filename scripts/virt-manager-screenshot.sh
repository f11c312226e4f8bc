#!/usr/bin/env bash
# Screenshot of virt-manager from the patched tree offering the proxy
# filesystem driver: under Xvfb, against the private daemon, a throwaway
# domain with a proxy share is opened (its details must show driver
# "proxy"), then Add Hardware -> Filesystem with "proxy" chosen is saved as
# docs/virt-manager-proxy-filesystem.png. Needs root and make install.
# --installed: the same with virt-manager as the packages installed it
# (/usr/share/virt-manager, the system's compiled schemas), saved as
# work/virt-manager-deb/screenshot-installed.png (tests/virt-manager-deb).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../e2e/lib.sh"                  # start_daemons, virsh, $URI
. "$HERE/virt-manager-lib.sh"

PKGS="xvfb xauth dbus-daemon libglib2.0-bin python3-gi python3-gi-cairo python3-libvirt python3-libxml2 gir1.2-gtk-3.0 gir1.2-gtksource-4 gir1.2-vte-2.91 gir1.2-libvirt-glib-1.0 gir1.2-gtk-vnc-2.0 gir1.2-libosinfo-1.0 adwaita-icon-theme librsvg2-common fonts-dejavu-core"
for tool in xvfb-run xauth dbus-run-session glib-compile-schemas; do
    command -v "$tool" >/dev/null || die "$tool is missing; install: apt-get install $PKGS"
done
/usr/bin/python3 -c '
import gi
for ns, v in [("Gtk", "3.0"), ("GtkSource", "4"), ("Vte", "2.91"),
              ("LibvirtGLib", "1.0"), ("GtkVnc", "2.0"), ("Libosinfo", "1.0")]:
    gi.require_version(ns, v)
from gi.repository import Gtk, GtkSource, Vte, LibvirtGLib, GtkVnc, Libosinfo
import cairo, libvirt, libxml2' 2>/dev/null ||
    die "Python GTK modules are missing; install: apt-get install $PKGS"
[[ $(id -u) == 0 ]] || die "needs root (the private libvirt daemon)"

UI=$WORK/virt-manager-ui                 # schemas, HOME, the details shot
DOM=proxyfs-screenshot
mkdir -p "$UI/schemas" "$UI/home"
if [[ ${1:-} == --installed ]]; then
    SRC=/usr/share/virt-manager SCHEMAS=/usr/share/glib-2.0/schemas
    OUT=$WORK/virt-manager-deb/screenshot-installed.png
    DETAILS=$WORK/virt-manager-deb/details-installed.png
    [[ -f $SRC/virtManager/virtmanager.py ]] || die "virt-manager is not installed ($SRC)"
    # the packages' trigger compiles the schemas; a missing one would only
    # show as a crash of virt-manager
    gsettings --schemadir "$SCHEMAS" list-schemas | grep -x org.virt-manager.virt-manager >/dev/null ||
        die "org.virt-manager.virt-manager is not among the compiled schemas in $SCHEMAS"
else
    [[ -d $TREE/.git ]] || die "no virt-manager tree at $TREE (make virt-manager-tree)"
    SRC=$TREE SCHEMAS=$UI/schemas
    OUT=$TOP/docs/virt-manager-proxy-filesystem.png
    DETAILS=$UI/details.png
    say "compiling virt-manager's settings schema"
    cp "$TREE/data/org.virt-manager.virt-manager.gschema.xml" "$UI/schemas/"
    glib-compile-schemas "$UI/schemas"
fi
mkdir -p "$(dirname "$OUT")"

trap 'virsh undefine "$DOM" >/dev/null 2>&1 || true; stop_started_daemons' EXIT
say "private libvirt daemons (reused when running)"
start_daemons
say "defining $DOM with a proxy share (never started)"
cat > "$UI/$DOM.xml" <<XML
<domain type='qemu'>
  <name>$DOM</name>
  <memory unit='MiB'>256</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
$(proxy_fs /srv/share share)
  </devices>
</domain>
XML
for i in 1 2 3 4 5; do
    virsh define "$UI/$DOM.xml" >/dev/null && break
    ((i < 5)) || die "could not define $DOM"
    sleep 2                             # the daemon may be restarting
done

say "running virt-manager from ${SRC#"$TOP"/} under Xvfb"
rm -f "$OUT.new"
HOME=$UI/home XDG_CONFIG_HOME=$UI/home/.config XDG_CACHE_HOME=$UI/home/.cache \
XDG_DATA_HOME=$UI/home/.local/share XDG_RUNTIME_DIR=$UI/home/run \
GSETTINGS_BACKEND=memory PYTHONDONTWRITEBYTECODE=1 NO_AT_BRIDGE=1 \
    timeout 180 xvfb-run -a -s '-screen 0 1280x1024x24' \
    dbus-run-session -- /usr/bin/python3 "$HERE/virt-manager-screenshot.py" \
        "$SRC" "$SCHEMAS" "$URI" "$DOM" "$OUT.new" "$DETAILS"
mv "$OUT.new" "$OUT"
say "saved ${OUT#"$TOP"/} (details page: ${DETAILS#"$TOP"/})"
