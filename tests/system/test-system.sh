#!/usr/bin/env bash
# test-system.sh - make test-system: the proxy filesystem proven on the
# system that users run. Boots the stock Debian 12 system image
# (scripts/system-image.sh: systemd, Debian's kernel and libvirtd, AppArmor
# enforcing, cgroup v2) under TCG and runs tests/system/in-vm.sh in it,
# which installs our .debs from make deb and drives a nested guest through
# qemu:///system. Results in work/system/test/out/ (run.log, the kernel
# log, the journal, the guest consoles). Needs root.
#
# Environment: TIMEOUT (seconds for the VM, default 1500; a run takes about 7 minutes); SYSTEM_IMAGE=DIR
# boots that image as it is (default: scripts/system-image.sh's current one).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../../scripts/lib.sh"

[[ $(id -u) -eq 0 ]] || die "the system test bed needs root (debootstrap, chroot)"
t0=$SECONDS
OUT=$WORK/deb/out
# the packages README's "Use it" installs, in their systemd flavour
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
"$TOP/e2e/guest/build-guest.sh"
if [[ -z ${SYSTEM_IMAGE:-} ]]; then
    "$TOP/scripts/system-image.sh"
fi
img=$(readlink -f "${SYSTEM_IMAGE:-$WORK/system/current}")

# ------------------------------------------------------------ the data disk
D=$WORK/system/test
rm -rf "$D"
mkdir -p "$D/data/debs" "$D/data/guest" "$D/data/proxyfs"
for p in "${PKGS[@]}"; do
    f=$(compgen -G "$OUT/${p}_*_amd64.deb" || compgen -G "$OUT/${p}_*_all.deb") ||
        die "no $p .deb in $OUT"
    cp "$f" "$D/data/debs/"
done
cp "$WORK/guest/vmlinuz" "$WORK/guest/initramfs.gz" "$WORK/guest/probe" "$D/data/guest/"
# the scripts the test sources, where they sit in this repository
(cd "$TOP" && cp --parents scripts/lib.sh e2e/lib.sh e2e/guest/check-semantics.sh \
    tests/system/in-vm.sh "$D/data/proxyfs/")
cat > "$D/data/run" <<'EOF'
#!/bin/bash
exec bash /srv/test/proxyfs/tests/system/in-vm.sh
EOF
chmod 0755 "$D/data/run"
say "test-system: image $(basename "$img"), $(ls "$D/data/debs" | wc -l) packages, data $(du -sh "$D/data" | cut -f1)"

# ------------------------------------------------------------ run
t1=$SECONDS
rc=0
"$TOP/scripts/system-vm.sh" --timeout "${TIMEOUT:-1500}" "$D/data" "$D/out" || rc=$?
result=$(grep -a '^test-system: [0-9]* passed, [0-9]* failed$' "$D/out/run.log" 2>/dev/null | tail -n 1 || true)
say "test-system: inputs $((t1 - t0)) s, VM $((SECONDS - t1)) s (boot to the test unit" \
    "$(cat "$D/out/boot-to-unit" 2>/dev/null || echo '?') s); results in ${D#"$TOP"/}/out"
if [[ -z $result ]]; then
    echo "test-system: the VM gave no result line"
    exit 1
fi
echo "$result"
exit "$rc"
