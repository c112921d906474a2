/* TCP over loopback in one program: a server and a forked client on 127.0.0.1. bind/listen/
 * accept/connect, 1 MiB echoed back in 16 KiB rounds with a checksum on both sides,
 * getsockname/getpeername, MSG_PEEK and SIOCINQ, shutdown(SHUT_WR) half-close then EOF,
 * ECONNREFUSED from a closed port, EADDRINUSE on a second bind, and SO_REUSEADDR rebinding a
 * port that a closed connection still holds (FIN_WAIT2/TIME_WAIT).
 * Ports are ephemeral (bind to port 0) so runs under qemu on a shared host never collide;
 * nothing printed depends on a port number. The server's lines are printed after the client
 * has exited, so the output order is fixed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sockios.h>

#define TOTAL (1024 * 1024)
#define CHUNK (16 * 1024)

static char srvlog[8192];
static void slog(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t n = strlen(srvlog);
  vsnprintf(srvlog + n, sizeof srvlog - n, fmt, ap);
  va_end(ap);
}

static const char *err(int r) { return r < 0 ? strerror(errno) : "ok"; }

static struct sockaddr_in loop(unsigned short port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static unsigned short portof(int fd, int peer) {
  struct sockaddr_in a;
  socklen_t l = sizeof a;
  int r = peer ? getpeername(fd, (struct sockaddr *)&a, &l) : getsockname(fd, (struct sockaddr *)&a, &l);
  if (r < 0 || l != sizeof a || a.sin_family != AF_INET) return 0;
  return ntohs(a.sin_port);
}

static int isloop(int fd, int peer) {
  struct sockaddr_in a;
  socklen_t l = sizeof a;
  int r = peer ? getpeername(fd, (struct sockaddr *)&a, &l) : getsockname(fd, (struct sockaddr *)&a, &l);
  return r == 0 && a.sin_family == AF_INET && a.sin_addr.s_addr == htonl(INADDR_LOOPBACK);
}

/* Fletcher-like running checksum over a byte stream, independent of how it is split. */
struct sum { uint32_t a, b; };
static void sum_add(struct sum *s, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    s->a = (s->a + p[i]) % 65521;
    s->b = (s->b + s->a) % 65521;
  }
}

static int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) { if (errno == EINTR) continue; return -1; }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static ssize_t read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r < 0) { if (errno == EINTR) continue; return -1; }
    if (r == 0) break;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

static int inq(int fd) {
  int n = -1;
  if (ioctl(fd, SIOCINQ, &n) < 0) return -errno;
  return n;
}

/* The client: connect, echo 1 MiB, peek, half-close, EOF. */
static int client(unsigned short port) {
  int c = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = loop(port);
  int r = connect(c, (struct sockaddr *)&a, sizeof a);
  printf("client: connect %s\n", err(r));
  if (r < 0) return 1;
  unsigned short me = portof(c, 0);
  printf("client: getsockname 127.0.0.1=%d ephemeral=%d\n", isloop(c, 0), me != 0 && me != port);
  printf("client: getpeername 127.0.0.1=%d port=listener:%d\n", isloop(c, 1), portof(c, 1) == port);

  static unsigned char out[CHUNK], in[CHUNK];
  struct sum ss = {1, 0}, rs = {1, 0};
  uint32_t x = 12345;
  size_t sent = 0, recvd = 0;
  while (sent < TOTAL) {
    for (int i = 0; i < CHUNK; i++) {
      x = x * 1103515245u + 12345u;
      out[i] = (unsigned char)(x >> 16);
    }
    if (write_all(c, out, CHUNK) < 0) { printf("client: write %s\n", strerror(errno)); return 1; }
    sum_add(&ss, out, CHUNK);
    sent += CHUNK;
    ssize_t n = read_full(c, in, CHUNK);
    if (n != CHUNK) { printf("client: short echo %zd at %zu\n", n, recvd); return 1; }
    if (memcmp(in, out, CHUNK) != 0) printf("client: echo differs at %zu\n", recvd);
    sum_add(&rs, in, CHUNK);
    recvd += CHUNK;
  }
  printf("client: echoed %zu bytes, sent sum %08x, received sum %08x, %s\n", recvd,
         (unsigned)(ss.b << 16 | ss.a), (unsigned)(rs.b << 16 | rs.a), ss.a == rs.a && ss.b == rs.b ? "match" : "MISMATCH");

  /* The server now sends 10 bytes: wait until all are queued, then peek and read. */
  int q = 0;
  for (int i = 0; i < 500 && (q = inq(c)) < 10; i++) {
    struct pollfd p = {c, POLLIN, 0};
    poll(&p, 1, 10);
  }
  printf("client: SIOCINQ before peek %d\n", q);
  char buf[64] = {0};
  ssize_t n = recv(c, buf, sizeof buf, MSG_PEEK);
  printf("client: recv MSG_PEEK %zd \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
  printf("client: SIOCINQ after peek %d\n", inq(c));
  memset(buf, 0, sizeof buf);
  n = recv(c, buf, 4, MSG_PEEK);
  printf("client: recv MSG_PEEK 4 %zd \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
  n = recv(c, buf, sizeof buf, 0);
  printf("client: recv %zd \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
  printf("client: SIOCINQ after read %d\n", inq(c));
  n = recv(c, buf, sizeof buf, MSG_DONTWAIT);
  printf("client: recv MSG_DONTWAIT on empty %zd %s\n", n, n < 0 ? strerror(errno) : "");

  /* Half-close: we can still read what the server sends after our FIN. */
  r = shutdown(c, SHUT_WR);
  printf("client: shutdown(SHUT_WR) %s\n", err(r));
  n = write(c, "x", 1);
  printf("client: write after SHUT_WR %zd %s\n", n, n < 0 ? strerror(errno) : "");
  memset(buf, 0, sizeof buf);
  n = read_full(c, buf, sizeof buf);
  printf("client: after half-close read %zd \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
  n = read(c, buf, sizeof buf);
  printf("client: read at EOF %zd\n", n);
  close(c);

  /* A second, short connection that the server closes first (its end keeps the port busy). */
  c = socket(AF_INET, SOCK_STREAM, 0);
  r = connect(c, (struct sockaddr *)&a, sizeof a);
  printf("client: second connect %s\n", err(r));
  n = read(c, buf, sizeof buf);
  printf("client: second connection read %zd (server closed first)\n", n);
  close(c);
  return 0;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGPIPE, SIG_IGN);

  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  printf("SO_REUSEADDR on listener %s\n", err(setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one)));
  struct sockaddr_in a = loop(0);
  printf("bind 127.0.0.1:0 %s\n", err(bind(ls, (struct sockaddr *)&a, sizeof a)));
  printf("listen %s\n", err(listen(ls, 8)));
  unsigned short port = portof(ls, 0);
  printf("getsockname 127.0.0.1=%d port assigned=%d\n", isloop(ls, 0), port != 0);
  printf("getpeername on listener %s\n", err(getpeername(ls, (struct sockaddr *)&a, &(socklen_t){sizeof a})));

  /* EADDRINUSE: a second socket on the listening port, with and without SO_REUSEADDR. */
  int s2 = socket(AF_INET, SOCK_STREAM, 0);
  a = loop(port);
  printf("second bind to listening port %s\n", err(bind(s2, (struct sockaddr *)&a, sizeof a)));
  setsockopt(s2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  printf("second bind with SO_REUSEADDR %s\n", err(bind(s2, (struct sockaddr *)&a, sizeof a)));
  close(s2);

  pid_t pid = fork();
  if (pid == 0) _exit(client(port));

  struct sockaddr_in peer;
  socklen_t pl = sizeof peer;
  int s = accept(ls, (struct sockaddr *)&peer, &pl);
  slog("server: accept %s, addrlen %d, peer 127.0.0.1=%d\n", err(s), (int)pl,
       peer.sin_family == AF_INET && peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
  slog("server: accepted socket local port=listener:%d, peer port=accept's:%d\n", portof(s, 0) == port,
       portof(s, 1) == ntohs(peer.sin_port));
  static unsigned char buf[CHUNK];
  struct sum sum = {1, 0};
  size_t total = 0;
  while (total < TOTAL) {
    ssize_t n = read(s, buf, sizeof buf);
    if (n <= 0) break;
    sum_add(&sum, buf, (size_t)n);
    if (write_all(s, buf, (size_t)n) < 0) break;
    total += (size_t)n;
  }
  slog("server: echoed %zu bytes, sum %08x\n", total, (unsigned)(sum.b << 16 | sum.a));
  write_all(s, "hello-peek", 10);
  /* Wait for the client's FIN: read returns 0 once, and keeps returning 0. */
  char rb[16];
  ssize_t n = read(s, rb, sizeof rb);
  slog("server: read after client's SHUT_WR %zd\n", n);
  n = read(s, rb, sizeof rb);
  slog("server: read again %zd\n", n);
  slog("server: write after peer's half-close %s\n", err((int)write(s, "bye", 3)));
  close(s);

  /* Second connection: the server closes first. */
  s = accept(ls, NULL, NULL);
  slog("server: second accept %s\n", err(s));
  close(s);

  int status = 0;
  waitpid(pid, &status, 0);
  printf("%s", srvlog);
  printf("client exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

  /* SO_REUSEADDR: the server's end of the second connection (FIN_WAIT2 or TIME_WAIT) still holds the port. */
  close(ls);
  int r1 = socket(AF_INET, SOCK_STREAM, 0);
  printf("rebind without SO_REUSEADDR %s\n", err(bind(r1, (struct sockaddr *)&a, sizeof a)));
  close(r1);
  int r2 = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(r2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  printf("rebind with SO_REUSEADDR %s\n", err(bind(r2, (struct sockaddr *)&a, sizeof a)));
  printf("listen on rebound port %s\n", err(listen(r2, 1)));
  int c = socket(AF_INET, SOCK_STREAM, 0);
  printf("connect to rebound listener %s\n", err(connect(c, (struct sockaddr *)&a, sizeof a)));
  int acc = accept(r2, NULL, NULL);
  printf("accept on rebound listener %s\n", err(acc));
  close(acc);
  close(c);
  close(r2);

  /* ECONNREFUSED: a port that was bound and released, with nobody listening. */
  int t = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in z = loop(0);
  bind(t, (struct sockaddr *)&z, sizeof z);
  unsigned short closed = portof(t, 0);
  close(t);
  t = socket(AF_INET, SOCK_STREAM, 0);
  z = loop(closed);
  printf("connect to a closed port %s\n", err(connect(t, (struct sockaddr *)&z, sizeof z)));
  int e = -1;
  socklen_t el = sizeof e;
  getsockopt(t, SOL_SOCKET, SO_ERROR, &e, &el);
  printf("SO_ERROR after refused connect %d\n", e);
  printf("connect again on the same socket %s\n", err(connect(t, (struct sockaddr *)&z, sizeof z)));
  close(t);
  return 0;
}
