/* sendmmsg/recvmmsg on AF_UNIX datagram and stream sockets: msg_len per entry,
 * MSG_WAITFORONE, vlen 0, and errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void rep(const char *what, long r) {
  printf("%s: %ld%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int sv[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  struct mmsghdr m[5];
  struct iovec iov[5];
  char bufs[5][32];
  const char *words[3] = {"alpha", "be", "gamma-ray"};
  memset(m, 0, sizeof m);
  for (int i = 0; i < 3; i++) {
    iov[i].iov_base = (void *)words[i];
    iov[i].iov_len = strlen(words[i]);
    m[i].msg_hdr.msg_iov = &iov[i];
    m[i].msg_hdr.msg_iovlen = 1;
  }
  rep("sendmmsg 3", sendmmsg(sv[0], m, 3, 0));
  for (int i = 0; i < 3; i++) printf("  msg_len[%d]=%u\n", i, m[i].msg_len);
  rep("sendmmsg vlen 0", sendmmsg(sv[0], m, 0, 0));
  memset(m, 0, sizeof m);
  for (int i = 0; i < 5; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = i == 2 ? 4 : sizeof bufs[i];
    m[i].msg_hdr.msg_iov = &iov[i];
    m[i].msg_hdr.msg_iovlen = 1;
  }
  int n = recvmmsg(sv[1], m, 5, MSG_WAITFORONE, NULL);
  printf("recvmmsg WAITFORONE: %d\n", n);
  for (int i = 0; i < n; i++)
    printf("  [%d] len=%u '%.*s' flags=%#x\n", i, m[i].msg_len, (int)(m[i].msg_len < 32 ? m[i].msg_len : 32), bufs[i], m[i].msg_hdr.msg_flags);
  struct timespec ts = {0, 50000000};
  rep("recvmmsg DONTWAIT on empty", recvmmsg(sv[1], m, 5, MSG_DONTWAIT, &ts));
  /* (Timeout checks are not compared: qemu-user loops over recvmsg and ignores the timeout.) */
  rep("recvmmsg vlen 0", recvmmsg(sv[1], m, 0, 0, NULL));
  rep("sendmmsg bad vector", sendmmsg(sv[0], (void *)16, 2, 0));
  rep("sendmmsg on a pipe", sendmmsg(0 + 100, m, 1, 0));
  /* two messages, vlen 2, blocking: both arrive */
  write(sv[0], "one", 3);
  write(sv[0], "two", 3);
  n = recvmmsg(sv[1], m, 2, 0, NULL);
  printf("recvmmsg 2: %d '%.*s' '%.*s'\n", n, (int)m[0].msg_len, bufs[0], (int)m[1].msg_len, bufs[1]);
  return 0;
}
