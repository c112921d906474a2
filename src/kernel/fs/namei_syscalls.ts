import * as E from '../errno.js';
import type { Task } from '../sched/task.js';
import type { Dentry } from './dcache.js';
import type { Inode } from './inode.js';
import {
  LOOKUP_EMPTY,
  LOOKUP_FOLLOW,
  getname,
  isSubdir,
  lookupDentry,
  mayCreate,
  mayDelete,
  pathAt,
  userParentAt,
  type ParentResult,
} from './namei.js';
import {
  AT_EMPTY_PATH,
  AT_REMOVEDIR,
  AT_SYMLINK_FOLLOW,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  RENAME_WHITEOUT,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  S_ISDIR,
} from './uapi.js';

/**
 * The directory-changing system calls of fs/namei.c: mkdirat, mknodat, unlinkat
 * (unlink/rmdir), symlinkat, linkat, renameat2. Each walks to the parent, checks as the
 * vfs_* function does, calls the filesystem, then updates the dcache.
 */

/** Parent walk of a user path for a call that creates or removes a name. */
function parentOf(task: Task, dirfd: number, upath: number): { res: ParentResult } | number {
  const name = getname(task, upath);
  if (typeof name === 'number') return name;
  const r = userParentAt(task, dirfd | 0, name);
  if (typeof r === 'number') return r;
  return { res: r.res };
}

/** A name in a union directory that lives only in the read-only lower layer. */
function inLowerLayer(parent: Dentry, child: Dentry): boolean {
  return child.inode.sb !== parent.inode.sb;
}

/** d_mountpoint (mounted on in any mount) or a filesystem root: rename/unlink/rmdir say EBUSY. */
function isMountpoint(d: Dentry): boolean {
  return d.mountCount > 0 || d.isRoot();
}

/** Common front of mkdir/mknod/symlink: the name must not exist; the dir must be writable. */
function prepareCreate(task: Task, res: ParentResult): Inode | number {
  if (res.lastType !== 'norm') return -E.EEXIST;
  const existing = lookupDentry(res.parent.dentry, res.last, task);
  if (typeof existing === 'number') return existing;
  if (existing) return -E.EEXIST;
  if (res.parent.mnt.readonly) return -E.EROFS;
  const dir = res.parent.dentry.inode;
  const e = mayCreate(dir, task.cred, task);
  if (e < 0) return e;
  return dir;
}

export function sysMkdirat(task: Task, dirfd: number, upath: number, mode: number): number {
  const p = parentOf(task, dirfd, upath);
  if (typeof p === 'number') return p;
  const dir = prepareCreate(task, p.res);
  if (typeof dir === 'number') return dir;
  if (!dir.op.mkdir) return -E.EPERM;
  const r = dir.op.mkdir(dir, p.res.last, mode & 0o1777 & ~task.fs.umask, task.cred);
  return typeof r === 'number' ? r : 0;
}

export function sysMknodat(task: Task, dirfd: number, upath: number, mode: number, dev: number): number {
  const type = mode & S_IFMT;
  let m = mode;
  // may_mknod: a directory is EPERM (mkdir is the way), unknown types EINVAL.
  if (type === 0) m |= S_IFREG;
  else if (type === S_IFDIR) return -E.EPERM;
  else if (![S_IFREG, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK].includes(type)) return -E.EINVAL;
  const p = parentOf(task, dirfd, upath);
  if (typeof p === 'number') return p;
  const dir = prepareCreate(task, p.res);
  if (typeof dir === 'number') return dir;
  const t = m & S_IFMT;
  if ((t === S_IFCHR || t === S_IFBLK) && task.cred.euid !== 0) return -E.EPERM;
  const perm = m & 0o7777 & ~task.fs.umask;
  if (t === S_IFREG) {
    if (!dir.op.create) return -E.EPERM;
    const r = dir.op.create(dir, p.res.last, perm | S_IFREG, task.cred);
    return typeof r === 'number' ? r : 0;
  }
  if (!dir.op.mknod) return -E.EPERM;
  const r = dir.op.mknod(dir, p.res.last, perm | t, dev >>> 0, task.cred);
  return typeof r === 'number' ? r : 0;
}

export function sysSymlinkat(task: Task, utarget: number, newdirfd: number, upath: number): number {
  const target = getname(task, utarget);
  if (typeof target === 'number') return target;
  if (target === '') return -E.ENOENT;
  const p = parentOf(task, newdirfd, upath);
  if (typeof p === 'number') return p;
  const dir = prepareCreate(task, p.res);
  if (typeof dir === 'number') return dir;
  if (!dir.op.symlink) return -E.EPERM;
  const r = dir.op.symlink(dir, p.res.last, target, task.cred);
  return typeof r === 'number' ? r : 0;
}

function doRmdir(task: Task, res: ParentResult): number {
  if (res.lastType === 'dot') return -E.EINVAL;
  if (res.lastType === 'dotdot') return -E.ENOTEMPTY;
  if (res.lastType === 'root') return -E.EBUSY;
  const pd = res.parent.dentry;
  const child = lookupDentry(pd, res.last, task);
  if (typeof child === 'number') return child;
  if (!child) return -E.ENOENT;
  if (!S_ISDIR(child.inode.mode)) return -E.ENOTDIR;
  if (res.parent.mnt.readonly || inLowerLayer(pd, child)) return -E.EROFS;
  const e = mayDelete(pd.inode, child.inode, task.cred, task);
  if (e < 0) return e;
  if (isMountpoint(child)) return -E.EBUSY;
  // A union directory is empty only if its lower layer is too (which, read-only, it stays).
  if (child.lower?.fop.iterate) return -E.ENOTEMPTY;
  if (!pd.inode.op.rmdir) return -E.EPERM;
  const r = pd.inode.op.rmdir(pd.inode, res.last);
  if (r < 0) return r;
  pd.drop(res.last);
  return 0;
}

function doUnlink(task: Task, res: ParentResult): number {
  if (res.lastType !== 'norm') return -E.EISDIR;
  const pd = res.parent.dentry;
  const child = lookupDentry(pd, res.last, task);
  if (typeof child === 'number') return child;
  if (!child) return -E.ENOENT;
  if (res.mustDir) return S_ISDIR(child.inode.mode) ? -E.EISDIR : -E.ENOTDIR;
  if (res.parent.mnt.readonly || inLowerLayer(pd, child)) return -E.EROFS;
  const e = mayDelete(pd.inode, child.inode, task.cred, task);
  if (e < 0) return e;
  if (S_ISDIR(child.inode.mode)) return -E.EISDIR;
  if (isMountpoint(child)) return -E.EBUSY;
  if (!pd.inode.op.unlink) return -E.EPERM;
  const r = pd.inode.op.unlink(pd.inode, res.last);
  if (r < 0) return r;
  pd.drop(res.last);
  return 0;
}

export function sysUnlinkat(task: Task, dirfd: number, upath: number, flags: number): number {
  if (flags & ~AT_REMOVEDIR) return -E.EINVAL;
  const p = parentOf(task, dirfd, upath);
  if (typeof p === 'number') return p;
  return flags & AT_REMOVEDIR ? doRmdir(task, p.res) : doUnlink(task, p.res);
}

export function sysLinkat(
  task: Task,
  olddirfd: number,
  uold: number,
  newdirfd: number,
  unew: number,
  flags: number,
): number {
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return -E.EINVAL;
  const oldName = getname(task, uold);
  if (typeof oldName === 'number') return oldName;
  let lf = flags & AT_SYMLINK_FOLLOW ? LOOKUP_FOLLOW : 0;
  // AT_EMPTY_PATH gives a name to whatever an fd holds: CAP_DAC_READ_SEARCH only (ENOENT).
  if (flags & AT_EMPTY_PATH) {
    if (task.cred.euid !== 0) return -E.ENOENT;
    lf |= LOOKUP_EMPTY;
  }
  const old = pathAt(task, olddirfd | 0, oldName, lf);
  if (typeof old === 'number') return old;
  const p = parentOf(task, newdirfd, unew);
  if (typeof p === 'number') return p;
  if (p.res.lastType !== 'norm') return -E.EEXIST;
  const existing = lookupDentry(p.res.parent.dentry, p.res.last, task);
  if (typeof existing === 'number') return existing;
  if (existing) return -E.EEXIST;
  if (p.res.mustDir) return -E.ENOENT;
  if (old.mnt !== p.res.parent.mnt) return -E.EXDEV;
  const dir = p.res.parent.dentry.inode;
  if (old.dentry.inode.sb !== dir.sb) return old.dentry.inode.sb.readonly ? -E.EROFS : -E.EXDEV;
  if (old.mnt.readonly) return -E.EROFS;
  const e = mayCreate(dir, task.cred, task);
  if (e < 0) return e;
  if (S_ISDIR(old.dentry.inode.mode)) return -E.EPERM;
  // A removed file cannot get a name again, except an O_TMPFILE one (I_LINKABLE).
  if (old.dentry.inode.nlink === 0 && !old.dentry.inode.linkable) return -E.ENOENT;
  if (!dir.op.link) return -E.EPERM;
  const r = dir.op.link(old.dentry.inode, dir, p.res.last);
  if (r === 0) old.dentry.inode.linkable = false;
  return r;
}

/** d_move / d_exchange: make the dcache agree with a rename the filesystem did. */
function dMove(d: Dentry, newParent: Dentry, newName: string): void {
  d.parent.children.delete(d.name);
  d.parent = newParent;
  d.name = newName;
  newParent.children.set(newName, d);
}

export function sysRenameat2(
  task: Task,
  olddirfd: number,
  uold: number,
  newdirfd: number,
  unew: number,
  flags: number,
): number {
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) return -E.EINVAL;
  if (flags & RENAME_NOREPLACE && flags & RENAME_EXCHANGE) return -E.EINVAL;
  if (flags & RENAME_WHITEOUT) return -E.EINVAL; // whiteouts (overlayfs) are not supported here
  const po = parentOf(task, olddirfd, uold);
  if (typeof po === 'number') return po;
  const pn = parentOf(task, newdirfd, unew);
  if (typeof pn === 'number') return pn;
  const o = po.res;
  const n = pn.res;
  if (o.parent.mnt !== n.parent.mnt) return -E.EXDEV;
  if (o.lastType !== 'norm' || n.lastType !== 'norm') return -E.EBUSY;
  const opd = o.parent.dentry;
  const npd = n.parent.dentry;
  const src = lookupDentry(opd, o.last, task);
  if (typeof src === 'number') return src;
  if (!src) return -E.ENOENT;
  const dst = lookupDentry(npd, n.last, task);
  if (typeof dst === 'number') return dst;
  if (flags & RENAME_NOREPLACE && dst) return -E.EEXIST;
  if (flags & RENAME_EXCHANGE && !dst) return -E.ENOENT;
  const srcDir = S_ISDIR(src.inode.mode);
  if (!srcDir && (o.mustDir || (n.mustDir && !(flags & RENAME_EXCHANGE)))) return -E.ENOTDIR;
  if (flags & RENAME_EXCHANGE && dst && !S_ISDIR(dst.inode.mode) && (o.mustDir || n.mustDir)) return -E.ENOTDIR;
  if (src === dst) return 0;
  if (o.parent.mnt.readonly || inLowerLayer(opd, src) || (dst && inLowerLayer(npd, dst))) return -E.EROFS;
  if (opd.inode.sb !== npd.inode.sb) return -E.EXDEV;
  // Source must not be an ancestor of the target (EINVAL); target not of the source (ENOTEMPTY).
  if (isSubdir(npd, src)) return -E.EINVAL;
  if (dst && isSubdir(opd, dst)) return flags & RENAME_EXCHANGE ? -E.EINVAL : -E.ENOTEMPTY;
  let e = mayDelete(opd.inode, src.inode, task.cred, task);
  if (e < 0) return e;
  e = dst ? mayDelete(npd.inode, dst.inode, task.cred, task) : mayCreate(npd.inode, task.cred, task);
  if (e < 0) return e;
  if (dst && !(flags & RENAME_EXCHANGE)) {
    const dstDir = S_ISDIR(dst.inode.mode);
    if (srcDir && !dstDir) return -E.ENOTDIR;
    if (!srcDir && dstDir) return -E.EISDIR;
    if (dstDir && dst.lower?.fop.iterate) return -E.ENOTEMPTY;
  }
  if (isMountpoint(src) || (dst && isMountpoint(dst))) return -E.EBUSY;
  if (!opd.inode.op.rename) return -E.EPERM;
  const r = opd.inode.op.rename(opd.inode, o.last, npd.inode, n.last, flags);
  if (r < 0) return r;
  if (flags & RENAME_EXCHANGE && dst) {
    const oName = src.name;
    const nName = dst.name;
    opd.children.delete(oName);
    npd.children.delete(nName);
    src.parent = npd;
    src.name = nName;
    dst.parent = opd;
    dst.name = oName;
    npd.children.set(nName, src);
    opd.children.set(oName, dst);
  } else {
    if (dst) npd.drop(n.last);
    dMove(src, npd, n.last);
  }
  return 0;
}
