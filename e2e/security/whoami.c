/*
 * whoami: the program test-hostusers.sh has a compromised QEMU plant in a
 * proxy export, set-user-ID root, for an unprivileged host user to run.
 *
 * It prints the ids it runs with, on one line, and does nothing else: it
 * reads no argument, no environment and no file, so that a copy left
 * set-user-ID root somewhere hands nobody more than the knowledge of an
 * euid.  "euid=0" with the user's own uid proves that the kernel honoured
 * the set-user-ID bit for that user.
 *
 * Build: gcc -static -O2 -Wall -Wextra -Werror -o whoami whoami.c
 */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    printf("WHOAMI uid=%u euid=%u gid=%u egid=%u\n",
           (unsigned)getuid(), (unsigned)geteuid(),
           (unsigned)getgid(), (unsigned)getegid());
    return 0;
}
