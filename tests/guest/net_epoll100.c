/* An epoll TCP server on 127.0.0.1 with 100 concurrent clients from a forked child: the
 * child opens all 100 connections, then sends each a distinct message, reads every echo back
 * and checks it, then closes them all; the server (level-triggered, non-blocking accept4 in a
 * loop until EAGAIN) echoes what it reads and closes a connection when epoll reports
 * EPOLLRDHUP and read returns 0. Both sides print totals, the server after the child exits. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 100

static struct sockaddr_in loop(unsigned short port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static int client(unsigned short port) {
  int fd[N];
  struct sockaddr_in a = loop(port);
  int connected = 0, ok = 0;
  for (int i = 0; i < N; i++) {
    fd[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd[i], (struct sockaddr *)&a, sizeof a) == 0) connected++;
    else printf("client: connect %d: %s\n", i, strerror(errno));
  }
  for (int i = 0; i < N; i++) {
    char m[32];
    int len = snprintf(m, sizeof m, "message %03d from client", i);
    if (write(fd[i], m, len) != len) printf("client: write %d: %s\n", i, strerror(errno));
  }
  /* Read the echoes in reverse order, so the server must serve them all concurrently. */
  for (int i = N - 1; i >= 0; i--) {
    char m[32], r[32];
    int len = snprintf(m, sizeof m, "message %03d from client", i), got = 0;
    while (got < len) {
      ssize_t n = read(fd[i], r + got, len - got);
      if (n <= 0) break;
      got += n;
    }
    if (got == len && memcmp(m, r, len) == 0) ok++;
    else printf("client: echo %d wrong (%d bytes)\n", i, got);
  }
  for (int i = 0; i < N; i++) close(fd[i]);
  printf("client: connected %d, echoes correct %d\n", connected, ok);
  return ok == N ? 0 : 1;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGPIPE, SIG_IGN);
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = loop(0);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 128) < 0) { perror("bind/listen"); return 1; }
  socklen_t l = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &l);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);

  pid_t pid = fork();
  if (pid == 0) _exit(client(ntohs(a.sin_port)));

  int accepted = 0, open_now = 0, max_open = 0, closed = 0, rdhup = 0, waits = 0, errors = 0;
  long bytes = 0, sum = 0;
  struct epoll_event out[64];
  while (closed < N) {
    int n = epoll_wait(ep, out, 64, 10000);
    waits++;
    if (n <= 0) { printf("server: epoll_wait %d %s\n", n, n < 0 ? strerror(errno) : "timed out"); break; }
    for (int i = 0; i < n; i++) {
      int fd = out[i].data.fd;
      if (fd == ls) {
        for (;;) {
          int s = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (s < 0) {
            if (errno != EAGAIN) { errors++; printf("server: accept4 %s\n", strerror(errno)); }
            break;
          }
          accepted++;
          if (++open_now > max_open) max_open = open_now;
          struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = s};
          if (epoll_ctl(ep, EPOLL_CTL_ADD, s, &e) < 0) errors++;
        }
        continue;
      }
      if (out[i].events & EPOLLRDHUP) rdhup++;
      if (out[i].events & (EPOLLERR | EPOLLHUP)) errors++;
      /* One read per event (level-triggered: anything left is reported again), so a read of 0
       * always answers an event that carried the peer's FIN, hence EPOLLRDHUP. */
      char buf[256];
      ssize_t r = read(fd, buf, sizeof buf);
      if (r > 0) {
        bytes += r;
        for (ssize_t k = 0; k < r; k++) sum += (unsigned char)buf[k];
        if (write(fd, buf, r) != r) errors++;
      } else if (r == 0) {
        /* EPOLL_CTL_DEL before close, as a server that shares the fd would have to. */
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        close(fd);
        open_now--;
        closed++;
      } else if (errno != EAGAIN) {
        errors++;
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  printf("server: accepted %d, most open at once %d, closed %d, EPOLLRDHUP seen %d, errors %d\n", accepted,
         max_open, closed, rdhup, errors);
  printf("server: echoed %ld bytes, byte sum %ld, used more than one epoll_wait: %d\n", bytes, sum, waits > 1);
  struct epoll_event e;
  printf("server: epoll_wait with only the idle listener left: %d\n", epoll_wait(ep, &e, 1, 0));
  printf("client exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}
