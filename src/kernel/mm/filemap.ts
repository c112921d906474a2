/**
 * The page cache (mm/filemap.c, include/linux/fs.h struct address_space).
 *
 * An `AddressSpace` (an inode's i_mapping) holds the inode's pages by page index (Linux keeps
 * them in the i_pages xarray; a Map gives the same index → page lookup). Each page is 4 KiB of
 * bytes that lives in one of two places:
 *   - host memory (a Uint8Array of its own) while only read()/write() have touched it, so files
 *     that are never mapped (busybox, logs) do not use guest RAM;
 *   - a guest frame (allocated from the buddy allocator, page_count held by the cache) once a
 *     mapping faults the page in (`frameFor`). From then on read()/write() copy straight to and
 *     from `mem.u8` at that frame, so a MAP_SHARED mapping, read() and write() all see the same
 *     bytes with no copying back and forth — the frame IS the page-cache page (do_shared_fault).
 *
 * For ramfs and shmem the page cache is the file's storage (there is nothing to write back).
 * Filesystems with a backing store give `ops.readpage`/`ops.writepage`; pages dirtied through
 * write() or a shared writable mapping are then written back by `writeback` (msync, munmap, exit).
 *
 * `i_mmap`: Linux keeps the VMAs mapping a file in an interval tree to unmap them on truncate.
 * We keep the set of address spaces (`mms`) that have installed a page of this mapping and scan
 * their VMAs for the ones whose file uses this mapping (`unmapMappingRange`).
 */
import type { PhysicalMemory } from '../../machine/memory.js';
import type { BuddyAllocator } from './page_alloc.js';
import type { MmStruct } from './mm_struct.js';
import type { IovIter } from '../fs/iov_iter.js';
import { PAGE_SIZE } from './layout.js';
import { EFAULT } from '../errno.js';

/** What kind of page a frame is, for RssAnon/RssFile/RssShmem (PageAnon / PageSwapBacked). */
export const PAGE_KIND_ANON = 0;
export const PAGE_KIND_FILE = 1;
export const PAGE_KIND_SHMEM = 2;

/** One cached page (struct folio, order 0). */
export interface CachePage {
  /** The page's 4096 bytes: its own host array, or the view of its guest frame in mem.u8. */
  bytes: Uint8Array;
  /** The guest frame holding the page, or -1 while it lives in host memory. */
  pfn: number;
}

/** address_space_operations: how pages reach the backing store. ramfs/shmem need none. */
export interface AddressSpaceOps {
  /** read_folio: fill `buf` (zeroed, one page) for page `index`; returns 0 or -errno. */
  readpage?(mapping: AddressSpace, index: number, buf: Uint8Array): number;
  /** writepage: write page `index` (`data` is clipped to EOF) back; returns 0 or -errno. */
  writepage?(mapping: AddressSpace, index: number, data: Uint8Array): number;
}

/** What the mapping needs from its owner (struct inode): i_size. */
export interface MappingHost {
  size: number;
}

export class AddressSpace {
  /** i_pages. */
  private readonly pages = new Map<number, CachePage>();
  /** Indices tagged PAGECACHE_TAG_DIRTY (only kept when the mapping has a writepage). */
  readonly dirty = new Set<number>();
  /** The memory and allocator of the frames this mapping holds (bound at the first frameFor). */
  mem: PhysicalMemory | null = null;
  alloc: BuddyAllocator | null = null;
  /**
   * i_mmap, coarse: address spaces that may map pages of this mapping (add with `addMm`; an mm
   * leaves on destroy, or when a scan finds it no longer maps this mapping).
   */
  readonly mms = new Set<MmStruct>();
  /** Frames held (nrpages that are in guest RAM), for SHM_INFO shm_rss and accounting. */
  nrFrames = 0;

  constructor(
    readonly host: MappingHost,
    readonly ops: AddressSpaceOps = {},
    /** PAGE_KIND_FILE or PAGE_KIND_SHMEM: how mapped frames are counted. */
    readonly kind: number = PAGE_KIND_FILE,
  ) {}

  /** mapping->nrpages. */
  get nrpages(): number {
    return this.pages.size;
  }

  /** filemap_get_folio(): the cached page at `index`, if any. */
  findPage(index: number): CachePage | undefined {
    return this.pages.get(index);
  }

  /** Indices of the cached pages (for tests and /proc). */
  indices(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }

  /**
   * __filemap_get_folio(FGP_CREAT): the page at `index`, created (zeroed, or read through
   * ops.readpage) when absent. Returns the page or -errno.
   */
  getOrCreate(index: number): CachePage | number {
    let p = this.pages.get(index);
    if (p) return p;
    const bytes = new Uint8Array(PAGE_SIZE);
    if (this.ops.readpage) {
      const r = this.ops.readpage(this, index, bytes);
      if (r < 0) return r;
    }
    p = { bytes, pfn: -1 };
    this.pages.set(index, p);
    return p;
  }

  /**
   * The guest frame of page `index` for a mapping (filemap_fault's folio): moves a host page into
   * a fresh frame the first time. The cache keeps one frame reference; the caller takes its own
   * (get_page) for the PTE it installs. Returns the pfn, -1 when no frame is free, -2 when the
   * mapping's frames belong to another machine's memory (the caller then copies instead).
   */
  frameFor(index: number, alloc: BuddyAllocator, mem: PhysicalMemory): number {
    if (this.alloc !== null && (this.alloc !== alloc || this.mem !== mem)) return -2;
    const got = this.getOrCreate(index);
    if (typeof got === 'number') return -1;
    if (got.pfn >= 0) return got.pfn;
    const pfn = alloc.allocPages(0);
    if (pfn < 0) return -1;
    this.alloc = alloc;
    this.mem = mem;
    const pa = pfn * PAGE_SIZE;
    mem.u8.set(got.bytes, pa);
    mem.wrote(pa, PAGE_SIZE);
    got.bytes = mem.u8.subarray(pa, pa + PAGE_SIZE);
    got.pfn = pfn;
    alloc.pageKind[pfn] = this.kind;
    this.nrFrames++;
    return pfn;
  }

  /** Record that `mm` maps pages of this mapping (vma_link's i_mmap insertion). */
  addMm(mm: MmStruct): void {
    if (this.mms.has(mm)) return;
    this.mms.add(mm);
    mm.mappings.add(this);
  }

  /** Mark page `index` dirty (folio_mark_dirty / set_page_dirty), when there is a backing store. */
  markDirty(index: number): void {
    if (this.ops.writepage) this.dirty.add(index);
  }

  /**
   * filemap_read(): copy [pos, pos+len) (the caller clipped it to i_size) to `to`; holes read as
   * zeros without creating pages. Returns bytes copied or -EFAULT.
   */
  read(pos: number, len: number, to: IovIter): number {
    let done = 0;
    while (done < len) {
      const at = pos + done;
      const index = Math.floor(at / PAGE_SIZE);
      const off = at - index * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, len - done);
      let p = this.pages.get(index);
      if (!p && this.ops.readpage) {
        const g = this.getOrCreate(index);
        if (typeof g !== 'number') p = g;
      }
      const r = p ? to.copyTo(p.bytes.subarray(off, off + n)) : to.zero(n);
      if (r < 0) return done > 0 ? done : r;
      done += r;
      if (r < n) break;
    }
    return done;
  }

  /**
   * generic_perform_write(): copy `len` bytes from `from` to [pos, pos+len), creating pages as
   * needed. The caller grows i_size. Returns bytes copied or -errno (nothing copied).
   */
  write(pos: number, len: number, from: IovIter): number {
    let done = 0;
    while (done < len) {
      // Take up to 64 pages from the source at once (one copyFromUser), then spread them.
      const want = Math.min(len - done, 64 * PAGE_SIZE);
      const src = from.copyFrom(want);
      if (typeof src === 'number') return done > 0 ? done : src;
      if (src.length === 0) break;
      const w = this.writeBytes(pos + done, src);
      if (w < 0) return done > 0 ? done : w;
      done += src.length;
      if (src.length < want) break;
    }
    return done;
  }

  /** Copy kernel bytes into the cache at `pos` (the core of write; also rootfs.addFile). */
  writeBytes(pos: number, src: Uint8Array): number {
    let k = 0;
    while (k < src.length) {
      const at = pos + k;
      const index = Math.floor(at / PAGE_SIZE);
      const off = at - index * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, src.length - k);
      const p = this.getOrCreate(index);
      if (typeof p === 'number') return k > 0 ? k : p;
      p.bytes.set(n === src.length ? src : src.subarray(k, k + n), off);
      if (p.pfn >= 0) this.mem!.wrote(p.pfn * PAGE_SIZE + off, n);
      this.markDirty(index);
      k += n;
    }
    return k;
  }

  /**
   * truncate_pagecache(): the file shrank (or grew) to `newSize`. Mappings of pages wholly beyond
   * the new EOF are zapped first (unmap_mapping_range, private COW copies included, so the next
   * access there is SIGBUS), then those pages leave the cache; the tail of the last page is
   * zeroed (truncate_inode_partial_folio) so a later extension reads zeros.
   */
  truncate(newSize: number): void {
    const firstGone = Math.ceil(newSize / PAGE_SIZE);
    let anyBeyond = false;
    for (const idx of this.pages.keys()) if (idx >= firstGone) anyBeyond = true;
    if (this.mms.size > 0) this.unmapMappingRange(firstGone);
    if (anyBeyond) {
      for (const [idx, p] of this.pages) {
        if (idx < firstGone) continue;
        this.pages.delete(idx);
        this.dirty.delete(idx);
        this.dropFrame(p);
      }
    }
    const tail = newSize % PAGE_SIZE;
    if (tail !== 0) {
      const p = this.pages.get(firstGone - 1);
      if (p) {
        p.bytes.fill(0, tail);
        if (p.pfn >= 0) this.mem!.wrote(p.pfn * PAGE_SIZE + tail, PAGE_SIZE - tail);
      }
    }
  }

  /** truncate_inode_pages_final(): the inode is gone; release every page. */
  release(): void {
    this.truncate(0);
    for (const mm of this.mms) mm.mappings.delete(this);
    this.mms.clear();
  }

  /**
   * unmap_mapping_range(): zap, in every address space that maps this mapping, the PTEs of file
   * pages with firstIndex <= index < endIndex (shared pages and private COW copies alike).
   */
  unmapMappingRange(firstIndex: number, endIndex = Number.MAX_SAFE_INTEGER): void {
    for (const mm of this.mms) {
      if (mm.destroyed) {
        this.mms.delete(mm);
        continue;
      }
      let uses = false;
      for (const vma of [...mm.vmas]) {
        if (!vma.file || mappingOf(vma.file) !== this) continue;
        uses = true;
        const vmaPages = (vma.end - vma.start) / PAGE_SIZE;
        const lo = Math.max(firstIndex, vma.pgoff);
        const hi = Math.min(endIndex, vma.pgoff + vmaPages);
        if (hi <= lo) continue;
        mm.zapRange(vma.start + (lo - vma.pgoff) * PAGE_SIZE, vma.start + (hi - vma.pgoff) * PAGE_SIZE);
      }
      if (!uses) {
        this.mms.delete(mm);
        mm.mappings.delete(this);
      }
    }
  }

  /**
   * shmem_fallocate(FALLOC_FL_PUNCH_HOLE) / MADV_REMOVE: drop pages [firstIndex, endIndex) from
   * every mapping and from the cache; they read back as zeros.
   */
  punchHole(firstIndex: number, endIndex: number): void {
    if (endIndex <= firstIndex) return;
    this.unmapMappingRange(firstIndex, endIndex);
    for (const [idx, p] of this.pages) {
      if (idx < firstIndex || idx >= endIndex) continue;
      this.pages.delete(idx);
      this.dirty.delete(idx);
      this.dropFrame(p);
    }
  }

  /**
   * filemap_write_and_wait_range() for indices [first, last]: write the dirty pages back through
   * ops.writepage, clipped to i_size. Returns 0 or the first error.
   */
  writeback(first = 0, last = Number.MAX_SAFE_INTEGER): number {
    const wp = this.ops.writepage;
    if (!wp || this.dirty.size === 0) return 0;
    let err = 0;
    for (const idx of [...this.dirty].sort((a, b) => a - b)) {
      if (idx < first || idx > last) continue;
      this.dirty.delete(idx);
      const p = this.pages.get(idx);
      const start = idx * PAGE_SIZE;
      if (!p || start >= this.host.size) continue;
      const n = Math.min(PAGE_SIZE, this.host.size - start);
      let r: number;
      try {
        r = wp(this, idx, p.bytes.subarray(0, n));
      } catch {
        r = -EFAULT;
      }
      if (r < 0 && err === 0) err = r;
    }
    return err;
  }

  private dropFrame(p: CachePage): void {
    if (p.pfn < 0) return;
    const alloc = this.alloc!;
    const pfn = p.pfn;
    // The page leaves the cache: keep its bytes visible to nobody (a copy for stale holders).
    p.bytes = new Uint8Array(0);
    p.pfn = -1;
    this.nrFrames--;
    if (alloc.pageCount(pfn) === 1) alloc.pageKind[pfn] = PAGE_KIND_ANON;
    alloc.putPage(pfn);
  }
}

/**
 * The page cache of the object behind a mapped file, if it has one: a `mapping` on the file
 * itself (shmem objects) or its inode's (ramfs). Files without one are read into private frames.
 */
export function mappingOf(file: object | null): AddressSpace | null {
  if (!file) return null;
  const m = (file as { mapping?: unknown }).mapping;
  if (m instanceof AddressSpace) return m;
  const inode = (file as { inode?: { mapping?: unknown } }).inode;
  const im = inode?.mapping;
  return im instanceof AddressSpace ? im : null;
}
