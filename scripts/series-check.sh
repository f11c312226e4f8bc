#!/usr/bin/env bash
# Fail, naming what differs, when the work tree holds commits or edits that
# the committed series does not. Passes when there is no work tree yet.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[[ -d $TREE/.git ]] || { say "no work tree: nothing to check"; exit 0; }

if ! queue_check; then
    echo "run 'make series' and commit patches/libvirt"
    exit 1
fi
say "work tree and series agree ($(series_list | wc -l) patch(es))"
