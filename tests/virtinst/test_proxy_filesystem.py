# virtinst from the patched tree: the --filesystem parser and the
# DeviceFilesystem XML builder give proxy shares accessmode passthrough,
# refuse other modes with proxy, and leave the other drivers as they were;
# DomainCapabilities tells whether libvirt offers the proxy driver.

import textwrap

import pytest

from virtinst import cli, DeviceFilesystem, DomainCapabilities, Guest


def parse_filesystem(conn, optstr):
    """--filesystem OPTSTR as virt-install parses it: the device's XML,
    without the indentation of its place in the domain"""
    guest = Guest(conn)
    devs = cli.ParserFilesystem(optstr, guest=guest).parse(None)
    assert len(devs) == 1
    devs[0].set_defaults(guest)
    return textwrap.dedent(devs[0].get_xml())


PROXY_XML = """\
<filesystem type="mount" accessmode="passthrough">
  <source dir="/srv/share"/>
  <target dir="share"/>
  <driver type="proxy"/>
</filesystem>
"""


def test_cli_proxy_defaults_to_passthrough(conn):
    assert parse_filesystem(
        conn, "/srv/share,share,driver.type=proxy") == PROXY_XML


def test_cli_proxy_with_explicit_passthrough(conn):
    assert parse_filesystem(
        conn, "source.dir=/srv/share,target.dir=share,"
        "driver.type=proxy,accessmode=passthrough") == PROXY_XML


def test_cli_proxy_readonly(conn):
    assert parse_filesystem(
        conn, "/srv/share,share,driver.type=proxy,readonly=on") == """\
<filesystem type="mount" accessmode="passthrough">
  <readonly/>
  <source dir="/srv/share"/>
  <target dir="share"/>
  <driver type="proxy"/>
</filesystem>
"""


@pytest.mark.parametrize("mode", ["mapped", "squash"])
def test_cli_proxy_refuses_other_accessmodes(conn, mode, caplog):
    with pytest.raises(SystemExit) as exc:
        parse_filesystem(conn, "/srv/share,share,driver.type=proxy,mode=%s"
                         % mode)
    assert exc.value.code == 1
    assert ("Filesystem driver type 'proxy' requires accessmode "
            "'passthrough', not '%s'" % mode) in caplog.text


def test_cli_default_9p_stays_mapped(conn):
    assert parse_filesystem(conn, "/srv/share,share") == """\
<filesystem type="mount" accessmode="mapped">
  <source dir="/srv/share"/>
  <target dir="share"/>
</filesystem>
"""


def test_cli_virtiofs_leaves_accessmode_to_libvirt(conn):
    assert parse_filesystem(
        conn, "/srv/share,share,driver.type=virtiofs") == """\
<filesystem type="mount">
  <source dir="/srv/share"/>
  <target dir="share"/>
  <driver type="virtiofs"/>
</filesystem>
"""


def test_builder_proxy_device(conn):
    dev = DeviceFilesystem(conn)
    dev.source = "/srv/share"
    dev.target = "share"
    dev.driver_type = DeviceFilesystem.DRIVER_PROXY
    dev.validate()
    dev.set_defaults(Guest(conn))
    assert dev.get_xml() == PROXY_XML


def test_builder_switching_driver_resets_accessmode(conn):
    # what the virt-manager filesystem page does when the driver changes
    dev = DeviceFilesystem(conn, parsexml="""\
<filesystem type="mount" accessmode="mapped">
  <source dir="/srv/share"/>
  <target dir="share"/>
</filesystem>
""")
    dev.driver_type = DeviceFilesystem.DRIVER_PROXY
    dev.accessmode = dev.default_accessmode()
    assert dev.get_xml() == PROXY_XML
    dev.driver_type = None
    dev.accessmode = dev.default_accessmode()
    assert dev.accessmode == "mapped"


def test_validate_refuses_parsed_proxy_with_mapped(conn):
    dev = DeviceFilesystem(conn, parsexml="""\
<filesystem type="mount" accessmode="mapped">
  <driver type="proxy"/>
  <source dir="/srv/share"/>
  <target dir="share"/>
</filesystem>
""")
    with pytest.raises(ValueError, match="requires accessmode 'passthrough'"):
        dev.validate()


def domcaps_with(conn, *driver_types):
    values = "".join("<value>%s</value>" % t for t in driver_types)
    return DomainCapabilities(conn, parsexml="""\
<domainCapabilities>
  <devices>
    <filesystem supported="yes">
      <enum name="driverType">%s</enum>
    </filesystem>
  </devices>
</domainCapabilities>
""" % values)


def test_domcaps_proxy_listed(conn):
    caps = domcaps_with(conn, "path", "handle", "virtiofs", "proxy")
    assert caps.supports_filesystem_proxy() is True
    assert caps.supports_filesystem_virtiofs() is True


def test_domcaps_proxy_not_listed(conn):
    caps = domcaps_with(conn, "path", "handle", "virtiofs")
    assert caps.supports_filesystem_proxy() is False
    assert caps.supports_filesystem_virtiofs() is True


def test_domcaps_no_filesystem_element(conn):
    caps = DomainCapabilities(conn, parsexml="<domainCapabilities/>")
    assert caps.supports_filesystem_proxy() is False
