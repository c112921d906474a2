import type { Task } from '../../sched/task.js';
import type { DentryOperations } from '../dcache.js';
import { Inode } from '../inode.js';
import type { SuperBlock } from '../super.js';
import { startLoadSampler } from './loadavg.js';

/**
 * How procfs finds tasks without importing the scheduler: the kernel installs a source
 * (the pid hash: find_task_by_pid_ns, and the task list for readdir) once it has tasks.
 */
export interface ProcTaskSource {
  /** The task (thread-group leader or thread) with this pid, if alive. */
  find(pid: number): Task | null | undefined;
  /** Thread-group ids to list in /proc, ascending. */
  tgids(): number[];
}

/**
 * Per-mount state of procfs (struct proc_fs_info). Setting the task source also starts the
 * load-average sampler of the kernel behind it (loadavg.ts: calc_global_load every 5 s).
 */
export class ProcFsInfo {
  private src: ProcTaskSource | null = null;

  get tasks(): ProcTaskSource | null {
    return this.src;
  }
  set tasks(s: ProcTaskSource | null) {
    this.src = s;
    if (s) startLoadSampler(s);
  }
}

export function procInfo(sb: SuperBlock): ProcFsInfo {
  return sb.fsInfo as ProcFsInfo;
}

/** A proc inode (struct proc_inode): which task (by pid) and which fd it describes. */
export class ProcInode extends Inode {
  pid = 0;
  fd = -1;
}

/** The task a /proc/<pid>/... inode refers to, if it still exists (get_proc_task). */
export function procTask(inode: Inode): Task | null {
  const pi = inode as ProcInode;
  const src = procInfo(inode.sb).tasks;
  if (!src || pi.pid <= 0) return null;
  return src.find(pi.pid) ?? null;
}

/**
 * Every cached proc dentry is looked up afresh (pid_revalidate, but stricter): entries
 * depend on who looks ("self") and on tasks that come and go.
 */
export const procDentryOps: DentryOperations = {
  revalidate: () => false,
};

/**
 * Stable inode numbers for per-task entries, far above the counter-allocated ones: index 0
 * the directory, 1.. its entries, 1024+fd the fd links, 4096+fd the fdinfo files.
 */
export function pidIno(pid: number, index: number): number {
  return 0x10000000 + pid * 8192 + index;
}
