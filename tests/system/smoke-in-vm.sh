#!/bin/bash
# smoke-in-vm.sh - runs inside the system VM as /srv/test/run (tests/system/
# smoke.sh puts it there): is the bed the system users run? Stock AppArmor
# enforcing libvirtd's profile, cgroup v2, systemd as PID 1, Debian's
# libvirtd on QEMU 7.2, the image's own kernel.
# Ends with "system-smoke: N passed, M failed"; exits 1 if any failed.
set -uo pipefail
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
# check DESCRIPTION EXPECTED ACTUAL
check() { if [[ $3 == "$2" ]]; then ok "$1: $3"; else bad "$1: expected '$2', got '$3'"; fi; }

echo "== system-smoke on $(uname -n), uptime $(cut -d' ' -f1 /proc/uptime) s"

lsm=$(cat /sys/kernel/security/lsm 2>/dev/null)
if [[ ,$lsm, == *,apparmor,* ]]; then ok "active LSMs include apparmor: $lsm"; else bad "no apparmor in the LSMs: '$lsm'"; fi

if aa-status --enabled; then ok "aa-status --enabled"; else bad "aa-status --enabled says AppArmor is off"; fi
# the names listed under "N profiles are in enforce mode."
enforced=$(aa-status 2>/dev/null | awk '/profiles are in enforce mode/ { f = 1; next }
                                         /^[^ \t]/ { f = 0 } f { print $1 }')
echo "== enforced profiles: $(printf '%s\n' "$enforced" | paste -sd' ')"
if grep -qx libvirtd <<<"$enforced"; then ok "profile libvirtd is in enforce mode"
else bad "profile libvirtd is not in enforce mode"; fi

check "file system at /sys/fs/cgroup" cgroup2fs "$(stat -fc %T /sys/fs/cgroup)"
check "PID 1" systemd "$(cat /proc/1/comm)"

state=$(systemctl is-active libvirtd)
if [[ $state == active ]]; then
    ok "libvirtd active at boot (started by its unit, not by a socket)"
else
    virsh -c qemu:///system uri >/dev/null 2>&1
    state2=$(systemctl is-active libvirtd)
    if [[ $state2 == active ]]; then ok "libvirtd was '$state' at boot, socket-activated by virsh"
    else bad "libvirtd is '$state2' even after a virsh connection"; fi
fi
pid=$(systemctl show -p MainPID --value libvirtd)
check "libvirtd's AppArmor confinement" "libvirtd (enforce)" "$(cat "/proc/$pid/attr/current" 2>/dev/null)"

ver=$(virsh -c qemu:///system version --daemon 2>&1)
hv=$(sed -n 's/^Running hypervisor: //p' <<<"$ver")
if [[ $hv == "QEMU 7.2."* ]]; then ok "virsh version: hypervisor $hv, daemon $(sed -n 's/^Running against daemon: //p' <<<"$ver")"
else bad "virsh version names no QEMU 7.2: $(paste -sd';' <<<"$ver")"; fi

check "kernel release (the image's)" "$(cat /srv/test/expect-kernel-release 2>/dev/null)" "$(uname -r)"

# system-vm.sh keeps kvm_amd out: nested guests cannot pick KVM on TCG's emulated SVM.
if [[ ! -d /sys/module/kvm_amd && ! -d /sys/module/kvm_intel ]]; then ok "no KVM vendor module loaded"
else bad "a KVM vendor module is loaded: $(ls -d /sys/module/kvm_* | paste -sd' ')"; fi
echo "== /dev/kvm: $(ls -l /dev/kvm 2>&1); domcapabilities kvm: $(virsh -c qemu:///system domcapabilities --virttype kvm >/dev/null 2>&1 && echo yes || echo no)"

# What a test author may want to know; not checked.
failed=$(systemctl --failed --plain --no-legend | awk '{ print $1 }' | paste -sd' ')
echo "== system state: $(systemctl is-system-running 2>/dev/null) (this unit is still running); failed units: ${failed:-none}"
echo "== cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores, $(free -m | awk '/^Mem:/ { print $2 }') MiB"

echo "system-smoke: $pass passed, $fail failed"
((fail == 0))
