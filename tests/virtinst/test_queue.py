# The virt-manager patch queue: a .deb that is not the pinned one is
# refused naming both hashes, and the work tree exports to exactly the
# committed series.

import hashlib
import os
import shutil
import subprocess

import pytest

from conftest import TOP, WORK

SCRIPTS = os.path.join(TOP, "scripts")
DEB = "virtinst_1%3a4.1.0-2_all.deb"


def pinned(name):
    with open(os.path.join(TOP, "upstream", "virt-manager.sha256")) as f:
        for line in f:
            sha, fname = line.split()
            if fname == name:
                return sha
    raise AssertionError("%s is not pinned" % name)


def test_corrupted_deb_is_refused(tmp_path):
    deb = os.path.join(WORK, "dl", DEB)
    if not os.path.exists(deb):
        pytest.skip("%s not downloaded (make virt-manager-tree)" % deb)
    shutil.copy(deb, tmp_path / DEB)
    with open(tmp_path / DEB, "r+b") as f:
        f.seek(4096)
        f.write(b"X")
    actual = hashlib.sha256((tmp_path / DEB).read_bytes()).hexdigest()
    proc = subprocess.run(
        [os.path.join(SCRIPTS, "virt-manager-tree.sh"), "--fetch-only"],
        env=dict(os.environ, VM_DL=str(tmp_path)),
        capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "expected sha256: %s" % pinned(DEB) in proc.stderr
    assert "actual sha256:   %s" % actual in proc.stderr


def test_tree_exports_to_the_committed_series():
    if not os.path.isdir(os.path.join(WORK, "virt-manager", ".git")):
        pytest.skip("no virt-manager work tree (make virt-manager-tree)")
    proc = subprocess.run(
        [os.path.join(SCRIPTS, "virt-manager-export.sh"), "--check"],
        capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
