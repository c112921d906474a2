/**
 * Directory inode operations of ext4 (fs/ext4/namei.c): lookup, create, mknod, mkdir, symlink,
 * link, unlink, rmdir, rename. The engine changes the disk; the glue gives new inodes the
 * creator's fsuid/fsgid (the directory's group under a setgid directory, inode_init_owner),
 * stamps times from the superblock clock, refreshes the link counts the engine changed, and
 * evicts inodes whose last link went while nobody had them open.
 */
import { EINVAL, ENAMETOOLONG, ENOENT, EROFS } from '../../errno.js';
import type { Cred, Task } from '../../sched/task.js';
import type { Inode, InodeOperations } from '../inode.js';
import { RENAME_EXCHANGE, RENAME_NOREPLACE, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, S_ISDIR, S_ISGID } from '../uapi.js';
import { ext4Call, sbInfo, type Ext4SbInfo } from './ext4.js';
import { ext4Iget, ext4MaybeEvict, ext4Refresh, ext4Setattr, type Ext4Inode } from './inode.js';

function sbiOf(inode: Inode): Ext4SbInfo {
  return sbInfo(inode.sb);
}

/** Common entry checks: a removed directory has no names; a read-only fs takes no changes. */
function checkDir(dir: Inode, write: boolean): number {
  const d = dir as Ext4Inode;
  if (d.evicted || d.nlink === 0) return -ENOENT;
  if (write && dir.sb.readonly) return -EROFS;
  return 0;
}

/** inode_init_owner: fsuid, and fsgid or the setgid directory's group (new dirs keep S_ISGID). */
function initOwner(dir: Inode, mode: number, cred: Cred): { uid: number; gid: number; mode: number } {
  if (dir.mode & S_ISGID) {
    return { uid: cred.fsuid, gid: dir.gid, mode: S_ISDIR(mode) ? mode | S_ISGID : mode };
  }
  return { uid: cred.fsuid, gid: cred.fsgid, mode };
}

/** A freshly made inode: times from the superblock clock; the directory changed too. */
function instantiate(dir: Inode, ino: number): Ext4Inode | number {
  const sbi = sbiOf(dir);
  const inode = ext4Iget(sbi, ino);
  if (typeof inode === 'number') return inode;
  const t = dir.sb.now();
  inode.atime = t;
  inode.mtime = t;
  inode.ctime = t;
  inode.btime = t;
  dir.touchModify();
  ext4Refresh(dir as Ext4Inode);
  return inode;
}

/** Look a name up without creating an in-core inode (0 when absent, -errno on error). */
function lookupIno(dir: Inode, name: string): number {
  const sbi = sbiOf(dir);
  return ext4Call(sbi, 'ext4_lookup', () => sbi.engine.lookup(dir.ino, name));
}

/** After an engine call removed a link to `ino`: refresh the in-core inode, evict it if unused. */
function afterUnlink(sbi: Ext4SbInfo, ino: number, isDir = false): void {
  const inode = sbi.icache.get(ino);
  if (!inode) {
    // Never looked up (no dentry, no open file): nothing can use it, so go straight to the engine.
    const ei = ext4Call(sbi, 'ext4_evict_inode', () => sbi.engine.readInode(ino));
    if (typeof ei !== 'number' && ei.nlink === 0) {
      ext4Call(sbi, 'ext4_evict_inode', () => sbi.engine.evictInode(ino));
    }
    return;
  }
  ext4Refresh(inode);
  if (isDir) inode.nlink = 0; // "." and the parent's entry are both gone (clear_nlink)
  inode.touchChange();
  ext4MaybeEvict(inode);
}

function mknodCommon(dir: Inode, name: string, mode: number, rdev: number, cred: Cred): Inode | number {
  const e = checkDir(dir, true);
  if (e < 0) return e;
  const sbi = sbiOf(dir);
  const own = initOwner(dir, mode, cred);
  const ino = ext4Call(sbi, 'ext4_create', () => sbi.engine.createInode(dir.ino, own.mode, own.uid, own.gid, rdev));
  if (ino < 0) return ino;
  const r = ext4Call(sbi, 'ext4_add_entry', () => sbi.engine.link(dir.ino, name, ino));
  if (r < 0) {
    // The new inode has no link: give it back (what ext4's error path does with iput).
    ext4Call(sbi, 'ext4_create', () => sbi.engine.evictInode(ino));
    return r;
  }
  return instantiate(dir, ino);
}

/** ext4_unlink / ext4_rmdir: remove `name` from `dir`; its inode goes when nobody uses it. */
function removeEntry(dir: Inode, name: string, isDir: boolean): number {
  const e = checkDir(dir, true);
  if (e < 0) return e;
  const sbi = sbiOf(dir);
  const ino = lookupIno(dir, name);
  if (ino < 0) return ino;
  if (ino === 0) return -ENOENT;
  const r = isDir
    ? ext4Call(sbi, 'ext4_rmdir', () => sbi.engine.rmdir(dir.ino, name))
    : ext4Call(sbi, 'ext4_unlink', () => sbi.engine.unlink(dir.ino, name));
  if (r < 0) return r;
  dir.touchModify();
  ext4Refresh(dir as Ext4Inode);
  afterUnlink(sbi, ino, isDir);
  return 0;
}

export const ext4DirInodeOperations: InodeOperations = {
  /** ext4_lookup. */
  lookup(dir: Inode, name: string, task: Task | null): Inode | null | number {
    void task;
    const e = checkDir(dir, false);
    if (e < 0) return null;
    if (name.length > 255) return -ENAMETOOLONG;
    const ino = lookupIno(dir, name);
    if (ino < 0) return ino;
    if (ino === 0) return null;
    return ext4Iget(sbiOf(dir), ino);
  },

  /** ext4_create. */
  create(dir: Inode, name: string, mode: number, cred: Cred): Inode | number {
    return mknodCommon(dir, name, (mode & 0o7777) | S_IFREG, 0, cred);
  },

  /** ext4_mknod: device nodes, FIFOs, sockets (and regular files). */
  mknod(dir: Inode, name: string, mode: number, rdev: number, cred: Cred): Inode | number {
    if ((mode & S_IFMT) === S_IFDIR || (mode & S_IFMT) === S_IFLNK) return -EINVAL;
    return mknodCommon(dir, name, mode, rdev, cred);
  },

  /** ext4_mkdir. */
  mkdir(dir: Inode, name: string, mode: number, cred: Cred): Inode | number {
    const e = checkDir(dir, true);
    if (e < 0) return e;
    const sbi = sbiOf(dir);
    const own = initOwner(dir, (mode & 0o7777) | S_IFDIR, cred);
    const ino = ext4Call(sbi, 'ext4_mkdir', () => sbi.engine.mkdir(dir.ino, name, own.mode, own.uid, own.gid));
    if (ino < 0) return ino;
    const inode = instantiate(dir, ino);
    if (typeof inode !== 'number' && (inode.mode & 0o7777) !== (own.mode & 0o7777)) {
      inode.mode = (inode.mode & S_IFMT) | (own.mode & 0o7777); // the setgid bit, if the engine dropped it
    }
    return inode;
  },

  /** ext4_symlink. */
  symlink(dir: Inode, name: string, target: string, cred: Cred): Inode | number {
    const e = checkDir(dir, true);
    if (e < 0) return e;
    const sbi = sbiOf(dir);
    const own = initOwner(dir, S_IFLNK | 0o777, cred);
    const ino = ext4Call(sbi, 'ext4_symlink', () => sbi.engine.symlink(dir.ino, name, target, own.uid, own.gid));
    if (ino < 0) return ino;
    const inode = instantiate(dir, ino);
    if (typeof inode !== 'number') inode.link = target;
    return inode;
  },

  /** ext4_link. */
  link(old: Inode, dir: Inode, name: string): number {
    const e = checkDir(dir, true);
    if (e < 0) return e;
    if ((old as Ext4Inode).evicted || old.nlink === 0) return -ENOENT;
    const sbi = sbiOf(dir);
    const r = ext4Call(sbi, 'ext4_link', () => sbi.engine.link(dir.ino, name, old.ino));
    if (r < 0) return r;
    ext4Refresh(old as Ext4Inode);
    old.touchChange();
    dir.touchModify();
    ext4Refresh(dir as Ext4Inode);
    return 0;
  },

  /** ext4_unlink. */
  unlink(dir: Inode, name: string): number {
    return removeEntry(dir, name, false);
  },

  /** ext4_rmdir. */
  rmdir(dir: Inode, name: string): number {
    return removeEntry(dir, name, true);
  },

  /** ext4_rename2: RENAME_NOREPLACE and RENAME_EXCHANGE; RENAME_WHITEOUT is not supported. */
  rename(oldDir: Inode, oldName: string, newDir: Inode, newName: string, flags: number): number {
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) return -EINVAL;
    let e = checkDir(oldDir, true);
    if (e >= 0) e = checkDir(newDir, true);
    if (e < 0) return e;
    const sbi = sbiOf(oldDir);
    const srcIno = lookupIno(oldDir, oldName);
    if (srcIno < 0) return srcIno;
    if (srcIno === 0) return -ENOENT;
    const dstIno = lookupIno(newDir, newName);
    if (dstIno < 0) return dstIno;
    const r = ext4Call(sbi, 'ext4_rename', () => sbi.engine.rename(oldDir.ino, oldName, newDir.ino, newName, flags));
    if (r < 0) return r;
    oldDir.touchModify();
    ext4Refresh(oldDir as Ext4Inode);
    if (newDir !== oldDir) {
      newDir.touchModify();
      ext4Refresh(newDir as Ext4Inode);
    }
    const src = sbi.icache.get(srcIno);
    if (src) {
      ext4Refresh(src);
      src.touchChange();
    }
    if (dstIno > 0 && dstIno !== srcIno) {
      if (flags & RENAME_EXCHANGE) {
        const dst = sbi.icache.get(dstIno);
        if (dst) {
          ext4Refresh(dst);
          dst.touchChange();
        }
      } else {
        const dst = sbi.icache.get(dstIno);
        afterUnlink(sbi, dstIno, dst !== undefined && S_ISDIR(dst.mode));
      }
    }
    return 0;
  },

  setattr: (inode, attr) => ext4Setattr(inode, attr),
};
