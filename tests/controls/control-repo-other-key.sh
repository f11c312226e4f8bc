#!/usr/bin/env bash
# control-repo-other-key.sh - make test-repo's signature check
# (tests/repo/check-repo.sh) on a repository signed by another key: a copy
# of work/repo whose InRelease and Release.gpg are made with a key of this
# control's own, while its proxyfs-archive-keyring.gpg (the signed-by= key)
# stays the archive's. Caught when check-repo.sh fails with
#   FAIL: apt-get update with signed-by= our key: exit 100: ... NO_PUBKEY <that key>
# Needs no lock: check-repo.sh runs apt in state directories of its own.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../../scripts/lib.sh"
REPO=$WORK/repo
SUITE=bookworm

setup_failed() { echo "control: setup failed: $*"; exit 2; }
[[ -f $REPO/dists/$SUITE/InRelease ]] || setup_failed "no repository at $REPO (make repo)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

export GNUPGHOME=$tmp/gnupg
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-generate-key "control: not the archive <control@invalid>" \
    ed25519 sign never 2>/dev/null
other=$(gpg --batch --list-secret-keys --with-colons 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')
[[ $other =~ ^[0-9A-F]{40}$ ]] || setup_failed "no key generated"
[[ $other != "$(cat "$REPO/KEY")" ]] || setup_failed "the other key is the archive's"

echo "control: a copy of ${REPO#"$TOP"/} signed by $other, signed-by= still the archive's key"
cp -a "$REPO" "$tmp/repo"
d=$tmp/repo/dists/$SUITE
gpg --batch --yes --quiet --local-user "$other" --clearsign -o "$d/InRelease" "$d/Release"
gpg --batch --yes --quiet --local-user "$other" --armor --detach-sign -o "$d/Release.gpg" "$d/Release"
gpgv --keyring "$tmp/repo/proxyfs-archive-keyring.gpg" "$d/InRelease" 2>/dev/null &&
    setup_failed "the copy still verifies with the archive's key"
unset GNUPGHOME

rc=0
REPO=$tmp/repo "$TOP/tests/repo/check-repo.sh" > "$tmp/log" 2>&1 || rc=$?
grep -E '^(FAIL|test-repo:)' "$tmp/log" | sed 's/^/    | /'
last=$(tail -n 1 "$tmp/log")
if ((rc == 0)); then
    echo "control: repository signed by another key -> MISSED: check-repo.sh passed ($last)"
    exit 1
elif grep -qE "^FAIL: apt-get update with signed-by= our key: exit 100: .*NO_PUBKEY ${other: -16}( |\$)" "$tmp/log"; then
    echo "control: repository signed by another key -> check-repo.sh failed: apt-get update exit 100, NO_PUBKEY ${other: -16} ($last)"
    exit 0
else
    echo "control: repository signed by another key -> check-repo.sh failed (exit $rc, $last), but not on its signature: $(grep '^FAIL' "$tmp/log" | head -n 2 | paste -sd';')"
    exit 1
fi
