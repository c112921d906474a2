/**
 * Interval timers (kernel/time/itimer.c: setitimer, getitimer) and POSIX timers
 * (kernel/time/posix-timers.c, posix-cpu-timers.c: timer_create, timer_settime, timer_gettime,
 * timer_getoverrun, timer_delete).
 *
 * Every armed timer is one host setTimeout (the hrtimer), so an idle guest waiting for a timer
 * costs no host CPU. CPU-time timers (ITIMER_VIRTUAL/PROF, CLOCK_PROCESS/THREAD_CPUTIME_ID)
 * are checked at the tick rate (HZ) while armed, as posix-cpu-timers are checked from the tick.
 *
 * Overruns follow Linux: a timer's signal is a preallocated siginfo (sigqueue); while it is still
 * queued, further expiries only count si_overrun up; when it is dequeued its count becomes
 * it_overrun_last (timer_getoverrun) and counting starts again.
 */
import { EFAULT, EINVAL, EOPNOTSUPP } from '../errno.js';
import type { Task } from '../sched/task.js';
import type { SignalStruct } from '../signal/sighand.js';
import type { SyscallTable } from '../syscall/types.js';
import { copyFromUser, copyToUser } from '../mm/uaccess.js';
import {
  SYS_getitimer,
  SYS_setitimer,
  SYS_timer_create,
  SYS_timer_delete,
  SYS_timer_getoverrun,
  SYS_timer_gettime,
  SYS_timer_settime,
} from '../syscall/numbers.js';
import {
  NSIG,
  SIGALRM,
  SIGEV_NONE,
  SIGEV_SIGNAL,
  SIGEV_THREAD,
  SIGEV_THREAD_ID,
  SIGPROF,
  SIGVTALRM,
  SI_KERNEL,
  SI_TIMER,
} from '../signal/signum.js';
import { SI_OVERRUN, SI_TIMERID, SI_VALUE, type Siginfo, getI32, makeSiginfo, setI32 } from '../signal/siginfo.js';
import { dropQueuedSiginfo, sendSigInfo, setTimerDequeueHook, siginfoQueued } from '../signal/signal.js';
import {
  CLOCK_BOOTTIME,
  CLOCK_BOOTTIME_ALARM,
  CLOCK_MONOTONIC,
  CLOCK_MONOTONIC_COARSE,
  CLOCK_MONOTONIC_RAW,
  CLOCK_PROCESS_CPUTIME_ID,
  CLOCK_REALTIME,
  CLOCK_REALTIME_ALARM,
  CLOCK_REALTIME_COARSE,
  CLOCK_TAI,
  CLOCK_THREAD_CPUTIME_ID,
  TICK_NSEC,
  clockRead,
  cpuClockTarget,
} from './clocks.js';

export const ITIMER_REAL = 0;
export const ITIMER_VIRTUAL = 1;
export const ITIMER_PROF = 2;
export const TIMER_ABSTIME = 1;
const NSEC_PER_SEC = 1e9;
/** Longest single host timeout (setTimeout keeps at most 2^31 - 1 ms); longer waits are chained. */
const MAX_TIMEOUT_MS = 0x7fffffff;
/** timer_overrun_to_int(): overruns saturate at INT_MAX (DELAYTIMER_MAX). */
const DELAYTIMER_MAX = 0x7fffffff;

/** struct k_itimer (and the itimer of signal_struct, which is the same machine with a fixed signal). */
class KTimer {
  /** Expiry in the timer's clock (ns), 0 when disarmed. */
  expires = 0;
  intervalNs = 0;
  /** it_overrun_last: the overrun of the last delivered signal (timer_getoverrun). */
  overrunLast = 0;
  /** The preallocated sigqueue: its siginfo while it is queued, else null. */
  queued: Siginfo | null = null;
  private handle: ReturnType<typeof setTimeout> | null = null;
  private pollHandle: ReturnType<typeof setInterval> | null = null;

  constructor(
    readonly owner: Task,
    readonly id: number,
    readonly clock: number,
    readonly notify: number,
    readonly signo: number,
    /** sigev_value as 8 raw bytes. */
    readonly value: Uint8Array,
    /** SIGEV_THREAD_ID: the target thread; otherwise the process (its leader). */
    readonly target: Task,
    /** itimers send SI_KERNEL signals without a preallocated sigqueue. */
    readonly posix: boolean,
  ) {}

  get cpuClock(): boolean {
    return this.clock === CLOCK_PROCESS_CPUTIME_ID || this.clock === CLOCK_THREAD_CPUTIME_ID || this.clock < 0;
  }

  now(): number {
    return clockRead(this.owner, this.clock) ?? 0;
  }

  alive(): boolean {
    return this.owner.kernel.threadGroup(this.owner.tgid).length > 0;
  }

  cancel(): void {
    if (this.handle !== null) clearTimeout(this.handle);
    if (this.pollHandle !== null) clearInterval(this.pollHandle);
    this.handle = null;
    this.pollHandle = null;
  }

  /** Arm at an absolute expiry (0 disarms). */
  arm(expires: number, intervalNs: number): void {
    this.cancel();
    this.expires = expires;
    this.intervalNs = intervalNs;
    if (expires === 0) return;
    this.schedule();
  }

  private schedule(): void {
    if (this.cpuClock) {
      this.pollHandle = setInterval(() => this.check(), TICK_NSEC / 1e6);
      return;
    }
    const ms = (this.expires - this.now()) / 1e6;
    this.handle = setTimeout(() => this.check(), Math.min(MAX_TIMEOUT_MS, Math.max(0, Math.ceil(ms))));
  }

  /** The hrtimer callback (posix_timer_fn / it_real_fn). */
  private check(): void {
    if (!this.alive()) {
      this.cancel();
      this.expires = 0;
      return;
    }
    const now = this.now();
    if (now < this.expires) {
      if (!this.cpuClock) {
        this.handle = null;
        this.schedule();
      }
      return;
    }
    let missed = 0;
    if (this.intervalNs > 0) {
      // hrtimer_forward(): the next expiry after now; periods skipped meanwhile are overruns.
      const n = Math.floor((now - this.expires) / this.intervalNs);
      missed = n;
      this.expires += (n + 1) * this.intervalNs;
    } else {
      this.expires = 0;
    }
    this.fire(missed);
    if (!this.cpuClock) {
      this.handle = null;
      if (this.expires !== 0) this.schedule();
    } else if (this.expires === 0) {
      this.cancel();
    }
  }

  private fire(missed: number): void {
    if (this.notify === SIGEV_NONE) return;
    if (!this.posix) {
      sendSigInfo(this.target, this.signo, makeSiginfo(this.signo, SI_KERNEL), true);
      return;
    }
    const q = this.queued;
    if (q && siginfoQueued(this.owner, q)) {
      // Still pending: the expiry (and any missed ones) only count as overruns.
      setI32(q, SI_OVERRUN, Math.min(DELAYTIMER_MAX, getI32(q, SI_OVERRUN) + 1 + missed));
      return;
    }
    const info = makeSiginfo(this.signo, SI_TIMER);
    setI32(info, SI_TIMERID, this.id);
    setI32(info, SI_OVERRUN, missed);
    info.set(this.value, SI_VALUE);
    this.queued = info;
    timerOf.set(info, this);
    const shared = (this.notify & SIGEV_THREAD_ID) === 0;
    sendSigInfo(this.target, this.signo, info, shared);
    if (!siginfoQueued(this.owner, info)) {
      // Ignored (or otherwise dropped): nothing pending.
      this.queued = null;
    }
  }

  /** Time to the next expiry (0 when disarmed; at least 1 ns while armed, as common_timer_get). */
  remaining(): number {
    if (this.expires === 0) return 0;
    const r = this.expires - this.now();
    return r > 0 ? r : 1;
  }
}

const timerOf = new WeakMap<Siginfo, KTimer>();

/**
 * Tell the signal code to report dequeued SI_TIMER signals to us (posixtimer_rearm). Called by
 * start_kernel rather than at module load, so the order modules load in cannot matter.
 */
export function installTimerHooks(): void {
  setTimerDequeueHook((info) => {
    const t = timerOf.get(info);
    if (!t) return;
    // posixtimer_rearm(): the overrun count of this signal is final.
    t.overrunLast = getI32(info, SI_OVERRUN);
    if (t.queued === info) t.queued = null;
  });
}

/** The timers of one process (signal->posix_timers, signal->real_timer, it[]). */
interface ProcessTimers {
  posix: Map<number, KTimer>;
  nextId: number;
  itimers: (KTimer | null)[];
}

const timersOf = new WeakMap<SignalStruct, ProcessTimers>();

function procTimers(task: Task): ProcessTimers {
  let p = timersOf.get(task.signal);
  if (!p) {
    p = { posix: new Map(), nextId: 0, itimers: [null, null, null] };
    timersOf.set(task.signal, p);
  }
  return p;
}

/**
 * exit_itimers() (process exit, and the POSIX-timer half at exec): stop every host timer of the
 * process. `keepItimers` keeps setitimer timers, which survive exec.
 */
export function exitTimers(sig: SignalStruct, keepItimers = false): void {
  const p = timersOf.get(sig);
  if (!p) return;
  for (const t of p.posix.values()) t.cancel();
  p.posix.clear();
  if (!keepItimers) {
    for (const t of p.itimers) t?.cancel();
    p.itimers = [null, null, null];
  }
}

// ---- user structures ----

function putI64(v: DataView, off: number, x: number): void {
  const hi = Math.floor(x / 0x1_0000_0000);
  v.setUint32(off, (x - hi * 0x1_0000_0000) >>> 0, true);
  v.setInt32(off + 4, hi | 0, true);
}

function getI64(v: DataView, off: number): number {
  return v.getInt32(off + 4, true) * 0x1_0000_0000 + v.getUint32(off, true);
}

/** struct itimerspec / itimerval { interval; value } as [intervalNs, valueNs], or -errno. */
function readIntervalPair(task: Task, va: number, micro: boolean): [number, number] | number {
  const b = copyFromUser(task.mm, va, 32);
  if (typeof b === 'number') return -EFAULT;
  const v = new DataView(b.buffer, b.byteOffset, 32);
  const unit = micro ? 1000 : 1;
  const lim = micro ? 1e6 : 1e9;
  const out: number[] = [];
  for (const off of [0, 16]) {
    const sec = getI64(v, off);
    const sub = getI64(v, off + 8);
    if (sec < 0 || sub < 0 || sub >= lim) return -EINVAL;
    out.push(sec * NSEC_PER_SEC + sub * unit);
  }
  return [out[0]!, out[1]!];
}

function writeIntervalPair(task: Task, va: number, intervalNs: number, valueNs: number, micro: boolean): number {
  const b = new Uint8Array(32);
  const v = new DataView(b.buffer);
  let off = 0;
  for (const ns of [intervalNs, valueNs]) {
    const sec = Math.floor(ns / NSEC_PER_SEC);
    const sub = ns - sec * NSEC_PER_SEC;
    putI64(v, off, sec);
    // ns_to_timeval rounds up a sub-microsecond remainder so an armed timer never reads as 0.
    putI64(v, off + 8, micro ? Math.ceil(sub / 1000) : Math.floor(sub));
    off += 16;
  }
  if (micro) {
    // Normalise a rounded-up 1000000 µs.
    for (const o of [0, 16]) {
      if (getI64(v, o + 8) >= 1e6) {
        putI64(v, o, getI64(v, o) + 1);
        putI64(v, o + 8, 0);
      }
    }
  }
  return copyToUser(task.mm, va, b) < 0 ? -EFAULT : 0;
}

// ---- setitimer / getitimer ----

function itimerClock(which: number): number {
  return which === ITIMER_REAL ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID;
}

function itimerSignal(which: number): number {
  return which === ITIMER_REAL ? SIGALRM : which === ITIMER_VIRTUAL ? SIGVTALRM : SIGPROF;
}

function sysGetitimer(task: Task, which: number, va: number): number {
  which |= 0;
  if (which < 0 || which > 2) return -EINVAL;
  const t = procTimers(task).itimers[which];
  return writeIntervalPair(task, va, t?.intervalNs ?? 0, t?.remaining() ?? 0, true);
}

function sysSetitimer(task: Task, which: number, newVa: number, oldVa: number): number {
  which |= 0;
  if (which < 0 || which > 2) return -EINVAL;
  let next: [number, number] = [0, 0];
  if (newVa !== 0) {
    const r = readIntervalPair(task, newVa, true);
    if (typeof r === 'number') return r;
    next = r;
  }
  const p = procTimers(task);
  let t = p.itimers[which];
  if (oldVa !== 0) {
    const r = writeIntervalPair(task, oldVa, t?.intervalNs ?? 0, t?.remaining() ?? 0, true);
    if (r < 0) return r;
  }
  if (newVa === 0) return 0; // Linux 6.x: a NULL new value only reads (and is deprecated)
  if (!t) {
    const leader = task.kernel.findTask(task.tgid) ?? task;
    t = new KTimer(leader, -1, itimerClock(which), SIGEV_SIGNAL, itimerSignal(which), new Uint8Array(8), leader, false);
    p.itimers[which] = t;
  }
  const [interval, value] = next;
  t.arm(value === 0 ? 0 : t.now() + value, value === 0 ? 0 : interval);
  return 0;
}

// ---- POSIX timers ----

function validTimerClock(task: Task, clock: number): number {
  if (clock < 0) return cpuClockTarget(task, clock) ? 0 : -EINVAL;
  switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_BOOTTIME:
    case CLOCK_TAI:
    case CLOCK_REALTIME_ALARM:
    case CLOCK_BOOTTIME_ALARM:
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
      return 0;
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE:
      return -EOPNOTSUPP; // clocks that exist but have no timers (kc->timer_create == NULL)
    default:
      return -EINVAL;
  }
}

function sysTimerCreate(task: Task, clock: number, sevVa: number, idVa: number): number {
  clock |= 0;
  const bad = validTimerClock(task, clock);
  if (bad < 0) return bad;
  const p = procTimers(task);
  const id = p.nextId;
  let notify = SIGEV_SIGNAL;
  let signo = SIGALRM;
  let value = new Uint8Array(8);
  new DataView(value.buffer).setInt32(0, id, true); // default sival_int = timer id
  const leader = task.kernel.findTask(task.tgid) ?? task;
  let target = leader;
  if (sevVa !== 0) {
    const b = copyFromUser(task.mm, sevVa, 64);
    if (typeof b === 'number') return -EFAULT;
    const v = new DataView(b.buffer, b.byteOffset, 64);
    value = b.slice(0, 8);
    signo = v.getInt32(8, true);
    notify = v.getInt32(12, true);
    const tid = v.getInt32(16, true);
    // good_sigevent()
    switch (notify & ~SIGEV_THREAD_ID) {
      case SIGEV_NONE:
        break;
      case SIGEV_SIGNAL:
      case SIGEV_THREAD:
        if (signo <= 0 || signo > NSIG) return -EINVAL;
        break;
      default:
        return -EINVAL;
    }
    if (notify & SIGEV_THREAD_ID) {
      const t = task.kernel.findTask(tid);
      if (!t || t.tgid !== task.tgid) return -EINVAL;
      target = t;
    }
  }
  const idb = new Uint8Array(4);
  new DataView(idb.buffer).setInt32(0, id, true);
  if (copyToUser(task.mm, idVa, idb) < 0) return -EFAULT;
  p.nextId = (id + 1) & 0x7fffffff;
  // The clock is read relative to the owner: the thread for thread CPU clocks, else the process.
  const cpu = cpuClockTarget(task, clock);
  const owner = cpu ? cpu.task : clock === CLOCK_THREAD_CPUTIME_ID ? task : leader;
  p.posix.set(id, new KTimer(owner, id, clock, notify, signo, value, target, true));
  return 0;
}

function lookup(task: Task, id: number): KTimer | null {
  return procTimers(task).posix.get(id | 0) ?? null;
}

function sysTimerSettime(task: Task, id: number, flags: number, newVa: number, oldVa: number): number {
  const t = lookup(task, id);
  if (!t) return -EINVAL;
  if (newVa === 0) return -EINVAL;
  const r = readIntervalPair(task, newVa, false);
  if (typeof r === 'number') return r;
  if (oldVa !== 0) {
    const w = writeIntervalPair(task, oldVa, t.intervalNs, t.remaining(), false);
    if (w < 0) return w;
  }
  const [interval, value] = r;
  // posix_timer_set_common() (Linux 6.13+): the overrun count restarts and a signal of the old
  // setting still queued is stale (Linux drops it at dequeue through it_signal_seq; we drop it now).
  t.overrunLast = 0;
  if (t.queued) {
    dropQueuedSiginfo(task, t.queued);
    t.queued = null;
  }
  if (value === 0) {
    t.arm(0, 0);
    return 0;
  }
  const expires = flags & TIMER_ABSTIME ? value : t.now() + value;
  t.arm(Math.max(expires, 1), interval);
  return 0;
}

function sysTimerGettime(task: Task, id: number, va: number): number {
  const t = lookup(task, id);
  if (!t) return -EINVAL;
  return writeIntervalPair(task, va, t.intervalNs, t.remaining(), false);
}

function sysTimerGetoverrun(task: Task, id: number): number {
  const t = lookup(task, id);
  if (!t) return -EINVAL;
  return t.overrunLast;
}

function sysTimerDelete(task: Task, id: number): number {
  const p = procTimers(task);
  const t = p.posix.get(id | 0);
  if (!t) return -EINVAL;
  t.cancel();
  if (t.queued) dropQueuedSiginfo(task, t.queued);
  p.posix.delete(id | 0);
  return 0;
}

export const timerSyscalls: SyscallTable = {
  [SYS_getitimer]: sysGetitimer,
  [SYS_setitimer]: sysSetitimer,
  [SYS_timer_create]: sysTimerCreate,
  [SYS_timer_settime]: sysTimerSettime,
  [SYS_timer_gettime]: sysTimerGettime,
  [SYS_timer_getoverrun]: sysTimerGetoverrun,
  [SYS_timer_delete]: sysTimerDelete,
};
