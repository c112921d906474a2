/* Blocking AF_UNIX behaviour: a writer blocked on a full peer queue, SO_SNDTIMEO/SO_RCVTIMEO
 * expiring, MSG_WAITALL gathering several writes, a blocking accept woken by a connecting child,
 * the listen backlog refusing a non-blocking connector, SIOCOUTQ, and EINTR from a signal. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/sockios.h>
#include <unistd.h>

static void rep(const char *what, long r) {
  printf("%s: %ld%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
}

static void on_alarm(int s) { (void)s; }

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  write(sv[0], "hello", 5);
  int v = -1;
  ioctl(sv[0], SIOCOUTQ, &v);
  printf("SIOCOUTQ after 5 bytes: %d\n", v);
  char b[64];
  read(sv[1], b, 5);
  ioctl(sv[0], SIOCOUTQ, &v);
  printf("SIOCOUTQ after read: %d\n", v);

  /* MSG_WAITALL: a child writes 3 pieces with pauses */
  pid_t pid = fork();
  if (pid == 0) {
    write(sv[1], "abc", 3); usleep(20000);
    write(sv[1], "defg", 4); usleep(20000);
    write(sv[1], "hij", 3);
    _exit(0);
  }
  ssize_t n = recv(sv[0], b, 10, MSG_WAITALL);
  printf("MSG_WAITALL: %zd '%.*s'\n", n, (int)n, b);
  waitpid(pid, NULL, 0);

  /* a blocked writer is released by the reader */
  static char big[300000];
  pid = fork();
  if (pid == 0) {
    ssize_t w = write(sv[1], big, sizeof big);
    printf("child wrote %zd\n", w);
    _exit(0);
  }
  usleep(50000);
  long got = 0;
  while (got < (long)sizeof big) {
    n = read(sv[0], b, sizeof b);
    if (n <= 0) break;
    got += n;
  }
  waitpid(pid, NULL, 0);
  printf("reader got %ld\n", got);

  /* SO_SNDTIMEO on a full queue */
  struct timeval tv = {0, 100000};
  setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  long sent = 0;
  for (;;) {
    n = write(sv[0], big, 4096);
    if (n < 0) { printf("full after some bytes=%d: %s\n", sent > 0, strerror(errno)); break; }
    sent += n;
  }
  /* SO_RCVTIMEO on an empty queue of the other pair */
  int sp[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sp);
  setsockopt(sp[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  rep("dgram recv timeout", recv(sp[0], b, sizeof b, 0));
  /* a signal interrupts a blocking recv without SA_RESTART */
  struct sigaction sa = {0};
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {0, 50000}};
  setitimer(ITIMER_REAL, &it, NULL);
  rep("recv interrupted", recv(sp[1], b, sizeof b, 0));
  close(sv[0]); close(sv[1]); close(sp[0]); close(sp[1]);

  /* blocking accept woken by a child; backlog 0 holds one pending connection */
  struct sockaddr_un a = {0};
  a.sun_family = AF_UNIX;
  memcpy(a.sun_path, "\0block-test", 11);
  socklen_t al = offsetof(struct sockaddr_un, sun_path) + 11;
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  bind(s, (struct sockaddr *)&a, al);
  listen(s, 0);
  pid = fork();
  if (pid == 0) {
    usleep(30000);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    int r = connect(c, (struct sockaddr *)&a, al);
    write(c, "from child", 10);
    _exit(r == 0 ? 0 : 1);
  }
  int c1 = accept(s, NULL, NULL);
  n = read(c1, b, sizeof b);
  printf("accepted and read %zd '%.*s'\n", n, (int)n, b);
  int st;
  waitpid(pid, &st, 0);
  printf("child status %d\n", WEXITSTATUS(st));
  int q1 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  rep("first pending connect", connect(q1, (struct sockaddr *)&a, al));
  int q2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  rep("second pending connect (backlog full)", connect(q2, (struct sockaddr *)&a, al));
  int q3 = accept(s, NULL, NULL);
  printf("accepted pending=%d\n", q3 >= 0);
  rep("connect after accept made room", connect(q2, (struct sockaddr *)&a, al));
  /* closing the listener resets the pending connection */
  close(s);
  rep("pending after listener closed: write", send(q2, "x", 1, MSG_NOSIGNAL));
  int e = 0; socklen_t el = sizeof e;
  getsockopt(q2, SOL_SOCKET, SO_ERROR, &e, &el);
  printf("SO_ERROR=%s\n", e ? strerror(e) : "0");
  rep("read", recv(q2, b, sizeof b, 0));
  return 0;
}
