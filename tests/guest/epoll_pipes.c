/* epoll on pipes: level- vs edge-triggered, ONESHOT + MOD re-arm, ctl errors, 100 pipes with a
 * forked writer, nesting (and ELOOP), an epoll fd inside poll(), epoll_pwait's sigmask. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int wait_n(int ep, int timeout, struct epoll_event *ev, int max) {
  int r = epoll_wait(ep, ev, max, timeout);
  return r;
}

static void ctl(const char *what, int r) {
  printf("%s: %d%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
}

static volatile sig_atomic_t got;
static void on_usr1(int s) { (void)s; got++; }

int main(void) {
  struct epoll_event ev, out[128];
  printf("sizeof(struct epoll_event)=%zu\n", sizeof(struct epoll_event));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  printf("cloexec=%d\n", (fcntl(ep, F_GETFD) & FD_CLOEXEC) != 0);
  ctl("create1 bad flags", epoll_create1(1));

  int p[2];
  pipe(p);
  /* level-triggered: reported on every wait while data stays */
  ev.events = EPOLLIN;
  ev.data.u64 = 0x1122334455667788ULL;
  ctl("add LT", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
  ctl("add again", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
  printf("LT empty: %d\n", wait_n(ep, 0, out, 8));
  write(p[1], "abc", 3);
  int r = wait_n(ep, 0, out, 8);
  printf("LT 1: %d events=0x%x data=%llx\n", r, out[0].events, (unsigned long long)out[0].data.u64);
  r = wait_n(ep, 0, out, 8);
  printf("LT 2: %d\n", r);
  char buf[64];
  read(p[0], buf, 3);
  printf("LT drained: %d\n", wait_n(ep, 0, out, 8));

  /* edge-triggered: once per write, not again until new data */
  ev.events = EPOLLIN | EPOLLET;
  ev.data.fd = p[0];
  ctl("mod ET", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
  write(p[1], "abcdef", 6);
  printf("ET 1: %d\n", wait_n(ep, 0, out, 8));
  printf("ET 2: %d\n", wait_n(ep, 0, out, 8));
  read(p[0], buf, 2);
  printf("ET partial read: %d\n", wait_n(ep, 0, out, 8));
  read(p[0], buf, 4);
  write(p[1], "g", 1);
  printf("ET new data: %d\n", wait_n(ep, 0, out, 8));
  read(p[0], buf, 1);

  /* ONESHOT: reported once, then disabled until MOD */
  ev.events = EPOLLIN | EPOLLONESHOT;
  ctl("mod oneshot", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
  write(p[1], "h", 1);
  printf("oneshot 1: %d\n", wait_n(ep, 0, out, 8));
  write(p[1], "i", 1);
  printf("oneshot 2: %d\n", wait_n(ep, 0, out, 8));
  ctl("mod rearm", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
  printf("oneshot rearmed: %d\n", wait_n(ep, 0, out, 8));
  read(p[0], buf, 2);

  /* the write end: EPOLLOUT, and EPOLLERR once the reader is gone */
  ev.events = EPOLLOUT;
  ev.data.fd = p[1];
  ctl("add writer", epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev));
  ctl("del reader", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
  ctl("del again", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
  ctl("mod missing", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
  r = wait_n(ep, 0, out, 8);
  printf("writer: %d events=0x%x\n", r, out[0].events);
  close(p[0]);
  r = wait_n(ep, 0, out, 8);
  printf("writer, reader closed: %d events=0x%x\n", r, out[0].events);
  ctl("del writer", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
  close(p[1]);

  /* hang-up on the read end */
  pipe(p);
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.fd = p[0];
  ctl("add rdhup", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
  close(p[1]);
  r = wait_n(ep, 0, out, 8);
  printf("hup: %d events=0x%x\n", r, out[0].events);
  close(p[0]);
  printf("after close: %d\n", wait_n(ep, 0, out, 8));

  /* a FIFO: the same pipe underneath */
  char fifo[64];
  snprintf(fifo, sizeof fifo, "/tmp/epoll_fifo.%d", (int)getpid());
  mkfifo(fifo, 0600);
  int fr = open(fifo, O_RDONLY | O_NONBLOCK);
  int fw = open(fifo, O_WRONLY);
  unlink(fifo);
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u32 = 0xf1f0;
  ctl("add fifo", epoll_ctl(ep, EPOLL_CTL_ADD, fr, &ev));
  printf("fifo idle: %d\n", wait_n(ep, 0, out, 8));
  write(fw, "q", 1);
  r = wait_n(ep, 0, out, 8);
  printf("fifo: %d data=%x\n", r, out[0].data.u32);
  close(fw);
  r = wait_n(ep, 0, out, 8);
  printf("fifo writer closed: %d events=0x%x\n", r, out[0].events);
  close(fr);

  /* errors */
  int f = open("/proc/self/exe", O_RDONLY);
  ev.events = EPOLLIN;
  ctl("regular file", epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev));
  close(f);
  ctl("bad fd", epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev));
  ctl("self", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
  pipe(p);
  ctl("not epoll", epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &ev));
  ctl("bad op", epoll_ctl(ep, 7, p[0], &ev));
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ctl("exclusive add", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
  ctl("exclusive mod", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
  ev.events = EPOLLIN;
  ctl("mod exclusive item", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
  ctl("wait maxevents 0", epoll_wait(ep, out, 0, 0));
  ctl("wait not epoll", epoll_wait(p[0], out, 1, 0));
  ctl("wait bad fd", epoll_wait(999, out, 1, 0));
  epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);
  close(p[0]);
  close(p[1]);

  /* 100 pipes, a forked writer writes to each in turn */
  int rd[100], wr[100];
  int ep2 = epoll_create1(0);
  for (int i = 0; i < 100; i++) {
    int q[2];
    if (pipe(q) != 0) return 2;
    rd[i] = q[0];
    wr[i] = q[1];
    ev.events = EPOLLIN;
    ev.data.u32 = i;
    epoll_ctl(ep2, EPOLL_CTL_ADD, rd[i], &ev);
  }
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < 100; i++) {
      char b = (char)i;
      write(wr[(i * 37) % 100], &b, 1);
      if (i % 10 == 0) usleep(1000);
    }
    _exit(0);
  }
  int seen[100] = {0}, total = 0, bad = 0;
  while (total < 100) {
    r = epoll_wait(ep2, out, 128, 5000);
    if (r <= 0) {
      printf("wait failed %d\n", r);
      break;
    }
    for (int i = 0; i < r; i++) {
      int k = out[i].data.u32;
      char b;
      if (read(rd[k], &b, 1) != 1 || (b * 37) % 100 != k) bad++;
      if (!seen[k]++) total++;
    }
  }
  waitpid(pid, NULL, 0);
  printf("100 pipes: total=%d bad=%d left=%d\n", total, bad, epoll_wait(ep2, out, 128, 0));

  /* nesting: ep2 inside ep3; a write to one of the 100 pipes makes ep3 readable */
  int ep3 = epoll_create1(0);
  ev.events = EPOLLIN;
  ev.data.u32 = 4242;
  ctl("nest", epoll_ctl(ep3, EPOLL_CTL_ADD, ep2, &ev));
  ctl("cycle", epoll_ctl(ep2, EPOLL_CTL_ADD, ep3, &ev));
  printf("nested idle: %d\n", epoll_wait(ep3, out, 8, 0));
  pid = fork();
  if (pid == 0) {
    usleep(20000);
    write(wr[42], "n", 1);
    _exit(0);
  }
  r = epoll_wait(ep3, out, 8, 5000);
  printf("nested woken: %d data=%u\n", r, out[0].data.u32);
  r = epoll_wait(ep2, out, 8, 0);
  printf("inner: %d data=%u\n", r, out[0].data.u32);
  waitpid(pid, NULL, 0);

  /* an epoll fd in poll() */
  struct pollfd pf = {ep2, POLLIN, 0};
  r = poll(&pf, 1, 0);
  printf("poll on epoll: %d revents=0x%x\n", r, pf.revents);
  read(rd[42], buf, 1);
  r = poll(&pf, 1, 0);
  printf("poll on epoll drained: %d revents=0x%x\n", r, pf.revents);

  /* depth limit: a chain of 6 epoll sets */
  int chain[6];
  for (int i = 0; i < 6; i++) chain[i] = epoll_create1(0);
  int depth_err = 0;
  for (int i = 0; i < 5; i++) {
    ev.events = EPOLLIN;
    if (epoll_ctl(chain[i], EPOLL_CTL_ADD, chain[i + 1], &ev) < 0) {
      printf("chain add %d: %s\n", i, strerror(errno));
      depth_err = 1;
    }
  }
  printf("chain ok=%d\n", !depth_err);

  /* stopped and continued in epoll_wait: EINTR, never restarted (signal(7)) */
  pid_t parent = getpid();
  pid = fork();
  if (pid == 0) {
    usleep(20000);
    kill(parent, SIGSTOP);
    usleep(20000);
    kill(parent, SIGCONT);
    _exit(0);
  }
  r = epoll_wait(ep3, out, 8, 10000);
  printf("wait across stop/cont: %d %s\n", r, r < 0 ? strerror(errno) : "");
  waitpid(pid, NULL, 0);

  /* epoll_wait timeout and epoll_pwait with a temporary mask */
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  r = epoll_wait(ep3, out, 8, 30);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  printf("wait timeout: %d waited>=25ms=%d\n", r, ms >= 25);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  sigset_t block, empty;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigprocmask(SIG_BLOCK, &block, NULL);
  sigemptyset(&empty);
  kill(getpid(), SIGUSR1);
  r = epoll_pwait(ep3, out, 8, 5000, &empty);
  printf("pwait: %d %s got=%d\n", r, r < 0 ? strerror(errno) : "", (int)got);
  /* epoll_pwait2 is not checked here: qemu 7.2 answers ENOSYS (see tests/unit/fs/poll.test.ts). */
  return 0;
}
