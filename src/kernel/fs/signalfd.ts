/**
 * signalfd (fs/signalfd.c): read the calling task's pending signals of a mask as 128-byte
 * struct signalfd_siginfo records, taking them off the queue as delivery would.
 *
 * A signal queued for a task (send_signal_locked) calls signalfd_notify through the hook
 * signal.ts offers (`setSignalQueuedHook`), which wakes the readers and pollers of that task's
 * signalfds; reads take signals off the queue with the same dequeue_signal delivery uses.
 */
import * as E from '../errno.js';
import type { Kernel } from '../kernel.js';
import { copyFromUser } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import { sleepOn, WaitQueue } from '../sched/wait.js';
import { dequeueSignal, setSignalQueuedHook } from '../signal/signal.js';
import { SIGCHLD, SIGIO, SIGKILL, SIGSTOP, SIGSYS, sigmask as sigmaskOf } from '../signal/signum.js';
import { anonInodeGetfile, noopLlseek } from './anon_inodes.js';
import type { File, FileOperations, Kiocb } from './file.js';
import type { IovIter } from './iov_iter.js';
import { pollingTask, POLLIN, POLLRDNORM } from './select.js';
import { O_CLOEXEC, O_NONBLOCK, O_RDWR } from './uapi.js';

export const SFD_CLOEXEC = O_CLOEXEC;
export const SFD_NONBLOCK = O_NONBLOCK;
const SIGNALFD_SIGINFO_SIZE = 128;
const SIGSET_SIZE = 8;
const ALL64 = (1n << 64n) - 1n;

/** struct signalfd_ctx. */
class SignalfdCtx {
  readonly wqh = new WaitQueue();
  constructor(
    readonly kernel: Kernel,
    public sigmask: bigint,
  ) {}
}

function ctxOf(file: File): SignalfdCtx | null {
  return file.private_ instanceof SignalfdCtx ? file.private_ : null;
}

/** Signals of `mask` pending for `task` (its own or its process's): signalfd_poll's test. */
function pendingIn(task: Task, mask: bigint): boolean {
  if (task.pending === 0n && task.signal.sharedPending === 0n) return false;
  return ((task.pending | task.signal.sharedPending) & mask) !== 0n;
}

// ---- waking waiters: signalfd_notify, or the re-check timer until signal.ts calls it ----

interface Watcher {
  task: Task;
  ctx: SignalfdCtx;
  cb: () => void;
}

const watchers = new Set<Watcher>();

/** Wake the watchers of `task` that have a signal of their mask pending (spurious wakes re-check). */
function checkWatchers(task: Task): void {
  for (const w of [...watchers]) {
    if (w.task.tgid === task.tgid && pendingIn(w.task, w.ctx.sigmask)) w.cb();
  }
}

function addWatcher(w: Watcher): () => void {
  watchers.add(w);
  return () => {
    watchers.delete(w);
  };
}

/** signalfd_notify(task): a signal was queued for `task` (or its process): wake its signalfd waiters. */
export function signalfdNotify(task: Task): void {
  if (watchers.size > 0) checkWatchers(task);
}
setSignalQueuedHook(signalfdNotify);

/** dequeue_signal(current, mask): the next pending signal of `mask` and its 128-byte siginfo, or null. */
function takeSignal(task: Task, mask: bigint): { sig: number; info: Uint8Array } | null {
  return dequeueSignal(task, mask);
}

// ---- signalfd_siginfo ----

// siginfo_layout() codes.
const SIL_KILL = 0;
const SIL_TIMER = 1;
const SIL_POLL = 2;
const SIL_FAULT = 3;
const SIL_CHLD = 4;
const SIL_RT = 5;
const SIL_SYS = 6;
const SI_KERNEL = 0x80;
const SI_TIMER = -2;
const SI_SIGIO = -5;

/** siginfo_layout(sig, si_code) (kernel/signal.c). */
function siginfoLayout(sig: number, code: number): number {
  if (code > 0 && code < SI_KERNEL) {
    // filter[]: SIGILL 11, SIGFPE 15, SIGSEGV 10, SIGBUS 5, SIGTRAP 6 codes are faults; SIGCHLD 6; SIGPOLL 6; SIGSYS 2.
    const limits: Record<number, [number, number]> = {
      4: [11, SIL_FAULT],
      8: [15, SIL_FAULT],
      11: [10, SIL_FAULT],
      7: [5, SIL_FAULT],
      5: [6, SIL_FAULT],
      [SIGCHLD]: [6, SIL_CHLD],
      [SIGIO]: [6, SIL_POLL],
      [SIGSYS]: [2, SIL_SYS],
    };
    const f = limits[sig];
    if (f && code <= f[0]) return f[1];
    if (code <= 6) return SIL_POLL;
    return SIL_KILL;
  }
  if (code === SI_TIMER) return SIL_TIMER;
  if (code === SI_SIGIO) return SIL_POLL;
  if (code < 0) return SIL_RT;
  return SIL_KILL;
}

/** signalfd_copyinfo: kernel siginfo (riscv64 layout) → struct signalfd_siginfo. */
function signalfdSiginfo(info: Uint8Array): Uint8Array {
  const i = new DataView(info.buffer, info.byteOffset, 128);
  const o = new Uint8Array(SIGNALFD_SIGINFO_SIZE);
  const s = new DataView(o.buffer);
  const signo = i.getInt32(0, true);
  const code = i.getInt32(8, true);
  s.setUint32(0, signo, true); // ssi_signo
  s.setInt32(4, i.getInt32(4, true), true); // ssi_errno
  s.setInt32(8, code, true); // ssi_code
  const copy64 = (dst: number, src: number): void => {
    s.setUint32(dst, i.getUint32(src, true), true);
    s.setUint32(dst + 4, i.getUint32(src + 4, true), true);
  };
  switch (siginfoLayout(signo, code)) {
    case SIL_KILL:
      s.setUint32(12, i.getUint32(16, true), true); // ssi_pid
      s.setUint32(16, i.getUint32(20, true), true); // ssi_uid
      break;
    case SIL_TIMER:
      s.setUint32(24, i.getUint32(16, true), true); // ssi_tid = si_tid
      s.setUint32(32, i.getUint32(20, true), true); // ssi_overrun
      copy64(48, 24); // ssi_ptr
      s.setInt32(44, i.getInt32(24, true), true); // ssi_int
      break;
    case SIL_POLL:
      s.setUint32(28, i.getUint32(16, true), true); // ssi_band (low half of si_band)
      s.setInt32(20, i.getInt32(24, true), true); // ssi_fd
      break;
    case SIL_FAULT:
      copy64(72, 16); // ssi_addr
      break;
    case SIL_CHLD:
      s.setUint32(12, i.getUint32(16, true), true);
      s.setUint32(16, i.getUint32(20, true), true);
      s.setInt32(40, i.getInt32(24, true), true); // ssi_status
      copy64(56, 32); // ssi_utime
      copy64(64, 40); // ssi_stime
      break;
    case SIL_RT:
      s.setUint32(12, i.getUint32(16, true), true);
      s.setUint32(16, i.getUint32(20, true), true);
      copy64(48, 24); // ssi_ptr
      s.setInt32(44, i.getInt32(24, true), true); // ssi_int
      break;
    case SIL_SYS:
      copy64(88, 16); // ssi_call_addr
      s.setInt32(84, i.getInt32(24, true), true); // ssi_syscall
      s.setUint32(96, i.getUint32(28, true), true); // ssi_arch
      break;
  }
  return o;
}

// ---- the file ----

/** signalfd_read: as many records as fit; only the first may wait. */
function signalfdRead(iocb: Kiocb, to: IovIter): number | Promise<number> {
  const ctx = ctxOf(iocb.file)!;
  const count = Math.floor(to.count / SIGNALFD_SIGINFO_SIZE);
  if (count === 0) return -E.EINVAL;
  const task = ctx.kernel.current;
  if (!task) return -E.EAGAIN;
  let total = 0;
  /** Take what is there now: bytes copied, or -errno / null (nothing yet). */
  const take = (): number | null => {
    while (total < count * SIGNALFD_SIGINFO_SIZE) {
      const got = takeSignal(task, ctx.sigmask);
      if (got === null) break;
      if (typeof got === 'number') return total > 0 ? total : got;
      if (to.copyTo(signalfdSiginfo(got.info)) !== SIGNALFD_SIGINFO_SIZE) return total > 0 ? total : -E.EFAULT;
      total += SIGNALFD_SIGINFO_SIZE;
    }
    return total > 0 ? total : null;
  };
  const r = take();
  if (r !== null) return r;
  if (iocb.flags & O_NONBLOCK) return -E.EAGAIN;
  return (async () => {
    let wake: (() => void) | null = null;
    const remove = addWatcher({ task, ctx, cb: () => wake?.() });
    try {
      for (;;) {
        const woken = new Promise<void>((res) => {
          wake = res;
        });
        const s = await sleepOn(task, ctx.wqh, {}, woken);
        const r2 = take();
        if (r2 !== null) return r2;
        if (s !== 0) return s;
      }
    } finally {
      remove();
    }
  })();
}

/** signalfd_poll: readable while a signal of the mask is pending for the polling task. */
function signalfdPoll(file: File): number {
  const ctx = ctxOf(file);
  const task = ctx ? pollingTask(ctx.kernel.current) : null;
  if (!ctx || !task) return 0;
  return pendingIn(task, ctx.sigmask) ? POLLIN | POLLRDNORM : 0;
}

const signalfdFops: FileOperations = {
  readIter: signalfdRead,
  llseek: noopLlseek,
  poll: signalfdPoll,
  pollAdd(file: File, cb: (key?: number) => void): () => void {
    const ctx = ctxOf(file);
    const task = ctx ? pollingTask(ctx.kernel.current) : null;
    if (!ctx || !task) return () => {};
    // The task whose signals are watched is the one registering (current), as signalfd_poll's.
    return addWatcher({ task, ctx, cb: () => cb(POLLIN) });
  },
  release(file: File): void {
    ctxOf(file)?.wqh.wakeUp();
  },
};

/** signalfd4(ufd, user_mask, sizemask, flags). */
export function sysSignalfd4(task: Task, ufd: number, umask: number, sizemask: number, flags: number): number {
  const fl = flags | 0;
  if (fl & ~(SFD_CLOEXEC | SFD_NONBLOCK)) return -E.EINVAL;
  if (sizemask !== SIGSET_SIZE) return -E.EINVAL;
  const b = copyFromUser(task.mm, umask, SIGSET_SIZE);
  if (typeof b === 'number') return -E.EFAULT;
  const v = new DataView(b.buffer, b.byteOffset, 8);
  let mask = (BigInt(v.getUint32(4, true)) << 32n) | BigInt(v.getUint32(0, true));
  // signotset + sigdelsetmask(SIGKILL, SIGSTOP): these can never be read.
  mask &= ~(sigmaskOf(SIGKILL) | sigmaskOf(SIGSTOP)) & ALL64;
  const fd = ufd | 0;
  if (fd === -1) {
    const ctx = new SignalfdCtx(task.kernel, mask);
    const file = anonInodeGetfile(task.kernel, '[signalfd]', signalfdFops, ctx, O_RDWR | (fl & O_NONBLOCK));
    const nfd = task.files.install(file, (fl & SFD_CLOEXEC) !== 0);
    if (nfd < 0) file.put();
    return nfd;
  }
  const f = task.files.get(fd);
  if (!f) return -E.EBADF;
  const ctx = ctxOf(f);
  if (!ctx) return -E.EINVAL;
  ctx.sigmask = mask;
  ctx.wqh.wakeUp();
  signalfdNotify(task);
  return fd;
}
