#!/usr/bin/python3
# Drive virt-manager from TREE, the patched tree or the installed
# /usr/share/virt-manager (run by virt-manager-screenshot.sh under Xvfb):
# open the details of DOMAIN, check that its existing proxy
# share shows driver "proxy", then open Add Hardware -> Filesystem, choose
# the proxy driver, and save that dialog, its driver list popped up, as
# OUT.png; the details page goes to DETAILS.png.
# usage: virt-manager-screenshot.py TREE SCHEMADIR URI DOMAIN OUT.png DETAILS.png

import os
import re
import sys

TREE, SCHEMAS, URI, DOMAIN, OUT, DETAILS_OUT = sys.argv[1:7]
sys.path.insert(0, TREE)

# pylint: disable=wrong-import-position
from gi.repository import GLib  # noqa: E402

from virtinst import BuildConfig  # noqa: E402

# The packages' sources look for their data under /usr/share: point them
# at the tree, and at the settings schema compiled from it.
BuildConfig.ui_dir = TREE + "/ui"
BuildConfig.icon_dir = TREE + "/icons"
BuildConfig.gsettings_dir = SCHEMAS

from virtManager import virtmanager  # noqa: E402

STEPS = []          # (what, function returning True when done)
errors = []


def step(what):
    def deco(func):
        STEPS.append((what, func))
        return func
    return deco


def selected_label(combo):
    it = combo.get_active_iter()
    return it and combo.get_model()[it][1]


def save_window(topwin, path):
    # read from the root window, so that a popup over the window is in it
    from gi.repository import Gdk
    gdkwin = topwin.get_window()
    _, x, y = gdkwin.get_origin()
    pix = Gdk.pixbuf_get_from_window(Gdk.get_default_root_window(), x, y,
                                     gdkwin.get_width(), gdkwin.get_height())
    pix.savev(path, "png", [], [])
    print("saved %s (%dx%d)" % (path, pix.get_width(), pix.get_height()))


state = {}


@step("the domain's details window")
def _details_open():
    # waits for the connection and its domain list: the e2e tests may be
    # restarting the daemon
    from virtManager.connmanager import vmmConnectionManager
    from virtManager.vmwindow import vmmVMWindow
    conn = vmmConnectionManager.get_instance().conns.get(URI)
    vm = conn and conn.is_active() and conn.get_vm_by_name(DOMAIN)
    if not vm:
        return False
    win = vmmVMWindow.get_instance(None, vm)
    win.activate_config_page()
    win.show()
    state["win"] = win
    state["details"] = win._details  # pylint: disable=protected-access
    return True


@step("its proxy filesystem shown with driver 'proxy'")
def _details_fs():
    from virtManager.details import details as detailsmod
    det = state["details"]
    hwlist = det.widget("hw-list")
    for i, row in enumerate(hwlist.get_model()):
        if row[detailsmod.HW_LIST_COL_TYPE] == detailsmod.HW_LIST_TYPE_FILESYSTEM:
            from virtManager.lib import uiutil
            uiutil.set_list_selection_by_number(hwlist, i)
            break
    else:
        raise RuntimeError("no filesystem in the details of %s" % DOMAIN)
    label = selected_label(det.fsDetails.widget("fs-driver-combo"))
    if label != "proxy":
        raise RuntimeError("details show the proxy share with driver %r"
                           % label)
    return True


@step("details page drawn")
def _details_shot():
    save_window(state["win"].topwin, DETAILS_OUT)
    return True


@step("Add Hardware -> Filesystem with driver 'proxy'")
def _addhw():
    from virtManager import addhardware
    from virtManager.lib import uiutil
    det = state["details"]
    det._show_addhw()  # pylint: disable=protected-access
    addhw = det.addhw
    hwlist = addhw.widget("hw-list")
    for i, row in enumerate(hwlist.get_model()):
        if row[2] == addhardware.PAGE_FILESYSTEM:
            uiutil.set_list_selection_by_number(hwlist, i)
            break
    fs = addhw._fsdetails  # pylint: disable=protected-access
    combo = fs.widget("fs-driver-combo")
    labels = [row[1] for row in combo.get_model()]
    if "proxy" not in labels:
        raise RuntimeError("driver combo offers %s, no proxy" % labels)
    uiutil.set_list_selection(combo, "proxy")
    fs.widget("fs-source").set_text("/srv/share")
    fs.widget("fs-target").set_text("share")
    dev = fs.build_device()
    dev.set_defaults(state["win"].vm.get_xmlobj())
    print("the dialog would add:\n" + dev.get_xml())
    # the proxy driver itself, not just passthrough (any 9p share may be)
    xml = dev.get_xml()
    if not re.search(r'^ *<filesystem type="mount" accessmode="passthrough">$',
                     xml, re.M):
        raise RuntimeError("the dialog builds no passthrough share")
    if not re.search(r'^ *<driver type="proxy"/>$', xml, re.M):
        raise RuntimeError("the dialog's share has no <driver type=\"proxy\"/>")
    state["addhw"] = addhw
    state["combo"] = combo
    return True


@step("the driver list popped up")
def _popup():
    state["combo"].popup()
    return True


@step("Add Hardware drawn")
def _addhw_shot():
    save_window(state["addhw"].topwin, OUT)
    return True


def tick():
    if not STEPS:
        quit_app(0)
        return False
    what, func = STEPS[0]
    try:
        done = func()
    except Exception as e:  # pylint: disable=broad-except
        errors.append("%s: %s" % (what, e))
        quit_app(1)
        return False
    if done:
        print("ok: %s" % what)
        STEPS.pop(0)
        state["wait"] = 0
        return True
    state["wait"] = state.get("wait", 0) + 1
    if state["wait"] > 120:         # 60 s
        errors.append("timed out waiting for: %s" % what)
        quit_app(1)
        return False
    return True


def quit_app(code):
    if code:
        # an error dialog may keep the application up: leave at once
        for e in errors:
            print("error: " + e, file=sys.stderr)
        sys.stderr.flush()
        os._exit(code)  # pylint: disable=protected-access
    from virtManager.engine import vmmEngine
    vmmEngine.get_instance().exit_app()


def start_timer():
    # let each window draw for a while before the next step
    GLib.timeout_add(500, tick)
    return False


GLib.idle_add(start_timer)
# the host summary only connects: the driver opens the domain itself
sys.argv = ["virt-manager", "--no-fork", "--connect", URI,
            "--show-host-summary"]
try:
    virtmanager.runcli()
except SystemExit:
    pass
sys.exit(0 if not STEPS else 1)
