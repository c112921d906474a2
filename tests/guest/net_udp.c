/* AF_INET SOCK_DGRAM over lo: echo between two sockets, addresses, MSG_PEEK/MSG_TRUNC/
 * MSG_DONTWAIT, FIONREAD, ICMP port unreachable → ECONNREFUSED on a connected socket,
 * disconnect, EADDRINUSE, EMSGSIZE, broadcast permission, a bounded receive queue and a few
 * IP options. Prints only what is the same on any Linux (no port numbers). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static void rep(const char *what, long r) {
  printf("%s: %ld%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
}

static struct sockaddr_in lo(unsigned short port) {
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

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  char buf[70000];
  struct sockaddr_in from;
  socklen_t fl;

  int a = socket(AF_INET, SOCK_DGRAM, 0);
  int b = socket(AF_INET, SOCK_DGRAM, 0);
  printf("sockets: %d\n", a >= 0 && b >= 0);
  struct sockaddr_in la = lo(0);
  rep("bind a 127.0.0.1:0", bind(a, (struct sockaddr *)&la, sizeof la));
  unsigned short pa = portof(a);
  printf("a has a port: %d\n", pa != 0);
  {
    struct sockaddr_in n;
    socklen_t l = sizeof n;
    getsockname(b, (struct sockaddr *)&n, &l);
    printf("unbound b: port=%u addr=%s len=%u\n", ntohs(n.sin_port), inet_ntoa(n.sin_addr), (unsigned)l);
    l = sizeof n;
    rep("getpeername b", getpeername(b, (struct sockaddr *)&n, &l));
  }
  rep("bind a again", bind(a, (struct sockaddr *)&la, sizeof la));

  /* b → a: b gets an ephemeral port on send. */
  struct sockaddr_in ta = lo(pa);
  rep("sendto b→a", sendto(b, "hello", 5, 0, (struct sockaddr *)&ta, sizeof ta));
  unsigned short pb = portof(b);
  printf("b autobound: %d\n", pb != 0);
  rep("FIONREAD a", ({ int n = -1; ioctl(a, FIONREAD, &n) < 0 ? -1 : n; }));
  fl = sizeof from;
  long n = recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
  printf("recvfrom a: n=%ld data='%.*s' from=%s port_matches=%d fromlen=%u\n", n, (int)(n > 0 ? n : 0), buf,
         inet_ntoa(from.sin_addr), ntohs(from.sin_port) == pb, (unsigned)fl);
  /* echo back */
  rep("sendto a→b (echo)", sendto(a, buf, n, 0, (struct sockaddr *)&from, fl));
  n = recv(b, buf, sizeof buf, 0);
  printf("recv b: n=%ld data='%.*s'\n", n, (int)(n > 0 ? n : 0), buf);

  /* MSG_PEEK keeps the datagram; MSG_TRUNC reports its real length. */
  char big[100];
  memset(big, 'x', sizeof big);
  rep("sendto 100 bytes", sendto(b, big, sizeof big, 0, (struct sockaddr *)&ta, sizeof ta));
  rep("recv MSG_PEEK 10", recv(a, buf, 10, MSG_PEEK));
  rep("recv MSG_PEEK|MSG_TRUNC 10", recv(a, buf, 10, MSG_PEEK | MSG_TRUNC));
  {
    struct iovec iov = {buf, 10};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    long r = recvmsg(a, &m, 0);
    printf("recvmsg 10: n=%ld flags_trunc=%d namelen=%u\n", r, (m.msg_flags & MSG_TRUNC) != 0, (unsigned)m.msg_namelen);
  }
  rep("recv DONTWAIT (empty)", recv(a, buf, sizeof buf, MSG_DONTWAIT));
  rep("sendto empty datagram", sendto(b, "", 0, 0, (struct sockaddr *)&ta, sizeof ta));
  rep("recv empty datagram", recv(a, buf, sizeof buf, 0));

  /* A closed port: a connected socket hears ICMP port unreachable as ECONNREFUSED. */
  int t = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in lt = lo(0);
  bind(t, (struct sockaddr *)&lt, sizeof lt);
  unsigned short closed = portof(t);
  close(t);
  int c = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in tc = lo(closed);
  rep("connect c to closed port", connect(c, (struct sockaddr *)&tc, sizeof tc));
  {
    struct sockaddr_in p;
    socklen_t l = sizeof p;
    int r = getpeername(c, (struct sockaddr *)&p, &l);
    printf("getpeername c: %d port_matches=%d addr=%s\n", r, ntohs(p.sin_port) == closed, inet_ntoa(p.sin_addr));
    l = sizeof p;
    getsockname(c, (struct sockaddr *)&p, &l);
    printf("getsockname c: addr=%s has_port=%d\n", inet_ntoa(p.sin_addr), p.sin_port != 0);
  }
  rep("send c", send(c, "ping", 4, 0));
  struct pollfd pfd = {c, POLLIN, 0};
  int pr = poll(&pfd, 1, 2000);
  printf("poll c: %d revents_err=%d\n", pr, (pfd.revents & POLLERR) != 0);
  rep("recv c", recv(c, buf, sizeof buf, 0));
  rep("recv c again (DONTWAIT)", recv(c, buf, sizeof buf, MSG_DONTWAIT));
  rep("send c", send(c, "ping", 4, 0));
  pfd.revents = 0;
  poll(&pfd, 1, 2000);
  {
    int e = -1;
    socklen_t l = sizeof e;
    int r = getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &l);
    printf("SO_ERROR: r=%d err=%s\n", r, e ? strerror(e) : "0");
  }
  rep("send c", send(c, "ping", 4, 0));
  pfd.revents = 0;
  poll(&pfd, 1, 2000);
  rep("send c with the error pending", send(c, "ping", 4, 0));
  /* Unconnected sockets do not hear it. */
  rep("sendto b→closed", sendto(b, "x", 1, 0, (struct sockaddr *)&tc, sizeof tc));
  usleep(100000);
  rep("recv b DONTWAIT", recv(b, buf, sizeof buf, MSG_DONTWAIT));

  /* connect(AF_UNSPEC) disconnects. */
  {
    struct sockaddr un;
    memset(&un, 0, sizeof un);
    un.sa_family = AF_UNSPEC;
    rep("disconnect c", connect(c, &un, sizeof un));
    struct sockaddr_in p;
    socklen_t l = sizeof p;
    rep("getpeername c", getpeername(c, (struct sockaddr *)&p, &l));
    l = sizeof p;
    getsockname(c, (struct sockaddr *)&p, &l);
    printf("getsockname c after disconnect: addr=%s has_port=%d\n", inet_ntoa(p.sin_addr), p.sin_port != 0);
    rep("send c unconnected", send(c, "x", 1, 0));
  }
  rep("shutdown unconnected", shutdown(c, SHUT_RDWR));
  close(c);

  /* bind conflicts */
  int d = socket(AF_INET, SOCK_DGRAM, 0);
  rep("bind d to a's port", bind(d, (struct sockaddr *)&ta, sizeof ta));
  struct sockaddr_in any = ta;
  any.sin_addr.s_addr = htonl(INADDR_ANY);
  rep("bind d to 0.0.0.0:a's port", bind(d, (struct sockaddr *)&any, sizeof any));
  struct sockaddr_in bad = lo(0);
  bad.sin_addr.s_addr = inet_addr("192.0.2.1");
  rep("bind d to a foreign address", bind(d, (struct sockaddr *)&bad, sizeof bad));
  rep("bind d short addrlen", bind(d, (struct sockaddr *)&la, 8));
  struct sockaddr_in fam = la;
  fam.sin_family = AF_UNIX;
  rep("bind d wrong family", bind(d, (struct sockaddr *)&fam, sizeof fam));
  close(d);
  {
    int r1 = socket(AF_INET, SOCK_DGRAM, 0), r2 = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
    setsockopt(r1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(r2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in l0 = lo(0);
    rep("reuse: bind r1", bind(r1, (struct sockaddr *)&l0, sizeof l0));
    struct sockaddr_in l1 = lo(portof(r1));
    rep("reuse: bind r2 to the same port", bind(r2, (struct sockaddr *)&l1, sizeof l1));
    close(r1);
    close(r2);
  }

  /* sizes */
  rep("sendto 65507 bytes", sendto(b, buf, 65507, 0, (struct sockaddr *)&ta, sizeof ta));
  rep("recv 65507", recv(a, buf, sizeof buf, 0));
  rep("sendto 65508 bytes", sendto(b, buf, 65508, 0, (struct sockaddr *)&ta, sizeof ta));
  rep("send unconnected no address", send(b, "x", 1, 0));
  struct sockaddr_in p0 = lo(0);
  rep("sendto port 0", sendto(b, "x", 1, 0, (struct sockaddr *)&p0, sizeof p0));
  rep("sendto MSG_OOB", sendto(b, "x", 1, MSG_OOB, (struct sockaddr *)&ta, sizeof ta));

  /* A broadcast needs SO_BROADCAST. */
  struct sockaddr_in bc = lo(pa);
  bc.sin_addr.s_addr = inet_addr("127.255.255.255");
  rep("sendto 127.255.255.255 without SO_BROADCAST", sendto(b, "x", 1, 0, (struct sockaddr *)&bc, sizeof bc));
  {
    int one = 1;
    setsockopt(b, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
  }
  rep("sendto 127.255.255.255 with SO_BROADCAST", sendto(b, "x", 1, 0, (struct sockaddr *)&bc, sizeof bc));

  /* A small receive buffer drops what does not fit (RcvbufErrors). */
  {
    int r = socket(AF_INET, SOCK_DGRAM, 0), v = 1;
    setsockopt(r, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    struct sockaddr_in l0 = lo(0);
    bind(r, (struct sockaddr *)&l0, sizeof l0);
    struct sockaddr_in tr = lo(portof(r));
    for (int i = 0; i < 20; i++) sendto(b, big, sizeof big, 0, (struct sockaddr *)&tr, sizeof tr);
    int got = 0;
    while (recv(r, buf, sizeof buf, MSG_DONTWAIT) > 0) got++;
    printf("small rcvbuf: some kept=%d some dropped=%d\n", got > 0, got < 20);
    close(r);
  }

  /* MSG_MORE and UDP_CORK gather several sends into one datagram. */
  {
    rep("send MSG_MORE 'ab'", sendto(b, "ab", 2, MSG_MORE, (struct sockaddr *)&ta, sizeof ta));
    rep("recv DONTWAIT (still corked)", recv(a, buf, sizeof buf, MSG_DONTWAIT));
    rep("send MSG_MORE 'cd'", sendto(b, "cd", 2, MSG_MORE, (struct sockaddr *)&ta, sizeof ta));
    rep("send 'ef'", sendto(b, "ef", 2, 0, (struct sockaddr *)&ta, sizeof ta));
    n = recv(a, buf, sizeof buf, 0);
    printf("one datagram: n=%ld data='%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
    int one = 1, zero = 0;
    rep("UDP_CORK on", setsockopt(b, IPPROTO_UDP, UDP_CORK, &one, sizeof one));
    sendto(b, "12", 2, 0, (struct sockaddr *)&ta, sizeof ta);
    sendto(b, "34", 2, 0, (struct sockaddr *)&ta, sizeof ta);
    rep("recv DONTWAIT (corked)", recv(a, buf, sizeof buf, MSG_DONTWAIT));
    rep("UDP_CORK off", setsockopt(b, IPPROTO_UDP, UDP_CORK, &zero, sizeof zero));
    n = recv(a, buf, sizeof buf, 0);
    printf("corked datagram: n=%ld data='%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
  }

  /* A blocking receive wakes when a datagram arrives; SO_RCVTIMEO ends the wait. */
  {
    pid_t pid = fork();
    if (pid == 0) {
      usleep(200000);
      sendto(b, "late", 4, 0, (struct sockaddr *)&ta, sizeof ta);
      _exit(0);
    }
    n = recv(a, buf, sizeof buf, 0);
    printf("blocking recv: n=%ld data='%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
    int st;
    waitpid(pid, &st, 0);
    struct timeval tv = {0, 100000};
    setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    rep("recv with SO_RCVTIMEO 100ms", recv(a, buf, sizeof buf, 0));
    tv.tv_usec = 0;
    setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  /* IP options */
  {
    int v = -1;
    socklen_t l = sizeof v;
    getsockopt(a, IPPROTO_IP, IP_TTL, &v, &l);
    printf("IP_TTL default: %d\n", v);
    v = 7;
    rep("set IP_TTL 7", setsockopt(a, IPPROTO_IP, IP_TTL, &v, sizeof v));
    l = sizeof v;
    getsockopt(a, IPPROTO_IP, IP_TTL, &v, &l);
    printf("IP_TTL: %d\n", v);
    v = 0;
    rep("set IP_TTL 0", setsockopt(a, IPPROTO_IP, IP_TTL, &v, sizeof v));
    v = 0x10;
    rep("set IP_TOS 0x10", setsockopt(a, IPPROTO_IP, IP_TOS, &v, sizeof v));
    l = sizeof v;
    getsockopt(a, IPPROTO_IP, IP_TOS, &v, &l);
    printf("IP_TOS: %#x\n", v);
    v = 1;
    rep("set IP_HDRINCL on UDP", setsockopt(a, IPPROTO_IP, IP_HDRINCL, &v, sizeof v));
    rep("set IP_PKTINFO", setsockopt(a, IPPROTO_IP, IP_PKTINFO, &v, sizeof v));
    l = sizeof v;
    v = -1;
    getsockopt(a, IPPROTO_IP, IP_PKTINFO, &v, &l);
    printf("IP_PKTINFO: %d\n", v);
    l = sizeof v;
    getsockopt(a, IPPROTO_IP, IP_MULTICAST_TTL, &v, &l);
    printf("IP_MULTICAST_TTL: %d\n", v);
  }

  /* socket() argument checks */
  rep("socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP)", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
  rep("socket(AF_INET, SOCK_SEQPACKET, 0)", socket(AF_INET, SOCK_SEQPACKET, 0));
  rep("socket(AF_INET, SOCK_DGRAM, 300)", socket(AF_INET, SOCK_DGRAM, 300));
  {
    int u = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    int v = -1;
    socklen_t l = sizeof v;
    getsockopt(u, SOL_SOCKET, SO_PROTOCOL, &v, &l);
    printf("SO_PROTOCOL of (DGRAM, IPPROTO_UDP): %d\n", v);
    close(u);
    u = socket(AF_INET, SOCK_DGRAM, 0);
    l = sizeof v;
    getsockopt(u, SOL_SOCKET, SO_PROTOCOL, &v, &l);
    printf("SO_PROTOCOL of (DGRAM, 0): %d\n", v);
    close(u);
  }
  close(a);
  close(b);
  printf("done\n");
  return 0;
}
