/*
 * null-helper.c - a 9p proxy "helper" that touches no file: the floor of
 * a request's round trip, for bench-rtt.sh.
 *
 * Usage: null-helper -n -f FD -p EXPORT (as rtt.c starts a helper; only
 * FD is used). It reads each request with one recv() when the request is
 * there whole (as libvirt's helper does) and answers with one write() a
 * reply of the size the real helpers send: a zeroed stat for LSTAT, a
 * zero generation for GETVERSION, an fd of /dev/null for CREATE, success
 * for anything else. No file system call, no seccomp filter, no check:
 * what it costs is what any helper pays for the socket, the two context
 * switches and the client's own work, and nothing else. Not a helper to
 * use for anything but measuring.
 *
 * Built static by bench-rtt.sh; SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

enum { T_SUCCESS = 0, T_CREATE = 3, T_LSTAT = 8, T_GETVERSION = 21 };
#define HDR 8
#define STAT_SIZE (3 * 8 + 3 * 4 + 10 * 8)

static int send_fd(int sock, int fd)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    int32_t word = 0;
    struct iovec iov = { &word, sizeof(word) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

    memset(cbuf, 0, sizeof(cbuf));
    c->cmsg_len = CMSG_LEN(sizeof(int));
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    return sendmsg(sock, &msg, MSG_NOSIGNAL) == sizeof(word) ? 0 : -1;
}

int main(int argc, char **argv)
{
    static char in[65544];
    char out[HDR + STAT_SIZE];
    size_t have = 0;
    int sock = -1, devnull, opt;

    while ((opt = getopt(argc, argv, "nf:p:")) != -1) {
        if (opt == 'f')
            sock = atoi(optarg);
        else if (opt != 'n' && opt != 'p')
            return 2;
    }
    if (sock < 0 || (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
        return 2;

    while (1) {
        uint32_t type, size, rsize;
        ssize_t n;

        /* until the request is there whole */
        while (1) {
            if (have >= HDR) {
                memcpy(&size, in + 4, 4);
                if (size > sizeof(in) - HDR)
                    return 1;
                if (have >= HDR + (size_t) size)
                    break;
            }
            if ((n = recv(sock, in + have, sizeof(in) - have, 0)) <= 0)
                return n == 0 ? 0 : 1;
            have += n;
        }
        memcpy(&type, in, 4);
        memmove(in, in + HDR + size, have - HDR - size);
        have -= HDR + size;

        if (type == T_CREATE) {
            if (send_fd(sock, devnull) < 0)
                return 1;
            continue;
        }
        rsize = type == T_LSTAT ? STAT_SIZE : type == T_GETVERSION ? 8 : 4;
        type = T_SUCCESS;
        memset(out, 0, sizeof(out));
        memcpy(out, &type, 4);
        memcpy(out + 4, &rsize, 4);
        if (write(sock, out, HDR + rsize) != (ssize_t) (HDR + rsize))
            return 1;
    }
}
