/**
 * Page-range operations of mm/memory.c: zap_page_range (unmap + release frames), copy_page_range
 * (fork, copy-on-write) and the populate loop (__mm_populate / faultin_page), plus the writeback
 * of MAP_SHARED file pages (what msync and the page cache's writeback do in Linux).
 */
import type { MmStruct, MmKernelParts } from './mm_struct.js';
import { MmStruct as MmStructClass, MmAllocError } from './mm_struct.js';
import type { VmArea } from './vma.js';
import { VmArea as VmAreaClass } from './vma.js';
import { PAGE_SIZE } from './layout.js';
import { PTE_D, PTE_W } from './pgtable.js';
import { VM_ACCESS_FLAGS, VM_DONTCOPY, VM_SHARED, VM_WIPEONFORK, VM_WRITE } from './mman.js';
import { ENOMEM } from '../errno.js';
import { FAULT_READ, FAULT_WRITE, handleMmFault } from './fault.js';
import { PAGE_KIND_FILE, PAGE_KIND_SHMEM, mappingOf } from './filemap.js';

/** Flushing page by page is cheaper than a full flush up to this many pages. */
const FLUSH_ALL_THRESHOLD = 32;

/** Flush [start, end) from the TLB: page by page when short, else everything. */
export function flushTlbRange(mm: MmStruct, start: number, end: number): void {
  const pages = (end - start) / PAGE_SIZE;
  if (pages > FLUSH_ALL_THRESHOLD) {
    mm.flushTlb();
    return;
  }
  for (let va = start; va < end; va += PAGE_SIZE) mm.flushTlb(va);
}

/**
 * zap_page_range(): clear every present PTE in [start, end) and drop its frame reference (the frame
 * is freed when no other mm shares it). With `freeTables`, empty table pages are freed too
 * (free_pgtables, for munmap). Flushes the TLB for the range before returning (the frames may be
 * reused at once). Returns the number of pages unmapped.
 */
export function zapPageRange(mm: MmStruct, start: number, end: number, freeTables: boolean, flush = true): number {
  const pt = mm.pt;
  const alloc = mm.pageAlloc;
  let count = 0;
  const kinds = alloc.pageKind;
  pt.forEachPresent(start, end, (_va, pte) => {
    const pfn = pt.pfnAt(pte);
    pt.clearPte(pte);
    const k = kinds[pfn];
    if (k === PAGE_KIND_FILE) mm.rssFile--;
    else if (k === PAGE_KIND_SHMEM) mm.rssShmem--;
    alloc.putPage(pfn);
    count++;
  });
  mm.rss -= count;
  if (freeTables) pt.freeEmptyTables(start, end);
  if (flush && count > 0) flushTlbRange(mm, start, end);
  return count;
}

/**
 * Write the dirty pages of a MAP_SHARED file VMA in [start, end) back to the file (msync's
 * vfs_fsync_range over the page cache, done directly: there is no page cache yet). Never extends
 * the file: only the bytes that exist in the file at that offset are written, as writeback of a
 * page straddling EOF does. Returns 0 or -errno from the file.
 */
export function writebackRange(mm: MmStruct, vma: VmArea, start: number, end: number): number {
  const file = vma.file;
  if (!file || (vma.flags & VM_SHARED) === 0) return 0;
  const mapping = mappingOf(file);
  if (mapping) {
    // The mapped frames are the page-cache pages: write back the cache's dirty pages in range.
    const s = Math.max(start, vma.start);
    const e = Math.min(end, vma.end);
    if (e <= s) return 0;
    if (mapping.ops.writepage) {
      // page_mkclean in reverse: hardware-set D bits of this mm's PTEs tag the cache pages dirty.
      const pt = mm.pt;
      pt.forEachPresent(s, e, (va, pte) => {
        const lo = pt.readLo(pte);
        if ((lo & PTE_D) === 0) return;
        mapping.markDirty(vma.pgoff + (va - vma.start) / PAGE_SIZE);
        pt.setFlags(pte, lo & ~PTE_D);
        mm.flushTlb(va);
      });
    }
    return mapping.writeback(vma.pgoff + (s - vma.start) / PAGE_SIZE, vma.pgoff + (e - vma.start) / PAGE_SIZE - 1);
  }
  if (!file.pwrite) return 0;
  const pt = mm.pt;
  const scratch = new Uint8Array(PAGE_SIZE);
  let err = 0;
  pt.forEachPresent(Math.max(start, vma.start), Math.min(end, vma.end), (va, pte) => {
    const lo = pt.readLo(pte);
    if ((lo & PTE_D) === 0) return;
    const pos = vma.fileOffsetOf(va);
    let n: number;
    try {
      n = file.pread(scratch, pos);
    } catch {
      n = -5;
    }
    if (typeof n === 'number' && n > 0) {
      const pa = pt.pfnAt(pte) * PAGE_SIZE;
      let r: number;
      try {
        r = file.pwrite!(mm.mem.u8.subarray(pa, pa + n), pos);
      } catch {
        r = -5;
      }
      if (typeof r === 'number' && r < 0 && err === 0) err = r;
    }
    pt.setFlags(pte, lo & ~PTE_D);
    mm.flushTlb(va);
  });
  return err;
}

/**
 * __mm_populate / faultin_page: fault in every page of [start, end) that is not present yet
 * (MAP_POPULATE, MAP_LOCKED, mlock, MADV_POPULATE_*). Write faults for writable VMAs (so private
 * pages are the process's own), read faults otherwise; inaccessible (PROT_NONE) VMAs are skipped.
 * Returns 0 or the first non-zero fault result (1/2/3 or -ENOMEM).
 */
export function populateRange(mm: MmStruct, start: number, end: number, forceWrite = false): number {
  let va = start;
  while (va < end) {
    const vma = mm.findVma(va);
    if (!vma || vma.start >= end) return 0;
    if (vma.start > va) va = vma.start;
    const stop = Math.min(end, vma.end);
    if ((vma.flags & VM_ACCESS_FLAGS) === 0) {
      va = stop;
      continue;
    }
    const write = forceWrite || (vma.flags & VM_WRITE) !== 0;
    for (; va < stop; va += PAGE_SIZE) {
      const flags = mm.pt.lookupFlags(va);
      if (flags >= 0 && (!write || (flags & PTE_W) !== 0)) continue;
      const r = handleMmFault(mm, va, write ? FAULT_WRITE : FAULT_READ);
      if (r !== 0) return r;
    }
  }
  return 0;
}

/**
 * dup_mmap() + copy_page_range() for fork. Private writable pages become copy-on-write: W is
 * cleared in both parent and child and the frame's page_count raised; do_wp_page copies on the
 * next write. VM_SHARED pages are simply shared. VM_DONTCOPY areas are not inherited;
 * VM_WIPEONFORK areas are inherited empty.
 */
export function dupMmap(old: MmStruct, parts: MmKernelParts): MmStruct | number {
  let child: MmStruct;
  try {
    child = new MmStructClass(parts);
  } catch (e) {
    if (e instanceof MmAllocError) return -ENOMEM;
    throw e;
  }
  child.startCode = old.startCode;
  child.endCode = old.endCode;
  child.startData = old.startData;
  child.endData = old.endData;
  child.startBrk = old.startBrk;
  child.brk = old.brk;
  child.startStack = old.startStack;
  child.argStart = old.argStart;
  child.argEnd = old.argEnd;
  child.envStart = old.envStart;
  child.envEnd = old.envEnd;
  child.mmapBase = old.mmapBase;
  child.stackRlimit = old.stackRlimit;
  child.defFlags = old.defFlags;

  const opt = old.pt;
  const cpt = child.pt;
  const alloc = old.pageAlloc;
  let failed = false;
  let parentChanged = false;
  for (const vma of old.vmas) {
    if (vma.flags & VM_DONTCOPY) continue;
    const copy = new VmAreaClass(vma.start, vma.end, vma.flags, vma.file, vma.pgoff);
    child.vmas.push(copy);
    copy.file?.get?.();
    if (vma.flags & VM_WIPEONFORK || failed) continue;
    const cow = (vma.flags & VM_SHARED) === 0;
    mappingOf(vma.file)?.addMm(child);
    const kinds = alloc.pageKind;
    opt.forEachPresent(vma.start, vma.end, (va, pte) => {
      if (failed) return;
      const cpte = cpt.walkAlloc(va);
      if (cpte < 0) {
        failed = true;
        return;
      }
      let lo = opt.readLo(pte);
      const pfn = opt.pfnAt(pte);
      if (cow && (lo & PTE_W) !== 0) {
        lo &= ~PTE_W;
        opt.setFlags(pte, lo);
        parentChanged = true;
      }
      alloc.getPage(pfn);
      cpt.writePte(cpte, pfn, lo);
      child.rssAdd(1, kinds[pfn]);
    });
  }
  if (parentChanged) old.flushTlb();
  if (failed) {
    child.destroy();
    return -ENOMEM;
  }
  return child;
}
