/* AF_UNIX SOCK_STREAM: socketpair echo, bind/listen/accept/connect over a path and an abstract
 * name, getsockname/getpeername lengths and bytes, shutdown half-close and EOF, EPIPE with
 * SIGPIPE and MSG_NOSIGNAL, non-blocking accept, poll readiness, fstat, ioctl FIONREAD/SIOCOUTQ. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/sockios.h>
#include <unistd.h>

static void rep(const char *what, long r) {
  printf("%s: %ld%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
}

static void show_addr(const char *what, struct sockaddr_un *a, socklen_t len) {
  printf("%s: len=%u family=%d", what, (unsigned)len, a->sun_family);
  if (len > offsetof(struct sockaddr_un, sun_path)) {
    printf(" path=");
    for (socklen_t i = offsetof(struct sockaddr_un, sun_path); i < len; i++) {
      char c = ((char *)a)[i];
      if (c >= 32 && c < 127) putchar(c); else printf("\\%o", (unsigned char)c);
    }
  }
  putchar('\n');
}

static volatile sig_atomic_t pipes;
static void on_pipe(int s) { (void)s; pipes++; }

static const char *pollbits(short r) {
  static char buf[64];
  buf[0] = 0;
  if (r & POLLIN) strcat(buf, "IN ");
  if (r & POLLOUT) strcat(buf, "OUT ");
  if (r & POLLHUP) strcat(buf, "HUP ");
  if (r & POLLERR) strcat(buf, "ERR ");
  if (r & POLLRDHUP) strcat(buf, "RDHUP ");
  if (r & POLLNVAL) strcat(buf, "NVAL ");
  return buf;
}

static void pollfd1(const char *what, int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
  int r = poll(&p, 1, 0);
  printf("poll %s: %d %s\n", what, r, pollbits(p.revents));
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGPIPE, on_pipe);
  int sv[2];
  rep("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  struct stat st;
  fstat(sv[0], &st);
  printf("S_ISSOCK=%d mode=%o size=%ld\n", S_ISSOCK(st.st_mode), st.st_mode & 0777, (long)st.st_size);
  int v; socklen_t l = sizeof v;
  getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &l); printf("SO_TYPE=%d len=%u\n", v, l);
  getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &v, &l); printf("SO_DOMAIN=%d\n", v);
  getsockopt(sv[0], SOL_SOCKET, SO_PROTOCOL, &v, &l); printf("SO_PROTOCOL=%d\n", v);
  getsockopt(sv[0], SOL_SOCKET, SO_ACCEPTCONN, &v, &l); printf("SO_ACCEPTCONN=%d\n", v);
  pollfd1("fresh pair", sv[0]);
  rep("write", write(sv[0], "hello", 5));
  pollfd1("with data", sv[1]);
  ioctl(sv[1], FIONREAD, &v); printf("FIONREAD=%d\n", v);
  char buf[256];
  rep("write2", write(sv[0], " world", 6));
  ioctl(sv[1], SIOCINQ, &v); printf("SIOCINQ=%d\n", v);
  ssize_t n = recv(sv[1], buf, sizeof buf, MSG_PEEK);
  printf("peek %zd '%.*s'\n", n, (int)n, buf);
  n = read(sv[1], buf, 3);
  printf("read3 %zd '%.*s'\n", n, (int)n, buf);
  n = read(sv[1], buf, sizeof buf);
  printf("read %zd '%.*s'\n", n, (int)n, buf);
  /* readv/writev */
  struct iovec iov[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
  rep("writev", writev(sv[1], iov, 3));
  char b1[3], b2[10];
  struct iovec riov[2] = {{b1, 3}, {b2, 10}};
  n = readv(sv[0], riov, 2);
  printf("readv %zd '%.3s' '%.*s'\n", n, b1, (int)(n - 3), b2);
  /* non-blocking read */
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  rep("nonblock read", read(sv[0], buf, 10));
  rep("MSG_DONTWAIT recv", recv(sv[1], buf, 10, MSG_DONTWAIT));
  /* half-close */
  rep("shutdown WR", shutdown(sv[1], SHUT_WR));
  pollfd1("after peer SHUT_WR", sv[0]);
  pollfd1("after own SHUT_WR", sv[1]);
  rep("read EOF", read(sv[0], buf, 10));
  rep("write after SHUT_WR", write(sv[1], "x", 1));
  printf("SIGPIPE count=%d\n", (int)pipes);
  rep("other way still works", write(sv[0], "back", 4));
  n = read(sv[1], buf, 10);
  printf("got back %zd '%.*s'\n", n, (int)n, buf);
  rep("shutdown bad how", shutdown(sv[1], 7));
  close(sv[1]);
  pollfd1("peer closed", sv[0]);
  rep("write to closed", write(sv[0], "x", 1));
  printf("SIGPIPE count=%d\n", (int)pipes);
  rep("send MSG_NOSIGNAL", send(sv[0], "x", 1, MSG_NOSIGNAL));
  printf("SIGPIPE count=%d\n", (int)pipes);
  rep("read closed", read(sv[0], buf, 10));
  close(sv[0]);

  /* path server */
  unlink("/tmp/sock_stream_test");
  int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  printf("cloexec=%d\n", (fcntl(srv, F_GETFD) & FD_CLOEXEC) != 0);
  struct sockaddr_un a = {0}, g;
  a.sun_family = AF_UNIX;
  strcpy(a.sun_path, "/tmp/sock_stream_test");
  rep("listen unbound", listen(srv, 5));
  rep("accept unlistened", accept(srv, NULL, NULL));
  rep("bind path", bind(srv, (struct sockaddr *)&a, sizeof a));
  rep("bind again", bind(srv, (struct sockaddr *)&a, sizeof a));
  stat("/tmp/sock_stream_test", &st);
  printf("inode S_ISSOCK=%d\n", S_ISSOCK(st.st_mode));
  l = sizeof g; memset(&g, 0xee, sizeof g);
  rep("getsockname", getsockname(srv, (struct sockaddr *)&g, &l));
  show_addr("srv name", &g, l);
  l = 4; memset(&g, 0, sizeof g);
  rep("getsockname short", getsockname(srv, (struct sockaddr *)&g, &l));
  printf("short len=%u family=%d path0=%d\n", l, g.sun_family, g.sun_path[0]);
  int c1 = socket(AF_UNIX, SOCK_STREAM, 0);
  rep("connect not listening", connect(c1, (struct sockaddr *)&a, sizeof a));
  rep("listen", listen(srv, 5));
  l = sizeof v; getsockopt(srv, SOL_SOCKET, SO_ACCEPTCONN, &v, &l); printf("SO_ACCEPTCONN=%d\n", v);
  pollfd1("listener idle", srv);
  fcntl(srv, F_SETFL, O_NONBLOCK);
  rep("accept nonblock empty", accept(srv, NULL, NULL));
  rep("connect", connect(c1, (struct sockaddr *)&a, sizeof a));
  rep("connect again", connect(c1, (struct sockaddr *)&a, sizeof a));
  pollfd1("listener pending", srv);
  l = sizeof g; memset(&g, 0xee, sizeof g);
  int s1 = accept4(srv, (struct sockaddr *)&g, &l, SOCK_NONBLOCK);
  printf("accept4 ok=%d\n", s1 >= 0);
  show_addr("accept peer", &g, l);
  printf("accepted nonblock=%d\n", (fcntl(s1, F_GETFL) & O_NONBLOCK) != 0);
  l = sizeof g; getsockname(s1, (struct sockaddr *)&g, &l); show_addr("accepted name", &g, l);
  l = sizeof g; getpeername(c1, (struct sockaddr *)&g, &l); show_addr("client peer", &g, l);
  l = sizeof g; getsockname(c1, (struct sockaddr *)&g, &l); show_addr("client name", &g, l);
  l = sizeof g; rep("getpeername listener", getpeername(srv, (struct sockaddr *)&g, &l));
  struct ucred cr; l = sizeof cr;
  getsockopt(s1, SOL_SOCKET, SO_PEERCRED, &cr, &l);
  printf("peercred pid ok=%d uid=%d gid=%d len=%u\n", cr.pid == getpid(), cr.uid, cr.gid, l);
  getsockopt(c1, SOL_SOCKET, SO_PEERCRED, &cr, &l);
  printf("client peercred pid ok=%d\n", cr.pid == getpid());
  send(c1, "ping", 4, 0);
  n = recvfrom(s1, buf, sizeof buf, 0, (struct sockaddr *)&g, &l);
  printf("server got %zd '%.*s' fromlen=%u\n", n, (int)n, buf, l);
  close(s1); close(c1);

  /* fork: a child connects and echoes */
  pid_t pid = fork();
  if (pid == 0) {
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) _exit(1);
    char b[64];
    ssize_t k = read(c, b, sizeof b);
    for (ssize_t i = 0; i < k; i++) b[i] ^= 0x20;
    write(c, b, k);
    _exit(0);
  }
  fcntl(srv, F_SETFL, 0);
  int s2 = accept(srv, NULL, NULL);
  write(s2, "echo", 4);
  n = recv(s2, buf, sizeof buf, MSG_WAITALL);
  printf("echo reply %zd '%.*s'\n", n, (int)n, buf);
  int status; waitpid(pid, &status, 0);
  printf("child exit %d\n", WEXITSTATUS(status));
  close(s2);
  /* bigger transfer through a blocking writer */
  pid = fork();
  if (pid == 0) {
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    static char big[1 << 20];
    for (int i = 0; i < (int)sizeof big; i++) big[i] = (char)(i * 7);
    ssize_t w = write(c, big, sizeof big);
    _exit(w == (ssize_t)sizeof big ? 0 : 2);
  }
  s2 = accept(srv, NULL, NULL);
  long total = 0, sum = 0;
  for (;;) {
    static char rb[7000];
    ssize_t k = read(s2, rb, sizeof rb);
    if (k <= 0) break;
    for (ssize_t i = 0; i < k; i++) sum += (unsigned char)rb[i];
    total += k;
  }
  waitpid(pid, &status, 0);
  printf("big transfer %ld sum %ld child %d\n", total, sum, WEXITSTATUS(status));
  close(s2);
  close(srv);
  rep("connect after close", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, sizeof a));
  unlink("/tmp/sock_stream_test");

  /* abstract name, exact length */
  int as = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un ab = {0};
  ab.sun_family = AF_UNIX;
  memcpy(ab.sun_path, "\0labvisor-abs", 13);
  socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 13;
  rep("bind abstract", bind(as, (struct sockaddr *)&ab, alen));
  int as2 = socket(AF_UNIX, SOCK_STREAM, 0);
  rep("bind abstract dup", bind(as2, (struct sockaddr *)&ab, alen));
  l = sizeof g; getsockname(as, (struct sockaddr *)&g, &l); show_addr("abstract name", &g, l);
  listen(as, 1);
  int ac = socket(AF_UNIX, SOCK_STREAM, 0);
  rep("connect abstract", connect(ac, (struct sockaddr *)&ab, alen));
  rep("connect abstract (wrong len)", connect(as2, (struct sockaddr *)&ab, alen + 1));
  int aa = accept(as, NULL, NULL);
  l = sizeof g; getpeername(ac, (struct sockaddr *)&g, &l); show_addr("abstract peer", &g, l);
  /* autobind */
  int au = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un e = {0}; e.sun_family = AF_UNIX;
  rep("autobind", bind(au, (struct sockaddr *)&e, sizeof(sa_family_t)));
  l = sizeof g; getsockname(au, (struct sockaddr *)&g, &l);
  printf("autobind len=%u first=%d\n", l, g.sun_path[0]);
  close(aa); close(ac); close(as); close(as2); close(au);
  return 0;
}
