/**
 * Hostile-input sweep: random mm system calls, faults and user copies with random arguments must
 * never throw, and must keep the invariants: VMAs sorted, page aligned, non-overlapping; every
 * present PTE inside a VMA; rss = present PTEs; everything freed on destroy (also after fork).
 */
import { describe, expect, it } from 'vitest';
import { makeMm, MemFile, pattern } from './helpers.js';
import { mmSyscalls } from '../../../src/kernel/mm/mmap.js';
import type { Task } from '../../../src/kernel/sched/task.js';
import type { MmStruct } from '../../../src/kernel/mm/mm_struct.js';
import {
  SYS_brk,
  SYS_madvise,
  SYS_mincore,
  SYS_mlock,
  SYS_mmap,
  SYS_mprotect,
  SYS_mremap,
  SYS_msync,
  SYS_munlock,
  SYS_munmap,
} from '../../../src/kernel/syscall/numbers.js';
import { clearUser, copyFromUser, copyToUser, strncpyFromUser } from '../../../src/kernel/mm/uaccess.js';
import { STACK_TOP } from '../../../src/kernel/mm/layout.js';

function checkInvariants(mm: MmStruct): void {
  let prevEnd = 0;
  for (const v of mm.vmas) {
    if (v.start % 4096 || v.end % 4096 || v.start >= v.end || v.start < prevEnd) {
      throw new Error(`bad VMA list at ${v.start.toString(16)}-${v.end.toString(16)}`);
    }
    prevEnd = v.end;
  }
  let present = 0;
  mm.pt.forEachPresent(0, 2 ** 38, (va) => {
    present++;
    if (!mm.vmaLookup(va)) throw new Error(`PTE outside any VMA at ${va.toString(16)}`);
  });
  if (present !== mm.rss) throw new Error(`rss ${mm.rss} != present ${present}`);
}

describe('mm under random input', () => {
  it('never throws and keeps its invariants', () => {
    let seed = 0x2545f491;
    const rnd = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)];
    const { mm, alloc } = makeMm(4);
    const file = new MemFile(pattern(3 * 4096 + 100), true, true);
    const t = { mm, files: { get: (fd: number) => (fd === 3 ? file : null) } } as unknown as Task;
    mm.startBrk = mm.brk = 0x80000;
    mm.setupStack(STACK_TOP, 8192);
    const region = 0x4000_0000;
    const addr = () =>
      pick([
        region + Math.floor(rnd() * 64) * 4096,
        region + Math.floor(rnd() * 64 * 4096),
        0,
        -4096,
        2 ** 38 - 4096,
        STACK_TOP - Math.floor(rnd() * 40) * 4096,
        0x80000 + Math.floor(rnd() * 16) * 4096,
      ]);
    const len = () => pick([4096, 8192, Math.floor(rnd() * 20) * 4096, Math.floor(rnd() * 50000), 0, -1, 2 ** 40]);
    const prot = () => pick([0, 1, 3, 5, 7, 2, 0x1000001, 0x40]);
    const flags = () => pick([0x22, 0x32, 0x21, 0x01, 0x02, 0x12, 0x100022, 0x8022, 0x2022, 0x03, 0x0f]);
    const seen = new Set<number>();
    let maxRss = 0;
    let maxVmas = 0;
    for (let step = 0; step < 4000; step++) {
      const op = Math.floor(rnd() * 14);
      const a = addr();
      let r: number | string | Uint8Array;
      switch (op) {
        case 0:
        case 1:
          r = mmSyscalls[SYS_mmap]!(t, a, len(), prot(), flags(), pick([-1, 3, 4]), pick([0, 4096, 100])) as number;
          break;
        case 2:
          r = mmSyscalls[SYS_munmap]!(t, a, len(), 0, 0, 0, 0) as number;
          break;
        case 3:
          r = mmSyscalls[SYS_mprotect]!(t, a, len(), prot(), 0, 0, 0) as number;
          break;
        case 4:
          r = mmSyscalls[SYS_mremap]!(t, a, len(), len(), pick([0, 1, 3, 5, 2, 8]), addr(), 0) as number;
          break;
        case 5:
          r = mmSyscalls[SYS_madvise]!(t, a, len(), pick([4, 8, 9, 10, 11, 18, 22, 23, 3, 14, 77]), 0, 0, 0) as number;
          break;
        case 6:
          r = mmSyscalls[SYS_brk]!(t, a, 0, 0, 0, 0, 0) as number;
          break;
        case 7:
          r = mm.handleFault(a + Math.floor(rnd() * 4096), pick([0, 1, 2] as const));
          break;
        case 8:
          r = copyToUser(mm, a + Math.floor(rnd() * 100), pattern(Math.floor(rnd() * 9000)));
          break;
        case 9:
          r = copyFromUser(mm, a, Math.floor(rnd() * 9000));
          break;
        case 10:
          r = strncpyFromUser(mm, a, pick([1, 10, 4096]));
          break;
        case 11:
          r = mmSyscalls[SYS_msync]!(t, a, len(), pick([1, 4, 2, 5, 0]), 0, 0, 0) as number;
          break;
        case 12:
          r = mmSyscalls[pick([SYS_mlock, SYS_munlock, SYS_mincore])]!(t, a, len(), addr(), 0, 0, 0) as number;
          break;
        default:
          r = clearUser(mm, a, Math.floor(rnd() * 9000));
      }
      if (typeof r === 'number') seen.add(r < 0 ? r : 0);
      checkInvariants(mm);
      maxRss = Math.max(maxRss, mm.rss);
      maxVmas = Math.max(maxVmas, mm.vmas.length);
    }
    expect(seen.size).toBeGreaterThan(3);
    expect(maxRss).toBeGreaterThan(20);
    expect(maxVmas).toBeGreaterThan(10);
    const child = mm.dup() as MmStruct;
    checkInvariants(child);
    mm.destroy();
    checkInvariants(child);
    child.destroy();
    child.destroy(); // idempotent
    expect(alloc.nrFree()).toBe(alloc.managedPages);
    expect(file.refs).toBe(1);
  });
});
