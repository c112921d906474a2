/**
 * Sv39 page tables in guest RAM (arch/riscv/include/asm/pgtable*.h, mm/memory.c's walkers).
 *
 * Three levels of 512 eight-byte PTEs, one 4 KiB frame per table: pgd (VPN[2], va bits 38..30) →
 * pmd (VPN[1], bits 29..21) → pte (VPN[0], bits 20..12); p4d and pud are folded, as Linux folds
 * them for Sv39. A PTE is little-endian: bits 0..7 = V R W X U G A D, bits 8..9 software (RSW),
 * bits 10..53 the physical page number. The hart (src/machine/cpu) walks exactly these tables.
 *
 * We read and write PTEs as two u32 halves through `mem.u32` (host byte order, which is little
 * endian on every platform Node supports, so the bytes in RAM are the real format). Guest RAM is
 * at most 4 GiB, so a PPN fits the low half (bits 10..31 hold PPN[21:0]); the high half is written
 * for completeness and read back into the PPN.
 *
 * Leaves are always 4 KiB pages; a non-leaf PTE has only V set (R=W=X=0), which is what the spec
 * requires (U, A and D cleared on non-leaf entries).
 *
 * PROT_NONE pages that still own a frame (after mprotect(PROT_NONE)) are kept with V clear and
 * G set: Linux riscv's _PAGE_PROT_NONE (= _PAGE_GLOBAL). The hart sees V=0 and faults; the kernel
 * still knows the frame (pte_present() is V|PROT_NONE). User PTEs never use G otherwise.
 */
import type { PhysicalMemory } from '../../machine/memory.js';
import { PAGE_SIZE } from '../../machine/memory.js';
import { PTE_A, PTE_D, PTE_G, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X } from '../../machine/cpu/trap.js';
import type { BuddyAllocator } from './page_alloc.js';
import { ENOMEM } from '../errno.js';

export { PTE_A, PTE_D, PTE_G, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X };

/** _PAGE_PROT_NONE: a present-in-software, hardware-invalid PTE (see the file comment). */
export const PTE_PROT_NONE = PTE_G;
/** pte_present(): the frame is mapped (hardware-valid, or PROT_NONE). */
export const PTE_PRESENT_MASK = PTE_V | PTE_PROT_NONE;
/** The permission bits of a leaf. */
export const PTE_RWX = PTE_R | PTE_W | PTE_X;
/** The low 10 flag bits of a PTE. */
export const PTE_FLAGS_MASK = 0x3ff;

export const PTRS_PER_TABLE = 512;
const SIZE_1G = 0x4000_0000;
const SIZE_2M = 0x20_0000;
/** 2^22: the PPN bits that fit the low u32 half (bits 10..31). */
const PPN_LO_SPAN = 0x40_0000;

/** VPN[2] of a user virtual address (bits 38..30). */
export function vpn2(va: number): number {
  return Math.floor(va / SIZE_1G) & 511;
}
/** VPN[1] (bits 29..21); `>>>` keeps the low 32 bits of the double, which hold these bits. */
export function vpn1(va: number): number {
  return (va >>> 21) & 511;
}
/** VPN[0] (bits 20..12). */
export function vpn0(va: number): number {
  return (va >>> 12) & 511;
}

/** The PPN held by a PTE's two halves. */
export function ptePfn(lo: number, hi: number): number {
  return (lo >>> 10) + (hi & 0x3fffff) * PPN_LO_SPAN;
}

export class PageTable {
  private readonly u32: Uint32Array;

  private constructor(
    readonly mem: PhysicalMemory,
    readonly alloc: BuddyAllocator,
    /** The root (pgd) frame: what satp holds (`hart.setRoot(rootPfn)`). */
    readonly rootPfn: number,
  ) {
    this.u32 = mem.u32;
  }

  /** pgd_alloc(): a fresh, empty root table, or null when no frame is free. */
  static create(mem: PhysicalMemory, alloc: BuddyAllocator): PageTable | null {
    const pfn = alloc.allocPages(0);
    if (pfn < 0) return null;
    return new PageTable(mem, alloc, pfn);
  }

  /** Low half (flags + PPN[21:0]) of the PTE at physical address `pteAddr`. */
  readLo(pteAddr: number): number {
    return this.u32[pteAddr >>> 2];
  }
  readHi(pteAddr: number): number {
    return this.u32[(pteAddr >>> 2) + 1];
  }
  /** The frame a leaf PTE maps. */
  pfnAt(pteAddr: number): number {
    const i = pteAddr >>> 2;
    return ptePfn(this.u32[i], this.u32[i + 1]);
  }
  /** set_pte(): write a leaf or pointer PTE. */
  writePte(pteAddr: number, pfn: number, flags: number): void {
    const i = pteAddr >>> 2;
    this.u32[i] = (((pfn % PPN_LO_SPAN) << 10) | (flags & PTE_FLAGS_MASK)) >>> 0;
    this.u32[i + 1] = Math.floor(pfn / PPN_LO_SPAN);
  }
  /** Change only the flag bits of a PTE (pte_modify / pte_mkyoung / pte_mkdirty). */
  setFlags(pteAddr: number, flags: number): void {
    const i = pteAddr >>> 2;
    this.u32[i] = ((this.u32[i] & ~PTE_FLAGS_MASK) | (flags & PTE_FLAGS_MASK)) >>> 0;
  }
  /** pte_clear(). */
  clearPte(pteAddr: number): void {
    const i = pteAddr >>> 2;
    this.u32[i] = 0;
    this.u32[i + 1] = 0;
  }

  /**
   * Software walk without allocation: the physical address of va's leaf PTE, or -1 when an
   * intermediate table is missing. The PTE itself may be empty.
   */
  lookupPte(va: number): number {
    let e = this.rootPfn * PAGE_SIZE + vpn2(va) * 8;
    let lo = this.u32[e >>> 2];
    if ((lo & PTE_V) === 0 || (lo & PTE_RWX) !== 0) return -1;
    e = ptePfn(lo, this.u32[(e >>> 2) + 1]) * PAGE_SIZE + vpn1(va) * 8;
    lo = this.u32[e >>> 2];
    if ((lo & PTE_V) === 0 || (lo & PTE_RWX) !== 0) return -1;
    return ptePfn(lo, this.u32[(e >>> 2) + 1]) * PAGE_SIZE + vpn0(va) * 8;
  }

  /**
   * The walk of handle_mm_fault (pmd_alloc / pte_alloc): allocate missing tables on the way down.
   * Returns the leaf PTE's physical address, or -ENOMEM.
   */
  walkAlloc(va: number): number {
    let table = this.rootPfn;
    for (let level = 2; level > 0; level--) {
      const idx = level === 2 ? vpn2(va) : vpn1(va);
      const e = table * PAGE_SIZE + idx * 8;
      const lo = this.u32[e >>> 2];
      if ((lo & PTE_V) === 0) {
        const pfn = this.alloc.allocPages(0);
        if (pfn < 0) return -ENOMEM;
        this.writePte(e, pfn, PTE_V);
        table = pfn;
      } else {
        table = ptePfn(lo, this.u32[(e >>> 2) + 1]);
      }
    }
    return table * PAGE_SIZE + vpn0(va) * 8;
  }

  /**
   * Map one 4 KiB page: va → pfn with the given leaf flags (V is added). Returns 0 or -ENOMEM.
   * The caller owns the frame reference it installs and flushes the TLB if it replaced a mapping.
   */
  map(va: number, pfn: number, flags: number): number {
    const pte = this.walkAlloc(va);
    if (pte < 0) return pte;
    this.writePte(pte, pfn, flags | PTE_V);
    return 0;
  }

  /** Remove va's mapping. Returns the frame it mapped (the caller drops the reference), or -1. */
  unmap(va: number): number {
    const pte = this.lookupPte(va);
    if (pte < 0) return -1;
    const lo = this.readLo(pte);
    if ((lo & PTE_PRESENT_MASK) === 0) return -1;
    const pfn = this.pfnAt(pte);
    this.clearPte(pte);
    return pfn;
  }

  /** Replace the flag bits of a present mapping (keeps the frame). Returns false if va is unmapped. */
  protect(va: number, flags: number): boolean {
    const pte = this.lookupPte(va);
    if (pte < 0 || (this.readLo(pte) & PTE_PRESENT_MASK) === 0) return false;
    this.setFlags(pte, flags);
    return true;
  }

  /** The leaf flags of va's mapping (low 10 bits), or -1 when nothing is mapped there. */
  lookupFlags(va: number): number {
    const pte = this.lookupPte(va);
    if (pte < 0) return -1;
    const lo = this.readLo(pte);
    return (lo & PTE_PRESENT_MASK) === 0 ? -1 : lo & PTE_FLAGS_MASK;
  }

  /** The physical address va maps to (hardware-valid mappings only), or -1. */
  translate(va: number): number {
    const pte = this.lookupPte(va);
    if (pte < 0) return -1;
    const lo = this.readLo(pte);
    if ((lo & PTE_V) === 0) return -1;
    return this.pfnAt(pte) * PAGE_SIZE + (va % PAGE_SIZE);
  }

  /**
   * Call `fn(va, pteAddr)` for every present leaf (pte_present) in [start, end), skipping missing
   * tables a 1 GiB / 2 MiB step at a time (as the p?d_none_or_clear_bad loops of zap_pmd_range).
   * `fn` may rewrite or clear the PTE it is given.
   */
  forEachPresent(start: number, end: number, fn: (va: number, pteAddr: number) => void): void {
    const u32 = this.u32;
    let va = start - (start % PAGE_SIZE);
    while (va < end) {
      const e2 = this.rootPfn * PAGE_SIZE + vpn2(va) * 8;
      const lo2 = u32[e2 >>> 2];
      if ((lo2 & PTE_V) === 0) {
        va = (Math.floor(va / SIZE_1G) + 1) * SIZE_1G;
        continue;
      }
      const e1 = ptePfn(lo2, u32[(e2 >>> 2) + 1]) * PAGE_SIZE + vpn1(va) * 8;
      const lo1 = u32[e1 >>> 2];
      const next2M = (Math.floor(va / SIZE_2M) + 1) * SIZE_2M;
      if ((lo1 & PTE_V) === 0) {
        va = next2M;
        continue;
      }
      const t0 = ptePfn(lo1, u32[(e1 >>> 2) + 1]) * PAGE_SIZE;
      const stop = Math.min(end, next2M);
      for (; va < stop; va += PAGE_SIZE) {
        const pte = t0 + vpn0(va) * 8;
        if ((u32[pte >>> 2] & PTE_PRESENT_MASK) !== 0) fn(va, pte);
      }
    }
  }

  /**
   * free_pgd_range(), simplified: free the pte and pmd tables covering [start, end) that became
   * completely empty (every entry zero), so munmap does not leak table frames. Leaf frames must
   * already have been released.
   */
  freeEmptyTables(start: number, end: number): void {
    const u32 = this.u32;
    let va = start - (start % SIZE_2M);
    while (va < end) {
      const e2 = this.rootPfn * PAGE_SIZE + vpn2(va) * 8;
      const lo2 = u32[e2 >>> 2];
      const next1G = (Math.floor(va / SIZE_1G) + 1) * SIZE_1G;
      if ((lo2 & PTE_V) === 0) {
        va = next1G;
        continue;
      }
      const pmdPfn = ptePfn(lo2, u32[(e2 >>> 2) + 1]);
      const stop = Math.min(end, next1G);
      for (; va < stop; va += SIZE_2M) {
        const e1 = pmdPfn * PAGE_SIZE + vpn1(va) * 8;
        const lo1 = u32[e1 >>> 2];
        if ((lo1 & PTE_V) === 0) continue;
        const ptePfnV = ptePfn(lo1, u32[(e1 >>> 2) + 1]);
        if (this.tableEmpty(ptePfnV)) {
          this.clearPte(e1);
          this.alloc.freePages(ptePfnV, 0);
        }
      }
      if (this.tableEmpty(pmdPfn)) {
        this.clearPte(e2);
        this.alloc.freePages(pmdPfn, 0);
      }
    }
  }

  /**
   * free_pgtables() at exit: free every table frame, root included. Leaf frames are NOT touched;
   * the caller zaps (and releases) them first. The PageTable must not be used afterwards.
   */
  freeAll(): void {
    const u32 = this.u32;
    const root = this.rootPfn * PAGE_SIZE;
    for (let i = 0; i < PTRS_PER_TABLE; i++) {
      const lo2 = u32[(root >>> 2) + i * 2];
      if ((lo2 & PTE_V) === 0 || (lo2 & PTE_RWX) !== 0) continue;
      const pmd = ptePfn(lo2, u32[(root >>> 2) + i * 2 + 1]);
      const pmdBase = (pmd * PAGE_SIZE) >>> 2;
      for (let j = 0; j < PTRS_PER_TABLE; j++) {
        const lo1 = u32[pmdBase + j * 2];
        if ((lo1 & PTE_V) === 0 || (lo1 & PTE_RWX) !== 0) continue;
        this.alloc.freePages(ptePfn(lo1, u32[pmdBase + j * 2 + 1]), 0);
      }
      this.alloc.freePages(pmd, 0);
    }
    this.alloc.freePages(this.rootPfn, 0);
  }

  /** Page-table frames in use, root included (mm_pgtables_bytes / PAGE_SIZE; cold path: OOM, /proc). */
  tablePages(): number {
    const u32 = this.u32;
    const root = this.rootPfn * PAGE_SIZE;
    let n = 1;
    for (let i = 0; i < PTRS_PER_TABLE; i++) {
      const lo2 = u32[(root >>> 2) + i * 2];
      if ((lo2 & PTE_V) === 0 || (lo2 & PTE_RWX) !== 0) continue;
      n++;
      const pmdBase = (ptePfn(lo2, u32[(root >>> 2) + i * 2 + 1]) * PAGE_SIZE) >>> 2;
      for (let j = 0; j < PTRS_PER_TABLE; j++) {
        const lo1 = u32[pmdBase + j * 2];
        if ((lo1 & PTE_V) !== 0 && (lo1 & PTE_RWX) === 0) n++;
      }
    }
    return n;
  }

  private tableEmpty(pfn: number): boolean {
    const base = (pfn * PAGE_SIZE) >>> 2;
    const u32 = this.u32;
    for (let i = 0; i < PTRS_PER_TABLE * 2; i++) if (u32[base + i] !== 0) return false;
    return true;
  }
}

/** A user read-write data page, accessed and dirty (what a write fault on anonymous memory installs). */
export const PTE_USER_RW = PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D;
