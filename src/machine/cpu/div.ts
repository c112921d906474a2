/**
 * 64-bit and 32-bit division for the RISC-V "M" extension (DIV, DIVU, REM, REMU and the W
 * forms), without BigInt. Results follow the spec's table "Semantics for division by zero and
 * division overflow": x/0 = -1 (all ones), x%0 = x, INT_MIN/-1 = INT_MIN, INT_MIN%-1 = 0.
 *
 * Operands below 2^53 divide exactly in doubles (floor of the correctly rounded quotient is the
 * true quotient there); larger ones use binary long division on 32-bit halves.
 */

const TWO32 = 4294967296;

// Quotient and remainder of udiv64, in module variables (no allocation per instruction).
let qLo = 0, qHi = 0, rLo = 0, rHi = 0;

/** Unsigned (n1:n0) / (d1:d0), divisor non-zero. Halves are treated as uint32. */
function udiv64(n0: number, n1: number, d0: number, d1: number): void {
  n0 >>>= 0; n1 >>>= 0; d0 >>>= 0; d1 >>>= 0;
  if (n1 < 0x200000 && d1 < 0x200000) {
    const n = n1 * TWO32 + n0;
    const d = d1 * TWO32 + d0;
    const q = Math.floor(n / d);
    const r = n - q * d;
    qLo = q | 0; qHi = Math.floor(q / TWO32) | 0;
    rLo = r | 0; rHi = Math.floor(r / TWO32) | 0;
    return;
  }
  // Shift-subtract long division, one quotient bit per step.
  let q0 = 0, q1 = 0, r0 = 0, r1 = 0;
  for (let i = 63; i >= 0; i--) {
    // r = (r << 1) | bit i of n
    r1 = ((r1 << 1) | (r0 >>> 31)) >>> 0;
    const bit = i >= 32 ? (n1 >>> (i - 32)) & 1 : (n0 >>> i) & 1;
    r0 = ((r0 << 1) | bit) >>> 0;
    if (r1 > d1 || (r1 === d1 && r0 >= d0)) {
      const nr0 = (r0 - d0) >>> 0;
      r1 = (r1 - d1 - (r0 < d0 ? 1 : 0)) >>> 0;
      r0 = nr0;
      if (i >= 32) q1 |= 1 << (i - 32);
      else q0 |= 1 << i;
    }
  }
  qLo = q0 | 0; qHi = q1 | 0; rLo = r0 | 0; rHi = r1 | 0;
}

/** DIVU and REMU. */
export function divu64(x: Int32Array, rd: number, rs1: number, rs2: number, rem: boolean): void {
  const a0 = x[rs1]!, a1 = x[rs1 + 1]!, b0 = x[rs2]!, b1 = x[rs2 + 1]!;
  if (b0 === 0 && b1 === 0) {
    x[rd] = rem ? a0 : -1;
    x[rd + 1] = rem ? a1 : -1;
    return;
  }
  udiv64(a0, a1, b0, b1);
  x[rd] = rem ? rLo : qLo;
  x[rd + 1] = rem ? rHi : qHi;
}

/** DIV and REM (signed; quotient rounds toward zero, remainder has the dividend's sign). */
export function div64(x: Int32Array, rd: number, rs1: number, rs2: number, rem: boolean): void {
  let a0 = x[rs1]!, a1 = x[rs1 + 1]!, b0 = x[rs2]!, b1 = x[rs2 + 1]!;
  if (b0 === 0 && b1 === 0) {
    x[rd] = rem ? a0 : -1;
    x[rd + 1] = rem ? a1 : -1;
    return;
  }
  if (a1 === (0x80000000 | 0) && a0 === 0 && b0 === -1 && b1 === -1) {
    // INT64_MIN / -1 overflows: quotient INT64_MIN, remainder 0
    x[rd] = rem ? 0 : a0;
    x[rd + 1] = rem ? 0 : a1;
    return;
  }
  const negA = a1 < 0, negB = b1 < 0;
  if (negA) { a0 = -a0 | 0; a1 = (~a1 + (a0 === 0 ? 1 : 0)) | 0; }
  if (negB) { b0 = -b0 | 0; b1 = (~b1 + (b0 === 0 ? 1 : 0)) | 0; }
  udiv64(a0, a1, b0, b1);
  let lo: number, hi: number, neg: boolean;
  if (rem) { lo = rLo; hi = rHi; neg = negA; } else { lo = qLo; hi = qHi; neg = negA !== negB; }
  if (neg) { lo = -lo | 0; hi = (~hi + (lo === 0 ? 1 : 0)) | 0; }
  x[rd] = lo;
  x[rd + 1] = hi;
}

/** DIVW, DIVUW, REMW, REMUW: 32-bit operands, 32-bit result sign-extended. */
export function divw(x: Int32Array, rd: number, rs1: number, rs2: number, signed: boolean, rem: boolean): void {
  const a = x[rs1]!, b = x[rs2]!;
  let r: number;
  if (b === 0) r = rem ? a : -1;
  else if (signed) {
    if (a === (0x80000000 | 0) && b === -1) r = rem ? 0 : a;
    else r = rem ? a % b | 0 : (a / b) | 0;
  } else {
    const ua = a >>> 0, ub = b >>> 0;
    r = rem ? ua % ub | 0 : Math.floor(ua / ub) | 0;
  }
  x[rd] = r;
  x[rd + 1] = r >> 31;
}
