/**
 * vm_area_struct (include/linux/mm_types.h): one contiguous range of a process's address space
 * with uniform permissions and backing.
 */
import { PAGE_SIZE, STACK_GUARD_GAP } from './layout.js';
import { VM_ACCESS_FLAGS, VM_GROWSDOWN, VM_IGNORE_MERGE, VM_SHARED } from './mman.js';

/**
 * What a file mapping needs from a file: the FS `File` satisfies it. `pread` fills the buffer from
 * `pos` and returns the bytes read (short at end of file, 0 beyond it) or -errno (kernel_read).
 * `pwrite` (kernel_write) is needed only to write MAP_SHARED pages back. `get`/`put` are the
 * file's reference count (get_file / fput): a VMA holds a reference, as Linux's vm_file does.
 */
export interface MappedFile {
  pread(buf: Uint8Array, pos: number): number;
  pwrite?(buf: Uint8Array, pos: number): number;
  /** FMODE_READ / FMODE_WRITE of the open file; a missing value is taken as readable and not writable. */
  readonly readable?: boolean;
  readonly writable?: boolean;
  get?(): unknown;
  put?(): void;
}

export class VmArea {
  constructor(
    /** vm_start: first address (page aligned). */
    public start: number,
    /** vm_end: first address after the area (exclusive, page aligned). */
    public end: number,
    /** vm_flags: VM_READ/WRITE/EXEC (= PROT_*), VM_MAY*, VM_SHARED, VM_GROWSDOWN, VM_LOCKED … */
    public flags: number,
    /** vm_file, or null for anonymous memory. */
    public file: MappedFile | null,
    /** vm_pgoff: offset in the file in pages (for anonymous memory, start >> PAGE_SHIFT, as Linux). */
    public pgoff: number,
  ) {}

  /** The PROT_* bits of the area. */
  get prot(): number {
    return this.flags & VM_ACCESS_FLAGS;
  }
  get anonymous(): boolean {
    return this.file === null;
  }
  get shared(): boolean {
    return (this.flags & VM_SHARED) !== 0;
  }
  /** Offset into the file in bytes of `start`. */
  get offset(): number {
    return this.pgoff * PAGE_SIZE;
  }
  get length(): number {
    return this.end - this.start;
  }
  /** File offset (bytes) of the page containing va. */
  fileOffsetOf(va: number): number {
    return this.pgoff * PAGE_SIZE + (va - this.start);
  }
}

/** vm_start_gap(): a grows-down area keeps STACK_GUARD_GAP free below it. */
export function vmStartGap(vma: VmArea): number {
  if ((vma.flags & VM_GROWSDOWN) !== 0) return Math.max(0, vma.start - STACK_GUARD_GAP);
  return vma.start;
}

/**
 * can_vma_merge_after/before (mm/vma.c is_mergeable_vma): `a` ends where `b` starts, same flags
 * (ignoring accounting bits), same file, and for files a contiguous offset.
 */
export function canMerge(a: VmArea, b: VmArea): boolean {
  if (a.end !== b.start) return false;
  if ((a.flags & ~VM_IGNORE_MERGE) !== (b.flags & ~VM_IGNORE_MERGE)) return false;
  if (a.file !== b.file) return false;
  if (a.file !== null && a.pgoff + (a.end - a.start) / PAGE_SIZE !== b.pgoff) return false;
  return true;
}
