/**
 * Test fixture: guest RAM with a hand-built Sv39 page table and a Hart, plus helpers to place
 * code and data and run until a trap.
 */
import { PhysicalMemory } from '../../../src/machine/memory.js';
import { Clock } from '../../../src/machine/dev/clock.js';
import { Hart } from '../../../src/machine/cpu/hart.js';
import { PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X } from '../../../src/machine/cpu/trap.js';

export const RWXU = PTE_R | PTE_W | PTE_X | PTE_U;
export const RXU = PTE_R | PTE_X | PTE_U;
export const RWU = PTE_R | PTE_W | PTE_U;
export const RU = PTE_R | PTE_U;

export class TestMachine {
  readonly mem: PhysicalMemory;
  readonly hart: Hart;
  readonly root: number;
  private nextFrame = 1;

  constructor(memBytes = 8 << 20) {
    this.mem = new PhysicalMemory(memBytes);
    this.hart = new Hart(this.mem, new Clock());
    this.root = this.allocFrame();
    this.hart.setRoot(this.root);
  }

  allocFrame(): number {
    return this.nextFrame++;
  }

  /** Physical address of the PTE slot for `va` at `level`, creating tables above it. */
  pteAddr(va: number, level = 0): number {
    const vpn = Math.floor(va / 4096);
    let table = this.root;
    for (let l = 2; l > level; l--) {
      const idx = Math.floor(vpn / 2 ** (9 * l)) % 512;
      const a = table * 4096 + idx * 8;
      let lo = this.mem.u32[a >>> 2]!;
      if ((lo & PTE_V) === 0) {
        const f = this.allocFrame();
        lo = ((f << 10) | PTE_V) >>> 0;
        this.mem.u32[a >>> 2] = lo;
        this.mem.u32[(a >>> 2) + 1] = 0;
      }
      table = lo >>> 10;
    }
    return table * 4096 + (Math.floor(vpn / 2 ** (9 * level)) % 512) * 8;
  }

  /** Map one page (or a superpage at level 1/2) to frame `pfn` with `flags` (V added). */
  map(va: number, pfn: number, flags: number, level = 0): void {
    const a = this.pteAddr(va, level);
    this.mem.u32[a >>> 2] = ((pfn << 10) | flags | PTE_V) >>> 0;
    this.mem.u32[(a >>> 2) + 1] = Math.floor(pfn / 2 ** 22);
    this.hart.flushTlb();
  }

  /** Map `pages` fresh frames at `va`; returns the first pfn. A and D preset unless asked. */
  mapNew(va: number, pages: number, flags: number, ad = PTE_A | PTE_D): number {
    const first = this.nextFrame;
    for (let i = 0; i < pages; i++) this.map(va + i * 4096, this.allocFrame(), flags | ad);
    return first;
  }

  pteLo(va: number, level = 0): number {
    return this.mem.u32[this.pteAddr(va, level) >>> 2]!;
  }

  /** Physical address of a mapped va (test-side walk through our own table, 4 KiB pages). */
  pa(va: number): number {
    return (this.pteLo(va) >>> 10) * 4096 + (va % 4096);
  }

  write32(va: number, words: number[]): void {
    for (let i = 0; i < words.length; i++) this.mem.view.setUint32(this.pa(va + 4 * i), words[i]!, true);
    this.mem.wrote(this.pa(va), words.length * 4);
  }

  write16(va: number, halves: number[]): void {
    for (let i = 0; i < halves.length; i++) this.mem.view.setUint16(this.pa(va + 2 * i), halves[i]!, true);
    this.mem.wrote(this.pa(va), halves.length * 2);
  }

  read64(va: number): bigint {
    return this.mem.view.getBigUint64(this.pa(va), true);
  }

  write64(va: number, v: bigint): void {
    this.mem.view.setBigUint64(this.pa(va), BigInt.asUintN(64, v), true);
  }

  /** Register i as an unsigned bigint (tests only; the hart never uses BigInt). */
  reg(i: number): bigint {
    const x = this.hart.x;
    return (BigInt(x[2 * i + 1]! >>> 0) << 32n) | BigInt(x[2 * i]! >>> 0);
  }

  sreg(i: number): bigint {
    return BigInt.asIntN(64, this.reg(i));
  }

  setReg(i: number, v: bigint): void {
    const u = BigInt.asUintN(64, v);
    this.hart.setRegLoHi(i, Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0);
  }

  /** Place code at `va` and run from it until a trap (budget guards against runaway loops). */
  runCode(va: number, words: number[], budget = 100000): number {
    this.write32(va, words);
    this.hart.pc = va;
    return this.hart.run(budget);
  }
}
