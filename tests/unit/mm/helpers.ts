import { PhysicalMemory } from '../../../src/machine/memory.js';
import { BuddyAllocator } from '../../../src/kernel/mm/page_alloc.js';
import { MmStruct } from '../../../src/kernel/mm/mm_struct.js';
import type { MappedFile } from '../../../src/kernel/mm/vma.js';

export interface TestMm {
  mem: PhysicalMemory;
  alloc: BuddyAllocator;
  mm: MmStruct;
  flushes: Array<number | undefined>;
}

/** A machine with `mib` MiB of RAM (first 16 frames reserved) and one address space. */
export function makeMm(mib = 16): TestMm {
  const mem = new PhysicalMemory(mib * 1024 * 1024);
  const alloc = new BuddyAllocator(mem, 16);
  const flushes: Array<number | undefined> = [];
  const mm = new MmStruct({ mem, pageAlloc: alloc, flushTlb: (va?: number) => flushes.push(va) });
  return { mem, alloc, mm, flushes };
}

/** An in-memory file with pread/pwrite and FMODE bits, counting references. */
export class MemFile implements MappedFile {
  refs = 1;
  constructor(
    public data: Uint8Array,
    public readonly readable = true,
    public readonly writable = false,
    withPwrite = true,
  ) {
    if (!withPwrite) this.pwrite = undefined;
  }
  pread(buf: Uint8Array, pos: number): number {
    if (pos >= this.data.length) return 0;
    const n = Math.min(buf.length, this.data.length - pos);
    buf.set(this.data.subarray(pos, pos + n));
    return n;
  }
  pwrite?: (buf: Uint8Array, pos: number) => number = (buf, pos) => {
    if (pos + buf.length > this.data.length) {
      const d = new Uint8Array(pos + buf.length);
      d.set(this.data);
      this.data = d;
    }
    this.data.set(buf, pos);
    return buf.length;
  };
  get(): this {
    this.refs++;
    return this;
  }
  put(): void {
    this.refs--;
  }
}

export function pattern(len: number, seed = 1): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}
