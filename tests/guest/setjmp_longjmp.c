/*
 * setjmp/longjmp and sigsetjmp/siglongjmp: callee-saved integer (s0-s11) and FP (fs0-fs11) registers, the stack
 * pointer after unwinding deep recursion, the signal mask saved and restored through rt_sigprocmask.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static jmp_buf env;
static sigjmp_buf senv;
static int depth_reached;

static void __attribute__((noinline)) recurse(int depth, int target) {
    volatile char pad[64];
    if (depth > 100000) return; /* never: keeps gcc from calling this infinite recursion */
    memset((char *)pad, depth & 0xff, sizeof pad);
    depth_reached = depth;
    if (depth == target) longjmp(env, depth * 10 + pad[3]);
    recurse(depth + 1, target);
    pad[0]++; /* keep the frame alive, so this is not a tail call */
}

static double __attribute__((noinline)) fp_work(double x, int jump) {
    /* Many live doubles across the call force use of fs0-fs11. */
    double a = x * 1.5, b = x + 2.25, c = x - 0.125, d = x * x, e = a + b, f = c * d, g = e - f, h = a * c;
    if (jump) longjmp(env, 7);
    return a + b + c + d + e + f + g + h;
}

static int sigmask_has(int sig) {
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, sig);
}

int main(void) {
    /* 1. Plain return values, including longjmp(env, 0) which must come back as 1. */
    volatile int round = 0;
    int r = setjmp(env);
    printf("setjmp returned %d (round %d)\n", r, round);
    if (round < 3) {
        round++;
        longjmp(env, round == 3 ? 0 : round * 100);
    }

    /* 2. Unwinding deep recursion. */
    for (int target = 1; target <= 2000; target *= 7) {
        r = setjmp(env);
        if (r == 0) recurse(0, target);
        printf("recursion to %d: longjmp value %d, depth %d\n", target, r, depth_reached);
    }

    /* 3. Callee-saved registers survive: locals kept in registers across setjmp (volatile to be defined). */
    volatile long i1 = 11, i2 = 22, i3 = 33;
    volatile double d1 = 1.25, d2 = -2.5;
    double keep = 0;
    r = setjmp(env);
    if (r == 0) {
        keep = fp_work(3.0, 0);
        i1 = 111;
        d1 = 12.5;
        fp_work(4.0, 1);
    }
    printf("after fp longjmp: r=%d i=%ld,%ld,%ld d=%g,%g keep=%.6f\n", r, i1, i2, i3, d1, d2, keep);

    /* 4. sigsetjmp(…, 1) saves the mask; siglongjmp restores it. sigsetjmp(…, 0) leaves it alone. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    if (sigsetjmp(senv, 1) == 0) {
        sigprocmask(SIG_BLOCK, &set, NULL);
        printf("blocked before siglongjmp: %d\n", sigmask_has(SIGUSR1));
        siglongjmp(senv, 1);
    }
    printf("after siglongjmp(savemask=1): SIGUSR1 blocked = %d\n", sigmask_has(SIGUSR1));
    if (sigsetjmp(senv, 0) == 0) {
        sigprocmask(SIG_BLOCK, &set, NULL);
        siglongjmp(senv, 1);
    }
    printf("after siglongjmp(savemask=0): SIGUSR1 blocked = %d\n", sigmask_has(SIGUSR1));

    /* 5. A jump out of a loop of nested setjmp frames. */
    jmp_buf frames[8];
    int hits = 0;
    for (int k = 0; k < 8; k++) {
        if (setjmp(frames[k]) == 0) {
            if (k & 1) longjmp(frames[k], k + 1);
        } else {
            hits += k;
        }
    }
    printf("nested frames: hits=%d\n", hits);
    return 0;
}
