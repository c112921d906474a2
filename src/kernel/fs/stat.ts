import * as E from '../errno.js';
import { copyToUser } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import type { Inode, Timespec } from './inode.js';
import { LOOKUP_EMPTY, LOOKUP_FOLLOW, getname, pathAt } from './namei.js';
import { nameBytes } from './name.js';
import type { Path } from './path.js';
import { devMajor, devMinor } from './super.js';
import {
  AT_EMPTY_PATH,
  AT_NO_AUTOMOUNT,
  AT_STATX_SYNC_TYPE,
  AT_SYMLINK_NOFOLLOW,
  STATX_ATTR_MOUNT_ROOT,
  STATX_BASIC_STATS,
  STATX_BTIME,
  STATX_MNT_ID,
  STATX__RESERVED,
  S_ISLNK,
} from './uapi.js';

/** Attributes as getattr reports them (struct kstat). */
export interface Kstat {
  dev: number;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  blocks: number;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  btime: Timespec;
  mntId: number;
  mountRoot: boolean;
}

/** vfs_getattr → generic_fillattr. */
export function vfsGetattr(path: Path): Kstat {
  const i: Inode = path.dentry.inode;
  return {
    dev: i.sb.dev,
    ino: i.ino,
    mode: i.mode,
    nlink: i.nlink,
    uid: i.uid,
    gid: i.gid,
    rdev: i.rdev,
    size: i.size,
    blksize: i.sb.blocksize,
    blocks: i.blocks,
    atime: i.atime,
    mtime: i.mtime,
    ctime: i.ctime,
    btime: i.btime,
    mntId: path.mnt.id,
    mountRoot: path.dentry === path.mnt.root,
  };
}

function put64(v: DataView, off: number, x: number): void {
  // Two's complement for negatives; exact up to 2^53.
  const lo = x % 4294967296;
  const hi = Math.floor(x / 4294967296);
  v.setUint32(off, lo >>> 0, true);
  v.setUint32(off + 4, hi >>> 0, true);
}

/** struct stat of asm-generic/stat.h (riscv64): 128 bytes (cp_new_stat). */
export function encodeStat(st: Kstat): Uint8Array {
  const b = new Uint8Array(128);
  const v = new DataView(b.buffer);
  put64(v, 0, st.dev);
  put64(v, 8, st.ino);
  v.setUint32(16, st.mode >>> 0, true);
  v.setUint32(20, st.nlink >>> 0, true);
  v.setUint32(24, st.uid >>> 0, true);
  v.setUint32(28, st.gid >>> 0, true);
  put64(v, 32, st.rdev);
  put64(v, 48, st.size);
  v.setInt32(56, st.blksize, true);
  put64(v, 64, st.blocks);
  put64(v, 72, st.atime.sec);
  put64(v, 80, st.atime.nsec);
  put64(v, 88, st.mtime.sec);
  put64(v, 96, st.mtime.nsec);
  put64(v, 104, st.ctime.sec);
  put64(v, 112, st.ctime.nsec);
  return b;
}

/** struct statx (linux/stat.h): 256 bytes (cp_statx). */
export function encodeStatx(st: Kstat, mask: number): Uint8Array {
  const b = new Uint8Array(256);
  const v = new DataView(b.buffer);
  v.setUint32(0, mask >>> 0, true);
  v.setUint32(4, st.blksize >>> 0, true);
  put64(v, 8, st.mountRoot ? STATX_ATTR_MOUNT_ROOT : 0);
  v.setUint32(16, st.nlink >>> 0, true);
  v.setUint32(20, st.uid >>> 0, true);
  v.setUint32(24, st.gid >>> 0, true);
  v.setUint16(28, st.mode & 0xffff, true);
  put64(v, 32, st.ino);
  put64(v, 40, st.size);
  put64(v, 48, st.blocks);
  put64(v, 56, STATX_ATTR_MOUNT_ROOT);
  const ts = (off: number, t: Timespec): void => {
    put64(v, off, t.sec);
    v.setUint32(off + 8, t.nsec >>> 0, true);
  };
  ts(64, st.atime);
  ts(80, st.btime);
  ts(96, st.ctime);
  ts(112, st.mtime);
  v.setUint32(128, devMajor(st.rdev), true);
  v.setUint32(132, devMinor(st.rdev), true);
  v.setUint32(136, devMajor(st.dev), true);
  v.setUint32(140, devMinor(st.dev), true);
  put64(v, 144, st.mntId);
  return b;
}

function statFlagsToLookup(flags: number): number | null {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE)) return null;
  let lf = flags & AT_SYMLINK_NOFOLLOW ? 0 : LOOKUP_FOLLOW;
  if (flags & AT_EMPTY_PATH) lf |= LOOKUP_EMPTY;
  return lf;
}

/** vfs_statx: resolve with the AT_* flags and fill a kstat. */
function vfsStatx(task: Task, dirfd: number, upath: number, flags: number): Kstat | number {
  const lf = statFlagsToLookup(flags);
  if (lf === null) return -E.EINVAL;
  const name = getname(task, upath);
  if (typeof name === 'number') {
    // A NULL path with AT_EMPTY_PATH means dirfd itself (Linux 6.11); older kernels EFAULT.
    return name;
  }
  const p = pathAt(task, dirfd | 0, name, lf);
  if (typeof p === 'number') return p;
  return vfsGetattr(p);
}

export function sysNewfstatat(task: Task, dirfd: number, upath: number, ubuf: number, flags: number): number {
  if (flags & AT_STATX_SYNC_TYPE) return -E.EINVAL;
  const st = vfsStatx(task, dirfd, upath, flags);
  if (typeof st === 'number') return st;
  return copyToUser(task.mm, ubuf, encodeStat(st)) < 0 ? -E.EFAULT : 0;
}

export function sysFstat(task: Task, fd: number, ubuf: number): number {
  const f = task.files.get(fd | 0);
  if (!f) return -E.EBADF;
  return copyToUser(task.mm, ubuf, encodeStat(vfsGetattr(f.path))) < 0 ? -E.EFAULT : 0;
}

export function sysStatx(task: Task, dirfd: number, upath: number, flags: number, mask: number, ubuf: number): number {
  if ((mask >>> 0) & STATX__RESERVED) return -E.EINVAL;
  if ((flags & AT_STATX_SYNC_TYPE) === AT_STATX_SYNC_TYPE) return -E.EINVAL;
  const st = vfsStatx(task, dirfd, upath, flags);
  if (typeof st === 'number') return st;
  return copyToUser(task.mm, ubuf, encodeStatx(st, STATX_BASIC_STATS | STATX_BTIME | STATX_MNT_ID)) < 0 ? -E.EFAULT : 0;
}

/** readlink text of a symlink inode (vfs_readlink): the fs's readlink, else its get_link string. */
export function vfsReadlink(inode: Inode, task: Task | null): string | number {
  if (!S_ISLNK(inode.mode)) return -E.EINVAL;
  if (inode.op.readlink) return inode.op.readlink(inode, task);
  if (inode.op.getLink) {
    const r = inode.op.getLink(inode, task);
    return typeof r === 'object' ? -E.EINVAL : r;
  }
  return inode.link ?? -E.EINVAL;
}

export function sysReadlinkat(task: Task, dirfd: number, upath: number, ubuf: number, bufsiz: number): number {
  if ((bufsiz | 0) <= 0) return -E.EINVAL;
  const name = getname(task, upath);
  if (typeof name === 'number') return name;
  const p = pathAt(task, dirfd | 0, name, LOOKUP_EMPTY);
  if (typeof p === 'number') return p;
  const body = vfsReadlink(p.dentry.inode, task);
  if (typeof body === 'number') return body;
  const bytes = nameBytes(body);
  const n = Math.min(bytes.length, bufsiz | 0);
  if (n === 0) return 0;
  return copyToUser(task.mm, ubuf, bytes.subarray(0, n)) < 0 ? -E.EFAULT : n;
}
