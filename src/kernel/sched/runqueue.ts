/**
 * The run queue (struct rq): the tasks ready to run. A FIFO gives round-robin for now; a later
 * issue puts CFS (sched/fair.ts) behind the same three calls. The idle wait — what the idle
 * task's wfi is on real hardware — is a Promise resolved by the next wake-up.
 */
import type { Task } from './task.js';

export class RunQueue {
  private readonly queue: Task[] = [];
  private idleWake: (() => void) | null = null;

  get nrRunning(): number {
    return this.queue.length;
  }

  /** enqueue_task (+ wake the idle loop). A task already queued is not queued twice. */
  enqueue(t: Task): void {
    if (!this.queue.includes(t)) this.queue.push(t);
    const w = this.idleWake;
    if (w) {
      this.idleWake = null;
      w();
    }
  }

  dequeue(t: Task): void {
    const i = this.queue.indexOf(t);
    if (i >= 0) this.queue.splice(i, 1);
  }

  /** pick_next_task: the task at the head, removed from the queue while it runs. */
  pickNext(): Task | undefined {
    return this.queue.shift();
  }

  /** Resolve when a task becomes runnable (the idle loop sleeps here: no host CPU is used). */
  waitForWork(): Promise<void> {
    if (this.queue.length > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWake = resolve;
    });
  }

  /** Wake the idle loop without a task (e.g. to notice that the last task exited). */
  kick(): void {
    const w = this.idleWake;
    if (w) {
      this.idleWake = null;
      w();
    }
  }
}
