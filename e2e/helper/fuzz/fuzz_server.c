/*
 * fuzz_server.c: libFuzzer target for the request parser and dispatcher
 * of libvirt's virtfs proxy helper (src/util/virproxyproto.c and
 * src/util/virproxyserver.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * An input is what a client sends: a stream of messages (header and
 * payload). Each is framed as virProxyServerRun() frames it and handed to
 * virProxyServerHandle(), on a scratch export. After every request the
 * target checks what the helper promises:
 *
 *  - the reply is well-formed for the request's type: an fd reply is one
 *    32-bit word, an fd passed only with VIR_PROXY_PROTO_FD_VALID; a
 *    header reply's size is what follows it, an error carries 4 bytes of
 *    a negative errno;
 *  - an fd passed to the client is a regular file or a directory;
 *  - nothing outside the export changed: a canary file next to it (which
 *    symbolic links in the export point to) keeps its contents, mode,
 *    owner, times and xattrs, and so does the export's parent directory
 *    (which ".." of the export's root would be).
 *
 * Any violation aborts, which libFuzzer reports as a crash. Built by
 * build.sh, with AddressSanitizer and UndefinedBehaviorSanitizer.
 */

#include <config.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "virproxyserver.h"
#include "virproxyfd.h"

static char *base;
static char *root;
static char *canary;
static int rootfd = -1;
static virProxyServer *srv;
static virProxyServerReply reply;
static struct stat canaryst;
static struct stat basest;
static unsigned long inputs;

#define RESET_EVERY 2000

static void
die(const char *what)
{
    fprintf(stderr, "fuzz_server: %s\n", what);
    abort();
}

/* Empty the export. The fuzzer builds trees deeper than nftw() reaches
 * (paths over 4096 bytes) and takes permissions away: chmod(1) and
 * find(1) walk any depth. Their output is captured, not sent to
 * /dev/null, which a chroot may not have (stdin is inherited for the
 * same reason). */
static void
run(const char **argv)
{
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) error = NULL;

    if (!g_spawn_sync(NULL, (char **)argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_CHILD_INHERITS_STDIN,
                      NULL, NULL, &out, &err, NULL, &error)) {
        fprintf(stderr, "fuzz_server: %s: %s\n", argv[0], error->message);
        die("cannot empty the export");
    }
}

static void
emptyExport(void)
{
    const char *chmodArgv[] = { "chmod", "-R", "u+rwx", root, NULL };
    const char *findArgv[] = { "find", root, "-mindepth", "1", "-delete", NULL };

    run(chmodArgv);
    run(findArgv);
}

static void
populate(void)
{
    g_autofree char *p = NULL;

    chmod(root, 0755);
    emptyExport();

#define P(rel) (g_free(p), p = g_strdup_printf("%s/%s", root, rel))
    if (g_mkdir(P("dir"), 0755) < 0 ||
        g_mkdir(P("dir/sub"), 0755) < 0 ||
        !g_file_set_contents(P("file"), "hello\n", -1, NULL) ||
        !g_file_set_contents(P("dir/inner"), "inner\n", -1, NULL) ||
        symlink("file", P("link")) < 0 ||
        symlink("/", P("rootlink")) < 0 ||
        symlink("..", P("up")) < 0 ||
        symlink(canary, P("canarylink")) < 0 ||
        symlink("../canary", P("dir/canaryrel")) < 0 ||
        mkfifo(P("fifo"), 0666) < 0) {
        fprintf(stderr, "fuzz_server: %s: %s\n", p, g_strerror(errno));
        die("cannot populate the export");
    }
    ignore_value(setxattr(P("file"), "user.seed", "seed", 4, 0));
#undef P
}

static void
checkCanary(void)
{
    struct stat sb;
    char buf[16] = { 0 };
    int fd;

    if (lstat(canary, &sb) < 0 ||
        sb.st_ino != canaryst.st_ino || sb.st_mode != canaryst.st_mode ||
        sb.st_uid != canaryst.st_uid || sb.st_gid != canaryst.st_gid ||
        sb.st_size != canaryst.st_size ||
        sb.st_mtim.tv_sec != canaryst.st_mtim.tv_sec ||
        sb.st_mtim.tv_nsec != canaryst.st_mtim.tv_nsec)
        die("the canary outside the export changed");
    /* the export's parent: ".." of the export's root must be the root */
    if (lstat(base, &sb) < 0 ||
        sb.st_mode != basest.st_mode || sb.st_uid != basest.st_uid ||
        sb.st_gid != basest.st_gid ||
        sb.st_mtim.tv_sec != basest.st_mtim.tv_sec ||
        sb.st_mtim.tv_nsec != basest.st_mtim.tv_nsec)
        die("the export's parent changed");
    if ((fd = open(canary, O_RDONLY)) < 0 ||
        read(fd, buf, sizeof(buf)) != 7 || memcmp(buf, "canary\n", 7) != 0)
        die("the canary's contents changed");
    close(fd);
    if (listxattr(canary, buf, sizeof(buf)) > 0)
        die("the canary got xattrs");
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc G_GNUC_UNUSED,
                     char ***argv G_GNUC_UNUSED)
{
    const char *tmp = getenv("FUZZ_TMPDIR");

    base = g_strdup_printf("%s/vpfuzz.XXXXXX", tmp ? tmp : g_get_tmp_dir());
    if (!g_mkdtemp(base))
        die("cannot create a scratch directory");
    root = g_strdup_printf("%s/export", base);
    canary = g_strdup_printf("%s/canary", base);
    if (g_mkdir(root, 0755) < 0 ||
        !g_file_set_contents(canary, "canary\n", -1, NULL) ||
        lstat(canary, &canaryst) < 0)
        die("cannot set up the scratch directory");
    populate();
    if (lstat(base, &basest) < 0)
        die("cannot stat the scratch directory");

    if ((rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        die("cannot open the export");

    umask(0);
    srv = virProxyServerNew(rootfd, false, NULL, NULL);
    virProxyServerSetGetVersion(srv, true);
    return 0;
}

static void
checkReply(uint32_t type)
{
    if (virProxyProtoGetReplyKind(type) == VIR_PROXY_PROTO_REPLY_FD) {
        int32_t word;
        struct stat sb;

        if (reply.len != sizeof(word))
            die("fd reply of the wrong size");
        memcpy(&word, reply.data, sizeof(word));
        if ((word == VIR_PROXY_PROTO_FD_VALID) != (reply.fd >= 0))
            die("fd and its word disagree");
        if (word != VIR_PROXY_PROTO_FD_VALID && (word >= 0 || word < -4095))
            die("fd reply with an invalid errno");
        if (reply.fd >= 0) {
            if (fstat(reply.fd, &sb) < 0 ||
                !(S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode)))
                die("an fd of a special file was passed");
            if (sb.st_ino == canaryst.st_ino && sb.st_dev == canaryst.st_dev)
                die("the canary outside the export was opened");
            VIR_PROXY_FD_CLOSE(reply.fd);
        }
    } else {
        uint32_t rtype;
        uint32_t rsize;
        int32_t status;

        if (reply.len < VIR_PROXY_PROTO_HEADER_SIZE)
            die("reply shorter than a header");
        virProxyProtoDecodeHeader(reply.data, &rtype, &rsize);
        if (rsize != reply.len - VIR_PROXY_PROTO_HEADER_SIZE ||
            rsize > VIR_PROXY_PROTO_MAX_PAYLOAD)
            die("reply's size and length disagree");
        if (rtype != VIR_PROXY_PROTO_SUCCESS && rtype != VIR_PROXY_PROTO_ERROR)
            die("reply of an invalid type");
        if (rtype == VIR_PROXY_PROTO_ERROR) {
            if (rsize != sizeof(status))
                die("error reply of the wrong size");
            memcpy(&status, reply.data + VIR_PROXY_PROTO_HEADER_SIZE, sizeof(status));
            if (status >= 0 || status < -4095)
                die("error reply with an invalid errno");
        } else if (virProxyProtoGetReplyKind(type) == VIR_PROXY_PROTO_REPLY_STATUS &&
                   rsize != sizeof(status)) {
            die("status reply of the wrong size");
        }
        if (type == VIR_PROXY_PROTO_LSTAT && rtype == VIR_PROXY_PROTO_SUCCESS &&
            rsize != VIR_PROXY_PROTO_STAT_SIZE)
            die("lstat reply of the wrong size");
        if (type == VIR_PROXY_PROTO_STATFS && rtype == VIR_PROXY_PROTO_SUCCESS &&
            rsize != VIR_PROXY_PROTO_STATFS_SIZE)
            die("statfs reply of the wrong size");
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data,
                       size_t size)
{
    size_t off = 0;

    if (++inputs % RESET_EVERY == 0)
        populate();

    while (size - off >= VIR_PROXY_PROTO_HEADER_SIZE) {
        uint32_t type;
        uint32_t len;

        virProxyProtoDecodeHeader(data + off, &type, &len);
        off += VIR_PROXY_PROTO_HEADER_SIZE;

        /* where virProxyServerRun() closes the connection */
        if (!virProxyProtoIsRequest(type) ||
            len > VIR_PROXY_PROTO_MAX_PAYLOAD ||
            len > size - off)
            break;

        if (virProxyServerHandle(srv, type, (const char *)data + off, len, &reply) < 0)
            die("a request of a known type was refused");
        checkReply(type);
        off += len;
    }

    checkCanary();
    return 0;
}
