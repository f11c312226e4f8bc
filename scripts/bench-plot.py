#!/usr/bin/python3
"""bench-plot.py RUNDIR [OUT.png] - the picture of a scripts/bench.sh run.

Left: each workload's median rate relative to local passthrough (root QEMU),
one bar per configuration, whiskers from the minimum to the maximum repeat.
Right (when RUNDIR/startup.tsv exists): how long `virsh start` takes, over the
number of shares in one domain (proxy: one helper each; mapped: none).
Reads RUNDIR/summary.tsv (e2e/bench/summarize.sh); needs python3-matplotlib.
"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

WORKLOADS = ["create", "stat", "chmod", "chown", "rename", "walk", "unlink",
             "seqwrite", "seqread", "randread"]
CONFIGS = [("proxy", "proxy, libvirt's helper (QEMU unprivileged)", "#d62728"),
           ("proxy-qemu", "proxy, QEMU's helper (QEMU unprivileged)", "#ff7f0e"),
           ("local", "local passthrough (QEMU root)", "#1f77b4"),
           ("mapped", "local mapped (QEMU unprivileged)", "#2ca02c"),
           ("virtiofs", "virtiofs (virtiofsd root)", "#9467bd")]
BASE = "local"


def read_tsv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    run = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) == 3 else os.path.join(run, "bench-proxy-vs-local.png")
    stats = {(r["workload"], r["config"]): r for r in read_tsv(os.path.join(run, "summary.tsv"))}
    configs = [c for c in CONFIGS if any(k[1] == c[0] for k in stats)]
    workloads = [w for w in WORKLOADS if (w, BASE) in stats]
    if not workloads:
        sys.exit(f"bench-plot: no {BASE} results in {run}: the plot is relative to them")
    startup = os.path.join(run, "startup.tsv")
    has_startup = os.path.exists(startup)

    fig, axes = plt.subplots(1, 2 if has_startup else 1, figsize=(15 if has_startup else 10, 5),
                             gridspec_kw={"width_ratios": [3, 1]} if has_startup else None)
    ax = axes[0] if has_startup else axes
    width = 0.8 / len(configs)
    for i, (key, label, colour) in enumerate(configs):
        xs, ys, lo, hi = [], [], [], []
        for j, w in enumerate(workloads):
            s = stats.get((w, key))
            if not s:
                continue
            base = float(stats[(w, BASE)]["median"])
            med = float(s["median"]) / base
            xs.append(j + (i - (len(configs) - 1) / 2) * width)
            ys.append(med)
            lo.append(med - float(s["min"]) / base)
            hi.append(float(s["max"]) / base - med)
        n = max((int(stats[(w, key)]["n"]) for w in workloads if (w, key) in stats),
                default=0)
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, color=colour,
               label=f"{label}, n={n}")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels([f"{w}\n({stats[(w, BASE)]['unit']})" for w in workloads], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel(f"median rate / {BASE} passthrough median (log)")
    ax.set_title("Guest throughput relative to local passthrough (whiskers: min-max)")
    ax.legend(fontsize=8)

    if has_startup:
        ax2 = axes[1]
        rows = read_tsv(startup)
        for kind, colour in (("proxy", "#d62728"), ("mapped", "#2ca02c")):
            pts = [(int(r["nshares"]), int(r["virsh_start_ms"])) for r in rows if r["kind"] == kind]
            if pts:
                ax2.scatter(*zip(*pts), color=colour, s=14,
                            label=f"{kind} shares" + (" (a helper each)" if kind == "proxy" else ""))
        ax2.set_ylim(bottom=0)
        ax2.set_xlabel("shares in one domain")
        ax2.set_ylabel("virsh start duration (ms)")
        ax2.set_title("Start-up cost")
        ax2.legend(fontsize=8)

    env = ""
    env_path = os.path.join(run, "env.txt")
    if os.path.exists(env_path):
        lines = dict(l.split(":", 1) for l in open(env_path).read().splitlines() if ":" in l)
        env = " | ".join(lines[k].strip() for k in ("accel", "host cpus", "qemu", "loadavg") if k in lines)
    fig.suptitle(f"9p proxy vs local shares, {os.path.basename(os.path.realpath(run))}\n{env}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"bench-plot: wrote {out}")


if __name__ == "__main__":
    main()
