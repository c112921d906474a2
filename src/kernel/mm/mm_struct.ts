/**
 * mm_struct (include/linux/mm_types.h): one process address space — its page tables, its VMAs and
 * the layout fields exec fills in (code/data/brk/stack/arg/env ranges).
 *
 * VMAs are kept in an array sorted by address, searched by binary search. Linux keeps them in a
 * maple tree (formerly an rbtree + list); an array has the same ordered-lookup semantics, and the
 * O(n) insertion is cheap for the tens to hundreds of VMAs a process has.
 *
 * The algorithms live in the files Linux keeps them in (mmap.ts: do_mmap/do_munmap/brk/
 * get_unmapped_area/expand_stack, mprotect.ts, mremap.ts, madvise.ts, mlock.ts, msync.ts,
 * mincore.ts, fault.ts: handle_mm_fault, memory.ts: zap/copy of page ranges); the methods here
 * delegate to them.
 */
import type { PhysicalMemory } from '../../machine/memory.js';
import type { BuddyAllocator } from './page_alloc.js';
import { PageTable } from './pgtable.js';
import { VmArea, canMerge } from './vma.js';
import type { MappedFile } from './vma.js';
import { MAX_MAP_COUNT, MMAP_BASE, PAGE_SIZE, STACK_RLIMIT_DEFAULT, STACK_TOP, TASK_SIZE, mmapBase } from './layout.js';
import { VM_GROWSDOWN, VM_LOCKED, VM_SHARED, VM_STACK_FLAGS, VM_WRITE, VM_EXEC } from './mman.js';
import { ENOMEM } from '../errno.js';
import { doMmap, doMunmap, sysBrk, setupStackVma } from './mmap.js';
import { doMprotect } from './mprotect.js';
import { handleMmFault } from './fault.js';
import type { FaultAccess } from './fault.js';
import type { AddressSpace } from './filemap.js';
import { zapPageRange, writebackRange, dupMmap } from './memory.js';

/** What an address space needs from the machine/kernel. */
export interface MmKernelParts {
  mem: PhysicalMemory;
  pageAlloc: BuddyAllocator;
  /**
   * Drop cached translations of this address space: one page, or all when `va` is undefined
   * (sfence.vma). Called after a present mapping changes (unmap, protection, COW). The core wires
   * it to the hart when this mm is the one loaded, and may ignore it otherwise.
   */
  flushTlb(va?: number): void;
}

/** Thrown by the MmStruct constructor when not even the root page-table frame can be allocated. */
export class MmAllocError extends Error {
  readonly errno = ENOMEM;
  constructor() {
    super('out of memory allocating a page-table root (pgd_alloc)');
  }
}

export class MmStruct {
  readonly mem: PhysicalMemory;
  readonly pageAlloc: BuddyAllocator;
  /** The Sv39 tables of this address space. */
  readonly pt: PageTable;

  /** VMAs sorted by start, non-overlapping (see the file comment). Read freely; change through methods. */
  vmas: VmArea[] = [];

  startCode = 0;
  endCode = 0;
  startData = 0;
  endData = 0;
  /** Start of the heap (set by exec to the page-aligned end of bss); brk never goes below it. */
  startBrk = 0;
  /** Current program break (not page aligned: what the last brk() asked for). */
  brk = 0;
  startStack = 0;
  argStart = 0;
  argEnd = 0;
  envStart = 0;
  envEnd = 0;
  /** Top of the top-down mmap search (mm->mmap_base). */
  mmapBase = MMAP_BASE;
  readonly taskSize = TASK_SIZE;
  /** RLIMIT_STACK soft limit in bytes: the most the stack VMA may grow to. prlimit may change it. */
  stackRlimit = STACK_RLIMIT_DEFAULT;
  /** mm->def_flags: VM_LOCKED after mlockall(MCL_FUTURE) (plus VM_LOCKONFAULT with MCL_ONFAULT). */
  defFlags = 0;
  /** Resident frames mapped by this mm (MM_ANONPAGES + MM_FILEPAGES), for VmRSS. */
  rss = 0;
  /** Peak of rss (hiwater_rss, VmHWM). */
  hiwaterRss = 0;
  /** Of rss: page-cache pages of files (MM_FILEPAGES) and of shmem/shared-anonymous memory (MM_SHMEMPAGES). */
  rssFile = 0;
  rssShmem = 0;
  /**
   * MMF_OOM_SKIP: the OOM killer chose this mm and reaped its private memory; its tasks have
   * SIGKILL pending. Faults are refused (-ENOMEM) so a victim cannot refill what was reaped.
   */
  oomReaped = false;
  /** Page caches this mm has mapped pages of (it is in their `mms`): left on destroy. */
  readonly mappings = new Set<AddressSpace>();
  /** Set by destroy(): the page tables are gone; faults report SEGV_MAPERR, destroy is a no-op. */
  destroyed = false;

  private readonly flushHook: (va?: number) => void;

  constructor(kernelParts: MmKernelParts) {
    this.mem = kernelParts.mem;
    this.pageAlloc = kernelParts.pageAlloc;
    this.flushHook = kernelParts.flushTlb;
    const pt = PageTable.create(this.mem, this.pageAlloc);
    if (!pt) throw new MmAllocError();
    this.pt = pt;
  }

  /** The root page-table frame (what satp / `hart.setRoot` takes). */
  get pgdPfn(): number {
    return this.pt.rootPfn;
  }

  /** The kernel hook: flush one page (or everything) from the hart's TLB. */
  flushTlb(va?: number): void {
    this.flushHook(va);
  }

  /** Set the stack rlimit and recompute mmap_base (as arch_pick_mmap_layout at exec). */
  setStackRlimit(bytes: number): void {
    this.stackRlimit = bytes;
    this.mmapBase = mmapBase(bytes);
  }

  // ---- VMA lookup ----

  /** Index of the first VMA with end > va (vmas.length if none). */
  findVmaIndex(va: number): number {
    const v = this.vmas;
    let lo = 0;
    let hi = v.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v[mid].end > va) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /**
   * find_vma(): the first VMA that ends above va — it may START above va too (Linux semantics;
   * use `vmaLookup` for "the VMA containing va").
   */
  findVma(va: number): VmArea | null {
    const i = this.findVmaIndex(va);
    return i < this.vmas.length ? this.vmas[i] : null;
  }

  /** vma_lookup(): the VMA containing va, or null. */
  vmaLookup(va: number): VmArea | null {
    const vma = this.findVma(va);
    return vma && vma.start <= va ? vma : null;
  }

  /** find_vma_intersection(): the first VMA overlapping [start, end), or null. */
  findVmaIntersection(start: number, end: number): VmArea | null {
    const vma = this.findVma(start);
    return vma && vma.start < end ? vma : null;
  }

  // ---- the address-space operations (contract API) ----

  /**
   * do_mmap(): map [addr, addr+len) (addr a hint unless MAP_FIXED) with PROT_* `prot` and MAP_*
   * `flags`, backed by `file` at byte `offset` or anonymous when file is null. Returns the address,
   * or -errno (EINVAL, ENOMEM, EEXIST, EACCES, EPERM, EOPNOTSUPP, ENODEV, EOVERFLOW).
   */
  mmapRegion(addr: number, len: number, prot: number, flags: number, file: MappedFile | null, offset: number): number {
    return doMmap(this, addr, len, prot, flags, file, offset);
  }

  /** do_munmap(): 0 or -EINVAL / -ENOMEM. */
  unmapRegion(addr: number, len: number): number {
    return doMunmap(this, addr, len);
  }

  /** mprotect(): 0 or -EINVAL / -ENOMEM / -EACCES. */
  mprotect(addr: number, len: number, prot: number): number {
    return doMprotect(this, addr, len, prot);
  }

  /** sys_brk(): the new break, or the current one when the request fails (or is below startBrk). */
  sysBrk(newBrk: number): number {
    return sysBrk(this, newBrk);
  }

  /**
   * handle_mm_fault(): resolve a user fault at va. Returns 0 (fixed: retry the access),
   * 1 (SEGV_MAPERR: no mapping), 2 (SEGV_ACCERR: permission), 3 (SIGBUS: file page beyond EOF or
   * read error), or -ENOMEM (no frame: the caller kills the task, as the OOM path does).
   */
  handleFault(va: number, access: FaultAccess): number {
    return handleMmFault(this, va, access);
  }

  /**
   * setup_arg_pages(), the VMA part: create the grows-down stack VMA [stackTop - size, stackTop).
   * `size` is rounded up to pages (exec passes what its argument pages need plus STACK_EXPAND) and
   * capped at the stack rlimit, as setup_arg_pages() does. Returns 0 or -EINVAL / -EEXIST.
   */
  setupStack(stackTop: number = STACK_TOP, size: number = 128 * 1024): number {
    return setupStackVma(this, stackTop, size);
  }

  /**
   * dup_mmap() for fork: a new MmStruct with copies of every VMA; private pages are shared
   * copy-on-write (both PTEs write-protected, page_count raised), shared pages are shared.
   * Returns the child mm, or -ENOMEM.
   */
  dup(kernelParts?: MmKernelParts): MmStruct | number {
    return dupMmap(this, kernelParts ?? { mem: this.mem, pageAlloc: this.pageAlloc, flushTlb: this.flushHook });
  }

  /**
   * exit_mmap(): write back shared file pages, release every frame and page-table page, drop the
   * file references. Calling it again does nothing; afterwards faults return SEGV_MAPERR and
   * uaccess -EFAULT.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const vma of this.vmas) {
      if (vma.file && (vma.flags & VM_SHARED) !== 0) writebackRange(this, vma, vma.start, vma.end);
      zapPageRange(this, vma.start, vma.end, false);
      vma.file?.put?.();
    }
    this.vmas = [];
    for (const m of this.mappings) m.mms.delete(this);
    this.mappings.clear();
    this.pt.freeAll();
    this.flushHook();
  }

  /** Accounting for /proc/<pid>/status (VmSize, VmLck, VmData, VmStk, VmExe), in pages. */
  vmStats(): {
    total: number;
    locked: number;
    data: number;
    exec: number;
    stack: number;
    rss: number;
    rssAnon: number;
    rssFile: number;
    rssShmem: number;
    pgtables: number;
  } {
    let total = 0;
    let locked = 0;
    let data = 0;
    let exec = 0;
    let stack = 0;
    for (const v of this.vmas) {
      const pages = (v.end - v.start) / PAGE_SIZE;
      total += pages;
      if (v.flags & VM_LOCKED) locked += pages;
      // mm/internal.h: is_data_mapping / is_exec_mapping / is_stack_mapping.
      if (v.flags & VM_GROWSDOWN) stack += pages;
      else if ((v.flags & (VM_WRITE | VM_SHARED)) === VM_WRITE) data += pages;
      else if ((v.flags & (VM_EXEC | VM_WRITE)) === VM_EXEC) exec += pages;
    }
    return {
      total,
      locked,
      data,
      exec,
      stack,
      rss: this.rss,
      rssAnon: this.rss - this.rssFile - this.rssShmem,
      rssFile: this.rssFile,
      rssShmem: this.rssShmem,
      pgtables: this.destroyed ? 0 : this.pt.tablePages(),
    };
  }

  // ---- VMA list surgery, used by the algorithms (mm/vma.c) ----

  /** vma_link(): insert a VMA that overlaps none (takes a file reference). Returns its index. */
  insertVma(vma: VmArea): number {
    const i = this.findVmaIndex(vma.start);
    this.vmas.splice(i, 0, vma);
    vma.file?.get?.();
    return i;
  }

  /** remove_vma(): drop the VMA at index i (and its file reference). Pages must be zapped by the caller. */
  removeVmaAt(i: number): VmArea {
    const [vma] = this.vmas.splice(i, 1);
    vma.file?.put?.();
    return vma;
  }

  /**
   * split_vma(): cut vmas[i] at addr (start < addr < end) into two VMAs. Returns 0, or -ENOMEM
   * when the map-count limit is reached (as Linux).
   */
  splitVma(i: number, addr: number): number {
    const vma = this.vmas[i];
    if (addr <= vma.start || addr >= vma.end) return 0;
    if (this.vmas.length >= MAX_MAP_COUNT) return -ENOMEM;
    const tail = new VmArea(addr, vma.end, vma.flags, vma.file, vma.pgoff + (addr - vma.start) / PAGE_SIZE);
    vma.end = addr;
    this.vmas.splice(i + 1, 0, tail);
    tail.file?.get?.();
    return 0;
  }

  /**
   * vma_merge(), after the fact: merge vmas[i] with its neighbours where compatible. Returns the
   * index of the VMA that now covers vmas[i]'s range.
   */
  mergeAround(i: number): number {
    const v = this.vmas;
    if (i + 1 < v.length && canMerge(v[i], v[i + 1])) {
      v[i].end = v[i + 1].end;
      this.removeVmaAt(i + 1);
    }
    if (i > 0 && canMerge(v[i - 1], v[i])) {
      v[i - 1].end = v[i].end;
      this.removeVmaAt(i);
      i--;
    }
    return i;
  }

  /** zap_page_range() without freeing page tables: drop the pages mapped in [start, end). */
  zapRange(start: number, end: number): number {
    return zapPageRange(this, start, end, false);
  }

  /**
   * Count newly mapped resident frames (inc_mm_counter). `kind` is the frame's pageKind:
   * 0 anonymous, PAGE_KIND_FILE (1), PAGE_KIND_SHMEM (2).
   */
  rssAdd(n: number, kind = 0): void {
    if (kind === 1) this.rssFile += n;
    else if (kind === 2) this.rssShmem += n;
    this.rss += n;
    if (this.rss > this.hiwaterRss) this.hiwaterRss = this.rss;
  }
}

/** The default flags of the stack VMA (exported for exec). */
export const STACK_VMA_FLAGS = VM_STACK_FLAGS;
