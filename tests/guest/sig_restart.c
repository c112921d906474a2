// SA_RESTART versus EINTR on a blocking pipe read interrupted by SIGALRM (setitimer), and
// nanosleep interrupted by a signal returning EINTR with the remaining time.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int fds[2];
static volatile int alarms;

static void on_alarm(int sig) {
  (void)sig;
  alarms++;
  // With SA_RESTART the read restarts after this handler and finds this byte.
  if (write(fds[1], "x", 1) != 1) _exit(3);
}

static void arm(long usec) {
  struct itimerval it = {{0, 0}, {0, usec}};
  setitimer(ITIMER_REAL, &it, NULL);
}

static void try_read(int flags, const char *name) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = flags;
  sigaction(SIGALRM, &sa, NULL);
  alarms = 0;
  arm(30000);
  char c = 0;
  errno = 0;
  ssize_t n = read(fds[0], &c, 1);
  int e = errno;
  printf("%s: read=%zd errno=%s byte=%c alarms=%d\n", name, n, e == EINTR ? "EINTR" : e ? strerror(e) : "0",
         n == 1 ? c : '-', alarms);
  // Drain what the handler wrote if the read was interrupted.
  if (n < 0) {
    n = read(fds[0], &c, 1);
    printf("%s: drained=%zd byte=%c\n", name, n, c);
  }
}

int main(void) {
  if (pipe(fds) != 0) return 1;
  try_read(SA_RESTART, "SA_RESTART");
  try_read(0, "no SA_RESTART");

  // nanosleep: EINTR with the time left.
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  arm(50000);
  struct timespec req = {2, 0}, rem = {0, 0};
  int r = nanosleep(&req, &rem);
  int e = errno;
  printf("nanosleep: r=%d errno=%s rem_ok=%d\n", r, e == EINTR ? "EINTR" : "?",
         rem.tv_sec == 1 && rem.tv_nsec > 800000000L);
  char c;
  if (read(fds[0], &c, 1) != 1) return 2;

  // A signal that is ignored does not interrupt anything: the sleep runs to its end.
  signal(SIGALRM, SIG_IGN);
  arm(10000);
  struct timespec t0, t1, s = {0, 60000000};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  r = nanosleep(&s, NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  printf("ignored alarm: nanosleep r=%d full=%d\n", r, ms >= 59);
  return 0;
}
