/**
 * A BlockDevice over a host file that keeps the file sparse: on a freshly created file every sector reads as
 * zero, so a write of zeros to a sector never written before is dropped instead of allocating disk. mkfs and
 * populate write only metadata and file data, so a 512 MiB image costs about what it holds (as `mke2fs` on a
 * fresh `truncate -s 512M` file does, where unix_io never writes the untouched inode tables either).
 * Host-side only (node:fs); the kernel sees just the BlockDevice interface.
 */
import * as fs from 'node:fs';
import { BlockDeviceError, SECTOR_SIZE, type BlockDevice } from '../kernel/fs/ext2/block_device.js';

export class SparseFileDevice implements BlockDevice {
  readonly sectors: number;
  /** Bytes actually written to the file (zero runs that were dropped do not count). */
  bytesWritten = 0;
  /** One bit per sector that has been written (only kept for a fresh file, where unwritten means zero). */
  private readonly dirty: Uint8Array | null;
  private closed = false;

  private constructor(
    private readonly fd: number,
    bytes: number,
    fresh: boolean,
    readonly readOnly: boolean,
  ) {
    this.sectors = Math.floor(bytes / SECTOR_SIZE);
    this.dirty = fresh ? new Uint8Array(Math.ceil(this.sectors / 8)) : null;
  }

  /** Create `path` (it must not exist) as a sparse file of `bytes` bytes. */
  static create(path: string, bytes: number): SparseFileDevice {
    if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % SECTOR_SIZE !== 0) {
      throw new BlockDeviceError(`image size ${bytes} is not a positive multiple of ${SECTOR_SIZE}`);
    }
    const fd = fs.openSync(path, 'wx+', 0o644);
    try {
      fs.ftruncateSync(fd, bytes);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return new SparseFileDevice(fd, bytes, true, false);
  }

  /** Open an existing image file. */
  static open(path: string, opts: { readOnly?: boolean } = {}): SparseFileDevice {
    const fd = fs.openSync(path, opts.readOnly ? 'r' : 'r+');
    return new SparseFileDevice(fd, fs.fstatSync(fd).size, false, opts.readOnly ?? false);
  }

  private check(lba: number, count: number, what: string): void {
    if (this.closed) throw new BlockDeviceError('device is closed');
    if (
      !Number.isSafeInteger(lba) ||
      !Number.isSafeInteger(count) ||
      lba < 0 ||
      count < 0 ||
      lba + count > this.sectors
    ) {
      throw new BlockDeviceError(`${what} beyond end of device: sector ${lba}+${count} of ${this.sectors}`);
    }
  }

  readBlocks(lba: number, count: number): Uint8Array {
    this.check(lba, count, 'read');
    const out = new Uint8Array(count * SECTOR_SIZE);
    let done = 0;
    while (done < out.length) {
      const n = fs.readSync(this.fd, out, done, out.length - done, lba * SECTOR_SIZE + done);
      if (n === 0) break; // past the end of a short file: reads as zeros
      done += n;
    }
    return out;
  }

  writeBlocks(lba: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockDeviceError('device is read-only');
    if (data.length % SECTOR_SIZE !== 0) throw new BlockDeviceError('write is not a whole number of sectors');
    const count = data.length / SECTOR_SIZE;
    this.check(lba, count, 'write');
    const dirty = this.dirty;
    if (!dirty) {
      this.writeRun(lba, data);
      return;
    }
    // Write runs of sectors that hold data or overwrite earlier data; drop zero sectors never written.
    let runStart = -1;
    for (let i = 0; i <= count; i++) {
      let keep = false;
      if (i < count) {
        const s = lba + i;
        keep = (dirty[s >>> 3] & (1 << (s & 7))) !== 0 || !isZero(data, i * SECTOR_SIZE, SECTOR_SIZE);
        if (keep) dirty[s >>> 3] |= 1 << (s & 7);
      }
      if (keep && runStart < 0) runStart = i;
      if (!keep && runStart >= 0) {
        this.writeRun(lba + runStart, data.subarray(runStart * SECTOR_SIZE, i * SECTOR_SIZE));
        runStart = -1;
      }
    }
  }

  private writeRun(lba: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      done += fs.writeSync(this.fd, data, done, data.length - done, lba * SECTOR_SIZE + done);
    }
    this.bytesWritten += data.length;
  }

  /** fsync the file. */
  sync(): void {
    if (!this.closed && !this.readOnly) fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

function isZero(b: Uint8Array, off: number, len: number): boolean {
  for (let i = off; i < off + len; i++) if (b[i] !== 0) return false;
  return true;
}
