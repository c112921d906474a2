/**
 * Signals (kernel/signal.c): dispositions, masks, the alternate stack, sending (kill, tkill,
 * tgkill) and the delivery decision made on every return to user mode (get_signal).
 *
 * Running a user handler (building the rt_sigframe, rt_sigreturn) is not implemented yet:
 * a signal that would run a handler terminates the process instead, with a message on the
 * host's stderr saying so. Everything else is real: the bookkeeping is kept exactly, ignored
 * and default-ignored signals are discarded, blocked signals stay pending, and a signal whose
 * default action is fatal kills the process with that signal as its wait status.
 */
import { EFAULT, EINVAL, ENOMEM, EPERM, ESRCH } from '../errno.js';
import type { Task } from '../sched/task.js';
import { TaskState } from '../sched/task.js';
import type { SyscallTable } from '../syscall/types.js';
import { copyFromUser, copyToUser } from '../mm/uaccess.js';
import {
  SYS_kill,
  SYS_rt_sigaction,
  SYS_rt_sigpending,
  SYS_rt_sigprocmask,
  SYS_sigaltstack,
  SYS_tgkill,
  SYS_tkill,
} from '../syscall/numbers.js';
import {
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
  SIGKILL,
  SIG_BLOCK,
  SIG_DFL,
  SIG_IGN,
  SIG_SETMASK,
  SIG_UNBLOCK,
  SS_AUTODISARM,
  SS_DISABLE,
  SS_ONSTACK,
  UNBLOCKABLE,
  signalDescription,
  sigKernelCoredump,
  sigKernelIgnore,
  sigKernelStop,
  sigmask,
} from './signum.js';
import { doGroupExit } from '../sched/exit.js';

/** sizeof(sigset_t) on riscv64: 64 signals, one unsigned long. */
export const SIGSET_SIZE = 8;
/** UAPI_SA_FLAGS: the sa_flags bits that read back; unknown bits are cleared (do_sigaction). */
const UAPI_SA_FLAGS =
  SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER | SA_RESETHAND | SA_EXPOSE_TAGBITS;
const ALL_SIGNALS = (1n << 64n) - 1n;

/** A fault's details, kept for the handler's siginfo once handlers run (force_sig_fault). */
export interface FaultInfo {
  code: number;
  addr: number;
}

function readU64(b: Uint8Array, off: number): bigint {
  const v = new DataView(b.buffer, b.byteOffset + off, 8);
  return (BigInt(v.getUint32(4, true)) << 32n) | BigInt(v.getUint32(0, true));
}

function putU64(v: DataView, off: number, x: bigint): void {
  v.setUint32(off, Number(x & 0xffffffffn), true);
  v.setUint32(off + 4, Number((x >> 32n) & 0xffffffffn), true);
}

function putNum(v: DataView, off: number, x: number): void {
  v.setUint32(off, (x % 0x1_0000_0000) >>> 0, true);
  v.setUint32(off + 4, Math.floor(x / 0x1_0000_0000) >>> 0, true);
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

/** sig_ignored(): would this signal be discarded on arrival? */
function sigIgnored(task: Task, sig: number): boolean {
  if (task.blocked & sigmask(sig)) return false; // a blocked signal stays pending
  const h = task.sighand.action[sig]!.handler;
  return h === SIG_IGN || (h === SIG_DFL && sigKernelIgnore(sig));
}

/**
 * send_signal_locked(): queue `sig` for a thread (or, `shared`, for its whole process).
 * Returns 0; an ignored signal is dropped here as Linux does.
 */
export function sendSignal(task: Task, sig: number, shared: boolean): number {
  if (task.state === TaskState.ZOMBIE || task.state === TaskState.DEAD) return 0;
  if (sig !== SIGKILL && sigIgnored(task, sig)) return 0;
  if (shared) task.signal.sharedPending |= sigmask(sig);
  else task.pending |= sigmask(sig);
  // Interrupting a sleeping system call with -EINTR comes with signal handlers (a later
  // issue); until then a signal is acted on when the task next returns to user mode.
  return 0;
}

/**
 * force_sig_fault(): a synchronous signal from a trap. If the task blocks or ignores it, the
 * disposition is reset to SIG_DFL and the signal unblocked, so the fault cannot loop forever.
 */
export function forceSigFault(task: Task, sig: number, info: FaultInfo): void {
  const act = task.sighand.action[sig]!;
  const blocked = (task.blocked & sigmask(sig)) !== 0n;
  if (act.handler === SIG_IGN || blocked) {
    act.handler = SIG_DFL;
    task.blocked &= ~sigmask(sig);
  }
  task.lastFault = info;
  task.pending |= sigmask(sig);
}

/** Deliverable signals: pending (thread or process) and not blocked. */
export function signalPending(task: Task): boolean {
  if (task.pending === 0n && task.signal.sharedPending === 0n) return false; // no BigInt arithmetic on the common path
  return ((task.pending | task.signal.sharedPending) & ~task.blocked) !== 0n;
}

function lowestSignal(set: bigint): number {
  for (let sig = 1; sig <= NSIG; sig++) if (set & sigmask(sig)) return sig;
  return 0;
}

/**
 * get_signal(), run on the way back to user mode: take each deliverable signal and act on it.
 * Returns true when the task was killed.
 */
export function doSignal(task: Task): boolean {
  for (;;) {
    const deliverable = (task.pending | task.signal.sharedPending) & ~task.blocked;
    if (deliverable === 0n) return false;
    const sig = lowestSignal(deliverable);
    const bit = sigmask(sig);
    if (task.pending & bit) task.pending &= ~bit;
    else task.signal.sharedPending &= ~bit;
    const act = task.sighand.action[sig]!;
    if (act.handler === SIG_IGN) continue;
    if (act.handler === SIG_DFL) {
      if (sigKernelIgnore(sig)) continue;
      if (sigKernelStop(sig)) {
        task.kernel.warn(
          `${task.comm}[${task.pid}]: signal ${sig} would stop the process; job control is not implemented yet, ignored`,
        );
        continue;
      }
      killBySignal(task, sig);
      return true;
    }
    task.kernel.warn(
      `${task.comm}[${task.pid}]: signal ${sig} (${signalDescription(sig)}) has a handler, but running signal handlers is not implemented yet; terminating`,
    );
    killBySignal(task, sig);
    return true;
  }
}

/** do_group_exit(sig): the default action "terminate" (no core file is written: RLIMIT_CORE is 0). */
function killBySignal(task: Task, sig: number): void {
  if (sigKernelCoredump(sig)) {
    // show_unhandled_signals (arch/riscv/kernel/traps.c do_trap): one line in the kernel log.
    const k = task.kernel;
    const pc = k.current === task ? k.hart.pc : task.context.pc;
    const f = task.lastFault;
    const at = f ? ` code 0x${f.code.toString(16)} at 0x${f.addr.toString(16)}` : '';
    k.log(`${task.comm}[${task.pid}]: unhandled signal ${sig}${at} pc 0x${pc.toString(16)}`);
  }
  doGroupExit(task, sig);
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
    cur.flags = next.flags;
    cur.mask = next.mask;
    // POSIX 3.3.1.3: setting SIG_IGN (or SIG_DFL for a default-ignored signal) discards pending ones.
    if (next.handler === SIG_IGN || (next.handler === SIG_DFL && sigKernelIgnore(sig))) {
      const bit = sigmask(sig);
      task.signal.sharedPending &= ~bit;
      for (const t of task.kernel.threadGroup(task.tgid)) t.pending &= ~bit;
    }
  }
  if (oactVa !== 0) {
    const b = new Uint8Array(24);
    const v = new DataView(b.buffer);
    putNum(v, 0, old.handler);
    putNum(v, 8, old.flags & UAPI_SA_FLAGS);
    putU64(v, 16, old.mask);
    if (copyToUser(task.mm, oactVa, b) < 0) return -EFAULT;
  }
  return 0;
}

function sysRtSigprocmask(task: Task, how: number, setVa: number, osetVa: number, sigsetsize: number): number {
  if (sigsetsize !== SIGSET_SIZE) return -EINVAL;
  const old = task.blocked;
  if (setVa !== 0) {
    const s = readSigset(task, setVa);
    if (typeof s === 'number') return s;
    const set = s & ~UNBLOCKABLE;
    switch (how | 0) {
      case SIG_BLOCK:
        task.blocked = old | set;
        break;
      case SIG_UNBLOCK:
        task.blocked = old & ~set;
        break;
      case SIG_SETMASK:
        task.blocked = set;
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

/** on_sig_stack(sp). */
function onSigStack(task: Task, sp: number): boolean {
  return task.sas.size !== 0 && sp > task.sas.sp && sp - task.sas.sp <= task.sas.size;
}

function userSp(task: Task): number {
  if (task.kernel.current === task) return task.kernel.hart.getReg(2);
  const x = task.context.x;
  return x[5]! * 0x1_0000_0000 + (x[4]! >>> 0);
}

/** do_sigaltstack(); stack_t is { void *ss_sp; int ss_flags; size_t ss_size; } (24 bytes). */
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
    flags:
      (task.sas.size === 0 ? SS_DISABLE : onSigStack(task, sp) ? SS_ONSTACK : 0) | (task.sas.flags & SS_AUTODISARM),
  };
  if (ss) {
    if (onSigStack(task, sp)) return -EPERM;
    const mode = ss.flags & ~SS_AUTODISARM;
    if (mode !== SS_DISABLE && mode !== SS_ONSTACK && mode !== 0) return -EINVAL;
    if (mode === SS_DISABLE) {
      ss.size = 0;
      ss.sp = 0;
    } else if (ss.size < MINSIGSTKSZ) {
      return -ENOMEM;
    }
    task.sas = { sp: ss.sp, size: ss.size, flags: ss.flags };
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

/** check_kill_permission(): same real/effective uid as the target's real/saved uid, or root. */
function mayKill(sender: Task, target: Task): boolean {
  const s = sender.cred;
  const t = target.cred;
  return s.euid === 0 || s.euid === t.suid || s.euid === t.uid || s.uid === t.suid || s.uid === t.uid;
}

function groupLeaders(task: Task): Task[] {
  const out: Task[] = [];
  for (const t of task.kernel.tasks.values()) {
    if (t.pid === t.tgid && t.state !== TaskState.ZOMBIE && t.state !== TaskState.DEAD) out.push(t);
  }
  return out;
}

/** kill_something_info(). Process groups are not modelled yet: a process is its own group. */
function sysKill(task: Task, pid: number, sig: number): number {
  pid |= 0;
  sig |= 0;
  if (sig < 0 || sig > NSIG) return -EINVAL;
  let targets: Task[];
  if (pid > 0) {
    const t = task.kernel.findTask(pid);
    if (!t || t.pid !== t.tgid || t.state === TaskState.ZOMBIE) return -ESRCH;
    targets = [t];
  } else if (pid === 0 || pid === -task.tgid) {
    targets = [task.kernel.findTask(task.tgid) ?? task];
  } else if (pid === -1) {
    // Everyone but init and the caller.
    targets = groupLeaders(task).filter((t) => t.tgid !== 1 && t.tgid !== task.tgid);
    if (targets.length === 0) return -ESRCH;
  } else {
    return -ESRCH;
  }
  let ret = -EPERM;
  for (const t of targets) {
    if (!mayKill(task, t)) continue;
    ret = 0;
    if (sig !== 0) sendSignal(t, sig, true);
  }
  return ret;
}

function doTkill(task: Task, tgid: number, tid: number, sig: number): number {
  if (sig < 0 || sig > NSIG) return -EINVAL;
  const t = task.kernel.findTask(tid);
  if (!t || (tgid > 0 && t.tgid !== tgid) || t.state === TaskState.ZOMBIE) return -ESRCH;
  if (!mayKill(task, t)) return -EPERM;
  if (sig !== 0) sendSignal(t, sig, false);
  return 0;
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
  [SYS_sigaltstack]: sysSigaltstack,
  [SYS_kill]: sysKill,
  [SYS_tkill]: sysTkill,
  [SYS_tgkill]: sysTgkill,
};
