#!/usr/bin/python3
"""Differential test of two 9p proxy helpers.

Sends the same request transcripts to QEMU 7.2's virtfs-proxy-helper and
to libvirt_virtfs_proxy_helper, each started as libvirt starts it
("HELPER -n -f FD -p EXPORT") on a fresh copy of the same export tree,
and compares the replies and the export trees afterwards.

Requests are encoded as QEMU 7.2's 9p-proxy.c encodes them, down to the
NUL that ends a path QEMU holds as a V9fsPath (OPEN, LSTAT, READLINK,
STATFS, CHMOD, CHOWN, TRUNCATE, UTIME, GETVERSION, the xattr requests and
LINK's existing file).

Replies are normalized before they are compared: inode and device numbers,
link counts of directories and timestamps of the last day differ between
two runs on two trees whatever the helper does; the generation number of
GETVERSION is compared as "success" only (QEMU's helper also sends 4 bytes
of its stack in the upper half, A25); an fd is compared by its type, size
and status flags. Every other byte must be equal.

A step where the helpers are known to differ names the reason (a QEMU bug
or a deliberate choice of ours) in KNOWN below, with the exact answer
ours must give: such a step is "known" when ours gives that answer and
QEMU's another one. It FAILS when ours gives anything else, and when
both answer alike (a known difference that disappeared must be looked
at: QEMU's helper changed, or ours now copies a bug). A known tree
difference lists the exact lines only ours has and patterns for those
only QEMU's has; any other line fails. Both helpers' exit statuses are
compared with EXITS (0 unless listed).

Usage (as root):
  proxydiff.py --ours PATH [--qemu /usr/lib/qemu/virtfs-proxy-helper]
               [--transcript NAME ...] [--verbose]
Exit status: 0 if every difference is a known one, 1 otherwise.
"""

import argparse
import array
import errno
import re
import hashlib
import os
import shutil
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time

T = dict(SUCCESS=0, ERROR=1, OPEN=2, CREATE=3, MKNOD=4, MKDIR=5, SYMLINK=6,
         LINK=7, LSTAT=8, READLINK=9, STATFS=10, CHMOD=11, CHOWN=12,
         TRUNCATE=13, UTIME=14, RENAME=15, REMOVE=16, LGETXATTR=17,
         LLISTXATTR=18, LSETXATTR=19, LREMOVEXATTR=20, GETVERSION=21)
TNAME = {v: k for k, v in T.items()}
FD_VALID = 0x7fffffff
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2


def s(val):
    if isinstance(val, str):
        val = val.encode()
    return struct.pack("=H", len(val)) + val


def p(val):
    """A path that QEMU has as a V9fsPath: 9p-proxy.c marshals it as a
    V9fsString, whose length then counts the terminating NUL."""
    if isinstance(val, str):
        val = val.encode()
    return s(val + b"\0")


def d(val):
    return struct.pack("=i", val) if val < 0 else struct.pack("=I", val)


def q(val):
    return struct.pack("=q", val) if val < 0 else struct.pack("=Q", val)


def msg(typ, payload, size=None):
    return struct.pack("=II", typ, len(payload) if size is None else size) + payload


# Requests as QEMU 7.2's hw/9pfs/9p-proxy.c marshals them
def OPEN(path, flags):
    return ("OPEN", msg(T["OPEN"], p(path) + d(flags)))


def CREATE(path, flags, mode, uid=0, gid=0):
    return ("CREATE", msg(T["CREATE"], s(path) + d(flags) + d(mode) + d(uid) + d(gid)))


def MKNOD(path, mode, rdev=0, uid=0, gid=0):
    return ("MKNOD", msg(T["MKNOD"], d(uid) + d(gid) + s(path) + d(mode) + q(rdev)))


def MKDIR(path, mode, uid=0, gid=0):
    return ("MKDIR", msg(T["MKDIR"], d(uid) + d(gid) + s(path) + d(mode)))


def SYMLINK(target, path, uid=0, gid=0):
    return ("SYMLINK", msg(T["SYMLINK"], d(uid) + d(gid) + s(target) + s(path)))


def LINK(old, new):
    return ("LINK", msg(T["LINK"], p(old) + s(new)))


def LSTAT(path):
    return ("LSTAT", msg(T["LSTAT"], p(path)))


def READLINK(path, size=4096):
    return ("READLINK", msg(T["READLINK"], p(path) + d(size)))


def STATFS(path):
    return ("STATFS", msg(T["STATFS"], p(path)))


def CHMOD(path, mode):
    return ("CHMOD", msg(T["CHMOD"], p(path) + d(mode)))


def CHOWN(path, uid, gid):
    return ("CHOWN", msg(T["CHOWN"], p(path) + d(uid) + d(gid)))


def TRUNCATE(path, size):
    return ("TRUNCATE", msg(T["TRUNCATE"], p(path) + q(size)))


def UTIME(path, asec, ansec, msec, mnsec):
    # what QEMU would send for these times (its client sends the mtime's
    # nanoseconds in the atime's place; we send what we are given)
    return ("UTIME", msg(T["UTIME"], p(path) + q(asec) + q(ansec) + q(msec) + q(mnsec)))


def RENAME(old, new):
    return ("RENAME", msg(T["RENAME"], s(old) + s(new)))


def REMOVE(path):
    return ("REMOVE", msg(T["REMOVE"], s(path)))


def LGETXATTR(path, name, size):
    return ("LGETXATTR", msg(T["LGETXATTR"], d(size) + p(path) + s(name)), size)


def LLISTXATTR(path, size):
    return ("LLISTXATTR", msg(T["LLISTXATTR"], d(size) + p(path)), size)


def LSETXATTR(path, name, value, size=None, flags=0):
    if size is None:
        size = len(value)
    return ("LSETXATTR", msg(T["LSETXATTR"], p(path) + s(name) + s(value) + d(size) + d(flags)))


def LREMOVEXATTR(path, name):
    return ("LREMOVEXATTR", msg(T["LREMOVEXATTR"], p(path) + s(name)))


def GETVERSION(path):
    return ("GETVERSION", msg(T["GETVERSION"], p(path)))


def RAW(name, data, kind):
    """bytes as they are; kind says how the reply is read"""
    return ("RAW:" + name, data, kind)


O_RDONLY, O_WRONLY, O_RDWR = os.O_RDONLY, os.O_WRONLY, os.O_RDWR


def seed_tree(root):
    """The export every transcript starts from"""
    os.makedirs(os.path.join(root, "dir/sub"))
    with open(os.path.join(root, "file"), "w") as f:
        f.write("hello\n")
    with open(os.path.join(root, "dir/inner"), "w") as f:
        f.write("inner\n")
    os.symlink("file", os.path.join(root, "link"))
    os.symlink("/", os.path.join(root, "rootlink"))
    os.symlink("../../../../../../etc", os.path.join(root, "escape"))
    os.mkfifo(os.path.join(root, "fifo"))
    os.mknod(os.path.join(root, "null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.setxattr(os.path.join(root, "file"), "user.seed", b"seed-value")
    for p in ("file", "dir", "dir/inner", "dir/sub"):
        os.utime(os.path.join(root, p), (1000000000, 1000000000))


def deep_path(depth, name="d"):
    return "//" + "/".join([name] * depth)


TRANSCRIPTS = {
    "probe": [STATFS("/"), STATFS("//dir"), LSTAT("/")],
    "lstat": [LSTAT("//file"), LSTAT("//dir"), LSTAT("//link"), LSTAT("//fifo"),
              LSTAT("//null"), LSTAT("//missing"), LSTAT("//file/x"), LSTAT("//dir/inner")],
    "open": [OPEN("//file", O_RDONLY), OPEN("//file", O_RDWR), OPEN("//dir", os.O_DIRECTORY),
             OPEN("//missing", O_RDONLY), OPEN("//dir", O_WRONLY), OPEN("/", os.O_DIRECTORY),
             OPEN("//file", O_RDONLY | os.O_TRUNC)],
    "create": [CREATE("//new", O_RDWR | os.O_CREAT | os.O_EXCL, 0o640),
               CREATE("//new", O_RDWR | os.O_CREAT | os.O_EXCL, 0o640),
               CREATE("//dir/new2", O_WRONLY | os.O_CREAT, 0o600, 1000, 1000),
               CREATE("//missing/x", O_RDWR | os.O_CREAT, 0o600),
               LSTAT("//new"), LSTAT("//dir/new2")],
    "mkdir-mknod-symlink": [MKDIR("//d1", 0o755), MKDIR("//d1", 0o755), MKDIR("//d1/d2", 0o700, 1000, 100),
                            MKNOD("//f1", stat.S_IFIFO | 0o644), MKNOD("//s1", stat.S_IFSOCK | 0o600, 0, 1000, 1000),
                            MKNOD("//c1", stat.S_IFCHR | 0o600, os.makedev(1, 3)),
                            MKNOD("//r1", stat.S_IFREG | 0o600),
                            SYMLINK("target", "//l1"), SYMLINK("/abs/target", "//l2", 1000, 1000),
                            SYMLINK("x", "//l1"),
                            LSTAT("//d1/d2"), LSTAT("//f1"), LSTAT("//s1"), LSTAT("//c1"), LSTAT("//l2")],
    "link-rename-remove": [LINK("//file", "//hard"), LINK("//file", "//hard"), LINK("//missing", "//x"),
                           LSTAT("//file"), RENAME("//hard", "//dir/moved"), RENAME("//nothere", "//x"),
                           REMOVE("//dir/moved"), REMOVE("//dir/sub"), REMOVE("//dir"), REMOVE("//missing"),
                           LINK("//link", "//hardlink"), LSTAT("//hardlink")],
    "readlink": [READLINK("//link"), READLINK("//rootlink"), READLINK("//file"), READLINK("//link", 3),
                 READLINK("//missing")],
    "chmod-chown-truncate-utime": [CHMOD("//file", 0o4755), CHMOD("//dir", 0o1777), CHMOD("//missing", 0o600),
                                   CHOWN("//file", 1234, 5678), CHOWN("//link", 4321, 8765),
                                   CHOWN("//file", 0xffffffff, 42),
                                   TRUNCATE("//file", 3), TRUNCATE("//dir", 0), TRUNCATE("//missing", 0),
                                   TRUNCATE("//link", 100),
                                   UTIME("//file", 1100000000, 5, 1200000000, 7),
                                   UTIME("//link", 1300000000, 0, 1300000000, 0),
                                   UTIME("//dir", 0, UTIME_OMIT, 1400000000, 0),
                                   LSTAT("//file"), LSTAT("//link"), LSTAT("//dir")],
    "xattr": [LGETXATTR("//file", "user.seed", 0), LGETXATTR("//file", "user.seed", 10),
              LGETXATTR("//file", "user.seed", 3), LGETXATTR("//file", "user.none", 0),
              LLISTXATTR("//file", 0), LLISTXATTR("//file", 100),
              LSETXATTR("//file", "user.new", b"abc"), LSETXATTR("//file", "user.new", b"abc", flags=1),
              LSETXATTR("//dir", "user.bin", b"a\0b"), LGETXATTR("//dir", "user.bin", 3),
              LREMOVEXATTR("//file", "user.new"), LREMOVEXATTR("//file", "user.new"),
              LSETXATTR("//link", "user.x", b"1"), LLISTXATTR("//link", 0)],
    "getversion": [GETVERSION("//file"), GETVERSION("//dir"), GETVERSION("//missing")],
    "deep": [MKDIR(deep_path(i), 0o755) for i in range(1, 31)] +
            [CREATE(deep_path(30) + "/f", O_RDWR | os.O_CREAT, 0o644), LSTAT(deep_path(30) + "/f")],
    "long-path": [MKDIR(deep_path(i, "n" * 200), 0o755) for i in range(1, 25)] +
                 [LSTAT(deep_path(24, "n" * 200))],
    "escape": [LSTAT("//escape/passwd"), OPEN("//rootlink/file", O_RDONLY), LSTAT("//../../etc/passwd"),
               CHMOD("//escape/passwd", 0o600), STATFS("//escape")],
    # ".." of the root is the root
    "dotdot": [LSTAT("//.."), CHMOD("//..", 0o751), UTIME("//dir/../..", 1000000000, 0, 1000000000, 0),
               CHOWN("/..", 42, 43), LSETXATTR("//..", "user.up", b"1"), LSTAT("/"), STATFS("//..")],
    # A34: guest root creates a file in a directory of another group
    # (set-group-ID), then chowns and mknods; then a user creates a file
    "a34-gid": [CREATE("//g", O_RDWR | os.O_CREAT | os.O_EXCL, 0o644, 0, 1234),
                CHOWN("//g", 1234, 5678), MKNOD("//c2", stat.S_IFCHR | 0o600, os.makedev(1, 3)),
                CHMOD("//g", 0o2755), CREATE("//u", O_RDWR | os.O_CREAT | os.O_EXCL, 0o600, 1000, 1000),
                LSTAT("//g"), LSTAT("//c2"), LSTAT("//u"), STATFS("/")],
    # QEMU's helper opens these as root: it blocks on the FIFO (A14) and
    # opens the device (A11). Both are refused by ours. Put them last.
    "special-files": [OPEN("//null", O_RDONLY), OPEN("//fifo", O_RDONLY)],
    # Requests a real QEMU never sends: lengths that lie, sizes out of range.
    "malformed-xattr-size": [LSETXATTR("//file", "user.big", b"abc", size=4000)],
    "malformed-negative": [LGETXATTR("//file", "user.seed", -5)],
    "malformed-readlink": [READLINK("//link", 0)],
    "malformed-string": [RAW("string-too-long", msg(T["LSTAT"], struct.pack("=H", 50) + b"//file"), "DATA"),
                         LSTAT("//file")],
    "malformed-trailing": [RAW("trailing", msg(T["LSTAT"], s("//file") + b"xyz"), "DATA"), LSTAT("//file")],
    "malformed-short": [RAW("short-number", msg(T["CHMOD"], s("//file") + b"\x01"), "STATUS"),
                        LSTAT("//file")],
    "malformed-unknown": [RAW("unknown-type", msg(99, b""), "STATUS")],
    "malformed-huge": [RAW("huge", struct.pack("=II", T["LSTAT"], 0x7fffffff), "DATA")],
}

# (transcript, step index) -> (ours, why): the answer ours must give
# (exact, or "re:" and a regular expression that must match all of it),
# and why QEMU's differs
STATFS_RE = r"re:statfs\(type=[0-9a-f]+ bsize=[0-9]+ namelen=255 frsize=[0-9]+ fsid1=[0-9]+\)"
ENAMETOOLONG_WHY = ("QEMU's helper gets ENAMETOOLONG from the kernel for a path of PATH_MAX bytes "
                    "or more; ours walks it in pieces")
KNOWN = {
    ("special-files", 1): ("errno ENXIO", "A14: QEMU's helper blocks in open() of the FIFO for good; ours answers ENXIO at once"),
    ("malformed-xattr-size", 0): ("ERROR errno EINVAL", "A24: QEMU's helper trusts LSETXATTR's size and stores 4000 bytes of its heap"),
    ("malformed-negative", 0): ("ERROR errno EINVAL", "A33: QEMU's helper aborts in g_malloc(-5)"),
    ("malformed-string", 0): ("ERROR errno EINVAL", "QEMU's helper answers ENOBUFS to a string that runs past the payload"),
    ("malformed-short", 0): ("ERROR errno EINVAL", "QEMU's helper answers ENOBUFS to a number that runs past the payload"),
    ("malformed-trailing", 0): ("ERROR errno EINVAL", "QEMU's helper ignores bytes after the fields (QEMU's client never sends any)"),
    ("a34-gid", 1): ("SUCCESS 0", "A34: QEMU's helper lost CAP_CHOWN after creating with gid 1234 (its effective set is CAP_DAC_OVERRIDE only)"),
    ("a34-gid", 2): ("SUCCESS 0", "A34: same, CAP_MKNOD lost"),
    ("a34-gid", 4): ("fd(type=100000 size=0 flags=100002)", "A34: the next create by a non-root user aborts QEMU's helper (its threads disagree in setresuid)"),
    ("a34-gid", 5): ("stat(mode=102755 nlink=1 uid=1234 gid=5678 rdev=0 size=0 atime=recent mtime=recent)", "A34: QEMU's helper is gone"),
    ("a34-gid", 6): ("stat(mode=20600 nlink=1 uid=0 gid=0 rdev=103 size=0 atime=recent mtime=recent)", "A34: QEMU's helper is gone"),
    ("a34-gid", 7): ("stat(mode=100600 nlink=1 uid=1000 gid=1000 rdev=0 size=0 atime=recent mtime=recent)", "A34: QEMU's helper is gone"),
    ("a34-gid", 8): (STATFS_RE, "A34: QEMU's helper is gone"),
}
for _i in range(20, 24):
    KNOWN[("long-path", _i)] = ("SUCCESS 0", ENAMETOOLONG_WHY)
KNOWN[("long-path", 24)] = ("stat(mode=40755 nlink=dir uid=0 gid=0 rdev=0 size=4096 atime=recent mtime=recent)",
                            ENAMETOOLONG_WHY)

# transcript -> (lines only ours has, exactly; patterns of the lines only
# QEMU's has, each matching one line; why)
KNOWN_TREE = {
    "malformed-xattr-size": (["file 100644 0:0 f572d396fae9 xattrs=user.seed=b'seed-value'"],
                             [r"file 100644 0:0 f572d396fae9 xattrs=user\.big=b'abc.*',user\.seed=b'seed-value'"],
                             "A24: the heap bytes QEMU's helper stored as the value"),
    "long-path": (["nnnnnnnnnnnnnnnnnnnn...(%d) 40755 0:0 xattrs=" % n for n in (4220, 4421, 4622, 4823)], [],
                  "QEMU's helper cannot reach paths of PATH_MAX bytes or more; ours walks them"),
    "a34-gid": (["c2 20600 0:0 dev=103", "g 102755 1234:5678 da39a3ee5e6b xattrs=",
                 "u 100600 1000:1000 da39a3ee5e6b xattrs="],
                [r"g 100755 0:1234 da39a3ee5e6b xattrs="],
                "A34: what QEMU's helper could not do"),
}

# transcript -> (QEMU's exit status, ours); both 0 if not listed
# (negative: killed by that signal)
EXITS = {
    "a34-gid": (-6, 0),                 # GLib aborts QEMU's helper (A34)
    "special-files": (-9, 0),           # QEMU's, blocked in open(), killed by us
    "malformed-negative": (-5, 0),      # g_malloc(-5): SIGTRAP (A33)
    "malformed-unknown": (0, 1),        # ours ends a connection it cannot frame with status 1
    "malformed-huge": (0, 1),
}


def answer_is(expected, got):
    if expected.startswith("re:"):
        return re.fullmatch(expected[3:], got) is not None
    return got == expected


def reply_kind(req):
    name = req[0]
    if name.startswith("RAW:"):
        return req[2]
    if name in ("OPEN", "CREATE"):
        return "FD"
    if name in ("LSTAT", "READLINK", "STATFS", "GETVERSION"):
        return "DATA"
    if name in ("LGETXATTR", "LLISTXATTR"):
        return "STATUS" if req[2] == 0 else "DATA"
    return "STATUS"


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def errname(e):
    return errno.errorcode.get(e, str(e))


def norm_stat(payload, now):
    f = struct.unpack("=QQQIIIQQQQQQQQQQ", payload)
    (dev, ino, nlink, mode, uid, gid, rdev, size, blksize, blocks,
     asec, ansec, msec, mnsec, csec, cnsec) = f

    def t(sec, nsec):
        return "recent" if abs(sec - now) < 86400 else "%d.%09d" % (sec, nsec)
    return "stat(mode=%o nlink=%s uid=%d gid=%d rdev=%x size=%d atime=%s mtime=%s)" % (
        mode, nlink if not stat.S_ISDIR(mode) else "dir", uid, gid, rdev, size,
        t(asec, ansec), t(msec, mnsec))


def norm_reply(name, kind, sock, now):
    if kind == "FD":
        fds = array.array("i")
        data, anc, flags, addr = sock.recvmsg(4, socket.CMSG_SPACE(4))
        if len(data) == 0:
            raise EOFError
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds.frombytes(cdata[:len(cdata) - (len(cdata) % fds.itemsize)])
        word = struct.unpack("=i", data)[0]
        if word == FD_VALID and fds:
            st = os.fstat(fds[0])
            fl = __import__("fcntl").fcntl(fds[0], __import__("fcntl").F_GETFL)
            for fd in fds:
                os.close(fd)
            return "fd(type=%o size=%d flags=%o)" % (stat.S_IFMT(st.st_mode), st.st_size,
                                                    fl & ~os.O_LARGEFILE)
        return "errno %s" % errname(-word) if word < 0 else "word %d" % word
    hdr = recv_exact(sock, 8)
    typ, size = struct.unpack("=II", hdr)
    if size > 65536:
        return "reply of %d bytes" % size
    payload = recv_exact(sock, size)
    if kind == "STATUS" or typ == T["ERROR"]:
        if size != 4:
            return "status of %d bytes" % size
        st = struct.unpack("=i", payload)[0]
        return "%s %s" % ("ERROR" if typ == T["ERROR"] else "SUCCESS",
                          ("errno " + errname(-st)) if st < 0 else st)
    base = name.split(":")[-1]
    if base == "LSTAT" or (name.startswith("RAW") and size == 116):
        return norm_stat(payload, now)
    if base == "STATFS":
        f = struct.unpack("=11Q", payload)
        return "statfs(type=%x bsize=%d namelen=%d frsize=%d fsid1=%d)" % (f[0], f[1], f[9], f[10], f[8])
    if base == "GETVERSION":
        return "version(%d bytes)" % len(payload)
    if base in ("READLINK", "LGETXATTR", "LLISTXATTR"):
        (slen,) = struct.unpack("=H", payload[:2])
        return "string(%r)" % payload[2:2 + slen]
    return "data(%s)" % payload.hex()


def tree_listing(root):
    """path, type, mode, owner, contents or target, xattrs of every file"""
    out = []
    for dirpath, dirnames, filenames, dirfd in os.fwalk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            st = os.lstat(name, dir_fd=dirfd)
            rel = os.path.relpath(os.path.join(dirpath, name), root)
            if len(rel) > 60:
                rel = rel[:20] + "...(%d)" % len(rel)
            line = "%s %o %d:%d" % (rel, st.st_mode, st.st_uid, st.st_gid)
            fd = -1
            if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dirfd)
            if stat.S_ISREG(st.st_mode):
                line += " " + hashlib.sha1(os.read(fd, 1 << 20)).hexdigest()[:12]
            elif stat.S_ISLNK(st.st_mode):
                line += " -> " + os.readlink(name, dir_fd=dirfd)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                line += " dev=%x" % st.st_rdev
            if fd >= 0:
                xs = sorted(os.listxattr(fd))
                line += " xattrs=" + ",".join("%s=%r" % (x, os.getxattr(fd, x)) for x in xs)
                os.close(fd)
            out.append(line)
    return out


def run_transcript(helper, steps, workdir, timeout=3.0):
    export = os.path.join(workdir, "export")
    if os.path.exists(workdir):
        shutil.rmtree(workdir)
    os.makedirs(export)
    seed_tree(export)
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen([helper, "-n", "-f", str(theirs.fileno()), "-p", export],
                            pass_fds=[theirs.fileno()], stderr=subprocess.PIPE)
    theirs.close()
    ours.settimeout(timeout)
    now = time.time()
    results = []
    for req in steps:
        name, data = req[0], req[1]
        try:
            ours.sendall(data)
            results.append(norm_reply(name, reply_kind(req), ours, now))
        except EOFError:
            results.append("EOF (helper closed the connection)")
            break
        except socket.timeout:
            results.append("TIMEOUT (no reply in %.0f s)" % timeout)
            break
        except (BrokenPipeError, ConnectionResetError):
            results.append("EOF (helper gone)")
            break
    ours.close()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    err = proc.stderr.read().decode(errors="replace")
    tree = tree_listing(export)
    shutil.rmtree(workdir)
    return results, proc.returncode, err, tree


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True)
    ap.add_argument("--qemu", default="/usr/lib/qemu/virtfs-proxy-helper")
    ap.add_argument("--transcript", action="append")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    if os.geteuid() != 0:
        print("SKIP: proxydiff needs root (both helpers chroot or pivot)")
        return 77

    names = args.transcript or list(TRANSCRIPTS)
    base = tempfile.mkdtemp(prefix="proxydiff.")
    unknown = 0
    counts = dict(equal=0, known=0, differ=0)
    for name in names:
        steps = TRANSCRIPTS[name]
        rq, qrc, qerr, qtree = run_transcript(args.qemu, steps, os.path.join(base, "q"))
        ro, orc, oerr, otree = run_transcript(args.ours, steps, os.path.join(base, "o"))
        for i, req in enumerate(steps):
            a = rq[i] if i < len(rq) else "(not sent)"
            b = ro[i] if i < len(ro) else "(not sent)"
            known = KNOWN.get((name, i))
            why = known[1] if known else None
            if not known:
                state = "equal" if a == b else "DIFFER"
            elif a == b:
                state = "GONE"          # the known difference disappeared
            elif not answer_is(known[0], b):
                state = "WRONG"         # ours does not give the answer named
            else:
                state = "known"
            counts[{"DIFFER": "differ", "GONE": "differ", "WRONG": "differ"}.get(state, state)] += 1
            if state in ("DIFFER", "GONE", "WRONG"):
                unknown += 1
            if args.verbose or state != "equal":
                print("%-8s %s[%d] %s" % (state, name, i, req[0]))
                if a != b or args.verbose or state == "GONE":
                    print("           qemu: %s" % a)
                    print("           ours: %s" % b)
                if state == "WRONG":
                    print("           ours should be: %s" % known[0])
                if state == "GONE":
                    print("           both answer alike: a known difference disappeared, look (QEMU changed, or ours copies its bug)")
                if why:
                    print("           why:  %s" % why)
        qt = set(qtree)
        ot = set(otree)
        qonly, oonly = sorted(qt - ot), sorted(ot - qt)
        if name in KNOWN_TREE:
            want_ours, want_qemu, why = KNOWN_TREE[name]
            left = list(qonly)
            unmatched = []
            for pat in want_qemu:
                hit = [line for line in left if re.fullmatch(pat, line)]
                if len(hit) == 1:
                    left.remove(hit[0])
                else:
                    unmatched.append(pat)
            tree_ok = oonly == sorted(want_ours) and not left and not unmatched
            print("%-8s %s: export trees differ%s" % ("known" if tree_ok else "WRONG", name,
                                                    "" if tree_ok else " otherwise than listed"))
            for line in qonly:
                print("           qemu only: %s" % line[:160])
            for line in oonly:
                print("           ours only: %s" % line[:160])
            if not tree_ok:
                print("           listed: ours only %s; qemu only %s" % (sorted(want_ours), want_qemu))
                unknown += 1
            print("           why:  %s" % why)
        elif qt != ot:
            print("DIFFER   %s: export trees differ" % name)
            for line in qonly:
                print("           qemu only: %s" % line[:160])
            for line in oonly:
                print("           ours only: %s" % line[:160])
            unknown += 1
        want_rc = EXITS.get(name, (0, 0))
        if (qrc, orc) != want_rc:
            print("WRONG    %s: exit status qemu %s, ours %s; expected qemu %s, ours %s" %
                  (name, qrc, orc, want_rc[0], want_rc[1]))
            unknown += 1
        if args.verbose:
            print("   %s: qemu exit %s, ours exit %s" % (name, qrc, orc))
            print("   ours log: %s" % oerr.strip().replace("\n", " | "))
    shutil.rmtree(base, ignore_errors=True)
    print("proxydiff: %d transcripts, %d steps: %d equal, %d known differences, "
          "%d unexplained differences" %
          (len(names), sum(counts.values()), counts["equal"], counts["known"], unknown))
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main())
