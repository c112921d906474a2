/**
 * The machine's disk (host side, used inside the machine worker): a read-only base image with a
 * copy-on-write overlay, the way qemu's qcow2 backing files work but in the simplest form that
 * survives restarts:
 *   - `base`: the image file, opened O_RDONLY and never written;
 *   - `overlay`: a sparse file of the same size holding every 4 KiB chunk the guest wrote;
 *   - `overlay.map`: a bitmap (one bit per chunk, LSB first) saying which chunks live in the
 *     overlay. Written on flush, after the overlay data is fsynced, so a chunk's bit is never on
 *     disk before its data.
 * A partial-chunk write copies the base chunk up first, so the overlay chunk is always whole.
 * Synchronous node:fs calls are fine here: the worker thread owns the machine.
 */
import * as fs from 'node:fs';

export const SECTOR_SIZE = 512;
/** Copy-on-write granule (bytes). */
export const CHUNK_SIZE = 4096;
const SECTORS_PER_CHUNK = CHUNK_SIZE / SECTOR_SIZE;

/** What the block driver (kernel/block/virtio_blk.ts) needs from a disk. */
export interface DiskBackend {
  /** Size in 512-byte sectors. */
  readonly sectors: number;
  readonly readOnly: boolean;
  /** Read `count` sectors at `lba` (into `into` when given, which must hold count*512 bytes). */
  readSectors(lba: number, count: number, into?: Uint8Array): Uint8Array;
  /** Write whole sectors at `lba`. */
  writeSectors(lba: number, data: Uint8Array): void;
  /** Make everything written so far durable (VIRTIO_BLK_T_FLUSH). */
  flush(): void;
  close(): void;
}

export class DiskError extends Error {
  override name = 'DiskError';
}

function checkRange(disk: DiskBackend, lba: number, count: number): void {
  if (
    !Number.isSafeInteger(lba) ||
    !Number.isSafeInteger(count) ||
    lba < 0 ||
    count < 0 ||
    lba + count > disk.sectors
  ) {
    throw new DiskError(`access beyond end of disk: sector ${lba}+${count} of ${disk.sectors}`);
  }
}

/** A base image plus copy-on-write overlay (see the file comment). */
export class DiskImage implements DiskBackend {
  readonly sectors: number;
  readonly readOnly: boolean;
  private readonly chunks: number;
  /** In-core copy of overlay.map; `mapDirty` when it differs from the file. */
  private readonly map: Uint8Array;
  private mapDirty = false;
  private closed = false;
  /** Chunk scratch buffer for copy-up. */
  private readonly scratch = new Uint8Array(CHUNK_SIZE);

  private constructor(
    private readonly baseFd: number,
    private readonly overlayFd: number,
    private readonly mapPath: string,
    readonly size: number,
    readOnly: boolean,
  ) {
    this.sectors = Math.floor(size / SECTOR_SIZE);
    this.chunks = Math.ceil(size / CHUNK_SIZE);
    this.readOnly = readOnly;
    this.map = new Uint8Array(Math.ceil(this.chunks / 8));
  }

  /**
   * Open `base` read-only and `overlay` (created sparse, with an empty map, when missing).
   * An existing overlay whose size differs from the base is refused: it belongs to another image.
   * `readOnly` opens the overlay read-only too (writes then throw).
   */
  static open(opts: { base: string; overlay: string; readOnly?: boolean }): DiskImage {
    const baseFd = fs.openSync(opts.base, 'r');
    let overlayFd = -1;
    try {
      const size = fs.fstatSync(baseFd).size;
      if (size % SECTOR_SIZE !== 0) throw new DiskError(`${opts.base}: size ${size} is not a multiple of 512`);
      const mapPath = `${opts.overlay}.map`;
      const exists = fs.existsSync(opts.overlay);
      if (exists) {
        const osize = fs.statSync(opts.overlay).size;
        if (osize !== size) {
          throw new DiskError(
            `overlay ${opts.overlay} is ${osize} bytes but base ${opts.base} is ${size}: it belongs to another image`,
          );
        }
      } else if (opts.readOnly) {
        throw new DiskError(`overlay ${opts.overlay} does not exist`);
      }
      overlayFd = fs.openSync(opts.overlay, opts.readOnly ? 'r' : exists ? 'r+' : 'w+');
      if (!exists) {
        fs.ftruncateSync(overlayFd, size); // sparse: no blocks until written
        fs.writeFileSync(mapPath, new Uint8Array(Math.ceil(Math.ceil(size / CHUNK_SIZE) / 8)));
      }
      const disk = new DiskImage(baseFd, overlayFd, mapPath, size, opts.readOnly ?? false);
      if (fs.existsSync(mapPath)) {
        const m = fs.readFileSync(mapPath);
        if (m.length !== disk.map.length) {
          throw new DiskError(`${mapPath}: ${m.length} bytes, expected ${disk.map.length} for a ${size}-byte image`);
        }
        disk.map.set(m);
      } else {
        // An overlay without a map: nothing in it can be trusted to be newer than the base.
        disk.mapDirty = !disk.readOnly;
      }
      return disk;
    } catch (e) {
      if (overlayFd >= 0) fs.closeSync(overlayFd);
      fs.closeSync(baseFd);
      throw e;
    }
  }

  /** Is chunk `c` in the overlay? */
  inOverlay(c: number): boolean {
    return (this.map[c >> 3]! & (1 << (c & 7))) !== 0;
  }

  /** Number of chunks held by the overlay (for tests and `labvisor` status). */
  overlayChunks(): number {
    let n = 0;
    for (let c = 0; c < this.chunks; c++) if (this.inOverlay(c)) n++;
    return n;
  }

  private readFull(fd: number, buf: Uint8Array, pos: number): void {
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(fd, buf, got, buf.length - got, pos + got);
      if (n === 0) {
        buf.fill(0, got); // past the file's end (cannot happen for same-size files, but never leave garbage)
        return;
      }
      got += n;
    }
  }

  private writeFull(fd: number, buf: Uint8Array, pos: number): void {
    let done = 0;
    while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, pos + done);
  }

  readSectors(lba: number, count: number, into?: Uint8Array): Uint8Array {
    if (this.closed) throw new DiskError('disk is closed');
    checkRange(this, lba, count);
    const out = into ?? new Uint8Array(count * SECTOR_SIZE);
    if (out.length < count * SECTOR_SIZE) throw new DiskError('read buffer too small');
    let s = lba;
    const end = lba + count;
    // Runs of consecutive chunks with the same home are read with one pread each.
    while (s < end) {
      const c = Math.floor(s / SECTORS_PER_CHUNK);
      const ov = this.inOverlay(c);
      let e = Math.min(end, (c + 1) * SECTORS_PER_CHUNK);
      while (e < end && this.inOverlay(Math.floor(e / SECTORS_PER_CHUNK)) === ov) {
        e = Math.min(end, e + SECTORS_PER_CHUNK);
      }
      const dst = out.subarray((s - lba) * SECTOR_SIZE, (e - lba) * SECTOR_SIZE);
      this.readFull(ov ? this.overlayFd : this.baseFd, dst, s * SECTOR_SIZE);
      s = e;
    }
    return out;
  }

  writeSectors(lba: number, data: Uint8Array): void {
    if (this.closed) throw new DiskError('disk is closed');
    if (this.readOnly) throw new DiskError('disk is read-only');
    if (data.length % SECTOR_SIZE !== 0) throw new DiskError('write is not a whole number of sectors');
    const count = data.length / SECTOR_SIZE;
    checkRange(this, lba, count);
    const end = lba + count;
    // Copy up every chunk the write only partly covers (cow on first write of a chunk).
    const first = Math.floor(lba / SECTORS_PER_CHUNK);
    const last = Math.floor((end - 1) / SECTORS_PER_CHUNK);
    for (const c of first === last ? [first] : [first, last]) {
      if (this.inOverlay(c)) continue;
      const cs = c * SECTORS_PER_CHUNK;
      const covered = lba <= cs && end >= cs + SECTORS_PER_CHUNK;
      if (covered) continue;
      const bytes = Math.min(CHUNK_SIZE, this.size - cs * SECTOR_SIZE);
      const buf = this.scratch.subarray(0, bytes);
      this.readFull(this.baseFd, buf, cs * SECTOR_SIZE);
      this.writeFull(this.overlayFd, buf, cs * SECTOR_SIZE);
      this.setChunk(c);
    }
    this.writeFull(this.overlayFd, data, lba * SECTOR_SIZE);
    for (let c = first; c <= last; c++) this.setChunk(c);
  }

  private setChunk(c: number): void {
    if (this.inOverlay(c)) return;
    this.map[c >> 3]! |= 1 << (c & 7);
    this.mapDirty = true;
  }

  /** fsync the overlay data, then write and fsync the map (data before the bits that point at it). */
  flush(): void {
    if (this.closed || this.readOnly) return;
    fs.fsyncSync(this.overlayFd);
    if (this.mapDirty) {
      const tmp = `${this.mapPath}.tmp`;
      const fd = fs.openSync(tmp, 'w');
      try {
        this.writeFull(fd, this.map, 0);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.mapPath); // atomic replace: a crash leaves the old or the new map
      this.mapDirty = false;
    }
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    fs.closeSync(this.overlayFd);
    fs.closeSync(this.baseFd);
  }
}

/** A disk held in memory (tests, scratch machines). */
export class MemDisk implements DiskBackend {
  readonly sectors: number;
  flushes = 0;
  constructor(
    readonly data: Uint8Array,
    readonly readOnly = false,
  ) {
    this.sectors = Math.floor(data.length / SECTOR_SIZE);
  }

  readSectors(lba: number, count: number, into?: Uint8Array): Uint8Array {
    checkRange(this, lba, count);
    const src = this.data.subarray(lba * SECTOR_SIZE, (lba + count) * SECTOR_SIZE);
    if (into) {
      into.set(src);
      return into;
    }
    return src.slice();
  }

  writeSectors(lba: number, data: Uint8Array): void {
    if (this.readOnly) throw new DiskError('disk is read-only');
    if (data.length % SECTOR_SIZE !== 0) throw new DiskError('write is not a whole number of sectors');
    checkRange(this, lba, data.length / SECTOR_SIZE);
    this.data.set(data, lba * SECTOR_SIZE);
  }

  flush(): void {
    this.flushes++;
  }

  close(): void {}
}
