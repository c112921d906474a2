import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../../src/machine/memory.js';
import { BuddyAllocator, MAX_ORDER } from '../../../src/kernel/mm/page_alloc.js';

describe('BuddyAllocator', () => {
  it('hands RAM over in maximal aligned blocks, skipping reserved frames', () => {
    const mem = new PhysicalMemory(16 * 1024 * 1024); // 4096 frames
    const a = new BuddyAllocator(mem, 16);
    expect(a.nrFree()).toBe(4096 - 16);
    const b = a.freeByOrder();
    expect(b.length).toBe(MAX_ORDER);
    // 16..31 (order 4), 32..63 (5), 64..127 (6), 128..255 (7), 256..511 (8), 512..1023 (9), then 3 × 1024 (10)
    expect(b).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 3]);
    let sum = 0;
    b.forEach((n, o) => (sum += n << o));
    expect(sum).toBe(a.nrFree());
  });

  it('splits the smallest suitable block and merges buddies back on free', () => {
    const mem = new PhysicalMemory(4 * 1024 * 1024); // 1024 frames: one order-10 block
    const a = new BuddyAllocator(mem, 0);
    expect(a.freeByOrder()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const p = a.allocPages(0);
    expect(p).toBe(0);
    // expand(): one free block of each order 0..9 remains
    expect(a.freeByOrder()).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
    expect(a.nrFree()).toBe(1023);
    const q = a.allocPages(0);
    expect(q).toBe(1); // the buddy of 0
    const r = a.allocPages(3);
    expect(r % 8).toBe(0);
    a.freePages(p, 0);
    expect(a.freeByOrder()[0]).toBe(1); // 0 cannot merge: 1 is in use
    a.freePages(q, 0);
    a.freePages(r, 3);
    expect(a.freeByOrder()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(a.nrFree()).toBe(1024);
  });

  it('returns -1 on exhaustion and recovers after frees', () => {
    const mem = new PhysicalMemory(64 * 4096);
    const a = new BuddyAllocator(mem, 0);
    const got: number[] = [];
    for (;;) {
      const p = a.allocPages(0);
      if (p < 0) break;
      got.push(p);
    }
    expect(got.length).toBe(64);
    expect(new Set(got).size).toBe(64);
    expect(a.nrFree()).toBe(0);
    expect(a.allocPages(0)).toBe(-1);
    for (const p of got) a.freePages(p, 0);
    expect(a.nrFree()).toBe(64);
    expect(a.freeByOrder()[6]).toBe(1);
    expect(a.allocPages(6)).toBe(0);
    expect(a.allocPages(0)).toBe(-1);
  });

  it('zeroes fresh frames and reports them to the decode cache', () => {
    const mem = new PhysicalMemory(64 * 4096);
    const a = new BuddyAllocator(mem, 0);
    const p = a.allocPages(1);
    mem.u8.fill(0xaa, p * 4096, p * 4096 + 8192);
    mem.codeFrames[p + 1] = 1;
    const seen: number[] = [];
    mem.onCodeWrite = (pfn) => seen.push(pfn);
    a.freePages(p, 1);
    const p2 = a.allocPages(1);
    expect(p2).toBe(p);
    expect(mem.u8.subarray(p * 4096, p * 4096 + 8192).every((x) => x === 0)).toBe(true);
    expect(seen).toEqual([p + 1]);
  });

  it('keeps a reference count: getPage/putPage free at zero', () => {
    const mem = new PhysicalMemory(64 * 4096);
    const a = new BuddyAllocator(mem, 0);
    const p = a.allocPages(0);
    expect(a.pageCount(p)).toBe(1);
    a.getPage(p);
    expect(a.pageCount(p)).toBe(2);
    const free = a.nrFree();
    a.putPage(p);
    expect(a.pageCount(p)).toBe(1);
    expect(a.nrFree()).toBe(free);
    a.putPage(p);
    expect(a.pageCount(p)).toBe(0);
    expect(a.nrFree()).toBe(free + 1);
    expect(() => a.putPage(p)).toThrow(/not an allocated frame/);
    expect(() => a.freePages(p, 0)).toThrow();
    // a higher-order block is freed whole by putPage
    const big = a.allocPages(2);
    a.putPage(big);
    expect(a.nrFree()).toBe(64);
  });

  it('rejects a wrong order and bad arguments', () => {
    const mem = new PhysicalMemory(64 * 4096);
    const a = new BuddyAllocator(mem, 0);
    const p = a.allocPages(2);
    expect(() => a.freePages(p, 1)).toThrow(/order/);
    expect(() => a.allocPages(11)).toThrow(RangeError);
    expect(() => a.allocPages(-1)).toThrow(RangeError);
    expect(a.pageCount(-5)).toBe(0);
    expect(a.pageCount(1e9)).toBe(0);
  });

  it('never hands out reserved frames and survives random alloc/free', () => {
    const mem = new PhysicalMemory(2 * 1024 * 1024); // 512 frames
    const a = new BuddyAllocator(mem, 37);
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    const live: Array<[number, number]> = [];
    for (let step = 0; step < 3000; step++) {
      if (live.length > 0 && rnd() < 0.45) {
        const k = Math.floor(rnd() * live.length);
        const [pfn, order] = live.splice(k, 1)[0];
        a.freePages(pfn, order);
      } else {
        const order = Math.floor(rnd() * 5);
        const pfn = a.allocPages(order);
        if (pfn >= 0) {
          if (pfn < 37 || pfn % (1 << order) !== 0) throw new Error(`bad block ${pfn}/${order}`);
          for (const [q, o] of live) if (!(pfn + (1 << order) <= q || q + (1 << o) <= pfn)) throw new Error('overlap');
          live.push([pfn, order]);
        }
      }
    }
    for (const [pfn, order] of live) a.freePages(pfn, order);
    expect(a.nrFree()).toBe(512 - 37);
    const again = new BuddyAllocator(new PhysicalMemory(2 * 1024 * 1024), 37);
    expect(a.freeByOrder()).toEqual(again.freeByOrder());
  });
});
