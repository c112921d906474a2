/**
 * Software TLB: direct-mapped, indexed by the low bits of the virtual page number, with split
 * entries for reads, writes and instruction fetches (a page can be readable but not writable,
 * or writable only after the dirty bit is set, so each kind is cached on its own).
 *
 * Tags are user virtual page numbers (va >>> 12; user addresses are below 2^38, so a vpn fits
 * in 26 bits); -1 marks an empty entry. `*Phys` hold the physical address of the page as an
 * int32 (RAM is below 4 GiB; readers use `>>> 0`). The kernel flushes it on the equivalent of
 * sfence.vma: context switch (setRoot), munmap, mprotect, copy-on-write (flush_tlb_page).
 */
export const TLB_BITS = 11;
export const TLB_SIZE = 1 << TLB_BITS;
export const TLB_MASK = TLB_SIZE - 1;

export class Tlb {
  readonly rTag = new Int32Array(TLB_SIZE).fill(-1);
  readonly rPhys = new Int32Array(TLB_SIZE);
  readonly wTag = new Int32Array(TLB_SIZE).fill(-1);
  readonly wPhys = new Int32Array(TLB_SIZE);
  readonly xTag = new Int32Array(TLB_SIZE).fill(-1);
  readonly xPhys = new Int32Array(TLB_SIZE);

  /** local_flush_tlb_all */
  flushAll(): void {
    this.rTag.fill(-1);
    this.wTag.fill(-1);
    this.xTag.fill(-1);
  }

  /** local_flush_tlb_page for one user vpn. */
  flushPage(vpn: number): void {
    const i = vpn & TLB_MASK;
    if (this.rTag[i] === vpn) this.rTag[i] = -1;
    if (this.wTag[i] === vpn) this.wTag[i] = -1;
    if (this.xTag[i] === vpn) this.xTag[i] = -1;
  }

  /** Drop the write entry of one vpn (its stores must take the slow path from now on). */
  dropWrite(vpn: number): void {
    const i = vpn & TLB_MASK;
    if (this.wTag[i] === vpn) this.wTag[i] = -1;
  }

  /**
   * Drop every write entry that maps the physical page at `pa`: the frame now holds decoded
   * instructions, so stores to it must go through the slow path that keeps the cache coherent.
   */
  dropWritesToFrame(pa: number): void {
    const tag = this.wTag;
    const phys = this.wPhys;
    const p = pa | 0;
    for (let i = 0; i < TLB_SIZE; i++) {
      if (tag[i] !== -1 && phys[i] === p) tag[i] = -1;
    }
  }
}
