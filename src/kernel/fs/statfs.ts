import * as E from '../errno.js';
import { copyToUser } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import { LOOKUP_FOLLOW, userPathAt } from './namei.js';
import type { Path } from './path.js';
import { simpleStatfs, type KStatfs } from './super.js';
import {
  ST_MANDLOCK,
  ST_NOATIME,
  ST_NODEV,
  ST_NODIRATIME,
  ST_NOEXEC,
  ST_NOSUID,
  ST_NOSYMFOLLOW,
  ST_RDONLY,
  ST_RELATIME,
  ST_SYNCHRONOUS,
  ST_VALID,
} from './uapi.js';
import {
  MNT_NOATIME,
  MNT_NODEV,
  MNT_NODIRATIME,
  MNT_NOEXEC,
  MNT_NOSUID,
  MNT_NOSYMFOLLOW,
  MNT_RELATIME,
  type Mount,
} from './mount.js';

/**
 * statfs/fstatfs (fs/statfs.c). struct statfs of asm-generic/statfs.h on 64-bit:
 * f_type, f_bsize (long), f_blocks, f_bfree, f_bavail, f_files, f_ffree (u64),
 * f_fsid (2 ints), f_namelen, f_frsize, f_flags (long), f_spare[4] = 120 bytes.
 */
export function vfsStatfs(path: Path): KStatfs {
  const sb = path.dentry.inode.sb;
  const st = sb.ops.statfs ? sb.ops.statfs(sb) : simpleStatfs(sb);
  st.flags = calculateFFlags(path.mnt);
  return st;
}

/** calculate_f_flags: ST_VALID, the per-mount flags and the superblock's. */
function calculateFFlags(m: Mount): number {
  let f = ST_VALID;
  if (m.readonly) f |= ST_RDONLY;
  if (m.flags & MNT_NOSUID) f |= ST_NOSUID;
  if (m.flags & MNT_NODEV) f |= ST_NODEV;
  if (m.flags & MNT_NOEXEC) f |= ST_NOEXEC;
  if (m.flags & MNT_NOATIME) f |= ST_NOATIME;
  if (m.flags & MNT_NODIRATIME) f |= ST_NODIRATIME;
  if (m.flags & MNT_RELATIME) f |= ST_RELATIME;
  if (m.flags & MNT_NOSYMFOLLOW) f |= ST_NOSYMFOLLOW;
  if (m.sb.flags & 16) f |= ST_SYNCHRONOUS;
  if (m.sb.flags & 64) f |= ST_MANDLOCK;
  return f;
}

function put64(v: DataView, off: number, x: number): void {
  v.setUint32(off, (x % 4294967296) >>> 0, true);
  v.setUint32(off + 4, Math.floor(x / 4294967296) >>> 0, true);
}

export function encodeStatfs(st: KStatfs, dev: number): Uint8Array {
  const b = new Uint8Array(120);
  const v = new DataView(b.buffer);
  put64(v, 0, st.type);
  put64(v, 8, st.bsize);
  put64(v, 16, st.blocks);
  put64(v, 24, st.bfree);
  put64(v, 32, st.bavail);
  put64(v, 40, st.files);
  put64(v, 48, st.ffree);
  v.setUint32(56, dev >>> 0, true); // f_fsid: the device number, as most in-memory filesystems report
  v.setUint32(60, 0, true);
  put64(v, 64, st.namelen);
  put64(v, 72, st.frsize);
  put64(v, 80, st.flags);
  return b;
}

export function sysStatfs(task: Task, upath: number, ubuf: number): number {
  const p = userPathAt(task, -100, upath, LOOKUP_FOLLOW);
  if (typeof p === 'number') return p;
  return copyToUser(task.mm, ubuf, encodeStatfs(vfsStatfs(p), p.dentry.inode.sb.dev)) < 0 ? -E.EFAULT : 0;
}

export function sysFstatfs(task: Task, fd: number, ubuf: number): number {
  const f = task.files.get(fd | 0);
  if (!f) return -E.EBADF;
  return copyToUser(task.mm, ubuf, encodeStatfs(vfsStatfs(f.path), f.inode.sb.dev)) < 0 ? -E.EFAULT : 0;
}
