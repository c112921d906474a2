/**
 * timerfd (fs/timerfd.c): a timer whose expirations are read from a file as a u64 count.
 * The hrtimer is one host setTimeout; the tick count is brought up to date lazily
 * (hrtimer_forward_now) whenever the file is read, polled or queried, so a periodic timer
 * that nobody reads costs one host timeout per check, not one per period.
 *
 * TFD_TIMER_CANCEL_ON_SET is accepted (it matters for CLOCK_REALTIME + TFD_TIMER_ABSTIME only,
 * as in Linux) but never cancels: the machine's realtime clock is never set (no clock_settime
 * of CLOCK_REALTIME here), so there is nothing to report.
 */
import * as E from '../errno.js';
import type { Kernel } from '../kernel.js';
import { copyToUser } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import { sleepOn, WaitQueue } from '../sched/wait.js';
import {
  CLOCK_BOOTTIME,
  CLOCK_BOOTTIME_ALARM,
  CLOCK_MONOTONIC,
  CLOCK_REALTIME,
  CLOCK_REALTIME_ALARM,
  clockRead,
} from '../time/clocks.js';
import { anonInodeGetfile, noopLlseek } from './anon_inodes.js';
import type { File, FileOperations, Kiocb } from './file.js';
import type { IovIter } from './iov_iter.js';
import { POLLIN, POLLRDNORM, readTimespecNs, timespecBytes, waitQueuePollAdd } from './select.js';
import { O_CLOEXEC, O_NONBLOCK, O_RDWR } from './uapi.js';

export const TFD_TIMER_ABSTIME = 1;
export const TFD_TIMER_CANCEL_ON_SET = 2;
export const TFD_CLOEXEC = O_CLOEXEC;
export const TFD_NONBLOCK = O_NONBLOCK;
const TFD_CREATE_FLAGS = TFD_CLOEXEC | TFD_NONBLOCK;
const TFD_SETTIME_FLAGS = TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET;
/** setTimeout keeps at most 2^31 - 1 ms; longer waits are re-armed. */
const MAX_TIMEOUT_MS = 0x7fffffff;

/** struct timerfd_ctx. */
class TimerfdCtx {
  readonly wqh = new WaitQueue();
  /** Absolute expiry in the timer's clock, ns; 0 = disarmed. */
  expires = 0;
  intervalNs = 0;
  /** Expirations not yet read (ctx->ticks); a double counts exactly up to 2^53. */
  ticks = 0;
  cancelOnSet = false;
  private handle: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly kernel: Kernel,
    readonly owner: Task,
    readonly clockid: number,
  ) {}

  now(): number {
    return clockRead(this.owner, this.clockid) ?? this.kernel.clock.monotonicNs();
  }

  /** Bring ticks up to date (timerfd_tmrproc + hrtimer_forward_now); wakes readers on new ticks. */
  update(): void {
    if (this.expires === 0) return;
    const now = this.now();
    if (now < this.expires) return;
    if (this.intervalNs > 0) {
      const n = Math.floor((now - this.expires) / this.intervalNs) + 1;
      this.ticks += n;
      this.expires += n * this.intervalNs;
    } else {
      this.ticks += 1;
      this.expires = 0;
    }
    this.wqh.wakeUp();
  }

  private onTimer(): void {
    this.handle = null;
    this.update();
    this.schedule();
  }

  /** Arm the host timeout for the next expiry. */
  schedule(): void {
    if (this.handle !== null) clearTimeout(this.handle);
    this.handle = null;
    if (this.expires === 0) return;
    const ms = (this.expires - this.now()) / 1e6;
    this.handle = setTimeout(() => this.onTimer(), Math.min(MAX_TIMEOUT_MS, Math.max(0, Math.ceil(ms))));
  }

  cancel(): void {
    if (this.handle !== null) clearTimeout(this.handle);
    this.handle = null;
    this.expires = 0;
  }

  /** The current setting as an itimerspec (timerfd_gettime after forwarding). */
  itimerspec(): Uint8Array {
    const b = new Uint8Array(32);
    b.set(timespecBytes(this.intervalNs), 0);
    const rem = this.expires === 0 ? 0 : Math.max(0, this.expires - this.now());
    // An armed timer that is due right now still shows as armed: 1 ns left (as hrtimer_expires_remaining gives > 0 until it fires).
    b.set(timespecBytes(this.expires !== 0 && rem === 0 ? 1 : rem), 16);
    return b;
  }
}

function ctxOf(file: File): TimerfdCtx | null {
  return file.private_ instanceof TimerfdCtx ? file.private_ : null;
}

/** timerfd_read: the number of expirations since the last read, as a u64. */
function timerfdRead(iocb: Kiocb, to: IovIter): number | Promise<number> {
  const ctx = ctxOf(iocb.file)!;
  if (to.count < 8) return -E.EINVAL;
  const give = (): number => {
    const t = ctx.ticks;
    ctx.ticks = 0;
    const b = new Uint8Array(8);
    const v = new DataView(b.buffer);
    v.setUint32(0, t % 4294967296, true);
    v.setUint32(4, Math.floor(t / 4294967296), true);
    return to.copyTo(b) === 8 ? 8 : -E.EFAULT;
  };
  ctx.update();
  if (ctx.ticks > 0) return give();
  if (iocb.flags & O_NONBLOCK) return -E.EAGAIN;
  const task = ctx.kernel.current;
  if (!task) return -E.EAGAIN;
  return (async () => {
    for (;;) {
      const s = await sleepOn(task, ctx.wqh);
      ctx.update();
      if (ctx.ticks > 0) return give();
      if (s !== 0) return s;
    }
  })();
}

/** timerfd_poll. */
function timerfdPoll(file: File): number {
  const ctx = ctxOf(file);
  if (!ctx) return 0;
  ctx.update();
  return ctx.ticks > 0 ? POLLIN | POLLRDNORM : 0;
}

const timerfdFops: FileOperations = {
  readIter: timerfdRead,
  llseek: noopLlseek,
  poll: timerfdPoll,
  pollAdd(file: File, cb: (key?: number) => void): () => void {
    const ctx = ctxOf(file);
    return ctx ? waitQueuePollAdd([ctx.wqh], [POLLIN], cb) : () => {};
  },
  pollWait(file: File): Promise<void> {
    const ctx = ctxOf(file);
    if (!ctx) return new Promise<void>(() => {});
    return new Promise<void>((resolve) => ctx.wqh.add({ wake: () => resolve() }));
  },
  release(file: File): void {
    const ctx = ctxOf(file);
    if (ctx) {
      ctx.cancel();
      ctx.wqh.wakeUp();
    }
  },
};

/** timerfd_create(clockid, flags). */
export function sysTimerfdCreate(task: Task, clockid: number, flags: number): number {
  const id = clockid | 0;
  const fl = flags | 0;
  if (fl & ~TFD_CREATE_FLAGS) return -E.EINVAL;
  if (
    id !== CLOCK_MONOTONIC &&
    id !== CLOCK_REALTIME &&
    id !== CLOCK_REALTIME_ALARM &&
    id !== CLOCK_BOOTTIME &&
    id !== CLOCK_BOOTTIME_ALARM
  )
    return -E.EINVAL;
  // The alarm clocks need CAP_WAKE_ALARM.
  if ((id === CLOCK_REALTIME_ALARM || id === CLOCK_BOOTTIME_ALARM) && task.cred.euid !== 0) return -E.EPERM;
  const ctx = new TimerfdCtx(task.kernel, task, id);
  const file = anonInodeGetfile(task.kernel, '[timerfd]', timerfdFops, ctx, O_RDWR | (fl & O_NONBLOCK));
  const fd = task.files.install(file, (fl & TFD_CLOEXEC) !== 0);
  if (fd < 0) file.put();
  return fd;
}

/** timerfd_fget: EBADF for no file, EINVAL for a file that is not a timerfd. */
function timerfdFget(task: Task, fd: number): TimerfdCtx | number {
  const f = task.files.get(fd | 0);
  if (!f) return -E.EBADF;
  return ctxOf(f) ?? -E.EINVAL;
}

/** timerfd_settime(fd, flags, new_value, old_value). */
export function sysTimerfdSettime(task: Task, fd: number, flags: number, utmr: number, otmr: number): number {
  const fl = flags | 0;
  const it = new Uint8Array(32);
  if (utmr === 0) return -E.EFAULT;
  const interval = readTimespecNs(task, utmr);
  const value = interval < 0 ? interval : readTimespecNs(task, utmr + 16);
  if (interval === -E.EFAULT || value === -E.EFAULT) return -E.EFAULT;
  if (fl & ~TFD_SETTIME_FLAGS) return -E.EINVAL;
  if (interval < 0 || value < 0) return -E.EINVAL;
  const ctx = timerfdFget(task, fd);
  if (typeof ctx === 'number') return ctx;
  // The old value as gettime would report it (after forwarding a periodic timer).
  ctx.update();
  it.set(ctx.itimerspec());
  // timerfd_setup: cancel, reset ticks, arm.
  ctx.cancel();
  ctx.ticks = 0;
  // timerfd_setup_cancel: only CLOCK_REALTIME(_ALARM) absolute timers can be cancelled; otherwise the flag is ignored.
  ctx.cancelOnSet =
    (ctx.clockid === CLOCK_REALTIME || ctx.clockid === CLOCK_REALTIME_ALARM) &&
    (fl & TFD_TIMER_ABSTIME) !== 0 &&
    (fl & TFD_TIMER_CANCEL_ON_SET) !== 0;
  ctx.intervalNs = interval;
  if (value !== 0) {
    const expires = fl & TFD_TIMER_ABSTIME ? value : ctx.now() + value;
    // An absolute time of 0 (the epoch on CLOCK_MONOTONIC) is still armed and already due.
    ctx.expires = expires === 0 ? 1 : expires;
    ctx.update();
    ctx.schedule();
  }
  ctx.wqh.wakeUp();
  if (otmr !== 0 && copyToUser(task.mm, otmr, it) < 0) return -E.EFAULT;
  return 0;
}

/** timerfd_gettime(fd, curr_value). */
export function sysTimerfdGettime(task: Task, fd: number, otmr: number): number {
  const ctx = timerfdFget(task, fd);
  if (typeof ctx === 'number') return ctx;
  ctx.update();
  return copyToUser(task.mm, otmr, ctx.itimerspec()) < 0 ? -E.EFAULT : 0;
}
