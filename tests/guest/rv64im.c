/*
 * Every RV64IM operation on edge values, through inline asm so the compiler cannot fold or
 * substitute instructions. Prints "op a b = result" in hex; the output is deterministic and
 * compared byte for byte with qemu-riscv64-static's.
 */
#include <stdint.h>
#include <stdio.h>

typedef uint64_t u64;

#define RR(name)                                                              \
  static u64 op_##name(u64 a, u64 b) {                                       \
    u64 r;                                                                    \
    __asm__ volatile(#name " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));         \
    return r;                                                                 \
  }
RR(add) RR(sub) RR(sll) RR(slt) RR(sltu) RR(xor) RR(srl) RR(sra) RR(or) RR(and)
RR(addw) RR(subw) RR(sllw) RR(srlw) RR(sraw)
RR(mul) RR(mulh) RR(mulhsu) RR(mulhu) RR(div) RR(divu) RR(rem) RR(remu)
RR(mulw) RR(divw) RR(divuw) RR(remw) RR(remuw)

struct rr { const char *name; u64 (*fn)(u64, u64); };
static const struct rr RRS[] = {
#define E(n) {#n, op_##n},
  E(add) E(sub) E(sll) E(slt) E(sltu) E(xor) E(srl) E(sra) E(or) E(and)
  E(addw) E(subw) E(sllw) E(srlw) E(sraw)
  E(mul) E(mulh) E(mulhsu) E(mulhu) E(div) E(divu) E(rem) E(remu)
  E(mulw) E(divw) E(divuw) E(remw) E(remuw)
#undef E
};

static const u64 V[] = {
  0, 1, 2, 3, 7, 31, 32, 33, 63, 64,
  0xffffffffffffffffull, 0xfffffffffffffffeull, 0xfffffffffffffff9ull,
  0x7fffffffull, 0x80000000ull, 0xffffffff80000000ull, 0xffffffffull, 0x100000000ull,
  0x8000000000000000ull, 0x7fffffffffffffffull, 0x0020000000000000ull, 0x0020000000000001ull,
  0x123456789abcdef0ull, 0xdeadbeefcafebabeull, 0x00000000fffffffeull, 0xfffffffe00000001ull,
};
#define NV (sizeof V / sizeof V[0])

/* Immediate forms: the immediate is part of the instruction, so one function per value. */
#define RI(name, tag, imm)                                                    \
  static u64 op_##name##_##tag(u64 a) {                                      \
    u64 r;                                                                    \
    __asm__ volatile(#name " %0, %1, " #imm : "=r"(r) : "r"(a));              \
    return r;                                                                 \
  }
#define ENT(name, tag, imm) {#name, imm, op_##name##_##tag},
#define IMMS(X, name) X(name, z, 0) X(name, p1, 1) X(name, m1, -1) X(name, max, 2047) \
  X(name, min, -2048) X(name, odd, 1365)
#define SH64(X, name) X(name, z, 0) X(name, p1, 1) X(name, s13, 13) X(name, s31, 31) \
  X(name, s32, 32) X(name, s63, 63)
#define SH32(X, name) X(name, z, 0) X(name, p1, 1) X(name, s13, 13) X(name, s31, 31)
#define ALL_RI(X)                                                              \
  IMMS(X, addi) IMMS(X, slti) IMMS(X, sltiu) IMMS(X, xori) IMMS(X, ori) IMMS(X, andi) \
  IMMS(X, addiw) SH64(X, slli) SH64(X, srli) SH64(X, srai) SH32(X, slliw) SH32(X, srliw) \
  SH32(X, sraiw)
ALL_RI(RI)

struct ri { const char *name; long imm; u64 (*fn)(u64); };
static const struct ri RIS[] = { ALL_RI(ENT) };

/* Branches: 1 when taken. */
#define BR(name)                                                              \
  static int br_##name(u64 a, u64 b) {                                       \
    int t = 1;                                                                \
    __asm__ volatile(#name " %1, %2, 1f\n\tli %0, 0\n1:" : "+r"(t) : "r"(a), "r"(b)); \
    return t;                                                                 \
  }
BR(beq) BR(bne) BR(blt) BR(bge) BR(bltu) BR(bgeu)
struct br { const char *name; int (*fn)(u64, u64); };
static const struct br BRS[] = {
  {"beq", br_beq}, {"bne", br_bne}, {"blt", br_blt}, {"bge", br_bge}, {"bltu", br_bltu}, {"bgeu", br_bgeu},
};

#define LUI(v)                                                                \
  do {                                                                        \
    u64 r;                                                                    \
    __asm__ volatile("lui %0, " #v : "=r"(r));                                \
    printf("lui %s = %016llx\n", #v, (unsigned long long)r);                  \
  } while (0)

int main(void) {
  for (unsigned k = 0; k < sizeof RRS / sizeof RRS[0]; k++)
    for (unsigned i = 0; i < NV; i++)
      for (unsigned j = 0; j < NV; j++)
        printf("%s %016llx %016llx = %016llx\n", RRS[k].name, (unsigned long long)V[i],
               (unsigned long long)V[j], (unsigned long long)RRS[k].fn(V[i], V[j]));
  for (unsigned k = 0; k < sizeof RIS / sizeof RIS[0]; k++)
    for (unsigned i = 0; i < NV; i++)
      printf("%s %016llx %ld = %016llx\n", RIS[k].name, (unsigned long long)V[i], RIS[k].imm,
             (unsigned long long)RIS[k].fn(V[i]));
  for (unsigned k = 0; k < sizeof BRS / sizeof BRS[0]; k++)
    for (unsigned i = 0; i < NV; i++)
      for (unsigned j = 0; j < NV; j++)
        printf("%s %016llx %016llx = %d\n", BRS[k].name, (unsigned long long)V[i],
               (unsigned long long)V[j], BRS[k].fn(V[i], V[j]));
  LUI(0); LUI(1); LUI(0x7ffff); LUI(0x80000); LUI(0xfffff); LUI(0x12345);
  /* auipc and jal/jalr link values depend on where the code is: print differences only */
  {
    u64 a, b, link, target;
    __asm__ volatile("auipc %0, 0\n\tauipc %1, 0x80000" : "=r"(a), "=r"(b));
    printf("auipc delta = %016llx\n", (unsigned long long)(b - a));
    __asm__ volatile("auipc %1, 0\n\tjal %0, 1f\n\tnop\n1:" : "=r"(link), "=r"(target));
    printf("jal link - auipc = %llu\n", (unsigned long long)(link - target));
    __asm__ volatile("lla %1, 1f\n\taddi %1, %1, 1\n\tjalr %0, %1, -1\n\tnop\n1:\tauipc %1, 0\n\tsub %1, %1, %0"
                     : "=&r"(link), "=&r"(target));
    printf("jalr lands %llu after its link\n", (unsigned long long)target);
  }
  return 0;
}
