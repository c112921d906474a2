import { EACCES, ENOENT } from '../../errno.js';
import { TaskState, type Task } from '../../sched/task.js';
import { dPath } from '../d_path.js';
import type { DirEntry, File, FileOperations } from '../file.js';
import type { Inode, InodeOperations } from '../inode.js';
import type { Path } from '../path.js';
import { DT_DIR, S_IFDIR, S_IFLNK, S_IFREG, dtType } from '../uapi.js';
import {
  formatLimits,
  taskCmdline,
  taskEnviron,
  taskMaps,
  taskMounts,
  taskStat,
  taskStatm,
  taskStatus,
} from './array.js';
import { seqFops } from './seq.js';
import { PROC_FD_DIR_MODE, procFdDirFops, procFdDirInodeOps, procMayAccess } from './fd.js';
import { ProcInode, pidIno, procTask } from './internal.js';

/**
 * /proc/<pid> (fs/proc/base.c): the per-process directory. Its entries come from a table
 * (tgid_base_stuff) so later issues add stat, status, maps, cmdline... as one line each.
 */

interface PidEntry {
  name: string;
  mode: number;
  iop: InodeOperations;
  fop: FileOperations;
}

/** A magic link to a path of the task (proc_cwd_link, proc_root_link). */
function pathLink(get: (t: Task) => Path): InodeOperations {
  return {
    getLink(inode: Inode, walker: Task | null): Path | number {
      const t = procTask(inode);
      if (!t) return -ENOENT;
      if (!procMayAccess(t, walker)) return -EACCES;
      return get(t);
    },
    readlink(inode: Inode, walker: Task | null): string | number {
      const t = procTask(inode);
      if (!t) return -ENOENT;
      if (!procMayAccess(t, walker)) return -EACCES;
      return dPath(get(t), walker ? walker.fs.root : t.fs.root);
    },
  };
}

/**
 * /proc/<pid>/exe (proc_exe_link): the executable. The task records it as an absolute
 * guest path (task.exePath); following the link walks that path.
 */
const exeLinkOps: InodeOperations = {
  getLink(inode: Inode, walker: Task | null): string | number {
    const t = procTask(inode);
    if (!t) return -ENOENT;
    if (!procMayAccess(t, walker)) return -EACCES;
    return t.exePath || -ENOENT;
  },
};

/** A text file of the task (ONE/REG entries): its text, or -ENOENT once the task is gone. */
function taskFile(name: string, gen: (t: Task, file: File) => string | Uint8Array, perm = 0o444): PidEntry {
  return {
    name,
    mode: S_IFREG | perm,
    iop: {},
    fop: seqFops((file) => {
      const t = procTask(file.inode);
      if (!t) return -ENOENT;
      return gen(t, file);
    }),
  };
}

/** /proc/<pid>/comm: the command name and a newline. */
const commText = (t: Task): string => `${t.comm}\n`;

/** The live threads of the task's group (what /proc/<pid>/task lists). */
function liveThreads(t: Task): Task[] {
  return t.groupLeader.threads.filter((th) => th.state !== TaskState.ZOMBIE && th.state !== TaskState.DEAD);
}

/** /proc/<pid>/task (proc_task_inode_operations): one directory per thread, by tid. */
const procTaskDirInodeOps: InodeOperations = {
  lookup(dir: Inode, name: string): Inode | null {
    const t = procTask(dir);
    if (!t || !/^[1-9][0-9]{0,9}$/.test(name)) return null;
    const th = liveThreads(t).find((x) => x.pid === Number(name));
    return th ? procPidDirInode(dir, th.pid, th) : null;
  },
};

const procTaskDirFops: FileOperations = {
  iterate(file: File): DirEntry[] | number {
    const t = procTask(file.inode);
    if (!t) return -ENOENT;
    return liveThreads(t).map((th) => ({ name: String(th.pid), ino: pidIno(th.pid, 0), type: DT_DIR }));
  },
};

const tgidBaseStuff: PidEntry[] = [
  { name: 'task', mode: S_IFDIR | 0o555, iop: procTaskDirInodeOps, fop: procTaskDirFops },
  { name: 'fd', mode: PROC_FD_DIR_MODE, iop: procFdDirInodeOps, fop: procFdDirFops },
  { name: 'cwd', mode: S_IFLNK | 0o777, iop: pathLink((t) => t.fs.pwd), fop: {} },
  { name: 'root', mode: S_IFLNK | 0o777, iop: pathLink((t) => t.fs.root), fop: {} },
  { name: 'exe', mode: S_IFLNK | 0o777, iop: exeLinkOps, fop: {} },
  taskFile('stat', (t) => taskStat(t, t.pid === t.tgid)), // a tid dir: the thread's own times
  taskFile('statm', taskStatm),
  taskFile('status', taskStatus),
  taskFile('cmdline', taskCmdline),
  taskFile('environ', taskEnviron, 0o400),
  taskFile('comm', commText, 0o644),
  taskFile('maps', (t) => taskMaps(t, t.fs.root)),
  taskFile('limits', (t) => formatLimits(t.signal.rlim)),
  taskFile('mounts', taskMounts),
];

/** proc_pident_instantiate: an inode for one table entry, owned by the task's euid. */
function pidentInode(dir: Inode, index: number, task: Task): ProcInode {
  const e = tgidBaseStuff[index]!;
  const pid = (dir as ProcInode).pid;
  const inode = new ProcInode(dir.sb, pidIno(pid, index + 1), e.mode, e.iop, e.fop);
  inode.pid = pid;
  inode.uid = task.cred.euid;
  inode.gid = task.cred.egid;
  inode.nlink = (e.mode & S_IFDIR) === S_IFDIR ? 2 : 1;
  return inode;
}

export const procTgidBaseInodeOps: InodeOperations = {
  lookup(dir: Inode, name: string): Inode | null {
    const t = procTask(dir);
    if (!t) return null;
    const i = tgidBaseStuff.findIndex((e) => e.name === name);
    return i < 0 ? null : pidentInode(dir, i, t);
  },
};

export const procTgidBaseFops: FileOperations = {
  iterate(file: File): DirEntry[] | number {
    const pid = (file.inode as ProcInode).pid;
    if (!procTask(file.inode)) return -ENOENT;
    return tgidBaseStuff.map((e, i) => ({ name: e.name, ino: pidIno(pid, i + 1), type: dtType(e.mode) }));
  },
};

/** The /proc/<pid> directory inode (proc_pid_make_inode for the tgid dir). */
export function procPidDirInode(parent: Inode, pid: number, task: Task): ProcInode {
  const inode = new ProcInode(parent.sb, pidIno(pid, 0), S_IFDIR | 0o555, procTgidBaseInodeOps, procTgidBaseFops);
  inode.pid = pid;
  inode.uid = task.cred.euid;
  inode.gid = task.cred.egid;
  inode.nlink = 2 + tgidBaseStuff.filter((e) => dtType(e.mode) === DT_DIR).length;
  return inode;
}
