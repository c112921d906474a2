/**
 * The system-call path (arch/riscv/kernel/traps.c do_trap_ecall_u + kernel/entry/common.c):
 * a7 holds the number, a0..a5 the arguments; the kernel steps pc past the ecall, runs the
 * handler and puts the result in a0. A handler that returns a Promise puts the task to sleep
 * (TASK_INTERRUPTIBLE); the result is stored and the task woken when the Promise settles.
 */
import type { Kernel } from '../kernel.js';
import type { Task } from '../sched/task.js';
import { TaskState, setContextReg } from '../sched/task.js';
import { ENOSYS } from '../errno.js';
import { SYS_exit, SYS_exit_group, SYS_execve, SYS_execveat } from './numbers.js';
import { formatCall, formatResult, syscallName } from './strace.js';
import { doGroupExit } from '../sched/exit.js';
import { SIGSEGV } from '../signal/signum.js';
import { KERN_DEBUG, printk } from '../printk/printk.js';

const REG_A0 = 10;
const REG_A7 = 17;

/** Store a system call's result in a0 of a task that may or may not be on the hart. */
function setReturn(kernel: Kernel, task: Task, ret: number): void {
  if (kernel.current === task) kernel.hart.setReg(REG_A0, ret);
  else setContextReg(task.context, REG_A0, ret);
}

/** A handler threw or rejected: a kernel bug. Linux oopses and kills the task (make_task_dead(SIGSEGV)). */
function oops(kernel: Kernel, task: Task, nr: number, e: unknown): void {
  const what = e instanceof Error ? (e.stack ?? e.message) : String(e);
  kernel.warn(`BUG: kernel error in ${syscallName(nr)}() of ${task.comm}[${task.pid}]: ${what}`);
  doGroupExit(task, SIGSEGV);
}

function finish(kernel: Kernel, task: Task, nr: number, ret: number, call: string): void {
  if (task.state === TaskState.RUNNING) setReturn(kernel, task, ret);
  else if (nr === SYS_exit || nr === SYS_exit_group) return; // already printed, never returns
  if (kernel.strace) kernel.console(`${call} = ${formatResult(nr, ret)}`);
}

/** do_trap_ecall_u: the current task trapped with ECALL. */
export function doSyscall(kernel: Kernel, task: Task): void {
  const h = kernel.hart;
  const nr = h.getReg(REG_A7);
  const a0 = h.getReg(10);
  const a1 = h.getReg(11);
  const a2 = h.getReg(12);
  const a3 = h.getReg(13);
  const a4 = h.getReg(14);
  const a5 = h.getReg(15);
  h.pc += 4;
  task.origA0 = a0; // regs->orig_a0: what a restarted call gets back in a0
  const fn = nr >= 0 && nr < kernel.syscalls.length ? kernel.syscalls[nr] : undefined;
  let call = '';
  if (kernel.strace) {
    call = formatCall(task, nr, [a0, a1, a2, a3, a4, a5]);
    if (nr === SYS_exit || nr === SYS_exit_group) kernel.console(call);
    // execve replaces the memory the arguments point into: print the call before it runs.
    if (nr === SYS_execve || nr === SYS_execveat) {
      kernel.console(call);
      call = `${task.pid} execve(...)`;
    }
  }
  if (!fn) {
    if (!kernel.reportedUnknown.has(nr)) {
      kernel.reportedUnknown.add(nr);
      // In dmesg at debug level (not on the console: programs probe for calls and cope with
      // ENOSYS), and echoed once per number on the host with --strace/--debug.
      printk(
        kernel,
        KERN_DEBUG,
        `${task.comm}[${task.pid}]: unimplemented system call ${syscallName(nr)} (${nr}): -ENOSYS`,
      );
    }
    finish(kernel, task, nr, -ENOSYS, call);
    return;
  }
  let ret: number | Promise<number>;
  try {
    ret = fn(task, a0, a1, a2, a3, a4, a5);
  } catch (e) {
    oops(kernel, task, nr, e);
    return;
  }
  if (typeof ret === 'number') {
    finish(kernel, task, nr, ret, call);
    return;
  }
  // The task sleeps until the Promise settles (the scheduler runs others, or idles).
  task.state = TaskState.INTERRUPTIBLE;
  kernel.runQueue.dequeue(task);
  ret.then(
    (v) => {
      if (task.state !== TaskState.INTERRUPTIBLE) return; // killed while asleep
      task.state = TaskState.RUNNING;
      finish(kernel, task, nr, v, call);
      kernel.runQueue.enqueue(task);
    },
    (e: unknown) => {
      if (task.state !== TaskState.INTERRUPTIBLE) return;
      task.state = TaskState.RUNNING;
      oops(kernel, task, nr, e);
    },
  );
}
