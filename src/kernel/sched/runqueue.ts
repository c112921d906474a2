/**
 * The run queue (struct rq) of the one hart, with the scheduling classes in Linux's order:
 * stop → rt → fair → idle (kernel/sched/core.c pick_next_task). On one CPU there is no
 * migration or stop_machine work, so the stop class never has a task and is not modelled.
 *
 * The task on the hart is `curr`; it is not queued in its class while it runs (as CFS's
 * set_next_entity takes it out of the tree) and goes back with `putPrev` at the end of its
 * slice. `enqueue` is the wake-up path (try_to_wake_up → activate_task → check_preempt_curr).
 */
import type { Task } from './task.js';
import { TaskState } from './task.js';
import { CfsRq, ENQUEUE_NEW, ENQUEUE_RESTORE, ENQUEUE_WAKEUP } from './fair.js';
import { RtRq } from './rt.js';
import { IdleWait } from './idle.js';
import { rtPolicy } from './prio.js';

export class RunQueue {
  readonly cfs = new CfsRq();
  readonly rt = new RtRq();
  private readonly idle = new IdleWait();
  /** The task on the hart (rq->curr), null while idle or between slices. */
  curr: Task | null = null;
  /** nr_switches. */
  nrSwitches = 0;
  private lastPicked: Task | null = null;

  /** Runnable tasks waiting for the hart (not counting the running one). */
  get nrRunning(): number {
    return this.cfs.nrQueued + this.rt.nrQueued;
  }

  /** activate_task on wake-up: queue the task in its class, maybe preempt the running one, end the idle wait. */
  enqueue(t: Task): void {
    this.activate(t, ENQUEUE_WAKEUP);
  }

  /** wake_up_new_task(): a task fresh from fork. */
  enqueueNew(t: Task): void {
    this.activate(t, ENQUEUE_NEW);
  }

  private activate(t: Task, flags: number): void {
    if (t.onRq || t === this.curr || t.state !== TaskState.RUNNING) return;
    if (rtPolicy(t.policy)) this.rt.enqueue(t, false);
    else this.cfs.enqueue(t, flags);
    t.onRq = true;
    const c = this.curr;
    if (c && !c.needResched) {
      // check_preempt_curr(): a higher class always wins; within a class the class decides.
      if (rtPolicy(t.policy)) {
        if (!rtPolicy(c.policy) || t.rtPriority > c.rtPriority) c.needResched = true;
      } else if (!rtPolicy(c.policy) && this.cfs.checkPreemptWakeup(c, t)) {
        c.needResched = true;
      }
    }
    this.idle.wakeUp();
  }

  /** deactivate_task: take a queued task off the run queue (it sleeps or dies). */
  dequeue(t: Task): void {
    if (!t.onRq) return;
    if (rtPolicy(t.policy)) this.rt.dequeue(t);
    else this.cfs.dequeue(t);
    t.onRq = false;
  }

  /** pick_next_task: the best task of the highest class that has one; it becomes `curr`. */
  pickNext(): Task | null {
    const t = this.rt.pickNext() ?? this.cfs.pickNext();
    if (!t) return null;
    t.onRq = false;
    this.curr = t;
    if (t !== this.lastPicked) {
      this.nrSwitches++;
      this.lastPicked = t;
    }
    return t;
  }

  /** put_prev_task: the running task leaves the hart; still runnable → back in its class. */
  putPrev(t: Task): void {
    if (this.curr !== t) return;
    this.curr = null;
    const runnable = t.state === TaskState.RUNNING;
    if (rtPolicy(t.policy)) this.rt.putPrev(t, runnable);
    else this.cfs.putPrev(t, runnable);
    if (runnable) t.onRq = true;
  }

  /**
   * update_curr + the scheduler tick (scheduler_tick → task_tick): charge `deltaNs` of CPU
   * to the running task and decide whether it must give up the hart.
   */
  tick(t: Task, deltaNs: number): void {
    t.sumExecNs += deltaNs;
    if (rtPolicy(t.policy)) {
      if (this.rt.tick(t, deltaNs)) t.needResched = true;
      return;
    }
    this.cfs.updateCurr(t, deltaNs);
    // A fair task yields to any queued RT task at once.
    if (this.rt.nrQueued > 0 || this.cfs.checkPreemptTick(t)) t.needResched = true;
  }

  /** sched_yield(): the class moves the task behind its peers. */
  yieldCurr(t: Task): void {
    if (rtPolicy(t.policy)) this.rt.yieldTask();
    else this.cfs.yieldTask(t);
    t.needResched = true;
  }

  /**
   * __sched_setscheduler / set_user_nice: change a task's policy, priority or nice while it may
   * be queued or running, keeping it in the right class.
   */
  changeParams(t: Task, apply: () => void): void {
    const queued = t.onRq;
    const running = this.curr === t;
    const wasRt = rtPolicy(t.policy);
    if (queued) this.dequeue(t);
    else if (running) {
      // Leave the class as if descheduled, then come back as the running task of the new one.
      if (wasRt) this.rt.curr = null;
      else this.cfs.putPrev(t, false);
    }
    apply();
    const isRt = rtPolicy(t.policy);
    if (queued) this.activate(t, ENQUEUE_RESTORE);
    else if (running) {
      if (isRt) this.rt.curr = t;
      else {
        this.cfs.enqueue(t, wasRt ? ENQUEUE_WAKEUP : ENQUEUE_RESTORE);
        this.cfs.dequeue(t);
        this.cfs.curr = t;
        this.cfs.load += t.weight;
        this.cfs.nrRunning++;
      }
      // A lowered priority may let someone else run now.
      t.needResched = true;
    }
  }

  /** The idle task: resolve when a task becomes runnable (no host CPU is used meanwhile). */
  waitForWork(): Promise<void> {
    return this.idle.wait(this.nrRunning > 0);
  }

  /** Wake the idle loop without a task (e.g. to notice that the last task exited). */
  kick(): void {
    this.idle.wakeUp();
  }
}
