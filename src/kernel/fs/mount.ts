import type { Dentry } from './dcache.js';
import type { SuperBlock } from './super.js';

/** Per-mount flags (MNT_* in include/linux/mount.h). */
export const MNT_NOSUID = 0x01;
export const MNT_NODEV = 0x02;
export const MNT_NOEXEC = 0x04;
export const MNT_READONLY = 0x40;

let nextMountId = 1;

/**
 * A mount (struct mount + vfsmount): a superblock's tree attached on a dentry of a parent
 * mount. The root mount is its own parent, as in Linux.
 */
export class Mount {
  readonly id = nextMountId++;
  parent: Mount;
  mountpoint: Dentry;
  readonly children: Mount[] = [];
  flags = 0;

  constructor(
    readonly sb: SuperBlock,
    readonly root: Dentry,
    readonly devname: string,
    parent: Mount | null,
    mountpoint: Dentry | null,
  ) {
    this.parent = parent ?? this;
    this.mountpoint = mountpoint ?? root;
    if (parent && mountpoint) {
      parent.children.push(this);
      mountpoint.mounted = this;
    }
  }

  get readonly(): boolean {
    return (this.flags & MNT_READONLY) !== 0 || this.sb.readonly;
  }
}
