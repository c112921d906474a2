/**
 * 64-bit multiplication on int32 halves, without BigInt (DESIGN.md, "64-bit integers without
 * BigInt"). Registers live in Hart.x as lo/hi int32 pairs; these helpers read two source pairs
 * and write the destination pair, reading every input before writing (rd may equal rs1/rs2).
 *
 * Used for MUL, MULH, MULHSU, MULHU (RISC-V "M" extension). gcc turns division by a constant
 * into MULHU, so mulhu64 is on hot paths: it uses 16-bit partial products in doubles, which are
 * exact (each product < 2^32, sums < 2^53).
 */

const TWO32 = 4294967296;

/** High 32 bits of the unsigned 64-bit product of two uint32 values, as uint32. */
export function mulhu32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const lh = a0 * b1;
  const hl = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (a1 * b1 + Math.floor(lh / 65536) + Math.floor(hl / 65536) + (mid >>> 16)) >>> 0;
}

/** MUL: the low 64 bits of rs1 * rs2. */
export function mul64(x: Int32Array, rd: number, rs1: number, rs2: number): void {
  const a0 = x[rs1]!, a1 = x[rs1 + 1]!, b0 = x[rs2]!, b1 = x[rs2 + 1]!;
  // Both operands sign-extended 32-bit and the product small: one exact double multiply.
  if (a1 === a0 >> 31 && b1 === b0 >> 31) {
    const p = a0 * b0;
    if (p >= -9007199254740992 && p <= 9007199254740992) {
      x[rd] = p | 0;
      x[rd + 1] = Math.floor(p / TWO32) | 0;
      return;
    }
  }
  const lo = Math.imul(a0, b0);
  const hi = (mulhu32(a0 >>> 0, b0 >>> 0) + Math.imul(a0, b1) + Math.imul(a1, b0)) | 0;
  x[rd] = lo;
  x[rd + 1] = hi;
}

// Result of mulhu64u, kept in module variables so no object is allocated per instruction.
let resLo = 0;
let resHi = 0;

/** High 64 bits of the unsigned 128-bit product (a1:a0) * (b1:b0); result in resLo/resHi. */
function mulhu64u(a0: number, a1: number, b0: number, b1: number): void {
  a0 >>>= 0; a1 >>>= 0; b0 >>>= 0; b1 >>>= 0;
  // 128-bit product = p00 + (p01 + p10) << 32 + p11 << 64, each pXY a 64-bit partial product.
  const h00 = mulhu32(a0, b0);
  const l01 = Math.imul(a0, b1) >>> 0, h01 = mulhu32(a0, b1);
  const l10 = Math.imul(a1, b0) >>> 0, h10 = mulhu32(a1, b0);
  const l11 = Math.imul(a1, b1) >>> 0, h11 = mulhu32(a1, b1);
  const c1 = Math.floor((h00 + l01 + l10) / TWO32); // carry out of bits 32..63
  const s2 = l11 + h01 + h10 + c1; // bits 64..95 plus carry, < 2^34
  resLo = s2 | 0;
  resHi = (h11 + Math.floor(s2 / TWO32)) | 0;
}

/** MULHU: high 64 bits of unsigned rs1 * unsigned rs2. */
export function mulhu64(x: Int32Array, rd: number, rs1: number, rs2: number): void {
  const a0 = x[rs1]!, a1 = x[rs1 + 1]!, b0 = x[rs2]!, b1 = x[rs2 + 1]!;
  mulhu64u(a0, a1, b0, b1);
  x[rd] = resLo;
  x[rd + 1] = resHi;
}

/** Subtract (b1:b0) from (resHi:resLo) modulo 2^64. */
function subRes(b0: number, b1: number): void {
  const lo = (resLo - b0) | 0;
  const borrow = resLo >>> 0 < b0 >>> 0 ? 1 : 0;
  resHi = (resHi - b1 - borrow) | 0;
  resLo = lo;
}

/**
 * MULH: high 64 bits of signed * signed. Signed high part = unsigned high part
 * - (a < 0 ? b : 0) - (b < 0 ? a : 0), modulo 2^64.
 */
export function mulh64(x: Int32Array, rd: number, rs1: number, rs2: number): void {
  const a0 = x[rs1]!, a1 = x[rs1 + 1]!, b0 = x[rs2]!, b1 = x[rs2 + 1]!;
  mulhu64u(a0, a1, b0, b1);
  if (a1 < 0) subRes(b0, b1);
  if (b1 < 0) subRes(a0, a1);
  x[rd] = resLo;
  x[rd + 1] = resHi;
}

/** MULHSU: high 64 bits of signed rs1 * unsigned rs2. */
export function mulhsu64(x: Int32Array, rd: number, rs1: number, rs2: number): void {
  const a0 = x[rs1]!, a1 = x[rs1 + 1]!, b0 = x[rs2]!, b1 = x[rs2 + 1]!;
  mulhu64u(a0, a1, b0, b1);
  if (a1 < 0) subRes(b0, b1);
  x[rd] = resLo;
  x[rd + 1] = resHi;
}
