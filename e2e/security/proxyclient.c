/*
 * proxyclient: a deliberately hostile client of QEMU's virtfs-proxy-helper.
 *
 * It plays the part of a compromised QEMU: it speaks the helper's wire
 * protocol directly and sends whatever it is told to, well-formed or not,
 * so that a harness (containment.sh) can check that the helper, running as
 * root and chrooted into an export directory, never touches anything outside
 * that export.
 *
 * Wire protocol (QEMU 7.2, hw/9pfs/9p-proxy.h; host byte order throughout):
 *
 *   request  = header payload
 *   header   = u32 type, u32 size          size = length of payload
 *   string   = u16 length, bytes           (no terminating NUL)
 *
 *   OPEN and CREATE are answered by sendmsg() of one int: INT_MAX with the
 *   new fd attached as SCM_RIGHTS, or -errno without ancillary data.
 *   Status calls (MKNOD .. REMOVE, LSETXATTR, LREMOVEXATTR) are answered by
 *   header {0 success | 1 error, 4} and an int status (0 or -errno).
 *   Query calls (LSTAT, STATFS, READLINK, LGETXATTR, LLISTXATTR, GETVERSION)
 *   are answered by header {0, n} + n bytes of result, or {1, 4} + -errno.
 *   The helper exits on an unknown type and on a header size > 64 KiB.
 *
 * Modes:
 *   --fd N                      use an already connected socket
 *   --steal PID:FD              take a copy of fd FD of process PID (QEMU's
 *                               end of a socket libvirt set up) with
 *                               pidfd_getfd(2); needs root, before --user
 *   --spawn HELPER --export DIR create a socketpair and start
 *                               "HELPER -n -f FD -p DIR" (as root)
 *
 * With --spawn the process splits in two: a root supervisor that owns the
 * helper (reaps it, kills it if it outlives the test) and the "QEMU" child,
 * which may drop to an unprivileged uid/gid (--user) and to no_new_privs
 * (--no-new-privs), as QEMU does under libvirt, before it sends anything.
 *
 * Every request prints exactly one line:
 *   REQ <n> <op> <args> -> <errno name | ok [details] | EOF | TIMEOUT | ...>
 * Received fds are kept in numbered slots (fd#1, fd#2, ...) so that later
 * "local-*" commands can use them the way QEMU uses them (openat on a
 * directory fd, execveat, writes).
 *
 * Build: gcc -static -O2 -Wall -Wextra -Werror -o proxyclient proxyclient.c
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ protocol */

enum {
    P_SUCCESS = 0, P_ERROR, P_OPEN, P_CREATE, P_MKNOD, P_MKDIR, P_SYMLINK,
    P_LINK, P_LSTAT, P_READLINK, P_STATFS, P_CHMOD, P_CHOWN, P_TRUNCATE,
    P_UTIME, P_RENAME, P_REMOVE, P_LGETXATTR, P_LLISTXATTR, P_LSETXATTR,
    P_LREMOVEXATTR, P_GETVERSION,
};

#define HDR_SZ 8
#define MAX_PAYLOAD (64 * 1024)     /* the helper's PROXY_MAX_IO_SZ */
#define FD_VALID INT_MAX            /* the helper's V9FS_FD_VALID */
/* Room for a payload larger than the helper accepts (oversize tests). */
#define BUF_SZ (MAX_PAYLOAD + 4096)

/* How the helper answers a request of a given type. */
enum reply_kind { R_FD, R_STATUS, R_RESPONSE, R_NONE };

static enum reply_kind reply_kind_of(uint32_t type)
{
    switch (type) {
    case P_OPEN: case P_CREATE:
        return R_FD;
    case P_MKNOD: case P_MKDIR: case P_SYMLINK: case P_LINK: case P_CHMOD:
    case P_CHOWN: case P_TRUNCATE: case P_UTIME: case P_RENAME: case P_REMOVE:
    case P_LSETXATTR: case P_LREMOVEXATTR:
        return R_STATUS;
    case P_LSTAT: case P_STATFS: case P_READLINK: case P_LGETXATTR:
    case P_LLISTXATTR: case P_GETVERSION:
        return R_RESPONSE;
    default:
        return R_NONE;              /* the helper does not answer these */
    }
}

/* A request being marshalled: payload only, the header is added on send. */
struct msg {
    unsigned char buf[BUF_SZ];
    size_t len;
    bool overflow;                  /* a put did not fit: refuse to send */
};

static void put_bytes(struct msg *m, const void *p, size_t n)
{
    if (m->overflow || n > sizeof(m->buf) - m->len) {
        m->overflow = true;
        return;
    }
    memcpy(m->buf + m->len, p, n);
    m->len += n;
}

static void put_u16(struct msg *m, uint16_t v) { put_bytes(m, &v, sizeof(v)); }
static void put_u32(struct msg *m, uint32_t v) { put_bytes(m, &v, sizeof(v)); }
static void put_u64(struct msg *m, uint64_t v) { put_bytes(m, &v, sizeof(v)); }

/* A byte string from the command line (may contain NUL bytes). */
struct bstr {
    char *p;
    size_t n;
};

/* 9p string: u16 length + bytes.  Longer strings cannot be encoded. */
static void put_str(struct msg *m, const struct bstr *s)
{
    if (s->n > UINT16_MAX) {
        m->overflow = true;
        return;
    }
    put_u16(m, (uint16_t)s->n);
    put_bytes(m, s->p, s->n);
}

/* ------------------------------------------------------------ state */

static int sock = -1;               /* our end of the helper's socket */
static int timeout_ms = 5000;       /* per reply (and per blocked send) */
static bool no_reply_next;          /* "no-reply": send the next request only */
static int inotify_fd = -1;         /* --watch: opens seen in the export */
static pid_t helper_pid = -1;       /* --spawn: the helper's pid */
static unsigned req_no;             /* sequence number printed on REQ lines */
static char self_exe[PATH_MAX];     /* our own binary, for write-self */

#define MAX_SLOTS 64
static int slots[MAX_SLOTS + 1];    /* received fds, fd#1 .. fd#MAX_SLOTS */
static int nslots;

/* ------------------------------------------------------------ helpers */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
                                                      noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("proxyclient: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* Symbolic errno name ("ENOENT"), falling back to the number. */
static const char *errname(int e)
{
    static char buf[32];
    const char *n = strerrorname_np(e);

    if (n)
        return n;
    snprintf(buf, sizeof(buf), "E#%d", e);
    return buf;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Print a byte string readably: printable ASCII as is, the rest as \xNN,
 * at most `max` bytes of it, with the full length when it was cut.
 */
static void print_escaped(FILE *f, const char *p, size_t n, size_t max)
{
    size_t i, shown = n < max ? n : max;

    fputc('"', f);
    for (i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (isprint(c))
            fputc(c, f);
        else
            fprintf(f, "\\x%02x", c);
    }
    fputc('"', f);
    if (shown < n)
        fprintf(f, "...(len=%zu)", n);
}

/*
 * Decode a command-line argument into bytes: C escapes \\ \0 \n \t \xNN,
 * so that paths with embedded NUL bytes can be sent.
 */
static struct bstr decode_arg(const char *a)
{
    struct bstr s;
    size_t len = strlen(a);

    s.p = malloc(len + 1);
    if (!s.p)
        die("out of memory");
    s.n = 0;
    while (*a) {
        if (*a != '\\' || !a[1]) {
            s.p[s.n++] = *a++;
            continue;
        }
        a++;
        switch (*a) {
        case '0': s.p[s.n++] = '\0'; a++; break;
        case 'n': s.p[s.n++] = '\n'; a++; break;
        case 't': s.p[s.n++] = '\t'; a++; break;
        case '\\': s.p[s.n++] = '\\'; a++; break;
        case 'x':
            if (isxdigit((unsigned char)a[1]) &&
                isxdigit((unsigned char)a[2])) {
                char hex[3] = { a[1], a[2], 0 };

                s.p[s.n++] = (char)strtoul(hex, NULL, 16);
                a += 3;
                break;
            }
            /* not an escape: keep the backslash */
            __attribute__((fallthrough));
        default:
            s.p[s.n++] = '\\';
            break;
        }
    }
    s.p[s.n] = '\0';
    return s;
}

/* Integers: decimal, 0x hex, leading 0 octal, negative allowed. */
static long long parse_num(const char *a, const char *what)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(a, &end, 0);
    if (errno || *end || end == a)
        die("bad %s: '%s'", what, a);
    return v;
}

/* Modes are octal; an optional type letter gives S_IF* (c b p s f d). */
static uint32_t parse_mode(const char *a)
{
    uint32_t type = 0;
    char *end;
    unsigned long v;

    switch (*a) {
    case 'c': type = S_IFCHR; a++; break;
    case 'b': type = S_IFBLK; a++; break;
    case 'p': type = S_IFIFO; a++; break;
    case 's': type = S_IFSOCK; a++; break;
    case 'f': type = S_IFREG; a++; break;
    case 'd': type = S_IFDIR; a++; break;
    }
    errno = 0;
    v = strtoul(a, &end, 8);
    if (errno || *end || end == a)
        die("bad mode: '%s'", a);
    return type | (uint32_t)v;
}

/* Device numbers: "MAJ:MIN" or a raw number. */
static uint64_t parse_rdev(const char *a)
{
    unsigned maj, min;
    char c;

    if (sscanf(a, "%u:%u%c", &maj, &min, &c) == 2)
        return makedev(maj, min);
    return (uint64_t)parse_num(a, "rdev");
}

/* open(2) flags: names joined by '|' (rdonly|creat|excl), or a number. */
static uint32_t parse_flags(const char *a)
{
    static const struct { const char *name; int flag; } names[] = {
        { "rdonly", O_RDONLY }, { "wronly", O_WRONLY }, { "rdwr", O_RDWR },
        { "creat", O_CREAT }, { "excl", O_EXCL }, { "trunc", O_TRUNC },
        { "append", O_APPEND }, { "nonblock", O_NONBLOCK },
        { "directory", O_DIRECTORY }, { "nofollow", O_NOFOLLOW },
        { "path", O_PATH }, { "noctty", O_NOCTTY }, { "tmpfile", O_TMPFILE },
        { "cloexec", O_CLOEXEC }, { "sync", O_SYNC }, { "noatime", O_NOATIME },
    };
    uint32_t flags = 0;
    char *copy, *tok, *save = NULL;
    size_t i;

    if (isdigit((unsigned char)*a) || *a == '-')
        return (uint32_t)parse_num(a, "flags");
    copy = strdup(a);
    if (!copy)
        die("out of memory");
    for (tok = strtok_r(copy, "|,", &save); tok;
         tok = strtok_r(NULL, "|,", &save)) {
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (!strcmp(tok, names[i].name))
                break;
        if (i == sizeof(names) / sizeof(names[0]))
            die("unknown open flag '%s'", tok);
        flags |= (uint32_t)names[i].flag;
    }
    free(copy);
    return flags;
}

static const char *type_name(mode_t m)
{
    switch (m & S_IFMT) {
    case S_IFREG: return "reg";
    case S_IFDIR: return "dir";
    case S_IFLNK: return "lnk";
    case S_IFCHR: return "chr";
    case S_IFBLK: return "blk";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "sock";
    default: return "?";
    }
}

/* ------------------------------------------------------------ transport */

/*
 * Wait until the socket is readable/writable, at most timeout_ms.
 * Returns 1 when ready, 0 on timeout.
 */
static int wait_fd(int fd, short events, int ms)
{
    struct pollfd p = { .fd = fd, .events = events };
    long long deadline = now_ms() + ms;
    int r;

    for (;;) {
        long long left = deadline - now_ms();

        if (left < 0)
            left = 0;
        r = poll(&p, 1, (int)left);
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return 1;               /* let the read/write report it */
    }
}

/* Result of a transport operation. */
enum xfer { XF_OK, XF_EOF, XF_TIMEOUT, XF_ERRNO };

static enum xfer send_all(const void *p, size_t n, int *err, size_t *sent)
{
    const unsigned char *b = p;

    *sent = 0;

    while (n) {
        ssize_t w;

        if (!wait_fd(sock, POLLOUT, timeout_ms))
            return XF_TIMEOUT;
        w = send(sock, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            *err = errno;
            return XF_ERRNO;
        }
        b += w;
        n -= (size_t)w;
        *sent += (size_t)w;
    }
    return XF_OK;
}

static enum xfer recv_all(void *p, size_t n, int *err)
{
    unsigned char *b = p;

    while (n) {
        ssize_t r;

        if (!wait_fd(sock, POLLIN, timeout_ms))
            return XF_TIMEOUT;
        r = recv(sock, b, n, MSG_DONTWAIT);
        if (r == 0)
            return XF_EOF;
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            *err = errno;
            return XF_ERRNO;
        }
        b += r;
        n -= (size_t)r;
    }
    return XF_OK;
}

static void print_xfer(enum xfer x, int err)
{
    switch (x) {
    case XF_EOF: printf("EOF"); break;
    case XF_TIMEOUT: printf("TIMEOUT"); break;
    case XF_ERRNO: printf("%s", errname(err)); break;
    case XF_OK: break;
    }
}

/* Drain --watch events (IN_OPEN in the export) after each request. */
static void drain_watch(void)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;

    if (inotify_fd < 0)
        return;
    /* Give the kernel a moment to queue events of the last request. */
    wait_fd(inotify_fd, POLLIN, 50);
    while ((n = read(inotify_fd, buf, sizeof(buf))) > 0) {
        char *p = buf;

        while (p < buf + n) {
            struct inotify_event *ev = (struct inotify_event *)p;

            if (ev->mask & IN_OPEN) {
                printf("WATCH open ");
                print_escaped(stdout, ev->len ? ev->name : ".",
                              ev->len ? strlen(ev->name) : 1, 80);
                printf("\n");
            }
            p += sizeof(*ev) + ev->len;
        }
    }
}

/* ------------------------------------------------------------ replies */

/* Describe an fd received (or opened locally): fstat and the first bytes. */
static void describe_fd(int fd)
{
    struct stat st;
    char head[32];
    ssize_t n;

    if (fstat(fd, &st) < 0) {
        printf(" fstat=%s", errname(errno));
        return;
    }
    printf(" dev=%ju ino=%ju mode=0%o type=%s uid=%u gid=%u size=%jd nlink=%ju",
           (uintmax_t)st.st_dev, (uintmax_t)st.st_ino, (unsigned)st.st_mode,
           type_name(st.st_mode), (unsigned)st.st_uid, (unsigned)st.st_gid,
           (intmax_t)st.st_size, (uintmax_t)st.st_nlink);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
        printf(" rdev=%u:%u", major(st.st_rdev), minor(st.st_rdev));
    if (S_ISDIR(st.st_mode))
        return;
    /* The "read" part of an escape: what can we read through it? */
    n = pread(fd, head, sizeof(head), 0);
    if (n < 0 && errno == ESPIPE)
        n = read(fd, head, sizeof(head));
    if (n < 0) {
        printf(" head=%s", errname(errno));
    } else {
        printf(" head=");
        print_escaped(stdout, head, (size_t)n, sizeof(head));
    }
}

static int keep_fd(int fd)
{
    if (nslots >= MAX_SLOTS) {
        close(fd);
        return 0;
    }
    slots[++nslots] = fd;
    return nslots;
}

/* OPEN/CREATE: one int, and the fd as SCM_RIGHTS when it is FD_VALID. */
static void read_fd_reply(void)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * 4)];
    } ctl;
    struct msghdr mh;
    struct iovec iov;
    struct cmsghdr *c;
    int data = 0, fd = -1, err = 0;
    size_t got = 0;

    while (got < sizeof(data)) {
        ssize_t r;

        if (!wait_fd(sock, POLLIN, timeout_ms)) {
            printf("TIMEOUT");
            return;
        }
        memset(&mh, 0, sizeof(mh));
        iov.iov_base = (char *)&data + got;
        iov.iov_len = sizeof(data) - got;
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof(ctl.buf);
        r = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (r == 0) {
            printf("EOF");
            return;
        }
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            err = errno;
            printf("%s", errname(err));
            return;
        }
        got += (size_t)r;
        for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
                c->cmsg_len >= CMSG_LEN(sizeof(int)))
                memcpy(&fd, CMSG_DATA(c), sizeof(int));
    }
    if (data != FD_VALID) {
        if (fd >= 0)
            close(fd);
        if (data < 0)
            printf("%s", errname(-data));
        else
            printf("PROTO status=%d", data);
        return;
    }
    if (fd < 0) {
        printf("PROTO fd-valid-without-fd");
        return;
    }
    printf("ok fd#%d", keep_fd(fd));
    describe_fd(fd);
}

/* Status calls: header {0|1, 4} + int. */
static void read_status_reply(void)
{
    uint32_t hdr[2];
    int32_t status;
    int err = 0;
    enum xfer x;

    x = recv_all(hdr, sizeof(hdr), &err);
    if (x != XF_OK) {
        print_xfer(x, err);
        return;
    }
    if (hdr[1] != sizeof(status)) {
        printf("PROTO type=%u size=%u", hdr[0], hdr[1]);
        return;
    }
    x = recv_all(&status, sizeof(status), &err);
    if (x != XF_OK) {
        print_xfer(x, err);
        return;
    }
    if (status < 0)
        printf("%s", errname(-status));
    else
        printf("ok");
}

/* Scalars in a reply buffer, in host byte order (the helper does no byte swapping). */
static uint64_t get_u64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t get_u32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t get_u16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }

/* Query calls: header {0, n} + result, or {1, 4} + -errno. */
static void read_response_reply(uint32_t type)
{
    static unsigned char buf[BUF_SZ];
    uint32_t hdr[2];
    int err = 0;
    enum xfer x;

    x = recv_all(hdr, sizeof(hdr), &err);
    if (x != XF_OK) {
        print_xfer(x, err);
        return;
    }
    if (hdr[1] > MAX_PAYLOAD) {
        printf("PROTO type=%u size=%u", hdr[0], hdr[1]);
        return;
    }
    x = recv_all(buf, hdr[1], &err);
    if (x != XF_OK) {
        print_xfer(x, err);
        return;
    }
    if (hdr[0] == P_ERROR) {
        int32_t st = hdr[1] >= 4 ? (int32_t)get_u32(buf) : 0;

        printf("%s", st < 0 ? errname(-st) : "PROTO error-without-errno");
        return;
    }
    if (hdr[0] != P_SUCCESS) {
        printf("PROTO type=%u size=%u", hdr[0], hdr[1]);
        return;
    }
    switch (type) {
    case P_LSTAT:
        /* qqq ddd qqqqqqqqqq: dev ino nlink | mode uid gid | rdev size
         * blksize blocks atime atime_ns mtime(+84) mtime_ns ctime ctime_ns */
        if (hdr[1] < 3 * 8 + 3 * 4 + 10 * 8) {
            printf("PROTO short-stat size=%u", hdr[1]);
            return;
        }
        {
            uint32_t mode = get_u32(buf + 24);
            uint64_t rdev = get_u64(buf + 36);

            printf("ok dev=%" PRIu64 " ino=%" PRIu64 " nlink=%" PRIu64
                   " mode=0%o type=%s uid=%u gid=%u size=%" PRIu64
                   " mtime=%" PRIu64,
                   get_u64(buf), get_u64(buf + 8), get_u64(buf + 16),
                   mode, type_name(mode), get_u32(buf + 28),
                   get_u32(buf + 32), get_u64(buf + 44), get_u64(buf + 84));
            if (S_ISCHR(mode) || S_ISBLK(mode))
                printf(" rdev=%u:%u", major(rdev), minor(rdev));
        }
        break;
    case P_STATFS:
        if (hdr[1] < 11 * 8) {
            printf("PROTO short-statfs size=%u", hdr[1]);
            return;
        }
        printf("ok f_type=0x%" PRIx64 " bsize=%" PRIu64 " namelen=%" PRIu64,
               get_u64(buf), get_u64(buf + 8), get_u64(buf + 72));
        break;
    case P_GETVERSION:
        if (hdr[1] < 8) {
            printf("PROTO short-version size=%u", hdr[1]);
            return;
        }
        /* hex: the kernel fills only the low 32 bits (i_generation) */
        printf("ok version=0x%016" PRIx64, get_u64(buf));
        break;
    case P_READLINK:
    case P_LGETXATTR:
    case P_LLISTXATTR:
        if (hdr[1] == 4) {
            /* size 0 request: only the length is answered */
            printf("ok value-size=%d", (int32_t)get_u32(buf));
            break;
        }
        if (hdr[1] < 2 || (size_t)get_u16(buf) + 2 > hdr[1]) {
            printf("PROTO bad-string size=%u", hdr[1]);
            return;
        }
        printf("ok len=%u value=", get_u16(buf));
        print_escaped(stdout, (const char *)buf + 2, get_u16(buf), 96);
        break;
    default:
        printf("ok size=%u", hdr[1]);
        break;
    }
}

/* Unknown types: the helper should hang up; report whatever happens. */
static void read_any_reply(void)
{
    unsigned char buf[256];
    int err = 0;
    ssize_t r;

    if (!wait_fd(sock, POLLIN, timeout_ms)) {
        printf("TIMEOUT");
        return;
    }
    r = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);
    if (r == 0) {
        printf("EOF");
    } else if (r < 0) {
        err = errno;
        printf("%s", errname(err));
    } else {
        printf("DATA %zd bytes", r);
    }
}

/*
 * Send header + payload, then read the reply of the kind `type` implies.
 * The header's size and type are passed separately so that raw messages
 * can lie about them.
 *
 * Header and payload go out in ONE send(): with two, a helper that hangs
 * up on a bad header could close between them, and the same request
 * would end in EPIPE (payload not sent) or EOF/ECONNRESET (sent) by
 * chance. In one piece the helper sees the whole message or none of it
 * (a stream socket queues a send of this size whole, and the helper can
 * only close after reading some of it), so a request that makes the
 * helper hang up always reads its verdict (EOF, or ECONNRESET when it
 * left bytes unread), and only later sends see EPIPE.
 */
static void transact(uint32_t type, uint32_t claimed_size,
                     const struct msg *m, enum reply_kind kind)
{
    static unsigned char wire[HDR_SZ + BUF_SZ];
    uint32_t hdr[2] = { type, claimed_size };
    size_t sent = 0;
    int err = 0;
    enum xfer x;

    if (m->overflow) {
        printf("LOCAL-TOO-LONG (not sent)\n");
        return;
    }
    memcpy(wire, hdr, HDR_SZ);
    memcpy(wire + HDR_SZ, m->buf, m->len);
    x = send_all(wire, HDR_SZ + m->len, &err, &sent);
    if (x == XF_ERRNO && sent > 0 && (err == EPIPE || err == ECONNRESET)) {
        /* A message larger than one socket buffer goes out in pieces,
         * and the helper hung up after reading part of it: report its
         * verdict as for any other hang-up, not which piece we were at. */
        read_any_reply();
        printf("\n");
        fflush(stdout);
        drain_watch();
        return;
    }
    if (x == XF_OK && no_reply_next) {
        /* the caller observes the helper otherwise (expect-blocked) */
        no_reply_next = false;
        printf("sent\n");
        fflush(stdout);
        drain_watch();
        return;
    }
    if (x != XF_OK) {
        print_xfer(x, err);
        printf("\n");
        drain_watch();
        return;
    }
    switch (kind) {
    case R_FD: read_fd_reply(); break;
    case R_STATUS: read_status_reply(); break;
    case R_RESPONSE: read_response_reply(type); break;
    case R_NONE: read_any_reply(); break;
    }
    printf("\n");
    fflush(stdout);
    drain_watch();
}

/* ------------------------------------------------------------ commands */

/* Print the start of a REQ line: sequence number, op, then args. */
static void req_begin(const char *op)
{
    printf("REQ %u %s", ++req_no, op);
}

static void arg_str(const struct bstr *s)
{
    putchar(' ');
    print_escaped(stdout, s->p, s->n, 48);
}

static void arg_txt(const char *t) { printf(" %s", t); }

static void req_arrow(void)
{
    printf(" -> ");
    fflush(stdout);
}

static int slot_fd(const char *a)
{
    long long k = parse_num(a[0] == '#' ? a + 1 : a, "fd slot");

    if (k < 1 || k > nslots)
        die("no fd slot %lld", k);
    return slots[k];
}

/*
 * Raw payload spec: comma-separated parts
 *   u16:N u32:N u64:N   scalars in host byte order
 *   s:TEXT              a proper 9p string (u16 length + bytes)
 *   str:TEXT            bytes only (escapes allowed)
 *   fill:N              N bytes of 'A'
 *   hex:HHHH...         bytes given in hex
 */
static void build_raw(struct msg *m, const char *spec)
{
    char *copy = strdup(spec), *tok, *save = NULL;

    if (!copy)
        die("out of memory");
    for (tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *v = strchr(tok, ':');

        if (!v)
            die("bad payload part '%s'", tok);
        *v++ = '\0';
        if (!strcmp(tok, "u16")) {
            put_u16(m, (uint16_t)parse_num(v, "u16"));
        } else if (!strcmp(tok, "u32")) {
            put_u32(m, (uint32_t)parse_num(v, "u32"));
        } else if (!strcmp(tok, "u64")) {
            put_u64(m, (uint64_t)parse_num(v, "u64"));
        } else if (!strcmp(tok, "s") || !strcmp(tok, "str")) {
            struct bstr b = decode_arg(v);

            if (tok[1] == '\0')
                put_str(m, &b);
            else
                put_bytes(m, b.p, b.n);
            free(b.p);
        } else if (!strcmp(tok, "fill")) {
            long long n = parse_num(v, "fill");

            while (n-- > 0 && !m->overflow)
                put_bytes(m, "A", 1);
        } else if (!strcmp(tok, "hex")) {
            size_t i, l = strlen(v);

            for (i = 0; i + 1 < l; i += 2) {
                char h[3] = { v[i], v[i + 1], 0 };
                unsigned char c = (unsigned char)strtoul(h, NULL, 16);

                put_bytes(m, &c, 1);
            }
        } else {
            die("bad payload part '%s'", tok);
        }
    }
    free(copy);
}

/* Helper liveness as seen from /proc (works after dropping privileges). */
static void print_helper_state(void)
{
    char path[64], buf[512], *p;
    FILE *f;

    if (helper_pid < 0) {
        printf("unknown");
        return;
    }
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)helper_pid);
    f = fopen(path, "r");
    if (!f) {
        printf("gone");
        return;
    }
    p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
    fclose(f);
    if (!p || !p[1] || !p[2]) {
        printf("unknown");
        return;
    }
    if (p[2] == 'Z' || p[2] == 'X')
        printf("exited");
    else
        printf("running state=%c", p[2]);
}

/* The syscall numbers that "expect-blocked WHAT" accepts. */
static bool syscall_is(long nr, const char *what)
{
    if (!strcmp(what, "read"))
        return nr == SYS_read || nr == SYS_recvmsg || nr == SYS_recvfrom;
    if (!strcmp(what, "openat"))
        return nr == SYS_openat;
    die("expect-blocked: read or openat, not %s", what);
    return false;
}

/*
 * expect-blocked WHAT: wait until the helper sleeps in the syscall WHAT
 * (read: a read of the socket; openat) while no reply is waiting on our
 * socket. That is the event a "the helper hangs" attempt waits for,
 * instead of a short reply timeout that expires: the timeout here is only
 * a guard, and expiring is a failure ("not blocked: ..."). Reads
 * /proc/PID/syscall, which needs root (no --user).
 */
static void expect_blocked(const char *what)
{
    long long deadline = now_ms() + timeout_ms;
    char path[64], buf[512], state = '?', *p;
    long nr = -2;
    FILE *f;

    if (helper_pid < 0) {
        printf("unknown (no helper of ours)");
        return;
    }
    for (;;) {
        struct pollfd pfd = { .fd = sock, .events = POLLIN };

        state = '?';
        nr = -2;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)helper_pid);
        if ((f = fopen(path, "r"))) {
            if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] && p[2])
                state = p[2];
            fclose(f);
        }
        snprintf(path, sizeof(path), "/proc/%d/syscall", (int)helper_pid);
        if ((f = fopen(path, "r"))) {
            if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%ld", &nr) != 1)
                nr = -2;            /* "running" or unreadable */
            fclose(f);
        }
        if (poll(&pfd, 1, 0) > 0) {
            printf("not blocked: a reply or hang-up is waiting");
            return;
        }
        if (state == 'S' && nr >= 0 && syscall_is(nr, what)) {
            printf("blocked in %s", what);
            return;
        }
        if (state == 'Z' || state == '?' || now_ms() >= deadline)
            break;
        usleep(10000);
    }
    printf("not blocked: state=%c syscall=%ld", state, nr);
}

/* Copy our own executable into fd (to build a set-id binary in the export). */
/* Copy the file PATH (opened as ourselves, after --user) into fd */
static void write_file(int fd, const char *path)
{
    char buf[65536];
    int in = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    size_t total = 0;

    if (in < 0) {
        printf("%s", errname(errno));
        return;
    }
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        if (write(fd, buf, (size_t)n) != n) {
            printf("%s", errname(errno));
            close(in);
            return;
        }
        total += (size_t)n;
    }
    close(in);
    printf("ok wrote=%zu", total);
}

static void write_self(int fd)
{
    write_file(fd, self_exe);
}

/*
 * execveat(dirfd, name, ["proxyclient", "--whoami"]) in a child and report
 * the identity it ran with: this is how a set-id file in the export would
 * be used by a QEMU that can exec.
 */
static void local_execat(int dirfd, const struct bstr *name)
{
    int pfd[2];
    pid_t pid;
    char out[256];
    ssize_t n;
    size_t got = 0;
    int status;
    long long deadline;

    if (pipe2(pfd, O_CLOEXEC) < 0) {
        printf("%s", errname(errno));
        return;
    }
    pid = fork();
    if (pid < 0) {
        printf("%s", errname(errno));
        return;
    }
    if (pid == 0) {
        char *argv[] = { (char *)"proxyclient", (char *)"--whoami", NULL };
        char *envp[] = { NULL };

        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        syscall(SYS_execveat, dirfd, name->p, argv, envp, 0);
        printf("EXEC-FAILED %s\n", errname(errno));
        _exit(127);
    }
    close(pfd[1]);
    deadline = now_ms() + timeout_ms;
    while (got < sizeof(out) - 1) {
        long long left = deadline - now_ms();

        if (left <= 0 || !wait_fd(pfd[0], POLLIN, (int)left))
            break;
        n = read(pfd[0], out + got, sizeof(out) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(pfd[0]);
    out[got] = '\0';
    while (got && out[got - 1] == '\n')
        out[--got] = '\0';
    if (waitpid(pid, &status, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        printf("ok ");
    else
        printf("FAILED ");
    printf("out=");
    print_escaped(stdout, out, got, 200);
}

/* --steal PID:FD: a copy of another process's fd, e.g. QEMU's end of the
 * socket to a helper libvirt started.  The copy shares the open file
 * description (and its O_NONBLOCK flag) with the original. */
static int steal_fd(const char *spec)
{
    char *colon = strchr(spec, ':');
    long pid, fd;
    int pidfd, got;

    if (!colon)
        die("--steal wants PID:FD, not '%s'", spec);
    *colon = '\0';
    pid = parse_num(spec, "pid");
    fd = parse_num(colon + 1, "fd");
    pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    if (pidfd < 0)
        die("pidfd_open(%ld): %s", pid, strerror(errno));
    got = (int)syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0);
    if (got < 0)
        die("pidfd_getfd(%ld, %ld): %s", pid, fd, strerror(errno));
    close(pidfd);
    printf("STOLE pid=%ld fd=%ld as fd %d\n", pid, fd, got);
    return got;
}

static void usage(void)
{
    fputs(
"usage: proxyclient (--fd N | --steal PID:FD | --spawn HELPER --export DIR)\n"
"                   [options] -- CMD...\n"
"       proxyclient --whoami\n"
"options: --helper-log FILE  --user UID:GID  --no-new-privs  --timeout SEC\n"
"         --watch DIR (report IN_OPEN events of DIR's entries)\n"
"commands (strings take C escapes \\0 \\xNN; modes octal with type letter\n"
"c b p s f d; flags like rdonly|creat|excl; rdev MAJ:MIN; fd slots #K):\n"
"  open PATH FLAGS                 create PATH FLAGS MODE UID GID\n"
"  mknod PATH MODE RDEV UID GID    mkdir PATH MODE UID GID\n"
"  symlink TARGET PATH UID GID     link OLD NEW\n"
"  lstat PATH   statfs PATH   readlink PATH SIZE   getversion PATH\n"
"  chmod PATH MODE   chown PATH UID GID   truncate PATH LEN   utime PATH SEC\n"
"  rename OLD NEW   remove PATH\n"
"  lsetxattr PATH NAME VALUE SIZE|- FLAGS   lgetxattr PATH NAME SIZE\n"
"  llistxattr PATH SIZE   lremovexattr PATH NAME\n"
"  raw TYPE SIZE|auto PAYLOAD      (PAYLOAD: u16:N,u32:N,u64:N,s:TXT,str:TXT,\n"
"                                   fill:N,hex:HH..; '-' for none)\n"
"  expect-eof   helper-status   sleep MS   close #K\n"
"  no-reply (the next request: send only)   expect-blocked read|openat\n"
"  local-openat #K NAME FLAGS      (openat on a received dir fd, as ourselves)\n"
"  write-self #K   write-file #K PATH   local-execat #K NAME\n", stderr);
    exit(2);
}

/* Number of arguments each command takes. */
static int cmd_argc(const char *c)
{
    static const struct { const char *name; int argc; } cmds[] = {
        { "open", 2 }, { "create", 5 }, { "mknod", 5 }, { "mkdir", 4 },
        { "symlink", 4 }, { "link", 2 }, { "lstat", 1 }, { "statfs", 1 },
        { "readlink", 2 }, { "getversion", 1 }, { "chmod", 2 },
        { "chown", 3 }, { "truncate", 2 }, { "utime", 2 }, { "rename", 2 },
        { "remove", 1 }, { "lsetxattr", 5 }, { "lgetxattr", 3 },
        { "llistxattr", 2 }, { "lremovexattr", 2 }, { "raw", 3 },
        { "expect-eof", 0 }, { "helper-status", 0 },
        { "no-reply", 0 }, { "expect-blocked", 1 }, { "sleep", 1 },
        { "close", 1 }, { "local-openat", 3 }, { "write-self", 1 },
        { "write-file", 2 }, { "local-execat", 2 },
    };
    size_t i;

    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(c, cmds[i].name))
            return cmds[i].argc;
    return -1;
}

/* Run one command with its arguments a[0..]. */
static void run_cmd(const char *c, char **a)
{
    struct msg *m = calloc(1, sizeof(*m));
    struct bstr s1 = { 0 }, s2 = { 0 }, s3 = { 0 };
    uint32_t type = 0;

    if (!m)
        die("out of memory");

    if (!strcmp(c, "open")) {
        /* OPEN: s path, d flags */
        s1 = decode_arg(a[0]);
        req_begin(c); arg_str(&s1); arg_txt(a[1]); req_arrow();
        put_str(m, &s1);
        put_u32(m, parse_flags(a[1]));
        type = P_OPEN;
    } else if (!strcmp(c, "create")) {
        /* CREATE: s path, d flags, d mode, d uid, d gid */
        s1 = decode_arg(a[0]);
        req_begin(c); arg_str(&s1);
        arg_txt(a[1]); arg_txt(a[2]); arg_txt(a[3]); arg_txt(a[4]);
        req_arrow();
        put_str(m, &s1);
        put_u32(m, parse_flags(a[1]));
        put_u32(m, parse_mode(a[2]));
        put_u32(m, (uint32_t)parse_num(a[3], "uid"));
        put_u32(m, (uint32_t)parse_num(a[4], "gid"));
        type = P_CREATE;
    } else if (!strcmp(c, "mknod")) {
        /* MKNOD: d uid, d gid, s path, d mode, q rdev */
        s1 = decode_arg(a[0]);
        req_begin(c); arg_str(&s1);
        arg_txt(a[1]); arg_txt(a[2]); arg_txt(a[3]); arg_txt(a[4]);
        req_arrow();
        put_u32(m, (uint32_t)parse_num(a[3], "uid"));
        put_u32(m, (uint32_t)parse_num(a[4], "gid"));
        put_str(m, &s1);
        put_u32(m, parse_mode(a[1]));
        put_u64(m, parse_rdev(a[2]));
        type = P_MKNOD;
    } else if (!strcmp(c, "mkdir")) {
        /* MKDIR: d uid, d gid, s path, d mode */
        s1 = decode_arg(a[0]);
        req_begin(c); arg_str(&s1); arg_txt(a[1]); arg_txt(a[2]);
        arg_txt(a[3]); req_arrow();
        put_u32(m, (uint32_t)parse_num(a[2], "uid"));
        put_u32(m, (uint32_t)parse_num(a[3], "gid"));
        put_str(m, &s1);
        put_u32(m, parse_mode(a[1]));
        type = P_MKDIR;
    } else if (!strcmp(c, "symlink")) {
        /* SYMLINK: d uid, d gid, s target, s linkpath */
        s1 = decode_arg(a[0]);
        s2 = decode_arg(a[1]);
        req_begin(c); arg_str(&s1); arg_str(&s2); arg_txt(a[2]);
        arg_txt(a[3]); req_arrow();
        put_u32(m, (uint32_t)parse_num(a[2], "uid"));
        put_u32(m, (uint32_t)parse_num(a[3], "gid"));
        put_str(m, &s1);
        put_str(m, &s2);
        type = P_SYMLINK;
    } else if (!strcmp(c, "link") || !strcmp(c, "rename")) {
        /* LINK / RENAME: s oldpath, s newpath */
        s1 = decode_arg(a[0]);
        s2 = decode_arg(a[1]);
        req_begin(c); arg_str(&s1); arg_str(&s2); req_arrow();
        put_str(m, &s1);
        put_str(m, &s2);
        type = c[0] == 'l' ? P_LINK : P_RENAME;
    } else if (!strcmp(c, "lstat") || !strcmp(c, "statfs") ||
               !strcmp(c, "remove") || !strcmp(c, "getversion")) {
        /* single path */
        s1 = decode_arg(a[0]);
        req_begin(c); arg_str(&s1); req_arrow();
        put_str(m, &s1);
        type = !strcmp(c, "lstat") ? P_LSTAT : !strcmp(c, "statfs") ? P_STATFS
             : !strcmp(c, "remove") ? P_REMOVE : P_GETVERSION;
    } else if (!strcmp(c, "readlink")) {
        /* READLINK: s path, d bufsize */
        s1 = decode_arg(a[0]);
        req_begin(c); arg_str(&s1); arg_txt(a[1]); req_arrow();
        put_str(m, &s1);
        put_u32(m, (uint32_t)parse_num(a[1], "size"));
        type = P_READLINK;
    } else if (!strcmp(c, "chmod")) {
        /* CHMOD: s path, d mode */
        s1 = decode_arg(a[0]);
        req_begin(c); arg_str(&s1); arg_txt(a[1]); req_arrow();
        put_str(m, &s1);
        put_u32(m, parse_mode(a[1]));
        type = P_CHMOD;
    } else if (!strcmp(c, "chown")) {
        /* CHOWN: s path, d uid, d gid (lchown in the helper) */
        s1 = decode_arg(a[0]);
        req_begin(c); arg_str(&s1); arg_txt(a[1]); arg_txt(a[2]);
        req_arrow();
        put_str(m, &s1);
        put_u32(m, (uint32_t)parse_num(a[1], "uid"));
        put_u32(m, (uint32_t)parse_num(a[2], "gid"));
        type = P_CHOWN;
    } else if (!strcmp(c, "truncate")) {
        /* TRUNCATE: s path, q length */
        s1 = decode_arg(a[0]);
        req_begin(c); arg_str(&s1); arg_txt(a[1]); req_arrow();
        put_str(m, &s1);
        put_u64(m, (uint64_t)parse_num(a[1], "length"));
        type = P_TRUNCATE;
    } else if (!strcmp(c, "utime")) {
        /* UTIME: s path, q atime sec, q nsec, q mtime sec, q nsec */
        uint64_t t = (uint64_t)parse_num(a[1], "time");

        s1 = decode_arg(a[0]);
        req_begin(c); arg_str(&s1); arg_txt(a[1]); req_arrow();
        put_str(m, &s1);
        put_u64(m, t); put_u64(m, 0); put_u64(m, t); put_u64(m, 0);
        type = P_UTIME;
    } else if (!strcmp(c, "lsetxattr")) {
        /* LSETXATTR: s path, s name, s value, d size, d flags.  The size is
         * sent separately from the value: "-" sends the value's length. */
        s1 = decode_arg(a[0]);
        s2 = decode_arg(a[1]);
        s3 = decode_arg(a[2]);
        req_begin(c); arg_str(&s1); arg_str(&s2); arg_str(&s3);
        arg_txt(a[3]); arg_txt(a[4]); req_arrow();
        put_str(m, &s1);
        put_str(m, &s2);
        put_str(m, &s3);
        put_u32(m, strcmp(a[3], "-") ? (uint32_t)parse_num(a[3], "size")
                                     : (uint32_t)s3.n);
        put_u32(m, (uint32_t)parse_num(a[4], "flags"));
        type = P_LSETXATTR;
    } else if (!strcmp(c, "lgetxattr")) {
        /* LGETXATTR: d size, s path, s name */
        s1 = decode_arg(a[0]);
        s2 = decode_arg(a[1]);
        req_begin(c); arg_str(&s1); arg_str(&s2); arg_txt(a[2]);
        req_arrow();
        put_u32(m, (uint32_t)parse_num(a[2], "size"));
        put_str(m, &s1);
        put_str(m, &s2);
        type = P_LGETXATTR;
    } else if (!strcmp(c, "llistxattr")) {
        /* LLISTXATTR: d size, s path */
        s1 = decode_arg(a[0]);
        req_begin(c); arg_str(&s1); arg_txt(a[1]); req_arrow();
        put_u32(m, (uint32_t)parse_num(a[1], "size"));
        put_str(m, &s1);
        type = P_LLISTXATTR;
    } else if (!strcmp(c, "lremovexattr")) {
        /* LREMOVEXATTR: s path, s name */
        s1 = decode_arg(a[0]);
        s2 = decode_arg(a[1]);
        req_begin(c); arg_str(&s1); arg_str(&s2); req_arrow();
        put_str(m, &s1);
        put_str(m, &s2);
        type = P_LREMOVEXATTR;
    } else if (!strcmp(c, "raw")) {
        /* Anything: header type and size as given, payload as built. */
        uint32_t rtype = (uint32_t)parse_num(a[0], "type");
        uint32_t size;

        if (strcmp(a[2], "-"))
            build_raw(m, a[2]);
        size = strcmp(a[1], "auto") ? (uint32_t)parse_num(a[1], "size")
                                    : (uint32_t)m->len;
        req_begin(c);
        printf(" type=%u size=%u payload=%zu", rtype, size, m->len);
        req_arrow();
        transact(rtype, size, m, reply_kind_of(rtype));
        goto out;
    } else if (!strcmp(c, "expect-eof")) {
        /* Does the helper hang up (within the timeout)? */
        req_begin(c); req_arrow();
        read_any_reply();
        printf("\n");
        goto out;
    } else if (!strcmp(c, "no-reply")) {
        no_reply_next = true;
        goto out;
    } else if (!strcmp(c, "expect-blocked")) {
        req_begin(c); arg_txt(a[0]); req_arrow();
        expect_blocked(a[0]);
        printf("\n");
        goto out;
    } else if (!strcmp(c, "helper-status")) {
        req_begin(c); req_arrow();
        print_helper_state();
        printf("\n");
        goto out;
    } else if (!strcmp(c, "sleep")) {
        usleep((useconds_t)parse_num(a[0], "ms") * 1000);
        goto out;
    } else if (!strcmp(c, "close")) {
        close(slot_fd(a[0]));
        goto out;
    } else if (!strcmp(c, "local-openat")) {
        /* openat(2) by this process on a directory fd the helper gave us:
         * what a compromised QEMU can reach with its own credentials. */
        int dfd = slot_fd(a[0]), fd;

        s1 = decode_arg(a[1]);
        req_begin(c); arg_txt(a[0]); arg_str(&s1); arg_txt(a[2]);
        req_arrow();
        fd = openat(dfd, s1.p, (int)parse_flags(a[2]) | O_CLOEXEC);
        if (fd < 0) {
            printf("%s", errname(errno));
        } else {
            printf("ok fd#%d", keep_fd(fd));
            describe_fd(fd);
        }
        printf("\n");
        goto out;
    } else if (!strcmp(c, "write-self")) {
        req_begin(c); arg_txt(a[0]); req_arrow();
        write_self(slot_fd(a[0]));
        printf("\n");
        goto out;
    } else if (!strcmp(c, "write-file")) {
        s1 = decode_arg(a[1]);
        req_begin(c); arg_txt(a[0]); arg_str(&s1); req_arrow();
        write_file(slot_fd(a[0]), s1.p);
        printf("\n");
        goto out;
    } else if (!strcmp(c, "local-execat")) {
        s1 = decode_arg(a[1]);
        req_begin(c); arg_txt(a[0]); arg_str(&s1); req_arrow();
        local_execat(slot_fd(a[0]), &s1);
        printf("\n");
        goto out;
    } else {
        die("unknown command '%s'", c);
    }
    transact(type, (uint32_t)m->len, m, reply_kind_of(type));
out:
    fflush(stdout);
    free(s1.p);
    free(s2.p);
    free(s3.p);
    free(m);
}

/* ------------------------------------------------------------ setup */

/* Start the helper on one end of a socketpair; keep the other end. */
static void spawn_helper(const char *helper, const char *export,
                         const char *log)
{
    int sv[2];
    char fdarg[16];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        die("socketpair: %s", strerror(errno));
    helper_pid = fork();
    if (helper_pid < 0)
        die("fork: %s", strerror(errno));
    if (helper_pid == 0) {
        /* The helper inherits only its end (cleared of CLOEXEC) and the
         * log as stdout/stderr. */
        if (log) {
            int l = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

            if (l < 0 || dup2(l, 1) < 0 || dup2(l, 2) < 0)
                _exit(126);
        }
        if (fcntl(sv[1], F_SETFD, 0) < 0)
            _exit(126);
        snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
        execl(helper, helper, "-n", "-f", fdarg, "-p", export, (char *)NULL);
        _exit(127);
    }
    close(sv[1]);
    sock = sv[0];
}

/* Become the unprivileged "QEMU": no groups, uid/gid, optionally NNP. */
static void drop_privileges(const char *user, bool nnp)
{
    if (user) {
        unsigned uid, gid;
        char c;

        if (sscanf(user, "%u:%u%c", &uid, &gid, &c) != 2)
            die("--user wants UID:GID");
        if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
            setresuid(uid, uid, uid) < 0)
            die("dropping privileges: %s", strerror(errno));
    }
    if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        die("no_new_privs: %s", strerror(errno));
}

/* Supervisor: reap the QEMU child, then the helper (kill it if it lingers). */
static int supervise(pid_t child)
{
    int status = 0, hstatus = 0;
    long long deadline;
    pid_t r;

    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    /* The helper should see EOF now that every copy of our end is closed. */
    deadline = now_ms() + timeout_ms;
    while ((r = waitpid(helper_pid, &hstatus, WNOHANG)) == 0 &&
           now_ms() < deadline)
        usleep(20000);
    if (r == 0) {
        kill(helper_pid, SIGKILL);      /* our own child, by pid */
        waitpid(helper_pid, &hstatus, 0);
        printf("HELPER killed: still running %d ms after the client closed\n",
               timeout_ms);
    } else if (r > 0 && WIFEXITED(hstatus)) {
        printf("HELPER exit=%d\n", WEXITSTATUS(hstatus));
    } else if (r > 0 && WIFSIGNALED(hstatus)) {
        printf("HELPER signal=%s%s\n", sigabbrev_np(WTERMSIG(hstatus)) ?
               sigabbrev_np(WTERMSIG(hstatus)) : "?",
               WCOREDUMP(hstatus) ? " (core)" : "");
    } else {
        printf("HELPER wait=%s\n", errname(errno));
    }
    fflush(stdout);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "fd", required_argument, NULL, 'f' },
        { "steal", required_argument, NULL, 'S' },
        { "spawn", required_argument, NULL, 's' },
        { "export", required_argument, NULL, 'e' },
        { "helper-log", required_argument, NULL, 'l' },
        { "user", required_argument, NULL, 'u' },
        { "no-new-privs", no_argument, NULL, 'N' },
        { "timeout", required_argument, NULL, 't' },
        { "watch", required_argument, NULL, 'w' },
        { "whoami", no_argument, NULL, 'W' },
        { NULL, 0, NULL, 0 },
    };
    const char *helper = NULL, *export = NULL, *log = NULL, *user = NULL;
    const char *watch = NULL, *steal = NULL;
    bool nnp = false;
    int c, i, sock_flags = -1;
    pid_t child;

    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'f': sock = (int)parse_num(optarg, "fd"); break;
        case 'S': steal = optarg; break;
        case 's': helper = optarg; break;
        case 'e': export = optarg; break;
        case 'l': log = optarg; break;
        case 'u': user = optarg; break;
        case 'N': nnp = true; break;
        case 't': timeout_ms = (int)(parse_num(optarg, "timeout") * 1000); break;
        case 'w': watch = optarg; break;
        case 'W':
            /* Run as an exec'd probe: who are we? */
            printf("WHOAMI uid=%u euid=%u gid=%u egid=%u\n",
                   (unsigned)getuid(), (unsigned)geteuid(),
                   (unsigned)getgid(), (unsigned)getegid());
            return 0;
        default: usage();
        }
    }
    if ((sock >= 0) + !!steal + !!helper != 1 || (helper && !export))
        usage();

    /* Validate the whole command list before doing anything. */
    for (i = optind; i < argc; i += 1 + cmd_argc(argv[i])) {
        if (cmd_argc(argv[i]) < 0)
            die("unknown command '%s'", argv[i]);
        if (i + cmd_argc(argv[i]) >= argc)
            die("command '%s' needs %d arguments", argv[i],
                cmd_argc(argv[i]));
    }
    if (readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1) < 0)
        self_exe[0] = '\0';
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);

    if (watch) {
        inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (inotify_fd < 0 || inotify_add_watch(inotify_fd, watch, IN_OPEN) < 0)
            die("inotify on %s: %s", watch, strerror(errno));
    }

    if (helper) {
        spawn_helper(helper, export, log);
        printf("HELPER pid=%d export=%s\n", (int)helper_pid, export);
        child = fork();
        if (child < 0)
            die("fork: %s", strerror(errno));
        if (child > 0) {
            close(sock);        /* only the QEMU child keeps the socket */
            return supervise(child);
        }
    }
    if (steal) {
        sock = steal_fd(steal);
        sock_flags = fcntl(sock, F_GETFL);
    }
    /* From here on we are the compromised QEMU. */
    drop_privileges(user, nnp);
    printf("CLIENT uid=%u gid=%u nnp=%d\n", (unsigned)getuid(),
           (unsigned)getgid(), (int)prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    if (fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK) < 0)
        die("socket fd %d: %s", sock, strerror(errno));

    for (i = optind; i < argc; i += 1 + cmd_argc(argv[i]))
        run_cmd(argv[i], argv + i + 1);
    /* a stolen socket is still QEMU's: leave its flags as they were */
    if (sock_flags >= 0)
        fcntl(sock, F_SETFL, sock_flags);
    close(sock);
    return 0;
}
