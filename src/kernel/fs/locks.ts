import * as E from '../errno.js';
import { copyFromUser, copyToUser } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import { WaitQueue, sleepOn } from '../sched/wait.js';
import type { File } from './file.js';
import type { Inode } from './inode.js';
import {
  F_GETLK,
  F_OFD_GETLK,
  F_OFD_SETLK,
  F_OFD_SETLKW,
  F_RDLCK,
  F_SETLKW,
  F_UNLCK,
  F_WRLCK,
  SEEK_CUR,
  SEEK_END,
  SEEK_SET,
} from './uapi.js';

/**
 * File locks (fs/locks.c): POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK), open file
 * description locks (F_OFD_*), and BSD flock(2) locks.
 *
 * - A POSIX lock belongs to a process's file table (fl_owner = current->files) and carries its
 *   tgid; it covers a byte range, merges with neighbours of the same type and splits when
 *   part of it changes (posix_lock_inode). Any close() of the file by the owner drops all of
 *   the owner's locks on the inode (locks_remove_posix), and so does exit.
 * - An OFD lock has the same ranges but belongs to the open file description; it goes with
 *   the last close of that description (locks_remove_file). OFD and POSIX locks conflict
 *   with each other (one list, different owners).
 * - flock locks are whole-file, per open file description, and never conflict with the
 *   other two kinds (a separate list, as in Linux).
 * Waiters sleep on the inode's lock context and re-check whenever any lock on it goes away.
 */

/** OFFSET_MAX: a lock "to the end of the file". Kept as +Infinity so ranges never overflow. */
const OFFSET_MAX = Infinity;
/** Largest off_t a user may name (2^63 - 1, as a double). */
const OFF_T_MAX = 2 ** 63 - 1; // rounds to 2^63 as a double; only used for overflow checks
/** MAX_DEADLK_ITERATIONS of posix_locks_deadlock. */
const MAX_DEADLK_ITERATIONS = 10;

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
const LOCK_MAND = 32;
/** FMODE_PATH of file.ts (not imported: file.ts imports this module). */
const FMODE_PATH = 0x4000;

/** One lock (struct file_lock): owner, range [start, end] inclusive, type. */
export interface FileLock {
  /** POSIX: the FilesStruct; OFD and flock: the File. */
  owner: object;
  /** tgid of the locker (fl_pid); -1 reported for OFD locks. */
  pid: number;
  type: number;
  start: number;
  end: number;
  /** FL_OFDLCK: an open-file-description lock. */
  ofd: boolean;
  /** The File it was set through (for locks_remove_file of OFD/flock locks). */
  file: File;
}

/** The per-inode lock lists (struct file_lock_context). */
export class FileLockContext {
  readonly posix: FileLock[] = [];
  readonly flock: FileLock[] = [];
  /** Waiters for any change (the blocked lists' wake-ups, fl_wait). */
  readonly wait = new WaitQueue();
}

const contexts = new WeakMap<Inode, FileLockContext>();

/** locks_get_lock_context. */
function lockContext(inode: Inode, create: boolean): FileLockContext | null {
  let c = contexts.get(inode) ?? null;
  if (!c && create) {
    c = new FileLockContext();
    contexts.set(inode, c);
  }
  if (c && create) lockedInodes.add(inode);
  return c;
}

/** Inodes that have locks, for /proc/locks (the file_lock_list). */
const lockedInodes = new Set<Inode>();

/** Forget an inode whose last lock went (so the set holds no dead inodes). */
function maybeForget(inode: Inode, ctx: FileLockContext): void {
  if (ctx.posix.length === 0 && ctx.flock.length === 0 && !ctx.wait.hasSleepers) lockedInodes.delete(inode);
}

/**
 * /proc/locks (locks_show / lock_get_status): one line per lock, e.g.
 * "1: POSIX  ADVISORY  WRITE 1234 00:1a:5678 0 EOF".
 */
export function procLocksText(): string {
  let out = '';
  let id = 0;
  const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
  for (const inode of [...lockedInodes]) {
    const ctx = contexts.get(inode);
    if (!ctx || (ctx.posix.length === 0 && ctx.flock.length === 0)) {
      lockedInodes.delete(inode);
      continue;
    }
    const dev = inode.sb.dev;
    const where = `${hex2(Math.floor(dev / 256) & 0xfff)}:${hex2((dev & 0xff) | (Math.floor(dev / 1048576) << 8))}:${inode.ino}`;
    for (const l of ctx.posix) {
      const kind = l.ofd ? 'OFDLCK' : 'POSIX ';
      const type = l.type === F_WRLCK ? 'WRITE' : 'READ ';
      const range = l.end === OFFSET_MAX ? `${l.start} EOF` : `${l.start} ${l.end}`;
      out += `${++id}: ${kind} ADVISORY  ${type} ${l.ofd ? -1 : l.pid} ${where} ${range}\n`;
    }
    for (const l of ctx.flock) {
      const type = l.type === F_WRLCK ? 'WRITE' : 'READ ';
      out += `${++id}: FLOCK  ADVISORY  ${type} ${l.pid} ${where} 0 EOF\n`;
    }
  }
  return out;
}

/** The lock context of an inode, if it ever had locks (for /proc/locks). */
export function inodeLockContext(inode: Inode): FileLockContext | null {
  return contexts.get(inode) ?? null;
}

/**
 * What each blocked POSIX requester (by owner) waits for (blocked_hash): the conflicting
 * lock, so posix_locks_deadlock can follow the chain owner → lock → owner ...
 */
const blockedOn = new Map<object, FileLock>();

function overlaps(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start <= b.end && b.start <= a.end;
}

/** posix_locks_conflict: different owners, overlapping, and one of them a write lock. */
function posixConflict(caller: FileLock, sys: FileLock): boolean {
  if (caller.owner === sys.owner) return false;
  if (!overlaps(caller, sys)) return false;
  return caller.type === F_WRLCK || sys.type === F_WRLCK;
}

function firstPosixConflict(ctx: FileLockContext, req: FileLock): FileLock | null {
  for (const l of ctx.posix) if (posixConflict(req, l)) return l;
  return null;
}

/** posix_locks_deadlock: would waiting for `block` make a cycle back to `caller`'s owner? */
function posixLocksDeadlock(caller: FileLock, block: FileLock): boolean {
  if (caller.ofd) return false; // OFD locks do not take part in deadlock detection
  let b: FileLock | undefined = block;
  for (let i = 0; b && i <= MAX_DEADLK_ITERATIONS; i++) {
    if (b.owner === caller.owner) return true;
    b = blockedOn.get(b.owner);
  }
  return false;
}

/**
 * posix_lock_inode (without the conflict check): make the owner's locks say `req` over its
 * range. F_UNLCK removes; a lock of another type splits what it overlaps; locks of the same
 * type that touch or overlap merge into one.
 */
function posixApply(ctx: FileLockContext, req: FileLock): boolean {
  let { start, end } = req;
  const keep: FileLock[] = [];
  const added: FileLock[] = [];
  let changed = false;
  for (const l of ctx.posix) {
    if (l.owner !== req.owner) {
      keep.push(l);
      continue;
    }
    if (req.type !== F_UNLCK && l.type === req.type && l.start <= end + 1 && start <= l.end + 1) {
      // Same type, overlapping or adjacent: merge into the new lock.
      start = Math.min(start, l.start);
      end = Math.max(end, l.end);
      changed = true;
      continue;
    }
    if (!overlaps(l, req)) {
      keep.push(l);
      continue;
    }
    changed = true;
    if (l.start < req.start) added.push({ ...l, end: req.start - 1 });
    if (l.end > req.end) added.push({ ...l, start: req.end + 1 });
  }
  if (req.type !== F_UNLCK) {
    added.push({ ...req, start, end });
    changed = true;
  }
  ctx.posix.length = 0;
  ctx.posix.push(...keep, ...added);
  ctx.posix.sort((a, b) => a.start - b.start);
  return changed;
}

/** struct flock (asm-generic/fcntl.h, 64-bit): l_type, l_whence (shorts), l_start, l_len, l_pid. */
interface UserFlock {
  type: number;
  whence: number;
  start: number;
  len: number;
  pid: number;
}
const FLOCK_SIZE = 32;

function readS64(v: DataView, off: number): number {
  return v.getUint32(off, true) + v.getInt32(off + 4, true) * 4294967296;
}
function writeS64(v: DataView, off: number, x: number): void {
  v.setUint32(off, ((x % 4294967296) + 4294967296) % 4294967296, true);
  v.setInt32(off + 4, Math.floor(x / 4294967296), true);
}

function getFlock(task: Task, uaddr: number): UserFlock | number {
  const raw = copyFromUser(task.mm, uaddr, FLOCK_SIZE);
  if (typeof raw === 'number') return -E.EFAULT;
  const v = new DataView(raw.buffer, raw.byteOffset, FLOCK_SIZE);
  return {
    type: v.getInt16(0, true),
    whence: v.getInt16(2, true),
    start: readS64(v, 8),
    len: readS64(v, 16),
    pid: v.getInt32(24, true),
  };
}

function putFlock(task: Task, uaddr: number, f: UserFlock): number {
  // Only the fields F_GETLK reports are written (the rest of the user struct is kept).
  const raw = copyFromUser(task.mm, uaddr, FLOCK_SIZE);
  if (typeof raw === 'number') return -E.EFAULT;
  const b = new Uint8Array(raw);
  const v = new DataView(b.buffer);
  v.setInt16(0, f.type, true);
  v.setInt16(2, f.whence, true);
  writeS64(v, 8, f.start);
  writeS64(v, 16, f.len);
  v.setInt32(24, f.pid, true);
  return copyToUser(task.mm, uaddr, b) < 0 ? -E.EFAULT : 0;
}

/** flock_to_posix_lock: the byte range a struct flock names, or -EINVAL/-EOVERFLOW. */
function flockRange(file: File, fl: UserFlock): { start: number; end: number } | number {
  let base: number;
  switch (fl.whence) {
    case SEEK_SET:
      base = 0;
      break;
    case SEEK_CUR:
      base = file.pos;
      break;
    case SEEK_END:
      base = file.inode.size;
      break;
    default:
      return -E.EINVAL;
  }
  if (fl.start > OFF_T_MAX - base) return -E.EOVERFLOW;
  let start = base + fl.start;
  if (start < 0) return -E.EINVAL;
  let end: number;
  if (fl.len > 0) {
    if (fl.len - 1 > OFF_T_MAX - start) return -E.EOVERFLOW;
    end = start + fl.len - 1;
  } else if (fl.len < 0) {
    end = start - 1;
    start += fl.len;
    if (start < 0) return -E.EINVAL;
  } else {
    end = OFFSET_MAX;
  }
  return { start, end };
}

/** The owner a POSIX lock of `task` belongs to (current->files). */
function posixOwner(task: Task): object {
  return task.files;
}

/** The lock a fcntl request asks for (flock_to_posix_lock): owned by the process, or by the open file for OFD locks. */
function posixLockRequest(
  task: Task,
  file: File,
  type: number,
  r: { start: number; end: number },
  ofd: boolean,
): FileLock {
  return { owner: ofd ? file : posixOwner(task), pid: task.tgid, type, start: r.start, end: r.end, ofd, file };
}

/** fcntl_getlk: the first lock that would conflict, or F_UNLCK. */
function fcntlGetlk(task: Task, file: File, cmd: number, uarg: number): number {
  const fl = getFlock(task, uarg);
  if (typeof fl === 'number') return fl;
  const ofd = cmd === F_OFD_GETLK;
  if (fl.type !== F_RDLCK && fl.type !== F_WRLCK) return -E.EINVAL;
  if (ofd && fl.pid !== 0) return -E.EINVAL;
  const r = flockRange(file, fl);
  if (typeof r === 'number') return r;
  const req = posixLockRequest(task, file, fl.type, r, ofd);
  const ctx = lockContext(file.inode, false);
  const c = ctx ? firstPosixConflict(ctx, req) : null;
  if (!c) return putFlock(task, uarg, { ...fl, type: F_UNLCK });
  // posix_lock_to_flock: reported from SEEK_SET; length 0 means "to EOF".
  return putFlock(task, uarg, {
    type: c.type,
    whence: SEEK_SET,
    start: c.start,
    len: c.end === OFFSET_MAX ? 0 : c.end - c.start + 1,
    pid: c.ofd ? -1 : c.pid,
  });
}

/** fcntl_setlk: set or clear a POSIX/OFD lock, sleeping for F_SETLKW / F_OFD_SETLKW. */
function fcntlSetlk(task: Task, file: File, cmd: number, uarg: number): number | Promise<number> {
  const fl = getFlock(task, uarg);
  if (typeof fl === 'number') return fl;
  const ofd = cmd === F_OFD_SETLK || cmd === F_OFD_SETLKW;
  if (ofd && fl.pid !== 0) return -E.EINVAL;
  // check_fmode_for_setlk: a read lock needs a readable file, a write lock a writable one.
  if (fl.type === F_RDLCK) {
    if (!file.readable) return -E.EBADF;
  } else if (fl.type === F_WRLCK) {
    if (!file.writable) return -E.EBADF;
  } else if (fl.type !== F_UNLCK) return -E.EINVAL;
  const r = flockRange(file, fl);
  if (typeof r === 'number') return r;
  const req = posixLockRequest(task, file, fl.type, r, ofd);
  const wait = cmd === F_SETLKW || cmd === F_OFD_SETLKW;
  const ctx = lockContext(file.inode, true)!;
  const attempt = (): number | null => {
    if (req.type !== F_UNLCK) {
      const c = firstPosixConflict(ctx, req);
      if (c) {
        if (!wait) return -E.EAGAIN;
        if (posixLocksDeadlock(req, c)) return -E.EDEADLK;
        blockedOn.set(req.owner, c);
        return null;
      }
    }
    if (posixApply(ctx, req)) ctx.wait.wakeUp();
    maybeForget(file.inode, ctx);
    return 0;
  };
  const first = attempt();
  if (first !== null) return first;
  return (async (): Promise<number> => {
    try {
      for (;;) {
        const s = await sleepOn(task, ctx.wait);
        if (s !== 0) return s;
        const a = attempt();
        if (a !== null) return a;
      }
    } finally {
      blockedOn.delete(req.owner);
    }
  })();
}

/** fcntl's lock commands (F_GETLK ... F_OFD_SETLKW). */
export function fcntlLock(task: Task, file: File, cmd: number, uarg: number): number | Promise<number> {
  if (cmd === F_GETLK || cmd === F_OFD_GETLK) return fcntlGetlk(task, file, cmd, uarg);
  return fcntlSetlk(task, file, cmd, uarg);
}

/** flock_lock_inode: take, convert or drop this description's whole-file lock. */
export function sysFlock(task: Task, fd: number, cmd: number): number | Promise<number> {
  const file = task.files.get(fd | 0);
  if (!file || file.mode & FMODE_PATH) return -E.EBADF;
  const nb = (cmd & LOCK_NB) !== 0;
  const op = cmd & ~LOCK_NB;
  if (cmd & LOCK_MAND) return -E.EOPNOTSUPP;
  let type: number;
  if (op === LOCK_SH) type = F_RDLCK;
  else if (op === LOCK_EX) type = F_WRLCK;
  else if (op === LOCK_UN) type = F_UNLCK;
  else return -E.EINVAL;
  const ctx = lockContext(file.inode, true)!;
  const idx = ctx.flock.findIndex((l) => l.file === file);
  if (idx >= 0) {
    if (ctx.flock[idx]!.type === type) return 0;
    // A conversion first drops the old lock (it is not atomic in Linux either) and wakes waiters.
    ctx.flock.splice(idx, 1);
    ctx.wait.wakeUp();
  }
  if (type === F_UNLCK) {
    maybeForget(file.inode, ctx);
    return 0;
  }
  const conflict = (): boolean => ctx.flock.some((l) => l.file !== file && (type === F_WRLCK || l.type === F_WRLCK));
  const grant = (): number => {
    ctx.flock.push({ owner: file, pid: task.tgid, type, start: 0, end: OFFSET_MAX, ofd: false, file });
    return 0;
  };
  if (!conflict()) return grant();
  if (nb) return -E.EWOULDBLOCK;
  return (async (): Promise<number> => {
    for (;;) {
      const s = await sleepOn(task, ctx.wait);
      if (s !== 0) return s;
      if (!conflict()) return grant();
    }
  })();
}

/**
 * locks_remove_posix: a close() by `owner` (a file table) drops every POSIX lock that owner
 * holds on the file's inode, whichever fd set them (the POSIX rule programs trip over).
 */
export function locksRemovePosix(file: File, owner: object): void {
  const ctx = lockContext(file.inode, false);
  if (!ctx || ctx.posix.length === 0) return;
  const before = ctx.posix.length;
  for (let i = ctx.posix.length - 1; i >= 0; i--) {
    const l = ctx.posix[i]!;
    if (!l.ofd && l.owner === owner) ctx.posix.splice(i, 1);
  }
  if (ctx.posix.length !== before) ctx.wait.wakeUp();
  maybeForget(file.inode, ctx);
}

/** locks_remove_file: the last reference to an open file description drops its OFD and flock locks. */
export function locksRemoveFile(file: File): void {
  const ctx = lockContext(file.inode, false);
  if (!ctx) return;
  let changed = false;
  for (const list of [ctx.posix, ctx.flock]) {
    for (let i = list.length - 1; i >= 0; i--) {
      const l = list[i]!;
      if (l.file === file && (l.ofd || list === ctx.flock)) {
        list.splice(i, 1);
        changed = true;
      }
    }
  }
  if (changed) ctx.wait.wakeUp();
  maybeForget(file.inode, ctx);
}

/** Every lock an inode holds, for /proc/locks (POSIX/OFD first, then FLOCK). */
export function inodeLocks(inode: Inode): { kind: 'POSIX' | 'OFDLCK' | 'FLOCK'; lock: FileLock }[] {
  const ctx = contexts.get(inode);
  if (!ctx) return [];
  return [
    ...ctx.posix.map((lock) => ({ kind: lock.ofd ? ('OFDLCK' as const) : ('POSIX' as const), lock })),
    ...ctx.flock.map((lock) => ({ kind: 'FLOCK' as const, lock })),
  ];
}
