/* epoll with 100 connected AF_UNIX socketpairs: level- and edge-triggered readiness, a forked
 * writer, EPOLLRDHUP/EPOLLHUP on hang-up, EPOLLOUT coming back once the peer drains. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 100

static const char *bits(unsigned e) {
  static char b[64];
  b[0] = 0;
  if (e & EPOLLIN) strcat(b, "IN ");
  if (e & EPOLLOUT) strcat(b, "OUT ");
  if (e & EPOLLRDHUP) strcat(b, "RDHUP ");
  if (e & EPOLLHUP) strcat(b, "HUP ");
  if (e & EPOLLERR) strcat(b, "ERR ");
  return b;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int sv[N][2];
  for (int i = 0; i < N; i++)
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv[i]) < 0) { perror("socketpair"); return 1; }
  int lt = epoll_create1(0), et = epoll_create1(0);
  struct epoll_event ev, out[N + 8];
  for (int i = 0; i < N; i++) {
    ev.events = EPOLLIN | EPOLLRDHUP; ev.data.u32 = i;
    epoll_ctl(lt, EPOLL_CTL_ADD, sv[i][0], &ev);
    ev.events = EPOLLIN | EPOLLET; ev.data.u32 = i;
    epoll_ctl(et, EPOLL_CTL_ADD, sv[i][0], &ev);
  }
  printf("idle: lt=%d et=%d\n", epoll_wait(lt, out, N, 0), epoll_wait(et, out, N, 0));
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < N; i += 3) write(sv[i][1], "x", 1);
    _exit(0);
  }
  waitpid(pid, NULL, 0);
  int n = epoll_wait(lt, out, N + 8, 1000);
  long sum = 0;
  for (int i = 0; i < n; i++) sum += out[i].data.u32;
  printf("lt after writes: n=%d sum=%ld\n", n, sum);
  printf("lt again: %d\n", epoll_wait(lt, out, N + 8, 0));
  n = epoll_wait(et, out, N + 8, 0);
  printf("et first: %d\n", n);
  printf("et second: %d\n", epoll_wait(et, out, N + 8, 0));
  write(sv[3][1], "y", 1);
  n = epoll_wait(et, out, N + 8, 0);
  printf("et after new data: %d id=%u\n", n, n > 0 ? out[0].data.u32 : 999);
  /* drain everything */
  char b[16];
  for (int i = 0; i < N; i++) while (read(sv[i][0], b, sizeof b) > 0) {}
  printf("lt drained: %d\n", epoll_wait(lt, out, N + 8, 0));
  /* hang-ups */
  shutdown(sv[10][1], SHUT_WR);
  close(sv[20][1]);
  n = epoll_wait(lt, out, N + 8, 0);
  for (int i = 0; i < n; i++) printf("hangup id=%u %s\n", out[i].data.u32, bits(out[i].events));
  /* select() sees the same readiness */
  {
    fd_set r, w;
    FD_ZERO(&r); FD_ZERO(&w);
    FD_SET(sv[10][0], &r); FD_SET(sv[11][0], &r); FD_SET(sv[11][0], &w);
    struct timeval tv = {0, 0};
    int k = select(sv[11][0] + 1, &r, &w, NULL, &tv);
    printf("select: %d r10=%d r11=%d w11=%d\n", k, FD_ISSET(sv[10][0], &r), FD_ISSET(sv[11][0], &r), FD_ISSET(sv[11][0], &w));
  }
  /* EPOLLOUT edge: fill, then drain */
  int w = sv[50][1], r = sv[50][0];
  int ep = epoll_create1(0);
  ev.events = EPOLLOUT | EPOLLET; ev.data.u32 = 50;
  epoll_ctl(ep, EPOLL_CTL_ADD, w, &ev);
  printf("out initially: %d\n", epoll_wait(ep, out, 8, 0));
  static char blk[4096];
  long total = 0;
  for (;;) { ssize_t k = write(w, blk, sizeof blk); if (k < 0) { printf("full: %s\n", strerror(errno)); break; } total += k; }
  printf("wrote some=%d\n", total > 0);
  printf("out when full: %d\n", epoll_wait(ep, out, 8, 0));
  while (read(r, blk, sizeof blk) > 0) {}
  n = epoll_wait(ep, out, 8, 1000);
  printf("out after drain: %d %s\n", n, n > 0 ? bits(out[0].events) : "");
  /* a blocking epoll_wait woken by a child's write */
  pid = fork();
  if (pid == 0) { usleep(20000); write(sv[77][1], "z", 1); _exit(0); }
  int one = epoll_create1(0);
  ev.events = EPOLLIN; ev.data.u32 = 77;
  epoll_ctl(one, EPOLL_CTL_ADD, sv[77][0], &ev);
  n = epoll_wait(one, out, N + 8, 5000);
  printf("woken: n=%d id=%u\n", n, n > 0 ? out[0].data.u32 : 999);
  waitpid(pid, NULL, 0);
  return 0;
}
