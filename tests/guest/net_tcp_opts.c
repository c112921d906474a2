/* TCP and socket options as Linux reports them: defaults and read-back of TCP_NODELAY,
 * SO_KEEPALIVE, TCP_KEEPIDLE/KEEPINTVL/KEEPCNT (and their range checks), SO_REUSEADDR,
 * SO_TYPE/SO_DOMAIN/SO_PROTOCOL/SO_ACCEPTCONN, IP_TTL, SO_RCVBUF/SO_SNDBUF (Linux stores and
 * reports twice the value set), TCP_MAXSEG before and after connecting, TCP_INFO's state
 * through a connection's life (CLOSE, LISTEN, ESTABLISHED, CLOSE_WAIT, FIN_WAIT2), and
 * SO_LINGER {1, 0}: close sends a reset and the peer's read fails with ECONNRESET.
 * Everything runs over 127.0.0.1 on ephemeral ports. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *err(long r) { return r < 0 ? strerror(errno) : "ok"; }

static void geti(int fd, int level, int opt, const char *name) {
  int v = -12345;
  socklen_t l = sizeof v;
  int r = getsockopt(fd, level, opt, &v, &l);
  if (r < 0) printf("  get %s: %s\n", name, strerror(errno));
  else printf("  get %s: %d (len %d)\n", name, v, (int)l);
}

static void seti(int fd, int level, int opt, const char *name, int v) {
  printf("  set %s %d: %s\n", name, v, err(setsockopt(fd, level, opt, &v, sizeof v)));
}

/* Only tcpi_state (the first byte) is read: qemu-user copies just the first word of TCP_INFO. */
static int tcpstate(int fd) {
  struct tcp_info ti;
  socklen_t l = sizeof ti;
  memset(&ti, 0xff, sizeof ti);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0) return -errno;
  return ti.tcpi_state;
}

static struct sockaddr_in loop(unsigned short port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/* A connected pair over loopback: *c the client end, *s the accepted end. */
static int pair(int ls, int *c, int *s, int before_connect_mss) {
  struct sockaddr_in a;
  socklen_t l = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &l);
  *c = socket(AF_INET, SOCK_STREAM, 0);
  if (before_connect_mss) setsockopt(*c, IPPROTO_TCP, TCP_MAXSEG, &before_connect_mss, sizeof(int));
  if (connect(*c, (struct sockaddr *)&a, sizeof a) < 0) return -1;
  *s = accept(ls, NULL, NULL);
  return *s < 0 ? -1 : 0;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGPIPE, SIG_IGN);

  int t = socket(AF_INET, SOCK_STREAM, 0);
  printf("fresh TCP socket:\n");
  geti(t, SOL_SOCKET, SO_TYPE, "SO_TYPE");
  geti(t, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN");
  geti(t, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL");
  geti(t, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN");
  geti(t, SOL_SOCKET, SO_ERROR, "SO_ERROR");
  geti(t, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR");
  geti(t, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE");
  geti(t, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY");
  geti(t, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE");
  geti(t, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL");
  geti(t, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT");
  geti(t, IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG");
  geti(t, IPPROTO_IP, IP_TTL, "IP_TTL");
  printf("  TCP_INFO state %d (TCP_CLOSE=7)\n", tcpstate(t));
  {
    struct linger lg = {5, 5};
    socklen_t l = sizeof lg;
    int r = getsockopt(t, SOL_SOCKET, SO_LINGER, &lg, &l);
    printf("  get SO_LINGER: %s {%d, %d} len %d\n", err(r), lg.l_onoff, lg.l_linger, (int)l);
  }

  printf("setting:\n");
  seti(t, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", 1);
  geti(t, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY");
  seti(t, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", 7);
  geti(t, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY");
  seti(t, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", 0);
  geti(t, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY");
  seti(t, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 1);
  geti(t, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE");
  seti(t, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", 60);
  seti(t, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", 10);
  seti(t, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", 5);
  geti(t, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE");
  geti(t, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL");
  geti(t, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT");
  printf("range checks:\n");
  seti(t, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", 0);
  seti(t, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", 32767);
  seti(t, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", 32768);
  seti(t, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", 0);
  seti(t, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", 127);
  seti(t, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", 128);
  seti(t, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", 0);
  geti(t, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE");
  geti(t, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT");
  {
    char c = 1;
    printf("  set TCP_NODELAY with a 1-byte option: %s\n", err(setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &c, 1)));
  }
  seti(t, IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG", 50);
  seti(t, IPPROTO_IP, IP_TTL, "IP_TTL", 0);
  seti(t, IPPROTO_IP, IP_TTL, "IP_TTL", 17);
  geti(t, IPPROTO_IP, IP_TTL, "IP_TTL");
  seti(t, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN (read-only)", 1);

  printf("buffer sizes (Linux doubles the value set, for its bookkeeping overhead):\n");
  seti(t, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", 65536);
  geti(t, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF");
  seti(t, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", 32768);
  geti(t, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF");
  seti(t, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", 100000);
  geti(t, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF");
  seti(t, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", 12345);
  geti(t, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF");
  close(t);

  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = loop(0);
  bind(ls, (struct sockaddr *)&a, sizeof a);
  listen(ls, 4);
  printf("listener:\n");
  geti(ls, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN");
  printf("  TCP_INFO state %d (TCP_LISTEN=10)\n", tcpstate(ls));

  int c, s;
  if (pair(ls, &c, &s, 0) < 0) { printf("connect failed: %s\n", strerror(errno)); return 1; }
  printf("connected pair:\n");
  printf("  TCP_INFO state client %d server %d (TCP_ESTABLISHED=1)\n", tcpstate(c), tcpstate(s));
  {
    int mss = 0;
    socklen_t l = sizeof mss;
    getsockopt(c, IPPROTO_TCP, TCP_MAXSEG, &mss, &l);
    /* lo's MTU is 65536: the MSS is that less the headers and options; the exact option bytes
     * (timestamps) are the stack's choice, so only the range is printed. */
    printf("  TCP_MAXSEG on lo in 1000..65495: %d\n", mss >= 1000 && mss <= 65495);
  }
  geti(s, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN accepted");
  /* Options inherited from the listener by accepted sockets. */
  close(c);
  close(s);
  int one = 1;
  setsockopt(ls, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(ls, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  if (pair(ls, &c, &s, 0) < 0) return 1;
  printf("accepted from a listener with TCP_NODELAY and SO_KEEPALIVE:\n");
  geti(s, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY");
  geti(s, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE");

  /* Orderly close by the client: server CLOSE_WAIT, client FIN_WAIT2. */
  shutdown(c, SHUT_WR);
  struct pollfd p = {s, POLLIN, 0};
  poll(&p, 1, 5000);
  char buf[16];
  printf("  server read after client's FIN: %zd\n", read(s, buf, sizeof buf));
  /* The client is in FIN_WAIT1 until the server's ACK of its FIN, which may be a delayed ACK:
   * wait (up to 2 s) for FIN_WAIT2. */
  for (int i = 0; i < 200 && tcpstate(c) != TCP_FIN_WAIT2; i++) usleep(10000);
  printf("  TCP_INFO state client %d (TCP_FIN_WAIT2=5) server %d (TCP_CLOSE_WAIT=8)\n", tcpstate(c), tcpstate(s));
  close(c);
  close(s);

  /* A user MSS set before connect bounds the connection's MSS. */
  if (pair(ls, &c, &s, 1000) < 0) return 1;
  {
    int mss = 0;
    socklen_t l = sizeof mss;
    getsockopt(c, IPPROTO_TCP, TCP_MAXSEG, &mss, &l);
    printf("TCP_MAXSEG 1000 set before connect: connected MSS in 900..1000: %d\n", mss >= 900 && mss <= 1000);
  }
  close(c);
  close(s);

  /* SO_LINGER {1, 0}: close aborts the connection with a reset. */
  if (pair(ls, &c, &s, 0) < 0) return 1;
  struct linger lg = {1, 0};
  printf("SO_LINGER {1, 0}: set %s\n", err(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg)));
  {
    struct linger g = {7, 7};
    socklen_t l = sizeof g;
    getsockopt(c, SOL_SOCKET, SO_LINGER, &g, &l);
    printf("  get SO_LINGER {%d, %d}\n", g.l_onoff, g.l_linger);
  }
  close(c);
  p = (struct pollfd){s, POLLIN, 0};
  int n = poll(&p, 1, 5000);
  printf("  peer poll after the reset: %d, IN=%d ERR=%d HUP=%d\n", n, !!(p.revents & POLLIN), !!(p.revents & POLLERR),
         !!(p.revents & POLLHUP));
  ssize_t r = read(s, buf, sizeof buf);
  printf("  peer read: %zd %s\n", r, r < 0 ? strerror(errno) : "");
  r = read(s, buf, sizeof buf);
  printf("  peer read again: %zd %s\n", r, r < 0 ? strerror(errno) : "");
  printf("  TCP_INFO state of the peer %d (TCP_CLOSE=7)\n", tcpstate(s));
  r = write(s, "x", 1);
  printf("  peer write: %zd %s\n", r, r < 0 ? strerror(errno) : "");
  close(s);
  close(ls);
  return 0;
}
