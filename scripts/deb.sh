#!/usr/bin/env bash
# Build Debian binary packages of libvirt with the proxy filesystem series:
# Debian's own source package (version pinned by the .dsc's sha256), our
# series converted into quilt patches with DEP-3 headers, a changelog entry
# whose version sorts above Debian's, and dpkg-buildpackage -b.
# Results: work/deb/out/ (*.deb, .changes, .buildinfo, build.log, build-time).
#
# Environment:
#   DEB_NOCHECK=1     skip libvirt's test suite in the build (default: run it)
#   PROXYFS_DEB_REV=N the N in +proxyfsN (default 1)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DEB_SRC_VERSION=9.0.0-4+deb12u2                 # Debian bookworm's libvirt
DEB_VERSION=$DEB_SRC_VERSION+proxyfs${PROXYFS_DEB_REV:-1}
DSC=$DL/libvirt_$DEB_SRC_VERSION.dsc
PIN=$TOP/upstream/libvirt-debian.dsc.sha256
DEBDIR=$WORK/deb
SRCDIR=$DEBDIR/libvirt-$LIBVIRT_VERSION
OUT=$DEBDIR/out
PATCHDIR=proxyfs                                # under debian/patches/

[[ $(id -u) == 0 ]] || die "needs root (deb-src entries, build dependencies)"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
t_start=$SECONDS
step() { say "[$(date +%H:%M:%S) +$((SECONDS - t_start))s] $*"; }

# ------------------------------------------------------------ fetch + verify
step "fetching Debian's libvirt $DEB_SRC_VERSION source package"
"$TOP/scripts/apt-sources.sh"
if ! compgen -G '/var/lib/apt/lists/*_source_Sources*' >/dev/null; then
    apt-get update -q
fi
mkdir -p "$DL"
if [[ ! -f $DSC ]]; then
    (cd "$DL" && apt-get source -q --download-only "libvirt=$DEB_SRC_VERSION") ||
        die "apt-get source libvirt=$DEB_SRC_VERSION failed; apt offers: $(apt-cache showsrc libvirt 2>/dev/null | sed -n 's/^Version: //p' | paste -sd' ') (a newer bookworm update replaces $DEB_SRC_VERSION in the archive: move DEB_SRC_VERSION and $PIN, see docs/debian-packages.md)"
fi
expected=$(awk '{print $1; exit}' "$PIN")
[[ $expected =~ ^[0-9a-f]{64}$ ]] || die "$PIN holds no sha256"
actual=$(sha256sum "$DSC" | awk '{print $1}')
if [[ $actual != "$expected" ]]; then
    {
        echo "deb.sh: error: $DSC is not the pinned Debian source package"
        echo "  expected sha256: $expected"
        echo "  actual sha256:   $actual"
        echo "Refusing to continue. Delete the file to download it again."
    } >&2
    exit 1
fi
step "verified $(basename "$DSC") (sha256 $actual); it pins the tarballs' checksums"

# ------------------------------------------------------------ unpack
step "unpacking into $SRCDIR (Debian's patches applied)"
rm -rf "$SRCDIR"
mkdir -p "$DEBDIR"
# The .dsc lists the sha256 of the orig and debian tarballs; dpkg-source
# checks them. It extracts with --no-same-owner, but be sure: a tree owned
# by the tarball's uids would make the build's files foreign to us.
dpkg-source -x "$DSC" "$SRCDIR" > "$DEBDIR/unpack.log" 2>&1 ||
    { cat "$DEBDIR/unpack.log" >&2; die "dpkg-source -x failed"; }
foreign=$(find "$SRCDIR" \( ! -uid "$(id -u)" -o ! -gid "$(id -g)" \) -print -quit)
if [[ -n $foreign ]]; then
    say "files not owned by $(id -un) after unpacking (e.g. $foreign): taking them"
    chown -R "$(id -u):$(id -g)" "$SRCDIR"
fi

# ------------------------------------------------------------ series -> quilt
# dep3_patch FILE: a format-patch file as a quilt patch with a DEP-3 header:
# Description (subject, then the body as continuation lines), Author,
# Forwarded, Last-Update; then the diff from its first 'diff --git' line.
dep3_patch() {
    awk '
        BEGIN { state = "hdr" }
        state == "hdr" && /^From: / { author = substr($0, 7); last = "from"; next }
        state == "hdr" && /^Date: / { date = substr($0, 7); last = "date"; next }
        state == "hdr" && /^Subject: / { subj = substr($0, 10); last = "subj"; next }
        state == "hdr" && /^[ \t]/ && last == "subj" { sub(/^[ \t]+/, ""); subj = subj " " $0; next }
        state == "hdr" && /^$/ { state = "body"; next }
        state == "hdr" { last = ""; next }
        state == "body" && /^---$/ { state = "stat"; next }
        state == "body" { body[nb++] = $0; next }
        state == "stat" && /^diff --git / { state = "diff" }
        state == "diff" { diff[nd++] = $0; next }
        END {
            if (subj == "" || author == "" || date == "" || nd == 0) {
                print "malformed patch" > "/dev/stderr"; exit 1
            }
            if ((subj author) ~ /=\?[^?]+\?[QqBb]\?/) {
                print "RFC 2047 encoded header: not supported" > "/dev/stderr"; exit 1
            }
            sub(/^\[PATCH[^]]*\] */, "", subj)
            while (nb > 0 && body[nb - 1] == "") nb--
            cmd = "date -u -d \"" date "\" +%F"; cmd | getline day; close(cmd)
            print "Description: " subj
            if (nb > 0) print " ."
            for (i = 0; i < nb; i++) print (body[i] == "" ? " ." : " " body[i])
            print "Author: " author
            print "Forwarded: no"
            print "Last-Update: " day
            print "---"
            for (i = 0; i < nd; i++) print diff[i]
        }' "$1"
}

mapfile -t patches < <(series_list)
((${#patches[@]})) || die "no patches in $SERIES/series"
series_sum=$( (cd "$SERIES" && cat series "${patches[@]}") | sha256sum | awk '{ print $1 }')
step "converting ${#patches[@]} patches of $SERIES into debian/patches/$PATCHDIR"
mkdir -p "$SRCDIR/debian/patches/$PATCHDIR"
newest=0
for p in "${patches[@]}"; do
    [[ -f $SERIES/$p ]] || die "series lists $p, which does not exist"
    grep -q '^GIT binary patch' "$SERIES/$p" && die "$p has a binary diff: quilt cannot apply it"
    dep3_patch "$SERIES/$p" > "$SRCDIR/debian/patches/$PATCHDIR/$p" || die "cannot convert $p"
    echo "$PATCHDIR/$p" >> "$SRCDIR/debian/patches/series"
    d=$(date -u -d "$(sed -n 's/^Date: //p' "$SERIES/$p" | head -n 1)" +%s)
    ((d > newest)) && newest=$d
done

step "applying them on top of Debian's patches (dpkg-source: quilt, no fuzz)"
if ! (cd "$SRCDIR" && dpkg-source --before-build .) > "$DEBDIR/apply.log" 2>&1; then
    cat "$DEBDIR/apply.log" >&2
    die "our series does not apply on Debian's libvirt $DEB_SRC_VERSION"
fi
n=$(grep -c "applying $PATCHDIR/" "$DEBDIR/apply.log" || true)
[[ $n == "${#patches[@]}" ]] ||
    die "dpkg-source applied $n of ${#patches[@]} patches (see $DEBDIR/apply.log)"
say "all $n applied"


# ------------------------------------------------------------ packaging
# The series adds two AppArmor profiles, libvirt-virtfs-proxy-helper (for
# libvirt's helper) and libvirt-virtfs-proxy-helper-qemu (for QEMU's), which
# the daemon's profile stacks onto the helpers. They ship with the daemon's
# profile in libvirt-daemon-system, installed and loaded like Debian's
# other libvirt profiles (dh_install + dh_apparmor, from APPARMOR_SERVICES).
step "debian/rules: ship and load the two AppArmor profiles of the helpers"
grep -q '^APPARMOR_SERVICES = \\$' "$SRCDIR/debian/rules" ||
    die "debian/rules has no APPARMOR_SERVICES list: Debian's packaging changed"
for p in libvirt-virtfs-proxy-helper-qemu libvirt-virtfs-proxy-helper; do
    sed -i "/^APPARMOR_SERVICES = \\\\\$/a\\    $p \\\\" "$SRCDIR/debian/rules"
    grep -q "^    $p \\\\\$" "$SRCDIR/debian/rules" ||
        die "could not add $p to APPARMOR_SERVICES in debian/rules"
done

# libvirt's own virtfs proxy helper ("util: Add a virtfs proxy helper of
# libvirt's own") needs libseccomp, and meson builds it only where it is
# found: enable it on Linux, as debian/rules does its other Linux-only
# features, so that a missing libseccomp fails the build instead of
# leaving the helper out, and ship it with the QEMU driver that runs it.
step "debian/control, rules and libvirt-daemon-driver-qemu.install: build and ship libvirt_virtfs_proxy_helper"
sed -i 's/^ libselinux1-dev \[linux-any\],$/ libseccomp-dev [linux-any],\n&/' "$SRCDIR/debian/control"
grep -q '^ libseccomp-dev \[linux-any\],$' "$SRCDIR/debian/control" ||
    die "could not add libseccomp-dev to Build-Depends: Debian's packaging changed"
n=$(grep -c '^    WITH_APPARMOR  *= ' "$SRCDIR/debian/rules" || true)
[[ $n == 2 ]] || die "debian/rules sets WITH_APPARMOR $n times, not twice (Linux, other): Debian's packaging changed"
sed -i -e '0,/^    WITH_APPARMOR  *= /{/^    WITH_APPARMOR  *= /a\    WITH_VIRTFS_PROXY_HELPER  = -Dvirtfs_proxy_helper=enabled
}' -e '/^    WITH_APPARMOR  *= .*=disabled/a\    WITH_VIRTFS_PROXY_HELPER  = -Dvirtfs_proxy_helper=disabled' \
    -e 's/^    \$(WITH_APPARMOR) \\$/&\n    $(WITH_VIRTFS_PROXY_HELPER) \\/' "$SRCDIR/debian/rules"
[[ $(grep -c 'WITH_VIRTFS_PROXY_HELPER' "$SRCDIR/debian/rules") == 3 ]] ||
    die "could not add -Dvirtfs_proxy_helper to debian/rules"
echo 'usr/lib/libvirt/libvirt_virtfs_proxy_helper' >> "$SRCDIR/debian/libvirt-daemon-driver-qemu.install"

# Removed, or replaced by a libvirt without proxy filesystems, these
# packages first name the domains that use them and stop the running ones,
# whose root helpers nothing would stop afterwards
# (packaging/debian/proxyfs-prerm.sh). Debian ships no prerm of its own for
# either package: debhelper's part goes where #DEBHELPER# is.
grep -q '#DEBHELPER#' "$TOP/packaging/debian/proxyfs-prerm.sh" &&
    die "packaging/debian/proxyfs-prerm.sh names debhelper's token: dh_installdeb would put its code there"
for pkg in libvirt-daemon-system libvirt-daemon-driver-qemu; do
    [[ ! -e $SRCDIR/debian/$pkg.prerm ]] || die "Debian now ships debian/$pkg.prerm: merge ours into it"
    step "debian/$pkg.prerm: name and stop proxy domains before libvirt goes"
    {
        printf '#!/bin/sh\nset -e\n\n'
        cat "$TOP/packaging/debian/proxyfs-prerm.sh"
        printf '\n#DEBHELPER#\n\nexit 0\n'
    } > "$SRCDIR/debian/$pkg.prerm"
    chmod 0755 "$SRCDIR/debian/$pkg.prerm"
done

# ------------------------------------------------------------ changelog
step "debian/changelog: $DEB_VERSION"
dpkg --compare-versions "$DEB_VERSION" gt "$DEB_SRC_VERSION" ||
    die "$DEB_VERSION does not sort above Debian's $DEB_SRC_VERSION"
{
    echo "libvirt ($DEB_VERSION) bookworm; urgency=medium"
    echo
    echo "  * 9p proxy filesystems (<driver type='proxy'/>): QEMU runs unprivileged,"
    echo "    virtfs-proxy-helper runs as root chrooted into the export. The libvirt"
    echo "    proxy-fs project's series, ${#patches[@]} patches in debian/patches/$PATCHDIR/:"
    for p in "${patches[@]}"; do
        s=$(sed -n '1s/^Description: //p' "$SRCDIR/debian/patches/$PATCHDIR/$p")
        printf '%s\n' "- $s" | fold -s -w 70 | sed -e '1s/^/    /' -e '2,$s/^/      /'
    done
    echo
    echo " -- $GIT_AUTHOR_NAME <$GIT_AUTHOR_EMAIL>  $(date -u -R -d "@$newest")"
    echo
    cat "$SRCDIR/debian/changelog"
} > "$SRCDIR/debian/changelog.new"
mv "$SRCDIR/debian/changelog.new" "$SRCDIR/debian/changelog"
got=$(cd "$SRCDIR" && dpkg-parsechangelog -S Version)
[[ $got == "$DEB_VERSION" ]] || die "changelog says $got, not $DEB_VERSION"

# ------------------------------------------------------------ build deps
step "build dependencies (apt-get build-dep on the unpacked tree)"
if apt-get -s build-dep "$SRCDIR" 2>/dev/null | grep '^Inst ' >/dev/null; then
    apt-get build-dep -y -q "$SRCDIR"
fi
# the qemu.conf patch's meson find_program looks for the helper in
# /usr/lib/qemu; Debian build-depends on qemu-system-common, which ships it
[[ -x /usr/lib/qemu/virtfs-proxy-helper ]] ||
    die "/usr/lib/qemu/virtfs-proxy-helper missing: the build would default to /usr/libexec"

# ------------------------------------------------------------ build
opts="parallel=2 noddebs"
if [[ ${DEB_NOCHECK:-} == 1 ]]; then
    opts+=" nocheck"
fi
rm -rf "$OUT"
mkdir -p "$OUT"
step "dpkg-buildpackage -b -us -uc (DEB_BUILD_OPTIONS='$opts', CFLAGS without -g, nice -n 10); log: $OUT/build.log"
t_build=$SECONDS
# A clean environment, as on a build daemon: this machine's PATH puts other
# pythons before Debian's, LIBRARY_PATH would reach the linker, and meson
# would put ccache (make build's, see lib.sh) in front of the compiler.
# No debug information (-g taken out of dpkg-buildflags' CFLAGS): noddebs
# discards it anyway, as dh_strip strips every binary, and GCC generates
# the same code with and without it; generating it made every compile and
# link of the package build slower.
build_env=(env -i HOME="$HOME" LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=dumb
           PATH=/usr/sbin:/usr/bin:/sbin:/bin DEB_BUILD_OPTIONS="$opts" CCACHE_DISABLE=1
           DEB_CFLAGS_STRIP=-g)
# progress: debhelper steps, every 250th ninja step and every 50th test
if ! (cd "$SRCDIR" && "${build_env[@]}" nice -n 10 dpkg-buildpackage -b -us -uc 2>&1) |
        tee "$OUT/build.log" |
        awk '/^ *(dh_|debian\/rules|dpkg-buildpackage: info)/ { print "    " $0; fflush(); next }
             /^\[[0-9]+\/[0-9]+\]/ && ++n % 250 == 0 { print "    ninja " $1; fflush() }
             /^ *[0-9]+\/[0-9]+ / && ++m % 50 == 0 { print "    test " $1; fflush() }'; then
    tail -n 40 "$OUT/build.log" >&2
    die "dpkg-buildpackage failed after $((SECONDS - t_build)) s (log: $OUT/build.log)"
fi
build_secs=$((SECONDS - t_build))

# ------------------------------------------------------------ collect
for f in "$DEBDIR"/*_"$DEB_VERSION"_*.deb "$DEBDIR"/libvirt_"$DEB_VERSION"_*.changes \
         "$DEBDIR"/libvirt_"$DEB_VERSION"_*.buildinfo; do
    [[ -e $f ]] && mv "$f" "$OUT/"
done
n=$(compgen -G "$OUT/*.deb" | wc -l)
((n > 0)) || die "no .deb produced"
# which series the packages carry, for tests/deb/system-install.sh
echo "$series_sum" > "$OUT/series.sha256"

# ------------------------------------------------------------ what we ship
step "checking that the packages carry the series"
x=$(mktemp -d)
trap 'rm -rf "$x"' EXIT
for pkg in libvirt-daemon-driver-qemu libvirt-daemon-system libvirt-daemon libvirt0; do
    dpkg-deb -x "$OUT/${pkg}_${DEB_VERSION}_amd64.deb" "$x"
done
problems=0
expect() { # expect DESCRIPTION COMMAND...
    if "${@:2}" >/dev/null 2>&1; then echo "    ok   $1"; else echo "    MISSING $1"; problems=$((problems + 1)); fi
}
expect "qemu.conf documents virtfs_proxy_helper: libvirt's own by default" \
    grep -qx '#virtfs_proxy_helper = "/usr/lib/libvirt/libvirt_virtfs_proxy_helper"' "$x/etc/libvirt/qemu.conf"
expect "qemu.conf names QEMU's helper at /usr/lib/qemu as the alternative" \
    grep -qx '# /usr/lib/qemu/virtfs-proxy-helper, can be named here instead; QEMU removed it,' "$x/etc/libvirt/qemu.conf"
expect "augeas lens knows virtfs_proxy_helper" \
    grep -q virtfs_proxy_helper "$x/usr/share/augeas/lenses/libvirtd_qemu.aug"
expect "QEMU driver's built-in helper path is /usr/lib/libvirt/libvirt_virtfs_proxy_helper" \
    grep -qa /usr/lib/libvirt/libvirt_virtfs_proxy_helper \
        "$x/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so"
expect "libvirt-daemon-driver-qemu ships libvirt's own helper" \
    test -x "$x/usr/lib/libvirt/libvirt_virtfs_proxy_helper"
expect "libvirt's own helper is linked with libseccomp" \
    sh -c "objdump -p '$x/usr/lib/libvirt/libvirt_virtfs_proxy_helper' | grep -q 'NEEDED *libseccomp'"
# (a root process with a hostile client: "util: Build libvirt_virtfs_proxy_helper without libvirt.so")
expect "libvirt's own helper needs no libvirt.so: GLib, libseccomp and the C runtime only" \
    sh -c "objdump -p '$x/usr/lib/libvirt/libvirt_virtfs_proxy_helper' | awk '\$1 == \"NEEDED\" { n++ } \$1 == \"NEEDED\" && \$2 !~ /^lib(c|gcc_s|glib-2[.]0|seccomp)[.]so[.]/ { bad = 1 } END { exit bad || !n }'"
expect "libvirtd's AppArmor profile stacks libvirt's helper's profile on it" \
    grep -q '/libvirt_virtfs_proxy_helper ix -> &libvirt-virtfs-proxy-helper,' "$x/etc/apparmor.d/usr.sbin.libvirtd"
expect "libvirtd's AppArmor profile stacks QEMU's helper's profile on it" \
    grep -q '/virtfs-proxy-helper ix -> &libvirt-virtfs-proxy-helper-qemu,' "$x/etc/apparmor.d/usr.sbin.libvirtd"
dpkg-deb -e "$OUT/libvirt-daemon-system_${DEB_VERSION}_amd64.deb" "$x/ctrl"
for p in libvirt-virtfs-proxy-helper libvirt-virtfs-proxy-helper-qemu; do
    expect "libvirt-daemon-system ships the AppArmor profile $p" \
        grep -q "^profile $p " "$x/etc/apparmor.d/$p"
    expect "libvirt-daemon-system's postinst loads $p" \
        grep -Fq "APP_PROFILE=\"/etc/apparmor.d/$p\"" "$x/ctrl/postinst"
done
# shellcheck disable=SC2016  # the literal line of the prerm
for pkg in libvirt-daemon-system libvirt-daemon-driver-qemu; do
    dpkg-deb -e "$OUT/${pkg}_${DEB_VERSION}_amd64.deb" "$x/ctrl-$pkg"
    expect "$pkg's prerm stops proxy domains before libvirt goes" \
        grep -Fqx 'proxyfs_prerm "$@"' "$x/ctrl-$pkg/prerm"
    expect "$pkg's prerm is valid sh, with debhelper's part after ours" \
        sh -c "sh -n '$x/ctrl-$pkg/prerm' && awk '/^proxyfs_prerm /{ p = NR } /dh_installsystemd/ && !d { d = NR } END { exit !(p && (!d || d > p)) }' '$x/ctrl-$pkg/prerm'"
done
doc=$OUT/libvirt-doc_${DEB_VERSION}_all.deb
if [[ -f $doc ]]; then
    dpkg-deb -x "$doc" "$x"
    expect "libvirt-doc has the kbase page" \
        compgen -G "$x/usr/share/doc/libvirt-doc/html/kbase/virtfs-proxy.html"
fi
((problems == 0)) || die "$problems expected piece(s) missing from the packages"

total=$((SECONDS - t_start))
printf 'dpkg-buildpackage %d s (%dm%02ds), whole deb.sh %d s (%dm%02ds), DEB_BUILD_OPTIONS=%s, %s\n' \
    "$build_secs" $((build_secs / 60)) $((build_secs % 60)) \
    "$total" $((total / 60)) $((total % 60)) "$opts" "$(date -u +%FT%TZ)" | tee "$OUT/build-time"
step "$n packages of libvirt $DEB_VERSION in $OUT"
