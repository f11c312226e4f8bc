#!/usr/bin/env bash
# Turn the series into a libvirt git work tree: pristine 9.0.0 as one tagged
# commit, then one commit per patch (git am). The same series always gives
# the same commit ids. An existing tree is reused when it already matches, and
# is never reset while it holds work that the series does not have.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [[ ! -d $TREE/.git ]]; then
    "$TOP/scripts/fetch.sh"
    say "unpacking libvirt $LIBVIRT_VERSION into $TREE"
    rm -rf "$TREE"
    mkdir -p "$TREE"
    tar -xf "$DL/$LIBVIRT_TARBALL_NAME" --no-same-owner --strip-components=1 -C "$TREE"
    say "committing the pristine tree"
    tgit init -q -b master
    # Upstream keeps keycodemapdb as a submodule and never lints it; keep
    # the files for the build but out of the index so syntax-check agrees.
    echo "/src/keycodemapdb/" >> "$TREE/.git/info/exclude"
    tgit add -A
    GIT_AUTHOR_DATE=$PRISTINE_DATE GIT_COMMITTER_DATE=$PRISTINE_DATE \
        tgit commit -q -m "libvirt $LIBVIRT_VERSION release tarball"
    tgit tag "$BASE_TAG"
    queue_apply
    exit 0
fi

# Reuse: is the tree exactly what the series makes?
queue_reuse "Export it with 'make series'"
