import type { Task } from '../sched/task.js';

/**
 * A system-call handler. Arguments are the a0..a5 registers as signed 64-bit values
 * converted to doubles: exact within ±2^53 (every valid pointer, size, offset and fd is),
 * approximate beyond (such values are invalid for sizes/pointers anyway). Take a C `int`
 * with `a | 0` and an `unsigned int` with `a >>> 0` (RV64 passes 32-bit values sign-extended).
 * For the rare call that needs exact high bits, read `task.kernel.hart` registers directly.
 *
 * Return the result (a non-negative value, or -errno), or a Promise of it when the task must
 * sleep (the scheduler runs other tasks meanwhile, as a task on a wait queue in Linux).
 */
export type SyscallHandler = (
  task: Task,
  a0: number,
  a1: number,
  a2: number,
  a3: number,
  a4: number,
  a5: number,
) => number | Promise<number>;

/** A part of the system-call table, contributed by one subsystem (fs, mm, time, …). */
export type SyscallTable = Partial<Record<number, SyscallHandler>>;
