// nanosleep and clock_nanosleep (relative and TIMER_ABSTIME) accuracy: each sleep lasts at least
// what was asked and at most 20 ms more. Prints only pass/fail.
#include <stdio.h>
#include <time.h>

static long long now_ns(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int check(const char *what, long long asked, long long took) {
  int ok = took >= asked && took <= asked + 20000000LL;
  printf("%s: %s\n", what, ok ? "pass" : "fail");
  return ok;
}

int main(void) {
  long long waits[] = {1000000, 10000000, 50000000, 120000000};
  for (int i = 0; i < 4; i++) {
    struct timespec ts = {0, waits[i]};
    long long t0 = now_ns(CLOCK_MONOTONIC);
    nanosleep(&ts, NULL);
    char name[64];
    snprintf(name, sizeof name, "nanosleep %lld ms", waits[i] / 1000000);
    check(name, waits[i], now_ns(CLOCK_MONOTONIC) - t0);
  }
  struct timespec ts = {0, 30000000};
  long long t0 = now_ns(CLOCK_MONOTONIC);
  clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
  check("clock_nanosleep relative 30 ms", 30000000, now_ns(CLOCK_MONOTONIC) - t0);

  long long target = now_ns(CLOCK_MONOTONIC) + 40000000;
  struct timespec abs = {target / 1000000000, target % 1000000000};
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL);
  long long late = now_ns(CLOCK_MONOTONIC) - target;
  printf("clock_nanosleep absolute: %s\n", late >= 0 && late <= 20000000 ? "pass" : "fail");

  long long rt = now_ns(CLOCK_REALTIME) + 25000000;
  struct timespec rabs = {rt / 1000000000, rt % 1000000000};
  clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &rabs, NULL);
  late = now_ns(CLOCK_REALTIME) - rt;
  printf("clock_nanosleep realtime absolute: %s\n", late >= 0 && late <= 20000000 ? "pass" : "fail");
  return 0;
}
