/**
 * POSIX clocks (kernel/time/posix-timers.c, posix-cpu-timers.c): which clock ids exist and
 * what they read. Wall and monotonic time come from the machine's Clock device; CPU-time
 * clocks from the host time a task spent on the hart.
 */
import type { Task } from '../sched/task.js';

export const CLOCK_REALTIME = 0;
export const CLOCK_MONOTONIC = 1;
export const CLOCK_PROCESS_CPUTIME_ID = 2;
export const CLOCK_THREAD_CPUTIME_ID = 3;
export const CLOCK_MONOTONIC_RAW = 4;
export const CLOCK_REALTIME_COARSE = 5;
export const CLOCK_MONOTONIC_COARSE = 6;
export const CLOCK_BOOTTIME = 7;
export const CLOCK_REALTIME_ALARM = 8;
export const CLOCK_BOOTTIME_ALARM = 9;
export const CLOCK_TAI = 11;

/** CONFIG_HZ of the kernel we model (Debian: 250): the resolution of the *_COARSE clocks. */
export const HZ = 250;
export const TICK_NSEC = 1e9 / HZ;
/** TAI - UTC, as a freshly booted Linux reports it before NTP sets it: 0. */
const TAI_OFFSET_NS = 0;

/** The CPU time of a task (or its whole process) including the slice running right now. */
export function taskCpuNs(task: Task, wholeProcess: boolean): number {
  const k = task.kernel;
  const running = k.current === task && k.sliceStartMs > 0 ? (performance.now() - k.sliceStartMs) * 1e6 : 0;
  if (!wholeProcess) return task.cpuNs + running;
  return task.signal.cpuNs + task.threadGroupCpuNs() + running;
}

/**
 * A dynamic CPU clock id (include/linux/posix-timers.h: MAKE_PROCESS_CPUCLOCK / MAKE_THREAD_CPUCLOCK,
 * ((~pid) << 3) | perthread << 2 | which): the task it names (pid 0: the caller) and whether it
 * counts the whole process, or null if it names nothing (-EINVAL). glibc passes these for
 * CLOCK_PROCESS_CPUTIME_ID (-6) and CLOCK_THREAD_CPUTIME_ID (-2) to timer_create, and for
 * clock_getcpuclockid / pthread_getcpuclockid clocks.
 */
export function cpuClockTarget(task: Task, id: number): { task: Task; wholeProcess: boolean } | null {
  if (id >= 0) return null;
  const which = id & 3;
  if (which === 3) return null; // CPUCLOCK_MAX
  const perThread = (id & 4) !== 0;
  const pid = ~(id >> 3);
  let t: Task | null = task;
  if (pid !== 0) {
    t = task.kernel.findTask(pid);
    if (!t) return null;
    if (perThread ? t.tgid !== task.tgid : t.pid !== t.tgid) return null;
  }
  return { task: t, wholeProcess: !perThread };
}

/**
 * Read a clock in nanoseconds, or return null for an unknown id (-EINVAL). Negative ids are
 * CPU clocks by CPUCLOCK encoding (PROF, VIRT and SCHED all read the task's CPU time here).
 */
export function clockRead(task: Task, id: number): number | null {
  const c = task.kernel.clock;
  if (id < 0) {
    const cpu = cpuClockTarget(task, id);
    return cpu ? Math.round(taskCpuNs(cpu.task, cpu.wholeProcess)) : null;
  }
  switch (id) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_ALARM:
      return c.realtimeNs();
    case CLOCK_REALTIME_COARSE:
      return Math.floor(c.realtimeNs() / TICK_NSEC) * TICK_NSEC;
    case CLOCK_TAI:
      return c.realtimeNs() + TAI_OFFSET_NS;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_BOOTTIME:
    case CLOCK_BOOTTIME_ALARM:
      // No suspend, no NTP slewing: the three coincide.
      return c.monotonicNs();
    case CLOCK_MONOTONIC_COARSE:
      return Math.floor(c.monotonicNs() / TICK_NSEC) * TICK_NSEC;
    case CLOCK_PROCESS_CPUTIME_ID:
      return Math.round(taskCpuNs(task, true));
    case CLOCK_THREAD_CPUTIME_ID:
      return Math.round(taskCpuNs(task, false));
    default:
      return null;
  }
}

/** clock_getres(): 1 ns for the high-resolution clocks, a tick for the coarse ones. */
export function clockResolution(id: number): number | null {
  switch (id) {
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE:
      return TICK_NSEC;
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_BOOTTIME:
    case CLOCK_REALTIME_ALARM:
    case CLOCK_BOOTTIME_ALARM:
    case CLOCK_TAI:
      return 1;
    default:
      return null;
  }
}
