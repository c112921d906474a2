import * as E from '../errno.js';
import type { Kernel } from '../kernel.js';
import { strncpyFromUser } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import { dPath, isReachable } from './d_path.js';
import { FS_REQUIRES_DEV, getFsType, type MountContext, type MountDisk } from './filesystems.js';
import {
  MNT_NOATIME,
  MNT_NODEV,
  MNT_NODIRATIME,
  MNT_NOEXEC,
  MNT_NOSUID,
  MNT_NOSYMFOLLOW,
  MNT_READONLY,
  MNT_RELATIME,
  MNT_USER_SETTABLE_MASK,
  Mount,
  attachMnt,
  detachMnt,
} from './mount.js';
import { LOOKUP_FOLLOW, getname, isSubdir, kernPath, userPathAt } from './namei.js';
import type { Path } from './path.js';
import { SB_RDONLY, devMajor, devMinor, makeDev, type SuperBlock } from './super.js';
import { S_ISBLK, S_ISDIR } from './uapi.js';

/**
 * Mounting (fs/namespace.c): mount(2) — new mounts, bind mounts, remounts, moves and
 * propagation changes — and umount2(2), on the mount tree of Mount objects whose root is
 * the kernel's root mount. Only root (CAP_SYS_ADMIN, euid 0 here) may change it.
 */

// mount(2) flags (include/uapi/linux/mount.h).
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_SYNCHRONOUS = 16;
export const MS_REMOUNT = 32;
export const MS_MANDLOCK = 64;
export const MS_DIRSYNC = 128;
export const MS_NOSYMFOLLOW = 256;
export const MS_NOATIME = 1024;
export const MS_NODIRATIME = 2048;
export const MS_BIND = 4096;
export const MS_MOVE = 8192;
export const MS_REC = 16384;
export const MS_SILENT = 32768;
export const MS_POSIXACL = 1 << 16;
export const MS_UNBINDABLE = 1 << 17;
export const MS_PRIVATE = 1 << 18;
export const MS_SLAVE = 1 << 19;
export const MS_SHARED = 1 << 20;
export const MS_RELATIME = 1 << 21;
export const MS_KERNMOUNT = 1 << 22;
export const MS_I_VERSION = 1 << 23;
export const MS_STRICTATIME = 1 << 24;
export const MS_LAZYTIME = 1 << 25;
export const MS_NOUSER = 1 << 31;
const MS_MGC_MSK = 0xffff0000;
const MS_MGC_VAL = 0xc0ed0000;
const MS_PROPAGATION = MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE;
/** Superblock flags a mount call passes on (SB_* share the MS_* values). */
const SB_PASSED =
  MS_RDONLY | MS_SYNCHRONOUS | MS_MANDLOCK | MS_DIRSYNC | MS_SILENT | MS_POSIXACL | MS_LAZYTIME | MS_I_VERSION;

// umount2 flags (include/linux/fs.h).
export const MNT_FORCE = 1;
export const MNT_DETACH = 2;
export const MNT_EXPIRE = 4;
export const UMOUNT_NOFOLLOW = 8;

/** may_mount: CAP_SYS_ADMIN (root here); the kernel itself (null task) may. */
function mayMount(task: Task | null): boolean {
  return task === null || task.cred.euid === 0;
}

/** Superblocks alive through doMount, per kernel (the super_blocks list, for sync and reuse). */
const supers = new WeakMap<object, Set<SuperBlock>>();
function kernelSupers(kernel: Kernel): Set<SuperBlock> {
  let s = supers.get(kernel);
  if (!s) {
    s = new Set();
    supers.set(kernel, s);
  }
  return s;
}

/** Every superblock of the machine: those of the mount tree and those doMount made still alive. */
export function allSuperBlocks(kernel: Kernel): SuperBlock[] {
  const out = new Set<SuperBlock>();
  const root = rootMount(kernel);
  if (root) for (const m of iterMounts(root)) out.add(m.sb);
  for (const sb of kernelSupers(kernel)) out.add(sb);
  return [...out];
}

/** The namespace's root mount (init_task's root). */
export function rootMount(kernel: Kernel): Mount | null {
  const rfs = (kernel as { rootFs?: { rootMnt?: Mount } }).rootFs;
  return rfs?.rootMnt ?? null;
}

/** Mounts below `root` (itself first), in the order /proc/mounts lists them (depth first, oldest first). */
export function iterMounts(root: Mount): Mount[] {
  const out: Mount[] = [];
  const walk = (m: Mount): void => {
    out.push(m);
    for (const c of m.children) walk(c);
  };
  walk(root);
  return out;
}

/** Convert MS_* to the per-mount MNT_* flags (path_mount). */
function msToMnt(flags: number): number {
  let m = 0;
  if (flags & MS_NOSUID) m |= MNT_NOSUID;
  if (flags & MS_NODEV) m |= MNT_NODEV;
  if (flags & MS_NOEXEC) m |= MNT_NOEXEC;
  if (flags & MS_NOATIME) m |= MNT_NOATIME;
  if (flags & MS_NODIRATIME) m |= MNT_NODIRATIME;
  if (flags & MS_RDONLY) m |= MNT_READONLY;
  if (flags & MS_NOSYMFOLLOW) m |= MNT_NOSYMFOLLOW;
  // Default to relatime unless overridden.
  if (!(flags & MS_NOATIME)) m |= MNT_RELATIME;
  if (flags & MS_STRICTATIME) m &= ~(MNT_RELATIME | MNT_NOATIME);
  return m;
}

/**
 * The generic options of a legacy mount data string (vfs_parse_sb_flag): "ro", "rw", "sync"...
 * become flags; the rest is left for the filesystem.
 */
function parseGenericOptions(data: string, flags: number): { data: string; flags: number } {
  const rest: string[] = [];
  for (const o of data.split(',')) {
    switch (o) {
      case '':
        break;
      case 'ro':
        flags |= MS_RDONLY;
        break;
      case 'rw':
        flags &= ~MS_RDONLY;
        break;
      case 'sync':
        flags |= MS_SYNCHRONOUS;
        break;
      case 'async':
        flags &= ~MS_SYNCHRONOUS;
        break;
      case 'dirsync':
        flags |= MS_DIRSYNC;
        break;
      case 'lazytime':
        flags |= MS_LAZYTIME;
        break;
      case 'nolazytime':
        flags &= ~MS_LAZYTIME;
        break;
      case 'mand':
      case 'nomand':
      case 'silent':
        break;
      default:
        rest.push(o);
    }
  }
  return { data: rest.join(','), flags };
}

/** Is `p` the root of its mount (the only place remount/umount/propagation changes apply)? */
function isMountRoot(p: Path): boolean {
  return p.dentry === p.mnt.root;
}

/**
 * lookup_bdev + the disk lookup of get_tree_bdev: the source must name a block device node
 * (ENOTBLK otherwise) on a mount that allows devices (EACCES under nodev) whose number is a
 * disk the block layer knows (ENXIO).
 */
function lookupDisk(kernel: Kernel, task: Task | null, source: string): { disk: MountDisk; rdev: number } | number {
  if (source === '') return -E.EINVAL;
  const disks = (kernel as { disks?: MountDisk[] }).disks ?? [];
  if (task === null) {
    // The kernel's own mounts (mount_root with root=/dev/vda) name the disk, not a node:
    // early_lookup_bdev parses "/dev/<name>" and "MAJ:MIN" without any /dev.
    const name = source.startsWith('/dev/') ? source.slice(5) : null;
    const mm = /^(\d+):(\d+)$/.exec(source);
    const d = disks.find((x) => x.name === name || (mm && x.major === Number(mm[1]) && x.minor === Number(mm[2])));
    if (d) return { disk: d, rdev: makeDev(d.major, d.minor) };
  }
  const root = task
    ? task.fs.root
    : rootMount(kernel)
      ? { mnt: rootMount(kernel)!, dentry: rootMount(kernel)!.root }
      : null;
  if (!root) return -E.ENOENT;
  const start = source.startsWith('/') || !task ? root : task.fs.pwd;
  const p = kernPath(start, source, LOOKUP_FOLLOW);
  if (typeof p === 'number') return p;
  const inode = p.dentry.inode;
  if (!S_ISBLK(inode.mode)) return -E.ENOTBLK;
  if (p.mnt.flags & MNT_NODEV) return -E.EACCES;
  const rdev = inode.rdev;
  const disk = disks.find((d) => d.major === devMajor(rdev) && d.minor === devMinor(rdev));
  if (!disk) return -E.ENXIO;
  return { disk, rdev };
}

/** Make a mount of `sb` on `target` (do_add_mount / graft_tree). */
function addMount(
  kernel: Kernel,
  sb: SuperBlock,
  root: Path['dentry'],
  devname: string,
  target: Path,
  mntFlags: number,
): Mount | number {
  if (target.mnt.detached) return -E.EINVAL;
  if (target.dentry.unhashed) return -E.ENOENT;
  // Refuse the same superblock mounted on top of itself.
  if (target.mnt.sb === sb && target.mnt.root === target.dentry && target.mnt.root === root) return -E.EBUSY;
  if (S_ISDIR(target.dentry.inode.mode) !== S_ISDIR(root.inode.mode)) return -E.ENOTDIR;
  const m = new Mount(sb, root, devname, target.mnt, target.dentry);
  m.flags = mntFlags;
  sb.activeMounts++;
  kernelSupers(kernel).add(sb);
  return m;
}

/** do_new_mount: find the type, get a superblock for the source, and graft it. */
function doNewMount(
  kernel: Kernel,
  task: Task | null,
  source: string,
  target: Path,
  fstype: string,
  flags: number,
  data: string,
  mntFlags: number,
): number {
  if (fstype === '') return -E.EINVAL;
  const type = getFsType(fstype);
  if (!type || !type.mount) return -E.ENODEV;
  let disk: MountDisk | null = null;
  let bdev = 0;
  if (type.fsFlags & FS_REQUIRES_DEV) {
    const d = lookupDisk(kernel, task, source);
    if (typeof d === 'number') return d;
    disk = d.disk;
    bdev = d.rdev;
    // A write-protected disk cannot be mounted read-write (EACCES; mount(8) retries read-only).
    if (disk.readOnly && !(flags & MS_RDONLY)) return -E.EACCES;
    // sget: a device already mounted gives the same superblock again.
    for (const sb of kernelSupers(kernel)) {
      if (sb.bdev === bdev && sb.activeMounts > 0) {
        if (sb.type !== type) return -E.EBUSY;
        return errOrZero(addMount(kernel, sb, sb.root, source, target, mntFlags));
      }
    }
  }
  const ctx: MountContext = { kernel, source, flags, data, disk };
  let sb: SuperBlock | number;
  try {
    sb = type.mount(ctx);
  } catch (e) {
    kernel.log?.(`mount: ${fstype} on ${source}: ${(e as Error).message ?? e}`);
    return -E.EINVAL;
  }
  if (typeof sb === 'number') return sb;
  sb.flags |= flags & SB_PASSED;
  if (bdev) sb.bdev = bdev;
  const m = addMount(kernel, sb, sb.root, source || 'none', target, mntFlags);
  if (typeof m === 'number') {
    if (sb.activeMounts === 0) killSuper(kernel, sb);
    return m;
  }
  return 0;
}

function errOrZero(r: Mount | number): number {
  return typeof r === 'number' ? r : 0;
}

/** do_reconfigure_mnt (MS_REMOUNT|MS_BIND): change only this mount's flags. */
function doReconfigureMnt(target: Path, mntFlags: number): number {
  if (!isMountRoot(target)) return -E.EINVAL;
  const m = target.mnt;
  // mnt_make_readonly: not while files are open for writing through it.
  if (mntFlags & MNT_READONLY && !(m.flags & MNT_READONLY) && m.writers > 0) return -E.EBUSY;
  m.flags = (m.flags & ~MNT_USER_SETTABLE_MASK) | (mntFlags & MNT_USER_SETTABLE_MASK);
  return 0;
}

/** Files open for writing on any mount of `sb` (sb_prepare_remount_readonly). */
function sbWriters(kernel: Kernel, sb: SuperBlock): number {
  let n = 0;
  const root = rootMount(kernel);
  if (root) for (const m of iterMounts(root)) if (m.sb === sb) n += m.writers;
  return n;
}

/** do_remount: change the superblock's flags and options, and this mount's flags. */
function doRemount(kernel: Kernel, target: Path, flags: number, mntFlags: number, data: string): number {
  if (!isMountRoot(target)) return -E.EINVAL;
  const sb = target.mnt.sb;
  const toRo = (flags & MS_RDONLY) !== 0 && !(sb.flags & SB_RDONLY);
  if (toRo && sbWriters(kernel, sb) > 0) return -E.EBUSY;
  if (sb.ops.remountFs) {
    const e = sb.ops.remountFs(sb, (sb.flags & ~SB_PASSED) | (flags & SB_PASSED), data);
    if (e < 0) return e;
  }
  if (toRo) sb.ops.syncFs?.(sb);
  sb.flags = (sb.flags & ~SB_PASSED) | (flags & SB_PASSED);
  const m = target.mnt;
  m.flags = (m.flags & ~MNT_USER_SETTABLE_MASK) | (mntFlags & MNT_USER_SETTABLE_MASK);
  return 0;
}

/** do_loopback (MS_BIND, with MS_REC copy_tree): the tree at `source` seen again at `target`. */
function doLoopback(kernel: Kernel, task: Task | null, source: string, target: Path, recursive: boolean): number {
  if (source === '') return -E.EINVAL;
  const base = task ? task.fs : null;
  const rootM = rootMount(kernel);
  const root: Path | null = base ? base.root : rootM ? { mnt: rootM, dentry: rootM.root } : null;
  if (!root) return -E.ENOENT;
  const start = source.startsWith('/') || !base ? root : base.pwd;
  const old = kernPath(start, source, LOOKUP_FOLLOW);
  if (typeof old === 'number') return old;
  if (old.mnt.detached) return -E.EINVAL;
  const top = addMount(kernel, old.mnt.sb, old.dentry, old.mnt.devname, target, old.mnt.flags);
  if (typeof top === 'number') return top;
  if (recursive) {
    // copy_tree: every mount below old.dentry inside old.mnt comes along, at the same place.
    const copy = (src: Mount, dst: Mount, under: Path['dentry']): void => {
      for (const c of [...src.children]) {
        if (!isSubdir(c.mountpoint, under)) continue;
        const cm = new Mount(c.sb, c.root, c.devname, dst, c.mountpoint);
        cm.flags = c.flags;
        c.sb.activeMounts++;
        copy(c, cm, c.root);
      }
    };
    copy(old.mnt, top, old.dentry);
  }
  return 0;
}

/** do_move_mount_old (MS_MOVE): take a whole mount (with its children) elsewhere. */
function doMoveMount(kernel: Kernel, task: Task | null, source: string, target: Path): number {
  const base = task ? task.fs : null;
  const rootM = rootMount(kernel);
  const root: Path | null = base ? base.root : rootM ? { mnt: rootM, dentry: rootM.root } : null;
  if (!root) return -E.ENOENT;
  const start = source.startsWith('/') || !base ? root : base.pwd;
  const old = kernPath(start, source, LOOKUP_FOLLOW);
  if (typeof old === 'number') return old;
  if (!isMountRoot(old) || old.mnt.parent === old.mnt) return -E.EINVAL;
  if (S_ISDIR(target.dentry.inode.mode) !== S_ISDIR(old.dentry.inode.mode)) return -E.ENOTDIR;
  // The target must not be inside the mount being moved (ELOOP).
  for (let m = target.mnt; ; m = m.parent) {
    if (m === old.mnt) return -E.ELOOP;
    if (m.parent === m) break;
  }
  detachMnt(old.mnt);
  attachMnt(old.mnt, target.mnt, target.dentry);
  return 0;
}

/**
 * do_mount / path_mount: the kernel's mount entry point (mount(2), and boot's mount_root).
 * `target` is where to mount (already walked, mounts followed down); flags are MS_*.
 */
export function doMount(
  kernel: Kernel,
  task: Task | null,
  source: string,
  target: Path,
  fstype: string,
  flags: number,
  data: string,
): number {
  if (!mayMount(task)) return -E.EPERM;
  flags >>>= 0;
  // Discard the magic number old programs put in the top half.
  if ((flags & MS_MGC_MSK) >>> 0 === MS_MGC_VAL) flags &= ~MS_MGC_MSK;
  if (flags & MS_NOUSER) return -E.EINVAL;
  const g = parseGenericOptions(data, flags);
  flags = g.flags;
  const mntFlags = msToMnt(flags);
  if ((flags & (MS_REMOUNT | MS_BIND)) === (MS_REMOUNT | MS_BIND)) return doReconfigureMnt(target, mntFlags);
  if (flags & MS_REMOUNT) return doRemount(kernel, target, flags, mntFlags, g.data);
  if (flags & MS_BIND) return doLoopback(kernel, task, source, target, (flags & MS_REC) !== 0);
  if (flags & MS_PROPAGATION) {
    // do_change_type: shared subtrees are not modelled; every mount is private. Exactly one type.
    if (!isMountRoot(target)) return -E.EINVAL;
    const t = flags & MS_PROPAGATION;
    if (t & (t - 1)) return -E.EINVAL;
    return 0;
  }
  if (flags & MS_MOVE) return doMoveMount(kernel, task, source, target);
  return doNewMount(kernel, task, source, target, fstype, flags, g.data, mntFlags);
}

/** Copy an optional user string (NULL → ''). */
function optString(task: Task, va: number, max: number): string | number {
  if (va === 0) return '';
  const s = strncpyFromUser(task.mm, va, max);
  return s;
}

/** mount(source, target, fstype, flags, data). */
export function sysMount(
  task: Task,
  usource: number,
  utarget: number,
  utype: number,
  flags: number,
  udata: number,
): number {
  const source = optString(task, usource, 4096);
  if (typeof source === 'number') return source;
  const fstype = optString(task, utype, 4096);
  if (typeof fstype === 'number') return fstype;
  // copy_mount_options: at most a page of option text.
  const data = optString(task, udata, 4096);
  if (typeof data === 'number') return data;
  const target = userPathAt(task, -100, utarget, LOOKUP_FOLLOW);
  if (typeof target === 'number') return target;
  return doMount(task.kernel, task, source, target, fstype, flags, data);
}

/** The superblock lost its last mount (deactivate_locked_super → kill_sb): sync and put it. */
function killSuper(kernel: Kernel, sb: SuperBlock): void {
  sb.ops.syncFs?.(sb);
  sb.ops.putSuper?.(sb);
  kernelSupers(kernel).delete(sb);
}

/** mntput of a mount taken out of the tree: its superblock goes when nothing uses it. */
function releaseMount(kernel: Kernel, m: Mount): void {
  const done = (): void => {
    m.onIdle = null;
    if (--m.sb.activeMounts <= 0) {
      m.sb.activeMounts = 0;
      killSuper(kernel, m.sb);
    }
  };
  if (m.openFiles <= 0) done();
  else m.onIdle = done; // lazy (MNT_DETACH): the last close finishes it
}

/** Is the mount someone's cwd or root (a reference propagate_mount_busy would see)? */
function usedByTask(kernel: Kernel, m: Mount): boolean {
  const tasks = (kernel as { tasks?: Map<number, Task> }).tasks;
  if (!tasks) return false;
  for (const t of tasks.values()) {
    const fs = t.fs;
    if (!fs || !t.alive) continue;
    if (fs.pwd.mnt === m || fs.root.mnt === m) return true;
  }
  return false;
}

/** do_umount: take the mount at `target` away (and its children, for MNT_DETACH). */
export function doUmount(kernel: Kernel, task: Task | null, target: Path, flags: number): number {
  const m = target.mnt;
  if (!isMountRoot(target) || m.detached) return -E.EINVAL;
  if (m.parent === m) {
    // The namespace root cannot go; Linux tries to remount it read-only and says EBUSY.
    return flags & MNT_DETACH ? -E.EINVAL : -E.EBUSY;
  }
  if (flags & MNT_EXPIRE) {
    if (m === task?.fs.root.mnt) return -E.EINVAL;
    if (m.openFiles > 0 || m.children.length > 0 || usedByTask(kernel, m)) return -E.EBUSY;
    if (!expiryMarked.has(m)) {
      expiryMarked.add(m);
      return -E.EAGAIN;
    }
  }
  if (!(flags & MNT_DETACH)) {
    if (task && m === task.fs.root.mnt) return -E.EBUSY;
    if (m.children.length > 0 || m.openFiles > 0 || usedByTask(kernel, m)) return -E.EBUSY;
    detachMnt(m);
    m.detached = true;
    releaseMount(kernel, m);
    return 0;
  }
  // umount_tree(UMOUNT_PROPAGATE...) for a lazy unmount: the whole subtree leaves now.
  const all = iterMounts(m);
  detachMnt(m);
  for (const x of all) {
    x.detached = true;
    if (x !== m) {
      // Children stay attached to their (detached) parents, so open files keep their paths.
    }
  }
  for (const x of all) releaseMount(kernel, x);
  return 0;
}

const expiryMarked = new WeakSet<Mount>();

/** umount2(target, flags). */
export function sysUmount2(task: Task, utarget: number, flags: number): number {
  if (flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW)) return -E.EINVAL;
  if (flags & MNT_EXPIRE && flags & (MNT_FORCE | MNT_DETACH)) return -E.EINVAL;
  const name = getname(task, utarget);
  if (typeof name === 'number') return name;
  const target = userPathAt(task, -100, utarget, flags & UMOUNT_NOFOLLOW ? 0 : LOOKUP_FOLLOW);
  if (typeof target === 'number') return target;
  if (!mayMount(task)) return -E.EPERM;
  return doUmount(task.kernel, task, target, flags);
}

// ---------------------------------------------------------------------------------------
// /proc/mounts, /proc/self/mountinfo (fs/proc_namespace.c) and the mount flags others check.

/** The per-mount options (show_mnt_opts) after "rw"/"ro". */
function mntOpts(m: Mount): string {
  let s = m.readonly ? 'ro' : 'rw';
  if (m.flags & MNT_NOSUID) s += ',nosuid';
  if (m.flags & MNT_NODEV) s += ',nodev';
  if (m.flags & MNT_NOEXEC) s += ',noexec';
  if (m.flags & MNT_NOATIME) s += ',noatime';
  if (m.flags & MNT_NODIRATIME) s += ',nodiratime';
  if (m.flags & MNT_RELATIME) s += ',relatime';
  if (m.flags & MNT_NOSYMFOLLOW) s += ',nosymfollow';
  return s;
}

/** The superblock options (show_sb_opts + the filesystem's show_options). */
function sbOpts(sb: SuperBlock): string {
  let s = '';
  if (sb.flags & MS_SYNCHRONOUS) s += ',sync';
  if (sb.flags & MS_DIRSYNC) s += ',dirsync';
  if (sb.flags & MS_LAZYTIME) s += ',lazytime';
  return s + (sb.ops.showOptions?.(sb) ?? '');
}

/** mangle(): spaces, tabs, newlines and backslashes as octal escapes. */
function mangle(s: string): string {
  return s.replace(/[ \t\n\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
}

/** The options column of /proc/mounts for a mount: "rw,nosuid,relatime,size=1024k". */
export function mountOptions(m: Mount): string {
  return mntOpts(m) + sbOpts(m.sb);
}

/**
 * The mounts a task sees (its root's tree, mounts outside its root skipped as show_vfsmnt does),
 * in mount-id order: Linux 6.8+ keeps a namespace's mounts in an rbtree by their unique id, so
 * /proc/mounts lists them in the order they were mounted.
 */
function visibleMounts(task: Task): Mount[] {
  let top = task.fs.root.mnt;
  while (top.parent !== top) top = top.parent;
  return iterMounts(top)
    .filter((m) => isReachable({ mnt: m, dentry: m.root }, task.fs.root))
    .sort((a, b) => a.id - b.id);
}

/** /proc/mounts (show_vfsmnt): "source mountpoint type options 0 0". */
export function procMountsText(task: Task): string {
  let out = '';
  for (const m of visibleMounts(task)) {
    const where = dPath({ mnt: m, dentry: m.root }, task.fs.root);
    out += `${mangle(m.devname)} ${mangle(where)} ${m.sb.type.name} ${mountOptions(m)} 0 0\n`;
  }
  return out;
}

/** /proc/self/mountinfo (show_mountinfo). */
export function procMountinfoText(task: Task): string {
  let out = '';
  for (const m of visibleMounts(task)) {
    const where = dPath({ mnt: m, dentry: m.root }, task.fs.root);
    const parts: string[] = [];
    for (let d = m.root; !d.isRoot(); d = d.parent) parts.unshift(d.name);
    const rootInSb = '/' + parts.join('/');
    const dev = m.sb.dev;
    const parentId = m.parent === m ? m.id : m.parent.id;
    const sbRo = m.sb.readonly ? 'ro' : 'rw';
    out +=
      `${m.id} ${parentId} ${devMajor(dev)}:${devMinor(dev)} ${mangle(rootInSb)} ${mangle(where)} ${mntOpts(m)} - ` +
      `${m.sb.type.name} ${mangle(m.devname)} ${sbRo}${sbOpts(m.sb)}\n`;
  }
  return out;
}

/** path_noexec: execve (EACCES) and mmap PROT_EXEC (EPERM) refuse files on noexec mounts. */
export function pathNoexec(p: Path): boolean {
  return (p.mnt.flags & MNT_NOEXEC) !== 0 || (p.dentry.inode.sb.flags & MS_NOEXEC) !== 0;
}

/** mnt_may_suid: set-id bits count only on mounts without nosuid. */
export function mntMaySuid(p: Path): boolean {
  return (p.mnt.flags & MNT_NOSUID) === 0 && (p.dentry.inode.sb.flags & MS_NOSUID) === 0;
}
