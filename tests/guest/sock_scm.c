/* SCM_RIGHTS and SCM_CREDENTIALS over AF_UNIX: passing a pipe fd and an open file to a forked
 * child, MSG_CTRUNC when the control buffer is short, fds closed with unread messages,
 * SO_PASSCRED credentials, SO_PEERCRED. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void rep(const char *what, long r) {
  printf("%s: %ld%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
}

static int send_fds(int s, const int *fds, int n, const char *data) {
  char cbuf[CMSG_SPACE(sizeof(int) * 8)];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {(void *)data, strlen(data)};
  struct msghdr m = {0};
  m.msg_iov = &iov; m.msg_iovlen = 1;
  m.msg_control = cbuf; m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int) * n);
  memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
  return sendmsg(s, &m, 0);
}

/* Receive with a control buffer of `clen` bytes; prints what arrived, returns the first fd or -1. */
static int recv_fds(int s, size_t clen, int flags, int *nfd) {
  char data[64];
  char cbuf[256];
  struct iovec iov = {data, sizeof data};
  struct msghdr m = {0};
  m.msg_iov = &iov; m.msg_iovlen = 1;
  m.msg_control = clen ? cbuf : NULL; m.msg_controllen = clen;
  ssize_t n = recvmsg(s, &m, flags);
  if (n < 0) { rep("recvmsg", n); return -1; }
  printf("recvmsg %zd '%.*s' flags=%#x controllen=%zu\n", n, (int)n, data, m.msg_flags, (size_t)m.msg_controllen);
  int first = -1;
  *nfd = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    printf("  cmsg level=%d type=%d len=%zu\n", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
    if (c->cmsg_type == SCM_RIGHTS) {
      int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (int i = 0; i < k; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        if (first < 0) first = fd;
        (*nfd)++;
        printf("  fd valid=%d cloexec=%d\n", fcntl(fd, F_GETFD) >= 0, (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
      }
    } else if (c->cmsg_type == SCM_CREDENTIALS) {
      struct ucred u;
      memcpy(&u, CMSG_DATA(c), sizeof u);
      printf("  cred pid_is_sender=%d uid=%d gid=%d\n", u.pid == getppid() || u.pid == getpid(), u.uid, u.gid);
    }
  }
  return first;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  int p[2];
  pipe(p);
  int fd = open("/tmp/sock_scm_file", O_RDWR | O_CREAT | O_TRUNC, 0600);
  write(fd, "file-contents", 13);
  lseek(fd, 5, SEEK_SET);
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    int n;
    int got = recv_fds(sv[1], 256, 0, &n);
    /* the pipe's write end: write through it */
    write(got, "via passed fd", 13);
    close(got);
    got = recv_fds(sv[1], 256, MSG_CMSG_CLOEXEC, &n);
    char b[32];
    ssize_t k = read(got, b, sizeof b);
    printf("child read passed file at shared offset: %zd '%.*s'\n", k, (int)k, b);
    _exit(0);
  }
  close(sv[1]);
  long r1 = send_fds(sv[0], &p[1], 1, "pipe");
  close(p[1]);
  int status;
  long r2 = send_fds(sv[0], &fd, 1, "file");
  waitpid(pid, &status, 0);
  printf("sent pipe: %ld, sent file: %ld\n", r1, r2);
  char b[64];
  ssize_t k = read(p[0], b, sizeof b);
  printf("parent read from pipe: %zd '%.*s'\n", k, (int)k, b);
  k = read(p[0], b, sizeof b);
  printf("pipe EOF after child closed: %zd\n", k);
  printf("file offset moved by child: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
  close(sv[0]);

  /* MSG_CTRUNC: no control buffer, the fds are dropped. (A buffer too short for all fds is
   * not compared here: qemu-user hands the kernel a larger buffer and truncates by itself.) */
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  int three[3] = {0, 1, 2};
  int n, got;
  send_fds(sv[0], three, 2, "none");
  recv_fds(sv[1], 0, 0, &n);
  /* MSG_PEEK keeps them for the real read */
  send_fds(sv[0], three, 1, "peek");
  got = recv_fds(sv[1], 256, MSG_PEEK, &n);
  close(got);
  got = recv_fds(sv[1], 256, 0, &n);
  close(got);
  /* unread message with an fd: closed with the socket, the pipe sees EOF */
  int p2[2];
  pipe(p2);
  send_fds(sv[0], &p2[1], 1, "lost");
  close(p2[1]);
  close(sv[1]);
  close(sv[0]);
  k = read(p2[0], b, sizeof b);
  printf("pipe EOF once the message died: %zd\n", k);

  /* zero bytes on a stream carry nothing, not even the fds */
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  rep("zero-byte stream send with fd", send_fds(sv[0], &sv[0], 1, ""));
  rep("nothing queued", recv(sv[1], b, sizeof b, MSG_DONTWAIT));
  close(sv[0]); close(sv[1]);
  /* the same on a datagram socket is a real (empty) message with the fd */
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  rep("zero-byte dgram send with fd", send_fds(sv[0], &sv[0], 1, ""));
  got = recv_fds(sv[1], 256, 0, &n);
  close(got);
  close(sv[0]); close(sv[1]);

  /* bad control messages */
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  int bad = 999;
  rep("send bad fd", send_fds(sv[0], &bad, 1, "x"));
  {
    char cbuf[CMSG_SPACE(4)] = {0};
    struct iovec iov = {"y", 1};
    struct msghdr m = {0};
    m.msg_iov = &iov; m.msg_iovlen = 1; m.msg_control = cbuf; m.msg_controllen = sizeof cbuf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_len = CMSG_LEN(4); c->cmsg_type = 99;
    rep("unknown SOL_SOCKET type", sendmsg(sv[0], &m, 0));
    c->cmsg_level = 6; /* another level: ignored */
    rep("other level", sendmsg(sv[0], &m, 0));
  }
  k = recv(sv[1], b, sizeof b, MSG_DONTWAIT);
  printf("queued after bad sends: %zd\n", k);

  /* SO_PASSCRED and SCM_CREDENTIALS */
  int on = 1;
  rep("SO_PASSCRED", setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
  socklen_t ol = sizeof on; on = 0;
  getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, &ol);
  printf("SO_PASSCRED=%d\n", on);
  send(sv[0], "cred", 4, 0);
  recv_fds(sv[1], 256, 0, &n);
  {
    char cbuf[CMSG_SPACE(sizeof(struct ucred))] = {0};
    struct iovec iov = {"explicit", 8};
    struct msghdr m = {0};
    m.msg_iov = &iov; m.msg_iovlen = 1; m.msg_control = cbuf; m.msg_controllen = sizeof cbuf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_CREDENTIALS; c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    struct ucred u = {getpid(), getuid(), getgid()};
    memcpy(CMSG_DATA(c), &u, sizeof u);
    rep("send own creds", sendmsg(sv[0], &m, 0));
    recv_fds(sv[1], 256, 0, &n);
    c->cmsg_len = CMSG_LEN(sizeof(struct ucred)) - 1;
    rep("creds bad len", sendmsg(sv[0], &m, 0));
  }
  struct ucred pc;
  socklen_t pl = sizeof pc;
  getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &pc, &pl);
  printf("SO_PEERCRED pid_is_me=%d uid=%d gid=%d len=%u\n", pc.pid == getpid(), pc.uid, pc.gid, pl);
  pl = 4;
  getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &pc, &pl);
  printf("SO_PEERCRED short len=%u\n", pl);
  int lone = socket(AF_UNIX, SOCK_STREAM, 0);
  pl = sizeof pc;
  getsockopt(lone, SOL_SOCKET, SO_PEERCRED, &pc, &pl);
  printf("unconnected SO_PEERCRED pid=%d uid=%d gid=%d\n", pc.pid, pc.uid, pc.gid);
  unlink("/tmp/sock_scm_file");
  return 0;
}
