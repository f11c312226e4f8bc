#!/usr/bin/env bash
# check-repo.sh - make test-repo: the apt repository of make repo, as apt
# sees it, with README's source line (signed-by= our key) in a private apt
# state directory (this machine's own apt configuration is not touched):
#   - apt-get update accepts its signature and lists our versions as the
#     candidates, and ours sort above Debian's;
#   - a copy whose Packages index was altered, and a copy signed by another
#     key, are both refused by apt-get update.
# Ends with "test-repo: N passed, M failed".
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../../scripts/lib.sh"
REPO=${REPO:-$WORK/repo}
SUITE=bookworm
KEYRING=$REPO/proxyfs-archive-keyring.gpg
[[ -f $REPO/dists/$SUITE/InRelease ]] || die "no repository at $REPO (make repo)"
export LC_ALL=C

passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { # check WHAT EXPECTED ACTUAL
    if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# apt_private NAME REPO_DIR KEYRING apt-get|apt-cache ARGS...: apt against
# only that source, in state directories of its own; prints apt's output,
# returns its status
apt_private() {
    local d=$scratch/$1
    mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/etc/apt.conf.d" "$d/etc/preferences.d"
    echo "deb [signed-by=$3] file:$2 $SUITE main" > "$d/sources.list"
    : > "$d/status"
    : > "$d/apt.conf"
    APT_CONFIG=$d/apt.conf "$4" -q -o APT::Sandbox::User=root \
        -o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=- \
        -o Dir::Etc::Parts="$d/etc/apt.conf.d" -o Dir::Etc::PreferencesParts="$d/etc/preferences.d" \
        -o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache" -o Dir::State::status="$d/status" \
        -o Debug::NoLocking=1 "${@:5}"
}

# ------------------------------------------------------------ the repository
if out=$(apt_private good "$REPO" "$KEYRING" apt-get update 2>&1); then
    pass "apt-get update with signed-by= our key"
else
    fail "apt-get update with signed-by= our key: exit $?: $(grep -E '^(W|E):' <<<"$out" | paste -sd' ')"
fi
check "no warning from apt-get update" "" "$(grep -E '^(W|E):' <<<"$out" || true)"
deb=$(compgen -G "$WORK/deb/out/libvirt-daemon_*.deb" | head -n 1) || true
[[ -n $deb ]] || { fail "no libvirt-daemon .deb in $WORK/deb/out (make deb) to compare with"; deb=/dev/null; }
version=$(dpkg-deb -f "$deb" Version 2>/dev/null || echo unknown)
for p in libvirt-daemon-system libvirt-daemon-driver-qemu libvirt0 virtinst virt-manager; do
    want=$version
    [[ $p != virt* ]] || want=$(dpkg-deb -f "$(compgen -G "$WORK/virt-manager-deb/out/${p}_*.deb" | head -n 1)" Version)
    check "$p: the repository's candidate" "$want" \
        "$(apt_private good "$REPO" "$KEYRING" apt-cache policy "$p" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')"
done
# check_sorts_between OURS DEBIANS NEXT: ours replaces Debian's version and
# gives way to Debian's next stable update of it (a security fix)
check_sorts_between() {
    if dpkg --compare-versions "$1" gt "$2"; then
        pass "$1 sorts above Debian's $2"
    else
        fail "$1 does not sort above Debian's $2"
    fi
    if dpkg --compare-versions "$1" lt "$3"; then
        pass "$1 sorts below Debian's next stable update $3"
    else
        fail "$1 does not sort below Debian's next stable update $3: apt would hold that update back"
    fi
}
# libvirt: Debian 12's libvirt is 9.0.0-4+deb12u2; its next update is +deb12u3
[[ $version =~ ^(9\.0\.0-4\+deb12u)([0-9]+)\+ ]] ||
    fail "libvirt $version is not 9.0.0-4+deb12uN+...: which Debian version is it built on?"
check_sorts_between "$version" "9.0.0-4+deb12u${BASH_REMATCH[2]:-2}" "9.0.0-4+deb12u$((${BASH_REMATCH[2]:-2} + 1))"
# virt-manager: Debian 12's is 1:4.1.0-2, a first stable update would be +deb12u1
check_sorts_between "$(dpkg-deb -f "$(compgen -G "$WORK/virt-manager-deb/out/virtinst_*.deb" | head -n 1)" Version)" \
    "1:4.1.0-2" "1:4.1.0-2+deb12u1"

# ------------------------------------------------------------ tampering
cp -a "$REPO" "$scratch/altered"
idx=$scratch/altered/dists/$SUITE/main/binary-amd64
sed -i '0,/^Version: /s/^Version: .*/Version: 99:0/' "$idx/Packages"
rm -f "$idx/Packages.gz" "$idx/Packages.xz"
out=$(apt_private altered "$scratch/altered" "$KEYRING" apt-get update 2>&1) && rc=0 || rc=$?
if ((rc != 0)) && grep -qE 'Hash Sum mismatch|File has unexpected size' <<<"$out"; then
    pass "an altered Packages index is refused (hash mismatch)"
else
    fail "an altered Packages index: apt-get update exit $rc: $(grep -E '^(W|E):' <<<"$out" | head -n 3)"
fi

GNUPGHOME=$scratch/otherkey
export GNUPGHOME
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-generate-key "not the archive <other@invalid>" ed25519 sign never 2>/dev/null
cp -a "$REPO" "$scratch/resigned"
gpg --batch --yes --quiet --clearsign -o "$scratch/resigned/dists/$SUITE/InRelease" "$scratch/resigned/dists/$SUITE/Release"
rm -f "$scratch/resigned/dists/$SUITE/Release.gpg"
other=$(gpg --batch --list-secret-keys --with-colons 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')
out=$(apt_private resigned "$scratch/resigned" "$KEYRING" apt-get update 2>&1) && rc=0 || rc=$?
# refused means all three: apt-get update fails, apt says why (the
# signature's key is not in signed-by=, the source is not signed), and apt
# knows no package from that source. A warning alone is not a refusal.
check "a repository signed by another key: apt-get update fails" 100 "$rc"
check "a repository signed by another key: apt names the unknown key (NO_PUBKEY ${other: -16})" 1 \
    "$(grep -cE "^(W|E): GPG error: .* NO_PUBKEY ${other: -16}\$" <<<"$out")"
check "a repository signed by another key: apt calls the source not signed" 1 \
    "$(grep -cE "^E: The repository 'file:$scratch/resigned $SUITE InRelease' is not signed\.\$" <<<"$out")"
# (the same query on the good copy gave the candidates above; apt-cache
# policy prints nothing for a package it does not know)
check "a repository signed by another key: apt knows none of its packages (apt-cache policy)" "" \
    "$(apt_private resigned "$scratch/resigned" "$KEYRING" apt-cache policy libvirt-daemon-system virtinst 2>&1)"
check "a repository signed by another key: no Packages index kept" "" \
    "$(cd "$scratch/resigned/lists" && compgen -G '*Packages*' || true)"

echo "test-repo: $passed passed, $failed failed"
((failed == 0))
