/**
 * Creating tasks (kernel/fork.c): copy_process and kernel_clone behind clone, clone3, and
 * the fork/vfork that glibc makes from clone. A process gets a copy-on-write copy of the
 * address space (MmStruct.dup), of the fd table and fs state, and of the signal handlers; a
 * thread (CLONE_THREAD) shares all of them and joins its creator's thread group.
 *
 * riscv64 argument order: clone(flags, newsp, parent_tidptr, tls, child_tidptr).
 */
import type { Task } from './task.js';
import { Task as TaskClass, newTaskContext, setContextReg } from './task.js';
import type { SyscallTable } from '../syscall/types.js';
import { SYS_clone, SYS_clone3 } from '../syscall/numbers.js';
import { E2BIG, EAGAIN, EFAULT, EINVAL, ENOMEM } from '../errno.js';
import { copyFromUser, putUser32 } from '../mm/uaccess.js';
import { RLIMIT_NPROC } from '../sys/resource.js';
import { NSIG } from '../signal/signum.js';
import { WaitQueue, sleepOn } from './wait.js';
import { MAX_NICE, SCHED_NORMAL, rtPolicy } from './prio.js';
import { RR_TIMESLICE_NS } from './rt.js';

export const CSIGNAL = 0x000000ff;
export const CLONE_VM = 0x00000100;
export const CLONE_FS = 0x00000200;
export const CLONE_FILES = 0x00000400;
export const CLONE_SIGHAND = 0x00000800;
export const CLONE_PIDFD = 0x00001000;
export const CLONE_PTRACE = 0x00002000;
export const CLONE_VFORK = 0x00004000;
export const CLONE_PARENT = 0x00008000;
export const CLONE_THREAD = 0x00010000;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_SYSVSEM = 0x00040000;
export const CLONE_SETTLS = 0x00080000;
export const CLONE_PARENT_SETTID = 0x00100000;
export const CLONE_CHILD_CLEARTID = 0x00200000;
export const CLONE_DETACHED = 0x00400000;
export const CLONE_UNTRACED = 0x00800000;
export const CLONE_CHILD_SETTID = 0x01000000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_IO = 0x80000000 | 0;
export const CLONE_NEWTIME = 0x00000080;
/** clone3-only flags (bits 32 and 33 of the u64; kept here shifted down by 32). */
const CLONE_CLEAR_SIGHAND_HI = 0x1;
const CLONE_INTO_CGROUP_HI = 0x2;

const CLONE_NS_FLAGS =
  CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

/** sizeof(struct clone_args) of each version. */
const CLONE_ARGS_SIZE_VER0 = 64;
const CLONE_ARGS_SIZE_VER2 = 88;

/** struct kernel_clone_args. */
export interface KernelCloneArgs {
  /** Low 32 bits of the flags (without the exit signal for clone3). */
  flags: number;
  /** clone3's flags above bit 31 (CLONE_CLEAR_SIGHAND, CLONE_INTO_CGROUP), shifted down. */
  flagsHi: number;
  exitSignal: number;
  /** Child stack pointer (already stack + stack_size for clone3), 0 = the parent's sp. */
  stack: number;
  tls: number;
  parentTid: number;
  childTid: number;
}

/**
 * copy_process + wake_up_new_task: make the child and queue it. Returns the child or -errno.
 * Nothing of the parent changes on failure.
 */
export function copyProcess(task: Task, a: KernelCloneArgs): Task | number {
  const kernel = task.kernel;
  const flags = a.flags;
  if ((flags & (CLONE_NEWNS | CLONE_FS)) === (CLONE_NEWNS | CLONE_FS)) return -EINVAL;
  if (flags & CLONE_THREAD && !(flags & CLONE_SIGHAND)) return -EINVAL;
  if (flags & CLONE_SIGHAND && !(flags & CLONE_VM)) return -EINVAL;
  if (a.flagsHi & CLONE_CLEAR_SIGHAND_HI && flags & CLONE_SIGHAND) return -EINVAL;
  // The first process may not make siblings (SIGNAL_UNKILLABLE init).
  if (flags & CLONE_PARENT && task.groupLeader === kernel.initTask) return -EINVAL;
  // Namespaces, pidfds and cgroup placement are not implemented in this kernel: refuse rather than pretend.
  if (flags & (CLONE_NS_FLAGS | CLONE_NEWTIME | CLONE_PIDFD) || a.flagsHi & CLONE_INTO_CGROUP_HI) return -EINVAL;

  // Limits: the machine-wide thread count, then RLIMIT_NPROC (root is exempt, as INIT_USER is).
  if (kernel.nrThreads >= kernel.maxThreads) return -EAGAIN;
  const uid = task.cred.uid;
  const nproc = kernel.nprocByUid.get(uid) ?? 0;
  if (uid !== 0 && nproc >= task.signal.rlim[RLIMIT_NPROC]!.cur) return -EAGAIN;
  const pid = kernel.allocPid();
  if (pid < 0) return -EAGAIN;

  let mm = task.mm;
  if (!(flags & CLONE_VM)) {
    const m = kernel.dupMm(task.mm);
    if (typeof m === 'number') return m < 0 ? m : -ENOMEM;
    mm = m;
  }
  const ctx = newTaskContext();
  if (kernel.current === task) kernel.hart.saveContext(ctx);
  else {
    ctx.x.set(task.context.x);
    ctx.f.set(task.context.f);
    ctx.pc = task.context.pc;
    ctx.fflags = task.context.fflags;
    ctx.frm = task.context.frm;
  }
  const files = flags & CLONE_FILES ? task.files : task.files.clone();
  const fs = flags & CLONE_FS ? task.fs : task.fs.clone();
  const cred = { ...task.cred, groups: [...task.cred.groups] };
  const child = new TaskClass(kernel, mm, files, fs, cred, ctx);
  child.pid = pid;
  if (flags & CLONE_SIGHAND) child.sighand = task.sighand;
  else {
    child.sighand = task.sighand.clone();
    if (a.flagsHi & CLONE_CLEAR_SIGHAND_HI) child.sighand.flushHandlers();
  }
  child.signal = flags & CLONE_THREAD ? task.signal : task.signal.clone();
  child.blocked = task.blocked;
  // A thread sharing the parent's stack space must not inherit its alternate signal stack.
  child.sas = (flags & (CLONE_VM | CLONE_VFORK)) === CLONE_VM ? { sp: 0, size: 0, flags: 0 } : { ...task.sas };

  if (flags & CLONE_THREAD) {
    const leader = task.groupLeader;
    child.tgid = leader.tgid;
    child.groupLeader = leader;
    child.threads = [];
    leader.threads.push(child);
    child.exitSignal = -1;
    child.parent = leader.parent;
  } else {
    child.tgid = pid;
    if (flags & CLONE_PARENT) {
      child.parent = task.groupLeader.parent;
      child.exitSignal = task.groupLeader.exitSignal;
    } else {
      child.parent = task;
      child.exitSignal = a.exitSignal;
    }
    child.parent?.children.add(child);
  }
  child.ppid = child.parent ? child.parent.tgid : 0;
  child.pgid = task.pgid;
  child.sid = task.sid;
  child.comm = task.comm;
  child.exePath = task.exePath;
  child.prctl = { ...task.prctl, pdeathsig: 0, childSubreaper: 0 };
  child.startTimeNs = kernel.clock.monotonicNs();

  // sched_fork(): inherit the policy, unless SCHED_RESET_ON_FORK asks for the defaults.
  child.policy = task.policy;
  child.nice = task.nice;
  child.rtPriority = task.rtPriority;
  if (task.resetOnFork) {
    if (rtPolicy(child.policy)) {
      child.policy = SCHED_NORMAL;
      child.rtPriority = 0;
    }
    if (child.nice < 0) child.nice = 0;
  }
  child.nice = Math.min(child.nice, MAX_NICE);
  child.vruntime = task.vruntime; // task_fork_fair: placed from the parent's vruntime
  child.rrTimeSliceNs = RR_TIMESLICE_NS;

  // The child returns 0, on its own stack and TLS when given.
  setContextReg(ctx, 10, 0);
  if (a.stack !== 0) setContextReg(ctx, 2, a.stack);
  if (flags & CLONE_SETTLS) setContextReg(ctx, 4, a.tls);
  if (flags & CLONE_CHILD_CLEARTID) child.clearChildTid = a.childTid;
  if (flags & CLONE_VFORK) child.vforkDone = new WaitQueue();

  kernel.tasks.set(pid, child);
  child.counted = true;
  kernel.nrThreads++;
  kernel.nprocByUid.set(uid, nproc + 1);

  // Failures to store the tids are ignored, as Linux ignores put_user's result here.
  if (flags & CLONE_PARENT_SETTID) putUser32(task.mm, a.parentTid, pid);
  if (flags & CLONE_CHILD_SETTID) putUser32(child.mm, a.childTid, pid);

  kernel.runQueue.enqueueNew(child);
  return child;
}

/** kernel_clone(): create the child; a vfork parent sleeps until the child execs or exits. */
export function kernelClone(task: Task, a: KernelCloneArgs): number | Promise<number> {
  const child = copyProcess(task, a);
  if (typeof child === 'number') return child;
  const pid = child.pid;
  const done = child.vforkDone;
  if (!done) return pid;
  return (async () => {
    // wait_for_vfork_done(): the child borrows our address space until then.
    while (child.vforkDone !== null) await sleepOn(task, done, { uninterruptible: true });
    return pid;
  })();
}

/** clone(flags, newsp, parent_tidptr, tls, child_tidptr): the riscv64 order (CONFIG_CLONE_BACKWARDS). */
function sysClone(
  task: Task,
  flags: number,
  newsp: number,
  parentTid: number,
  tls: number,
  childTid: number,
): number | Promise<number> {
  const f = flags >>> 0;
  const sig = f & CSIGNAL;
  if (sig > NSIG) return -EINVAL;
  return kernelClone(task, {
    flags: (f & ~CSIGNAL) | 0,
    flagsHi: 0,
    exitSignal: sig,
    stack: newsp,
    tls,
    parentTid,
    childTid,
  });
}

function u64(v: DataView, off: number): number {
  return v.getUint32(off + 4, true) * 0x1_0000_0000 + v.getUint32(off, true);
}

/** clone3(struct clone_args *uargs, size_t size): copy_clone_args_from_user + clone3_args_valid. */
function sysClone3(task: Task, uargs: number, size: number): number | Promise<number> {
  if (size < CLONE_ARGS_SIZE_VER0) return -EINVAL;
  if (size > 4096) return -E2BIG;
  const b = copyFromUser(task.mm, uargs, size);
  if (typeof b === 'number') return -EFAULT;
  // Newer, larger structs are accepted when the fields we do not know are zero.
  for (let i = CLONE_ARGS_SIZE_VER2; i < size; i++) if (b[i] !== 0) return -E2BIG;
  const buf = new Uint8Array(CLONE_ARGS_SIZE_VER2);
  buf.set(b.subarray(0, Math.min(size, CLONE_ARGS_SIZE_VER2)));
  const v = new DataView(buf.buffer);
  const flagsLo = v.getUint32(0, true);
  const flagsHi = v.getUint32(4, true);
  const childTid = u64(v, 16);
  const parentTid = u64(v, 24);
  const exitSignalHi = v.getUint32(36, true);
  const exitSignal = v.getUint32(32, true);
  const stack = u64(v, 40);
  const stackSize = u64(v, 48);
  const tls = u64(v, 56);
  const setTidSize = u64(v, 72);
  if (flagsHi & ~(CLONE_CLEAR_SIGHAND_HI | CLONE_INTO_CGROUP_HI)) return -EINVAL;
  if (flagsLo & CSIGNAL) return -EINVAL;
  if (exitSignalHi !== 0 || exitSignal > NSIG) return -EINVAL;
  if ((stack === 0) !== (stackSize === 0)) return -EINVAL;
  // set_tid needs CAP_SYS_ADMIN over a pid namespace this kernel does not have.
  if (setTidSize !== 0) return -EINVAL;
  return kernelClone(task, {
    flags: flagsLo | 0,
    flagsHi,
    exitSignal,
    stack: stack === 0 ? 0 : stack + stackSize,
    tls,
    parentTid,
    childTid,
  });
}

export const forkSyscalls: SyscallTable = {
  [SYS_clone]: sysClone,
  [SYS_clone3]: sysClone3,
};
