/**
 * mm/mincore.c: sys_mincore — one byte per page, bit 0 set when the page is resident: mapped in
 * this process, or (for file and shmem mappings with a page cache) present in the page cache.
 */
import type { MmStruct } from './mm_struct.js';
import { PAGE_SIZE, TASK_SIZE } from './layout.js';
import { EFAULT, EINVAL, ENOMEM } from '../errno.js';
import { copyToUser, accessOk } from './uaccess.js';
import type { SyscallHandler } from '../syscall/types.js';
import { ulong } from './mmap.js';
import { mappingOf } from './filemap.js';

export function doMincore(mm: MmStruct, start: number, len: number, vec: number): number {
  if (!(start >= 0) || start % PAGE_SIZE !== 0) return -EINVAL;
  if (!(len >= 0) || start + len > TASK_SIZE) return -ENOMEM;
  let pages = Math.ceil(len / PAGE_SIZE);
  if (!accessOk(vec, pages)) return -EFAULT;
  let out = vec;
  const chunk = new Uint8Array(Math.min(pages, PAGE_SIZE));
  while (pages > 0) {
    const n = Math.min(pages, PAGE_SIZE);
    for (let k = 0; k < n; k++) {
      const va = start + k * PAGE_SIZE;
      const vma = mm.vmaLookup(va);
      if (!vma) return -ENOMEM;
      let resident = mm.pt.lookupFlags(va) >= 0;
      if (!resident && vma.file) {
        // mincore_page(): a file or shmem page is resident when it is in the page cache.
        const mapping = mappingOf(vma.file);
        if (mapping) resident = mapping.findPage(vma.pgoff + (va - vma.start) / PAGE_SIZE) !== undefined;
      }
      chunk[k] = resident ? 1 : 0;
    }
    if (copyToUser(mm, out, chunk.subarray(0, n)) < 0) return -EFAULT;
    pages -= n;
    out += n;
    start += n * PAGE_SIZE;
  }
  return 0;
}

export const sysMincore: SyscallHandler = (task, addr, len, vec) =>
  doMincore(task.mm, ulong(addr), ulong(len), ulong(vec));
