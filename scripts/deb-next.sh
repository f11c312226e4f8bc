#!/usr/bin/env bash
# deb-next.sh - the "next release" of our libvirt packages, for the upgrade
# test of make test-system: the .debs of make deb, version +proxyfsN moved
# to +proxyfs(N+1), with a changelog entry that says so. The code is the
# same; what an upgrade exercises is the package's: dpkg replacing files
# under a running daemon, the maintainer scripts, the daemon's restart with
# guests running. A rebuild from source would cost CI a second make deb
# (about 9 minutes) and prove nothing more about that.
#
# Usage: deb-next.sh OUTDIR PACKAGE...   (from work/deb/out)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

OUT=${1:?usage: deb-next.sh OUTDIR PACKAGE...}
shift
IN=$WORK/deb/out
(($#)) || die "name the packages to repack"

version=$(dpkg-deb -f "$(compgen -G "$IN/libvirt-daemon_*.deb" | head -n 1)" Version) ||
    die "no .debs in $IN (make deb)"
[[ $version =~ ^(.*\+proxyfs)([0-9]+)$ ]] || die "$version is not a +proxyfsN version"
next=${BASH_REMATCH[1]}$((BASH_REMATCH[2] + 1))
say "deb-next: $# packages, $version -> $next"

rm -rf "$OUT"
mkdir -p "$OUT"
x=$(mktemp -d)
trap 'rm -rf "$x"' EXIT
when=$(date -u -R -d "@$(stat -c %Y "$IN/libvirt-daemon_${version}_amd64.deb")")
for p in "$@"; do
    f=$(compgen -G "$IN/${p}_${version}_*.deb") || die "no $p $version in $IN"
    r=$x/$p
    dpkg-deb -R "$f" "$r"
    # the version, and every exact relation between our packages
    # (in a basic regular expression only the dots need escaping: \+ is a quantifier)
    sed -i "s/$(sed 's/[.]/\\&/g' <<<"$version")/$next/g" "$r/DEBIAN/control"
    log=$r/usr/share/doc/$p/changelog.Debian.gz
    if [[ -f $log && ! -L $log ]]; then
        {
            printf 'libvirt (%s) bookworm; urgency=medium\n\n' "$next"
            printf '  * Test upgrade: %s repacked as %s, no change in code.\n\n' "$version" "$next"
            printf ' -- %s <%s>  %s\n\n' "$GIT_AUTHOR_NAME" "$GIT_AUTHOR_EMAIL" "$when"
            zcat "$log"
        } | gzip -9n > "$log.new"
        mv "$log.new" "$log"
        (cd "$r" && md5sum "usr/share/doc/$p/changelog.Debian.gz") > "$x/sum"
        awk -v f="usr/share/doc/$p/changelog.Debian.gz" 'NR == FNR { s = $0; next } $2 == f { $0 = s } 1' \
            "$x/sum" "$r/DEBIAN/md5sums" > "$x/md5sums"
        cat "$x/md5sums" > "$r/DEBIAN/md5sums"
    fi
    # gzip -1: a test artefact, made in every make check
    dpkg-deb --root-owner-group -Zgzip -z1 -b "$r" "$OUT/" >/dev/null
    rm -rf "$r"
done
n=$(compgen -G "$OUT/*_${next}_*.deb" | wc -l)
(($# == n)) || die "made $n of $# packages"
for f in "$OUT"/*.deb; do
    if dpkg-deb -f "$f" Depends Pre-Depends Recommends Breaks Replaces | grep -q "+proxyfs${BASH_REMATCH[2]})"; then
        die "$(basename "$f") still refers to $version"
    fi
done
say "deb-next: $n packages of $next in ${OUT#"$TOP"/}"
