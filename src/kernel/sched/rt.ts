/**
 * The real-time scheduling class (kernel/sched/rt.c): SCHED_FIFO and SCHED_RR tasks with
 * priorities 1..99 always run before fair tasks; the highest priority runs; FIFO tasks run
 * until they block or yield, RR tasks rotate within their priority every RR_TIMESLICE
 * (100 ms). Each priority is a list threaded through the tasks themselves, so queueing
 * allocates nothing. RT throttling (sched_rt_runtime_us) is not modelled: on one hart an RT
 * hog starves fair tasks, as with sched_rt_runtime_us = -1.
 */
import type { Task } from './task.js';
import { MAX_RT_PRIO, SCHED_RR } from './prio.js';

/** RR_TIMESLICE: 100 ms. */
export const RR_TIMESLICE_NS = 100_000_000;

export class RtRq {
  private readonly head: (Task | null)[] = new Array<Task | null>(MAX_RT_PRIO).fill(null);
  private readonly tail: (Task | null)[] = new Array<Task | null>(MAX_RT_PRIO).fill(null);
  /** Queued RT tasks (rt_nr_running, without the running one). */
  nrQueued = 0;
  /** Highest priority with a queued task, -1 when none (rt_rq->highest_prio). */
  private highest = -1;
  curr: Task | null = null;
  /** The running task gives up its place (sched_yield, or its RR slice ran out): it goes to the tail. */
  private requeueTail = false;

  /** enqueue_task_rt(): at the tail of its priority, or the head for a task that was preempted. */
  enqueue(t: Task, atHead: boolean): void {
    const p = t.rtPriority;
    const h = this.head[p];
    if (!h) {
      t.rtNext = t.rtPrev = null;
      this.head[p] = this.tail[p] = t;
    } else if (atHead) {
      t.rtPrev = null;
      t.rtNext = h;
      h.rtPrev = t;
      this.head[p] = t;
    } else {
      const tl = this.tail[p]!;
      t.rtNext = null;
      t.rtPrev = tl;
      tl.rtNext = t;
      this.tail[p] = t;
    }
    this.nrQueued++;
    if (p > this.highest) this.highest = p;
  }

  dequeue(t: Task): void {
    const p = t.rtPriority;
    if (t.rtPrev) t.rtPrev.rtNext = t.rtNext;
    else this.head[p] = t.rtNext;
    if (t.rtNext) t.rtNext.rtPrev = t.rtPrev;
    else this.tail[p] = t.rtPrev;
    t.rtNext = t.rtPrev = null;
    this.nrQueued--;
    if (p === this.highest && !this.head[p]) {
      let q = p - 1;
      while (q >= 0 && !this.head[q]) q--;
      this.highest = q;
    }
  }

  /** Priority of the best queued task, -1 when none. */
  get highestPrio(): number {
    return this.highest;
  }

  pickNext(): Task | null {
    if (this.highest < 0) return null;
    const t = this.head[this.highest]!;
    this.dequeue(t);
    this.curr = t;
    return t;
  }

  /** put_prev_task_rt(): a preempted task keeps its place at the head; a yielding one goes last. */
  putPrev(t: Task, runnable: boolean): void {
    this.curr = null;
    const tail = this.requeueTail;
    this.requeueTail = false;
    if (runnable) this.enqueue(t, !tail);
  }

  /** task_tick_rt(): SCHED_RR rotation. Returns true when the task must give up the hart. */
  tick(t: Task, deltaNs: number): boolean {
    if (t.policy !== SCHED_RR) return false;
    t.rrTimeSliceNs -= deltaNs;
    if (t.rrTimeSliceNs > 0) return false;
    t.rrTimeSliceNs = RR_TIMESLICE_NS;
    if (this.head[t.rtPriority]) {
      this.requeueTail = true;
      return true;
    }
    return false;
  }

  /** yield_task_rt(): requeue at the tail of its priority. */
  yieldTask(): void {
    this.requeueTail = true;
  }
}
