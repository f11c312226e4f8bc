/*
 * probe - guest-side checks for the libvirt 9p proxy filesystem e2e tests.
 *
 * Built with `gcc -static -O2 -Wall -Werror` by build-guest.sh and put in the
 * guest's initramfs as /probe, where init runs it as guest root against a
 * mounted 9p share.  The same binary also runs on the host, where its
 * generator modes give the verifier the expected content of the big file.
 *
 * Usage:
 *   probe semantics DIR          create the fixed layout under DIR/sem
 *   probe readonly DIR           every write-type call must fail with EROFS
 *                                (DIR must hold a regular file named `seed`)
 *   probe contrast DIR           write, chown, mknod, symlink: just report
 *   probe io DIR [MAX [SECS]]    write+fsync files until an error, MAX files
 *                                (default 100000) or SECS seconds (default 60)
 *   probe stream DIR [MAX [SECS]]  the same with a new file of its own
 *                                content each time, reported with its SHA-256
 *   probe rootgid DIR            reproducer of a virtfs-proxy-helper bug: a
 *                                create by uid 0 with a gid other than 0 makes
 *                                later chown/mknod fail (run it last, alone)
 *   probe sgid DIR               a set-group-ID directory of another group:
 *                                root creates, chowns and mknods in it, then
 *                                a user creates (all must work)
 *   probe longpath DIR           a file 4000 bytes below DIR: create, write,
 *                                read, stat, chmod, rename, remove
 *   probe idmap DIR              guest root on a share whose ids the helper
 *                                maps (DIR must hold `hostroot`, a file of an
 *                                unmapped host owner): what the guest sees
 *                                and may do
 *   probe whoami                 print PROBE-WHOAMI <uid> <euid> (run on the
 *                                host from a set-user-ID copy)
 *   probe gen-data [BYTES]       the deterministic stream, to stdout
 *   probe gen-checksum [BYTES]   its SHA-256, in hex
 *   probe selftest               check the built-in SHA-256
 *
 * Output, on stdout, one line per operation (see README.md):
 *   PROBE <op> <path> ok [<detail>]
 *   PROBE <op> <path> FAIL <reason>
 * <reason> is an errno name (EPERM, EROFS, ...), MISMATCH (the call worked
 * but the value read back is wrong) or SUCCEEDED (a call that had to fail
 * did not).  Lines starting with PROBE-NOTE are free-form explanations,
 * PROBE-IO and PROBE-STREAM lines are progress of the io and stream scenarios.  Every scenario ends with
 *   PROBE-SUMMARY <n-ok> ok <n-fail> fail
 * Exit status: 0 when nothing failed, 1 when something did, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>

/* ------------------------------------------------------------------ */
/* Reporting                                                           */
/* ------------------------------------------------------------------ */

static unsigned long n_ok, n_fail;

static const char *errname(int err)
{
    static char buf[32];
    const char *name = strerrorname_np(err);

    if (name)
        return name;
    snprintf(buf, sizeof(buf), "E%d", err);
    return buf;
}

static void report_ok(const char *op, const char *path, const char *detail)
{
    n_ok++;
    printf("PROBE %s %s ok%s%s\n", op, path, detail ? " " : "",
           detail ? detail : "");
}

static void report_fail(const char *op, const char *path, const char *reason)
{
    n_fail++;
    printf("PROBE %s %s FAIL %s\n", op, path, reason);
}

/* A call that must succeed; rc < 0 means it failed and errno says why. */
static int expect_ok(const char *op, const char *path, int rc)
{
    if (rc < 0) {
        report_fail(op, path, errname(errno));
        return -1;
    }
    report_ok(op, path, NULL);
    return 0;
}

/* A call that must fail with errno `want`. */
static void expect_errno(const char *op, const char *path, int rc, int want)
{
    if (rc >= 0)
        report_fail(op, path, "SUCCEEDED");
    else if (errno == want)
        report_ok(op, path, errname(errno));
    else
        report_fail(op, path, errname(errno));
}

static int summary(void)
{
    printf("PROBE-SUMMARY %lu ok %lu fail\n", n_ok, n_fail);
    return n_fail ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* Paths: DIR/name in one of a few rotating buffers, so that a call    */
/* can use two joined paths at once (rename, link).  A path kept       */
/* across other at() calls must be copied (see keep()).                */
/* ------------------------------------------------------------------ */

static const char *base_dir;

static const char *at(const char *name)
{
    static char bufs[4][PATH_MAX];
    static unsigned next;
    char *buf = bufs[next++ % 4];

    snprintf(buf, PATH_MAX, "%s/%s", base_dir, name);
    return buf;
}

/* DIR/name into the caller's buffer, for paths used over many calls. */
static const char *keep(char buf[PATH_MAX], const char *name)
{
    snprintf(buf, PATH_MAX, "%s/%s", base_dir, name);
    return buf;
}

/* ------------------------------------------------------------------ */
/* SHA-256 (FIPS 180-4), small and unoptimised                         */
/* ------------------------------------------------------------------ */

struct sha256 {
    uint32_t h[8];
    uint64_t bytes;
    uint8_t block[64];
    size_t fill;
};

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void sha256_init(struct sha256 *c)
{
    static const uint32_t h0[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };

    memcpy(c->h, h0, sizeof(h0));
    c->bytes = 0;
    c->fill = 0;
}

static void sha256_block(struct sha256 *c, const uint8_t *p)
{
    uint32_t w[64], v[8], t1, t2;
    int i;

    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (i = 16; i < 64; i++) {
        uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }

    memcpy(v, c->h, sizeof(v));    /* v = a b c d e f g h */
    for (i = 0; i < 64; i++) {
        t1 = v[7] + (ror32(v[4], 6) ^ ror32(v[4], 11) ^ ror32(v[4], 25)) +
             ((v[4] & v[5]) ^ (~v[4] & v[6])) + sha256_k[i] + w[i];
        t2 = (ror32(v[0], 2) ^ ror32(v[0], 13) ^ ror32(v[0], 22)) +
             ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof(v[0]));
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (i = 0; i < 8; i++)
        c->h[i] += v[i];
}

static void sha256_update(struct sha256 *c, const void *data, size_t len)
{
    const uint8_t *p = data;

    c->bytes += len;
    while (len) {
        size_t n = 64 - c->fill;

        if (n > len)
            n = len;
        memcpy(c->block + c->fill, p, n);
        c->fill += n;
        p += n;
        len -= n;
        if (c->fill == 64) {
            sha256_block(c, c->block);
            c->fill = 0;
        }
    }
}

/* Finish and write the digest as 64 lower-case hex digits plus NUL. */
static void sha256_hex(struct sha256 *c, char out[65])
{
    uint64_t bits = c->bytes * 8;
    uint8_t pad[72] = { 0x80 };
    size_t padlen = (c->fill < 56 ? 56 : 120) - c->fill;
    int i;

    for (i = 0; i < 8; i++)
        pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(c, pad, padlen + 8);
    for (i = 0; i < 8; i++)
        snprintf(out + 8 * i, 9, "%08x", c->h[i]);
}

/* ------------------------------------------------------------------ */
/* Deterministic data: xorshift64* (shifts 12, 25, 27; multiplier      */
/* 0x2545F4914F6CDD1D), seeded with GEN_SEED.  The stream is the       */
/* outputs as little-endian 64-bit words, cut to the wanted length.    */
/* ------------------------------------------------------------------ */

#define GEN_SEED  0x70726f7879667321ULL   /* "proxyfs!" */
#define BIG_SIZE  (8u << 20)              /* the semantics big file: 8 MiB */
#define CHUNK     (64u << 10)             /* I/O size; a multiple of 8 */

struct gen {
    uint64_t s;
};

static void gen_fill(struct gen *g, uint8_t *buf, size_t len)
{
    size_t i, j;

    for (i = 0; i < len; i += 8) {
        uint64_t x;

        g->s ^= g->s >> 12;
        g->s ^= g->s << 25;
        g->s ^= g->s >> 27;
        x = g->s * 0x2545F4914F6CDD1DULL;
        for (j = 0; j < 8 && i + j < len; j++)
            buf[i + j] = (uint8_t)(x >> (8 * j));
    }
}

/* ------------------------------------------------------------------ */
/* Small file helpers                                                  */
/* ------------------------------------------------------------------ */

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read up to len bytes; returns the count read (short only at EOF) or -1. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;

    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/*
 * Write `content` to `fd` and close it; on 9p the close can fail too.
 * Returns 0, or -1 with errno of the first failure (fd is closed either way).
 */
static int write_and_close(int fd, const char *content)
{
    if (write_all(fd, content, strlen(content)) < 0) {
        int err = errno;

        close(fd);
        errno = err;
        return -1;
    }
    return close(fd);
}

/*
 * Create `name` (O_EXCL) with `mode` and write `content` to it, reporting
 * op "create" and op "write" (the latter includes close, which on 9p can
 * fail too).
 */
static int make_file(const char *name, mode_t mode, const char *content)
{
    const char *path = at(name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    int rc;

    if (expect_ok("create", path, fd) < 0)
        return -1;
    rc = write_and_close(fd, content);
    return expect_ok("write", path, rc);
}

/* Read `name` and compare it with `want` (op "read"). */
static void check_content(const char *name, const char *want)
{
    const char *path = at(name);
    char buf[256];
    ssize_t n = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        n = read_full(fd, buf, sizeof(buf));
        close(fd);
    }
    if (n < 0)
        report_fail("read", path, errname(errno));
    else if ((size_t)n != strlen(want) || memcmp(buf, want, (size_t)n) != 0)
        report_fail("read", path, "MISMATCH");
    else
        report_ok("read", path, NULL);
}

static void do_chown(const char *name, uid_t uid, gid_t gid)
{
    const char *path = at(name);
    char detail[64];

    snprintf(detail, sizeof(detail), "%u:%u", (unsigned)uid, (unsigned)gid);
    if (lchown(path, uid, gid) < 0)
        report_fail("chown", path, errname(errno));
    else
        report_ok("chown", path, detail);
}

static void do_chmod(const char *name, mode_t mode)
{
    const char *path = at(name);
    char detail[16];

    snprintf(detail, sizeof(detail), "%04o", (unsigned)mode);
    if (chmod(path, mode) < 0)
        report_fail("chmod", path, errname(errno));
    else
        report_ok("chmod", path, detail);
}

/* setxattr then getxattr it back (ops "setxattr", "getxattr"). */
static void do_xattr(const char *name, const char *key, const char *value)
{
    const char *path = at(name);
    char buf[256];
    ssize_t n;

    if (expect_ok("setxattr", path, setxattr(path, key, value, strlen(value), 0)) < 0)
        return;
    n = getxattr(path, key, buf, sizeof(buf));
    if (n < 0)
        report_fail("getxattr", path, errname(errno));
    else if ((size_t)n != strlen(value) || memcmp(buf, value, (size_t)n) != 0)
        report_fail("getxattr", path, "MISMATCH");
    else
        report_ok("getxattr", path, key);
}

/* Does the NUL-separated list from listxattr() hold `key`? */
static int xattr_listed(const char *list, ssize_t len, const char *key)
{
    ssize_t i = 0;

    while (i < len) {
        if (strcmp(list + i, key) == 0)
            return 1;
        i += (ssize_t)strlen(list + i) + 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* semantics                                                           */
/* ------------------------------------------------------------------ */

/*
 * The layout the semantics scenario leaves under DIR/sem.  check-semantics.sh
 * on the host holds the same table; keep them in step (and README.md).
 */
struct expect {
    const char *name;          /* relative to DIR; "sem" is the top */
    mode_t type;
    mode_t perm;               /* including setuid/setgid/sticky */
    uid_t uid;
    gid_t gid;
};

static const struct expect sem_layout[] = {
    { "sem",                      S_IFDIR,  0755,     0,     0 },
    { "sem/file",                 S_IFREG,  0640,  1234,  5678 },
    { "sem/hardlink",             S_IFREG,  0640,  1234,  5678 },
    { "sem/symlink",              S_IFLNK,  0777,  4321,  8765 },
    { "sem/dir",                  S_IFDIR,  0750,  4321,  8765 },
    { "sem/dir/nested",           S_IFREG,  0600, 65534, 65534 },
    { "sem/setgid-dir",           S_IFDIR, 02775,  1234,  5678 },
    { "sem/setgid-dir/inherited", S_IFREG,  0644,  1234,  5678 },
    { "sem/sticky-dir",           S_IFDIR, 01777,     0,     0 },
    { "sem/sticky-dir/user-file", S_IFREG,  0644,  4321,  8765 },
    { "sem/setuid-file",          S_IFREG, 04755,  4321,  8765 },
    { "sem/chown-back",           S_IFREG,  0644,     0,     0 },
    { "sem/fifo",                 S_IFIFO,  0620,  1234,  5678 },
    { "sem/chardev",              S_IFCHR,  0600,     0,     0 },
    { "sem/renamed",              S_IFREG,  0644,     0,     0 },
    { "sem/renamed-dir",          S_IFDIR,  0755,     0,     0 },
    { "sem/truncated",            S_IFREG,  0644,     0,     0 },
    { "sem/big",                  S_IFREG,  0644,     0,     0 },
};

static const char *const sem_absent[] = {
    "sem/rename-src", "sem/rename-dir-src", "sem/unlinked", "sem/rmdir-me",
};

#define FILE_TEXT     "proxyfs semantics: file\n"
#define NESTED_TEXT   "proxyfs semantics: nested\n"
#define RENAMED_TEXT  "proxyfs semantics: renamed\n"
#define USER_TEXT     "proxyfs semantics: user-file\n"
#define FIXED_MTIME   1234567890
#define XATTR_FILE_K  "user.proxyfs.file"
#define XATTR_FILE_V  "file-xattr-value"
#define XATTR_DIR_K   "user.proxyfs.dir"
#define XATTR_DIR_V   "dir-xattr-value"
#define XATTR_GONE_K  "user.proxyfs.gone"

/*
 * Act as another user for filesystem calls: the guest kernel checks
 * permissions with these ids and the 9p client sends them with creating
 * requests.  as_root() switches back.  Returns 0 when the switch took.
 */
static int as_user(uid_t uid, gid_t gid)
{
    setfsgid(gid);
    setfsuid(uid);
    /* An invalid id changes nothing and returns the current one. */
    if ((uid_t)setfsuid((uid_t)-1) != uid || (gid_t)setfsgid((gid_t)-1) != gid) {
        printf("PROBE-NOTE cannot switch to fsuid %u fsgid %u\n",
               (unsigned)uid, (unsigned)gid);
        return -1;
    }
    return 0;
}

static void as_root(void)
{
    setfsuid(0);
    setfsgid(0);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

/* Write BIG_SIZE bytes of the stream to `name`, fsync, reopen, compare. */
static void big_file(const char *name)
{
    static uint8_t want[CHUNK], got[CHUNK];
    const char *path = at(name);
    struct sha256 wsum, rsum;
    char whex[65], rhex[65], detail[80];
    struct gen g = { GEN_SEED };
    size_t done;
    int fd, mismatch = 0;
    ssize_t n;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (expect_ok("create", path, fd) < 0)
        return;
    sha256_init(&wsum);
    for (done = 0; done < BIG_SIZE; done += CHUNK) {
        gen_fill(&g, want, CHUNK);
        sha256_update(&wsum, want, CHUNK);
        if (write_all(fd, want, CHUNK) < 0)
            break;
    }
    if (done < BIG_SIZE) {
        report_fail("write", path, errname(errno));
        close(fd);
        return;
    }
    report_ok("write", path, "8388608");
    expect_ok("fsync", path, fsync(fd));
    if (expect_ok("close", path, close(fd)) < 0)
        return;
    sha256_hex(&wsum, whex);

    /* Read it back through a new open and compare byte for byte. */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (expect_ok("reopen", path, fd) < 0)
        return;
    g.s = GEN_SEED;
    sha256_init(&rsum);
    for (done = 0; done < BIG_SIZE; done += CHUNK) {
        n = read_full(fd, got, CHUNK);
        if (n < 0)
            break;
        sha256_update(&rsum, got, (size_t)n);
        gen_fill(&g, want, CHUNK);
        if ((size_t)n != CHUNK || memcmp(want, got, CHUNK) != 0) {
            mismatch = 1;
            break;
        }
    }
    if (!mismatch && done == BIG_SIZE && read_full(fd, got, 1) != 0)
        mismatch = 1;              /* longer than written */
    if (done < BIG_SIZE && !mismatch) {
        report_fail("readback", path, errname(errno));
        close(fd);
        return;
    }
    close(fd);
    sha256_hex(&rsum, rhex);
    if (mismatch || strcmp(whex, rhex) != 0) {
        printf("PROBE-NOTE %s differs in the %u-byte chunk at offset %zu\n",
               path, CHUNK, done);
        report_fail("readback", path, "MISMATCH");
        return;
    }
    snprintf(detail, sizeof(detail), "sha256=%s", rhex);
    report_ok("readback", path, detail);
}

/* Compare what the guest sees of the layout with the table (op "verify"). */
static void verify_layout(void)
{
    size_t i;
    struct stat st;

    for (i = 0; i < sizeof(sem_layout) / sizeof(sem_layout[0]); i++) {
        const struct expect *e = &sem_layout[i];
        const char *path = at(e->name);

        if (lstat(path, &st) < 0) {
            report_fail("verify", path, errname(errno));
            continue;
        }
        if ((st.st_mode & S_IFMT) != e->type ||
            (st.st_mode & 07777) != e->perm ||
            st.st_uid != e->uid || st.st_gid != e->gid) {
            printf("PROBE-NOTE %s: want type %06o mode %04o owner %u:%u, "
                   "got type %06o mode %04o owner %u:%u\n", path,
                   (unsigned)e->type, (unsigned)e->perm, (unsigned)e->uid,
                   (unsigned)e->gid, (unsigned)(st.st_mode & S_IFMT),
                   (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
                   (unsigned)st.st_gid);
            report_fail("verify", path, "MISMATCH");
            continue;
        }
        if (e->type == S_IFCHR && st.st_rdev != makedev(1, 3)) {
            report_fail("verify", path, "MISMATCH");
            continue;
        }
        report_ok("verify", path, NULL);
    }
    for (i = 0; i < sizeof(sem_absent) / sizeof(sem_absent[0]); i++) {
        const char *path = at(sem_absent[i]);

        if (lstat(path, &st) == 0)
            report_fail("absent", path, "MISMATCH");
        else if (errno == ENOENT)
            report_ok("absent", path, NULL);
        else
            report_fail("absent", path, errname(errno));
    }
}

/* readdir of DIR/sem must give exactly the top-level names of the table. */
static void verify_readdir(void)
{
    const char *path = at("sem");
    size_t i, want = 0, seen = 0;
    struct dirent *d;
    DIR *dir = opendir(path);
    int stray = 0;

    if (!dir) {
        report_fail("readdir", path, errname(errno));
        return;
    }
    for (i = 1; i < sizeof(sem_layout) / sizeof(sem_layout[0]); i++)
        if (!strchr(sem_layout[i].name + 4, '/'))
            want++;
    errno = 0;
    while ((d = readdir(dir)) != NULL) {
        int found = 0;

        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
            continue;
        for (i = 1; i < sizeof(sem_layout) / sizeof(sem_layout[0]); i++)
            if (strcmp(sem_layout[i].name + 4, d->d_name) == 0)
                found = 1;
        if (found) {
            seen++;
        } else {
            printf("PROBE-NOTE unexpected entry %s/%s\n", path, d->d_name);
            stray = 1;
        }
    }
    if (errno) {
        report_fail("readdir", path, errname(errno));
    } else if (stray || seen != want) {
        report_fail("readdir", path, "MISMATCH");
    } else {
        char detail[32];

        snprintf(detail, sizeof(detail), "%zu-entries", seen);
        report_ok("readdir", path, detail);
    }
    closedir(dir);
}

/* Start a scenario in an empty directory @path of @mode: what an earlier
 * run left there goes first, so that reruns on the same export work */
static int fresh_dir(const char *path, mode_t mode)
{
    struct stat st;

    if (lstat(path, &st) == 0)
        expect_ok("cleanup", path,
                  nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS));
    return expect_ok("mkdir", path, mkdir(path, mode));
}

static int scenario_semantics(void)
{
    const char *path;
    struct stat st, st2;
    struct statvfs sv;
    char buf[256];
    ssize_t n;
    int rc;

    umask(0);

    /* Start from nothing, so that reruns on the same export work. */
    path = at("sem");
    if (lstat(path, &st) == 0)
        expect_ok("cleanup", path,
                  nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS));

    expect_ok("statfs", base_dir, statvfs(base_dir, &sv));
    if (expect_ok("mkdir", path, mkdir(path, 0755)) < 0)
        return summary();

    /* A regular file: owner, mode, xattrs, times. */
    if (make_file("sem/file", 0644, FILE_TEXT) == 0) {
        do_chown("sem/file", 1234, 5678);
        do_chmod("sem/file", 0640);
        do_xattr("sem/file", XATTR_FILE_K, XATTR_FILE_V);

        /* One more xattr, set and removed again: must not stay listed. */
        path = at("sem/file");
        if (expect_ok("setxattr", path,
                      setxattr(path, XATTR_GONE_K, "x", 1, 0)) == 0)
            expect_ok("removexattr", path, removexattr(path, XATTR_GONE_K));
        n = listxattr(path, buf, sizeof(buf));
        if (n < 0)
            report_fail("listxattr", path, errname(errno));
        else if (!xattr_listed(buf, n, XATTR_FILE_K) ||
                 xattr_listed(buf, n, XATTR_GONE_K))
            report_fail("listxattr", path, "MISMATCH");
        else
            report_ok("listxattr", path, NULL);

        {
            struct timespec ts[2] = { { FIXED_MTIME, 0 }, { FIXED_MTIME, 0 } };

            expect_ok("utime", path, utimensat(AT_FDCWD, path, ts, 0));
        }
        check_content("sem/file", FILE_TEXT);

        /* A hard link: same inode, two links. */
        if (expect_ok("link", at("sem/hardlink"),
                      link(at("sem/file"), at("sem/hardlink"))) == 0) {
            if (lstat(at("sem/file"), &st) < 0 || lstat(at("sem/hardlink"), &st2) < 0)
                report_fail("link-stat", at("sem/hardlink"), errname(errno));
            else if (st.st_ino != st2.st_ino || st2.st_nlink != 2)
                report_fail("link-stat", at("sem/hardlink"), "MISMATCH");
            else
                report_ok("link-stat", at("sem/hardlink"), "nlink=2");
        }
    }

    /* A symbolic link, chowned itself (lchown), and read back. */
    path = at("sem/symlink");
    if (expect_ok("symlink", path, symlink("file", path)) == 0) {
        n = readlink(path, buf, sizeof(buf));
        if (n < 0)
            report_fail("readlink", path, errname(errno));
        else if (n != 4 || memcmp(buf, "file", 4) != 0)
            report_fail("readlink", path, "MISMATCH");
        else
            report_ok("readlink", path, "file");
        do_chown("sem/symlink", 4321, 8765);
    }

    /* A directory with a file in it; the file keeps its creation mode. */
    path = at("sem/dir");
    if (expect_ok("mkdir", path, mkdir(path, 0755)) == 0) {
        do_chown("sem/dir", 4321, 8765);
        do_chmod("sem/dir", 0750);
        do_xattr("sem/dir", XATTR_DIR_K, XATTR_DIR_V);
        if (make_file("sem/dir/nested", 0600, NESTED_TEXT) == 0) {
            do_chown("sem/dir/nested", 65534, 65534);
            check_content("sem/dir/nested", NESTED_TEXT);
        }
    }

    /*
     * setgid directory: a file that user 1234 (group 1234) creates in it
     * takes the directory's group.  Not created by root: a create with uid 0
     * and a gid other than 0 trips a helper bug (see scenario rootgid).
     */
    path = at("sem/setgid-dir");
    if (expect_ok("mkdir", path, mkdir(path, 0755)) == 0) {
        do_chown("sem/setgid-dir", 1234, 5678);   /* chown before chmod: */
        do_chmod("sem/setgid-dir", 02775);        /* chown may clear S_ISGID */
        rc = as_user(1234, 1234) == 0 ? make_file("sem/setgid-dir/inherited", 0644, "") : -1;
        as_root();
        path = at("sem/setgid-dir/inherited");
        if (rc == 0 && lstat(path, &st) < 0)
            report_fail("setgid-inherit", path, errname(errno));
        else if (rc == 0 && (st.st_uid != 1234 || st.st_gid != 5678))
            report_fail("setgid-inherit", path, "MISMATCH");
        else if (rc == 0)
            report_ok("setgid-inherit", path, "1234:5678");
    }

    /* Sticky, world-writable directory, and a file a user creates in it. */
    path = at("sem/sticky-dir");
    if (expect_ok("mkdir", path, mkdir(path, 0755)) == 0) {
        do_chmod("sem/sticky-dir", 01777);
        if (as_user(4321, 8765) == 0)
            make_file("sem/sticky-dir/user-file", 0644, USER_TEXT);
        as_root();
        check_content("sem/sticky-dir/user-file", USER_TEXT);
    }

    /* setuid file: chown first, as chown clears S_ISUID. */
    if (make_file("sem/setuid-file", 0755, "#!/bin/sh\nexit 0\n") == 0) {
        do_chown("sem/setuid-file", 4321, 8765);
        do_chmod("sem/setuid-file", 04755);
    }

    /* chown away from root and back to 0:0. */
    if (make_file("sem/chown-back", 0644, "") == 0) {
        do_chown("sem/chown-back", 1234, 5678);
        do_chown("sem/chown-back", 0, 0);
    }

    /* FIFO and character device (1,3 is /dev/null's number). */
    path = at("sem/fifo");
    if (expect_ok("mkfifo", path, mkfifo(path, 0620)) == 0)
        do_chown("sem/fifo", 1234, 5678);
    path = at("sem/chardev");
    expect_ok("mknod", path, mknod(path, S_IFCHR | 0600, makedev(1, 3)));

    /* rename of a file and of a directory, unlink, rmdir. */
    if (make_file("sem/rename-src", 0644, RENAMED_TEXT) == 0 &&
        expect_ok("rename", at("sem/renamed"),
                  rename(at("sem/rename-src"), at("sem/renamed"))) == 0)
        check_content("sem/renamed", RENAMED_TEXT);
    path = at("sem/rename-dir-src");
    if (expect_ok("mkdir", path, mkdir(path, 0755)) == 0)
        expect_ok("rename", at("sem/renamed-dir"),
                  rename(path, at("sem/renamed-dir")));
    if (make_file("sem/unlinked", 0644, "gone\n") == 0)
        expect_ok("unlink", at("sem/unlinked"), unlink(at("sem/unlinked")));
    path = at("sem/rmdir-me");
    if (expect_ok("mkdir", path, mkdir(path, 0755)) == 0)
        expect_ok("rmdir", path, rmdir(path));

    /* truncate by path: 100 bytes down to 10. */
    if (make_file("sem/truncated",  0644,
                  "0123456789012345678901234567890123456789012345678901234567890123456789"
                  "012345678901234567890123456789") == 0) {
        path = at("sem/truncated");
        if (expect_ok("truncate", path, truncate(path, 10)) == 0)
            check_content("sem/truncated", "0123456789");
    }

    big_file("sem/big");

    /* Finally, what the guest sees of all that. */
    verify_layout();
    verify_readdir();
    sync();
    return summary();
}

/* ------------------------------------------------------------------ */
/* readonly: every modifying call must fail with EROFS                 */
/* ------------------------------------------------------------------ */

static int scenario_readonly(void)
{
    char seed_buf[PATH_MAX];
    const char *seed = keep(seed_buf, "seed");
    struct timespec ts[2] = { { FIXED_MTIME, 0 }, { FIXED_MTIME, 0 } };
    char buf[64];
    int fd;

    /* Reading must still work. */
    fd = open(seed, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        report_fail("read", seed, errname(errno));
        printf("PROBE-NOTE the readonly scenario needs a regular file DIR/seed\n");
    } else {
        expect_ok("read", seed, read_full(fd, buf, sizeof(buf)) < 0 ? -1 : 0);
        close(fd);
    }

    fd = open(at("ro-new"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    expect_errno("create", at("ro-new"), fd, EROFS);
    if (fd >= 0)
        close(fd);
    fd = open(seed, O_WRONLY | O_CLOEXEC);
    expect_errno("write", seed, fd, EROFS);
    if (fd >= 0)
        close(fd);
    expect_errno("truncate", seed, truncate(seed, 0), EROFS);
    expect_errno("chown", seed, lchown(seed, 1234, 5678), EROFS);
    expect_errno("chmod", seed, chmod(seed, 0600), EROFS);
    expect_errno("utime", seed, utimensat(AT_FDCWD, seed, ts, 0), EROFS);
    expect_errno("setxattr", seed,
                 setxattr(seed, XATTR_FILE_K, "x", 1, 0), EROFS);
    expect_errno("mkdir", at("ro-newdir"), mkdir(at("ro-newdir"), 0755), EROFS);
    expect_errno("mkfifo", at("ro-fifo"), mkfifo(at("ro-fifo"), 0644), EROFS);
    expect_errno("mknod", at("ro-chardev"),
                 mknod(at("ro-chardev"), S_IFCHR | 0600, makedev(1, 3)), EROFS);
    expect_errno("symlink", at("ro-symlink"),
                 symlink("seed", at("ro-symlink")), EROFS);
    expect_errno("link", at("ro-link"), link(seed, at("ro-link")), EROFS);
    expect_errno("rename", at("ro-renamed"),
                 rename(seed, at("ro-renamed")), EROFS);
    expect_errno("unlink", seed, unlink(seed), EROFS);
    return summary();
}

/* ------------------------------------------------------------------ */
/* rootgid: QEMU's virtfs-proxy-helper (checked against 7.2) switches   */
/* to the caller's ids for creating calls and back afterwards.  With    */
/* uid 0 and a gid other than 0 its euid never leaves 0, so the kernel  */
/* never restores the effective capabilities it narrowed to             */
/* CAP_DAC_OVERRIDE: from then on chown to another user and mknod fail  */
/* with EPERM for the rest of the helper's life.  Guest root hits this  */
/* when it creates a file in a setgid directory of another group, or    */
/* with any fsgid other than 0.                                          */
/* ------------------------------------------------------------------ */

static int scenario_rootgid(void)
{
    const char *path = at("rootgid");
    struct stat st;
    int rc;

    umask(0);
    if (fresh_dir(path, 0755) < 0)
        return summary();

    /* Before: the helper has all its capabilities. */
    if (make_file("rootgid/before", 0644, "") == 0)
        do_chown("rootgid/before", 1234, 5678);
    path = at("rootgid/before-dev");
    expect_ok("mknod", path, mknod(path, S_IFCHR | 0600, makedev(1, 3)));

    /* The trigger: root with fsgid 5678 creates a file. */
    setfsgid(5678);
    rc = make_file("rootgid/trigger", 0644, "");
    as_root();
    if (rc == 0) {
        path = at("rootgid/trigger");
        if (lstat(path, &st) == 0 && st.st_gid == 5678)
            report_ok("trigger-gid", path, "0:5678");
        else
            report_fail("trigger-gid", path, "MISMATCH");
    }

    /* After: the same calls again. */
    if (make_file("rootgid/after", 0644, "") == 0)
        do_chown("rootgid/after", 1234, 5678);
    path = at("rootgid/after-dev");
    expect_ok("mknod", path, mknod(path, S_IFCHR | 0600, makedev(1, 3)));
    if (n_fail)
        printf("PROBE-NOTE chown/mknod failing only after the trigger is the "
               "helper's lost-capabilities bug\n");
    return summary();
}

/* lstat `name` and compare its owner (op "owner"). */
static void check_owner(const char *name, uid_t uid, gid_t gid)
{
    const char *path = at(name);
    struct stat st;
    char detail[64];

    snprintf(detail, sizeof(detail), "%u:%u", (unsigned)uid, (unsigned)gid);
    if (lstat(path, &st) < 0)
        report_fail("owner", path, errname(errno));
    else if (st.st_uid != uid || st.st_gid != gid)
        report_fail("owner", path, "MISMATCH");
    else
        report_ok("owner", path, detail);
}

/* ------------------------------------------------------------------ */
/* sgid: the everyday shared project directory (chmod g+s) of a group  */
/* other than root's.  Root creates a file in it, which takes the      */
/* directory's group (the trigger of rootgid's bug in QEMU 7.2's       */
/* helper), chowns it to a user and makes a device node; then a user   */
/* creates a file.  Everything must work, in this order.               */
/* ------------------------------------------------------------------ */

static int scenario_sgid(void)
{
    const char *path = at("sgid");
    struct stat st;
    int rc;

    umask(0);
    if (fresh_dir(path, 0777) < 0)
        return summary();
    do_chown("sgid", 0, 5678);                  /* chown before chmod: */
    do_chmod("sgid", 02777);                    /* chown clears S_ISGID */

    if (make_file("sgid/root-file", 0644, "root\n") == 0)
        check_owner("sgid/root-file", 0, 5678);
    do_chown("sgid/root-file", 1234, 4321);
    check_owner("sgid/root-file", 1234, 4321);
    path = at("sgid/null");
    if (expect_ok("mknod", path, mknod(path, S_IFCHR | 0666, makedev(1, 3))) == 0) {
        if (lstat(path, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
            report_fail("mknod-type", path, "MISMATCH");
        else
            report_ok("mknod-type", path, "c 1:3");
    }

    if (as_user(1000, 1000) < 0) {
        report_fail("as-user", at("sgid/user-file"), "EPERM");
        return summary();
    }
    rc = make_file("sgid/user-file", 0644, "user\n");
    as_root();
    if (rc == 0)
        check_owner("sgid/user-file", 1000, 5678);
    return summary();
}

/* ------------------------------------------------------------------ */
/* idmap: guest root on a share whose helper serves from a user         */
/* namespace with an id map.  Inside the guest, everything of the      */
/* pjdfstest kind works as on any passthrough share, for mapped ids;   */
/* an id outside the map cannot be set (EINVAL), a device node cannot  */
/* be made (EPERM), and a file of an unmapped host owner is the        */
/* overflow id's (65534), which root may not take over.  The host      */
/* checks what the same files are there.                               */
/* ------------------------------------------------------------------ */

/* Copy this program (/proc/self/exe) to @path, mode 0755 */
static int copy_self(const char *path)
{
    char buf[65536];
    int in, out;
    ssize_t n;
    int rc = 0;

    if ((in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    if ((out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755)) < 0) {
        close(in);
        return -1;
    }
    while ((n = read_full(in, buf, sizeof(buf))) > 0) {
        if (write_all(out, buf, n) < 0) {
            rc = -1;
            break;
        }
    }
    if (n < 0)
        rc = -1;
    close(in);
    if (close(out) < 0)
        rc = -1;
    return rc;
}

static int scenario_idmap(void)
{
    const char *path = at("idm");
    struct stat st;
    int rc;

    umask(0);
    if (fresh_dir(path, 0755) < 0)
        return summary();

    /* root's file, a set-user-ID copy of this program, a user's file */
    if (make_file("idm/root-file", 0644, "root\n") == 0)
        check_owner("idm/root-file", 0, 0);
    path = at("idm/suid");
    if (expect_ok("copy", path, copy_self(path)) == 0) {
        do_chown("idm/suid", 0, 0);
        do_chmod("idm/suid", 04755);
    }
    if (make_file("idm/user-file", 0644, "user\n") == 0)
        do_chown("idm/user-file", 1000, 1000);
    check_owner("idm/user-file", 1000, 1000);
    if (make_file("idm/nobody-file", 0644, "nobody\n") == 0)
        do_chown("idm/nobody-file", 65534, 65534);

    /* a set-group-ID directory of another group: what root and a user
     * create there takes its group */
    if (expect_ok("mkdir", at("idm/sgid"), mkdir(at("idm/sgid"), 0777)) == 0) {
        do_chown("idm/sgid", 0, 1000);
        do_chmod("idm/sgid", 02777);
        if (make_file("idm/sgid/root-file", 0644, "root\n") == 0)
            check_owner("idm/sgid/root-file", 0, 1000);
        if (expect_ok("mkdir", at("idm/sgid/sub"), mkdir(at("idm/sgid/sub"), 0755)) == 0 &&
            lstat(at("idm/sgid/sub"), &st) == 0) {
            if (!(st.st_mode & S_ISGID) || st.st_gid != 1000)
                report_fail("sgid-inherit", at("idm/sgid/sub"), "MISMATCH");
            else
                report_ok("sgid-inherit", at("idm/sgid/sub"), "1000 g+s");
        }
        if (as_user(1000, 1000) == 0) {
            rc = make_file("idm/sgid/user-file", 0600, "user\n");
            as_root();
            if (rc == 0)
                check_owner("idm/sgid/user-file", 1000, 1000);
        } else {
            report_fail("as-user", at("idm/sgid/user-file"), "EPERM");
        }
    }

    /* FIFOs and sockets need no privilege; device nodes need the host's */
    path = at("idm/fifo");
    expect_ok("mkfifo", path, mkfifo(path, 0600));
    path = at("idm/socket");
    expect_ok("mknod-sock", path, mknod(path, S_IFSOCK | 0600, 0));
    path = at("idm/null");
    expect_errno("mknod", path, mknod(path, S_IFCHR | 0666, makedev(1, 3)), EPERM);
    path = at("idm/sda");
    expect_errno("mknod-blk", path, mknod(path, S_IFBLK | 0666, makedev(8, 0)), EPERM);

    /* ids outside the map */
    path = at("idm/user-file");
    expect_errno("chown-unmapped", path, lchown(path, 70000, 1000), EINVAL);
    expect_errno("chgrp-unmapped", path, lchown(path, 1000, 70000), EINVAL);
    check_owner("idm/user-file", 1000, 1000);

    /* host root's file: the overflow id's, and out of root's reach */
    check_owner("hostroot", 65534, 65534);
    path = at("hostroot");
    expect_errno("chown-hostroot", path, lchown(path, 0, 0), EPERM);
    expect_errno("chmod-hostroot", path, chmod(path, 04777), EPERM);
    return summary();
}

static int whoami(void)
{
    printf("PROBE-WHOAMI %u %u\n", (unsigned)getuid(), (unsigned)geteuid());
    return 0;
}

/* ------------------------------------------------------------------ */
/* longpath: a file 4000 bytes below DIR, in 40 directories            */
/* ------------------------------------------------------------------ */

#define LONGPATH_LEN 4000

static int scenario_longpath(void)
{
    char rel[LONGPATH_LEN + 1], renamed[LONGPATH_LEN + 1];
    char buf[PATH_MAX], to[PATH_MAX], detail[32];
    struct stat st;
    size_t len, dirs = 0;
    int fd, rc = 0;

    umask(0);
    /* long/ddd.../ddd.../fff...: 39 directories of 99 bytes below "long" */
    strcpy(rel, "long");
    while (strlen(rel) + 100 <= LONGPATH_LEN - 50) {
        len = strlen(rel);
        rel[len] = '/';
        memset(rel + len + 1, 'd', 99);
        rel[len + 100] = '\0';
    }
    len = strlen(rel);
    rel[len] = '/';
    memset(rel + len + 1, 'f', LONGPATH_LEN - len - 1);
    rel[LONGPATH_LEN] = '\0';

    /* every directory on the way (the file's own name is the last part) */
    for (len = 0; rel[len]; len++) {
        if (rel[len] != '/')
            continue;
        rel[len] = '\0';
        snprintf(buf, sizeof(buf), "%s/%s", base_dir, rel);
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            rc = -1;
        else
            dirs++;
        rel[len] = '/';
        if (rc < 0) {
            report_fail("mkdir", buf, errname(errno));
            return summary();
        }
    }
    snprintf(detail, sizeof(detail), "%zu directories", dirs);
    report_ok("mkdir", "long/...", detail);

    snprintf(buf, sizeof(buf), "%s/%s", base_dir, rel);
    snprintf(detail, sizeof(detail), "%zu bytes", strlen(rel));
    fd = open(buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || write_and_close(fd, "deep\n") < 0) {
        report_fail("create", "long/.../fff", errname(errno));
        return summary();
    }
    report_ok("create", "long/.../fff", detail);
    if (lstat(buf, &st) < 0)
        report_fail("stat", "long/.../fff", errname(errno));
    else if (st.st_size != 5)
        report_fail("stat", "long/.../fff", "MISMATCH");
    else
        report_ok("stat", "long/.../fff", "5 bytes");
    expect_ok("chmod", "long/.../fff", chmod(buf, 0600));

    memcpy(renamed, rel, sizeof(rel));
    renamed[LONGPATH_LEN - 1] = 'g';
    snprintf(to, sizeof(to), "%s/%s", base_dir, renamed);
    expect_ok("rename", "long/.../ffg", rename(buf, to));
    fd = open(to, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        report_fail("read", "long/.../ffg", errname(errno));
    } else {
        char got[8] = { 0 };

        if (read_full(fd, got, sizeof(got) - 1) != 5 || strcmp(got, "deep\n") != 0)
            report_fail("read", "long/.../ffg", "MISMATCH");
        else
            report_ok("read", "long/.../ffg", NULL);
        close(fd);
    }
    /* left in place: the host checks it */
    return summary();
}

/* ------------------------------------------------------------------ */
/* contrast: the four basic operations, whatever they give             */
/* ------------------------------------------------------------------ */

static int scenario_contrast(void)
{
    char file_buf[PATH_MAX], dev_buf[PATH_MAX], sym_buf[PATH_MAX];
    const char *file = keep(file_buf, "contrast-file");
    const char *dev = keep(dev_buf, "contrast-chardev");
    const char *sym = keep(sym_buf, "contrast-symlink");
    int fd, rc;

    /* Leftovers of an earlier run would turn the creating calls into EEXIST. */
    unlink(file);
    unlink(dev);
    unlink(sym);

    fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    rc = fd >= 0 ? write_and_close(fd, "contrast\n") : fd;
    expect_ok("write", file, rc);
    do_chown("contrast-file", 1234, 5678);
    expect_ok("mknod", dev, mknod(dev, S_IFCHR | 0600, makedev(1, 3)));
    expect_ok("symlink", sym, symlink("contrast-file", sym));
    return summary();
}

/* ------------------------------------------------------------------ */
/* io: write and fsync until something fails (or a bound is reached)   */
/* ------------------------------------------------------------------ */

#define IO_SLOTS 32             /* files are reused round robin: bounded disk use */

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Create PATH with LEN bytes of DATA, fsync and close it.  Returns 0, or
 * the errno of the first call that failed, named in *OP. */
static int write_synced(const char *path, const void *data, size_t len,
                        const char **op)
{
    int fd, err;

    *op = NULL;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        *op = "open";
        return errno;
    }
    if (write_all(fd, data, len) < 0)
        *op = "write";
    else if (fsync(fd) < 0)
        *op = "fsync";
    if (*op) {
        err = errno;
        close(fd);
        return err;
    }
    if (close(fd) < 0) {
        *op = "close";
        return errno;
    }
    return 0;
}

/* The end of the io and stream scenarios (SCENARIO, progress lines
 * starting with TAG): how they stopped. */
static int streaming_done(const char *scenario, const char *tag,
                          const char *dir, long synced, const char *op,
                          long max_files)
{
    char detail[32];

    printf("%s done synced=%ld stopped=%s\n", tag, synced,
           op ? "error" : synced >= max_files ? "max-files" : "time");
    if (!op) {
        snprintf(detail, sizeof(detail), "synced=%ld", synced);
        report_ok(scenario, dir, detail);
    }
    return summary();
}

static int scenario_io(long max_files, long seconds)
{
    static uint8_t data[CHUNK];
    struct gen g = { GEN_SEED };
    char dir_buf[PATH_MAX];
    const char *dir = keep(dir_buf, "io");     /* at() would be overwritten */
    char name[32];
    const char *path, *op = NULL;
    double deadline = now() + (double)seconds;
    long synced = 0;
    int err;

    gen_fill(&g, data, sizeof(data));
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        report_fail("mkdir", dir, errname(errno));
        return summary();
    }
    printf("PROBE-IO start max=%ld seconds=%ld\n", max_files, seconds);
    while (synced < max_files && now() < deadline) {
        snprintf(name, sizeof(name), "io/f%02ld", synced % IO_SLOTS);
        path = at(name);
        if ((err = write_synced(path, data, sizeof(data), &op))) {
            report_fail(op, path, errname(err));
            break;
        }
        synced++;
        if (synced % 25 == 0)
            printf("PROBE-IO synced %ld\n", synced);
    }
    return streaming_done("io", "PROBE-IO", dir, synced, op, max_files);
}

/* stream: a new file for each write, DIR/stream/sNNNNN, with its own
 * content (the generator seeded with the file's number) and size (4 KiB
 * to 64 KiB).  Each file that is written, fsynced and closed is reported
 * with its SHA-256, so that the host can check every file the guest
 * synced before a fault. */
static int scenario_stream(long max_files, long seconds)
{
    static uint8_t data[CHUNK];
    char dir_buf[PATH_MAX];
    const char *dir = keep(dir_buf, "stream");
    char name[32], hex[65];
    const char *path, *op = NULL;
    double deadline = now() + (double)seconds;
    long synced = 0;
    size_t len;
    int err;

    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        report_fail("mkdir", dir, errname(errno));
        return summary();
    }
    printf("PROBE-STREAM start max=%ld seconds=%ld\n", max_files, seconds);
    while (synced < max_files && now() < deadline) {
        struct gen g = { GEN_SEED ^ (uint64_t)synced };
        struct sha256 sum;

        len = 4096 + (size_t)(synced * 7919 % (CHUNK - 4096)) / 8 * 8;
        gen_fill(&g, data, len);
        snprintf(name, sizeof(name), "stream/s%05ld", synced);
        path = at(name);
        if ((err = write_synced(path, data, len, &op))) {
            report_fail(op, path, errname(err));
            break;
        }
        sha256_init(&sum);
        sha256_update(&sum, data, len);
        sha256_hex(&sum, hex);
        printf("PROBE-STREAM synced s%05ld %zu %s\n", synced, len, hex);
        synced++;
    }
    return streaming_done("stream", "PROBE-STREAM", dir, synced, op, max_files);
}

/* ------------------------------------------------------------------ */
/* Host-side helpers                                                   */
/* ------------------------------------------------------------------ */

static int gen_data(unsigned long long bytes, int checksum_only)
{
    static uint8_t buf[CHUNK];
    struct gen g = { GEN_SEED };
    struct sha256 sum;
    char hex[65];

    sha256_init(&sum);
    while (bytes) {
        size_t n = bytes < CHUNK ? (size_t)bytes : CHUNK;

        gen_fill(&g, buf, CHUNK);
        if (checksum_only)
            sha256_update(&sum, buf, n);
        else if (write_all(STDOUT_FILENO, buf, n) < 0)
            return 1;
        bytes -= n;
    }
    if (checksum_only) {
        sha256_hex(&sum, hex);
        printf("%s\n", hex);
    }
    return 0;
}

static int selftest(void)
{
    static const struct { const char *in, *out; } vec[] = {
        { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
    };
    struct sha256 c;
    char hex[65];
    size_t i;
    int bad = 0;

    for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        sha256_init(&c);
        sha256_update(&c, vec[i].in, strlen(vec[i].in));
        sha256_hex(&c, hex);
        if (strcmp(hex, vec[i].out) != 0) {
            fprintf(stderr, "probe: sha256 self-test %zu failed: %s\n", i, hex);
            bad = 1;
        }
    }
    if (!bad)
        printf("probe: sha256 self-test ok\n");
    return bad;
}

/* ------------------------------------------------------------------ */

static int usage(void)
{
    fprintf(stderr,
            "usage: probe semantics|readonly|contrast|rootgid|sgid|longpath|idmap DIR\n"
            "       probe io|stream DIR [MAX-FILES [SECONDS]]\n"
            "       probe gen-data|gen-checksum [BYTES]\n"
            "       probe selftest|whoami\n");
    return 2;
}

/* Parse a positive decimal number; 0 on garbage. */
static unsigned long long number(const char *s)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0')
        return 0;
    return v;
}

int main(int argc, char **argv)
{
    const char *cmd;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2)
        return usage();
    cmd = argv[1];

    if (strcmp(cmd, "selftest") == 0)
        return selftest();
    if (strcmp(cmd, "whoami") == 0)
        return whoami();
    if (strcmp(cmd, "gen-data") == 0 || strcmp(cmd, "gen-checksum") == 0) {
        unsigned long long bytes = argc > 2 ? number(argv[2]) : BIG_SIZE;

        if (argc > 3 || (argc > 2 && bytes == 0))
            return usage();
        return gen_data(bytes, strcmp(cmd, "gen-checksum") == 0);
    }

    if (argc < 3)
        return usage();
    base_dir = argv[2];
    if (strcmp(cmd, "io") == 0 || strcmp(cmd, "stream") == 0) {
        long max_files = argc > 3 ? (long)number(argv[3]) : 100000;
        long seconds = argc > 4 ? (long)number(argv[4]) : 60;

        if (argc > 5 || max_files <= 0 || seconds <= 0)
            return usage();
        if (strcmp(cmd, "io") == 0)
            return scenario_io(max_files, seconds);
        return scenario_stream(max_files, seconds);
    }
    if (argc != 3)
        return usage();
    if (strcmp(cmd, "semantics") == 0)
        return scenario_semantics();
    if (strcmp(cmd, "readonly") == 0)
        return scenario_readonly();
    if (strcmp(cmd, "contrast") == 0)
        return scenario_contrast();
    if (strcmp(cmd, "rootgid") == 0)
        return scenario_rootgid();
    if (strcmp(cmd, "sgid") == 0)
        return scenario_sgid();
    if (strcmp(cmd, "longpath") == 0)
        return scenario_longpath();
    if (strcmp(cmd, "idmap") == 0)
        return scenario_idmap();
    return usage();
}
