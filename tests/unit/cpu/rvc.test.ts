/**
 * RVC: every RV64C instruction decodes to exactly what its 32-bit expansion decodes to (pairs
 * produced by riscv64-linux-gnu-as with `.option rvc` / `.option norvc` on the same source),
 * reserved encodings are illegal, and mixed 16/32-bit code runs with the right pc steps.
 */
import { describe, expect, it } from 'vitest';
import { decode16, decode32 } from '../../../src/machine/cpu/decode.js';
import { OP_ILLEGAL, RVC_BIT } from '../../../src/machine/cpu/ops.js';
import { Trap } from '../../../src/machine/cpu/trap.js';
import { TestMachine, RXU, RWU } from './machine.js';
import * as A from './asm.js';

// [compressed, expansion], from the GNU assembler (see the comment above).
const PAIRS: [number, number, string][] = [
  [0x1fe0, 0x3fc10413, 'c.addi4spn s0,sp,1020'], [0x005c, 0x00410793, 'c.addi4spn a5,sp,4'],
  [0x3fe8, 0x0f87b507, 'c.fld fa0,248(a5)'], [0x5de8, 0x07c5a503, 'c.lw a0,124(a1)'],
  [0x4044, 0x00442483, 'c.lw s1,4(s0)'], [0x7ef0, 0x0f86b603, 'c.ld a2,248(a3)'],
  [0xa704, 0x00973427, 'c.fsd fs1,8(a4)'], [0xc0bc, 0x04f4a023, 'c.sw a5,64(s1)'],
  [0xfd60, 0x0e853c23, 'c.sd s0,248(a0)'], [0x0001, 0x00000013, 'c.nop'],
  [0x1501, 0xfe050513, 'c.addi a0,-32'], [0x037d, 0x01f30313, 'c.addi t1,31'],
  [0x357d, 0xfff5051b, 'c.addiw a0,-1'], [0x2dc5, 0x011d8d9b, 'c.addiw s11,17'],
  [0x5281, 0xfe000293, 'c.li t0,-32'], [0x457d, 0x01f00513, 'c.li a0,31'],
  [0x7101, 0xe0010113, 'c.addi16sp -512'], [0x617d, 0x1f010113, 'c.addi16sp 496'],
  [0x6141, 0x01010113, 'c.addi16sp 16'], [0x7501, 0xfffe0537, 'c.lui a0,0xfffe0'],
  [0x63fd, 0x0001f3b7, 'c.lui t2,0x1f'], [0x6085, 0x000010b7, 'c.lui ra,1'],
  [0x917d, 0x03f55513, 'c.srli a0,63'], [0x8085, 0x0014d493, 'c.srli s1,1'],
  [0x9781, 0x4207d793, 'c.srai a5,32'], [0x99fd, 0xfff5f593, 'c.andi a1,-1'],
  [0x883d, 0x00f47413, 'c.andi s0,15'], [0x8d0d, 0x40b50533, 'c.sub a0,a1'],
  [0x8c3d, 0x00f44433, 'c.xor s0,a5'], [0x8e55, 0x00d66633, 'c.or a2,a3'],
  [0x8f65, 0x00977733, 'c.and a4,s1'], [0x9d0d, 0x40b5053b, 'c.subw a0,a1'],
  [0x9fa1, 0x008787bb, 'c.addw a5,s0'], [0x157e, 0x03f51513, 'c.slli a0,63'],
  [0x0f86, 0x001f9f93, 'c.slli t6,1'], [0x347e, 0x1f813407, 'c.fldsp fs0,504(sp)'],
  [0x557e, 0x0fc12503, 'c.lwsp a0,252(sp)'], [0x4e02, 0x00012e03, 'c.lwsp t3,0(sp)'],
  [0x70fe, 0x1f813083, 'c.ldsp ra,504(sp)'], [0x6922, 0x00813903, 'c.ldsp s2,8(sp)'],
  [0x8082, 0x00008067, 'c.jr ra'], [0x8f02, 0x000f0067, 'c.jr t5'],
  [0x852e, 0x00058513, 'c.mv a0,a1'], [0x8fee, 0x000d8f93, 'c.mv t6,s11'],
  [0x9002, 0x00100073, 'c.ebreak'], [0x9782, 0x000780e7, 'c.jalr a5'],
  [0x952e, 0x00b50533, 'c.add a0,a1'], [0x9dfe, 0x01fd8db3, 'c.add s11,t6'],
  [0xbfee, 0x1fb13c27, 'c.fsdsp fs11,504(sp)'], [0xdfaa, 0x0ea12e23, 'c.swsp a0,252(sp)'],
  [0xff86, 0x1e113c23, 'c.sdsp ra,504(sp)'], [0xe04e, 0x01313023, 'c.sdsp s3,0(sp)'],
  // branches and jumps: expansion built from the offset the assembler reported
  [0xcd7d, A.beq(10, 0, 254), 'c.beqz a0,+254'], [0xf081, A.bne(9, 0, -256), 'c.bnez s1,-256'],
  [0xdff5, A.beq(15, 0, -4), 'c.beqz a5,-4'], [0xe44d, A.bne(8, 0, 0xaa), 'c.bnez s0,+0xaa'],
  [0xaffd, A.jal(0, 2046), 'c.j +2046'], [0xb001, A.jal(0, -2048), 'c.j -2048'],
  [0xab91, A.jal(0, 0x554), 'c.j +0x554'],
];

const RESERVED: [number, string][] = [
  [0x0000, 'all-zero halfword'], [0x0004, 'c.addi4spn with zero immediate'], [0x8000, 'quadrant 0 funct3 100'],
  [0x2001, 'c.addiw x0'], [0x6101, 'c.addi16sp 0'], [0x6501, 'c.lui a0,0'], [0x9c41, 'reserved OP-32 funct'],
  [0x9c61, 'reserved OP-32 funct'], [0x4002, 'c.lwsp x0'], [0x6002, 'c.ldsp x0'], [0x8002, 'c.jr x0'],
];

describe('RVC decode', () => {
  for (const [c, e, name] of PAIRS) {
    it(`${name} (0x${c.toString(16)}) expands like 0x${e.toString(16)}`, () => {
      const a = new Int32Array(2);
      const b = new Int32Array(2);
      decode16(c, a, 0);
      decode32(e, b, 0);
      expect(a[0]! & RVC_BIT).toBe(RVC_BIT);
      expect([a[0]! & ~RVC_BIT, a[1]]).toEqual([b[0], b[1]]);
    });
  }
  for (const [c, name] of RESERVED) {
    it(`${name} (0x${c.toString(16)}) is illegal`, () => {
      const a = new Int32Array(2);
      decode16(c, a, 0);
      expect(a[0]! & 255).toBe(OP_ILLEGAL);
      expect(a[1]).toBe(c);
    });
  }
});

describe('RVC execution', () => {
  it('mixes 16- and 32-bit instructions, 32-bit ones at 2-byte alignment', () => {
    const m = new TestMachine();
    m.mapNew(0x10000, 1, RXU);
    m.mapNew(0x20000, 1, RWU);
    const addi = A.addi(6, 6, 100);
    // c.li a0,31; c.addi a0,-32; addi t1,t1,100 (at offset 4); c.addiw a0,-1 (at 8); c.mv a1,a0; ecall (at 12)
    m.write16(0x10000, [0x457d, 0x1501, addi & 0xffff, addi >>> 16, 0x357d, 0x85aa, 0x0073, 0x0000]);
    m.hart.pc = 0x10000;
    expect(m.hart.run(100)).toBe(Trap.ECALL_U);
    expect(m.hart.pc).toBe(0x1000c);
    expect(m.sreg(10)).toBe(-2n);
    expect(m.sreg(11)).toBe(-2n);
    expect(m.sreg(6)).toBe(100n);
  });
  it('reports an illegal compressed instruction with its 16 bits as stval', () => {
    const m = new TestMachine();
    m.mapNew(0x10000, 1, RXU);
    m.write16(0x10000, [0x0001, 0x0000]);
    m.hart.pc = 0x10000;
    expect(m.hart.run(100)).toBe(Trap.ILLEGAL_INSN);
    expect(m.hart.pc).toBe(0x10002);
    expect(m.hart.trapValue).toBe(0);
    m.write16(0x10000, [0x0001, 0x6101]);
    m.hart.pc = 0x10000;
    expect(m.hart.run(100)).toBe(Trap.ILLEGAL_INSN);
    expect(m.hart.trapValue).toBe(0x6101);
  });
  it('runs a 32-bit instruction that straddles two pages', () => {
    const m = new TestMachine();
    m.mapNew(0x10000, 2, RXU);
    const addi = A.addi(5, 5, 9);
    m.write16(0x10ffc, [0x0001, addi & 0xffff, addi >>> 16, 0x0073, 0x0000]);
    m.hart.pc = 0x10ffc;
    expect(m.hart.run(100)).toBe(Trap.ECALL_U);
    expect(m.reg(5)).toBe(9n);
    expect(m.hart.pc).toBe(0x11002);
  });
  it('faults with stval in the second page when a straddling instruction has no second page', () => {
    const m = new TestMachine();
    m.mapNew(0x10000, 1, RXU);
    const addi = A.addi(5, 5, 9);
    m.write16(0x10ffc, [0x0001, addi & 0xffff]);
    m.hart.pc = 0x10ffc;
    expect(m.hart.run(100)).toBe(Trap.INSN_PAGE_FAULT);
    expect(m.hart.pc).toBe(0x10ffe);
    expect(m.hart.trapValue).toBe(0x11000);
  });
});
