/**
 * The scheduler core and the trap path back into the kernel (kernel/sched/core.c __schedule,
 * arch/riscv/kernel/traps.c, arch/riscv/mm/fault.c do_page_fault).
 *
 * The loop: pick a runnable task, put its context on the hart, `hart.run(TICK_BUDGET)`, and
 * handle what stopped it — a system call, a page fault, an exception, or the budget running
 * out (the timer tick). A tick or sched_yield with others runnable switches tasks. Every
 * YIELD_INTERVAL_MS of host time the loop yields to the worker's event loop so host messages
 * (console input, timers) are handled; with nothing runnable it awaits the next wake-up and
 * uses no CPU at all.
 */
import type { Kernel } from '../kernel.js';
import type { Task } from './task.js';
import { TaskState } from './task.js';
import { Trap } from '../../machine/cpu/trap.js';
import { doSyscall } from '../syscall/entry.js';
import { doSignal, forceSigFault, signalPending } from '../signal/signal.js';
import {
  BUS_ADRALN,
  BUS_ADRERR,
  ILL_ILLOPC,
  SEGV_ACCERR,
  SEGV_MAPERR,
  SIGBUS,
  SIGILL,
  SIGKILL,
  SIGSEGV,
  SIGTRAP,
  TRAP_BRKPT,
} from '../signal/signum.js';
import { doGroupExit } from './exit.js';
import { oomKill } from '../mm/oom_kill.js';
import { sampleBusy } from '../sys/stats.js';

/** Instructions per `hart.run()`: the tick (a few milliseconds of guest time). */
export const TICK_BUDGET = 200_000;
/** Host time between yields to the event loop. */
export const YIELD_INTERVAL_MS = 15;
/**
 * Host time charged per hart.run() is capped at CHARGE_CAP_FACTOR × the instructions retired at
 * the fastest recently seen rate, plus CHARGE_ALLOWANCE_NS for the kernel work in between: when
 * the host deschedules this worker (other processes, a loaded machine) the wall clock jumps
 * while the guest did nothing, and that gap must not be charged to whichever task was on the
 * hart — it would skew CPU-time clocks, getrusage and CFS's vruntime.
 */
const CHARGE_CAP_FACTOR = 3;
const CHARGE_ALLOWANCE_NS = 200_000;
/** The fastest-rate estimate relaxes upward this much per sample, so it follows a slower host. */
const RATE_DECAY = 1.01;
/** A page fault that the fault handler "fixed" but that recurs this often at the same place is a kernel bug. */
const MAX_FAULT_REPEAT = 32;

/** context_switch(): save the outgoing task's registers, load the incoming task's, switch satp. */
export function switchTo(kernel: Kernel, next: Task): void {
  const prev = kernel.current;
  if (prev === next) return;
  const h = kernel.hart;
  if (prev && (prev.state === TaskState.RUNNING || prev.state === TaskState.INTERRUPTIBLE)) h.saveContext(prev.context);
  h.loadContext(next.context);
  // Threads of one process share the page tables: no satp write (and no TLB flush) between them.
  if (!prev || prev.mm !== next.mm || prev.state === TaskState.ZOMBIE || prev.state === TaskState.DEAD)
    h.setRoot(next.mm.pgdPfn);
  kernel.current = next;
}

/** Per-kernel record of the last page fault, to detect a fault the handler cannot fix. */
interface FaultTrack {
  /** The faulting task: processes forked from one parent fault at the same pc and address, each once. */
  task: Task | null;
  trap: number;
  pc: number;
  va: number;
  count: number;
}
const faultTracks = new WeakMap<Kernel, FaultTrack>();

function pageFault(kernel: Kernel, task: Task, trap: number, access: 0 | 1 | 2): void {
  const h = kernel.hart;
  const va = h.trapValue;
  let r: number;
  try {
    r = task.mm.handleFault(va, access);
  } catch (e) {
    kernel.warn(`BUG: page fault handler failed at 0x${va.toString(16)}: ${e instanceof Error ? e.stack : String(e)}`);
    doGroupExit(task, SIGSEGV);
    return;
  }
  if (r < 0) {
    // Out of frames (VM_FAULT_OOM): pagefault_out_of_memory → out_of_memory() kills the worst
    // process; the faulting task retries (or dies, if it was the victim).
    if (!oomKill(kernel, task)) forceSigFault(task, SIGKILL, { code: 0, addr: va });
    return;
  }
  if (r === 3) {
    forceSigFault(task, SIGBUS, { code: BUS_ADRERR, addr: va });
    return;
  }
  if (r !== 0) {
    forceSigFault(task, SIGSEGV, { code: r === 1 ? SEGV_MAPERR : SEGV_ACCERR, addr: va });
    return;
  }
  let ft = faultTracks.get(kernel);
  if (!ft) faultTracks.set(kernel, (ft = { task: null, trap: -1, pc: -1, va: -1, count: 0 }));
  if (ft.task === task && ft.trap === trap && ft.pc === h.pc && ft.va === va) {
    if (++ft.count > MAX_FAULT_REPEAT) {
      kernel.warn(
        `BUG: ${task.comm}[${task.pid}]: page fault at 0x${va.toString(16)} (pc 0x${h.pc.toString(16)}, trap ${trap}) keeps recurring after being handled`,
      );
      ft.count = 0;
      forceSigFault(task, SIGSEGV, { code: SEGV_ACCERR, addr: va });
    }
  } else {
    ft.task = task;
    ft.trap = trap;
    ft.pc = h.pc;
    ft.va = va;
    ft.count = 1;
  }
}

/** Handle the trap that made `hart.run()` return (everything but BUDGET). */
export function handleTrap(kernel: Kernel, task: Task, trap: number): void {
  const h = kernel.hart;
  switch (trap) {
    case Trap.ECALL_U:
      doSyscall(kernel, task);
      return;
    case Trap.INSN_PAGE_FAULT:
      pageFault(kernel, task, trap, 2);
      return;
    case Trap.LOAD_PAGE_FAULT:
      pageFault(kernel, task, trap, 0);
      return;
    case Trap.STORE_PAGE_FAULT:
      pageFault(kernel, task, trap, 1);
      return;
    case Trap.INSN_ACCESS:
    case Trap.LOAD_ACCESS:
    case Trap.STORE_ACCESS:
      // do_trap_{insn,load,store}_fault: user mode gets SIGSEGV / SEGV_ACCERR.
      forceSigFault(task, SIGSEGV, { code: SEGV_ACCERR, addr: h.trapValue });
      return;
    case Trap.INSN_MISALIGNED:
    case Trap.LOAD_MISALIGNED:
    case Trap.STORE_MISALIGNED:
      // The hart does ordinary misaligned accesses itself; what traps (AMO, LR/SC) is SIGBUS.
      forceSigFault(task, SIGBUS, { code: BUS_ADRALN, addr: h.trapValue });
      return;
    case Trap.ILLEGAL_INSN:
      if (h.lastInternalError !== null) {
        // The hart threw (a hart bug) and reported it as an illegal instruction: say so.
        const e = h.lastInternalError;
        h.lastInternalError = null;
        kernel.warn(
          `BUG: hart error at pc 0x${h.pc.toString(16)}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
        );
      }
      forceSigFault(task, SIGILL, { code: ILL_ILLOPC, addr: h.pc });
      return;
    case Trap.BREAKPOINT:
      forceSigFault(task, SIGTRAP, { code: TRAP_BRKPT, addr: h.pc });
      return;
    default:
      kernel.warn(`BUG: unexpected trap ${trap} from ${task.comm}[${task.pid}] at pc 0x${h.pc.toString(16)}`);
      forceSigFault(task, SIGKILL, { code: 0, addr: h.pc });
  }
}

const yieldToHost = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The host paused the machine (sys/stats.ts pauseMachine): wait here, at a yield point, until
 * it resumes. Host messages are only handled while the loop is awaiting the event loop, so a
 * pause takes effect before any more guest code runs.
 */
async function pausePoint(kernel: Kernel): Promise<void> {
  while (kernel.pauseGate) await kernel.pauseGate;
}

/**
 * Let settled sleeps finish: a wake-up resolves a Promise, and the woken task's handler and
 * the system-call path (syscall/entry.ts) re-queue it a few microtask hops later. Awaiting
 * those hops between slices lets a task woken by the running one compete for the next pick
 * without a trip through the host's event loop.
 */
async function drainWakeups(): Promise<void> {
  await undefined;
  await undefined;
  await undefined;
  await undefined;
}

/**
 * schedule() forever: returns when no task is left alive. Each pass picks the best task of
 * the highest scheduling class (runqueue.ts), runs it in TICK_BUDGET-instruction steps and
 * charges every step's host time to it (update_curr: CPU-time clocks, vruntime, RR slices);
 * the tick decides when it must give up the hart.
 */
export async function runLoop(kernel: Kernel): Promise<void> {
  const h = kernel.hart;
  const rq = kernel.runQueue;
  let lastYield = performance.now();
  /** Fastest host ns per guest instruction seen lately (measured on full-budget runs). */
  let bestNsPerInsn = Infinity;
  for (;;) {
    if (kernel.pauseGate) {
      await pausePoint(kernel);
      lastYield = performance.now();
    }
    const task = rq.pickNext();
    if (!task) {
      if (!kernel.hasLiveTasks()) return;
      await rq.waitForWork(); // idle: nothing runs until a timer or host event wakes a task
      lastYield = performance.now();
      continue;
    }
    if (task.state !== TaskState.RUNNING) {
      rq.putPrev(task);
      continue;
    }
    switchTo(kernel, task);
    task.execStartNs = kernel.clock.monotonicNs();
    let t0 = performance.now();
    kernel.sliceStartMs = t0;
    let now = t0;
    for (;;) {
      const insn0 = h.instret;
      const trap = h.run(TICK_BUDGET);
      now = performance.now();
      const insns = h.instret - insn0;
      let deltaNs = (now - t0) * 1e6;
      if (trap === Trap.BUDGET && insns > 0) {
        const r = ((now - t0) * 1e6) / insns;
        bestNsPerInsn = r < bestNsPerInsn * RATE_DECAY ? r : bestNsPerInsn * RATE_DECAY;
      }
      const cap = insns * bestNsPerInsn * CHARGE_CAP_FACTOR + CHARGE_ALLOWANCE_NS;
      if (deltaNs > cap) deltaNs = cap;
      t0 = now;
      kernel.sliceStartMs = now;
      task.cpuNs += deltaNs;
      kernel.cpuNsTotal += deltaNs;
      rq.tick(task, deltaNs);
      if (trap !== Trap.BUDGET) handleTrap(kernel, task, trap);
      // Return to user mode (exit_to_user_mode_loop): act on pending signals.
      if (task.state === TaskState.RUNNING && signalPending(task)) doSignal(task);
      if (task.state !== TaskState.RUNNING || task.needResched || now - lastYield >= YIELD_INTERVAL_MS) break;
    }
    kernel.sliceStartMs = 0;
    if (task.state === TaskState.RUNNING) {
      if (task.needResched) task.nivcsw++;
    } else {
      task.nvcsw++;
    }
    task.needResched = false;
    rq.putPrev(task);
    if (now - lastYield >= YIELD_INTERVAL_MS) {
      sampleBusy(kernel, now);
      await yieldToHost();
      lastYield = performance.now();
    } else {
      await drainWakeups();
    }
  }
}
