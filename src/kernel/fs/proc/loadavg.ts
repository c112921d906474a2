import type { Kernel } from '../../kernel.js';
import type { Task } from '../../sched/task.js';
import { TaskState } from '../../sched/task.js';

/**
 * The global load average (kernel/sched/loadavg.c): every LOAD_FREQ (5 s + 1 tick) the
 * number of active tasks (running or runnable, plus uninterruptible sleepers — this kernel
 * has none of those) is folded into three exponentially decaying averages in 11-bit fixed
 * point, with the same constants and rounding as Linux, so /proc/loadavg and the `uptime`,
 * `top` headers read what a Linux machine would show.
 *
 * Linux samples from the timer tick (calc_global_load). This kernel has no periodic timer
 * interrupt, so a host interval of LOAD_FREQ does the sampling (startLoadSampler, started when
 * procfs learns the kernel's tasks); reading /proc/loadavg also catches up on periods the
 * interval has not reached yet (a busy host delays timers), folding them with the current
 * count as calc_global_nohz does for a CPU that slept through them.
 */

export const FSHIFT = 11;
export const FIXED_1 = 1 << FSHIFT;
/** 1/exp(5sec/1min), 1/exp(5sec/5min), 1/exp(5sec/15min) as fixed-point. */
export const EXP_1 = 1884;
export const EXP_5 = 2014;
export const EXP_15 = 2037;
/** LOAD_FREQ = 5*HZ+1 ticks, HZ=100: 5.01 s. */
export const LOAD_FREQ_NS = 5_010_000_000;

/** calc_load: one period's update of one average. */
export function calcLoad(load: number, exp: number, active: number): number {
  let newload = load * exp + active * (FIXED_1 - exp);
  if (active >= load) newload += FIXED_1 - 1;
  return Math.floor(newload / FIXED_1);
}

/** calc_load_n: `n` periods with the same number of active tasks. */
export function calcLoadN(load: number, exp: number, active: number, n: number): number {
  for (let i = 0; i < n && i < 10_000; i++) load = calcLoad(load, exp, active);
  return load;
}

/** LOAD_INT / LOAD_FRAC after get_avenrun(…, FIXED_1/200, 0): "%lu.%02lu". */
export function formatLoad(x: number): string {
  const v = x + FIXED_1 / 200;
  const int = v >> FSHIFT;
  const frac = ((v & (FIXED_1 - 1)) * 100) >> FSHIFT;
  return `${int}.${String(frac).padStart(2, '0')}`;
}

/** avenrun[] and calc_load_update of one kernel. */
export class LoadAvg {
  readonly avenrun = [0, 0, 0];
  /** When the next period ends (calc_load_update), CLOCK_MONOTONIC ns. */
  nextUpdateNs = LOAD_FREQ_NS;

  /** Fold the periods that ended by `nowNs` with `active` tasks (calc_global_load + calc_global_nohz). */
  update(nowNs: number, active: number): void {
    if (nowNs < this.nextUpdateNs) return;
    const n = 1 + Math.floor((nowNs - this.nextUpdateNs) / LOAD_FREQ_NS);
    const a = active * FIXED_1;
    this.avenrun[0] = calcLoadN(this.avenrun[0]!, EXP_1, a, n);
    this.avenrun[1] = calcLoadN(this.avenrun[1]!, EXP_5, a, n);
    this.avenrun[2] = calcLoadN(this.avenrun[2]!, EXP_15, a, n);
    this.nextUpdateNs += n * LOAD_FREQ_NS;
  }
}

const loads = new WeakMap<Kernel, LoadAvg>();

/** calc_load_fold_active: tasks that count towards the load (nr_running + nr_uninterruptible). */
export function nrActive(k: Kernel): number {
  let n = 0;
  for (const t of k.tasks.values()) if (t.state === TaskState.RUNNING) n++;
  return n;
}

/**
 * calc_global_load: bring the averages of `k` up to date. Cheap when no period ended, so the
 * scheduler tick may call it every time.
 */
export function calcGlobalLoad(k: Kernel): LoadAvg {
  let l = loads.get(k);
  if (!l) {
    l = new LoadAvg();
    loads.set(k, l);
  }
  const now = k.clock.monotonicNs();
  if (now >= l.nextUpdateNs) l.update(now, nrActive(k));
  return l;
}

/** The task list a sampler reads (procfs's ProcTaskSource). */
interface TaskSource {
  find(pid: number): Task | null | undefined;
  tgids(): number[];
}

const sampled = new WeakSet<object>();

/**
 * The periodic calc_global_load of the kernel behind `src`: a host interval that never keeps
 * the process alive (unref), and ends once the machine has no tasks left.
 */
export function startLoadSampler(src: TaskSource): void {
  if (sampled.has(src)) return;
  sampled.add(src);
  let seen = false;
  const timer = setInterval(() => {
    let k: Kernel | null = null;
    for (const pid of src.tgids()) {
      const t = src.find(pid);
      if (t) {
        k = t.kernel;
        break;
      }
    }
    if (!k) {
      if (seen) clearInterval(timer);
      return;
    }
    seen = true;
    calcGlobalLoad(k);
  }, LOAD_FREQ_NS / 1e6);
  timer.unref?.();
}
