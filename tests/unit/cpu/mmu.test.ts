/**
 * Sv39 translation and data accesses: loads/stores of every width (aligned, misaligned,
 * crossing a page), page faults with the right cause and stval (unmapped, U=0, W=0 store,
 * X=0 fetch, R=0 load, W-without-R, non-canonical), A/D updates, superpages, and TLB flushes.
 */
import { describe, expect, it } from 'vitest';
import { Trap, PTE_A, PTE_D, PTE_R, PTE_U, PTE_W, PTE_X } from '../../../src/machine/cpu/trap.js';
import { TestMachine, RXU, RWU, RU } from './machine.js';
import * as A from './asm.js';

const CODE = 0x10000;
const DATA = 0x20000;

function machine(): TestMachine {
  const m = new TestMachine();
  m.mapNew(CODE, 1, RXU);
  m.mapNew(DATA, 2, RWU);
  return m;
}

/** Run `insns` with x5 = DATA + off; return the trap. */
function at(m: TestMachine, off: number, insns: number[]): number {
  m.setReg(5, BigInt(DATA + off));
  return m.runCode(CODE, [...insns, A.ecall()]);
}

describe('loads and stores', () => {
  const pattern = 0x8899aabbccddeeffn;
  const loads: [string, (rd: number, rs: number, i: number) => number, (v: bigint) => bigint][] = [
    ['lb', A.lb, (v) => BigInt.asUintN(64, BigInt.asIntN(8, v))],
    ['lbu', A.lbu, (v) => v & 0xffn],
    ['lh', A.lh, (v) => BigInt.asUintN(64, BigInt.asIntN(16, v))],
    ['lhu', A.lhu, (v) => v & 0xffffn],
    ['lw', A.lw, (v) => BigInt.asUintN(64, BigInt.asIntN(32, v))],
    ['lwu', A.lwu, (v) => v & 0xffffffffn],
    ['ld', A.ld, (v) => v],
  ];
  // Offsets: aligned, misaligned by 1..7, and straddling the page boundary at DATA+4096.
  const offsets = [0, 8, 1, 2, 3, 5, 7, 4093, 4094, 4095, 4090];
  for (const [name, enc, ext] of loads) {
    it(`${name} sign/zero-extends, aligned, misaligned and across a page`, () => {
      const m = machine();
      for (const off of offsets) {
        for (let k = 0; k < 8; k++) m.mem.u8[m.pa(DATA + ((off + k) % 8192))] = Number((pattern >> BigInt(8 * k)) & 0xffn);
        expect(at(m, off, [enc(6, 5, 0)])).toBe(Trap.ECALL_U);
        expect(m.reg(6), `${name} at +${off}`).toBe(ext(pattern));
      }
    });
  }
  const stores: [string, (rs2: number, rs1: number, i: number) => number, number][] = [
    ['sb', A.sb, 1], ['sh', A.sh, 2], ['sw', A.sw, 4], ['sd', A.sd, 8],
  ];
  for (const [name, enc, size] of stores) {
    it(`${name} writes exactly ${size} bytes, aligned, misaligned and across a page`, () => {
      const m = machine();
      for (const off of offsets) {
        for (let k = -1; k <= 8; k++) m.mem.u8[m.pa(DATA + off + k)] = 0x55;
        m.setReg(6, pattern);
        expect(at(m, off, [enc(6, 5, 0)])).toBe(Trap.ECALL_U);
        for (let k = -1; k <= 8; k++) {
          const want = k >= 0 && k < size ? Number((pattern >> BigInt(8 * k)) & 0xffn) : 0x55;
          expect(m.mem.u8[m.pa(DATA + off + k)], `${name} at +${off} byte ${k}`).toBe(want);
        }
      }
    });
  }
  it('uses negative and positive immediates and 64-bit address arithmetic', () => {
    const m = machine();
    m.write64(DATA + 0x100, 0x1122334455667788n);
    m.setReg(5, BigInt(DATA + 0x100 + 2048));
    m.runCode(CODE, [A.ld(6, 5, -2048), A.ecall()]);
    expect(m.reg(6)).toBe(0x1122334455667788n);
  });
  it('FLW NaN-boxes, FLD/FSD/FSW move raw bits', () => {
    const m = machine();
    m.write64(DATA, 0x400921fb54442d18n);
    m.write64(DATA + 8, 0x12345678n);
    expect(at(m, 0, [A.fld(1, 5, 0), A.flw(2, 5, 8), A.fsd(2, 5, 16), A.fsw(1, 5, 24), A.fld(3, 5, 1), A.fsd(3, 5, 33)])).toBe(
      Trap.ECALL_U,
    );
    expect(m.hart.f[1]).toBe(Math.PI);
    expect(m.hart.fRaw[4]).toBe(0x12345678);
    expect(m.hart.fRaw[5]).toBe(-1);
    expect(m.read64(DATA + 16)).toBe(0xffffffff12345678n);
    expect(m.read64(DATA + 24) & 0xffffffffn).toBe(0x54442d18n);
    expect(m.read64(DATA + 33)).toBe(0x78400921fb54442dn);
  });
});

describe('page faults', () => {
  it('unmapped load → LOAD_PAGE_FAULT with the address, pc at the load, nothing retired', () => {
    const m = machine();
    const before = m.hart.instret;
    expect(at(m, 0x3000, [A.addi(7, 0, 1), A.ld(6, 5, 8)])).toBe(Trap.LOAD_PAGE_FAULT);
    expect(m.hart.trapValue).toBe(DATA + 0x3008);
    expect(m.hart.pc).toBe(CODE + 4);
    expect(m.hart.instret - before).toBe(1);
    // the kernel maps the page and resumes: the load completes
    m.mapNew(DATA + 0x3000, 1, RWU);
    expect(m.hart.run(100)).toBe(Trap.ECALL_U);
  });
  it('unmapped store → STORE_PAGE_FAULT', () => {
    const m = machine();
    expect(at(m, 0x5000, [A.sw(6, 5, 4)])).toBe(Trap.STORE_PAGE_FAULT);
    expect(m.hart.trapValue).toBe(DATA + 0x5004);
  });
  it('store to a read-only page → STORE_PAGE_FAULT; load from it works', () => {
    const m = machine();
    m.mapNew(DATA + 0x4000, 1, RU);
    expect(at(m, 0x4000, [A.ld(6, 5, 0)])).toBe(Trap.ECALL_U);
    expect(at(m, 0x4000, [A.sd(6, 5, 0)])).toBe(Trap.STORE_PAGE_FAULT);
    expect(m.hart.trapValue).toBe(DATA + 0x4000);
  });
  it('supervisor page (U=0) → fault on load, store and fetch', () => {
    const m = machine();
    m.mapNew(DATA + 0x4000, 1, PTE_R | PTE_W | PTE_X);
    expect(at(m, 0x4000, [A.ld(6, 5, 0)])).toBe(Trap.LOAD_PAGE_FAULT);
    expect(at(m, 0x4000, [A.sd(6, 5, 0)])).toBe(Trap.STORE_PAGE_FAULT);
    m.hart.pc = DATA + 0x4000;
    expect(m.hart.run(10)).toBe(Trap.INSN_PAGE_FAULT);
    expect(m.hart.trapValue).toBe(DATA + 0x4000);
  });
  it('fetch from a non-executable page → INSN_PAGE_FAULT; jumping there reports the target', () => {
    const m = machine();
    m.write32(DATA, [A.ecall()]);
    m.setReg(5, BigInt(DATA));
    expect(m.runCode(CODE, [A.jalr(1, 5, 0)])).toBe(Trap.INSN_PAGE_FAULT);
    expect(m.hart.pc).toBe(DATA);
    expect(m.hart.trapValue).toBe(DATA);
    expect(m.reg(1)).toBe(BigInt(CODE + 4));
  });
  it('execute-only page: fetch works, load faults', () => {
    const m = machine();
    m.mapNew(0x40000, 1, PTE_X | PTE_U);
    m.write32(0x40000, [A.addi(7, 0, 42), A.ecall()]);
    m.hart.pc = 0x40000;
    expect(m.hart.run(10)).toBe(Trap.ECALL_U);
    expect(m.reg(7)).toBe(42n);
    m.setReg(5, 0x40000n);
    expect(m.runCode(CODE, [A.lw(6, 5, 0), A.ecall()])).toBe(Trap.LOAD_PAGE_FAULT);
  });
  it('W without R is a reserved encoding → fault', () => {
    const m = machine();
    m.mapNew(DATA + 0x4000, 1, PTE_W | PTE_U);
    expect(at(m, 0x4000, [A.sd(6, 5, 0)])).toBe(Trap.STORE_PAGE_FAULT);
    expect(at(m, 0x4000, [A.ld(6, 5, 0)])).toBe(Trap.LOAD_PAGE_FAULT);
  });
  it('addresses at or above 2^38 (and negative ones) fault', () => {
    const m = machine();
    m.setReg(5, 1n << 38n);
    expect(m.runCode(CODE, [A.ld(6, 5, 0), A.ecall()])).toBe(Trap.LOAD_PAGE_FAULT);
    expect(m.hart.trapValue).toBe(2 ** 38);
    m.setReg(5, -4096n);
    expect(m.runCode(CODE, [A.sd(6, 5, 0), A.ecall()])).toBe(Trap.STORE_PAGE_FAULT);
    expect(m.hart.trapValue).toBe(2 ** 64 - 4096);
    m.setReg(5, (1n << 38n) - 8n); // highest user page, unmapped: a plain page fault
    expect(m.runCode(CODE, [A.ld(6, 5, 0), A.ecall()])).toBe(Trap.LOAD_PAGE_FAULT);
    expect(m.hart.trapValue).toBe(2 ** 38 - 8);
  });
  it('a misaligned access straddling into an unmapped page faults at that page and writes nothing', () => {
    const m = machine(); // DATA..DATA+8K mapped, DATA+8K not
    for (let k = 0; k < 4; k++) m.mem.u8[m.pa(DATA + 8188 + k)] = 0x11;
    m.setReg(6, -1n);
    expect(at(m, 8188, [A.sd(6, 5, 0)])).toBe(Trap.STORE_PAGE_FAULT);
    expect(m.hart.trapValue).toBe(DATA + 8192);
    for (let k = 0; k < 4; k++) expect(m.mem.u8[m.pa(DATA + 8188 + k)]).toBe(0x11);
    expect(at(m, 8190, [A.lw(6, 5, 0)])).toBe(Trap.LOAD_PAGE_FAULT);
    expect(m.hart.trapValue).toBe(DATA + 8192);
  });
  it('a page-table entry pointing outside RAM → access fault', () => {
    const m = machine();
    m.map(DATA + 0x4000, m.mem.frames + 5, RWU | PTE_A | PTE_D);
    expect(at(m, 0x4000, [A.ld(6, 5, 0)])).toBe(Trap.LOAD_ACCESS);
  });
  it('no address space (root -1) → page faults', () => {
    const m = machine();
    m.hart.setRoot(-1);
    m.hart.pc = CODE;
    expect(m.hart.run(10)).toBe(Trap.INSN_PAGE_FAULT);
  });
});

describe('accessed and dirty bits', () => {
  it('a load sets A, a store sets A and D; fetch sets A', () => {
    const m = new TestMachine();
    m.mapNew(CODE, 1, RXU, 0);
    m.mapNew(DATA, 1, RWU, 0);
    m.mapNew(DATA + 0x1000, 1, RWU, 0);
    expect(m.pteLo(DATA) & (PTE_A | PTE_D)).toBe(0);
    m.setReg(5, BigInt(DATA));
    m.setReg(7, BigInt(DATA + 0x1000));
    m.runCode(CODE, [A.ld(6, 5, 0), A.sd(6, 7, 0), A.ecall()]);
    expect(m.pteLo(CODE) & (PTE_A | PTE_D)).toBe(PTE_A);
    expect(m.pteLo(DATA) & (PTE_A | PTE_D)).toBe(PTE_A);
    expect(m.pteLo(DATA + 0x1000) & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
  });
  it('a store after a load to a clean page still sets D (the read fill gave no write entry)', () => {
    const m = new TestMachine();
    m.mapNew(CODE, 1, RXU);
    m.mapNew(DATA, 1, RWU, 0);
    m.setReg(5, BigInt(DATA));
    m.runCode(CODE, [A.ld(6, 5, 0), A.ld(6, 5, 8), A.sd(6, 5, 16), A.ecall()]);
    expect(m.pteLo(DATA) & PTE_D).toBe(PTE_D);
  });
});

describe('superpages', () => {
  it('2 MiB and 1 GiB leaves translate with the low vpn bits as offset', () => {
    const m = machine();
    // 2 MiB page at va 0x400000 → pa 0x200000 (pfn 0x200 is 2 MiB aligned)
    m.map(0x400000, 0x200, RWU | PTE_A | PTE_D, 1);
    m.setReg(5, 0x400000n + 0x12345n);
    m.setReg(6, 0x0123456789abcdefn);
    m.runCode(CODE, [A.sd(6, 5, 0), A.ecall()]);
    expect(m.mem.view.getBigUint64(0x200000 + 0x12345, true)).toBe(0x0123456789abcdefn);
    // 1 GiB page at va 0x40000000 → pa 0 (the only 1 GiB-aligned frame in 8 MiB of RAM)
    m.map(0x40000000, 0, RWU | PTE_A | PTE_D, 2);
    m.setReg(5, 0x40000000n + 0x200000n + 0x12345n);
    m.runCode(CODE, [A.ld(7, 5, 0), A.ecall()]);
    expect(m.reg(7)).toBe(0x0123456789abcdefn);
  });
  it('misaligned superpages fault', () => {
    const m = machine();
    m.map(0x400000, 0x201, RWU | PTE_A | PTE_D, 1);
    m.setReg(5, 0x400000n);
    expect(m.runCode(CODE, [A.ld(6, 5, 0), A.ecall()])).toBe(Trap.LOAD_PAGE_FAULT);
    m.map(0x40000000, 0x200, RWU | PTE_A | PTE_D, 2);
    m.setReg(5, 0x40000000n);
    expect(m.runCode(CODE, [A.ld(6, 5, 0), A.ecall()])).toBe(Trap.LOAD_PAGE_FAULT);
  });
  it('PPN bits above bit 21 come from the PTE high word', () => {
    const m = machine();
    // pfn 2^22 + small would need 16 GiB of RAM: the high word is read, so this is outside RAM
    const a = m.pteAddr(DATA + 0x4000);
    m.mem.u32[a >>> 2] = ((5 << 10) | RWU | PTE_A | PTE_D | 1) >>> 0;
    m.mem.u32[(a >>> 2) + 1] = 1; // PPN bit 22
    m.hart.flushTlb();
    expect(at(m, 0x4000, [A.ld(6, 5, 0)])).toBe(Trap.LOAD_ACCESS);
  });
});

describe('TLB', () => {
  it('keeps a stale translation until flushTlbPage, then sees the new one', () => {
    const m = machine();
    const f1 = m.allocFrame();
    const f2 = m.allocFrame();
    m.mem.u8[f1 * 4096] = 1;
    m.mem.u8[f2 * 4096] = 2;
    m.map(0x60000, f1, RWU | PTE_A | PTE_D);
    m.setReg(5, 0x60000n);
    m.runCode(CODE, [A.lbu(6, 5, 0), A.ecall()]);
    expect(m.reg(6)).toBe(1n);
    // change the PTE behind the TLB's back (as the kernel does before flush_tlb_page)
    const a = m.pteAddr(0x60000);
    m.mem.u32[a >>> 2] = ((f2 << 10) | RWU | PTE_A | PTE_D | 1) >>> 0;
    m.hart.pc = CODE;
    m.hart.run(10);
    expect(m.reg(6)).toBe(1n);
    m.hart.flushTlbPage(0x60000);
    m.hart.pc = CODE;
    m.hart.run(10);
    expect(m.reg(6)).toBe(2n);
  });
  it('setRoot switches address spaces', () => {
    const m = machine();
    m.write64(DATA, 7n);
    m.setReg(5, BigInt(DATA));
    m.runCode(CODE, [A.ld(6, 5, 0), A.ecall()]);
    expect(m.reg(6)).toBe(7n);
    const other = m.allocFrame(); // an empty root: nothing mapped
    m.hart.setRoot(other);
    m.hart.pc = CODE;
    expect(m.hart.run(10)).toBe(Trap.INSN_PAGE_FAULT);
    m.hart.setRoot(m.root);
    m.hart.pc = CODE;
    expect(m.hart.run(10)).toBe(Trap.ECALL_U);
  });
});

describe('register API', () => {
  it('getReg/setReg round-trip signed and unsigned doubles', () => {
    const m = machine();
    const h = m.hart;
    h.setReg(5, -1);
    expect(m.reg(5)).toBe(0xffffffffffffffffn);
    expect(h.getReg(5)).toBe(-1);
    h.setReg(5, 2 ** 40 + 3);
    expect(h.getReg(5)).toBe(2 ** 40 + 3);
    h.setReg(5, 2 ** 63);
    expect(m.reg(5)).toBe(1n << 63n);
    h.setReg(5, -(2 ** 33) - 5);
    expect(h.getReg(5)).toBe(-(2 ** 33) - 5);
    h.setReg(0, 5);
    expect(h.getReg(0)).toBe(0);
  });
  it('saveContext/loadContext round-trip registers, pc and FP state', () => {
    const m = machine();
    const h = m.hart;
    h.setReg(10, 1234);
    h.f[3] = 2.5;
    h.pc = 0x10004;
    h.fflags = 3;
    h.frm = 2;
    const ctx = { x: new Int32Array(64), f: new Float64Array(32), pc: 0, fflags: 0, frm: 0 };
    h.saveContext(ctx);
    h.setReg(10, 0);
    h.f[3] = 0;
    h.pc = 0;
    ctx.x[0] = 99; // garbage in x0's slot must not leak into the hart
    h.loadContext(ctx);
    expect(h.getReg(10)).toBe(1234);
    expect(h.getReg(0)).toBe(0);
    expect(h.f[3]).toBe(2.5);
    expect([h.pc, h.fflags, h.frm]).toEqual([0x10004, 3, 2]);
  });
});
