/**
 * mm/mremap.c: grow, shrink or move a mapping (sys_mremap → vma_to_resize, vma_expandable,
 * move_vma + move_page_tables). Moving transfers the PTEs (the frames travel with them) instead of
 * copying data, as Linux does.
 */
import type { MmStruct } from './mm_struct.js';
import { VmArea } from './vma.js';
import { MAX_MAP_COUNT, PAGE_SIZE, TASK_SIZE, pageAlignUp } from './layout.js';
import {
  MAP_FIXED,
  MAP_SHARED,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  VM_DONTEXPAND,
  VM_LOCKED,
  VM_MAYSHARE,
  VM_NORESERVE,
  VM_SHARED,
  VM_WRITE,
} from './mman.js';
import { EFAULT, EINVAL, ENOMEM } from '../errno.js';
import { getUnmappedArea, munmapRange, ulong } from './mmap.js';
import { populateRange } from './memory.js';
import type { SyscallHandler } from '../syscall/types.js';

/** Private writable growth is charged like a new mapping (OVERCOMMIT_GUESS). */
function enoughFor(mm: MmStruct, vma: VmArea, bytes: number): boolean {
  if ((vma.flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) !== VM_WRITE) return true;
  return bytes / PAGE_SIZE <= mm.pageAlloc.totalPages;
}

/** vma_to_resize(): the VMA holding [addr, addr+oldLen), or -EFAULT / -EINVAL / -ENOMEM. */
function vmaToResize(mm: MmStruct, addr: number, oldLen: number, newLen: number): VmArea | number {
  const vma = mm.vmaLookup(addr);
  if (!vma) return -EFAULT;
  // old_len 0 duplicates a shared mapping; there is no shmem object to share anonymous pages.
  if (oldLen === 0 && (!(vma.flags & VM_MAYSHARE) || vma.file === null)) return -EINVAL;
  if (oldLen > vma.end - addr) return -EFAULT;
  if (newLen === oldLen) return vma;
  if (vma.flags & VM_DONTEXPAND) return -EFAULT;
  if (newLen > oldLen && !enoughFor(mm, vma, newLen - oldLen)) return -ENOMEM;
  return vma;
}

/**
 * move_vma(): create the VMA at newAddr (free, page aligned) and move the PTEs of
 * [oldAddr, oldAddr + min(oldLen, newLen)) into it; then unmap the old range unless DONTUNMAP
 * (which leaves the old VMA in place, empty). Returns newAddr or -ENOMEM (nothing changed).
 */
function moveVma(
  mm: MmStruct,
  vma: VmArea,
  oldAddr: number,
  oldLen: number,
  newLen: number,
  newAddr: number,
  dontUnmap: boolean,
): number {
  if (mm.vmas.length + 3 > MAX_MAP_COUNT) return -ENOMEM;
  const pt = mm.pt;
  const moveLen = Math.min(oldLen, newLen);
  // Allocate every destination table first, so the move itself cannot fail half way.
  let ok = true;
  pt.forEachPresent(oldAddr, oldAddr + moveLen, (va) => {
    if (ok && pt.walkAlloc(newAddr + (va - oldAddr)) < 0) ok = false;
  });
  if (!ok) return -ENOMEM;
  const flags = vma.flags;
  const pgoff = vma.pgoff + (oldAddr - vma.start) / PAGE_SIZE;
  const file = vma.file;
  let moved = 0;
  pt.forEachPresent(oldAddr, oldAddr + moveLen, (va, pte) => {
    const lo = pt.readLo(pte);
    const pfn = pt.pfnAt(pte);
    pt.clearPte(pte);
    pt.writePte(pt.walkAlloc(newAddr + (va - oldAddr)), pfn, lo);
    moved++;
  });
  if (moved > 0) mm.flushTlb();
  const nv = new VmArea(newAddr, newAddr + newLen, flags, file, pgoff);
  // Hold the file across the unmap: the old VMA may hold its last reference (a shmem object or an
  // unlinked file would otherwise be released with the pages just moved).
  file?.get?.();
  if (!dontUnmap) {
    munmapRange(mm, oldAddr, oldAddr + oldLen);
  }
  const i = mm.insertVma(nv);
  file?.put?.();
  mm.mergeAround(i);
  if (nv.flags & VM_LOCKED && newLen > oldLen) populateRange(mm, newAddr + oldLen, newAddr + newLen);
  return newAddr;
}

/** mremap_to(): MREMAP_FIXED and/or MREMAP_DONTUNMAP. */
function mremapTo(mm: MmStruct, addr: number, oldLen: number, newLen: number, flags: number, newAddr: number): number {
  if (newAddr % PAGE_SIZE !== 0) return -EINVAL;
  if (flags & MREMAP_FIXED) {
    if (newLen > TASK_SIZE || newAddr > TASK_SIZE - newLen) return -EINVAL;
    // The ranges may not overlap.
    if (addr + oldLen > newAddr && newAddr + newLen > addr) return -EINVAL;
    const r = munmapRange(mm, newAddr, newAddr + newLen);
    if (r < 0) return r;
  }
  if (oldLen > newLen) {
    const r = munmapRange(mm, addr + newLen, addr + oldLen);
    if (r < 0) return r;
    oldLen = newLen;
  }
  const vma = vmaToResize(mm, addr, oldLen, newLen);
  if (typeof vma === 'number') return vma;
  let mapFlags = vma.flags & VM_MAYSHARE ? MAP_SHARED : 0;
  if (flags & MREMAP_FIXED) mapFlags |= MAP_FIXED;
  const dest = getUnmappedArea(mm, newAddr, newLen, mapFlags);
  if (dest < 0) return dest;
  return moveVma(mm, vma, addr, oldLen, newLen, dest, (flags & MREMAP_DONTUNMAP) !== 0);
}

/** sys_mremap(). Returns the (possibly new) address or -errno. */
export function doMremap(
  mm: MmStruct,
  addr: number,
  oldLen: number,
  newLen: number,
  flags: number,
  newAddr: number,
): number {
  if (flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) return -EINVAL;
  if (flags & MREMAP_FIXED && !(flags & MREMAP_MAYMOVE)) return -EINVAL;
  if (flags & MREMAP_DONTUNMAP && (!(flags & MREMAP_MAYMOVE) || oldLen !== newLen)) return -EINVAL;
  if (!(addr >= 0) || addr % PAGE_SIZE !== 0) return -EINVAL;
  if (oldLen > TASK_SIZE) return -EFAULT;
  if (newLen > TASK_SIZE) return -ENOMEM;
  oldLen = pageAlignUp(oldLen);
  newLen = pageAlignUp(newLen);
  if (!newLen) return -EINVAL;

  if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) return mremapTo(mm, addr, oldLen, newLen, flags, newAddr);

  // Shrinking always succeeds in place: unmap the tail.
  if (oldLen >= newLen) {
    if (oldLen > newLen) {
      const r = munmapRange(mm, addr + newLen, addr + oldLen);
      if (r < 0) return r;
    }
    return addr;
  }
  const vma = vmaToResize(mm, addr, oldLen, newLen);
  if (typeof vma === 'number') return vma;

  // Grow in place when the area ends exactly at the old end and nothing follows within reach.
  if (oldLen === vma.end - addr && oldLen !== 0) {
    const end = addr + newLen;
    if (end <= TASK_SIZE && !mm.findVmaIntersection(vma.end, end)) {
      const oldEnd = vma.end;
      vma.end = end;
      mm.mergeAround(mm.findVmaIndex(vma.start));
      if (vma.flags & VM_LOCKED) populateRange(mm, oldEnd, end);
      return addr;
    }
  }
  if (!(flags & MREMAP_MAYMOVE)) return -ENOMEM;
  const dest = getUnmappedArea(mm, 0, newLen, vma.flags & VM_MAYSHARE ? MAP_SHARED : 0);
  if (dest < 0) return dest;
  if (oldLen === 0) {
    // Duplicate a shared file mapping (no move, no unmap).
    const i = mm.insertVma(
      new VmArea(dest, dest + newLen, vma.flags, vma.file, vma.pgoff + (addr - vma.start) / PAGE_SIZE),
    );
    mm.mergeAround(i);
    return dest;
  }
  return moveVma(mm, vma, addr, oldLen, newLen, dest, false);
}

export const sysMremap: SyscallHandler = (task, addr, oldLen, newLen, flags, newAddr) => {
  if (flags < 0 || flags > 0xffffffff) return -EINVAL;
  return doMremap(task.mm, ulong(addr), ulong(oldLen), ulong(newLen), flags >>> 0, ulong(newAddr));
};
