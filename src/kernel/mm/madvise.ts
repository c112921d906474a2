/**
 * mm/madvise.c: sys_madvise. MADV_DONTNEED (and FREE) zap the pages — anonymous memory reads back
 * as zeros, private file pages are re-read from the file; flag-setting advice (DONTFORK, WIPEONFORK,
 * DONTDUMP, RANDOM, SEQUENTIAL) updates the VMAs; POPULATE_* fault pages in; the rest is advice we
 * may ignore (WILLNEED, COLD, PAGEOUT: nothing to read ahead or reclaim to). Advice for features
 * this kernel does not have (KSM, THP, memory-failure) is EINVAL, as on a kernel built without them.
 */
import type { MmStruct } from './mm_struct.js';
import { PAGE_KIND_SHMEM, mappingOf } from './filemap.js';
import { PAGE_SIZE, TASK_SIZE, pageAlignUp } from './layout.js';
import {
  MADV_COLD,
  MADV_DODUMP,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_FREE,
  MADV_KEEPONFORK,
  MADV_NORMAL,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_RANDOM,
  MADV_REMOVE,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_WIPEONFORK,
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_LOCKED,
  VM_RAND_READ,
  VM_READ,
  VM_SEQ_READ,
  VM_SHARED,
  VM_WIPEONFORK,
  VM_WRITE,
} from './mman.js';
import { EFAULT, EINVAL, ENOMEM, EOPNOTSUPP } from '../errno.js';
import { populateRange, writebackRange, zapPageRange } from './memory.js';
import { mprotectFixup } from './mprotect.js';
import type { SyscallHandler } from '../syscall/types.js';
import { ulong } from './mmap.js';

const VALID = new Set([
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_REMOVE,
  MADV_DONTFORK,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DODUMP,
  MADV_WIPEONFORK,
  MADV_KEEPONFORK,
  MADV_COLD,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_DONTNEED_LOCKED,
]);

/** madvise_update_vma(): the new vm_flags for flag-setting advice, or -1 when the advice sets none. */
function adviceFlags(flags: number, advice: number, anonPrivate: boolean): number {
  switch (advice) {
    case MADV_NORMAL:
      return flags & ~(VM_RAND_READ | VM_SEQ_READ);
    case MADV_RANDOM:
      return (flags & ~VM_SEQ_READ) | VM_RAND_READ;
    case MADV_SEQUENTIAL:
      return (flags & ~VM_RAND_READ) | VM_SEQ_READ;
    case MADV_DONTFORK:
      return flags | VM_DONTCOPY;
    case MADV_DOFORK:
      return flags & ~VM_DONTCOPY;
    case MADV_WIPEONFORK:
      return anonPrivate ? flags | VM_WIPEONFORK : -2;
    case MADV_KEEPONFORK:
      return flags & ~VM_WIPEONFORK;
    case MADV_DONTDUMP:
      return flags | VM_DONTDUMP;
    case MADV_DODUMP:
      return flags & ~VM_DONTDUMP;
    default:
      return -1;
  }
}

/** Apply `advice` to [start, end) inside vmas[i]. Returns 0 or -errno. */
function adviseRange(mm: MmStruct, i: number, start: number, end: number, advice: number): number {
  const vma = mm.vmas[i];
  const anonPrivate = vma.file === null && (vma.flags & VM_SHARED) === 0;
  const nf = adviceFlags(vma.flags, advice, anonPrivate);
  if (nf === -2) return -EINVAL;
  if (nf >= 0) return mprotectFixup(mm, i, start, end, nf);
  switch (advice) {
    case MADV_DONTNEED:
    case MADV_DONTNEED_LOCKED:
    case MADV_FREE:
      if (vma.flags & VM_LOCKED && advice !== MADV_DONTNEED_LOCKED) return -EINVAL;
      if (advice === MADV_FREE && !anonPrivate) return -EINVAL;
      // Shared file pages keep their data in the file (Linux: in the page cache).
      if (vma.file && vma.flags & VM_SHARED) writebackRange(mm, vma, start, end);
      zapPageRange(mm, start, end, false);
      return 0;
    case MADV_REMOVE:
      if (vma.flags & VM_LOCKED) return -EINVAL;
      if (!(vma.flags & VM_SHARED)) return -EINVAL;
      if (vma.file) {
        // vfs_fallocate(PUNCH_HOLE): shmem objects (shared anonymous, SysV shm) support it; other
        // files (ramfs, as in Linux) do not.
        const mapping = mappingOf(vma.file);
        if (!mapping || mapping.kind !== PAGE_KIND_SHMEM) return -EOPNOTSUPP;
        const first = vma.pgoff + (start - vma.start) / PAGE_SIZE;
        mapping.punchHole(first, first + (end - start) / PAGE_SIZE);
        return 0;
      }
      zapPageRange(mm, start, end, false);
      return 0;
    case MADV_POPULATE_READ:
    case MADV_POPULATE_WRITE: {
      const write = advice === MADV_POPULATE_WRITE;
      if (write ? !(vma.flags & VM_WRITE) : !(vma.flags & (VM_READ | VM_WRITE))) return -EFAULT;
      const r = populateRange(mm, start, end, write);
      if (r === 0) return 0;
      return r < 0 ? r : -EFAULT;
    }
    default:
      // WILLNEED, COLD, PAGEOUT: nothing to read ahead, nowhere to reclaim to.
      return 0;
  }
}

export function doMadvise(mm: MmStruct, start: number, lenIn: number, advice: number): number {
  if (!VALID.has(advice)) return -EINVAL;
  if (!(start >= 0) || start % PAGE_SIZE !== 0) return -EINVAL;
  if (!(lenIn >= 0)) return -EINVAL;
  if (lenIn > TASK_SIZE) return -ENOMEM;
  const len = pageAlignUp(lenIn);
  const end = start + len;
  if (end === start) return 0;
  let unmappedError = 0;
  let pos = start;
  let i = mm.findVmaIndex(pos);
  if (i >= mm.vmas.length || (mm.vmas[i].start > pos && mm.vmas[i].start >= end)) return -ENOMEM;
  while (pos < end) {
    if (i >= mm.vmas.length || mm.vmas[i].start >= end) {
      unmappedError = -ENOMEM;
      break;
    }
    const vma = mm.vmas[i];
    if (vma.start > pos) {
      unmappedError = -ENOMEM;
      pos = vma.start;
    }
    const stop = Math.min(end, vma.end);
    const r = adviseRange(mm, i, pos, stop, advice);
    if (r < 0) return r;
    pos = stop;
    i = mm.findVmaIndex(pos);
  }
  return unmappedError;
}

export const sysMadvise: SyscallHandler = (task, addr, len, advice) =>
  doMadvise(task.mm, ulong(addr), ulong(len), advice | 0);
