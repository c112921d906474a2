/**
 * execFp beyond the qemu vectors: which encodings are illegal, dynamic rounding with a reserved frm, x0 as a
 * destination, accrual of fflags, and that no register contents or instruction word make it throw.
 */
import { describe, expect, it } from 'vitest';
import { execFp, type FpuHart } from '../../../src/machine/cpu/fpu.js';

function makeHart(): FpuHart {
  const buf = new ArrayBuffer(32 * 8);
  return { x: new Int32Array(66), f: new Float64Array(buf), fRaw: new Int32Array(buf), fflags: 0, frm: 0 };
}

/** R-type encoding (opcode OP-FP unless given). */
function r(funct7: number, rs2: number, rs1: number, rm: number, rd: number, opcode = 0x53): number {
  return (funct7 << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | opcode | 0;
}
/** R4-type encoding (FMADD family). */
function r4(opcode: number, rs3: number, fmt: number, rs2: number, rs1: number, rm: number, rd: number): number {
  return (rs3 << 27) | (fmt << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | opcode | 0;
}

const FADD_D = (rm: number): number => r(0x01, 2, 1, rm, 3);

describe('execFp decoding', () => {
  it('accepts the five rounding modes and dynamic rounding with a valid frm', () => {
    const h = makeHart();
    for (const rm of [0, 1, 2, 3, 4]) expect(execFp(h, FADD_D(rm))).toBe(true);
    for (const frm of [0, 1, 2, 3, 4]) {
      h.frm = frm;
      expect(execFp(h, FADD_D(7))).toBe(true);
    }
  });

  it('rejects reserved rounding modes and rm = 7 with frm >= 5, leaving state untouched', () => {
    const h = makeHart();
    h.f[3] = 42;
    h.f[1] = 0.1;
    h.f[2] = 0.2;
    expect(execFp(h, FADD_D(5))).toBe(false);
    expect(execFp(h, FADD_D(6))).toBe(false);
    for (const frm of [5, 6, 7]) {
      h.frm = frm;
      expect(execFp(h, FADD_D(7))).toBe(false);
      expect(execFp(h, r4(0x43, 4, 1, 2, 1, 7, 3))).toBe(false); // fmadd.d dyn
      expect(execFp(h, r(0x61, 0, 1, 7, 3))).toBe(false); // fcvt.w.d dyn
      expect(execFp(h, r(0x21, 0, 1, 7, 3))).toBe(false); // fcvt.d.s dyn
    }
    expect(h.f[3]).toBe(42);
    expect(h.fflags).toBe(0);
    // Instructions without a rounding mode do not look at frm.
    h.frm = 7;
    expect(execFp(h, r(0x11, 2, 1, 0, 3))).toBe(true); // fsgnj.d
  });

  it('rejects unknown functions and formats', () => {
    const h = makeHart();
    const illegal = [
      r(0x02, 2, 1, 0, 3), // fadd.h (Zfh not implemented)
      r(0x03, 2, 1, 0, 3), // fadd.q
      r(0x2d, 1, 1, 0, 3), // fsqrt.d with rs2 != 0
      r(0x11, 2, 1, 3, 3), // fsgnj.d funct3 3
      r(0x15, 2, 1, 2, 3), // fmin.d funct3 2
      r(0x51, 2, 1, 3, 3), // feq.d funct3 3
      r(0x20, 0, 1, 0, 3), // fcvt.s.s
      r(0x21, 1, 1, 0, 3), // fcvt.d.d
      r(0x20, 2, 1, 0, 3), // fcvt.s.h
      r(0x61, 4, 1, 0, 3), // fcvt.?.d with rs2 = 4
      r(0x69, 5, 1, 0, 3), // fcvt.d.? with rs2 = 5
      r(0x71, 0, 1, 2, 3), // fmv.x.d funct3 2
      r(0x71, 1, 1, 0, 3), // fmv.x.d rs2 != 0
      r(0x79, 0, 1, 1, 3), // fmv.d.x funct3 1
      r(0x0d, 2, 1, 0, 3), // funct5 0x03 fmt D is fdiv.d: legal; next ones are not
      r(0x19, 2, 1, 0, 3), // funct5 0x06
      r(0x7d, 0, 1, 0, 3), // funct5 0x1f
      r4(0x43, 4, 2, 2, 1, 0, 3), // fmadd.h
      r4(0x4f, 4, 3, 2, 1, 0, 3), // fnmadd.q
      r4(0x47, 4, 1, 2, 1, 5, 3), // fmsub.d rm 5
      r(0x01, 2, 1, 0, 3, 0x33), // not an FP opcode
      r(0x01, 2, 1, 0, 3, 0x57), // OP-V
    ];
    const legal = new Set([illegal[14]]);
    for (const insn of illegal) expect(execFp(h, insn), insn.toString(16)).toBe(legal.has(insn));
  });
});

describe('execFp register and flag conventions', () => {
  it('does not write x0', () => {
    const h = makeHart();
    h.f[1] = 1;
    h.f[2] = 1;
    expect(execFp(h, r(0x51, 2, 1, 2, 0))).toBe(true); // feq.d x0, f1, f2
    expect(execFp(h, r(0x61, 0, 1, 0, 0))).toBe(true); // fcvt.w.d x0, f1
    expect(execFp(h, r(0x71, 0, 1, 1, 0))).toBe(true); // fclass.d x0, f1
    expect(Array.from(h.x.subarray(0, 2))).toEqual([0, 0]);
  });

  it('accrues (ORs) flags into fflags', () => {
    const h = makeHart();
    h.fflags = 0x10;
    h.f[1] = 1;
    h.f[2] = 3;
    expect(execFp(h, r(0x0d, 2, 1, 0, 3))).toBe(true); // fdiv.d: inexact
    expect(h.fflags).toBe(0x11);
    h.f[2] = 0;
    expect(execFp(h, r(0x0d, 2, 1, 0, 3))).toBe(true); // 1/0: DZ
    expect(h.fflags).toBe(0x19);
  });

  it('reads a single operand that is not NaN-boxed as the canonical NaN and NaN-boxes single results', () => {
    const h = makeHart();
    h.fRaw[2] = 0x3f800000; // f1 = 1.0f but upper half not all ones
    h.fRaw[3] = 0;
    h.fRaw[4] = 0x3f800000; // f2 = 1.0f boxed
    h.fRaw[5] = -1;
    expect(execFp(h, r(0x00, 2, 1, 0, 3))).toBe(true); // fadd.s f3, f1, f2
    expect([h.fRaw[6], h.fRaw[7]]).toEqual([0x7fc00000, -1]);
    expect(h.fflags).toBe(0);
    expect(execFp(h, r(0x00, 2, 2, 0, 3))).toBe(true); // fadd.s f3, f2, f2 = 2.0f
    expect([h.fRaw[6], h.fRaw[7]]).toEqual([0x40000000, -1]);
    expect(execFp(h, r(0x70, 0, 1, 0, 5))).toBe(true); // fmv.x.w a0, f1 moves the raw low word
    expect([h.x[10], h.x[11]]).toEqual([0x3f800000, 0]);
  });

  it('converts 64-bit integers exactly without losing low bits (2^53 + 1, -2^63, 2^64 - 1)', () => {
    const h = makeHart();
    const cases: Array<[number, number, number, number, number]> = [
      // lo, hi, rs2 (2 = L, 3 = LU), rm, expected double
      [1, 0x200000, 2, 3, 9007199254740994], // 2^53 + 1, RUP
      [1, 0x200000, 2, 0, 9007199254740992], // 2^53 + 1, RNE (tie to even)
      [0, 0x80000000 | 0, 2, 0, -9223372036854775808],
      [-1, -1, 3, 1, 18446744073709549568], // UINT64_MAX, RTZ
      [-1, -1, 3, 0, 18446744073709551616], // UINT64_MAX, RNE
    ];
    for (const [lo, hi, rs2, rm, want] of cases) {
      h.x[2] = lo;
      h.x[3] = hi;
      expect(execFp(h, r(0x69, rs2, 1, rm, 3))).toBe(true);
      expect(h.f[3]).toBe(want);
    }
  });
});

describe('execFp robustness', () => {
  it('never throws, whatever the instruction word and register contents', () => {
    const h = makeHart();
    let seed = 0x12345678;
    const rnd = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed | 0;
    };
    const opcodes = [0x53, 0x43, 0x47, 0x4b, 0x4f];
    const specials = [0, -1, 0x7ff00000, 0x7ff80000, 0x7fc00000, 0x80000000 | 0, 0x00100000, 1, 0x7fefffff];
    let thrown = '';
    for (let i = 0; i < 200_000 && thrown === ''; i++) {
      if ((i & 255) === 0) {
        for (let k = 0; k < 64; k++) h.fRaw[k] = rnd() & 1 ? rnd() : specials[(rnd() >>> 0) % specials.length]!;
        for (let k = 2; k < 66; k++) h.x[k] = rnd();
        h.frm = (rnd() >>> 0) % 8;
      }
      const insn = (rnd() & ~0x7f) | opcodes[(rnd() >>> 0) % opcodes.length]!;
      try {
        execFp(h, insn);
      } catch (e) {
        thrown = `${(insn >>> 0).toString(16)}: ${String(e)}`;
      }
    }
    expect(thrown).toBe('');
    expect(h.fflags & ~0x1f).toBe(0);
  });
});
