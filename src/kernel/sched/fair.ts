/**
 * The completely fair scheduling class (kernel/sched/fair.c, CFS): every SCHED_NORMAL,
 * SCHED_BATCH and SCHED_IDLE task runs in proportion to its weight. Each task's vruntime
 * advances by its CPU time scaled by NICE_0_LOAD / weight; the runnable tasks sit in a
 * red-black tree ordered by vruntime with the leftmost cached, and the leftmost runs next.
 *
 * Tunables are Linux's defaults for one CPU (sysctl_sched_latency 6 ms,
 * sysctl_sched_min_granularity 0.75 ms, sysctl_sched_wakeup_granularity 1 ms; the
 * SCHED_TUNABLESCALING_LOG factor 1 + ilog2(ncpus) is 1). Time is host nanoseconds spent on
 * the hart, the same measure that CPU-time clocks, times() and getrusage() report.
 */
import type { Task } from './task.js';
import { RbRootCached } from '../lib/rbtree.js';
import { NICE_0_LOAD, SCHED_IDLE, SCHED_NORMAL, WEIGHT_IDLEPRIO, niceToWeight } from './prio.js';

export const SCHED_LATENCY_NS = 6_000_000;
export const SCHED_MIN_GRANULARITY_NS = 750_000;
export const SCHED_WAKEUP_GRANULARITY_NS = 1_000_000;
/** sched_nr_latency = latency / min_granularity. */
export const SCHED_NR_LATENCY = 8;

/** Enqueue flags (ENQUEUE_WAKEUP, and a new task from fork: task_fork_fair placement). */
export const ENQUEUE_WAKEUP = 1;
export const ENQUEUE_NEW = 2;
/** A preempted or re-weighted task going back: no placement (ENQUEUE_RESTORE). */
export const ENQUEUE_RESTORE = 4;

/** set_load_weight(). */
export function fairWeight(t: Task): number {
  return t.policy === SCHED_IDLE ? WEIGHT_IDLEPRIO : niceToWeight(t.nice);
}

/** calc_delta_fair(): real time → virtual time for a task of this weight. */
function calcDeltaFair(delta: number, weight: number): number {
  return weight === NICE_0_LOAD ? delta : (delta * NICE_0_LOAD) / weight;
}

/** struct cfs_rq plus the fair_sched_class operations on it. */
export class CfsRq {
  readonly timeline = new RbRootCached<Task>((a, b) => a.vruntime < b.vruntime);
  /** Monotonic floor of the vruntimes: where sleepers and new tasks are placed. */
  minVruntime = 0;
  /** Sum of the weights of the queued tasks and the running one (cfs_rq->load). */
  load = 0;
  /** Queued + running fair tasks (cfs_rq->nr_running). */
  nrRunning = 0;
  /** The fair task on the hart, if any (not in the tree while it runs, as set_next_entity does). */
  curr: Task | null = null;
  /** The skip buddy: a task that called sched_yield() is passed over once. */
  skip: Task | null = null;

  /** Tasks waiting in the tree. */
  get nrQueued(): number {
    return this.timeline.size;
  }

  /** __sched_period(). */
  private period(nr: number): number {
    return nr > SCHED_NR_LATENCY ? nr * SCHED_MIN_GRANULARITY_NS : SCHED_LATENCY_NS;
  }

  /** sched_slice(): the wall-clock share of the period this task should get. */
  slice(t: Task): number {
    const counted = t === this.curr || t.onRq;
    const nr = this.nrRunning + (counted ? 0 : 1);
    const load = this.load + (counted ? 0 : t.weight);
    return load > 0 ? (this.period(nr) * t.weight) / load : this.period(nr);
  }

  /** update_min_vruntime(). */
  private updateMinVruntime(): void {
    const curr = this.curr;
    const left = this.timeline.leftmost;
    let v = this.minVruntime;
    if (curr) v = curr.vruntime;
    if (left) v = curr ? Math.min(v, left.vruntime) : left.vruntime;
    if (v > this.minVruntime) this.minVruntime = v;
  }

  /** place_entity(): a waking task gets at most half a latency of credit; a new one starts a vslice late (START_DEBIT). */
  private place(t: Task, initial: boolean): void {
    let v = this.minVruntime;
    if (initial) v += calcDeltaFair(this.slice(t), t.weight);
    else v -= SCHED_LATENCY_NS / 2; // GENTLE_FAIR_SLEEPERS
    t.vruntime = Math.max(t.vruntime, v);
  }

  /** enqueue_task_fair(). */
  enqueue(t: Task, flags: number): void {
    t.weight = fairWeight(t);
    if (flags & ENQUEUE_NEW) this.place(t, true);
    else if (flags & ENQUEUE_WAKEUP) this.place(t, false);
    this.timeline.insert(t);
    this.load += t.weight;
    this.nrRunning++;
  }

  /** dequeue_task_fair() of a queued (not running) task. */
  dequeue(t: Task): void {
    this.timeline.erase(t);
    this.load -= t.weight;
    this.nrRunning--;
    if (this.skip === t) this.skip = null;
    this.updateMinVruntime();
  }

  /** pick_next_task_fair() + set_next_entity(): take the leftmost (or the one after a yielding skip buddy). */
  pickNext(): Task | null {
    let t = this.timeline.leftmost;
    if (!t) return null;
    if (this.skip === t) {
      const second = RbRootCached.next(t) as Task | null;
      if (second) t = second;
    }
    this.skip = null;
    this.timeline.erase(t);
    this.curr = t;
    t.prevSumExecNs = t.sumExecNs;
    return t;
  }

  /** put_prev_task_fair(): the running task stops; back into the tree when still runnable. */
  putPrev(t: Task, runnable: boolean): void {
    this.curr = null;
    if (runnable) {
      this.timeline.insert(t);
    } else {
      this.load -= t.weight;
      this.nrRunning--;
    }
    this.updateMinVruntime();
  }

  /** update_curr(): charge `deltaNs` of CPU to the running task. */
  updateCurr(t: Task, deltaNs: number): void {
    t.vruntime += calcDeltaFair(deltaNs, t.weight);
    this.updateMinVruntime();
  }

  /** check_preempt_tick(): has the running task had its slice, or run too far ahead of the leftmost? */
  checkPreemptTick(t: Task): boolean {
    if (this.nrRunning <= 1) return false;
    const ideal = this.slice(t);
    const deltaExec = t.sumExecNs - t.prevSumExecNs;
    if (deltaExec > ideal) return true;
    if (deltaExec < SCHED_MIN_GRANULARITY_NS) return false;
    const left = this.timeline.leftmost;
    if (!left) return false;
    const d = t.vruntime - left.vruntime;
    return d > ideal;
  }

  /** check_preempt_wakeup(): should the woken task `p` preempt the running fair task? */
  checkPreemptWakeup(curr: Task, p: Task): boolean {
    if (curr.policy === SCHED_IDLE && p.policy !== SCHED_IDLE) return true;
    if (p.policy !== SCHED_NORMAL) return false; // batch and idle tasks never preempt on wakeup
    const vdiff = curr.vruntime - p.vruntime;
    if (vdiff <= 0) return false;
    return vdiff > calcDeltaFair(SCHED_WAKEUP_GRANULARITY_NS, p.weight); // wakeup_preempt_entity() == 1
  }

  /** yield_task_fair(): mark the skip buddy. */
  yieldTask(t: Task): void {
    if (this.nrRunning > 1) this.skip = t;
  }

  /**
   * reweight_task() for a queued or running task after nice/policy change: keep its
   * vruntime, move the load.
   */
  reweight(t: Task): void {
    const queued = t.onRq;
    if (queued) this.timeline.erase(t);
    const w = fairWeight(t);
    if (queued || this.curr === t) this.load += w - t.weight;
    t.weight = w;
    if (queued) this.timeline.insert(t);
  }
}
