/**
 * mm/msync.c: sys_msync. Files with a page cache (ramfs, shmem) need nothing: the mapped frames
 * are the cache pages, and only caches with a backing store (ops.writepage) write their dirty
 * pages back. Files without a page cache get their dirty MAP_SHARED pages written to the file
 * here (for MS_SYNC, and for MS_ASYNC too, which we can only approximate by writing).
 */
import type { MmStruct } from './mm_struct.js';
import { PAGE_SIZE, TASK_SIZE, pageAlignUp } from './layout.js';
import { MS_ASYNC, MS_INVALIDATE, MS_SYNC, VM_LOCKED, VM_SHARED } from './mman.js';
import { EBUSY, EINVAL, ENOMEM } from '../errno.js';
import { writebackRange } from './memory.js';
import type { SyscallHandler } from '../syscall/types.js';
import { ulong } from './mmap.js';

export function doMsync(mm: MmStruct, start: number, len: number, flags: number): number {
  if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) return -EINVAL;
  if (!(start >= 0) || start % PAGE_SIZE !== 0) return -EINVAL;
  if (flags & MS_ASYNC && flags & MS_SYNC) return -EINVAL;
  if (len > TASK_SIZE) return -ENOMEM;
  len = pageAlignUp(len);
  const end = start + len;
  if (end === start) return 0;
  let unmappedError = 0;
  let vma = mm.findVma(start);
  for (;;) {
    if (!vma) return -ENOMEM;
    if (start < vma.start) {
      if (flags === MS_ASYNC) return -ENOMEM;
      start = vma.start;
      if (start >= end) return -ENOMEM;
      unmappedError = -ENOMEM;
    }
    if (flags & MS_INVALIDATE && vma.flags & VM_LOCKED) return -EBUSY;
    if (vma.file && vma.flags & VM_SHARED && flags & (MS_SYNC | MS_ASYNC)) {
      const r = writebackRange(mm, vma, start, Math.min(end, vma.end));
      if (r < 0) return r;
    }
    start = vma.end;
    if (start >= end) return unmappedError;
    vma = mm.findVma(start);
  }
}

export const sysMsync: SyscallHandler = (task, addr, len, flags) =>
  doMsync(task.mm, ulong(addr), ulong(len), flags | 0);
