/* Interface ioctls on sockets (dev_ioctl / devinet_ioctl), looking only at lo so the output
 * is the same on any Linux: SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFINDEX, SIOCGIFNAME,
 * SIOCGIFADDR/NETMASK/BRDADDR, SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFMETRIC, SIOCGIFTXQLEN,
 * SIOCGIFMAP, and the errors for unknown devices and bad pointers. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void rep(const char *what, long r) {
  printf("%s: %ld%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
}

static struct ifreq req(const char *name) {
  struct ifreq r;
  memset(&r, 0, sizeof r);
  strncpy(r.ifr_name, name, IFNAMSIZ - 1);
  return r;
}

static const char *sinstr(struct sockaddr *a) {
  return inet_ntoa(((struct sockaddr_in *)a)->sin_addr);
}

static void probe(int s, const char *fam) {
  struct ifreq r = req("lo");
  printf("[%s]\n", fam);
  int e = ioctl(s, SIOCGIFFLAGS, &r);
  printf("SIOCGIFFLAGS lo: %d up=%d loopback=%d running=%d broadcast=%d\n", e, !!(r.ifr_flags & IFF_UP),
         !!(r.ifr_flags & IFF_LOOPBACK), !!(r.ifr_flags & IFF_RUNNING), !!(r.ifr_flags & IFF_BROADCAST));
  r = req("lo");
  e = ioctl(s, SIOCGIFINDEX, &r);
  printf("SIOCGIFINDEX lo: %d index=%d\n", e, r.ifr_ifindex);
  r = req("");
  r.ifr_ifindex = 1;
  e = ioctl(s, SIOCGIFNAME, &r);
  printf("SIOCGIFNAME 1: %d name=%s\n", e, r.ifr_name);
  r = req("lo");
  e = ioctl(s, SIOCGIFMTU, &r);
  printf("SIOCGIFMTU lo: %d mtu=%d\n", e, r.ifr_mtu);
  r = req("lo");
  e = ioctl(s, SIOCGIFHWADDR, &r);
  int zero = 1;
  for (int i = 0; i < 6; i++) zero &= r.ifr_hwaddr.sa_data[i] == 0;
  printf("SIOCGIFHWADDR lo: %d family=%d zero=%d\n", e, r.ifr_hwaddr.sa_family, zero);
  r = req("lo");
  r.ifr_metric = 99;
  e = ioctl(s, SIOCGIFMETRIC, &r);
  printf("SIOCGIFMETRIC lo: %d metric=%d\n", e, r.ifr_metric);
  r = req("lo");
  e = ioctl(s, SIOCGIFTXQLEN, &r);
  printf("SIOCGIFTXQLEN lo: %d ok=%d\n", e, r.ifr_qlen >= 0);
  r = req("lo");
  memset(&r.ifr_map, 0x55, sizeof r.ifr_map);
  e = ioctl(s, SIOCGIFMAP, &r);
  printf("SIOCGIFMAP lo: %d irq=%d base=%d\n", e, r.ifr_map.irq, r.ifr_map.base_addr);
  r = req("nosuchdev0");
  rep("SIOCGIFFLAGS nosuchdev0", ioctl(s, SIOCGIFFLAGS, &r));
  r = req("nosuchdev0");
  rep("SIOCGIFMTU nosuchdev0", ioctl(s, SIOCGIFMTU, &r));
  r = req("");
  r.ifr_ifindex = 99999;
  rep("SIOCGIFNAME 99999", ioctl(s, SIOCGIFNAME, &r));
  rep("SIOCGIFFLAGS bad pointer", ioctl(s, SIOCGIFFLAGS, (void *)8));
  rep("SIOCGIFINDEX bad pointer", ioctl(s, SIOCGIFINDEX, (void *)8));
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int s = socket(AF_INET, SOCK_DGRAM, 0);

  /* SIOCGIFCONF: the size with no buffer, then the entries; print only lo's. */
  struct ifconf ifc;
  memset(&ifc, 0, sizeof ifc);
  int e = ioctl(s, SIOCGIFCONF, &ifc);
  printf("SIOCGIFCONF (no buffer): %d len_is_multiple_of_ifreq=%d at_least_one=%d sizeof(ifreq)=%zu\n", e,
         ifc.ifc_len % (int)sizeof(struct ifreq) == 0, ifc.ifc_len >= (int)sizeof(struct ifreq), sizeof(struct ifreq));
  struct ifreq reqs[64];
  ifc.ifc_len = sizeof reqs;
  ifc.ifc_req = reqs;
  e = ioctl(s, SIOCGIFCONF, &ifc);
  int n = ifc.ifc_len / (int)sizeof(struct ifreq);
  for (int i = 0; i < n; i++)
    if (!strcmp(reqs[i].ifr_name, "lo"))
      printf("SIOCGIFCONF: %d entry lo family=%d addr=%s\n", e, reqs[i].ifr_addr.sa_family, sinstr(&reqs[i].ifr_addr));
  /* A buffer for less than one entry gets none. */
  ifc.ifc_len = sizeof(struct ifreq) - 1;
  ifc.ifc_req = reqs;
  e = ioctl(s, SIOCGIFCONF, &ifc);
  printf("SIOCGIFCONF (short buffer): %d len=%d\n", e, ifc.ifc_len);
  rep("SIOCGIFCONF bad pointer", ioctl(s, SIOCGIFCONF, (void *)8));

  /* devinet_ioctl (AF_INET only) */
  struct ifreq r = req("lo");
  e = ioctl(s, SIOCGIFADDR, &r);
  printf("SIOCGIFADDR lo: %d family=%d addr=%s\n", e, r.ifr_addr.sa_family, sinstr(&r.ifr_addr));
  r = req("lo");
  e = ioctl(s, SIOCGIFNETMASK, &r);
  printf("SIOCGIFNETMASK lo: %d mask=%s\n", e, sinstr(&r.ifr_netmask));
  r = req("lo");
  e = ioctl(s, SIOCGIFBRDADDR, &r);
  printf("SIOCGIFBRDADDR lo: %d brd=%s\n", e, sinstr(&r.ifr_broadaddr));
  r = req("lo");
  e = ioctl(s, SIOCGIFDSTADDR, &r);
  printf("SIOCGIFDSTADDR lo: %d dst=%s\n", e, sinstr(&r.ifr_dstaddr));
  r = req("lo:9");
  rep("SIOCGIFADDR lo:9 (no such alias)", ioctl(s, SIOCGIFADDR, &r));
  r = req("nosuchdev0");
  rep("SIOCGIFADDR nosuchdev0", ioctl(s, SIOCGIFADDR, &r));

  probe(s, "AF_INET");
  close(s);

  /* Device ioctls work on a socket of any family; the address ones are AF_INET's. */
  int u = socket(AF_UNIX, SOCK_DGRAM, 0);
  probe(u, "AF_UNIX");
  r = req("lo");
  rep("SIOCGIFADDR on AF_UNIX", ioctl(u, SIOCGIFADDR, &r));
  close(u);
  printf("done\n");
  return 0;
}
