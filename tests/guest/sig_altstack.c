// sigaltstack: SA_ONSTACK handlers run on the alternate stack, sigaltstack() reports SS_ONSTACK
// inside and refuses changes there (EPERM), sizes below MINSIGSTKSZ fail (ENOMEM), SS_DISABLE,
// and a stack overflow is caught on the alternate stack.
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *alt;
static size_t altsz = 65536;
static volatile int on_alt, flags_inside, eperm_inside;
static sigjmp_buf env;

static void handler(int sig) {
  (void)sig;
  char local;
  on_alt = &local >= alt && &local < alt + altsz;
  stack_t cur;
  sigaltstack(NULL, &cur);
  flags_inside = cur.ss_flags;
  stack_t ns = {.ss_sp = alt, .ss_size = altsz, .ss_flags = 0};
  eperm_inside = sigaltstack(&ns, NULL) == -1 && errno == EPERM;
}

static void segv(int sig) {
  (void)sig;
  char local;
  on_alt = &local >= alt && &local < alt + altsz;
  siglongjmp(env, 1);
}

static int depth(int n) {
  volatile char buf[512];
  buf[0] = (char)n;
  return depth(n + 1) + buf[0];
}

int main(void) {
  alt = malloc(altsz);
  stack_t ss = {.ss_sp = alt, .ss_size = 1024, .ss_flags = 0};
  printf("small: %d %s\n", sigaltstack(&ss, NULL), errno == ENOMEM ? "ENOMEM" : "?");
  ss.ss_flags = 12345;
  ss.ss_size = altsz;
  errno = 0;
  printf("bad flags: %d %s\n", sigaltstack(&ss, NULL), errno == EINVAL ? "EINVAL" : "?");
  ss.ss_flags = 0;
  printf("set: %d\n", sigaltstack(&ss, NULL));
  stack_t old;
  sigaltstack(NULL, &old);
  printf("query: flags=%d size_ok=%d sp_ok=%d\n", old.ss_flags, old.ss_size == altsz, old.ss_sp == alt);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  printf("SA_ONSTACK: on_alt=%d flags_inside=%d eperm_inside=%d\n", on_alt, flags_inside, eperm_inside);

  sa.sa_flags = 0;
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  printf("no SA_ONSTACK: on_alt=%d flags_inside=%d\n", on_alt, flags_inside);

  sa.sa_handler = segv;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGSEGV, &sa, NULL);
  on_alt = 0;
  if (sigsetjmp(env, 1) == 0) depth(0);
  printf("overflow caught: on_alt=%d\n", on_alt);

  ss.ss_flags = SS_DISABLE;
  printf("disable: %d\n", sigaltstack(&ss, NULL));
  sigaltstack(NULL, &old);
  printf("after disable: flags=%d size=%zu\n", old.ss_flags, old.ss_size);
  return 0;
}
