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
  SYS_mlockall,
  SYS_mmap,
  SYS_mprotect,
  SYS_mremap,
  SYS_msync,
  SYS_munlockall,
  SYS_munmap,
} from '../../../src/kernel/syscall/numbers.js';
import {
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_POPULATE_WRITE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  MCL_CURRENT,
  MCL_FUTURE,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  MS_ASYNC,
  MS_SYNC,
  PROT_READ,
  PROT_WRITE,
  VM_DONTCOPY,
  VM_LOCKED,
} from '../../../src/kernel/mm/mman.js';
import { copyFromUser, copyToUser } from '../../../src/kernel/mm/uaccess.js';
import { EBADF, EFAULT, EINVAL, ENOMEM } from '../../../src/kernel/errno.js';
import { MMAP_BASE } from '../../../src/kernel/mm/layout.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const base = 0x4000_0000;

function task(mm: MmStruct, files: Record<number, unknown> = {}): Task {
  return { mm, files: { get: (fd: number) => files[fd] ?? null } } as unknown as Task;
}
function call(t: Task, nr: number, ...a: number[]): number {
  const h = mmSyscalls[nr];
  if (!h) throw new Error(`no handler ${nr}`);
  return h(t, a[0] ?? 0, a[1] ?? 0, a[2] ?? 0, a[3] ?? 0, a[4] ?? 0, a[5] ?? 0) as number;
}

describe('mm system calls', () => {
  it('mmap/munmap/mprotect/brk through the table', () => {
    const { mm } = makeMm();
    const t = task(mm, { 3: new MemFile(pattern(10000)) });
    expect(call(t, SYS_mmap, 0, 4096, RW, ANON, -1, 0)).toBe(MMAP_BASE - 4096);
    expect(call(t, SYS_mmap, 0, 4096, RW, MAP_PRIVATE, 9, 0)).toBe(-EBADF);
    expect(call(t, SYS_mmap, 0, 4096, RW, MAP_PRIVATE, -1, 0)).toBe(-EBADF);
    expect(call(t, SYS_mmap, 0, 4096, RW, ANON, -1, 100)).toBe(-EINVAL);
    expect(call(t, SYS_mmap, 0, -4096, RW, ANON, -1, 0)).toBe(-ENOMEM); // huge unsigned length
    const f = call(t, SYS_mmap, 0, 8192, PROT_READ, MAP_PRIVATE, 3, 4096);
    expect(f).toBeGreaterThan(0);
    expect((copyFromUser(mm, f, 4) as Uint8Array)[0]).toBe(pattern(10000)[4096]);
    expect(call(t, SYS_mprotect, f, 4096, RW)).toBe(0);
    expect(call(t, SYS_munmap, f, 8192)).toBe(0);
    expect(call(t, SYS_munmap, -4096, 4096)).toBe(-EINVAL);
    mm.startBrk = mm.brk = 0x30000;
    expect(call(t, SYS_brk, 0)).toBe(0x30000);
    expect(call(t, SYS_brk, 0x32000)).toBe(0x32000);
    expect(call(t, SYS_brk, -1)).toBe(0x32000);
  });

  it('mremap grows in place, moves with MAYMOVE keeping contents, shrinks', () => {
    const { mm } = makeMm();
    const t = task(mm);
    mm.mmapRegion(base, 8192, RW, ANON | MAP_FIXED, null, 0);
    copyToUser(mm, base, pattern(8192, 3));
    expect(call(t, SYS_mremap, base, 8192, 16384, 0)).toBe(base); // room above: in place
    expect(mm.vmas[0].end).toBe(base + 16384);
    mm.mmapRegion(base + 16384, 4096, PROT_READ, ANON | MAP_FIXED, null, 0);
    expect(call(t, SYS_mremap, base, 16384, 32768, 0)).toBe(-ENOMEM);
    const moved = call(t, SYS_mremap, base, 16384, 32768, MREMAP_MAYMOVE);
    expect(moved).toBeGreaterThan(0);
    expect(moved).not.toBe(base);
    expect(mm.vmaLookup(base)).toBe(null);
    const back = copyFromUser(mm, moved, 8192) as Uint8Array;
    expect(Buffer.from(back).equals(Buffer.from(pattern(8192, 3)))).toBe(true);
    expect(call(t, SYS_mremap, moved, 32768, 4096, 0)).toBe(moved);
    expect(mm.vmaLookup(moved)!.end).toBe(moved + 4096);
    // fixed destination
    const dst = 0x5000_0000;
    expect(call(t, SYS_mremap, moved, 4096, 4096, MREMAP_FIXED | MREMAP_MAYMOVE, dst)).toBe(dst);
    expect((copyFromUser(mm, dst, 1) as Uint8Array)[0]).toBe(pattern(8192, 3)[0]);
    // errors
    expect(call(t, SYS_mremap, dst + 1, 4096, 4096, 0)).toBe(-EINVAL);
    expect(call(t, SYS_mremap, dst, 4096, 8192, MREMAP_FIXED, 0x6000_0000)).toBe(-EINVAL);
    expect(call(t, SYS_mremap, dst, 4096, 0, 0)).toBe(-EINVAL);
    expect(call(t, SYS_mremap, 0x7000_0000, 4096, 8192, MREMAP_MAYMOVE)).toBe(-EFAULT);
    expect(call(t, SYS_mremap, dst, 8192, 16384, MREMAP_MAYMOVE)).toBe(-EFAULT);
    expect(call(t, SYS_mremap, dst, 4096, 4096, 8)).toBe(-EINVAL);
    // DONTUNMAP: the old range stays mapped but empty
    const dd = call(t, SYS_mremap, dst, 4096, 4096, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
    expect(dd).toBeGreaterThan(0);
    expect(mm.vmaLookup(dst)).not.toBe(null);
    expect((copyFromUser(mm, dst, 1) as Uint8Array)[0]).toBe(0);
    expect((copyFromUser(mm, dd, 1) as Uint8Array)[0]).toBe(pattern(8192, 3)[0]);
  });

  it('madvise DONTNEED zeroes anonymous pages and re-reads file pages', () => {
    const { mm, alloc } = makeMm();
    const t = task(mm);
    mm.mmapRegion(base, 8192, RW, ANON | MAP_FIXED, null, 0);
    copyToUser(mm, base, new Uint8Array(8192).fill(9));
    const free = alloc.nrFree();
    expect(call(t, SYS_madvise, base, 8192, MADV_DONTNEED)).toBe(0);
    expect(alloc.nrFree()).toBe(free + 2);
    expect((copyFromUser(mm, base + 4096, 1) as Uint8Array)[0]).toBe(0);
    const f = new MemFile(pattern(4096, 5));
    const a = mm.mmapRegion(0, 4096, RW, MAP_PRIVATE, f, 0);
    copyToUser(mm, a, new Uint8Array([0xaa]));
    expect(call(t, SYS_madvise, a, 4096, MADV_DONTNEED)).toBe(0);
    expect((copyFromUser(mm, a, 1) as Uint8Array)[0]).toBe(pattern(4096, 5)[0]);
    expect(call(t, SYS_madvise, a, 4096, MADV_FREE)).toBe(-EINVAL); // file
    expect(call(t, SYS_madvise, base + 1, 4096, MADV_DONTNEED)).toBe(-EINVAL);
    expect(call(t, SYS_madvise, base, 4096, 999)).toBe(-EINVAL);
    expect(call(t, SYS_madvise, base, 4096, MADV_HUGEPAGE)).toBe(-EINVAL);
    expect(call(t, SYS_madvise, base, 0, MADV_DONTNEED)).toBe(0);
    expect(call(t, SYS_madvise, base, 16384, MADV_DONTNEED)).toBe(-ENOMEM); // hole after
    expect(call(t, SYS_madvise, base, 4096, MADV_DONTFORK)).toBe(0);
    expect(mm.vmas[0].flags & VM_DONTCOPY).toBeTruthy();
    expect(mm.vmaLookup(base + 4096)!.flags & VM_DONTCOPY).toBe(0);
    expect(call(t, SYS_madvise, base + 4096, 4096, MADV_POPULATE_WRITE)).toBe(0);
    expect(mm.pt.translate(base + 4096)).toBeGreaterThan(0);
  });

  it('msync writes shared pages back; checks flags', () => {
    const { mm } = makeMm();
    const t = task(mm);
    const f = new MemFile(new Uint8Array(4096), true, true);
    const a = mm.mmapRegion(0, 4096, RW, MAP_SHARED, f, 0);
    copyToUser(mm, a + 5, new Uint8Array([1, 2, 3]));
    expect(f.data[5]).toBe(0);
    expect(call(t, SYS_msync, a, 4096, MS_SYNC)).toBe(0);
    expect(Array.from(f.data.subarray(5, 8))).toEqual([1, 2, 3]);
    expect(call(t, SYS_msync, a, 4096, MS_SYNC | MS_ASYNC)).toBe(-EINVAL);
    expect(call(t, SYS_msync, a + 1, 4096, MS_SYNC)).toBe(-EINVAL);
    expect(call(t, SYS_msync, a, 4096, 8)).toBe(-EINVAL);
    expect(call(t, SYS_msync, 0x7000_0000, 4096, MS_ASYNC)).toBe(-ENOMEM);
  });

  it('mincore reports resident pages', () => {
    const { mm } = makeMm();
    const t = task(mm);
    mm.mmapRegion(base, 3 * 4096, RW, ANON | MAP_FIXED, null, 0);
    mm.mmapRegion(0x5000_0000, 4096, RW, ANON | MAP_FIXED, null, 0);
    copyToUser(mm, base + 4096, new Uint8Array(1));
    expect(call(t, SYS_mincore, base, 3 * 4096 - 100, 0x5000_0000)).toBe(0);
    expect(Array.from(copyFromUser(mm, 0x5000_0000, 3) as Uint8Array)).toEqual([0, 1, 0]);
    expect(call(t, SYS_mincore, base + 1, 4096, 0x5000_0000)).toBe(-EINVAL);
    expect(call(t, SYS_mincore, base, 4 * 4096, 0x5000_0000)).toBe(-ENOMEM);
    expect(call(t, SYS_mincore, base, 4096, 0x6000_0000)).toBe(-EFAULT);
  });

  it('mlock populates and accounts; mlockall/munlockall', () => {
    const { mm } = makeMm();
    const t = task(mm);
    mm.mmapRegion(base, 4 * 4096, RW, ANON | MAP_FIXED, null, 0);
    expect(call(t, SYS_mlock, base + 4096 + 10, 4096)).toBe(0); // unaligned: widened to 2 pages
    expect(mm.vmStats().locked).toBe(2);
    expect(mm.pt.translate(base + 4096)).toBeGreaterThan(0);
    expect(mm.pt.translate(base + 2 * 4096)).toBeGreaterThan(0);
    expect(mm.pt.translate(base)).toBe(-1);
    expect(mm.vmas.length).toBe(3);
    expect(call(t, SYS_mlock, 0x7000_0000, 4096)).toBe(-ENOMEM);
    expect(call(t, SYS_mlockall, 0)).toBe(-EINVAL);
    expect(call(t, SYS_mlockall, MCL_CURRENT | MCL_FUTURE)).toBe(0);
    expect(mm.vmas.length).toBe(1);
    expect(mm.vmStats().locked).toBe(4);
    const b = call(t, SYS_mmap, 0, 4096, RW, ANON, -1, 0);
    expect(mm.vmaLookup(b)!.flags & VM_LOCKED).toBeTruthy();
    expect(mm.pt.translate(b)).toBeGreaterThan(0);
    expect(call(t, SYS_munlockall)).toBe(0);
    expect(mm.vmStats().locked).toBe(0);
  });
});
