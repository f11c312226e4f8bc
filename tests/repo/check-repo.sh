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
    fail "apt-get update: $(tail -n 3 <<<"$out")"
fi
check "no warning from apt-get update" "" "$(grep -E '^(W|E):' <<<"$out" || true)"
version=$(dpkg-deb -f "$(compgen -G "$WORK/deb/out/libvirt-daemon_*.deb" | head -n 1)" Version)
for p in libvirt-daemon-system libvirt-daemon-driver-qemu libvirt0 virtinst virt-manager; do
    want=$version
    [[ $p != virt* ]] || want=$(dpkg-deb -f "$(compgen -G "$WORK/virt-manager-deb/out/${p}_*.deb" | head -n 1)" Version)
    check "$p: the repository's candidate" "$want" \
        "$(apt_private good "$REPO" "$KEYRING" apt-cache policy "$p" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')"
done
check_dpkg_sorts() {
    dpkg --compare-versions "$1" gt "$2" && pass "$1 sorts above Debian's $2" || fail "$1 does not sort above $2"
}
check_dpkg_sorts "$version" "9.0.0-4+deb12u2"

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
gpg --batch --quiet --passphrase '' --quick-generate-key "not the archive <other@invalid>" ed25519 sign never
cp -a "$REPO" "$scratch/resigned"
gpg --batch --yes --quiet --clearsign -o "$scratch/resigned/dists/$SUITE/InRelease" "$scratch/resigned/dists/$SUITE/Release"
rm -f "$scratch/resigned/dists/$SUITE/Release.gpg"
out=$(apt_private resigned "$scratch/resigned" "$KEYRING" apt-get update 2>&1) && rc=0 || rc=$?
if grep -qE "NO_PUBKEY|not signed|is not signed|EXPKEYSIG|BADSIG" <<<"$out"; then
    pass "a repository signed by another key is refused (apt-get update exit $rc)"
else
    fail "a repository signed by another key: $(grep -E '^(W|E):' <<<"$out" | head -n 3)"
fi

echo "test-repo: $passed passed, $failed failed"
((failed == 0))
