#!/usr/bin/env bash
# check-installed.sh - the virtinst and virt-manager packages with the
# virt-manager series (scripts/virt-manager-deb.sh) installed on this very
# machine with apt, checked, and purged again:
#   --debs DIR   apt-get install ./DIR/*.deb (e.g. work/virt-manager-deb/out)
#   --apt        from an apt source for them that is already configured
# Checks: the +proxyfs version is installed; virt-install from /usr/bin
# builds a passthrough proxy share; the changelog and the shipped series;
# the installed virt-manager under Xvfb offers the proxy driver (needs make
# install: the harness's private libvirt daemons). Then the packages and
# everything the install pulled in are purged, Debian's versions put back
# if they were installed before, and that is checked too.
# Ends with "virt-manager-deb: N passed, M failed". Needs root.
set -euo pipefail
NAME=virt-manager-deb
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../../scripts/virt-manager-lib.sh"      # say, die, series_list, VM_*

usage() { die "usage: ${0##*/} --debs DIR | --apt"; }
MODE=${1:-}
case $MODE in
    --debs) [[ $# == 2 ]] || usage; DEBS=$(cd "$2" && pwd) || die "no directory $2" ;;
    --apt)  [[ $# == 1 ]] || usage ;;
    *)      usage ;;
esac
if [[ $(id -u) != 0 ]]; then
    echo "$NAME: SKIPPED: needs root (it installs and purges packages)"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive LC_ALL=C     # one collation for sort, comm, join
# others may run apt on this machine at the same time: wait for the lock
APT=(apt-get -q -o DPkg::Lock::Timeout=600)
STATE=$WORK/virt-manager-deb/check               # snapshots and logs of this run
t0=$SECONDS
step() { echo "== [+$((SECONDS - t0))s] $*"; }

T_PASS=0 T_FAIL=0
pass() { T_PASS=$((T_PASS + 1)); echo "PASS - $*"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL - $*"; }
check() { # check DESCRIPTION EXPECTED ACTUAL (lines of multi-line values joined by " | ")
    local shown=${3//$'\n'/ | }
    if [[ $2 == "$3" ]]; then
        pass "$1 (${shown:-empty})"
    else
        fail "$1: expected '${2//$'\n'/ | }', got '${3//$'\n'/ | }'"
    fi
}

# ------------------------------------------------------------ preconditions
if [[ $MODE == --debs ]]; then
    debs=()
    for pkg in "${VM_PACKAGES[@]}"; do
        f=$(compgen -G "$DEBS/${pkg}_*_all.deb") || die "no ${pkg}_*_all.deb in $DEBS (make virt-manager-deb)"
        [[ $(wc -l <<< "$f") == 1 ]] || die "more than one ${pkg}_*_all.deb in $DEBS"
        debs+=("$f")
    done
    what="${debs[*]#"$DEBS"/}"
else
    what="${VM_PACKAGES[*]} from the configured apt sources"
fi
# A package of ours or anyone's already installed would be replaced and then
# purged: only Debian's own version is put back afterwards.
for pkg in "${VM_PACKAGES[@]}"; do
    v=$(dpkg-query -W -f='${Version} ${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    case $v in
        ''|*' '[nc]??) ;;                         # not installed, or only config files
        "$VM_VERSION ii ") ;;                     # Debian's: put back at the end
        *) die "$pkg is installed at '$v', not Debian's $VM_VERSION: not touching it" ;;
    esac
done

# ------------------------------------------------------------ snapshots
rm -rf "$STATE"
mkdir -p "$STATE"
NATIVE=$(dpkg --print-architecture)
snapshot() { # snapshot NAME: installed packages and apt's automatic marks
    # (native packages named as apt and apt-mark name them: without :arch)
    dpkg-query -W -f='${binary:Package} ${Version} ${db:Status-Abbrev}\n' |
        awk -v a=":$NATIVE" '$3 ~ /^[ih]i/ { sub(a "$", "", $1); print $1, $2 }' | sort > "$STATE/$1.packages"
    apt-mark showauto | sort > "$STATE/$1.auto"
}
names() { awk '{ print $1 }' "$STATE/$1.packages"; }
version_in() { awk -v p="$2" '$1 == p { print $2 }' "$STATE/$1.packages"; }

# ------------------------------------------------------------ restore
RESTORED=0
restore() {
    ((RESTORED)) && return 0
    RESTORED=1
    trap '' INT TERM HUP    # a restore is not interrupted half-way
    set +e                  # restore all it can; the checks at the end judge
    [[ -f $STATE/installed.packages ]] || snapshot installed    # a failed install
    local p v touched purge=() back=() extra
    # what the install touched: ours, what it added (their dependencies) and
    # what it upgraded
    touched=$({ printf '%s\n' "${VM_PACKAGES[@]}"
                comm -13 <(names before) <(names installed)
                join "$STATE/before.packages" "$STATE/installed.packages" | awk '$2 != $3 { print $1 }'
              } | sort -u)
    # purged: ours and the added ones; apt may remove nothing else
    for p in $touched; do
        [[ -n $(version_in before "$p") && " ${VM_PACKAGES[*]} " != *" $p "* ]] && continue
        dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^[ih]i' && purge+=("$p")
    done
    if ((${#purge[@]})); then
        extra=$("${APT[@]}" -s purge "${purge[@]}" 2>&1 | awk '/^Purg / { print $2 }' |
                grep -vxF -f <(printf '%s\n' "${purge[@]}"))
        if [[ -n $extra ]]; then
            fail "apt-get purge ${purge[*]} would also remove: $(paste -sd' ' <<< "$extra"); not purging"
        else
            step "restore: apt-get purge ${purge[*]}"
            "${APT[@]}" purge -y "${purge[@]}" > "$STATE/purge.log" 2>&1 ||
                { tail -n 20 "$STATE/purge.log"; fail "apt-get purge (log: ${STATE#"$TOP"/}/purge.log)"; }
        fi
    fi
    # back: what was there before, at its version (Debian's virtinst and
    # virt-manager, a package the install upgraded)
    while read -r p v; do
        [[ $(dpkg-query -W -f='${Version} ${db:Status-Abbrev}' "$p" 2>/dev/null) == "$v ii " ]] ||
            back+=("$p=$v")
    done < <(join <(echo "$touched") "$STATE/before.packages")
    if ((${#back[@]})); then
        step "restore: apt-get install ${back[*]}"
        "${APT[@]}" install -y --allow-downgrades --no-install-recommends "${back[@]}" \
            > "$STATE/reinstall.log" 2>&1 ||
            { tail -n 20 "$STATE/reinstall.log"; fail "apt-get install (log: ${STATE#"$TOP"/}/reinstall.log)"; }
        # apt's automatic/manual marks as they were
        for p in "${back[@]%%=*}"; do
            if grep -qxF "$p" "$STATE/before.auto"; then apt-mark auto "$p"; else apt-mark manual "$p"; fi >/dev/null
        done
    fi
    snapshot after
    check "the packages the test touched are as before, with their versions" \
        "$(join <(echo "$touched") "$STATE/before.packages")" \
        "$(join <(echo "$touched") "$STATE/after.packages")"
    check "apt's automatic marks of those as before" \
        "$(comm -12 <(echo "$touched") "$STATE/before.auto")" \
        "$(comm -12 <(echo "$touched") "$STATE/after.auto")"
    if [[ ! -e $STATE/before.had-share ]]; then
        check "/usr/share/virt-manager gone again" absent \
            "$([[ -e /usr/share/virt-manager ]] && echo present || echo absent)"
    fi
    set -e
}

# ------------------------------------------------------------ install
step "snapshot of the installed packages"
snapshot before
[[ -e /usr/share/virt-manager ]] && touch "$STATE/before.had-share"
for pkg in "${VM_PACKAGES[@]}"; do
    v=$(version_in before "$pkg")
    echo "   $pkg before: ${v:-not installed}"
done
trap 'restore; echo "$NAME: $T_PASS passed, $T_FAIL failed (interrupted)"' EXIT
trap 'exit 130' INT TERM HUP              # so that EXIT's restore runs

step "installing $what"
if [[ $MODE == --debs ]]; then
    inst=("${debs[@]}")                   # paths: apt takes them as files, not names
else
    inst=("${VM_PACKAGES[@]}")
fi
if "${APT[@]}" install -y --no-install-recommends "${inst[@]}" > "$STATE/install.log" 2>&1; then
    snapshot installed
    pass "apt-get install (log: ${STATE#"$TOP"/}/install.log)"
    echo "   new packages: $(comm -13 <(names before) <(names installed) | paste -sd' ')"
else
    tail -n 20 "$STATE/install.log"
    fail "apt-get install (log: ${STATE#"$TOP"/}/install.log)"
fi

# ------------------------------------------------------------ 1. versions
step "1. the installed versions"
for pkg in "${VM_PACKAGES[@]}"; do
    got=$(dpkg-query -W -f='${Version} ${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    if [[ $got =~ ^${VM_VERSION}\+deb12u0\+proxyfs[0-9]+\ ii\ $ ]]; then
        pass "$pkg $got"
    else
        fail "$pkg: expected $VM_VERSION+deb12u0+proxyfsN, status ii; dpkg-query says '$got'"
    fi
done
VERSION=$(dpkg-query -W -f='${Version}' virtinst 2>/dev/null || true)
check "dpkg --verify ${VM_PACKAGES[*]}: no file differs from its md5sum" "" \
    "$(dpkg --verify "${VM_PACKAGES[@]}" 2>&1)"

# ------------------------------------------------------------ 2. virt-install
step "2. /usr/bin/virt-install --print-xml with a proxy share"
# The test driver works offline. virtinst's command line consults no domain
# capabilities for the filesystem driver (patch 0002's
# supports_filesystem_proxy() is used by virt-manager's dialog only), so
# test:///default takes driver.type=proxy as it is. virt-install 4.1 refuses
# to run without an OS (--osinfo); "generic" adds no OS-specific defaults and
# does not touch filesystems.
rc=0
xml=$(/usr/bin/virt-install --connect test:///default --name t --memory 256 --disk none \
      --import --osinfo generic \
      --filesystem source.dir=/srv/share,target.dir=share,driver.type=proxy \
      --print-xml 2>&1) || rc=$?
check "virt-install exits 0" 0 "$rc"
# virtinst writes double quotes and puts <driver> last
check "the <filesystem> element, exactly" \
'<filesystem type="mount" accessmode="passthrough">
<source dir="/srv/share"/>
<target dir="share"/>
<driver type="proxy"/>
</filesystem>' \
    "$(sed -n '/<filesystem/,/<\/filesystem>/p' <<< "$xml" | sed 's/^ *//')"

# ------------------------------------------------------------ 3. changelog
step "3. the changelogs"
for pkg in "${VM_PACKAGES[@]}"; do
    got=$(zcat "/usr/share/doc/$pkg/changelog.Debian.gz" 2>&1 | head -n 1)
    if [[ $VERSION == *+proxyfs* && $got == "virt-manager ($VERSION) "* ]]; then
        pass "$pkg's changelog starts with $VERSION ($got)"
    else
        fail "$pkg's changelog starts with '$got', not the +proxyfs version"
    fi
done

# ------------------------------------------------------------ 4. the series
step "4. the series in /usr/share/doc/PKG/proxyfs-patches"
for pkg in "${VM_PACKAGES[@]}"; do
    d=/usr/share/doc/$pkg/proxyfs-patches
    check "$pkg: $(series_list | wc -l) patches, those of ${SERIES#"$TOP"/}/series" \
        "$(series_list)" "$(cd "$d" 2>/dev/null && compgen -G '*.patch' | sort)"
    check "$pkg: its series file is ${SERIES#"$TOP"/}/series" same \
        "$(cmp -s "$d/series" "$SERIES/series" && echo same || echo differs)"
done

# ------------------------------------------------------------ 5. screenshot
step "5. the installed virt-manager under Xvfb (scripts/virt-manager-screenshot.sh --installed)"
SHOT=$WORK/virt-manager-deb/screenshot-installed.png
rm -f "$SHOT"
if [[ ! -x $PREFIX/sbin/virtqemud ]]; then
    fail "no private libvirt in ${PREFIX#"$TOP"/} for the screenshot: make install"
else
    rc=0
    "$TOP/scripts/virt-manager-screenshot.sh" --installed > "$STATE/screenshot.log" 2>&1 || rc=$?
    sed 's/^/   | /' "$STATE/screenshot.log" | grep -E '^   \| (ok:|error|==> saved|.*: error:)' || true
    check "virt-manager-screenshot.sh --installed exits 0 (log: ${STATE#"$TOP"/}/screenshot.log)" 0 "$rc"
    for want in "ok: its proxy filesystem shown with driver 'proxy'" \
                "ok: Add Hardware -> Filesystem with driver 'proxy'"; do
        if grep -qxF "$want" "$STATE/screenshot.log"; then pass "${want#ok: }"; else fail "no '$want'"; fi
    done
    check "${SHOT#"$TOP"/} written" yes "$([[ -s $SHOT ]] && echo yes || echo no)"
fi

# ------------------------------------------------------------ restore
restore
trap - EXIT INT TERM HUP
echo "$NAME: $T_PASS passed, $T_FAIL failed"
((T_FAIL == 0))
