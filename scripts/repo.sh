#!/usr/bin/env bash
# make repo - a signed apt repository of our packages, as a plain directory
# that can be published anywhere (a web server, a file: URI, a USB stick):
#
#   REPO/dists/bookworm/{Release,InRelease,Release.gpg}
#   REPO/dists/bookworm/main/binary-amd64/Packages{,.gz,.xz}
#   REPO/pool/main/...                     the .debs
#   REPO/proxyfs-archive-keyring.gpg       the public key, for signed-by=
#   REPO/KEY                               its fingerprint, to check out of band
#
# Built with Debian's own tools: apt-ftparchive for the indices and Release,
# gpg for InRelease and Release.gpg. The packages: every binary package of
# our libvirt (make deb) and our virtinst and virt-manager
# (make virt-manager-deb).
#
# The signing key: by default a key of its own, generated once into
# work/repo-gnupg (a test key; it never leaves work/). A publisher signs
# with their own key instead: REPO_GNUPGHOME=~/.gnupg REPO_KEY=FINGERPRINT.
#
# Environment: REPO (default work/repo), REPO_DEBS (directories of .debs,
# space separated; default work/deb/out and work/virt-manager-deb/out),
# REPO_GNUPGHOME, REPO_KEY.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

REPO=${REPO:-$WORK/repo}
REPO_DEBS=${REPO_DEBS:-"$WORK/deb/out $WORK/virt-manager-deb/out"}
SUITE=bookworm
COMPONENT=main
ARCH=amd64
KEYRING_NAME=proxyfs-archive-keyring.gpg
export LC_ALL=C

for tool in apt-ftparchive gpg gpgv; do
    command -v "$tool" >/dev/null || die "$tool is missing (make deps: apt-utils, gpg, gpgv)"
done

# ------------------------------------------------------------ the key
if [[ -n ${REPO_GNUPGHOME:-} ]]; then
    export GNUPGHOME=$REPO_GNUPGHOME
    [[ -n ${REPO_KEY:-} ]] || die "REPO_GNUPGHOME is set: name the signing key with REPO_KEY=FINGERPRINT"
    key=$REPO_KEY
else
    # gpg-agent makes its sockets (S.gpg-agent.browser the longest) in
    # GNUPGHOME when /run/user/UID does not exist: below a deep checkout
    # they are longer than a UNIX socket address holds, and gpg fails with
    # "No agent running". The key directory stays work/repo-gnupg; gpg
    # reaches it through a symbolic link in the checkout's short directory.
    gnupg_dir=$WORK/repo-gnupg
    mkdir -m 0700 -p "$gnupg_dir"
    ensure_short
    ln -sfn "$gnupg_dir" "$SHORT/gnupg"
    export GNUPGHOME=$SHORT/gnupg
    if ! key=$(gpg --batch --list-secret-keys --with-colons 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }') ||
       [[ -z $key ]]; then
        say "repo: generating the repository's signing key (a test key, in ${gnupg_dir#"$TOP"/})"
        find "$gnupg_dir" -mindepth 1 -delete
        gpg --batch --quiet --passphrase '' \
            --quick-generate-key "libvirt proxy-fs test archive <proxy-fs@invalid>" ed25519 sign never
        key=$(gpg --batch --list-secret-keys --with-colons | awk -F: '$1 == "fpr" { print $10; exit }')
    fi
fi
[[ $key =~ ^[0-9A-F]{40}$ ]] || die "no usable signing key (got '$key')"
say "repo: signing key $key"

# ------------------------------------------------------------ the pool
mapfile -t debs < <(for d in $REPO_DEBS; do compgen -G "$d/*.deb" || true; done | sort)
((${#debs[@]})) || die "no .debs in $REPO_DEBS (make deb; make virt-manager-deb)"
for d in $REPO_DEBS; do
    compgen -G "$d/*.deb" >/dev/null || die "no .debs in $d"
done
say "repo: ${#debs[@]} packages into ${REPO#"$TOP"/}"
new=$REPO.new
rm -rf "$new"
mkdir -p "$new/dists/$SUITE/$COMPONENT/binary-$ARCH"
for f in "${debs[@]}"; do
    src=$(dpkg-deb -f "$f" Source | awk '{ print $1 }')
    src=${src:-$(dpkg-deb -f "$f" Package)}
    # Debian's pool layout: pool/COMPONENT/INITIAL/SOURCE/ (lib* by 4 letters)
    if [[ $src == lib* ]]; then initial=${src:0:4}; else initial=${src:0:1}; fi
    mkdir -p "$new/pool/$COMPONENT/$initial/$src"
    cp "$f" "$new/pool/$COMPONENT/$initial/$src/"
done

# ------------------------------------------------------------ indices
idx=$new/dists/$SUITE/$COMPONENT/binary-$ARCH
(cd "$new" && apt-ftparchive --arch "$ARCH" packages "pool/$COMPONENT") > "$idx/Packages"
gzip -9n < "$idx/Packages" > "$idx/Packages.gz"
xz -9 < "$idx/Packages" > "$idx/Packages.xz"
n=$(grep -c '^Package: ' "$idx/Packages")
[[ $n == "${#debs[@]}" ]] || die "the index lists $n packages, the pool holds ${#debs[@]}"

(cd "$new/dists/$SUITE" && apt-ftparchive \
    -o APT::FTPArchive::Release::Origin=proxyfs \
    -o APT::FTPArchive::Release::Label="libvirt proxy filesystem" \
    -o APT::FTPArchive::Release::Suite="$SUITE" \
    -o APT::FTPArchive::Release::Codename="$SUITE" \
    -o APT::FTPArchive::Release::Architectures="$ARCH" \
    -o APT::FTPArchive::Release::Components="$COMPONENT" \
    -o APT::FTPArchive::Release::Description="libvirt with 9p proxy filesystems, for Debian 12" \
    release .) > "$new/dists/$SUITE/Release.tmp"
mv "$new/dists/$SUITE/Release.tmp" "$new/dists/$SUITE/Release"

# ------------------------------------------------------------ sign
gpg --batch --yes --quiet --local-user "$key" --digest-algo SHA512 \
    --clearsign -o "$new/dists/$SUITE/InRelease" "$new/dists/$SUITE/Release"
gpg --batch --yes --quiet --local-user "$key" --digest-algo SHA512 \
    --armor --detach-sign -o "$new/dists/$SUITE/Release.gpg" "$new/dists/$SUITE/Release"
gpg --batch --yes --quiet --export "$key" > "$new/$KEYRING_NAME"
echo "$key" > "$new/KEY"

# The signatures must verify against the exported public key alone, the
# way apt will check them with signed-by=.
gpgv --keyring "$new/$KEYRING_NAME" "$new/dists/$SUITE/InRelease" 2>/dev/null ||
    die "InRelease does not verify with $KEYRING_NAME"
gpgv --keyring "$new/$KEYRING_NAME" "$new/dists/$SUITE/Release.gpg" "$new/dists/$SUITE/Release" 2>/dev/null ||
    die "Release.gpg does not verify with $KEYRING_NAME"

rm -rf "$REPO"
mv "$new" "$REPO"
say "repo: ${REPO#"$TOP"/} ready: $n packages, suite $SUITE, component $COMPONENT, signed by $key"
awk '/^Package: / { p = $2 } /^Version: / { printf "    %-40s %s\n", p, $2 }' \
    "$REPO/dists/$SUITE/$COMPONENT/binary-$ARCH/Packages" | sort
