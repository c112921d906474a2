import * as E from '../errno.js';
import { copyFromUser, copyToUser, strncpyFromUser } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import { FMODE_PATH } from './file.js';
import type { Inode } from './inode.js';
import { LOOKUP_FOLLOW, getname, inodePermission, pathAt } from './namei.js';
import { nameBytes } from './name.js';
import type { Path } from './path.js';
import { MAY_READ, MAY_WRITE, S_ISDIR, S_ISREG } from './uapi.js';

/**
 * Extended attributes (fs/xattr.c + the simple_xattr store of mm/shmem.c). tmpfs keeps
 * user.* attributes in memory, as Linux 6.6+ does; trusted.* are root's; system.* (POSIX
 * ACLs) and security.* are not supported (EOPNOTSUPP). Other filesystems have none.
 */

const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;
const XATTR_NAME_MAX = 255;
const XATTR_SIZE_MAX = 65536;
const XATTR_LIST_MAX = 65536;

const stores = new WeakMap<Inode, Map<string, Uint8Array>>();

/** Filesystems with an in-memory xattr store (shmem_xattr_handlers). */
function hasStore(inode: Inode): boolean {
  const n = inode.sb.type.name;
  return n === 'tmpfs' || n === 'rootfs' || n === 'devtmpfs';
}

/** xattr_permission: who may read or write which namespace. */
function xattrPermission(task: Task, inode: Inode, name: string, mask: number): number {
  if (name.startsWith('trusted.')) return task.cred.euid === 0 ? 0 : mask & MAY_WRITE ? -E.EPERM : -E.ENODATA;
  if (name.startsWith('user.')) {
    if (!S_ISREG(inode.mode) && !S_ISDIR(inode.mode)) return mask & MAY_WRITE ? -E.EPERM : -E.ENODATA;
    // The sticky-directory rule for user.* writes (only the owner or root).
    if (
      S_ISDIR(inode.mode) &&
      inode.mode & 0o1000 &&
      mask & MAY_WRITE &&
      task.cred.fsuid !== 0 &&
      task.cred.fsuid !== inode.uid
    )
      return -E.EPERM;
  } else if (!name.startsWith('security.') && !name.startsWith('system.')) {
    return -E.EOPNOTSUPP;
  }
  return inodePermission(inode, mask, task.cred, task);
}

function supported(name: string): boolean {
  return name.startsWith('user.') || name.startsWith('trusted.');
}

function xattrName(task: Task, uname: number): string | number {
  const s = strncpyFromUser(task.mm, uname, XATTR_NAME_MAX + 1);
  if (typeof s === 'number') return s;
  if (s.length === 0 || s.length > XATTR_NAME_MAX) return -E.ERANGE;
  return s;
}

/** The object of a path call (follow or not) or an fd call. */
function target(task: Task, upath: number, follow: boolean, fd: number | null): Path | number {
  if (fd !== null) {
    const f = task.files.get(fd | 0);
    if (!f || f.mode & FMODE_PATH) return -E.EBADF;
    return f.path;
  }
  const name = getname(task, upath);
  if (typeof name === 'number') return name;
  return pathAt(task, -100, name, follow ? LOOKUP_FOLLOW : 0);
}

function setxattr(task: Task, p: Path | number, uname: number, uvalue: number, size: number, flags: number): number {
  if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) return -E.EINVAL;
  const name = xattrName(task, uname);
  if (typeof name === 'number') return name;
  if (size > XATTR_SIZE_MAX) return -E.E2BIG;
  let value = new Uint8Array(0);
  if (size > 0) {
    const v = copyFromUser(task.mm, uvalue, size);
    if (typeof v === 'number') return -E.EFAULT;
    value = new Uint8Array(v);
  }
  if (typeof p === 'number') return p;
  const inode = p.dentry.inode;
  if (p.mnt.readonly) return -E.EROFS;
  const e = xattrPermission(task, inode, name, MAY_WRITE);
  if (e < 0) return e;
  if (!hasStore(inode) || !supported(name)) return -E.EOPNOTSUPP;
  let st = stores.get(inode);
  const exists = st?.has(name) ?? false;
  if (flags & XATTR_CREATE && exists) return -E.EEXIST;
  if (flags & XATTR_REPLACE && !exists) return -E.ENODATA;
  if (!st) {
    st = new Map();
    stores.set(inode, st);
  }
  st.set(name, value);
  inode.touchChange();
  return 0;
}

function getxattr(task: Task, p: Path | number, uname: number, uvalue: number, size: number): number {
  const name = xattrName(task, uname);
  if (typeof name === 'number') return name;
  if (typeof p === 'number') return p;
  const inode = p.dentry.inode;
  const e = xattrPermission(task, inode, name, MAY_READ);
  if (e < 0) return e;
  if (!hasStore(inode) || !supported(name)) return -E.EOPNOTSUPP;
  const v = stores.get(inode)?.get(name);
  if (!v) return -E.ENODATA;
  if (size === 0) return v.length;
  if (size < v.length) return -E.ERANGE;
  if (v.length > 0 && copyToUser(task.mm, uvalue, v) < 0) return -E.EFAULT;
  return v.length;
}

function listxattr(task: Task, p: Path | number, ulist: number, size: number): number {
  if (typeof p === 'number') return p;
  const inode = p.dentry.inode;
  const st = stores.get(inode);
  const names: string[] = [];
  if (st) for (const n of st.keys()) if (!n.startsWith('trusted.') || task.cred.euid === 0) names.push(n);
  const bytes = nameBytes(names.map((n) => n + '\0').join(''));
  if (bytes.length > XATTR_LIST_MAX) return -E.E2BIG;
  if (size === 0) return bytes.length;
  if (size < bytes.length) return -E.ERANGE;
  if (bytes.length > 0 && copyToUser(task.mm, ulist, bytes) < 0) return -E.EFAULT;
  return bytes.length;
}

function removexattr(task: Task, p: Path | number, uname: number): number {
  const name = xattrName(task, uname);
  if (typeof name === 'number') return name;
  if (typeof p === 'number') return p;
  const inode = p.dentry.inode;
  if (p.mnt.readonly) return -E.EROFS;
  const e = xattrPermission(task, inode, name, MAY_WRITE);
  if (e < 0) return e;
  if (!hasStore(inode) || !supported(name)) return -E.EOPNOTSUPP;
  const st = stores.get(inode);
  if (!st?.delete(name)) return -E.ENODATA;
  inode.touchChange();
  return 0;
}

const sz = (n: number): number => n >>> 0;

export const sysSetxattr = (t: Task, p: number, n: number, v: number, s: number, f: number): number =>
  setxattr(t, target(t, p, true, null), n, v, sz(s), f);
export const sysLsetxattr = (t: Task, p: number, n: number, v: number, s: number, f: number): number =>
  setxattr(t, target(t, p, false, null), n, v, sz(s), f);
export const sysFsetxattr = (t: Task, fd: number, n: number, v: number, s: number, f: number): number =>
  setxattr(t, target(t, 0, false, fd), n, v, sz(s), f);
export const sysGetxattr = (t: Task, p: number, n: number, v: number, s: number): number =>
  getxattr(t, target(t, p, true, null), n, v, sz(s));
export const sysLgetxattr = (t: Task, p: number, n: number, v: number, s: number): number =>
  getxattr(t, target(t, p, false, null), n, v, sz(s));
export const sysFgetxattr = (t: Task, fd: number, n: number, v: number, s: number): number =>
  getxattr(t, target(t, 0, false, fd), n, v, sz(s));
export const sysListxattr = (t: Task, p: number, l: number, s: number): number =>
  listxattr(t, target(t, p, true, null), l, sz(s));
export const sysLlistxattr = (t: Task, p: number, l: number, s: number): number =>
  listxattr(t, target(t, p, false, null), l, sz(s));
export const sysFlistxattr = (t: Task, fd: number, l: number, s: number): number =>
  listxattr(t, target(t, 0, false, fd), l, sz(s));
export const sysRemovexattr = (t: Task, p: number, n: number): number => removexattr(t, target(t, p, true, null), n);
export const sysLremovexattr = (t: Task, p: number, n: number): number => removexattr(t, target(t, p, false, null), n);
export const sysFremovexattr = (t: Task, fd: number, n: number): number => removexattr(t, target(t, 0, false, fd), n);

/**
 * name_to_handle_at / open_by_handle_at (fs/fhandle.c): no filesystem here exports file
 * handles (no export_operations), so the path is checked and the answer is EOPNOTSUPP.
 */
export function sysNameToHandleAt(
  task: Task,
  dirfd: number,
  upath: number,
  _uhandle: number,
  _umnt: number,
  flags: number,
): number {
  if (flags & ~(0x400 | 0x1000)) return -E.EINVAL; // AT_SYMLINK_FOLLOW | AT_EMPTY_PATH
  const name = getname(task, upath);
  if (typeof name === 'number') return name;
  const p = pathAt(task, dirfd | 0, name, (flags & 0x400 ? LOOKUP_FOLLOW : 0) | (flags & 0x1000 ? 0x4000 : 0));
  if (typeof p === 'number') return p;
  return -E.EOPNOTSUPP;
}

export function sysOpenByHandleAt(task: Task): number {
  // CAP_DAC_READ_SEARCH first, as do_handle_open; then no handle can name anything.
  return task.cred.euid === 0 ? -E.ESTALE : -E.EPERM;
}
