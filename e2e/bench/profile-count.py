#!/usr/bin/python3
"""profile-count.py HELPER NFILES TRACE: the proxy requests per guest
operation in an strace -xx of a helper's reads (profile.sh), as TSV rows
"HELPER PHASE TYPE PER_OP", TYPE "all" for their sum.
profile-count.py --total TRACE: the number of requests in TRACE.
profile-count.py --table TSV [COST-TSV]: those rows as a table, one line
per phase, and with COST-TSV (profile.sh's perf stat of an untraced run,
whose requests are as many) the helper's CPU time, context switches and
CPU migrations per request.

The reads are joined into the byte stream QEMU sent, which is cut into
requests (a header of two 32-bit words, type and payload size, then the
payload). fsbench looks up DIR/.phase-NAME before each phase: a request
whose payload holds ".phase-NAME" starts phase NAME and is not counted."""

import collections
import re
import struct
import sys

TYPES = {2: "OPEN", 3: "CREATE", 4: "MKNOD", 5: "MKDIR", 6: "SYMLINK",
         7: "LINK", 8: "LSTAT", 9: "READLINK", 10: "STATFS", 11: "CHMOD",
         12: "CHOWN", 13: "TRUNCATE", 14: "UTIME", 15: "RENAME",
         16: "REMOVE", 17: "LGETXATTR", 18: "LLISTXATTR", 19: "LSETXATTR",
         20: "LREMOVEXATTR", 21: "GETVERSION"}
PHASES = ["create", "stat", "chmod", "chown", "rename", "walk", "unlink"]
CALL = re.compile(r'(?:\b(?:read|recvfrom)\(\d+, |<\.\.\. (?:read|recvfrom) resumed>)"((?:\\x[0-9a-f]{2})*)".* = (\d+)$')
MARK = re.compile(rb"\.phase-([a-z]+)")


def stream(path):
    data = bytearray()
    with open(path) as f:
        for line in f:
            m = CALL.search(line.rstrip("\n"))
            if not m:
                continue
            chunk = bytes.fromhex(m.group(1).replace("\\x", ""))
            data += chunk[:int(m.group(2))]
    return bytes(data)


def requests(path):
    """(type, payload) of every request in TRACE"""
    data = stream(path)
    pos = 0
    while pos + 8 <= len(data):
        rtype, size = struct.unpack_from("<II", data, pos)
        yield rtype, data[pos + 8:pos + 8 + size]
        pos += 8 + size


def count(helper, nfiles, path):
    counts = collections.defaultdict(collections.Counter)
    phase = None
    for rtype, payload in requests(path):
        mark = MARK.search(payload)
        if mark:
            phase = mark.group(1).decode()
            continue
        if phase in PHASES:
            counts[phase][TYPES.get(rtype, "TYPE%d" % rtype)] += 1
    missing = [p for p in PHASES if p not in counts]
    if missing:
        sys.exit("%s: no requests seen in phase(s) %s" % (path, " ".join(missing)))
    for p in PHASES:
        for t, n in sorted(counts[p].items()):
            print("%s\t%s\t%s\t%.2f" % (helper, p, t, n / nfiles))
        print("%s\t%s\tall\t%.2f" % (helper, p, sum(counts[p].values()) / nfiles))


def table(path, costpath=None):
    rows = collections.defaultdict(dict)
    with open(path) as f:
        next(f)
        for line in f:
            helper, phase, rtype, per_op = line.rstrip("\n").split("\t")
            rows[(helper, phase)][rtype] = float(per_op)
    helpers = sorted({h for h, _ in rows}, key=lambda h: h != "proxy")
    print("requests per guest operation (%s)" % ", ".join(helpers))
    for p in PHASES:
        cells = []
        for h in helpers:
            r = rows.get((h, p), {})
            parts = ", ".join("%s %.2f" % (t, n) for t, n in sorted(r.items()) if t != "all")
            cells.append("%s %.2f (%s)" % (h, r.get("all", 0), parts))
        print("%-7s %s" % (p, " | ".join(cells)))
    if costpath:
        print("the helper per request, untraced run (CPU time, context switches, CPU migrations)")
        with open(costpath) as f:
            next(f)
            for line in f:
                helper, n, ms, cs, mig = line.rstrip("\n").split("\t")
                n = int(n)
                print("%-10s %d requests: %.1f us CPU, %.2f context switches, %.3f migrations per request"
                      % (helper, n, float(ms) * 1000 / n, float(cs) / n, float(mig or 0) / n))


if __name__ == "__main__":
    if len(sys.argv) in (3, 4) and sys.argv[1] == "--table":
        table(*sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "--total":
        print(sum(1 for _ in requests(sys.argv[2])))
    elif len(sys.argv) == 4:
        count(sys.argv[1], int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(__doc__)
