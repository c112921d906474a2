/**
 * RV64I/M register-register and register-immediate arithmetic against a BigInt reference
 * model (the spec's definitions), on edge values: zero, ±1, INT32/INT64 limits, values around
 * 2^32 and 2^53, shifts by 0/31/32/63, division by zero and INT_MIN / -1.
 */
import { describe, expect, it } from 'vitest';
import { TestMachine, RXU } from './machine.js';
import * as A from './asm.js';
import { Trap } from '../../../src/machine/cpu/trap.js';

const M64 = (1n << 64n) - 1n;
const u64 = (v: bigint) => v & M64;
const s64 = (v: bigint) => BigInt.asIntN(64, v);
const s32 = (v: bigint) => BigInt.asIntN(32, v);
const u32 = (v: bigint) => BigInt.asUintN(32, v);
const sext32 = (v: bigint) => u64(s32(v));
const INT64_MIN = -(1n << 63n);
const INT32_MIN = -(1n << 31n);

const EDGES: bigint[] = [
  0n, 1n, -1n, 2n, 3n, -7n, 0x7fffffffn, 0x80000000n, -0x80000000n, 0xffffffffn, 0x100000000n,
  0x123456789abcdef0n, INT64_MIN, (1n << 63n) - 1n, 1n << 53n, (1n << 53n) + 1n, -(1n << 53n) - 3n,
  0xdeadbeefcafebaben, 63n, 64n, 31n, 32n, 10n, -10n,
];

type Ref = (a: bigint, b: bigint) => bigint;
const div = (a: bigint, b: bigint) => (b === 0n ? -1n : a === INT64_MIN && b === -1n ? INT64_MIN : a / b);
const rem = (a: bigint, b: bigint) => (b === 0n ? a : a === INT64_MIN && b === -1n ? 0n : a % b);
const divw = (a: bigint, b: bigint) => (b === 0n ? -1n : a === INT32_MIN && b === -1n ? INT32_MIN : a / b);
const remw = (a: bigint, b: bigint) => (b === 0n ? a : a === INT32_MIN && b === -1n ? 0n : a % b);

const RR: [string, (rd: number, a: number, b: number) => number, Ref][] = [
  ['add', A.add, (a, b) => a + b],
  ['sub', A.sub, (a, b) => a - b],
  ['sll', A.sll, (a, b) => a << (u64(b) & 63n)],
  ['slt', A.slt, (a, b) => (s64(a) < s64(b) ? 1n : 0n)],
  ['sltu', A.sltu, (a, b) => (u64(a) < u64(b) ? 1n : 0n)],
  ['xor', A.xor, (a, b) => a ^ b],
  ['srl', A.srl, (a, b) => u64(a) >> (u64(b) & 63n)],
  ['sra', A.sra, (a, b) => s64(a) >> (u64(b) & 63n)],
  ['or', A.or, (a, b) => a | b],
  ['and', A.and, (a, b) => a & b],
  ['mul', A.mul, (a, b) => a * b],
  ['mulh', A.mulh, (a, b) => (s64(a) * s64(b)) >> 64n],
  ['mulhsu', A.mulhsu, (a, b) => (s64(a) * u64(b)) >> 64n],
  ['mulhu', A.mulhu, (a, b) => (u64(a) * u64(b)) >> 64n],
  ['div', A.div, (a, b) => div(s64(a), s64(b))],
  ['divu', A.divu, (a, b) => (u64(b) === 0n ? -1n : u64(a) / u64(b))],
  ['rem', A.rem, (a, b) => rem(s64(a), s64(b))],
  ['remu', A.remu, (a, b) => (u64(b) === 0n ? a : u64(a) % u64(b))],
  ['addw', A.addw, (a, b) => s32(a + b)],
  ['subw', A.subw, (a, b) => s32(a - b)],
  ['sllw', A.sllw, (a, b) => s32(a << (u64(b) & 31n))],
  ['srlw', A.srlw, (a, b) => s32(u32(a) >> (u64(b) & 31n))],
  ['sraw', A.sraw, (a, b) => s32(a) >> (u64(b) & 31n)],
  ['mulw', A.mulw, (a, b) => s32(a * b)],
  ['divw', A.divw, (a, b) => s32(divw(s32(a), s32(b)))],
  ['divuw', A.divuw, (a, b) => s32(u32(b) === 0n ? -1n : u32(a) / u32(b))],
  ['remw', A.remw, (a, b) => s32(remw(s32(a), s32(b)))],
  ['remuw', A.remuw, (a, b) => s32(u32(b) === 0n ? a : u32(a) % u32(b))],
];

const IMMS = [0, 1, -1, 2, 2047, -2048, 0x555, -0x556];
const SHAMTS = [0, 1, 5, 31, 32, 33, 63];
const RI: [string, (rd: number, a: number, i: number) => number, (a: bigint, i: bigint) => bigint, number[]][] = [
  ['addi', A.addi, (a, i) => a + i, IMMS],
  ['slti', A.slti, (a, i) => (s64(a) < i ? 1n : 0n), IMMS],
  ['sltiu', A.sltiu, (a, i) => (u64(a) < u64(i) ? 1n : 0n), IMMS],
  ['xori', A.xori, (a, i) => a ^ i, IMMS],
  ['ori', A.ori, (a, i) => a | i, IMMS],
  ['andi', A.andi, (a, i) => a & i, IMMS],
  ['slli', A.slli, (a, i) => a << i, SHAMTS],
  ['srli', A.srli, (a, i) => u64(a) >> i, SHAMTS],
  ['srai', A.srai, (a, i) => s64(a) >> i, SHAMTS],
  ['addiw', A.addiw, (a, i) => s32(a + i), IMMS],
  ['slliw', A.slliw, (a, i) => s32(a << i), SHAMTS.filter((s) => s < 32)],
  ['srliw', A.srliw, (a, i) => s32(u32(a) >> i), SHAMTS.filter((s) => s < 32)],
  ['sraiw', A.sraiw, (a, i) => s32(a) >> i, SHAMTS.filter((s) => s < 32)],
];

function machine(): TestMachine {
  const m = new TestMachine();
  m.mapNew(0x10000, 1, RXU);
  return m;
}

describe('RV64IM register-register operations', () => {
  for (const [name, enc, ref] of RR) {
    it(`${name} on edge values (rd distinct, rd = rs1, rd = rs2)`, () => {
      const m = machine();
      for (const a of EDGES) {
        for (const b of EDGES) {
          const want = u64(ref(a, b));
          // rd = x7, rs1 = x5, rs2 = x6
          m.setReg(5, a);
          m.setReg(6, b);
          expect(m.runCode(0x10000, [enc(7, 5, 6), A.ecall()])).toBe(Trap.ECALL_U);
          expect(m.reg(7), `${name} ${a} ${b}`).toBe(want);
          // rd aliases rs1, then rs2
          m.setReg(5, a);
          m.setReg(6, b);
          m.runCode(0x10000, [enc(5, 5, 6), A.ecall()]);
          expect(m.reg(5), `${name} ${a} ${b} rd=rs1`).toBe(want);
          m.setReg(5, a);
          m.setReg(6, b);
          m.runCode(0x10000, [enc(6, 5, 6), A.ecall()]);
          expect(m.reg(6), `${name} ${a} ${b} rd=rs2`).toBe(want);
        }
      }
    });
  }
  it('writes to x0 are discarded', () => {
    const m = machine();
    m.setReg(5, 0x1234n);
    m.runCode(0x10000, [A.add(0, 5, 5), A.addi(0, 0, 5), A.lui(0, 0x12345), A.add(6, 0, 0), A.ecall()]);
    expect(m.reg(0)).toBe(0n);
    expect(m.reg(6)).toBe(0n);
  });
});

describe('RV64I register-immediate operations', () => {
  for (const [name, enc, ref, imms] of RI) {
    it(`${name} on edge values`, () => {
      const m = machine();
      for (const a of EDGES) {
        for (const i of imms) {
          m.setReg(5, a);
          m.runCode(0x10000, [enc(7, 5, i), A.ecall()]);
          expect(m.reg(7), `${name} ${a} ${i}`).toBe(u64(ref(a, BigInt(i))));
        }
      }
    });
  }
  it('lui and auipc sign-extend their 32-bit result', () => {
    const m = machine();
    m.runCode(0x10000, [A.lui(5, 0x80000), A.lui(6, 0x7ffff), A.auipc(7, 0xfffff), A.auipc(8, 1), A.ecall()]);
    expect(m.reg(5)).toBe(sext32(0x80000000n));
    expect(m.reg(6)).toBe(0x7ffff000n);
    expect(m.reg(7)).toBe(u64(0x10008n - 0x1000n));
    expect(m.reg(8)).toBe(0x1000cn + 0x1000n);
  });
});

describe('control transfer', () => {
  it('branches compare signed and unsigned 64-bit values', () => {
    const m = machine();
    const pairs: [bigint, bigint][] = [[0n, 0n], [-1n, 0n], [0n, -1n], [1n << 32n, 1n], [INT64_MIN, 1n], [5n, 5n],
      [0x80000000n, 0x7fffffffn], [-(1n << 32n), -(1n << 32n) + 1n]];
    const br: [string, (a: number, b: number, o: number) => number, (a: bigint, b: bigint) => boolean][] = [
      ['beq', A.beq, (a, b) => a === b], ['bne', A.bne, (a, b) => a !== b],
      ['blt', A.blt, (a, b) => s64(a) < s64(b)], ['bge', A.bge, (a, b) => s64(a) >= s64(b)],
      ['bltu', A.bltu, (a, b) => u64(a) < u64(b)], ['bgeu', A.bgeu, (a, b) => u64(a) >= u64(b)],
    ];
    for (const [name, enc, taken] of br) {
      for (const [a, b] of pairs) {
        m.setReg(5, a);
        m.setReg(6, b);
        // taken → skip the addi that sets x7 = 1
        m.runCode(0x10000, [A.addi(7, 0, 0), enc(5, 6, 8), A.addi(7, 0, 1), A.ecall()]);
        expect(m.reg(7), `${name} ${a} ${b}`).toBe(taken(a, b) ? 0n : 1n);
      }
    }
  });
  it('jal and jalr link pc+4 and jalr clears bit 0', () => {
    const m = machine();
    m.setReg(5, 0x10000n + 17n); // odd target: 0x10010 after clearing bit 0 ... + imm -1 → 0x10010
    const t = m.runCode(0x10000, [A.jal(1, 8), A.ebreak(), A.jalr(6, 5, -1), A.ebreak(), A.ecall()]);
    expect(t).toBe(Trap.ECALL_U);
    expect(m.hart.pc).toBe(0x10010);
    expect(m.reg(1)).toBe(0x10004n);
    expect(m.reg(6)).toBe(0x1000cn);
  });
  it('backward branches loop and instret counts retired instructions', () => {
    const m = machine();
    const before = m.hart.instret;
    m.runCode(0x10000, [A.addi(5, 0, 100), A.addi(6, 6, 3), A.addi(5, 5, -1), A.bne(5, 0, -8), A.ecall()]);
    expect(m.reg(6)).toBe(300n);
    expect(m.hart.instret - before).toBe(1 + 300); // the ecall did not retire
  });
  it('stops with BUDGET after exactly `budget` instructions, pc at the next one', () => {
    const m = machine();
    m.write32(0x10000, [A.addi(5, 5, 1), A.j_loop()]);
    m.hart.pc = 0x10000;
    expect(m.hart.run(7)).toBe(Trap.BUDGET);
    expect(m.reg(5)).toBe(4n);
    expect(m.hart.pc).toBe(0x10004);
  });
});
