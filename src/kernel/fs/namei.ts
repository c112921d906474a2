import { EACCES, EBADF, EFAULT, EINVAL, EPERM, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, EROFS, EXDEV } from '../errno.js';
import { strncpyFromUser } from '../mm/uaccess.js';
import type { Cred, Task } from '../sched/task.js';
import type { Dentry } from './dcache.js';
import type { Inode } from './inode.js';
import { lookupMnt } from './mount.js';
import type { Path } from './path.js';
import {
  AT_FDCWD,
  MAXSYMLINKS,
  MAY_EXEC,
  MAY_WRITE,
  NAME_MAX,
  PATH_MAX,
  S_IFMT,
  S_IFDIR,
  S_IFLNK,
  S_IFREG,
  S_ISDIR,
  S_ISLNK,
} from './uapi.js';

// Lookup flags (LOOKUP_* in include/linux/namei.h).
export const LOOKUP_FOLLOW = 0x1;
export const LOOKUP_DIRECTORY = 0x2;
export const LOOKUP_EMPTY = 0x4000;
export const LOOKUP_NO_SYMLINKS = 0x10000;
export const LOOKUP_NO_MAGICLINKS = 0x20000;
export const LOOKUP_NO_XDEV = 0x40000;
export const LOOKUP_BENEATH = 0x80000;
export const LOOKUP_IN_ROOT = 0x100000;

/**
 * State of one path walk (struct nameidata): who walks (for permissions and for procfs's
 * "self"), the root `/` and `..` stop at, and the count of symlinks followed (ELOOP at 40).
 */
export class NameiData {
  depth = 0;
  constructor(
    readonly task: Task | null,
    public root: Path,
    public flags: number,
  ) {}

  get cred(): Cred | null {
    return this.task ? this.task.cred : null;
  }

  static forTask(task: Task, flags: number): NameiData {
    return new NameiData(task, task.fs.root, flags);
  }
}

/** What a parent walk leaves for the caller (nd->last, nd->last_type). */
export interface ParentResult {
  parent: Path;
  /** The final component ('' for "/", "." or ".." are reported as such). */
  last: string;
  lastType: 'norm' | 'dot' | 'dotdot' | 'root';
  /** The path ended with '/' (the final object must be a directory). */
  mustDir: boolean;
}

// ---------------------------------------------------------------------------------------
// Permissions (fs/namei.c: generic_permission, inode_permission).

/** Is `gid` one of the caller's groups (in_group_p)? */
export function inGroup(cred: Cred, gid: number): boolean {
  return cred.fsgid === gid || cred.groups.includes(gid);
}

/**
 * generic_permission: the owner/group/other bits against the fs ids; uid 0 passes
 * (CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH), except that executing a file needs some x bit.
 */
export function genericPermission(inode: Inode, mask: number, cred: Cred): number {
  const mode = inode.mode;
  let bits: number;
  if (cred.fsuid === inode.uid) bits = (mode >> 6) & 7;
  else if (inGroup(cred, inode.gid)) bits = (mode >> 3) & 7;
  else bits = mode & 7;
  if ((mask & 7 & ~bits) === 0) return 0;
  if (cred.fsuid === 0) {
    if (!(mask & MAY_EXEC) || S_ISDIR(mode) || (mode & 0o111) !== 0) return 0;
  }
  return -EACCES;
}

/**
 * inode_permission: writes to a read-only filesystem fail with EROFS for files, dirs and
 * links; then the filesystem's own check or generic_permission. A null cred is the
 * kernel itself (no checks).
 */
export function inodePermission(inode: Inode, mask: number, cred: Cred | null, task: Task | null = null): number {
  if (mask & MAY_WRITE) {
    const t = inode.mode & S_IFMT;
    if (inode.sb.readonly && (t === S_IFREG || t === S_IFDIR || t === S_IFLNK)) return -EROFS;
  }
  if (cred === null) return 0;
  if (inode.op.permission) return inode.op.permission(inode, mask, cred, task);
  return genericPermission(inode, mask, cred);
}

/** Is the caller the owner, or root (inode_owner_or_capable)? */
export function ownerOrCapable(inode: Inode, cred: Cred | null): boolean {
  return cred === null || cred.fsuid === 0 || cred.fsuid === inode.uid;
}

// ---------------------------------------------------------------------------------------
// Path walk (fs/namei.c: link_path_walk, walk_component, follow_dotdot, step_into).

/** Step down through filesystems mounted on `p` (follow_mount / traverse_mounts). */
export function followMount(p: Path): Path {
  let { mnt, dentry } = p;
  for (;;) {
    const child = lookupMnt(mnt, dentry);
    if (!child) break;
    mnt = child;
    dentry = child.root;
  }
  return mnt === p.mnt ? p : { mnt, dentry };
}

/** `..` (follow_dotdot): stops at the walk's root, climbs out of mounts to their mountpoints. */
function followDotdot(nd: NameiData, cur: Path): Path | number {
  for (;;) {
    if (cur.mnt === nd.root.mnt && cur.dentry === nd.root.dentry) {
      if (nd.flags & LOOKUP_BENEATH) return -EXDEV;
      return cur;
    }
    if (cur.dentry !== cur.mnt.root) return followMount({ mnt: cur.mnt, dentry: cur.dentry.parent });
    if (cur.mnt.parent === cur.mnt) return cur; // the namespace root
    if (nd.flags & LOOKUP_NO_XDEV) return -EXDEV;
    cur = { mnt: cur.mnt.parent, dentry: cur.mnt.mountpoint };
  }
}

/** A directory's lower (read-only union) directory at `name`, if the lower tree has one. */
function lowerChildDir(lower: Inode, name: string, task: Task | null): Inode | null {
  const li = lower.op.lookup?.(lower, name, task);
  return li && typeof li !== 'number' && S_ISDIR(li.mode) ? li : null;
}

/**
 * Find `name` in the directory dentry `pd` (lookup_fast, then lookup_slow → i_op->lookup),
 * falling through to a union's lower directory. The dentry itself, not what is mounted on
 * it: unlink/rename want this. Returns null when the name does not exist, or -errno.
 */
export function lookupDentry(pd: Dentry, name: string, task: Task | null): Dentry | null | number {
  const cached = pd.cached(name);
  if (cached) return cached;
  const dir = pd.inode;
  const r = dir.op.lookup ? dir.op.lookup(dir, name, task) : null;
  if (typeof r === 'number') return r;
  if (r) {
    const d = pd.add(name, r);
    if (pd.lower && S_ISDIR(r.mode)) d.lower = lowerChildDir(pd.lower, name, task);
    return d;
  }
  if (pd.lower) {
    const lr = pd.lower.op.lookup ? pd.lower.op.lookup(pd.lower, name, task) : null;
    if (typeof lr === 'number') return lr;
    if (!lr) return null;
    return pd.add(name, lr);
  }
  return null;
}

/** lookupDentry, then step onto any filesystem mounted there (walk_component's step). */
export function lookupChild(parent: Path, name: string, task: Task | null, flags = 0): Path | null | number {
  const d = lookupDentry(parent.dentry, name, task);
  if (d === null || typeof d === 'number') return d;
  if (d.mountCount > 0 && flags & LOOKUP_NO_XDEV && lookupMnt(parent.mnt, d)) return -EXDEV;
  return followMount({ mnt: parent.mnt, dentry: d });
}

function splitPath(p: string): string[] {
  const out: string[] = [];
  for (const c of p.split('/')) if (c !== '') out.push(c);
  return out;
}

interface Frame {
  comps: string[];
  i: number;
}

/**
 * The walk itself. Resolves `pathname` from `start`; with `parentOnly`, stops before the
 * final component and reports it (for create/unlink/rename). Symlinks in the middle are
 * always followed; a final one only with LOOKUP_FOLLOW or a trailing slash.
 */
function walk(
  nd: NameiData,
  start: Path,
  pathname: string,
  parentOnly: boolean,
): { path: Path; parent?: ParentResult } | number {
  let cur = start;
  let mustDir = pathname.endsWith('/');
  if (pathname.startsWith('/')) {
    if (nd.flags & LOOKUP_BENEATH) return -EXDEV;
    cur = nd.root;
  }
  const frames: Frame[] = [{ comps: splitPath(pathname), i: 0 }];
  for (;;) {
    while (frames.length > 0 && frames[frames.length - 1]!.i >= frames[frames.length - 1]!.comps.length) frames.pop();
    if (frames.length === 0) break;
    const top = frames[frames.length - 1]!;
    const name = top.comps[top.i++]!;
    let isLast = top.i >= top.comps.length;
    for (let k = frames.length - 2; isLast && k >= 0; k--) if (frames[k]!.i < frames[k]!.comps.length) isLast = false;

    if (!S_ISDIR(cur.dentry.inode.mode)) return -ENOTDIR;
    if (isLast && parentOnly) {
      const lastType = name === '.' ? 'dot' : name === '..' ? 'dotdot' : 'norm';
      if (lastType === 'norm' && name.length > NAME_MAX) return -ENAMETOOLONG;
      // may_lookup on the parent is the caller's business for the last component, but the
      // search permission of the parent itself is checked here as Linux does in link_path_walk.
      const e = inodePermission(cur.dentry.inode, MAY_EXEC, nd.cred, nd.task);
      if (e < 0) return e;
      return { path: cur, parent: { parent: cur, last: name, lastType, mustDir } };
    }
    const perm = inodePermission(cur.dentry.inode, MAY_EXEC, nd.cred, nd.task);
    if (perm < 0) return perm;
    if (name === '.') continue;
    if (name === '..') {
      const up = followDotdot(nd, cur);
      if (typeof up === 'number') return up;
      cur = up;
      continue;
    }
    if (name.length > NAME_MAX) return -ENAMETOOLONG;
    const child = lookupChild(cur, name, nd.task, nd.flags);
    if (child === null) return -ENOENT;
    if (typeof child === 'number') return child;
    const ci = child.dentry.inode;
    if (S_ISLNK(ci.mode) && (!isLast || nd.flags & LOOKUP_FOLLOW || mustDir)) {
      const r = pickLink(nd, child);
      if (typeof r === 'number') return r;
      if (typeof r !== 'string') {
        cur = followMount(r);
        continue;
      }
      if (r.startsWith('/')) {
        // nd_jump_root: BENEATH refuses absolute links; NO_XDEV refuses one that changes mount.
        if (nd.flags & LOOKUP_BENEATH) return -EXDEV;
        if (nd.flags & LOOKUP_NO_XDEV && cur.mnt !== nd.root.mnt) return -EXDEV;
        cur = nd.root;
      }
      if (isLast && r.endsWith('/')) mustDir = true;
      frames.push({ comps: splitPath(r), i: 0 });
      continue;
    }
    cur = child;
  }
  if (parentOnly) {
    // No final normal component: "/", or a path whose last step was a followed link to "/".
    return { path: cur, parent: { parent: cur, last: '', lastType: 'root', mustDir } };
  }
  if ((mustDir || nd.flags & LOOKUP_DIRECTORY) && !S_ISDIR(cur.dentry.inode.mode)) return -ENOTDIR;
  return { path: cur };
}

/** Follow one symlink (pick_link): count it, check the openat2 restrictions, fetch the body. */
function pickLink(nd: NameiData, link: Path): string | Path | number {
  if (nd.flags & LOOKUP_NO_SYMLINKS) return -ELOOP;
  if (++nd.depth > MAXSYMLINKS) return -ELOOP;
  const inode = link.dentry.inode;
  let body: string | Path | number;
  if (inode.op.getLink) body = inode.op.getLink(inode, nd.task);
  else if (inode.link !== null) body = inode.link;
  else return -EINVAL;
  if (typeof body === 'number') return body;
  if (typeof body !== 'string') {
    // nd_jump_link: magic links are refused by NO_MAGICLINKS, by NO_XDEV across mounts,
    // and by every scoped lookup.
    if (nd.flags & LOOKUP_NO_MAGICLINKS) return -ELOOP;
    if (nd.flags & LOOKUP_NO_XDEV && body.mnt !== link.mnt) return -EXDEV;
    if (nd.flags & (LOOKUP_BENEATH | LOOKUP_IN_ROOT)) return -EXDEV;
    return body;
  }
  if (body.length === 0) return -ENOENT;
  return body;
}

/** Resolve a whole path from `start` (path_lookupat). */
export function pathWalk(nd: NameiData, start: Path, pathname: string): Path | number {
  const r = walk(nd, start, pathname, false);
  return typeof r === 'number' ? r : r.path;
}

/** Resolve all but the final component (path_parentat / filename_parentat). */
export function parentWalk(nd: NameiData, start: Path, pathname: string): ParentResult | number {
  const r = walk(nd, start, pathname, true);
  return typeof r === 'number' ? r : r.parent!;
}

/**
 * Continue a parent walk through a final symlink met by an O_CREAT open (the trailing
 * symlink loop of path_openat): counts the link, then walks its body from the link's parent.
 */
export function followTrailing(nd: NameiData, parent: Path, link: Path): ParentResult | Path | number {
  const r = pickLink(nd, link);
  if (typeof r === 'number') return r;
  if (typeof r !== 'string') return followMount(r);
  return parentWalk(nd, parent, r);
}

// ---------------------------------------------------------------------------------------
// Starting points and user strings (getname, path_init).

/** Copy a path name from user memory (getname): -EFAULT, -ENAMETOOLONG; "" allowed (caller decides). */
export function getname(task: Task, va: number): string | number {
  if (va === 0) return -EFAULT;
  const s = strncpyFromUser(task.mm, va, PATH_MAX);
  if (typeof s === 'number') return s;
  if (s.length >= PATH_MAX) return -ENAMETOOLONG;
  return s;
}

/**
 * Where a relative walk starts (path_init): the cwd for AT_FDCWD, else the directory open
 * on dirfd. An absolute path ignores dirfd, as Linux does (even a bad one).
 */
export function startPath(task: Task, dirfd: number, pathname: string, emptyOk = false): Path | number {
  if (pathname.startsWith('/')) return task.fs.root;
  if (dirfd === AT_FDCWD) return task.fs.pwd;
  const f = task.files.get(dirfd);
  if (!f) return -EBADF;
  if (pathname === '' && emptyOk) return f.path;
  if (!S_ISDIR(f.inode.mode)) return -ENOTDIR;
  return f.path;
}

/**
 * user_path_at: resolve a user path name relative to dirfd. `flags` are LOOKUP_*; with
 * LOOKUP_EMPTY an empty name means dirfd itself (AT_EMPTY_PATH).
 */
export function userPathAt(task: Task, dirfd: number, upath: number, flags: number): Path | number {
  const name = getname(task, upath);
  if (typeof name === 'number') return name;
  return pathAt(task, dirfd, name, flags);
}

/** The same, for a path already in kernel memory. */
export function pathAt(task: Task, dirfd: number, name: string, flags: number): Path | number {
  if (name === '') {
    if (!(flags & LOOKUP_EMPTY)) return -ENOENT;
    if (dirfd === AT_FDCWD) return task.fs.pwd;
    const f = task.files.get(dirfd);
    return f ? f.path : -EBADF;
  }
  const start = startPath(task, dirfd, name);
  if (typeof start === 'number') return start;
  return pathWalk(NameiData.forTask(task, flags), start, name);
}

/** Kernel-internal lookup from a given root (kern_path), with no permission checks. */
export function kernPath(root: Path, name: string, flags = LOOKUP_FOLLOW): Path | number {
  return pathWalk(new NameiData(null, root, flags), root, name);
}

/** Parent walk for the *at() calls that create or remove names. */
export function userParentAt(task: Task, dirfd: number, name: string): { nd: NameiData; res: ParentResult } | number {
  if (name === '') return -ENOENT;
  const start = startPath(task, dirfd, name);
  if (typeof start === 'number') return start;
  const nd = NameiData.forTask(task, 0);
  const res = parentWalk(nd, start, name);
  if (typeof res === 'number') return res;
  return { nd, res };
}

/** may_delete / may_create helpers for the directory operations. */
export function mayCreate(dir: Inode, cred: Cred | null, task: Task | null): number {
  if (dir.nlink === 0) return -ENOENT; // directory was removed
  return inodePermission(dir, MAY_WRITE | MAY_EXEC, cred, task);
}

/** may_delete: write+search on the dir, and the sticky-bit rule. */
export function mayDelete(dir: Inode, victim: Inode, cred: Cred | null, task: Task | null): number {
  const e = inodePermission(dir, MAY_WRITE | MAY_EXEC, cred, task);
  if (e < 0) return e;
  if (cred && dir.mode & 0o1000 && cred.fsuid !== 0 && cred.fsuid !== victim.uid && cred.fsuid !== dir.uid) {
    return -EPERM;
  }
  return 0;
}

/** Is `d` (in the same tree) an ancestor of or equal to `of`? (is_subdir, for rename loops) */
export function isSubdir(d: Dentry, of: Dentry): boolean {
  let x = d;
  for (;;) {
    if (x === of) return true;
    if (x.isRoot()) return false;
    x = x.parent;
  }
}

/** Write permission of the caller on an inode (utimes' "now" rule). */
export function mayWrite(inode: Inode, task: Task): number {
  return inodePermission(inode, MAY_WRITE, task.cred, task);
}
