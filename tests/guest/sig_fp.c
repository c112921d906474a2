// A signal handler that changes FP registers (callee-saved fs0-fs11 and the caller's view of
// ft0) and fcsr (rounding mode and flags); rt_sigreturn must restore them all. The handler also
// checks the FP state saved in its ucontext (uc_mcontext.__fpregs.__d).
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static inline void set_frm(unsigned v) { __asm__ volatile("fsrm %0" ::"r"(v)); }
static inline unsigned get_frm(void) { unsigned v; __asm__ volatile("frrm %0" : "=r"(v)); return v; }
static inline void set_fflags(unsigned v) { __asm__ volatile("fsflags %0" ::"r"(v)); }
static inline unsigned get_fflags(void) { unsigned v; __asm__ volatile("frflags %0" : "=r"(v)); return v; }
enum { RTZ = 1, RUP = 3, NV = 16, DZ = 8, OF = 4, NX = 1 };

static volatile int handled;
static volatile unsigned saved_fcsr;
static volatile double saved_fs0;

#define SET_FS(n, v) __asm__ volatile("fmv.d.x fs" #n ", %0" ::"r"(v))
#define GET_FS(n, out) __asm__ volatile("fmv.x.d %0, fs" #n : "=r"(out))

static void handler(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  (void)si;
  handled = sig;
  saved_fcsr = uc->uc_mcontext.__fpregs.__d.__fcsr;
  memcpy((void *)&saved_fs0, &uc->uc_mcontext.__fpregs.__d.__f[8], 8);
  // Clobber everything the interrupted code could have live.
  unsigned long junk = 0x4045000000000000ul; // 42.0
  SET_FS(0, junk); SET_FS(1, junk); SET_FS(2, junk); SET_FS(3, junk);
  SET_FS(4, junk); SET_FS(5, junk); SET_FS(6, junk); SET_FS(7, junk);
  SET_FS(8, junk); SET_FS(9, junk); SET_FS(10, junk); SET_FS(11, junk);
  __asm__ volatile("fmv.d.x ft0, %0" ::"r"(junk));
  set_frm(RUP);
  set_fflags(OF | NX | DZ);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, NULL);

  set_frm(RTZ);
  set_fflags(NV);
  unsigned long vals[12], out[12];
  for (int i = 0; i < 12; i++) {
    double d = 1.5 + i;
    memcpy(&vals[i], &d, 8);
  }
  SET_FS(0, vals[0]); SET_FS(1, vals[1]); SET_FS(2, vals[2]); SET_FS(3, vals[3]);
  SET_FS(4, vals[4]); SET_FS(5, vals[5]); SET_FS(6, vals[6]); SET_FS(7, vals[7]);
  SET_FS(8, vals[8]); SET_FS(9, vals[9]); SET_FS(10, vals[10]); SET_FS(11, vals[11]);
  raise(SIGUSR1);
  GET_FS(0, out[0]); GET_FS(1, out[1]); GET_FS(2, out[2]); GET_FS(3, out[3]);
  GET_FS(4, out[4]); GET_FS(5, out[5]); GET_FS(6, out[6]); GET_FS(7, out[7]);
  GET_FS(8, out[8]); GET_FS(9, out[9]); GET_FS(10, out[10]); GET_FS(11, out[11]);
  unsigned round = get_frm();
  unsigned flags = get_fflags();
  printf("handled=%d\n", handled);
  printf("saved fcsr=0x%x saved fs0=%g\n", saved_fcsr, saved_fs0);
  int ok = 1;
  for (int i = 0; i < 12; i++) {
    double d;
    memcpy(&d, &out[i], 8);
    if (out[i] != vals[i]) ok = 0;
    printf("fs%d=%g\n", i, d);
  }
  printf("fs restored: %s\n", ok ? "yes" : "no");
  printf("rounding towardzero: %s\n", round == RTZ ? "yes" : "no");
  printf("flags: invalid=%d overflow=%d inexact=%d divbyzero=%d\n", !!(flags & NV), !!(flags & OF), !!(flags & NX),
         !!(flags & DZ));
  // Arithmetic after the handler still uses round-toward-zero.
  volatile double a = 1.0, b = 3.0;
  volatile float q = (float)(a / b);
  printf("1/3 rtz as float bits: 0x%08x\n", *(volatile unsigned *)&q);
  return 0;
}
