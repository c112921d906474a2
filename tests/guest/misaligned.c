/*
 * Misaligned loads and stores of every width (integer and FP), at every offset within a
 * doubleword and across a page boundary, through inline asm so the compiler emits the single
 * instruction (it would split a misaligned access itself otherwise). Linux makes these work
 * transparently; the output is compared byte for byte with qemu-riscv64-static's.
 */
#include <stdint.h>
#include <stdio.h>

typedef uint64_t u64;

static unsigned char buf[3 * 4096] __attribute__((aligned(4096)));

#define LOAD(insn)                                                            \
  static u64 load_##insn(const unsigned char *p) {                            \
    u64 v;                                                                    \
    __asm__ volatile(#insn " %0, 0(%1)" : "=r"(v) : "r"(p) : "memory");       \
    return v;                                                                 \
  }
LOAD(lb) LOAD(lbu) LOAD(lh) LOAD(lhu) LOAD(lw) LOAD(lwu) LOAD(ld)

#define STORE(insn)                                                           \
  static void store_##insn(unsigned char *p, u64 v) {                         \
    __asm__ volatile(#insn " %1, 0(%0)" : : "r"(p), "r"(v) : "memory");       \
  }
STORE(sb) STORE(sh) STORE(sw) STORE(sd)

/* FP: load into an f register and store it back aligned, so only raw bits move. */
static u64 fld_bits(const unsigned char *p) {
  u64 out;
  __asm__ volatile("fld ft0, 0(%1)\n\tfsd ft0, 0(%2)" : : "r"(0), "r"(p), "r"(&out) : "ft0", "memory");
  return out;
}
static u64 flw_bits(const unsigned char *p) {
  u64 out;
  __asm__ volatile("flw ft0, 0(%1)\n\tfsd ft0, 0(%2)" : : "r"(0), "r"(p), "r"(&out) : "ft0", "memory");
  return out;
}
static void fsd_bits(unsigned char *p, const u64 *bits) {
  __asm__ volatile("fld ft0, 0(%1)\n\tfsd ft0, 0(%0)" : : "r"(p), "r"(bits) : "ft0", "memory");
}
static void fsw_bits(unsigned char *p, const u64 *bits) {
  __asm__ volatile("fld ft0, 0(%1)\n\tfsw ft0, 0(%0)" : : "r"(p), "r"(bits) : "ft0", "memory");
}

struct ld { const char *name; u64 (*fn)(const unsigned char *); };
static const struct ld LOADS[] = {
  {"lb", load_lb}, {"lbu", load_lbu}, {"lh", load_lh}, {"lhu", load_lhu}, {"lw", load_lw},
  {"lwu", load_lwu}, {"ld", load_ld}, {"fld", fld_bits}, {"flw", flw_bits},
};
struct st { const char *name; void (*fn)(unsigned char *, u64); int size; };
static const struct st STORES[] = {
  {"sb", store_sb, 1}, {"sh", store_sh, 2}, {"sw", store_sw, 4}, {"sd", store_sd, 8},
};

static void fill(void) {
  for (unsigned i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 37 + 0x81);
}

static void dump(unsigned off) {
  for (unsigned k = 0; k < 12; k++) printf("%02x", buf[off - 2 + k]);
  printf("\n");
}

int main(void) {
  /* offsets 1..7 into a doubleword, and positions straddling the page boundary at 4096 */
  static const unsigned OFFS[] = {
    256, 257, 258, 259, 260, 261, 262, 263, 4089, 4090, 4091, 4093, 4094, 4095, 8191,
  };
  const unsigned NOFF = sizeof OFFS / sizeof OFFS[0];
  fill();
  for (unsigned k = 0; k < sizeof LOADS / sizeof LOADS[0]; k++)
    for (unsigned i = 0; i < NOFF; i++)
      printf("%s +%u = %016llx\n", LOADS[k].name, OFFS[i], (unsigned long long)LOADS[k].fn(buf + OFFS[i]));
  for (unsigned k = 0; k < sizeof STORES / sizeof STORES[0]; k++) {
    for (unsigned i = 0; i < NOFF; i++) {
      fill();
      STORES[k].fn(buf + OFFS[i], 0x0123456789abcdefull);
      printf("%s +%u: ", STORES[k].name, OFFS[i]);
      dump(OFFS[i]);
    }
  }
  static const u64 bits = 0xfedcba9876543210ull;
  for (unsigned i = 0; i < NOFF; i++) {
    fill();
    fsd_bits(buf + OFFS[i], &bits);
    printf("fsd +%u: ", OFFS[i]);
    dump(OFFS[i]);
    fill();
    fsw_bits(buf + OFFS[i], &bits);
    printf("fsw +%u: ", OFFS[i]);
    dump(OFFS[i]);
  }
  /* a misaligned read-modify-write loop across the page boundary */
  fill();
  u64 acc = 0;
  for (unsigned off = 4080; off < 4100; off++) {
    u64 v = load_ld(buf + off);
    store_sd(buf + off, v ^ (v >> 7) ^ off);
    acc = acc * 31 + load_lwu(buf + off + 1);
  }
  printf("rmw checksum %016llx\n", (unsigned long long)acc);
  return 0;
}
