/**
 * mm/mprotect.c: change the protection of a range (do_mprotect_pkey → mprotect_fixup →
 * change_protection), splitting and merging VMAs as needed.
 */
import type { MmStruct } from './mm_struct.js';
import type { VmArea } from './vma.js';
import { MAX_MAP_COUNT, PAGE_SIZE, TASK_SIZE, pageAlignUp } from './layout.js';
import {
  PROT_EXEC,
  PROT_GROWSDOWN,
  PROT_GROWSUP,
  PROT_READ,
  PROT_SEM,
  PROT_WRITE,
  VM_ACCESS_FLAGS,
  VM_GROWSDOWN,
  VM_NORESERVE,
  VM_SHARED,
  VM_WRITE,
  calcVmProtBits,
} from './mman.js';
import { EACCES, EINVAL, ENOMEM } from '../errno.js';
import { ptePermsForPage } from './fault.js';
import { flushTlbRange } from './memory.js';
import type { SyscallHandler } from '../syscall/types.js';
import { ulong } from './mmap.js';

/**
 * do_mprotect_pkey(). Rules as Linux: start page aligned (EINVAL), len 0 → 0, unknown prot bits
 * EINVAL, the whole range must be mapped (ENOMEM — VMAs before the first hole are already
 * changed, as in Linux), and each VMA must allow the new protection through its VM_MAY* bits
 * (EACCES, e.g. PROT_WRITE on a MAP_SHARED mapping of a read-only file).
 */
export function doMprotect(mm: MmStruct, start: number, len: number, prot: number): number {
  if (!(start >= 0) || start % PAGE_SIZE !== 0) return -EINVAL;
  if (len === 0) return 0;
  if (!(len > 0) || len > TASK_SIZE) return -ENOMEM;
  len = pageAlignUp(len);
  let end = start + len;
  if (end <= start) return -ENOMEM;
  const grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
  prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
  if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return -EINVAL;
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) return -EINVAL;

  let i = mm.findVmaIndex(start);
  if (i >= mm.vmas.length) return -ENOMEM;
  let vma = mm.vmas[i];
  if (grows & PROT_GROWSDOWN) {
    if (vma.start >= end) return -ENOMEM;
    start = vma.start;
    if (!(vma.flags & VM_GROWSDOWN)) return -EINVAL;
  } else {
    if (vma.start > start) return -ENOMEM;
    if (grows & PROT_GROWSUP) return -EINVAL; // no VM_GROWSUP areas on riscv
  }
  if (end > TASK_SIZE) end = TASK_SIZE;

  let nstart = start;
  for (;;) {
    vma = mm.vmas[i];
    const newflags = calcVmProtBits(prot) | (vma.flags & ~VM_ACCESS_FLAGS);
    // newflags >> 4 shift VM_MAY% in place of VM_%
    if (newflags & ~(newflags >> 4) & VM_ACCESS_FLAGS) return -EACCES;
    const tmp = Math.min(vma.end, end);
    const r = mprotectFixup(mm, i, nstart, tmp, newflags);
    if (r < 0) return r;
    i = mm.findVmaIndex(tmp - 1) + 1;
    nstart = tmp;
    if (nstart >= end) return 0;
    if (i >= mm.vmas.length || mm.vmas[i].start !== nstart) return -ENOMEM;
  }
}

/**
 * mprotect_fixup(): give [start, end) of vmas[i] the flags `newflags`, splitting off the parts
 * outside, rewriting the present PTEs (change_protection) and merging with equal neighbours.
 */
export function mprotectFixup(mm: MmStruct, i: number, start: number, end: number, newflags: number): number {
  const vma = mm.vmas[i];
  if (newflags === vma.flags) return 0;
  // Making a private mapping writable charges it (VM_ACCOUNT); refuse what can never fit.
  if (
    (newflags & (VM_WRITE | VM_SHARED | VM_NORESERVE)) === VM_WRITE &&
    !(vma.flags & VM_WRITE) &&
    (end - start) / PAGE_SIZE > mm.pageAlloc.totalPages
  ) {
    return -ENOMEM;
  }
  const splits = (start > vma.start ? 1 : 0) + (end < vma.end ? 1 : 0);
  if (splits > 0 && mm.vmas.length + splits > MAX_MAP_COUNT) return -ENOMEM;
  if (start > vma.start) {
    mm.splitVma(i, start);
    i++;
  }
  if (end < mm.vmas[i].end) mm.splitVma(i, end);
  const target = mm.vmas[i];
  target.flags = newflags;
  changeProtection(mm, target, start, end);
  mm.mergeAround(i);
  return 0;
}

/** change_protection(): rewrite the permission bits of every present PTE in [start, end) from the VMA. */
export function changeProtection(mm: MmStruct, vma: VmArea, start: number, end: number): void {
  const pt = mm.pt;
  let changed = false;
  pt.forEachPresent(start, end, (_va, pte) => {
    const lo = pt.readLo(pte);
    const perms = ptePermsForPage(mm, vma, pt.pfnAt(pte), lo);
    if ((lo & 0xff) !== perms) {
      pt.setFlags(pte, perms | (lo & 0x300));
      changed = true;
    }
  });
  if (changed) flushTlbRange(mm, start, end);
}

export const sysMprotect: SyscallHandler = (task, addr, len, prot) => {
  if (prot < 0 || prot > 0xffffffff) return -EINVAL;
  return task.mm.mprotect(ulong(addr), ulong(len), prot >>> 0);
};

/** pkey_mprotect(): riscv has no protection keys; only pkey -1 (or the default key 0) is accepted. */
export const sysPkeyMprotect: SyscallHandler = (task, addr, len, prot, pkey) => {
  const k = pkey | 0;
  if (k !== -1 && k !== 0) return -EINVAL;
  if (prot < 0 || prot > 0xffffffff) return -EINVAL;
  return task.mm.mprotect(ulong(addr), ulong(len), prot >>> 0);
};
