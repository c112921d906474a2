/**
 * eventfd (fs/eventfd.c): a 64-bit counter behind a file. write adds, read takes the whole
 * count (or 1 with EFD_SEMAPHORE); a read of 0 blocks, a write that would pass
 * 0xfffffffffffffffe blocks. The counter is kept as two uint32 halves, so no precision is lost
 * and no BigInt is needed.
 */
import * as E from '../errno.js';
import type { Kernel } from '../kernel.js';
import type { Task } from '../sched/task.js';
import { sleepOn, WaitQueue } from '../sched/wait.js';
import { anonInodeGetfile, noopLlseek } from './anon_inodes.js';
import type { File, FileOperations, Kiocb } from './file.js';
import type { IovIter } from './iov_iter.js';
import { POLLERR, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, waitQueuePollAdd } from './select.js';
import { O_CLOEXEC, O_NONBLOCK, O_RDWR } from './uapi.js';

export const EFD_SEMAPHORE = 1;
export const EFD_CLOEXEC = O_CLOEXEC;
export const EFD_NONBLOCK = O_NONBLOCK;
const EFD_SHARED_FCNTL_FLAGS = O_CLOEXEC | O_NONBLOCK;
const EFD_FLAGS_SET = EFD_SHARED_FCNTL_FLAGS | EFD_SEMAPHORE;
const TWO32 = 4294967296;

/** struct eventfd_ctx. count = hi * 2^32 + lo. */
export class EventfdCtx {
  readonly wqh = new WaitQueue();
  hi = 0;
  lo = 0;
  constructor(
    readonly kernel: Kernel,
    readonly flags: number,
    initval: number,
  ) {
    this.lo = initval >>> 0;
  }
  get zero(): boolean {
    return this.hi === 0 && this.lo === 0;
  }
  /** count == ULLONG_MAX (only reachable through eventfd_signal overflow in Linux). */
  get isMax(): boolean {
    return this.hi === 0xffffffff && this.lo === 0xffffffff;
  }
  /** ULLONG_MAX - count > (vhi:vlo): the write fits (eventfd_write's test). */
  fits(vhi: number, vlo: number): boolean {
    // room = 0xffffffff_ffffffff - count, then "> v" ⇔ room - 1 >= v ⇔ (0xffffffff_fffffffe - count) >= v.
    let roomLo = 0xfffffffe - this.lo;
    let roomHi = 0xffffffff - this.hi;
    if (roomLo < 0) {
      roomLo += TWO32;
      roomHi -= 1;
    }
    if (roomHi < 0) return false;
    return vhi < roomHi || (vhi === roomHi && vlo <= roomLo);
  }
  add(vhi: number, vlo: number): void {
    let lo = this.lo + vlo;
    let carry = 0;
    if (lo >= TWO32) {
      lo -= TWO32;
      carry = 1;
    }
    this.lo = lo;
    this.hi = this.hi + vhi + carry;
  }
  /** eventfd_ctx_do_read: the value a read returns, and the count after it. */
  take(): [number, number] {
    if (this.flags & EFD_SEMAPHORE) {
      if (this.lo > 0) this.lo--;
      else {
        this.hi--;
        this.lo = 0xffffffff;
      }
      return [0, 1];
    }
    const r: [number, number] = [this.hi, this.lo];
    this.hi = 0;
    this.lo = 0;
    return r;
  }
}

function ctxOf(file: File): EventfdCtx | null {
  return file.private_ instanceof EventfdCtx ? file.private_ : null;
}

function u64Bytes(hi: number, lo: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, lo >>> 0, true);
  v.setUint32(4, hi >>> 0, true);
  return b;
}

/** eventfd_read. */
function eventfdRead(iocb: Kiocb, to: IovIter): number | Promise<number> {
  const ctx = ctxOf(iocb.file)!;
  if (to.count < 8) return -E.EINVAL;
  const give = (): number => {
    const [hi, lo] = ctx.take();
    ctx.wqh.wakeUp(); // EPOLLOUT for writers
    const n = to.copyTo(u64Bytes(hi, lo));
    return n === 8 ? 8 : -E.EFAULT;
  };
  if (!ctx.zero) return give();
  if (iocb.flags & O_NONBLOCK) return -E.EAGAIN;
  const task: Task | null = ctx.kernel.current;
  if (!task) return -E.EAGAIN;
  return (async () => {
    for (;;) {
      const s = await sleepOn(task, ctx.wqh);
      if (!ctx.zero) return give();
      if (s !== 0) return s;
    }
  })();
}

/** eventfd_write. */
function eventfdWrite(iocb: Kiocb, from: IovIter): number | Promise<number> {
  const ctx = ctxOf(iocb.file)!;
  if (from.count < 8) return -E.EINVAL;
  const data = from.copyFrom(8);
  if (typeof data === 'number') return data;
  if (data.length < 8) return -E.EFAULT;
  const v = new DataView(data.buffer, data.byteOffset, 8);
  const vlo = v.getUint32(0, true);
  const vhi = v.getUint32(4, true);
  if (vhi === 0xffffffff && vlo === 0xffffffff) return -E.EINVAL;
  const put = (): number => {
    ctx.add(vhi, vlo);
    ctx.wqh.wakeUp(); // EPOLLIN for readers
    return 8;
  };
  if (ctx.fits(vhi, vlo)) return put();
  if (iocb.flags & O_NONBLOCK) return -E.EAGAIN;
  const task: Task | null = ctx.kernel.current;
  if (!task) return -E.EAGAIN;
  return (async () => {
    for (;;) {
      const s = await sleepOn(task, ctx.wqh);
      if (ctx.fits(vhi, vlo)) return put();
      if (s !== 0) return s;
    }
  })();
}

/** eventfd_poll. */
function eventfdPoll(file: File): number {
  const ctx = ctxOf(file);
  if (!ctx) return POLLERR;
  let mask = 0;
  if (!ctx.zero) mask |= POLLIN | POLLRDNORM;
  if (ctx.isMax) mask |= POLLERR;
  // ULLONG_MAX - 1 > count
  if (ctx.fits(0, 1)) mask |= POLLOUT | POLLWRNORM;
  return mask;
}

export const eventfdFops: FileOperations = {
  readIter: eventfdRead,
  llseek: noopLlseek,
  writeIter: eventfdWrite,
  poll: eventfdPoll,
  pollAdd(file: File, cb: (key?: number) => void): () => void {
    const ctx = ctxOf(file);
    return ctx ? waitQueuePollAdd([ctx.wqh], [0], cb) : () => {};
  },
  pollWait(file: File): Promise<void> {
    const ctx = ctxOf(file);
    if (!ctx) return new Promise<void>(() => {});
    return new Promise<void>((resolve) => {
      ctx.wqh.add({ wake: () => resolve() });
    });
  },
  release(file: File): void {
    ctxOf(file)?.wqh.wakeUp();
  },
};

/** Is this an eventfd file (eventfd_fget's f_op check)? */
export function isEventfd(file: File): boolean {
  return ctxOf(file) !== null;
}

/** eventfd2(initval, flags). */
export function sysEventfd2(task: Task, initval: number, flags: number): number {
  const fl = flags | 0;
  if (fl & ~EFD_FLAGS_SET) return -E.EINVAL;
  const ctx = new EventfdCtx(task.kernel, fl, initval >>> 0);
  const file = anonInodeGetfile(
    task.kernel,
    '[eventfd]',
    eventfdFops,
    ctx,
    O_RDWR | (fl & EFD_SHARED_FCNTL_FLAGS & ~O_CLOEXEC),
  );
  const fd = task.files.install(file, (fl & EFD_CLOEXEC) !== 0);
  if (fd < 0) file.put();
  return fd;
}
