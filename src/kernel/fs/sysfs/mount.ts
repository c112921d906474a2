import type { Kernel } from '../../kernel.js';
import { Dentry, type DentryOperations } from '../dcache.js';
import type { DirEntry, File, FileOperations } from '../file.js';
import type { MountContext } from '../filesystems.js';
import { Inode, type InodeOperations } from '../inode.js';
import { SuperBlock, getAnonDev, simpleStatfs, type FileSystemType } from '../super.js';
import { DT_DIR, DT_LNK, DT_REG, S_IFDIR, S_IFLNK, S_IFREG } from '../uapi.js';
import { seqFops } from '../proc/seq.js';
import { buildSysfs, type SysNode } from './tree.js';

/**
 * sysfs (fs/sysfs/, over kernfs): a read-only view of the kernel's devices, built from the
 * kernel's registrations each time a directory is looked at (tree.ts). One superblock per
 * kernel, as sysfs has one per network namespace.
 */

/** SYSFS_MAGIC (include/uapi/linux/magic.h). */
export const SYSFS_MAGIC = 0x62656572;

/** Per-superblock state: the kernel, and stable inode numbers by path (kernfs_node ids). */
class SysfsInfo {
  readonly inos = new Map<string, number>();
  constructor(readonly kernel: Kernel | null) {}
}

/** The inode of a sysfs node (a kernfs_node's inode): its path locates the node afresh. */
class SysfsInode extends Inode {
  path = '';
}

function info(sb: SuperBlock): SysfsInfo {
  return sb.fsInfo as SysfsInfo;
}

/** kernfs_find_ns along a path from a freshly built tree. */
function nodeAt(sb: SuperBlock, path: string): SysNode | null {
  let n: SysNode = buildSysfs(info(sb).kernel);
  for (const part of path.split('/').filter(Boolean)) {
    if (n.kind !== 'dir') return null;
    const c = n.children.get(part);
    if (!c) return null;
    n = c;
  }
  return n;
}

function inoOf(sb: SuperBlock, path: string): number {
  const m = info(sb).inos;
  let ino = m.get(path);
  if (ino === undefined) {
    ino = sb.allocIno();
    m.set(path, ino);
  }
  return ino;
}

const sysfsDirOps: InodeOperations = {
  lookup(dir: Inode, name: string): Inode | null {
    const path = `${(dir as SysfsInode).path}/${name}`;
    const n = nodeAt(dir.sb, path);
    return n ? sysfsInode(dir.sb, path, n) : null;
  },
};

const sysfsDirFops: FileOperations = {
  iterate(file: File): DirEntry[] | number {
    const base = (file.inode as SysfsInode).path;
    const n = nodeAt(file.inode.sb, base);
    if (!n || n.kind !== 'dir') return [];
    return [...n.children].map(([name, c]) => ({
      name,
      ino: inoOf(file.inode.sb, `${base}/${name}`),
      type: c.kind === 'dir' ? DT_DIR : c.kind === 'link' ? DT_LNK : DT_REG,
    }));
  },
};

const sysfsLinkOps: InodeOperations = {
  getLink(inode: Inode): string | number {
    const n = nodeAt(inode.sb, (inode as SysfsInode).path);
    return n && n.kind === 'link' ? n.target : -2; // -ENOENT: gone
  },
};

/** kernfs_get_inode: directories 0755, attributes their mode (sysfs files are 4096 bytes in size, as Linux reports). */
function sysfsInode(sb: SuperBlock, path: string, n: SysNode): SysfsInode {
  let inode: SysfsInode;
  if (n.kind === 'dir') {
    inode = new SysfsInode(sb, inoOf(sb, path), S_IFDIR | 0o755, sysfsDirOps, sysfsDirFops);
    inode.nlink = 2 + [...n.children.values()].filter((c) => c.kind === 'dir').length;
  } else if (n.kind === 'link') {
    inode = new SysfsInode(sb, inoOf(sb, path), S_IFLNK | 0o777, sysfsLinkOps, {});
  } else {
    const show = n.show;
    inode = new SysfsInode(
      sb,
      inoOf(sb, path),
      S_IFREG | n.mode,
      {},
      seqFops(() => show()),
    );
    inode.size = 4096;
  }
  inode.path = path;
  return inode;
}

/** Nothing in sysfs is cached: every lookup re-checks (kernfs_dop_revalidate, stricter). */
const sysfsDentryOps: DentryOperations = { revalidate: () => false };

const sysfsSupers = new WeakMap<Kernel, SuperBlock>();

/** sysfs_fill_super: the superblock of `kernel`'s sysfs (one per kernel, shared by every mount). */
export function sysfsMount(kernel: Kernel | null, time: { realtimeNs(): number }): SuperBlock {
  const old = kernel ? sysfsSupers.get(kernel) : undefined;
  if (old) return old;
  const sb = new SuperBlock(sysfsType, { statfs: simpleStatfs }, getAnonDev(), time);
  sb.magic = SYSFS_MAGIC;
  sb.fsInfo = new SysfsInfo(kernel);
  const rootNode = buildSysfs(kernel);
  sb.root = new Dentry('/', null, sysfsInode(sb, '', rootNode), sysfsDentryOps);
  if (kernel) sysfsSupers.set(kernel, sb);
  return sb;
}

export const sysfsType: FileSystemType = {
  name: 'sysfs',
  fsFlags: 0,
  mount(ctx: MountContext): SuperBlock {
    return sysfsMount(ctx.kernel, ctx.kernel.clock);
  },
};
