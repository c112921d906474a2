import { ENOENT } from '../../errno.js';
import type { Task } from '../../sched/task.js';
import { Dentry } from '../dcache.js';
import type { DirEntry, File, FileOperations } from '../file.js';
import { Inode, type InodeOperations } from '../inode.js';
import { SuperBlock, getAnonDev, simpleStatfs, type TimeSource } from '../super.js';
import { DT_DIR, DT_LNK, DT_REG, PROC_SUPER_MAGIC, S_IFDIR, S_IFLNK, S_IFREG } from '../uapi.js';
import { procPidDirInode } from './base.js';
import { PROC_ROOT_FILES, procRootFileFops } from './generic.js';
import { ProcFsInfo, ProcInode, pidIno, procDentryOps, procInfo } from './internal.js';

/**
 * The root of procfs (fs/proc/root.c): `self` and one directory per process. Later issues
 * add the global files (meminfo, mounts, stat, ...) to `procRootEntries`.
 */

const PROC_ROOT_INO = 1;
const PROC_SELF_INO = 2;
/** Inode numbers of the global files: PROC_ROOT_FILE_INO + their index. */
const PROC_ROOT_FILE_INO = 16;

function rootFileInode(sb: SuperBlock, i: number): Inode {
  const inode = new ProcInode(sb, PROC_ROOT_FILE_INO + i, S_IFREG | 0o444, {}, procRootFileFops(PROC_ROOT_FILES[i]!));
  inode.nlink = 1;
  return inode;
}

/** /proc/self (fs/proc/self.c): a symlink whose body is the looking task's tgid. */
const procSelfOps: InodeOperations = {
  getLink(_inode: Inode, walker: Task | null): string | number {
    return walker ? String(walker.tgid) : -ENOENT; // a kernel walk has no "self"
  },
};

/** /proc/mounts: a symlink to self/mounts, as in Linux (proc_symlink("mounts", NULL, "self/mounts")). */
const PROC_MOUNTS_INO = 3;
const procMountsOps: InodeOperations = {
  getLink(): string {
    return 'self/mounts';
  },
};

function selfInode(sb: SuperBlock): Inode {
  const inode = new Inode(sb, PROC_SELF_INO, S_IFLNK | 0o777, procSelfOps, {});
  return inode;
}

const procRootInodeOps: InodeOperations = {
  lookup(dir: Inode, name: string): Inode | null {
    if (name === 'self') return selfInode(dir.sb);
    if (name === 'mounts') return new Inode(dir.sb, PROC_MOUNTS_INO, S_IFLNK | 0o777, procMountsOps, {});
    const fi = PROC_ROOT_FILES.indexOf(name);
    if (fi >= 0) return rootFileInode(dir.sb, fi);
    if (!/^[1-9][0-9]{0,9}$/.test(name)) return null;
    const pid = Number(name);
    const src = procInfo(dir.sb).tasks;
    const t = src?.find(pid);
    if (!t) return null;
    return procPidDirInode(dir, pid, t);
  },
};

const procRootFops: FileOperations = {
  iterate(file: File): DirEntry[] {
    const out: DirEntry[] = [{ name: 'self', ino: PROC_SELF_INO, type: DT_LNK }];
    out.push({ name: 'mounts', ino: PROC_MOUNTS_INO, type: DT_LNK });
    PROC_ROOT_FILES.forEach((name, i) => out.push({ name, ino: PROC_ROOT_FILE_INO + i, type: DT_REG }));
    const src = procInfo(file.inode.sb).tasks;
    if (src) for (const pid of src.tgids()) out.push({ name: String(pid), ino: pidIno(pid, 0), type: DT_DIR });
    return out;
  },
};

export const procFsType = { name: 'proc', fsFlags: 0 };

/** proc_fill_super: a procfs superblock with its root directory. */
export function procMount(time: TimeSource): SuperBlock {
  const sb = new SuperBlock(procFsType, { statfs: simpleStatfs }, getAnonDev(), time);
  sb.magic = PROC_SUPER_MAGIC;
  sb.blocksize = 1024;
  sb.fsInfo = new ProcFsInfo();
  const root = new ProcInode(sb, PROC_ROOT_INO, S_IFDIR | 0o555, procRootInodeOps, procRootFops);
  root.nlink = 2;
  sb.root = new Dentry('/', null, root, procDentryOps);
  return sb;
}
