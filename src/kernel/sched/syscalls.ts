/**
 * Scheduler and thread-bookkeeping system calls: sched_yield, sched_getaffinity/setaffinity,
 * getcpu (kernel/sched/core.c, kernel/sys.c), set_tid_address (kernel/fork.c), and the
 * robust-futex list registration (kernel/futex/syscalls.c).
 */
import { EFAULT, EINVAL, EPERM, ESRCH } from '../errno.js';
import type { Task } from './task.js';
import type { SyscallTable } from '../syscall/types.js';
import { copyFromUser, copyToUser } from '../mm/uaccess.js';
import * as nr from '../syscall/numbers.js';

/** One CPU: nr_cpu_ids = 1; the kernel's cpumask is one unsigned long. */
const CPUMASK_SIZE = 8;
/** sizeof(struct robust_list_head) on 64-bit. */
const ROBUST_LIST_HEAD_SIZE = 24;

function target(task: Task, pid: number): Task | null {
  pid |= 0;
  if (pid === 0) return task;
  return task.kernel.findTask(pid);
}

function sysSchedGetaffinity(task: Task, pid: number, len: number, maskVa: number): number {
  if (!target(task, pid)) return -ESRCH;
  if (len < 0 || len * 8 < 1 || len % 8 !== 0) return -EINVAL;
  const n = Math.min(len, CPUMASK_SIZE);
  const b = new Uint8Array(n);
  b[0] = 1;
  return copyToUser(task.mm, maskVa, b) < 0 ? -EFAULT : n;
}

function sysSchedSetaffinity(task: Task, pid: number, len: number, maskVa: number): number {
  if (!target(task, pid)) return -ESRCH;
  if (len <= 0) return -EINVAL;
  const b = copyFromUser(task.mm, maskVa, Math.min(len, 512));
  if (typeof b === 'number') return -EFAULT;
  return (b[0]! & 1) === 0 ? -EINVAL : 0;
}

function sysGetcpu(task: Task, cpuVa: number, nodeVa: number): number {
  const zero = new Uint8Array(4);
  if (cpuVa !== 0 && copyToUser(task.mm, cpuVa, zero) < 0) return -EFAULT;
  if (nodeVa !== 0 && copyToUser(task.mm, nodeVa, zero) < 0) return -EFAULT;
  return 0;
}

function sysSetTidAddress(task: Task, tidptr: number): number {
  task.clearChildTid = tidptr;
  return task.pid;
}

function sysSetRobustList(task: Task, head: number, len: number): number {
  if (len !== ROBUST_LIST_HEAD_SIZE) return -EINVAL;
  task.robustList = head;
  task.robustListLen = len;
  return 0;
}

function sysGetRobustList(task: Task, pid: number, headPtr: number, lenPtr: number): number {
  const t = target(task, pid);
  if (!t) return -ESRCH;
  if (t !== task && task.cred.euid !== 0 && task.cred.euid !== t.cred.uid) return -EPERM;
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, (t.robustList % 0x1_0000_0000) >>> 0, true);
  v.setUint32(4, Math.floor(t.robustList / 0x1_0000_0000) >>> 0, true);
  if (copyToUser(task.mm, headPtr, b) < 0) return -EFAULT;
  const l = new Uint8Array(8);
  new DataView(l.buffer).setUint32(0, ROBUST_LIST_HEAD_SIZE, true);
  return copyToUser(task.mm, lenPtr, l) < 0 ? -EFAULT : 0;
}

export const schedSyscalls: SyscallTable = {
  // The yield itself happens in the run loop: a task that made a system call goes to the back
  // of the run queue when others are runnable (sched/core.ts).
  [nr.SYS_sched_yield]: (t) => {
    t.needResched = true;
    return 0;
  },
  [nr.SYS_sched_getaffinity]: sysSchedGetaffinity,
  [nr.SYS_sched_setaffinity]: sysSchedSetaffinity,
  [nr.SYS_getcpu]: sysGetcpu,
  [nr.SYS_set_tid_address]: sysSetTidAddress,
  [nr.SYS_set_robust_list]: sysSetRobustList,
  [nr.SYS_get_robust_list]: sysGetRobustList,
};
