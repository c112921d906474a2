/**
 * Job control on terminals (drivers/tty/tty_jobctrl.c): the controlling tty of a session,
 * the foreground process group, background reads/writes (tty_check_change → SIGTTIN/SIGTTOU),
 * TIOCSCTTY/TIOCNOTTY/TIOCGPGRP/TIOCSPGRP/TIOCGSID, and what a session leader's exit does
 * (disassociate_ctty: SIGHUP to the foreground group, or a hangup of a non-pty tty).
 *
 * Linux keeps the controlling tty in signal_struct->tty. Here a session's tty records its
 * session id (tty.session); a process's controlling tty is the tty of its session, unless it
 * gave it up with TIOCNOTTY (then an explicit entry says so). Processes forked before their
 * session leader acquired a tty therefore see it too (Linux would not: a known difference).
 */
import { EFAULT, EINVAL, EIO, ENOTTY, EPERM, ERESTARTSYS, ESRCH } from '../errno.js';
import type { Kernel } from '../kernel.js';
import type { File } from '../fs/file.js';
import { FMODE_READ } from '../fs/file.js';
import { getUser32, putUser32 } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import type { SignalStruct } from '../signal/sighand.js';
import { sendSigInfo } from '../signal/signal.js';
import { makeSiginfo } from '../signal/siginfo.js';
import { SIG_IGN, SIGCONT, SIGHUP, SIGTTIN, SI_KERNEL } from '../signal/signum.js';
import type { TtyStruct } from './tty_struct.js';

/** Every tty with open files or a session, per machine (for the controlling-tty lookup). */
const liveTtys = new WeakMap<Kernel, Set<TtyStruct>>();
/** signal->tty set explicitly: a tty (proc_set_tty) or null (TIOCNOTTY, proc_clear_tty). */
const explicitCtty = new WeakMap<SignalStruct, TtyStruct | null>();
/** Hook for hanging up a tty (tty_vhangup), installed by tty_io.ts to avoid an import cycle. */
let hangupHook: ((tty: TtyStruct) => void) | null = null;

export function setHangupHook(fn: (tty: TtyStruct) => void): void {
  hangupHook = fn;
}

export function ttyRegisterLive(kernel: Kernel, tty: TtyStruct): void {
  let s = liveTtys.get(kernel);
  if (!s) liveTtys.set(kernel, (s = new Set()));
  s.add(tty);
}

export function ttyUnregisterLive(kernel: Kernel, tty: TtyStruct): void {
  liveTtys.get(kernel)?.delete(tty);
}

/** Is this task its session's leader (signal->leader)? */
function isLeader(task: Task): boolean {
  return task.sid === task.tgid;
}

function alive(t: Task): boolean {
  return t.alive;
}

/** kill_pgrp(pgrp, sig, 1): a signal from the kernel (SEND_SIG_PRIV, si_code SI_KERNEL) to every process of the group. */
export function killPgrp(kernel: Kernel, pgrp: number, sig: number): void {
  for (const t of [...kernel.tasks.values()]) {
    if (t.pid === t.tgid && t.pgid === pgrp && alive(t)) sendSigInfo(t, sig, makeSiginfo(sig, SI_KERNEL), true);
  }
}

/**
 * A session whose processes are all gone cannot own a tty: forget it (what disassociate_ctty
 * did at its leader's exit, in case that hook did not run). Returns the tty's session after that.
 */
function ttySessionAlive(tty: TtyStruct): number {
  const kernel = tty.kernel;
  if (!kernel || tty.session === 0) return tty.session;
  for (const t of kernel.tasks.values()) if (t.sid === tty.session && alive(t)) return tty.session;
  tty.session = 0;
  tty.pgrp = 0;
  return 0;
}

/** get_current_tty: the task's controlling tty, or null. */
export function getCurrentTty(task: Task): TtyStruct | null {
  const e = explicitCtty.get(task.signal);
  if (e !== undefined) return e && e.session === task.sid && e.session !== 0 ? e : null;
  const s = liveTtys.get(task.kernel);
  if (!s || task.sid === 0) return null;
  for (const tty of s) if (tty.session === task.sid) return tty;
  return null;
}

/** __proc_set_tty: `tty` becomes the caller's controlling tty; its session and foreground group are the caller's. */
export function procSetTty(task: Task, tty: TtyStruct): void {
  tty.pgrp = task.pgid;
  tty.session = task.sid;
  explicitCtty.set(task.signal, tty);
  if (tty.kernel) ttyRegisterLive(tty.kernel, tty);
}

/**
 * tty_open_proc_set_tty: a session leader without a controlling tty that opens a tty (not
 * O_NOCTTY, not /dev/console, not a pty master), for reading, acquires it if it has no session.
 */
export function ttyOpenProcSetTty(task: Task, file: File, tty: TtyStruct): void {
  if ((file.mode & FMODE_READ) === 0) return;
  if (isLeader(task) && !getCurrentTty(task) && ttySessionAlive(tty) === 0) procSetTty(task, tty);
}

/** is_ignored(sig): blocked or SIG_IGN. */
function isIgnored(task: Task, sig: number): boolean {
  if (task.blocked & (1n << BigInt(sig - 1))) return true;
  return task.sighand.action[sig]!.handler === SIG_IGN;
}

/**
 * will_become_orphaned_pgrp(pgrp, NULL): no member has a parent in another group of the same
 * session (parents that are init, or exiting members, do not count).
 */
export function isOrphanedPgrp(kernel: Kernel, pgrp: number): boolean {
  for (const p of kernel.tasks.values()) {
    if (p.pid !== p.tgid || p.pgid !== pgrp || !alive(p)) continue;
    const parent = p.parent ?? kernel.findTask(p.ppid);
    if (!parent || parent === kernel.initTask || parent.tgid === 1) continue;
    if (parent.pgid !== pgrp && parent.sid === p.sid) return false;
  }
  return true;
}

/**
 * __tty_check_change: may this task act on the tty as a foreground process? A background
 * process gets `sig` (SIGTTIN for reads, SIGTTOU for writes and settings) sent to its group
 * and -ERESTARTSYS, or -EIO when the signal is ignored (SIGTTIN only) or its group is orphaned.
 */
export function ttyCheckChange(task: Task | null, tty: TtyStruct, sig: number): number {
  if (!task || getCurrentTty(task) !== tty) return 0;
  const pgrp = task.pgid;
  if (tty.pgrp && pgrp !== tty.pgrp) {
    if (isIgnored(task, sig)) return sig === SIGTTIN ? -EIO : 0;
    if (isOrphanedPgrp(task.kernel, pgrp)) return -EIO;
    killPgrp(task.kernel, pgrp, sig);
    return -ERESTARTSYS;
  }
  return 0;
}

/** session_clear_tty: nobody of the session has a controlling tty any more. */
function sessionClearTty(kernel: Kernel, sid: number): void {
  for (const t of kernel.tasks.values()) {
    if (t.sid === sid && explicitCtty.has(t.signal)) explicitCtty.set(t.signal, null);
  }
}

/**
 * disassociate_ctty(on_exit): a session leader lets go of its controlling tty. On exit a pty's
 * foreground group gets SIGHUP and another tty is hung up (tty_vhangup_session); on TIOCNOTTY
 * the foreground group gets SIGHUP and SIGCONT. The tty then belongs to no session.
 */
export function disassociateCtty(task: Task, onExit: boolean): void {
  if (!isLeader(task)) return;
  const tty = getCurrentTty(task);
  if (!tty) return;
  const kernel = task.kernel;
  if (onExit && tty.driverType !== 4 /* TTY_DRIVER_TYPE_PTY */) {
    hangupHook?.(tty);
  } else if (tty.pgrp) {
    killPgrp(kernel, tty.pgrp, SIGHUP);
    if (!onExit) killPgrp(kernel, tty.pgrp, SIGCONT);
  }
  tty.session = 0;
  tty.pgrp = 0;
  sessionClearTty(kernel, task.sid);
}

/**
 * What the exit path calls when a thread group dies (do_exit: `if (group_dead)
 * disassociate_ctty(1)`); it does nothing unless the process leads its session.
 */
export function ttyOnSessionLeaderExit(task: Task): void {
  disassociateCtty(task, true);
}

/** tty_signal_session_leader (part of __tty_hangup): SIGHUP + SIGCONT to the session's leader; the session loses its tty. */
export function ttySignalSessionLeader(tty: TtyStruct): void {
  const kernel = tty.kernel;
  if (!kernel || tty.session === 0) return;
  const sid = tty.session;
  for (const p of [...kernel.tasks.values()]) {
    if (p.pid !== p.tgid || p.sid !== sid || !alive(p)) continue;
    if (explicitCtty.has(p.signal)) explicitCtty.set(p.signal, null);
    if (p.tgid !== sid) continue;
    sendSigInfo(p, SIGHUP, makeSiginfo(SIGHUP, SI_KERNEL), true);
    sendSigInfo(p, SIGCONT, makeSiginfo(SIGCONT, SI_KERNEL), true);
  }
  tty.session = 0;
  tty.pgrp = 0;
}

/** Does any process of session `sid` belong to group `pgrp`? */
function pgrpInSession(kernel: Kernel, pgrp: number, sid: number): boolean | 'none' {
  let any = false;
  for (const t of kernel.tasks.values()) {
    if (t.pid !== t.tgid || t.pgid !== pgrp || !alive(t)) continue;
    any = true;
    if (t.sid === sid) return true;
  }
  return any ? false : 'none';
}

/**
 * tty_jobctrl_ioctl: TIOCNOTTY, TIOCSCTTY, TIOCGPGRP, TIOCSPGRP, TIOCGSID. `tty` is the file's
 * tty, `real` the slave for a pty master. Returns null for other commands.
 */
export function ttyJobctrlIoctl(
  tty: TtyStruct,
  real: TtyStruct,
  file: File,
  task: Task,
  cmd: number,
  arg: number,
): number | null {
  switch (cmd) {
    case 0x5422: // TIOCNOTTY
      if (getCurrentTty(task) !== tty) return -ENOTTY;
      // no_tty(): disassociate_ctty(0) + proc_clear_tty.
      disassociateCtty(task, false);
      explicitCtty.set(task.signal, null);
      return 0;
    case 0x540e: {
      // TIOCSCTTY (tiocsctty)
      if (isLeader(task) && task.sid === real.session) return 0;
      if (!isLeader(task) || getCurrentTty(task)) return -EPERM;
      if (ttySessionAlive(real)) {
        // Stealing (arg == 1) needs CAP_SYS_ADMIN: root.
        if (arg === 1 && task.cred.euid === 0) sessionClearTty(task.kernel, real.session);
        else return -EPERM;
      }
      if ((file.mode & FMODE_READ) === 0 && task.cred.euid !== 0) return -EPERM;
      procSetTty(task, real);
      return 0;
    }
    case 0x540f: {
      // TIOCGPGRP (tiocgpgrp): only on one's own controlling tty (a pty master may always ask).
      if (tty === real && getCurrentTty(task) !== real) return -ENOTTY;
      return putUser32(task.mm, arg, real.pgrp) < 0 ? -EFAULT : 0;
    }
    case 0x5410: {
      // TIOCSPGRP (tiocspgrp)
      const r = ttyCheckChange(task, real, 22 /* SIGTTOU */);
      if (r === -EIO) return -ENOTTY;
      if (r) return r;
      const pg = getUser32(task.mm, arg);
      if (pg === null) return -EFAULT;
      const pgrp = pg | 0;
      if (pgrp < 0) return -EINVAL;
      if (getCurrentTty(task) !== real || real.session !== task.sid) return -ENOTTY;
      const inSess = pgrpInSession(task.kernel, pgrp, task.sid);
      if (inSess === 'none') return -ESRCH;
      if (!inSess) return -EPERM;
      real.pgrp = pgrp;
      return 0;
    }
    case 0x5429: {
      // TIOCGSID (tiocgsid)
      if (tty === real && getCurrentTty(task) !== real) return -ENOTTY;
      if (!real.session) return -ENOTTY;
      return putUser32(task.mm, arg, real.session) < 0 ? -EFAULT : 0;
    }
  }
  return null;
}
