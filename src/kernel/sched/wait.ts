/**
 * Sleeping in the kernel: wait queues and interruptible waits (include/linux/wait.h,
 * kernel/sched/wait.c).
 *
 * Our kernel runs system calls as JS functions; one that must sleep is an `async` function
 * that awaits `waitEventInterruptible()` in a loop, exactly as Linux's
 * `wait_event_interruptible(wq, condition)` pattern:
 *
 *     for (;;) {
 *       if (pipe has data) break;
 *       const r = await sleepOn(task, pipe.readWait);   // 0: woken; -ERESTARTSYS: a signal came
 *       if (r !== 0) return r;                          // nothing consumed: safe to restart
 *     }
 *     ...consume...
 *
 * A signal sent to a sleeping task (signal_wake_up) ends its sleep with -ERESTARTSYS; the
 * system-call exit path turns that into a restart (SA_RESTART, or no handler ran) or -EINTR,
 * as arch/riscv/kernel/signal.c handle_signal / arch_do_signal_or_restart do. The handler must
 * therefore not have consumed anything when it returns -ERESTARTSYS.
 *
 * A sleeping task costs no host CPU: it is a pending Promise.
 */
import type { Task } from './task.js';
import { ERESTARTSYS, ETIMEDOUT } from '../errno.js';
import { signalPending } from '../signal/signal.js';

/** A task's current interruptible sleep: how to end it early. */
export interface Sleeper {
  /** End the sleep with this result (0 woken, -ERESTARTSYS signal, -ETIMEDOUT timeout). */
  wake(result: number): void;
}

/** wait_queue_head_t: the sleepers waiting for one event (data in a pipe, a child exiting …). */
export class WaitQueue {
  private readonly sleepers = new Set<Sleeper>();

  /** wake_up_interruptible_all: every sleeper re-checks its condition. */
  wakeUp(): void {
    if (this.sleepers.size === 0) return;
    const all = [...this.sleepers];
    this.sleepers.clear();
    for (const s of all) s.wake(0);
  }

  /** wake_up_interruptible (nr_exclusive = 1): wake one sleeper (the one that slept longest). */
  wakeUpOne(): void {
    for (const s of this.sleepers) {
      this.sleepers.delete(s);
      s.wake(0);
      return;
    }
  }

  get hasSleepers(): boolean {
    return this.sleepers.size > 0;
  }

  add(s: Sleeper): void {
    this.sleepers.add(s);
  }

  remove(s: Sleeper): void {
    this.sleepers.delete(s);
  }
}

export interface SleepOptions {
  /** Absolute CLOCK_MONOTONIC deadline in ns (kernel.clock.monotonicNs()); resolves -ETIMEDOUT then. */
  deadlineNs?: number;
  /** Sleep even if a signal is pending (TASK_KILLABLE-like waits still end on SIGKILL). */
  uninterruptible?: boolean;
}

/**
 * Sleep until one of `queues` is woken, `promise` settles (e.g. a host stream becoming
 * readable), the deadline passes, or a signal is sent to the task. Resolves with 0, -ETIMEDOUT
 * or -ERESTARTSYS. If a signal is already pending it returns -ERESTARTSYS at once (as
 * signal_pending_state() does before schedule()).
 */
export function sleepOn(
  task: Task,
  queues: WaitQueue | readonly WaitQueue[] | null,
  opts: SleepOptions = {},
  promise?: Promise<unknown>,
): Promise<number> {
  if (!opts.uninterruptible && signalPending(task)) return Promise.resolve(-ERESTARTSYS);
  const list: readonly WaitQueue[] = queues === null ? [] : queues instanceof WaitQueue ? [queues] : queues;
  return new Promise<number>((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    const sleeper: Sleeper = {
      wake(result: number) {
        if (done) return;
        done = true;
        for (const q of list) q.remove(sleeper);
        if (timer !== undefined) clearTimeout(timer);
        if (task.sleeper === sleeper) task.sleeper = null;
        resolve(result);
      },
    };
    for (const q of list) q.add(sleeper);
    if (!opts.uninterruptible) task.sleeper = sleeper;
    if (opts.deadlineNs !== undefined) {
      const deadline = opts.deadlineNs;
      // An hrtimer never fires early. setTimeout's resolution is 1 ms and libuv measures it
      // against its cached loop time, so it can fire a fraction of a millisecond before the
      // deadline by our clock: then it is armed again for the rest.
      const arm = (): void => {
        timer = undefined;
        const ms = (deadline - task.kernel.clock.monotonicNs()) / 1e6;
        if (ms <= 0) {
          sleeper.wake(-ETIMEDOUT);
          return;
        }
        timer = setTimeout(arm, Math.ceil(ms));
      };
      arm();
      if (done) return;
    }
    if (promise)
      promise.then(
        () => sleeper.wake(0),
        () => sleeper.wake(0),
      );
  });
}

/** signal_wake_up(): a signal was queued for `task`; end its interruptible sleep. */
export function signalWakeUp(task: Task): void {
  const s = task.sleeper;
  if (s) s.wake(-ERESTARTSYS);
}
