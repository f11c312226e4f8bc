#!/usr/bin/env bash
# install-virt-manager.sh - make test-repo's second half: virtinst and
# virt-manager installed on this machine from the repository of make repo,
# through a real apt source (README's line, with a file: URI), and checked
# by tests/virt-manager-deb/check-installed.sh --apt: the +proxyfs version,
# virt-install --print-xml with a proxy share, the shipped series, and the
# installed virt-manager's Add Hardware offering proxy (screenshot). The
# source is removed again at the end, with its lists. Needs root.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../../scripts/lib.sh"
REPO=${REPO:-$WORK/repo}
LIST=/etc/apt/sources.list.d/proxyfs-test-repo.list
[[ $(id -u) == 0 ]] || die "needs root (apt sources, package installs)"
[[ -f $REPO/dists/bookworm/InRelease ]] || die "no repository at $REPO (make repo)"
[[ ! -e $LIST ]] || die "$LIST exists: another run, or one that did not clean up"

# only this source is refreshed: the machine's other lists stay as they are
update_ours() {
    apt-get update -q -o DPkg::Lock::Timeout=600 -o Dir::Etc::sourcelist="$LIST" \
        -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >/dev/null
}
cleanup() {
    rm -f "$LIST"
    rm -f /var/lib/apt/lists/*"${REPO//\//_}"_* 2>/dev/null || true
}
trap cleanup EXIT
echo "deb [signed-by=$REPO/proxyfs-archive-keyring.gpg] file:$REPO bookworm main" > "$LIST"
say "install-virt-manager: apt source $(cat "$LIST")"
update_ours
"$TOP/tests/virt-manager-deb/check-installed.sh" --apt
