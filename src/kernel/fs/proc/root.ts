import { Dentry } from '../dcache.js';
import type { DirEntry, File, FileOperations } from '../file.js';
import type { Inode, InodeOperations } from '../inode.js';
import { SuperBlock, getAnonDev, simpleStatfs, type FileSystemType, type TimeSource } from '../super.js';
import type { MountContext } from '../filesystems.js';
import type { Kernel } from '../../kernel.js';
import { TaskState } from '../../sched/task.js';
import { DT_DIR, PROC_SUPER_MAGIC, S_IFDIR } from '../uapi.js';
import { procPidDirInode } from './base.js';
import { PROC_ROOT, procEntryDirents, procEntryInode } from './generic.js';
import { ProcFsInfo, ProcInode, pidIno, procDentryOps, procInfo } from './internal.js';

/**
 * The root of procfs (fs/proc/root.c): the global entries (generic.ts: self, thread-self,
 * mounts, meminfo, sys/, ...) and one directory per process.
 */

const PROC_ROOT_INO = 1;

const procRootInodeOps: InodeOperations = {
  lookup(dir: Inode, name: string): Inode | null {
    const e = PROC_ROOT.find((x) => x.name === name);
    if (e) return procEntryInode(dir.sb, e);
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
    const out = procEntryDirents(PROC_ROOT);
    const src = procInfo(file.inode.sb).tasks;
    if (src) for (const pid of src.tgids()) out.push({ name: String(pid), ino: pidIno(pid, 0), type: DT_DIR });
    return out;
  },
};

/**
 * proc_get_tree: one procfs superblock per kernel (Linux keys it by pid namespace), whose
 * task source is the kernel's pid table.
 */
const procSupers = new WeakMap<Kernel, SuperBlock>();

export const procFsType: FileSystemType = {
  name: 'proc',
  fsFlags: 0,
  mount(ctx: MountContext): SuperBlock {
    const k = ctx.kernel;
    let sb = procSupers.get(k);
    if (!sb) {
      sb = procMount(k.clock);
      procInfo(sb).tasks = {
        find: (pid) => k.findTask(pid),
        tgids: () =>
          [...k.tasks.values()]
            .filter((t) => t.pid === t.tgid && t.state !== TaskState.DEAD)
            .map((t) => t.pid)
            .sort((a, b) => a - b),
      };
      procSupers.set(k, sb);
    }
    return sb;
  },
};

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
