// A hostile guest: random system calls with random arguments (NULL, -1, small numbers, huge values,
// user and non-user addresses), 200 per forked child, each child bounded by alarm(2). Only the calls
// that would end or flood the whole test are left out (exit, kill, clone, execve, signal masks and
// handlers that could defeat the alarm, scheduling changes). Everything else runs: opens, writes,
// mounts, ioctls, mmaps, futexes... The machine must survive every round, and the kernel must not
// report a BUG (an exception in a system call handler) — the test checks both.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static unsigned long long s = 88172645463325252ull;
static unsigned long long rnd(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }
static long arg(void) {
  switch (rnd() % 8) {
  case 0: return 0;
  case 1: return -1;
  case 2: return rnd() % 16;
  case 3: return (long)(rnd() % 0x40000000ull);
  case 4: return (long)rnd();
  case 5: return 0x1000;
  case 6: return (long)(0x3fffff0000ull + (rnd() % 0x10000));
  default: return (long)(rnd() & 0xffff);
  }
}
int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 50;
  s ^= argc > 2 ? atoll(argv[2]) : 1;
  int bad[] = {SYS_exit, SYS_exit_group, SYS_reboot, SYS_kill, SYS_tkill, SYS_tgkill, SYS_clone, SYS_clone3,
               SYS_execve, SYS_execveat, SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_setitimer, SYS_pidfd_send_signal,
               SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo, SYS_setpriority, SYS_sched_setscheduler, SYS_sched_setattr,
               SYS_sched_setparam};
  int nbad = sizeof bad / sizeof bad[0];
  int survived = 0;
  for (int r = 0; r < rounds; r++) {
    pid_t p = fork();
    if (p == 0) {
      alarm(2);
      for (int i = 0; i < 200; i++) {
        long nr = rnd() % 460;
        int skip = 0;
        for (int j = 0; j < nbad; j++) if (bad[j] == nr) skip = 1;
        if (skip) continue;
        syscall(nr, arg(), arg(), arg(), arg(), arg(), arg());
      }
      _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
    survived++;
  }
  printf("rounds %d survived %d\n", rounds, survived);
  return 0;
}
