// Guest programs for the exec tests, compiled on demand with the riscv64 cross compiler into a
// temporary directory (cached for the test run).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One shared cache directory; binaries are named by a hash of their source, so they never go stale. */
const DIR = join(tmpdir(), 'labvisor-exec-fixtures');

export const SOURCES: Record<string, string> = {
  hello: `#include <stdio.h>
int main(void) { printf("Hello, world!\\n"); return 0; }
`,
  // argc/argv/envp and the aux vector in the order the kernel wrote it; values that are fixed
  // (not addresses) are printed, addresses only checked.
  stack: `#include <stdio.h>
#include <elf.h>
#include <string.h>
int main(int argc, char **argv, char **envp) {
  printf("argc=%d argv-aligned=%d\\n", argc, (int)(((unsigned long)argv - 8) % 16 == 0));
  for (int i = 0; i < argc; i++) printf("argv[%d]=%s\\n", i, argv[i]);
  char **e = envp;
  while (*e) printf("env=%s\\n", *e++);
  for (Elf64_auxv_t *a = (Elf64_auxv_t *)(e + 1); a->a_type != AT_NULL; a++) {
    unsigned long v = a->a_un.a_val;
    switch (a->a_type) {
    case AT_EXECFN: printf("AT_EXECFN=%s\\n", (char *)v); break;
    case AT_RANDOM: printf("AT_RANDOM set=%d\\n", v != 0); break;
    default: printf("auxv %lu = 0x%lx\\n", a->a_type, v);
    }
  }
  return 3;
}
`,
  signals: `#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
int main(int argc, char **argv) {
  int w = atoi(argv[1]);
  printf("before\\n"); fflush(stdout);
  if (w == 0) *(volatile int *)8 = 1;
  if (w == 1) abort();
  if (w == 2) kill(getpid(), SIGTERM);
  if (w == 3) __asm__ volatile(".word 0");
  if (w == 4) __asm__ volatile("ebreak");
  if (w == 5) { signal(SIGUSR1, SIG_IGN); kill(getpid(), SIGUSR1); printf("ignored\\n"); }
  if (w == 6) { sigset_t s; sigemptyset(&s); sigaddset(&s, SIGTERM); sigprocmask(SIG_BLOCK, &s, 0);
                kill(getpid(), SIGTERM); printf("blocked\\n"); fflush(stdout); sigprocmask(SIG_UNBLOCK, &s, 0); }
  if (w == 7) exit(300);
  return 0;
}
`,
  // Every call handed a bad pointer gets -EFAULT (printed as errno), nothing crashes.
  badptr: `#define _GNU_SOURCE
#include <stdio.h>
#include <errno.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/sysinfo.h>
#include <sys/random.h>
#define BAD ((void *)0x10)
#define T(name, call) do { errno = 0; long rv_ = (call); printf("%s = %ld errno=%d\\n", name, rv_, rv_ < 0 ? errno : 0); } while (0)
int main(void) {
  T("clock_gettime", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, BAD));
  T("clock_getres", syscall(SYS_clock_getres, CLOCK_REALTIME, BAD));
  T("clock_gettime(bad id)", syscall(SYS_clock_gettime, 12345, BAD));
  T("gettimeofday", syscall(SYS_gettimeofday, BAD, 0));
  T("nanosleep", syscall(SYS_nanosleep, BAD, 0));
  T("uname", syscall(SYS_uname, BAD));
  T("sysinfo", syscall(SYS_sysinfo, BAD));
  T("getrandom", syscall(SYS_getrandom, BAD, 16, 0));
  T("getrandom(bad flags)", syscall(SYS_getrandom, BAD, 16, 0x100));
  T("prlimit64", syscall(SYS_prlimit64, 0, RLIMIT_STACK, 0, BAD));
  T("prlimit64(bad res)", syscall(SYS_prlimit64, 0, 99, 0, 0));
  T("rt_sigaction", syscall(SYS_rt_sigaction, SIGUSR1, BAD, 0, 8));
  T("rt_sigaction(size 4)", syscall(SYS_rt_sigaction, SIGUSR1, 0, 0, 4));
  T("rt_sigaction(SIGKILL)", syscall(SYS_rt_sigaction, SIGKILL, BAD, 0, 8));
  T("rt_sigprocmask", syscall(SYS_rt_sigprocmask, SIG_BLOCK, BAD, 0, 8));
  T("rt_sigprocmask(how)", syscall(SYS_rt_sigprocmask, 7, 0, 0, 8));
  T("sigaltstack", syscall(SYS_sigaltstack, BAD, 0));
  T("getrusage", syscall(SYS_getrusage, RUSAGE_SELF, BAD));
  T("times", syscall(SYS_times, BAD));
  T("sched_getaffinity", syscall(SYS_sched_getaffinity, 0, 8, BAD));
  T("set_robust_list(len)", syscall(SYS_set_robust_list, 0, 1));
  T("execve", syscall(SYS_execve, BAD, 0, 0));
  T("kill(bad sig)", syscall(SYS_kill, getpid(), 99));
  T("kill(0)", syscall(SYS_kill, getpid(), 0));
  T("tgkill(bad)", syscall(SYS_tgkill, 0, 1, 0));
  T("unknown", syscall(999));
  struct rlimit r; getrlimit(RLIMIT_NOFILE, &r); printf("nofile %lu %lu\\n", r.rlim_cur, r.rlim_max);
  r.rlim_cur = 100; T("setrlimit", setrlimit(RLIMIT_NOFILE, &r));
  getrlimit(RLIMIT_NOFILE, &r); printf("nofile %lu %lu\\n", r.rlim_cur, r.rlim_max);
  struct sigaction sa = {0}, old; sa.sa_handler = SIG_IGN; sa.sa_flags = SA_RESTART | 0x400;
  sigaction(SIGUSR2, &sa, 0); sigaction(SIGUSR2, 0, &old);
  printf("sigaction old handler=%d flags=0x%x\\n", old.sa_handler == SIG_IGN, old.sa_flags);
  stack_t ss = { .ss_sp = 0, .ss_size = 0, .ss_flags = 0 }, os;
  sigaltstack(0, &os); printf("altstack flags=%d\\n", os.ss_flags);
  ss.ss_size = 100; ss.ss_sp = &ss; T("sigaltstack(small)", sigaltstack(&ss, 0));
  return 0;
}
`,
};

/** Compile a fixture (static by default) and return its path. */
export function fixture(name: keyof typeof SOURCES | string, opts: { dynamic?: boolean } = {}): string {
  mkdirSync(DIR, { recursive: true });
  const src = SOURCES[name]!;
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 12);
  const out = join(DIR, `${name}${opts.dynamic ? '-dyn' : ''}-${hash}`);
  if (existsSync(out)) return out;
  // Test files run in parallel processes: build under a private name, then rename atomically.
  const tmp = `${out}.${process.pid}`;
  writeFileSync(`${tmp}.c`, src);
  try {
    execFileSync('riscv64-linux-gnu-gcc', [...(opts.dynamic ? [] : ['-static']), '-O2', '-o', tmp, `${tmp}.c`]);
    renameSync(tmp, out);
  } finally {
    rmSync(`${tmp}.c`, { force: true });
  }
  return out;
}
