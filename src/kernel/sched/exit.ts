/**
 * Task exit and waiting for children (kernel/exit.c): do_exit, do_group_exit, exit_notify
 * with forget_original_parent (reparenting to a live sibling thread, a child subreaper or
 * init), release_task, and do_wait for wait4/waitid.
 *
 * The wait status kept in `task.exitCode` is Linux's: (code & 0xff) << 8 for a normal exit,
 * the signal number (| 0x80 for a core dump) for a death by signal.
 */
import { ttyOnSessionLeaderExit } from '../tty/tty_jobctrl.js';
import type { Task } from './task.js';
import { TaskState } from './task.js';
import type { Kernel } from '../kernel.js';
import type { SyscallTable } from '../syscall/types.js';
import { SYS_exit, SYS_exit_group, SYS_waitid, SYS_wait4 } from '../syscall/numbers.js';
import { copyToUser, putUser32 } from '../mm/uaccess.js';
import { ECHILD, EFAULT, EINVAL, ESRCH } from '../errno.js';
import * as signalMod from '../signal/signal.js';
import {
  CLD_CONTINUED,
  CLD_DUMPED,
  CLD_EXITED,
  CLD_KILLED,
  CLD_STOPPED,
  NSIG,
  SA_NOCLDWAIT,
  SIGCHLD,
  SIGCONT,
  SIGKILL,
  SIG_IGN,
} from '../signal/signum.js';
import { exitSem } from '../ipc/sem.js';
import { exitTimers } from '../time/posix-timers.js';
import { sleepOn } from './wait.js';

/* wait options (include/uapi/linux/wait.h). */
export const WNOHANG = 0x00000001;
export const WUNTRACED = 0x00000002;
export const WSTOPPED = WUNTRACED;
export const WEXITED = 0x00000004;
export const WCONTINUED = 0x00000008;
export const WNOWAIT = 0x01000000;
export const __WNOTHREAD = 0x20000000;
export const __WALL = 0x40000000;
export const __WCLONE = 0x80000000 | 0;
export const P_ALL = 0;
export const P_PID = 1;
export const P_PGID = 2;
export const P_PIDFD = 3;

/** sizeof(struct rusage), sizeof(siginfo_t). */
const RUSAGE_SIZE = 144;
const SIGINFO_SIZE = 128;

function isAlive(t: Task): boolean {
  return t.state === TaskState.RUNNING || t.state === TaskState.INTERRUPTIBLE;
}

/** thread_group_empty(): no thread of the leader's group besides the leader is left unreleased. */
function threadGroupEmpty(leader: Task): boolean {
  for (const t of leader.threads) if (t !== leader) return false;
  return true;
}

/** __wake_up_parent(): every thread of the parent's process re-checks its wait4/waitid. */
export function wakeParent(child: Task): void {
  const p = child.parent;
  if (!p) return;
  for (const t of p.groupLeader.threads) t.waitChldexit.wakeUp();
}

/** release_task(): the task is gone for good; its pid may be reused. */
export function releaseTask(t: Task): void {
  const kernel = t.kernel;
  if (t.state === TaskState.DEAD) return;
  t.state = TaskState.DEAD;
  if (kernel.tasks.get(t.pid) === t) kernel.tasks.delete(t.pid);
  const leader = t.groupLeader;
  if (leader !== t) {
    const i = leader.threads.indexOf(t);
    if (i >= 0) leader.threads.splice(i, 1);
  } else {
    t.parent?.children.delete(t);
  }
  if (t.counted) {
    t.counted = false;
    kernel.nrThreads--;
    const n = (kernel.nprocByUid.get(t.cred.uid) ?? 1) - 1;
    if (n <= 0) kernel.nprocByUid.delete(t.cred.uid);
    else kernel.nprocByUid.set(t.cred.uid, n);
  }
}

/**
 * do_notify_parent(): tell the parent a process died. Returns true when the child is to be
 * reaped at once (the parent ignores SIGCHLD or set SA_NOCLDWAIT).
 */
function doNotifyParent(child: Task, sig: number): boolean {
  const parent = child.parent;
  child.exitNotified = true;
  // No parent (init, or an orphan while the machine ends): nobody will wait for it. Init
  // stays a zombie so the machine can report its status.
  if (!parent) return child !== child.kernel.initTask;
  if (!hasLiveThread(parent)) return true;
  let autoreap = false;
  const act = parent.sighand.action[SIGCHLD]!;
  if (sig === SIGCHLD && (act.handler === SIG_IGN || (act.flags & SA_NOCLDWAIT) !== 0)) {
    // POSIX.1-2001: children of a parent ignoring SIGCHLD do not become zombies.
    autoreap = true;
    if (act.handler === SIG_IGN) sig = 0;
  }
  if (sig > 0 && sig <= NSIG) {
    signalMod.doNotifyParent(child, sig);
  }
  wakeParent(child);
  return autoreap;
}

function hasLiveThread(t: Task): boolean {
  for (const th of t.groupLeader.threads) if (isAlive(th)) return true;
  return false;
}

/** A live thread of `t`'s process (find_alive_thread), or null. */
function findAliveThread(t: Task): Task | null {
  for (const th of t.groupLeader.threads) if (isAlive(th)) return th;
  return null;
}

/**
 * find_new_reaper(): a live thread of the dying thread's process, else the nearest ancestor
 * that is a child subreaper (PR_SET_CHILD_SUBREAPER), else init; null when init itself is
 * the one going away.
 */
function findNewReaper(father: Task): Task | null {
  const sibling = findAliveThread(father);
  if (sibling) return sibling;
  const init = father.kernel.initTask;
  if (init && init.tgid === father.tgid) return null;
  for (let a = father.groupLeader.parent; a && a !== init; a = a.groupLeader.parent) {
    if (a.groupLeader.prctl.childSubreaper) {
      const live = findAliveThread(a);
      if (live) return live;
    }
  }
  return init ? findAliveThread(init) : null;
}

/** forget_original_parent(): hand the dying thread's children to a new parent. */
function forgetOriginalParent(father: Task): void {
  if (father.children.size === 0) return;
  const reaper = findNewReaper(father);
  const kids = [...father.children];
  father.children.clear();
  for (const p of kids) {
    p.parent = reaper;
    p.ppid = reaper ? reaper.tgid : 0;
    for (const t of p.threads) {
      t.parent = reaper;
      t.ppid = p.ppid;
      // PR_SET_PDEATHSIG fires when the parent *thread* exits.
      if (t.prctl.pdeathsig && isAlive(t)) signalMod.sendSignal(t, t.prctl.pdeathsig, true);
    }
    if (!reaper) continue;
    reaper.children.add(p);
    if (reaper.tgid === father.tgid) continue; // a threaded reparent notifies nobody
    // reparent_leader(): "we don't want people slaying init" — the new parent gets SIGCHLD.
    p.exitSignal = SIGCHLD;
    if (p.state === TaskState.ZOMBIE && threadGroupEmpty(p) && doNotifyParent(p, p.exitSignal)) releaseTask(p);
  }
}

/** mm_release(): wake a vfork parent; clear and futex-wake the CLONE_CHILD_CLEARTID word. */
export function mmRelease(task: Task): void {
  const v = task.vforkDone;
  if (v) {
    task.vforkDone = null;
    v.wakeUp();
  }
  const ctid = task.clearChildTid;
  task.clearChildTid = 0;
  if (ctid !== 0 && task.kernel.mmInUse(task.mm, task)) {
    putUser32(task.mm, ctid, 0);
    task.kernel.futexWake?.(task, ctid, 1);
  }
}

/** When init's process is gone, every other task is killed (zap_pid_ns_processes) and the machine ends. */
function zapMachine(kernel: Kernel): void {
  for (const t of [...kernel.tasks.values()]) {
    if (isAlive(t)) {
      t.signal.groupExit = true;
      t.signal.groupExitCode = SIGKILL;
      doExit(t, SIGKILL);
    }
  }
  kernel.runQueue.kick();
}

/** exit_notify(): reparent children, then report to the parent (or wait for the other threads). */
function exitNotify(task: Task): void {
  const kernel = task.kernel;
  forgetOriginalParent(task);
  const leader = task.groupLeader;
  if (leader !== task) {
    // A thread other than the leader is reaped at once (its exit_signal is -1).
    releaseTask(task);
    if (leader.state === TaskState.ZOMBIE && !leader.exitNotified && threadGroupEmpty(leader)) {
      if (doNotifyParent(leader, leader.exitSignal)) releaseTask(leader);
    }
  } else if (threadGroupEmpty(task)) {
    if (doNotifyParent(task, task.exitSignal)) releaseTask(task);
  }
  // The init process is gone (all its threads): the pid namespace, here the machine, ends.
  const init = kernel.initTask;
  if (init && task.tgid === init.tgid && !hasLiveThread(init) && !kernel.zapping) {
    kernel.zapping = true;
    zapMachine(kernel);
  }
}

/** do_exit(): release what the task holds and leave a zombie for the parent to reap. */
export function doExit(task: Task, code: number): void {
  if (task.state === TaskState.ZOMBIE || task.state === TaskState.DEAD) return;
  const kernel = task.kernel;
  kernel.runQueue.dequeue(task);
  task.state = TaskState.ZOMBIE;
  task.exitCode = code;
  task.signal.cpuNs += task.cpuNs;
  kernel.exitRobustList?.(task);
  mmRelease(task);
  if (!hasLiveThread(task)) {
    // The process is gone: exit_sem() applies its SEM_UNDO adjustments, exit_itimers() stops its timers.
    exitSem(task);
    exitTimers(task.signal);
  }
  let filesShared = false;
  for (const t of kernel.tasks.values()) {
    if (t !== task && t.files === task.files && isAlive(t)) {
      filesShared = true;
      break;
    }
  }
  if (!filesShared) task.files.closeAll();
  // disassociate_ctty(1) when the whole group is gone: a session leader's terminal hangs up
  // its foreground group (SIGHUP + SIGCONT) and loses its session.
  if (!hasLiveThread(task)) ttyOnSessionLeaderExit(task);
  if (!kernel.mmInUse(task.mm, task)) task.mm.destroy();
  if (kernel.current === task) {
    kernel.current = null;
    kernel.hart.setRoot(-1);
  }
  exitNotify(task);
  kernel.runQueue.kick();
}

/** do_group_exit(): every thread of the process exits with the same status. */
export function doGroupExit(task: Task, code: number): void {
  const sig = task.signal;
  if (!sig.groupExit) {
    sig.groupExit = true;
    sig.groupExitCode = code;
  }
  for (const t of [...task.groupLeader.threads]) if (t !== task) doExit(t, sig.groupExitCode);
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

// ---- wait4 / waitid (do_wait) ----

interface WaitOpts {
  type: number;
  id: number;
  options: number;
}

/** What a successful wait found. */
interface WaitResult {
  pid: number;
  uid: number;
  /** wait4 status word. */
  status: number;
  /** CLD_* for waitid's si_code, and its si_status. */
  code: number;
  siStatus: number;
  /** CPU of the child and its waited-for children, ns (for the rusage). */
  cpuNs: number;
  nvcsw: number;
  nivcsw: number;
}

/** eligible_pid() + eligible_child(). */
function eligible(child: Task, w: WaitOpts): boolean {
  if (w.type === P_PID && child.pid !== w.id) return false;
  if (w.type === P_PGID && child.pgid !== w.id) return false;
  if (w.options & __WALL) return true;
  // Wait for "clone" children only with __WCLONE, for the others only without it.
  return (child.exitSignal !== SIGCHLD) === ((w.options & __WCLONE) !== 0);
}

function processCpu(p: Task): number {
  return p.signal.cpuNs + p.threadGroupCpuNs() + p.signal.childrenCpuNs;
}

/** wait_task_zombie(). */
function waitTaskZombie(waiter: Task, p: Task, w: WaitOpts): WaitResult {
  const ws = p.signal.groupExit ? p.signal.groupExitCode : p.exitCode;
  const sig = ws & 0x7f;
  const res: WaitResult = {
    pid: p.pid,
    uid: p.cred.uid,
    status: ws,
    code: sig === 0 ? CLD_EXITED : ws & 0x80 ? CLD_DUMPED : CLD_KILLED,
    siStatus: sig === 0 ? (ws >> 8) & 0xff : sig,
    cpuNs: processCpu(p),
    nvcsw: p.nvcsw,
    nivcsw: p.nivcsw,
  };
  if (!(w.options & WNOWAIT)) {
    // __exit_signal / wait_task_zombie: the child's times go to the parent's cutime/cstime.
    waiter.signal.childrenCpuNs += res.cpuNs;
    releaseTask(p);
  }
  return res;
}

/** One pass over the children of the waiter's threads: a result, 0 (none ready yet) or -ECHILD. */
function waitOnce(task: Task, w: WaitOpts): WaitResult | number {
  const jc = task.kernel.jobControl;
  const consume = (w.options & WNOWAIT) === 0;
  let any = false;
  const threads = w.options & __WNOTHREAD ? [task] : task.groupLeader.threads;
  for (const th of threads) {
    for (const p of th.children) {
      if (!eligible(p, w)) continue;
      any = true;
      if (p.state === TaskState.ZOMBIE) {
        // delay_group_leader(): a leader whose threads still run is not reapable yet.
        if (p.exitNotified && threadGroupEmpty(p) && w.options & WEXITED) return waitTaskZombie(task, p, w);
        continue;
      }
      if (p.state === TaskState.DEAD || !jc) continue;
      if (w.options & WSTOPPED) {
        const s = jc.takeStopped(p, consume);
        if (s > 0) {
          const r = { pid: p.pid, uid: p.cred.uid, cpuNs: processCpu(p), nvcsw: p.nvcsw, nivcsw: p.nivcsw };
          return { ...r, status: (s << 8) | 0x7f, code: CLD_STOPPED, siStatus: s };
        }
      }
      if (w.options & WCONTINUED && jc.takeContinued(p, consume)) {
        const r = { pid: p.pid, uid: p.cred.uid, cpuNs: processCpu(p), nvcsw: p.nvcsw, nivcsw: p.nivcsw };
        return { ...r, status: 0xffff, code: CLD_CONTINUED, siStatus: SIGCONT };
      }
    }
  }
  return any ? 0 : -ECHILD;
}

function putLong(v: DataView, off: number, x: number): void {
  v.setUint32(off, (x % 0x1_0000_0000) >>> 0, true);
  v.setUint32(off + 4, Math.floor(x / 0x1_0000_0000) >>> 0, true);
}

/** struct rusage of a waited-for child: its CPU time as user time, and its context switches. */
function writeRusage(task: Task, va: number, r: WaitResult | null): number {
  const b = new Uint8Array(RUSAGE_SIZE);
  if (r) {
    const v = new DataView(b.buffer);
    const us = Math.floor(r.cpuNs / 1000);
    putLong(v, 0, Math.floor(us / 1e6));
    putLong(v, 8, us % 1e6);
    putLong(v, 128, r.nvcsw);
    putLong(v, 136, r.nivcsw);
  }
  return copyToUser(task.mm, va, b) < 0 ? -EFAULT : 0;
}

/** do_wait(): the synchronous pass, or a Promise that sleeps on wait_chldexit until a child changes state. */
function doWait(task: Task, w: WaitOpts, done: (r: WaitResult | null) => number): number | Promise<number> {
  const r = waitOnce(task, w);
  if (typeof r !== 'number') return done(r);
  if (r < 0) return r;
  if (w.options & WNOHANG) return done(null);
  return (async () => {
    for (;;) {
      const s = await sleepOn(task, task.waitChldexit);
      // do_wait() scans again before giving up on a signal: the SIGCHLD that woke us usually
      // comes with the child we are waiting for.
      const again = waitOnce(task, w);
      if (typeof again !== 'number') return done(again);
      if (again < 0) return again;
      if (s !== 0) return s;
    }
  })();
}

function sysWait4(task: Task, upid: number, statVa: number, options: number, ruVa: number): number | Promise<number> {
  upid |= 0;
  options |= 0;
  if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL)) return -EINVAL;
  // -INT_MIN is not a pid.
  if (upid === -2147483648) return -ESRCH;
  let w: WaitOpts;
  if (upid === -1) w = { type: P_ALL, id: 0, options };
  else if (upid < 0) w = { type: P_PGID, id: -upid, options };
  else if (upid === 0) w = { type: P_PGID, id: task.pgid, options };
  else w = { type: P_PID, id: upid, options };
  w.options |= WEXITED;
  return doWait(task, w, (r) => {
    if (!r) return 0;
    if (statVa !== 0) {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, r.status, true);
      if (copyToUser(task.mm, statVa, b) < 0) return -EFAULT;
    }
    if (ruVa !== 0 && writeRusage(task, ruVa, r) < 0) return -EFAULT;
    return r.pid;
  });
}

function sysWaitid(
  task: Task,
  which: number,
  upid: number,
  infop: number,
  options: number,
  ruVa: number,
): number | Promise<number> {
  which |= 0;
  upid |= 0;
  options |= 0;
  if (options & ~(WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL))
    return -EINVAL;
  if (!(options & (WEXITED | WSTOPPED | WCONTINUED))) return -EINVAL;
  let w: WaitOpts;
  switch (which) {
    case P_ALL:
      w = { type: P_ALL, id: 0, options };
      break;
    case P_PID:
      if (upid <= 0) return -EINVAL;
      w = { type: P_PID, id: upid, options };
      break;
    case P_PGID:
      if (upid < 0) return -EINVAL;
      w = { type: P_PGID, id: upid === 0 ? task.pgid : upid, options };
      break;
    default:
      // P_PIDFD needs pidfds, which this kernel does not have yet.
      return -EINVAL;
  }
  return doWait(task, w, (r) => {
    if (infop !== 0) {
      // kernel_waitid writes signo, errno, code, pid, uid, status (all zero when WNOHANG found nothing).
      const b = new Uint8Array(SIGINFO_SIZE);
      const v = new DataView(b.buffer);
      if (r) {
        v.setInt32(0, SIGCHLD, true);
        v.setInt32(8, r.code, true);
        v.setInt32(16, r.pid, true);
        v.setUint32(20, r.uid >>> 0, true);
        v.setInt32(24, r.siStatus, true);
      }
      if (copyToUser(task.mm, infop, b.subarray(0, 32)) < 0) return -EFAULT;
    }
    if (ruVa !== 0 && writeRusage(task, ruVa, r) < 0) return -EFAULT;
    return 0;
  });
}

export const exitSyscalls: SyscallTable = {
  [SYS_exit]: sysExit,
  [SYS_exit_group]: sysExitGroup,
  [SYS_wait4]: sysWait4,
  [SYS_waitid]: sysWaitid,
};
