/* signalfd: reading blocked SIGUSR1 (kill, raise, sigqueue), SIGCHLD with ssi_pid/ssi_status,
 * several records in one read, poll/epoll readiness, mask update, non-blocking, errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const struct signalfd_siginfo *s, pid_t me, pid_t child) {
  printf("signo=%u code=%d pid=%s uid=%u", s->ssi_signo, s->ssi_code,
         s->ssi_pid == (uint32_t)me ? "self" : s->ssi_pid == (uint32_t)child ? "child" : "other", s->ssi_uid);
  if (s->ssi_signo == SIGCHLD) printf(" status=%d", s->ssi_status);
  if (s->ssi_code == SI_QUEUE) printf(" int=%d", s->ssi_int);
  printf("\n");
}

int main(void) {
  pid_t me = getpid();
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR1);
  sigaddset(&mask, SIGUSR2);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  char link[64] = {0}, path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  readlink(path, link, sizeof link - 1);
  printf("link: %s cloexec=%d nonblock=%d\n", link, (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0,
         (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
  struct signalfd_siginfo si[4];
  printf("sizeof=%zu\n", sizeof(struct signalfd_siginfo));
  printf("empty read: %zd %s\n", read(fd, si, sizeof si[0]), strerror(errno));
  struct pollfd p = {fd, POLLIN, 0};
  printf("poll idle: %d\n", poll(&p, 1, 0));

  kill(me, SIGUSR1);
  printf("poll pending: %d revents=0x%x\n", poll(&p, 1, 0), p.revents);
  ssize_t n = read(fd, si, sizeof si[0]);
  printf("read: %zd ", n);
  show(&si[0], me, 0);
  printf("short read: %zd %s\n", read(fd, si, 100), strerror(errno));

  /* several in one read: raise (tkill), sigqueue, kill */
  raise(SIGUSR1);
  union sigval sv = {.sival_int = 1234};
  sigqueue(me, SIGUSR2, sv);
  n = read(fd, si, sizeof si);
  printf("multi: %zd\n", n);
  for (int i = 0; i < n / (ssize_t)sizeof si[0]; i++) show(&si[i], me, 0);

  /* SIGCHLD from an exiting child, read blocking through a second (blocking) signalfd */
  int bfd = signalfd(-1, &mask, 0);
  pid_t child = fork();
  if (child == 0) {
    usleep(20000);
    _exit(7);
  }
  n = read(bfd, si, sizeof si[0]);
  printf("blocking read: %zd ", n);
  show(&si[0], me, child);
  waitpid(child, NULL, 0);

  /* a signal from a child while we sleep in epoll */
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 5}, out;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  printf("epoll idle: %d\n", epoll_wait(ep, &out, 1, 0));
  child = fork();
  if (child == 0) {
    usleep(20000);
    kill(getppid(), SIGUSR2);
    _exit(0);
  }
  int r = epoll_wait(ep, &out, 1, 5000);
  printf("epoll: %d data=%u\n", r, out.data.u32);
  n = read(fd, si, sizeof si[0]);
  printf("read: %zd ", n);
  show(&si[0], me, child);
  waitpid(child, NULL, 0);
  /* the child's SIGCHLD is pending too */
  n = read(fd, si, sizeof si[0]);
  printf("read: %zd ", n);
  show(&si[0], me, child);

  /* mask update: only SIGUSR2 now; SIGUSR1 stays pending, unread */
  sigset_t only2;
  sigemptyset(&only2);
  sigaddset(&only2, SIGUSR2);
  printf("update: %d\n", signalfd(fd, &only2, 0) == fd);
  kill(me, SIGUSR1);
  printf("usr1 not in mask: %zd %s\n", read(fd, si, sizeof si[0]), strerror(errno));
  sigset_t pend;
  sigpending(&pend);
  printf("usr1 still pending: %d\n", sigismember(&pend, SIGUSR1));

  /* errors */
  printf("bad flags: %d %s\n", signalfd(-1, &mask, 1), strerror(errno));
  printf("not signalfd: %d %s\n", signalfd(0, &mask, 0), strerror(errno));
  printf("bad fd: %d %s\n", signalfd(99, &mask, 0), strerror(errno));
  return 0;
}
