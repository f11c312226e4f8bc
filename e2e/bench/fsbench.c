/*
 * fsbench - guest-side file system benchmark for the proxy/local/mapped/
 * virtiofs comparison (scripts/bench.sh, docs/performance.md).
 *
 * Built static (gcc -static -O2 -Wall -Werror) by e2e/bench/build-bench-guest.sh
 * and put into the bench initramfs as /probe, so that the e2e guest's /init
 * runs it unchanged: proxyfs.run=SUBCOMMAND:ARG:ARG...
 *
 * Subcommands:
 *   all DIR NFILES FILE_MIB NRAND   metadata, sequential and random workloads
 *   meta DIR NFILES                 metadata workloads only
 *   mount FSTYPE TAG DIR            mount(2) a share the init does not know
 *                                   (virtiofs), creating DIR
 *   ready                           print the guest-ready marker and uptime
 *
 * Output (stdout, one line per measurement):
 *   BENCH <workload> <ops> <seconds> <rate> <unit>
 *   BENCH-INFO <free text>          mount options in force, sizes
 *   BENCH-FAIL <what> <errno name>  a call failed; exit status 1
 *   BENCH-READY <uptime seconds>
 * Workloads: create stat chmod chown rename walk unlink (ops/s), seqwrite
 * seqread (MB/s, 10^6 bytes), randread (ops/s, 4 KiB preads).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>

#define BLOCK (1024 * 1024)     /* sequential I/O unit */
#define RBLOCK 4096             /* random read unit */

static int failed;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what)
{
    const char *name = strerrorname_np(errno);

    printf("BENCH-FAIL %s %s\n", what, name ? name : "unknown");
    fflush(stdout);
    failed = 1;
}

static void result(const char *workload, double ops, double secs,
                   double rate, const char *unit)
{
    printf("BENCH %s %.0f %.6f %.3f %s\n", workload, ops, secs, rate, unit);
    fflush(stdout);
}

static void ops_result(const char *workload, long n, double t0)
{
    double secs = now() - t0;

    result(workload, n, secs, secs > 0 ? n / secs : 0, "ops/s");
}

/* The mount options of the share holding DIR, as the guest kernel sees them
 * (msize, cache mode): the longest mount point that prefixes DIR. */
static void mount_info(const char *dir)
{
    FILE *f = fopen("/proc/mounts", "r");
    char line[1024], best[1024] = "";
    size_t bestlen = 0;

    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char dev[256], mnt[256], type[64], opts[512];
        size_t len;

        if (sscanf(line, "%255s %255s %63s %511s", dev, mnt, type, opts) != 4)
            continue;
        len = strlen(mnt);
        if (strncmp(dir, mnt, len) == 0 &&
            (dir[len] == '/' || dir[len] == 0 || strcmp(mnt, "/") == 0) &&
            len >= bestlen) {
            bestlen = len;
            snprintf(best, sizeof(best), "mount %s type=%s opts=%s", mnt, type, opts);
        }
    }
    fclose(f);
    if (*best)
        printf("BENCH-INFO %s\n", best);
}

static void drop_caches(void)
{
    int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

    sync();
    if (fd >= 0) {
        if (write(fd, "3\n", 2) != 2)
            fail("drop_caches");
        close(fd);
    }
}

/* ------------------------------------------------------------------ */
/* Metadata: NFILES small files through their whole life               */
/* ------------------------------------------------------------------ */

static void name_of(char *buf, size_t len, const char *dir, char prefix, long i)
{
    snprintf(buf, len, "%s/%c%06ld", dir, prefix, i);
}

/* A marker in the share's request stream before each phase, for the
 * request profile (profile.sh): a lookup of DIR/.phase-NAME, which does
 * not exist */
static void phase(const char *dir, const char *name)
{
    char path[600];

    snprintf(path, sizeof(path), "%s/.phase-%s", dir, name);
    (void) access(path, F_OK);
}

static int meta(const char *top, long n)
{
    char dir[512], path[600], path2[600];
    char payload[100];
    struct stat st;
    double t0;
    long i, seen;
    DIR *d;
    struct dirent *de;

    memset(payload, 'm', sizeof(payload));
    snprintf(dir, sizeof(dir), "%s/meta-%ld", top, (long)getpid());
    if (mkdir(dir, 0755) < 0) {
        fail("mkdir");
        return -1;
    }

    phase(dir, "create");
    t0 = now();
    for (i = 0; i < n; i++) {
        int fd;

        name_of(path, sizeof(path), dir, 'f', i);
        fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0) {
            fail("create");
            return -1;
        }
        if (write(fd, payload, sizeof(payload)) != sizeof(payload))
            fail("create-write");
        close(fd);
    }
    ops_result("create", n, t0);

    phase(dir, "stat");
    t0 = now();
    for (i = 0; i < n; i++) {
        name_of(path, sizeof(path), dir, 'f', i);
        if (stat(path, &st) < 0 || st.st_size != sizeof(payload)) {
            fail("stat");
            return -1;
        }
    }
    ops_result("stat", n, t0);

    phase(dir, "chmod");
    t0 = now();
    for (i = 0; i < n; i++) {
        name_of(path, sizeof(path), dir, 'f', i);
        if (chmod(path, 0600 | (i & 044)) < 0) {
            fail("chmod");
            return -1;
        }
    }
    ops_result("chmod", n, t0);

    phase(dir, "chown");
    t0 = now();
    for (i = 0; i < n; i++) {
        name_of(path, sizeof(path), dir, 'f', i);
        if (chown(path, 1000 + i % 7, 1000 + i % 3) < 0) {
            fail("chown");
            return -1;
        }
    }
    ops_result("chown", n, t0);

    phase(dir, "rename");
    t0 = now();
    for (i = 0; i < n; i++) {
        name_of(path, sizeof(path), dir, 'f', i);
        name_of(path2, sizeof(path2), dir, 'g', i);
        if (rename(path, path2) < 0) {
            fail("rename");
            return -1;
        }
    }
    ops_result("rename", n, t0);

    phase(dir, "walk");
    /* The walk: readdir the directory and lstat every entry, like find -ls. */
    t0 = now();
    seen = 0;
    d = opendir(dir);
    if (!d) {
        fail("opendir");
        return -1;
    }
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            fail("walk-lstat");
            break;
        }
        seen++;
    }
    closedir(d);
    ops_result("walk", seen, t0);
    if (seen != n) {
        errno = EBADE;
        fail("walk-count");
    }

    phase(dir, "unlink");
    t0 = now();
    for (i = 0; i < n; i++) {
        name_of(path, sizeof(path), dir, 'g', i);
        if (unlink(path) < 0) {
            fail("unlink");
            return -1;
        }
    }
    ops_result("unlink", n, t0);
    phase(dir, "end");
    if (rmdir(dir) < 0)
        fail("rmdir");
    return 0;
}

/* ------------------------------------------------------------------ */
/* Data: a fresh large file written, read back, then read at random    */
/* ------------------------------------------------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int data(const char *top, long mib, long nrand)
{
    char path[600];
    char *buf;
    double t0, secs;
    long i;
    int fd;
    uint64_t bytes = (uint64_t)mib * BLOCK;

    if (posix_memalign((void **)&buf, 4096, BLOCK) != 0) {
        fail("malloc");
        return -1;
    }
    for (i = 0; i < BLOCK; i++)
        buf[i] = (char)xorshift();

    /* A fresh name every run: nothing of an earlier run can be cached. */
    snprintf(path, sizeof(path), "%s/seq-%ld-%ld", top, (long)getpid(), (long)time(NULL));
    t0 = now();
    fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd < 0) {
        fail("seqwrite-open");
        return -1;
    }
    for (i = 0; i < mib; i++) {
        buf[0] = (char)i;       /* every block differs */
        if (write(fd, buf, BLOCK) != BLOCK) {
            fail("seqwrite");
            close(fd);
            return -1;
        }
    }
    if (fsync(fd) < 0)
        fail("seqwrite-fsync");
    close(fd);
    secs = now() - t0;
    result("seqwrite", (double)mib, secs, bytes / 1e6 / secs, "MB/s");

    drop_caches();
    t0 = now();
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        fail("seqread-open");
        return -1;
    }
    for (i = 0; i < mib; i++) {
        if (read(fd, buf, BLOCK) != BLOCK) {
            fail("seqread");
            close(fd);
            return -1;
        }
    }
    secs = now() - t0;
    result("seqread", (double)mib, secs, bytes / 1e6 / secs, "MB/s");

    drop_caches();
    t0 = now();
    for (i = 0; i < nrand; i++) {
        off_t off = (off_t)(xorshift() % (bytes / RBLOCK)) * RBLOCK;

        if (pread(fd, buf, RBLOCK, off) != RBLOCK) {
            fail("randread");
            break;
        }
    }
    ops_result("randread", nrand, t0);
    close(fd);
    if (unlink(path) < 0)
        fail("seq-unlink");
    free(buf);
    return 0;
}

/* ------------------------------------------------------------------ */

static long number(const char *s, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (*s == 0 || *end != 0 || v <= 0) {
        fprintf(stderr, "fsbench: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: fsbench all DIR NFILES FILE_MIB NRAND\n"
            "       fsbench meta DIR NFILES\n"
            "       fsbench mount FSTYPE TAG DIR\n"
            "       fsbench ready\n");
    exit(2);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2)
        usage();
    if (strcmp(argv[1], "ready") == 0 && argc == 2) {
        char up[64] = "?";
        FILE *f = fopen("/proc/uptime", "r");

        if (f) {
            if (fscanf(f, "%63s", up) != 1)
                strcpy(up, "?");
            fclose(f);
        }
        printf("BENCH-READY %s\n", up);
        return 0;
    }
    if (strcmp(argv[1], "mount") == 0 && argc == 5) {
        mkdir(argv[4], 0755);
        if (mount(argv[3], argv[4], argv[2], 0, NULL) < 0) {
            fail("mount");
            return 1;
        }
        printf("BENCH-INFO mounted %s %s on %s\n", argv[2], argv[3], argv[4]);
        return 0;
    }
    if (strcmp(argv[1], "meta") == 0 && argc == 4) {
        long n = number(argv[3], "NFILES");

        mount_info(argv[2]);
        printf("BENCH-INFO nfiles=%ld\n", n);
        meta(argv[2], n);
        return failed;
    }
    if (strcmp(argv[1], "all") == 0 && argc == 6) {
        long n = number(argv[3], "NFILES");
        long mib = number(argv[4], "FILE_MIB");
        long nrand = number(argv[5], "NRAND");

        mount_info(argv[2]);
        printf("BENCH-INFO nfiles=%ld file_mib=%ld nrand=%ld block=%d rblock=%d\n",
               n, mib, nrand, BLOCK, RBLOCK);
        if (meta(argv[2], n) == 0)
            data(argv[2], mib, nrand);
        return failed;
    }
    usage();
    return 2;
}
