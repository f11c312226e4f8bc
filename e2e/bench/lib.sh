# Shared pieces of the benchmarks (scripts/bench.sh): the bench guest, the
# five share configurations, booting a bench-* domain and collecting its
# BENCH lines.  Builds on e2e/lib.sh (private daemons, domain XML).
# Sourced, never run.
# shellcheck shell=bash

. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

GUEST=$WORK/bench/guest             # domain_xml boots this kernel/initramfs
BENCH_DIR=$WORK/bench               # results (one directory per run)
# The shares' host directories: those of proxy, proxy-qemu, local and
# virtiofs below $PRIVATE, root's alone (their guests' root makes set-uid
# root files and device nodes through a root helper or a root QEMU; libvirt
# refuses a proxy export that unprivileged users can reach); mapped's where
# QEMU's unprivileged user opens them by path
EXPORTS=$PRIVATE/bench
SHARED_EXPORTS=$BENCH_DIR/exports
XMLDIR=$BENCH_DIR/xml

bsay() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# ensure_daemons: the private daemons are shared and may have been stopped,
# restarted or reinstalled by someone else meanwhile: (re)start them until
# virtqemud answers (start_daemons reuses running ones).
ensure_daemons() {
    local i
    for ((i = 0; i < 30; i++)); do
        if daemon_pid virtqemud >/dev/null && daemon_pid virtlogd >/dev/null &&
           virsh_t 20 version >/dev/null 2>&1; then
            return 0
        fi
        ((i > 0)) || bsay "private daemons not answering: (re)starting them"
        start_daemons || true
        sleep 1
    done
    die "the private virtqemud does not answer"
}

# bench_wait_done NAME SECONDS: wait until the guest printed PROBE-EXIT (its
# last line) or the domain is off; reading the console, this survives a
# daemon restart meanwhile.  The domain is destroyed afterwards either way.
bench_wait_done() {
    local i rc=1
    for ((i = 0; i < $2 * 5; i++)); do
        if grep -q '^PROBE-EXIT ' "$E2E/$1.console" 2>/dev/null; then
            rc=0
            break
        fi
        if ((i % 10 == 9)) && [[ $(virsh_t 10 domstate "$1" 2>/dev/null) == "shut off" ]]; then
            rc=0
            break
        fi
        sleep 0.2
    done
    ensure_daemons
    virsh destroy "$1" >/dev/null 2>&1 || true
    return $rc
}

# bench_cleanup: destroy and undefine every bench-* domain; then nothing
# set-uid, set-gid or device-like stays in the shares' directories
bench_cleanup() {
    local n
    if daemon_pid virtqemud >/dev/null; then
        for n in $(virsh list --all --name 2>/dev/null | grep '^bench-' || true); do
            cleanup_domain "$n"
        done
    fi
    defuse "$EXPORTS" "$SHARED_EXPORTS"
}

# export_base CONFIG: where CONFIG's share directories go
export_base() {
    case $1 in
        mapped) echo "$SHARED_EXPORTS" ;;
        *)      echo "$EXPORTS" ;;
    esac
}

# export_dir NAME OWNER BASE: a fresh empty share directory BASE/NAME
export_dir() {
    local d=$3/$1
    [[ $3 != "$EXPORTS" ]] || ensure_private
    mkdir -p "$3"
    rm -rf "$d"
    mkdir -m 0755 "$d"
    chown "$2" "$d"
    echo "$d"
}

# ---------------------------------------------------------------- configurations
# proxy     <driver type='proxy'/>, passthrough, QEMU as proxyfs-qemu; the
#           default helper, libvirt's own
# proxy-qemu  the same with QEMU's helper (<binary path>)
# local     <driver type='path'/> passthrough, this domain's QEMU as root
#           (a static DAC seclabel +0:+0, relabel='no')
# mapped    <driver type='path'/> mapped, QEMU as proxyfs-qemu
# virtiofs  <driver type='virtiofs'/>, libvirt's virtiofsd (root), shared memfd
#           memory; the guest mounts it itself (fsbench mount)
CONFIGS_ALL=(proxy proxy-qemu local mapped virtiofs)

ROOT_SECLABEL="  <seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>"
SHARED_MEM="  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>"

# config_export CONFIG NAME: a fresh export directory owned as CONFIG needs
config_export() {
    case $1 in
        mapped) export_dir "$2" "$QEMU_USER:$QEMU_USER" "$(export_base "$1")" ;;
        *)      export_dir "$2" 0:0 "$(export_base "$1")" ;;
    esac
}

# config_fs CONFIG DIR TAG: the <filesystem> element
config_fs() {
    case $1 in
        proxy)    proxy_fs "$2" "$3" ;;
        proxy-qemu) proxy_fs "$2" "$3" "<binary path='$QEMU_HELPER'/>" ;;
        local)    path_fs "$2" "$3" passthrough ;;
        mapped)   path_fs "$2" "$3" mapped ;;
        virtiofs) printf "    <filesystem type='mount' accessmode='passthrough'>\n      <driver type='virtiofs'/>\n      <binary path='/usr/lib/qemu/virtiofsd'/>\n      <source dir='%s'/>\n      <target dir='%s'/>\n    </filesystem>" "$2" "$3" ;;
        *)        die "unknown configuration '$1'" ;;
    esac
}

# config_domain_xml CONFIG: top-level domain elements the configuration needs
config_domain_xml() {
    case $1 in
        local)    echo "$ROOT_SECLABEL" ;;
        virtiofs) echo "$SHARED_MEM" ;;
        *)        ;;
    esac
}

# config_cmdline CONFIG TAG DIR RUN: the guest's command line: init mounts 9p
# shares; virtiofs is mounted by fsbench as the first run item
config_cmdline() {
    case $1 in
        virtiofs) echo "proxyfs.run=mount:virtiofs:$2:$3,$4" ;;
        *)        echo "proxyfs.mounts=$2:$3 proxyfs.run=$4" ;;
    esac
}

# ---------------------------------------------------------------- domains
# bench_define NAME CMDLINE EXTRA-DOMAIN-XML FILESYSTEM-XML...: write
# $XMLDIR/NAME.xml (the e2e domain, plus EXTRA before </domain>) and define it
bench_define() {
    local name=$1 cmdline=$2 extra=$3 xml
    shift 3
    mkdir -p "$XMLDIR"
    cleanup_domain "$name"
    rm -f "$E2E/$name.console" "$DOMLOGDIR/$name.log" \
          "$DOMLOGDIR/$name"-*-virtfs-proxy-helper.log "$DOMLOGDIR/$name"-*-virtiofsd.log
    # no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer
    # check can fail and panic the guest ("IO-APIC + timer doesn't work!")
    xml=$(domain_xml "$name" "no_timer_check $cmdline" "$@")
    if [[ -n $extra ]]; then
        xml=${xml%</domain>}$extra$'\n</domain>'
    fi
    printf '%s\n' "$xml" > "$XMLDIR/$name.xml"
    # a regression of the layout fails here, before libvirt's own check
    local d
    while read -r d; do
        protecting_ancestor "$d" >/dev/null ||
            die "$name: the proxy export $d is within unprivileged users' reach (no root-only directory above it)"
    done < <(proxy_exports "$XMLDIR/$name.xml")
    virsh define "$XMLDIR/$name.xml" >/dev/null
}

# bench_lines NAME: the guest's BENCH lines (workload ops seconds rate unit)
bench_lines() { console "$1" | sed -n 's/^BENCH \([a-z]* [0-9]* [0-9.]* [0-9.]* [A-Za-z/]*\)$/\1/p'; }

# qemu_uid NAME: the real uid of the running domain's QEMU
qemu_uid() { local p; p=$(qemu_pid "$1") && proc_field "$p" Uid; }

# ---------------------------------------------------------------- environment
# print_env: what the numbers depend on
print_env() {
    local qv
    qv=$(qemu-system-x86_64 --version | head -n 1)
    echo "date:        $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "accel:       TCG (<domain type='qemu'>, 1 vCPU, 256 MiB)"
    echo "host cpus:   $(nproc) x $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "host memory: $(awk '/^MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo)"
    echo "host kernel: $(uname -r)"
    echo "qemu:        $qv"
    echo "guest:       Linux $(cat "$WORK/guest/kernel.release" 2>/dev/null), busybox initramfs, static fsbench"
    echo "libvirt:     $("$PREFIX/sbin/virtqemud" --version 2>/dev/null | head -n 1) (private, $PREFIX)"
    echo "loadavg:     $(cat /proc/loadavg)"
}
