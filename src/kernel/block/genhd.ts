/**
 * struct gendisk (block/genhd.c): a disk the kernel knows — its name and device number, size,
 * read-only flag, I/O statistics (the fields of /proc/diskstats, part_stat), and the block
 * device the filesystems use: the buffer cache (buffer.ts) over the request queue (blk-mq.ts)
 * over the driver (virtio_blk.ts) over the host disk (machine/dev/disk.ts).
 */
import type { DiskBackend } from '../../machine/dev/disk.js';
import { RequestQueue } from './blk-mq.js';
import { BufferCache } from './buffer.js';
import { VirtioBlk } from './virtio_blk.js';

/** /proc/diskstats counters (Documentation/admin-guide/iostats.rst). Times in milliseconds. */
export interface DiskStats {
  reads: number;
  readMerges: number;
  readSectors: number;
  readTicksMs: number;
  writes: number;
  writeMerges: number;
  writeSectors: number;
  writeTicksMs: number;
  inFlight: number;
  ioTicksMs: number;
  timeInQueueMs: number;
  flushes: number;
  flushTicksMs: number;
}

export function newDiskStats(): DiskStats {
  return {
    reads: 0,
    readMerges: 0,
    readSectors: 0,
    readTicksMs: 0,
    writes: 0,
    writeMerges: 0,
    writeSectors: 0,
    writeTicksMs: 0,
    inFlight: 0,
    ioTicksMs: 0,
    timeInQueueMs: 0,
    flushes: 0,
    flushTicksMs: 0,
  };
}

/** virtblk's major: dynamically allocated in Linux, 254 on typical systems (and in the contract). */
export const VIRTBLK_MAJOR = 254;

export class GenDisk {
  readonly major = VIRTBLK_MAJOR;
  readonly stats: DiskStats = newDiskStats();
  readonly queue: RequestQueue;
  readonly driver: VirtioBlk;
  /** The buffered block device filesystems mount (bdev + its page cache). */
  readonly bdev: BufferCache;

  constructor(
    readonly name: string,
    readonly minor: number,
    backend: DiskBackend,
    opts: { cacheBytes?: number; now?: () => number } = {},
  ) {
    this.driver = new VirtioBlk(backend);
    this.queue = new RequestQueue(this.driver, this.stats, opts.now);
    this.bdev = new BufferCache(this.queue, backend.sectors, backend.readOnly, opts.cacheBytes);
  }

  get sectors(): number {
    return this.driver.sectors;
  }

  get readOnly(): boolean {
    return this.driver.readOnly;
  }

  /** One /proc/diskstats line (diskstats_show): 3 id fields and 17 counters (discards are 0). */
  diskstatsLine(): string {
    const s = this.stats;
    const ms = (x: number): number => Math.floor(x);
    const f = [
      s.reads,
      s.readMerges,
      s.readSectors,
      ms(s.readTicksMs),
      s.writes,
      s.writeMerges,
      s.writeSectors,
      ms(s.writeTicksMs),
      s.inFlight,
      ms(s.ioTicksMs),
      ms(s.timeInQueueMs),
      0,
      0,
      0,
      0,
      s.flushes,
      ms(s.flushTicksMs),
    ];
    return `${String(this.major).padStart(4)} ${String(this.minor).padStart(7)} ${this.name} ${f.join(' ')}`;
  }
}

/**
 * virtblk_probe + device_add_disk: a GenDisk named vda, vdb, ... for a host disk. `index` picks
 * the letter; minors step by 16 per disk (partitions would take the ones between).
 */
export function addDisk(backend: DiskBackend, index = 0, opts: { cacheBytes?: number } = {}): GenDisk {
  const name = `vd${String.fromCharCode(97 + index)}`;
  return new GenDisk(name, index * 16, backend, opts);
}

/** /proc/diskstats for a set of disks. */
export function diskstats(disks: readonly GenDisk[]): string {
  return disks.map((d) => d.diskstatsLine() + '\n').join('');
}
