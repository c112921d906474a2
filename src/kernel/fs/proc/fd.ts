import { EACCES, ENOENT } from '../../errno.js';
import type { Cred, Task } from '../../sched/task.js';
import { dPath } from '../d_path.js';
import type { DirEntry, File, FileOperations } from '../file.js';
import type { Inode, InodeOperations } from '../inode.js';
import type { Path } from '../path.js';
import { DT_LNK, DT_REG, S_IFDIR, S_IFLNK, S_IFREG } from '../uapi.js';
import { seqFops } from './seq.js';
import { ProcInode, pidIno, procTask } from './internal.js';

/**
 * /proc/<pid>/fd (fs/proc/fd.c): a directory with one magic symlink per open fd, whose
 * readlink is the file's path and which, followed, lands on the open file itself.
 */

/**
 * May `cred` look at `target`'s fds, exe, cwd (ptrace_may_access with PTRACE_MODE_READ):
 * root, or the same real uid.
 */
export function procMayAccess(target: Task, walker: Task | null): boolean {
  if (!walker) return true;
  const c: Cred = walker.cred;
  return c.fsuid === 0 || c.fsuid === target.cred.uid || walker.tgid === target.tgid;
}

function fdFile(inode: Inode): File | null {
  const t = procTask(inode);
  return t ? t.files.get((inode as ProcInode).fd) : null;
}

const procFdLinkOps: InodeOperations = {
  getLink(inode: Inode, walker: Task | null): Path | number {
    const t = procTask(inode);
    if (!t) return -ENOENT;
    if (!procMayAccess(t, walker)) return -EACCES;
    const f = t.files.get((inode as ProcInode).fd);
    return f ? f.path : -ENOENT;
  },
  readlink(inode: Inode, walker: Task | null): string | number {
    const t = procTask(inode);
    if (!t) return -ENOENT;
    if (!procMayAccess(t, walker)) return -EACCES;
    const f = t.files.get((inode as ProcInode).fd);
    if (!f) return -ENOENT;
    return dPath(f.path, walker ? walker.fs.root : t.fs.root);
  },
};

function fdLinkInode(dir: Inode, fd: number): ProcInode {
  const t = procTask(dir)!;
  const pid = (dir as ProcInode).pid;
  const ino = fd < 3072 ? pidIno(pid, 1024 + fd) : dir.sb.allocIno();
  const inode = new ProcInode(dir.sb, ino, S_IFLNK | 0o777, procFdLinkOps, {});
  inode.pid = pid;
  inode.fd = fd;
  inode.uid = t.cred.euid;
  inode.gid = t.cred.egid;
  // Permission bits of the link follow the file's open mode (proc_fd_link's f_mode), as `ls -l` shows.
  const f = fdFile(inode);
  if (f) inode.mode = S_IFLNK | (f.readable ? 0o500 : 0) | (f.writable ? 0o300 : 0);
  inode.size = 64; // what Linux's proc_fd_link inodes report
  return inode;
}

export const procFdDirInodeOps: InodeOperations = {
  lookup(dir: Inode, name: string): Inode | null {
    if (!/^(0|[1-9][0-9]{0,9})$/.test(name)) return null;
    const t = procTask(dir);
    if (!t) return null;
    const fd = Number(name);
    if (!t.files.get(fd)) return null;
    return fdLinkInode(dir, fd);
  },
};

export const procFdDirFops: FileOperations = {
  iterate(file: File): DirEntry[] | number {
    const t = procTask(file.inode);
    if (!t) return -ENOENT;
    const pid = (file.inode as ProcInode).pid;
    return t.files.openFds().map((fd) => ({ name: String(fd), ino: pidIno(pid, 1024 + fd), type: DT_LNK }));
  },
};

export const PROC_FD_DIR_MODE = S_IFDIR | 0o500;

/**
 * /proc/<pid>/fdinfo/N (seq_show in fs/proc/fd.c): position, open flags in octal (with
 * O_CLOEXEC when the fd has it), the mount id and the inode number.
 */
export function formatFdinfo(pos: number, flags: number, mntId: number, ino: number): string {
  return `pos:\t${pos}\nflags:\t0${flags.toString(8)}\nmnt_id:\t${mntId}\nino:\t${ino}\n`;
}

/** O_CLOEXEC (asm-generic/fcntl.h). */
const O_CLOEXEC = 0o2000000;

const procFdinfoFops = seqFops((file: File) => {
  const t = procTask(file.inode);
  if (!t) return -ENOENT;
  const fd = (file.inode as ProcInode).fd;
  const f = t.files.get(fd);
  if (!f) return -ENOENT;
  const flags = f.flags | (t.files.getCloexec(fd) ? O_CLOEXEC : 0);
  return formatFdinfo(f.pos, flags, f.path.mnt.id, f.inode.ino);
});

export const procFdinfoDirInodeOps: InodeOperations = {
  lookup(dir: Inode, name: string): Inode | null {
    if (!/^(0|[1-9][0-9]{0,9})$/.test(name)) return null;
    const t = procTask(dir);
    if (!t) return null;
    const fd = Number(name);
    if (!t.files.get(fd)) return null;
    const pid = (dir as ProcInode).pid;
    const ino = fd < 4096 ? pidIno(pid, 4096 + fd) : dir.sb.allocIno();
    const inode = new ProcInode(dir.sb, ino, S_IFREG | 0o444, {}, procFdinfoFops);
    inode.pid = pid;
    inode.fd = fd;
    inode.uid = t.cred.euid;
    inode.gid = t.cred.egid;
    return inode;
  },
};

export const procFdinfoDirFops: FileOperations = {
  iterate(file: File): DirEntry[] | number {
    const t = procTask(file.inode);
    if (!t) return -ENOENT;
    const pid = (file.inode as ProcInode).pid;
    return t.files
      .openFds()
      .map((fd) => ({ name: String(fd), ino: fd < 4096 ? pidIno(pid, 4096 + fd) : 0, type: DT_REG }));
  },
};
