/* Socket error paths: bad arguments, bad pointers, non-sockets, wrong states. Every case
 * prints the result and errno as Linux gives them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void rep(const char *what, long r) {
  printf("%s: %ld%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
}

#define BAD ((void *)16)

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  rep("socket bad family", socket(12345, SOCK_STREAM, 0));
  rep("socket negative family", socket(-1, SOCK_STREAM, 0));
  /* (Unknown type bits are not compared: qemu-user drops them before Linux can say EINVAL.) */
  rep("socket unix RDM", socket(AF_UNIX, SOCK_RDM, 0));
  rep("socket unix protocol 7", socket(AF_UNIX, SOCK_STREAM, 7));
  rep("socketpair bad pointer", syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, BAD));
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  int fd = open("/dev/null", O_RDWR);
  struct sockaddr_un a = {0};
  a.sun_family = AF_UNIX;
  strcpy(a.sun_path, "/tmp/sock_errors_x");
  socklen_t l = sizeof a;
  rep("bind on a file", bind(fd, (struct sockaddr *)&a, sizeof a));
  rep("bind bad fd", bind(999, (struct sockaddr *)&a, sizeof a));
  rep("listen on a file", listen(fd, 1));
  rep("getsockname on a file", getsockname(fd, (struct sockaddr *)&a, &l));
  rep("sendto on a file", sendto(fd, "x", 1, 0, NULL, 0));
  rep("recvfrom bad fd", recvfrom(-5, NULL, 0, 0, NULL, NULL));
  rep("shutdown on a file", shutdown(fd, SHUT_RD));
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  rep("bind short len", bind(s, (struct sockaddr *)&a, 1));
  rep("bind huge len", bind(s, (struct sockaddr *)&a, 200));
  rep("bind negative len", bind(s, (struct sockaddr *)&a, -1));
  rep("bind bad pointer", bind(s, BAD, sizeof a));
  struct sockaddr_un w = a;
  w.sun_family = AF_INET;
  rep("bind wrong family", bind(s, (struct sockaddr *)&w, sizeof w));
  rep("connect bad pointer", connect(s, BAD, sizeof a));
  rep("connect missing path", connect(s, (struct sockaddr *)&a, sizeof a));
  rep("connect empty addr", connect(s, (struct sockaddr *)&a, sizeof(sa_family_t)));
  rep("getsockname bad len ptr", getsockname(s, (struct sockaddr *)&a, BAD));
  l = -1;
  rep("getsockname negative len", getsockname(s, (struct sockaddr *)&a, &l));
  l = sizeof a;
  rep("getsockname bad addr", getsockname(s, BAD, &l));
  rep("getpeername unconnected", getpeername(s, (struct sockaddr *)&a, &l));
  char buf[8];
  rep("send unconnected", send(s, "x", 1, MSG_NOSIGNAL));
  rep("recv unconnected stream", recv(s, buf, 1, MSG_DONTWAIT));
  rep("send bad buffer", send(sv[0], BAD, 10, 0));
  write(sv[0], "abc", 3);
  rep("recv bad buffer", recv(sv[1], BAD, 10, 0));
  rep("recv after fault keeps data", recv(sv[1], buf, 8, 0));
  rep("sendmsg bad msghdr", sendmsg(sv[0], BAD, 0));
  rep("recvmsg bad msghdr", recvmsg(sv[1], BAD, MSG_DONTWAIT));
  struct msghdr m = {0};
  struct iovec iov = {"q", 1};
  m.msg_iov = BAD; m.msg_iovlen = 1;
  rep("sendmsg bad iov", sendmsg(sv[0], &m, 0));
  m.msg_iov = &iov; m.msg_iovlen = 5000;
  rep("sendmsg too many iovs", sendmsg(sv[0], &m, 0));
  m.msg_iovlen = 1; m.msg_control = BAD; m.msg_controllen = 64;
  rep("sendmsg bad control", sendmsg(sv[0], &m, 0));
  m.msg_control = NULL; m.msg_controllen = 0; m.msg_name = &a; m.msg_namelen = sizeof a;
  rep("sendmsg with address on connected stream", sendmsg(sv[0], &m, 0));
  int v = 1;
  rep("setsockopt bad name", setsockopt(s, SOL_SOCKET, 9999, &v, sizeof v));
  rep("setsockopt short", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, 2));
  rep("setsockopt bad pointer", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, BAD, 4));
  rep("setsockopt SO_TYPE", setsockopt(s, SOL_SOCKET, SO_TYPE, &v, sizeof v));
  l = sizeof v;
  rep("getsockopt bad name", getsockopt(s, SOL_SOCKET, 9999, &v, &l));
  rep("getsockopt bad len ptr", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, BAD));
  l = -1;
  rep("getsockopt negative len", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l));
  l = 4;
  rep("getsockopt bad value ptr", getsockopt(s, SOL_SOCKET, SO_TYPE, BAD, &l));
  l = 2; v = 0;
  rep("getsockopt short", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l));
  printf("short value=%d len=%u\n", v, l);
  rep("SO_REUSEADDR", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &(int){5}, 4));
  l = 4; getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, &l); printf("SO_REUSEADDR=%d\n", v);
  struct linger lg = {1, 7};
  rep("SO_LINGER", setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
  memset(&lg, 0, sizeof lg); l = sizeof lg;
  getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &l); printf("linger %d %d len=%u\n", lg.l_onoff, lg.l_linger, l);
  v = 5000; setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, 4);
  l = 4; getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &l); printf("SO_SNDBUF doubled=%d\n", v);
  v = 1; setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, 4);
  l = 4; getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &l); printf("SO_RCVBUF min=%d\n", v);
  struct timeval tv = {0, 200000};
  rep("SO_RCVTIMEO", setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
  tv.tv_usec = 2000000;
  rep("SO_RCVTIMEO bad usec", setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
  rep("SO_RCVTIMEO short", setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, 8));
  memset(&tv, 0, sizeof tv); l = sizeof tv;
  getsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, &l);
  printf("rcvtimeo %ld.%06ld len=%u\n", (long)tv.tv_sec, (long)tv.tv_usec, l);
  rep("recv times out", recv(sv[1], buf, 1, 0));
  l = 4; getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l); printf("SO_ERROR=%d\n", v);
  /* states */
  unlink("/tmp/sock_errors_x");
  bind(s, (struct sockaddr *)&a, sizeof a);
  listen(s, 1);
  rep("connect on listener", connect(s, (struct sockaddr *)&a, sizeof a));
  rep("send on listener", send(s, "x", 1, MSG_NOSIGNAL));
  rep("recv on listener", recv(s, buf, 1, MSG_DONTWAIT));
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  rep("connect", connect(c, (struct sockaddr *)&a, sizeof a));
  rep("connect again", connect(c, (struct sockaddr *)&a, sizeof a));
  rep("listen on connected", listen(c, 1));
  rep("accept bad addr", accept(s, BAD, &l));
  int d = socket(AF_UNIX, SOCK_DGRAM, 0);
  rep("listen on dgram", listen(d, 1));
  rep("accept on dgram", accept(d, NULL, NULL));
  rep("accept4 bad flags", accept4(s, NULL, NULL, 0x1000));
  rep("connect dgram to stream path", connect(d, (struct sockaddr *)&a, sizeof a));
  int reg = open("/tmp/sock_errors_file", O_CREAT | O_RDWR, 0600);
  close(reg);
  struct sockaddr_un f = {0};
  f.sun_family = AF_UNIX;
  strcpy(f.sun_path, "/tmp/sock_errors_file");
  rep("connect to a regular file", connect(c, (struct sockaddr *)&f, sizeof f));
  int e = socket(AF_UNIX, SOCK_STREAM, 0);
  rep("connect to a regular file (fresh)", connect(e, (struct sockaddr *)&f, sizeof f));
  rep("bind onto a regular file", bind(e, (struct sockaddr *)&f, sizeof f));
  strcpy(f.sun_path, "/nonexistent-dir/x");
  rep("bind in missing dir", bind(e, (struct sockaddr *)&f, sizeof f));
  rep("lseek on socket", lseek(sv[0], 0, SEEK_SET));
  /* connect needs write permission on the socket inode */
  {
    struct sockaddr_un pa = {0};
    pa.sun_family = AF_UNIX;
    strcpy(pa.sun_path, "/tmp/sock_errors_perm");
    unlink(pa.sun_path);
    int ps = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(ps, (struct sockaddr *)&pa, sizeof pa);
    listen(ps, 4);
    chmod(pa.sun_path, 0600);
    pid_t pid = fork();
    if (pid == 0) {
      if (setuid(65534) < 0) _exit(9);
      int c = socket(AF_UNIX, SOCK_STREAM, 0);
      int r = connect(c, (struct sockaddr *)&pa, sizeof pa);
      _exit(r < 0 ? errno : 0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("unprivileged connect to a 0600 socket: %s\n", strerror(WEXITSTATUS(st)));
    chmod(pa.sun_path, 0666);
    pid = fork();
    if (pid == 0) {
      if (setuid(65534) < 0) _exit(9);
      int c = socket(AF_UNIX, SOCK_STREAM, 0);
      int r = connect(c, (struct sockaddr *)&pa, sizeof pa);
      _exit(r < 0 ? errno : 0);
    }
    waitpid(pid, &st, 0);
    printf("unprivileged connect to a 0666 socket: %s\n", WEXITSTATUS(st) ? strerror(WEXITSTATUS(st)) : "ok");
    close(ps);
    unlink(pa.sun_path);
  }
  unlink("/tmp/sock_errors_file");
  unlink("/tmp/sock_errors_x");
  return 0;
}
