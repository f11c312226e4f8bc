#!/usr/bin/env bash
# test-system.sh - make test-system: the proxy filesystem proven on the
# system that users run. Boots the stock Debian 12 system image
# (scripts/system-image.sh: systemd, Debian's kernel and libvirtd, AppArmor
# enforcing, cgroup v2) under TCG and runs tests/system/in-vm.sh in it,
# which upgrades Debian's libvirt to ours from make repo's repository, drives
# a nested guest through qemu:///system, upgrades, downgrades and purges. Results in work/system/test/out/ (run.log, the kernel
# log, the journal, the guest consoles). Needs root.
#
# Environment: TIMEOUT (seconds for the VM, default 1800; a run takes about 12 minutes); SYSTEM_IMAGE=DIR
# boots that image as it is (default: scripts/system-image.sh's current one).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../../scripts/lib.sh"

[[ $(id -u) -eq 0 ]] || die "the system test bed needs root (debootstrap, chroot)"
t0=$SECONDS
OUT=$WORK/deb/out
# Debian's libvirt packages in the image, which the upgrade replaces
PKGS=(libvirt0 libvirt-clients libvirt-daemon libvirt-daemon-driver-qemu
      libvirt-daemon-system libvirt-daemon-system-systemd
      libvirt-daemon-config-network libvirt-daemon-config-nwfilter)

# ------------------------------------------------------------ inputs
mapfile -t series_files < <(series_list)
series_sum=$( (cd "$SERIES" && cat series "${series_files[@]}") | sha256sum | awk '{ print $1 }')
if [[ $(cat "$OUT/series.sha256" 2>/dev/null) != "$series_sum" ]]; then
    say "test-system: no .debs of the current series in $OUT: building them (make deb)"
    "$TOP/scripts/deb.sh"
fi
# the repository must hold exactly these .debs
daemon_deb=$(compgen -G "$OUT/libvirt-daemon_*_amd64.deb") || die "no libvirt-daemon .deb in $OUT"
if ! grep -qx "SHA256: $(sha256sum < "$daemon_deb" | cut -d' ' -f1)" \
        "$WORK/repo/dists/bookworm/main/binary-amd64/Packages" 2>/dev/null; then
    say "test-system: work/repo does not hold the .debs of $OUT: make virt-manager-deb repo"
    make --no-print-directory -C "$TOP" virt-manager-deb repo
fi
"$TOP/e2e/guest/build-guest.sh"
if [[ -z ${SYSTEM_IMAGE:-} ]]; then
    "$TOP/scripts/system-image.sh"
fi
img=$(readlink -f "${SYSTEM_IMAGE:-$WORK/system/current}")

# Debian's own packages of the libvirt we replace, for the downgrade (the
# VM has no network): downloaded once, kept under work/system
DEBIAN_VERSION=9.0.0-4+deb12u2
STOCK=$WORK/system/debian-$DEBIAN_VERSION
if [[ $(compgen -G "$STOCK/*.deb" | wc -l) != "${#PKGS[@]}" ]]; then
    say "test-system: downloading Debian's ${#PKGS[@]} libvirt packages $DEBIAN_VERSION"
    rm -rf "$STOCK.new"
    mkdir -p "$STOCK.new"
    (cd "$STOCK.new" && apt-get download -q -o APT::Sandbox::User=root "${PKGS[@]/%/=$DEBIAN_VERSION}" >/dev/null) ||
        die "apt-get download of Debian's libvirt $DEBIAN_VERSION failed"
    rm -rf "$STOCK"
    mv "$STOCK.new" "$STOCK"
fi

# ------------------------------------------------------------ the data disk
D=$WORK/system/test
rm -rf "$D"
mkdir -p "$D/data/debian" "$D/data/guest" "$D/data/proxyfs"
cp -a "$WORK/repo" "$D/data/repo-1"
# the next release: the installed packages, +proxyfsN+1, in a repository
# signed with the same key
"$TOP/scripts/deb-next.sh" "$WORK/deb-next" "${PKGS[@]}"
REPO=$D/data/repo-2 REPO_DEBS=$WORK/deb-next "$TOP/scripts/repo.sh" >/dev/null
cp "$STOCK"/*.deb "$D/data/debian/"
(cd "$D/data/debian" && apt-ftparchive packages . > Packages)
cp "$WORK/guest/vmlinuz" "$WORK/guest/initramfs.gz" "$WORK/guest/probe" "$D/data/guest/"
# the scripts the test sources, where they sit in this repository
(cd "$TOP" && cp --parents scripts/lib.sh e2e/lib.sh e2e/guest/check-semantics.sh \
    e2e/security/hostusers-lib.sh tests/system/in-vm.sh "$D/data/proxyfs/")
cat > "$D/data/run" <<'EOF'
#!/bin/bash
exec bash /srv/test/proxyfs/tests/system/in-vm.sh
EOF
chmod 0755 "$D/data/run"
say "test-system: image $(basename "$img"), repositories of $(grep -c '^Package:' "$D/data/repo-1/dists/bookworm/main/binary-amd64/Packages") and $(grep -c '^Package:' "$D/data/repo-2/dists/bookworm/main/binary-amd64/Packages") packages, data $(du -sh "$D/data" | cut -f1)"

# ------------------------------------------------------------ run
t1=$SECONDS
rc=0
"$TOP/scripts/system-vm.sh" --timeout "${TIMEOUT:-1800}" "$D/data" "$D/out" || rc=$?
result=$(grep -aE '^test-system: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$D/out/run.log" 2>/dev/null | tail -n 1 || true)
say "test-system: inputs $((t1 - t0)) s, VM $((SECONDS - t1)) s (boot to the test unit" \
    "$(cat "$D/out/boot-to-unit" 2>/dev/null || echo '?') s); results in ${D#"$TOP"/}/out"
if [[ -z $result ]]; then
    echo "test-system: the VM gave no result line"
    exit 1
fi
echo "$result"
exit "$rc"
