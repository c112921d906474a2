/**
 * SysV shared memory (ipc/shm.c): shmget / shmat / shmdt / shmctl.
 *
 * A segment (shmid_kernel) is an unlinked object of the internal tmpfs (mm/shmem.ts: a ShmemFile
 * whose page cache holds the pages). shmat maps it MAP_SHARED through a per-attach file (Linux
 * creates a struct file per shmat, with shm_file_operations); every VMA of an attach holds a
 * reference on the segment's object — taken on vma_link, split and fork, dropped on unmap and
 * exit — so `shm_nattch` is the number of VMAs mapping the segment, as Linux's shm_open/shm_close
 * count it, and it stays right across fork, exit and exec (which destroy or copy the mm) with no
 * extra hooks. IPC_RMID marks the segment SHM_DEST and hides its key; it is destroyed when the
 * last attach goes.
 *
 * The id table is kept here rather than in ipc/util.ts's IpcIds: a segment removed with
 * IPC_RMID while attached keeps its id (shmat and IPC_STAT still work on it, as Linux allows)
 * but loses its key (ipc_set_key_private), which IpcIds has no operation for. The namespace is
 * per kernel (`shmNamespace`).
 */
import type { Kernel } from '../kernel.js';
import type { Task } from '../sched/task.js';
import type { SyscallHandler, SyscallTable } from '../syscall/types.js';
import { SYS_shmat, SYS_shmctl, SYS_shmdt, SYS_shmget } from '../syscall/numbers.js';
import { EACCES, EEXIST, EFAULT, EINVAL, ENOENT, ENOMEM, ENOSPC, EPERM } from '../errno.js';
import { ShmemFile } from '../mm/shmem.js';
import type { AddressSpace } from '../mm/filemap.js';
import { PAGE_SIZE, TASK_SIZE, pageAlignUp } from '../mm/layout.js';
import { MAP_FIXED, MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE } from '../mm/mman.js';
import { copyFromUser, copyToUser } from '../mm/uaccess.js';
import { munmapRange, ulong } from '../mm/mmap.js';

import { IPC_64, IPC_CREAT, IPC_EXCL, IPC_INFO, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT } from './util.js';

// include/uapi/linux/shm.h
export const SHM_LOCK = 11;
export const SHM_UNLOCK = 12;
export const SHM_STAT = 13;
export const SHM_INFO = 14;
export const SHM_STAT_ANY = 15;
export const SHM_RDONLY = 0o10000;
export const SHM_RND = 0o20000;
export const SHM_REMAP = 0o40000;
export const SHM_EXEC = 0o100000;
/** Mode bits the kernel adds: segment will be destroyed on last detach; segment locked. */
export const SHM_DEST = 0o1000;
export const SHM_LOCKED = 0o2000;
/** SHMLBA for riscv (asm-generic): one page. */
export const SHMLBA = PAGE_SIZE;
export const SHMMIN = 1;
export const SHMMNI = 4096;
/** IPCMNI_SHIFT: id = seq << 15 | index. */
const IPCMNI = 32768;
const IPCID_SEQ_MAX = 65535;
/** SHMMAX / SHMALL = ULONG_MAX - (1 << 24), as lo/hi halves (not exact as a double). */
const SHMMAX_LO = 0xfeffffff;
const SHMMAX_HI = 0xffffffff;

/** sizeof(struct shmid64_ds) on riscv64 (asm-generic/shmbuf.h + ipcbuf.h). */
export const SHMID64_DS_SIZE = 112;

/** struct shmid_kernel. */
export class ShmSegment {
  seq = 0;
  id = 0;
  atime = 0;
  dtime = 0;
  ctime = 0;
  lpid = 0;
  deleted = false;
  locked = false;

  constructor(
    readonly ns: ShmNamespace,
    public key: number,
    public uid: number,
    public gid: number,
    readonly cuid: number,
    readonly cgid: number,
    /** The low 9 permission bits. */
    public mode: number,
    readonly segsz: number,
    readonly cpid: number,
    readonly file: ShmemFile,
  ) {}

  /** shm_nattch: VMAs mapping the segment (the object's references less the segment's own). */
  get nattch(): number {
    return this.file.count - (this.deleted ? 0 : 1);
  }

  get pages(): number {
    return Math.ceil(this.segsz / PAGE_SIZE);
  }
}

/**
 * The file of one shmat (shm_file_data): delegates to the segment's object, counts attaches,
 * and updates shm_atime/shm_dtime/shm_lprid as shm_open/shm_close do.
 */
export class ShmAttachFile {
  constructor(
    readonly seg: ShmSegment,
    readonly writable: boolean,
  ) {}
  readonly readable = true;
  get mapping(): AddressSpace {
    return this.seg.file.mapping;
  }
  get(): this {
    this.seg.file.get();
    this.seg.atime = this.seg.ns.nowSec();
    this.seg.lpid = this.seg.ns.currentPid();
    return this;
  }
  put(): void {
    this.seg.dtime = this.seg.ns.nowSec();
    this.seg.lpid = this.seg.ns.currentPid();
    this.seg.file.put();
  }
  pread(buf: Uint8Array, pos: number): number {
    return this.seg.file.pread(buf, pos);
  }
  pwrite(buf: Uint8Array, pos: number): number {
    return this.seg.file.pwrite(buf, pos);
  }
}

/** ipc_namespace's shm part: ids[IPC_SHM_IDS] plus shm_tot. */
export class ShmNamespace {
  /** index → segment (the idr). */
  readonly segs = new Map<number, ShmSegment>();
  /** key → segment, for keys other than IPC_PRIVATE (the rhashtable). */
  readonly byKey = new Map<number, ShmSegment>();
  /** Pages of all segments (shm_tot). */
  shmTot = 0;
  private seq = 0;

  constructor(readonly kernel: Kernel | null) {}

  nowSec(): number {
    return this.kernel ? Math.floor(this.kernel.clock.realtimeNs() / 1e9) : 0;
  }
  currentPid(): number {
    return this.kernel?.current?.tgid ?? 0;
  }

  /** ipc_obtain_object_check(): the segment with this id, or -EINVAL / -EIDRM. */
  lookup(id: number): ShmSegment | number {
    if (!(id >= 0)) return -EINVAL;
    const seg = this.segs.get(id % IPCMNI);
    if (!seg || seg.id !== id) return -EINVAL;
    return seg;
  }

  /** ipc_get_maxidx(). */
  maxIdx(): number {
    let m = -1;
    for (const i of this.segs.keys()) if (i > m) m = i;
    return m < 0 ? 0 : m;
  }

  /** newseg(): a new segment of `size` bytes. Returns it or -errno. */
  newSeg(task: Task, key: number, size: number, flg: number): ShmSegment | number {
    if (size < SHMMIN) return -EINVAL;
    const pages = Math.ceil(size / PAGE_SIZE);
    if (!Number.isSafeInteger(size) || size > TASK_SIZE * 1024) return -EINVAL;
    if (this.shmTot + pages > 2 ** 52) return -ENOSPC;
    if (this.segs.size >= SHMMNI) return -ENOSPC;
    let idx = 0;
    while (this.segs.has(idx)) idx++;
    const file = new ShmemFile(size, `/SYSV${(key >>> 0).toString(16).padStart(8, '0')} (deleted)`);
    const c = task.cred;
    const seg = new ShmSegment(this, key, c.euid, c.egid, c.euid, c.egid, flg & 0o777, size, task.tgid, file);
    seg.seq = this.seq;
    this.seq = this.seq >= IPCID_SEQ_MAX ? 0 : this.seq + 1;
    seg.id = seg.seq * IPCMNI + idx;
    seg.ctime = this.nowSec();
    file.get(); // the segment's own reference, dropped by IPC_RMID
    file.onRelease = () => this.destroy(seg, idx);
    this.segs.set(idx, seg);
    if (key !== IPC_PRIVATE) this.byKey.set(key, seg);
    this.shmTot += pages;
    return seg;
  }

  /** do_shm_rmid(): hide the key; destroy now or at the last detach. */
  rmid(seg: ShmSegment): void {
    if (seg.deleted) return;
    seg.deleted = true;
    if (seg.key !== IPC_PRIVATE && this.byKey.get(seg.key) === seg) this.byKey.delete(seg.key);
    seg.key = IPC_PRIVATE;
    seg.file.put();
  }

  /** shm_destroy(). */
  private destroy(seg: ShmSegment, idx: number): void {
    if (this.segs.get(idx) === seg) this.segs.delete(idx);
    if (this.byKey.get(seg.key) === seg) this.byKey.delete(seg.key);
    this.shmTot -= seg.pages;
  }
}

const namespaces = new WeakMap<Kernel, ShmNamespace>();
const orphanNs = new ShmNamespace(null);

/** The shm namespace of the task's kernel (init_ipc_ns). */
export function shmNamespace(task: Task): ShmNamespace {
  const k = task.kernel as Kernel | undefined;
  if (!k) return orphanNs;
  let ns = namespaces.get(k);
  if (!ns) namespaces.set(k, (ns = new ShmNamespace(k)));
  return ns;
}

/** ipcperms(): 0 or -EACCES for the access bits `flag` (S_IRUGO / S_IWUGO style, 0o444 / 0o222). */
export function ipcPerms(task: Task, seg: ShmSegment, flag: number): number {
  const c = task.cred;
  if (c.euid === 0) return 0; // CAP_IPC_OWNER
  const requested = (flag >> 6) | (flag >> 3) | flag;
  let granted = seg.mode;
  if (c.euid === seg.cuid || c.euid === seg.uid) granted >>= 6;
  else if (c.egid === seg.cgid || c.egid === seg.gid || c.groups.includes(seg.cgid) || c.groups.includes(seg.gid))
    granted >>= 3;
  return (requested & ~granted & 0o7) !== 0 ? -EACCES : 0;
}

function isOwner(task: Task, seg: ShmSegment): boolean {
  const e = task.cred.euid;
  return e === 0 || e === seg.cuid || e === seg.uid;
}

// ---- system calls ----

/** ksys_shmget(). */
export function doShmget(task: Task, key: number, size: number, flg: number): number {
  const ns = shmNamespace(task);
  if (key === IPC_PRIVATE) {
    const s = ns.newSeg(task, key, size, flg);
    return typeof s === 'number' ? s : s.id;
  }
  const seg = ns.byKey.get(key);
  if (!seg) {
    if (!(flg & IPC_CREAT)) return -ENOENT;
    const s = ns.newSeg(task, key, size, flg);
    return typeof s === 'number' ? s : s.id;
  }
  if (flg & IPC_CREAT && flg & IPC_EXCL) return -EEXIST;
  const p = ipcPerms(task, seg, flg & 0o777);
  if (p < 0) return p;
  // shm_more_checks()
  if (seg.segsz < size) return -EINVAL;
  return seg.id;
}

/** do_shmat(): attach and return the address (or -errno). */
export function doShmat(task: Task, shmid: number, addr: number, shmflg: number): number {
  const ns = shmNamespace(task);
  if (addr !== 0) {
    if (addr % SHMLBA !== 0) {
      if (shmflg & SHM_RND) {
        addr -= addr % SHMLBA;
        if (addr === 0) return -EINVAL; // rounded down to 0 would mean "anywhere"; Linux refuses with MAP_FIXED semantics
      } else {
        return -EINVAL;
      }
    }
  }
  let prot: number;
  let acc: number;
  if (shmflg & SHM_RDONLY) {
    prot = PROT_READ;
    acc = 0o444;
  } else {
    prot = PROT_READ | PROT_WRITE;
    acc = 0o666;
  }
  if (shmflg & SHM_EXEC) {
    prot |= PROT_EXEC;
    acc |= 0o111;
  }
  const seg = ns.lookup(shmid);
  if (typeof seg === 'number') return seg;
  const p = ipcPerms(task, seg, acc);
  if (p < 0) return p;
  const size = pageAlignUp(seg.segsz);
  const mm = task.mm;
  let flags = MAP_SHARED;
  if (addr !== 0) {
    flags |= MAP_FIXED;
    if (!(shmflg & SHM_REMAP) && mm.findVmaIntersection(addr, addr + size)) return -EINVAL;
  }
  const file = new ShmAttachFile(seg, (shmflg & SHM_RDONLY) === 0);
  // Hold the segment across the mmap (shm_nattch++ in do_shmat) so an RMID meanwhile cannot free it.
  seg.file.get();
  const r = mm.mmapRegion(addr, size, prot, flags, file, 0);
  seg.file.put();
  if (r < 0) return r === -ENOMEM || r === -EINVAL ? r : -EINVAL;
  return r;
}

/** ksys_shmdt(): detach the attach mapped at addr. */
export function doShmdt(task: Task, addr: number): number {
  if (addr % PAGE_SIZE !== 0) return -EINVAL;
  const mm = task.mm;
  let end = -1;
  let seg: ShmSegment | null = null;
  const ranges: [number, number][] = [];
  for (const vma of mm.vmas) {
    if (end >= 0 && vma.start >= end) break;
    if (!(vma.file instanceof ShmAttachFile)) continue;
    if (vma.start - vma.pgoff * PAGE_SIZE !== addr) continue;
    if (seg === null) {
      seg = vma.file.seg;
      end = addr + pageAlignUp(seg.segsz);
    } else if (vma.file.seg !== seg) continue;
    ranges.push([vma.start, vma.end]);
  }
  if (ranges.length === 0) return -EINVAL;
  for (const [s, e] of ranges) munmapRange(mm, s, e);
  return 0;
}

/** Write a struct shmid64_ds for `seg`. */
function fillShmid64(seg: ShmSegment, buf: Uint8Array): void {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  buf.fill(0);
  dv.setInt32(0, seg.key, true);
  dv.setUint32(4, seg.uid, true);
  dv.setUint32(8, seg.gid, true);
  dv.setUint32(12, seg.cuid, true);
  dv.setUint32(16, seg.cgid, true);
  dv.setUint32(20, seg.mode | (seg.deleted ? SHM_DEST : 0) | (seg.locked ? SHM_LOCKED : 0), true);
  dv.setUint16(24, seg.seq, true);
  setU64(dv, 48, seg.segsz);
  setU64(dv, 56, seg.atime);
  setU64(dv, 64, seg.dtime);
  setU64(dv, 72, seg.ctime);
  dv.setInt32(80, seg.cpid, true);
  dv.setInt32(84, seg.lpid, true);
  setU64(dv, 88, seg.nattch);
}

function setU64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, v % 0x1_0000_0000, true);
  dv.setUint32(off + 4, Math.floor(v / 0x1_0000_0000), true);
}

/** ksys_shmctl(). */
export function doShmctl(task: Task, shmid: number, cmd: number, buf: number): number {
  cmd &= ~IPC_64; // the version flag: riscv only has the 64-bit layouts
  if (cmd < 0 || shmid < 0) return -EINVAL;
  const ns = shmNamespace(task);
  const mm = task.mm;
  switch (cmd) {
    case IPC_INFO: {
      const out = new Uint8Array(72);
      const dv = new DataView(out.buffer);
      dv.setUint32(0, SHMMAX_LO, true); // shmmax
      dv.setUint32(4, SHMMAX_HI, true);
      setU64(dv, 8, SHMMIN);
      setU64(dv, 16, SHMMNI);
      setU64(dv, 24, SHMMNI); // shmseg
      dv.setUint32(32, SHMMAX_LO, true); // shmall
      dv.setUint32(36, SHMMAX_HI, true);
      if (copyToUser(mm, buf, out) < 0) return -EFAULT;
      return ns.maxIdx();
    }
    case SHM_INFO: {
      const out = new Uint8Array(48);
      const dv = new DataView(out.buffer);
      dv.setInt32(0, ns.segs.size, true);
      let rss = 0;
      for (const s of ns.segs.values()) rss += s.file.mapping.nrpages;
      setU64(dv, 8, ns.shmTot);
      setU64(dv, 16, rss);
      if (copyToUser(mm, buf, out) < 0) return -EFAULT;
      return ns.maxIdx();
    }
    case SHM_STAT:
    case SHM_STAT_ANY:
    case IPC_STAT: {
      let seg: ShmSegment | number;
      if (cmd === IPC_STAT) seg = ns.lookup(shmid);
      else seg = ns.segs.get(shmid) ?? -EINVAL;
      if (typeof seg === 'number') return seg;
      if (cmd !== SHM_STAT_ANY) {
        const p = ipcPerms(task, seg, 0o444);
        if (p < 0) return p;
      }
      const out = new Uint8Array(SHMID64_DS_SIZE);
      fillShmid64(seg, out);
      if (copyToUser(mm, buf, out) < 0) return -EFAULT;
      return cmd === IPC_STAT ? 0 : seg.id;
    }
    case IPC_SET: {
      const seg = ns.lookup(shmid);
      if (typeof seg === 'number') return seg;
      const inb = copyFromUser(mm, buf, SHMID64_DS_SIZE);
      if (typeof inb === 'number') return -EFAULT;
      if (!isOwner(task, seg)) return -EPERM;
      const dv = new DataView(inb.buffer, inb.byteOffset, inb.byteLength);
      seg.uid = dv.getUint32(4, true);
      seg.gid = dv.getUint32(8, true);
      seg.mode = dv.getUint32(20, true) & 0o777;
      seg.ctime = ns.nowSec();
      return 0;
    }
    case IPC_RMID: {
      const seg = ns.lookup(shmid);
      if (typeof seg === 'number') return seg;
      if (!isOwner(task, seg)) return -EPERM;
      ns.rmid(seg);
      return 0;
    }
    case SHM_LOCK:
    case SHM_UNLOCK: {
      const seg = ns.lookup(shmid);
      if (typeof seg === 'number') return seg;
      if (task.cred.euid !== 0 && task.cred.euid !== seg.uid && task.cred.euid !== seg.cuid) return -EPERM;
      seg.locked = cmd === SHM_LOCK;
      return 0;
    }
    default:
      return -EINVAL;
  }
}

const sysShmget: SyscallHandler = (task, key, size, flg) => doShmget(task, key | 0, ulong(size), flg | 0);
const sysShmat: SyscallHandler = (task, id, addr, flg) => {
  const a = ulong(addr);
  if (a >= TASK_SIZE) return -EINVAL;
  return doShmat(task, id | 0, a, flg | 0);
};
const sysShmdt: SyscallHandler = (task, addr) => {
  const a = ulong(addr);
  if (a >= TASK_SIZE) return -EINVAL;
  return doShmdt(task, a);
};
const sysShmctl: SyscallHandler = (task, id, cmd, buf) => doShmctl(task, id | 0, cmd | 0, ulong(buf));

/** The SysV shm system calls (merged by ipc/syscalls.ts or syscall/table.ts). */
export const shmSyscalls: SyscallTable = {
  [SYS_shmget]: sysShmget,
  [SYS_shmat]: sysShmat,
  [SYS_shmdt]: sysShmdt,
  [SYS_shmctl]: sysShmctl,
};
