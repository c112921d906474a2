/**
 * Time system calls: clock_gettime, clock_getres, clock_nanosleep (kernel/time/posix-timers.c),
 * nanosleep (kernel/time/hrtimer.c), gettimeofday/settimeofday (kernel/time/time.c).
 * A sleep is a host timer: the task sleeps on a Promise and costs no host CPU meanwhile.
 */
import { EFAULT, EINVAL, EOPNOTSUPP, ERESTARTNOHAND, ERESTART_RESTARTBLOCK, ETIMEDOUT } from '../errno.js';
import { sleepOn } from '../sched/wait.js';
import { setRestartFn } from '../signal/signal.js';
import { timerSyscalls } from './posix-timers.js';
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
  cpuClockTarget,
} from './clocks.js';

export { TIMER_ABSTIME } from './posix-timers.js';
import { TIMER_ABSTIME } from './posix-timers.js';
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
  id |= 0;
  const res = id < 0 ? (cpuClockTarget(task, id) ? 1 : null) : clockResolution(id);
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

function validTimespec(t: [number, number]): boolean {
  return t[0] >= 0 && t[1] >= 0 && t[1] < NSEC_PER_SEC;
}

/** The longest one sleepOn deadline we hand to a host timer; longer sleeps are re-armed. */
const MAX_SLEEP_STEP_NS = 86_400 * NSEC_PER_SEC;

/**
 * do_nanosleep(): sleep until the CLOCK_MONOTONIC deadline `endNs` unless a signal comes.
 * Resolves 0 when the time is up. On a signal: a relative sleep writes the time left to `remVa`
 * (if any) and returns -ERESTART_RESTARTBLOCK with a restart_block that continues to the same
 * deadline; an absolute sleep returns -ERESTARTNOHAND (restarted with the same arguments).
 */
async function doNanosleep(task: Task, endNs: number, remVa: number, relative: boolean): Promise<number> {
  const clock = task.kernel.clock;
  for (;;) {
    const now = clock.monotonicNs();
    if (now >= endNs) return 0;
    const r = await sleepOn(task, null, { deadlineNs: Math.min(endNs, now + MAX_SLEEP_STEP_NS) });
    if (r === -ETIMEDOUT || r === 0) continue;
    // Interrupted (-ERESTARTSYS).
    if (!relative) return -ERESTARTNOHAND;
    const left = Math.max(0, endNs - clock.monotonicNs());
    if (remVa !== 0 && putTime(task, remVa, left, false) < 0) return -EFAULT;
    setRestartFn(task, (t) => doNanosleep(t, endNs, remVa, true));
    return -ERESTART_RESTARTBLOCK;
  }
}

function sysNanosleep(task: Task, req: number, rem: number): number | Promise<number> {
  const t = readTimespec(task, req);
  if (typeof t === 'number') return t;
  if (!validTimespec(t)) return -EINVAL;
  const ns = t[0] * NSEC_PER_SEC + t[1];
  return doNanosleep(task, task.kernel.clock.monotonicNs() + ns, rem, true);
}

function sysClockNanosleep(task: Task, id: number, flags: number, req: number, rem: number): number | Promise<number> {
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
      // posix_cpu_nsleep exists in Linux; a CPU-time sleep is not implemented here.
      return -EOPNOTSUPP;
    default:
      return clockResolution(id) === null ? -EINVAL : -EOPNOTSUPP;
  }
  const t = readTimespec(task, req);
  if (typeof t === 'number') return t;
  if (!validTimespec(t)) return -EINVAL;
  let ns = t[0] * NSEC_PER_SEC + t[1];
  const abs = (flags & TIMER_ABSTIME) !== 0;
  if (abs) ns -= clockRead(task, id)!;
  // An absolute REALTIME sleep is converted to a monotonic deadline now (clock_settime does not exist here).
  const end = task.kernel.clock.monotonicNs() + Math.max(0, ns);
  if (ns <= 0) return 0;
  return doNanosleep(task, end, abs ? 0 : rem, !abs);
}

export const timeSyscalls: SyscallTable = {
  [SYS_clock_gettime]: sysClockGettime,
  [SYS_clock_getres]: sysClockGetres,
  [SYS_gettimeofday]: sysGettimeofday,
  [SYS_nanosleep]: sysNanosleep,
  [SYS_clock_nanosleep]: sysClockNanosleep,
  ...timerSyscalls,
  // settimeofday/clock_settime are not implemented (-ENOSYS): the guest's clock is the host's.
};
