/* Non-blocking TCP over loopback: accept with nothing pending (EAGAIN), connect returning
 * EINPROGRESS then POLLOUT and SO_ERROR 0, EALREADY/EISCONN on repeated connects, a read with
 * nothing to read (EAGAIN), filling the send buffer to EAGAIN and POLLOUT coming back once the
 * peer drains it, and a non-blocking connect to a closed port: EINPROGRESS, then poll reports
 * the error and SO_ERROR is ECONNREFUSED (once). Ports are ephemeral; none is printed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void rep(const char *what, long r) {
  printf("%s: %ld%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
}

static struct sockaddr_in loop(unsigned short port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static unsigned short portof(int fd) {
  struct sockaddr_in a;
  socklen_t l = sizeof a;
  if (getsockname(fd, (struct sockaddr *)&a, &l) < 0) return 0;
  return ntohs(a.sin_port);
}

static const char *pollbits(int e) {
  static char b[64];
  b[0] = 0;
  if (e & POLLIN) strcat(b, "IN ");
  if (e & POLLOUT) strcat(b, "OUT ");
  if (e & POLLERR) strcat(b, "ERR ");
  if (e & POLLHUP) strcat(b, "HUP ");
  if (e & POLLNVAL) strcat(b, "NVAL ");
  if (!b[0]) strcat(b, "none");
  return b;
}

static int soerror(int fd) {
  int e = -1;
  socklen_t l = sizeof e;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0) return -errno;
  return e;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGPIPE, SIG_IGN);

  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = loop(0);
  rep("bind", bind(ls, (struct sockaddr *)&a, sizeof a));
  rep("listen", listen(ls, 4));
  a = loop(portof(ls));
  printf("listener O_NONBLOCK: %d\n", (fcntl(ls, F_GETFL) & O_NONBLOCK) != 0);
  rep("accept with nothing pending", accept(ls, NULL, NULL));
  struct pollfd lp = {ls, POLLIN, 0};
  printf("poll listener idle: %d\n", poll(&lp, 1, 0));

  int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  rep("connect non-blocking", connect(c, (struct sockaddr *)&a, sizeof a));
  struct pollfd p = {c, POLLOUT, 0};
  int n = poll(&p, 1, 5000);
  printf("poll POLLOUT: %d %s\n", n, pollbits(p.revents));
  printf("SO_ERROR after connect: %d\n", soerror(c));
  /* Linux: the first connect after completion reports success (0), later ones EISCONN. */
  rep("connect again", connect(c, (struct sockaddr *)&a, sizeof a));
  rep("connect a third time", connect(c, (struct sockaddr *)&a, sizeof a));

  n = poll(&lp, 1, 5000);
  printf("poll listener with a connection: %d %s\n", n, pollbits(lp.revents));
  int s = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
  printf("accept4: %s\n", s >= 0 ? "ok" : strerror(errno));
  printf("accepted O_NONBLOCK: %d\n", (fcntl(s, F_GETFL) & O_NONBLOCK) != 0);
  rep("accept again", accept(ls, NULL, NULL));
  char buf[4096];
  rep("read with nothing to read", read(s, buf, sizeof buf));
  rep("recv MSG_DONTWAIT", recv(s, buf, sizeof buf, MSG_DONTWAIT));
  p = (struct pollfd){s, POLLIN | POLLOUT, 0};
  n = poll(&p, 1, 0);
  printf("poll accepted idle: %d %s\n", n, pollbits(p.revents));

  rep("write", write(c, "ping", 4));
  p = (struct pollfd){s, POLLIN, 0};
  n = poll(&p, 1, 5000);
  printf("poll accepted after write: %d %s\n", n, pollbits(p.revents));
  rep("read", read(s, buf, sizeof buf));

  /* Fill c's send buffer (s never reads): writes end in EAGAIN, POLLOUT goes away. */
  memset(buf, 'z', sizeof buf);
  long total = 0;
  int last = 0;
  for (int i = 0; i < 100000; i++) {
    ssize_t w = write(c, buf, sizeof buf);
    if (w < 0) { last = errno; break; }
    total += w;
  }
  printf("filled: wrote something=%d, stopped with %s\n", total > 0, strerror(last));
  p = (struct pollfd){c, POLLOUT, 0};
  n = poll(&p, 1, 0);
  printf("poll POLLOUT when full: %d %s\n", n, pollbits(p.revents));
  /* The peer drains everything: c becomes writable again. */
  long got = 0;
  while (got < total) {
    struct pollfd q = {s, POLLIN, 0};
    if (poll(&q, 1, 5000) <= 0) break;
    ssize_t r = read(s, buf, sizeof buf);
    if (r <= 0) break;
    got += r;
  }
  printf("drained all: %d\n", got == total);
  p = (struct pollfd){c, POLLOUT, 0};
  n = poll(&p, 1, 5000);
  printf("poll POLLOUT after drain: %d %s\n", n, pollbits(p.revents));

  /* Orderly close by c: s sees POLLIN and read 0. */
  close(c);
  p = (struct pollfd){s, POLLIN, 0};
  n = poll(&p, 1, 5000);
  printf("poll after peer close: %d %s\n", n, pollbits(p.revents));
  rep("read at EOF", read(s, buf, sizeof buf));
  close(s);

  /* A non-blocking connect to a port nobody listens on. */
  int t = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in z = loop(0);
  bind(t, (struct sockaddr *)&z, sizeof z);
  z = loop(portof(t));
  close(t);
  t = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  rep("connect non-blocking to a closed port", connect(t, (struct sockaddr *)&z, sizeof z));
  p = (struct pollfd){t, POLLOUT, 0};
  n = poll(&p, 1, 5000);
  printf("poll refused: %d %s\n", n, pollbits(p.revents));
  printf("SO_ERROR: %d (%s)\n", soerror(t), strerror(ECONNREFUSED));
  printf("SO_ERROR again: %d\n", soerror(t));
  close(t);

  close(ls);
  return 0;
}
