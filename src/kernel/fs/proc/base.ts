import { taskSchedText } from './sched.js';
import { EACCES, EINVAL, ENOENT, ESRCH } from '../../errno.js';
import { isKthread } from '../../kthread/kthread.js';
import { OOM_SCORE_ADJ_MAX, OOM_SCORE_ADJ_MIN, oomBadness, oomScoreAdjOf } from '../../mm/oom_kill.js';
import { TaskState, type Task } from '../../sched/task.js';
import { dPath } from '../d_path.js';
import type { DirEntry, File, FileOperations, Kiocb } from '../file.js';
import type { IovIter } from '../iov_iter.js';
import type { Inode, InodeOperations } from '../inode.js';
import type { Path } from '../path.js';
import { DT_DIR, S_IFDIR, S_IFLNK, S_IFREG, dtType } from '../uapi.js';
import {
  formatLimits,
  taskCmdline,
  taskEnviron,
  taskMaps,
  taskSmapsRollup,
  taskStat,
  taskStatm,
  taskStatus,
} from './array.js';
import { seqFops } from './seq.js';
import {
  PROC_FD_DIR_MODE,
  procFdDirFops,
  procFdDirInodeOps,
  procFdinfoDirFops,
  procFdinfoDirInodeOps,
  procMayAccess,
} from './fd.js';
import { procMountinfoText, procMountsText } from '../namespace.js';
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

/**
 * A writable file of the task (comm, oom_score_adj): the whole write is one value; `write`
 * gets the task, the writer (current) and the text, and answers 0 or -errno.
 */
function taskRwFile(
  name: string,
  gen: (t: Task) => string,
  write: (t: Task, writer: Task | null, text: string) => number,
  perm = 0o644,
): PidEntry {
  const e = taskFile(name, gen, perm);
  e.fop.writeIter = (iocb: Kiocb, from: IovIter): number => {
    const t = procTask(iocb.file.inode);
    if (!t) return -ESRCH;
    const len = from.count;
    const b = from.copyFrom(Math.min(len, 4096));
    if (typeof b === 'number') return b;
    let text = '';
    for (const c of b) text += String.fromCharCode(c);
    const r = write(t, t.kernel.current, text);
    return r < 0 ? r : b.length;
  };
  return e;
}

/** /proc/<pid>/comm: the command name and a newline. */
const commText = (t: Task): string => `${t.comm}\n`;

/** comm_write: only a thread of the same process may rename it (set_task_comm, 15 bytes). */
function commWrite(t: Task, writer: Task | null, text: string): number {
  if (!writer || writer.tgid !== t.tgid) return -EINVAL;
  const nl = text.indexOf('\n');
  t.comm = (nl >= 0 ? text.slice(0, nl) : text).slice(0, 15);
  return 0;
}

/** proc_oom_score: the OOM killer's badness scaled into 0..2000 and by 2/3, as Linux prints it. */
function oomScoreText(t: Task): string {
  const total = Math.floor(t.kernel.mem.size / 4096);
  const badness = t.state === TaskState.ZOMBIE || isKthread(t) ? null : oomBadness(t, total);
  const points = badness === null ? 0 : Math.floor(((1000 + Math.trunc((badness * 1000) / total)) * 2) / 3);
  return `${Math.max(0, points)}\n`;
}

/**
 * oom_score_adj_write: -1000..1000 on the whole process (signal->oom_score_adj, the field the
 * OOM killer reads through oomScoreAdjOf); lowering it needs CAP_SYS_RESOURCE (root).
 */
function oomScoreAdjWrite(t: Task, writer: Task | null, text: string): number {
  const v = Number(text.trim());
  if (!/^-?\d+$/.test(text.trim()) || v < OOM_SCORE_ADJ_MIN || v > OOM_SCORE_ADJ_MAX) return -EINVAL;
  if (isKthread(t)) return -EINVAL;
  if (v < oomScoreAdjOf(t) && writer && writer.cred.euid !== 0) return -EACCES;
  t.signal.oomScoreAdj = v;
  return 0;
}

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
    if (!th) return null;
    const inode = procPidDirInode(dir, th.pid, th);
    tidDirs.add(inode);
    return inode;
  },
};

const procTaskDirFops: FileOperations = {
  iterate(file: File): DirEntry[] | number {
    const t = procTask(file.inode);
    if (!t) return -ENOENT;
    return liveThreads(t).map((th) => ({ name: String(th.pid), ino: pidIno(th.pid, 0), type: DT_DIR }));
  },
};

/** /proc/<pid>/task/<tid> directories: tid_base_stuff, the same entries less `task`. */
const tidDirs = new WeakSet<Inode>();
const inTidDir = (dir: Inode, e: PidEntry): boolean => !(e.name === 'task' && tidDirs.has(dir));

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
  taskRwFile('comm', commText, commWrite),
  taskFile('maps', (t) => taskMaps(t, t.fs.root)),
  taskFile('limits', (t) => formatLimits(t.signal.rlim)),
  taskFile('sched', taskSchedText),
  taskFile('mounts', procMountsText),
  taskFile('mountinfo', procMountinfoText),
  { name: 'fdinfo', mode: S_IFDIR | 0o500, iop: procFdinfoDirInodeOps, fop: procFdinfoDirFops },
  // proc_pid_wchan: where a sleeping task waits. Kernel code here has no symbols to name, so
  // it is "0", what Linux prints without one (or with kallsyms hidden).
  taskFile('wchan', () => '0'),
  taskFile('oom_score', oomScoreText),
  taskRwFile('oom_score_adj', (t) => `${oomScoreAdjOf(t)}\n`, oomScoreAdjWrite),
  taskFile('smaps_rollup', (t) => taskSmapsRollup(t)),
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
    const i = tgidBaseStuff.findIndex((e) => e.name === name && inTidDir(dir, e));
    return i < 0 ? null : pidentInode(dir, i, t);
  },
};

export const procTgidBaseFops: FileOperations = {
  iterate(file: File): DirEntry[] | number {
    const pid = (file.inode as ProcInode).pid;
    if (!procTask(file.inode)) return -ENOENT;
    return tgidBaseStuff
      .map((e, i) => ({ e, ent: { name: e.name, ino: pidIno(pid, i + 1), type: dtType(e.mode) } }))
      .filter(({ e }) => inTidDir(file.inode, e))
      .map(({ ent }) => ent);
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
