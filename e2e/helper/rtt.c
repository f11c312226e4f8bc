/*
 * rtt.c - the time of one request round trip through a 9p proxy helper,
 * for QEMU's and libvirt's helper in the same run.
 *
 * Usage (root): rtt ROUNDS COUNT HELPER...
 * Each HELPER is started as libvirt starts it (HELPER -n -f FD -p EXPORT)
 * on an export of its own, holding a directory "d" with a file "f". Then,
 * ROUNDS times, every helper in turn gets COUNT requests of each kind:
 *   lstat         LSTAT "//d/f"
 *   getversion    GETVERSION "//d/f" (the guest asks it with every getattr)
 *   create+remove CREATE "//d/n" by uid 0 (the fd closed at once), REMOVE
 *   create+remove as user  the same with uid and gid 1000
 * encoded as QEMU 7.2's 9p-proxy.c does (a path QEMU holds as a V9fsPath
 * with its NUL). The client is this one process, the same for every
 * helper; rounds alternate between the helpers so that a change of the
 * machine's load affects them alike. Prints per helper and kind the median
 * over the rounds of the mean time per request (CREATE+REMOVE counts as one
 * pair), in microseconds; and then, while each helper still serves, its
 * memory: VmRSS, and its private dirty part (smaps_rollup's Private_Dirty:
 * what one more helper costs; its clean pages are file pages that another
 * helper of the same kind shares), in kB.
 *
 * Built static by bench-rtt.sh; SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

enum { T_CREATE = 3, T_LSTAT = 8, T_REMOVE = 16, T_GETVERSION = 21 };
enum { K_LSTAT, K_GETVERSION, K_CREATE_ROOT, K_CREATE_USER, K_LAST };
static const char *kind_name[K_LAST] = {
    "lstat", "getversion", "create+remove", "create+remove as user",
};

#define MAX_HELPERS 4
#define MAX_ROUNDS 101

struct helper {
    const char *path;
    char base[64];      /* mkdtemp's: 0700, root's; the export below it */
    char export[64];
    int sock;
    pid_t pid;
    double us[K_LAST][MAX_ROUNDS];
};

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static size_t put32(char *p, uint32_t v) { memcpy(p, &v, 4); return 4; }

/* a 9p string; with_nul: a path QEMU has as a V9fsPath */
static size_t putstr(char *p, const char *s, int with_nul)
{
    uint16_t len = strlen(s) + (with_nul ? 1 : 0);

    memcpy(p, &len, 2);
    memcpy(p + 2, s, len);      /* the NUL, if counted, comes with it */
    return 2 + len;
}

static void send_msg(int sock, uint32_t type, const char *payload, size_t len)
{
    char buf[512];

    put32(buf, type);
    put32(buf + 4, len);
    memcpy(buf + 8, payload, len);
    if (send(sock, buf, 8 + len, MSG_NOSIGNAL) != (ssize_t)(8 + len))
        die("send");
}

static void recv_all(int sock, char *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = recv(sock, buf + got, len - got, 0);

        if (n <= 0)
            die("recv");
        got += n;
    }
}

/* a header reply (LSTAT, GETVERSION, REMOVE): header, then its payload */
static int32_t recv_reply(int sock)
{
    char buf[256];
    uint32_t hdr[2];
    int32_t status = 0;

    recv_all(sock, (char *)hdr, sizeof(hdr));
    if (hdr[1] > sizeof(buf)) {
        fprintf(stderr, "reply of %u bytes\n", hdr[1]);
        exit(1);
    }
    recv_all(sock, buf, hdr[1]);
    if (hdr[0] == 1)            /* T_ERROR */
        memcpy(&status, buf, 4);
    return status;
}

/* CREATE's reply: one 32-bit word, the fd in SCM_RIGHTS on success */
static int recv_fd(int sock)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    int32_t word;
    struct iovec iov = { &word, sizeof(word) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
    struct cmsghdr *c;
    int fd = -1;

    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != sizeof(word))
        die("recvmsg");
    for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(&fd, CMSG_DATA(c), sizeof(fd));
    }
    return word < 0 ? word : fd;
}

static void start_helper(struct helper *h)
{
    int sv[2];
    char fdarg[16];

    /* below a directory only root can search, as libvirt's helper wants
     * an export it is started on by hand (unless told otherwise) */
    snprintf(h->base, sizeof(h->base), "/tmp/rtt.XXXXXX");
    if (!mkdtemp(h->base))
        die("mkdtemp");
    snprintf(h->export, sizeof(h->export), "%s/export", h->base);
    if (mkdir(h->export, 0777) < 0 || chmod(h->export, 0777) < 0)
        die("mkdir export");
    {
        char p[128];

        snprintf(p, sizeof(p), "%s/d", h->export);
        if (mkdir(p, 0777) < 0)
            die("mkdir");
        snprintf(p, sizeof(p), "%s/d/f", h->export);
        close(open(p, O_CREAT | O_WRONLY, 0644));
    }
    /* close-on-exec: a helper started later must not hold this one's
     * client end, or this one never sees its client close */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        die("socketpair");
    h->pid = fork();
    if (h->pid < 0)
        die("fork");
    if (h->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);

        dup2(devnull, 2);
        if (fcntl(sv[1], F_SETFD, 0) < 0)
            _exit(127);
        snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
        execl(h->path, h->path, "-n", "-f", fdarg, "-p", h->export, (char *)NULL);
        _exit(127);
    }
    close(sv[1]);
    h->sock = sv[0];
    /* served once an LSTAT of the export's root is answered */
    {
        char p[64];
        size_t n = putstr(p, "/", 1);

        send_msg(h->sock, T_LSTAT, p, n);
        if (recv_reply(h->sock) != 0) {
            fprintf(stderr, "%s does not serve\n", h->path);
            exit(1);
        }
    }
}

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double run(struct helper *h, int kind, int count)
{
    char lst[64], cre[96], rem[64];
    size_t nl, nc, nr;
    uint32_t id = kind == K_CREATE_USER ? 1000 : 0;
    double t0;
    int i;

    nl = putstr(lst, "//d/f", 1);
    nc = putstr(cre, "//d/n", 0);
    nc += put32(cre + nc, O_CREAT | O_EXCL | O_WRONLY);
    nc += put32(cre + nc, 0644);
    nc += put32(cre + nc, id);
    nc += put32(cre + nc, id);
    nr = putstr(rem, "//d/n", 0);

    t0 = now_us();
    for (i = 0; i < count; i++) {
        if (kind == K_LSTAT || kind == K_GETVERSION) {
            send_msg(h->sock, kind == K_LSTAT ? T_LSTAT : T_GETVERSION, lst, nl);
            if (recv_reply(h->sock) != 0)
                goto failed;
        } else {
            int fd;

            send_msg(h->sock, T_CREATE, cre, nc);
            if ((fd = recv_fd(h->sock)) < 0)
                goto failed;
            close(fd);
            send_msg(h->sock, T_REMOVE, rem, nr);
            if (recv_reply(h->sock) != 0)
                goto failed;
        }
    }
    return (now_us() - t0) / count;

 failed:
    fprintf(stderr, "%s: %s failed\n", h->path, kind_name[kind]);
    exit(1);
}

/* the value in kB of the line starting with @key in @path, or -1 */
static long proc_kb(const char *path, const char *key)
{
    char line[256];
    long v = -1;
    FILE *f = fopen(path, "r");

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, strlen(key)) == 0) {
            v = strtol(line + strlen(key), NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static void print_memory(const struct helper *h)
{
    char status[64], rollup[64];

    snprintf(status, sizeof(status), "/proc/%d/status", (int)h->pid);
    snprintf(rollup, sizeof(rollup), "/proc/%d/smaps_rollup", (int)h->pid);
    printf("rtt: %s: memory: VmRSS %ld kB, private %ld kB\n", h->path,
           proc_kb(status, "VmRSS:"), proc_kb(rollup, "Private_Dirty:"));
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    struct helper helpers[MAX_HELPERS] = { 0 };
    int rounds, count, nh, r, k, i;

    if (argc < 4 || argc - 3 > MAX_HELPERS) {
        fprintf(stderr, "usage: rtt ROUNDS COUNT HELPER...\n");
        return 2;
    }
    rounds = atoi(argv[1]);
    count = atoi(argv[2]);
    if (rounds < 1 || rounds > MAX_ROUNDS || count < 1)
        return 2;
    nh = argc - 3;
    for (i = 0; i < nh; i++) {
        helpers[i].path = argv[3 + i];
        start_helper(&helpers[i]);
    }

    for (r = 0; r < rounds; r++)
        for (k = 0; k < K_LAST; k++)
            for (i = 0; i < nh; i++)
                helpers[i].us[k][r] = run(&helpers[i], k, count);

    for (i = 0; i < nh; i++) {
        for (k = 0; k < K_LAST; k++) {
            qsort(helpers[i].us[k], rounds, sizeof(double), cmp);
            printf("rtt: %s: %s: %.1f us\n", helpers[i].path, kind_name[k],
                   helpers[i].us[k][rounds / 2]);
        }
        print_memory(&helpers[i]);
        close(helpers[i].sock);
        waitpid(helpers[i].pid, NULL, 0);
        {
            char cmd[128];

            snprintf(cmd, sizeof(cmd), "rm -rf '%s'", helpers[i].base);
            if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", helpers[i].base);
        }
    }
    return 0;
}
