/* poll/ppoll/select/pselect on pipes: readiness bits, POLLNVAL, EBADF, timeouts written back,
 * fd sets above 64, and pselect's temporary sigmask letting a blocked signal in. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on_usr1(int s) { (void)s; got++; }

static void show(const char *what, int r, struct pollfd *p, int n) {
  printf("%s: r=%d", what, r);
  if (r < 0) printf(" errno=%s", strerror(errno));
  for (int i = 0; i < n; i++) printf(" [%d]=0x%x", i, p[i].revents);
  printf("\n");
}

int main(void) {
  int p[2];
  if (pipe(p) != 0) return 1;
  struct pollfd pf[4];

  /* empty pipe: writer ready, reader not */
  pf[0] = (struct pollfd){p[0], POLLIN, 0};
  pf[1] = (struct pollfd){p[1], POLLOUT, 0};
  show("empty", poll(pf, 2, 0), pf, 2);

  write(p[1], "x", 1);
  show("one byte", poll(pf, 2, 0), pf, 2);

  /* POLLNVAL for a closed fd, negative fd ignored */
  pf[2] = (struct pollfd){77, POLLIN, 0};
  pf[3] = (struct pollfd){-1, POLLIN, 0x1234};
  show("nval", poll(pf, 4, 0), pf, 4);

  /* events 0 still get POLLHUP/POLLERR */
  char c;
  read(p[0], &c, 1);
  close(p[1]);
  pf[0] = (struct pollfd){p[0], 0, 0};
  show("hup", poll(pf, 1, 0), pf, 1);
  close(p[0]);

  /* reader gone: POLLERR on the writer */
  pipe(p);
  close(p[0]);
  pf[0] = (struct pollfd){p[1], POLLOUT, 0};
  show("err", poll(pf, 1, 0), pf, 1);
  close(p[1]);

  /* timeout with nothing ready */
  pipe(p);
  pf[0] = (struct pollfd){p[0], POLLIN, 0};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int r = poll(pf, 1, 50);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  printf("poll timeout: r=%d waited>=45ms=%d\n", r, ms >= 45);

  /* ppoll (the raw call: glibc's wrapper copies the timeout) writes the remaining time back */
  struct timespec ts = {0, 300000000};
  write(p[1], "y", 1);
  r = syscall(SYS_ppoll, pf, 1, &ts, NULL, 8);
  printf("ppoll ready: r=%d remaining<=300ms=%d remaining>100ms=%d\n", r, ts.tv_sec == 0 && ts.tv_nsec <= 300000000,
         ts.tv_nsec > 100000000);
  ts = (struct timespec){0, 20000000};
  read(p[0], &c, 1);
  r = syscall(SYS_ppoll, pf, 1, &ts, NULL, 8);
  printf("ppoll timeout: r=%d remaining=%ld.%09ld\n", r, (long)ts.tv_sec, ts.tv_nsec);
  ts = (struct timespec){0, 1000000000};
  r = ppoll(pf, 1, &ts, NULL);
  printf("ppoll bad nsec: r=%d errno=%s\n", r, strerror(errno));
  ts = (struct timespec){0, 0};
  r = syscall(SYS_ppoll, pf, 1, &ts, NULL, 4);
  printf("ppoll bad sigsetsize (no mask): r=%d\n", r);
  sigset_t ss;
  sigemptyset(&ss);
  r = syscall(SYS_ppoll, pf, 1, &ts, &ss, 4);
  printf("ppoll bad sigsetsize: r=%d errno=%s\n", r, strerror(errno));

  /* a blocked poll woken by a forked writer */
  pid_t pid = fork();
  if (pid == 0) {
    usleep(20000);
    write(p[1], "z", 1);
    _exit(0);
  }
  r = poll(pf, 1, 5000);
  printf("poll woken: r=%d revents=0x%x\n", r, pf[0].revents);
  waitpid(pid, NULL, 0);
  read(p[0], &c, 1);

  /* select: bits, counts, timeout written back, EBADF */
  fd_set rs, ws;
  FD_ZERO(&rs);
  FD_ZERO(&ws);
  FD_SET(p[0], &rs);
  FD_SET(p[1], &ws);
  FD_SET(p[0], &ws); /* a read end is never writable */
  struct timeval tv = {0, 0};
  r = select(p[1] + 1, &rs, &ws, NULL, &tv);
  printf("select: r=%d rd=%d wr1=%d wr0=%d\n", r, FD_ISSET(p[0], &rs), FD_ISSET(p[1], &ws), FD_ISSET(p[0], &ws));
  FD_ZERO(&rs);
  FD_SET(p[0], &rs);
  tv = (struct timeval){0, 30000};
  r = select(p[0] + 1, &rs, NULL, NULL, &tv);
  printf("select timeout: r=%d rd=%d tv=%ld.%06ld\n", r, FD_ISSET(p[0], &rs), (long)tv.tv_sec, (long)tv.tv_usec);
  FD_ZERO(&rs);
  FD_SET(p[0], &rs);
  FD_SET(p[1] + 5, &rs);
  r = select(p[1] + 6, &rs, NULL, NULL, &tv);
  printf("select closed fd: r=%d errno=%s\n", r, strerror(errno));
  r = select(-1, NULL, NULL, NULL, &tv);
  printf("select nfds<0: r=%d errno=%s\n", r, strerror(errno));

  /* fd sets above 64: a pipe at fd 100/101 and one at 200/201 */
  dup2(p[0], 100);
  dup2(p[1], 101);
  int q[2];
  pipe(q);
  dup2(q[0], 200);
  dup2(q[1], 201);
  write(201, "w", 1);
  FD_ZERO(&rs);
  FD_SET(100, &rs);
  FD_SET(200, &rs);
  FD_ZERO(&ws);
  FD_SET(101, &ws);
  tv = (struct timeval){1, 0};
  r = select(202, &rs, &ws, NULL, &tv);
  printf("select >64: r=%d 100=%d 200=%d 101w=%d\n", r, FD_ISSET(100, &rs), FD_ISSET(200, &rs), FD_ISSET(101, &ws));

  /* pselect: SIGUSR1 blocked normally, unblocked only inside the call */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  sigset_t block, empty;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigprocmask(SIG_BLOCK, &block, NULL);
  sigemptyset(&empty);
  pid_t parent = getpid();
  pid = fork();
  if (pid == 0) {
    usleep(30000);
    kill(parent, SIGUSR1);
    _exit(0);
  }
  FD_ZERO(&rs);
  FD_SET(p[0], &rs);
  struct timespec pts = {5, 0};
  r = pselect(p[0] + 1, &rs, NULL, NULL, &pts, &empty);
  printf("pselect signal: r=%d errno=%s got=%d\n", r, strerror(errno), (int)got);
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  printf("mask restored: %d\n", sigismember(&now, SIGUSR1));
  waitpid(pid, NULL, 0);

  /* a pending blocked signal is delivered at once by pselect's mask */
  kill(getpid(), SIGUSR1);
  printf("pending, got=%d\n", (int)got);
  pts = (struct timespec){5, 0};
  r = pselect(p[0] + 1, &rs, NULL, NULL, &pts, &empty);
  printf("pselect pending: r=%d errno=%s got=%d\n", r, strerror(errno), (int)got);

  /* ppoll with the same mask */
  kill(getpid(), SIGUSR1);
  pf[0] = (struct pollfd){p[0], POLLIN, 0};
  r = ppoll(pf, 1, NULL, &empty);
  printf("ppoll pending: r=%d errno=%s got=%d\n", r, strerror(errno), (int)got);

  /* a stop and continue during poll: no handler runs, so the call is restarted (ERESTARTNOHAND) */
  pid = fork();
  if (pid == 0) {
    usleep(20000);
    kill(parent, SIGSTOP);
    usleep(20000);
    kill(parent, SIGCONT);
    usleep(20000);
    write(p[1], "r", 1);
    _exit(0);
  }
  pf[0] = (struct pollfd){p[0], POLLIN, 0};
  r = poll(pf, 1, 10000);
  printf("poll across stop/cont: r=%d revents=0x%x\n", r, pf[0].revents);
  waitpid(pid, NULL, 0);
  read(p[0], &c, 1);

  /* an epoll-less poll on /dev/null (always ready) */
  int nfd = open("/dev/null", O_RDWR);
  pf[0] = (struct pollfd){nfd, POLLIN | POLLOUT, 0};
  show("devnull", poll(pf, 1, 0), pf, 1);
  return 0;
}
