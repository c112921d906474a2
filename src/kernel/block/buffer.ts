/**
 * The buffer cache (fs/buffer.c + the block device's page cache, block/bdev.c): 4 KiB blocks
 * of the disk kept in memory, so filesystem metadata read again and again (bitmaps, inode
 * tables, directory blocks) does not go to the disk each time, and writes are gathered and
 * written back later (write-back caching, as dirty buffer_heads are by writeback/sync).
 *
 * It is the `BlockDevice` the ext4 engine mounts: sector-addressed reads and writes are served
 * from the cached blocks; whole-block writes of blocks not in the cache (file data) are written
 * through at once, and sequential reads get a growing readahead window. Each call runs under one plug, so the misses of a call become bios
 * that the request queue merges into as few requests as possible. The cache is bounded
 * (`limitBytes`, LRU order = Map insertion order, refreshed on use): clean blocks are dropped
 * first; when only dirty ones are left, all dirty blocks are written back in sector order
 * (one merged stream) and then dropped (balance_dirty_pages, simply).
 */
import { BlockDeviceError, type BlockDevice } from '../fs/ext2/block_device.js';
import { REQ_OP_FLUSH, REQ_OP_READ, REQ_OP_WRITE, SECTOR_SIZE, bioAlloc, type Bio } from './bio.js';
import type { RequestQueue } from './blk-mq.js';

export const BLOCK_SIZE = 4096;
const SPB = BLOCK_SIZE / SECTOR_SIZE; // sectors per block
export const DEFAULT_CACHE_BYTES = 16 * 1024 * 1024;
/** Largest readahead window, in blocks (read_ahead_kb = 128). */
const MAX_READAHEAD = 32;

/** struct buffer_head, reduced to what is needed: the bytes and BH_Dirty. */
interface Buf {
  data: Uint8Array;
  dirty: boolean;
}

export class BufferCache implements BlockDevice {
  private readonly bufs = new Map<number, Buf>();
  private nrDirty = 0;
  private readonly maxBlocks: number;
  /** Last write-back error (AS_EIO / errseq): reported by the next flush(). */
  private wbError = 0;
  /** Hit/miss counters (for tests and a future /proc/meminfo Buffers). */
  hits = 0;
  misses = 0;
  readahead = 0;
  /** Readahead state: the last block of the previous read, and the current window in blocks. */
  private lastReadEnd = -2;
  private raWindow = 0;

  constructor(
    private readonly q: RequestQueue,
    readonly sectors: number,
    readonly readOnly: boolean,
    limitBytes = DEFAULT_CACHE_BYTES,
  ) {
    this.maxBlocks = Math.max(16, Math.floor(limitBytes / BLOCK_SIZE));
  }

  /** Bytes held (for /proc/meminfo "Buffers"). */
  get cachedBytes(): number {
    return this.bufs.size * BLOCK_SIZE;
  }

  get dirtyBlocks(): number {
    return this.nrDirty;
  }

  /** Sectors of block `b` that exist on the device (the last block may be short). */
  private blockSectors(b: number): number {
    return Math.min(SPB, this.sectors - b * SPB);
  }

  private check(lba: number, count: number): void {
    if (
      !Number.isSafeInteger(lba) ||
      !Number.isSafeInteger(count) ||
      lba < 0 ||
      count < 0 ||
      lba + count > this.sectors
    ) {
      throw new BlockDeviceError(`access beyond end of device: sector ${lba}+${count} of ${this.sectors}`);
    }
  }

  /**
   * Make blocks [first, last] present (bread / ll_rw_block for the misses, under one plug so
   * consecutive misses merge into one request). Throws BlockDeviceError on an I/O error.
   */
  private fill(first: number, last: number, skipWhole?: (b: number) => boolean): void {
    const pending: { b: number; bio: Bio }[] = [];
    // Sequential reads grow a readahead window (ondemand_readahead, simply): the blocks after
    // the request are read in the same plug, so they merge into the same request.
    // Cache hits elsewhere (metadata between data reads) do not disturb the stream.
    let raEnd = last;
    const continues = first === this.lastReadEnd + 1;
    if (!skipWhole && !this.bufs.has(first)) {
      this.raWindow = continues ? Math.min(Math.max(4, this.raWindow * 2), MAX_READAHEAD) : 0;
      raEnd = Math.min(last + this.raWindow, Math.floor((this.sectors - 1) / SPB));
      this.lastReadEnd = last;
    } else if (!skipWhole && continues) {
      this.lastReadEnd = last;
    }
    this.q.startPlug();
    try {
      for (let b = first; b <= raEnd; b++) {
        const have = this.bufs.get(b);
        if (have) {
          this.hits++;
          this.bufs.delete(b); // LRU: move to the young end
          this.bufs.set(b, have);
          continue;
        }
        if (skipWhole?.(b)) continue;
        if (b > last) this.readahead++;
        else this.misses++;
        const data = new Uint8Array(BLOCK_SIZE);
        const bio = bioAlloc(REQ_OP_READ, b * SPB, data.subarray(0, this.blockSectors(b) * SECTOR_SIZE));
        this.q.submit(bio);
        pending.push({ b, bio });
      }
    } finally {
      this.q.finishPlug();
    }
    for (const { b, bio } of pending) {
      if (bio.status !== 0) throw new BlockDeviceError(`I/O error reading block ${b} (sector ${bio.sector})`);
      this.bufs.set(b, { data: new Uint8Array(bio.data.buffer, 0, BLOCK_SIZE), dirty: false });
    }
  }

  readBlocks(lba: number, count: number): Uint8Array {
    this.check(lba, count);
    const out = new Uint8Array(count * SECTOR_SIZE);
    if (count === 0) return out;
    const first = Math.floor(lba / SPB);
    const last = Math.floor((lba + count - 1) / SPB);
    this.fill(first, last);
    for (let b = first; b <= last; b++) {
      const buf = this.bufs.get(b)!;
      const s0 = Math.max(lba, b * SPB);
      const s1 = Math.min(lba + count, (b + 1) * SPB);
      out.set(buf.data.subarray((s0 - b * SPB) * SECTOR_SIZE, (s1 - b * SPB) * SECTOR_SIZE), (s0 - lba) * SECTOR_SIZE);
    }
    this.shrink();
    return out;
  }

  /** mark_buffer_dirty for every block touched; partly covered blocks are read first (read-modify-write). */
  writeBlocks(lba: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockDeviceError('device is read-only');
    if (data.length % SECTOR_SIZE !== 0) throw new BlockDeviceError('write is not a whole number of sectors');
    const count = data.length / SECTOR_SIZE;
    this.check(lba, count);
    if (count === 0) return;
    const first = Math.floor(lba / SPB);
    const last = Math.floor((lba + count - 1) / SPB);
    const whole = (b: number): boolean => lba <= b * SPB && lba + count >= b * SPB + this.blockSectors(b);
    this.fill(first, last, whole);
    // Whole blocks that are not cached are file data the filesystem did not read first: they
    // go to the disk now, under one plug, without filling the cache (Linux writes file pages
    // with their own bios; only metadata lives in the buffer cache).
    const through: Bio[] = [];
    this.q.startPlug();
    try {
      for (let b = first; b <= last; b++) {
        if (this.bufs.has(b)) continue;
        const off = (b * SPB - lba) * SECTOR_SIZE;
        const bio = bioAlloc(REQ_OP_WRITE, b * SPB, data.slice(off, off + this.blockSectors(b) * SECTOR_SIZE));
        this.q.submit(bio);
        through.push(bio);
      }
    } finally {
      this.q.finishPlug();
    }
    for (const bio of through) {
      if (bio.status !== 0) throw new BlockDeviceError(`I/O error writing sector ${bio.sector}`);
    }
    for (let b = first; b <= last; b++) {
      const buf = this.bufs.get(b);
      if (!buf) continue; // written through above
      const s0 = Math.max(lba, b * SPB);
      const s1 = Math.min(lba + count, (b + 1) * SPB);
      buf.data.set(data.subarray((s0 - lba) * SECTOR_SIZE, (s1 - lba) * SECTOR_SIZE), (s0 - b * SPB) * SECTOR_SIZE);
      if (!buf.dirty) {
        buf.dirty = true;
        this.nrDirty++;
      }
    }
    this.shrink();
  }

  /**
   * Write every dirty block back (sync_blockdev → write_dirty_buffer for each), in sector order
   * under one plug so runs of blocks become single requests. Returns 0 or -EIO.
   */
  writeback(): number {
    if (this.nrDirty === 0) return 0;
    const blocks: number[] = [];
    for (const [b, buf] of this.bufs) if (buf.dirty) blocks.push(b);
    blocks.sort((a, b) => a - b);
    const bios: { b: number; bio: Bio }[] = [];
    this.q.startPlug();
    try {
      for (const b of blocks) {
        const buf = this.bufs.get(b)!;
        // The bio carries a snapshot: the buffer may be changed again before the request runs.
        const bio = bioAlloc(REQ_OP_WRITE, b * SPB, buf.data.slice(0, this.blockSectors(b) * SECTOR_SIZE));
        this.q.submit(bio);
        bios.push({ b, bio });
      }
    } finally {
      this.q.finishPlug();
    }
    let err = 0;
    for (const { b, bio } of bios) {
      const buf = this.bufs.get(b);
      if (bio.status !== 0) {
        err = -5; // EIO; the buffer stays dirty for a later retry
        continue;
      }
      if (buf?.dirty) {
        buf.dirty = false;
        this.nrDirty--;
      }
    }
    if (err) this.wbError = err;
    return err;
  }

  /**
   * blkdev_issue_flush after sync_blockdev: write back, then a FLUSH request so the host disk
   * makes the data durable. Returns 0 or -EIO (also for an earlier failed write-back).
   */
  flush(): number {
    let err = this.writeback();
    if (!this.readOnly) {
      const bio = bioAlloc(REQ_OP_FLUSH, 0);
      this.q.submit(bio);
      if (bio.status !== 0 && err === 0) err = bio.status;
    }
    if (err === 0 && this.wbError) err = this.wbError;
    this.wbError = 0;
    return err;
  }

  /** invalidate_bdev: drop every clean block (after the disk changed underneath, or to free memory). */
  invalidate(): void {
    for (const [b, buf] of this.bufs) if (!buf.dirty) this.bufs.delete(b);
  }

  /** Keep the cache within its bound: oldest clean blocks first; dirty ones after a write-back. */
  private shrink(): void {
    if (this.bufs.size <= this.maxBlocks) return;
    const excess = (): number => this.bufs.size - this.maxBlocks;
    for (const [b, buf] of this.bufs) {
      if (excess() <= 0) return;
      if (!buf.dirty) this.bufs.delete(b);
    }
    if (excess() > 0 && this.writeback() === 0) {
      for (const b of this.bufs.keys()) {
        if (excess() <= 0) return;
        this.bufs.delete(b);
      }
    }
  }
}
