// Masks and pending sets: sigprocmask, sigpending, sigsuspend, SA_RESETHAND, SA_NODEFER,
// sa_mask, coalescing of standard signals, queueing of real-time signals with their values
// (sigqueue / rt_sigqueueinfo), delivery order, and sigtimedwait.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int count[65];
static int order[64];
static volatile int norder;
static int values[2][64];
static volatile int nvalues[2];
static volatile int calls, depth, maxdepth;

static void h(int sig) {
  count[sig]++;
  if (norder < 64) order[norder++] = sig;
}

static void hinfo(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  count[sig]++;
  int k = sig - SIGRTMIN;
  if (nvalues[k] < 64) values[k][nvalues[k]++] = si->si_value.sival_int * 100 + (si->si_code == SI_QUEUE);
}

static void reentrant(int sig) {
  depth++;
  calls++;
  if (depth > maxdepth) maxdepth = depth;
  if (calls < 3) raise(sig);
  depth--;
}

static void show_mask(const char *what) {
  sigset_t s;
  sigprocmask(SIG_BLOCK, NULL, &s);
  printf("%s: USR1=%d USR2=%d TERM=%d\n", what, sigismember(&s, SIGUSR1), sigismember(&s, SIGUSR2),
         sigismember(&s, SIGTERM));
}

static void masked_handler(int sig) {
  (void)sig;
  // Only USR1/USR2 are printed: qemu-user does not show sa_mask in the mask read inside a handler.
  sigset_t s;
  sigprocmask(SIG_BLOCK, NULL, &s);
  printf("inside handler: USR1=%d USR2=%d\n", sigismember(&s, SIGUSR1), sigismember(&s, SIGUSR2));
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = h;
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGUSR2, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);

  // Blocked standard signals coalesce.
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, &old);
  raise(SIGUSR2);
  raise(SIGUSR1);
  raise(SIGUSR1);
  raise(SIGUSR1);
  raise(SIGHUP);
  sigset_t pend;
  sigpending(&pend);
  printf("pending: USR1=%d USR2=%d HUP=%d TERM=%d count=%d\n", sigismember(&pend, SIGUSR1),
         sigismember(&pend, SIGUSR2), sigismember(&pend, SIGHUP), sigismember(&pend, SIGTERM), count[SIGUSR1]);
  sigprocmask(SIG_SETMASK, &old, NULL);
  printf("after unblock: USR1=%d USR2=%d HUP=%d order=", count[SIGUSR1], count[SIGUSR2], count[SIGHUP]);
  for (int i = 0; i < norder; i++) printf("%d ", order[i]);
  printf("\n");

  // SIGKILL and SIGSTOP cannot be blocked.
  sigfillset(&set);
  sigprocmask(SIG_SETMASK, &set, NULL);
  sigprocmask(SIG_SETMASK, NULL, &old);
  printf("fill: KILL=%d STOP=%d USR1=%d\n", sigismember(&old, SIGKILL), sigismember(&old, SIGSTOP),
         sigismember(&old, SIGUSR1));
  sigemptyset(&set);
  sigprocmask(SIG_SETMASK, &set, NULL);
  errno = 0;
  printf("sigaction(SIGKILL): %d %s\n", sigaction(SIGKILL, &sa, NULL), errno == EINVAL ? "EINVAL" : "?");

  // Real-time signals queue with their values, in order; lower numbers first.
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = hinfo;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGRTMIN, &sa, NULL);
  sigaction(SIGRTMIN + 1, &sa, NULL);
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN);
  sigaddset(&set, SIGRTMIN + 1);
  sigprocmask(SIG_BLOCK, &set, NULL);
  for (int i = 1; i <= 3; i++) {
    union sigval v = {.sival_int = 10 + i};
    sigqueue(getpid(), SIGRTMIN + 1, v);
    v.sival_int = i;
    sigqueue(getpid(), SIGRTMIN, v);
  }
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  // (The order between different RT signals is not compared: qemu-user delivers them in its own order.)
  for (int k = 0; k < 2; k++) {
    printf("rt SIGRTMIN+%d: count=%d values=", k, count[SIGRTMIN + k]);
    for (int i = 0; i < nvalues[k]; i++) printf("%d ", values[k][i]);
    printf("\n");
  }

  // sigsuspend: wait with a temporary mask, the old one comes back.
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);
  raise(SIGUSR1);
  int before = count[SIGUSR1];
  sigset_t wait;
  sigemptyset(&wait);
  errno = 0;
  int r = sigsuspend(&wait);
  printf("sigsuspend: r=%d errno=%s delivered=%d\n", r, errno == EINTR ? "EINTR" : "?", count[SIGUSR1] - before);
  show_mask("after sigsuspend");
  sigprocmask(SIG_UNBLOCK, &set, NULL);

  // sa_mask is blocked during the handler.
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = masked_handler;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGTERM);
  sigaction(SIGUSR2, &sa, NULL);
  raise(SIGUSR2);
  show_mask("after handler");

  // SA_NODEFER lets the handler be re-entered; without it the signal waits.
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = reentrant;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGUSR1, &sa, NULL);
  depth = maxdepth = calls = 0;
  raise(SIGUSR1);
  printf("SA_NODEFER maxdepth=%d calls=%d\n", maxdepth, calls);
  sa.sa_flags = 0;
  sigaction(SIGUSR1, &sa, NULL);
  depth = maxdepth = calls = 0;
  raise(SIGUSR1);
  printf("deferred maxdepth=%d calls=%d\n", maxdepth, calls);

  // SA_RESETHAND: one shot, then the default (here made harmless by checking the disposition).
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = h;
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGHUP, &sa, NULL);
  count[SIGHUP] = 0;
  raise(SIGHUP);
  struct sigaction now;
  sigaction(SIGHUP, NULL, &now);
  printf("SA_RESETHAND: count=%d now_default=%d\n", count[SIGHUP], now.sa_handler == SIG_DFL);

  // sigtimedwait takes a blocked signal without running its handler.
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigprocmask(SIG_BLOCK, &set, NULL);
  union sigval v = {.sival_int = 77};
  sigqueue(getpid(), SIGUSR2, v);
  siginfo_t si;
  struct timespec to = {0, 0};
  r = sigtimedwait(&set, &si, &to);
  printf("sigtimedwait: r=%d code_queue=%d value=%d pid_ok=%d\n", r, si.si_code == SI_QUEUE, si.si_value.sival_int,
         si.si_pid == getpid());
  to.tv_nsec = 20000000;
  errno = 0;
  r = sigtimedwait(&set, &si, &to);
  printf("sigtimedwait empty: r=%d %s\n", r, errno == EAGAIN ? "EAGAIN" : "?");
  // kill() info: SI_USER with our pid.
  kill(getpid(), SIGUSR2);
  r = sigwaitinfo(&set, &si);
  printf("sigwaitinfo after kill: r=%d code_user=%d pid_ok=%d\n", r, si.si_code == SI_USER, si.si_pid == getpid());
  return 0;
}
