/**
 * getrandom(2) (drivers/char/random.c): bytes from the host's cryptographic generator, which
 * is always initialized, so GRND_NONBLOCK never has to fail with -EAGAIN.
 */
import { EFAULT, EINVAL } from '../errno.js';
import type { Task } from '../sched/task.js';
import { copyToUser } from '../mm/uaccess.js';

export const GRND_NONBLOCK = 0x0001;
export const GRND_RANDOM = 0x0002;
export const GRND_INSECURE = 0x0004;
/** MAX_RW_COUNT: the most one call returns. */
const MAX_RW_COUNT = 0x7ffff000;
const CHUNK = 65536;

export function sysGetrandom(task: Task, buf: number, count: number, flags: number): number {
  flags >>>= 0;
  if (flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) return -EINVAL;
  if ((flags & (GRND_INSECURE | GRND_RANDOM)) === (GRND_INSECURE | GRND_RANDOM)) return -EINVAL;
  if (count < 0) count += 2 ** 64; // size_t
  count = Math.min(count, MAX_RW_COUNT);
  let done = 0;
  const chunk = new Uint8Array(Math.min(CHUNK, count));
  while (done < count) {
    const n = Math.min(CHUNK, count - done);
    const part = chunk.subarray(0, n);
    crypto.getRandomValues(part);
    if (copyToUser(task.mm, buf + done, part) < 0) return done > 0 ? done : -EFAULT;
    done += n;
  }
  return done;
}
