import { describe, expect, it } from 'vitest';
import { makeMm, MemFile, pattern } from './helpers.js';
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
} from '../../../src/kernel/mm/mman.js';
import { PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X } from '../../../src/kernel/mm/pgtable.js';
import { FAULT_SIGBUS, SEGV_ACCERR, SEGV_MAPERR } from '../../../src/kernel/mm/fault.js';
import { STACK_TOP, STACK_RLIMIT_DEFAULT, STACK_GUARD_GAP } from '../../../src/kernel/mm/layout.js';
import { ENOMEM } from '../../../src/kernel/errno.js';
import { MmStruct } from '../../../src/kernel/mm/mm_struct.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const base = 0x4000_0000;

describe('handleFault', () => {
  it('demand-zero anonymous pages with PTE bits from the VMA', () => {
    const { mm, mem } = makeMm();
    mm.mmapRegion(base, 8192, RW, ANON | MAP_FIXED, null, 0);
    expect(mm.pt.translate(base)).toBe(-1);
    expect(mm.handleFault(base + 5, 0)).toBe(0);
    const pa = mm.pt.translate(base);
    expect(pa).toBeGreaterThan(0);
    expect(mem.u8.subarray(pa, pa + 4096).every((b) => b === 0)).toBe(true);
    expect(mm.pt.lookupFlags(base)).toBe(PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
    expect(mm.rss).toBe(1);
    // a second fault on a present page is spurious: same frame
    expect(mm.handleFault(base + 9, 1)).toBe(0);
    expect(mm.pt.translate(base)).toBe(pa);
    expect(mm.rss).toBe(1);
  });

  it('MAPERR without a VMA, ACCERR on permission', () => {
    const { mm } = makeMm();
    mm.mmapRegion(base, 4096, PROT_READ, ANON | MAP_FIXED, null, 0);
    mm.mmapRegion(base + 0x10000, 4096, PROT_EXEC, ANON | MAP_FIXED, null, 0);
    expect(mm.handleFault(base + 4096, 0)).toBe(SEGV_MAPERR);
    expect(mm.handleFault(0, 0)).toBe(SEGV_MAPERR);
    expect(mm.handleFault(-1, 0)).toBe(SEGV_MAPERR);
    expect(mm.handleFault(2 ** 40, 0)).toBe(SEGV_MAPERR);
    expect(mm.handleFault(base, 1)).toBe(SEGV_ACCERR);
    expect(mm.handleFault(base, 2)).toBe(SEGV_ACCERR);
    expect(mm.handleFault(base, 0)).toBe(0);
    expect(mm.pt.lookupFlags(base)).toBe(PTE_V | PTE_R | PTE_U | PTE_A);
    // exec-only: fetch ok, load not
    expect(mm.handleFault(base + 0x10000, 0)).toBe(SEGV_ACCERR);
    expect(mm.handleFault(base + 0x10000, 2)).toBe(0);
    expect(mm.pt.lookupFlags(base + 0x10000)).toBe(PTE_V | PTE_X | PTE_U | PTE_A);
    // write-only maps as RW (riscv has no W-only encoding)
    mm.mmapRegion(base + 0x20000, 4096, PROT_WRITE, ANON | MAP_FIXED, null, 0);
    expect(mm.handleFault(base + 0x20000, 0)).toBe(0);
    expect(mm.pt.lookupFlags(base + 0x20000) & (PTE_R | PTE_W)).toBe(PTE_R | PTE_W);
  });

  it('fills private file pages from the file, zero past EOF, SIGBUS beyond the last page', () => {
    const { mm, mem } = makeMm();
    const data = pattern(6000);
    const f = new MemFile(data);
    const a = mm.mmapRegion(0, 4 * 4096, RW, MAP_PRIVATE, f, 0);
    expect(mm.handleFault(a + 100, 0)).toBe(0);
    let pa = mm.pt.translate(a);
    expect(Array.from(mem.u8.subarray(pa, pa + 4096))).toEqual(Array.from(data.subarray(0, 4096)));
    expect(mm.handleFault(a + 4096, 1)).toBe(0);
    pa = mm.pt.translate(a + 4096);
    expect(Array.from(mem.u8.subarray(pa, pa + 6000 - 4096))).toEqual(Array.from(data.subarray(4096)));
    expect(mem.u8.subarray(pa + 6000 - 4096, pa + 4096).every((b) => b === 0)).toBe(true);
    expect(mm.handleFault(a + 2 * 4096, 0)).toBe(FAULT_SIGBUS);
    expect(mm.pt.translate(a + 2 * 4096)).toBe(-1);
    // the private copy does not write through
    mem.u8[pa] = 0xee;
    expect(f.data[4096]).toBe(data[4096]);
    // offset mapping
    const b = mm.mmapRegion(0, 4096, PROT_READ, MAP_PRIVATE, f, 4096);
    expect(mm.handleFault(b, 0)).toBe(0);
    expect(mem.u8[mm.pt.translate(b)]).toBe(data[4096]);
  });

  it('a read error gives SIGBUS, a throwing file too', () => {
    const { mm } = makeMm();
    const bad = { pread: () => -5 };
    const a = mm.mmapRegion(0, 4096, PROT_READ, MAP_PRIVATE, bad, 0);
    expect(mm.handleFault(a, 0)).toBe(FAULT_SIGBUS);
    const thrower = {
      pread: (): number => {
        throw new Error('boom');
      },
    };
    const b = mm.mmapRegion(0, 4096, PROT_READ, MAP_PRIVATE, thrower, 0);
    expect(mm.handleFault(b, 0)).toBe(FAULT_SIGBUS);
  });

  it('MAP_SHARED file pages are written back on msync/munmap', () => {
    const { mm, mem } = makeMm();
    const f = new MemFile(pattern(5000), true, true);
    const a = mm.mmapRegion(0, 8192, RW, MAP_SHARED, f, 0);
    expect(mm.handleFault(a, 0)).toBe(0);
    expect(mm.pt.lookupFlags(a) & PTE_D).toBe(0); // clean until written
    expect(mm.handleFault(a + 4096 + 10, 1)).toBe(0);
    const pa = mm.pt.translate(a + 4096);
    mem.u8[pa + 10] = 0x42;
    mem.u8[pa + 1000] = 0x43; // past EOF (5000): not written back, the file does not grow
    expect(mm.unmapRegion(a, 8192)).toBe(0);
    expect(f.data.length).toBe(5000);
    expect(f.data[4096 + 10]).toBe(0x42);
  });

  it('grows the stack down within the rlimit and the guard gap', () => {
    const { mm } = makeMm();
    expect(mm.setupStack(STACK_TOP, 128 * 1024)).toBe(0);
    const low = STACK_TOP - 128 * 1024;
    expect(mm.handleFault(low - 8, 1)).toBe(0);
    expect(mm.vmas[0].start).toBe(low - 4096);
    // a far access below also extends (Linux no longer checks against sp)
    expect(mm.handleFault(STACK_TOP - 1024 * 1024, 1)).toBe(0);
    expect(mm.vmas[0].start).toBe(STACK_TOP - 1024 * 1024);
    // beyond RLIMIT_STACK: MAPERR
    expect(mm.handleFault(STACK_TOP - STACK_RLIMIT_DEFAULT - 4096, 1)).toBe(SEGV_MAPERR);
    expect(mm.handleFault(STACK_TOP - STACK_RLIMIT_DEFAULT, 1)).toBe(0);
    // a mapping within the guard gap below stops growth
    const { mm: mm2 } = makeMm();
    mm2.setupStack(STACK_TOP, 4096);
    const other = STACK_TOP - 4096 - STACK_GUARD_GAP - 4096;
    mm2.mmapRegion(other, 4096, RW, ANON | MAP_FIXED, null, 0);
    expect(mm2.handleFault(STACK_TOP - 8192, 1)).toBe(SEGV_MAPERR);
    mm2.unmapRegion(other, 4096);
    expect(mm2.handleFault(STACK_TOP - 8192, 1)).toBe(0);
  });

  it('returns -ENOMEM when frames run out, and recovers', () => {
    const { mm, alloc } = makeMm(1); // 256 frames, 16 reserved
    const a = mm.mmapRegion(0, 200 * 4096 * 4, RW, ANON | 0x4000 /* MAP_NORESERVE */, null, 0);
    expect(a).toBeGreaterThan(0);
    let r = 0;
    let n = 0;
    for (let va = a; va < a + 800 * 4096; va += 4096) {
      r = mm.handleFault(va, 1);
      if (r !== 0) break;
      n++;
    }
    expect(r).toBe(-ENOMEM);
    expect(alloc.nrFree()).toBeLessThan(2);
    mm.destroy();
    expect(alloc.nrFree()).toBe(240);
    expect(n).toBeGreaterThan(200);
  });

  it('fork (dup) shares pages copy-on-write', () => {
    const { mm, mem, alloc } = makeMm();
    mm.mmapRegion(base, 8192, RW, ANON | MAP_FIXED, null, 0);
    mm.mmapRegion(base + 0x10000, 4096, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, null, 0);
    mm.handleFault(base, 1);
    mm.handleFault(base + 0x10000, 1);
    const pa = mm.pt.translate(base);
    mem.u8[pa] = 7;
    const child = mm.dup() as MmStruct;
    expect(child).toBeInstanceOf(MmStruct);
    expect(child.vmas.length).toBe(2);
    expect(child.pt.translate(base)).toBe(pa);
    expect(alloc.pageCount(pa / 4096)).toBe(2);
    expect(mm.pt.lookupFlags(base) & PTE_W).toBe(0);
    expect(child.pt.lookupFlags(base) & PTE_W).toBe(0);
    // shared anon stays writable and shared
    expect(child.pt.translate(base + 0x10000)).toBe(mm.pt.translate(base + 0x10000));
    expect(child.pt.lookupFlags(base + 0x10000) & PTE_W).toBe(PTE_W);
    // child writes: gets its own copy
    expect(child.handleFault(base, 1)).toBe(0);
    const cpa = child.pt.translate(base);
    expect(cpa).not.toBe(pa);
    expect(mem.u8[cpa]).toBe(7);
    expect(alloc.pageCount(pa / 4096)).toBe(1);
    // parent writes: sole owner now, reuses in place
    expect(mm.handleFault(base, 1)).toBe(0);
    expect(mm.pt.translate(base)).toBe(pa);
    expect(mm.pt.lookupFlags(base) & PTE_W).toBe(PTE_W);
    // a read-only mprotect/back keeps COW pages write-protected
    const free = alloc.nrFree();
    child.destroy();
    expect(alloc.nrFree()).toBeGreaterThan(free);
    mm.destroy();
  });
});
