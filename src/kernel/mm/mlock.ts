/**
 * mm/mlock.c: mlock, mlock2, munlock, mlockall, munlockall. Nothing is ever swapped out here, so
 * locking is accounting: VM_LOCKED on the VMAs (VmLck in /proc/<pid>/status), pages faulted in
 * (unless MLOCK_ONFAULT / MCL_ONFAULT), and mm->def_flags for MCL_FUTURE. RLIMIT_MEMLOCK is not
 * enforced (tasks run with CAP_IPC_LOCK, as root).
 */
import type { MmStruct } from './mm_struct.js';
import { PAGE_SIZE, TASK_SIZE, pageAlignUp } from './layout.js';
import { MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, MLOCK_ONFAULT, VM_LOCKED, VM_LOCKONFAULT } from './mman.js';
import { EAGAIN, EINVAL, ENOMEM } from '../errno.js';
import { mprotectFixup } from './mprotect.js';
import { populateRange } from './memory.js';
import type { SyscallHandler } from '../syscall/types.js';
import { ulong } from './mmap.js';

const VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT;

/** apply_vma_lock_flags(): set `lockFlags` (VM_LOCKED[|VM_LOCKONFAULT] or 0) on [start, end). */
function applyVmaLockFlags(mm: MmStruct, start: number, end: number, lockFlags: number): number {
  let i = mm.findVmaIndex(start);
  if (i >= mm.vmas.length || mm.vmas[i].start > start) return -ENOMEM;
  let pos = start;
  for (;;) {
    const vma = mm.vmas[i];
    const stop = Math.min(end, vma.end);
    const r = mprotectFixup(mm, i, pos, stop, (vma.flags & ~VM_LOCKED_MASK) | lockFlags);
    if (r < 0) return r;
    pos = stop;
    if (pos >= end) return 0;
    i = mm.findVmaIndex(pos);
    if (i >= mm.vmas.length || mm.vmas[i].start !== pos) return -ENOMEM;
  }
}

/** do_mlock(): start need not be aligned (the range is widened to pages). */
export function doMlock(mm: MmStruct, start: number, len: number, lockFlags: number): number {
  if (!(start >= 0) || !(len >= 0) || start + len > TASK_SIZE) return -ENOMEM;
  len = pageAlignUp(len + (start % PAGE_SIZE));
  start -= start % PAGE_SIZE;
  const end = start + len;
  if (end === start) return 0;
  const r = applyVmaLockFlags(mm, start, end, lockFlags);
  if (r < 0) return r;
  if (lockFlags & VM_LOCKED && !(lockFlags & VM_LOCKONFAULT)) {
    // __mlock_posix_error_return: a failed fault → ENOMEM, out of memory → EAGAIN.
    const p = populateRange(mm, start, end);
    if (p < 0) return -EAGAIN;
    if (p > 0) return -ENOMEM;
  }
  return 0;
}

export function doMunlock(mm: MmStruct, start: number, len: number): number {
  if (!(start >= 0) || !(len >= 0) || start + len > TASK_SIZE) return -ENOMEM;
  len = pageAlignUp(len + (start % PAGE_SIZE));
  start -= start % PAGE_SIZE;
  if (len === 0) return 0;
  return applyVmaLockFlags(mm, start, start + len, 0);
}

/** apply_mlockall_flags(). */
export function doMlockall(mm: MmStruct, flags: number): number {
  if (!flags || flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) || flags === MCL_ONFAULT) return -EINVAL;
  const toAdd = VM_LOCKED | (flags & MCL_ONFAULT ? VM_LOCKONFAULT : 0);
  mm.defFlags &= ~VM_LOCKED_MASK;
  if (flags & MCL_FUTURE) mm.defFlags |= toAdd;
  if (flags & MCL_CURRENT) {
    for (let i = 0; i < mm.vmas.length; i++) {
      const v = mm.vmas[i];
      i = mprotectFixupWhole(mm, i, (v.flags & ~VM_LOCKED_MASK) | toAdd);
    }
    if (!(flags & MCL_ONFAULT)) populateRange(mm, 0, TASK_SIZE);
  }
  return 0;
}

export function doMunlockall(mm: MmStruct): number {
  mm.defFlags &= ~VM_LOCKED_MASK;
  for (let i = 0; i < mm.vmas.length; i++) {
    i = mprotectFixupWhole(mm, i, mm.vmas[i].flags & ~VM_LOCKED_MASK);
  }
  return 0;
}

/** Change the flags of the whole vmas[i]; returns the index of the VMA now covering it (after merges). */
function mprotectFixupWhole(mm: MmStruct, i: number, flags: number): number {
  const v = mm.vmas[i];
  const start = v.start;
  mprotectFixup(mm, i, v.start, v.end, flags);
  return mm.findVmaIndex(start);
}

export const sysMlock: SyscallHandler = (task, addr, len) => doMlock(task.mm, ulong(addr), ulong(len), VM_LOCKED);
export const sysMlock2: SyscallHandler = (task, addr, len, flags) => {
  if (flags & ~MLOCK_ONFAULT || flags < 0 || flags > 0xffffffff) return -EINVAL;
  return doMlock(task.mm, ulong(addr), ulong(len), VM_LOCKED | (flags & MLOCK_ONFAULT ? VM_LOCKONFAULT : 0));
};
export const sysMunlock: SyscallHandler = (task, addr, len) => doMunlock(task.mm, ulong(addr), ulong(len));
export const sysMlockall: SyscallHandler = (task, flags) => {
  if (flags < 0 || flags > 0xffffffff) return -EINVAL;
  return doMlockall(task.mm, flags >>> 0);
};
export const sysMunlockall: SyscallHandler = (task) => doMunlockall(task.mm);
