// setitimer/getitimer (ITIMER_REAL → SIGALRM, periodic), alarm() (through setitimer on riscv64),
// the remaining time read back, ITIMER_VIRTUAL while spinning, and waiting with sigsuspend.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

// Wait for any signal (rt_sigsuspend with the current mask). pause() would do as well.
static void wait_sig(void) {
  sigset_t cur;
  sigprocmask(SIG_BLOCK, NULL, &cur);
  sigsuspend(&cur);
}

static volatile int alrm, vt;
static void on_alrm(int sig) { (void)sig; alrm++; }
static void on_vt(int sig) { (void)sig; vt++; }

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGALRM, on_alrm);
  struct itimerval it = {{0, 15000}, {0, 15000}}, cur, old;
  setitimer(ITIMER_REAL, &it, NULL);
  getitimer(ITIMER_REAL, &cur);
  printf("armed: interval=%ld value_ok=%d\n", cur.it_interval.tv_usec,
         cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 15000);
  while (alrm < 4) wait_sig();
  struct itimerval zero = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &zero, &old);
  printf("periodic: alarms=%d old_interval=%ld\n", alrm, old.it_interval.tv_usec);
  getitimer(ITIMER_REAL, &cur);
  printf("disarmed: %ld %ld\n", cur.it_value.tv_sec, cur.it_value.tv_usec);

  // alarm(): seconds, returns the previous remaining seconds (rounded).
  printf("alarm(5)=%u\n", alarm(5));
  printf("alarm(0)=%u\n", alarm(0));
  alrm = 0;
  alarm(1);
  wait_sig();
  printf("after alarm(1): alrm=%d\n", alrm);

  // ITIMER_VIRTUAL counts CPU time only.
  signal(SIGVTALRM, on_vt);
  struct itimerval v = {{0, 0}, {0, 50000}};
  setitimer(ITIMER_VIRTUAL, &v, NULL);
  volatile unsigned long n = 0;
  while (!vt) n++;
  printf("ITIMER_VIRTUAL fired: %d\n", vt);
  return 0;
}
