/**
 * Decoded-instruction cache coherence: code overwritten by a guest store (same page or another
 * mapping of the frame), by the kernel through mem.wrote(), or around FENCE.I runs as new code.
 */
import { describe, expect, it } from 'vitest';
import { Trap, PTE_A, PTE_D } from '../../../src/machine/cpu/trap.js';
import { TestMachine, RWXU, RWU } from './machine.js';
import * as A from './asm.js';

const CODE = 0x10000;

describe('decode cache', () => {
  it('a guest store into the running page replaces the instruction it will execute next', () => {
    const m = new TestMachine();
    m.mapNew(CODE, 1, RWXU);
    // x5 = address of the slot at +16; x6 = encoding of "addi x7, x0, 2"
    const patched = A.addi(7, 0, 2);
    m.setReg(5, BigInt(CODE + 16));
    m.setReg(6, BigInt(patched));
    // run the slot once (x7 = 1), patch it, run it again
    const prog = [A.jal(0, 16), A.ecall(), A.ecall(), A.ecall(), A.addi(7, 0, 1), A.ecall()];
    expect(m.runCode(CODE, prog)).toBe(Trap.ECALL_U);
    expect(m.reg(7)).toBe(1n);
    m.write32(CODE + 0x100, [A.sw(6, 5, 0), A.jal(0, 16 - 0x104)]);
    m.hart.pc = CODE + 0x100;
    expect(m.hart.run(10)).toBe(Trap.ECALL_U);
    expect(m.reg(7)).toBe(2n);
  });
  it('a store through a second (data) mapping of the code frame drops the decoded code', () => {
    const m = new TestMachine();
    const pfn = m.mapNew(CODE, 1, RWXU);
    m.map(0x50000, pfn, RWU | PTE_A | PTE_D);
    m.setReg(5, 0x50000n + 8n);
    m.setReg(6, BigInt(A.addi(7, 0, 3)));
    // first pass decodes +8 (x7 = 1); then a store via the alias patches it
    expect(m.runCode(CODE, [A.addi(0, 0, 0), A.jal(0, 4), A.addi(7, 0, 1), A.ecall()])).toBe(Trap.ECALL_U);
    expect(m.reg(7)).toBe(1n);
    // warm the data TLB entry first, then store (the entry must not allow a silent write)
    m.write32(CODE + 0x200, [A.lw(8, 5, 0), A.sw(6, 5, 0), A.sw(6, 5, 0), A.ecall()]);
    m.hart.pc = CODE + 0x200;
    expect(m.hart.run(10)).toBe(Trap.ECALL_U);
    m.hart.pc = CODE;
    expect(m.hart.run(10)).toBe(Trap.ECALL_U);
    expect(m.reg(7)).toBe(3n);
  });
  it('a data page written through the TLB, then executed, then written again, stays coherent', () => {
    const m = new TestMachine();
    m.mapNew(CODE, 1, RWXU);
    const pfn = m.mapNew(0x30000, 1, RWXU);
    m.setReg(5, 0x30000n);
    m.setReg(6, BigInt(A.addi(7, 0, 4)));
    m.setReg(8, BigInt(A.jalr(0, 1, 0)));
    // write "addi x7,x0,4; ret" at 0x30000 with plain stores (fills a write TLB entry), call it
    const prog = [A.sw(6, 5, 0), A.sw(8, 5, 4), A.jalr(1, 5, 0), A.ecall()];
    expect(m.runCode(CODE, prog)).toBe(Trap.ECALL_U);
    expect(m.reg(7)).toBe(4n);
    expect(m.mem.codeFrames[pfn]).toBe(1);
    // now rewrite it in the same way and call again
    m.setReg(6, BigInt(A.addi(7, 0, 5)));
    m.hart.pc = CODE;
    expect(m.hart.run(20)).toBe(Trap.ECALL_U);
    expect(m.reg(7)).toBe(5n);
  });
  it('kernel writes through mem.wrote() drop the decoded frame', () => {
    const m = new TestMachine();
    m.mapNew(CODE, 1, RWXU);
    expect(m.runCode(CODE, [A.addi(7, 0, 1), A.ecall()])).toBe(Trap.ECALL_U);
    expect(m.reg(7)).toBe(1n);
    expect(m.runCode(CODE, [A.addi(7, 0, 6), A.ecall()])).toBe(Trap.ECALL_U); // write32 calls wrote()
    expect(m.reg(7)).toBe(6n);
    // wroteFrame (a frame freed and reused) also drops it
    const pa = m.pa(CODE);
    m.mem.view.setUint32(pa, A.addi(7, 0, 8), true);
    m.mem.wroteFrame(pa >>> 12);
    m.hart.pc = CODE;
    m.hart.run(10);
    expect(m.reg(7)).toBe(8n);
  });
  it('FENCE.I drops every decoded frame', () => {
    const m = new TestMachine();
    m.mapNew(CODE, 1, RWXU);
    expect(m.runCode(CODE, [A.fenceI(), A.ecall()])).toBe(Trap.ECALL_U);
    expect(m.hart.icache.size).toBe(1); // the page is decoded again after the fence
    m.hart.icache.dropAll();
    expect(m.hart.icache.size).toBe(0);
  });
});
