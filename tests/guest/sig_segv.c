// SIGSEGV and SIGILL handlers (SA_SIGINFO) read si_signo, si_code and si_addr, then siglongjmp out;
// the signal mask is restored by siglongjmp. Also SIGBUS-free write to a read-only page (SEGV_ACCERR).
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile int got_sig, got_code;
static void *volatile got_addr;

static void handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  got_sig = sig;
  got_code = si->si_code;
  got_addr = si->si_addr;
  siglongjmp(env, 1);
}

static void report(const char *what, void *expect) {
  sigset_t cur;
  sigprocmask(SIG_BLOCK, NULL, &cur);
  printf("%s: sig=%d code=%d addr_ok=%d segv_blocked_after=%d\n", what, got_sig, got_code, got_addr == expect,
         sigismember(&cur, SIGSEGV));
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGILL, &sa, NULL);

  volatile int *bad = (volatile int *)0x1238;
  if (sigsetjmp(env, 1) == 0) {
    *bad = 42;
    printf("not reached\n");
  }
  report("unmapped write", (void *)bad);

  char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (sigsetjmp(env, 1) == 0) {
    ro[100] = 1;
    printf("not reached\n");
  }
  report("read-only write", ro + 100);

  for (volatile int i = 0; i < 3; i++) {
    got_sig = 0;
    if (sigsetjmp(env, 1) == 0) {
      (void)*(volatile char *)(unsigned long)(0x10 + i);
    }
    printf("repeat %d: sig=%d code=%d\n", i, got_sig, got_code);
  }

  if (sigsetjmp(env, 1) == 0) {
    __asm__ volatile(".word 0" ::: "memory");
  }
  printf("illegal: sig=%d code=%d\n", got_sig, got_code);
  printf("done\n");
  return 0;
}
