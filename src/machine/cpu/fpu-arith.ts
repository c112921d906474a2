/**
 * IEEE 754 arithmetic for the F and D extensions on plain numbers: add, multiply, divide, square root,
 * fused multiply-add and the conversions. Operands are read from fv[0..2] and the result is written to fv[3]
 * (see fpu-round.ts: no heap numbers per instruction). Binary32 operands are the (exact) doubles they denote
 * and results are doubles exactly representable in the target format. NaN operands are returned as
 * NaN without flags (the caller checks signaling NaNs on the raw bits); invalid operations set NV here.
 * Exception flags accrue into fpState[0].
 *
 * Method: JavaScript computes in binary64 round-to-nearest-even; the exact error of that result comes from
 * error-free transforms (TwoSum, Dekker's TwoProduct, the remainder of a quotient or square root), and
 * fpu-round.ts turns "RN53 result + sign of the error" into the correctly rounded result in any mode.
 */
import {
  DZ,
  MIN_NORMAL_D,
  NV,
  NX,
  RDN,
  RNE,
  decomp,
  fpState,
  fv,
  isHalfUlp,
  pow2,
  roundS,
  roundSlow,
  twoProdErr,
} from './fpu-round.js';

const TINY_MUL = 2 ** -966; // products above this have a representable TwoProduct error
const BIG_MUL = 2 ** 1000;
const BIG_SPLIT = 2 ** 995; // Veltkamp's split of a smaller number does not overflow
// FMA operands in these ranges need no scaling: no TwoProduct underflow, no overflow anywhere.
const SAFE_LO = 2 ** -300;
const SAFE_HI = 2 ** 300;
const SAFE_C = 2 ** 900;
const TINY_C = 2 ** -300; // stands for an addend far below the product's last bit (a sticky bit)

/** Sign bit of x as a boolean (true for -0). */
function sgn(x: number): boolean {
  return x < 0 || (x === 0 && 1 / x < 0);
}

/** The exact zero sum of x and y when both are zeros or cancel exactly (IEEE 754 §6.3). */
function zeroSum(sx: boolean, sy: boolean, rm: number): number {
  if (sx === sy) return sx ? -0 : 0;
  return rm === RDN ? -0 : 0;
}

/** fv[3] = fv[0] + fv[1] (fsub negates fv[1]). SoftFloat: f64_add / f32_add. */
export function fadd(rm: number, single: boolean): void {
  const a = fv[0]!;
  const b = fv[1]!;
  const s = a + b;
  if (s - s !== 0) {
    if (s !== s) {
      if (a === a && b === b) fpState[0] |= NV; // inf - inf
      fv[3] = s;
      return;
    }
    if (a - a !== 0 || b - b !== 0) {
      fv[3] = s; // an infinite operand: exact
      return;
    }
    // Overflow of finite operands (binary64 only): both are >= 2^970 here, so halving them is exact.
    const x = a * 0.5;
    const y = b * 0.5;
    const s2 = x + y;
    const bb = s2 - x;
    const err = x - (s2 - bb) + (y - bb);
    fv[3] = roundSlow(s2, err > 0 ? 1 : err < 0 ? -1 : 0, rm === 4 && isHalfUlp(s2, err), 1, rm, single);
    return;
  }
  const bb = s - a;
  const err = a - (s - bb) + (b - bb);
  if (err === 0) {
    if (s === 0) {
      fv[3] = a === 0 && b === 0 ? zeroSum(sgn(a), sgn(b), rm) : rm === RDN ? -0 : 0;
      return;
    }
    if (!single) {
      fv[3] = s; // exact (subnormal sums are exact too)
      return;
    }
    fv[3] = s;
    roundS(0, rm);
    return;
  }
  const t = err > 0 ? 1 : -1;
  if (single) {
    fv[3] = s;
    roundS(t, rm);
    return;
  }
  if (rm === RNE && (s >= MIN_NORMAL_D || s <= -MIN_NORMAL_D)) {
    fpState[0] |= NX;
    fv[3] = s;
    return;
  }
  fv[3] = roundSlow(s, t, rm === 4 && isHalfUlp(s, err), 0, rm, false);
}

/** fv[3] = fv[0] * fv[1]. SoftFloat: f64_mul / f32_mul. */
export function fmul(rm: number, single: boolean): void {
  const a = fv[0]!;
  const b = fv[1]!;
  const p = a * b;
  if (p - p !== 0 || p === 0) {
    if (p !== p) {
      if (a === a && b === b) fpState[0] |= NV; // 0 * inf
      fv[3] = p;
      return;
    }
    if (a === 0 || b === 0 || a - a !== 0 || b - b !== 0) {
      fv[3] = p; // exact zero or infinity
      return;
    }
    fmulSlow(a, b, rm, single); // binary64 overflow or underflow
    return;
  }
  if (single) {
    fv[3] = p; // a product of two 24-bit significands is exact in binary64
    roundS(0, rm);
    return;
  }
  const ap = p < 0 ? -p : p;
  if (ap < TINY_MUL || ap > BIG_MUL || a > BIG_SPLIT || a < -BIG_SPLIT || b > BIG_SPLIT || b < -BIG_SPLIT) {
    fmulSlow(a, b, rm, false);
    return;
  }
  const err = twoProdErr(a, b, p);
  if (err === 0) {
    fv[3] = p;
    return;
  }
  if (rm === RNE) {
    fpState[0] |= NX;
    fv[3] = p;
    return;
  }
  fv[3] = roundSlow(p, err > 0 ? 1 : -1, rm === 4 && isHalfUlp(p, err), 0, rm, false);
}

/** The product of finite non-zero operands with their exponents split off, so nothing over/underflows. */
function fmulSlow(a: number, b: number, rm: number, single: boolean): void {
  const ma = decomp(a);
  const ea = fpState[1]!;
  const mb = decomp(b);
  const eb = fpState[1]!;
  let p = ma * mb;
  let err = twoProdErr(ma, mb, p);
  if (sgn(a) !== sgn(b)) {
    p = -p;
    err = -err;
  }
  fv[3] = roundSlow(p, err > 0 ? 1 : err < 0 ? -1 : 0, rm === 4 && isHalfUlp(p, err), ea + eb, rm, single);
}

/** fv[3] = fv[0] / fv[1]. SoftFloat: f64_div / f32_div. */
export function fdiv(rm: number, single: boolean): void {
  const a = fv[0]!;
  const b = fv[1]!;
  if (a === 0 || b === 0 || a - a !== 0 || b - b !== 0) {
    const v = a / b;
    if (v !== v) {
      if (a === a && b === b) fpState[0] |= NV; // 0/0, inf/inf
    } else if (b === 0 && a !== 0 && a - a === 0) {
      fpState[0] |= DZ;
    }
    fv[3] = v;
    return;
  }
  const ma = decomp(a);
  const ea = fpState[1]!;
  const mb = decomp(b);
  const E = ea - fpState[1]!;
  let q = ma / mb; // in (1/2, 2)
  // The sign of the remainder ma - q*mb is the sign of the quotient's error (q*mb is exact as p + pe).
  const p = q * mb;
  const pe = twoProdErr(q, mb, p);
  const r = ma - p - pe;
  let t = r > 0 ? 1 : r < 0 ? -1 : 0;
  if (sgn(a) !== sgn(b)) {
    q = -q;
    t = -t;
  }
  // A quotient is never exactly halfway between two 53-bit numbers, so no tie.
  if (single) {
    fv[3] = q * pow2(E);
    roundS(t, rm);
    return;
  }
  if (rm === RNE && E > -1021 && E < 1023) {
    if (t !== 0) fpState[0] |= NX;
    fv[3] = q * pow2(E);
    return;
  }
  fv[3] = roundSlow(q, t, false, E, rm, false);
}

/** fv[3] = sqrt(fv[0]). SoftFloat: f64_sqrt / f32_sqrt. */
export function fsqrt(rm: number, single: boolean): void {
  const a = fv[0]!;
  if (a === 0 || a !== a || a === Infinity) {
    fv[3] = a;
    return;
  }
  if (a < 0) {
    fpState[0] |= NV;
    fv[3] = NaN;
    return;
  }
  let m = decomp(a);
  let e = fpState[1]!;
  if (e & 1) {
    m *= 2;
    e -= 1;
  }
  const s = Math.sqrt(m); // m in [1, 4), s in [1, 2)
  const p = s * s;
  const pe = twoProdErr(s, s, p);
  const r = m - p - pe;
  const t = r > 0 ? 1 : r < 0 ? -1 : 0;
  const E = e / 2;
  if (single) {
    fv[3] = s * pow2(E);
    roundS(t, rm);
    return;
  }
  if (rm === RNE) {
    if (t !== 0) fpState[0] |= NX;
    fv[3] = s * pow2(E); // always a normal number
    return;
  }
  fv[3] = roundSlow(s, t, false, E, rm, false);
}

/**
 * fv[3] = fv[0] * fv[1] + fv[2] with a single rounding. The caller negates operands for FMSUB/FNMSUB/FNMADD,
 * as RISC-V defines them. SoftFloat: softfloat_mulAddF64 / softfloat_mulAddF32.
 */
export function ffma(rm: number, single: boolean): void {
  const a = fv[0]!;
  const b = fv[1]!;
  const c = fv[2]!;
  if (a !== a || b !== b || c !== c) {
    // RISC-V: inf * 0 + qNaN still raises invalid.
    if ((a === 0 && (b === Infinity || b === -Infinity)) || (b === 0 && (a === Infinity || a === -Infinity))) {
      fpState[0] |= NV;
    }
    fv[3] = NaN;
    return;
  }
  const prodZero = a === 0 || b === 0;
  const prodInf = a - a !== 0 || b - b !== 0;
  if (prodZero || prodInf || c === 0 || c - c !== 0) {
    if (prodInf) {
      if (prodZero) {
        fpState[0] |= NV;
        fv[3] = NaN;
        return;
      }
      const pinf = sgn(a) !== sgn(b) ? -Infinity : Infinity;
      if (c - c !== 0 && c !== pinf) {
        fpState[0] |= NV; // inf - inf
        fv[3] = NaN;
        return;
      }
      fv[3] = pinf;
      return;
    }
    if (c - c !== 0) {
      fv[3] = c;
      return;
    }
    if (prodZero) {
      fv[3] = c === 0 ? zeroSum(sgn(a) !== sgn(b), sgn(c), rm) : c;
      return;
    }
    fmul(rm, single); // c is a zero, the product is not: the sum is the product
    return;
  }
  if (single) {
    const p = a * b; // exact
    const s = p + c;
    const bb = s - p;
    const err = p - (s - bb) + (c - bb);
    if (s === 0) {
      fv[3] = rm === RDN ? -0 : 0;
      return;
    }
    fv[3] = s;
    roundS(err > 0 ? 1 : err < 0 ? -1 : 0, rm);
    return;
  }
  ffmaD(rm);
}

/** Binary64 fused multiply-add of finite non-zero operands fv[0..2]. */
function ffmaD(rm: number): void {
  const a = fv[0]!;
  const b = fv[1]!;
  const c = fv[2]!;
  const aa = a < 0 ? -a : a;
  const ab = b < 0 ? -b : b;
  const ac = c < 0 ? -c : c;
  let x = a;
  let y = b;
  let z = c;
  let E = 0;
  if (!(aa >= SAFE_LO && aa <= SAFE_HI && ab >= SAFE_LO && ab <= SAFE_HI && ac <= SAFE_C)) {
    // Scale the product to [1, 4) and the addend with it; an addend or product that is far smaller than the
    // other's last bit only contributes its sign (a sticky bit).
    const ma = decomp(a);
    const ea = fpState[1]!;
    const mb = decomp(b);
    const ep = ea + fpState[1]!;
    const mc = decomp(c);
    const ec = fpState[1]!;
    const negP = sgn(a) !== sgn(b);
    if (ec - ep > 110) {
      fv[3] = roundSlow(c, negP ? -1 : 1, false, 0, rm, false);
      return;
    }
    x = negP ? -ma : ma;
    y = mb;
    if (ep - ec > 110) z = c < 0 ? -TINY_C : TINY_C;
    else z = (c < 0 ? -mc : mc) * pow2(ec - ep);
    E = ep;
  }
  // X = z + x*y exactly as h + r1 + r2 (three doubles), then renormalise until h = RN(h + r1).
  const p = x * y;
  const pe = twoProdErr(x, y, p);
  let h = z + p;
  let bb = h - z;
  const tl = z - (h - bb) + (p - bb);
  let r1 = tl + pe;
  bb = r1 - tl;
  let r2 = tl - (r1 - bb) + (pe - bb);
  for (let i = 0; i < 8; i++) {
    const s = h + r1;
    bb = s - h;
    const e1 = h - (s - bb) + (r1 - bb);
    h = s;
    const s2 = e1 + r2;
    bb = s2 - e1;
    r2 = e1 - (s2 - bb) + (r2 - bb);
    r1 = s2;
    if (h + r1 === h) break;
  }
  if (h === 0) {
    fv[3] = rm === RDN ? -0 : 0; // exact cancellation
    return;
  }
  // Now |r1| <= half an ulp of h, r1 = RN(r1 + r2). Find t = sign(X - RN53(X)) and whether X is a tie.
  let t = 0;
  let tie = false;
  if (r1 !== 0) {
    t = r1 > 0 ? 1 : -1;
    const r1x2 = r1 * 2;
    if (h + r1x2 - h === r1x2) {
      // r1 is exactly half an ulp: h was chosen as the even neighbour; r2 decides.
      if (r2 === 0) tie = true;
      else if (r2 > 0 === r1 > 0) {
        h += r1x2;
        t = -t;
      }
    }
  }
  if (E === 0 && rm === RNE && (h >= MIN_NORMAL_D || h <= -MIN_NORMAL_D)) {
    if (t !== 0) fpState[0] |= NX;
    fv[3] = h;
    return;
  }
  fv[3] = roundSlow(h, t, tie, E, rm, false);
}

/** Round the binary64 value fv[0] to binary32 (FCVT.S.D). SoftFloat: f64_to_f32. */
export function fcvtSD(rm: number): void {
  const a = fv[0]!;
  if (a === 0 || a - a !== 0) {
    fv[3] = a;
    return;
  }
  fv[3] = a;
  roundS(0, rm);
}

/**
 * Convert a signed (signed = true) or unsigned 64-bit integer given as lo/hi int32 halves to binary64 or binary32.
 * hi * 2^32 is exact, so one TwoSum gives RN53 of the integer and the sign of its error: no BigInt.
 * SoftFloat: i64_to_f64, ui64_to_f64, i64_to_f32, ui64_to_f32.
 */
export function fcvtFromI64(lo: number, hi: number, signed: boolean, rm: number, single: boolean): void {
  const x = (signed ? hi : hi >>> 0) * 4294967296;
  const y = lo >>> 0;
  const s = x + y;
  const bb = s - x;
  const err = x - (s - bb) + (y - bb);
  if (s === 0) {
    fv[3] = 0;
    return;
  }
  if (single) {
    fv[3] = s;
    roundS(err > 0 ? 1 : err < 0 ? -1 : 0, rm);
    return;
  }
  if (err === 0) {
    fv[3] = s;
    return;
  }
  if (rm === RNE) {
    fpState[0] |= NX;
    fv[3] = s;
    return;
  }
  fv[3] = roundSlow(s, err > 0 ? 1 : -1, rm === 4 && isHalfUlp(s, err), 0, rm, false);
}

/** Result of fcvtToInt: lo/hi halves of the 64-bit integer register value. */
export const cvtOut = new Int32Array(2);

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;
const TWO32 = 4294967296;
const TWO63 = 9223372036854775808;
const TWO64 = 18446744073709551616;

/**
 * FCVT.{W,WU,L,LU}.{S,D}: round fv[0] to an integer in mode rm and saturate as the RISC-V table says
 * (NaN and +overflow → largest, -overflow → smallest; NV instead of NX when out of range). kind: 0 W, 1 WU, 2 L,
 * 3 LU. The 32-bit results are sign-extended to 64 bits (also WU). SoftFloat: f64_to_i32 … f64_to_ui64.
 */
export function fcvtToInt(rm: number, kind: number): void {
  const a = fv[0]!;
  let r: number;
  let inx = false;
  if (a !== a) {
    r = NaN;
  } else if (a >= 4503599627370496 || a <= -4503599627370496) {
    r = a; // already an integer (or infinite)
  } else {
    const tr = Math.trunc(a);
    const fr = a - tr; // exact
    r = tr;
    if (fr !== 0) {
      inx = true;
      switch (rm) {
        case RNE:
          if (fr > 0.5 || (fr === 0.5 && tr % 2 !== 0)) r = tr + 1;
          else if (fr < -0.5 || (fr === -0.5 && tr % 2 !== 0)) r = tr - 1;
          break;
        case 4: // RMM
          if (fr >= 0.5) r = tr + 1;
          else if (fr <= -0.5) r = tr - 1;
          break;
        case RDN:
          if (fr < 0) r = tr - 1;
          break;
        case 3: // RUP
          if (fr > 0) r = tr + 1;
          break;
        default: // RTZ
          break;
      }
    }
  }
  let lo: number;
  let hi: number;
  switch (kind) {
    case 0: // W
      if (r >= I32_MIN && r <= I32_MAX) lo = r | 0;
      else {
        lo = r < 0 ? I32_MIN : I32_MAX;
        inx = false;
        fpState[0] |= NV;
      }
      hi = lo >> 31;
      break;
    case 1: // WU
      if (r >= 0 && r < TWO32)
        lo = r | 0; // -0 (a negative value rounded to zero) is in range
      else {
        lo = r < 0 ? 0 : -1;
        inx = false;
        fpState[0] |= NV;
      }
      hi = lo >> 31;
      break;
    case 2: // L
      if (r >= -TWO63 && r < TWO63) {
        hi = Math.floor(r / TWO32);
        lo = (r - hi * TWO32) | 0;
        hi |= 0;
      } else {
        inx = false;
        fpState[0] |= NV;
        if (r < 0) {
          lo = 0;
          hi = I32_MIN;
        } else {
          lo = -1;
          hi = I32_MAX;
        }
      }
      break;
    default: // LU
      if (r >= 0 && r < TWO64) {
        hi = Math.floor(r / TWO32);
        lo = (r - hi * TWO32) | 0;
        hi |= 0;
      } else {
        inx = false;
        fpState[0] |= NV;
        lo = r < 0 ? 0 : -1;
        hi = lo;
      }
  }
  if (inx) fpState[0] |= NX;
  cvtOut[0] = lo;
  cvtOut[1] = hi;
}
