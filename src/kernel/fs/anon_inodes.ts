/**
 * Anonymous inodes (fs/anon_inodes.c): eventfd, epoll, timerfd and signalfd files have no
 * name in any filesystem. They all share one inode of the internal anon_inodefs (as Linux's
 * anon_inode_inode, mode 0600, so every such fd fstat()s to the same st_ino) and each file's
 * dentry is named `anon_inode:[eventfd]` etc., which is what /proc/self/fd/N reads as.
 */
import type { Kernel } from '../kernel.js';
import { Dentry } from './dcache.js';
import { File, FMODE_READ, FMODE_WRITE, type FileOperations } from './file.js';
import { Inode } from './inode.js';
import { Mount } from './mount.js';
import { getAnonDev, SuperBlock } from './super.js';
import { O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY } from './uapi.js';

/** ANON_INODE_FS_MAGIC for statfs. */
const ANON_INODE_FS_MAGIC = 0x09041934;

interface AnonFs {
  mnt: Mount;
  inode: Inode;
}

const anonFs = new WeakMap<Kernel, AnonFs>();

/** anon_inode_mnt and anon_inode_inode, made on first use per kernel (anon_inode_init). */
function anonInodeFs(kernel: Kernel): AnonFs {
  let a = anonFs.get(kernel);
  if (!a) {
    const sb = new SuperBlock({ name: 'anon_inodefs', fsFlags: 0 }, {}, getAnonDev(), {
      realtimeNs: () => kernel.clock.realtimeNs(),
    });
    sb.magic = ANON_INODE_FS_MAGIC;
    const rootInode = new Inode(sb, sb.allocIno(), 0o040700, {}, {});
    const root = new Dentry('anon_inode:', null, rootInode, { dname: () => 'anon_inode:' });
    sb.root = root;
    const mnt = new Mount(sb, root, 'anon_inodefs', null, null);
    // alloc_anon_inode: S_IRUSR | S_IWUSR and no file type bits.
    const inode = new Inode(sb, sb.allocIno(), 0o600, {}, {});
    inode.blocks = 0;
    a = { mnt, inode };
    anonFs.set(kernel, a);
  }
  return a;
}

/** noop_llseek: these files have no position to move; lseek reports f_pos (0) and succeeds. */
export function noopLlseek(file: File): number {
  return file.pos;
}

/**
 * anon_inode_getfile(name, fops, priv, flags): a new File on the shared anon inode, named
 * `anon_inode:<name>` (callers pass "[eventfd]"). `flags` is O_RDWR etc. plus O_NONBLOCK.
 */
export function anonInodeGetfile(
  kernel: Kernel,
  name: string,
  fops: FileOperations,
  priv: unknown,
  flags: number,
): File {
  const { mnt, inode } = anonInodeFs(kernel);
  const dname = `anon_inode:${name}`;
  const dentry = new Dentry(dname, null, inode, { dname: () => dname });
  const acc = flags & O_ACCMODE;
  const mode =
    acc === O_RDWR ? FMODE_READ | FMODE_WRITE : acc === O_WRONLY ? FMODE_WRITE : acc === O_RDONLY ? FMODE_READ : 0;
  const f = new File({ mnt, dentry }, inode, fops, flags, mode);
  f.private_ = priv;
  return f;
}
