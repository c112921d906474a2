import { describe, expect, it } from 'vitest';
import { makeMm, MemFile, pattern } from './helpers.js';
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  PROT_NONE,
} from '../../../src/kernel/mm/mman.js';
import {
  clearUser,
  copyFromUser,
  copyToUser,
  getUser32,
  getUser64,
  getUser64LoHi,
  putUser32,
  putUser64,
  strncpyFromUser,
} from '../../../src/kernel/mm/uaccess.js';
import { EFAULT, ENAMETOOLONG } from '../../../src/kernel/errno.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const base = 0x4000_0000;

describe('uaccess', () => {
  it('copies across page boundaries, faulting pages in', () => {
    const { mm } = makeMm();
    mm.mmapRegion(base, 4 * 4096, RW, ANON, null, 0);
    const data = pattern(3 * 4096 + 77);
    expect(copyToUser(mm, base + 1000, data)).toBe(0);
    expect(mm.rss).toBe(4);
    const back = copyFromUser(mm, base + 1000, data.length) as Uint8Array;
    expect(back).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
    expect(copyFromUser(mm, base, 0)).toEqual(new Uint8Array(0));
    expect(clearUser(mm, base + 4090, 20)).toBe(0);
    const z = copyFromUser(mm, base + 4088, 24) as Uint8Array;
    expect(Array.from(z.subarray(2, 22)).every((b) => b === 0)).toBe(true);
    expect(z[0]).toBe(data[4088 - 1000]);
  });

  it('returns -EFAULT outside VMAs, on read-only for writes, and for bad ranges', () => {
    const { mm } = makeMm();
    mm.mmapRegion(base, 4096, RW, ANON, null, 0);
    mm.mmapRegion(base + 4096, 4096, PROT_READ, ANON, null, 0);
    mm.mmapRegion(base + 8192, 4096, PROT_NONE, ANON, null, 0);
    expect(copyToUser(mm, base + 4096, new Uint8Array(4))).toBe(-EFAULT);
    expect(copyToUser(mm, base + 4090, new Uint8Array(10))).toBe(-EFAULT); // straddles into read-only
    expect(copyFromUser(mm, base + 4096, 8)).toEqual(new Uint8Array(8));
    expect(copyFromUser(mm, base + 8192, 8)).toBe(-EFAULT);
    expect(copyFromUser(mm, base + 0x10000, 8)).toBe(-EFAULT);
    expect(copyFromUser(mm, -8, 8)).toBe(-EFAULT);
    expect(copyFromUser(mm, 2 ** 38 - 4, 8)).toBe(-EFAULT);
    expect(putUser32(mm, base + 4096, 1)).toBe(-EFAULT);
    expect(getUser32(mm, base + 0x10000)).toBe(null);
    expect(clearUser(mm, base + 4096, 1)).toBe(-EFAULT);
  });

  it('a write through uaccess to a private file page copies, never writes the file', () => {
    const { mm } = makeMm();
    const f = new MemFile(pattern(4096));
    const a = mm.mmapRegion(0, 4096, RW, MAP_PRIVATE, f, 0);
    expect(copyToUser(mm, a, new Uint8Array([1, 2, 3]))).toBe(0);
    expect(Array.from(copyFromUser(mm, a, 4) as Uint8Array)).toEqual([1, 2, 3, f.data[3]]);
    expect(f.data[0]).toBe(pattern(4096)[0]);
  });

  it('get/put 32 and 64 bit values, including across pages', () => {
    const { mm } = makeMm();
    mm.mmapRegion(base, 2 * 4096, RW, ANON, null, 0);
    for (const va of [base + 16, base + 4094, base + 4092]) {
      expect(putUser32(mm, va, -2)).toBe(0);
      expect(getUser32(mm, va)).toBe(-2);
      expect(putUser32(mm, va, 0xfffffffe)).toBe(0);
      expect(getUser32(mm, va)! >>> 0).toBe(0xfffffffe);
    }
    for (const va of [base + 32, base + 4092, base + 4088]) {
      for (const v of [0, 1, -1, 2 ** 53 - 1, -(2 ** 40) - 3, 0x1234_5678_9abc]) {
        expect(putUser64(mm, va, v)).toBe(0);
        expect(getUser64(mm, va)).toBe(v);
      }
      putUser64(mm, va, -1);
      expect(getUser64LoHi(mm, va)).toEqual([-1, -1]);
      const raw = copyFromUser(mm, va, 8) as Uint8Array;
      expect(Array.from(raw)).toEqual([255, 255, 255, 255, 255, 255, 255, 255]);
    }
    putUser64(mm, base + 64, 0x0001020304050607);
    expect(Array.from(copyFromUser(mm, base + 64, 8) as Uint8Array)).toEqual([7, 6, 5, 4, 3, 2, 1, 0]);
  });

  it('strncpyFromUser: latin1 bytes, max includes the NUL, faults', () => {
    const { mm } = makeMm();
    mm.mmapRegion(base, 4096, RW, ANON, null, 0);
    const s = new Uint8Array([0x2f, 0x62, 0x69, 0x6e, 0xe9, 0xff, 0]);
    copyToUser(mm, base + 10, s);
    expect(strncpyFromUser(mm, base + 10, 4096)).toBe('/bin\u00e9\u00ff');
    expect(strncpyFromUser(mm, base + 10, 7)).toBe('/bin\u00e9\u00ff');
    expect(strncpyFromUser(mm, base + 10, 6)).toBe(-ENAMETOOLONG);
    // a string that runs off the end of the mapping
    copyToUser(mm, base + 4090, new Uint8Array(6).fill(0x41));
    expect(strncpyFromUser(mm, base + 4090, 100)).toBe(-EFAULT);
    expect(strncpyFromUser(mm, base + 4090, 6)).toBe(-ENAMETOOLONG);
    expect(strncpyFromUser(mm, base + 0x20000, 10)).toBe(-EFAULT);
    expect(strncpyFromUser(mm, base + 16, 4096)).toBe('');
    // across a page boundary
    mm.mmapRegion(base + 4096, 4096, RW, ANON, null, 0);
    copyToUser(mm, base + 4094, new Uint8Array([0x61, 0x62, 0x63, 0]));
    expect(strncpyFromUser(mm, base + 4090, 4096)).toBe('AAAAab'.slice(0, 4) + 'abc');
  });

  it('tells the decode cache about writes into code frames', () => {
    const { mm, mem } = makeMm();
    mm.mmapRegion(base, 4096, RW, ANON, null, 0);
    copyToUser(mm, base, new Uint8Array([1]));
    const pfn = mm.pt.translate(base) / 4096;
    mem.codeFrames[pfn] = 1;
    const seen: number[] = [];
    mem.onCodeWrite = (p) => seen.push(p);
    putUser32(mm, base + 8, 5);
    copyToUser(mm, base + 100, new Uint8Array(4));
    expect(seen).toEqual([pfn, pfn]);
  });
});
