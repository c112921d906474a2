import type { Cred } from '../sched/task.js';
import type { Kernel } from '../kernel.js';
import { memDevList } from '../drivers/mem.js';
import type { Dentry } from './dcache.js';
import type { Inode } from './inode.js';
import type { MountContext } from './filesystems.js';
import { ramfsMount } from './ramfs/inode.js';
import { makeDev, type FileSystemType, type SuperBlock, type TimeSource } from './super.js';
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_ISDIR, TMPFS_MAGIC } from './uapi.js';

/**
 * devtmpfs (drivers/base/devtmpfs.c): one tmpfs instance per machine that the kernel fills
 * with a node for every device it knows; every mount of "devtmpfs" shows that same instance.
 * Drivers that come later add theirs with devtmpfsCreateNode (devtmpfs_create_node).
 */

/** One node devtmpfs creates: a device (char/block with rdev), a directory or a symlink. */
export interface DevNode {
  /** Path below /dev ("null", "pts", "input/event0"). */
  name: string;
  /** S_IF* type and permission bits. */
  mode: number;
  rdev?: number;
  /** Symlink target. */
  target?: string;
  uid?: number;
  gid?: number;
}

const MEM_MAJOR = 1;
const KMSG_MINOR = 11;
const TTYAUX_MAJOR = 5;
const TTY_MAJOR = 4;

/**
 * The kernel's device nodes (what device_add → devtmpfs_create_node makes at boot), with the
 * modes the drivers' devnode callbacks give: the mem devices 0666 (kmsg 0644), /dev/tty and
 * /dev/ptmx 0666, the rest 0600 root:root. Block devices come from kernel.disks.
 */
export function devtmpfsNodes(kernel: Kernel | null): DevNode[] {
  const nodes: DevNode[] = [];
  for (const d of memDevList) nodes.push({ name: d.name, mode: S_IFCHR | d.mode, rdev: makeDev(MEM_MAJOR, d.minor) });
  nodes.push({ name: 'kmsg', mode: S_IFCHR | 0o644, rdev: makeDev(MEM_MAJOR, KMSG_MINOR) });
  nodes.push({ name: 'tty', mode: S_IFCHR | 0o666, rdev: makeDev(TTYAUX_MAJOR, 0) });
  nodes.push({ name: 'console', mode: S_IFCHR | 0o600, rdev: makeDev(TTYAUX_MAJOR, 1) });
  nodes.push({ name: 'ptmx', mode: S_IFCHR | 0o666, rdev: makeDev(TTYAUX_MAJOR, 2) });
  nodes.push({ name: 'ttyS0', mode: S_IFCHR | 0o600, rdev: makeDev(TTY_MAJOR, 64) });
  const disks = (kernel as { disks?: { name: string; major: number; minor: number }[] } | null)?.disks;
  if (disks && disks.length > 0) {
    for (const d of disks) nodes.push({ name: d.name, mode: S_IFBLK | 0o600, rdev: makeDev(d.major, d.minor) });
  }
  nodes.push({ name: 'fd', mode: S_IFLNK | 0o777, target: '/proc/self/fd' });
  nodes.push({ name: 'stdin', mode: S_IFLNK | 0o777, target: '/proc/self/fd/0' });
  nodes.push({ name: 'stdout', mode: S_IFLNK | 0o777, target: '/proc/self/fd/1' });
  nodes.push({ name: 'stderr', mode: S_IFLNK | 0o777, target: '/proc/self/fd/2' });
  for (const n of lateNodes) if (!nodes.some((x) => x.name === n.name)) nodes.push(n);
  return nodes;
}

const kernelCred: Cred = { uid: 0, gid: 0, euid: 0, egid: 0, suid: 0, sgid: 0, fsuid: 0, fsgid: 0, groups: [] };

/** Nodes drivers added after boot (kept so instances made later have them too). */
const lateNodes: DevNode[] = [];
/** The devtmpfs instance of each kernel (devtmpfs's single internal mount). */
const instances = new Map<object, SuperBlock>();

/** Create `node` in the tree rooted at `root` (handle_create: parents made 0755). 0 or -errno. */
function createIn(root: Dentry, node: DevNode): number {
  const parts = node.name.split('/').filter((p) => p !== '');
  if (parts.length === 0) return -22;
  let dir = root;
  for (let i = 0; i < parts.length - 1; i++) {
    const inode = dir.inode;
    let next = inode.op.lookup?.(inode, parts[i]!, null) ?? null;
    if (typeof next === 'number') return next;
    if (!next) {
      const r = inode.op.mkdir?.(inode, parts[i]!, 0o755, kernelCred) ?? -30;
      if (typeof r === 'number') return r;
      next = r;
    }
    if (!S_ISDIR(next.mode)) return -20;
    dir = dir.cached(parts[i]!) ?? dir.add(parts[i]!, next);
  }
  const name = parts[parts.length - 1]!;
  const di = dir.inode;
  const exists = di.op.lookup?.(di, name, null);
  if (exists && typeof exists !== 'number') return -17; // EEXIST: keep what is there
  const type = node.mode & S_IFMT;
  let r;
  if (type === S_IFLNK) r = di.op.symlink?.(di, name, node.target ?? '', kernelCred);
  else if (type === S_IFDIR) r = di.op.mkdir?.(di, name, node.mode & 0o7777, kernelCred);
  else r = di.op.mknod?.(di, name, node.mode, node.rdev ?? 0, kernelCred);
  if (r === undefined) return -1;
  if (typeof r === 'number') return r;
  r.uid = node.uid ?? 0;
  r.gid = node.gid ?? 0;
  return 0;
}

/** The kernel's devtmpfs superblock, made and filled on first use (devtmpfs_init + devtmpfsd). */
export function devtmpfsInstance(kernel: Kernel | null): SuperBlock {
  const key: object = kernel ?? instances;
  let sb = instances.get(key);
  if (sb) return sb;
  const time: TimeSource =
    kernel && kernel.clock ? { realtimeNs: () => kernel.clock.realtimeNs() } : { realtimeNs: () => Date.now() * 1e6 };
  sb = ramfsMount(time, 0o755, devtmpfsType);
  sb.magic = TMPFS_MAGIC; // devtmpfs is a tmpfs: statfs says so
  instances.set(key, sb);
  for (const n of devtmpfsNodes(kernel)) createIn(sb.root, n);
  return sb;
}

/**
 * devtmpfs_create_node: a driver registered a device after boot. The node appears in every
 * devtmpfs instance, and in those made later. 0 or -errno of the first instance.
 */
export function devtmpfsCreateNode(name: string, mode: number, rdev: number, uid = 0, gid = 0): number {
  const node: DevNode = { name, mode, rdev, uid, gid };
  const i = lateNodes.findIndex((n) => n.name === name);
  if (i >= 0) lateNodes.splice(i, 1);
  lateNodes.push(node);
  let r = 0;
  for (const sb of instances.values()) {
    const e = createIn(sb.root, node);
    if (e < 0 && r === 0) r = e;
  }
  return r;
}

/** devtmpfs_delete_node: a device went away. */
export function devtmpfsDeleteNode(name: string): void {
  const i = lateNodes.findIndex((n) => n.name === name);
  if (i >= 0) lateNodes.splice(i, 1);
  const parts = name.split('/').filter((p) => p !== '');
  for (const sb of instances.values()) {
    let dir: Dentry | null = sb.root;
    for (let k = 0; dir && k < parts.length - 1; k++) {
      const inode: Inode = dir.inode;
      const next: Inode | null | number | undefined = inode.op.lookup?.(inode, parts[k]!, null);
      dir = next && typeof next !== 'number' ? (dir.cached(parts[k]!) ?? dir.add(parts[k]!, next)) : null;
    }
    if (!dir) continue;
    const last = parts[parts.length - 1]!;
    const r = dir.inode.op.unlink?.(dir.inode, last);
    if (r === 0) dir.drop(last);
  }
}

/** The "devtmpfs" filesystem type: every mount shows the kernel's one instance (devtmpfs_get_tree). */
export const devtmpfsType: FileSystemType = {
  name: 'devtmpfs',
  fsFlags: 0,
  mount(ctx: MountContext): SuperBlock | number {
    return devtmpfsInstance(ctx.kernel ?? null);
  },
};
