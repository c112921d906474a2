/**
 * SysV IPC common code (ipc/util.c, ipc/namespace.c): the per-namespace id tables, keys,
 * kern_ipc_perm and permission checks shared by semaphores, message queues and shared memory.
 *
 * Ids are computed as Linux does (ipc_idr_alloc / ipc_buildid): the slot index is allocated
 * cyclically, the sequence number goes up whenever the index wraps, and the id is
 * seq * SEQ_MULTIPLIER + index, so a removed id is not handed out again at once.
 */
import * as E from '../errno.js';
import { copyFromUser } from '../mm/uaccess.js';
import type { Cred, Task } from '../sched/task.js';

export const IPC_PRIVATE = 0;
export const IPC_CREAT = 0o1000;
export const IPC_EXCL = 0o2000;
export const IPC_NOWAIT = 0o4000;

export const IPC_RMID = 0;
export const IPC_SET = 1;
export const IPC_STAT = 2;
export const IPC_INFO = 3;
/** The "new" layout flag glibc may OR into cmd; riscv64 has only the 64-bit layouts. */
export const IPC_64 = 0x100;

/** IPCMNI (without ipcmni_extend): max slots, and the id multiplier. */
export const IPCMNI = 32768;
export const SEQ_MULTIPLIER = IPCMNI;
/** ipcid_seq_max(): INT_MAX >> IPCMNI_SHIFT. */
const IPCID_SEQ_MAX = 0x7fffffff >> 15;

const S_IRWXUGO = 0o777;

/** struct kern_ipc_perm. */
export class KernIpcPerm {
  id = -1;
  seq = 0;
  deleted = false;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
  constructor(
    readonly key: number,
    public mode: number,
    cred: Cred,
  ) {
    this.uid = this.cuid = cred.euid;
    this.gid = this.cgid = cred.egid;
  }
}

export interface IpcObject {
  perm: KernIpcPerm;
}

/** struct ipc_ids: one kind of object (sem, msg or shm) in a namespace. */
export class IpcIds<T extends IpcObject> {
  private readonly slots = new Map<number, T>();
  private readonly byKey = new Map<number, T>();
  private seq = 0;
  private lastIdx = -1;

  constructor(readonly max: number) {}

  get inUse(): number {
    return this.slots.size;
  }

  /** ipc_get_maxidx: the highest index in use, or -1 (IPC_INFO's return value). */
  maxIdx(): number {
    let m = -1;
    for (const i of this.slots.keys()) if (i > m) m = i;
    return m;
  }

  /** ipc_addid: give `obj` an index and id. -ENOSPC when the table is full. */
  add(obj: T): number {
    if (this.slots.size >= this.max) return -E.ENOSPC;
    // idr_alloc_cyclic from last_idx + 1.
    let idx = -1;
    for (let k = 1; k <= IPCMNI; k++) {
      const i = (this.lastIdx + k) % IPCMNI;
      if (!this.slots.has(i)) {
        idx = i;
        break;
      }
    }
    if (idx < 0) return -E.ENOSPC;
    if (idx <= this.lastIdx) {
      this.seq++;
      if (this.seq >= IPCID_SEQ_MAX) this.seq = 0;
    }
    this.lastIdx = idx;
    obj.perm.seq = this.seq;
    obj.perm.id = this.seq * SEQ_MULTIPLIER + idx;
    this.slots.set(idx, obj);
    if (obj.perm.key !== IPC_PRIVATE) this.byKey.set(obj.perm.key, obj);
    return obj.perm.id;
  }

  /** ipc_rmid: drop from the tables and mark deleted. */
  remove(obj: T): void {
    const idx = obj.perm.id % SEQ_MULTIPLIER;
    if (this.slots.get(idx) === obj) this.slots.delete(idx);
    if (obj.perm.key !== IPC_PRIVATE && this.byKey.get(obj.perm.key) === obj) this.byKey.delete(obj.perm.key);
    obj.perm.deleted = true;
  }

  findKey(key: number): T | null {
    return this.byKey.get(key) ?? null;
  }

  /** ipc_obtain_object_check: by full id (-EINVAL when absent or of another generation). */
  obtainCheck(id: number): T | number {
    if (!Number.isInteger(id) || id < 0) return -E.EINVAL;
    const obj = this.slots.get(id % SEQ_MULTIPLIER);
    if (!obj || obj.perm.id !== id) return -E.EINVAL;
    return obj;
  }

  /** ipc_obtain_object_idr: by index (the *_STAT commands). */
  obtainIdx(idx: number): T | number {
    const obj = this.slots.get(idx);
    return obj ?? -E.EINVAL;
  }

  all(): T[] {
    return [...this.slots.values()];
  }
}

/** Is the caller privileged for IPC (CAP_IPC_OWNER / CAP_SYS_ADMIN): root. */
export function ipcCapable(cred: Cred): boolean {
  return cred.euid === 0;
}

/**
 * ipcperms: may `cred` access the object with the rwx bits of `flag` (in the "other"
 * position or any position: requested = flag | flag>>3 | flag>>6)? 0 or -EACCES.
 */
export function ipcperms(cred: Cred, perm: KernIpcPerm, flag: number): number {
  const requested = (flag >> 6) | (flag >> 3) | flag;
  let granted = perm.mode;
  if (cred.euid === perm.cuid || cred.euid === perm.uid) granted >>= 6;
  else if (
    cred.egid === perm.gid ||
    cred.egid === perm.cgid ||
    cred.groups.includes(perm.gid) ||
    cred.groups.includes(perm.cgid)
  )
    granted >>= 3;
  if (requested & ~granted & 0o7 && !ipcCapable(cred)) return -E.EACCES;
  return 0;
}

/** ipcctl_obtain_check's ownership test for IPC_SET/IPC_RMID: owner, creator or privileged. */
export function ipcOwnerOrCapable(cred: Cred, perm: KernIpcPerm): boolean {
  return cred.euid === perm.uid || cred.euid === perm.cuid || ipcCapable(cred);
}

/**
 * ipcget (ipcget_new / ipcget_public): IPC_PRIVATE always creates; otherwise an existing key
 * is returned (EEXIST with IPC_CREAT|IPC_EXCL, EACCES without permission, `more` for the
 * kind's own checks) or created with IPC_CREAT (ENOENT without).
 */
export function ipcget<T extends IpcObject>(
  task: Task,
  ids: IpcIds<T>,
  key: number,
  flg: number,
  create: () => T | number,
  more?: (obj: T) => number,
): number {
  if (key !== IPC_PRIVATE) {
    const obj = ids.findKey(key);
    if (obj) {
      if (flg & IPC_CREAT && flg & IPC_EXCL) return -E.EEXIST;
      const e = ipcperms(task.cred, obj.perm, flg);
      if (e < 0) return e;
      if (more) {
        const m = more(obj);
        if (m < 0) return m;
      }
      return obj.perm.id;
    }
    if (!(flg & IPC_CREAT)) return -E.ENOENT;
  }
  const obj = create();
  if (typeof obj === 'number') return obj;
  return ids.add(obj);
}

/** Write struct ipc64_perm (48 bytes on riscv64) at `off`. */
export function fillIpc64Perm(v: DataView, off: number, p: KernIpcPerm): void {
  v.setInt32(off + 0, p.key, true);
  v.setUint32(off + 4, p.uid >>> 0, true);
  v.setUint32(off + 8, p.gid >>> 0, true);
  v.setUint32(off + 12, p.cuid >>> 0, true);
  v.setUint32(off + 16, p.cgid >>> 0, true);
  v.setUint32(off + 20, p.mode >>> 0, true);
  v.setUint16(off + 24, p.seq & 0xffff, true);
}

/** The fields IPC_SET takes from a user ipc64_perm: uid, gid, mode. */
export interface IpcSetPerm {
  uid: number;
  gid: number;
  mode: number;
}

/** copy_*id_from_user's perm part: read the ipc64_perm at the start of a user *id64_ds. */
export function readIpc64Perm(task: Task, uaddr: number, size: number): { perm: IpcSetPerm; v: DataView } | number {
  const b = copyFromUser(task.mm, uaddr, size);
  if (typeof b === 'number') return -E.EFAULT;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { perm: { uid: v.getUint32(4, true), gid: v.getUint32(8, true), mode: v.getUint32(20, true) }, v };
}

/** ipc_update_perm: IPC_SET's uid, gid and the permission bits of mode. */
export function ipcUpdatePerm(set: IpcSetPerm, p: KernIpcPerm): number {
  // uid/gid must be valid (-1 is not a valid id: EINVAL as make_kuid fails).
  if (set.uid === 0xffffffff || set.gid === 0xffffffff) return -E.EINVAL;
  p.uid = set.uid;
  p.gid = set.gid;
  p.mode = (p.mode & ~S_IRWXUGO) | (set.mode & S_IRWXUGO);
  return 0;
}

/** Seconds of CLOCK_REALTIME (ktime_get_real_seconds) for the *_time fields. */
export function nowSeconds(task: Task): number {
  return Math.floor(task.kernel.clock.realtimeNs() / 1e9);
}

/** Write a 64-bit signed value into a DataView. */
export function setI64(v: DataView, off: number, x: number): void {
  const hi = Math.floor(x / 4294967296);
  v.setUint32(off, (x - hi * 4294967296) >>> 0, true);
  v.setInt32(off + 4, hi | 0, true);
}
