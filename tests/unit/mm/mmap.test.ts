import { describe, expect, it } from 'vitest';
import { makeMm, MemFile } from './helpers.js';
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_SYNC,
  MAP_POPULATE,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  VM_GROWSDOWN,
  PROT_GROWSDOWN,
} from '../../../src/kernel/mm/mman.js';
import {
  MMAP_BASE,
  MMAP_MIN_ADDR,
  TASK_SIZE,
  STACK_TOP,
  ELF_ET_DYN_BASE,
  STACK_GUARD_GAP,
} from '../../../src/kernel/mm/layout.js';
import { EACCES, EEXIST, EINVAL, ENODEV, ENOMEM, EOPNOTSUPP, EPERM } from '../../../src/kernel/errno.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

function ranges(mm: ReturnType<typeof makeMm>['mm']): Array<[number, number, number]> {
  return mm.vmas.map((v) => [v.start, v.end, v.prot]);
}

describe('layout', () => {
  it('exports the riscv64 Sv39 constants', () => {
    expect(TASK_SIZE).toBe(0x40_0000_0000);
    expect(STACK_TOP).toBe(TASK_SIZE);
    expect(MMAP_BASE).toBe(0x3f_f800_0000);
    expect(ELF_ET_DYN_BASE).toBe(0x2a_aaaa_a000);
  });
});

describe('mmap', () => {
  it('places anonymous mappings top-down below mmap_base and merges neighbours', () => {
    const { mm } = makeMm();
    const a = mm.mmapRegion(0, 8192, RW, ANON, null, 0);
    expect(a).toBe(MMAP_BASE - 8192);
    const b = mm.mmapRegion(0, 100, RW, ANON, null, 0);
    expect(b).toBe(MMAP_BASE - 12288);
    // same flags, adjacent: one VMA
    expect(ranges(mm)).toEqual([[MMAP_BASE - 12288, MMAP_BASE, RW]]);
    const c = mm.mmapRegion(0, 4096, PROT_READ, ANON, null, 0);
    expect(c).toBe(MMAP_BASE - 16384);
    expect(mm.vmas.length).toBe(2);
  });

  it('honours a free hint, ignores a busy or too-low one', () => {
    const { mm } = makeMm();
    expect(mm.mmapRegion(0x1000_0000, 4096, RW, ANON, null, 0)).toBe(0x1000_0000);
    expect(mm.mmapRegion(0x1000_0000, 4096, RW, ANON, null, 0)).toBe(MMAP_BASE - 4096);
    expect(mm.mmapRegion(0x2000_0123, 4096, RW, ANON, null, 0)).toBe(0x2000_0000); // rounded down
    expect(mm.mmapRegion(0x1000, 4096, RW, ANON, null, 0)).toBe(MMAP_MIN_ADDR); // round_hint_to_min
  });

  it('checks arguments as Linux', () => {
    const { mm } = makeMm();
    expect(mm.mmapRegion(0, 0, RW, ANON, null, 0)).toBe(-EINVAL);
    expect(mm.mmapRegion(0, 4096, RW, MAP_ANONYMOUS, null, 0)).toBe(-EINVAL); // no type
    expect(mm.mmapRegion(0, 4096, RW, 0x0f | MAP_ANONYMOUS, null, 0)).toBe(-EINVAL);
    expect(mm.mmapRegion(0x10001, 4096, RW, ANON | MAP_FIXED, null, 0)).toBe(-EINVAL);
    expect(mm.mmapRegion(0x1000, 4096, RW, ANON | MAP_FIXED, null, 0)).toBe(-EPERM);
    expect(mm.mmapRegion(TASK_SIZE - 4096, 8192, RW, ANON | MAP_FIXED, null, 0)).toBe(-ENOMEM);
    expect(mm.mmapRegion(0, TASK_SIZE + 1, RW, ANON, null, 0)).toBe(-ENOMEM);
    // a private writable mapping larger than RAM fails (overcommit guess); PROT_READ-only does not
    expect(mm.mmapRegion(0, 64 * 1024 * 1024, RW, ANON, null, 0)).toBe(-ENOMEM);
    expect(mm.mmapRegion(0, 64 * 1024 * 1024, PROT_READ, ANON, null, 0)).toBeGreaterThan(0);
    expect(mm.mmapRegion(0, 4096, RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | MAP_SYNC, null, 0)).toBe(-EOPNOTSUPP);
    expect(mm.mmapRegion(0, 4096, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_SYNC, null, 0)).toBeGreaterThan(0);
  });

  it('MAP_FIXED replaces, MAP_FIXED_NOREPLACE refuses with EEXIST', () => {
    const { mm } = makeMm();
    const base = 0x4000_0000;
    expect(mm.mmapRegion(base, 16384, RW, ANON | MAP_FIXED, null, 0)).toBe(base);
    expect(mm.mmapRegion(base + 4096, 4096, PROT_READ, ANON | MAP_FIXED_NOREPLACE, null, 0)).toBe(-EEXIST);
    expect(mm.mmapRegion(base + 4096, 4096, PROT_READ, ANON | MAP_FIXED, null, 0)).toBe(base + 4096);
    expect(ranges(mm)).toEqual([
      [base, base + 4096, RW],
      [base + 4096, base + 8192, PROT_READ],
      [base + 8192, base + 16384, RW],
    ]);
    expect(mm.mmapRegion(base + 16384, 4096, RW, ANON | MAP_FIXED_NOREPLACE, null, 0)).toBe(base + 16384);
    expect(mm.vmas.length).toBe(3); // merged with the last one
  });

  it('file mappings check the open mode', () => {
    const { mm } = makeMm();
    const ro = new MemFile(new Uint8Array(8192), true, false);
    const rw = new MemFile(new Uint8Array(8192), true, true);
    const wo = new MemFile(new Uint8Array(8192), false, true);
    expect(mm.mmapRegion(0, 4096, RW, MAP_SHARED, ro, 0)).toBe(-EACCES);
    expect(mm.mmapRegion(0, 4096, RW, MAP_PRIVATE, ro, 0)).toBeGreaterThan(0);
    expect(mm.mmapRegion(0, 4096, PROT_READ, MAP_PRIVATE, wo, 0)).toBe(-EACCES);
    expect(mm.mmapRegion(0, 4096, RW, MAP_SHARED, rw, 0)).toBeGreaterThan(0);
    expect(mm.mmapRegion(0, 4096, PROT_READ, MAP_PRIVATE, ro, 100)).toBe(-75 /* EOVERFLOW for an unaligned offset */);
    const noWrite = new MemFile(new Uint8Array(8192), true, true, false);
    expect(mm.mmapRegion(0, 4096, RW, MAP_SHARED, noWrite, 0)).toBe(-ENODEV);
    // read-only shared mapping of a read-only file: VM_MAYWRITE cleared, mprotect(W) → EACCES
    const a = mm.mmapRegion(0, 4096, PROT_READ, MAP_SHARED, ro, 0);
    expect(mm.mprotect(a, 4096, RW)).toBe(-EACCES);
    // VMAs hold file references
    expect(ro.refs).toBe(3);
    mm.destroy();
    expect(ro.refs).toBe(1);
    expect(rw.refs).toBe(1);
  });
});

describe('munmap', () => {
  it('splits at partial unmap and frees pages and tables', () => {
    const { mm, alloc } = makeMm();
    const free0 = alloc.nrFree();
    const base = 0x4000_0000;
    mm.mmapRegion(base, 5 * 4096, RW, ANON | MAP_FIXED | MAP_POPULATE, null, 0);
    expect(mm.rss).toBe(5);
    expect(mm.unmapRegion(base + 4096, 4096 * 2)).toBe(0);
    expect(ranges(mm)).toEqual([
      [base, base + 4096, RW],
      [base + 3 * 4096, base + 5 * 4096, RW],
    ]);
    expect(mm.rss).toBe(3);
    expect(mm.pt.translate(base + 4096)).toBe(-1);
    expect(mm.pt.translate(base)).toBeGreaterThan(0);
    expect(mm.unmapRegion(base, 5 * 4096)).toBe(0);
    expect(mm.vmas.length).toBe(0);
    expect(alloc.nrFree()).toBe(free0); // frames and page tables all back
  });

  it('checks arguments as Linux', () => {
    const { mm } = makeMm();
    expect(mm.unmapRegion(0x10001, 4096)).toBe(-EINVAL);
    expect(mm.unmapRegion(0x10000, 0)).toBe(-EINVAL);
    expect(mm.unmapRegion(TASK_SIZE - 4096, 8192)).toBe(-EINVAL);
    expect(mm.unmapRegion(0x10000, 4096)).toBe(0); // nothing mapped: fine
    expect(mm.unmapRegion(0x10000, 1)).toBe(0); // length rounded up
  });
});

describe('mprotect', () => {
  it('splits and re-merges VMAs and rewrites PTEs', () => {
    const { mm } = makeMm();
    const base = 0x4000_0000;
    mm.mmapRegion(base, 3 * 4096, RW, ANON | MAP_FIXED | MAP_POPULATE, null, 0);
    expect(mm.mprotect(base + 4096, 4096, PROT_READ)).toBe(0);
    expect(ranges(mm)).toEqual([
      [base, base + 4096, RW],
      [base + 4096, base + 8192, PROT_READ],
      [base + 8192, base + 12288, RW],
    ]);
    expect(mm.pt.lookupFlags(base + 4096) & 0b110).toBe(0b010); // R, not W
    expect(mm.mprotect(base + 4096, 4096, RW)).toBe(0);
    expect(ranges(mm)).toEqual([[base, base + 12288, RW]]);
    expect(mm.pt.lookupFlags(base + 4096) & 0b110).toBe(0b110);
    // PROT_NONE keeps the frame but makes the PTE invalid to the hart
    expect(mm.mprotect(base, 4096, PROT_NONE)).toBe(0);
    expect(mm.pt.translate(base)).toBe(-1);
    expect(mm.pt.lookupFlags(base)).toBeGreaterThanOrEqual(0);
    expect(mm.handleFault(base, 0)).toBe(2);
    expect(mm.mprotect(base, 4096, RW)).toBe(0);
    expect(mm.pt.translate(base)).toBeGreaterThan(0);
  });

  it('errors: EINVAL, ENOMEM on holes, 0 for len 0', () => {
    const { mm } = makeMm();
    const base = 0x4000_0000;
    mm.mmapRegion(base, 4096, RW, ANON | MAP_FIXED, null, 0);
    mm.mmapRegion(base + 8192, 4096, RW, ANON | MAP_FIXED, null, 0);
    expect(mm.mprotect(base + 1, 4096, PROT_READ)).toBe(-EINVAL);
    expect(mm.mprotect(base, 0, PROT_READ)).toBe(0);
    expect(mm.mprotect(base, 4096, 0x40)).toBe(-EINVAL);
    expect(mm.mprotect(base, 3 * 4096, PROT_READ)).toBe(-ENOMEM);
    // Linux changes what lies before the hole
    expect(mm.vmas[0].prot).toBe(PROT_READ);
    expect(mm.mprotect(base + 4096, 4096, PROT_READ)).toBe(-ENOMEM);
    expect(mm.mprotect(base, 4096, PROT_READ | PROT_WRITE | PROT_EXEC)).toBe(0);
  });

  it('PROT_GROWSDOWN extends the change to the start of a grows-down VMA', () => {
    const { mm } = makeMm();
    expect(mm.setupStack(STACK_TOP, 4 * 4096)).toBe(0);
    expect(mm.vmas[0].flags & VM_GROWSDOWN).toBeTruthy();
    expect(mm.mprotect(STACK_TOP - 4096, 4096, PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN)).toBe(0);
    expect(ranges(mm)).toEqual([[STACK_TOP - 4 * 4096, STACK_TOP, RW | PROT_EXEC]]);
    expect(mm.mprotect(STACK_TOP - 4096, 4096, PROT_READ | PROT_GROWSDOWN | 0x02000000)).toBe(-EINVAL);
  });
});

describe('brk', () => {
  it('grows, shrinks and refuses to collide, returning the old break on failure', () => {
    const { mm } = makeMm();
    const start = 0x20000;
    mm.startBrk = mm.brk = start;
    expect(mm.sysBrk(0)).toBe(start);
    expect(mm.sysBrk(start + 10)).toBe(start + 10);
    expect(ranges(mm)).toEqual([[start, start + 4096, RW]]);
    expect(mm.sysBrk(start + 3 * 4096 + 1)).toBe(start + 3 * 4096 + 1);
    expect(ranges(mm)).toEqual([[start, start + 4 * 4096, RW]]);
    expect(mm.handleFault(start + 3 * 4096 + 8, 1)).toBe(0);
    expect(mm.sysBrk(start + 4096)).toBe(start + 4096);
    expect(ranges(mm)).toEqual([[start, start + 4096, RW]]);
    expect(mm.rss).toBe(0);
    expect(mm.sysBrk(start - 4096)).toBe(start + 4096); // below start_brk
    // something mapped above: growth must leave a page free
    mm.mmapRegion(start + 4 * 4096, 4096, PROT_READ, ANON | MAP_FIXED, null, 0);
    expect(mm.sysBrk(start + 3 * 4096)).toBe(start + 3 * 4096);
    expect(mm.sysBrk(start + 3 * 4096 + 1)).toBe(start + 3 * 4096);
    expect(mm.sysBrk(start)).toBe(start);
    expect(ranges(mm)).toEqual([[start + 4 * 4096, start + 5 * 4096, PROT_READ]]);
  });

  it('merges with an adjacent bss VMA of the same flags', () => {
    const { mm } = makeMm();
    mm.mmapRegion(0x10000, 0x2000, RW, ANON | MAP_FIXED, null, 0);
    mm.startBrk = mm.brk = 0x12000;
    expect(mm.sysBrk(0x15000)).toBe(0x15000);
    expect(ranges(mm)).toEqual([[0x10000, 0x15000, RW]]);
  });
});

describe('stack', () => {
  it('get_unmapped_area keeps the guard gap below the stack', () => {
    const { mm } = makeMm();
    mm.mmapBase = TASK_SIZE; // search right up to the stack
    mm.setupStack(STACK_TOP, 128 * 1024);
    const a = mm.mmapRegion(0, 4096, RW, ANON, null, 0);
    expect(a).toBe(STACK_TOP - 128 * 1024 - STACK_GUARD_GAP - 4096);
  });

  it('setupStack caps the initial stack at the rlimit and refuses overlaps', () => {
    const { mm } = makeMm();
    mm.setStackRlimit(64 * 1024);
    expect(mm.setupStack(STACK_TOP, 1024 * 1024)).toBe(0);
    expect(ranges(mm)).toEqual([[STACK_TOP - 64 * 1024, STACK_TOP, RW]]);
    expect(mm.setupStack(STACK_TOP, 4096)).toBe(-EEXIST);
    expect(mm.setupStack(STACK_TOP - 1, 4096)).toBe(-EINVAL);
    expect(mm.mmapBase).toBe(MMAP_BASE); // 64 KiB + guard gap < MIN_GAP
  });
});
