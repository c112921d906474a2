/** A block device addressed in 512-byte sectors, as the filesystem sees it. */

export const SECTOR_SIZE = 512;

export interface BlockDevice {
  /** Size of the device in 512-byte sectors. */
  readonly sectors: number;
  /** Read `count` sectors starting at sector `lba`. Throws a BlockDeviceError past the end. */
  readBlocks(lba: number, count: number): Uint8Array;
  /** Write whole sectors starting at sector `lba` (data.length must be a multiple of 512). */
  writeBlocks(lba: number, data: Uint8Array): void;
}

export class BlockDeviceError extends Error {
  override name = 'BlockDeviceError';
}

/** An in-memory block device over a Uint8Array (for tests and images held in memory). */
export class MemBlockDevice implements BlockDevice {
  readonly sectors: number;
  constructor(
    readonly data: Uint8Array,
    readonly readOnly = false,
  ) {
    this.sectors = Math.floor(data.length / SECTOR_SIZE);
  }

  readBlocks(lba: number, count: number): Uint8Array {
    if (
      !Number.isSafeInteger(lba) ||
      !Number.isSafeInteger(count) ||
      lba < 0 ||
      count < 0 ||
      lba + count > this.sectors
    ) {
      throw new BlockDeviceError(`read beyond end of device: sector ${lba}+${count} of ${this.sectors}`);
    }
    return this.data.slice(lba * SECTOR_SIZE, (lba + count) * SECTOR_SIZE);
  }

  writeBlocks(lba: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockDeviceError('device is read-only');
    if (data.length % SECTOR_SIZE !== 0) throw new BlockDeviceError('write is not a whole number of sectors');
    const count = data.length / SECTOR_SIZE;
    if (!Number.isSafeInteger(lba) || lba < 0 || lba + count > this.sectors) {
      throw new BlockDeviceError(`write beyond end of device: sector ${lba}+${count} of ${this.sectors}`);
    }
    this.data.set(data, lba * SECTOR_SIZE);
  }
}
