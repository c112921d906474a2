/**
 * Rounding core of the FPU: IEEE 754 rounding of an exactly-known real number to binary32 or binary64 in any
 * RISC-V rounding mode, with the exception flags RISC-V defines (underflow detected after rounding).
 *
 * JavaScript only computes in binary64 with round-to-nearest-even. Every operation in fpu-arith.ts therefore
 * describes its exact result X by three facts that error-free transforms can give cheaply:
 *   h   = RN53(X), X rounded to 53 bits with an unbounded exponent range (a normal double, possibly scaled),
 *   t   = sign(X - h) (-1, 0, +1),
 *   tie = X lies exactly halfway between two 53-bit neighbours (only needed when the target is 53 bits wide).
 * plus a power-of-two scale E (the real result is X * 2^E) so over/underflowing intermediate results stay exact.
 * That is enough to round X correctly to any precision <= 53 (the proof is in the comment on roundMant), which is
 * what Berkeley SoftFloat's softfloat_roundPackToF32/F64 (and QEMU's parts_uncanon) do from a sticky bit.
 */

export const RNE = 0;
export const RTZ = 1;
export const RDN = 2;
export const RUP = 3;
export const RMM = 4;

export const NV = 16;
export const DZ = 8;
export const OF = 4;
export const UF = 2;
export const NX = 1;

/**
 * Shared scratch state, a typed array so the hot path never allocates:
 * [0] accrued exception flags of the current instruction, [1] exponent returned by decomp().
 */
export const fpState = new Int32Array(2);

/**
 * Operand and result registers of the arithmetic functions: [0..2] the operands a, b, c, [3] the result.
 * Passing doubles through a typed array instead of arguments and return values keeps V8 from boxing them
 * into heap numbers when a call is not inlined (no allocation per instruction).
 */
export const fv = new Float64Array(4);

/** 8 bytes of scratch used to move between numbers and their bit patterns. */
const scratch = new ArrayBuffer(8);
export const sF64 = new Float64Array(scratch);
export const sF32 = new Float32Array(scratch);
export const sI32 = new Int32Array(scratch);

const POW2_BIAS = 1200;
/** POW2[k + POW2_BIAS] = 2^k (0 below 2^-1074, Infinity from 2^1024). */
const POW2 = new Float64Array(2 * POW2_BIAS + 1);
for (let k = -POW2_BIAS; k <= POW2_BIAS; k++) POW2[k + POW2_BIAS] = Math.pow(2, k);

export function pow2(k: number): number {
  return POW2[k + POW2_BIAS]!;
}

export const TWO52 = 2 ** 52;
export const TWO53 = 2 ** 53;
export const TWO64 = 2 ** 64;
export const MIN_NORMAL_D = 2 ** -1022;
export const MIN_NORMAL_S = 2 ** -126;

/**
 * Split a finite non-zero double into |x| = m * 2^fpState[1] with m in [1, 2) (subnormals are normalised).
 * Like C's frexp, but with the mantissa in [1, 2).
 */
export function decomp(x: number): number {
  sF64[0] = x;
  let hi = sI32[1]!;
  let be = (hi >>> 20) & 0x7ff;
  let adj = 0;
  if (be === 0) {
    sF64[0] = x * TWO64;
    hi = sI32[1]!;
    be = (hi >>> 20) & 0x7ff;
    adj = 64;
  }
  fpState[1] = be - 1023 - adj;
  sI32[1] = (hi & 0x000fffff) | 0x3ff00000;
  return sF64[0]!;
}

/** The error of the double product p = fl(a*b): a*b - p exactly (Dekker's TwoProduct with Veltkamp's split).
 *  Valid when |a|, |b| < 2^995 and |p| >= 2^-969 (no overflow in the split, no underflow of the error). */
export function twoProdErr(a: number, b: number, p: number): number {
  let t = 134217729 * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = 134217729 * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

/** Is r (the exact error X - h with h = RN(X)) exactly half an ulp of h on r's side? (a 53-bit tie) */
export function isHalfUlp(h: number, r: number): boolean {
  if (r === 0) return false;
  const r2 = r * 2;
  return h + r2 - h === r2;
}

let inexact = false;

/**
 * Round the significand M (an integer in [2^52, 2^53], standing for X = (M + frac) * 2^e with |frac| <= 1/2 and
 * sign(frac) = tm, in magnitude) to a quantum of 2^d units and return the number of quanta; sets `inexact`.
 *
 * Why (h, t) suffices for d >= 1: the quantum grid is a subset of the 53-bit grid, so X and h = RN53(X) sit
 * between the same two grid points unless h is on the grid (then tm says on which side X is), and X is above
 * the midpoint exactly when h is (the midpoint is itself a 53-bit number, and if h is that midpoint, tm says
 * which side). For d = 0 the caller passes `tie` (X exactly between h and its neighbour).
 */
function roundMant(M: number, d: number, tm: number, tie: boolean, rm: number, neg: boolean): number {
  let fl: number;
  let cmp: number; // position of X above fl*q compared with half a quantum
  if (d === 0) {
    if (tm === 0) {
      inexact = false;
      return M;
    }
    if (tm > 0) {
      fl = M;
      cmp = tie ? 0 : -1;
    } else {
      fl = M - 1;
      cmp = tie ? 0 : 1;
    }
  } else if (d > 60) {
    fl = 0;
    cmp = -1;
  } else {
    const q = POW2[d + POW2_BIAS]!;
    const keep = Math.floor(M / q);
    const rem = M - keep * q;
    if (rem === 0) {
      if (tm === 0) {
        inexact = false;
        return keep;
      }
      if (tm > 0) {
        fl = keep;
        cmp = -1;
      } else {
        fl = keep - 1;
        cmp = 1;
      }
    } else {
      fl = keep;
      const half = q * 0.5;
      cmp = rem > half ? 1 : rem < half ? -1 : tm;
    }
  }
  inexact = true;
  let up: boolean;
  switch (rm) {
    case RNE:
      up = cmp > 0 || (cmp === 0 && fl % 2 === 1);
      break;
    case RMM:
      up = cmp >= 0;
      break;
    case RDN:
      up = neg;
      break;
    case RUP:
      up = !neg;
      break;
    default: // RTZ
      up = false;
  }
  return up ? fl + 1 : fl;
}

/**
 * Round X * 2^E to binary32 (single) or binary64, where h = RN53(X) (a finite non-zero double; if h is subnormal
 * X must lie far closer to h than h's last bit), t = sign(X - h), tie = X is a 53-bit midpoint.
 * Returns the rounded value as a double (exactly representable in the target format) and accrues
 * NX/UF/OF in fpState[0]. Mirrors SoftFloat's softfloat_roundPackToF32/F64 with tininess after rounding.
 */
export function roundSlow(h: number, t: number, tie: boolean, E: number, rm: number, single: boolean): number {
  sF64[0] = h;
  let hi = sI32[1]!;
  if ((hi & 0x7ff00000) === 0) {
    sF64[0] = h * TWO64;
    hi = sI32[1]!;
    E -= 64;
  }
  const lo = sI32[0]!;
  const neg = hi < 0;
  let M = ((hi & 0xfffff) | 0x100000) * 4294967296 + (lo >>> 0);
  let e = ((hi >>> 20) & 0x7ff) - 1075 + E;
  const tm = neg ? -t : t;
  if (tm < 0 && M === TWO52) {
    // X is just below a power of two: express h with the finer spacing of the binade below.
    M = TWO53;
    e -= 1;
  }
  const P = single ? 24 : 53;
  const eminLsb = single ? -149 : -1074;
  const eminNorm = single ? -126 : -1022;
  const emax = single ? 127 : 1023;
  const d = 53 - P;
  // Rounded with an unbounded exponent range: decides overflow and tininess.
  const n = roundMant(M, d, tm, tie, rm, neg);
  let inx = inexact;
  const k = emax + 1 - e - d;
  if (k <= 0 || (k <= P && n >= POW2[k + POW2_BIAS]!)) {
    fpState[0] |= OF | NX;
    let v: number;
    if (rm === RNE || rm === RMM || (rm === RUP && !neg) || (rm === RDN && neg)) v = Infinity;
    else v = single ? 3.4028234663852886e38 : 1.7976931348623157e308;
    return neg ? -v : v;
  }
  let v: number;
  if (e + d < eminLsb) {
    // Subnormal range: round again to the coarser quantum of the subnormal grid.
    const k2 = eminNorm - e - d;
    const tiny = k2 > P || (k2 > 0 && n < POW2[k2 + POW2_BIAS]!);
    const n2 = roundMant(M, eminLsb - e, tm, tie, rm, neg);
    inx = inexact;
    if (inx) fpState[0] |= tiny ? NX | UF : NX;
    v = n2 * POW2[eminLsb + POW2_BIAS]!;
  } else {
    if (inx) fpState[0] |= NX;
    v = n * POW2[e + d + POW2_BIAS]!;
  }
  return neg ? -v : v;
}

/**
 * Round h = fv[3] (= RN53(X), X unscaled) with residual sign t to binary32, result in fv[3]. The common case —
 * round to nearest even, a normal result, h not a binary32 midpoint — is Math.fround; the rest goes through
 * roundSlow.
 */
export function roundS(t: number, rm: number): void {
  const h = fv[3]!;
  if (rm === RNE) {
    const a = h < 0 ? -h : h;
    if (a >= MIN_NORMAL_S) {
      const f = Math.fround(h);
      if (f - f === 0) {
        if (t === 0) {
          if (f !== h) fpState[0] |= NX;
          fv[3] = f;
          return;
        }
        sF64[0] = h;
        // h on a binary32 midpoint (low 29 bits of the significand = 1000…0): the sign of t decides.
        if ((sI32[0]! & 0x1fffffff) !== 0x10000000) {
          fpState[0] |= NX;
          fv[3] = f;
          return;
        }
      }
    }
  }
  fv[3] = roundSlow(h, t, false, 0, rm, true);
}
