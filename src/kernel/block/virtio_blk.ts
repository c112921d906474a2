/**
 * The disk driver (drivers/block/virtio_blk.c): turns requests into operations on the machine's
 * disk. In Linux, virtio_queue_rq puts a virtio_blk_outhdr (type, sector) and the data pages on
 * the virtqueue and the device (qemu) does the I/O; here the "device" is the host-side
 * DiskImage (machine/dev/disk.ts), called directly and synchronously.
 */
import { EIO, EROFS } from '../errno.js';
import type { DiskBackend } from '../../machine/dev/disk.js';
import { REQ_OP_FLUSH, REQ_OP_READ, REQ_OP_WRITE, SECTOR_SIZE } from './bio.js';
import type { BlkMqOps, Request } from './blk-mq.js';

export class VirtioBlk implements BlkMqOps {
  /** VIRTIO_BLK_F_RO. */
  readonly readOnly: boolean;
  constructor(readonly disk: DiskBackend) {
    this.readOnly = disk.readOnly;
  }

  get sectors(): number {
    return this.disk.sectors;
  }

  /** virtio_queue_rq + the device's work + virtblk_request_done. */
  queueRq(rq: Request): number {
    try {
      switch (rq.op) {
        case REQ_OP_READ: {
          if (rq.bios.length === 1) {
            this.disk.readSectors(rq.sector, rq.nrSectors, rq.bios[0]!.data);
            return 0;
          }
          // One device read for the merged request, scattered into the bios (the sg list).
          const buf = this.disk.readSectors(rq.sector, rq.nrSectors);
          let off = 0;
          for (const b of rq.bios) {
            b.data.set(buf.subarray(off, off + b.data.length));
            off += b.data.length;
          }
          return 0;
        }
        case REQ_OP_WRITE: {
          if (this.readOnly) return -EROFS;
          if (rq.bios.length === 1) {
            this.disk.writeSectors(rq.sector, rq.bios[0]!.data);
            return 0;
          }
          const buf = new Uint8Array(rq.nrSectors * SECTOR_SIZE);
          let off = 0;
          for (const b of rq.bios) {
            buf.set(b.data, off);
            off += b.data.length;
          }
          this.disk.writeSectors(rq.sector, buf);
          return 0;
        }
        case REQ_OP_FLUSH:
          if (!this.readOnly) this.disk.flush();
          return 0;
        default:
          return -EIO;
      }
    } catch {
      return -EIO; // VIRTIO_BLK_S_IOERR
    }
  }
}
