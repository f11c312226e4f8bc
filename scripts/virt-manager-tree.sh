#!/usr/bin/env bash
# Build the virt-manager work tree: the Python sources of Debian's virtinst
# and virt-manager 1:4.1.0-2 binary packages (sha256-pinned in
# upstream/virt-manager.sha256) as one tagged pristine commit, then one
# commit per patch of patches/virt-manager (git am). Same series, same
# commit ids. An existing tree is reused when it matches the series,
# re-applied when the series changed, and never reset while it holds work
# the series lacks.
set -euo pipefail
. "$(dirname "$0")/virt-manager-lib.sh"

vm_fetch_debs
[[ ${1:-} == --fetch-only ]] && exit 0

if [[ ! -d $TREE/.git ]]; then
    say "unpacking the packages into ${VM_DEBS#"$TOP"/}"
    rm -rf "$VM_DEBS"
    mkdir -p "$VM_DEBS"
    for pkg in "${VM_PACKAGES[@]}"; do
        dpkg-deb -x "$VM_DL/$(vm_deb_name "$pkg")" "$VM_DEBS"
    done
    # Upstream's source layout: the modules, ui/ and icons/ at the top and
    # the settings schema in data/. The packages' /usr/bin entry scripts are
    # left out: they put /usr/share/virt-manager first on sys.path, so they
    # would run the system's copy. Run the tree's with PYTHONPATH=$TREE.
    say "committing the pristine tree in ${TREE#"$TOP"/}"
    rm -rf "$TREE"
    mkdir -p "$TREE/data"
    cp -a "$VM_DEBS/usr/share/virt-manager/." "$TREE/"
    cp "$VM_DEBS/usr/share/glib-2.0/schemas/org.virt-manager.virt-manager.gschema.xml" "$TREE/data/"
    tgit init -q -b master
    printf '%s\n' '__pycache__/' '*.pyc' '/data/gschemas.compiled' >> "$TREE/.git/info/exclude"
    tgit add -A
    GIT_AUTHOR_DATE=$PRISTINE_DATE GIT_COMMITTER_DATE=$PRISTINE_DATE \
        tgit commit -q -m "virt-manager $VM_VERSION: Python sources of Debian's virtinst and virt-manager packages"
    tgit tag "$BASE_TAG"
    queue_apply
    exit 0
fi

queue_reuse "Export it with scripts/virt-manager-export.sh"
