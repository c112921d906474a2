/**
 * mm/mmap.c: do_mmap / mmap_region, do_munmap, get_unmapped_area (top-down), brk, the stack VMA,
 * and the memory-management system-call table `mmSyscalls` (handlers of the other mm/*.c files
 * are collected here).
 */
import type { MmStruct } from './mm_struct.js';
import { VmArea, vmStartGap } from './vma.js';
import type { MappedFile } from './vma.js';
import { MAX_MAP_COUNT, MMAP_MIN_ADDR, PAGE_SIZE, TASK_SIZE, pageAlignUp } from './layout.js';
import {
  LEGACY_MAP_MASK,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_NONBLOCK,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_TYPE,
  PROT_WRITE,
  VM_DATA_DEFAULT_FLAGS,
  VM_GROWSDOWN,
  VM_LOCKED,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_MAY_FLAGS,
  VM_NORESERVE,
  VM_SHARED,
  VM_STACK_FLAGS,
  VM_WRITE,
  calcVmProtBits,
} from './mman.js';
import { EACCES, EBADF, EEXIST, EINVAL, ENODEV, ENOMEM, EOPNOTSUPP, EOVERFLOW, EPERM } from '../errno.js';
import { populateRange, writebackRange, zapPageRange } from './memory.js';
import { shmemZeroSetup } from './shmem.js';
import type { SyscallHandler, SyscallTable } from '../syscall/types.js';
import {
  SYS_brk,
  SYS_madvise,
  SYS_mincore,
  SYS_mlock,
  SYS_mlock2,
  SYS_mlockall,
  SYS_mmap,
  SYS_mprotect,
  SYS_mremap,
  SYS_msync,
  SYS_munlock,
  SYS_munlockall,
  SYS_munmap,
  SYS_pkey_mprotect,
} from '../syscall/numbers.js';
import { sysMprotect, sysPkeyMprotect } from './mprotect.js';
import { sysMremap } from './mremap.js';
import { sysMadvise } from './madvise.js';
import { sysMsync } from './msync.js';
import { sysMincore } from './mincore.js';
import { sysMlock, sysMlock2, sysMlockall, sysMunlock, sysMunlockall } from './mlock.js';

/** TASK_UNMAPPED_BASE: where the bottom-up fallback search starts (PAGE_ALIGN(TASK_SIZE / 3)). */
export const TASK_UNMAPPED_BASE = pageAlignUp(TASK_SIZE / 3);

/**
 * A system-call argument as the unsigned 64-bit value it is (arguments arrive as signed doubles):
 * negative values become ≥ 2^63, i.e. far beyond any user address, which the checks then reject.
 */
export function ulong(a: number): number {
  return a < 0 ? a + 2 ** 64 : a;
}

/**
 * vm_unmapped_area() top-down: the highest gap of `len` bytes between VMAs (respecting the stack
 * guard gap) inside [low, high). Linux walks the maple tree's gap info in O(log n); we scan the
 * sorted array from the top. Returns the address or -ENOMEM.
 */
function unmappedAreaTopdown(mm: MmStruct, len: number, low: number, high: number): number {
  const v = mm.vmas;
  for (let i = v.length; i >= 0; i--) {
    let gapStart = i > 0 ? v[i - 1].end : 0;
    let gapEnd = i < v.length ? vmStartGap(v[i]) : TASK_SIZE;
    if (gapStart >= high) continue;
    if (gapEnd > high) gapEnd = high;
    if (gapStart < low) gapStart = low;
    if (gapEnd - gapStart >= len) return gapEnd - len;
    if (gapStart <= low) break;
  }
  return -ENOMEM;
}

/** vm_unmapped_area() bottom-up: the lowest gap of `len` bytes inside [low, high). */
function unmappedAreaBottomup(mm: MmStruct, len: number, low: number, high: number): number {
  const v = mm.vmas;
  for (let i = 0; i <= v.length; i++) {
    let gapStart = i > 0 ? v[i - 1].end : 0;
    let gapEnd = i < v.length ? vmStartGap(v[i]) : TASK_SIZE;
    if (gapEnd <= low) continue;
    if (gapStart < low) gapStart = low;
    if (gapEnd > high) gapEnd = high;
    if (gapEnd - gapStart >= len) return gapStart;
    if (gapEnd >= high) break;
  }
  return -ENOMEM;
}

/**
 * get_unmapped_area() → arch_get_unmapped_area_topdown(): MAP_FIXED takes addr as is (after the
 * range checks); a hint is used when the range is free; otherwise search down from mmap_base,
 * falling back to a bottom-up search from TASK_UNMAPPED_BASE. Returns the address or -errno.
 */
export function getUnmappedArea(mm: MmStruct, addr: number, len: number, flags: number): number {
  if (len > TASK_SIZE - MMAP_MIN_ADDR) return -ENOMEM;
  if (flags & MAP_FIXED) {
    if (addr > TASK_SIZE - len) return -ENOMEM;
    if (addr % PAGE_SIZE !== 0) return -EINVAL;
    // security_mmap_addr(): below vm.mmap_min_addr needs CAP_SYS_RAWIO, which we do not grant.
    if (addr < MMAP_MIN_ADDR) return -EPERM;
    return addr;
  }
  if (addr) {
    addr = pageAlignUp(addr);
    if (addr <= TASK_SIZE - len && addr >= MMAP_MIN_ADDR) {
      const vma = mm.findVma(addr);
      if (!vma || addr + len <= vmStartGap(vma)) return addr;
    }
  }
  const low = Math.max(PAGE_SIZE, MMAP_MIN_ADDR);
  let a = unmappedAreaTopdown(mm, len, low, mm.mmapBase);
  if (a < 0) a = unmappedAreaBottomup(mm, len, TASK_UNMAPPED_BASE, TASK_SIZE);
  return a;
}

/**
 * __vm_enough_memory() in OVERCOMMIT_GUESS mode: a private writable mapping (one that may need
 * its own frames) larger than all of RAM is refused. Smaller ones overcommit, as Linux does by
 * default; running out later kills the faulting task.
 */
function enoughMemory(mm: MmStruct, vmFlags: number, pages: number): boolean {
  if ((vmFlags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) !== VM_WRITE) return true;
  return pages <= mm.pageAlloc.totalPages;
}

/**
 * do_mmap(). `addr`, `len` and `offset` are non-negative numbers (the syscall layer converts
 * negative arguments with `ulong`). See MmStruct.mmapRegion.
 *
 * MAP_SHARED anonymous memory is backed by a shmem object (mm/shmem.ts), so every page is shared
 * with the children forked later. File mappings of files with a page cache (ramfs) map the cache's
 * frames (mm/filemap.ts); other files are read at fault time and written back on msync/munmap/exit.
 */
export function doMmap(
  mm: MmStruct,
  addr: number,
  len: number,
  prot: number,
  flags: number,
  file: MappedFile | null,
  offset: number,
): number {
  if (!(len >= 0) || !(addr >= 0)) return -EINVAL;
  if (len === 0) return -EINVAL;
  if (!(offset >= 0) || offset % PAGE_SIZE !== 0) return file ? -EOVERFLOW : -EINVAL;
  if (flags & MAP_FIXED_NOREPLACE) flags |= MAP_FIXED;
  if (!(flags & MAP_FIXED)) {
    // round_hint_to_min()
    addr -= addr % PAGE_SIZE;
    if (addr !== 0 && addr < MMAP_MIN_ADDR) addr = MMAP_MIN_ADDR;
  }
  if (len > TASK_SIZE) return -ENOMEM;
  len = pageAlignUp(len);
  if (file && offset + len > Number.MAX_SAFE_INTEGER) return -EOVERFLOW;
  if (mm.vmas.length > MAX_MAP_COUNT) return -ENOMEM;

  addr = getUnmappedArea(mm, addr, len, flags);
  if (addr < 0) return addr;
  if (flags & MAP_FIXED_NOREPLACE && mm.findVmaIntersection(addr, addr + len)) return -EEXIST;

  let vmFlags = calcVmProtBits(prot) | mm.defFlags | VM_MAY_FLAGS;
  if (flags & MAP_GROWSDOWN) vmFlags |= VM_GROWSDOWN;
  if (flags & MAP_LOCKED) vmFlags |= VM_LOCKED;
  if (flags & MAP_NORESERVE) vmFlags |= VM_NORESERVE;
  const type = flags & MAP_TYPE;
  let pgoff: number;
  const validateMask = LEGACY_MAP_MASK | MAP_FIXED_NOREPLACE | MAP_SHARED_VALIDATE;
  if (file) {
    // FMODE_READ/WRITE; an object that does not say is taken as read-only.
    const readable = file.readable ?? true;
    const writable = file.writable ?? false;
    pgoff = offset / PAGE_SIZE;
    if (type === MAP_SHARED || type === MAP_SHARED_VALIDATE) {
      // MAP_SHARED_VALIDATE rejects flags it does not know; MAP_SYNC needs DAX, which no file has.
      if (type === MAP_SHARED_VALIDATE && (flags & ~validateMask) !== 0) return -EOPNOTSUPP;
      if (prot & PROT_WRITE && !writable) return -EACCES;
      vmFlags |= VM_SHARED | VM_MAYSHARE;
      if (!writable) vmFlags &= ~(VM_MAYWRITE | VM_SHARED);
      else if (!file.pwrite) {
        // Without a way to write pages back, a shared writable mapping could not honour writes.
        if (prot & PROT_WRITE) return -ENODEV;
        vmFlags &= ~VM_MAYWRITE;
      }
    } else if (type !== MAP_PRIVATE) {
      return -EINVAL;
    }
    if (!readable) return -EACCES;
    if (typeof file.pread !== 'function') return -ENODEV;
  } else {
    if (type === MAP_SHARED || type === MAP_SHARED_VALIDATE) {
      if (type === MAP_SHARED_VALIDATE && (flags & ~validateMask) !== 0) return -EOPNOTSUPP;
      vmFlags |= VM_SHARED | VM_MAYSHARE;
      pgoff = 0;
      // shmem_zero_setup(): a shmem object backs the area, so pages are shared across fork.
      file = shmemZeroSetup(len);
    } else if (type === MAP_PRIVATE) {
      pgoff = addr / PAGE_SIZE;
    } else {
      return -EINVAL;
    }
  }
  const r = mmapRegionInternal(mm, file, addr, len, vmFlags, pgoff);
  if (r < 0) return r;
  if (vmFlags & VM_LOCKED || (flags & (MAP_POPULATE | MAP_NONBLOCK)) === MAP_POPULATE) {
    // mm_populate(): errors are ignored, the mapping stands (faults retry later).
    populateRange(mm, addr, addr + len);
  }
  return addr;
}

/** mmap_region(): replace whatever is in [addr, addr+len) with a new VMA, merging with neighbours. */
function mmapRegionInternal(
  mm: MmStruct,
  file: MappedFile | null,
  addr: number,
  len: number,
  vmFlags: number,
  pgoff: number,
): number {
  const end = addr + len;
  if (!enoughMemory(mm, vmFlags, len / PAGE_SIZE)) return -ENOMEM;
  if (mm.findVmaIntersection(addr, end)) {
    const r = munmapRange(mm, addr, end);
    if (r < 0) return r;
  }
  if (mm.vmas.length >= MAX_MAP_COUNT) return -ENOMEM;
  const i = mm.insertVma(new VmArea(addr, end, vmFlags, file, pgoff));
  mm.mergeAround(i);
  return addr;
}

/**
 * do_munmap() checks, then the unmap: addr page aligned and below TASK_SIZE, len > 0 after
 * rounding up, the range inside TASK_SIZE. Unmapping a range with no VMAs in it succeeds.
 */
export function doMunmap(mm: MmStruct, addr: number, len: number): number {
  if (!(addr >= 0) || !(len >= 0)) return -EINVAL;
  if (addr % PAGE_SIZE !== 0 || addr > TASK_SIZE || len > TASK_SIZE - addr) return -EINVAL;
  len = pageAlignUp(len);
  if (len === 0) return -EINVAL;
  return munmapRange(mm, addr, addr + len);
}

/**
 * do_vmi_align_munmap(): split the VMAs straddling start and end, write back shared file pages,
 * zap the pages, free empty page tables, unlink the VMAs. [start, end) page aligned.
 * Returns 0 or -ENOMEM (a split beyond the map-count limit).
 */
export function munmapRange(mm: MmStruct, start: number, end: number): number {
  let i = mm.findVmaIndex(start);
  if (i >= mm.vmas.length || mm.vmas[i].start >= end) return 0;
  if (mm.vmas[i].start < start) {
    // Splitting in the middle of one VMA adds one: refuse at the limit (as Linux).
    if (end < mm.vmas[i].end && mm.vmas.length >= MAX_MAP_COUNT) return -ENOMEM;
    const r = mm.splitVma(i, start);
    if (r < 0) return r;
    i++;
  }
  let j = i;
  while (j < mm.vmas.length && mm.vmas[j].start < end) j++;
  const last = j - 1;
  if (mm.vmas[last].end > end) {
    const r = mm.splitVma(last, end);
    if (r < 0) return r;
  }
  for (let k = i; k <= last; k++) {
    const v = mm.vmas[k];
    if (v.file && v.flags & VM_SHARED) writebackRange(mm, v, v.start, v.end);
  }
  zapPageRange(mm, start, end, true);
  for (let k = last; k >= i; k--) mm.removeVmaAt(k);
  return 0;
}

/**
 * sys_brk(): move the program break. Shrinking always succeeds (the pages are unmapped); growing
 * needs free space up to one page (plus the stack guard gap) below the next VMA. Returns the new
 * break, or the unchanged one on failure or when asked for less than start_brk (brk(0) queries).
 */
export function sysBrk(mm: MmStruct, brk: number): number {
  const origbrk = mm.brk;
  if (!(brk >= mm.startBrk) || brk > TASK_SIZE) return origbrk;
  const newbrk = pageAlignUp(brk);
  const oldbrk = pageAlignUp(mm.brk);
  if (oldbrk === newbrk) {
    mm.brk = brk;
    return brk;
  }
  if (brk <= mm.brk) {
    if (munmapRange(mm, newbrk, oldbrk) < 0) return origbrk;
    mm.brk = brk;
    return brk;
  }
  const next = mm.findVma(oldbrk);
  if (next && newbrk + PAGE_SIZE > vmStartGap(next)) return origbrk;
  // do_brk_flags(): an anonymous private rw- area, merged with the heap VMA below when it fits.
  const vmFlags = VM_DATA_DEFAULT_FLAGS | mm.defFlags;
  if (!enoughMemory(mm, vmFlags, (newbrk - oldbrk) / PAGE_SIZE)) return origbrk;
  if (mm.vmas.length >= MAX_MAP_COUNT) return origbrk;
  const i = mm.insertVma(new VmArea(oldbrk, newbrk, vmFlags, null, oldbrk / PAGE_SIZE));
  mm.mergeAround(i);
  mm.brk = brk;
  if (vmFlags & VM_LOCKED) populateRange(mm, oldbrk, newbrk);
  return brk;
}

/** The VMA part of setup_arg_pages(): see MmStruct.setupStack. */
export function setupStackVma(mm: MmStruct, stackTop: number, size: number): number {
  size = pageAlignUp(size);
  if (stackTop % PAGE_SIZE !== 0 || stackTop > TASK_SIZE || !(size > 0) || size > stackTop - MMAP_MIN_ADDR) {
    return -EINVAL;
  }
  // setup_arg_pages() caps the initial stack at the rlimit instead of failing.
  if (size > mm.stackRlimit) size = Math.max(PAGE_SIZE, Math.floor(mm.stackRlimit / PAGE_SIZE) * PAGE_SIZE);
  const start = stackTop - size;
  if (mm.findVmaIntersection(start, stackTop)) return -EEXIST;
  mm.insertVma(new VmArea(start, stackTop, VM_STACK_FLAGS | mm.defFlags, null, start / PAGE_SIZE));
  mm.startStack = stackTop;
  return 0;
}

// ---- system calls ----

const sysBrkHandler: SyscallHandler = (task, a0) => task.mm.sysBrk(ulong(a0));

/**
 * sys_mmap (arch/riscv/kernel/sys_riscv.c) → ksys_mmap_pgoff: offset must be page aligned; a file
 * mapping needs an open fd (EBADF); MAP_HUGETLB: there are no huge pages (anonymous: ENOMEM as
 * with an empty hugetlb pool; on a regular file: EINVAL).
 */
const sysMmap: SyscallHandler = (task, addr, len, prot, flags, fd, off) => {
  if (off % PAGE_SIZE !== 0) return -EINVAL;
  const fl = flags | 0; // the low 32 bits: every MAP_* flag lives there
  if ((fl & MAP_TYPE) === MAP_SHARED_VALIDATE && (flags < 0 || flags > 0xffffffff)) return -EOPNOTSUPP;
  let file: MappedFile | null = null;
  if (!(fl & MAP_ANONYMOUS)) {
    const n = fd | 0;
    const f = n >= 0 ? task.files.get(n) : null;
    if (!f) return -EBADF;
    if (fl & MAP_HUGETLB) return -EINVAL;
    file = f;
  } else if (fl & MAP_HUGETLB) {
    return -ENOMEM;
  }
  return task.mm.mmapRegion(ulong(addr), ulong(len), prot | 0, fl, file, ulong(off));
};

const sysMunmap: SyscallHandler = (task, addr, len) => task.mm.unmapRegion(ulong(addr), ulong(len));

/** The mm system calls, merged into the table by the core (src/kernel/syscall/table.ts). */
export const mmSyscalls: SyscallTable = {
  [SYS_brk]: sysBrkHandler,
  [SYS_mmap]: sysMmap,
  [SYS_munmap]: sysMunmap,
  [SYS_mprotect]: sysMprotect,
  [SYS_pkey_mprotect]: sysPkeyMprotect,
  [SYS_mremap]: sysMremap,
  [SYS_madvise]: sysMadvise,
  [SYS_msync]: sysMsync,
  [SYS_mincore]: sysMincore,
  [SYS_mlock]: sysMlock,
  [SYS_mlock2]: sysMlock2,
  [SYS_munlock]: sysMunlock,
  [SYS_mlockall]: sysMlockall,
  [SYS_munlockall]: sysMunlockall,
};
