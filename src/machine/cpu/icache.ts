/**
 * Decoded-instruction cache, per physical frame: for each 2-byte slot of a frame that holds
 * code, the decoded form of the instruction starting there (two int32 words, see ops.ts), or
 * zero when not decoded yet. Decoding happens lazily, once per slot.
 *
 * Coherence with memory writes (the role of FENCE.I / flush_icache_* in Linux):
 * - a frame with decoded code is marked in `mem.codeFrames`; the TLB never holds a write
 *   entry for such a frame, so the hart's stores to it take the slow path, which drops it;
 * - writes by the kernel call `mem.wrote()`, which calls `onCodeWrite` (installed here);
 * - FENCE.I drops everything.
 */
import type { PhysicalMemory } from '../memory.js';
import type { Tlb } from './tlb.js';

/** Two int32 words per 2-byte slot. */
export const CODE_PAGE_WORDS = 4096;

export class DecodeCache {
  private readonly pages: (Int32Array | undefined)[];
  private readonly live = new Set<number>();
  private readonly pool: Int32Array[] = [];

  constructor(
    private readonly mem: PhysicalMemory,
    private readonly tlb: Tlb,
  ) {
    this.pages = new Array<Int32Array | undefined>(mem.frames);
    mem.onCodeWrite = (pfn: number) => this.drop(pfn);
  }

  /** The decoded page of frame `pfn`, creating an empty one (and marking the frame as code). */
  page(pfn: number): Int32Array {
    let p = this.pages[pfn];
    if (p === undefined) {
      p = this.pool.pop() ?? new Int32Array(CODE_PAGE_WORDS);
      this.pages[pfn] = p;
      this.live.add(pfn);
      this.mem.codeFrames[pfn] = 1;
      this.tlb.dropWritesToFrame(pfn * 4096);
    }
    return p;
  }

  /** Forget the decoded instructions of one frame (its contents changed). */
  drop(pfn: number): void {
    const p = this.pages[pfn];
    if (p !== undefined) {
      p.fill(0);
      this.pool.push(p);
      this.pages[pfn] = undefined;
      this.live.delete(pfn);
    }
    this.mem.codeFrames[pfn] = 0;
  }

  /** FENCE.I: forget everything. */
  dropAll(): void {
    for (const pfn of [...this.live]) this.drop(pfn);
  }

  /** Number of frames with decoded code (for tests and statistics). */
  get size(): number {
    return this.live.size;
  }
}
