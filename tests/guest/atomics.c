/*
 * The A extension: every AMO in .w and .d width on edge values (printing the old value the
 * instruction returned and the memory after it), and LR/SC: success, SC without a
 * reservation, SC to another address, a store between LR and SC, and a CAS loop built from
 * LR/SC. Deterministic output, compared byte for byte with qemu-riscv64-static's.
 */
#include <stdint.h>
#include <stdio.h>

typedef uint64_t u64;
typedef uint32_t u32;

static volatile u64 cell[4] __attribute__((aligned(64)));

#define AMO_D(name)                                                           \
  static u64 name##_d(volatile u64 *p, u64 v) {                               \
    u64 old;                                                                  \
    __asm__ volatile(#name ".d %0, %2, (%1)" : "=&r"(old) : "r"(p), "r"(v) : "memory"); \
    return old;                                                               \
  }
#define AMO_W(name)                                                           \
  static u64 name##_w(volatile u32 *p, u64 v) {                               \
    u64 old;                                                                  \
    __asm__ volatile(#name ".w %0, %2, (%1)" : "=&r"(old) : "r"(p), "r"(v) : "memory"); \
    return old;                                                               \
  }
#define AMO(name) AMO_D(name) AMO_W(name)
AMO(amoswap) AMO(amoadd) AMO(amoxor) AMO(amoand) AMO(amoor)
AMO(amomin) AMO(amomax) AMO(amominu) AMO(amomaxu)

struct amo { const char *name; u64 (*d)(volatile u64 *, u64); u64 (*w)(volatile u32 *, u64); };
#define E(n) {#n, n##_d, n##_w},
static const struct amo AMOS[] = {
  E(amoswap) E(amoadd) E(amoxor) E(amoand) E(amoor) E(amomin) E(amomax) E(amominu) E(amomaxu)
};
#undef E

static const u64 V[] = {
  0, 1, 5, 0xffffffffffffffffull, 0xfffffffffffffffbull, 0x7fffffffull, 0x80000000ull,
  0xffffffff80000000ull, 0x8000000000000000ull, 0x7fffffffffffffffull, 0x123456789abcdef0ull,
};
#define NV (sizeof V / sizeof V[0])

static u64 lr_d(volatile u64 *p) {
  u64 v;
  __asm__ volatile("lr.d %0, (%1)" : "=r"(v) : "r"(p) : "memory");
  return v;
}
static u64 sc_d(volatile u64 *p, u64 v) {
  u64 fail;
  __asm__ volatile("sc.d %0, %2, (%1)" : "=&r"(fail) : "r"(p), "r"(v) : "memory");
  return fail;
}
static u64 lr_w(volatile u32 *p) {
  u64 v;
  __asm__ volatile("lr.w %0, (%1)" : "=r"(v) : "r"(p) : "memory");
  return v;
}
static u64 sc_w(volatile u32 *p, u64 v) {
  u64 fail;
  __asm__ volatile("sc.w %0, %2, (%1)" : "=&r"(fail) : "r"(p), "r"(v) : "memory");
  return fail;
}

/* compare-and-swap from an LR/SC loop, as glibc's atomics are built */
static int cas_d(volatile u64 *p, u64 expect, u64 desired) {
  u64 old, fail;
  __asm__ volatile("1: lr.d.aqrl %0, (%2)\n\t"
                   "bne %0, %3, 2f\n\t"
                   "sc.d.aqrl %1, %4, (%2)\n\t"
                   "bnez %1, 1b\n"
                   "2:"
                   : "=&r"(old), "=&r"(fail)
                   : "r"(p), "r"(expect), "r"(desired)
                   : "memory");
  return old == expect;
}

int main(void) {
  volatile u32 *w = (volatile u32 *)&cell[1];
  for (unsigned k = 0; k < sizeof AMOS / sizeof AMOS[0]; k++) {
    for (unsigned i = 0; i < NV; i++) {
      for (unsigned j = 0; j < NV; j++) {
        cell[0] = V[i];
        u64 old = AMOS[k].d(&cell[0], V[j]);
        printf("%s.d mem %016llx src %016llx -> old %016llx mem %016llx\n", AMOS[k].name,
               (unsigned long long)V[i], (unsigned long long)V[j], (unsigned long long)old,
               (unsigned long long)cell[0]);
        cell[1] = 0xa5a5a5a5a5a5a5a5ull;
        w[1] = (u32)V[i];
        old = AMOS[k].w(&w[1], V[j]);
        printf("%s.w mem %08x src %016llx -> old %016llx mem %016llx\n", AMOS[k].name, (u32)V[i],
               (unsigned long long)V[j], (unsigned long long)old, (unsigned long long)cell[1]);
      }
    }
  }

  cell[0] = 0x1111;
  u64 v = lr_d(&cell[0]);
  u64 f = sc_d(&cell[0], v + 1);
  printf("lr.d/sc.d: loaded %llx sc %llu mem %llx\n", (unsigned long long)v, (unsigned long long)f,
         (unsigned long long)cell[0]);
  f = sc_d(&cell[0], 0x9999);
  printf("sc.d without reservation: %llu mem %llx\n", (unsigned long long)f, (unsigned long long)cell[0]);
  v = lr_d(&cell[0]);
  f = sc_d(&cell[2], 0x7777);
  printf("sc.d to another address: %llu mem %llx\n", (unsigned long long)f, (unsigned long long)cell[2]);
  v = lr_d(&cell[0]);
  cell[0] = 0x2222;
  f = sc_d(&cell[0], 0x3333);
  printf("sc.d after an intervening store: %llu mem %llx\n", (unsigned long long)f, (unsigned long long)cell[0]);

  w[0] = 0x80000001u;
  v = lr_w(&w[0]);
  f = sc_w(&w[0], 0x12345678);
  printf("lr.w/sc.w: loaded %016llx sc %llu mem %08x\n", (unsigned long long)v, (unsigned long long)f, w[0]);
  f = sc_w(&w[0], 0x9999);
  printf("sc.w without reservation: %llu mem %08x\n", (unsigned long long)f, w[0]);

  cell[3] = 10;
  int ok1 = cas_d(&cell[3], 10, 20);
  int ok2 = cas_d(&cell[3], 10, 30);
  printf("cas: %d %d mem %llu\n", ok1, ok2, (unsigned long long)cell[3]);
  u64 sum = 0;
  for (int i = 0; i < 1000; i++) {
    u64 cur;
    do cur = cell[3];
    while (!cas_d(&cell[3], cur, cur + (u64)i));
    sum += (u64)i;
  }
  printf("cas loop: mem %llu expected %llu\n", (unsigned long long)cell[3], (unsigned long long)(sum + 20));
  return 0;
}
