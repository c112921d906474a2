/**
 * Sv39 address translation: the page-table walk the hardware does on a TLB miss (privileged
 * spec, "Virtual Address Translation Process"), for user-mode accesses only.
 *
 * The page tables live in guest RAM in the real PTE format, built by the kernel
 * (kernel/mm). A PTE is 8 bytes little-endian; its PPN is bits 10..53, i.e. the low word's
 * bits 10..31 (PPN[21:0]) and the high word's bits 0..21 (PPN[43:22]). Leaves may sit at any
 * level (1 GiB and 2 MiB superpages, which must be aligned). The walk sets A, and D on a write,
 * as hardware with Svadu does, so the kernel sees accessed/dirty pages as Linux expects.
 */
import type { PhysicalMemory } from '../memory.js';
import { PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X } from './trap.js';
import { TLB_MASK, type Tlb } from './tlb.js';

export const ACCESS_READ = 0;
export const ACCESS_WRITE = 1;
export const ACCESS_EXEC = 2;

/** Walk results below zero. */
export const XLATE_PAGE_FAULT = -1;
export const XLATE_ACCESS_FAULT = -2;

const TWO34 = 17179869184;

export class Mmu {
  /** Root page-table frame (satp.PPN), -1 when there is no address space. */
  root = -1;
  /**
   * A vpn that must not get write entries in the TLB: the page of an LR reservation, so
   * stores to it take the slow path that can break the reservation.
   */
  noWriteVpn = -1;

  constructor(
    private readonly mem: PhysicalMemory,
    private readonly tlb: Tlb,
  ) {}

  /**
   * Translate user virtual page `vpn` (< 2^26) for `access`, filling the TLB on success.
   * Returns the physical address of the 4 KiB page, or XLATE_PAGE_FAULT / XLATE_ACCESS_FAULT
   * (a PTE or the page itself lies outside RAM).
   */
  translate(vpn: number, access: number): number {
    if (this.root < 0 || vpn < 0 || vpn >= 0x4000000) return XLATE_PAGE_FAULT;
    const mem = this.mem;
    const i32 = mem.i32;
    let table = this.root * 4096;
    for (let level = 2; level >= 0; level--) {
      const idx = level === 2 ? vpn >>> 18 : level === 1 ? (vpn >>> 9) & 511 : vpn & 511;
      const a = table + idx * 8;
      if (a + 8 > mem.size) return XLATE_ACCESS_FAULT;
      const w = a >>> 2;
      let lo = i32[w]!;
      const hi = i32[w + 1]!;
      if ((lo & PTE_V) === 0) return XLATE_PAGE_FAULT;
      // Bits 54..63 (reserved, PBMT, N) must be zero: we implement none of those extensions.
      if (hi >>> 22 !== 0) return XLATE_PAGE_FAULT;
      const ppnBase = (lo >>> 10) * 4096 + (hi & 0x3fffff) * TWO34;
      if ((lo & (PTE_R | PTE_W | PTE_X)) === 0) {
        // Pointer to the next level.
        if (level === 0) return XLATE_PAGE_FAULT;
        table = ppnBase;
        continue;
      }
      // Leaf.
      if ((lo & PTE_W) !== 0 && (lo & PTE_R) === 0) return XLATE_PAGE_FAULT; // W without R is reserved
      if ((lo & PTE_U) === 0) return XLATE_PAGE_FAULT;
      const need = access === ACCESS_READ ? PTE_R : access === ACCESS_WRITE ? PTE_W : PTE_X;
      if ((lo & need) === 0) return XLATE_PAGE_FAULT;
      // Superpages must be aligned to their size (misaligned superpage → page fault).
      const ppnLow = (lo >>> 10) & 0x3ffff;
      let inPage = 0;
      if (level === 2) {
        if (ppnLow !== 0) return XLATE_PAGE_FAULT;
        inPage = vpn & 0x3ffff;
      } else if (level === 1) {
        if ((ppnLow & 0x1ff) !== 0) return XLATE_PAGE_FAULT;
        inPage = vpn & 0x1ff;
      }
      const pa = ppnBase + inPage * 4096;
      if (pa + 4096 > mem.size) return XLATE_ACCESS_FAULT;
      // Hardware A/D update.
      const ad = access === ACCESS_WRITE ? PTE_A | PTE_D : PTE_A;
      if ((lo & ad) !== ad) {
        lo |= ad;
        i32[w] = lo;
      }
      this.fill(vpn, pa, access, lo);
      return pa;
    }
    return XLATE_PAGE_FAULT;
  }

  private fill(vpn: number, pa: number, access: number, pte: number): void {
    const tlb = this.tlb;
    const i = vpn & TLB_MASK;
    if (access === ACCESS_EXEC) {
      tlb.xTag[i] = vpn;
      tlb.xPhys[i] = pa | 0;
      return;
    }
    tlb.rTag[i] = vpn;
    tlb.rPhys[i] = pa | 0;
    // A write entry only when a store needs no PTE update (D already set), the frame holds
    // no decoded code (stores there must invalidate it) and no LR reservation is on the page.
    if (
      (pte & (PTE_W | PTE_D)) === (PTE_W | PTE_D) &&
      this.mem.codeFrames[pa / 4096] === 0 &&
      vpn !== this.noWriteVpn
    ) {
      tlb.wTag[i] = vpn;
      tlb.wPhys[i] = pa | 0;
    } else if (tlb.wTag[i] === vpn) {
      tlb.wTag[i] = -1;
    }
  }
}
