import * as E from '../errno.js';
import { copyFromUser } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import { notifyChange } from './attr.js';
import { ATTR_ATIME, ATTR_MTIME, type Iattr, type Timespec } from './inode.js';
import { LOOKUP_EMPTY, LOOKUP_FOLLOW, mayWrite, ownerOrCapable, userPathAt } from './namei.js';
import type { Path } from './path.js';
import { AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, UTIME_NOW, UTIME_OMIT } from './uapi.js';

/** utimensat (fs/utimes.c): set atime/mtime to given values, now (UTIME_NOW), or leave (UTIME_OMIT). */
export function sysUtimensat(task: Task, dirfd: number, upath: number, utimes: number, flags: number): number {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -E.EINVAL;
  let times: [Timespec, Timespec] | null = null;
  if (utimes !== 0) {
    const raw = copyFromUser(task.mm, utimes, 32);
    if (typeof raw === 'number') return -E.EFAULT;
    const v = new DataView(raw.buffer, raw.byteOffset, 32);
    const rd = (off: number): Timespec => ({
      sec: v.getUint32(off, true) + v.getInt32(off + 4, true) * 4294967296,
      nsec: v.getUint32(off + 8, true) + v.getInt32(off + 12, true) * 4294967296,
    });
    times = [rd(0), rd(16)];
    for (const t of times) {
      if (t.nsec === UTIME_NOW || t.nsec === UTIME_OMIT) continue;
      if (t.nsec < 0 || t.nsec >= 1e9) return -E.EINVAL;
    }
    if (times[0].nsec === UTIME_OMIT && times[1].nsec === UTIME_OMIT) return 0;
  }
  let path: Path | number;
  if (upath === 0) {
    // utimensat(fd, NULL, ...) is futimens(fd) (do_utimes with a NULL name).
    if (flags & AT_SYMLINK_NOFOLLOW) return -E.EINVAL;
    const f = task.files.get(dirfd | 0);
    path = f ? f.path : -E.EBADF;
  } else {
    let lf = flags & AT_SYMLINK_NOFOLLOW ? 0 : LOOKUP_FOLLOW;
    if (flags & AT_EMPTY_PATH) lf |= LOOKUP_EMPTY;
    path = userPathAt(task, dirfd | 0, upath, lf);
  }
  if (typeof path === 'number') return path;
  const inode = path.dentry.inode;
  const now = inode.sb.now();
  const attr: Iattr = { valid: 0 };
  const explicit = times !== null && (times[0].nsec !== UTIME_NOW || times[1].nsec !== UTIME_NOW);
  if (explicit) {
    // Setting explicit times requires ownership (or root).
    if (!ownerOrCapable(inode, task.cred)) return -E.EPERM;
  } else if (!ownerOrCapable(inode, task.cred)) {
    // "Now" needs ownership or write permission.
    const e = mayWrite(inode, task);
    if (e < 0) return e;
  }
  const pick = (t: Timespec | undefined, bit: number, set: (x: Timespec) => void): void => {
    if (!t || t.nsec === UTIME_NOW) {
      attr.valid |= bit;
      set(now);
    } else if (t.nsec !== UTIME_OMIT) {
      attr.valid |= bit;
      set(t);
    }
  };
  pick(times?.[0], ATTR_ATIME, (x) => (attr.atime = x));
  pick(times?.[1], ATTR_MTIME, (x) => (attr.mtime = x));
  // Ownership is checked above, so notify_change runs as the kernel.
  return notifyChange(path, attr, null, task);
}
