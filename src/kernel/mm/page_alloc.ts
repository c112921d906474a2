/**
 * The buddy allocator over all guest RAM frames (mm/page_alloc.c).
 *
 * Linux keeps, per zone, `free_area[MAX_ORDER]`: one free list per order, where an order-n block
 * is 2^n physically contiguous, 2^n-aligned frames. Allocation takes the first non-empty list of
 * order >= n (`__rmqueue_smallest`) and splits the block, returning the upper halves to the lower
 * lists (`expand`). Freeing merges a block with its buddy (pfn ^ (1 << order)) while the buddy is
 * free and of the same order (`__free_one_page`), then puts the result on its list.
 *
 * We have one node and one zone (all of guest RAM), no per-CPU page lists and no migratetypes.
 * `struct page` is spread over typed arrays indexed by pfn, so nothing is allocated per frame:
 *   - `freeOrder[pfn]`  the order of the free block headed by pfn, -1 otherwise (PageBuddy + page_order)
 *   - `next/prev[pfn]`  the free-list links of a free block head (page->lru)
 *   - `refcount[pfn]`   page_count(): the references to an allocated block's head frame (page->_refcount).
 *                       Shared (copy-on-write) frames have a count > 1; `putPage` frees at 0.
 *   - `allocOrder[pfn]` the order a block was allocated with (so `putPage` can free it; Linux keeps
 *                       this in compound-page metadata), -1 when the frame is not an allocation head.
 *
 * Frames below `firstFreePfn` are reserved (memblock_reserve: never on a free list).
 */
import type { PhysicalMemory } from '../../machine/memory.js';
import { PAGE_SIZE } from '../../machine/memory.js';

/** Orders 0..MAX_ORDER-1 (4 KiB .. 4 MiB), as Linux's MAX_ORDER 11. */
export const MAX_ORDER = 11;

export class BuddyAllocator {
  /** Number of frames in guest RAM. */
  readonly totalPages: number;
  /** Frames handed to the allocator (total minus the reserved ones): zone->managed_pages. */
  readonly managedPages: number;
  readonly firstFreePfn: number;

  /**
   * What an allocated frame holds, for RSS accounting (PageAnon / page-cache / shmem): 0 anonymous
   * (the default every allocation resets to), PAGE_KIND_FILE or PAGE_KIND_SHMEM (mm/filemap.ts).
   */
  readonly pageKind: Uint8Array;
  private readonly freeOrder: Int8Array;
  private readonly allocOrder: Int8Array;
  private readonly refcount: Int32Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  /** free_area[order].free_list heads (-1 = empty). */
  private readonly heads: Int32Array;
  /** free_area[order].nr_free: blocks on each list. */
  private readonly nrFreeBlocks: Int32Array;
  private freePagesCount = 0;

  constructor(
    readonly mem: PhysicalMemory,
    firstFreePfn = 0,
  ) {
    const n = mem.frames;
    if (!Number.isInteger(firstFreePfn) || firstFreePfn < 0 || firstFreePfn > n) {
      throw new RangeError(`firstFreePfn ${firstFreePfn} out of range 0..${n}`);
    }
    this.totalPages = n;
    this.firstFreePfn = firstFreePfn;
    this.managedPages = n - firstFreePfn;
    this.pageKind = new Uint8Array(n);
    this.freeOrder = new Int8Array(n).fill(-1);
    this.allocOrder = new Int8Array(n).fill(-1);
    this.refcount = new Int32Array(n);
    this.next = new Int32Array(n).fill(-1);
    this.prev = new Int32Array(n).fill(-1);
    this.heads = new Int32Array(MAX_ORDER).fill(-1);
    this.nrFreeBlocks = new Int32Array(MAX_ORDER);

    // memblock_free_all → __free_pages_core: hand the RAM over in the largest aligned blocks.
    let pfn = firstFreePfn;
    while (pfn < n) {
      let order = MAX_ORDER - 1;
      while (order > 0 && ((pfn & ((1 << order) - 1)) !== 0 || pfn + (1 << order) > n)) order--;
      this.listAdd(pfn, order);
      this.freePagesCount += 1 << order;
      pfn += 1 << order;
    }
  }

  /**
   * alloc_pages(order): returns the first pfn of 2^order contiguous frames, zeroed (__GFP_ZERO is
   * implied: guest-visible memory must never leak old contents), with page_count 1; or -1 when no
   * block is large enough (the caller turns that into -ENOMEM / SIGKILL).
   */
  allocPages(order: number): number {
    if (!Number.isInteger(order) || order < 0 || order >= MAX_ORDER) {
      throw new RangeError(`allocPages: bad order ${order}`);
    }
    const pfn = this.rmqueueSmallest(order);
    if (pfn < 0) return -1;
    this.allocOrder[pfn] = order;
    this.refcount[pfn] = 1;
    this.pageKind[pfn] = 0;
    const count = 1 << order;
    this.freePagesCount -= count;
    const pa = pfn * PAGE_SIZE;
    this.mem.u8.fill(0, pa, pa + count * PAGE_SIZE);
    for (let i = 0; i < count; i++) this.mem.wroteFrame(pfn + i);
    return pfn;
  }

  /** alloc_page(): one zeroed frame, or -1. */
  allocPage(): number {
    return this.allocPages(0);
  }

  /**
   * __free_pages(pfn, order): drop the caller's reference; the block returns to the free lists when
   * the count reaches 0. `order` must be the order it was allocated with. Freeing a frame that is
   * not allocated is a kernel bug and throws.
   */
  freePages(pfn: number, order: number): void {
    this.checkAllocated(pfn, 'freePages');
    if (this.allocOrder[pfn] !== order) {
      throw new Error(`freePages: pfn ${pfn} was allocated with order ${this.allocOrder[pfn]}, freed with ${order}`);
    }
    if (--this.refcount[pfn] === 0) this.freeBlock(pfn, order);
  }

  /** get_page(): one more reference (a second mapping of the frame, e.g. copy-on-write after fork). */
  getPage(pfn: number): void {
    this.checkAllocated(pfn, 'getPage');
    this.refcount[pfn]++;
  }

  /** put_page(): drop a reference; frees the block (with its allocation order) at 0. */
  putPage(pfn: number): void {
    this.checkAllocated(pfn, 'putPage');
    if (--this.refcount[pfn] === 0) this.freeBlock(pfn, this.allocOrder[pfn]);
  }

  /** page_count(): references to an allocated block's head frame; 0 for free or reserved frames. */
  pageCount(pfn: number): number {
    return pfn >= 0 && pfn < this.totalPages ? this.refcount[pfn] : 0;
  }

  /** True when pfn is the head of an allocated block (page_count > 0). */
  isAllocated(pfn: number): boolean {
    return this.pageCount(pfn) > 0;
  }

  /** nr_free_pages(): free frames (all orders). */
  nrFree(): number {
    return this.freePagesCount;
  }

  /** Free blocks per order 0..10: the numbers /proc/buddyinfo prints for the zone. */
  freeByOrder(): number[] {
    return Array.from(this.nrFreeBlocks);
  }

  // ---- internals ----

  private checkAllocated(pfn: number, what: string): void {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.totalPages || this.refcount[pfn] <= 0) {
      throw new Error(`${what}: pfn ${pfn} is not an allocated frame (kernel bug)`);
    }
  }

  /** __rmqueue_smallest + expand. */
  private rmqueueSmallest(order: number): number {
    for (let current = order; current < MAX_ORDER; current++) {
      const pfn = this.heads[current];
      if (pfn < 0) continue;
      this.listDel(pfn, current);
      // expand(): give back the upper half at each lower order.
      let high = current;
      while (high > order) {
        high--;
        this.listAdd(pfn + (1 << high), high);
      }
      return pfn;
    }
    return -1;
  }

  /** __free_one_page: merge with free buddies as far as possible, then list the block. */
  private freeBlock(pfn: number, order: number): void {
    this.allocOrder[pfn] = -1;
    this.freePagesCount += 1 << order;
    while (order < MAX_ORDER - 1) {
      const buddy = pfn ^ (1 << order);
      // page_is_buddy(): the buddy must exist, be free, and head a block of the same order.
      if (buddy >= this.totalPages || this.freeOrder[buddy] !== order) break;
      this.listDel(buddy, order);
      pfn = Math.min(pfn, buddy);
      order++;
    }
    this.listAdd(pfn, order);
  }

  private listAdd(pfn: number, order: number): void {
    const head = this.heads[order];
    this.next[pfn] = head;
    this.prev[pfn] = -1;
    if (head >= 0) this.prev[head] = pfn;
    this.heads[order] = pfn;
    this.freeOrder[pfn] = order;
    this.nrFreeBlocks[order]++;
  }

  private listDel(pfn: number, order: number): void {
    const n = this.next[pfn];
    const p = this.prev[pfn];
    if (p >= 0) this.next[p] = n;
    else this.heads[order] = n;
    if (n >= 0) this.prev[n] = p;
    this.next[pfn] = -1;
    this.prev[pfn] = -1;
    this.freeOrder[pfn] = -1;
    this.nrFreeBlocks[order]--;
  }
}

/** pfn → physical address. */
export function pfnToPhys(pfn: number): number {
  return pfn * PAGE_SIZE;
}
/** physical address → pfn. */
export function physToPfn(pa: number): number {
  return Math.floor(pa / PAGE_SIZE);
}
