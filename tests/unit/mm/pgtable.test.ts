import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../../src/machine/memory.js';
import { BuddyAllocator } from '../../../src/kernel/mm/page_alloc.js';
import { PageTable, PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X } from '../../../src/kernel/mm/pgtable.js';

function setup() {
  const mem = new PhysicalMemory(8 * 1024 * 1024);
  const alloc = new BuddyAllocator(mem, 8);
  const pt = PageTable.create(mem, alloc)!;
  return { mem, alloc, pt };
}

/** Read a PTE as a BigInt from RAM bytes, little endian (the reference reading of the format). */
function pteAt(mem: PhysicalMemory, pa: number): bigint {
  return mem.view.getBigUint64(pa, true);
}

describe('Sv39 page tables', () => {
  it('maps, looks up and unmaps a page, allocating the intermediate tables', () => {
    const { mem, alloc, pt } = setup();
    const before = alloc.nrFree();
    const va = 0x3f_ffff_e000; // near the top of user space: VPN2=255, VPN1=511, VPN0=510
    const frame = alloc.allocPages(0);
    expect(pt.map(va, frame, PTE_R | PTE_W | PTE_U | PTE_A | PTE_D)).toBe(0);
    expect(alloc.nrFree()).toBe(before - 3); // frame + pmd + pte tables
    expect(pt.translate(va + 0x123)).toBe(frame * 4096 + 0x123);
    expect(pt.translate(va + 4096)).toBe(-1);
    expect(pt.lookupFlags(va)).toBe(PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);

    // The walk a hart does, from the raw bytes: root[VPN2] → pmd[VPN1] → pte[VPN0].
    const vpn2 = Math.floor(va / 2 ** 30) & 511;
    const vpn1 = Math.floor(va / 2 ** 21) & 511;
    const vpn0 = Math.floor(va / 2 ** 12) & 511;
    expect([vpn2, vpn1, vpn0]).toEqual([255, 511, 510]);
    const e2 = pteAt(mem, pt.rootPfn * 4096 + vpn2 * 8);
    expect(e2 & 0xffn).toBe(1n); // V only: a pointer to the next level
    const pmd = Number(e2 >> 10n);
    const e1 = pteAt(mem, pmd * 4096 + vpn1 * 8);
    expect(e1 & 0xffn).toBe(1n);
    const ptab = Number(e1 >> 10n);
    const e0 = pteAt(mem, ptab * 4096 + vpn0 * 8);
    expect(Number(e0 >> 10n)).toBe(frame);
    expect(Number(e0 & 0x3ffn)).toBe(0b11010111); // D A - U - W R V
    expect(e0 >> 54n).toBe(0n); // reserved bits clear

    expect(pt.unmap(va)).toBe(frame);
    expect(pt.translate(va)).toBe(-1);
    expect(pteAt(mem, ptab * 4096 + vpn0 * 8)).toBe(0n);
    expect(pt.unmap(va)).toBe(-1);
    pt.freeEmptyTables(va, va + 4096);
    expect(pteAt(mem, pt.rootPfn * 4096 + vpn2 * 8)).toBe(0n);
    alloc.freePages(frame, 0);
    expect(alloc.nrFree()).toBe(before);
  });

  it('encodes large PPNs across both halves', () => {
    const { mem, pt } = setup();
    const pteAddr = 0x1000;
    pt.writePte(pteAddr, 0x123456789, PTE_V | PTE_R | PTE_X | PTE_U);
    expect(pteAt(mem, pteAddr)).toBe((0x123456789n << 10n) | BigInt(PTE_V | PTE_R | PTE_X | PTE_U));
    expect(pt.pfnAt(pteAddr)).toBe(0x123456789);
  });

  it('protect rewrites flags, keeps the frame; forEachPresent skips holes', () => {
    const { alloc, pt } = setup();
    const f1 = alloc.allocPages(0);
    const f2 = alloc.allocPages(0);
    pt.map(0x10000, f1, PTE_R | PTE_U);
    pt.map(0x2000_0000_0, f2, PTE_R | PTE_U); // different 1 GiB region
    expect(pt.protect(0x10000, PTE_V | PTE_R | PTE_X | PTE_U)).toBe(true);
    expect(pt.lookupFlags(0x10000)).toBe(PTE_V | PTE_R | PTE_X | PTE_U);
    expect(pt.translate(0x10000)).toBe(f1 * 4096);
    expect(pt.protect(0x11000, PTE_V)).toBe(false);
    const seen: number[] = [];
    pt.forEachPresent(0, 0x40_0000_0000, (va) => seen.push(va));
    expect(seen).toEqual([0x10000, 0x2000_0000_0]);
  });

  it('freeAll returns every table frame', () => {
    const { alloc, pt, mem } = setup();
    const start = alloc.nrFree();
    for (let i = 0; i < 5; i++) pt.map(i * 0x4000_0000 + 0x5000, 100 + i, PTE_R | PTE_U);
    for (let i = 0; i < 5; i++) pt.unmap(i * 0x4000_0000 + 0x5000);
    pt.freeAll();
    expect(alloc.nrFree()).toBe(start + 1); // the root too
    void mem;
  });
});
