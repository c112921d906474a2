import type { Dentry } from './dcache.js';
import type { SuperBlock } from './super.js';

/** Per-mount flags (MNT_* in include/linux/mount.h). */
export const MNT_NOSUID = 0x01;
export const MNT_NODEV = 0x02;
export const MNT_NOEXEC = 0x04;
export const MNT_NOATIME = 0x08;
export const MNT_NODIRATIME = 0x10;
export const MNT_RELATIME = 0x20;
export const MNT_READONLY = 0x40;
export const MNT_NOSYMFOLLOW = 0x80;
/** Flags a (bind) remount may change (MNT_USER_SETTABLE_MASK). */
export const MNT_USER_SETTABLE_MASK =
  MNT_NOSUID | MNT_NODEV | MNT_NOEXEC | MNT_NOATIME | MNT_NODIRATIME | MNT_RELATIME | MNT_READONLY | MNT_NOSYMFOLLOW;

let nextMountId = 1;

/**
 * A mount (struct mount + vfsmount): a superblock's tree attached on a dentry of a parent
 * mount. The root mount is its own parent, as in Linux. A dentry may carry mounts in several
 * parent mounts (bind mounts share dentries), so the mount on (parent, dentry) is found with
 * `lookupMnt` (the mount hash), and `dentry.mounted` only says "something is mounted here".
 */
export class Mount {
  readonly id = nextMountId++;
  parent: Mount;
  mountpoint: Dentry;
  readonly children: Mount[] = [];
  flags = 0;
  /** Open files on this mount (what makes umount EBUSY), and those open for writing (mnt_writers). */
  openFiles = 0;
  writers = 0;
  /** Detached by umount -l (MNT_DETACH) or umount: no longer in the tree. */
  detached = false;
  /** Called when the last open file of a detached mount goes (mntput → cleanup_mnt). */
  onIdle: (() => void) | null = null;

  constructor(
    readonly sb: SuperBlock,
    readonly root: Dentry,
    readonly devname: string,
    parent: Mount | null,
    mountpoint: Dentry | null,
  ) {
    this.parent = parent ?? this;
    this.mountpoint = mountpoint ?? root;
    if (parent && mountpoint) attachMnt(this, parent, mountpoint);
  }

  get readonly(): boolean {
    return (this.flags & MNT_READONLY) !== 0 || this.sb.readonly;
  }
}

/** attach_mnt: hang `m` on `mountpoint` of `parent`. */
export function attachMnt(m: Mount, parent: Mount, mountpoint: Dentry): void {
  m.parent = parent;
  m.mountpoint = mountpoint;
  m.detached = false;
  parent.children.push(m);
  mountpoint.mounted = m;
  mountpoint.mountCount++;
}

/** umount_mnt / detach_mnt: take `m` out of its parent (it becomes its own parent). */
export function detachMnt(m: Mount): void {
  const p = m.parent;
  if (p === m) return;
  const i = p.children.indexOf(m);
  if (i >= 0) p.children.splice(i, 1);
  const mp = m.mountpoint;
  mp.mountCount--;
  if (mp.mounted === m) mp.mounted = mp.mountCount > 0 ? findAnyMount(p, mp) : null;
  m.parent = m;
  m.mountpoint = m.root;
}

function findAnyMount(p: Mount, d: Dentry): Mount | null {
  for (let i = p.children.length - 1; i >= 0; i--) if (p.children[i]!.mountpoint === d) return p.children[i]!;
  return null;
}

/** __lookup_mnt: the mount on `dentry` inside `parent`, the last one made if several. */
export function lookupMnt(parent: Mount, dentry: Dentry): Mount | null {
  if (dentry.mountCount === 0) return null;
  const ch = parent.children;
  for (let i = ch.length - 1; i >= 0; i--) if (ch[i]!.mountpoint === dentry) return ch[i]!;
  return null;
}
