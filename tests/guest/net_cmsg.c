/* IP control messages over 127.0.0.1 (ip_cmsg_recv, ip_cmsg_send, sock_recv_timestamp,
 * ip_recv_error): IP_PKTINFO, IP_RECVTTL, IP_RECVTOS, IP_RECVORIGDSTADDR, SO_TIMESTAMP and
 * SO_TIMESTAMPNS on received UDP datagrams, MSG_CTRUNC with too small a control buffer,
 * sendmsg with IP_PKTINFO / IP_TTL / IP_TOS cmsgs (and the EINVAL cases), and the
 * MSG_ERRQUEUE read of an ICMP port unreachable with IP_RECVERR. Prints only what is the
 * same on any Linux (no port numbers, no times). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
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

static int on(int fd, int level, int name) {
  int one = 1;
  return setsockopt(fd, level, name, &one, sizeof one);
}

static unsigned short rport;

/* Print every control message of a received datagram, decoded. */
static void dump(struct msghdr *m) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
    size_t dl = c->cmsg_len - CMSG_LEN(0);
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMP) {
      struct timeval tv, now;
      memcpy(&tv, CMSG_DATA(c), sizeof tv);
      gettimeofday(&now, NULL);
      long d = (long)(now.tv_sec - tv.tv_sec);
      int ok = dl == sizeof tv && d >= 0 && d < 60 && tv.tv_usec >= 0 && tv.tv_usec < 1000000;
      printf("  SOL_SOCKET SO_TIMESTAMP len=%zu %s\n", dl,
             dl < sizeof tv ? "truncated" : ok ? "present" : "implausible");
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
      struct timespec ts, now;
      memcpy(&ts, CMSG_DATA(c), sizeof ts);
      clock_gettime(CLOCK_REALTIME, &now);
      long d = (long)(now.tv_sec - ts.tv_sec);
      int ok = dl == sizeof ts && d >= 0 && d < 60 && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000;
      printf("  SOL_SOCKET SO_TIMESTAMPNS len=%zu %s\n", dl, ok ? "present" : "implausible");
    } else if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      char a[16], b[16];
      strcpy(a, inet_ntoa(pi.ipi_spec_dst));
      strcpy(b, inet_ntoa(pi.ipi_addr));
      printf("  SOL_IP IP_PKTINFO len=%zu ifindex=%d spec_dst=%s addr=%s\n", dl, pi.ipi_ifindex, a, b);
    } else if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_TTL) {
      int ttl;
      memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
      printf("  SOL_IP IP_TTL len=%zu ttl=%d\n", dl, ttl);
    } else if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_TOS) {
      printf("  SOL_IP IP_TOS len=%zu tos=0x%02x\n", dl, *(unsigned char *)CMSG_DATA(c));
    } else if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR) {
      struct sockaddr_in a;
      memcpy(&a, CMSG_DATA(c), sizeof a);
      printf("  SOL_IP IP_ORIGDSTADDR len=%zu family=%d addr=%s port-is-ours=%d\n", dl, a.sin_family,
             inet_ntoa(a.sin_addr), ntohs(a.sin_port) == rport);
    } else {
      printf("  cmsg level=%d type=%d len=%zu\n", c->cmsg_level, c->cmsg_type, dl);
    }
  }
}

/* recvmsg one datagram with a control buffer of `clen` bytes and report it. */
static void recv_report(const char *what, int fd, size_t clen) {
  char data[64];
  union {
    char buf[512];
    struct cmsghdr align;
  } ctl;
  struct sockaddr_in from;
  struct iovec iov = {data, sizeof data};
  struct msghdr m;
  memset(&m, 0, sizeof m);
  memset(&ctl, 0, sizeof ctl);
  m.msg_name = &from;
  m.msg_namelen = sizeof from;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = clen ? ctl.buf : NULL;
  m.msg_controllen = clen;
  ssize_t n = recvmsg(fd, &m, 0);
  if (n < 0) {
    rep(what, n);
    return;
  }
  printf("%s: %zd \"%.*s\" from %s ctrunc=%d controllen=%zu\n", what, n, (int)n, data, inet_ntoa(from.sin_addr),
         (m.msg_flags & MSG_CTRUNC) != 0, (size_t)m.msg_controllen);
  if (clen) dump(&m);
}

/* sendmsg `text` to 127.0.0.1:port with the given control buffer. */
static long send_ctl(int fd, unsigned short port, const char *text, void *ctl, size_t clen) {
  struct sockaddr_in to = lo(port);
  struct iovec iov = {(void *)text, strlen(text)};
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_name = &to;
  m.msg_namelen = sizeof to;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = clen;
  return sendmsg(fd, &m, 0);
}

/* One SOL_IP cmsg with `dlen` data bytes (its cmsg_len says so) in `buf`. */
static size_t one_cmsg(void *buf, size_t space, int type, const void *data, size_t dlen) {
  memset(buf, 0, space);
  struct cmsghdr *c = (struct cmsghdr *)buf;
  c->cmsg_level = SOL_IP;
  c->cmsg_type = type;
  c->cmsg_len = CMSG_LEN(dlen);
  memcpy(CMSG_DATA(c), data, dlen);
  return CMSG_SPACE(dlen);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int r = socket(AF_INET, SOCK_DGRAM, 0);
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  printf("sockets: %d\n", r >= 0 && s >= 0);
  struct sockaddr_in la = lo(0);
  rep("bind r 127.0.0.1:0", bind(r, (struct sockaddr *)&la, sizeof la));
  rport = portof(r);
  struct sockaddr_in to = lo(rport);

  /* --- receive side ------------------------------------------------------------------ */
  rep("IP_PKTINFO on", on(r, SOL_IP, IP_PKTINFO));
  rep("IP_RECVTTL on", on(r, SOL_IP, IP_RECVTTL));
  rep("IP_RECVTOS on", on(r, SOL_IP, IP_RECVTOS));
  rep("SO_TIMESTAMP on", on(r, SOL_SOCKET, SO_TIMESTAMP));
  {
    int v = -1;
    socklen_t l = sizeof v;
    getsockopt(r, SOL_SOCKET, SO_TIMESTAMP, &v, &l);
    printf("get SO_TIMESTAMP: %d\n", v);
    v = -1;
    l = sizeof v;
    getsockopt(r, SOL_IP, IP_PKTINFO, &v, &l);
    printf("get IP_PKTINFO: %d\n", v);
  }
  int tos = IPTOS_LOWDELAY;
  rep("IP_TOS 0x10 on sender", setsockopt(s, SOL_IP, IP_TOS, &tos, sizeof tos));
  rep("sendto hello", sendto(s, "hello", 5, 0, (struct sockaddr *)&to, sizeof to));
  recv_report("recvmsg", r, 512);

  /* No control buffer at all, then one too small for the first message. */
  sendto(s, "nobuf", 5, 0, (struct sockaddr *)&to, sizeof to);
  recv_report("recvmsg without control", r, 0);
  sendto(s, "small", 5, 0, (struct sockaddr *)&to, sizeof to);
  recv_report("recvmsg with 24 control bytes", r, 24);
  /* Options off again: only what is still on is delivered. (A cut after the first message,
   * and SO_TIMESTAMPNS / IP_RECVORIGDSTADDR, are not compared: qemu-user does not pass
   * them through faithfully.) */
  rep("SO_TIMESTAMP off", setsockopt(r, SOL_SOCKET, SO_TIMESTAMP, &(int){0}, sizeof(int)));
  rep("IP_RECVTTL off", setsockopt(r, SOL_IP, IP_RECVTTL, &(int){0}, sizeof(int)));
  {
    int v = -1;
    socklen_t l = sizeof v;
    getsockopt(r, SOL_SOCKET, SO_TIMESTAMP, &v, &l);
    printf("get SO_TIMESTAMP: %d\n", v);
  }
  sendto(s, "less", 4, 0, (struct sockaddr *)&to, sizeof to);
  recv_report("recvmsg", r, 512);
  rep("SO_TIMESTAMP on", on(r, SOL_SOCKET, SO_TIMESTAMP));
  rep("IP_RECVTTL on", on(r, SOL_IP, IP_RECVTTL));

  /* --- send side --------------------------------------------------------------------- */
  union {
    char buf[256];
    struct cmsghdr align;
  } ctl;
  {
    struct in_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    pi.ipi_ifindex = 1;
    pi.ipi_spec_dst.s_addr = htonl(0x7f000002); /* 127.0.0.2: a local address that is not the bound one */
    size_t n = one_cmsg(ctl.buf, sizeof ctl.buf, IP_PKTINFO, &pi, sizeof pi);
    rep("sendmsg IP_PKTINFO spec_dst 127.0.0.2", send_ctl(s, rport, "pkt", ctl.buf, n));
    recv_report("recvmsg", r, 512);
  }
  {
    /* Two cmsgs in one buffer: IP_TTL 7 (an int) and IP_TOS 0x08 (one byte). */
    memset(ctl.buf, 0, sizeof ctl.buf);
    struct cmsghdr *c = (struct cmsghdr *)ctl.buf;
    c->cmsg_level = SOL_IP;
    c->cmsg_type = IP_TTL;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    *(int *)CMSG_DATA(c) = 7;
    c = (struct cmsghdr *)(ctl.buf + CMSG_SPACE(sizeof(int)));
    c->cmsg_level = SOL_IP;
    c->cmsg_type = IP_TOS;
    c->cmsg_len = CMSG_LEN(1);
    *(unsigned char *)CMSG_DATA(c) = IPTOS_THROUGHPUT;
    size_t n = CMSG_SPACE(sizeof(int)) + CMSG_SPACE(1);
    rep("sendmsg IP_TTL 7 + IP_TOS 0x08", send_ctl(s, rport, "ttl", ctl.buf, n));
    recv_report("recvmsg", r, 512);
  }
  {
    int v = 0;
    size_t n = one_cmsg(ctl.buf, sizeof ctl.buf, IP_TTL, &v, sizeof v);
    rep("sendmsg IP_TTL 0", send_ctl(s, rport, "x", ctl.buf, n));
    unsigned char b = 5;
    n = one_cmsg(ctl.buf, sizeof ctl.buf, IP_TTL, &b, 1);
    rep("sendmsg IP_TTL of 1 byte", send_ctl(s, rport, "x", ctl.buf, n));
    struct in_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    n = one_cmsg(ctl.buf, sizeof ctl.buf, IP_PKTINFO, &pi, 8);
    rep("sendmsg IP_PKTINFO of 8 bytes", send_ctl(s, rport, "x", ctl.buf, n));
    v = 256;
    n = one_cmsg(ctl.buf, sizeof ctl.buf, IP_TOS, &v, sizeof v);
    rep("sendmsg IP_TOS 256", send_ctl(s, rport, "x", ctl.buf, n));
    n = one_cmsg(ctl.buf, sizeof ctl.buf, IP_MTU_DISCOVER, &v, sizeof v);
    rep("sendmsg IP_MTU_DISCOVER cmsg", send_ctl(s, rport, "x", ctl.buf, n));
    struct pollfd p = {r, POLLIN, 0};
    printf("nothing arrived: %d\n", poll(&p, 1, 100) == 0);
  }

  /* --- error queue ------------------------------------------------------------------- */
  int c = socket(AF_INET, SOCK_DGRAM, 0);
  bind(c, (struct sockaddr *)&la, sizeof la);
  unsigned short closed = portof(c);
  close(c);
  int e = socket(AF_INET, SOCK_DGRAM, 0);
  rep("IP_RECVERR on", on(e, SOL_IP, IP_RECVERR));
  {
    struct sockaddr_in dst = lo(closed);
    char ctlb[128];
    struct in_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    pi.ipi_spec_dst.s_addr = htonl(INADDR_LOOPBACK);
    size_t n = one_cmsg(ctlb, sizeof ctlb, IP_PKTINFO, &pi, sizeof pi);
    struct iovec iov = {"to a closed port", 16};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = &dst;
    m.msg_namelen = sizeof dst;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctlb;
    m.msg_controllen = n;
    rep("sendmsg to a closed port", sendmsg(e, &m, 0));
  }
  {
    struct pollfd p = {e, 0, 0};
    int pr = poll(&p, 1, 2000);
    printf("poll: %d POLLERR=%d\n", pr, (p.revents & POLLERR) != 0);
  }
  {
    char data[64];
    union {
      char buf[256];
      struct cmsghdr align;
    } eb;
    struct sockaddr_in from;
    struct iovec iov = {data, sizeof data};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    memset(&from, 0, sizeof from);
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = eb.buf;
    m.msg_controllen = sizeof eb.buf;
    ssize_t n = recvmsg(e, &m, MSG_ERRQUEUE);
    if (n < 0) {
      rep("recvmsg MSG_ERRQUEUE", n);
    } else {
      printf("recvmsg MSG_ERRQUEUE: %zd \"%.*s\" errqueue=%d trunc=%d\n", n, (int)n, data,
             (m.msg_flags & MSG_ERRQUEUE) != 0, (m.msg_flags & MSG_TRUNC) != 0);
      printf("  name: family=%d addr=%s port-is-closed-one=%d namelen=%u\n", from.sin_family, inet_ntoa(from.sin_addr),
             ntohs(from.sin_port) == closed, (unsigned)m.msg_namelen);
      for (struct cmsghdr *ch = CMSG_FIRSTHDR(&m); ch; ch = CMSG_NXTHDR(&m, ch)) {
        size_t dl = ch->cmsg_len - CMSG_LEN(0);
        if (ch->cmsg_level == SOL_IP && ch->cmsg_type == IP_RECVERR) {
          struct sock_extended_err ee;
          memcpy(&ee, CMSG_DATA(ch), sizeof ee);
          struct sockaddr_in off;
          memcpy(&off, CMSG_DATA(ch) + sizeof ee, sizeof off);
          printf("  SOL_IP IP_RECVERR len=%zu ee_errno=%s origin=%u type=%u code=%u pad=%u info=%u data=%u\n", dl,
                 ee.ee_errno == ECONNREFUSED ? "ECONNREFUSED" : strerror(ee.ee_errno), ee.ee_origin, ee.ee_type,
                 ee.ee_code, ee.ee_pad, ee.ee_info, ee.ee_data);
          printf("  offender: family=%d addr=%s\n", off.sin_family, inet_ntoa(off.sin_addr));
        } else {
          printf("  cmsg level=%d type=%d len=%zu\n", ch->cmsg_level, ch->cmsg_type, dl);
        }
      }
    }
    int err = -1;
    socklen_t l = sizeof err;
    getsockopt(e, SOL_SOCKET, SO_ERROR, &err, &l);
    printf("SO_ERROR after the error queue: %d\n", err);
    m.msg_controllen = sizeof eb.buf;
    m.msg_namelen = sizeof from;
    rep("recvmsg MSG_ERRQUEUE again", recvmsg(e, &m, MSG_ERRQUEUE | MSG_DONTWAIT));
  }
  close(e);
  close(r);
  close(s);
  return 0;
}
