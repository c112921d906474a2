import * as E from '../errno.js';
import { getUser32, putUser32 } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import { FMODE_PATH } from './file.js';
import { FIGETBSZ, FIOASYNC, FIOCLEX, FIONBIO, FIONCLEX, FIONREAD, FASYNC, O_NONBLOCK, S_ISREG } from './uapi.js';

/**
 * ioctl (fs/ioctl.c: do_vfs_ioctl, then the driver's unlocked_ioctl). The generic commands
 * work on every fd; the rest go to the file's ioctl, and files without one answer ENOTTY.
 */
export function sysIoctl(task: Task, fd: number, cmd: number, arg: number): number | Promise<number> {
  const f = task.files.get(fd | 0);
  if (!f || f.mode & FMODE_PATH) return -E.EBADF;
  const c = cmd >>> 0;
  switch (c) {
    case FIOCLEX:
      task.files.setCloexec(fd | 0, true);
      return 0;
    case FIONCLEX:
      task.files.setCloexec(fd | 0, false);
      return 0;
    case FIONBIO: {
      const on = getUser32(task.mm, arg);
      if (on === null) return -E.EFAULT;
      f.flags = on ? f.flags | O_NONBLOCK : f.flags & ~O_NONBLOCK;
      return 0;
    }
    case FIOASYNC: {
      const on = getUser32(task.mm, arg);
      if (on === null) return -E.EFAULT;
      f.flags = on ? f.flags | FASYNC : f.flags & ~FASYNC;
      return 0;
    }
    case FIGETBSZ:
      return putUser32(task.mm, arg, f.inode.sb.blocksize) < 0 ? -E.EFAULT : 0;
    case FIONREAD:
      // Regular files: bytes between the position and the end (file_ioctl's FIONREAD).
      if (S_ISREG(f.inode.mode)) {
        const n = Math.max(0, Math.min(f.inode.size - f.pos, 0x7fffffff));
        return putUser32(task.mm, arg, n) < 0 ? -E.EFAULT : 0;
      }
      break;
  }
  if (f.op.ioctl) return f.op.ioctl(f, task, c, arg);
  return -E.ENOTTY;
}
