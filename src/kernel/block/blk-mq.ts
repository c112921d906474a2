/**
 * The request queue (block/blk-mq.c, block/blk-merge.c, in one software queue). Bios submitted
 * while the caller holds a plug (blk_start_plug) are collected and turned into requests when the
 * plug is released (blk_finish_plug → blk_mq_flush_plug_list): a bio that continues the previous
 * request of the same direction is merged into it (a back merge, bio_attempt_back_merge), one
 * that ends where it starts is a front merge; merges are counted in /proc/diskstats. Without a
 * plug a bio is dispatched at once. Order is kept: only neighbours merge, so a read never
 * overtakes a write to the same sectors. The driver runs each request synchronously
 * (queue_rq), then the statistics of genhd.ts are updated (blk_account_io_done).
 */
import { EIO } from '../errno.js';
import { REQ_OP_FLUSH, REQ_OP_READ, bioSectors, type Bio, type ReqOp } from './bio.js';
import type { DiskStats } from './genhd.js';

/** struct request: consecutive sectors of one direction, made of one or more bios. */
export interface Request {
  op: ReqOp;
  sector: number;
  nrSectors: number;
  bios: Bio[];
  /** performance.now() when the first bio entered the queue (rq->start_time_ns). */
  startMs: number;
}

/** struct blk_mq_ops: what a driver provides. */
export interface BlkMqOps {
  /** Execute `rq` (queue_rq + completion): 0 or -errno for the whole request. */
  queueRq(rq: Request): number;
}

/** max_sectors_kb default (1280 KiB on virtio; 512 KiB keeps one request's buffer modest). */
export const MAX_SECTORS = 1024;

export class RequestQueue {
  /** The plug list (current->plug); null when not plugged. */
  private plug: Bio[] | null = null;
  private plugDepth = 0;
  /** max_sectors: the largest request a merge may build. */
  maxSectors = MAX_SECTORS;

  constructor(
    private readonly driver: BlkMqOps,
    readonly stats: DiskStats,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** blk_start_plug (nests: only the outermost finish flushes). */
  startPlug(): void {
    if (this.plugDepth++ === 0) this.plug = [];
  }

  /** blk_finish_plug: build requests from the plugged bios and run them. */
  finishPlug(): void {
    if (this.plugDepth === 0) return;
    if (--this.plugDepth > 0) return;
    const bios = this.plug ?? [];
    this.plug = null;
    this.flushPlugList(bios);
  }

  /** blk_flush_plug: run what is plugged now, staying plugged (before waiting on a bio). */
  flushPlug(): void {
    if (!this.plug || this.plug.length === 0) return;
    const bios = this.plug;
    this.plug = [];
    this.flushPlugList(bios);
  }

  /** blk_mq_submit_bio. */
  submit(bio: Bio): void {
    if (this.plug) {
      this.plug.push(bio);
      return;
    }
    this.flushPlugList([bio]);
  }

  /** blk_mq_flush_plug_list: merge neighbours into requests, dispatch in order. */
  private flushPlugList(bios: Bio[]): void {
    const t = this.now();
    let cur: Request | null = null;
    for (const bio of bios) {
      const n = bioSectors(bio);
      if (cur && bio.op === cur.op && bio.op !== REQ_OP_FLUSH && cur.nrSectors + n <= this.maxSectors) {
        if (cur.sector + cur.nrSectors === bio.sector) {
          cur.bios.push(bio);
          cur.nrSectors += n;
          this.countMerge(bio.op);
          continue;
        }
        if (bio.sector + n === cur.sector) {
          cur.bios.unshift(bio);
          cur.sector = bio.sector;
          cur.nrSectors += n;
          this.countMerge(bio.op);
          continue;
        }
      }
      if (cur) this.dispatch(cur);
      cur = { op: bio.op, sector: bio.sector, nrSectors: n, bios: [bio], startMs: t };
    }
    if (cur) this.dispatch(cur);
  }

  private countMerge(op: ReqOp): void {
    if (op === REQ_OP_READ) this.stats.readMerges++;
    else this.stats.writeMerges++;
  }

  /** blk_mq_dispatch_rq_list → queue_rq → blk_mq_end_request. */
  private dispatch(rq: Request): void {
    const s = this.stats;
    s.inFlight++;
    let status: number;
    try {
      status = this.driver.queueRq(rq);
    } catch {
      status = -EIO;
    }
    s.inFlight--;
    const end = this.now();
    // Whole milliseconds, as the kernel's jiffies-based counters; the fractional part is kept
    // in the accumulators so many fast requests still add up.
    const dt = Math.max(0, end - rq.startMs);
    if (rq.op === REQ_OP_READ) {
      s.reads++;
      s.readSectors += rq.nrSectors;
      s.readTicksMs += dt;
    } else if (rq.op === REQ_OP_FLUSH) {
      s.flushes++;
      s.flushTicksMs += dt;
    } else {
      s.writes++;
      s.writeSectors += rq.nrSectors;
      s.writeTicksMs += dt;
    }
    s.ioTicksMs += dt;
    s.timeInQueueMs += dt;
    for (const b of rq.bios) {
      b.status = status;
      b.done = true;
    }
  }
}
