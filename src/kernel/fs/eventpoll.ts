/**
 * epoll (fs/eventpoll.c): an interest set of (file, fd) items and a ready list fed by wake
 * callbacks on the watched files' wait queues (ep_poll_callback), drained by epoll_wait
 * (ep_send_events), which re-polls each ready item:
 *  - level-triggered items go back on the ready list after being reported, so they are
 *    reported again while still ready (and dropped at the next scan once not ready);
 *  - EPOLLET items come back only when their file wakes them again;
 *  - EPOLLONESHOT items are disabled (events reduced to the private bits) once reported until
 *    EPOLL_CTL_MOD re-arms them.
 * An epoll file is itself pollable (readable while an item is ready), so epoll sets nest and
 * work inside poll/select; nesting cycles and chains deeper than EP_MAX_NESTS are -ELOOP.
 *
 * struct epoll_event is 16 bytes on riscv64 (u32 events, 4 bytes padding, u64 data): the
 * packed 12-byte layout is x86-64 only (__EPOLL_PACKED).
 */
import * as E from '../errno.js';
import type { Kernel } from '../kernel.js';
import { accessOk, copyFromUser, copyToUser } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import { sleepOn, WaitQueue } from '../sched/wait.js';
import { restoreSavedSigmaskUnless, setUserSigmask } from '../signal/signal.js';
import { anonInodeGetfile, noopLlseek } from './anon_inodes.js';
import type { File, FileOperations } from './file.js';
import { pollAs, readTimespecNs, vfsPoll, waitQueuePollAdd } from './select.js';
import { O_CLOEXEC, O_RDWR } from './uapi.js';

export const EPOLLIN = 0x1;
export const EPOLLPRI = 0x2;
export const EPOLLOUT = 0x4;
export const EPOLLERR = 0x8;
export const EPOLLHUP = 0x10;
export const EPOLLRDNORM = 0x40;
export const EPOLLRDHUP = 0x2000;
export const EPOLLEXCLUSIVE = 1 << 28;
export const EPOLLWAKEUP = 1 << 29;
export const EPOLLONESHOT = 1 << 30;
/** 1u << 31 as an int32 (every events value here is kept as `| 0`). */
export const EPOLLET = 1 << 31;
export const EPOLL_CLOEXEC = O_CLOEXEC;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;

const EP_PRIVATE_BITS = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
const EPOLLINOUT_BITS = EPOLLIN | EPOLLOUT;
const EPOLLEXCLUSIVE_OK_BITS = EPOLLINOUT_BITS | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/** Maximum nesting of epoll sets (EP_MAX_NESTS). */
const EP_MAX_NESTS = 4;
const EPOLL_EVENT_SIZE = 16;
/** EP_MAX_EVENTS = INT_MAX / sizeof(struct epoll_event). */
const EP_MAX_EVENTS = Math.floor(0x7fffffff / EPOLL_EVENT_SIZE);

/** struct epitem: one watched (file, fd). */
class Epitem {
  /** The event mask (int32), EPOLLERR|EPOLLHUP always included. */
  events = 0;
  dataLo = 0;
  dataHi = 0;
  /** Unregisters the wake callback from the file's wait queues (ep_unregister_pollwait). */
  remover: (() => void) | null = null;
  dead = false;

  constructor(
    readonly ep: Eventpoll,
    readonly file: File,
    readonly fd: number,
  ) {}
}

/** struct eventpoll. */
class Eventpoll {
  /** The interest set (ep->rbr), keyed by file then fd (ep_find). */
  readonly items = new Map<File, Map<number, Epitem>>();
  /** The ready list (ep->rdllist), in insertion order. */
  rdllist = new Set<Epitem>();
  /** epoll_wait sleepers (ep->wq). */
  readonly wq = new WaitQueue();
  /** Pollers of the epoll file itself (ep->poll_wait): poll/select/outer epoll sets. */
  readonly pollWq = new WaitQueue();
  /** Items of other epoll sets that watch this one (file->f_ep), for the upward depth. */
  readonly watchedBy = new Set<Epitem>();

  constructor(readonly kernel: Kernel) {}

  find(file: File, fd: number): Epitem | null {
    return this.items.get(file)?.get(fd) ?? null;
  }

  *all(): Generator<Epitem> {
    for (const m of this.items.values()) yield* m.values();
  }
}

function epOf(file: File): Eventpoll | null {
  return file.private_ instanceof Eventpoll ? file.private_ : null;
}

/** Is this an epoll file (is_file_epoll)? */
export function isFileEpoll(file: File): boolean {
  return epOf(file) !== null;
}

/**
 * ep_poll_callback: a watched file's wait queue was woken. Queue the item on the ready list
 * (unless disabled by EPOLLONESHOT or the wake-up's key cannot concern it) and wake epoll_wait
 * sleepers and whoever polls this epoll file (ep_poll_safewake).
 */
function epPollCallback(epi: Epitem, key: number | undefined): void {
  if (epi.dead) return;
  if (!(epi.events & ~EP_PRIVATE_BITS)) return;
  if (key && !(key & epi.events)) return;
  const ep = epi.ep;
  if (!ep.rdllist.has(epi)) ep.rdllist.add(epi);
  ep.wq.wakeUp();
  ep.pollWq.wakeUp();
}

/** Depth of nested ep_item_poll calls (bounded by the ELOOP checks, guarded anyway). */
let pollDepth = 0;

/** ep_item_poll: the item's ready events now (an epoll file is polled through its own items). */
function epItemPoll(epi: Epitem): number {
  return vfsPoll(epi.file) & epi.events;
}

/** The file went away (its last reference dropped: eventpoll_release) or DEL: ep_remove. */
function epRemove(epi: Epitem): void {
  if (epi.dead) return;
  epi.dead = true;
  epi.remover?.();
  epi.remover = null;
  epOf(epi.file)?.watchedBy.delete(epi);
  const ep = epi.ep;
  const m = ep.items.get(epi.file);
  if (m) {
    m.delete(epi.fd);
    if (m.size === 0) ep.items.delete(epi.file);
  }
  ep.rdllist.delete(epi);
}

/** The watched file's last reference is gone: drop the item (eventpoll_release's effect). */
function fileGone(epi: Epitem): boolean {
  if (epi.file.count > 0) return false;
  epRemove(epi);
  return true;
}

/** Register the item's wake callback (ep_ptable_queue_proc through vfs_poll). */
function epRegister(epi: Epitem): void {
  const f = epi.file;
  const cb = (key?: number): void => epPollCallback(epi, key);
  if (f.op.pollAdd) {
    epi.remover = f.op.pollAdd(f, cb);
  } else if (f.op.pollWait) {
    // A file with only the one-shot pollWait promise: re-arm it after each wake-up.
    let live = true;
    const arm = (): void => {
      f.op.pollWait!(f).then(
        () => {
          if (!live || epi.dead) return;
          cb(0);
          arm();
        },
        () => {},
      );
    };
    arm();
    epi.remover = () => {
      live = false;
    };
  }
}

/**
 * ep_send_events: report up to `max` ready items. Each item on the ready list is polled again;
 * not-ready ones drop off. Level-triggered items are put back at the tail; the items not
 * reached stay at the head (ep_done_scan).
 */
function epSendEvents(ep: Eventpoll, max: number): number[] {
  const tx = [...ep.rdllist];
  ep.rdllist = new Set<Epitem>();
  const out: number[] = [];
  const lt: Epitem[] = [];
  let i = 0;
  for (; i < tx.length && out.length < max * 3; i++) {
    const epi = tx[i]!;
    if (epi.dead || fileGone(epi)) continue;
    const revents = epItemPoll(epi);
    if (!revents) continue;
    out.push(revents, epi.dataLo, epi.dataHi);
    if (epi.events & EPOLLONESHOT) epi.events &= EP_PRIVATE_BITS;
    else if (!(epi.events & EPOLLET)) lt.push(epi);
  }
  // Rebuild: unprocessed items first, then those queued by callbacks meanwhile, then the LT ones.
  const next = new Set<Epitem>();
  for (; i < tx.length; i++) if (!tx[i]!.dead) next.add(tx[i]!);
  for (const e of ep.rdllist) next.add(e);
  for (const e of lt) if (!e.dead) next.add(e);
  ep.rdllist = next;
  return out;
}

/**
 * ep_eventpoll_poll (ep_read_events_proc): readable while some item on the ready list is
 * really ready; items found not ready are dropped from the list.
 */
function epEventpollPoll(file: File): number {
  const ep = epOf(file);
  if (!ep) return 0;
  if (pollDepth > EP_MAX_NESTS) return 0;
  pollDepth++;
  try {
    for (const epi of [...ep.rdllist]) {
      if (epi.dead || fileGone(epi)) continue;
      if (epItemPoll(epi)) return EPOLLIN | EPOLLRDNORM;
      ep.rdllist.delete(epi);
    }
    return 0;
  } finally {
    pollDepth--;
  }
}

/** ep_clear_and_put / ep_free: the epoll file is closed. */
function epRelease(file: File): void {
  const ep = epOf(file);
  if (!ep) return;
  for (const epi of [...ep.all()]) epRemove(epi);
  ep.rdllist.clear();
  ep.wq.wakeUp();
  ep.pollWq.wakeUp(); // outer sets watching this file notice it is gone
}

const eventpollFops: FileOperations = {
  poll: epEventpollPoll,
  llseek: noopLlseek,
  pollAdd(file: File, cb: (key?: number) => void): () => void {
    const ep = epOf(file);
    return ep ? waitQueuePollAdd([ep.pollWq], [EPOLLIN | EPOLLRDNORM], cb) : () => {};
  },
  pollWait(file: File): Promise<void> {
    const ep = epOf(file);
    if (!ep) return new Promise<void>(() => {});
    return new Promise<void>((resolve) => ep.pollWq.add({ wake: () => resolve() }));
  },
  release: epRelease,
};

/** epoll_create1(flags). */
export function sysEpollCreate1(task: Task, flags: number): number {
  const fl = flags | 0;
  if (fl & ~EPOLL_CLOEXEC) return -E.EINVAL;
  const ep = new Eventpoll(task.kernel);
  const file = anonInodeGetfile(task.kernel, '[eventpoll]', eventpollFops, ep, O_RDWR);
  const fd = task.files.install(file, (fl & EPOLL_CLOEXEC) !== 0);
  if (fd < 0) file.put();
  return fd;
}

/** ep_loop_check_proc: nesting depth below `ep` (0 = no epoll inside), or Infinity when it reaches `target`. */
function epDownDepth(ep: Eventpoll, target: Eventpoll, depth: number): number {
  if (depth > EP_MAX_NESTS) return Infinity;
  let max = 0;
  for (const epi of ep.all()) {
    const inner = epOf(epi.file);
    if (!inner || epi.dead) continue;
    if (inner === target) return Infinity;
    max = Math.max(max, epDownDepth(inner, target, depth + 1) + 1);
  }
  return max;
}

/** ep_get_upwards_depth_proc: how many epoll sets `ep` is nested in, at most. */
function epUpDepth(ep: Eventpoll, depth: number): number {
  if (depth > EP_MAX_NESTS) return Infinity;
  let max = 0;
  for (const epi of ep.watchedBy) if (!epi.dead) max = Math.max(max, epUpDepth(epi.ep, depth + 1) + 1);
  return max;
}

/**
 * ep_loop_check: adding epoll set `to` into `ep` must not close a cycle, nor make a chain of
 * more than EP_MAX_NESTS nested sets counting the sets above `ep` and below `to`.
 */
function epLoopCheck(ep: Eventpoll, to: Eventpoll): boolean {
  if (to === ep) return true;
  const depth = epDownDepth(to, ep, 0);
  if (depth > EP_MAX_NESTS) return true;
  return depth + 1 + epUpDepth(ep, 0) > EP_MAX_NESTS;
}

/** ep_insert. */
function epInsert(ep: Eventpoll, file: File, fd: number, events: number, lo: number, hi: number): void {
  const epi = new Epitem(ep, file, fd);
  epi.events = events;
  epi.dataLo = lo;
  epi.dataHi = hi;
  let m = ep.items.get(file);
  if (!m) {
    m = new Map<number, Epitem>();
    ep.items.set(file, m);
  }
  m.set(fd, epi);
  epOf(file)?.watchedBy.add(epi);
  epRegister(epi);
  if (epItemPoll(epi) && !ep.rdllist.has(epi)) {
    ep.rdllist.add(epi);
    ep.wq.wakeUp();
    ep.pollWq.wakeUp();
  }
}

/** ep_modify: new events and data; re-queue when ready now (this is how EPOLLONESHOT re-arms). */
function epModify(epi: Epitem, events: number, lo: number, hi: number): void {
  epi.events = events;
  epi.dataLo = lo;
  epi.dataHi = hi;
  const ep = epi.ep;
  if (epItemPoll(epi) && !ep.rdllist.has(epi)) {
    ep.rdllist.add(epi);
    ep.wq.wakeUp();
    ep.pollWq.wakeUp();
  }
}

/** epoll_ctl(epfd, op, fd, event) (do_epoll_ctl). */
export function sysEpollCtl(task: Task, epfd: number, op: number, fd: number, uevent: number): number {
  const o = op | 0;
  let events = 0;
  let lo = 0;
  let hi = 0;
  const hasEvent = o !== EPOLL_CTL_DEL;
  if (hasEvent) {
    const b = copyFromUser(task.mm, uevent, EPOLL_EVENT_SIZE);
    if (typeof b === 'number') return -E.EFAULT;
    const v = new DataView(b.buffer, b.byteOffset, EPOLL_EVENT_SIZE);
    events = v.getInt32(0, true);
    lo = v.getUint32(8, true);
    hi = v.getUint32(12, true);
  }
  const f = task.files.get(epfd | 0);
  if (!f) return -E.EBADF;
  const tf = task.files.get(fd | 0);
  if (!tf) return -E.EBADF;
  // file_can_poll: regular files and others without f_op->poll cannot be watched.
  if (!tf.op.poll) return -E.EPERM;
  // ep_take_care_of_epollwakeup: EPOLLWAKEUP needs CAP_BLOCK_SUSPEND (and does nothing here).
  if (hasEvent && events & EPOLLWAKEUP && task.cred.euid !== 0) events &= ~EPOLLWAKEUP;
  const ep = epOf(f);
  if (f === tf || !ep) return -E.EINVAL;
  if (hasEvent && events & EPOLLEXCLUSIVE) {
    if (o === EPOLL_CTL_MOD) return -E.EINVAL;
    if (o === EPOLL_CTL_ADD && (isFileEpoll(tf) || events & ~EPOLLEXCLUSIVE_OK_BITS)) return -E.EINVAL;
  }
  const tep = epOf(tf);
  if (o === EPOLL_CTL_ADD && tep && epLoopCheck(ep, tep)) return -E.ELOOP;
  const epi = ep.find(tf, fd | 0);
  switch (o) {
    case EPOLL_CTL_ADD:
      if (epi) return -E.EEXIST;
      epInsert(ep, tf, fd | 0, events | EPOLLERR | EPOLLHUP, lo, hi);
      return 0;
    case EPOLL_CTL_DEL:
      if (!epi) return -E.ENOENT;
      epRemove(epi);
      return 0;
    case EPOLL_CTL_MOD:
      if (!epi) return -E.ENOENT;
      if (epi.events & EPOLLEXCLUSIVE) return -E.EINVAL;
      epModify(epi, events | EPOLLERR | EPOLLHUP, lo, hi);
      return 0;
    default:
      return -E.EINVAL;
  }
}

function eventsBytes(evs: number[]): Uint8Array {
  const n = evs.length / 3;
  const b = new Uint8Array(n * EPOLL_EVENT_SIZE);
  const v = new DataView(b.buffer);
  for (let i = 0; i < n; i++) {
    v.setUint32(i * 16, evs[i * 3]! >>> 0, true);
    v.setUint32(i * 16 + 8, evs[i * 3 + 1]!, true);
    v.setUint32(i * 16 + 12, evs[i * 3 + 2]!, true);
  }
  return b;
}

/**
 * do_epoll_wait + ep_poll: `end` is an absolute CLOCK_MONOTONIC deadline, 0 for no wait,
 * undefined for forever. A signal ends the wait with -EINTR (epoll_wait is never restarted).
 */
function doEpollWait(
  task: Task,
  epfd: number,
  uevents: number,
  maxevents: number,
  end: number | undefined,
): number | Promise<number> {
  const max = maxevents | 0;
  if (max <= 0 || max > EP_MAX_EVENTS) return -E.EINVAL;
  if (!accessOk(uevents, max * EPOLL_EVENT_SIZE)) return -E.EFAULT;
  const f = task.files.get(epfd | 0);
  if (!f) return -E.EBADF;
  const ep = epOf(f);
  if (!ep) return -E.EINVAL;
  const deliver = (): number => {
    if (ep.rdllist.size === 0) return 0;
    const evs = pollAs(task, () => epSendEvents(ep, max));
    if (evs.length === 0) return 0;
    return copyToUser(task.mm, uevents, eventsBytes(evs)) < 0 ? -E.EFAULT : evs.length / 3;
  };
  const r = deliver();
  if (r !== 0 || end === 0) return r;
  return (async () => {
    for (;;) {
      const s = await sleepOn(task, ep.wq, end === undefined ? {} : { deadlineNs: end });
      const r2 = deliver();
      if (r2 !== 0) return r2;
      if (s === -E.ETIMEDOUT) return 0;
      if (s !== 0) return -E.EINTR;
    }
  })();
}

/** epoll_pwait / epoll_pwait2 common part: the temporary sigmask around the wait. */
function epollPwaitCommon(
  task: Task,
  epfd: number,
  uevents: number,
  maxevents: number,
  end: number | undefined,
  usigmask: number,
  sigsetsize: number,
): number | Promise<number> {
  const m = setUserSigmask(task, usigmask, sigsetsize);
  if (m < 0) return m;
  // restore_saved_sigmask_unless(error == -EINTR): the handler runs with the temporary mask's effect.
  const finish = (r: number): number => {
    restoreSavedSigmaskUnless(task, r === -E.EINTR);
    return r;
  };
  const r = doEpollWait(task, epfd, uevents, maxevents, end);
  return typeof r === 'number' ? finish(r) : r.then(finish);
}

/** epoll_pwait(epfd, events, maxevents, timeout_ms, sigmask, sigsetsize). */
export function sysEpollPwait(
  task: Task,
  epfd: number,
  uevents: number,
  maxevents: number,
  timeout: number,
  usigmask: number,
  sigsetsize: number,
): number | Promise<number> {
  const ms = timeout | 0;
  const end = ms < 0 ? undefined : ms === 0 ? 0 : task.kernel.clock.monotonicNs() + ms * 1e6;
  return epollPwaitCommon(task, epfd, uevents, maxevents, end, usigmask, sigsetsize);
}

/** epoll_pwait2(epfd, events, maxevents, const struct timespec *timeout, sigmask, sigsetsize). */
export function sysEpollPwait2(
  task: Task,
  epfd: number,
  uevents: number,
  maxevents: number,
  utmo: number,
  usigmask: number,
  sigsetsize: number,
): number | Promise<number> {
  let end: number | undefined;
  if (utmo !== 0) {
    const ns = readTimespecNs(task, utmo);
    if (ns < 0) return ns;
    end = ns === 0 ? 0 : task.kernel.clock.monotonicNs() + ns;
  }
  return epollPwaitCommon(task, epfd, uevents, maxevents, end, usigmask, sigsetsize);
}
