/**
 * Signals (kernel/signal.c, arch/riscv/kernel/signal.c): dispositions, masks, pending sets with
 * queued siginfo, sending (kill, tkill, tgkill, rt_sigqueueinfo), waiting (rt_sigsuspend,
 * rt_sigtimedwait), delivery on every return to user mode (get_signal → handle_signal →
 * setup_rt_frame), rt_sigreturn, the alternate stack, job-control stop/continue, and the
 * system-call restart rules.
 *
 * How delivery meets the rest of the kernel:
 *  - core.ts calls doSignal(task) after each trap while the task is on the hart.
 *  - A task asleep in a system call (TASK_INTERRUPTIBLE, a pending Promise) that gets a signal is
 *    woken with -ERESTARTSYS (signalWakeUp), and its saved user pc is pointed at the "resume
 *    trap" (an ebreak in the [vdso] page, see vdso.ts). The first thing it does back in user
 *    mode is trap; forceSigFault recognises the address, puts the real pc back and runs doSignal
 *    — exactly Linux's exit_to_user_mode_loop → arch_do_signal_or_restart after the sleep,
 *    without any user instruction running first. While a0 then holds -ERESTART*, doSignal
 *    restarts the call or makes it -EINTR (handle_signal / arch_do_signal_or_restart rules).
 *  - orig_a0 (needed to restart): `task.origA0` if the syscall entry keeps it; otherwise the
 *    value of a0 captured when the signal woke the sleeper (before the result overwrote it).
 */
import { isOrphanedPgrp } from '../tty/tty_jobctrl.js';
import {
  EAGAIN,
  EFAULT,
  EINTR,
  EINVAL,
  ENOMEM,
  EPERM,
  ERESTARTNOHAND,
  ERESTARTNOINTR,
  ERESTARTSYS,
  ERESTART_RESTARTBLOCK,
  ESRCH,
  ETIMEDOUT,
} from '../errno.js';
import type { Task } from '../sched/task.js';
import { PF_KTHREAD, TaskState } from '../sched/task.js';
import type { SyscallTable } from '../syscall/types.js';
import { copyFromUser, copyToUser } from '../mm/uaccess.js';
import {
  SYS_kill,
  SYS_restart_syscall,
  SYS_rt_sigaction,
  SYS_rt_sigpending,
  SYS_rt_sigprocmask,
  SYS_rt_sigqueueinfo,
  SYS_rt_sigreturn,
  SYS_rt_sigsuspend,
  SYS_rt_sigtimedwait,
  SYS_rt_tgsigqueueinfo,
  SYS_sigaltstack,
  SYS_tgkill,
  SYS_tkill,
} from '../syscall/numbers.js';
import {
  CLD_CONTINUED,
  CLD_DUMPED,
  CLD_EXITED,
  CLD_KILLED,
  CLD_STOPPED,
  MINSIGSTKSZ,
  NSIG,
  SA_EXPOSE_TAGBITS,
  SA_NOCLDSTOP,
  SA_NOCLDWAIT,
  SA_NODEFER,
  SA_ONSTACK,
  SA_RESETHAND,
  SA_RESTART,
  SA_SIGINFO,
  SIGCHLD,
  SIGCONT,
  SIGKILL,
  SIGRTMIN,
  SIGSEGV,
  SIGSTOP,
  SIGTRAP,
  SIGTSTP,
  SIGTTIN,
  SIGTTOU,
  SIG_BLOCK,
  SIG_DFL,
  SIG_IGN,
  SIG_SETMASK,
  SIG_UNBLOCK,
  SI_KERNEL,
  SI_TIMER,
  SI_TKILL,
  SI_USER,
  SS_AUTODISARM,
  SS_DISABLE,
  SS_ONSTACK,
  UNBLOCKABLE,
  sigKernelCoredump,
  sigKernelIgnore,
  sigKernelStop,
  sigSynchronous,
  sigmask,
} from './signum.js';
import {
  SIGINFO_SIZE,
  SI_ADDR,
  SI_STATUS,
  SI_STIME,
  SI_UTIME,
  type Siginfo,
  getI32,
  killSiginfo,
  makeSiginfo,
  setI32,
  setU64,
  siginfoCode,
} from './siginfo.js';
import { RT_SIGFRAME_SIZE, buildRtSigframe, parseRtSigframe } from './sigframe.js';
import { VDSO_RESUME_TRAP_OFFSET, findVdso, installSigreturnTrampoline } from './vdso.js';
import type { SigHand, SignalStruct } from './sighand.js';
import { doGroupExit } from '../sched/exit.js';
import { signalWakeUp, sleepOn } from '../sched/wait.js';
import { RLIMIT_CORE } from '../sys/resource.js';

/** sizeof(sigset_t) on riscv64: 64 signals, one unsigned long. */
export const SIGSET_SIZE = 8;
/** UAPI_SA_FLAGS: the sa_flags bits that read back; unknown bits are cleared (do_sigaction). */
const UAPI_SA_FLAGS =
  SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER | SA_RESETHAND | SA_EXPOSE_TAGBITS;
const ALL_SIGNALS = (1n << 64n) - 1n;
const STOP_MASK = sigmask(SIGSTOP) | sigmask(SIGTSTP) | sigmask(SIGTTIN) | sigmask(SIGTTOU);
const REG_RA = 1;
const REG_SP = 2;
const REG_A0 = 10;
const REG_A1 = 11;
const REG_A2 = 12;
const REG_A7 = 17;
const NR_RESTART_SYSCALL = SYS_restart_syscall;
const ECALL = 0x00000073;
/** USER_HZ: the unit of clock_t in siginfo (si_utime/si_stime). */
const USER_HZ = 100;

/** A fault's details for the handler's siginfo (force_sig_fault). */
export interface FaultInfo {
  code: number;
  addr: number;
}

/** restart_block: how restart_syscall continues an interrupted -ERESTART_RESTARTBLOCK call. */
export type RestartFn = (task: Task) => number | Promise<number>;

/** Per-thread signal state that task_struct keeps and Task does not have a field for. */
interface ThreadSig {
  /** The queued siginfo of task.pending (struct sigpending.list). */
  queue: Siginfo[];
  /** orig_a0 of the system call the task was asleep in when a signal woke it. */
  savedA0: number | null;
  /** The real user pc while the saved pc points at the resume trap. */
  resumePc: number | null;
  /** TIF_RESTORE_SIGMASK: the mask to put back after rt_sigsuspend (saved_sigmask). */
  savedMask: bigint | null;
  /** real_blocked during rt_sigtimedwait. */
  realBlocked: bigint | null;
  /** Set while the task is held in a job-control stop; calling it resumes the task. */
  stopWake: (() => void) | null;
  /** current->restart_block.fn. */
  restartFn: RestartFn | null;
}

const threadSigs = new WeakMap<Task, ThreadSig>();

function ts(task: Task): ThreadSig {
  let s = threadSigs.get(task);
  if (!s) {
    s = {
      queue: [],
      savedA0: null,
      resumePc: null,
      savedMask: null,
      realBlocked: null,
      stopWake: null,
      restartFn: null,
    };
    threadSigs.set(task, s);
  }
  return s;
}

/** set_restart_fn(): what restart_syscall does if this call returns -ERESTART_RESTARTBLOCK. */
export function setRestartFn(task: Task, fn: RestartFn | null): void {
  ts(task).restartFn = fn;
}

/** Is this thread held in a job-control stop (TASK_STOPPED)? The scheduler must not run it. */
export function isStopped(task: Task): boolean {
  return threadSigs.get(task)?.stopWake != null;
}

// ---- small helpers ----

function readU64(b: Uint8Array, off: number): bigint {
  const v = new DataView(b.buffer, b.byteOffset + off, 8);
  return (BigInt(v.getUint32(4, true)) << 32n) | BigInt(v.getUint32(0, true));
}

function putU64(v: DataView, off: number, x: bigint): void {
  v.setUint32(off, Number(x & 0xffffffffn), true);
  v.setUint32(off + 4, Number((x >> 32n) & 0xffffffffn), true);
}

function putNum(v: DataView, off: number, x: number): void {
  const hi = Math.floor(x / 0x1_0000_0000);
  v.setUint32(off, (x - hi * 0x1_0000_0000) >>> 0, true);
  v.setInt32(off + 4, hi | 0, true);
}

function readSigset(task: Task, va: number): bigint | number {
  const b = copyFromUser(task.mm, va, SIGSET_SIZE);
  if (typeof b === 'number') return -EFAULT;
  return readU64(b, 0);
}

function writeSigset(task: Task, va: number, set: bigint): number {
  const b = new Uint8Array(8);
  putU64(new DataView(b.buffer), 0, set);
  return copyToUser(task.mm, va, b) < 0 ? -EFAULT : 0;
}

function validSignal(sig: number): boolean {
  return sig >= 1 && sig <= NSIG;
}

function dead(t: Task): boolean {
  return t.state === TaskState.ZOMBIE || t.state === TaskState.DEAD;
}

/** The register file of a task: the hart while it is current, else its saved context. */
function regA0(task: Task): number {
  const k = task.kernel;
  if (k.current === task) return k.hart.getReg(REG_A0);
  const x = task.context.x;
  return x[2 * REG_A0 + 1]! * 0x1_0000_0000 + (x[2 * REG_A0]! >>> 0);
}

function getPc(task: Task): number {
  const k = task.kernel;
  return k.current === task ? k.hart.pc : task.context.pc;
}

function setPc(task: Task, pc: number): void {
  const k = task.kernel;
  if (k.current === task) k.hart.pc = pc;
  else task.context.pc = pc;
}

function userSp(task: Task): number {
  const k = task.kernel;
  if (k.current === task) return k.hart.getReg(REG_SP);
  const x = task.context.x;
  return x[2 * REG_SP + 1]! * 0x1_0000_0000 + (x[2 * REG_SP]! >>> 0);
}

function jobControlHooks(task: Task): void {
  const k = task.kernel as { jobControl?: unknown };
  if (k.jobControl === null || k.jobControl === undefined) {
    k.jobControl = {
      takeStopped(child: Task, consume: boolean): number {
        const s = child.signal;
        if (!s.stopReportPending || s.groupStopSig === 0) return 0;
        if (consume) s.stopReportPending = false;
        return s.groupStopSig;
      },
      takeContinued(child: Task, consume: boolean): boolean {
        const s = child.signal;
        if (!s.continuedReportPending) return false;
        if (consume) s.continuedReportPending = false;
        return true;
      },
    };
  }
}

function childStateChanged(thread: Task): void {
  const task = thread.groupLeader ?? thread; // wait4 deals in processes (their leaders)
  jobControlHooks(task);
  const k = task.kernel as { onChildStateChange?: (t: Task) => void };
  if (k.onChildStateChange) {
    k.onChildStateChange(task);
    return;
  }
  // No hook: wake the parent's threads sleeping in wait4/waitid (wait_chldexit).
  const parent = task.groupLeader.parent ?? task.kernel.findTask(task.ppid);
  if (parent) for (const t of task.kernel.threadGroup(parent.tgid)) t.waitChldexit.wakeUp();
}

// ---- pending sets ----

/** sig_ignored(): would this signal be discarded on arrival? */
function sigIgnored(task: Task, sig: number): boolean {
  const st = threadSigs.get(task);
  const bit = sigmask(sig);
  // A blocked signal stays pending: the handler may change before it is unblocked.
  if (task.blocked & bit || (st?.realBlocked != null && st.realBlocked & bit)) return false;
  const h = task.sighand.action[sig]!.handler;
  return h === SIG_IGN || (h === SIG_DFL && sigKernelIgnore(sig));
}

/** Remove the signals in `mask` from a task's and its group's pending sets (flush_sigqueue_mask). */
function flushPendingMask(task: Task, mask: bigint): void {
  const s = task.signal;
  if (s.sharedPending & mask) {
    s.sharedPending &= ~mask;
    s.sharedQueue = s.sharedQueue.filter((i) => (sigmask(getI32(i, 0)) & mask) === 0n);
  }
  for (const t of task.kernel.threadGroup(task.tgid)) {
    if (t.pending & mask) {
      t.pending &= ~mask;
      const st = ts(t);
      st.queue = st.queue.filter((i) => (sigmask(getI32(i, 0)) & mask) === 0n);
    }
  }
}

function wantsSignal(t: Task, sig: number): boolean {
  if (dead(t)) return false;
  if (sig === SIGKILL) return true;
  return (t.blocked & sigmask(sig)) === 0n && !isStopped(t);
}

/**
 * signal_wake_up(): a deliverable signal is pending for `t`. A sleeper is woken with
 * -ERESTARTSYS; a task off the hart is sent through the resume trap so that do_signal runs
 * before it executes another user instruction.
 */
function signalWakeUpTask(t: Task): void {
  if (dead(t)) return;
  const st = ts(t);
  if (st.stopWake === null) {
    // Asleep in a system call: keep orig_a0 before the call's result overwrites it.
    if (t.state === TaskState.INTERRUPTIBLE && st.resumePc === null) st.savedA0 = regA0(t);
    armResumeTrap(t);
  }
  signalWakeUp(t);
}

/**
 * A system call of ours that ends with a restart code while a signal is already pending (no
 * wake-up happened): make sure do_signal runs before the task's next user instruction.
 */
function signalReturnPending(task: Task): void {
  const st = ts(task);
  if (st.resumePc === null) {
    st.savedA0 = regA0(task);
    armResumeTrap(task);
  }
}

/** Point the task's saved pc at the [vdso] resume trap (it returns to the real pc from there). */
function armResumeTrap(t: Task): void {
  const st = ts(t);
  if (st.resumePc !== null || t.mm.destroyed) return;
  let base = findVdso(t.mm);
  if (base < 0) {
    const r = installSigreturnTrampoline(t.mm);
    if (r < 0) return; // no room for the page: delivery waits for the task's next trap
    base = findVdso(t.mm);
  }
  st.resumePc = getPc(t);
  setPc(t, base + VDSO_RESUME_TRAP_OFFSET);
}

/** Undo the resume trap if the task stands on it. Returns true when it did. */
function leaveResumeTrap(task: Task): boolean {
  const st = threadSigs.get(task);
  if (!st || st.resumePc === null) return false;
  const base = findVdso(task.mm);
  const at = base >= 0 && getPc(task) === base + VDSO_RESUME_TRAP_OFFSET;
  if (at) setPc(task, st.resumePc);
  st.resumePc = null;
  return at;
}

/** complete_signal(): find a thread to take the signal and wake it. */
function completeSignal(task: Task, sig: number, shared: boolean): void {
  let t: Task | null = task;
  if (shared && !wantsSignal(task, sig)) {
    t = null;
    for (const c of task.kernel.threadGroup(task.tgid)) {
      if (wantsSignal(c, sig)) {
        t = c;
        break;
      }
    }
  }
  if (!t || !wantsSignal(t, sig)) return;
  signalWakeUpTask(t);
}

/**
 * prepare_signal(): the effects a signal has at the moment it is sent, whatever its handler:
 * a stop signal discards pending SIGCONT; SIGCONT discards pending stop signals and resumes a
 * stopped process. Returns false when the signal is to be dropped (ignored).
 */
function prepareSignal(task: Task, sig: number): boolean {
  const s = task.signal;
  if (sigKernelStop(sig)) {
    flushPendingMask(task, sigmask(SIGCONT));
  } else if (sig === SIGCONT) {
    flushPendingMask(task, STOP_MASK);
    if (s.groupStopSig !== 0 || s.groupStopped) {
      const wasStopped = s.groupStopped;
      s.groupStopped = false;
      s.groupStopSig = 0;
      s.stopReportPending = false;
      for (const t of task.kernel.threadGroup(task.tgid)) {
        const w = threadSigs.get(t)?.stopWake;
        if (w) w();
      }
      if (wasStopped) {
        s.continuedReportPending = true;
        notifyParentCldstop(task, CLD_CONTINUED);
      }
    }
  }
  return sig === SIGKILL || !sigIgnored(task, sig);
}

/**
 * send_signal_locked() with a siginfo: queue `sig` for a thread (or, `shared`, for its whole
 * process). Legacy signals already pending are not queued twice; real-time signals queue every
 * instance. SIGKILL ends the process at once (Linux's fatal fast path in complete_signal).
 */
export function sendSigInfo(task: Task, sig: number, info: Siginfo | null, shared: boolean): number {
  if (dead(task)) return 0;
  if (!validSignal(sig)) return -EINVAL;
  // Kernel threads ignore every signal, SIGKILL and SIGSTOP too (ignore_signals + sig_task_ignored).
  if (task.flags & PF_KTHREAD) return 0;
  if (!prepareSignal(task, sig)) return 0;
  if (sig === SIGKILL && task.kernel.current?.tgid !== task.tgid) {
    // Fatal and unblockable: every thread of another process dies now (complete_signal's
    // fatal path), stopped or asleep. The caller's own process dies on its way to user mode.
    for (const t of task.kernel.threadGroup(task.tgid)) {
      const w = threadSigs.get(t)?.stopWake;
      if (w) w();
    }
    doGroupExit(task.kernel.findTask(task.tgid) ?? task, SIGKILL);
    return 0;
  }
  const bit = sigmask(sig);
  const s = task.signal;
  const pendingSet = shared ? s.sharedPending : task.pending;
  if (sig < SIGRTMIN && pendingSet & bit) return 0; // legacy_queue(): coalesced
  // A timer's preallocated sigqueue is queued as is (it is updated in place with overruns).
  const i = info ? (siginfoCode(info) === SI_TIMER ? info : new Uint8Array(info)) : makeSiginfo(sig, SI_KERNEL);
  setI32(i, 0, sig);
  if (shared) {
    s.sharedPending |= bit;
    s.sharedQueue.push(i);
  } else {
    task.pending |= bit;
    ts(task).queue.push(i);
  }
  completeSignal(task, sig, shared);
  if (signalQueuedHook) signalQueuedHook(task);
  return 0;
}

/**
 * signalfd_notify(): told after a signal is queued for a task or its process, so signalfd
 * readers and pollers wake (fs/signalfd.ts installs it; the hook keeps signal.ts free of fs).
 */
let signalQueuedHook: ((task: Task) => void) | null = null;

export function setSignalQueuedHook(fn: (task: Task) => void): void {
  signalQueuedHook = fn;
}

/** send_sig(): a signal from the kernel or the current task, with SI_USER info naming the sender. */
export function sendSignal(task: Task, sig: number, shared: boolean): number {
  const cur = task.kernel.current;
  const info = cur ? killSiginfo(sig, SI_USER, cur.tgid, cur.cred.uid) : makeSiginfo(sig, SI_KERNEL);
  return sendSigInfo(task, sig, info, shared);
}

/**
 * force_sig_fault(): a synchronous signal from a trap. If the task blocks or ignores it, the
 * disposition is reset to SIG_DFL and the signal unblocked, so the fault cannot loop forever.
 * A SIGTRAP at the [vdso] resume trap is not a fault: it is the signal-delivery point of a task
 * woken from a sleep (see the file comment), and runs doSignal instead.
 */
export function forceSigFault(task: Task, sig: number, fault: FaultInfo): void {
  if (sig === SIGTRAP && leaveResumeTrap(task)) {
    doSignal(task);
    return;
  }
  const act = task.sighand.action[sig]!;
  const blocked = (task.blocked & sigmask(sig)) !== 0n;
  if (act.handler === SIG_IGN || blocked) {
    act.handler = SIG_DFL;
    task.blocked &= ~sigmask(sig);
  }
  task.lastFault = fault;
  const info = makeSiginfo(sig, sig === SIGKILL ? SI_KERNEL : fault.code);
  if (sig !== SIGKILL) setU64(info, SI_ADDR, fault.addr);
  const bit = sigmask(sig);
  if (task.pending & bit && sig < SIGRTMIN) return;
  task.pending |= bit;
  ts(task).queue.push(info);
}

/** force_sig(SIGSEGV) for a frame that cannot be written or read (force_sigsegv). */
function forceSigsegv(task: Task): void {
  const act = task.sighand.action[SIGSEGV]!;
  act.handler = SIG_DFL;
  task.blocked &= ~sigmask(SIGSEGV);
  const bit = sigmask(SIGSEGV);
  if (task.pending & bit) return;
  task.pending |= bit;
  ts(task).queue.push(makeSiginfo(SIGSEGV, SI_KERNEL));
}

/** Deliverable signals: pending (thread or process) and not blocked. */
export function signalPending(task: Task): boolean {
  if (task.pending === 0n && task.signal.sharedPending === 0n) return false; // no BigInt arithmetic on the common path
  return ((task.pending | task.signal.sharedPending) & ~task.blocked) !== 0n;
}

function nextSignal(pending: bigint): number {
  if (pending === 0n) return 0;
  for (let sig = 1; sig <= 31; sig++) if (sigSynchronous(sig) && pending & sigmask(sig)) return sig;
  for (let sig = 1; sig <= NSIG; sig++) if (pending & sigmask(sig)) return sig;
  return 0;
}

/** collect_signal(): take one instance of `sig` off a queue; the bit stays while more are queued. */
function collect(queue: Siginfo[], sig: number): { info: Siginfo; more: boolean } {
  let info: Siginfo | null = null;
  let more = false;
  for (let i = 0; i < queue.length; i++) {
    if (getI32(queue[i]!, 0) !== sig) continue;
    if (info === null) {
      info = queue[i]!;
      queue.splice(i, 1);
      i--;
    } else {
      more = true;
      break;
    }
  }
  // The queue overflowed (or none was kept): SI_USER with no sender, as Linux does.
  return { info: info ?? makeSiginfo(sig, SI_USER), more };
}

/**
 * posixtimer_rearm() hook: the POSIX timer code is told when one of its SI_TIMER signals is
 * dequeued (its overrun count becomes final then). Set by time/posix-timers.ts.
 */
let timerDequeueHook: ((info: Siginfo) => void) | null = null;

export function setTimerDequeueHook(fn: (info: Siginfo) => void): void {
  timerDequeueHook = fn;
}

/** dequeue_signal(): the next signal of `allowed` — the thread's own first, synchronous ones first. */
export function dequeueSignal(task: Task, allowed: bigint): { sig: number; info: Siginfo } | null {
  const st = ts(task);
  let sig = nextSignal(task.pending & allowed);
  let info: Siginfo;
  if (sig !== 0) {
    const r = collect(st.queue, sig);
    if (!r.more) task.pending &= ~sigmask(sig);
    info = r.info;
  } else {
    const s = task.signal;
    sig = nextSignal(s.sharedPending & allowed);
    if (sig === 0) return null;
    const r = collect(s.sharedQueue, sig);
    if (!r.more) s.sharedPending &= ~sigmask(sig);
    info = r.info;
  }
  if (timerDequeueHook && siginfoCode(info) === SI_TIMER) timerDequeueHook(info);
  return { sig, info };
}

/** Is this siginfo object still queued (not yet delivered) for `task`'s process? */
export function siginfoQueued(task: Task, info: Siginfo): boolean {
  if (task.signal.sharedQueue.includes(info)) return true;
  for (const t of task.kernel.threadGroup(task.tgid)) if (threadSigs.get(t)?.queue.includes(info)) return true;
  return false;
}

/** Remove one queued siginfo object (timer_delete of a timer whose signal is still pending). */
export function dropQueuedSiginfo(task: Task, info: Siginfo): void {
  const sig = getI32(info, 0);
  const s = task.signal;
  const drop = (q: Siginfo[]): boolean => {
    const i = q.indexOf(info);
    if (i < 0) return false;
    q.splice(i, 1);
    return true;
  };
  if (drop(s.sharedQueue)) {
    if (!s.sharedQueue.some((i) => getI32(i, 0) === sig)) s.sharedPending &= ~sigmask(sig);
    return;
  }
  for (const t of task.kernel.threadGroup(task.tgid)) {
    const st = ts(t);
    if (drop(st.queue)) {
      if (!st.queue.some((i) => getI32(i, 0) === sig)) t.pending &= ~sigmask(sig);
      return;
    }
  }
}

// ---- delivery ----

function origA0(task: Task): number | null {
  const o = (task as { origA0?: unknown }).origA0;
  if (typeof o === 'number') return o;
  return threadSigs.get(task)?.savedA0 ?? null;
}

function isRestartCode(v: number): boolean {
  return v === -ERESTARTSYS || v === -ERESTARTNOINTR || v === -ERESTARTNOHAND || v === -ERESTART_RESTARTBLOCK;
}

/**
 * regs->cause == EXC_SYSCALL with a restart code in a0: the task is on its way back from a
 * system call that was interrupted. (We recognise it by the ecall right before pc.)
 */
function interruptedSyscall(task: Task): number | null {
  const h = task.kernel.hart;
  const a0 = h.getReg(REG_A0);
  if (!isRestartCode(a0)) return null;
  const b = copyFromUser(task.mm, h.pc - 4, 4);
  if (typeof b === 'number') return null;
  if (new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) !== ECALL) return null;
  return a0;
}

/** Restart the interrupted call: a0 = orig_a0, pc back on the ecall (or -EINTR if orig_a0 is lost). */
function restartSyscall(task: Task, code: number): void {
  const h = task.kernel.hart;
  const o = origA0(task);
  if (o === null) {
    h.setReg(REG_A0, -EINTR);
    return;
  }
  h.setReg(REG_A0, o);
  if (code === -ERESTART_RESTARTBLOCK) h.setReg(REG_A7, NR_RESTART_SYSCALL);
  h.pc -= 4;
}

/** sas_ss_flags() / on_sig_stack(). */
function onSigStack(task: Task, sp: number): boolean {
  if (task.sas.flags & SS_AUTODISARM) return false;
  return task.sas.size !== 0 && sp > task.sas.sp && sp - task.sas.sp <= task.sas.size;
}

function sasSsFlags(task: Task, sp: number): number {
  if (task.sas.size === 0) return SS_DISABLE;
  return onSigStack(task, sp) ? SS_ONSTACK : 0;
}

/**
 * setup_rt_frame() + signal_delivered(): push the rt_sigframe and point the task at the
 * handler. Returns false if the frame could not be written (the caller forces SIGSEGV).
 */
function setupRtFrame(task: Task, sig: number, info: Siginfo, handler: number, flags: number, mask: bigint): boolean {
  const h = task.kernel.hart;
  const st = ts(task);
  const tramp = installSigreturnTrampoline(task.mm);
  if (tramp < 0) return false;
  const sp = h.getReg(REG_SP);
  // get_sigframe(): overflowing off the alternate stack is a bad frame.
  if (onSigStack(task, sp) && !onSigStack(task, sp - RT_SIGFRAME_SIZE)) return false;
  let top = sp;
  if (flags & SA_ONSTACK && sasSsFlags(task, sp) === 0) top = task.sas.sp + task.sas.size;
  const frame = Math.floor((top - RT_SIGFRAME_SIZE) / 16) * 16;
  if (frame < 0) return false;
  const saved = st.savedMask ?? task.blocked;
  const stack = { sp: task.sas.sp, flags: sasSsFlags(task, sp), size: task.sas.size };
  const bytes = buildRtSigframe(info, h, saved, stack);
  if (copyToUser(task.mm, frame, bytes) < 0) return false;
  if (task.sas.flags & SS_AUTODISARM) task.sas = { sp: 0, size: 0, flags: SS_DISABLE };
  h.setReg(REG_RA, tramp);
  h.setReg(REG_SP, frame);
  h.setReg(REG_A0, sig);
  h.setReg(REG_A1, frame);
  h.setReg(REG_A2, frame + SIGINFO_SIZE);
  h.pc = handler;
  // signal_delivered(): block sa_mask (and the signal itself unless SA_NODEFER).
  let blocked = task.blocked | mask;
  if (!(flags & SA_NODEFER)) blocked |= sigmask(sig);
  task.blocked = blocked & ~UNBLOCKABLE;
  st.savedMask = null;
  return true;
}

/**
 * get_signal() + arch_do_signal_or_restart(), run on the way back to user mode: take each
 * deliverable signal and act on it; handle the restart of an interrupted system call.
 * Returns true when the task was killed.
 */
export function doSignal(task: Task): boolean {
  const k = task.kernel;
  if (k.current !== task || task.state !== TaskState.RUNNING) return false;
  const h = k.hart;
  const st = ts(task);
  leaveResumeTrap(task);
  if (task.signal.groupStopped) {
    stopSelf(task);
    return false;
  }
  let syscallRet = interruptedSyscall(task);
  let handled = false;
  for (;;) {
    const next = dequeueSignal(task, ~task.blocked & ALL_SIGNALS);
    if (!next) break;
    const { sig, info } = next;
    const act = task.sighand.action[sig]!;
    if (act.handler === SIG_IGN && sig !== SIGKILL) continue;
    if (act.handler === SIG_DFL || sig === SIGKILL || sig === SIGSTOP) {
      if (sigKernelIgnore(sig)) continue;
      if (sigKernelStop(sig)) {
        // get_signal: the job-control stops (not SIGSTOP) are discarded for an orphaned
        // process group — nobody is left who could continue it (is_current_pgrp_orphaned).
        if (sig !== SIGSTOP && isOrphanedPgrp(task.kernel, task.pgid)) continue;
        doSignalStop(task, sig);
        return false; // the restart (if any) is handled when the task continues
      }
      st.savedA0 = null;
      killBySignal(task, sig);
      return true;
    }
    const handler = act.handler;
    const flags = act.flags;
    const mask = act.mask;
    if (flags & SA_RESETHAND) {
      act.handler = SIG_DFL;
      act.flags &= ~SA_SIGINFO;
    }
    if (syscallRet !== null) {
      // handle_signal(): the restart rules when a handler runs.
      if (syscallRet === -ERESTARTNOINTR || (syscallRet === -ERESTARTSYS && flags & SA_RESTART)) {
        restartSyscall(task, syscallRet);
      } else {
        h.setReg(REG_A0, -EINTR);
      }
      syscallRet = null;
    }
    if (!setupRtFrame(task, sig, info, handler, flags, mask)) {
      forceSigsegv(task);
      continue;
    }
    handled = true;
  }
  if (syscallRet !== null) restartSyscall(task, syscallRet); // no handler: every kind restarts
  st.savedA0 = null;
  if (!handled && st.savedMask !== null) {
    // restore_saved_sigmask(): rt_sigsuspend ends without a handler having run.
    task.blocked = st.savedMask;
    st.savedMask = null;
  }
  return false;
}

/** do_group_exit(sig): the default actions "terminate" and "core" (the core bit only if RLIMIT_CORE allows a dump). */
function killBySignal(task: Task, sig: number): void {
  let code = sig;
  if (sigKernelCoredump(sig)) {
    // show_unhandled_signals (arch/riscv/kernel/traps.c do_trap): one line in the kernel log.
    const k = task.kernel;
    const pc = k.current === task ? k.hart.pc : task.context.pc;
    const f = task.lastFault;
    const at = f ? ` code 0x${f.code.toString(16)} at 0x${f.addr.toString(16)}` : '';
    k.log(`${task.comm}[${task.pid}]: unhandled signal ${sig}${at} pc 0x${pc.toString(16)}`);
    if (task.signal.rlim[RLIMIT_CORE]!.cur > 0) code |= 0x80;
  }
  doGroupExit(task, code);
}

// ---- job control ----

/** Hold a thread in TASK_STOPPED until SIGCONT or SIGKILL. */
function stopThread(t: Task): void {
  const st = ts(t);
  if (st.stopWake !== null || dead(t)) return;
  const k = t.kernel;
  if (t.state === TaskState.INTERRUPTIBLE) {
    // Asleep in a system call: it stops when it comes back (the resume trap brings it to doSignal).
    armResumeTrap(t);
    return;
  }
  t.state = TaskState.INTERRUPTIBLE;
  k.runQueue.dequeue(t);
  // It resumes through the resume trap, so pending signals and a restart are dealt with first.
  armResumeTrap(t);
  st.stopWake = () => {
    st.stopWake = null;
    if (t.state === TaskState.INTERRUPTIBLE) {
      t.state = TaskState.RUNNING;
      k.runQueue.enqueue(t);
    }
  };
}

function stopSelf(task: Task): void {
  stopThread(task);
}

/** do_signal_stop(): the whole group stops; the parent learns of it (CLD_STOPPED). */
function doSignalStop(task: Task, sig: number): void {
  const s = task.signal;
  if (!s.groupStopped) {
    s.groupStopped = true;
    s.groupStopSig = sig;
    s.stopReportPending = true;
    s.continuedReportPending = false;
    for (const t of task.kernel.threadGroup(task.tgid)) if (t !== task) stopThread(t);
    notifyParentCldstop(task, CLD_STOPPED);
  }
  stopSelf(task);
}

function parentOf(task: Task): Task | null {
  const leader = task.groupLeader ?? task;
  const p = leader.parent ?? task.kernel.findTask(leader.ppid);
  return p && !dead(p) ? p : null;
}

function clockT(ns: number): number {
  return Math.floor(ns / (1e9 / USER_HZ));
}

/** do_notify_parent_cldstop(): SIGCHLD with CLD_STOPPED / CLD_CONTINUED (unless SA_NOCLDSTOP). */
function notifyParentCldstop(task: Task, why: number): void {
  const parent = parentOf(task);
  childStateChanged(task);
  if (!parent) return;
  const act = parent.sighand.action[SIGCHLD]!;
  if (act.handler === SIG_IGN || act.flags & SA_NOCLDSTOP) return;
  const info = killSiginfo(SIGCHLD, why, task.tgid, task.cred.uid);
  setI32(info, SI_STATUS, why === CLD_CONTINUED ? SIGCONT : task.signal.groupStopSig);
  const cpu = task.threadGroupCpuNs();
  setU64(info, SI_UTIME, clockT(cpu));
  setU64(info, SI_STIME, 0);
  sendSigInfo(parent, SIGCHLD, info, true);
}

/**
 * do_notify_parent(): tell the parent that `child` (a thread-group leader, now a zombie with its
 * wait status in exitCode) exited, with `sig` (its exit_signal, normally SIGCHLD) carrying
 * CLD_EXITED / CLD_KILLED / CLD_DUMPED. Returns true when the child is to be reaped at once
 * (the parent ignores SIGCHLD or set SA_NOCLDWAIT), as Linux's autoreap.
 */
export function doNotifyParent(child: Task, sig: number): boolean {
  const parent = parentOf(child);
  if (!parent) return false;
  const status = child.exitCode;
  const termsig = status & 0x7f;
  let code: number;
  let value: number;
  if (termsig === 0) {
    code = CLD_EXITED;
    value = (status >> 8) & 0xff;
  } else {
    code = status & 0x80 ? CLD_DUMPED : CLD_KILLED;
    value = termsig;
  }
  const info = killSiginfo(sig, code, child.tgid, child.cred.uid);
  setI32(info, SI_STATUS, value);
  const cpu = child.signal.cpuNs + child.threadGroupCpuNs();
  setU64(info, SI_UTIME, clockT(cpu));
  setU64(info, SI_STIME, 0);
  let autoreap = false;
  if (sig === SIGCHLD) {
    const act = parent.sighand.action[SIGCHLD]!;
    if (act.handler === SIG_IGN || act.flags & SA_NOCLDWAIT) autoreap = true;
    if (act.handler === SIG_IGN) sig = 0; // nothing to send: SIGCHLD is ignored
  }
  if (sig > 0 && validSignal(sig)) sendSigInfo(parent, sig, info, true);
  childStateChanged(child);
  return autoreap;
}

// ---- fork / exec ----

/** copy_sighand(): the child's dispositions (shared with CLONE_SIGHAND: the caller keeps the same object). */
export function copySighand(task: Task): SigHand {
  return task.sighand.clone();
}

/** copy_signal(): fresh process-wide signal state (no pending signals, no timers), rlimits inherited. */
export function copySignal(task: Task): SignalStruct {
  return task.signal.clone();
}

/** At exec: handlers reset, alternate stack dropped (the timer part lives in time/). */
export function execSignals(task: Task): void {
  task.sighand.flushHandlers();
  task.sas = { sp: 0, size: 0, flags: 0 };
  const st = threadSigs.get(task);
  if (st) {
    st.resumePc = null;
    st.savedA0 = null;
    st.restartFn = null;
  }
}

// ---- system calls ----

function sysRtSigaction(task: Task, sig: number, actVa: number, oactVa: number, sigsetsize: number): number {
  sig |= 0;
  if (sigsetsize !== SIGSET_SIZE) return -EINVAL;
  let next: { handler: number; flags: number; mask: bigint } | null = null;
  if (actVa !== 0) {
    const b = copyFromUser(task.mm, actVa, 24);
    if (typeof b === 'number') return -EFAULT;
    const v = new DataView(b.buffer, b.byteOffset, 24);
    next = {
      handler: v.getUint32(4, true) * 0x1_0000_0000 + v.getUint32(0, true),
      flags: v.getUint32(8, true) & UAPI_SA_FLAGS,
      mask: readU64(b, 16) & ~UNBLOCKABLE,
    };
  }
  if (!validSignal(sig) || (next && (UNBLOCKABLE & sigmask(sig)) !== 0n)) return -EINVAL;
  const cur = task.sighand.action[sig]!;
  const old = { ...cur };
  if (next) {
    cur.handler = next.handler;
    cur.flags = next.flags >>> 0;
    cur.mask = next.mask;
    // POSIX 3.3.1.3: setting SIG_IGN (or SIG_DFL for a default-ignored signal) discards pending ones.
    if (next.handler === SIG_IGN || (next.handler === SIG_DFL && sigKernelIgnore(sig))) {
      flushPendingMask(task, sigmask(sig));
    }
  }
  if (oactVa !== 0) {
    const b = new Uint8Array(24);
    const v = new DataView(b.buffer);
    putNum(v, 0, old.handler);
    putNum(v, 8, (old.flags & UAPI_SA_FLAGS) >>> 0);
    putU64(v, 16, old.mask);
    if (copyToUser(task.mm, oactVa, b) < 0) return -EFAULT;
  }
  return 0;
}

/** set_current_blocked(): SIGKILL/SIGSTOP never blocked; newly unblocked signals get delivered. */
function setBlocked(task: Task, set: bigint): void {
  task.blocked = set & ~UNBLOCKABLE & ALL_SIGNALS;
}

function sysRtSigprocmask(task: Task, how: number, setVa: number, osetVa: number, sigsetsize: number): number {
  if (sigsetsize !== SIGSET_SIZE) return -EINVAL;
  const old = task.blocked;
  if (setVa !== 0) {
    const s = readSigset(task, setVa);
    if (typeof s === 'number') return s;
    switch (how | 0) {
      case SIG_BLOCK:
        setBlocked(task, old | s);
        break;
      case SIG_UNBLOCK:
        setBlocked(task, old & ~s);
        break;
      case SIG_SETMASK:
        setBlocked(task, s);
        break;
      default:
        return -EINVAL;
    }
  }
  if (osetVa !== 0) return writeSigset(task, osetVa, old);
  return 0;
}

function sysRtSigpending(task: Task, setVa: number, sigsetsize: number): number {
  if (sigsetsize > SIGSET_SIZE) return -EINVAL;
  const pending = (task.pending | task.signal.sharedPending) & task.blocked & ALL_SIGNALS;
  const b = new Uint8Array(8);
  putU64(new DataView(b.buffer), 0, pending);
  return copyToUser(task.mm, setVa, b.subarray(0, sigsetsize)) < 0 ? -EFAULT : 0;
}

/** rt_sigsuspend(): wait for a signal with a temporary mask; always "fails" with -EINTR once a handler ran. */
/**
 * set_user_sigmask(): the temporary mask of ppoll/pselect6/epoll_pwait. The old mask is kept as
 * the saved mask; the caller ends with restoreSavedSigmaskUnless(). Returns 0 or -errno.
 */
export function setUserSigmask(task: Task, maskVa: number, sigsetsize: number): number {
  if (maskVa === 0) return 0;
  if (sigsetsize !== SIGSET_SIZE) return -EINVAL;
  const m = readSigset(task, maskVa);
  if (typeof m === 'number') return m;
  ts(task).savedMask = task.blocked;
  setBlocked(task, m);
  return 0;
}

/**
 * restore_saved_sigmask_unless(): put the pre-call mask back now, unless the call is being
 * interrupted (then the signal delivery path restores it after the handler frame is built,
 * so the handler runs with the temporary mask's effect, as Linux does).
 */
export function restoreSavedSigmaskUnless(task: Task, interrupted: boolean): void {
  const st = ts(task);
  if (st.savedMask === null) return;
  if (interrupted) {
    signalReturnPending(task);
    return;
  }
  task.blocked = st.savedMask;
  st.savedMask = null;
}

async function sysRtSigsuspend(task: Task, maskVa: number, sigsetsize: number): Promise<number> {
  if (sigsetsize !== SIGSET_SIZE) return -EINVAL;
  const m = readSigset(task, maskVa);
  if (typeof m === 'number') return m;
  const st = ts(task);
  st.savedMask = task.blocked;
  setBlocked(task, m);
  if (signalPending(task)) signalReturnPending(task);
  while (!signalPending(task) && !dead(task)) await sleepOn(task, null);
  return -ERESTARTNOHAND;
}

/** struct timespec → ns, or -errno. */
function readTimeout(task: Task, va: number): number {
  const b = copyFromUser(task.mm, va, 16);
  if (typeof b === 'number') return -EFAULT;
  const v = new DataView(b.buffer, b.byteOffset, 16);
  const sec = v.getInt32(4, true) * 0x1_0000_0000 + v.getUint32(0, true);
  const nsec = v.getInt32(12, true) * 0x1_0000_0000 + v.getUint32(8, true);
  if (sec < 0 || nsec < 0 || nsec >= 1e9) return -EINVAL;
  return sec * 1e9 + nsec;
}

/** rt_sigtimedwait(): take a signal of `set` synchronously (its handler does not run). */
function sysRtSigtimedwait(
  task: Task,
  setVa: number,
  infoVa: number,
  tsVa: number,
  sigsetsize: number,
): number | Promise<number> {
  if (sigsetsize !== SIGSET_SIZE) return -EINVAL;
  const s = readSigset(task, setVa);
  if (typeof s === 'number') return s;
  const these = s & ~UNBLOCKABLE & ALL_SIGNALS;
  let timeout = -1;
  if (tsVa !== 0) {
    timeout = readTimeout(task, tsVa);
    if (timeout < 0) return timeout;
  }
  const take = (): number => {
    const got = dequeueSignal(task, these);
    if (!got) return 0;
    if (infoVa !== 0 && copyToUser(task.mm, infoVa, got.info) < 0) return -EFAULT;
    return got.sig;
  };
  const r = take();
  if (r !== 0) return r;
  if (timeout === 0) return -EAGAIN;
  return (async () => {
    const st = ts(task);
    st.realBlocked = task.blocked;
    task.blocked &= ~these;
    const deadlineNs = timeout > 0 ? task.kernel.clock.monotonicNs() + timeout : undefined;
    let w = 0;
    try {
      w = await sleepOn(task, null, deadlineNs === undefined ? {} : { deadlineNs });
    } finally {
      task.blocked = st.realBlocked;
      st.realBlocked = null;
    }
    const got = take();
    if (got !== 0) return got;
    return w === -ETIMEDOUT ? -EAGAIN : -EINTR;
  })();
}

/** rt_sigqueueinfo / rt_tgsigqueueinfo: user-supplied siginfo, which may not pose as the kernel or kill(). */
function readUserInfo(task: Task, infoVa: number, sig: number, targetPid: number): Siginfo | number {
  const b = copyFromUser(task.mm, infoVa, SIGINFO_SIZE);
  if (typeof b === 'number') return -EFAULT;
  const info = new Uint8Array(b);
  const code = siginfoCode(info);
  if ((code >= 0 || code === SI_TKILL) && task.tgid !== targetPid) return -EPERM;
  setI32(info, 0, sig);
  return info;
}

function sysRtSigqueueinfo(task: Task, pid: number, sig: number, infoVa: number): number {
  pid |= 0;
  sig |= 0;
  const info = readUserInfo(task, infoVa, sig, pid);
  if (typeof info === 'number') return info;
  if (sig < 0 || sig > NSIG) return -EINVAL;
  const t = task.kernel.findTask(pid);
  if (!t || dead(t)) return -ESRCH;
  if (!mayKill(task, t)) return -EPERM;
  if (sig === 0) return 0;
  return sendSigInfo(t, sig, info, true);
}

function sysRtTgsigqueueinfo(task: Task, tgid: number, tid: number, sig: number, infoVa: number): number {
  tgid |= 0;
  tid |= 0;
  sig |= 0;
  if (tgid <= 0 || tid <= 0) return -EINVAL;
  const info = readUserInfo(task, infoVa, sig, tgid);
  if (typeof info === 'number') return info;
  if (sig < 0 || sig > NSIG) return -EINVAL;
  const t = task.kernel.findTask(tid);
  if (!t || t.tgid !== tgid || dead(t)) return -ESRCH;
  if (!mayKill(task, t)) return -EPERM;
  if (sig === 0) return 0;
  return sendSigInfo(t, sig, info, false);
}

/** rt_sigreturn(): the handler returned through the trampoline; sp points at the frame. */
function sysRtSigreturn(task: Task): number {
  const k = task.kernel;
  if (k.current !== task) return -EINVAL;
  const h = k.hart;
  const frameVa = h.getReg(REG_SP);
  const b = frameVa % 16 === 0 ? copyFromUser(task.mm, frameVa, RT_SIGFRAME_SIZE) : -EFAULT;
  const parsed = typeof b === 'number' ? null : parseRtSigframe(b, h);
  if (!parsed) {
    forceSigsegv(task);
    return 0;
  }
  const st = ts(task);
  st.resumePc = null;
  setBlocked(task, parsed.mask);
  // restore_altstack(): errors other than EFAULT are ignored.
  doSigaltstack(task, parsed.stack, h.getReg(REG_SP));
  return h.getReg(REG_A0);
}

/** do_sigaltstack() core: 0 or -errno. */
function doSigaltstack(task: Task, ss: { sp: number; flags: number; size: number }, sp: number): number {
  if (onSigStack(task, sp)) return -EPERM;
  const mode = ss.flags & ~SS_AUTODISARM;
  if (mode !== SS_DISABLE && mode !== SS_ONSTACK && mode !== 0) return -EINVAL;
  let { sp: base, size } = ss;
  if (mode === SS_DISABLE) {
    size = 0;
    base = 0;
  } else if (size < MINSIGSTKSZ) {
    return -ENOMEM;
  }
  task.sas = { sp: base, size, flags: ss.flags & SS_AUTODISARM ? SS_AUTODISARM : 0 };
  return 0;
}

/** sigaltstack(); stack_t is { void *ss_sp; int ss_flags; size_t ss_size; } (24 bytes). */
function sysSigaltstack(task: Task, ussVa: number, uossVa: number): number {
  const sp = userSp(task);
  let ss: { sp: number; flags: number; size: number } | null = null;
  if (ussVa !== 0) {
    const b = copyFromUser(task.mm, ussVa, 24);
    if (typeof b === 'number') return -EFAULT;
    const v = new DataView(b.buffer, b.byteOffset, 24);
    ss = {
      sp: v.getUint32(4, true) * 0x1_0000_0000 + v.getUint32(0, true),
      flags: v.getInt32(8, true),
      size: v.getUint32(20, true) * 0x1_0000_0000 + v.getUint32(16, true),
    };
  }
  const old = {
    sp: task.sas.sp,
    size: task.sas.size,
    flags: (sasSsFlags(task, sp) | (task.sas.flags & SS_AUTODISARM)) >>> 0,
  };
  if (ss) {
    const r = doSigaltstack(task, ss, sp);
    if (r < 0) return r;
  }
  if (uossVa !== 0) {
    const b = new Uint8Array(24);
    const v = new DataView(b.buffer);
    putNum(v, 0, old.sp);
    v.setInt32(8, old.flags | 0, true);
    putNum(v, 16, old.size);
    if (copyToUser(task.mm, uossVa, b) < 0) return -EFAULT;
  }
  return 0;
}

/** restart_syscall(): continue the call an ignored or stopping signal interrupted. */
function sysRestartSyscall(task: Task): number | Promise<number> {
  const st = ts(task);
  const fn = st.restartFn;
  st.restartFn = null;
  return fn ? fn(task) : -EINTR; // do_no_restart_syscall
}

/** check_kill_permission(): same real/effective uid as the target's real/saved uid, or root. */
function mayKill(sender: Task, target: Task): boolean {
  if (sender.tgid === target.tgid) return true;
  const s = sender.cred;
  const t = target.cred;
  return s.euid === 0 || s.euid === t.suid || s.euid === t.uid || s.uid === t.suid || s.uid === t.uid;
}

/** Live thread-group leaders (processes). */
function processes(task: Task): Task[] {
  const out: Task[] = [];
  for (const t of task.kernel.tasks.values()) if (t.pid === t.tgid && !dead(t)) out.push(t);
  return out;
}

/** group_send_sig_info(): permission check, then a process-wide signal. */
function groupSend(task: Task, t: Task, sig: number, info: Siginfo): number {
  if (!mayKill(task, t)) return -EPERM;
  if (sig === 0) return 0;
  return sendSigInfo(t, sig, info, true);
}

/** kill_something_info(). */
function sysKill(task: Task, pid: number, sig: number): number {
  pid |= 0;
  sig |= 0;
  if (sig < 0 || sig > NSIG) return -EINVAL;
  const info = killSiginfo(sig, SI_USER, task.tgid, task.cred.uid);
  if (pid > 0) {
    const t = task.kernel.findTask(pid);
    if (!t || dead(t)) return -ESRCH;
    return groupSend(task, t.pid === t.tgid ? t : (task.kernel.findTask(t.tgid) ?? t), sig, info);
  }
  if (pid === -1) {
    // Everyone but init and the caller's own process.
    let count = 0;
    let ret = 0;
    for (const t of processes(task)) {
      if (t.tgid <= 1 || t.tgid === task.tgid) continue;
      count++;
      const err = groupSend(task, t, sig, info);
      if (err !== -EPERM) ret = err;
    }
    return count ? ret : -ESRCH;
  }
  // __kill_pgrp_info(): 0 = the caller's process group, < -1 = group -pid.
  const pgrp = pid === 0 ? task.pgid || task.tgid : -pid;
  let success = false;
  let ret = -ESRCH;
  for (const t of processes(task)) {
    if ((t.pgid || t.tgid) !== pgrp) continue;
    const err = groupSend(task, t, sig, info);
    success ||= err === 0;
    ret = err;
  }
  return success ? 0 : ret;
}

function doTkill(task: Task, tgid: number, tid: number, sig: number): number {
  if (sig < 0 || sig > NSIG) return -EINVAL;
  const t = task.kernel.findTask(tid);
  if (!t || (tgid > 0 && t.tgid !== tgid) || dead(t)) return -ESRCH;
  if (!mayKill(task, t)) return -EPERM;
  if (sig === 0) return 0;
  return sendSigInfo(t, sig, killSiginfo(sig, SI_TKILL, task.tgid, task.cred.uid), false);
}

function sysTgkill(task: Task, tgid: number, tid: number, sig: number): number {
  tgid |= 0;
  tid |= 0;
  if (tid <= 0 || tgid <= 0) return -EINVAL;
  return doTkill(task, tgid, tid, sig | 0);
}

function sysTkill(task: Task, tid: number, sig: number): number {
  tid |= 0;
  if (tid <= 0) return -EINVAL;
  return doTkill(task, 0, tid, sig | 0);
}

export const signalSyscalls: SyscallTable = {
  [SYS_rt_sigaction]: sysRtSigaction,
  [SYS_rt_sigprocmask]: sysRtSigprocmask,
  [SYS_rt_sigpending]: sysRtSigpending,
  [SYS_rt_sigsuspend]: sysRtSigsuspend,
  [SYS_rt_sigtimedwait]: sysRtSigtimedwait,
  [SYS_rt_sigqueueinfo]: sysRtSigqueueinfo,
  [SYS_rt_tgsigqueueinfo]: sysRtTgsigqueueinfo,
  [SYS_rt_sigreturn]: sysRtSigreturn,
  [SYS_restart_syscall]: sysRestartSyscall,
  [SYS_sigaltstack]: sysSigaltstack,
  [SYS_kill]: sysKill,
  [SYS_tkill]: sysTkill,
  [SYS_tgkill]: sysTgkill,
};
