/**
 * Guest physical memory: one ArrayBuffer per machine (DESIGN.md, "RAM").
 *
 * Physical addresses run from 0 to `size`; a physical frame number (pfn) is `pa >>> 12`.
 * Nothing else is guest memory. The hart reads and writes it through the typed views below;
 * the kernel reaches it through `kernel/mm/uaccess.ts`, which goes through the page tables.
 *
 * Decoded-instruction cache coherence: the hart caches decoded instructions per physical
 * frame and marks such frames in `codeFrames`. Any write to guest RAM that does NOT go through
 * the hart's own store path (kernel copy_to_user, ELF loading, zeroing a fresh frame, freeing a
 * frame) must call `wrote(pa, len)` (or `wroteFrame(pfn)`) so stale decoded code is dropped.
 */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PAGE_MASK = PAGE_SIZE - 1;

export class PhysicalMemory {
  readonly buffer: ArrayBuffer;
  readonly size: number;
  readonly frames: number;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly view: DataView;
  /** 1 where the hart holds decoded instructions for that frame. */
  readonly codeFrames: Uint8Array;
  /** Called (by `wrote`) for a frame in `codeFrames`; the hart installs it. */
  onCodeWrite: (pfn: number) => void = () => {};

  constructor(sizeBytes: number) {
    if (sizeBytes % PAGE_SIZE !== 0 || sizeBytes <= 0 || sizeBytes > 0x1_0000_0000) {
      throw new RangeError(`guest RAM must be a positive multiple of 4096 bytes up to 4 GiB, got ${sizeBytes}`);
    }
    this.buffer = new ArrayBuffer(sizeBytes);
    this.size = sizeBytes;
    this.frames = sizeBytes >>> PAGE_SHIFT;
    this.u8 = new Uint8Array(this.buffer);
    this.u16 = new Uint16Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.u32 = new Uint32Array(this.buffer);
    this.f64 = new Float64Array(this.buffer);
    this.view = new DataView(this.buffer);
    this.codeFrames = new Uint8Array(this.frames);
  }

  /** Tell the hart that bytes [pa, pa+len) changed behind its back. */
  wrote(pa: number, len: number): void {
    if (len <= 0) return;
    const first = pa >>> PAGE_SHIFT;
    const last = (pa + len - 1) >>> PAGE_SHIFT;
    for (let pfn = first; pfn <= last; pfn++) {
      if (this.codeFrames[pfn] !== 0) this.onCodeWrite(pfn);
    }
  }

  wroteFrame(pfn: number): void {
    if (this.codeFrames[pfn] !== 0) this.onCodeWrite(pfn);
  }
}
