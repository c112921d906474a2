import * as E from '../errno.js';
import type { Task } from '../sched/task.js';
import { FMODE_PATH } from './file.js';

/**
 * sync, fsync, fdatasync (fs/sync.c). Every filesystem of issue 2 lives in memory or is
 * read-only, so there is nothing to write back; the calls check their fd and succeed,
 * and files whose driver has no fsync answer EINVAL as Linux does (ttys, pipes).
 */
export function sysSync(): number {
  return 0;
}

function doFsync(task: Task, fd: number, datasync: boolean): number {
  const f = task.files.get(fd | 0);
  if (!f || f.mode & FMODE_PATH) return -E.EBADF;
  if (!f.op.fsync) return -E.EINVAL;
  return f.op.fsync(f, datasync);
}

export const sysFsync = (task: Task, fd: number): number => doFsync(task, fd, false);
export const sysFdatasync = (task: Task, fd: number): number => doFsync(task, fd, true);

/** syncfs(fd). */
export function sysSyncfs(task: Task, fd: number): number {
  return task.files.get(fd | 0) ? 0 : -E.EBADF;
}
