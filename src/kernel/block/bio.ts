/**
 * struct bio (include/linux/blk_types.h): one I/O a filesystem or the buffer cache asks of a
 * block device — an operation, a start sector and the bytes to move. Linux keeps a vector of
 * pages (bi_io_vec); a bio here holds one contiguous byte buffer, a multiple of 512 bytes
 * (empty for a flush). The driver fills `status` when the bio completes (bio_endio).
 */

export const REQ_OP_READ = 0;
export const REQ_OP_WRITE = 1;
/** A cache flush (REQ_OP_FLUSH / REQ_PREFLUSH): make everything written so far durable. */
export const REQ_OP_FLUSH = 2;
export type ReqOp = typeof REQ_OP_READ | typeof REQ_OP_WRITE | typeof REQ_OP_FLUSH;

export const SECTOR_SHIFT = 9;
export const SECTOR_SIZE = 512;

export interface Bio {
  op: ReqOp;
  /** bi_iter.bi_sector: first 512-byte sector. */
  sector: number;
  /** The bytes to read into or write from (length a multiple of 512). */
  data: Uint8Array;
  /** bi_status: 0, or -errno once completed with an error. */
  status: number;
  /** Set when the bio has completed (bio_endio ran). */
  done: boolean;
}

/** bio_alloc + bio_add_page for one buffer. */
export function bioAlloc(op: ReqOp, sector: number, data: Uint8Array = new Uint8Array(0)): Bio {
  if (data.length % SECTOR_SIZE !== 0) throw new RangeError('bio data must be whole sectors');
  return { op, sector, data, status: 0, done: false };
}

/** bio_sectors. */
export function bioSectors(bio: Bio): number {
  return bio.data.length >>> SECTOR_SHIFT;
}
