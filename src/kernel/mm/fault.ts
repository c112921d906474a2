/**
 * The page-fault path (arch/riscv/mm/fault.c do_page_fault + mm/memory.c handle_mm_fault).
 *
 * The hart returns a page fault when a walk fails or the PTE forbids the access; the kernel calls
 * `mm.handleFault(va, access)`:
 *   1. find_vma; a fault just below a grows-down VMA extends it (expand_stack); else SEGV_MAPERR;
 *   2. access_error(): a store needs VM_WRITE, a fetch VM_EXEC, a load VM_READ or VM_WRITE (riscv
 *      encodes W as R+W, so writable memory is readable) — otherwise SEGV_ACCERR;
 *   3. handle_pte_fault():
 *      - no PTE, anonymous VMA → do_anonymous_page: a zeroed frame;
 *      - no PTE, file VMA → do_read_fault/do_cow_fault: a private frame filled from the file
 *        (a short read leaves zeros; a page wholly beyond EOF → SIGBUS, as filemap_fault);
 *      - present PTE, write to a write-protected page of a writable VMA → do_wp_page (copy-on-write:
 *        reuse the frame if page_count is 1, else copy it);
 *      - present PTE otherwise → mark accessed/dirty (what hardware without A/D updates needs) and
 *        return: the fault was spurious or a stale TLB entry.
 *
 * Files with a page cache (ramfs, shmem: mm/filemap.ts) map the page-cache frames (doCachedFault);
 * files without one get a private frame filled by pread at the first fault. Difference from Linux,
 * on purpose: anonymous read faults allocate a zeroed frame instead of mapping the shared zero page.
 */
import type { MmStruct } from './mm_struct.js';
import type { VmArea } from './vma.js';
import { MMAP_MIN_ADDR, PAGE_SIZE, STACK_GUARD_GAP, TASK_SIZE } from './layout.js';
import { PTE_A, PTE_D, PTE_PROT_NONE, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X } from './pgtable.js';
import { VM_ACCESS_FLAGS, VM_EXEC, VM_GROWSDOWN, VM_READ, VM_SHARED, VM_WRITE } from './mman.js';
import { ENOMEM, EPERM } from '../errno.js';
import { PAGE_KIND_ANON, mappingOf } from './filemap.js';
import type { AddressSpace } from './filemap.js';

/** The kind of access that faulted: 0 load, 1 store (and AMO), 2 instruction fetch. */
export type FaultAccess = 0 | 1 | 2;
export const FAULT_READ = 0;
export const FAULT_WRITE = 1;
export const FAULT_EXEC = 2;

/** handleFault results (besides -ENOMEM). */
export const FAULT_OK = 0;
/** si_code SEGV_MAPERR: no VMA at the address. */
export const SEGV_MAPERR = 1;
/** si_code SEGV_ACCERR: a VMA exists but forbids this access. */
export const SEGV_ACCERR = 2;
/** VM_FAULT_SIGBUS: a file page beyond end of file, or a read error; deliver SIGBUS (si_code BUS_ADRERR). */
export const FAULT_SIGBUS = 3;

/**
 * vm_get_page_prot() for riscv: the leaf PTE bits for a VMA's flags. No access → the PROT_NONE
 * encoding (V clear). Write implies read (RW is the only writable Sv39 encoding). A is set up
 * front (as Linux's _PAGE_BASE includes _PAGE_ACCESSED); D is added by the fault path.
 */
export function vmPtePerms(flags: number): number {
  if ((flags & VM_ACCESS_FLAGS) === 0) return PTE_PROT_NONE;
  let p = PTE_V | PTE_U | PTE_A;
  if (flags & (VM_READ | VM_WRITE)) p |= PTE_R;
  if (flags & VM_WRITE) p |= PTE_W;
  if (flags & VM_EXEC) p |= PTE_X;
  return p;
}

/** access_error() of arch/riscv/mm/fault.c. */
export function accessError(vma: VmArea, access: FaultAccess): boolean {
  switch (access) {
    case FAULT_WRITE:
      return (vma.flags & VM_WRITE) === 0;
    case FAULT_EXEC:
      return (vma.flags & VM_EXEC) === 0;
    default:
      return (vma.flags & (VM_READ | VM_WRITE)) === 0;
  }
}

/**
 * expand_downwards(): grow the grows-down VMA `vma` (= mm.vmas[idx]) down to the page holding va.
 * Refused below mmap_min_addr (-EPERM), within STACK_GUARD_GAP of an accessible VMA below
 * (-ENOMEM), or beyond the stack rlimit (-ENOMEM, acct_stack_growth).
 */
export function expandStack(mm: MmStruct, idx: number, va: number): number {
  const vma = mm.vmas[idx];
  const addr = va - (va % PAGE_SIZE);
  if (addr >= vma.start) return 0;
  if (addr < MMAP_MIN_ADDR) return -EPERM;
  const prev = idx > 0 ? mm.vmas[idx - 1] : null;
  if (prev) {
    if (prev.end > addr) return -ENOMEM;
    if (
      (prev.flags & VM_GROWSDOWN) === 0 &&
      (prev.flags & VM_ACCESS_FLAGS) !== 0 &&
      addr - prev.end < STACK_GUARD_GAP
    ) {
      return -ENOMEM;
    }
  }
  if (vma.end - addr > mm.stackRlimit) return -ENOMEM;
  vma.pgoff -= (vma.start - addr) / PAGE_SIZE;
  vma.start = addr;
  return 0;
}

/** handle_mm_fault(): see the file comment. Never throws on guest input. */
export function handleMmFault(mm: MmStruct, va: number, access: FaultAccess): number {
  if (!(va >= 0 && va < TASK_SIZE) || mm.destroyed) return SEGV_MAPERR;
  // An OOM victim whose memory was reaped gets no new frames: it dies of its pending SIGKILL.
  if (mm.oomReaped) return -ENOMEM;
  const idx = mm.findVmaIndex(va);
  if (idx >= mm.vmas.length) return SEGV_MAPERR;
  const vma = mm.vmas[idx];
  if (vma.start > va) {
    if ((vma.flags & VM_GROWSDOWN) === 0 || expandStack(mm, idx, va) !== 0) return SEGV_MAPERR;
  }
  if (accessError(vma, access)) return SEGV_ACCERR;

  const pageVa = va - (va % PAGE_SIZE);
  const pt = mm.pt;
  const pte = pt.walkAlloc(pageVa);
  if (pte < 0) return -ENOMEM;
  const lo = pt.readLo(pte);

  if ((lo & PTE_V) !== 0) {
    if (access === FAULT_WRITE && (lo & PTE_W) === 0) return doWpPage(mm, vma, pageVa, pte);
    // Spurious fault / A-D update (handle_pte_fault's pte_mkyoung + pte_mkdirty tail).
    const want = lo | PTE_A | (access === FAULT_WRITE ? PTE_D : 0);
    if (want !== lo) {
      pt.setFlags(pte, want);
    }
    mm.flushTlb(pageVa);
    return FAULT_OK;
  }
  if ((lo & PTE_PROT_NONE) !== 0) {
    // A frame kept under PROT_NONE while the VMA now allows the access cannot happen (mprotect
    // rewrites the PTEs); restore the VMA's permissions defensively.
    pt.setFlags(pte, vmPtePerms(vma.flags) | (lo & PTE_D));
    mm.flushTlb(pageVa);
    return FAULT_OK;
  }

  return vma.file === null ? doAnonymousPage(mm, vma, pageVa, pte) : doFilePage(mm, vma, pageVa, pte, access);
}

/** do_anonymous_page(): a zeroed frame, writable and dirty if the VMA is writable. */
function doAnonymousPage(mm: MmStruct, vma: VmArea, pageVa: number, pte: number): number {
  const pfn = mm.pageAlloc.allocPages(0);
  if (pfn < 0) return -ENOMEM;
  let perms = vmPtePerms(vma.flags);
  if (perms & PTE_W) perms |= PTE_D;
  mm.pt.writePte(pte, pfn, perms);
  mm.rssAdd(1);
  return FAULT_OK;
}

/**
 * do_read_fault / do_cow_fault / do_shared_fault without a page cache: read the page into a fresh
 * frame. Private writable pages are mapped dirty (they are the process's own copy); shared pages
 * stay clean until written, so msync/munmap know what to write back.
 */
function doFilePage(mm: MmStruct, vma: VmArea, pageVa: number, pte: number, access: FaultAccess): number {
  const file = vma.file!;
  const mapping = mappingOf(file);
  if (mapping) {
    const r = doCachedFault(mm, vma, pageVa, pte, access, mapping);
    if (r !== FALLBACK) return r;
  }
  const pfn = mm.pageAlloc.allocPages(0);
  if (pfn < 0) return -ENOMEM;
  const pa = pfn * PAGE_SIZE;
  const pos = vma.fileOffsetOf(pageVa);
  let got = 0;
  try {
    while (got < PAGE_SIZE) {
      const n = file.pread(mm.mem.u8.subarray(pa + got, pa + PAGE_SIZE), pos + got);
      if (typeof n !== 'number' || !(n > 0)) {
        if (typeof n !== 'number' || n < 0) got = -1;
        break;
      }
      got += n;
    }
  } catch {
    got = -1;
  }
  if (got <= 0) {
    // 0: the page lies wholly beyond EOF (filemap_fault → VM_FAULT_SIGBUS); <0: I/O error.
    mm.pageAlloc.freePages(pfn, 0);
    return FAULT_SIGBUS;
  }
  mm.mem.wrote(pa, PAGE_SIZE);
  let perms = vmPtePerms(vma.flags);
  if (perms & PTE_W && ((vma.flags & VM_SHARED) === 0 || access === FAULT_WRITE)) perms |= PTE_D;
  mm.pt.writePte(pte, pfn, perms);
  mm.rssAdd(1);
  return FAULT_OK;
}

/** doCachedFault: the mapping's frames live in another machine's memory; read a private copy. */
const FALLBACK = -1000;

/**
 * __do_fault on a file with a page cache (filemap_fault), then:
 *   - do_shared_fault (MAP_SHARED): map the page-cache frame itself, so every mapping and
 *     read()/write() share the bytes; writable at once on a write fault (and tagged dirty);
 *   - do_read_fault (MAP_PRIVATE, read/exec): map the page-cache frame read-only — the process
 *     sees later writes to the file until it writes the page itself;
 *   - do_cow_fault (MAP_PRIVATE, write): a private copy of the cache page.
 * A page wholly beyond i_size is SIGBUS (also after truncation).
 */
function doCachedFault(
  mm: MmStruct,
  vma: VmArea,
  pageVa: number,
  pte: number,
  access: FaultAccess,
  mapping: AddressSpace,
): number {
  const index = vma.pgoff + (pageVa - vma.start) / PAGE_SIZE;
  if (index * PAGE_SIZE >= mapping.host.size) return FAULT_SIGBUS;
  const shared = (vma.flags & VM_SHARED) !== 0;
  const alloc = mm.pageAlloc;
  let perms = vmPtePerms(vma.flags);
  if (!shared && access === FAULT_WRITE) {
    const pfn = alloc.allocPages(0);
    if (pfn < 0) return -ENOMEM;
    const page = mapping.getOrCreate(index);
    const pa = pfn * PAGE_SIZE;
    if (typeof page !== 'number' && page.bytes.length === PAGE_SIZE) {
      mm.mem.u8.set(page.bytes, pa);
      mm.mem.wrote(pa, PAGE_SIZE);
    }
    mm.pt.writePte(pte, pfn, perms | PTE_D);
    mm.rssAdd(1, PAGE_KIND_ANON);
    return FAULT_OK;
  }
  const pfn = mapping.frameFor(index, alloc, mm.mem);
  if (pfn === -2) return FALLBACK;
  if (pfn < 0) return -ENOMEM;
  alloc.getPage(pfn);
  if (!shared) perms &= ~PTE_W;
  else if (perms & PTE_W) {
    if (access === FAULT_WRITE) {
      perms |= PTE_D;
      mapping.markDirty(index);
    } else if (!mapping.ops.writepage) {
      // Nothing to write back (ramfs, shmem): map it writable now and save the write fault.
      perms |= PTE_D;
    } else {
      perms &= ~PTE_W;
    }
  }
  mm.pt.writePte(pte, pfn, perms);
  mm.rssAdd(1, mapping.kind);
  mapping.addMm(mm);
  return FAULT_OK;
}

/**
 * do_wp_page(): a write to a present, write-protected page of a writable VMA. A private page
 * still shared with another mm (page_count > 1, after fork) is copied (wp_page_copy); a page we
 * hold alone is reused in place (wp_page_reuse). Shared mappings just gain W (wp_page_shared).
 */
function doWpPage(mm: MmStruct, vma: VmArea, pageVa: number, pte: number): number {
  const pt = mm.pt;
  const oldPfn = pt.pfnAt(pte);
  const perms = vmPtePerms(vma.flags) | PTE_D;
  const kind = mm.pageAlloc.pageKind[oldPfn];
  if ((vma.flags & VM_SHARED) !== 0 || (mm.pageAlloc.pageCount(oldPfn) <= 1 && kind === PAGE_KIND_ANON)) {
    // wp_page_shared: a shared file page becomes dirty in the page cache.
    if ((vma.flags & VM_SHARED) !== 0 && vma.file) {
      mappingOf(vma.file)?.markDirty(vma.pgoff + (pageVa - vma.start) / PAGE_SIZE);
    }
    pt.setFlags(pte, perms);
    mm.flushTlb(pageVa);
    return FAULT_OK;
  }
  const newPfn = mm.pageAlloc.allocPages(0);
  if (newPfn < 0) return -ENOMEM;
  const u8 = mm.mem.u8;
  u8.copyWithin(newPfn * PAGE_SIZE, oldPfn * PAGE_SIZE, oldPfn * PAGE_SIZE + PAGE_SIZE);
  mm.mem.wroteFrame(newPfn);
  pt.writePte(pte, newPfn, perms);
  // A private copy of a page-cache page: the mm's file page becomes an anonymous one.
  if (kind === 1) mm.rssFile--;
  else if (kind === 2) mm.rssShmem--;
  mm.pageAlloc.putPage(oldPfn);
  mm.flushTlb(pageVa);
  return FAULT_OK;
}

/** PTE bits a PTE should carry for a present page of `vma` (used by mprotect / fork). */
export function ptePermsForPage(mm: MmStruct, vma: VmArea, pfn: number, oldLo: number): number {
  let perms = vmPtePerms(vma.flags);
  // Keep D: a shared file page made read-only still has to be written back.
  if ((perms & PTE_V) === 0) return PTE_PROT_NONE | (oldLo & PTE_D);
  // Keep copy-on-write pages write-protected (mprotect must not make a shared frame writable).
  if (perms & PTE_W && (vma.flags & VM_SHARED) === 0 && mm.pageAlloc.pageCount(pfn) > 1) perms &= ~PTE_W;
  return perms | (oldLo & PTE_D);
}
