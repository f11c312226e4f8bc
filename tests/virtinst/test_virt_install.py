# virt-install itself, run from a tree: the patched tree gives a proxy
# share accessmode passthrough, the pristine tree (the packages as Debian
# ships them) gives it mapped. Against the private patched daemon, libvirt
# then accepts the first and refuses the second, and its domain
# capabilities offer the proxy driver.

import os
import re
import time

import libvirt
import pytest

from conftest import PREFIX, PRIVATE_URI, TREE, pristine_tree, virt_install
from virtinst import DomainCapabilities
from virtinst.connection import VirtinstConnection

FS_OPT = "/srv/share,share,driver.type=proxy"
BASE_ARGS = ["--name", "virtinst-proxyfs-test", "--memory", "256",
             "--import", "--disk", "none", "--network", "none",
             "--graphics", "none", "--osinfo", "generic", "--print-xml"]


def filesystem_xml(domain_xml):
    found = re.findall(r"^ *<filesystem .*?</filesystem>\n", domain_xml,
                       re.M | re.S)
    assert len(found) == 1, domain_xml
    return found[0]


PATCHED_FS = """\
    <filesystem type="mount" accessmode="passthrough">
      <source dir="/srv/share"/>
      <target dir="share"/>
      <driver type="proxy"/>
    </filesystem>
"""
PRISTINE_FS = PATCHED_FS.replace("passthrough", "mapped")


def test_print_xml_test_driver_patched():
    proc = virt_install(TREE, "--connect", "test:///default",
                        "--filesystem", FS_OPT, *BASE_ARGS)
    assert proc.returncode == 0, proc.stderr
    assert filesystem_xml(proc.stdout) == PATCHED_FS


def test_print_xml_test_driver_pristine_gives_mapped():
    # the same command from the unpatched packages' sources: what the
    # patches change, and proof that the assertions above can fail
    proc = virt_install(pristine_tree(), "--connect", "test:///default",
                        "--filesystem", FS_OPT, *BASE_ARGS)
    assert proc.returncode == 0, proc.stderr
    assert filesystem_xml(proc.stdout) == PRISTINE_FS


def test_refuses_mapped_with_proxy():
    proc = virt_install(TREE, "--connect", "test:///default",
                        "--filesystem", FS_OPT + ",accessmode=mapped",
                        *BASE_ARGS)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert ("Filesystem driver type 'proxy' requires accessmode "
            "'passthrough', not 'mapped'") in proc.stderr


IDMAP_OPT = (FS_OPT + ",idmap.uid.start=0,idmap.uid.target=100000,"
             "idmap.uid.count=65536,idmap.gid.start=0,idmap.gid.target=100000,"
             "idmap.gid.count=65536")
IDMAP_FS = PATCHED_FS.replace("""      <driver type="proxy"/>
""", """      <driver type="proxy"/>
      <idmap>
        <uid start="0" target="100000" count="65536"/>
        <gid start="0" target="100000" count="65536"/>
      </idmap>
""")


def test_print_xml_idmap_patched():
    proc = virt_install(TREE, "--connect", "test:///default",
                        "--filesystem", IDMAP_OPT, *BASE_ARGS)
    assert proc.returncode == 0, proc.stderr
    assert filesystem_xml(proc.stdout) == IDMAP_FS


def test_print_xml_idmap_pristine_unknown():
    # Debian's virt-install has no idmap for filesystems
    proc = virt_install(pristine_tree(), "--connect", "test:///default",
                        "--filesystem", IDMAP_OPT, *BASE_ARGS)
    assert proc.returncode == 1
    assert "Unknown --filesystem options: ['idmap." in proc.stderr, proc.stderr


# ---------------------------------------------------------------- the daemon

def private_daemon():
    if os.geteuid() != 0:
        pytest.skip("the private libvirt daemon needs root")
    if not os.path.exists(os.path.join(PREFIX, "sbin", "virtqemud")):
        pytest.skip("no private libvirt in %s (make install)" % PREFIX)
    return PRIVATE_URI


def with_daemon(func, tries=15):
    """func(libvirt connection), retried while the daemon is away or goes
    away (the e2e tests may restart it at any moment)"""
    for attempt in range(tries):
        try:
            conn = libvirt.open(PRIVATE_URI)
            try:
                return func(conn)
            finally:
                try:
                    conn.close()
                except libvirt.libvirtError:
                    pass
        except libvirt.libvirtError as e:
            if (e.get_error_domain() != libvirt.VIR_FROM_RPC or
                    attempt == tries - 1):
                raise
            time.sleep(1)


def test_private_daemon_domcaps_offer_proxy():
    private_daemon()
    xml = with_daemon(lambda c: c.getDomainCapabilities(
        None, "x86_64", None, "qemu"))
    caps = DomainCapabilities(VirtinstConnection("test:///default"),
                              parsexml=xml)
    assert caps.supports_filesystem_proxy() is True


def virt_install_private(tree, *extra):
    proc = virt_install(tree, "--connect", private_daemon(),
                        "--virt-type", "qemu", *extra, *BASE_ARGS)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def define_and_dump(xml):
    """define XML on the private daemon, return its own XML, undefine"""
    def run(conn):
        dom = conn.defineXML(xml)
        try:
            return dom.XMLDesc(0)
        finally:
            dom.undefine()
    return with_daemon(run)


def test_private_daemon_accepts_patched_xml():
    domain_xml = virt_install_private(TREE, "--filesystem", FS_OPT)
    assert filesystem_xml(domain_xml) == PATCHED_FS
    name = "virtinst-proxyfs-test-%d" % os.getpid()
    dumped = define_and_dump(domain_xml.replace(
        "<name>virtinst-proxyfs-test</name>", "<name>%s</name>" % name))
    assert re.search(r"<filesystem type='mount' accessmode='passthrough'>\s*"
                     r"<driver type='proxy'/>\s*"
                     r"<source dir='/srv/share'/>\s*"
                     r"<target dir='share'/>", dumped), dumped


def test_private_daemon_keeps_idmap():
    domain_xml = virt_install_private(TREE, "--filesystem", IDMAP_OPT)
    assert filesystem_xml(domain_xml) == IDMAP_FS
    name = "virtinst-proxyfs-idmap-%d" % os.getpid()
    dumped = define_and_dump(domain_xml.replace(
        "<name>virtinst-proxyfs-test</name>", "<name>%s</name>" % name))
    assert re.search(r"<driver type='proxy'/>\s*"
                     r"<idmap>\s*"
                     r"<uid start='0' target='100000' count='65536'/>\s*"
                     r"<gid start='0' target='100000' count='65536'/>\s*"
                     r"</idmap>\s*"
                     r"<source dir='/srv/share'/>", dumped), dumped


def test_private_daemon_refuses_pristine_xml():
    domain_xml = virt_install_private(pristine_tree(), "--filesystem", FS_OPT)
    assert filesystem_xml(domain_xml) == PRISTINE_FS
    name = "virtinst-proxyfs-test-%d" % os.getpid()
    with pytest.raises(libvirt.libvirtError,
                       match="'proxy' filesystem driver does not support "
                             "accessmode 'mapped'"):
        define_and_dump(domain_xml.replace(
            "<name>virtinst-proxyfs-test</name>", "<name>%s</name>" % name))
