import * as E from '../errno.js';
import { copyFromUser } from '../mm/uaccess.js';
import type { Cred, Task } from '../sched/task.js';
import { notifyChange } from './attr.js';
import {
  File,
  FMODE_ATOMIC_POS,
  FMODE_LSEEK,
  FMODE_PATH,
  FMODE_PREAD,
  FMODE_PWRITE,
  FMODE_READ,
  FMODE_WRITE,
  openFmode,
  type FileOperations,
} from './file.js';
import {
  ATTR_CTIME,
  ATTR_GID,
  ATTR_KILL_SGID,
  ATTR_KILL_SUID,
  ATTR_MODE,
  ATTR_MTIME,
  ATTR_SIZE,
  ATTR_UID,
  type Iattr,
} from './inode.js';
import {
  LOOKUP_BENEATH,
  LOOKUP_DIRECTORY,
  LOOKUP_EMPTY,
  LOOKUP_FOLLOW,
  LOOKUP_IN_ROOT,
  LOOKUP_NO_MAGICLINKS,
  LOOKUP_NO_SYMLINKS,
  LOOKUP_NO_XDEV,
  NameiData,
  followTrailing,
  getname,
  inGroup,
  inodePermission,
  lookupChild,
  mayCreate,
  parentWalk,
  pathWalk,
  startPath,
  userPathAt,
  type ParentResult,
} from './namei.js';
import type { Path } from './path.js';
import { Dentry } from './dcache.js';
import {
  AT_EACCESS,
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  F_OK,
  MAY_EXEC,
  MAY_READ,
  MAY_WRITE,
  O_ACCMODE,
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOCTTY,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_TRUNC,
  O_WRONLY,
  RESOLVE_BENEATH,
  RESOLVE_CACHED,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_SYMLINKS,
  RESOLVE_NO_XDEV,
  S_IFREG,
  S_ISBLK,
  S_ISCHR,
  S_ISDIR,
  S_ISFIFO,
  S_ISLNK,
  S_ISREG,
  S_ISSOCK,
  VALID_OPEN_FLAGS,
  __O_TMPFILE,
} from './uapi.js';

/** O_PATH files and directories opened without an f_op of their own get these (empty_fops). */
const emptyFops: FileOperations = {};

/** The flags O_PATH keeps (O_PATH_FLAGS). */
const O_PATH_FLAGS = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC;

/**
 * do_dentry_open: build the File for an object and call the driver's open. `flags` are
 * the open flags; O_CREAT/O_EXCL/O_NOCTTY/O_TRUNC are not kept in f_flags.
 */
export function vfsOpen(path: Path, flags: number, task: Task | null): File | number {
  const inode = path.dentry.inode;
  let fmode = openFmode(flags);
  if (flags & O_PATH) {
    return new File(path, inode, emptyFops, flags & O_PATH_FLAGS, FMODE_PATH);
  }
  fmode |= FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE;
  if (S_ISREG(inode.mode) || S_ISDIR(inode.mode)) fmode |= FMODE_ATOMIC_POS;
  // O_NOCTTY stays visible to the driver's open (tty_open decides on the controlling tty with
  // it) and is dropped from f_flags afterwards, as do_dentry_open does.
  const file = new File(path, inode, inode.fop, flags & ~(O_CREAT | O_EXCL | O_TRUNC), fmode);
  if (file.op.open) {
    const e = file.op.open(inode, file, task);
    if (e < 0) return e;
  }
  file.flags &= ~O_NOCTTY;
  // do_dentry_open: a writer of a non-special file counts against its mount (mnt_want_write;
  // remount read-only is EBUSY while any exist).
  if (
    fmode & FMODE_WRITE &&
    !S_ISCHR(inode.mode) &&
    !S_ISBLK(inode.mode) &&
    !S_ISFIFO(inode.mode) &&
    !S_ISSOCK(inode.mode)
  ) {
    file.mntWriter = true;
    path.mnt.writers++;
  }
  // A driver without write_iter cannot be opened for writing; without read_iter, not for reading.
  if (fmode & FMODE_WRITE && !file.op.writeIter && !S_ISDIR(inode.mode)) {
    file.op.release?.(file);
    return -E.EINVAL;
  }
  if (fmode & FMODE_READ && !file.op.readIter && !file.op.iterate) {
    if (!S_ISDIR(inode.mode)) {
      file.op.release?.(file);
      return -E.EINVAL;
    }
  }
  return file;
}

/** may_open: type and permission checks before opening an existing object. */
function mayOpen(path: Path, accMode: number, flags: number, cred: Cred | null, task: Task | null): number {
  const inode = path.dentry.inode;
  const m = inode.mode;
  if (S_ISLNK(m)) return -E.ELOOP;
  if (S_ISDIR(m)) {
    if (accMode & MAY_WRITE) return -E.EISDIR;
  } else if (flags & O_DIRECTORY) {
    return -E.ENOTDIR;
  }
  if ((S_ISCHR(m) || S_ISBLK(m)) && path.mnt.flags & 0x02 /* MNT_NODEV */) return -E.EACCES;
  if (S_ISFIFO(m) || S_ISSOCK(m)) flags &= ~O_TRUNC;
  const e = inodePermission(inode, accMode, cred, task);
  if (e < 0) return e;
  if (accMode & MAY_WRITE && path.mnt.readonly && (S_ISREG(m) || S_ISDIR(m))) return -E.EROFS;
  return 0;
}

/** ACC_MODE: the permission an open needs (O_TRUNC implies write). */
function accModeOf(flags: number): number {
  const acc = flags & O_ACCMODE;
  let m = acc === O_RDONLY ? MAY_READ : acc === O_WRONLY ? MAY_WRITE : MAY_READ | MAY_WRITE;
  if (acc === 3) m = MAY_READ | MAY_WRITE;
  if (flags & O_TRUNC) m |= MAY_WRITE;
  if (flags & O_APPEND && m & MAY_WRITE) m |= 8; // MAY_APPEND
  return m;
}

/** lookupFlags of build_open_flags. */
function openLookupFlags(flags: number): number {
  let lf = 0;
  if (!(flags & O_NOFOLLOW)) lf |= LOOKUP_FOLLOW;
  if (flags & O_DIRECTORY) lf |= LOOKUP_DIRECTORY;
  return lf;
}

/**
 * path_openat: walk to the object, creating it for O_CREAT (following a trailing symlink
 * for O_CREAT without O_EXCL, as do_last does), check, truncate, and open it.
 */
export function doFilpOpen(
  nd: NameiData,
  start: Path,
  pathname: string,
  flags: number,
  mode: number,
  umask: number,
): File | number {
  const task = nd.task;
  const cred = nd.cred;
  if (pathname === '') return -E.ENOENT;
  if ((flags & __O_TMPFILE) === __O_TMPFILE) return doTmpfile(nd, start, pathname, flags, mode, umask);
  let path: Path;
  let created = false;
  if (!(flags & O_CREAT)) {
    const p = pathWalk(nd, start, pathname);
    if (typeof p === 'number') return p;
    path = p;
    if (flags & O_PATH) return vfsOpen(path, flags, task);
  } else {
    let res: ParentResult | Path | number = parentWalk(nd, start, pathname);
    for (;;) {
      if (typeof res === 'number') return res;
      if (!('lastType' in res)) {
        path = res; // a magic link
        break;
      }
      if (res.lastType !== 'norm') return -E.EISDIR;
      const child = lookupChild(res.parent, res.last, task, nd.flags);
      if (typeof child === 'number') return child;
      if (child === null) {
        if (res.mustDir) return -E.EISDIR;
        const dir = res.parent.dentry.inode;
        if (res.parent.mnt.readonly) return -E.EROFS;
        const e = mayCreate(dir, cred, task);
        if (e < 0) return e;
        if (!dir.op.create) return -E.EACCES;
        const inode = dir.op.create(dir, res.last, (mode & 0o7777 & ~umask) | S_IFREG, cred ?? rootCred);
        if (typeof inode === 'number') return inode;
        const r = lookupChild(res.parent, res.last, task);
        if (r === null || typeof r === 'number') return r === null ? -E.ENOENT : r;
        path = r;
        created = true;
        break;
      }
      if (flags & O_EXCL) return -E.EEXIST;
      if (S_ISLNK(child.dentry.inode.mode)) {
        if (flags & O_NOFOLLOW) return -E.ELOOP;
        res = followTrailing(nd, res.parent, child);
        continue;
      }
      if (S_ISDIR(child.dentry.inode.mode)) return -E.EISDIR;
      path = child;
      break;
    }
  }
  if (flags & O_NOFOLLOW && S_ISLNK(path.dentry.inode.mode)) return -E.ELOOP;
  if (!created) {
    const e = mayOpen(path, accModeOf(flags), flags, cred, task);
    if (e < 0) return e;
  } else if (S_ISDIR(path.dentry.inode.mode)) {
    return -E.EISDIR;
  }
  const inode = path.dentry.inode;
  if (flags & O_TRUNC && !created && S_ISREG(inode.mode) && inode.size !== 0) {
    const e = notifyChange(path, { valid: ATTR_SIZE | ATTR_MTIME, size: 0, mtime: inode.sb.now() }, null, task);
    if (e < 0) return e;
  }
  return vfsOpen(path, flags, task);
}

/**
 * do_tmpfile (O_TMPFILE): an unnamed regular file in the directory `pathname` names, open for
 * writing; without O_EXCL it may later get a name with linkat(fd, "", ..., AT_EMPTY_PATH).
 */
function doTmpfile(
  nd: NameiData,
  start: Path,
  pathname: string,
  flags: number,
  mode: number,
  umask: number,
): File | number {
  const acc = flags & O_ACCMODE;
  if (acc !== O_WRONLY && acc !== 2 /* O_RDWR */) return -E.EINVAL;
  const dirPath = pathWalk(nd, start, pathname);
  if (typeof dirPath === 'number') return dirPath;
  const dir = dirPath.dentry.inode;
  if (!S_ISDIR(dir.mode)) return -E.ENOTDIR;
  if (dirPath.mnt.readonly) return -E.EROFS;
  const e = mayCreate(dir, nd.cred, nd.task);
  if (e < 0) return e;
  if (!dir.op.tmpfile) return -E.EOPNOTSUPP;
  const inode = dir.op.tmpfile(dir, (mode & 0o7777 & ~umask) | S_IFREG, nd.cred ?? rootCred);
  if (typeof inode === 'number') return inode;
  inode.linkable = (flags & O_EXCL) === 0;
  // An unhashed dentry: d_path shows "/dir/#ino (deleted)" as Linux does.
  const d = new Dentry(`#${inode.ino}`, dirPath.dentry, inode);
  d.unhashed = true;
  return vfsOpen({ mnt: dirPath.mnt, dentry: d }, flags & ~(O_CREAT | O_EXCL), nd.task);
}

/** Credentials of the kernel itself (for kernel-internal creates). */
const rootCred: Cred = { uid: 0, gid: 0, euid: 0, egid: 0, suid: 0, sgid: 0, fsuid: 0, fsgid: 0, groups: [] };

/**
 * filp_open for the kernel (execve, core dumps): open `path` relative to dirfd as `task`.
 * Returns the File (with one reference, owned by the caller) or -errno.
 */
export function filpOpen(task: Task, dirfd: number, path: string, flags: number, mode: number): File | number {
  if (path === '') return -E.ENOENT;
  const start = startPath(task, dirfd, path);
  if (typeof start === 'number') return start;
  const nd = NameiData.forTask(task, openLookupFlags(flags));
  return doFilpOpen(nd, start, path, flags, mode, task.fs.umask);
}

/** Open and install an fd (do_sys_openat2). */
function doSysOpen(
  task: Task,
  dirfd: number,
  pathname: string,
  flags: number,
  mode: number,
  lookupExtra = 0,
): number | Promise<number> {
  // O_CREAT|O_DIRECTORY never meant anything consistent; Linux 6.4+ refuses it (build_open_flags).
  if ((flags & (O_CREAT | O_DIRECTORY)) === (O_CREAT | O_DIRECTORY) && !(flags & __O_TMPFILE)) return -E.EINVAL;
  if (flags & O_PATH) flags &= O_PATH_FLAGS;
  if (pathname === '') return -E.ENOENT;
  let start = startPath(task, dirfd, pathname);
  if (typeof start === 'number') return start;
  const nd = NameiData.forTask(task, openLookupFlags(flags) | lookupExtra);
  // path_init: a scoped lookup (RESOLVE_BENEATH / RESOLVE_IN_ROOT) is rooted at dirfd.
  if (lookupExtra & (LOOKUP_IN_ROOT | LOOKUP_BENEATH)) {
    if (dirfd !== AT_FDCWD) {
      const f = task.files.get(dirfd);
      if (!f) return -E.EBADF;
      nd.root = f.path;
    } else nd.root = task.fs.pwd;
    start = nd.root;
  }
  // O_LARGEFILE is implied on 64-bit; qemu-user does not show it in F_GETFL, so it is not added here.
  const file = doFilpOpen(nd, start, pathname, flags, mode, task.fs.umask);
  if (typeof file === 'number') return file;
  const install = (): number => {
    const fd = task.files.install(file, (flags & O_CLOEXEC) !== 0);
    if (fd < 0) file.put();
    return fd;
  };
  // Opens that may sleep (a FIFO waiting for its other end: fifo.ts).
  if (file.op.openWait) {
    const w = file.op.openWait(file, task);
    const done = (r: number): number => {
      if (r < 0) {
        file.put();
        return r;
      }
      return install();
    };
    return typeof w === 'number' ? done(w) : w.then(done);
  }
  return install();
}

/** openat(dirfd, pathname, flags, mode). Unknown flag bits are ignored, as open(2) does. */
export function sysOpenat(
  task: Task,
  dirfd: number,
  upath: number,
  flags: number,
  mode: number,
): number | Promise<number> {
  const name = getname(task, upath);
  if (typeof name === 'number') return name;
  flags &= VALID_OPEN_FLAGS;
  if (flags & O_CREAT || (flags & __O_TMPFILE) === __O_TMPFILE) mode &= 0o7777;
  else mode = 0;
  return doSysOpen(task, dirfd | 0, name, flags, mode);
}

/** openat2(dirfd, pathname, struct open_how *how, size): strict flag checks and RESOLVE_*. */
export function sysOpenat2(
  task: Task,
  dirfd: number,
  upath: number,
  uhow: number,
  size: number,
): number | Promise<number> {
  if (size < 24) return -E.EINVAL;
  if (size > 4096) return -E.E2BIG;
  const how = copyFromUser(task.mm, uhow, size);
  if (typeof how === 'number') return -E.EFAULT;
  // Bytes past the struct we know must be zero (copy_struct_from_user).
  for (let i = 24; i < size; i++) if (how[i] !== 0) return -E.E2BIG;
  const v = new DataView(how.buffer, how.byteOffset, how.byteLength);
  const flagsHi = v.getUint32(4, true);
  const flags = v.getUint32(0, true);
  const modeLo = v.getUint32(8, true);
  const modeHi = v.getUint32(12, true);
  const resolveHi = v.getUint32(20, true);
  const resolve = v.getUint32(16, true);
  if (flagsHi !== 0 || flags & ~VALID_OPEN_FLAGS) return -E.EINVAL;
  if (resolveHi !== 0 || resolve & ~0x3f) return -E.EINVAL;
  if (modeHi !== 0 || modeLo & ~0o7777) return -E.EINVAL;
  if (!(flags & O_CREAT) && (flags & __O_TMPFILE) !== __O_TMPFILE && modeLo !== 0) return -E.EINVAL;
  if (resolve & RESOLVE_BENEATH && resolve & RESOLVE_IN_ROOT) return -E.EINVAL;
  if (resolve & RESOLVE_CACHED) return -E.EAGAIN;
  const name = getname(task, upath);
  if (typeof name === 'number') return name;
  let extra = 0;
  if (resolve & RESOLVE_NO_XDEV) extra |= LOOKUP_NO_XDEV;
  if (resolve & RESOLVE_NO_MAGICLINKS) extra |= LOOKUP_NO_MAGICLINKS;
  if (resolve & RESOLVE_NO_SYMLINKS) extra |= LOOKUP_NO_SYMLINKS;
  if (resolve & RESOLVE_BENEATH) extra |= LOOKUP_BENEATH;
  if (resolve & RESOLVE_IN_ROOT) extra |= LOOKUP_IN_ROOT;
  return doSysOpen(task, dirfd | 0, name, flags, modeLo, extra);
}

/** close(fd). */
export function sysClose(task: Task, fd: number): number | Promise<number> {
  const f = task.files.get(fd | 0);
  // Only the last reference releases the file (fput → __fput), and only then may close(2) wait.
  const last = f !== null && f.count === 1 && f.op.closeWait !== undefined;
  const r = task.files.close(fd | 0);
  if (r !== 0 || !last) return r;
  // The release work Linux does from task_work before returning (sock_close → tcp_close's
  // linger wait). close(2) returns 0 whatever the wait ended with, as filp_close does.
  const wait = f.op.closeWait!(f, task);
  return wait ? wait.then(() => 0) : 0;
}

const CLOSE_RANGE_UNSHARE = 2;
const CLOSE_RANGE_CLOEXEC = 4;

/** close_range(first, last, flags). CLOSE_RANGE_UNSHARE is accepted (the table is already ours to change). */
export function sysCloseRange(task: Task, first: number, last: number, flags: number): number {
  const f = first >>> 0;
  const l = last >>> 0;
  if (flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) return -E.EINVAL;
  if (f > l) return -E.EINVAL;
  task.files.closeRange(f, l, (flags & CLOSE_RANGE_CLOEXEC) !== 0);
  return 0;
}

// ---------------------------------------------------------------------------------------
// access, chdir, chroot, chmod, chown, truncate (the rest of fs/open.c).

/** faccessat2(dirfd, path, mode, flags): checks with the real ids unless AT_EACCESS. */
export function sysFaccessat2(task: Task, dirfd: number, upath: number, mode: number, flags: number): number {
  if (mode & ~7) return -E.EINVAL;
  if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -E.EINVAL;
  let lf = LOOKUP_FOLLOW;
  if (flags & AT_SYMLINK_NOFOLLOW) lf = 0;
  if (flags & AT_EMPTY_PATH) lf |= LOOKUP_EMPTY;
  // access() uses the real uid/gid as the fs ids (do_faccessat's override_creds).
  const c = task.cred;
  const cred: Cred = flags & AT_EACCESS ? c : { ...c, fsuid: c.uid, fsgid: c.gid };
  const p = userPathAt(task, dirfd | 0, upath, lf);
  if (typeof p === 'number') return p;
  if (mode === F_OK) return 0;
  const inode = p.dentry.inode;
  // Root may run a file only if some execute bit is set; generic_permission encodes that.
  let e = inodePermission(inode, mode, cred, task);
  if (e < 0) return e;
  if (
    mode & MAY_WRITE &&
    (p.mnt.readonly || inode.sb.readonly) &&
    (S_ISREG(inode.mode) || S_ISDIR(inode.mode) || S_ISLNK(inode.mode))
  ) {
    e = -E.EROFS;
  }
  return e;
}

export function sysFaccessat(task: Task, dirfd: number, upath: number, mode: number): number {
  return sysFaccessat2(task, dirfd, upath, mode, 0);
}

export function sysChdir(task: Task, upath: number): number {
  const p = userPathAt(task, AT_FDCWD, upath, LOOKUP_FOLLOW | LOOKUP_DIRECTORY);
  if (typeof p === 'number') return p;
  const e = inodePermission(p.dentry.inode, MAY_EXEC, task.cred, task);
  if (e < 0) return e;
  task.fs.pwd = p;
  return 0;
}

export function sysFchdir(task: Task, fd: number): number {
  const f = task.files.get(fd | 0);
  if (!f) return -E.EBADF;
  if (!S_ISDIR(f.inode.mode)) return -E.ENOTDIR;
  const e = inodePermission(f.inode, MAY_EXEC, task.cred, task);
  if (e < 0) return e;
  task.fs.pwd = f.path;
  return 0;
}

export function sysChroot(task: Task, upath: number): number {
  const p = userPathAt(task, AT_FDCWD, upath, LOOKUP_FOLLOW | LOOKUP_DIRECTORY);
  if (typeof p === 'number') return p;
  const e = inodePermission(p.dentry.inode, MAY_EXEC, task.cred, task);
  if (e < 0) return e;
  if (task.cred.euid !== 0) return -E.EPERM;
  task.fs.root = p;
  return 0;
}

function chmodCommon(task: Task, path: Path, mode: number): number {
  const attr: Iattr = { valid: ATTR_MODE | ATTR_CTIME, mode: mode & 0o7777 };
  return notifyChange(path, attr, task.cred, task);
}

export function sysFchmodat(task: Task, dirfd: number, upath: number, mode: number): number {
  return sysFchmodat2(task, dirfd, upath, mode, 0);
}

/** fchmodat2(dirfd, path, mode, flags) (do_fchmodat): AT_SYMLINK_NOFOLLOW on a link is EOPNOTSUPP. */
export function sysFchmodat2(task: Task, dirfd: number, upath: number, mode: number, flags: number): number {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -E.EINVAL;
  let lf = flags & AT_SYMLINK_NOFOLLOW ? 0 : LOOKUP_FOLLOW;
  if (flags & AT_EMPTY_PATH) lf |= LOOKUP_EMPTY;
  const p = userPathAt(task, dirfd | 0, upath, lf);
  if (typeof p === 'number') return p;
  if (S_ISLNK(p.dentry.inode.mode)) return -E.EOPNOTSUPP;
  return chmodCommon(task, p, mode);
}

export function sysFchmod(task: Task, fd: number, mode: number): number {
  const f = task.files.get(fd | 0);
  if (!f || f.mode & FMODE_PATH) return -E.EBADF;
  return chmodCommon(task, f.path, mode);
}

function chownCommon(task: Task, path: Path, uid: number, gid: number): number {
  const attr: Iattr = { valid: ATTR_CTIME };
  // -1 (as a 32-bit value) means "leave unchanged".
  if (uid >>> 0 !== 0xffffffff) {
    attr.valid |= ATTR_UID;
    attr.uid = uid >>> 0;
  }
  if (gid >>> 0 !== 0xffffffff) {
    attr.valid |= ATTR_GID;
    attr.gid = gid >>> 0;
  }
  // chown_common: a non-directory always loses setuid, and setgid per setattr_should_drop_sgid.
  const inode = path.dentry.inode;
  if (!S_ISDIR(inode.mode)) {
    attr.valid |= ATTR_KILL_SUID;
    if (inode.mode & 0o2000) {
      const gid2 = attr.valid & ATTR_GID ? attr.gid! : inode.gid;
      if (inode.mode & 0o010 || (task.cred.fsuid !== 0 && !inGroup(task.cred, gid2))) attr.valid |= ATTR_KILL_SGID;
    }
  }
  return notifyChange(path, attr, task.cred, task);
}

export function sysFchownat(task: Task, dirfd: number, upath: number, uid: number, gid: number, flags: number): number {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -E.EINVAL;
  let lf = flags & AT_SYMLINK_NOFOLLOW ? 0 : LOOKUP_FOLLOW;
  if (flags & AT_EMPTY_PATH) lf |= LOOKUP_EMPTY;
  const p = userPathAt(task, dirfd | 0, upath, lf);
  if (typeof p === 'number') return p;
  return chownCommon(task, p, uid, gid);
}

export function sysFchown(task: Task, fd: number, uid: number, gid: number): number {
  const f = task.files.get(fd | 0);
  if (!f || f.mode & FMODE_PATH) return -E.EBADF;
  return chownCommon(task, f.path, uid, gid);
}

/** do_truncate: the size change goes through notify_change → setattr. */
function doTruncate(task: Task, path: Path, length: number): number {
  if (length < 0) return -E.EINVAL;
  const inode = path.dentry.inode;
  const now = inode.sb.now();
  return notifyChange(path, { valid: ATTR_SIZE | ATTR_MTIME | ATTR_CTIME, size: length, mtime: now }, null, task);
}

export function sysTruncate(task: Task, upath: number, length: number): number {
  const p = userPathAt(task, AT_FDCWD, upath, LOOKUP_FOLLOW);
  if (typeof p === 'number') return p;
  const inode = p.dentry.inode;
  if (S_ISDIR(inode.mode)) return -E.EISDIR;
  if (!S_ISREG(inode.mode)) return -E.EINVAL;
  const e = inodePermission(inode, MAY_WRITE, task.cred, task);
  if (e < 0) return e;
  return doTruncate(task, p, length);
}

export function sysFtruncate(task: Task, fd: number, length: number): number {
  const f = task.files.get(fd | 0);
  if (!f || f.mode & FMODE_PATH) return -E.EBADF;
  if (length < 0) return -E.EINVAL;
  if (!S_ISREG(f.inode.mode) || !f.writable) return -E.EINVAL;
  // (Only an append-only inode, chattr +a, refuses; O_APPEND does not.)
  return doTruncate(task, f.path, length);
}

// fallocate modes (linux/falloc.h).
export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;
export const FALLOC_FL_NO_HIDE_STALE = 0x04;
export const FALLOC_FL_COLLAPSE_RANGE = 0x08;
export const FALLOC_FL_ZERO_RANGE = 0x10;
export const FALLOC_FL_INSERT_RANGE = 0x20;
export const FALLOC_FL_UNSHARE_RANGE = 0x40;
const FALLOC_FL_SUPPORTED_MASK =
  FALLOC_FL_KEEP_SIZE |
  FALLOC_FL_PUNCH_HOLE |
  FALLOC_FL_COLLAPSE_RANGE |
  FALLOC_FL_ZERO_RANGE |
  FALLOC_FL_INSERT_RANGE |
  FALLOC_FL_UNSHARE_RANGE;

/** fallocate(fd, mode, offset, len) (vfs_fallocate): the checks, then the filesystem's fallocate. */
export function sysFallocate(task: Task, fd: number, mode: number, offset: number, len: number): number {
  const f = task.files.get(fd | 0);
  if (!f || f.mode & FMODE_PATH) return -E.EBADF;
  if (offset < 0 || len <= 0) return -E.EINVAL;
  if (mode & ~FALLOC_FL_SUPPORTED_MASK) return -E.EOPNOTSUPP;
  // Punch hole and zero range are mutually exclusive; punching must keep the size.
  if ((mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) === (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
    return -E.EOPNOTSUPP;
  if (mode & FALLOC_FL_PUNCH_HOLE && !(mode & FALLOC_FL_KEEP_SIZE)) return -E.EOPNOTSUPP;
  if (
    mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE) &&
    mode & ~(FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)
  )
    return -E.EINVAL;
  if (mode & FALLOC_FL_UNSHARE_RANGE && mode & ~(FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE)) return -E.EINVAL;
  if (!f.writable) return -E.EBADF;
  // An append-only open may only grow the file.
  if (mode & ~FALLOC_FL_KEEP_SIZE && f.flags & O_APPEND) return -E.EPERM;
  const inode = f.inode;
  if (S_ISFIFO(inode.mode)) return -E.ESPIPE;
  if (S_ISDIR(inode.mode)) return -E.EISDIR;
  if (!S_ISREG(inode.mode) && !S_ISBLK(inode.mode)) return -E.ENODEV;
  if (offset + len > inode.sb.maxBytes || offset + len < 0) return -E.EFBIG;
  if (!f.op.fallocate) return -E.EOPNOTSUPP;
  const r = f.op.fallocate(f, mode, offset, len);
  if (r === 0 && mode !== FALLOC_FL_KEEP_SIZE) inode.touchModify();
  return r;
}

/** fadvise64(fd, offset, len, advice) (mm/fadvise.c): checked, then nothing to do in memory. */
export function sysFadvise64(task: Task, fd: number, offset: number, len: number, advice: number): number {
  const f = task.files.get(fd | 0);
  if (!f || f.mode & FMODE_PATH) return -E.EBADF;
  if (S_ISFIFO(f.inode.mode)) return -E.ESPIPE;
  // POSIX_FADV_NORMAL .. POSIX_FADV_NOREUSE (0..5).
  if (advice < 0 || advice > 5 || len < 0) return -E.EINVAL;
  void offset;
  return 0;
}

/** readahead(fd, offset, count) (ksys_readahead): a readable regular file, otherwise EINVAL. */
export function sysReadahead(task: Task, fd: number, offset: number, count: number): number {
  const f = task.files.get(fd | 0);
  if (!f || !f.readable) return -E.EBADF;
  if (!S_ISREG(f.inode.mode)) return -E.EINVAL;
  void offset;
  void count;
  return 0;
}

/** umask(mask): set, return the old one. */
export function sysUmask(task: Task, mask: number): number {
  const old = task.fs.umask;
  task.fs.umask = mask & 0o777;
  return old;
}

/** For stat-like helpers: the path of an fd (fdget_raw), O_PATH allowed. */
export function fdPath(task: Task, fd: number): Path | number {
  const f = task.files.get(fd | 0);
  return f ? f.path : -E.EBADF;
}
