/**
 * SYSTEM and MISC-MEM: ECALL/EBREAK traps, FENCE, the user CSRs (fflags, frm, fcsr, cycle,
 * time, instret) and illegal instructions with their bits in stval.
 */
import { describe, expect, it } from 'vitest';
import { Trap } from '../../../src/machine/cpu/trap.js';
import { TestMachine, RXU } from './machine.js';
import * as A from './asm.js';

const CODE = 0x10000;

function machine(): TestMachine {
  const m = new TestMachine();
  m.mapNew(CODE, 1, RXU);
  return m;
}

describe('traps', () => {
  it('ecall and ebreak stop with pc at the instruction and stval 0', () => {
    const m = machine();
    expect(m.runCode(CODE, [A.fence(), A.ebreak()])).toBe(Trap.BREAKPOINT);
    expect(m.hart.pc).toBe(CODE + 4);
    expect(m.hart.trapValue).toBe(0);
    expect(m.runCode(CODE, [A.addi(5, 0, 1), A.ecall()])).toBe(Trap.ECALL_U);
    expect(m.hart.pc).toBe(CODE + 4);
  });
  it('illegal encodings report their bits', () => {
    const m = machine();
    const bad = [
      0xffffffff, // all ones
      0x0000707f, // custom opcode... 0x7f with funct3 7
      A.R(0x33, 0, 0x02, 1, 2, 3), // OP with funct7 2
      A.I(0x03, 7, 1, 2, 0), // LOAD funct3 7
      0x10500073, // wfi (privileged)
      0x30200073, // mret
      A.I(0x13, 1, 1, 2, 0x40), // slli with funct6 != 0 ... imm bit 6 is shamt[6]: illegal in RV64
      A.R(0x3b, 1, 0x20, 1, 2, 3), // sllw with funct7 0x20
      A.amo(0x02, 3, 1, 2, 3), // lr.d with rs2 != 0
      A.amo(0x05, 3, 1, 2, 3), // AMO funct5 0x05 (unassigned)
      A.R(0x63, 2, 0, 0, 1, 2), // branch funct3 2
    ];
    for (const insn of bad) {
      expect(m.runCode(CODE, [insn]), `0x${insn.toString(16)}`).toBe(Trap.ILLEGAL_INSN);
      expect(m.hart.trapValue).toBe(insn >>> 0);
      expect(m.hart.pc).toBe(CODE);
    }
  });
});

describe('CSRs', () => {
  it('fflags, frm and fcsr are views of the same state', () => {
    const m = machine();
    m.setReg(5, 0xffn);
    expect(m.runCode(CODE, [A.csrrw(6, 0x003, 5), A.csrrs(7, 0x001, 0), A.csrrs(8, 0x002, 0), A.ecall()])).toBe(
      Trap.ECALL_U,
    );
    expect([m.reg(6), m.reg(7), m.reg(8)]).toEqual([0n, 0x1fn, 7n]);
    expect([m.hart.fflags, m.hart.frm]).toEqual([0x1f, 7]);
    m.runCode(CODE, [A.csrrci(6, 0x001, 0x5), A.csrrwi(7, 0x002, 1), A.csrrs(8, 0x003, 0), A.ecall()]);
    expect([m.reg(6), m.reg(7), m.reg(8)]).toEqual([0x1fn, 7n, (1n << 5n) | 0x1an]);
    m.setReg(5, 0x4n);
    m.runCode(CODE, [A.csrrs(0, 0x001, 5), A.csrrc(6, 0x003, 5), A.ecall()]);
    expect(m.reg(6)).toBe((1n << 5n) | 0x1en);
    expect(m.hart.fflags).toBe(0x1a);
    m.runCode(CODE, [A.csrrsi(6, 0x002, 6), A.ecall()]);
    expect(m.hart.frm).toBe(7);
  });
  it('instret and cycle count retired instructions; time follows the clock', () => {
    const m = machine();
    const base = BigInt(m.hart.instret);
    m.runCode(CODE, [A.addi(0, 0, 0), A.addi(0, 0, 0), A.csrrs(5, 0xc02, 0), A.csrrs(6, 0xc00, 0), A.csrrs(7, 0xc01, 0), A.ecall()]);
    expect(m.reg(5)).toBe(base + 2n);
    expect(m.reg(6)).toBe(base + 3n);
    expect(m.reg(7)).toBeGreaterThan(0n);
  });
  it('writing a counter or using an unknown CSR is illegal', () => {
    const m = machine();
    for (const insn of [A.csrrw(5, 0xc00, 6), A.csrrs(5, 0xc01, 6), A.csrrwi(0, 0xc02, 1), A.csrrs(5, 0x100, 0), A.csrrs(5, 0x180, 0), A.csrrs(5, 0xf14, 0)]) {
      expect(m.runCode(CODE, [insn, A.ecall()])).toBe(Trap.ILLEGAL_INSN);
      expect(m.hart.trapValue).toBe(insn);
    }
  });
});
