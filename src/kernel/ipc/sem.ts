/**
 * System V semaphores (ipc/sem.c): semget, semop/semtimedop, semctl.
 *
 * A semop call is all-or-nothing (perform_atomic_semop): the operations are tried in order on
 * a copy of the values, and only if none would block or overflow are they committed. A call
 * that would block (and has no IPC_NOWAIT on the blocking operation) joins the set's pending
 * queue in arrival order; every change to the set runs update_queue, which retries the
 * pending operations in that order on behalf of the sleepers and wakes the ones that
 * completed — so waiters are served FIFO exactly as in Linux, not by whoever runs first.
 *
 * SEM_UNDO keeps per-process adjustments (struct sem_undo: semadj[] per set), applied by
 * exitSem() when the process exits. Processes are keyed by tgid, which is what
 * CLONE_SYSVSEM sharing amounts to for threads (fork gets a fresh, empty list).
 */
import * as E from '../errno.js';
import { getTimespecNs } from '../futex/futex.js';
import { copyFromUser, copyToUser } from '../mm/uaccess.js';
import type { Kernel } from '../kernel.js';
import type { Task } from '../sched/task.js';
import { sleepOn, WaitQueue } from '../sched/wait.js';
import { ipcNs, SEMAEM, SEMVMX, type IpcNamespace } from './namespace.js';
import {
  fillIpc64Perm,
  IPC_64,
  IPC_INFO,
  IPC_NOWAIT,
  IPC_RMID,
  IPC_SET,
  IPC_STAT,
  ipcget,
  ipcOwnerOrCapable,
  ipcperms,
  ipcUpdatePerm,
  KernIpcPerm,
  nowSeconds,
  readIpc64Perm,
  setI64,
  type IpcObject,
} from './util.js';

export const SEM_UNDO = 0x1000;
export const GETPID = 11;
export const GETVAL = 12;
export const GETALL = 13;
export const GETNCNT = 14;
export const GETZCNT = 15;
export const SETVAL = 16;
export const SETALL = 17;
export const SEM_STAT = 18;
export const SEM_INFO = 19;
export const SEM_STAT_ANY = 20;
/** SEMUSZ: sizeof(struct sem_undo) as IPC_INFO reports it. */
const SEMUSZ = 20;
const S_IRUGO = 0o444;
const S_IWUGO = 0o222;
/** sizeof(struct semid64_ds) on riscv64. */
const SEMID64_DS_SIZE = 88;

/** struct sembuf. */
export interface Sembuf {
  num: number;
  op: number;
  flg: number;
}

/** struct sem. */
interface Sem {
  val: number;
  pid: number;
}

/** struct sem_queue: a sleeping semop. */
interface SemQueue {
  task: Task;
  sops: Sembuf[];
  alter: boolean;
  /** The operation it blocked on (q->blocking), for GETNCNT/GETZCNT. */
  blocking: Sembuf | null;
  /** null while pending; then 0 or -errno (-EIDRM when the set went away). */
  status: number | null;
  wq: WaitQueue;
}

/** struct sem_array. */
export class SemArray implements IpcObject {
  readonly sems: Sem[];
  otime = 0;
  ctime: number;
  pending: SemQueue[] = [];
  constructor(
    readonly perm: KernIpcPerm,
    readonly nsems: number,
    now: number,
  ) {
    this.sems = Array.from({ length: nsems }, () => ({ val: 0, pid: 0 }));
    this.ctime = now;
  }
}

/** Per-process undo lists: tgid → (semid → semadj[]). */
const undoLists = new WeakMap<Kernel, Map<number, Map<number, number[]>>>();
function undoMap(kernel: Kernel): Map<number, Map<number, number[]>> {
  let m = undoLists.get(kernel);
  if (!m) undoLists.set(kernel, (m = new Map()));
  return m;
}

/** find_alloc_undo: this process's semadj[] for the set. */
function findAllocUndo(task: Task, sma: SemArray): number[] {
  const m = undoMap(task.kernel);
  let l = m.get(task.tgid);
  if (!l) m.set(task.tgid, (l = new Map()));
  let adj = l.get(sma.perm.id);
  if (!adj) l.set(sma.perm.id, (adj = new Array<number>(sma.nsems).fill(0)));
  return adj;
}

/** Reset the adjustments of semaphore `num` (or all, num < 0) of a set in every process (SETVAL/SETALL). */
function clearUndos(kernel: Kernel, semid: number, num: number): void {
  for (const l of undoMap(kernel).values()) {
    const adj = l.get(semid);
    if (!adj) continue;
    if (num < 0) adj.fill(0);
    else adj[num] = 0;
  }
}

/**
 * perform_atomic_semop: 0 done, 1 would block (q.blocking set), or -errno (-ERANGE,
 * -EAGAIN for IPC_NOWAIT on the blocking operation). Nothing changes unless all succeed.
 */
function performAtomicSemop(sma: SemArray, q: { task: Task; sops: Sembuf[]; blocking: Sembuf | null }): number {
  const vals = sma.sems.map((s) => s.val);
  const undo = q.sops.some((s) => s.flg & SEM_UNDO) ? findAllocUndo(q.task, sma) : null;
  const adj = undo ? undo.slice() : null;
  for (const sop of q.sops) {
    const cur = vals[sop.num]!;
    if (sop.op === 0 && cur !== 0) {
      q.blocking = sop;
      return sop.flg & IPC_NOWAIT ? -E.EAGAIN : 1;
    }
    const result = cur + sop.op;
    if (result < 0) {
      q.blocking = sop;
      return sop.flg & IPC_NOWAIT ? -E.EAGAIN : 1;
    }
    if (result > SEMVMX) return -E.ERANGE;
    if (sop.flg & SEM_UNDO) {
      const u = adj![sop.num]! - sop.op;
      if (u < -SEMAEM - 1 || u > SEMAEM) return -E.ERANGE;
      adj![sop.num] = u;
    }
    vals[sop.num] = result;
  }
  const pid = q.task.tgid;
  for (const sop of q.sops) sma.sems[sop.num]!.pid = pid;
  for (let i = 0; i < vals.length; i++) sma.sems[i]!.val = vals[i]!;
  if (undo && adj) for (let i = 0; i < adj.length; i++) undo[i] = adj[i]!;
  q.blocking = null;
  return 0;
}

/**
 * update_queue / do_smart_update: retry the pending operations in arrival order after a
 * change; completed ones are dequeued and woken with their result. An altering success can
 * unblock earlier waiters, so the scan starts over.
 */
function updateQueue(sma: SemArray, now: number): void {
  let again = true;
  while (again) {
    again = false;
    for (const q of [...sma.pending]) {
      const r = performAtomicSemop(sma, q);
      if (r === 1) continue;
      sma.pending.splice(sma.pending.indexOf(q), 1);
      q.status = r;
      q.wq.wakeUp();
      if (r === 0) {
        sma.otime = now;
        if (q.alter) {
          again = true;
          break;
        }
      }
    }
  }
}

/** semget(key, nsems, semflg). */
export function sysSemget(task: Task, key: number, nsems: number, semflg: number): number {
  const ns = ipcNs(task.kernel);
  const n = nsems | 0;
  const flg = semflg | 0;
  if (n < 0 || n > ns.semCtls.semmsl) return -E.EINVAL;
  return ipcget(
    task,
    ns.semIds,
    key | 0,
    flg,
    () => {
      // newary
      if (n === 0) return -E.EINVAL;
      if (ns.usedSems + n > ns.semCtls.semmns) return -E.ENOSPC;
      if (ns.semIds.inUse >= ns.semCtls.semmni) return -E.ENOSPC;
      ns.usedSems += n;
      return new SemArray(new KernIpcPerm(key | 0, flg & 0o777, task.cred), n, nowSeconds(task));
    },
    (sma) => (n > sma.nsems ? -E.EINVAL : 0),
  );
}

/** Read nsops struct sembuf {u16 sem_num; s16 sem_op; s16 sem_flg}. */
function readSops(task: Task, usops: number, nsops: number): Sembuf[] | number {
  const b = copyFromUser(task.mm, usops, nsops * 6);
  if (typeof b === 'number') return -E.EFAULT;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Sembuf[] = [];
  for (let i = 0; i < nsops; i++) {
    out.push({ num: v.getUint16(i * 6, true), op: v.getInt16(i * 6 + 2, true), flg: v.getInt16(i * 6 + 4, true) });
  }
  return out;
}

/** do_semtimedop. `timeoutNs` is relative, or undefined for none. */
export function doSemtimedop(
  task: Task,
  semid: number,
  sops: Sembuf[],
  timeoutNs: number | undefined,
): number | Promise<number> {
  const ns = ipcNs(task.kernel);
  if (sops.length < 1) return -E.EINVAL;
  if (sops.length > ns.semCtls.semopm) return -E.E2BIG;
  let max = 0;
  let alter = false;
  for (const s of sops) {
    if (s.num > max) max = s.num;
    if (s.op !== 0) alter = true;
  }
  if (semid < 0) return -E.EINVAL;
  const sma = ns.semIds.obtainCheck(semid);
  if (typeof sma === 'number') return sma;
  if (max >= sma.nsems) return -E.EFBIG;
  if (ipcperms(task.cred, sma.perm, alter ? S_IWUGO : S_IRUGO) < 0) return -E.EACCES;
  const q: SemQueue = { task, sops, alter, blocking: null, status: null, wq: new WaitQueue() };
  const r = performAtomicSemop(sma, q);
  if (r <= 0) {
    if (r === 0) {
      const now = nowSeconds(task);
      sma.otime = now;
      if (alter) updateQueue(sma, now);
    }
    return r;
  }
  sma.pending.push(q);
  const deadline = timeoutNs === undefined ? undefined : task.kernel.clock.monotonicNs() + timeoutNs;
  return (async () => {
    for (;;) {
      const s = await sleepOn(task, q.wq, deadline === undefined ? {} : { deadlineNs: deadline });
      if (q.status !== null) return q.status;
      if (s === 0) continue;
      const i = sma.pending.indexOf(q);
      if (i >= 0) sma.pending.splice(i, 1);
      // semop is never restarted (signal(7)): a signal gives EINTR, a timeout EAGAIN.
      return s === -E.ETIMEDOUT ? -E.EAGAIN : -E.EINTR;
    }
  })();
}

export function sysSemtimedop(
  task: Task,
  semid: number,
  usops: number,
  nsops: number,
  utimeout: number,
): number | Promise<number> {
  const ns = ipcNs(task.kernel);
  const n = nsops >>> 0;
  if (n < 1) return -E.EINVAL;
  if (n > ns.semCtls.semopm) return -E.E2BIG;
  const sops = readSops(task, usops, n);
  if (typeof sops === 'number') return sops;
  let t: number | undefined;
  if (utimeout !== 0) {
    t = getTimespecNs(task.mm, utimeout);
    if (t < 0) return t;
  }
  return doSemtimedop(task, semid | 0, sops, t);
}

export function sysSemop(task: Task, semid: number, usops: number, nsops: number): number | Promise<number> {
  return sysSemtimedop(task, semid, usops, nsops, 0);
}

/** freeary: IPC_RMID wakes every sleeper with EIDRM and forgets the undo entries. */
function freeary(kernel: Kernel, ns: IpcNamespace, sma: SemArray): void {
  for (const l of undoMap(kernel).values()) l.delete(sma.perm.id);
  for (const q of sma.pending) {
    q.status = -E.EIDRM;
    q.wq.wakeUp();
  }
  sma.pending = [];
  ns.semIds.remove(sma);
  ns.usedSems -= sma.nsems;
}

/** count_semcnt: sleepers blocked on semaphore `num` waiting for zero (zcnt) or for an increase. */
function countSemcnt(sma: SemArray, num: number, zero: boolean): number {
  let n = 0;
  for (const q of sma.pending) {
    const b = q.blocking;
    if (b && b.num === num && (zero ? b.op === 0 : b.op < 0)) n++;
  }
  return n;
}

/** struct seminfo for IPC_INFO / SEM_INFO. */
function semInfo(task: Task, ns: IpcNamespace, arg: number, cmd: number): number {
  const b = new Uint8Array(40);
  const v = new DataView(b.buffer);
  const c = ns.semCtls;
  const info = [c.semmns, c.semmni, c.semmns, c.semmns, c.semmsl, c.semopm, c.semopm, SEMUSZ, SEMVMX, SEMAEM];
  if (cmd === SEM_INFO) {
    info[7] = ns.semIds.inUse; // semusz: sets in use
    info[9] = ns.usedSems; // semaem: semaphores in use
  }
  info.forEach((x, i) => v.setInt32(i * 4, x, true));
  if (copyToUser(task.mm, arg, b) < 0) return -E.EFAULT;
  const m = ns.semIds.maxIdx();
  return m < 0 ? 0 : m;
}

/** semctl(semid, semnum, cmd, arg): arg is the union semun passed by value (an int or a pointer). */
export function sysSemctl(task: Task, semid: number, semnum: number, cmdArg: number, arg: number): number {
  const ns = ipcNs(task.kernel);
  const id = semid | 0;
  const num = semnum | 0;
  const cmd = (cmdArg | 0) & ~IPC_64;
  if (id < 0) return -E.EINVAL;
  switch (cmd) {
    case IPC_INFO:
    case SEM_INFO:
      return semInfo(task, ns, arg, cmd);
    case IPC_STAT:
    case SEM_STAT:
    case SEM_STAT_ANY: {
      const sma = cmd === IPC_STAT ? ns.semIds.obtainCheck(id) : ns.semIds.obtainIdx(id);
      if (typeof sma === 'number') return sma;
      if (cmd !== SEM_STAT_ANY && ipcperms(task.cred, sma.perm, S_IRUGO) < 0) return -E.EACCES;
      const b = new Uint8Array(SEMID64_DS_SIZE);
      const v = new DataView(b.buffer);
      fillIpc64Perm(v, 0, sma.perm);
      setI64(v, 48, sma.otime);
      setI64(v, 56, sma.ctime);
      setI64(v, 64, sma.nsems);
      if (copyToUser(task.mm, arg, b) < 0) return -E.EFAULT;
      return cmd === IPC_STAT ? 0 : sma.perm.id;
    }
    case IPC_RMID:
    case IPC_SET: {
      const sma = ns.semIds.obtainCheck(id);
      if (typeof sma === 'number') return sma;
      if (cmd === IPC_SET) {
        const r = readIpc64Perm(task, arg, SEMID64_DS_SIZE);
        if (typeof r === 'number') return r;
        if (!ipcOwnerOrCapable(task.cred, sma.perm)) return -E.EPERM;
        const e = ipcUpdatePerm(r.perm, sma.perm);
        if (e < 0) return e;
        sma.ctime = nowSeconds(task);
        return 0;
      }
      if (!ipcOwnerOrCapable(task.cred, sma.perm)) return -E.EPERM;
      freeary(task.kernel, ns, sma);
      return 0;
    }
    case GETVAL:
    case GETPID:
    case GETNCNT:
    case GETZCNT:
    case GETALL:
    case SETVAL:
    case SETALL: {
      const sma = ns.semIds.obtainCheck(id);
      if (typeof sma === 'number') return sma;
      const write = cmd === SETVAL || cmd === SETALL;
      if (ipcperms(task.cred, sma.perm, write ? S_IWUGO : S_IRUGO) < 0) return -E.EACCES;
      if (cmd === GETALL) {
        const b = new Uint8Array(sma.nsems * 2);
        const v = new DataView(b.buffer);
        sma.sems.forEach((s, i) => v.setUint16(i * 2, s.val, true));
        return copyToUser(task.mm, arg, b) < 0 ? -E.EFAULT : 0;
      }
      if (cmd === SETALL) {
        const b = copyFromUser(task.mm, arg, sma.nsems * 2);
        if (typeof b === 'number') return -E.EFAULT;
        const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const vals: number[] = [];
        for (let i = 0; i < sma.nsems; i++) {
          const x = v.getUint16(i * 2, true);
          if (x > SEMVMX) return -E.ERANGE;
          vals.push(x);
        }
        vals.forEach((x, i) => {
          sma.sems[i]!.val = x;
          sma.sems[i]!.pid = task.tgid;
        });
        clearUndos(task.kernel, sma.perm.id, -1);
        const now = nowSeconds(task);
        sma.ctime = now;
        updateQueue(sma, now);
        return 0;
      }
      if (num < 0 || num >= sma.nsems) return -E.EINVAL;
      const sem = sma.sems[num]!;
      switch (cmd) {
        case GETVAL:
          return sem.val;
        case GETPID:
          return sem.pid;
        case GETNCNT:
          return countSemcnt(sma, num, false);
        case GETZCNT:
          return countSemcnt(sma, num, true);
        default: {
          // SETVAL: the union's int.
          const val = arg | 0;
          if (val < 0 || val > SEMVMX) return -E.ERANGE;
          clearUndos(task.kernel, sma.perm.id, num);
          sem.val = val;
          sem.pid = task.tgid;
          const now = nowSeconds(task);
          sma.ctime = now;
          updateQueue(sma, now);
          return 0;
        }
      }
    }
    default:
      return -E.EINVAL;
  }
}

/**
 * exit_sem: apply the exiting process's SEM_UNDO adjustments (clamped to 0..SEMVMX, as
 * Linux does) and let sleepers on those sets retry. Call when the last thread of a thread
 * group exits (the undo list is shared by CLONE_SYSVSEM threads, i.e. per tgid here).
 */
export function exitSem(task: Task): void {
  const m = undoMap(task.kernel);
  const l = m.get(task.tgid);
  if (!l) return;
  m.delete(task.tgid);
  const ns = ipcNs(task.kernel);
  for (const [semid, adj] of l) {
    const sma = ns.semIds.obtainCheck(semid);
    if (typeof sma === 'number') continue;
    let changed = false;
    adj.forEach((a, i) => {
      if (a === 0) return;
      const s = sma.sems[i]!;
      let v = s.val + a;
      if (v < 0) v = 0;
      if (v > SEMVMX) v = SEMVMX;
      s.val = v;
      s.pid = task.tgid;
      changed = true;
    });
    if (changed) updateQueue(sma, nowSeconds(task));
  }
}

/** For tests: the undo adjustments of a process for one set (null when none). */
export function semUndoOf(kernel: Kernel, tgid: number, semid: number): number[] | null {
  return undoMap(kernel).get(tgid)?.get(semid) ?? null;
}
