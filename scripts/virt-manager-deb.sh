#!/usr/bin/env bash
# Debian packages virtinst and virt-manager 1:4.1.0-2+deb12u0+proxyfsN with the
# virt-manager series. Debian's source package cannot be fetched here, so
# they are made from Debian's pinned binary packages (the ones the work
# tree is built on): unpacked with dpkg-deb -R, every file the series
# changes replaced by the patched tree's, version, dependency pin,
# Installed-Size, changelog and md5sums updated, the series shipped under
# /usr/share/doc/PKG/proxyfs-patches/, and packed again with dpkg-deb.
# The same series and revision give the same bytes.
# Results: work/virt-manager-deb/out/{virtinst,virt-manager}_1%3a4.1.0-2+deb12u0+proxyfsN_all.deb
#
# Environment:
#   PROXYFS_DEB_REV=N the N in +proxyfsN (default 1)
set -euo pipefail
. "$(dirname "$0")/virt-manager-lib.sh"

REV=${PROXYFS_DEB_REV:-1}
[[ $REV =~ ^[1-9][0-9]*$ ]] || die "PROXYFS_DEB_REV must be a positive number, not '$REV'"
# Above Debian's 1:4.1.0-2, below its first stable update 1:4.1.0-2+deb12u1
# (a security fix must replace ours): "+deb12u0" is the update before the
# first, as libvirt's 9.0.0-4+deb12u2+proxyfsN gives way to +deb12u3.
# (Plain +proxyfsN sorted above +deb12u1: 'p' > 'd'.)
NEW_VERSION=$VM_VERSION+deb12u0+proxyfs$REV
NEXT_DEBIAN=$VM_VERSION+deb12u1
DEBDIR=$WORK/virt-manager-deb
ROOTS=$DEBDIR/root                       # ROOTS/PKG: one unpacked package
OUT=$DEBDIR/out
DOCDIR=proxyfs-patches                   # under /usr/share/doc/PKG/
# virt-manager's Depends pins virtinst to its own version; the one relation
# between the two that names the exact version (virtinst's Breaks/Replaces
# on virt-manager << 1:3.2.0-3~ are about old versions and stay)
PIN_PKG=virt-manager PIN_OLD="virtinst (= $VM_VERSION)" PIN_NEW="virtinst (= $NEW_VERSION)"

export LC_ALL=C.UTF-8                    # one sort order for md5sums and listings
umask 022                                # files we add are 0644, directories 0755
t0=$SECONDS
new_deb_name() { echo "${1}_${NEW_VERSION/:/%3a}_all.deb"; }
dpkg --compare-versions "$NEW_VERSION" gt "$VM_VERSION" ||
    die "$NEW_VERSION does not sort above Debian's $VM_VERSION"
dpkg --compare-versions "$NEW_VERSION" lt "$NEXT_DEBIAN" ||
    die "$NEW_VERSION does not sort below Debian's next stable update $NEXT_DEBIAN"

# ------------------------------------------------------------ inputs
say "Debian's ${VM_PACKAGES[*]} $VM_VERSION (sha256 pinned in ${VM_PIN#"$TOP"/})"
vm_fetch_debs
if [[ ! -d $TREE/.git ]]; then
    say "no work tree yet: making it (virt-manager-tree.sh)"
    "$TOP/scripts/virt-manager-tree.sh"
fi
# The packages ship the series next to the code: both must be the same.
say "checking that ${TREE#"$TOP"/} is exactly ${SERIES#"$TOP"/}"
queue_check >&2 ||
    die "${TREE#"$TOP"/} and ${SERIES#"$TOP"/} differ: export your work (make virt-manager-series) or re-apply the series (make virt-manager-tree)"
mapfile -t patches < <(series_list)
((${#patches[@]})) || die "no patches in $SERIES/series"

# Dates come from the series, not the clock: the changelog's and the mtime
# of every file written here, as in scripts/deb.sh
epoch=0
for p in "${patches[@]}"; do
    d=$(date -u -d "$(sed -n 's/^Date: //p' "$SERIES/$p" | head -n 1)" +%s) ||
        die "$p has no readable Date:"
    ((d > epoch)) && epoch=$d
done
export SOURCE_DATE_EPOCH=$epoch          # dpkg-deb: ar timestamps, tar mtimes clamped
stamp() { touch -h -d "@$epoch" "$@"; }

# ------------------------------------------------------------ unpack
# installed_size ROOT: what dpkg-gencontrol writes: KiB rounded up per
# regular file, 1 per directory or symlink, DEBIAN's maintainer scripts
# included (control and md5sums do not exist yet when it runs)
installed_size() {
    (cd "$1" && find . ! -path ./DEBIAN/control ! -path ./DEBIAN/md5sums -printf '%y %s\n') |
        awk '{ t += ($1 == "f") ? int(($2 + 1023) / 1024) : 1 } END { print t }'
}
rm -rf "$ROOTS" "$OUT"
mkdir -p "$ROOTS" "$OUT"
for pkg in "${VM_PACKAGES[@]}"; do
    say "unpacking $(vm_deb_name "$pkg") (dpkg-deb -R)"
    dpkg-deb -R "$VM_DL/$(vm_deb_name "$pkg")" "$ROOTS/$pkg"
    # the formula must give Debian's own figure before we rely on it
    got=$(installed_size "$ROOTS/$pkg") want=$(dpkg-deb -f "$VM_DL/$(vm_deb_name "$pkg")" Installed-Size)
    [[ $got == "$want" ]] || die "Installed-Size of Debian's $pkg computes as $got, not its $want"
done

# ------------------------------------------------------------ patched files
# The tree mirrors /usr/share/virt-manager, except the settings schema,
# which virt-manager-tree.sh keeps in data/ as upstream does.
pkg_path() {
    case $1 in
        data/org.virt-manager.virt-manager.gschema.xml) echo "usr/share/glib-2.0/schemas/${1#data/}" ;;
        data/*) return 1 ;;
        *) echo "usr/share/virt-manager/$1" ;;
    esac
}
declare -A changed=()                    # PKG -> its changed paths and notes, one a line
n=0
while IFS=$'\t' read -r status f; do
    path=$(pkg_path "$f") || die "the series changes $f, which no package path corresponds to"
    owner=
    for pkg in "${VM_PACKAGES[@]}"; do
        [[ -f $ROOTS/$pkg/$path ]] || continue
        [[ -z $owner ]] || die "/$path is in both $owner and $pkg"
        owner=$pkg
    done
    # a file the series adds would need a decision on its package: not guessed
    [[ -n $owner ]] || die "the series changes $f ($status), but /$path is in neither ${VM_PACKAGES[*]} $VM_VERSION"
    case $status in
        M)  # content only: the package's mode and owner stay
            tgit show "HEAD:$f" > "$ROOTS/$owner/$path"
            stamp "$ROOTS/$owner/$path" ;;
        D)  rm "$ROOTS/$owner/$path" ;;
        *)  die "the series changes $f with git status $status: not handled" ;;
    esac
    say "  $owner: /$path ($status)"
    note=
    [[ $status == D ]] && note=", removed"
    changed[$owner]+="/$path"$'\t'"$note"$'\n'
    n=$((n + 1))
done < <(tgit diff --no-renames --name-status "$BASE_TAG" HEAD)
((n > 0)) || die "the series changes no file between $BASE_TAG and HEAD"
say "replaced $n file(s) changed by the ${#patches[@]} patches"

# ------------------------------------------------------------ changelog entry
# subject PATCH: its Subject, continuation lines joined, [PATCH] dropped
subject() {
    awk '/^Subject: / { s = substr($0, 10); on = 1; next }
         on && /^[ \t]/ { sub(/^[ \t]+/, ""); s = s " " $0; next }
         on { exit }
         END { sub(/^\[PATCH[^]]*\] */, "", s); print s }' "$1"
}
# item TEXT: a changelog bullet's sub-item, folded to stay within 80 columns
item() { printf '%s\n' "- $1" | fold -s -w 72 | sed -e 's/ *$//' -e '1s/^/    /' -e '2,$s/^/      /'; }
entry=$DEBDIR/changelog-entry
{
    echo "virt-manager ($NEW_VERSION) bookworm; urgency=medium"
    echo
    echo "  * 9p proxy filesystems (libvirt's <driver type='proxy'/>) in virt-install"
    echo "    and virt-manager. The libvirt proxy-fs project's series, ${#patches[@]} patches,"
    echo "    shipped in /usr/share/doc/{virtinst,virt-manager}/$DOCDIR/:"
    for p in "${patches[@]}"; do item "$(subject "$SERIES/$p")"; done
    echo "  * Built from Debian's binary packages $VM_VERSION, with these files"
    echo "    replaced by the patched ones:"
    for pkg in "${VM_PACKAGES[@]}"; do
        while IFS=$'\t' read -r path note; do
            [[ -z $path ]] || item "$path ($pkg$note)"
        done <<< "${changed[$pkg]:-}"
    done
    echo
    echo " -- $GIT_AUTHOR_NAME <$GIT_AUTHOR_EMAIL>  $(date -u -R -d "@$epoch")"
    echo
} > "$entry"

# ------------------------------------------------------------ per package
for pkg in "${VM_PACKAGES[@]}"; do
    root=$ROOTS/$pkg
    doc=$root/usr/share/doc/$pkg
    say "$pkg: changelog, the series in /usr/share/doc/$pkg/$DOCDIR, control, md5sums"
    [[ -f $doc/changelog.Debian.gz && ! -L $doc/changelog.Debian.gz ]] ||
        die "$pkg has no changelog.Debian.gz of its own"
    { cat "$entry"; gzip -dc "$doc/changelog.Debian.gz"; } | gzip -9n > "$doc/changelog.Debian.gz.new"
    mv "$doc/changelog.Debian.gz.new" "$doc/changelog.Debian.gz"
    # plain .patch files, so that they can be applied as they are
    mkdir -p "$doc/$DOCDIR"
    cp "$SERIES/series" "$doc/$DOCDIR/series"
    for p in "${patches[@]}"; do cp "$SERIES/$p" "$doc/$DOCDIR/$p"; done
    chmod 0644 "$doc/$DOCDIR"/*
    stamp "$doc/changelog.Debian.gz" "$doc/$DOCDIR"/*

    ctl=$root/DEBIAN/control
    [[ $(sed -n 's/^Version: //p' "$ctl") == "$VM_VERSION" ]] || die "$pkg's control is not version $VM_VERSION"
    sed -i "s/^Version: .*/Version: $NEW_VERSION/" "$ctl"
    if [[ $pkg == "$PIN_PKG" ]]; then
        awk -v old="$PIN_OLD" -v new="$PIN_NEW" '
            /^Depends: / && (i = index($0, old)) {
                $0 = substr($0, 1, i - 1) new substr($0, i + length(old)); n++ }
            { print }
            END { exit n != 1 }' "$ctl" > "$ctl.new" ||
            die "$pkg's Depends has no '$PIN_OLD': Debian's packaging changed, look at its control"
        mv "$ctl.new" "$ctl"
    fi
    # any other relation that names the old version exactly would now be wrong
    if grep -F -- "$VM_VERSION)" "$ctl"; then
        die "$pkg's control still names $VM_VERSION (above): handle that relation"
    fi
    sed -i "s/^Installed-Size: .*/Installed-Size: $(installed_size "$root")/" "$ctl"
    # every regular file but DEBIAN's and conffiles (none here), as dh_md5sums does
    (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | sort |
        grep -vxF -f <(awk '{ sub(/^\//, "", $NF); print $NF }' DEBIAN/conffiles 2>/dev/null || true) |
        xargs -r -d '\n' md5sum) > "$root/DEBIAN/md5sums"
    # directories whose listing changed, and DEBIAN: fixed mtimes as well
    find "$root" -type d -exec touch -d "@$epoch" {} +
    stamp "$root"/DEBIAN/*

    say "$pkg: dpkg-deb -b -> ${OUT#"$TOP"/}/$(new_deb_name "$pkg")"
    dpkg-deb --root-owner-group -Zxz -b "$root" "$OUT/$(new_deb_name "$pkg")" >/dev/null
done

# ------------------------------------------------------------ self-checks
say "checking the packages"
x=$(mktemp -d)
trap 'rm -rf "$x"' EXIT
for pkg in "${VM_PACKAGES[@]}"; do
    deb=$OUT/$(new_deb_name "$pkg")
    got=$(dpkg-deb -f "$deb" Package Version Architecture | tr '\n' ' ')
    [[ $got == "Package: $pkg Version: $NEW_VERSION Architecture: all " ]] ||
        die "$deb says '$got'"
    dpkg-deb -c "$deb" | awk '{ print $6 }' > "$x/$pkg.list"
    for f in series "${patches[@]}"; do
        grep -qxF "./usr/share/doc/$pkg/$DOCDIR/$f" "$x/$pkg.list" ||
            die "$deb does not list /usr/share/doc/$pkg/$DOCDIR/$f"
    done
    mkdir "$x/$pkg"
    dpkg-deb -x "$deb" "$x/$pkg"
    dpkg-deb -e "$deb" "$x/$pkg/DEBIAN"
    (cd "$x/$pkg" && md5sum --quiet -c DEBIAN/md5sums) || die "$deb: md5sums do not match its files"
    [[ $(gzip -dc "$x/$pkg/usr/share/doc/$pkg/changelog.Debian.gz" | head -n 1) == "virt-manager ($NEW_VERSION) "* ]] ||
        die "$deb: the changelog does not start with $NEW_VERSION"
done
want=$(dpkg-deb -f "$VM_DL/$(vm_deb_name "$PIN_PKG")" Depends)
want=${want/"$PIN_OLD"/"$PIN_NEW"}
got=$(dpkg-deb -f "$OUT/$(new_deb_name "$PIN_PKG")" Depends)
[[ $got == "$want" ]] || die "$PIN_PKG's Depends is '$got', expected '$want'"
re='virtinst \(= ([^)]+)\)'
if ! [[ $got =~ $re && ${BASH_REMATCH[1]} == "$(dpkg-deb -f "$OUT/$(new_deb_name virtinst)" Version)" ]]; then
    die "$PIN_PKG's Depends '$got' is not satisfied by the virtinst package"
fi
# the file patch 1 changes, as packaged, is the tree's
first=$(sed -n 's|^diff --git a/\([^ ]*\) b/.*|\1|p' "$SERIES/${patches[0]}" | head -n 1)
path=$(pkg_path "$first")
found=0
for pkg in "${VM_PACKAGES[@]}"; do
    [[ -f $x/$pkg/$path ]] || continue
    cmp -s "$x/$pkg/$path" "$TREE/$first" || die "/$path in $pkg differs from ${TREE#"$TOP"/}/$first"
    found=1
done
((found)) || die "/$path (changed by ${patches[0]}) is in neither package"

for pkg in "${VM_PACKAGES[@]}"; do
    deb=$OUT/$(new_deb_name "$pkg")
    printf '    %s  %s\n' "$(sha256sum "$deb" | cut -c1-16)" "${deb#"$TOP"/}"
done
say "virtinst and virt-manager $NEW_VERSION in ${OUT#"$TOP"/} ($((SECONDS - t0)) s)"
