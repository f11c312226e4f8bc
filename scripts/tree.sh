#!/usr/bin/env bash
# Turn the series into a libvirt git work tree: pristine 9.0.0 as one tagged
# commit, then one commit per patch (git am). The same series always gives
# the same commit ids. An existing tree is reused when it already matches, and
# is never reset while it holds work that the series does not have.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

synced=$TREE/.git/proxyfs-synced-head

apply_series() {
    local p n=0
    while read -r p; do
        [[ -f $SERIES/$p ]] || die "series lists $p, which is not in $SERIES"
        n=$((n + 1))
        if ! tgit am -q --committer-date-is-author-date --keep-cr "$SERIES/$p"; then
            tgit am --abort || true
            die "patch $p does not apply"
        fi
    done < <(series_list)
    say "applied $n patch(es) on $BASE_TAG"
    tgit rev-parse HEAD > "$synced"
}

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
    apply_series
    exit 0
fi

# Reuse: is the tree exactly what the series makes?
if [[ -f $synced ]] && [[ $(tgit rev-parse HEAD) == "$(cat "$synced")" ]] &&
   [[ -z $(tgit status --porcelain) ]]; then
    if "$TOP/scripts/series-check.sh" >/dev/null 2>&1; then
        say "work tree $TREE already matches the series"
        exit 0
    fi
    say "the series changed: re-applying it on $BASE_TAG"
    tgit reset -q --hard "$BASE_TAG"
    apply_series
    exit 0
fi

{
    echo "tree.sh: error: $TREE holds work that the series does not have:"
    tgit status --short | head -n 20
    tgit log --oneline "$(cat "$synced" 2>/dev/null || echo "$BASE_TAG")..HEAD" 2>/dev/null | head -n 20
    echo "Export it with 'make series', or remove $TREE to start over."
} >&2
exit 1
