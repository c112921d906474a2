/* AF_UNIX SOCK_DGRAM and SOCK_SEQPACKET: sendto/recvfrom with addresses, connect and
 * disconnect, MSG_TRUNC, MSG_PEEK, message boundaries, EOF and errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void rep(const char *what, long r) {
  printf("%s: %ld%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
}

static socklen_t mkaddr(struct sockaddr_un *a, const char *p) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  strcpy(a->sun_path, p);
  return sizeof *a;
}

static void show(const char *what, ssize_t n, const char *buf, struct sockaddr_un *from, socklen_t fl, int flags) {
  printf("%s: n=%zd data='%.*s' fromlen=%u", what, n, n > 0 ? (int)(n > 40 ? 40 : n) : 0, buf, (unsigned)fl);
  if (fl > 2) printf(" from=%s", from->sun_path[0] ? from->sun_path : "(abstract)");
  if (flags >= 0) printf(" flags=%#x", flags);
  putchar('\n');
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGPIPE, SIG_IGN);
  struct sockaddr_un sa, ca, from;
  socklen_t fl;
  char buf[256];
  unlink("/tmp/sock_dgram_srv");
  unlink("/tmp/sock_dgram_cli");
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  int c = socket(AF_UNIX, SOCK_DGRAM, 0);
  socklen_t sl = mkaddr(&sa, "/tmp/sock_dgram_srv");
  mkaddr(&ca, "/tmp/sock_dgram_cli");
  rep("sendto unbound dest", sendto(c, "x", 1, 0, (struct sockaddr *)&sa, sl));
  rep("bind srv", bind(s, (struct sockaddr *)&sa, sl));
  rep("send unconnected", send(c, "x", 1, 0));
  rep("sendto anon", sendto(c, "anon", 4, 0, (struct sockaddr *)&sa, sl));
  fl = sizeof from;
  ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
  show("recv anon", n, buf, &from, fl, -1);
  rep("bind cli", bind(c, (struct sockaddr *)&ca, sizeof(sa_family_t) + strlen(ca.sun_path) + 1));
  rep("sendto named", sendto(c, "named", 5, 0, (struct sockaddr *)&sa, sl));
  rep("sendto empty", sendto(c, "", 0, 0, (struct sockaddr *)&sa, sl));
  int v;
  ioctl(s, FIONREAD, &v);
  printf("FIONREAD=%d\n", v);
  fl = sizeof from;
  n = recvfrom(s, buf, sizeof buf, MSG_PEEK, (struct sockaddr *)&from, &fl);
  show("peek", n, buf, &from, fl, -1);
  fl = sizeof from;
  n = recvfrom(s, buf, 2, 0, (struct sockaddr *)&from, &fl);
  show("short recv", n, buf, &from, fl, -1);
  fl = sizeof from;
  n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
  show("empty dgram", n, buf, &from, fl, -1);
  /* MSG_TRUNC in flags returns the real length; msg_flags shows truncation */
  sendto(c, "0123456789", 10, 0, (struct sockaddr *)&sa, sl);
  n = recv(s, buf, 4, MSG_TRUNC);
  printf("recv MSG_TRUNC: %zd '%.4s'\n", n, buf);
  sendto(c, "abcdefghij", 10, 0, (struct sockaddr *)&sa, sl);
  struct iovec iov = {buf, 3};
  struct msghdr m = {0};
  m.msg_name = &from; m.msg_namelen = sizeof from;
  m.msg_iov = &iov; m.msg_iovlen = 1;
  n = recvmsg(s, &m, 0);
  show("recvmsg trunc", n, buf, &from, m.msg_namelen, m.msg_flags);
  /* reply to the sender's address */
  sendto(s, "reply", 5, 0, (struct sockaddr *)&from, m.msg_namelen);
  fl = sizeof from;
  n = recvfrom(c, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
  show("client got", n, buf, &from, fl, -1);
  /* connect, then a third socket is refused by the connected receiver */
  rep("connect cli->srv", connect(c, (struct sockaddr *)&sa, sl));
  rep("send connected", send(c, "conn", 4, 0));
  rep("sendto self while connected elsewhere", sendto(c, "x", 1, 0, (struct sockaddr *)&ca, sizeof ca));
  rep("connect srv->cli", connect(s, (struct sockaddr *)&ca, sizeof ca));
  int t = socket(AF_UNIX, SOCK_DGRAM, 0);
  rep("third to connected srv", sendto(t, "x", 1, 0, (struct sockaddr *)&sa, sl));
  struct sockaddr un = {0}; un.sa_family = AF_UNSPEC;
  rep("disconnect", connect(s, &un, sizeof un));
  rep("third after disconnect", sendto(t, "3rd", 3, 0, (struct sockaddr *)&sa, sl));
  n = recv(s, buf, sizeof buf, 0);
  printf("srv got %zd '%.*s'\n", n, (int)n, buf);
  rep("srv queue after disconnect", recv(s, buf, sizeof buf, MSG_DONTWAIT));
  { int e; socklen_t el = sizeof e; getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &el); printf("cli SO_ERROR=%d\n", e); }
  fl = sizeof from;
  rep("getpeername cli", getpeername(c, (struct sockaddr *)&from, &fl));
  printf("peer len=%u %s\n", fl, from.sun_path);
  fl = sizeof from;
  rep("getpeername srv (disconnected)", getpeername(s, (struct sockaddr *)&from, &fl));
  fcntl(s, F_SETFL, O_NONBLOCK);
  rep("nonblock empty", recv(s, buf, sizeof buf, 0));
  close(s);
  rep("send to closed peer", send(c, "x", 1, 0));
  rep("send again", send(c, "x", 1, 0));
  close(c); close(t);
  unlink("/tmp/sock_dgram_srv");
  unlink("/tmp/sock_dgram_cli");

  /* socketpair dgram: boundaries, a write of many datagrams */
  int sv[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  write(sv[0], "one", 3); write(sv[0], "two!", 4); write(sv[0], "three", 5);
  for (int i = 0; i < 3; i++) { n = read(sv[1], buf, sizeof buf); printf("dgram %d: %zd '%.*s'\n", i, n, (int)n, buf); }
  shutdown(sv[0], SHUT_WR);
  rep("send after shutdown", send(sv[0], "x", 1, 0));
  rep("peer reads after shutdown (nonblock)", recv(sv[1], buf, 10, MSG_DONTWAIT));
  shutdown(sv[1], SHUT_RD);
  rep("read after SHUT_RD", recv(sv[1], buf, 10, 0));
  close(sv[0]); close(sv[1]);

  /* SOCK_SEQPACKET */
  rep("seqpacket pair", socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
  send(sv[0], "rec1", 4, 0); send(sv[0], "record-two", 10, 0); send(sv[0], "", 0, 0); send(sv[0], "r3", 2, 0);
  n = recv(sv[1], buf, 100, 0); printf("seq %zd '%.*s'\n", n, (int)n, buf);
  iov.iov_base = buf; iov.iov_len = 6;
  memset(&m, 0, sizeof m); m.msg_iov = &iov; m.msg_iovlen = 1;
  n = recvmsg(sv[1], &m, 0); printf("seq trunc %zd '%.*s' flags=%#x\n", n, (int)n, buf, m.msg_flags);
  n = recv(sv[1], buf, 100, 0); printf("seq empty %zd\n", n);
  n = recv(sv[1], buf, 100, 0); printf("seq %zd '%.*s'\n", n, (int)n, buf);
  close(sv[0]);
  rep("seq read after close", recv(sv[1], buf, 100, 0));
  rep("seq write after close", send(sv[1], "x", 1, 0));
  close(sv[1]);
  int q = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  rep("seq send unconnected", send(q, "x", 1, 0));
  rep("seq recv unconnected", recv(q, buf, 1, MSG_DONTWAIT));
  struct sockaddr_un qa = {0};
  qa.sun_family = AF_UNIX;
  memcpy(qa.sun_path, "\0seqsrv", 7);
  socklen_t qal = offsetof(struct sockaddr_un, sun_path) + 7;
  bind(q, (struct sockaddr *)&qa, qal);
  listen(q, 2);
  int qc = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  rep("seq connect", connect(qc, (struct sockaddr *)&qa, qal));
  int qd = socket(AF_UNIX, SOCK_STREAM, 0);
  rep("stream connect to seqpacket", connect(qd, (struct sockaddr *)&qa, qal));
  int qs = accept(q, NULL, NULL);
  send(qc, "hello seq", 9, 0);
  n = recv(qs, buf, sizeof buf, 0);
  printf("seq accepted got %zd '%.*s'\n", n, (int)n, buf);
  close(qc); close(qs); close(q); close(qd);
  /* SOCK_RAW is a dgram socket for AF_UNIX */
  int r = socket(AF_UNIX, SOCK_RAW, 0);
  int ty; socklen_t tl = sizeof ty;
  getsockopt(r, SOL_SOCKET, SO_TYPE, &ty, &tl);
  printf("raw type=%d\n", ty);
  return 0;
}
