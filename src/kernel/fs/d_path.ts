import { EFAULT, ENOENT, ERANGE } from '../errno.js';
import { copyToUser } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import { nameBytesZ } from './name.js';
import type { Path } from './path.js';

/**
 * The path name of a location as seen from `root` (d_path / prepend_path, fs/d_path.c):
 * climbs dentries and mounts. A removed dentry gets " (deleted)"; anonymous objects name
 * themselves through d_dname ("pipe:[123]").
 */
export function dPath(path: Path, root: Path): string {
  if (path.dentry.op?.dname && path.dentry.isRoot()) return path.dentry.op.dname(path.dentry);
  const parts: string[] = [];
  let { mnt, dentry } = path;
  for (;;) {
    if (mnt === root.mnt && dentry === root.dentry) break;
    if (dentry === mnt.root || dentry.isRoot()) {
      if (mnt.parent === mnt) break; // the namespace root (or a path outside `root`)
      dentry = mnt.mountpoint;
      mnt = mnt.parent;
      continue;
    }
    parts.push(dentry.name);
    dentry = dentry.parent;
  }
  let s = '/' + parts.reverse().join('/');
  if (isDeleted(path)) s += ' (deleted)';
  return s;
}

/** Was the location unlinked (d_unlinked)? */
export function isDeleted(path: Path): boolean {
  return path.dentry.unhashed && !path.dentry.isRoot();
}

/** Is `path` reachable from `root` by walking up (is_path_reachable)? getcwd needs it. */
export function isReachable(path: Path, root: Path): boolean {
  let { mnt, dentry } = path;
  for (;;) {
    if (mnt === root.mnt && dentry === root.dentry) return true;
    if (dentry === mnt.root || dentry.isRoot()) {
      if (mnt.parent === mnt) return false;
      dentry = mnt.mountpoint;
      mnt = mnt.parent;
      continue;
    }
    dentry = dentry.parent;
  }
}

/**
 * getcwd(buf, size) (fs/d_path.c): the cwd relative to the task's root. ENOENT when the
 * cwd was removed, ERANGE when it does not fit; "(unreachable)" prefix outside the root.
 */
export function sysGetcwd(task: Task, ubuf: number, size: number): number {
  const pwd = task.fs.pwd;
  if (isDeleted(pwd)) return -ENOENT;
  let s = dPath(pwd, task.fs.root);
  if (!isReachable(pwd, task.fs.root)) s = '(unreachable)' + s;
  const bytes = nameBytesZ(s);
  if (bytes.length > size >>> 0) return -ERANGE;
  return copyToUser(task.mm, ubuf, bytes) < 0 ? -EFAULT : bytes.length;
}
