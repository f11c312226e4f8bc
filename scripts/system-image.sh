#!/usr/bin/env bash
# system-image.sh - a stock Debian 12 system as a VM disk image: Debian's
# kernel, systemd, AppArmor, cgroup v2 and Debian's own libvirt and QEMU,
# for tests that must run where users run (scripts/system-vm.sh boots it).
#
# Produces work/system/image-KEY/ (git-ignored), KEY the first 16 hex digits
# of sha256(this script, the archive sources derived below):
#   root.raw            sparse 6 GiB raw ext4 (label proxyfs-root), root=/dev/vda
#   vmlinuz initrd.img  the image's own kernel and initramfs-tools initrd
#   kernel.release      uname -r of that kernel
#   packages.txt        dpkg -l of the image
#   build.log           debootstrap's and apt's output
#   done                written last: only a complete image has it
# and work/system/current, a symlink to the newest complete image directory.
# A complete image for the same key is reused; REBUILD=1 builds anew.
#
# The packages come from the archive this machine's apt sources name
# (bookworm, plus bookworm-updates and the security suite when listed), so
# the image carries the same point releases as the build machine. No host
# name is written into this repository. Needs root; no loop devices
# (mkfs.ext4 -d fills the file system from a directory).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SYSTEM=${SYSTEM:-$WORK/system}
SIZE=6G
# What the tests need besides minbase. Debian's libvirt and QEMU are here so
# that every dependency of libvirt's packages is in the image: the tests
# install our .debs over them offline.
PKGS=(
    systemd-sysv udev linux-image-amd64 initramfs-tools
    dbus                    # polkitd needs it anyway; named as users have it
    apparmor apparmor-utils
    libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
    qemu-system-x86 qemu-utils
    procps iproute2 util-linux attr kmod e2fsprogs less
    bpftool                 # reads the device filter of a domain's cgroup (BPF map)
)
# Units that only slow a throwaway VM's boot; none of them is under test.
MASK=(apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer
      e2scrub_reap.service fstrim.timer systemd-timesyncd.service)

[[ $(id -u) -eq 0 ]] || die "building the system image needs root (debootstrap, chroot)"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
t0=$SECONDS
step() { printf '==> system-image: [+%ds] %s\n' "$((SECONDS - t0))" "$*"; }

# ------------------------------------------------------------ the sources
# derive_sources: "URI SUITE COMPONENTS..." for every bookworm, bookworm-updates
# and bookworm-security entry of type deb in the machine's apt sources
# (deb822 *.sources first, then one-line sources.list files).
derive_sources() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -r $f ]] || continue
        awk '
            function flush(   i, j, nu, ns, u, s) {
                if (types ~ /(^| )deb( |$)/ && enabled != "no") {
                    nu = split(uris, u, " "); ns = split(suites, s, " ")
                    for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++)
                        if (s[j] ~ /^bookworm(-updates|-security)?$/)
                            print u[i], s[j], comps
                }
                types = uris = suites = comps = enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            { v = $0; sub(/^[^:]*:[ \t]*/, "", v); gsub(/[ \t]+/, " ", v) }
            tolower($1) == "types:"      { types = v }
            tolower($1) == "uris:"       { uris = v }
            tolower($1) == "suites:"     { suites = v }
            tolower($1) == "components:" { comps = v }
            tolower($1) == "enabled:"    { enabled = tolower(v) }
            END { flush() }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -r $f ]] || continue
        sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
            awk '$1 == "deb" && $3 ~ /^bookworm(-updates|-security)?$/ {
                     c = ""; for (i = 4; i <= NF; i++) c = c (c == "" ? "" : " ") $i
                     print $2, $3, c }'
    done
}
mapfile -t SOURCES < <(derive_sources | awk '!seen[$0]++')
MIRROR=
for s in "${SOURCES[@]}"; do
    read -r uri suite _ <<<"$s"
    if [[ $suite == bookworm ]]; then MIRROR=$uri; break; fi
done
[[ -n $MIRROR ]] || die "no 'deb' source for the suite bookworm in /etc/apt/sources.list{,.d/*}"

# ------------------------------------------------------------ the cache
KEY=$({ cat "$0"; printf '%s\n' "${SOURCES[@]}"; } | sha256sum | cut -c1-16)
IMG=$SYSTEM/image-$KEY
if [[ -f $IMG/done && ${REBUILD:-} != 1 ]]; then
    ln -sfn "${IMG##*/}" "$SYSTEM/current"
    say "system image ${IMG#"$TOP"/}: present ($(cat "$IMG/kernel.release"), built $(cat "$IMG/done"))"
    exit 0
fi

for t in debootstrap mkfs.ext4 debugfs qemu-img; do
    command -v "$t" >/dev/null && continue
    step "installing debootstrap e2fsprogs qemu-utils (no $t)"
    apt-get install -y -q --no-install-recommends debootstrap e2fsprogs qemu-utils >/dev/null 2>&1 || {
        apt-get update -q >/dev/null
        apt-get install -y -q --no-install-recommends debootstrap e2fsprogs qemu-utils >/dev/null
    }
    break
done

mkdir -p "$SYSTEM"
TMP=$(mktemp -d "$SYSTEM/.image-$KEY.XXXXXX")
chmod 0755 "$TMP"
# The Debian root is built below a directory of root's alone: while it
# exists (the build, or after one killed before its trap) it holds set-uid
# root programs (passwd, su, mount, ...) and device nodes that no local user
# may reach.  Only root.raw, a file, comes out of it.
mkdir -m 0700 "$TMP/private"
ROOT=$TMP/private/root
LOG=$TMP/build.log
MOUNTS=()

unmount_all() {
    local i
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" || true
    done
    MOUNTS=()
}
# Processes left running inside the chroot would keep its mounts busy.
kill_chroot_procs() {
    local p r
    for p in /proc/[0-9]*; do
        r=$(readlink "$p/root" 2>/dev/null) || continue
        [[ $r == "$ROOT" || $r == "$ROOT"/* ]] || continue
        echo "killing ${p#/proc/} ($(cat "$p/comm" 2>/dev/null)), left running in the chroot" >>"$LOG"
        kill -KILL "${p#/proc/}" 2>/dev/null || true
    done
}
# rm -rf only where nothing is mounted: a bound /dev must never be emptied.
remove_root() {
    [[ -d $ROOT ]] || return 0
    if grep -q " $ROOT/" /proc/mounts; then
        echo "${0##*/}: warning: something is still mounted under $ROOT; leaving it" >&2
        return 0
    fi
    rm -rf --one-file-system "$ROOT"
}
on_exit() {
    local rc=$?
    [[ -d $ROOT ]] && kill_chroot_procs
    unmount_all
    if ((rc != 0)); then
        echo "${0##*/}: failed after $((SECONDS - t0)) s; the last lines of the build log:" >&2
        tail -n 30 "$LOG" >&2 2>/dev/null || true
        remove_root
        mv "$LOG" "$SYSTEM/failed-build.log" 2>/dev/null &&
            echo "${0##*/}: the whole log: ${SYSTEM#"$TOP"/}/failed-build.log" >&2
        rm -rf --one-file-system "$TMP" 2>/dev/null || true
    fi
}
trap on_exit EXIT
trap "exit 143" TERM INT HUP     # so that on_exit unmounts and cleans up

in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
                DEBIAN_FRONTEND=noninteractive LC_ALL=C HOME=/root "$@"; }

step "building ${IMG#"$TOP"/} from $MIRROR (${#SOURCES[@]} source(s)), log in ${LOG#"$TOP"/}"
printf 'source: %s\n' "${SOURCES[@]}" >>"$LOG"

# --- 1. debootstrap --------------------------------------------------------
step "debootstrap --variant=minbase bookworm"
debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >>"$LOG" 2>&1

# --- 2. apt inside: the derived sources, no service starts -----------------
{
    for s in "${SOURCES[@]}"; do
        read -r uri suite comps <<<"$s"
        printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\nSigned-By: %s\n\n' \
            "$uri" "$suite" "$comps" /usr/share/keyrings/debian-archive-keyring.gpg
    done
} >"$ROOT/etc/apt/sources.list.d/debian.sources"
rm -f "$ROOT/etc/apt/sources.list"
# Nothing may start in the chroot: invoke-rc.d and deb-systemd-invoke ask this.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"

# fstab and hostname before the kernel: initramfs-tools' fsck hook reads the
# root's type from fstab and then puts e2fsck into the initrd. The data disk
# is nofail with a bounded wait (its label shows up about 3 s after udevd
# starts on an idle TCG host; 60 s leaves room for a loaded one), so a VM
# without it still reaches the test unit, which then says so and powers off.
mkdir -p "$ROOT/srv/test"
cat >"$ROOT/etc/fstab" <<'EOF'
# static file system information for the proxyfs system test VM
/dev/vda                / ext4 defaults 0 1
LABEL=proxyfs-data      /srv/test ext4 defaults,nofail,x-systemd.device-timeout=60s 0 2
EOF
echo proxyfs-system >"$ROOT/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tproxyfs-system\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
    >"$ROOT/etc/hosts"

# /proc and /dev (postinsts, update-initramfs), never /sys: without it
# aa-enabled says no, so no postinst loads AppArmor profiles into the
# build machine's kernel (dh_apparmor's snippet would, where AppArmor is on).
for m in proc dev dev/pts; do
    case $m in
        proc) mount -t proc proc "$ROOT/proc" ;;
        *) mount --bind "/$m" "$ROOT/$m" ;;
    esac
    MOUNTS+=("$ROOT/$m")
done

step "apt-get update, dist-upgrade (bookworm-updates, security)"
in_root apt-get update -q >>"$LOG" 2>&1
in_root apt-get dist-upgrade -y -q --no-install-recommends >>"$LOG" 2>&1
step "apt-get install ${#PKGS[@]} packages (kernel, systemd, AppArmor, libvirt, QEMU)"
in_root apt-get install -y -q --no-install-recommends "${PKGS[@]}" >>"$LOG" 2>&1
in_root apt-get clean >>"$LOG" 2>&1

# --- 3. a test system -------------------------------------------------------
step "configuring: root without password, masked timers, the test unit"
in_root passwd -d root >>"$LOG" 2>&1
[[ -s $ROOT/etc/machine-id ]] || in_root systemd-machine-id-setup >>"$LOG" 2>&1
masked=()
for u in "${MASK[@]}"; do
    if [[ -e $ROOT/lib/systemd/system/$u || -e $ROOT/usr/lib/systemd/system/$u ]]; then
        in_root systemctl mask "$u" >>"$LOG" 2>&1
        masked+=("$u")
    fi
done
echo "masked: ${masked[*]}" >>"$LOG"
# No virbr0: the VM has no network and dnsmasq is not installed.
rm -f "$ROOT/etc/libvirt/qemu/networks/autostart/default.xml"

cat >"$ROOT/usr/local/sbin/proxyfs-test" <<'EOF'
#!/bin/bash
# proxyfs-test - run by proxyfs-test.service once per boot: runs the test
# the host put on the data disk (/srv/test/run), keeps its output, status,
# kernel log and journal in /srv/test/out for the host, and powers off.
set -uo pipefail
OUT=/srv/test/out
read -r up _ </proc/uptime
echo "SYSTEM: test unit started (uptime ${up%.*} s, kernel $(uname -r))"
if ! mountpoint -q /srv/test; then
    echo "SYSTEM: no data disk at /srv/test (LABEL=proxyfs-data); nothing to run, no results"
    journalctl -b -u srv-test.mount --no-pager | tail -n 5 | sed 's/^/SYSTEM: /'
    systemctl poweroff --no-block
    exit 1
fi
mkdir -p "$OUT"
if [[ -f /srv/test/run ]]; then
    cd /srv/test
    TEST_OUT=$OUT bash /srv/test/run 2>&1 | tee "$OUT/run.log"
    rc=${PIPESTATUS[0]}
    echo "$rc" >"$OUT/status"
    echo "SYSTEM: test finished, status $rc"
else
    echo "missing: there is no /srv/test/run" >"$OUT/status"
    echo "SYSTEM: no /srv/test/run; nothing to test"
fi
journalctl -b -k --no-pager >"$OUT/kernel.log" 2>&1
journalctl -b --no-pager >"$OUT/journal.log" 2>&1
sync
echo "SYSTEM: powering off"
systemctl poweroff --no-block
EOF
chmod 0755 "$ROOT/usr/local/sbin/proxyfs-test"
cat >"$ROOT/etc/systemd/system/proxyfs-test.service" <<'EOF'
[Unit]
Description=proxyfs system test (/srv/test/run)
After=libvirtd.service virtlogd.socket srv-test.mount apparmor.service
# Wants, not Requires(MountsFor): without the data disk the unit must still
# run, to power the VM off rather than leave it to the host's timeout.
Wants=srv-test.mount

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/proxyfs-test
StandardOutput=journal+console
StandardError=inherit
# the host side has the timeout
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
in_root systemctl enable proxyfs-test.service >>"$LOG" 2>&1

# --- 4. kernel, initrd, the package list ------------------------------------
kernels=("$ROOT"/boot/vmlinuz-*)
[[ ${#kernels[@]} -eq 1 && -f ${kernels[0]} ]] || die "expected one kernel in the image, found: ${kernels[*]##*/}"
KREL=${kernels[0]##*/vmlinuz-}
[[ -s $ROOT/boot/initrd.img-$KREL ]] || die "update-initramfs made no initrd.img-$KREL (see the build log)"
# the image's lsinitramfs: the build machine need not have initramfs-tools
in_root lsinitramfs "/boot/initrd.img-$KREL" >"$TMP/initrd.list"
for m in virtio_blk virtio_pci ext4; do
    grep -q "/$m\.ko" "$TMP/initrd.list" || die "the initrd lacks $m: root=/dev/vda would not mount"
done
rm -f "$TMP/initrd.list"

kill_chroot_procs
unmount_all
rm -f "$ROOT/usr/sbin/policy-rc.d"
install -m 0644 "${kernels[0]}" "$TMP/vmlinuz"
install -m 0644 "$ROOT/boot/initrd.img-$KREL" "$TMP/initrd.img"
echo "$KREL" >"$TMP/kernel.release"
chroot "$ROOT" dpkg -l >"$TMP/packages.txt"

# --- 5. the disk image ------------------------------------------------------
step "mkfs.ext4 -d: $(du -sh "$ROOT" | cut -f1) into a sparse $SIZE root.raw"
mkfs.ext4 -q -F -L proxyfs-root -d "$ROOT" "$TMP/root.raw" "$SIZE" >>"$LOG" 2>&1
remove_root
[[ ! -e $ROOT ]] || die "could not remove $ROOT"
rmdir "$TMP/private"

date -u +%Y-%m-%dT%H:%M:%SZ >"$TMP/done"
rm -rf --one-file-system "$IMG"
mv "$TMP" "$IMG"
ln -sfn "${IMG##*/}" "$SYSTEM/current"
# Images of other keys are stale, about 1 GiB each. A VM still running on one
# keeps its open root.raw.
for old in "$SYSTEM"/image-*; do
    [[ $old == "$IMG" || ! -d $old ]] && continue
    say "removing the stale image ${old#"$TOP"/}"
    rm -rf --one-file-system "$old"
done
step "ready: ${IMG#"$TOP"/} (kernel $KREL, $(grep -c '^ii' "$IMG/packages.txt") packages," \
     "$(du -h "$IMG/root.raw" | cut -f1) used of $SIZE)"
