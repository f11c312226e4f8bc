#!/bin/bash
# test-mixed.sh - one domain, three shares: two proxy shares (two helpers,
# each chrooted into its own export) and a stock 9p share (<driver
# type='path'/>, accessmode mapped); each is used by the guest and checked on
# the host.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NAME=test-mixed
e2e_setup "$NAME"

dom=e2e-mixed
p1=$(fresh_dir mixed-proxy1)
p2=$(fresh_dir mixed-proxy2)
mp=$(shared_dir mixed-mapped "$QEMU_USER:$QEMU_USER")  # QEMU itself writes there
quid=$(id -u "$QEMU_USER") qgid=$(id -g "$QEMU_USER")
echo "-- proxy1 $p1 (semantics), proxy2 $p2 (io), mapped $mp (contrast)"

define_domain "$dom" \
    "proxyfs.mounts=p1:/mnt/p1,p2:/mnt/p2,mp:/mnt/mp proxyfs.run=semantics:/mnt/p1,io:/mnt/p2:10:60,contrast:/mnt/mp,sleep:60 proxyfs.timeout=90" \
    "$(proxy_fs "$p1" p1)" "$(proxy_fs "$p2" p2)" "$(path_fs "$mp" mp mapped)"
virsh start "$dom" >/dev/null
if wait_console "$dom" '^PROBE-RUN sleep' 120; then
    pass "guest ran its three probes"
else
    fail "guest did not get through its probes"
fi

echo "-- the two helpers"
mapfile -t pidfiles < <(pidfiles_of "$dom")
check "two helper pidfiles (fs0, fs1)" "$dom.fs0.pid $dom.fs1.pid" \
    "$(for f in "${pidfiles[@]}"; do echo "${f##*/}"; done | paste -sd' ')"
h1=$(helpers_of "$p1") h2=$(helpers_of "$p2")
check "helper of proxy1 is fs0's pidfile's pid" "$(cat "${pidfiles[0]}" 2>/dev/null)" "$h1"
check "helper of proxy2 is fs1's pidfile's pid" "$(cat "${pidfiles[1]}" 2>/dev/null)" "$h2"
check_match "two distinct helpers" '^[0-9]+ [0-9]+$' "$h1 $h2"
[[ -n $h1 && -n $h2 && $h1 != "$h2" ]] || fail "helper pids '$h1' '$h2'"
check "helper 1 root" "$p1" "$(readlink "/proc/$h1/root" 2>/dev/null)"
check "helper 2 root" "$p2" "$(readlink "/proc/$h2/root" 2>/dev/null)"
check "no helper for the mapped path share" "" "$(helpers_of "$mp")"
check "helpers in total for the domain's exports" 2 "$(cat <(helpers_of "$p1") <(helpers_of "$p2") <(helpers_of "$mp") | wc -l)"
dlog=$DOMLOGDIR/$dom.log
check "domain log: two helper starts" 2 "$(grep -c ': Starting external device: virtfs-proxy-helper$' "$dlog")"
fsdevs=$(grep '^-fsdev ' "$dlog" | sed 's/sock_fd=[0-9]*/sock_fd=N/; s/ \\$//' | paste -sd'|')
check "QEMU's three -fsdev" \
    "-fsdev proxy,id=fsdev-fs0,sock_fd=N|-fsdev proxy,id=fsdev-fs1,sock_fd=N|-fsdev local,security_model=mapped,id=fsdev-fs2,path=$mp" \
    "$fsdevs"

virsh destroy "$dom" >/dev/null
check "helpers gone after destroy" "" "$(helpers_of "$p1")$(helpers_of "$p2")"
check "pidfiles gone after destroy" "" "$(pidfiles_of "$dom")"

echo "-- proxy1: semantics"
check "guest semantics run" "PROBE-RUN-EXIT 0" "$(console "$dom" | grep -A1000 '^PROBE-RUN semantics' | grep -m1 '^PROBE-RUN-EXIT')"
explain_mknod_eperm "$dom"
out=$("$TOP/e2e/guest/check-semantics.sh" "$p1" 2>&1) || true
grep '^FAIL' <<<"$out" | sed 's/^/    /' || true
check_match "host check-semantics on proxy1: 0 failed" '^semantics: [1-9][0-9]* passed, 0 failed$' "$(tail -n 1 <<<"$out")"

echo "-- proxy2: io"
check "guest io result" "PROBE io /mnt/p2/io ok synced=10" "$(console "$dom" | grep '^PROBE io ')"
check "host: 10 files of 64 KiB owned 0:0 in proxy2/io" "10 x 65536 0:0" \
    "$(find "$p2/io" -type f -printf '%s %U:%G\n' | sort | uniq -c | awk '{ print $1 " x " $2 " " $3 }')"
check "host: proxy2 holds nothing of proxy1" "" "$(find "$p2" -name sem)"

echo "-- mapped path share: contrast"
check "guest contrast on the mapped share" "write=ok chown=ok mknod=ok symlink=ok" \
    "$(console "$dom" | awk '$1 == "PROBE" && $3 ~ "^/mnt/mp/" { print $2 "=" $4 }' | paste -sd' ')"
# mapped: QEMU (as $QEMU_USER) owns everything on the host; the guest's
# owners, modes and file types live in user.virtfs.* xattrs.
xattr() { getfattr -h --only-values -n "$1" "$2" 2>/dev/null | od -An -tu4 | tr -d ' '; }
check "host: contrast-file owned by QEMU's user" "$quid:$qgid regular file" \
    "$(stat -c '%u:%g %F' "$mp/contrast-file")"
check "host: contrast-file user.virtfs.uid/gid = the guest's chown" "1234/5678" \
    "$(xattr user.virtfs.uid "$mp/contrast-file")/$(xattr user.virtfs.gid "$mp/contrast-file")"
check "host: contrast-file content" "contrast" "$(cat "$mp/contrast-file")"
check "host: the guest's char device is a plain file owned by QEMU's user" "$quid:$qgid regular empty file" \
    "$(stat -c '%u:%g %F' "$mp/contrast-chardev")"
check "host: its user.virtfs.mode is S_IFCHR|0600" "$(( 0020000 | 0600 ))" "$(xattr user.virtfs.mode "$mp/contrast-chardev")"
check "host: the guest's symlink is a plain file holding the target" "regular file contrast-file" \
    "$(stat -c '%F' "$mp/contrast-symlink") $(cat "$mp/contrast-symlink")"

summary "$NAME"
