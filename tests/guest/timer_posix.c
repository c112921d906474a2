// POSIX timers: a periodic CLOCK_MONOTONIC timer fires 5 times (SIGEV_SIGNAL with si_value,
// SI_TIMER), overruns accumulate while its signal is blocked, timer_gettime/timer_getoverrun,
// one-shot TIMER_ABSTIME, SIGEV_NONE, SIGEV_THREAD_ID, errors and timer_delete.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

// Wait for any signal (rt_sigsuspend with the current mask). pause() would do as well.
static void wait_sig(void) {
  sigset_t cur;
  sigprocmask(SIG_BLOCK, NULL, &cur);
  sigsuspend(&cur);
}

static volatile int fired, bad_code, bad_value, overruns, last_overrun, first_overrun = -1;

static void on_timer(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  fired++;
  if (si->si_code != SI_TIMER) bad_code++;
  if (si->si_value.sival_int != 1234) bad_value++;
  overruns += si->si_overrun;
  last_overrun = si->si_overrun;
  if (first_overrun < 0) first_overrun = si->si_overrun;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_timer;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGRTMIN, &sa, NULL);

  timer_t t;
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = SIGRTMIN;
  sev.sigev_value.sival_int = 1234;
  if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0) return 1;

  struct itimerspec its = {{0, 20000000}, {0, 20000000}}; // every 20 ms
  timer_settime(t, 0, &its, NULL);
  while (fired < 5) wait_sig();
  its.it_value.tv_sec = its.it_value.tv_nsec = 0;
  timer_settime(t, 0, &its, NULL);
  printf("fired=%d bad_code=%d bad_value=%d\n", fired, bad_code, bad_value);

  struct itimerspec cur;
  timer_gettime(t, &cur);
  printf("disarmed: value=%ld.%09ld interval=%ld.%09ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec,
         (long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec);

  // Overruns: the signal is blocked while the timer fires every 5 ms for ~100 ms.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN);
  sigprocmask(SIG_BLOCK, &set, NULL);
  struct itimerspec fast = {{0, 5000000}, {0, 5000000}};
  timer_settime(t, 0, &fast, NULL);
  struct timespec nap = {0, 100000000};
  while (nanosleep(&nap, &nap) != 0) {}
  timer_gettime(t, &cur);
  printf("armed: value_le_5ms=%d interval=%ld\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec <= 5000000,
         cur.it_interval.tv_nsec);
  // (Not sigwaitinfo: qemu-user cannot take its own timer signals that way.)
  fired = 0;
  first_overrun = -1;
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  fast.it_value.tv_nsec = 0;
  timer_settime(t, 0, &fast, NULL);
  // Since Linux 6.13 re-arming (or disarming) a timer resets its overrun count.
  int ov = timer_getoverrun(t);
  printf("blocked: delivered=%d overrun_range=%d getoverrun_after_disarm=%d\n", fired >= 1,
         first_overrun >= 10 && first_overrun <= 200, ov);

  // One-shot absolute timer.
  fired = 0;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  struct itimerspec abs = {{0, 0}, now};
  abs.it_value.tv_nsec += 30000000;
  if (abs.it_value.tv_nsec >= 1000000000) {
    abs.it_value.tv_sec++;
    abs.it_value.tv_nsec -= 1000000000;
  }
  timer_settime(t, TIMER_ABSTIME, &abs, NULL);
  while (fired < 1) wait_sig();
  timer_gettime(t, &cur);
  printf("abstime: fired=%d now_disarmed=%d\n", fired, cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);

  // SIGEV_NONE: nothing is sent, the time still counts down.
  timer_t n;
  sev.sigev_notify = SIGEV_NONE;
  timer_create(CLOCK_REALTIME, &sev, &n);
  struct itimerspec one = {{0, 0}, {10, 0}};
  timer_settime(n, 0, &one, NULL);
  timer_gettime(n, &cur);
  printf("SIGEV_NONE: counting=%d\n", cur.it_value.tv_sec == 9 || cur.it_value.tv_sec == 10);
  timer_delete(n);

  // SIGEV_THREAD_ID to ourselves.
  timer_t th;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = SIGRTMIN;
  sev.sigev_value.sival_int = 1234;
  sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
  printf("SIGEV_THREAD_ID create: %d\n", timer_create(CLOCK_MONOTONIC, &sev, &th));
  fired = 0;
  struct itimerspec soon = {{0, 0}, {0, 10000000}};
  timer_settime(th, 0, &soon, NULL);
  while (fired < 1) wait_sig();
  printf("SIGEV_THREAD_ID fired=%d\n", fired);
  timer_delete(th);

  // Errors.
  errno = 0;
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = 99;
  printf("bad signo: %d %s\n", timer_create(CLOCK_MONOTONIC, &sev, &th), errno == EINVAL ? "EINVAL" : "?");
  errno = 0;
  sev.sigev_signo = SIGRTMIN;
  printf("bad clock: %d %s\n", timer_create(12345, &sev, &th), errno == EINVAL ? "EINVAL" : "?");
  struct itimerspec badts = {{0, 0}, {0, 1000000000}};
  errno = 0;
  printf("bad nsec: %d %s\n", timer_settime(t, 0, &badts, NULL), errno == EINVAL ? "EINVAL" : "?");
  printf("delete: %d\n", timer_delete(t));
  return 0;
}
