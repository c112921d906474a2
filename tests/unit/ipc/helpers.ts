import { Clock } from '../../../src/machine/dev/clock.js';
import { Hart } from '../../../src/machine/cpu/hart.js';
import { Task } from '../../../src/kernel/sched/task.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { signalWakeUp } from '../../../src/kernel/sched/wait.js';
import { makeEnv, type TestEnv } from '../fs/helpers.js';

/**
 * The fs test environment plus what pipes, futexes and SysV IPC need from the kernel object:
 * a clock and `current`. `sibling()` makes another task: a thread (same mm and files) or a
 * process with its own copy of the fd table (fork without CLONE_FILES) over the same mm.
 */
export interface IpcEnv extends TestEnv {
  kernel: Kernel;
  sibling(opts?: { tgid?: number; shareFiles?: boolean }): Task;
  /** Queue a signal on a task and end its sleep, as signal delivery would. */
  interrupt(t: Task, sig?: number): void;
}

export function makeIpcEnv(opts: { uid?: number } = {}): IpcEnv {
  const env = makeEnv({ uid: opts.uid ?? 0, gid: opts.uid ?? 0 });
  const kernel = env.task.kernel as unknown as Record<string, unknown>;
  const clock = new Clock();
  kernel.clock = clock;
  // Signal delivery bookkeeping reads and moves the current task's pc on the hart.
  kernel.hart = new Hart(env.task.mm.mem, clock);
  kernel.current = env.task;
  kernel.futexWake = null;
  kernel.exitRobustList = null;
  let nextPid = 2;
  return {
    ...env,
    kernel: kernel as unknown as Kernel,
    sibling(o = {}) {
      const t = new Task(
        env.task.kernel,
        env.task.mm,
        o.shareFiles === false ? env.task.files.clone() : env.task.files,
        env.task.fs,
        env.task.cred,
        env.task.context,
      );
      t.pid = nextPid++;
      t.tgid = o.tgid ?? t.pid;
      return t;
    },
    interrupt(t, sig = 10) {
      t.pending |= 1n << BigInt(sig - 1);
      signalWakeUp(t);
    },
  };
}

/** Let pending promise callbacks run (a wake-up resolves a sleeper a few microtasks later). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
