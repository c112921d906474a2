/**
 * Time system calls: clock_gettime, clock_getres, clock_nanosleep (kernel/time/posix-timers.c),
 * nanosleep (kernel/time/hrtimer.c), gettimeofday/settimeofday (kernel/time/time.c).
 * A sleep is a host timer: the task sleeps on a Promise and costs no host CPU meanwhile.
 */
import { EFAULT, EINVAL, EOPNOTSUPP } from '../errno.js';
import type { Task } from '../sched/task.js';
import type { SyscallTable } from '../syscall/types.js';
import { copyFromUser, copyToUser } from '../mm/uaccess.js';
import {
  SYS_clock_getres,
  SYS_clock_gettime,
  SYS_clock_nanosleep,
  SYS_gettimeofday,
  SYS_nanosleep,
} from '../syscall/numbers.js';
import {
  CLOCK_BOOTTIME,
  CLOCK_BOOTTIME_ALARM,
  CLOCK_MONOTONIC,
  CLOCK_PROCESS_CPUTIME_ID,
  CLOCK_REALTIME,
  CLOCK_REALTIME_ALARM,
  CLOCK_TAI,
  CLOCK_THREAD_CPUTIME_ID,
  clockRead,
  clockResolution,
} from './clocks.js';
import { sleepMs } from './sleep.js';

export const TIMER_ABSTIME = 1;
const NSEC_PER_SEC = 1e9;

function putI64(v: DataView, off: number, x: number): void {
  v.setUint32(off, (x % 0x1_0000_0000) >>> 0, true);
  v.setInt32(off + 4, Math.floor(x / 0x1_0000_0000), true);
}

/** Write a struct timespec (or timeval, with µs) of a nanosecond count. */
function putTime(task: Task, va: number, ns: number, micro: boolean): number {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  const sec = Math.floor(ns / NSEC_PER_SEC);
  const sub = ns - sec * NSEC_PER_SEC;
  putI64(v, 0, sec);
  putI64(v, 8, micro ? Math.floor(sub / 1000) : Math.floor(sub));
  return copyToUser(task.mm, va, b) < 0 ? -EFAULT : 0;
}

/** get_timespec64(): read a timespec; returns [sec, nsec] or -errno (-EINVAL if not normalized). */
export function readTimespec(task: Task, va: number): [number, number] | number {
  const b = copyFromUser(task.mm, va, 16);
  if (typeof b === 'number') return -EFAULT;
  const v = new DataView(b.buffer, b.byteOffset, 16);
  const sec = v.getInt32(4, true) * 0x1_0000_0000 + v.getUint32(0, true);
  const nsec = v.getInt32(12, true) * 0x1_0000_0000 + v.getUint32(8, true);
  return [sec, nsec];
}

function sysClockGettime(task: Task, id: number, tp: number): number {
  const ns = clockRead(task, id | 0);
  if (ns === null) return -EINVAL;
  return putTime(task, tp, ns, false);
}

function sysClockGetres(task: Task, id: number, tp: number): number {
  const res = clockResolution(id | 0);
  if (res === null) return -EINVAL;
  if (tp === 0) return 0;
  return putTime(task, tp, res, false);
}

function sysGettimeofday(task: Task, tv: number, tz: number): number {
  if (tv !== 0) {
    const r = putTime(task, tv, task.kernel.clock.realtimeNs(), true);
    if (r < 0) return r;
  }
  if (tz !== 0) {
    // struct timezone { int tz_minuteswest; int tz_dsttime; }: the kernel's sys_tz is UTC.
    if (copyToUser(task.mm, tz, new Uint8Array(8)) < 0) return -EFAULT;
  }
  return 0;
}

/** Sleep for `ns` (relative) and resolve 0. */
function sleepNs(ns: number): Promise<number> {
  return sleepMs(ns / 1e6).then(() => 0);
}

function validTimespec(t: [number, number]): boolean {
  return t[0] >= 0 && t[1] >= 0 && t[1] < NSEC_PER_SEC;
}

function sysNanosleep(task: Task, req: number, _rem: number): number | Promise<number> {
  const t = readTimespec(task, req);
  if (typeof t === 'number') return t;
  if (!validTimespec(t)) return -EINVAL;
  // rem is written only when a signal interrupts the sleep (with signal handlers, later).
  return sleepNs(t[0] * NSEC_PER_SEC + t[1]);
}

function sysClockNanosleep(task: Task, id: number, flags: number, req: number, _rem: number): number | Promise<number> {
  id |= 0;
  switch (id) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_BOOTTIME:
    case CLOCK_TAI:
    case CLOCK_REALTIME_ALARM:
    case CLOCK_BOOTTIME_ALARM:
      break;
    case CLOCK_THREAD_CPUTIME_ID:
      return -EINVAL;
    case CLOCK_PROCESS_CPUTIME_ID:
      // posix_cpu_nsleep exists in Linux; CPU-time timers arrive with the timer subsystem.
      return -EOPNOTSUPP;
    default:
      return clockResolution(id) === null ? -EINVAL : -EOPNOTSUPP;
  }
  const t = readTimespec(task, req);
  if (typeof t === 'number') return t;
  if (!validTimespec(t)) return -EINVAL;
  let ns = t[0] * NSEC_PER_SEC + t[1];
  if (flags & TIMER_ABSTIME) ns -= clockRead(task, id)!;
  if (ns <= 0) return 0;
  return sleepNs(ns);
}

export const timeSyscalls: SyscallTable = {
  [SYS_clock_gettime]: sysClockGettime,
  [SYS_clock_getres]: sysClockGetres,
  [SYS_gettimeofday]: sysGettimeofday,
  [SYS_nanosleep]: sysNanosleep,
  [SYS_clock_nanosleep]: sysClockNanosleep,
  // settimeofday/clock_settime are not implemented (-ENOSYS): the guest's clock is the host's.
};
