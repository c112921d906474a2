import * as E from '../errno.js';
import type { Kernel } from '../kernel.js';
import type { Task } from '../sched/task.js';
import { FMODE_PATH } from './file.js';
import { allSuperBlocks } from './namespace.js';
import type { SuperBlock } from './super.js';

/**
 * sync, syncfs, fsync, fdatasync (fs/sync.c). Disk filesystems write back through their
 * superblock's sync_fs and their files' fsync; in-memory ones have nothing to do. Files whose
 * driver has no fsync answer EINVAL as Linux does (ttys, pipes).
 */

/** sync_filesystem for one superblock: 0 or the filesystem's error. */
export function syncFilesystem(sb: SuperBlock): number {
  if (sb.readonly) return 0;
  return sb.ops.syncFs ? sb.ops.syncFs(sb) : 0;
}

/**
 * ksys_sync: every superblock of the machine (the mount tree's, and those of lazily
 * unmounted mounts still in use) syncs. Also called at power-off and reboot.
 */
export function syncFilesystems(kernel: Kernel): void {
  for (const sb of allSuperBlocks(kernel)) {
    try {
      syncFilesystem(sb);
    } catch (e) {
      kernel.log?.(`sync: ${sb.type.name}: ${(e as Error).message ?? String(e)}`);
    }
  }
}

export function sysSync(task: Task): number {
  syncFilesystems(task.kernel);
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

/** syncfs(fd): the filesystem the file lives on. */
export function sysSyncfs(task: Task, fd: number): number {
  const f = task.files.get(fd | 0);
  if (!f) return -E.EBADF;
  const r = syncFilesystem(f.inode.sb);
  return r < 0 ? r : 0;
}

/** sync_file_range(fd, offset, nbytes, flags): checked, then a data sync of the file. */
export function sysSyncFileRange(task: Task, fd: number, offset: number, nbytes: number, flags: number): number {
  if (flags & ~7) return -E.EINVAL;
  if (offset < 0 || nbytes < 0) return -E.EINVAL;
  const f = task.files.get(fd | 0);
  if (!f || f.mode & FMODE_PATH) return -E.EBADF;
  const m = f.inode.mode & 0o170000;
  if (m !== 0o100000 && m !== 0o040000 && m !== 0o120000 && m !== 0o060000) return -E.ESPIPE;
  if (flags === 0) return 0;
  return f.op.fsync ? Math.min(0, f.op.fsync(f, true)) : 0;
}
