/**
 * /proc/<pid>/sched (proc_sched_show_task in kernel/sched/debug.c): the scheduler's view of one
 * task — its CFS entity (exec_start, vruntime, sum_exec_runtime), context-switch counts, load
 * weight, policy and prio — in Linux's "%-45s:%21Ld.%06ld" layout, SPLIT_NS times as "%14Ld.%06ld" (ms and ns).
 */
import type { Task } from '../../sched/task.js';
import { SCHED_FIFO, SCHED_RR } from '../../sched/prio.js';

/** SCHED_FIXEDPOINT_SHIFT: weights are kept scaled by 1024 on 64-bit kernels, and printed so. */
const WEIGHT_SCALE = 1024;

function num(name: string, v: number): string {
  return `${name.padEnd(45)}:${String(Math.trunc(v)).padStart(21)}\n`;
}

/** SPLIT_NS: nanoseconds as milliseconds with six decimals. */
function splitNs(name: string, ns: number): string {
  const n = Math.max(0, Math.floor(ns));
  const ms = Math.floor(n / 1e6);
  const frac = n - ms * 1e6;
  return `${name.padEnd(45)}:${String(ms).padStart(14)}.${String(frac).padStart(6, '0')}\n`;
}

/** The kernel's prio: 99 - rt_priority for real-time tasks, 120 + nice otherwise. */
function taskPrio(t: Task): number {
  return t.policy === SCHED_FIFO || t.policy === SCHED_RR ? 99 - t.rtPriority : 120 + t.nice;
}

export function taskSchedText(t: Task): string {
  const threads = t.kernel.threadGroup(t.tgid).length;
  return (
    `${t.comm} (${t.pid}, #threads: ${threads})\n` +
    '-'.repeat(67) +
    '\n' +
    splitNs('se.exec_start', t.execStartNs) +
    splitNs('se.vruntime', t.vruntime) +
    splitNs('se.sum_exec_runtime', t.sumExecNs) +
    num('se.nr_migrations', 0) + // one CPU
    num('nr_switches', t.nvcsw + t.nivcsw) +
    num('nr_voluntary_switches', t.nvcsw) +
    num('nr_involuntary_switches', t.nivcsw) +
    num('se.load.weight', t.weight * WEIGHT_SCALE) +
    num('policy', t.policy) +
    num('prio', taskPrio(t))
  );
}
