/**
 * Waiting on many file descriptors at once (fs/select.c): ppoll (do_sys_poll / do_poll) and
 * pselect6 (core_sys_select / do_select), plus the poll-table machinery epoll shares.
 *
 * riscv64 has only the "p" variants (ppoll 73, pselect6 72); glibc builds poll() and select()
 * on them. Each file reports its readiness through f_op->poll (files without one are always
 * ready: DEFAULT_POLLMASK). When nothing is ready the caller sleeps until a polled file's wait
 * queue is woken, the timeout passes or a signal arrives: files register a wake callback with
 * FileOperations.pollAdd (the poll_table's __pollwait adding an entry to the file's wait queue),
 * and files that only have the older pollWait promise are raced. The sigmask argument is
 * installed for the duration of the call (set_user_sigmask) and the remaining time is written
 * back to the user's timeout (poll_select_finish), so a restarted call waits only what is left.
 */
import * as E from '../errno.js';
import { copyFromUser, copyToUser } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import type { File } from './file.js';
import { sleepOn, WaitQueue, type Sleeper } from '../sched/wait.js';
import { restoreSavedSigmaskUnless, setUserSigmask } from '../signal/signal.js';
import * as N from '../syscall/numbers.js';
import type { SyscallTable } from '../syscall/types.js';
import { sysEpollCreate1, sysEpollCtl, sysEpollPwait, sysEpollPwait2 } from './eventpoll.js';
import { sysEventfd2 } from './eventfd.js';
import { sysSignalfd4 } from './signalfd.js';
import { sysTimerfdCreate, sysTimerfdGettime, sysTimerfdSettime } from './timerfd.js';

export const POLLIN = 0x1;
export const POLLPRI = 0x2;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;
export const POLLRDNORM = 0x40;
export const POLLRDBAND = 0x80;
export const POLLWRNORM = 0x100;
export const POLLWRBAND = 0x200;
export const POLLMSG = 0x400;
export const POLLRDHUP = 0x2000;
export const DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

// do_select's sets (fs/select.c).
const POLLIN_SET = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
const POLLOUT_SET = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
const POLLEX_SET = POLLPRI;

/**
 * The task on whose behalf files are being polled. A scan that resumes after a sleep runs as a
 * Promise continuation, when kernel.current may be another task; f_op->poll implementations
 * that depend on `current` (signalfd_poll) read this instead. Set by pollAs().
 */
let poller: Task | null = null;

/** The polling task: the one pollAs() names, else the kernel's current task. */
export function pollingTask(kernelCurrent: Task | null): Task | null {
  return poller ?? kernelCurrent;
}

/** Run `fn` as `task`'s poll scan (see `poller`). */
export function pollAs<T>(task: Task, fn: () => T): T {
  const prev = poller;
  poller = task;
  try {
    return fn();
  } finally {
    poller = prev;
  }
}

/** vfs_poll without a poll table: the file's readiness now. */
export function vfsPoll(f: File): number {
  return f.op.poll ? f.op.poll(f) : DEFAULT_POLLMASK;
}

/**
 * A persistent wake callback on wait queues (what __pollwait / ep_ptable_queue_proc add with
 * init_waitqueue_func_entry): `cb(key)` runs at every wake-up of any of `queues` until the
 * returned remover is called. `keys[i]` is the poll mask a wake-up of queues[i] stands for
 * (Linux passes it as the wake-up key, e.g. pipe_read wakes wr_wait with EPOLLOUT), so epoll
 * can ignore wake-ups that cannot concern an item (ep_poll_callback's key test).
 * File types use it to implement FileOperations.pollAdd.
 */
export function waitQueuePollAdd(
  queues: readonly WaitQueue[],
  keys: readonly number[],
  cb: (key?: number) => void,
): () => void {
  let live = true;
  const entries: Sleeper[] = queues.map((q, i) => {
    const s: Sleeper = {
      wake(): void {
        if (!live) return;
        // WaitQueue wake-ups are one-shot: stay on the queue (a wait_queue_entry stays until removed).
        q.add(s);
        cb(keys[i] ?? 0);
      },
    };
    q.add(s);
    return s;
  });
  return () => {
    live = false;
    queues.forEach((q, i) => q.remove(entries[i]!));
  };
}

/**
 * struct poll_wqueues for one ppoll/pselect6/epoll_wait: the wake callbacks registered on the
 * polled files (poll_initwait / __pollwait / poll_freewait) and the sleep that they end
 * (poll_schedule_timeout). A wake-up between a scan and the sleep is not lost: `triggered`
 * (pwq->triggered) makes the next sleep return at once.
 */
export class PollWqueues {
  private readonly removers: (() => void)[] = [];
  /** Files with only the one-shot pollWait promise: re-armed before each sleep. */
  private readonly legacy: File[] = [];
  private readonly wq = new WaitQueue();
  private triggered = false;
  private readonly seen = new Set<File>();
  readonly wake = (): void => {
    this.triggered = true;
    this.wq.wakeUp();
  };

  /** poll_wait(file, ...): register once per file (files with neither hook are always ready and never wake us). */
  add(f: File): void {
    if (this.seen.has(f)) return;
    this.seen.add(f);
    if (f.op.pollAdd) this.removers.push(f.op.pollAdd(f, this.wake));
    else if (f.op.pollWait) this.legacy.push(f);
  }

  /** poll_schedule_timeout: 0 woken, -ETIMEDOUT, -ERESTARTSYS (signal). */
  async sleep(task: Task, deadlineNs: number | undefined): Promise<number> {
    if (this.triggered) {
      this.triggered = false;
      return 0;
    }
    const promise = this.legacy.length > 0 ? Promise.race(this.legacy.map((f) => f.op.pollWait!(f))) : undefined;
    const r = await sleepOn(task, this.wq, deadlineNs === undefined ? {} : { deadlineNs }, promise);
    this.triggered = false;
    return r;
  }

  /** poll_freewait. */
  free(): void {
    for (const r of this.removers) r();
    this.removers.length = 0;
    this.legacy.length = 0;
    this.seen.clear();
  }
}

/** A user timespec → ns; -EFAULT / -EINVAL (poll_select_set_timeout's timespec64_valid). */
export function readTimespecNs(task: Task, va: number): number {
  const t = copyFromUser(task.mm, va, 16);
  if (typeof t === 'number') return -E.EFAULT;
  const tv = new DataView(t.buffer, t.byteOffset, 16);
  const secHi = tv.getInt32(4, true);
  const nsecHi = tv.getInt32(12, true);
  const sec = tv.getUint32(0, true) + secHi * 4294967296;
  const nsec = tv.getUint32(8, true) + nsecHi * 4294967296;
  if (sec < 0 || nsec < 0 || nsec >= 1e9) return -E.EINVAL;
  // Beyond ~285 years the deadline is "forever" for us (Linux clamps to KTIME_MAX as well).
  return sec * 1e9 + nsec;
}

/** ns → struct timespec bytes. */
export function timespecBytes(ns: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  const sec = Math.floor(ns / 1e9);
  const nsec = Math.round(ns - sec * 1e9);
  v.setUint32(0, sec >>> 0, true);
  v.setUint32(4, Math.floor(sec / 4294967296), true);
  v.setUint32(8, nsec, true);
  return b;
}

/** The absolute CLOCK_MONOTONIC end time of a timeout (poll_select_set_timeout); undefined = forever. */
function endTime(task: Task, timeoutNs: number): number | undefined {
  if (timeoutNs < 0) return undefined;
  if (timeoutNs === 0) return 0;
  const end = task.kernel.clock.monotonicNs() + timeoutNs;
  return Number.isFinite(end) && timeoutNs < 1e18 ? end : undefined;
}

/**
 * poll_select_finish: put the sigmask back (unless a handler is about to run), write the
 * remaining time to the user's timespec (not for a zero timeout). If that write faults the call
 * cannot be restarted with the right timeout: -ERESTARTNOHAND becomes -EINTR.
 */
function pollSelectFinish(task: Task, utmo: number, end: number | undefined, timeoutNs: number, ret: number): number {
  restoreSavedSigmaskUnless(task, ret === -E.ERESTARTNOHAND);
  if (utmo === 0 || timeoutNs <= 0) return ret;
  let rem = 0;
  if (end !== undefined) rem = Math.max(0, end - task.kernel.clock.monotonicNs());
  else rem = timeoutNs; // an "infinite" (over-long) timeout: leave it as it was
  if (copyToUser(task.mm, utmo, timespecBytes(rem)) < 0) return ret === -E.ERESTARTNOHAND ? -E.EINTR : ret;
  return ret;
}

/** One pass over the pollfd array (do_pollfd for each): fills revents, returns the ready count. */
function doPollfds(task: Task, v: DataView, n: number, wait: PollWqueues | null): number {
  let count = 0;
  for (let i = 0; i < n; i++) {
    const fd = v.getInt32(i * 8, true);
    const events = v.getUint16(i * 8 + 4, true);
    let rev = 0;
    if (fd >= 0) {
      const f = task.files.get(fd);
      if (!f) rev = POLLNVAL;
      else {
        if (wait) wait.add(f);
        rev = vfsPoll(f) & (events | POLLERR | POLLHUP);
      }
    }
    v.setUint16(i * 8 + 6, rev, true);
    if (rev) count++;
  }
  return count;
}

/** ppoll(ufds, nfds, tsp, sigmask, sigsetsize): do_sys_poll under a temporary sigmask. */
export function sysPpoll(
  task: Task,
  ufds: number,
  nfds: number,
  utmo: number,
  usigmask: number,
  sigsetsize: number,
): number | Promise<number> {
  let timeoutNs = -1;
  if (utmo !== 0) {
    timeoutNs = readTimespecNs(task, utmo);
    if (timeoutNs < 0) return timeoutNs;
  }
  const m = setUserSigmask(task, usigmask, sigsetsize);
  if (m < 0) return m;
  const end = endTime(task, timeoutNs);
  const finish = (r: number): number => pollSelectFinish(task, utmo, end, timeoutNs, r);
  // do_sys_poll: nfds is an unsigned int, limited by RLIMIT_NOFILE.
  const n = nfds >>> 0;
  if (n > task.files.rlimitNofile) return finish(-E.EINVAL);
  const raw = n === 0 ? new Uint8Array(0) : copyFromUser(task.mm, ufds, n * 8);
  if (typeof raw === 'number') return finish(-E.EFAULT);
  const pfds = new Uint8Array(raw);
  const v = new DataView(pfds.buffer, pfds.byteOffset, pfds.byteLength);
  const done = (count: number): number => {
    // Even an interrupted poll copies revents back (do_sys_poll's out_fds loop).
    if (n > 0 && copyToUser(task.mm, ufds, pfds) < 0) return finish(-E.EFAULT);
    return finish(count);
  };
  const c = doPollfds(task, v, n, null);
  if (c > 0 || end === 0) return done(c);
  const wait = new PollWqueues();
  // do_poll: scan (registering the wake callbacks), sleep, scan again; after the timeout one
  // last scan. A signal ends it with -EINTR, which ppoll turns into -ERESTARTNOHAND.
  return (async () => {
    try {
      let timedOut = false;
      for (;;) {
        const r = pollAs(task, () => doPollfds(task, v, n, wait));
        if (r > 0 || timedOut) return done(r);
        const s = await wait.sleep(task, end);
        if (s === -E.ETIMEDOUT) timedOut = true;
        else if (s !== 0) return done(-E.ERESTARTNOHAND);
      }
    } finally {
      wait.free();
    }
  })();
}

/** The fd table size Linux would have (fdt->max_fds: 64, then multiples of 128 rounded to powers of two). */
function maxFds(task: Task): number {
  const used = task.files.maxFds;
  if (used <= 64) return 64;
  let nr = Math.ceil(used / 128);
  nr = 2 ** Math.ceil(Math.log2(nr + 1));
  return nr * 128;
}

/** Read a user fd_set of `n` bits (get_fd_set): FDS_BYTES(n) bytes of unsigned longs; null pointer → zeros. */
function getFdSet(task: Task, va: number, bytes: number): Uint8Array | number {
  if (va === 0) return new Uint8Array(bytes);
  const b = copyFromUser(task.mm, va, bytes);
  return typeof b === 'number' ? -E.EFAULT : new Uint8Array(b);
}

/**
 * core_sys_select + do_select: `n` is clamped to the fd table size; a set bit for a closed fd
 * is -EBADF; each ready (fd, set) pair counts one. Result sets replace the input sets.
 */
function coreSysSelect(
  task: Task,
  nfds: number,
  inp: number,
  outp: number,
  exp: number,
  end: number | undefined,
): number | Promise<number> {
  let n = nfds | 0;
  if (n < 0) return -E.EINVAL;
  n = Math.min(n, maxFds(task));
  const bytes = Math.ceil(n / 64) * 8;
  const ins = getFdSet(task, inp, bytes);
  if (typeof ins === 'number') return ins;
  const outs = getFdSet(task, outp, bytes);
  if (typeof outs === 'number') return outs;
  const exs = getFdSet(task, exp, bytes);
  if (typeof exs === 'number') return exs;
  const bit = (s: Uint8Array, fd: number): boolean => (s[fd >> 3]! & (1 << (fd & 7))) !== 0;
  // max_select_fd: every fd named in any set must be open.
  for (let fd = 0; fd < n; fd++) {
    if ((bit(ins, fd) || bit(outs, fd) || bit(exs, fd)) && !task.files.get(fd)) return -E.EBADF;
  }
  const rin = new Uint8Array(bytes);
  const rout = new Uint8Array(bytes);
  const rex = new Uint8Array(bytes);
  const scan = (wait: PollWqueues | null): number => {
    rin.fill(0);
    rout.fill(0);
    rex.fill(0);
    let retval = 0;
    for (let fd = 0; fd < n; fd++) {
      const i = bit(ins, fd);
      const o = bit(outs, fd);
      const x = bit(exs, fd);
      if (!i && !o && !x) continue;
      const f = task.files.get(fd);
      if (!f) continue; // closed by another thread meanwhile
      if (wait) wait.add(f);
      const mask = vfsPoll(f);
      const m8 = 1 << (fd & 7);
      if (i && mask & POLLIN_SET) {
        rin[fd >> 3]! |= m8;
        retval++;
      }
      if (o && mask & POLLOUT_SET) {
        rout[fd >> 3]! |= m8;
        retval++;
      }
      if (x && mask & POLLEX_SET) {
        rex[fd >> 3]! |= m8;
        retval++;
      }
    }
    return retval;
  };
  const writeBack = (ret: number): number => {
    if (ret < 0) return ret;
    // set_fd_set: only the sets that were passed.
    if (inp !== 0 && copyToUser(task.mm, inp, rin) < 0) return -E.EFAULT;
    if (outp !== 0 && copyToUser(task.mm, outp, rout) < 0) return -E.EFAULT;
    if (exp !== 0 && copyToUser(task.mm, exp, rex) < 0) return -E.EFAULT;
    return ret;
  };
  const c = scan(null);
  if (c > 0 || end === 0) return writeBack(c);
  const wait = new PollWqueues();
  return (async () => {
    try {
      let timedOut = false;
      for (;;) {
        const r = pollAs(task, () => scan(wait));
        if (r > 0 || timedOut) return writeBack(r);
        const s = await wait.sleep(task, end);
        if (s === -E.ETIMEDOUT) timedOut = true;
        else if (s !== 0) return -E.ERESTARTNOHAND; // the sets are left untouched
      }
    } finally {
      wait.free();
    }
  })();
}

/**
 * pselect6(n, inp, outp, exp, tsp, sig): sig points to { const sigset_t *ss; size_t ss_len }
 * (the sixth argument is a pointer because syscalls have only six). Remaining time is written
 * back to *tsp as Linux does.
 */
export function sysPselect6(
  task: Task,
  nfds: number,
  inp: number,
  outp: number,
  exp: number,
  utmo: number,
  usig: number,
): number | Promise<number> {
  let timeoutNs = -1;
  if (utmo !== 0) {
    timeoutNs = readTimespecNs(task, utmo);
    if (timeoutNs < 0) return timeoutNs;
  }
  let ss = 0;
  let ssLen = 0;
  if (usig !== 0) {
    const b = copyFromUser(task.mm, usig, 16);
    if (typeof b === 'number') return -E.EFAULT;
    const v = new DataView(b.buffer, b.byteOffset, 16);
    ss = v.getUint32(0, true) + v.getUint32(4, true) * 4294967296;
    ssLen = v.getUint32(8, true) + v.getUint32(12, true) * 4294967296;
  }
  const m = setUserSigmask(task, ss, ssLen);
  if (m < 0) return m;
  const end = endTime(task, timeoutNs);
  const r = coreSysSelect(task, nfds, inp, outp, exp, end);
  if (typeof r === 'number') return pollSelectFinish(task, utmo, end, timeoutNs, r);
  return r.then((x) => pollSelectFinish(task, utmo, end, timeoutNs, x));
}

/**
 * The system calls of the poll family (select.c, eventpoll.c, eventfd.c, timerfd.c, signalfd.c).
 * ppoll stays registered in fs/syscalls.ts (fsSyscalls), where the VFS unit tests look it up.
 */
export const pollSyscalls: SyscallTable = {
  [N.SYS_pselect6]: sysPselect6,
  [N.SYS_epoll_create1]: sysEpollCreate1,
  [N.SYS_epoll_ctl]: sysEpollCtl,
  [N.SYS_epoll_pwait]: sysEpollPwait,
  [N.SYS_epoll_pwait2]: sysEpollPwait2,
  [N.SYS_eventfd2]: sysEventfd2,
  [N.SYS_signalfd4]: sysSignalfd4,
  [N.SYS_timerfd_create]: sysTimerfdCreate,
  [N.SYS_timerfd_settime]: sysTimerfdSettime,
  [N.SYS_timerfd_gettime]: sysTimerfdGettime,
};
