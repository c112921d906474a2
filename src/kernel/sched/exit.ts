/**
 * Task exit (kernel/exit.c): do_exit, do_group_exit, and the exit/exit_group system calls.
 * The wait status kept in `task.exitCode` is Linux's: (code & 0xff) << 8 for a normal exit,
 * the signal number for a death by signal.
 */
import type { Task } from './task.js';
import { TaskState } from './task.js';
import type { SyscallTable } from '../syscall/types.js';
import { SYS_exit, SYS_exit_group } from '../syscall/numbers.js';
import { copyToUser } from '../mm/uaccess.js';

/** do_exit(): release what the task holds and leave a zombie for the parent to reap. */
export function doExit(task: Task, code: number): void {
  if (task.state === TaskState.ZOMBIE || task.state === TaskState.DEAD) return;
  const kernel = task.kernel;
  // mm_release(): with other users of the mm, clear the CLONE_CHILD_CLEARTID word (the futex
  // wake that goes with it arrives with futexes).
  if (task.clearChildTid !== 0 && kernel.mmInUse(task.mm, task)) {
    copyToUser(task.mm, task.clearChildTid, new Uint8Array(4));
  }
  task.clearChildTid = 0;
  task.state = TaskState.ZOMBIE;
  task.exitCode = code;
  task.signal.cpuNs += task.cpuNs;
  kernel.runQueue.dequeue(task);
  const filesShared = [...kernel.tasks.values()].some(
    (t) => t !== task && t.files === task.files && t.state !== TaskState.ZOMBIE && t.state !== TaskState.DEAD,
  );
  if (!filesShared) task.files.closeAll();
  if (!kernel.mmInUse(task.mm, task)) task.mm.destroy();
  if (kernel.current === task) {
    kernel.current = null;
    kernel.hart.setRoot(-1);
  }
  kernel.log(`exit: ${task.comm}[${task.pid}] status 0x${code.toString(16)}`);
  kernel.runQueue.kick();
}

/** do_group_exit(): every thread of the process exits with the same status. */
export function doGroupExit(task: Task, code: number): void {
  const sig = task.signal;
  if (!sig.groupExit) {
    sig.groupExit = true;
    sig.groupExitCode = code;
  }
  for (const t of task.kernel.threadGroup(task.tgid)) doExit(t, sig.groupExitCode);
  doExit(task, sig.groupExitCode);
}

function sysExit(task: Task, code: number): number {
  doExit(task, (code & 0xff) << 8);
  return 0;
}

function sysExitGroup(task: Task, code: number): number {
  doGroupExit(task, (code & 0xff) << 8);
  return 0;
}

export const exitSyscalls: SyscallTable = {
  [SYS_exit]: sysExit,
  [SYS_exit_group]: sysExitGroup,
};
