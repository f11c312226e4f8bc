#!/usr/bin/env bash
# Install what building and testing libvirt needs, idempotently: deb-src
# entries, libvirt's Debian build dependencies, and the harness's own tools.
# A second run only simulates and returns in a few seconds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Tools the harness itself uses, beyond libvirt's build dependencies.
HARNESS_PKGS=(
    git ca-certificates xz-utils dpkg-dev   # fetch, unpack, the work tree
    augeas-tools                            # libvirt's check-augeas tests
    apparmor                                # apparmor_parser: profile syntax
    qemu-system-x86 qemu-system-common      # QEMU 7.2 and virtfs-proxy-helper
    qemu-utils
    busybox-static cpio                     # guest initramfs
    attr                                    # getfattr/setfattr in host-side checks
    iproute2                                # ip: the helper's network namespace
    procps                                  # pgrep, ps
    bpftool                                 # the BPF device filter of QEMU's cgroup
    python3-pytest python3-libvirt python3-gi python3-libxml2   # tests/virtinst
    gir1.2-libosinfo-1.0 python3-requests
    xvfb xauth dbus-daemon libglib2.0-bin python3-gi-cairo      # virt-manager screenshot
    gir1.2-gtk-3.0 gir1.2-gtksource-4 gir1.2-vte-2.91
    gir1.2-libvirt-glib-1.0 gir1.2-gtk-vnc-2.0
    adwaita-icon-theme librsvg2-common fonts-dejavu-core
    python3-matplotlib                      # make bench: the plot
    debootstrap                             # make system-image: the Debian 12 system VM
    apt-utils gpg gpgv                      # make repo: apt-ftparchive, signatures
    ccache                                  # make build, make bisect: objects reused across patches
    flake8                                  # syntax-check's sc_flake8 (skipped without it)
    libseccomp-dev                          # libvirt_virtfs_proxy_helper (meson option virtfs_proxy_helper)
    clang libclang-rt-14-dev                # make test-helper: the helper's libFuzzer target
)

[[ $(id -u) == 0 ]] || die "installing packages needs root"
export DEBIAN_FRONTEND=noninteractive
# dpkg without an fsync per unpacked file: on a fresh CI machine these are
# several hundred packages, and a crash mid-install means a new machine
# anyway
UNSAFE_IO=(-o Dpkg::Options::=--force-unsafe-io)

"$TOP/scripts/apt-sources.sh"

have_src_lists() {
    compgen -G '/var/lib/apt/lists/*_source_Sources*' >/dev/null
}
if ! have_src_lists || [[ ${APT_UPDATE:-} == 1 ]]; then
    say "apt-get update"
    apt-get update -q
fi

missing=()
for p in "${HARNESS_PKGS[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
        missing+=("$p")
done
if ((${#missing[@]})); then
    say "installing harness packages: ${missing[*]}"
    apt-get install -y -q --no-install-recommends "${UNSAFE_IO[@]}" "${missing[@]}"
fi

if apt-get -s build-dep libvirt 2>/dev/null | grep '^Inst ' >/dev/null; then
    say "installing libvirt's build dependencies (apt-get build-dep libvirt)"
    apt-get build-dep -y -q "${UNSAFE_IO[@]}" libvirt
fi
say "dependencies present"
