/**
 * Entry points of the block layer (block/blk-core.c): submit_bio, submit_bio_wait, and the
 * per-call plug (blk_start_plug / blk_finish_plug) that lets a caller issue many bios and have
 * neighbours merged into one request.
 */
import { EIO } from '../errno.js';
import type { Bio } from './bio.js';
import type { RequestQueue } from './blk-mq.js';

/** submit_bio: hand a bio to the disk's queue (dispatched now, or when the plug is released). */
export function submitBio(q: RequestQueue, bio: Bio): void {
  q.submit(bio);
}

/** submit_bio_wait: submit and return its status (the queue runs synchronously when unplugged). */
export function submitBioWait(q: RequestQueue, bio: Bio): number {
  q.submit(bio);
  if (!bio.done) {
    // Plugged: release the plug so the bio runs (Linux's io_schedule flushes the plug too).
    q.flushPlug();
  }
  return bio.done ? bio.status : -EIO;
}

export function blkStartPlug(q: RequestQueue): void {
  q.startPlug();
}

export function blkFinishPlug(q: RequestQueue): void {
  q.finishPlug();
}
