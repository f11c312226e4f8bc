# Front door of the libvirt 9p proxy filesystem project. See README.md.
SHELL := /bin/bash
S := scripts

.PHONY: help check deps fetch tree build install unit bisect series series-check \
        test-workflow test-apparmor test-security test-helper bench-helper guest e2e demo clean \
        virt-manager-tree virt-manager-series virt-manager-series-check test-virtinst screenshot \
        virt-manager-deb repo test-repo \
        bench test-bench deb test-deb system-image system-smoke test-system check-artefacts \
        test-controls check-counts check-paths

help:
	@echo "make check         everything CI runs (as root on Debian 12)"
	@echo "make demo          boot a guest with a proxy share and show what it proves"
	@echo "make deps          install build and harness dependencies (root)"
	@echo "make fetch         fetch and verify the libvirt $(or $(LIBVIRT_VERSION),9.0.0) tarball"
	@echo "make tree          series -> libvirt git work tree in work/libvirt"
	@echo "make build         meson + ninja in work/build"
	@echo "make install       install into the isolated prefix work/prefix"
	@echo "make unit          libvirt's meson test, including syntax-check"
	@echo "make bisect        build and unit-test every patch of the series on its own"
	@echo "make series        work tree -> patches/libvirt (export)"
	@echo "make series-check  fail if the work tree holds unexported work"
	@echo "make guest         build the test guest (kernel, initramfs, probe)"
	@echo "make e2e           end-to-end tests: real guests through virsh, on libvirt's helper,"
	@echo "                   then a smoke run on QEMU's (root)"
	@echo "make virt-manager-tree    virt-manager series -> work tree in work/virt-manager"
	@echo "make virt-manager-series  work/virt-manager -> patches/virt-manager (export)"
	@echo "make test-virtinst virt-install/virtinst with the virt-manager series (pytest)"
	@echo "make screenshot    virt-manager's Filesystem page with proxy, under Xvfb"
	@echo "make virt-manager-deb     virtinst and virt-manager .debs with the series -> work/virt-manager-deb/out"
	@echo "make bench         proxy vs local vs mapped (vs virtiofs) shares, start-up cost,"
	@echo "                   placement; table, data and docs/bench-proxy-vs-local.png (root)"
	@echo "make test-bench    the benchmark's smoke run: checks that numbers are produced"
	@echo "make deb           Debian 12 packages of libvirt with the series -> work/deb/out (root)"
	@echo "make repo          a signed apt repository of our packages -> work/repo (root)"
	@echo "make test-repo     the repository as apt sees it; virtinst and virt-manager installed from it (root)"
	@echo "make test-deb      install the .debs, a proxy guest through the system libvirtd, purge (root)"
	@echo "make test-security a compromised QEMU against the helper, faults, 100 start/destroy"
	@echo "                   cycles, bad configurations (root)"
	@echo "make test-helper   libvirt's own proxy helper: fuzzed (libFuzzer, 100000 runs as nobody and"
	@echo "                   as root), and the differential test against QEMU's helper (root)"
	@echo "make bench-helper  one request round trip through QEMU's helper, libvirt's and a null helper (the floor), and their memory, same run (root)"
	@echo "make system-image  a stock Debian 12 system VM image: systemd, AppArmor, Debian's libvirt (root)"
	@echo "make system-smoke  boot it under TCG and check it is that system (root)"
	@echo "make test-system   our .debs on that system: a nested proxy guest through its libvirtd,"
	@echo "                   AppArmor enforcing, a daemon restart (root)"
	@echo "make test-controls  negative controls: each suite against a deliberately broken target"
	@echo "                   must fail; one line per control, then controls: N controls, M caught (root)"
	@echo "make check-paths   the suites' socket paths (107 bytes) and deepest export path fit,"
	@echo "                   whatever the checkout's depth"
	@echo "make check-artefacts  no set-uid/set-gid file and no device node left in the checkout"
	@echo "                   (work/ included); with its self-test"
	@echo "make check-counts     each suite ran the checks, attempts and skips tests/expected-counts says"

deps:
	@$(S)/deps.sh
fetch:
	@$(S)/fetch.sh
tree:
	@$(S)/tree.sh
build: tree
	@$(S)/build.sh
install: build
	@$(S)/install.sh
unit: build
	@$(S)/unit.sh
bisect: tree
	@$(S)/bisect.sh
series:
	@$(S)/export.sh
series-check:
	@$(S)/series-check.sh
test-workflow: tree
	@tests/workflow/run.sh
test-apparmor: install
	@tests/apparmor/check-profiles.sh
test-helper: build
	@e2e/helper/run.sh
bench-helper: build
	@e2e/helper/bench-rtt.sh
test-security: install guest
	@e2e/security/run.sh
guest:
	@e2e/guest/build-guest.sh
# every scenario on libvirt's helper (the default), then a smoke run on QEMU's
E2E_QEMU_SMOKE = semantics processes readonly lifecycle virsh idmap
e2e: install guest
	@e2e/run.sh
	@E2E_HELPER=qemu e2e/run.sh $(E2E_QEMU_SMOKE)
virt-manager-tree:
	@$(S)/virt-manager-tree.sh
virt-manager-series:
	@$(S)/virt-manager-export.sh
virt-manager-series-check:
	@$(S)/virt-manager-export.sh --check
test-virtinst: virt-manager-tree install
	@tests/virtinst/run.sh
screenshot: virt-manager-tree install
	@$(S)/virt-manager-screenshot.sh
virt-manager-deb:
	@$(S)/virt-manager-deb.sh
repo:
	@$(S)/repo.sh
test-repo:
	@tests/repo/check-repo.sh
	@tests/repo/install-virt-manager.sh
bench: install guest
	@$(S)/bench.sh
test-bench: install guest
	@$(S)/bench.sh --smoke
deb:
	@$(S)/deb.sh
test-deb: guest
	@tests/deb/system-install.sh
system-image:
	@$(S)/system-image.sh
system-smoke:
	@tests/system/smoke.sh
test-system: guest
	@tests/system/test-system.sh

test-controls: install guest
	@tests/controls/run.sh

# make check sets CHECK_COUNTS_ARGS=--newer-than work/ci-started
check-counts:
	@$(S)/check-counts.sh $(CHECK_COUNTS_ARGS)

check-paths: build
	@$(S)/check-paths.sh

check-artefacts:
	@$(S)/check-artefacts.sh --self-test
	@$(S)/check-artefacts.sh

check:
	@$(S)/check.sh
	@cat work/helper/summary work/security-summary

demo: deps install guest
	@e2e/demo.sh

clean:
	rm -rf work/build work/bisect work/bisect-build work/prefix work/deb
	. $(S)/lib.sh && rm -rf "$$SHORT"
