/* rtnetlink as `ip` uses it: RTM_GETLINK / RTM_GETADDR / RTM_GETROUTE dumps, a single
 * RTM_GETLINK with an ack, and the errors the kernel acks with. Only what is the same on any
 * Linux is printed: lo (index 1) and its 127.0.0.1/8; other interfaces are skipped. */
#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

static int fd;
static unsigned portid;
static unsigned seq = 100;
static char buf[32768];

static void die(const char *what) {
  printf("FAIL %s: %s\n", what, strerror(errno));
  exit(1);
}

static void send_req(unsigned short type, unsigned short flags, const void *body, size_t blen, const void *attrs,
                     size_t alen) {
  char req[512];
  struct nlmsghdr *h = (struct nlmsghdr *)req;
  memset(req, 0, sizeof req);
  h->nlmsg_len = NLMSG_LENGTH(NLMSG_ALIGN(blen) + alen);
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
  h->nlmsg_seq = ++seq;
  memcpy(NLMSG_DATA(h), body, blen);
  if (alen) memcpy((char *)NLMSG_DATA(h) + NLMSG_ALIGN(blen), attrs, alen);
  struct sockaddr_nl k = {.nl_family = AF_NETLINK};
  if (sendto(fd, req, h->nlmsg_len, 0, (struct sockaddr *)&k, sizeof k) != (ssize_t)h->nlmsg_len) die("sendto");
}

/* Receive one batch; checks the sender is the kernel and the address is 12 bytes. */
static int recv_batch(int flags) {
  struct sockaddr_nl from;
  struct iovec iov = {buf, sizeof buf};
  struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
  int n = recvmsg(fd, &m, flags);
  if (n < 0) return -errno;
  if (m.msg_namelen != sizeof from || from.nl_family != AF_NETLINK || from.nl_pid != 0) printf("bad sender\n");
  if (m.msg_flags & MSG_TRUNC) printf("truncated\n");
  return n;
}

typedef void (*msg_fn)(struct nlmsghdr *h);

/* A whole dump: every message to fn, checking seq, pid and NLM_F_MULTI; returns the count. */
static int run_dump(msg_fn fn) {
  int count = 0;
  for (;;) {
    int n = recv_batch(0);
    if (n < 0) {
      errno = -n;
      die("recv dump");
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq || h->nlmsg_pid != portid) printf("bad seq/pid %u/%u\n", h->nlmsg_seq, h->nlmsg_pid);
      if (!(h->nlmsg_flags & NLM_F_MULTI)) printf("no NLM_F_MULTI in type %u\n", h->nlmsg_type);
      if (h->nlmsg_type == NLMSG_DONE) return count;
      if (h->nlmsg_type == NLMSG_ERROR) {
        printf("dump error %d\n", ((struct nlmsgerr *)NLMSG_DATA(h))->error);
        return count;
      }
      count++;
      fn(h);
    }
  }
}

static void show_link(struct nlmsghdr *h) {
  struct ifinfomsg *ifi = NLMSG_DATA(h);
  if (h->nlmsg_type != RTM_NEWLINK) printf("link type %u\n", h->nlmsg_type);
  if (ifi->ifi_index != 1) return;
  const char *name = "?", *qdisc = "?";
  unsigned mtu = 0, txq = 0, oper = 99, addrlen = 0;
  int len = IFLA_PAYLOAD(h);
  for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    switch (a->rta_type) {
      case IFLA_IFNAME: name = RTA_DATA(a); break;
      case IFLA_QDISC: qdisc = RTA_DATA(a); break;
      case IFLA_MTU: mtu = *(unsigned *)RTA_DATA(a); break;
      case IFLA_TXQLEN: txq = *(unsigned *)RTA_DATA(a); break;
      case IFLA_OPERSTATE: oper = *(unsigned char *)RTA_DATA(a); break;
      case IFLA_ADDRESS: addrlen = RTA_PAYLOAD(a); break;
    }
  }
  unsigned fl = ifi->ifi_flags & (IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP | IFF_BROADCAST);
  printf("link %d %s type %u flags %#x mtu %u qdisc %s qlen %u operstate %u addrlen %u\n", ifi->ifi_index, name,
         ifi->ifi_type, fl, mtu, qdisc, txq, oper, addrlen);
}

static void show_addr(struct nlmsghdr *h) {
  struct ifaddrmsg *ifa = NLMSG_DATA(h);
  if (ifa->ifa_index != 1 || ifa->ifa_family != AF_INET) return;
  char addr[32] = "?", local[32] = "?";
  const char *label = "?";
  unsigned valid = 0, pref = 0;
  int len = IFA_PAYLOAD(h);
  for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    switch (a->rta_type) {
      case IFA_ADDRESS: inet_ntop(AF_INET, RTA_DATA(a), addr, sizeof addr); break;
      case IFA_LOCAL: inet_ntop(AF_INET, RTA_DATA(a), local, sizeof local); break;
      case IFA_LABEL: label = RTA_DATA(a); break;
      case IFA_CACHEINFO: {
        struct ifa_cacheinfo *ci = RTA_DATA(a);
        valid = ci->ifa_valid;
        pref = ci->ifa_prefered;
        break;
      }
    }
  }
  if (strcmp(addr, "127.0.0.1") != 0) return;
  printf("addr %s/%u local %s scope %u flags %#x label %s valid %s preferred %s\n", addr, ifa->ifa_prefixlen, local,
         ifa->ifa_scope, ifa->ifa_flags & IFA_F_PERMANENT, label, valid == 0xffffffffu ? "forever" : "finite",
         pref == 0xffffffffu ? "forever" : "finite");
}

static char routes[16][128];
static int nroutes;

static void show_route(struct nlmsghdr *h) {
  struct rtmsg *r = NLMSG_DATA(h);
  unsigned table = r->rtm_table, oif = 0;
  char dst[32] = "0.0.0.0", src[32] = "-";
  int len = RTM_PAYLOAD(h);
  for (struct rtattr *a = RTM_RTA(r); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    switch (a->rta_type) {
      case RTA_TABLE: table = *(unsigned *)RTA_DATA(a); break;
      case RTA_OIF: oif = *(unsigned *)RTA_DATA(a); break;
      case RTA_DST: inet_ntop(AF_INET, RTA_DATA(a), dst, sizeof dst); break;
      case RTA_PREFSRC: inet_ntop(AF_INET, RTA_DATA(a), src, sizeof src); break;
    }
  }
  if (r->rtm_family != AF_INET || oif != 1 || table != RT_TABLE_LOCAL) return;
  /* Kernels before 5.x also had "broadcast 127.0.0.0"; newer ones do not. */
  if (r->rtm_type == RTN_BROADCAST && strcmp(dst, "127.0.0.0") == 0) return;
  if (nroutes < 16)
    snprintf(routes[nroutes++], sizeof routes[0], "route table %u type %u %s/%u scope %u proto %u src %s", table,
             r->rtm_type, dst, r->rtm_dst_len, r->rtm_scope, r->rtm_protocol, src);
}

static int cmp(const void *a, const void *b) { return strcmp(a, b); }

static int ack_errno(int n) {
  struct nlmsghdr *h = (struct nlmsghdr *)buf;
  if (n < (int)sizeof *h || !NLMSG_OK(h, (unsigned)n)) return 1;
  if (h->nlmsg_type != NLMSG_ERROR) return 2;
  return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
}

int main(void) {
  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) die("socket");
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
  socklen_t sl = sizeof sa;
  if (getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) die("getsockname");
  portid = sa.nl_pid;
  printf("getsockname len %u family %u pid %s\n", sl, sa.nl_family, portid == (unsigned)getpid() ? "=getpid" : "other");
  printf("socket(AF_NETLINK, SOCK_RAW, 99) = %d %s\n", socket(AF_NETLINK, SOCK_RAW, 99),
         errno == EPROTONOSUPPORT ? "EPROTONOSUPPORT" : strerror(errno));

  struct rtgenmsg g = {.rtgen_family = AF_PACKET};
  send_req(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, &g, sizeof g, NULL, 0);
  int links = run_dump(show_link);
  printf("links >= 1: %s\n", links >= 1 ? "yes" : "no");

  struct ifaddrmsg ia = {.ifa_family = AF_INET};
  send_req(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, &ia, sizeof ia, NULL, 0);
  run_dump(show_addr);

  struct rtmsg rm = {.rtm_family = AF_INET};
  send_req(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, &rm, sizeof rm, NULL, 0);
  run_dump(show_route);
  qsort(routes, nroutes, sizeof routes[0], cmp);
  for (int i = 0; i < nroutes; i++) printf("%s\n", routes[i]);

  /* One link by index, with an ack after it. */
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = 1};
  send_req(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, &ifi, sizeof ifi, NULL, 0);
  int n = recv_batch(0);
  struct nlmsghdr *h = (struct nlmsghdr *)buf;
  printf("getlink 1: type %u flags %#x seq-ok %d\n", h->nlmsg_type, h->nlmsg_flags, h->nlmsg_seq == seq);
  if (n > 0 && NLMSG_OK(h, (unsigned)n)) {
    int rest = n;
    struct nlmsghdr *h2 = NLMSG_NEXT(h, rest);
    if (NLMSG_OK(h2, (unsigned)rest))
      printf("ack in same batch: %d\n", h2->nlmsg_type == NLMSG_ERROR ? ((struct nlmsgerr *)NLMSG_DATA(h2))->error : -1);
    else
      printf("ack separately: %d\n", ack_errno(recv_batch(0)));
  }

  /* A device that does not exist. */
  ifi.ifi_index = 0x7ffffff0;
  send_req(RTM_GETLINK, NLM_F_REQUEST, &ifi, sizeof ifi, NULL, 0);
  n = recv_batch(0);
  printf("getlink missing: error %d\n", ack_errno(n));
  struct nlmsgerr *e = NLMSG_DATA((struct nlmsghdr *)buf);
  printf("echoed type %u seq-ok %d\n", e->msg.nlmsg_type, e->msg.nlmsg_seq == seq);

  /* A dump of a type that has none (RTM_GETADDR by address is dump-only: non-dump is EOPNOTSUPP). */
  send_req(RTM_GETADDR, NLM_F_REQUEST, &ia, sizeof ia, NULL, 0);
  printf("getaddr without dump: error %d\n", ack_errno(recv_batch(0)));

  /* Not a request: acked only when asked. */
  send_req(RTM_GETLINK, NLM_F_ACK, &g, sizeof g, NULL, 0);
  printf("no NLM_F_REQUEST: %d\n", ack_errno(recv_batch(0)));

  /* A truncated header is ignored silently. */
  char junk[8] = {8, 0, 0, 0, 18, 0, 1, 0};
  struct sockaddr_nl k = {.nl_family = AF_NETLINK};
  printf("short send = %zd\n", sendto(fd, junk, sizeof junk, 0, (struct sockaddr *)&k, sizeof k));
  n = recv_batch(MSG_DONTWAIT);
  printf("after short: %s\n", n == -EAGAIN ? "EAGAIN" : "data");

  /* MSG_PEEK|MSG_TRUNC reports the full length of a dump batch. */
  send_req(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, &ia, sizeof ia, NULL, 0);
  char tiny[4];
  int full = recv(fd, tiny, sizeof tiny, MSG_PEEK | MSG_TRUNC);
  n = recv_batch(0);
  printf("peek trunc = full: %d\n", full == n);
  while (ack_errno(n) != 1 && ((struct nlmsghdr *)buf)->nlmsg_type != NLMSG_DONE) {
    int done = 0;
    int rest = n;
    for (struct nlmsghdr *x = (struct nlmsghdr *)buf; NLMSG_OK(x, (unsigned)rest); x = NLMSG_NEXT(x, rest))
      if (x->nlmsg_type == NLMSG_DONE) done = 1;
    if (done) break;
    n = recv_batch(0);
  }
  close(fd);
  printf("ok\n");
  return 0;
}
