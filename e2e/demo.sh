#!/bin/bash
# demo.sh - `make demo`: one guest, booted through the patched libvirt with a
# <driver type='proxy'/> share and a stock 9p passthrough share side by side,
# while QEMU runs as an unprivileged user. Prints what the guest did, what
# landed on the host, who runs what, and the two shares compared; then tears
# everything down (domain, and the daemons if it started them).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ $(id -u) -ne 0 ]]; then
    echo "demo: needs root (libvirt's daemon, the root helper, a test user): run 'sudo make demo'"
    exit 1
fi
say "building the test guest (e2e/guest/build-guest.sh)"
"$TOP/e2e/guest/build-guest.sh" | tail -n 1
ensure_private
start_daemons
trap e2e_cleanup EXIT

dom=proxyfs-demo
# the proxy share below root's private directory; the stock one where
# QEMU's unprivileged user can open it
proxy_dir=$(fresh_dir demo-proxy-share)
stock_dir=$(shared_dir demo-stock-share "$QEMU_USER:$QEMU_USER")
say "domain $dom: TCG guest, QEMU as '$QEMU_USER'"
echo "    proxy share: $proxy_dir  (<driver type='proxy'/>, tag 'proxy')"
echo "    stock share: $stock_dir  (<driver type='path'/> passthrough, tag 'stock', owned by $QEMU_USER)"
define_domain "$dom" \
    "proxyfs.mounts=proxy:/mnt/proxy,stock:/mnt/stock proxyfs.run=contrast:/mnt/proxy,contrast:/mnt/stock,sleep:30 proxyfs.timeout=60" \
    "$(proxy_fs "$proxy_dir" proxy)" "$(path_fs "$stock_dir" stock passthrough)"
((T_FAIL == 0)) || die "the proxy share's export is within unprivileged users' reach"
virsh start "$dom" >/dev/null
wait_console "$dom" '^PROBE-RUN sleep' 90 || die "the guest did not finish its probes (console: $E2E/$dom.console)"

qpid=$(qemu_pid "$dom")
hpid=$(helpers_of "$proxy_dir")

echo
say "what the guest (as root) did on each share"
console "$dom" | awk '
    $1 == "PROBE-RUN" && $2 == "contrast" { share = $3 }
    $1 == "PROBE" { printf "    %-13s %-8s %-32s %s\n", share, $2, $3, ($4 == "ok" ? "ok" ($5 == "" ? "" : " " $5) : "FAILED: " $5) }'

echo
say "the proxy share on the host (ls -ln $proxy_dir)"
# shellcheck disable=SC2012  # the ls -ln output is what the demo shows
ls -ln "$proxy_dir" | sed 's/^/    /'
say "the stock share on the host (ls -ln $stock_dir)"
# shellcheck disable=SC2012
ls -ln "$stock_dir" | sed 's/^/    /'

echo
say "who runs what (ps -o user,pid,args)"
ps -o user:12,pid,args -p "$qpid" -p "$hpid" | cut -c1-140 | sed 's/^/    /'
echo "    QEMU's share options: $(tr '\0' '\n' < "/proc/$qpid/cmdline" | grep '^proxy,\|^local,' | paste -sd' ')"
echo "    QEMU ($qpid):   $(awk '$1 == "Uid:" { print "uid " $2 }' "/proc/$qpid/status"), CapEff $(proc_field "$qpid" CapEff)"
echo "    helper ($hpid): $(awk '$1 == "Uid:" { print "uid " $2 }' "/proc/$hpid/status"), CapEff $(proc_field "$hpid" CapEff), root directory $(readlink "/proc/$hpid/root")"

echo
say "the same four operations, side by side"
result() { # result MOUNTPOINT OP
    console "$dom" | awk -v m="$1/" -v op="$2" '$1 == "PROBE" && $2 == op && index($3, m) == 1 {
        print ($4 == "ok" ? "ok" : "fails: " $5 (op == "chown" && $5 == "ENOENT" ? " (no file)" : "")) }'
}
printf '    %-34s | %-24s | %s\n' "guest op" "stock path share" "proxy share"
printf '    %-34s-+-%-24s-+-%s\n' "----------------------------------" "------------------------" "------------------------"
for row in "write:write a new file" "chown:chown it to 1234:5678" "mknod:mknod c 1 3" "symlink:symlink to it"; do
    op=${row%%:*}
    printf '    %-34s | %-24s | %s\n' "${row#*:}" "$(result /mnt/stock "$op")" "$(result /mnt/proxy "$op")"
done
echo
say "tearing down"
virsh destroy "$dom" >/dev/null
echo "    helper after destroy: $(helpers_of "$proxy_dir" | grep . || echo 'gone')"
echo "    helper pidfile: $(pidfiles_of "$dom" | grep . || echo 'removed')"
