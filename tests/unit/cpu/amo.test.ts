/**
 * The A extension: every AMO in W and D width (old value in rd, new value in memory),
 * LR/SC success and the ways a reservation is lost, and misaligned atomics.
 */
import { describe, expect, it } from 'vitest';
import { Trap } from '../../../src/machine/cpu/trap.js';
import { TestMachine, RXU, RWU, RU } from './machine.js';
import * as A from './asm.js';

const CODE = 0x10000;
const DATA = 0x20000;
const M64 = (1n << 64n) - 1n;
const s64 = (v: bigint) => BigInt.asIntN(64, v);
const s32 = (v: bigint) => BigInt.asIntN(32, v);
const u32 = (v: bigint) => BigInt.asUintN(32, v);

function machine(): TestMachine {
  const m = new TestMachine();
  m.mapNew(CODE, 1, RXU);
  m.mapNew(DATA, 1, RWU);
  return m;
}

const AMOS: [string, number, (a: bigint, b: bigint) => bigint, (a: bigint, b: bigint) => bigint][] = [
  // name, funct5, 64-bit op, 32-bit op (on sign-extended 32-bit values)
  ['amoswap', 0x01, (_a, b) => b, (_a, b) => b],
  ['amoadd', 0x00, (a, b) => a + b, (a, b) => a + b],
  ['amoxor', 0x04, (a, b) => a ^ b, (a, b) => a ^ b],
  ['amoand', 0x0c, (a, b) => a & b, (a, b) => a & b],
  ['amoor', 0x08, (a, b) => a | b, (a, b) => a | b],
  ['amomin', 0x10, (a, b) => (s64(a) < s64(b) ? a : b), (a, b) => (s32(a) < s32(b) ? a : b)],
  ['amomax', 0x14, (a, b) => (s64(a) > s64(b) ? a : b), (a, b) => (s32(a) > s32(b) ? a : b)],
  ['amominu', 0x18, (a, b) => ((a & M64) < (b & M64) ? a : b), (a, b) => (u32(a) < u32(b) ? a : b)],
  ['amomaxu', 0x1c, (a, b) => ((a & M64) > (b & M64) ? a : b), (a, b) => (u32(a) > u32(b) ? a : b)],
];
const VALUES = [0n, 1n, -1n, 0x7fffffffn, 0x80000000n, -0x80000000n, 0x123456789abcdef0n, 1n << 63n, 5n, -5n];

describe('AMOs', () => {
  for (const [name, f5, op64, op32] of AMOS) {
    it(`${name}.d and ${name}.w`, () => {
      const m = machine();
      for (const mem of VALUES) {
        for (const src of VALUES) {
          // .d
          m.write64(DATA + 8, mem);
          m.setReg(5, BigInt(DATA + 8));
          m.setReg(6, src);
          expect(m.runCode(CODE, [A.amo(f5, 3, 7, 5, 6), A.ecall()])).toBe(Trap.ECALL_U);
          expect(m.reg(7), `${name}.d old ${mem} ${src}`).toBe(mem & M64);
          expect(m.read64(DATA + 8), `${name}.d new ${mem} ${src}`).toBe(op64(mem, src) & M64);
          // .w at DATA+4: the neighbouring word stays untouched
          m.write64(DATA, 0xa5a5a5a5n | (u32(mem) << 32n));
          m.setReg(5, BigInt(DATA + 4));
          m.runCode(CODE, [A.amo(f5, 2, 7, 5, 6), A.ecall()]);
          expect(m.reg(7), `${name}.w old ${mem} ${src}`).toBe(BigInt.asUintN(64, s32(mem)));
          const want = u32(op32(s32(mem), s32(src)));
          expect(m.read64(DATA), `${name}.w new ${mem} ${src}`).toBe(0xa5a5a5a5n | (want << 32n));
        }
      }
    });
  }
  it('rd = rs2 reads the source before writing the old value', () => {
    const m = machine();
    m.write64(DATA, 10n);
    m.setReg(5, BigInt(DATA));
    m.setReg(6, 5n);
    m.runCode(CODE, [A.amo(0x00, 3, 6, 5, 6), A.ecall()]);
    expect(m.reg(6)).toBe(10n);
    expect(m.read64(DATA)).toBe(15n);
  });
  it('misaligned AMO → STORE_MISALIGNED, misaligned LR → LOAD_MISALIGNED, with the address', () => {
    const m = machine();
    m.setReg(5, BigInt(DATA + 4));
    expect(m.runCode(CODE, [A.amo(0x00, 3, 7, 5, 6), A.ecall()])).toBe(Trap.STORE_MISALIGNED);
    expect(m.hart.trapValue).toBe(DATA + 4);
    m.setReg(5, BigInt(DATA + 2));
    expect(m.runCode(CODE, [A.amo(0x01, 2, 7, 5, 6), A.ecall()])).toBe(Trap.STORE_MISALIGNED);
    expect(m.runCode(CODE, [A.lrW(7, 5), A.ecall()])).toBe(Trap.LOAD_MISALIGNED);
    expect(m.runCode(CODE, [A.scW(7, 5, 6), A.ecall()])).toBe(Trap.STORE_MISALIGNED);
  });
  it('AMO on a read-only page → STORE_PAGE_FAULT; LR on it works', () => {
    const m = machine();
    m.mapNew(DATA + 0x1000, 1, RU);
    m.setReg(5, BigInt(DATA + 0x1000));
    expect(m.runCode(CODE, [A.amo(0x00, 3, 7, 5, 6), A.ecall()])).toBe(Trap.STORE_PAGE_FAULT);
    expect(m.runCode(CODE, [A.lrD(7, 5), A.ecall()])).toBe(Trap.ECALL_U);
  });
});

describe('LR/SC', () => {
  it('LR then SC to the same address succeeds (rd = 0) and stores; LR.W sign-extends', () => {
    const m = machine();
    m.write64(DATA, 0x80000000n);
    m.setReg(5, BigInt(DATA));
    m.setReg(6, 0x1234n);
    m.runCode(CODE, [A.lrW(7, 5), A.scW(8, 5, 6), A.ecall()]);
    expect(m.reg(7)).toBe(0xffffffff80000000n);
    expect(m.reg(8)).toBe(0n);
    expect(m.read64(DATA)).toBe(0x1234n);
    m.setReg(6, -2n);
    m.runCode(CODE, [A.lrD(7, 5), A.scD(8, 5, 6), A.ecall()]);
    expect(m.reg(7)).toBe(0x1234n);
    expect(m.reg(8)).toBe(0n);
    expect(m.read64(DATA)).toBe(M64 - 1n);
  });
  it('SC without LR fails (rd = 1) and stores nothing', () => {
    const m = machine();
    m.write64(DATA, 7n);
    m.setReg(5, BigInt(DATA));
    m.setReg(6, 9n);
    m.runCode(CODE, [A.scD(8, 5, 6), A.ecall()]);
    expect(m.reg(8)).toBe(1n);
    expect(m.read64(DATA)).toBe(7n);
  });
  it('a second SC fails: SC consumes the reservation', () => {
    const m = machine();
    m.setReg(5, BigInt(DATA));
    m.runCode(CODE, [A.lrD(7, 5), A.scD(8, 5, 6), A.scD(9, 5, 6), A.ecall()]);
    expect(m.reg(8)).toBe(0n);
    expect(m.reg(9)).toBe(1n);
  });
  it('SC to another address, or with another width, fails', () => {
    const m = machine();
    m.setReg(5, BigInt(DATA));
    m.setReg(10, BigInt(DATA + 8));
    m.runCode(CODE, [A.lrD(7, 5), A.scD(8, 10, 6), A.ecall()]);
    expect(m.reg(8)).toBe(1n);
    m.runCode(CODE, [A.lrD(7, 5), A.scW(8, 5, 6), A.ecall()]);
    expect(m.reg(8)).toBe(1n);
  });
  it('a store to the reservation granule breaks it, even after the page was written before', () => {
    const m = machine();
    m.setReg(5, BigInt(DATA));
    // the first sd fills a write TLB entry for the page; LR must still catch the later store
    m.runCode(CODE, [A.sd(6, 5, 32), A.lrD(7, 5), A.sd(6, 5, 8), A.scD(8, 5, 6), A.ecall()]);
    expect(m.reg(8)).toBe(1n);
    // a store elsewhere on the page (another granule) does not
    m.runCode(CODE, [A.lrD(7, 5), A.sd(6, 5, 512), A.scD(8, 5, 6), A.ecall()]);
    expect(m.reg(8)).toBe(0n);
  });
  it('a trap between LR and SC (return from run) breaks the reservation', () => {
    const m = machine();
    m.setReg(5, BigInt(DATA));
    m.runCode(CODE, [A.lrD(7, 5), A.ecall(), A.scD(8, 5, 6), A.ecall()]);
    m.hart.pc += 4; // the kernel returns past the ecall
    expect(m.hart.run(10)).toBe(Trap.ECALL_U);
    expect(m.reg(8)).toBe(1n);
  });
  it('loadContext (a context switch) breaks the reservation', () => {
    const m = machine();
    m.setReg(5, BigInt(DATA));
    m.write32(CODE, [A.lrD(7, 5), A.scD(8, 5, 6), A.ecall()]);
    m.hart.pc = CODE;
    expect(m.hart.run(1)).toBe(Trap.BUDGET);
    const ctx = { x: new Int32Array(64), f: new Float64Array(32), pc: 0, fflags: 0, frm: 0 };
    m.hart.saveContext(ctx);
    m.hart.loadContext(ctx);
    expect(m.hart.run(10)).toBe(Trap.ECALL_U);
    expect(m.reg(8)).toBe(1n);
  });
});
