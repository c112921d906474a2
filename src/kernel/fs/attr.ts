import { EFBIG, EINVAL, EISDIR, EPERM, EROFS } from '../errno.js';
import type { Cred, Task } from '../sched/task.js';
import {
  ATTR_GID,
  ATTR_KILL_SGID,
  ATTR_KILL_SUID,
  ATTR_MODE,
  ATTR_SIZE,
  ATTR_UID,
  setattrCopy,
  type Iattr,
  type Inode,
} from './inode.js';
import { inGroup, ownerOrCapable } from './namei.js';
import type { Path } from './path.js';
import { S_ISDIR, S_ISGID, S_ISREG, S_ISUID } from './uapi.js';

/**
 * Attribute changes (fs/attr.c: setattr_prepare + notify_change). Checks who may change
 * what, then hands the change to the filesystem's setattr.
 */
export function notifyChange(path: Path, attr: Iattr, cred: Cred | null, task: Task | null = null): number {
  void task;
  const inode = path.dentry.inode;
  if (path.mnt.readonly || inode.sb.readonly) return -EROFS;
  const e = setattrPrepare(inode, attr, cred);
  if (e < 0) return e;
  attr.valid |= 64; // ATTR_CTIME: every change stamps ctime
  attr.ctime = inode.sb.now();
  if (attr.valid & ATTR_SIZE) {
    if (S_ISDIR(inode.mode)) return -EISDIR;
    if (!S_ISREG(inode.mode)) return -EINVAL;
    if (attr.size! < 0) return -EINVAL;
    if (attr.size! > inode.sb.maxBytes) return -EFBIG;
  }
  if (inode.op.setattr) return inode.op.setattr(inode, attr);
  if (attr.valid & ATTR_SIZE && attr.size !== inode.size) return -EPERM;
  setattrCopy(inode, attr);
  return 0;
}

/** setattr_prepare: ownership and mode changes need the owner or root; chown needs root. */
function setattrPrepare(inode: Inode, attr: Iattr, cred: Cred | null): number {
  if (cred === null || cred.fsuid === 0) {
    // Root may do everything; a chown by anyone still clears set-id bits below.
  } else {
    if (attr.valid & ATTR_UID && attr.uid !== inode.uid) return -EPERM;
    if (attr.valid & ATTR_GID && attr.gid !== inode.gid) {
      // The owner may change the group to one of their own groups.
      if (cred.fsuid !== inode.uid || !inGroup(cred, attr.gid!)) return -EPERM;
    }
    if (attr.valid & ATTR_MODE) {
      if (!ownerOrCapable(inode, cred)) return -EPERM;
      // Non-members cannot set the setgid bit (it is silently dropped).
      const gid = attr.valid & ATTR_GID ? attr.gid! : inode.gid;
      if (!inGroup(cred, gid)) attr.mode! &= ~S_ISGID;
    }
  }
  // ATTR_KILL_SUID / ATTR_KILL_SGID (notify_change): chown of a non-directory, even with
  // -1/-1, drops setuid, and setgid when group-exec is set or the caller may not keep it.
  if (attr.valid & (ATTR_KILL_SUID | ATTR_KILL_SGID) && !(attr.valid & ATTR_MODE)) {
    let m = inode.mode & 0o7777;
    let kill = 0;
    if (attr.valid & ATTR_KILL_SUID) kill |= S_ISUID;
    if (attr.valid & ATTR_KILL_SGID) kill |= S_ISGID;
    if (m & kill) {
      m &= ~kill;
      attr.valid |= ATTR_MODE;
      attr.mode = m;
    }
  }
  return 0;
}
