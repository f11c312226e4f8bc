# Shared pieces of the virtinst tests: where the patched and the pristine
# trees are, a test-driver connection, and a way to run virt-install from
# either tree. tests/virtinst/run.sh sets the variables; the defaults are
# the harness's own paths.

import os
import subprocess
import sys
import time

import pytest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORK = os.environ.get("WORK", os.path.join(TOP, "work"))
TREE = os.environ.get("VIRTINST_TREE", os.path.join(WORK, "virt-manager"))
PRISTINE = os.environ.get("VIRTINST_PRISTINE",
                          os.path.join(WORK, "virt-manager-pristine"))
PREFIX = os.path.join(WORK, "prefix")
# The private daemons' sockets are not in PREFIX but below scripts/lib.sh's
# VARDIR, a short path of the checkout's own (a UNIX socket path holds 107
# bytes); run.sh passes e2e/lib.sh's URI, and a bare pytest asks lib.sh.
PRIVATE_URI = os.environ.get("VIRTINST_PRIVATE_URI") or subprocess.run(
    ["bash", "-c", '. "$1" && echo "qemu:///system?socket=$VARDIR/run/libvirt/virtqemud-sock"',
     "bash", os.path.join(TOP, "scripts", "lib.sh")],
    capture_output=True, text=True, check=True).stdout.strip()

# The tests import virtinst from the tree under test, never from a system
# installation of the virtinst package.
if TREE not in sys.path:
    sys.path.insert(0, TREE)
import virtinst  # noqa: E402  pylint: disable=wrong-import-position
from virtinst.connection import VirtinstConnection  # noqa: E402

if not os.path.abspath(virtinst.__file__).startswith(TREE + os.sep):
    raise RuntimeError("virtinst imported from %s, not from %s" %
                       (virtinst.__file__, TREE))


@pytest.fixture(scope="session")
def conn():
    """libvirt's test driver: no daemon, a fixed host"""
    c = VirtinstConnection("test:///default")
    c.open(None, None)
    return c


# Messages of a client that found no daemon on the socket: the lead's e2e
# runs may restart it at any moment, so such a failure is retried.
_NO_DAEMON = ("Failed to connect socket", "unable to connect",
              "Connection reset", "End of file while reading")


def virt_install(tree, *args, retries=10):
    """Run virt-install from TREE; returns the CompletedProcess"""
    env = dict(os.environ, PYTHONPATH=tree, PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-c",
           "import sys; sys.argv[0] = 'virt-install'; "
           "from virtinst import virtinstall; virtinstall.runcli()"]
    for attempt in range(retries):
        proc = subprocess.run(cmd + list(args), env=env, cwd=tree,
                              capture_output=True, text=True, check=False)
        if (proc.returncode == 0 or attempt == retries - 1 or
                not any(m in proc.stderr for m in _NO_DAEMON)):
            return proc
        time.sleep(1)
    return proc


def pristine_tree():
    if not os.path.isfile(os.path.join(PRISTINE, "virtinst", "cli.py")):
        pytest.skip("no pristine tree at %s (tests/virtinst/run.sh makes it)"
                    % PRISTINE)
    return PRISTINE
