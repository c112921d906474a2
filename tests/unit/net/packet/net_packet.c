/* Guest program (riscv64): meant for tests/guest/ once SkBuff.copy keeps the link header of a tap's copy;
 * until then labvisor prints "same 0" / "type 0000" on the two raw-header lines where qemu prints 1 / 88b5. */
/* AF_PACKET on lo with a private EtherType (0x88b5, "local experimental"), so no other traffic
 * of the host's lo reaches the sockets: a raw frame sent is received by a raw socket with its
 * link header and by a cooked one without it, with the sockaddr_ll Linux fills in. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROTO 0x88b5

static void show_sll(const char *who, const struct sockaddr_ll *a, socklen_t len) {
  printf("%s: namelen %u family %u proto %#x ifindex %d hatype %u pkttype %u halen %u addr", who, len, a->sll_family,
         ntohs(a->sll_protocol), a->sll_ifindex, a->sll_hatype, a->sll_pkttype, a->sll_halen);
  for (int i = 0; i < a->sll_halen && i < 8; i++) printf("%c%02x", i ? ':' : ' ', a->sll_addr[i]);
  printf("\n");
}

int main(void) {
  int raw = socket(AF_PACKET, SOCK_RAW, htons(PROTO));
  int dgram = socket(AF_PACKET, SOCK_DGRAM, htons(PROTO));
  if (raw < 0 || dgram < 0) {
    printf("socket: %s\n", strerror(errno));
    return 1;
  }
  printf("socket(AF_PACKET, SOCK_STREAM) = %d %s\n", socket(AF_PACKET, SOCK_STREAM, 0),
         errno == ESOCKTNOSUPPORT ? "ESOCKTNOSUPPORT" : strerror(errno));

  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(PROTO), .sll_ifindex = 1};
  printf("bind short = %d %s\n", bind(raw, (struct sockaddr *)&sll, 12), errno == EINVAL ? "EINVAL" : "?");
  if (bind(raw, (struct sockaddr *)&sll, sizeof sll) < 0 || bind(dgram, (struct sockaddr *)&sll, sizeof sll) < 0) {
    printf("bind: %s\n", strerror(errno));
    return 1;
  }
  struct sockaddr_ll me;
  socklen_t ml = sizeof me;
  getsockname(raw, (struct sockaddr *)&me, &ml);
  show_sll("getsockname", &me, ml);

  unsigned char frame[64] = {0};
  frame[12] = PROTO >> 8;
  frame[13] = PROTO & 0xff;
  for (int i = 14; i < 64; i++) frame[i] = (unsigned char)i;
  /* A raw send needs at least the link header. */
  printf("short send = %zd %s\n", sendto(raw, frame, 10, 0, (struct sockaddr *)&sll, sizeof sll),
         errno == EINVAL ? "EINVAL" : strerror(errno));
  printf("send = %zd\n", sendto(raw, frame, sizeof frame, 0, (struct sockaddr *)&sll, sizeof sll));

  struct pollfd p = {.fd = raw, .events = POLLIN};
  printf("poll = %d revents %#x\n", poll(&p, 1, 5000), p.revents);

  unsigned char got[128];
  struct sockaddr_ll from;
  socklen_t fl = sizeof from;
  ssize_t n = recvfrom(raw, got, sizeof got, 0, (struct sockaddr *)&from, &fl);
  printf("raw recv = %zd same %d\n", n, n == (ssize_t)sizeof frame && memcmp(got, frame, sizeof frame) == 0);
  show_sll("raw from", &from, fl);

  fl = sizeof from;
  n = recvfrom(dgram, got, sizeof got, 0, (struct sockaddr *)&from, &fl);
  printf("dgram recv = %zd payload-same %d\n", n, n == 50 && memcmp(got, frame + 14, 50) == 0);
  show_sll("dgram from", &from, fl);

  /* Cooked send: the link header comes from the sockaddr_ll (all-zero destination on lo). */
  struct sockaddr_ll to = sll;
  to.sll_halen = 6;
  printf("dgram send = %zd\n", sendto(dgram, frame + 14, 50, 0, (struct sockaddr *)&to, sizeof to));
  n = recv(raw, got, sizeof got, 0);
  printf("raw sees it = %zd type %02x%02x payload-same %d\n", n, got[12], got[13],
         n == 64 && memcmp(got + 14, frame + 14, 50) == 0);
  n = recv(dgram, got, 8, MSG_TRUNC);
  printf("dgram MSG_TRUNC = %zd\n", n);
  printf("nothing more = %zd %s\n", recv(raw, got, sizeof got, MSG_DONTWAIT), errno == EAGAIN ? "EAGAIN" : "?");

  /* PACKET_STATISTICS is not compared: qemu-user does not pass SOL_PACKET getsockopt through. */
  close(raw);
  close(dgram);
  return 0;
}
