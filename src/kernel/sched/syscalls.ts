/**
 * Scheduler and thread-bookkeeping system calls: sched_yield, the policy and priority calls
 * (sched_setscheduler/getscheduler/setparam/getparam/setattr/getattr,
 * sched_get_priority_max/min, sched_rr_get_interval), setpriority/getpriority (nice; riscv64
 * has no nice(2)), sched_getaffinity/setaffinity and getcpu for the one CPU
 * (kernel/sched/core.c, kernel/sys.c), set_tid_address (kernel/fork.c), and the robust-futex
 * list registration (kernel/futex/syscalls.c).
 */
import { E2BIG, EACCES, EFAULT, EINVAL, EPERM, ESRCH } from '../errno.js';
import type { Task } from './task.js';
import { TaskState } from './task.js';
import type { SyscallTable } from '../syscall/types.js';
import { copyFromUser, copyToUser } from '../mm/uaccess.js';
import * as nr from '../syscall/numbers.js';
import {
  MAX_NICE,
  MIN_NICE,
  SCHED_BATCH,
  SCHED_FIFO,
  SCHED_IDLE,
  SCHED_NORMAL,
  SCHED_RESET_ON_FORK,
  SCHED_RR,
  rtPolicy,
  validPolicy,
} from './prio.js';
import { RR_TIMESLICE_NS } from './rt.js';
import { RLIMIT_NICE, RLIMIT_RTPRIO } from '../sys/resource.js';

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

// ---- nice: setpriority / getpriority (kernel/sys.c) ----

const PRIO_PROCESS = 0;
const PRIO_PGRP = 1;
const PRIO_USER = 2;

function isAlive(t: Task): boolean {
  return t.state === TaskState.RUNNING || t.state === TaskState.INTERRUPTIBLE;
}

/** The tasks `which`/`who` name (every thread, as do_each_pid_thread walks them), or null for a bad `which`. */
function prioTargets(task: Task, which: number, who: number): Task[] | null {
  const k = task.kernel;
  const out: Task[] = [];
  switch (which) {
    case PRIO_PROCESS: {
      const t = who === 0 ? task : k.findTask(who);
      if (t && isAlive(t)) out.push(t);
      return out;
    }
    case PRIO_PGRP: {
      const pg = who === 0 ? task.pgid : who;
      for (const t of k.tasks.values()) if (t.pgid === pg && isAlive(t)) out.push(t);
      return out;
    }
    case PRIO_USER: {
      const uid = who === 0 ? task.cred.uid : who;
      for (const t of k.tasks.values()) if (t.cred.uid === uid && isAlive(t)) out.push(t);
      return out;
    }
    default:
      return null;
  }
}

/** can_nice(): lowering nice needs RLIMIT_NICE (20 - nice) or CAP_SYS_NICE. */
function canNice(t: Task, nice: number): boolean {
  return 20 - nice <= t.signal.rlim[RLIMIT_NICE]!.cur || t.cred.euid === 0;
}

/** set_user_nice(): move the task's weight in the run queue. */
export function setUserNice(t: Task, nice: number): void {
  if (t.nice === nice) return;
  t.kernel.runQueue.changeParams(t, () => {
    t.nice = nice;
  });
}

function sysSetpriority(task: Task, which: number, who: number, niceval: number): number {
  which |= 0;
  who |= 0;
  const nice = Math.max(MIN_NICE, Math.min(MAX_NICE, niceval | 0));
  const targets = prioTargets(task, which, who);
  if (!targets) return -EINVAL;
  if (targets.length === 0) return -ESRCH;
  let err = 0;
  for (const p of targets) {
    // set_one_prio()
    if (p.cred.uid !== task.cred.euid && p.cred.euid !== task.cred.euid && task.cred.euid !== 0) {
      err = -EPERM;
      continue;
    }
    if (nice < p.nice && !canNice(p, nice)) {
      err = -EACCES;
      continue;
    }
    setUserNice(p, nice);
  }
  return err;
}

/** getpriority() returns 20 - nice of the most favoured target (1..40), so it is never negative. */
function sysGetpriority(task: Task, which: number, who: number): number {
  const targets = prioTargets(task, which | 0, who | 0);
  if (!targets) return -EINVAL;
  if (targets.length === 0) return -ESRCH;
  let best = 0;
  for (const p of targets) best = Math.max(best, 20 - p.nice);
  return best;
}

// ---- policies: sched_setscheduler and friends (kernel/sched/core.c, syscalls.c) ----

/** struct sched_attr (SCHED_ATTR_SIZE_VER0 48, VER1 56 with the util clamps). */
const SCHED_ATTR_SIZE_VER0 = 48;
const SCHED_ATTR_SIZE_VER1 = 56;
const SCHED_FLAG_RESET_ON_FORK = 0x01;
const SCHED_FLAG_KEEP_POLICY = 0x08;
const SCHED_FLAG_KEEP_PARAMS = 0x10;

interface SchedParams {
  policy: number;
  prio: number;
  nice: number;
  resetOnFork: boolean;
  keepNice: boolean;
}

/** __sched_setscheduler(): validate, check permission, apply. */
function doSetscheduler(task: Task, p: Task, a: SchedParams): number {
  if (!validPolicy(a.policy)) return -EINVAL;
  // Valid priorities: 1..99 for FIFO/RR, 0 for the others.
  if (a.prio < 0 || a.prio > 99 || rtPolicy(a.policy) !== (a.prio !== 0)) return -EINVAL;
  if (task.cred.euid !== 0) {
    if (rtPolicy(a.policy)) {
      const lim = p.signal.rlim[RLIMIT_RTPRIO]!.cur;
      // Without CAP_SYS_NICE: only up to RLIMIT_RTPRIO, and never raising it beyond the current one.
      if (lim === 0) return -EPERM;
      if (a.prio > p.rtPriority && a.prio > lim) return -EPERM;
    }
    // Leaving SCHED_IDLE needs the right to nice (can_nice of the current nice).
    if (p.policy === SCHED_IDLE && a.policy !== SCHED_IDLE && !canNice(p, p.nice)) return -EPERM;
    if (p.cred.uid !== task.cred.euid && p.cred.euid !== task.cred.euid) return -EPERM;
    if (p.resetOnFork && !a.resetOnFork) return -EPERM;
  }
  if (!a.keepNice && !rtPolicy(a.policy) && a.nice < p.nice && !canNice(p, a.nice)) return -EPERM;
  p.kernel.runQueue.changeParams(p, () => {
    p.policy = a.policy;
    p.rtPriority = a.prio;
    if (!a.keepNice && !rtPolicy(a.policy)) p.nice = a.nice;
    p.resetOnFork = a.resetOnFork;
    if (a.policy === SCHED_RR) p.rrTimeSliceNs = RR_TIMESLICE_NS;
  });
  return 0;
}

function findTarget(task: Task, pid: number): Task | null {
  pid |= 0;
  if (pid < 0) return null;
  const t = pid === 0 ? task : task.kernel.findTask(pid);
  return t && isAlive(t) ? t : null;
}

function readParam(task: Task, va: number): number | null {
  const b = copyFromUser(task.mm, va, 4);
  if (typeof b === 'number') return null;
  return new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true);
}

function sysSchedSetscheduler(task: Task, pid: number, policy: number, paramVa: number): number {
  policy |= 0;
  if ((pid | 0) < 0 || policy < 0) return -EINVAL;
  if (paramVa === 0) return -EINVAL;
  const prio = readParam(task, paramVa);
  if (prio === null) return -EFAULT;
  const p = findTarget(task, pid);
  if (!p) return -ESRCH;
  const reset = (policy & SCHED_RESET_ON_FORK) !== 0;
  return doSetscheduler(task, p, {
    policy: policy & ~SCHED_RESET_ON_FORK,
    prio,
    nice: p.nice,
    resetOnFork: reset,
    keepNice: true,
  });
}

function sysSchedSetparam(task: Task, pid: number, paramVa: number): number {
  if ((pid | 0) < 0 || paramVa === 0) return -EINVAL;
  const prio = readParam(task, paramVa);
  if (prio === null) return -EFAULT;
  const p = findTarget(task, pid);
  if (!p) return -ESRCH;
  return doSetscheduler(task, p, { policy: p.policy, prio, nice: p.nice, resetOnFork: p.resetOnFork, keepNice: true });
}

function sysSchedGetscheduler(task: Task, pid: number): number {
  if ((pid | 0) < 0) return -EINVAL;
  const p = findTarget(task, pid);
  if (!p) return -ESRCH;
  return p.policy | (p.resetOnFork ? SCHED_RESET_ON_FORK : 0);
}

function sysSchedGetparam(task: Task, pid: number, paramVa: number): number {
  if ((pid | 0) < 0 || paramVa === 0) return -EINVAL;
  const p = findTarget(task, pid);
  if (!p) return -ESRCH;
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, p.rtPriority, true);
  return copyToUser(task.mm, paramVa, b) < 0 ? -EFAULT : 0;
}

function sysSchedSetattr(task: Task, pid: number, attrVa: number, flags: number): number {
  if ((pid | 0) < 0 || attrVa === 0 || flags !== 0) return -EINVAL;
  const head = copyFromUser(task.mm, attrVa, 4);
  if (typeof head === 'number') return -EFAULT;
  let size = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
  if (size === 0) size = SCHED_ATTR_SIZE_VER0;
  if (size < SCHED_ATTR_SIZE_VER0 || size > 4096) {
    // sched_copy_attr(): the kernel's size goes back to user space with -E2BIG.
    const sb = new Uint8Array(4);
    new DataView(sb.buffer).setUint32(0, SCHED_ATTR_SIZE_VER1, true);
    copyToUser(task.mm, attrVa, sb);
    return -E2BIG;
  }
  const b = copyFromUser(task.mm, attrVa, size);
  if (typeof b === 'number') return -EFAULT;
  for (let i = SCHED_ATTR_SIZE_VER1; i < size; i++) {
    if (b[i] !== 0) {
      const sb = new Uint8Array(4);
      new DataView(sb.buffer).setUint32(0, SCHED_ATTR_SIZE_VER1, true);
      copyToUser(task.mm, attrVa, sb);
      return -E2BIG;
    }
  }
  const v = new DataView(b.buffer, b.byteOffset, SCHED_ATTR_SIZE_VER0);
  let policy = v.getUint32(4, true);
  const sflags = v.getUint32(8, true);
  const nice = v.getInt32(12, true);
  const prio = v.getUint32(16, true);
  if (sflags & ~(SCHED_FLAG_RESET_ON_FORK | SCHED_FLAG_KEEP_POLICY | SCHED_FLAG_KEEP_PARAMS | 0x60)) return -EINVAL;
  const p = findTarget(task, pid);
  if (!p) return -ESRCH;
  if (sflags & SCHED_FLAG_KEEP_POLICY) policy = p.policy;
  if (policy === 6) return -EPERM; // SCHED_DEADLINE: admission control is not implemented
  const keep = (sflags & SCHED_FLAG_KEEP_PARAMS) !== 0;
  return doSetscheduler(task, p, {
    policy,
    prio: keep ? p.rtPriority : prio,
    nice: Math.max(MIN_NICE, Math.min(MAX_NICE, nice)),
    resetOnFork: (sflags & SCHED_FLAG_RESET_ON_FORK) !== 0,
    keepNice: keep,
  });
}

function sysSchedGetattr(task: Task, pid: number, attrVa: number, usize: number, flags: number): number {
  if ((pid | 0) < 0 || attrVa === 0 || flags !== 0 || usize < SCHED_ATTR_SIZE_VER0 || usize > 4096) return -EINVAL;
  const p = findTarget(task, pid);
  if (!p) return -ESRCH;
  const size = Math.min(usize, SCHED_ATTR_SIZE_VER1);
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  v.setUint32(0, size, true);
  v.setUint32(4, p.policy, true);
  v.setUint32(8, 0, true);
  v.setUint32(8, p.resetOnFork ? SCHED_FLAG_RESET_ON_FORK : 0, true);
  if (!rtPolicy(p.policy)) v.setInt32(12, p.nice, true);
  v.setUint32(16, p.rtPriority, true);
  if (size >= SCHED_ATTR_SIZE_VER1) v.setUint32(52, 1024, true); // sched_util_max = SCHED_CAPACITY_SCALE
  return copyToUser(task.mm, attrVa, b) < 0 ? -EFAULT : 0;
}

function sysSchedGetPriorityMax(_task: Task, policy: number): number {
  policy |= 0;
  if (rtPolicy(policy)) return 99;
  return policy === SCHED_NORMAL || policy === SCHED_BATCH || policy === SCHED_IDLE || policy === 6 ? 0 : -EINVAL;
}

function sysSchedGetPriorityMin(_task: Task, policy: number): number {
  policy |= 0;
  if (rtPolicy(policy)) return 1;
  return policy === SCHED_NORMAL || policy === SCHED_BATCH || policy === SCHED_IDLE || policy === 6 ? 0 : -EINVAL;
}

/** sched_rr_get_interval(): 100 ms for SCHED_RR, 0 for FIFO, the CFS slice for fair tasks. */
function sysSchedRrGetInterval(task: Task, pid: number, tsVa: number): number {
  if ((pid | 0) < 0) return -EINVAL;
  const p = findTarget(task, pid);
  if (!p) return -ESRCH;
  let ns = 0;
  if (p.policy === SCHED_RR) ns = RR_TIMESLICE_NS;
  else if (p.policy !== SCHED_FIFO) {
    // get_rr_interval_fair(): the slice in jiffies (HZ 250), when other fair tasks are runnable.
    const cfs = task.kernel.runQueue.cfs;
    if (cfs.load > 0 && cfs.nrRunning > 0) ns = Math.max(1, Math.round(cfs.slice(p) / 4_000_000)) * 4_000_000;
  }
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint32(0, Math.floor(ns / 1e9), true);
  v.setUint32(8, ns % 1e9, true);
  return copyToUser(task.mm, tsVa, b) < 0 ? -EFAULT : 0;
}

export const schedSyscalls: SyscallTable = {
  [nr.SYS_sched_yield]: (t) => {
    t.kernel.runQueue.yieldCurr(t);
    return 0;
  },
  [nr.SYS_setpriority]: sysSetpriority,
  [nr.SYS_getpriority]: sysGetpriority,
  [nr.SYS_sched_setscheduler]: sysSchedSetscheduler,
  [nr.SYS_sched_setparam]: sysSchedSetparam,
  [nr.SYS_sched_getscheduler]: sysSchedGetscheduler,
  [nr.SYS_sched_getparam]: sysSchedGetparam,
  [nr.SYS_sched_setattr]: sysSchedSetattr,
  [nr.SYS_sched_getattr]: sysSchedGetattr,
  [nr.SYS_sched_get_priority_max]: sysSchedGetPriorityMax,
  [nr.SYS_sched_get_priority_min]: sysSchedGetPriorityMin,
  [nr.SYS_sched_rr_get_interval]: sysSchedRrGetInterval,
  [nr.SYS_sched_getaffinity]: sysSchedGetaffinity,
  [nr.SYS_sched_setaffinity]: sysSchedSetaffinity,
  [nr.SYS_getcpu]: sysGetcpu,
  [nr.SYS_set_tid_address]: sysSetTidAddress,
  [nr.SYS_set_robust_list]: sysSetRobustList,
  [nr.SYS_get_robust_list]: sysGetRobustList,
};
