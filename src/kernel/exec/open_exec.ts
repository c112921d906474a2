/**
 * open_exec / do_open_execat (fs/exec.c): open a file to execute it. It must be a regular
 * file the caller may execute, on a filesystem that allows exec.
 */
import { EACCES, EBADF, EINVAL } from '../errno.js';
import type { Task } from '../sched/task.js';
import type { File } from '../fs/file.js';
import { filpOpen } from '../fs/open.js';
import { dPath } from '../fs/d_path.js';
import { inodePermission } from '../fs/namei.js';
import { pathNoexec } from '../fs/namespace.js';
import { AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, O_LARGEFILE, O_NOFOLLOW, O_RDONLY } from '../fs/uapi.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
/** MAY_EXEC (include/linux/fs.h). */
const MAY_EXEC = 1;

/**
 * do_open_execat(fd, name, flags): `flags` are execveat's AT_EMPTY_PATH (an empty name means
 * the file open on `dirfd` itself) and AT_SYMLINK_NOFOLLOW (a final symlink is -ELOOP).
 */
export function openExec(task: Task, name: string, dirfd = AT_FDCWD, atFlags = 0): File | number {
  if (atFlags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) return -EINVAL;
  let f: File | number;
  if (name === '' && atFlags & AT_EMPTY_PATH) {
    const file = task.files.get(dirfd | 0);
    if (!file) return -EBADF;
    f = file.get();
  } else {
    f = filpOpen(task, dirfd, name, O_RDONLY | O_LARGEFILE | (atFlags & AT_SYMLINK_NOFOLLOW ? O_NOFOLLOW : 0), 0);
  }
  if (typeof f === 'number') return f;
  if ((f.inode.mode & S_IFMT) !== S_IFREG) {
    f.put();
    return -EACCES;
  }
  // path_noexec(): nothing on a noexec mount may be executed.
  if (pathNoexec(f.path)) {
    f.put();
    return -EACCES;
  }
  const r = inodePermission(f.inode, MAY_EXEC, task.cred, task);
  if (r < 0) {
    f.put();
    return r;
  }
  return f;
}

/** The absolute name of an opened file as the task sees it (d_path from its root). */
export function execPathName(task: Task, f: File): string {
  return dPath(f.path, task.fs.root);
}
