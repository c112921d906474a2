/**
 * Resource limits and usage (kernel/sys.c: do_prlimit, getrlimit, setrlimit, prlimit64,
 * getrusage). Limits live in the process-wide SignalStruct, as Linux keeps them in
 * signal_struct->rlim. A limit is a number; RLIM_INFINITY (~0UL) is held as Infinity.
 */
import type { Task } from '../sched/task.js';
import { TaskState } from '../sched/task.js';
import { taskCpuNs } from '../time/clocks.js';
import type { SyscallTable } from '../syscall/types.js';
import { EFAULT, EINVAL, EPERM, ESRCH } from '../errno.js';
import { copyFromUser, copyToUser } from '../mm/uaccess.js';
import { SYS_getrlimit, SYS_getrusage, SYS_prlimit64, SYS_setrlimit } from '../syscall/numbers.js';

export const RLIMIT_CPU = 0;
export const RLIMIT_FSIZE = 1;
export const RLIMIT_DATA = 2;
export const RLIMIT_STACK = 3;
export const RLIMIT_CORE = 4;
export const RLIMIT_RSS = 5;
export const RLIMIT_NPROC = 6;
export const RLIMIT_NOFILE = 7;
export const RLIMIT_MEMLOCK = 8;
export const RLIMIT_AS = 9;
export const RLIMIT_LOCKS = 10;
export const RLIMIT_SIGPENDING = 11;
export const RLIMIT_MSGQUEUE = 12;
export const RLIMIT_NICE = 13;
export const RLIMIT_RTPRIO = 14;
export const RLIMIT_RTTIME = 15;
export const RLIM_NLIMITS = 16;
export const RLIM_INFINITY = Infinity;

/** _STK_LIM: the default stack limit, 8 MiB. */
export const STK_LIM = 8 * 1024 * 1024;
/** nr_open: the ceiling for RLIMIT_NOFILE (fs/file.c sysctl_nr_open default). */
export const NR_OPEN = 1024 * 1024;

export interface Rlimit {
  cur: number;
  max: number;
}

/** The boot-time limits (INIT_RLIMITS in include/asm-generic/resource.h). */
export function defaultRlimits(): Rlimit[] {
  const inf = { cur: Infinity, max: Infinity };
  const r: Rlimit[] = [];
  for (let i = 0; i < RLIM_NLIMITS; i++) r.push({ ...inf });
  r[RLIMIT_STACK] = { cur: STK_LIM, max: Infinity };
  r[RLIMIT_CORE] = { cur: 0, max: Infinity };
  // Linux computes NPROC and SIGPENDING from RAM (max_threads / 2); a small machine's figures.
  r[RLIMIT_NPROC] = { cur: 7823, max: 7823 };
  r[RLIMIT_NOFILE] = { cur: 1024, max: 4096 };
  r[RLIMIT_MEMLOCK] = { cur: 8 * 1024 * 1024, max: 8 * 1024 * 1024 };
  r[RLIMIT_SIGPENDING] = { cur: 7823, max: 7823 };
  r[RLIMIT_MSGQUEUE] = { cur: 819200, max: 819200 };
  r[RLIMIT_NICE] = { cur: 0, max: 0 };
  r[RLIMIT_RTPRIO] = { cur: 0, max: 0 };
  return r;
}

/** Read an unsigned 64-bit value; all ones is RLIM_INFINITY. */
function readU64(v: DataView, off: number): number {
  const lo = v.getUint32(off, true);
  const hi = v.getUint32(off + 4, true);
  if (lo === 0xffffffff && hi === 0xffffffff) return Infinity;
  return hi * 0x1_0000_0000 + lo;
}

function writeU64(v: DataView, off: number, x: number): void {
  if (x === Infinity || x >= 2 ** 64) {
    v.setUint32(off, 0xffffffff, true);
    v.setUint32(off + 4, 0xffffffff, true);
  } else {
    v.setUint32(off, x % 0x1_0000_0000, true);
    v.setUint32(off + 4, Math.floor(x / 0x1_0000_0000), true);
  }
}

function encodeRlimit(r: Rlimit): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  writeU64(v, 0, r.cur);
  writeU64(v, 8, r.max);
  return b;
}

/** do_prlimit: read and/or replace one limit of a process. */
export function doPrlimit(task: Task, resource: number, newLim: Rlimit | null, oldLim: Rlimit | null): number {
  if (resource < 0 || resource >= RLIM_NLIMITS) return -EINVAL;
  if (newLim) {
    if (newLim.cur > newLim.max) return -EINVAL;
    if (resource === RLIMIT_NOFILE && newLim.max > NR_OPEN) return -EPERM;
  }
  const cur = task.signal.rlim[resource]!;
  if (newLim && newLim.max > cur.max && task.cred.euid !== 0) return -EPERM; // needs CAP_SYS_RESOURCE
  if (oldLim) {
    oldLim.cur = cur.cur;
    oldLim.max = cur.max;
  }
  if (newLim) {
    cur.cur = newLim.cur;
    cur.max = newLim.max;
    // The fd table enforces RLIMIT_NOFILE itself (alloc_fd reads it); keep its copy in step.
    if (resource === RLIMIT_NOFILE) {
      for (const t of task.kernel.threadGroup(task.tgid)) t.files.rlimitNofile = Math.min(newLim.cur, NR_OPEN);
    }
    // The stack limit decides how far the stack may grow and where mmap_base goes at exec.
    if (resource === RLIMIT_STACK) task.mm.stackRlimit = Math.min(newLim.cur, Number.MAX_SAFE_INTEGER);
  }
  return 0;
}

function readRlimit(task: Task, addr: number): Rlimit | number {
  const b = copyFromUser(task.mm, addr, 16);
  if (typeof b === 'number') return -EFAULT;
  const v = new DataView(b.buffer, b.byteOffset, 16);
  return { cur: readU64(v, 0), max: readU64(v, 8) };
}

function sysPrlimit64(task: Task, pid: number, resource: number, newAddr: number, oldAddr: number): number {
  pid |= 0;
  if (pid !== 0 && pid !== task.tgid) {
    // check_prlimit_permission(): the same uid on every id, or CAP_SYS_RESOURCE.
    const t = task.kernel.findTask(pid);
    if (!t || (t.state !== TaskState.RUNNING && t.state !== TaskState.INTERRUPTIBLE)) return -ESRCH;
    const c = task.cred;
    const tc = t.cred;
    const same = c.uid === tc.uid && c.uid === tc.euid && c.uid === tc.suid && c.gid === tc.gid && c.gid === tc.egid;
    if (!same && c.euid !== 0) return -EPERM;
    task = t;
  }
  let newLim: Rlimit | null = null;
  if (newAddr !== 0) {
    const r = readRlimit(task, newAddr);
    if (typeof r === 'number') return r;
    newLim = r;
  }
  const old: Rlimit = { cur: 0, max: 0 };
  const ret = doPrlimit(task, resource >>> 0, newLim, oldAddr !== 0 ? old : null);
  if (ret < 0) return ret;
  if (oldAddr !== 0 && copyToUser(task.mm, oldAddr, encodeRlimit(old)) < 0) return -EFAULT;
  return 0;
}

function sysGetrlimit(task: Task, resource: number, addr: number): number {
  resource >>>= 0;
  if (resource >= RLIM_NLIMITS) return -EINVAL;
  const r = task.signal.rlim[resource]!;
  return copyToUser(task.mm, addr, encodeRlimit(r)) < 0 ? -EFAULT : 0;
}

function sysSetrlimit(task: Task, resource: number, addr: number): number {
  resource >>>= 0;
  if (resource >= RLIM_NLIMITS) return -EINVAL;
  const r = readRlimit(task, addr);
  if (typeof r === 'number') return r;
  return doPrlimit(task, resource, r, null);
}

export const RUSAGE_SELF = 0;
export const RUSAGE_CHILDREN = -1;
export const RUSAGE_THREAD = 1;

/** getrusage: struct rusage is two timevals then fourteen longs (144 bytes). */
function sysGetrusage(task: Task, who: number, addr: number): number {
  who |= 0;
  let cpuNs: number;
  let nvcsw = 0;
  let nivcsw = 0;
  if (who === RUSAGE_SELF) {
    cpuNs = taskCpuNs(task, true);
    for (const t of task.groupLeader.threads) {
      nvcsw += t.nvcsw;
      nivcsw += t.nivcsw;
    }
  } else if (who === RUSAGE_THREAD) {
    cpuNs = taskCpuNs(task, false);
    nvcsw = task.nvcsw;
    nivcsw = task.nivcsw;
  } else if (who === RUSAGE_CHILDREN) cpuNs = task.signal.childrenCpuNs;
  else return -EINVAL;
  const b = new Uint8Array(144);
  const v = new DataView(b.buffer);
  // All guest time is user time: the kernel runs outside the machine, invisibly to it.
  const us = Math.floor(cpuNs / 1000);
  v.setUint32(0, Math.floor(us / 1e6), true);
  v.setUint32(8, us % 1e6, true);
  v.setUint32(128, nvcsw, true);
  v.setUint32(136, nivcsw, true);
  // ru_maxrss and the fault/IO counters are not tracked yet: they read 0.
  return copyToUser(task.mm, addr, b) < 0 ? -EFAULT : 0;
}

export const resourceSyscalls: SyscallTable = {
  [SYS_prlimit64]: sysPrlimit64,
  [SYS_getrlimit]: sysGetrlimit,
  [SYS_setrlimit]: sysSetrlimit,
  [SYS_getrusage]: sysGetrusage,
};
