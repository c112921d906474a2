/* Scheduling and process-limit behaviour that only our single-CPU machine decides. Without
 * arguments it only prints its usage (so the qemu comparison of every tests/guest program is
 * trivially equal); tests/kernel/sched.test.ts runs each mode under labvisor and checks it.
 *   nice       two CPU hogs, nice 0 and nice 10: prints both CPU times and their ratio
 *   fifo       a SCHED_FIFO and a SCHED_OTHER child woken together: prints who ran first
 *   forkbomb   fork until it fails (linear), then a real fork bomb in its own process group
 *   threads    create up to 10000 threads: prints how many and the error
 *   subreaper  PR_SET_CHILD_SUBREAPER reparenting and PR_SET_PDEATHSIG
 * guest-cflags: -pthread
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void spin(void) {
  volatile unsigned long x = 0;
  for (;;) x++;
}

static double cpu_of(struct rusage *ru) {
  return ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 + ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

static int mode_nice(void) {
  pid_t a = fork();
  if (a == 0) spin();
  pid_t b = fork();
  if (b == 0) {
    setpriority(PRIO_PROCESS, 0, 10);
    spin();
  }
  struct timespec ts = {3, 0};
  nanosleep(&ts, NULL);
  printf("nice of b: %d\n", getpriority(PRIO_PROCESS, b));
  kill(a, SIGKILL);
  kill(b, SIGKILL);
  struct rusage ra, rb;
  int st;
  wait4(a, &st, 0, &ra);
  wait4(b, &st, 0, &rb);
  double ca = cpu_of(&ra), cb = cpu_of(&rb);
  printf("cpu nice0=%.3f nice10=%.3f ratio=%.3f\n", ca, cb, cb > 0 ? ca / cb : 0.0);
  return 0;
}

static int mode_fifo(void) {
  int go[2], out[2];
  pipe(go);
  pipe(out);
  pid_t f = fork();
  if (f == 0) {
    struct sched_param sp = {.sched_priority = 10};
    if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) {
      printf("sched_setscheduler: %s\n", strerror(errno));
      _exit(1);
    }
    char c;
    read(go[0], &c, 1);
    /* Hold the CPU for a while: a fair task must not get in before we are done. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do clock_gettime(CLOCK_MONOTONIC, &t1);
    while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 50000000L);
    write(out[1], "F", 1);
    _exit(0);
  }
  pid_t o = fork();
  if (o == 0) {
    char c;
    read(go[0], &c, 1);
    write(out[1], "O", 1);
    _exit(0);
  }
  usleep(100000); /* both are asleep on the go pipe */
  struct sched_param sp;
  sched_getparam(f, &sp);
  printf("policy of f: %d prio %d; policy of o: %d\n", sched_getscheduler(f), sp.sched_priority,
         sched_getscheduler(o));
  write(go[1], "gg", 2);
  int st;
  waitpid(f, &st, 0);
  waitpid(o, &st, 0);
  char buf[3] = {0};
  read(out[0], buf, 2);
  printf("order: %s\n", buf);
  return 0;
}

static int mode_forkbomb(void) {
  /* Linear: fork sleeping children until fork fails. */
  static pid_t kids[100000];
  int n = 0, err = 0;
  for (;;) {
    pid_t p = fork();
    if (p == 0) {
      for (;;) sleep(1000);
    }
    if (p < 0) {
      err = errno;
      break;
    }
    kids[n++] = p;
    if (n == 100000) break;
  }
  printf("linear: forks=%d error=%s\n", n, strerror(err));
  for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
  int reaped = 0, st;
  while (wait(&st) > 0) reaped++;
  printf("linear: reaped=%d\n", reaped);
  /* A real fork bomb in its own process group, killed after a second. */
  pid_t leader = fork();
  if (leader == 0) {
    setpgid(0, 0);
    for (;;) fork();
  }
  setpgid(leader, leader);
  sleep(1);
  kill(-leader, SIGKILL);
  reaped = 0;
  /* We are init: the orphaned bomb processes are ours to reap. */
  for (;;) {
    pid_t w = wait(&st);
    if (w < 0) break;
    reaped++;
  }
  printf("bomb: reaped some=%d\n", reaped > 0);
  pid_t p = fork();
  if (p == 0) _exit(7);
  waitpid(p, &st, 0);
  printf("fork works again: %d\n", WEXITSTATUS(st) == 7);
  return 0;
}

static void *sleeper(void *arg) {
  (void)arg;
  for (;;) sleep(1000);
  return NULL;
}

static int mode_threads(void) {
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setstacksize(&at, 64 * 1024);
  int n = 0, err = 0;
  for (; n < 10000; n++) {
    pthread_t t;
    err = pthread_create(&t, &at, sleeper, NULL);
    if (err) break;
  }
  printf("threads=%d error=%s\n", n, err ? strerror(err) : "none");
  return 0;
}

static int mode_subreaper(void) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  int v = 0;
  prctl(PR_GET_CHILD_SUBREAPER, &v);
  printf("subreaper flag: %d\n", v);
  int sync1[2];
  pipe(sync1);
  pid_t me = getpid();
  pid_t p = fork();
  if (p == 0) {
    pid_t g = fork();
    if (g == 0) {
      pid_t orig = getppid();
      char c;
      close(sync1[1]);
      read(sync1[0], &c, 1); /* EOF once the middle process is gone */
      for (int i = 0; i < 1000 && getppid() == orig; i++) usleep(1000);
      _exit(getppid() == me ? 12 : 13);
    }
    _exit(0);
  }
  close(sync1[0]);
  close(sync1[1]);
  int st;
  waitpid(p, &st, 0);
  siginfo_t si;
  int r = waitid(P_ALL, 0, &si, WEXITED);
  printf("orphan reaped by the subreaper: r=%d status=%d\n", r, si.si_status);
  int sync2[2];
  pipe(sync2);
  p = fork();
  if (p == 0) {
    pid_t g = fork();
    if (g == 0) {
      prctl(PR_SET_PDEATHSIG, SIGUSR1);
      close(sync2[0]);
      write(sync2[1], "r", 1);
      for (;;) sleep(1000);
    }
    char c;
    close(sync2[1]);
    read(sync2[0], &c, 1);
    _exit(0);
  }
  close(sync2[0]);
  close(sync2[1]);
  waitpid(p, &st, 0);
  r = waitid(P_ALL, 0, &si, WEXITED);
  printf("pdeathsig: r=%d code=%d status=%d\n", r, si.si_code, si.si_status);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc < 2) {
    printf("usage: proc_sched nice|fifo|forkbomb|threads|subreaper\n");
    return 0;
  }
  if (!strcmp(argv[1], "nice")) return mode_nice();
  if (!strcmp(argv[1], "fifo")) return mode_fifo();
  if (!strcmp(argv[1], "forkbomb")) return mode_forkbomb();
  if (!strcmp(argv[1], "threads")) return mode_threads();
  if (!strcmp(argv[1], "subreaper")) return mode_subreaper();
  return 2;
}
