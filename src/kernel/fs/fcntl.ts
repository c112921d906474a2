import * as E from '../errno.js';
import type { Task } from '../sched/task.js';
import { FMODE_PATH } from './file.js';
import { fcntlLock } from './locks.js';
import { pipeFcntl } from './pipe.js';
import {
  FD_CLOEXEC,
  F_DUPFD,
  F_DUPFD_CLOEXEC,
  F_GETFD,
  F_GETFL,
  F_GETLK,
  F_GETOWN,
  F_GETPIPE_SZ,
  F_SETPIPE_SZ,
  F_SETFD,
  F_SETFL,
  F_SETLK,
  F_SETLKW,
  F_SETOWN,
  F_OFD_GETLK,
  F_OFD_SETLK,
  F_OFD_SETLKW,
  O_CLOEXEC,
  O_NOATIME,
  SETFL_MASK,
  NR_OPEN,
} from './uapi.js';

/** dup, dup3 (fs/file.c) and fcntl (fs/fcntl.c). */

/** F_DUPFD: the lowest free fd ≥ min, sharing the open file. */
function dupfd(task: Task, oldfd: number, min: number, cloexec: boolean): number {
  const f = task.files.get(oldfd);
  if (!f) return -E.EBADF;
  if (min < 0 || min >= task.files.rlimitNofile) return -E.EINVAL;
  const fd = task.files.install(f.get(), cloexec, min);
  if (fd < 0) f.put();
  return fd;
}

export function sysDup(task: Task, oldfd: number): number {
  return dupfd(task, oldfd | 0, 0, false);
}

/** dup3(old, new, flags): EINVAL if old == new or flags other than O_CLOEXEC. */
export function sysDup3(task: Task, oldfd: number, newfd: number, flags: number): number {
  const o = oldfd | 0;
  const n = newfd | 0;
  if (flags & ~O_CLOEXEC) return -E.EINVAL;
  if (o === n) return -E.EINVAL;
  const f = task.files.get(o);
  if (!f) return -E.EBADF;
  if (n < 0 || n >= task.files.rlimitNofile || n >= NR_OPEN) return -E.EBADF;
  task.files.installAt(n, f.get(), (flags & O_CLOEXEC) !== 0);
  return n;
}

export function sysFcntl(task: Task, fd: number, cmd: number, arg: number): number | Promise<number> {
  const f = task.files.get(fd | 0);
  if (!f) return -E.EBADF;
  const c = cmd | 0;
  // O_PATH files allow only the fd-level commands (fcntl's check_fcntl_cmd).
  if (f.mode & FMODE_PATH && ![F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL].includes(c)) return -E.EBADF;
  switch (c) {
    case F_DUPFD:
      return dupfd(task, fd | 0, arg | 0, false);
    case F_DUPFD_CLOEXEC:
      return dupfd(task, fd | 0, arg | 0, true);
    case F_GETFD:
      return task.files.getCloexec(fd | 0) ? FD_CLOEXEC : 0;
    case F_SETFD:
      task.files.setCloexec(fd | 0, (arg & FD_CLOEXEC) !== 0);
      return 0;
    case F_GETFL:
      return f.flags;
    case F_SETFL:
      // O_DIRECT is accepted and means nothing here (no page cache to bypass yet).
      // O_NOATIME only for the owner (or CAP_FOWNER), as setfl() checks.
      if (arg & O_NOATIME && !(f.flags & O_NOATIME) && task.cred.fsuid !== 0 && task.cred.fsuid !== f.inode.uid)
        return -E.EPERM;
      f.flags = (f.flags & ~SETFL_MASK) | (arg & SETFL_MASK);
      return 0;
    case F_SETPIPE_SZ:
    case F_GETPIPE_SZ:
      return pipeFcntl(task, f, c === F_SETPIPE_SZ, arg);
    case F_GETOWN:
      return 0;
    case F_SETOWN:
      return 0;
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
      // POSIX and OFD record locks (fs/locks.c: fcntl_getlk / fcntl_setlk).
      return fcntlLock(task, f, c, arg);
    default:
      return -E.EINVAL;
  }
}
