import type { Cred, Task } from '../sched/task.js';
import type { FileOperations } from './file.js';
import type { Path } from './path.js';
import type { SuperBlock } from './super.js';
import { S_IFMT } from './uapi.js';

export interface Timespec {
  sec: number;
  nsec: number;
}

/** Attribute changes passed to setattr (struct iattr; ATTR_* say which fields are valid). */
export interface Iattr {
  valid: number;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: Timespec;
  mtime?: Timespec;
  ctime?: Timespec;
}
export const ATTR_MODE = 1;
export const ATTR_UID = 2;
export const ATTR_GID = 4;
export const ATTR_SIZE = 8;
export const ATTR_ATIME = 16;
export const ATTR_MTIME = 32;
export const ATTR_CTIME = 64;
/** Drop S_ISUID / S_ISGID as part of this change (chown_common, file_remove_privs). */
export const ATTR_KILL_SUID = 0x800;
export const ATTR_KILL_SGID = 0x1000;

/**
 * Inode operations (struct inode_operations). Directory operations receive the parent
 * directory inode and a single name component; the VFS (namei.ts) has already checked
 * permissions, existence and types, and updates the dcache afterwards. Results are an
 * inode or 0 on success, -errno on failure. Missing operations mean "not supported here"
 * (the VFS answers EPERM/EROFS/EINVAL as Linux does for each call).
 */
export interface InodeOperations {
  /** Find `name` in `dir`; null when it does not exist (a negative lookup). */
  lookup?(dir: Inode, name: string, task: Task | null): Inode | null | number;
  create?(dir: Inode, name: string, mode: number, cred: Cred): Inode | number;
  mkdir?(dir: Inode, name: string, mode: number, cred: Cred): Inode | number;
  mknod?(dir: Inode, name: string, mode: number, rdev: number, cred: Cred): Inode | number;
  /** O_TMPFILE: a regular file with no name in `dir` (nlink 0, linkable by linkat AT_EMPTY_PATH). */
  tmpfile?(dir: Inode, mode: number, cred: Cred): Inode | number;
  symlink?(dir: Inode, name: string, target: string, cred: Cred): Inode | number;
  link?(old: Inode, dir: Inode, name: string): number;
  unlink?(dir: Inode, name: string): number;
  rmdir?(dir: Inode, name: string): number;
  /** Move oldDir/oldName to newDir/newName; RENAME_EXCHANGE swaps. The VFS checked the types. */
  rename?(oldDir: Inode, oldName: string, newDir: Inode, newName: string, flags: number): number;
  /**
   * Symlink body (get_link). A string is walked like any path; a Path is a "magic link"
   * (/proc/<pid>/exe, /proc/<pid>/fd/N) that jumps straight to an object.
   */
  getLink?(inode: Inode, task: Task | null): string | Path | number;
  /** Text readlink(2) returns, when it differs from getLink's string (magic links). */
  readlink?(inode: Inode, task: Task | null): string | number;
  /** Apply attribute changes (truncate, chmod, chown, utimes). Default: simpleSetattr. */
  setattr?(inode: Inode, attr: Iattr): number;
  /** Permission check replacing generic_permission (procfs fd dirs and the like). */
  permission?(inode: Inode, mask: number, cred: Cred, task: Task | null): number;
}

/**
 * An inode (struct inode): one file-system object with its attributes and operations.
 * Filesystems subclass it or keep their data in `private` (i_private).
 */
export class Inode {
  nlink = 1;
  uid = 0;
  gid = 0;
  size = 0;
  /** Device number for S_IFCHR/S_IFBLK (i_rdev). */
  rdev = 0;
  /** 512-byte blocks in use (i_blocks). */
  blocks = 0;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  btime: Timespec;
  /** I_LINKABLE: an O_TMPFILE inode that linkat may give a name although nlink is 0. */
  linkable = false;
  /** Fast symlink body (i_link). */
  link: string | null = null;
  private_: unknown = null;

  constructor(
    readonly sb: SuperBlock,
    readonly ino: number,
    public mode: number,
    public op: InodeOperations,
    public fop: FileOperations,
  ) {
    const t = sb.now();
    this.atime = t;
    this.mtime = t;
    this.ctime = t;
    this.btime = t;
  }

  get type(): number {
    return this.mode & S_IFMT;
  }

  /** Stamp mtime and ctime (inode_set_mtime_to_ts / file_update_time). */
  touchModify(): void {
    const t = this.sb.now();
    this.mtime = t;
    this.ctime = t;
  }

  touchChange(): void {
    this.ctime = this.sb.now();
  }
}

/** Apply an iattr to the in-core inode (simple_setattr + setattr_copy in fs/attr.c). */
export function setattrCopy(inode: Inode, attr: Iattr): void {
  if (attr.valid & ATTR_UID && attr.uid !== undefined) inode.uid = attr.uid;
  if (attr.valid & ATTR_GID && attr.gid !== undefined) inode.gid = attr.gid;
  if (attr.valid & ATTR_MODE && attr.mode !== undefined) inode.mode = (inode.mode & S_IFMT) | (attr.mode & 0o7777);
  if (attr.valid & ATTR_ATIME && attr.atime) inode.atime = attr.atime;
  if (attr.valid & ATTR_MTIME && attr.mtime) inode.mtime = attr.mtime;
  if (attr.valid & ATTR_CTIME && attr.ctime) inode.ctime = attr.ctime;
}
