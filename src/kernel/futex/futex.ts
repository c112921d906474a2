/**
 * Fast user-space mutexes (kernel/futex/{core,waitwake,requeue,syscalls}.c).
 *
 * A futex is a 32-bit word in user memory; the kernel only keeps the queues of tasks waiting
 * on one. Waiters hang in hash buckets indexed by a key (get_futex_key):
 *   - FUTEX_PRIVATE_FLAG: (mm, address) — threads of one process;
 *   - shared, on a MAP_SHARED page (shm, shared file or anonymous mappings): the physical frame
 *     and offset, so every process mapping that page meets (Linux uses inode+pgoff or the
 *     page's mapping; a frame is the same thing while the page is mapped, and shared pages
 *     never move here);
 *   - shared, on a private page: (mm, address) marked "shared", as Linux's FUT_OFF_MMSHARED.
 *
 * FUTEX_WAIT reads the word and enqueues before its first await, which in our single-threaded
 * kernel makes "compare and sleep" atomic with respect to every waker (the hash-bucket lock of
 * Linux). Waking marks the waiter and ends its sleep; a waiter that times out or is
 * interrupted dequeues itself. PI futexes (LOCK_PI …) are not implemented: -ENOSYS.
 */
import * as E from '../errno.js';
import type { Kernel } from '../kernel.js';
import type { MmStruct } from '../mm/mm_struct.js';
import { VM_SHARED } from '../mm/mman.js';
import { copyFromUser, getUser32, getUser64, putUser32, userPhys } from '../mm/uaccess.js';
import * as N from '../syscall/numbers.js';
import type { Task } from '../sched/task.js';
import { sleepOn, WaitQueue } from '../sched/wait.js';
import { setRestartFn } from '../signal/signal.js';
import type { SyscallTable } from '../syscall/types.js';

export const FUTEX_WAIT = 0;
export const FUTEX_WAKE = 1;
export const FUTEX_FD = 2;
export const FUTEX_REQUEUE = 3;
export const FUTEX_CMP_REQUEUE = 4;
export const FUTEX_WAKE_OP = 5;
export const FUTEX_LOCK_PI = 6;
export const FUTEX_UNLOCK_PI = 7;
export const FUTEX_TRYLOCK_PI = 8;
export const FUTEX_WAIT_BITSET = 9;
export const FUTEX_WAKE_BITSET = 10;
export const FUTEX_WAIT_REQUEUE_PI = 11;
export const FUTEX_CMP_REQUEUE_PI = 12;
export const FUTEX_LOCK_PI2 = 13;
export const FUTEX_PRIVATE_FLAG = 128;
export const FUTEX_CLOCK_REALTIME = 256;
export const FUTEX_CMD_MASK = ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
export const FUTEX_BITSET_MATCH_ANY = 0xffffffff;

export const FUTEX_WAITERS = 0x80000000;
export const FUTEX_OWNER_DIED = 0x40000000;
export const FUTEX_TID_MASK = 0x3fffffff;
/** Upper bound on robust-list entries walked at exit (ROBUST_LIST_LIMIT). */
const ROBUST_LIST_LIMIT = 2048;

/** Address-space identities for private keys (the mm pointer of futex_key.private.mm). */
const mmIds = new WeakMap<MmStruct, number>();
let nextMmId = 1;
function mmId(mm: MmStruct): number {
  let id = mmIds.get(mm);
  if (id === undefined) {
    id = nextMmId++;
    mmIds.set(mm, id);
  }
  return id;
}

/**
 * get_futex_key: a string naming the futex word, or -EINVAL (misaligned) / -EFAULT (not
 * mapped). `shared` is !FUTEX_PRIVATE_FLAG.
 */
export function getFutexKey(mm: MmStruct, uaddr: number, shared: boolean): string | number {
  if (!Number.isInteger(uaddr) || uaddr % 4 !== 0) return -E.EINVAL;
  if (uaddr < 0) return -E.EFAULT;
  if (!shared) return `p:${mmId(mm)}:${uaddr}`;
  const vma = mm.findVma(uaddr);
  if (!vma || uaddr < vma.start) return -E.EFAULT;
  if (vma.flags & VM_SHARED) {
    const pa = userPhys(mm, uaddr, false);
    if (pa < 0) return -E.EFAULT;
    return `f:${pa}`;
  }
  return `s:${mmId(mm)}:${uaddr}`;
}

/** struct futex_q: one waiter. */
export interface FutexQ {
  task: Task;
  key: string;
  bitset: number;
  /** Set by a waker before it ends the sleep (futex_wake_mark). */
  woken: boolean;
  wq: WaitQueue;
}

/** The futex hash table of one kernel: key → waiters in arrival order (a plist of equal priorities). */
export class FutexHash {
  readonly buckets = new Map<string, FutexQ[]>();

  enqueue(q: FutexQ): void {
    let b = this.buckets.get(q.key);
    if (!b) this.buckets.set(q.key, (b = []));
    b.push(q);
  }

  /** futex_unqueue: false if it was not queued (already woken). */
  unqueue(q: FutexQ): boolean {
    const b = this.buckets.get(q.key);
    if (!b) return false;
    const i = b.indexOf(q);
    if (i < 0) return false;
    b.splice(i, 1);
    if (b.length === 0) this.buckets.delete(q.key);
    return true;
  }

  /** Waiters on a key (a copy, safe to mutate the bucket while walking it). */
  waiters(key: string): FutexQ[] {
    return [...(this.buckets.get(key) ?? [])];
  }

  /** futex_wake_mark + wake_up_q. */
  wakeQ(q: FutexQ): void {
    this.unqueue(q);
    q.woken = true;
    q.wq.wakeUp();
  }

  /**
   * futex_wake: wake up to `nr` waiters whose bitset intersects `bitset`. As in Linux, nr ≤ 0
   * still wakes one (the loop tests after counting).
   */
  wake(key: string, nr: number, bitset: number): number {
    let ret = 0;
    for (const q of this.waiters(key)) {
      if ((q.bitset & bitset) >>> 0 === 0) continue;
      this.wakeQ(q);
      if (++ret >= nr) break;
    }
    return ret;
  }

  /** futex_requeue (non-PI): wake nrWake, move up to nrRequeue more to key2. Returns both counts summed. */
  requeue(key1: string, key2: string, nrWake: number, nrRequeue: number): number {
    let count = 0;
    for (const q of this.waiters(key1)) {
      if (count - nrWake >= nrRequeue) break;
      if (++count <= nrWake) {
        this.wakeQ(q);
        continue;
      }
      if (key1 === key2) continue;
      this.unqueue(q);
      q.key = key2;
      this.enqueue(q);
    }
    return count;
  }

  get size(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.length;
    return n;
  }
}

/** One hash table per kernel (futex_queues). */
const hashes = new WeakMap<Kernel, FutexHash>();
export function futexHash(task: Task): FutexHash {
  let h = hashes.get(task.kernel);
  if (!h) {
    hashes.set(task.kernel, (h = new FutexHash()));
    installFutexHooks(task.kernel);
  }
  return h;
}

/**
 * futex_init for one kernel: set the Kernel's hooks the exit path calls (CLONE_CHILD_CLEARTID
 * wake, robust list). Done at the latest when the kernel's first futex call creates the hash
 * table — no waiter can exist before that, so the CLEARTID wake is never missed; start_kernel
 * may call it earlier so robust lists of never-contended locks are released too.
 */
export function installFutexHooks(kernel: Kernel): void {
  kernel.futexWake ??= futexWake;
  kernel.exitRobustList ??= exitRobustList;
}

/**
 * Read a struct timespec (64-bit tv_sec, tv_nsec) as nanoseconds, or -EFAULT/-EINVAL
 * (timespec64_valid: 0 ≤ nsec < 1e9, sec ≥ 0).
 */
export function getTimespecNs(mm: MmStruct, va: number): number {
  const b = copyFromUser(mm, va, 16);
  if (typeof b === 'number') return -E.EFAULT;
  const v = new DataView(b.buffer, b.byteOffset, 16);
  const sec = v.getUint32(0, true) + v.getInt32(4, true) * 4294967296;
  const nsec = v.getUint32(8, true) + v.getInt32(12, true) * 4294967296;
  if (sec < 0 || nsec < 0 || nsec >= 1e9) return -E.EINVAL;
  return sec * 1e9 + nsec;
}

/**
 * futex_wait: if *uaddr == val, sleep until woken, the deadline (absolute CLOCK_MONOTONIC ns)
 * or a signal. `restart` is the code a signal gives (-ERESTARTSYS without a timeout,
 * -ERESTART_RESTARTBLOCK with one, as futex_wait sets up futex_wait_restart).
 */
export function futexWait(
  task: Task,
  uaddr: number,
  shared: boolean,
  val: number,
  deadlineNs: number | undefined,
  bitset: number,
): number | Promise<number> {
  if (bitset >>> 0 === 0) return -E.EINVAL;
  const key = getFutexKey(task.mm, uaddr, shared);
  if (typeof key === 'number') return key;
  const cur = getUser32(task.mm, uaddr);
  if (cur === null) return -E.EFAULT;
  if ((cur | 0) !== (val | 0)) return -E.EAGAIN;
  const hash = futexHash(task);
  const q: FutexQ = { task, key, bitset: bitset >>> 0, woken: false, wq: new WaitQueue() };
  // Queued before the first await: no waker can slip between the check and the sleep.
  hash.enqueue(q);
  return sleepOn(task, q.wq, deadlineNs === undefined ? {} : { deadlineNs }).then((r) => {
    if (q.woken) return 0;
    hash.unqueue(q);
    if (r === -E.ETIMEDOUT) return -E.ETIMEDOUT;
    if (r === 0) return 0; // a spurious wake-up: user space re-checks its word
    if (deadlineNs === undefined) return -E.ERESTARTSYS;
    // futex_wait_restart: the restarted wait keeps the same absolute deadline.
    setRestartFn(task, (t) => futexWait(t, uaddr, shared, val, deadlineNs, bitset));
    return -E.ERESTART_RESTARTBLOCK;
  });
}

/**
 * futex_wake for other subsystems: wake up to `nr` waiters of the shared futex at `uaddr`
 * in task's address space (mm_release's CLONE_CHILD_CLEARTID wake uses FLAGS_SHARED, which
 * also matches glibc's LLL_SHARED join wait). Returns the number woken or -errno.
 */
export function futexWake(task: Task, uaddr: number, nr: number, bitset = FUTEX_BITSET_MATCH_ANY): number {
  const key = getFutexKey(task.mm, uaddr, true);
  if (typeof key === 'number') return key;
  return futexHash(task).wake(key, nr, bitset);
}

/** futex_atomic_op_inuser + the comparison of FUTEX_WAKE_OP. Returns [cmp result] or -errno. */
function wakeOpAtomic(task: Task, encoded: number, uaddr: number): boolean | number {
  const op = (encoded >>> 28) & 7;
  const cmp = (encoded >>> 24) & 15;
  let oparg = ((encoded << 8) >> 20) | 0; // sign_extend32(encoded >> 12, 11)
  const cmparg = ((encoded << 20) >> 20) | 0; // sign_extend32(encoded, 11)
  if (encoded & 0x80000000) {
    // FUTEX_OP_OPARG_SHIFT is bit 3 of the 4-bit op field (encoded bit 31).
    oparg = (1 << (oparg & 31)) | 0;
  }
  if (cmp > 5) return -E.ENOSYS;
  if (uaddr % 4 !== 0) return -E.EINVAL;
  const old = getUser32(task.mm, uaddr);
  if (old === null) return -E.EFAULT;
  let nv: number;
  switch (op) {
    case 0:
      nv = oparg;
      break;
    case 1:
      nv = (old + oparg) | 0;
      break;
    case 2:
      nv = old | oparg;
      break;
    case 3:
      nv = old & ~oparg;
      break;
    case 4:
      nv = old ^ oparg;
      break;
    default:
      return -E.ENOSYS;
  }
  if (putUser32(task.mm, uaddr, nv) < 0) return -E.EFAULT;
  switch (cmp) {
    case 0:
      return old === cmparg;
    case 1:
      return old !== cmparg;
    case 2:
      return old < cmparg;
    case 3:
      return old <= cmparg;
    case 4:
      return old > cmparg;
    default:
      return old >= cmparg;
  }
}

/** do_futex: dispatch one futex operation. `utime` is the timeout pointer or val2. */
export function doFutex(
  task: Task,
  uaddr: number,
  op: number,
  val: number,
  utime: number,
  uaddr2: number,
  val3: number,
): number | Promise<number> {
  const cmd = op & FUTEX_CMD_MASK;
  const shared = (op & FUTEX_PRIVATE_FLAG) === 0;
  const clockrt = (op & FUTEX_CLOCK_REALTIME) !== 0;
  if (
    clockrt &&
    cmd !== FUTEX_WAIT &&
    cmd !== FUTEX_WAIT_BITSET &&
    cmd !== FUTEX_WAIT_REQUEUE_PI &&
    cmd !== FUTEX_LOCK_PI2
  )
    return -E.ENOSYS;
  const hash = futexHash(task);
  switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET: {
      let deadline: number | undefined;
      if (utime !== 0) {
        const ns = getTimespecNs(task.mm, utime);
        if (ns < 0) return ns;
        const clock = task.kernel.clock;
        if (cmd === FUTEX_WAIT) deadline = clock.monotonicNs() + ns;
        else if (clockrt) deadline = clock.monotonicNs() + (ns - clock.realtimeNs());
        else deadline = ns;
      }
      const bitset = cmd === FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : val3 >>> 0;
      return futexWait(task, uaddr, shared, val, deadline, bitset);
    }
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET: {
      const bitset = cmd === FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : val3 >>> 0;
      if (bitset === 0) return -E.EINVAL;
      const key = getFutexKey(task.mm, uaddr, shared);
      if (typeof key === 'number') return key;
      return hash.wake(key, val | 0, bitset);
    }
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: {
      // val2 travels in the timeout slot (a 32-bit int).
      const nrWake = val | 0;
      const nrRequeue = utime | 0;
      if (nrWake < 0 || nrRequeue < 0) return -E.EINVAL;
      const k1 = getFutexKey(task.mm, uaddr, shared);
      if (typeof k1 === 'number') return k1;
      const k2 = getFutexKey(task.mm, uaddr2, shared);
      if (typeof k2 === 'number') return k2;
      if (cmd === FUTEX_CMP_REQUEUE) {
        const cur = getUser32(task.mm, uaddr);
        if (cur === null) return -E.EFAULT;
        if (cur !== (val3 | 0)) return -E.EAGAIN;
      }
      return hash.requeue(k1, k2, nrWake, nrRequeue);
    }
    case FUTEX_WAKE_OP: {
      const k1 = getFutexKey(task.mm, uaddr, shared);
      if (typeof k1 === 'number') return k1;
      const k2 = getFutexKey(task.mm, uaddr2, shared);
      if (typeof k2 === 'number') return k2;
      const c = wakeOpAtomic(task, val3 >>> 0, uaddr2);
      if (typeof c === 'number') return c;
      let ret = hash.wake(k1, val | 0, FUTEX_BITSET_MATCH_ANY);
      if (c) ret += hash.wake(k2, utime | 0, FUTEX_BITSET_MATCH_ANY);
      return ret;
    }
    case FUTEX_LOCK_PI:
    case FUTEX_LOCK_PI2:
    case FUTEX_UNLOCK_PI:
    case FUTEX_TRYLOCK_PI:
    case FUTEX_WAIT_REQUEUE_PI:
    case FUTEX_CMP_REQUEUE_PI:
      // Priority-inheritance futexes are not implemented (glibc uses them only for PTHREAD_PRIO_INHERIT).
      return -E.ENOSYS;
    default:
      return -E.ENOSYS;
  }
}

export function sysFutex(
  task: Task,
  uaddr: number,
  op: number,
  val: number,
  utime: number,
  uaddr2: number,
  val3: number,
): number | Promise<number> {
  return doFutex(task, uaddr, op | 0, val | 0, utime, uaddr2, val3);
}

/**
 * handle_futex_death: the lock at `uaddr` was held by the exiting `task`: set
 * FUTEX_OWNER_DIED (keeping FUTEX_WAITERS) and wake one waiter if there were any.
 */
function handleFutexDeath(task: Task, uaddr: number, pendingOp: boolean): void {
  if (uaddr % 4 !== 0) return;
  const val = getUser32(task.mm, uaddr);
  if (val === null) return;
  const owner = val & FUTEX_TID_MASK;
  if (pendingOp && owner === 0) {
    // Died between the lock's user-space fast path and the list update: wake a waiter.
    futexWake(task, uaddr, 1);
    return;
  }
  if (owner !== task.pid) return;
  const nv = (val & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
  if (putUser32(task.mm, uaddr, nv) < 0) return;
  if (val & FUTEX_WAITERS) futexWake(task, uaddr, 1);
}

/**
 * exit_robust_list: walk the task's robust list (struct robust_list_head { next; long
 * futex_offset; list_op_pending; }) and release every futex it still owns. Called by the
 * exit path before the mm goes away.
 */
export function exitRobustList(task: Task): void {
  const head = task.robustList;
  if (!head) return;
  const mm = task.mm;
  let entry = getUser64(mm, head);
  const offset = getUser64(mm, head + 8);
  const pending = getUser64(mm, head + 16);
  if (entry === null || offset === null || pending === null) return;
  // Bit 0 of an entry pointer marks a PI futex.
  const pendingPtr = pending - (pending & 1);
  let limit = ROBUST_LIST_LIMIT;
  while (entry !== head && entry !== 0) {
    const ptr = entry - (entry & 1);
    const next = getUser64(mm, ptr);
    if (ptr !== pendingPtr) handleFutexDeath(task, ptr + offset, false);
    if (next === null) return;
    entry = next;
    if (--limit === 0) break;
  }
  if (pendingPtr) handleFutexDeath(task, pendingPtr + offset, true);
}

/** The futex part of the system-call table (set/get_robust_list live in sched/syscalls.ts). */
export const futexSyscalls: SyscallTable = {
  [N.SYS_futex]: sysFutex,
};
