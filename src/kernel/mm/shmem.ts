/**
 * shmem (mm/shmem.c): memory objects of the kernel-internal tmpfs (shm_mnt) — the backing of
 * MAP_SHARED|MAP_ANONYMOUS mappings (shmem_zero_setup) and of SysV shared memory segments
 * (shmem_kernel_file_setup, ipc/shm.ts). Each object is an unlinked file whose page cache
 * (mm/filemap.ts) holds its pages: every mapping of it, in any process, maps the same frames,
 * so pages first touched after a fork are shared too.
 *
 * The object is what a VMA's vm_file points to. Its reference count counts the VMAs using it
 * (vma_link / split / dup_mmap take one, remove_vma drops it) plus any other holder (a SysV
 * segment); the pages are freed when it reaches 0 (shmem_evict_inode).
 */
import { AddressSpace, PAGE_KIND_SHMEM } from './filemap.js';
import { IovIter } from '../fs/iov_iter.js';

let nextShmemIno = 1;

export class ShmemFile {
  /** i_size of the object. */
  size: number;
  /** The object's page cache: its storage. */
  readonly mapping: AddressSpace;
  /** References (VMAs and other holders). */
  count = 0;
  readonly readable = true;
  readonly writable = true;
  /** A shmem inode number (for /proc/<pid>/maps). */
  readonly ino = nextShmemIno++;
  /** Called when the last reference goes, after the pages are freed (SysV segment bookkeeping). */
  onRelease: (() => void) | null = null;

  constructor(
    size: number,
    /** What /proc/<pid>/maps shows: "/dev/zero (deleted)" or "/SYSV<key> (deleted)". */
    readonly name: string,
  ) {
    this.size = size;
    this.mapping = new AddressSpace(this, {}, PAGE_KIND_SHMEM);
  }

  get(): this {
    this.count++;
    return this;
  }

  put(): void {
    if (--this.count > 0) return;
    this.count = 0;
    this.mapping.release();
    this.onRelease?.();
  }

  /** kernel_read: bytes from the object (holes read as zeros). */
  pread(buf: Uint8Array, pos: number): number {
    if (pos >= this.size) return 0;
    const n = Math.min(buf.length, this.size - pos);
    return this.mapping.read(pos, n, IovIter.kernel(buf.subarray(0, n)));
  }

  /** kernel_write: never grows the object (a shm segment has a fixed size). */
  pwrite(buf: Uint8Array, pos: number): number {
    if (pos >= this.size) return 0;
    const n = Math.min(buf.length, this.size - pos);
    return this.mapping.writeBytes(pos, buf.subarray(0, n));
  }
}

/** shmem_zero_setup(): the object behind a new MAP_SHARED|MAP_ANONYMOUS mapping of `len` bytes. */
export function shmemZeroSetup(len: number): ShmemFile {
  return new ShmemFile(len, '/dev/zero (deleted)');
}

export function isShmemFile(f: unknown): f is ShmemFile {
  return f instanceof ShmemFile;
}
