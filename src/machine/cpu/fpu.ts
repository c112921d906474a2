/**
 * The F and D extensions (RISC-V unprivileged spec, chapters "F" and "D", version 2.2 semantics): decode and
 * execute one OP-FP (0x53) or FMADD/FMSUB/FNMSUB/FNMADD (0x43/0x47/0x4b/0x4f) instruction on the hart's
 * registers. FP loads/stores and the fflags/frm/fcsr CSRs belong to the hart. Results match QEMU (which
 * implements these with its softfloat) bit for bit, exception flags included.
 *
 * Binary32 values live NaN-boxed in the 64-bit f registers: an operand whose upper 32 bits are not all ones
 * reads as the canonical NaN, results are written with the upper half all ones. Arithmetic NaN results are
 * the canonical NaN (0x7fc00000 / 0x7ff8000000000000); signaling NaN operands raise NV.
 */
import { ffma, fadd, fcvtFromI64, fcvtSD, fcvtToInt, cvtOut, fdiv, fmul, fsqrt } from './fpu-arith.js';
import { NV, fpState, fv, sF32, sI32 } from './fpu-round.js';

/**
 * The hart state the FPU touches (a structural subset of `Hart`, so this file does not depend on hart.ts).
 * x: 66 int32, register i as x[2i] (low) / x[2i+1] (high); f: f0..f31; fRaw: the same buffer as int32 pairs.
 */
export interface FpuHart {
  readonly x: Int32Array;
  readonly f: Float64Array;
  readonly fRaw: Int32Array;
  fflags: number;
  frm: number;
}

const CANON_S = 0x7fc00000;
const CANON_D_HI = 0x7ff80000;

/** The binary32 operand in f[r]: its 32 bits, or the canonical NaN when not NaN-boxed. */
function boxedBits(h: FpuHart, r: number): number {
  const raw = h.fRaw;
  return raw[2 * r + 1] === -1 ? raw[2 * r]! : CANON_S;
}

/** The number a binary32 bit pattern denotes (NaNs come out as some NaN: check sNaN on the bits). */
function f32Value(bits: number): number {
  sI32[0] = bits;
  return sF32[0]!;
}

function isSNaNS(bits: number): boolean {
  return (bits & 0x7fc00000) === 0x7f800000 && (bits & 0x003fffff) !== 0;
}

function isNaNS(bits: number): boolean {
  return (bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0;
}

function isSNaND(h: FpuHart, r: number): boolean {
  const hi = h.fRaw[2 * r + 1]!;
  return (hi & 0x7ff80000) === 0x7ff00000 && ((hi & 0x0007ffff) | h.fRaw[2 * r]!) !== 0;
}

function isNaND(h: FpuHart, r: number): boolean {
  const hi = h.fRaw[2 * r + 1]!;
  return (hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0x000fffff) | h.fRaw[2 * r]!) !== 0;
}

/** Write the binary32 result fv[3], NaN-boxed (NaN → canonical NaN). */
function writeS(h: FpuHart, rd: number): void {
  const raw = h.fRaw;
  const v = fv[3]!;
  if (v !== v) raw[2 * rd] = CANON_S;
  else {
    sF32[0] = v;
    raw[2 * rd] = sI32[0]!;
  }
  raw[2 * rd + 1] = -1;
}

function writeSBits(h: FpuHart, rd: number, bits: number): void {
  h.fRaw[2 * rd] = bits;
  h.fRaw[2 * rd + 1] = -1;
}

/** Write the binary64 result fv[3] (NaN → canonical NaN). */
function writeD(h: FpuHart, rd: number): void {
  const v = fv[3]!;
  if (v !== v) {
    h.fRaw[2 * rd] = 0;
    h.fRaw[2 * rd + 1] = CANON_D_HI;
  } else h.f[rd] = v;
}

function writeX(h: FpuHart, rd: number, lo: number, hi: number): void {
  if (rd !== 0) {
    h.x[2 * rd] = lo;
    h.x[2 * rd + 1] = hi;
  }
}

/** FCLASS bit for a sign, biased exponent (0 / max / other) and a mantissa-is-zero / quiet-bit description. */
function fclass(neg: boolean, expZero: boolean, expMax: boolean, mantZero: boolean, quiet: boolean): number {
  if (expMax) {
    if (mantZero) return neg ? 1 << 0 : 1 << 7;
    return quiet ? 1 << 9 : 1 << 8;
  }
  if (expZero) {
    if (mantZero) return neg ? 1 << 3 : 1 << 4;
    return neg ? 1 << 2 : 1 << 5;
  }
  return neg ? 1 << 1 : 1 << 6;
}

/**
 * Execute one F/D instruction. Returns false for an illegal encoding (unknown function, the H/Q formats,
 * reserved rounding modes 5/6, or rm = 7 with frm >= 5); the hart then raises an illegal-instruction trap.
 */
export function execFp(h: FpuHart, insn: number): boolean {
  const opcode = insn & 0x7f;
  const rd = (insn >>> 7) & 31;
  let rm = (insn >>> 12) & 7;
  const rs1 = (insn >>> 15) & 31;
  const rs2 = (insn >>> 20) & 31;
  const fmt = (insn >>> 25) & 3;
  if (fmt > 1) return false;
  const single = fmt === 0;
  fpState[0] = 0;

  if (opcode !== 0x53) {
    // FMADD 0x43, FMSUB 0x47, FNMSUB 0x4b, FNMADD 0x4f.
    if ((opcode & 0x73) !== 0x43) return false;
    if (rm === 7) rm = h.frm;
    if (rm > 4) return false;
    const rs3 = insn >>> 27;
    const negProd = opcode === 0x4b || opcode === 0x4f;
    const negAdd = opcode === 0x47 || opcode === 0x4f;
    if (single) {
      const b1 = boxedBits(h, rs1);
      const b2 = boxedBits(h, rs2);
      const b3 = boxedBits(h, rs3);
      if (isSNaNS(b1) || isSNaNS(b2) || isSNaNS(b3)) fpState[0] |= NV;
      const a = f32Value(b1);
      const c = f32Value(b3);
      fv[0] = negProd ? -a : a;
      fv[1] = f32Value(b2);
      fv[2] = negAdd ? -c : c;
      ffma(rm, true);
      writeS(h, rd);
    } else {
      const a = h.f[rs1]!;
      const b = h.f[rs2]!;
      const c = h.f[rs3]!;
      if ((a !== a || b !== b || c !== c) && (isSNaND(h, rs1) || isSNaND(h, rs2) || isSNaND(h, rs3))) {
        fpState[0] |= NV;
      }
      fv[0] = negProd ? -a : a;
      fv[1] = b;
      fv[2] = negAdd ? -c : c;
      ffma(rm, false);
      writeD(h, rd);
    }
    if (fpState[0] !== 0) h.fflags |= fpState[0]!;
    return true;
  }

  const funct5 = insn >>> 27;
  switch (funct5) {
    case 0x00: // FADD
    case 0x01: // FSUB
    case 0x02: // FMUL
    case 0x03: // FDIV
    case 0x0b: {
      // FSQRT
      if (funct5 === 0x0b && rs2 !== 0) return false;
      if (rm === 7) rm = h.frm;
      if (rm > 4) return false;
      if (single) {
        const b1 = boxedBits(h, rs1);
        const b2 = funct5 === 0x0b ? 0 : boxedBits(h, rs2);
        if (isSNaNS(b1) || isSNaNS(b2)) fpState[0] |= NV;
        fv[0] = f32Value(b1);
        fv[1] = funct5 === 0x01 ? -f32Value(b2) : f32Value(b2);
        arith(funct5, rm, true);
        writeS(h, rd);
      } else {
        fv[0] = h.f[rs1]!;
        fv[1] = funct5 === 0x01 ? -h.f[rs2]! : h.f[rs2]!;
        arith(funct5, rm, false);
        const v = fv[3]!;
        if (v !== v && (isSNaND(h, rs1) || (funct5 !== 0x0b && isSNaND(h, rs2)))) fpState[0] |= NV;
        writeD(h, rd);
      }
      break;
    }
    case 0x04: {
      // FSGNJ / FSGNJN / FSGNJX: bit operations, no canonicalisation (binary32 operands are unboxed first).
      if (rm > 2) return false;
      if (single) {
        const b1 = boxedBits(h, rs1);
        const b2 = boxedBits(h, rs2);
        const s = rm === 0 ? b2 : rm === 1 ? ~b2 : b1 ^ b2;
        writeSBits(h, rd, (b1 & 0x7fffffff) | (s & 0x80000000));
      } else {
        const raw = h.fRaw;
        const hi1 = raw[2 * rs1 + 1]!;
        const hi2 = raw[2 * rs2 + 1]!;
        const s = rm === 0 ? hi2 : rm === 1 ? ~hi2 : hi1 ^ hi2;
        raw[2 * rd] = raw[2 * rs1]!;
        raw[2 * rd + 1] = (hi1 & 0x7fffffff) | (s & 0x80000000);
      }
      return true;
    }
    case 0x05: {
      // FMIN / FMAX (2.2 semantics: -0 < +0, a single NaN operand yields the other one).
      if (rm > 1) return false;
      const max = rm === 1;
      if (single) {
        const b1 = boxedBits(h, rs1);
        const b2 = boxedBits(h, rs2);
        if (isSNaNS(b1) || isSNaNS(b2)) fpState[0] |= NV;
        const n1 = isNaNS(b1);
        const n2 = isNaNS(b2);
        let r: number;
        if (n1 && n2) r = CANON_S;
        else if (n1) r = b2;
        else if (n2) r = b1;
        else {
          const a = f32Value(b1);
          const b = f32Value(b2);
          if (a === b)
            r = b1 < 0 === max ? b2 : b1; // equal: only ±0 differ; pick by sign
          else r = a < b !== max ? b1 : b2;
        }
        writeSBits(h, rd, r);
      } else {
        if (isSNaND(h, rs1) || isSNaND(h, rs2)) fpState[0] |= NV;
        const n1 = isNaND(h, rs1);
        const n2 = isNaND(h, rs2);
        const raw = h.fRaw;
        let src: number;
        if (n1 && n2) src = -1;
        else if (n1) src = rs2;
        else if (n2) src = rs1;
        else {
          const a = h.f[rs1]!;
          const b = h.f[rs2]!;
          if (a === b) src = raw[2 * rs1 + 1]! < 0 === max ? rs2 : rs1;
          else src = a < b !== max ? rs1 : rs2;
        }
        if (src < 0) {
          raw[2 * rd] = 0;
          raw[2 * rd + 1] = CANON_D_HI;
        } else {
          const lo = raw[2 * src]!;
          const hi = raw[2 * src + 1]!;
          raw[2 * rd] = lo;
          raw[2 * rd + 1] = hi;
        }
      }
      break;
    }
    case 0x08: {
      // FCVT.S.D (fmt S, rs2 = 1) / FCVT.D.S (fmt D, rs2 = 0).
      if (rs2 !== (single ? 1 : 0)) return false;
      if (rm === 7) rm = h.frm;
      if (rm > 4) return false;
      if (single) {
        const a = h.f[rs1]!;
        if (a !== a) {
          if (isSNaND(h, rs1)) fpState[0] |= NV;
          writeSBits(h, rd, CANON_S);
        } else {
          fv[0] = a;
          fcvtSD(rm);
          writeS(h, rd);
        }
      } else {
        const b1 = boxedBits(h, rs1);
        if (isSNaNS(b1)) fpState[0] |= NV;
        fv[3] = f32Value(b1); // exact; NaN → canonical
        writeD(h, rd);
      }
      break;
    }
    case 0x14: {
      // FEQ (rm 2), FLT (1), FLE (0). FEQ is quiet (NV only on sNaN), FLT/FLE signal on any NaN.
      if (rm > 2) return false;
      let a: number;
      let b: number;
      let nan: boolean;
      let snan: boolean;
      if (single) {
        const b1 = boxedBits(h, rs1);
        const b2 = boxedBits(h, rs2);
        nan = isNaNS(b1) || isNaNS(b2);
        snan = isSNaNS(b1) || isSNaNS(b2);
        a = f32Value(b1);
        b = f32Value(b2);
      } else {
        a = h.f[rs1]!;
        b = h.f[rs2]!;
        nan = a !== a || b !== b;
        snan = nan && (isSNaND(h, rs1) || isSNaND(h, rs2));
      }
      let r = 0;
      if (nan) {
        if (snan || rm !== 2) fpState[0] |= NV;
      } else r = rm === 2 ? +(a === b) : rm === 1 ? +(a < b) : +(a <= b);
      writeX(h, rd, r, 0);
      break;
    }
    case 0x18: {
      // FCVT.W / WU / L / LU . S / D
      if (rs2 > 3) return false;
      if (rm === 7) rm = h.frm;
      if (rm > 4) return false;
      fv[0] = single ? f32Value(boxedBits(h, rs1)) : h.f[rs1]!;
      fcvtToInt(rm, rs2);
      writeX(h, rd, cvtOut[0]!, cvtOut[1]!);
      break;
    }
    case 0x1a: {
      // FCVT.S / D . W / WU / L / LU
      if (rs2 > 3) return false;
      if (rm === 7) rm = h.frm;
      if (rm > 4) return false;
      const lo = h.x[2 * rs1]!;
      if (rs2 < 2) {
        fv[0] = rs2 === 0 ? lo : lo >>> 0; // exact in binary64
        if (single) fcvtSD(rm);
        else fv[3] = fv[0]!;
      } else {
        fcvtFromI64(lo, h.x[2 * rs1 + 1]!, rs2 === 2, rm, single);
      }
      if (single) writeS(h, rd);
      else writeD(h, rd);
      break;
    }
    case 0x1c: {
      // FMV.X.W / FMV.X.D (rm 0), FCLASS (rm 1)
      if (rs2 !== 0 || rm > 1) return false;
      const raw = h.fRaw;
      if (rm === 0) {
        if (single) {
          const lo = raw[2 * rs1]!;
          writeX(h, rd, lo, lo >> 31); // the raw low word, sign-extended (a transfer: no NaN-box check)
        } else writeX(h, rd, raw[2 * rs1]!, raw[2 * rs1 + 1]!);
        return true;
      }
      let c: number;
      if (single) {
        const b = boxedBits(h, rs1);
        const e = (b >>> 23) & 0xff;
        c = fclass(b < 0, e === 0, e === 0xff, (b & 0x7fffff) === 0, (b & 0x400000) !== 0);
      } else {
        const hi = raw[2 * rs1 + 1]!;
        const e = (hi >>> 20) & 0x7ff;
        c = fclass(hi < 0, e === 0, e === 0x7ff, ((hi & 0xfffff) | raw[2 * rs1]!) === 0, (hi & 0x80000) !== 0);
      }
      writeX(h, rd, c, 0);
      return true;
    }
    case 0x1e: {
      // FMV.W.X / FMV.D.X
      if (rs2 !== 0 || rm !== 0) return false;
      const raw = h.fRaw;
      if (single) writeSBits(h, rd, h.x[2 * rs1]!);
      else {
        raw[2 * rd] = h.x[2 * rs1]!;
        raw[2 * rd + 1] = h.x[2 * rs1 + 1]!;
      }
      return true;
    }
    default:
      return false;
  }
  if (fpState[0] !== 0) h.fflags |= fpState[0]!;
  return true;
}

/** FADD/FSUB (operand already negated)/FMUL/FDIV/FSQRT on fv[0], fv[1] into fv[3]. */
function arith(funct5: number, rm: number, single: boolean): void {
  if (funct5 <= 0x01) fadd(rm, single);
  else if (funct5 === 0x02) fmul(rm, single);
  else if (funct5 === 0x03) fdiv(rm, single);
  else fsqrt(rm, single);
}
