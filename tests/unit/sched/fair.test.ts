// The scheduling classes (sched/runqueue.ts, fair.ts, rt.ts): CFS shares CPU by weight, picks
// the smallest vruntime, places sleepers and new tasks as Linux does; RT runs before fair, by
// priority, FIFO without a tick and RR rotating every 100 ms.
import { describe, expect, it } from 'vitest';
import type { Task } from '../../../src/kernel/sched/task.js';
import { RunQueue } from '../../../src/kernel/sched/runqueue.js';
import {
  SCHED_FIFO,
  SCHED_NORMAL,
  SCHED_RR,
  SCHED_PRIO_TO_WEIGHT,
  niceToWeight,
} from '../../../src/kernel/sched/prio.js';
import { SCHED_LATENCY_NS } from '../../../src/kernel/sched/fair.js';

let nextId = 1;
/** The fields of a task the run queue uses. */
function fakeTask(opts: { nice?: number; policy?: number; rtPriority?: number } = {}): Task {
  return {
    pid: nextId++,
    state: 0,
    needResched: false,
    policy: opts.policy ?? SCHED_NORMAL,
    nice: opts.nice ?? 0,
    rtPriority: opts.rtPriority ?? 0,
    weight: 1024,
    vruntime: 0,
    sumExecNs: 0,
    prevSumExecNs: 0,
    rrTimeSliceNs: 100_000_000,
    onRq: false,
    rbParent: null,
    rbLeft: null,
    rbRight: null,
    rbRed: false,
    rtNext: null,
    rtPrev: null,
  } as unknown as Task;
}

/** Run the queue for `totalNs` of simulated CPU in ticks of `tickNs`, as core.ts's loop does. */
function simulate(rq: RunQueue, totalNs: number, tickNs = 1_000_000): Task[] {
  const order: Task[] = [];
  let t = 0;
  while (t < totalNs) {
    const task = rq.pickNext();
    if (!task) break;
    order.push(task);
    do {
      rq.tick(task, tickNs);
      t += tickNs;
    } while (!task.needResched && t < totalNs);
    task.needResched = false;
    rq.putPrev(task);
  }
  return order;
}

describe('nice → weight', () => {
  it('is Linux sched_prio_to_weight', () => {
    expect(SCHED_PRIO_TO_WEIGHT).toHaveLength(40);
    expect(niceToWeight(0)).toBe(1024);
    expect(niceToWeight(10)).toBe(110);
    expect(niceToWeight(-20)).toBe(88761);
    expect(niceToWeight(19)).toBe(15);
    for (let n = -20; n < 19; n++) {
      const r = niceToWeight(n) / niceToWeight(n + 1);
      expect(r).toBeGreaterThan(1.15);
      expect(r).toBeLessThan(1.35);
    }
  });
});

describe('CFS', () => {
  it('gives two CPU hogs CPU in the ratio of their weights (nice 0 : nice 10 = 1024 : 110)', () => {
    const rq = new RunQueue();
    const a = fakeTask({ nice: 0 });
    const b = fakeTask({ nice: 10 });
    rq.enqueueNew(a);
    rq.enqueueNew(b);
    simulate(rq, 10_000_000_000, 250_000);
    const ratio = a.sumExecNs / b.sumExecNs;
    expect(ratio).toBeGreaterThan((1024 / 110) * 0.95);
    expect(ratio).toBeLessThan((1024 / 110) * 1.05);
  });

  it('shares equally among equal tasks and switches within the latency period', () => {
    const rq = new RunQueue();
    const ts = [fakeTask(), fakeTask(), fakeTask()];
    for (const t of ts) rq.enqueueNew(t);
    const order = simulate(rq, 600_000_000);
    for (const t of ts) expect(t.sumExecNs / 200_000_000).toBeCloseTo(1, 1);
    // Each slice is latency / 3 = 2 ms, ended by the first 1 ms tick past it: 200 picks in 600 ms.
    expect(order.length).toBeGreaterThanOrEqual(190);
  });

  it('picks the smallest vruntime; a waking sleeper is placed at most half a latency behind', () => {
    const rq = new RunQueue();
    const hog = fakeTask();
    rq.enqueueNew(hog);
    simulate(rq, 1_000_000_000);
    const sleeper = fakeTask();
    rq.enqueue(sleeper); // a wake-up with vruntime 0, far behind
    expect(sleeper.vruntime).toBeGreaterThanOrEqual(rq.cfs.minVruntime - SCHED_LATENCY_NS / 2 - 1);
    expect(rq.pickNext()).toBe(sleeper);
  });

  it('starts a forked task after the current ones (START_DEBIT) and honours sched_yield once', () => {
    const rq = new RunQueue();
    const parent = fakeTask();
    rq.enqueueNew(parent);
    expect(rq.pickNext()).toBe(parent);
    rq.tick(parent, 1_000_000);
    const child = fakeTask();
    child.vruntime = parent.vruntime; // copy_process copies it; task_fork_fair places it
    rq.enqueueNew(child);
    expect(child.vruntime).toBeGreaterThan(parent.vruntime);
    expect(parent.needResched).toBe(false); // sched_child_runs_first is off
    rq.putPrev(parent);
    const first = rq.pickNext()!;
    expect(first).toBe(parent);
    rq.yieldCurr(first);
    rq.putPrev(first);
    expect(rq.pickNext()).toBe(child);
  });

  it('reweights a queued task when its nice changes', () => {
    const rq = new RunQueue();
    const a = fakeTask();
    rq.enqueueNew(a);
    rq.changeParams(a, () => {
      a.nice = 5;
    });
    expect(a.weight).toBe(335);
    expect(rq.cfs.load).toBe(335);
  });
});

describe('RT class', () => {
  it('runs any RT task before fair ones, highest priority first', () => {
    const rq = new RunQueue();
    const fair = fakeTask();
    const lo = fakeTask({ policy: SCHED_FIFO, rtPriority: 10 });
    const hi = fakeTask({ policy: SCHED_FIFO, rtPriority: 50 });
    rq.enqueueNew(fair);
    rq.enqueueNew(lo);
    rq.enqueueNew(hi);
    expect(rq.pickNext()).toBe(hi);
    hi.state = 1; // it sleeps
    rq.putPrev(hi);
    expect(rq.pickNext()).toBe(lo);
  });

  it('a waking RT task preempts a running fair task; FIFO is not preempted by the tick', () => {
    const rq = new RunQueue();
    const fair = fakeTask();
    rq.enqueueNew(fair);
    const cur = rq.pickNext()!;
    const rt = fakeTask({ policy: SCHED_FIFO, rtPriority: 1 });
    rq.enqueue(rt);
    expect(cur.needResched).toBe(true);
    cur.needResched = false;
    rq.putPrev(cur);
    expect(rq.pickNext()).toBe(rt);
    const peer = fakeTask({ policy: SCHED_FIFO, rtPriority: 1 });
    rq.enqueue(peer);
    for (let i = 0; i < 1000; i++) rq.tick(rt, 1_000_000);
    expect(rt.needResched).toBe(false);
  });

  it('rotates SCHED_RR tasks of one priority every 100 ms', () => {
    const rq = new RunQueue();
    const a = fakeTask({ policy: SCHED_RR, rtPriority: 5 });
    const b = fakeTask({ policy: SCHED_RR, rtPriority: 5 });
    rq.enqueueNew(a);
    rq.enqueueNew(b);
    const order = simulate(rq, 400_000_000, 1_000_000);
    expect(order.slice(0, 4)).toEqual([a, b, a, b]);
    expect(a.sumExecNs).toBe(200_000_000);
  });
});
