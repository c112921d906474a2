/*
 * fp_ops: every RISC-V F and D instruction over edge and pseudo-random inputs, in every rounding mode.
 *
 * Each line is one executed instruction:
 *   insn rs1 rs2 rs3 frm -> result fflags
 * insn   the 32-bit encoding actually executed (read back from the code, so it is what the assembler emitted;
 *        rd = fa0/a0 (10), rs1 = fa1/a1 (11), rs2 = fa2 (12), rs3 = fa3 (13))
 * rs1..3 the 64-bit contents of fa1..fa3 before the instruction (a1 holds rs1 too, for integer sources)
 * frm    the dynamic rounding mode in effect (static-rm instructions run with a different frm on purpose)
 * result fa0 (64 bits, so the NaN-boxing of single results shows) or a0 for integer results
 * fflags the accrued flags after the instruction, starting from 0
 *
 * The output is deterministic (a fixed xorshift generator) and is compared byte for byte between qemu and
 * Labvisor; tests/unit/fpu/ replays it through execFp. Build: riscv64-linux-gnu-gcc -static -O2.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef uint64_t u64;

struct out {
  uint32_t enc;
  u64 fr; /* fa0 after */
  u64 xr; /* a0 after */
  unsigned long fl;
};

typedef void (*opfn)(u64 a, u64 b, u64 c, unsigned long m, struct out *o);

#define OPF(NAME, MN)                                                                                  \
  static void NAME(u64 a, u64 b, u64 c, unsigned long m, struct out *o) {                             \
    u64 r, x;                                                                                          \
    unsigned long f;                                                                                   \
    const uint32_t *p;                                                                                 \
    __asm__ volatile("fmv.d.x fa1, %[a]\n\t"                                                           \
                     "fmv.d.x fa2, %[b]\n\t"                                                           \
                     "fmv.d.x fa3, %[c]\n\t"                                                           \
                     "fmv.d.x fa0, zero\n\t"                                                           \
                     "mv a1, %[a]\n\t"                                                                 \
                     "li a0, 0\n\t"                                                                    \
                     "fsrm %[m]\n\t"                                                                   \
                     "fsflags zero\n\t"                                                                \
                     "1: " MN "\n\t"                                                                   \
                     "frflags %[f]\n\t"                                                                \
                     "fmv.x.d %[r], fa0\n\t"                                                           \
                     "mv %[x], a0\n\t"                                                                 \
                     "lla %[p], 1b\n\t"                                                                \
                     : [r] "=&r"(r), [x] "=&r"(x), [f] "=&r"(f), [p] "=&r"(p)                          \
                     : [a] "r"(a), [b] "r"(b), [c] "r"(c), [m] "r"(m)                                  \
                     : "fa0", "fa1", "fa2", "fa3", "a0", "a1", "memory");                              \
    o->enc = *p;                                                                                       \
    o->fr = r;                                                                                         \
    o->xr = x;                                                                                         \
    o->fl = f;                                                                                         \
  }

/* One function per static rounding mode plus the dynamic one. */
#define RMS(NAME, MN)                                                                                  \
  OPF(NAME##_rne, MN ", rne")                                                                          \
  OPF(NAME##_rtz, MN ", rtz")                                                                          \
  OPF(NAME##_rdn, MN ", rdn")                                                                          \
  OPF(NAME##_rup, MN ", rup")                                                                          \
  OPF(NAME##_rmm, MN ", rmm")                                                                          \
  OPF(NAME##_dyn, MN)

/* The exact conversions have no rounding-mode operand in the assembler (it emits rm = 0), but the field is
 * still decoded; spell the other encodings out with .insn r opcode, funct3 (rm), funct7, rd, rs1, rs2. */
#define RMSI(NAME, ARGS)                                                                               \
  OPF(NAME##_rne, ".insn r 0x53, 0, " ARGS)                                                            \
  OPF(NAME##_rtz, ".insn r 0x53, 1, " ARGS)                                                            \
  OPF(NAME##_rdn, ".insn r 0x53, 2, " ARGS)                                                            \
  OPF(NAME##_rup, ".insn r 0x53, 3, " ARGS)                                                            \
  OPF(NAME##_rmm, ".insn r 0x53, 4, " ARGS)                                                            \
  OPF(NAME##_dyn, ".insn r 0x53, 7, " ARGS)

RMS(fadd_s, "fadd.s fa0, fa1, fa2")
RMS(fsub_s, "fsub.s fa0, fa1, fa2")
RMS(fmul_s, "fmul.s fa0, fa1, fa2")
RMS(fdiv_s, "fdiv.s fa0, fa1, fa2")
RMS(fsqrt_s, "fsqrt.s fa0, fa1")
RMS(fmadd_s, "fmadd.s fa0, fa1, fa2, fa3")
RMS(fmsub_s, "fmsub.s fa0, fa1, fa2, fa3")
RMS(fnmsub_s, "fnmsub.s fa0, fa1, fa2, fa3")
RMS(fnmadd_s, "fnmadd.s fa0, fa1, fa2, fa3")
RMS(fadd_d, "fadd.d fa0, fa1, fa2")
RMS(fsub_d, "fsub.d fa0, fa1, fa2")
RMS(fmul_d, "fmul.d fa0, fa1, fa2")
RMS(fdiv_d, "fdiv.d fa0, fa1, fa2")
RMS(fsqrt_d, "fsqrt.d fa0, fa1")
RMS(fmadd_d, "fmadd.d fa0, fa1, fa2, fa3")
RMS(fmsub_d, "fmsub.d fa0, fa1, fa2, fa3")
RMS(fnmsub_d, "fnmsub.d fa0, fa1, fa2, fa3")
RMS(fnmadd_d, "fnmadd.d fa0, fa1, fa2, fa3")
RMS(fcvt_s_d, "fcvt.s.d fa0, fa1")
RMSI(fcvt_d_s, "0x21, fa0, fa1, f0")
RMS(fcvt_w_s, "fcvt.w.s a0, fa1")
RMS(fcvt_wu_s, "fcvt.wu.s a0, fa1")
RMS(fcvt_l_s, "fcvt.l.s a0, fa1")
RMS(fcvt_lu_s, "fcvt.lu.s a0, fa1")
RMS(fcvt_w_d, "fcvt.w.d a0, fa1")
RMS(fcvt_wu_d, "fcvt.wu.d a0, fa1")
RMS(fcvt_l_d, "fcvt.l.d a0, fa1")
RMS(fcvt_lu_d, "fcvt.lu.d a0, fa1")
RMS(fcvt_s_w, "fcvt.s.w fa0, a1")
RMS(fcvt_s_wu, "fcvt.s.wu fa0, a1")
RMS(fcvt_s_l, "fcvt.s.l fa0, a1")
RMS(fcvt_s_lu, "fcvt.s.lu fa0, a1")
RMSI(fcvt_d_w, "0x69, fa0, a1, x0")
RMSI(fcvt_d_wu, "0x69, fa0, a1, x1")
RMS(fcvt_d_l, "fcvt.d.l fa0, a1")
RMS(fcvt_d_lu, "fcvt.d.lu fa0, a1")

OPF(fsgnj_s, "fsgnj.s fa0, fa1, fa2")
OPF(fsgnjn_s, "fsgnjn.s fa0, fa1, fa2")
OPF(fsgnjx_s, "fsgnjx.s fa0, fa1, fa2")
OPF(fmin_s, "fmin.s fa0, fa1, fa2")
OPF(fmax_s, "fmax.s fa0, fa1, fa2")
OPF(feq_s, "feq.s a0, fa1, fa2")
OPF(flt_s, "flt.s a0, fa1, fa2")
OPF(fle_s, "fle.s a0, fa1, fa2")
OPF(fclass_s, "fclass.s a0, fa1")
OPF(fmv_x_w, "fmv.x.w a0, fa1")
OPF(fmv_w_x, "fmv.w.x fa0, a1")
OPF(fsgnj_d, "fsgnj.d fa0, fa1, fa2")
OPF(fsgnjn_d, "fsgnjn.d fa0, fa1, fa2")
OPF(fsgnjx_d, "fsgnjx.d fa0, fa1, fa2")
OPF(fmin_d, "fmin.d fa0, fa1, fa2")
OPF(fmax_d, "fmax.d fa0, fa1, fa2")
OPF(feq_d, "feq.d a0, fa1, fa2")
OPF(flt_d, "flt.d a0, fa1, fa2")
OPF(fle_d, "fle.d a0, fa1, fa2")
OPF(fclass_d, "fclass.d a0, fa1")
OPF(fmv_x_d, "fmv.x.d a0, fa1")
OPF(fmv_d_x, "fmv.d.x fa0, a1")

/* ------------------------------------------------------------------------------------------------------------ */

static u64 rng = 0x9e3779b97f4a7c15ull;
static u64 rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static unsigned rndn(unsigned n) { return (unsigned)(rnd() % n); }

static u64 d2u(double d) {
  u64 u;
  memcpy(&u, &d, 8);
  return u;
}
static double u2d(u64 u) {
  double d;
  memcpy(&d, &u, 8);
  return d;
}
static u64 f2u(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return 0xffffffff00000000ull | u;
}
static float u2f(u64 u) {
  uint32_t w = (uint32_t)u;
  float f;
  memcpy(&f, &w, 4);
  return f;
}
#define BOX(w) (0xffffffff00000000ull | (uint32_t)(w))

/* Edge values. The first SMALL of each list also form the full cross products. */
static const u64 edge_d[] = {
    0x0000000000000000ull, 0x8000000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
    0x7ff8000000000000ull, 0x7ff4000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
    0x0000000000000001ull, 0x800fffffffffffffull, 0x0010000000000000ull, 0x7fefffffffffffffull,
    0xffefffffffffffffull, 0x3ff8000000000000ull, 0x4008000000000000ull, 0x3fb999999999999aull,
    0x3ff0000000000001ull, 0xbfffffffffffffffull, 0x3fd5555555555555ull, 0x7fe0000000000000ull,
    0x8010000000000000ull, 0x000fffffffffffffull, 0x0008000000000000ull, 0xfff8000000000001ull,
    0xfff0000000000001ull, 0x4340000000000001ull, 0x43e0000000000000ull, 0x3ca0000000000000ull,
    0x001fffffffffffffull, 0x7fdfffffffffffffull, 0x4000000000000000ull, 0xc004000000000000ull,
};
#define N_EDGE_D (sizeof edge_d / sizeof edge_d[0])

static const uint32_t edge_s[] = {
    0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7fa00000, 0x3f800000, 0xbf800000,
    0x00000001, 0x807fffff, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x3fc00000, 0x40400000, 0x3dcccccd,
    0x3f800001, 0xbfffffff, 0x3eaaaaab, 0x7f000000, 0x80800000, 0x007fffff, 0x00400000, 0xffc00001,
    0xff800001, 0x4b800001, 0x5f000000, 0x33800000, 0x00ffffff, 0x7effffff, 0x40000000, 0xc0200000,
};
#define N_EDGE_S (sizeof edge_s / sizeof edge_s[0])

static u64 edge_sv(unsigned i) { return BOX(edge_s[i]); }

/* Values around the integer conversion limits (binary64). */
static const double cvt_d[] = {
    0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.5, -3.5, 0.49999999999999994, -0.7, 0.7, 1.0, -1.0,
    2147483647.0, 2147483647.5, 2147483646.5, 2147483648.0, 2147483648.5, -2147483648.0, -2147483648.5,
    -2147483648.75, -2147483649.0, 4294967295.0, 4294967295.5, 4294967294.5, 4294967296.0, 4294967296.5,
    9223372036854775808.0, 9223372036854774784.0, -9223372036854775808.0, -9223372036854777856.0,
    18446744073709551616.0, 18446744073709549568.0, 9007199254740993.0, 4503599627370497.0,
    4503599627370495.5, -4503599627370495.5, 1e300, -1e300, 1e-300, -1e-300, 123456.789, -98765.4321,
};
#define N_CVT_D (sizeof cvt_d / sizeof cvt_d[0])

static const uint32_t cvt_s_extra[] = {
    0x4f000000, 0x4effffff, 0xcf000000, 0xcf000001, 0x4f800000, 0x4f7fffff, 0x5f000000, 0x5effffff,
    0xdf000000, 0xdf000001, 0x5f800000, 0x5f7fffff, 0x4b000001, 0x4affffff, 0xcb7fffff, 0x3f000000,
    0xbf000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7fa00000, 0xffc00000, 0x00000001, 0x80000001,
};
#define N_CVT_S_EXTRA (sizeof cvt_s_extra / sizeof cvt_s_extra[0])

static const u64 int_edge[] = {
    0, 1, 0xffffffffffffffffull, 0x80000000ull, 0xffffffff80000000ull, 0x7fffffffull, 0xffffffffull,
    0x8000000000000000ull, 0x7fffffffffffffffull, 0x20000000000001ull, 0x20000000000003ull,
    0xffdfffffffffffffull, 0x1000001ull, 0x1000003ull, 0x80000080ull, 0x80000081ull, 0x7fffffc0ull,
    0x7fffffbfull, 0xffffffff00000000ull, 0x7ffffffffffffe00ull, 0x7ffffffffffffdffull,
    0x7ffffffffffffe01ull, 0xfffffffffffffc00ull, 0xfffffffffffff800ull, 0x8000000000000400ull,
    0x8000000000000401ull, 0xffffff8000000000ull, 0xffffff7fffffffffull, 0x123456789abcdef0ull,
    0x00000000ffffff80ull, 0xffffffff7fffffc0ull, 0x0000000100000001ull,
};
#define N_INT_EDGE (sizeof int_edge / sizeof int_edge[0])

/* Pseudo-random operands that exercise rounding: mostly near 1, some near the extremes, often with trailing
 * zero bits (exact results and ties). */
static u64 rand_d(void) {
  u64 sign = (rnd() & 1) ? 0x8000000000000000ull : 0;
  unsigned cls = rndn(20);
  u64 e;
  if (cls < 12) e = 1023 - 6 + rndn(13);
  else if (cls < 14) e = 2046 - rndn(3);
  else if (cls < 16) e = rndn(4);
  else if (cls < 17) e = 0;
  else e = 1 + rndn(2046);
  u64 m = rnd() & 0xfffffffffffffull;
  unsigned z = rndn(4);
  if (z == 0) m &= ~((1ull << (rndn(52) + 1)) - 1);
  else if (z == 1) m |= (1ull << rndn(52)) - 1;
  return sign | (e << 52) | m;
}

static u64 rand_s(void) {
  uint32_t sign = (rnd() & 1) ? 0x80000000u : 0;
  unsigned cls = rndn(20);
  uint32_t e;
  if (cls < 12) e = 127 - 6 + rndn(13);
  else if (cls < 14) e = 254 - rndn(3);
  else if (cls < 16) e = rndn(4);
  else if (cls < 17) e = 0;
  else e = 1 + rndn(254);
  uint32_t m = (uint32_t)rnd() & 0x7fffff;
  unsigned z = rndn(4);
  if (z == 0) m &= ~((1u << (rndn(23) + 1)) - 1);
  else if (z == 1) m |= (1u << rndn(23)) - 1;
  return BOX(sign | (e << 23) | m);
}

static u64 rand_int(void) {
  u64 v = rnd();
  unsigned sh = rndn(64);
  switch (rndn(4)) {
  case 0: return v >> sh;
  case 1: return ~(v >> sh);
  case 2: return (v >> sh) << rndn(12);
  default: return v;
  }
}

/* ------------------------------------------------------------------------------------------------------------ */

enum { S, D, I }; /* operand domain */

static void run1(opfn f, u64 a, u64 b, u64 c, unsigned long m, int xres) {
  struct out o;
  f(a, b, c, m, &o);
  printf("%08x %016llx %016llx %016llx %lu %016llx %02lx\n", o.enc, (unsigned long long)a,
         (unsigned long long)b, (unsigned long long)c, m, (unsigned long long)(xres ? o.xr : o.fr), o.fl);
}

/* Run one tuple under every static rounding mode (with a mismatching frm) and under dyn with frm 0..4. */
static void run_rm(opfn *fs, u64 a, u64 b, u64 c, int xres, int dyn) {
  for (unsigned rm = 0; rm < 5; rm++) run1(fs[rm], a, b, c, (rm + 2) % 5, xres);
  if (dyn)
    for (unsigned m = 0; m < 5; m++) run1(fs[5], a, b, c, m, xres);
}

static u64 rand_dom(int dom) { return dom == S ? rand_s() : dom == D ? rand_d() : rand_int(); }
static u64 edge_dom(int dom, unsigned i) {
  return dom == S ? edge_sv(i % N_EDGE_S) : dom == D ? edge_d[i % N_EDGE_D] : int_edge[i % N_INT_EDGE];
}

#define FS(NAME) {NAME##_rne, NAME##_rtz, NAME##_rdn, NAME##_rup, NAME##_rmm, NAME##_dyn}

/* Binary arithmetic: a cross product of the first `ne` edge values, then random pairs (some close together,
 * some far apart, some with an exact-result structure). */
/* Exponent field for b so that a*b (kind 1) or a/b (kind 2) lands near the underflow or overflow threshold. */
static u64 limit_exp(u64 a, int dom, int kind) {
  int bias = dom == D ? 1023 : 127, emax = dom == D ? 2046 : 254, p = dom == D ? 53 : 24;
  int ea = dom == D ? (int)((a >> 52) & 0x7ff) : (int)((a >> 23) & 0xff);
  int r = rndn(2) ? 1 - (int)rndn(p + 3) : emax - 1 + (int)rndn(3);
  int eb = kind == 1 ? r - ea + bias : ea + bias - r;
  if (eb < 0) eb = 0;
  if (eb > emax) eb = emax;
  return (u64)eb;
}

static void binary(opfn *fs, int dom, unsigned ne, unsigned nr, int kind) {
  for (unsigned i = 0; i < ne; i++)
    for (unsigned j = 0; j < ne; j++) run_rm(fs, edge_dom(dom, i), edge_dom(dom, j), 0, 0, (i + j) % 7 == 0);
  for (unsigned k = 0; k < nr; k++) {
    u64 a = rand_dom(dom), b = rand_dom(dom);
    switch (rndn(kind ? 5 : 4)) {
    case 4: /* product or quotient near the underflow / overflow threshold */
      if (dom == D) b = (b & 0x800fffffffffffffull) | limit_exp(a, D, kind) << 52;
      else b = BOX((b & 0x807fffffull) | limit_exp(a, S, kind) << 23);
      break;
    case 0: /* close: cancellation, exact results */
      b = (b & 0x8000000000000000ull) | (a & 0x7fffffffffffffffull);
      b ^= rnd() & (dom == S ? 0xfffffull : 0xffffffffffull);
      if (dom == S) b = BOX(b);
      break;
    case 1: /* exponent gap around the precision */
      if (dom == D) b = (b & 0x800fffffffffffffull) | ((((a >> 52) & 0x7ff) - 50 - rndn(8)) & 0x7ff) << 52;
      else b = BOX((b & 0x807fffffull) | ((((a >> 23) & 0xff) - 21 - rndn(8)) & 0xff) << 23);
      break;
    default: break;
    }
    run_rm(fs, a, b, 0, 0, k % 8 == 0);
  }
}

static void unary(opfn *fs, int dom, int xres, const u64 *vals, unsigned nv, unsigned nr) {
  for (unsigned i = 0; i < nv; i++) run_rm(fs, vals[i], 0, 0, xres, i % 3 == 0);
  for (unsigned k = 0; k < nr; k++) run_rm(fs, rand_dom(dom), 0, 0, xres, k % 8 == 0);
}

static void fma_ops(opfn *fs, int dom, unsigned ne, unsigned nr) {
  for (unsigned i = 0; i < ne; i++)
    for (unsigned j = 0; j < ne; j++)
      for (unsigned k = 0; k < ne; k++) {
        u64 a = edge_dom(dom, i), b = edge_dom(dom, j), c = edge_dom(dom, k);
        run_rm(fs, a, b, c, 0, 0);
      }
  for (unsigned k = 0; k < nr; k++) {
    u64 a = rand_dom(dom), b = rand_dom(dom), c = rand_dom(dom);
    switch (rndn(6)) {
    case 0:
    case 1: /* c close to -(a*b): cancellation */
      if (dom == D) {
        c = d2u(-(u2d(a) * u2d(b))) ^ (rnd() & 0xffff);
      } else {
        c = f2u(-(u2f(a) * u2f(b)));
        c ^= rnd() & 0xff;
      }
      if (rndn(2)) c ^= 0x8000000000000000ull;
      if (dom == S) c = BOX(c);
      break;
    case 3: /* product near the underflow / overflow threshold, small addend */
      if (dom == D) {
        b = (b & 0x800fffffffffffffull) | limit_exp(a, D, 1) << 52;
        c = (c & 0x800fffffffffffffull) | (u64)rndn(60) << 52;
      } else {
        b = BOX((b & 0x807fffffull) | limit_exp(a, S, 1) << 23);
        c = BOX((c & 0x807fffffull) | (u64)rndn(30) << 23);
      }
      break;
    case 2: /* c around the last bit of the product */
      if (dom == D) {
        double p = u2d(a) * u2d(b);
        c = d2u(p * 0x1p-53) ^ (rnd() & 0xf000000000000ull);
      } else {
        float p = u2f(a) * u2f(b);
        c = f2u(p * 0x1p-24f) ^ (rnd() & 0x700000);
      }
      break;
    default: break;
    }
    run_rm(fs, a, b, c, 0, k % 8 == 0);
  }
}

/* Fused multiply-add on and around exact ties: b a power of two (or 3), c = ±half an ulp of the product,
 * optionally nudged by a tiny amount; some products scaled into the subnormal range. */
static void fma_ties(opfn *fs, int dom, unsigned n) {
  for (unsigned k = 0; k < n; k++) {
    u64 a = rand_dom(dom), b, c;
    if (dom == D) {
      double ad = u2d(a);
      int e = (int)((a >> 52) & 0x7ff);
      if (e == 0x7ff || e < 60 || e > 1900) ad = u2d((a & 0x800fffffffffffffull) | 0x3ff0000000000000ull);
      double bd = rndn(3) == 0 ? 3.0 : 1.0;
      unsigned sc = rndn(4);
      if (sc == 0) bd *= 0x1p-1040;
      double p = ad * bd; /* exact unless sc == 0 */
      int pe = (int)((d2u(p) >> 52) & 0x7ff);
      double ulp = pe ? u2d((u64)(pe > 52 ? pe - 52 : 1) << 52) : 0x1p-1074;
      if (pe <= 52) ulp = 0x1p-1074;
      double cd = (rnd() & 1 ? 0.5 : -0.5) * ulp;
      switch (rndn(4)) {
      case 0: cd *= 1.0 + 0x1p-30; break;
      case 1: cd *= 1.0 - 0x1p-30; break;
      case 2: cd *= 3.0; break;
      default: break;
      }
      a = d2u(ad);
      b = d2u(bd);
      c = d2u(cd);
    } else {
      float ad = u2f(a);
      int e = (int)((a >> 23) & 0xff);
      if (e == 0xff || e < 30 || e > 220) ad = u2f((a & 0x807fffffull) | 0x3f800000ull);
      float bd = rndn(3) == 0 ? 3.0f : 1.0f;
      if (rndn(4) == 0) bd *= 0x1p-120f;
      float pf = ad * bd;
      int pe = (int)((f2u(pf) >> 23) & 0xff);
      float ulp = pe > 23 ? u2f((u64)(pe - 23) << 23) : 0x1p-149f;
      float cf = (rnd() & 1 ? 0.5f : -0.5f) * ulp;
      if (rndn(3) == 0) cf *= 3.0f;
      a = f2u(ad);
      b = f2u(bd);
      c = f2u(cf);
    }
    run_rm(fs, a, b, c, 0, 0);
  }
}

/* Sign-injection, min/max, comparisons: full cross product of the edge values, no rounding mode. */
static void noround(opfn f, int dom, int xres, unsigned nr) {
  unsigned n = dom == S ? N_EDGE_S : N_EDGE_D;
  for (unsigned i = 0; i < n; i++)
    for (unsigned j = 0; j < n; j++) run1(f, edge_dom(dom, i), edge_dom(dom, j), 0, 0, xres);
  for (unsigned k = 0; k < nr; k++) {
    u64 a = rand_dom(dom), b = rndn(3) ? rand_dom(dom) : a ^ (rnd() & 1);
    if (dom == S && rndn(16) == 0) a &= 0x7fffffffffffffffull; /* not NaN-boxed */
    run1(f, a, b, 0, 0, xres);
  }
}

int main(int argc, char **argv) {
  /* Development only: `fp_ops SCALE SEED` multiplies the random vectors and reseeds (no arguments: the
   * deterministic reference output). */
  unsigned scale = 1;
  if (argc > 1) sscanf(argv[1], "%u", &scale);
  if (argc > 2) sscanf(argv[2], "%llx", (unsigned long long *)&rng);
  static opfn fadd_s[] = FS(fadd_s), fsub_s[] = FS(fsub_s), fmul_s[] = FS(fmul_s), fdiv_s[] = FS(fdiv_s);
  static opfn fadd_d[] = FS(fadd_d), fsub_d[] = FS(fsub_d), fmul_d[] = FS(fmul_d), fdiv_d[] = FS(fdiv_d);
  static opfn fsqrt_s[] = FS(fsqrt_s), fsqrt_d[] = FS(fsqrt_d);
  static opfn fmadd_s[] = FS(fmadd_s), fmsub_s[] = FS(fmsub_s), fnmsub_s[] = FS(fnmsub_s),
              fnmadd_s[] = FS(fnmadd_s);
  static opfn fmadd_d[] = FS(fmadd_d), fmsub_d[] = FS(fmsub_d), fnmsub_d[] = FS(fnmsub_d),
              fnmadd_d[] = FS(fnmadd_d);
  static opfn fcvt_s_d[] = FS(fcvt_s_d), fcvt_d_s[] = FS(fcvt_d_s);
  static opfn to_int_s[4][6] = {FS(fcvt_w_s), FS(fcvt_wu_s), FS(fcvt_l_s), FS(fcvt_lu_s)};
  static opfn to_int_d[4][6] = {FS(fcvt_w_d), FS(fcvt_wu_d), FS(fcvt_l_d), FS(fcvt_lu_d)};
  static opfn from_int_s[4][6] = {FS(fcvt_s_w), FS(fcvt_s_wu), FS(fcvt_s_l), FS(fcvt_s_lu)};
  static opfn from_int_d[4][6] = {FS(fcvt_d_w), FS(fcvt_d_wu), FS(fcvt_d_l), FS(fcvt_d_lu)};

  static u64 dvals[N_EDGE_D + N_CVT_D], svals[N_EDGE_S + N_CVT_D + N_CVT_S_EXTRA + 2];
  unsigned nd = 0, ns = 0;
  for (unsigned i = 0; i < N_EDGE_D; i++) dvals[nd++] = edge_d[i];
  for (unsigned i = 0; i < N_CVT_D; i++) dvals[nd++] = d2u(cvt_d[i]);
  for (unsigned i = 0; i < N_EDGE_S; i++) svals[ns++] = edge_sv(i);
  for (unsigned i = 0; i < N_CVT_D; i++) svals[ns++] = f2u((float)cvt_d[i]);
  for (unsigned i = 0; i < N_CVT_S_EXTRA; i++) svals[ns++] = BOX(cvt_s_extra[i]);
  svals[ns++] = 0x000000003f800000ull; /* not NaN-boxed: reads as the canonical NaN */
  svals[ns++] = 0xfffffffe3f800000ull;

  binary(fadd_s, S, 14, 700 * scale, 0);
  binary(fsub_s, S, 8, 300 * scale, 0);
  binary(fmul_s, S, 14, 700 * scale, 1);
  binary(fdiv_s, S, 14, 700 * scale, 2);
  binary(fadd_d, D, 14, 700 * scale, 0);
  binary(fsub_d, D, 8, 300 * scale, 0);
  binary(fmul_d, D, 14, 700 * scale, 1);
  binary(fdiv_d, D, 14, 700 * scale, 2);
  unary(fsqrt_s, S, 0, svals, ns, 300 * scale);
  unary(fsqrt_d, D, 0, dvals, nd, 300 * scale);
  fma_ops(fmadd_s, S, 7, 800 * scale);
  fma_ops(fmsub_s, S, 5, 200 * scale);
  fma_ops(fnmsub_s, S, 5, 200 * scale);
  fma_ops(fnmadd_s, S, 5, 200 * scale);
  fma_ops(fmadd_d, D, 7, 1200 * scale);
  fma_ties(fmadd_s, S, 200 * scale);
  fma_ties(fmadd_d, D, 300 * scale);
  fma_ops(fmsub_d, D, 5, 200 * scale);
  fma_ops(fnmsub_d, D, 5, 200 * scale);
  fma_ops(fnmadd_d, D, 5, 200 * scale);
  unary(fcvt_s_d, D, 0, dvals, nd, 400 * scale);
  unary(fcvt_d_s, S, 0, svals, ns, 50 * scale);
  for (unsigned k = 0; k < 4; k++) {
    unary(to_int_s[k], S, 1, svals, ns, 100 * scale);
    unary(to_int_d[k], D, 1, dvals, nd, 100 * scale);
    unary(from_int_s[k], I, 0, int_edge, N_INT_EDGE, 150 * scale);
    unary(from_int_d[k], I, 0, int_edge, N_INT_EDGE, 150 * scale);
  }
  noround(fsgnj_s, S, 0, 40 * scale);
  noround(fsgnjn_s, S, 0, 40 * scale);
  noround(fsgnjx_s, S, 0, 40 * scale);
  noround(fmin_s, S, 0, 100 * scale);
  noround(fmax_s, S, 0, 100 * scale);
  noround(feq_s, S, 1, 100 * scale);
  noround(flt_s, S, 1, 100 * scale);
  noround(fle_s, S, 1, 100 * scale);
  noround(fsgnj_d, D, 0, 40 * scale);
  noround(fsgnjn_d, D, 0, 40 * scale);
  noround(fsgnjx_d, D, 0, 40 * scale);
  noround(fmin_d, D, 0, 100 * scale);
  noround(fmax_d, D, 0, 100 * scale);
  noround(feq_d, D, 1, 100 * scale);
  noround(flt_d, D, 1, 100 * scale);
  noround(fle_d, D, 1, 100 * scale);
  for (unsigned i = 0; i < ns; i++) run1(fclass_s, svals[i], 0, 0, 0, 1);
  for (unsigned i = 0; i < nd; i++) run1(fclass_d, dvals[i], 0, 0, 0, 1);
  for (unsigned i = 0; i < ns; i++) run1(fmv_x_w, svals[i] ^ (i & 1 ? 0x0123456700000000ull : 0), 0, 0, 0, 1);
  for (unsigned i = 0; i < nd; i++) run1(fmv_x_d, dvals[i], 0, 0, 0, 1);
  for (unsigned i = 0; i < N_INT_EDGE; i++) run1(fmv_w_x, int_edge[i], 0, 0, 0, 0);
  for (unsigned i = 0; i < N_INT_EDGE; i++) run1(fmv_d_x, int_edge[i], 0, 0, 0, 0);
  return 0;
}
