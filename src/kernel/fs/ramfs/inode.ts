import { EEXIST, EFBIG, EINVAL, ENOENT, ENOTEMPTY } from '../../errno.js';
import type { Cred } from '../../sched/task.js';
import { initSpecialInode } from '../char_dev.js';
import { Dentry } from '../dcache.js';
import type { DirEntry, File, FileOperations, Kiocb } from '../file.js';
import { ATTR_SIZE, Inode, setattrCopy, type Iattr, type InodeOperations } from '../inode.js';
import type { IovIter } from '../iov_iter.js';
import { AddressSpace } from '../../mm/filemap.js';
import { SuperBlock, getAnonDev, simpleStatfs, type TimeSource } from '../super.js';
import {
  O_APPEND,
  RAMFS_MAGIC,
  RENAME_EXCHANGE,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_ISDIR,
  S_ISGID,
  dtType,
} from '../uapi.js';

/**
 * ramfs (fs/ramfs/inode.c, file-mmu.c; tmpfs without swap): every file lives in memory.
 * As in Linux, a regular file's page cache IS its storage: its bytes are the pages of
 * `mapping` (mm/filemap.ts), which read()/write() copy to and from and which MAP_SHARED
 * mappings map directly. Directories keep a name → inode map.
 * It is the root filesystem of issue 2 and the base of /tmp and, later, devtmpfs.
 */

/** Largest file ramfs will hold: guests cannot make the host allocate more than this per file. */
export const RAMFS_MAX_FILE = 1 << 30;
/** Bytes moved per step of a big write, so one write(2) never asks for one giant copy. */
const WRITE_CHUNK = 1 << 20;

export class RamfsInode extends Inode {
  /** i_mapping: the page cache holding a regular file's bytes (pages beyond i_size do not exist). */
  readonly mapping: AddressSpace = new AddressSpace(this);
  /** Directory entries. */
  readonly entries = new Map<string, RamfsInode>();
  /** Open files of this inode (for freeing the pages of an unlinked file at its last close: evict_inode). */
  openCount = 0;
}

/** Write kernel bytes at `pos`, growing the file as needed (rootfs.addFile, tests). Returns 0 or -errno. */
export function ramfsWriteBytes(inode: RamfsInode, src: Uint8Array, pos: number): number {
  const end = pos + src.length;
  if (end > RAMFS_MAX_FILE) return -EFBIG;
  const w = inode.mapping.writeBytes(pos, src);
  if (w < 0) return w;
  if (end > inode.size) {
    inode.size = end;
    inode.blocks = blocksFor(end);
  }
  return 0;
}

/** evict_inode → truncate_inode_pages_final: an unlinked file's pages go when nothing uses it. */
function ramfsMaybeEvict(inode: RamfsInode): void {
  if (inode.nlink <= 0 && inode.openCount <= 0 && inode.mapping.nrpages > 0) inode.mapping.release();
}

function blocksFor(size: number): number {
  return Math.ceil(size / 4096) * 8;
}

/**
 * Grow or shrink a file to `size` bytes (ramfs setattr ATTR_SIZE → truncate_setsize). Growing
 * makes a hole that reads as zeros (no pages); shrinking drops the pages beyond the new end,
 * unmapping them from every mapping first (later accesses there are SIGBUS), and zeroes the
 * tail of the last page.
 */
export function ramfsResize(inode: RamfsInode, size: number): number {
  if (size > RAMFS_MAX_FILE) return -EFBIG;
  if (!(size >= 0)) return -EINVAL;
  if (size < inode.size) inode.mapping.truncate(size);
  else if (size > inode.size && inode.size % 4096 !== 0) {
    // Bytes a mapping wrote beyond the old EOF in its last page must not appear (pagecache_isize_extended).
    const p = inode.mapping.findPage(Math.floor(inode.size / 4096));
    if (p && p.bytes.length === 4096) {
      p.bytes.fill(0, inode.size % 4096);
      if (p.pfn >= 0) inode.mapping.mem!.wrote(p.pfn * 4096 + (inode.size % 4096), 4096 - (inode.size % 4096));
    }
  }
  inode.size = size;
  inode.blocks = blocksFor(size);
  return 0;
}

/** Regular files: read/write straight from/to the byte array (generic_file_read_iter on the page cache). */
export const ramfsFileOperations: FileOperations = {
  open(inode: Inode): number {
    (inode as RamfsInode).openCount++;
    return 0;
  },
  release(file: File): void {
    const inode = file.inode as RamfsInode;
    inode.openCount--;
    ramfsMaybeEvict(inode);
  },
  readIter(iocb: Kiocb, to: IovIter): number {
    const inode = iocb.file.inode as RamfsInode;
    const pos = iocb.pos;
    if (pos >= inode.size || to.count === 0) return 0;
    const n = Math.min(to.count, inode.size - pos);
    const r = inode.mapping.read(pos, n, to);
    if (r > 0) iocb.pos += r;
    return r;
  },
  writeIter(iocb: Kiocb, from: IovIter): number {
    const inode = iocb.file.inode as RamfsInode;
    if (iocb.flags & O_APPEND) iocb.pos = inode.size;
    let done = 0;
    while (from.count > 0) {
      const want = Math.min(from.count, WRITE_CHUNK);
      if (iocb.pos + want > RAMFS_MAX_FILE) {
        if (done > 0) break;
        return -EFBIG;
      }
      const n = inode.mapping.write(iocb.pos, want, from);
      if (n < 0) return done > 0 ? done : n;
      if (n === 0) break;
      const end = iocb.pos + n;
      if (end > inode.size) {
        inode.size = end;
        inode.blocks = blocksFor(end);
      }
      iocb.pos = end;
      done += n;
      if (n < want) break;
    }
    if (done > 0) inode.touchModify();
    return done;
  },
  fsync(): number {
    return 0;
  },
};

/** Directories: the listing the VFS turns into linux_dirent64 records (dcache_readdir). */
export const ramfsDirOperations: FileOperations = {
  iterate(file: File): DirEntry[] {
    const dir = file.inode as RamfsInode;
    const out: DirEntry[] = [];
    for (const [name, ino] of dir.entries) out.push({ name, ino: ino.ino, type: dtType(ino.mode) });
    return out;
  },
  fsync(): number {
    return 0;
  },
};

const ramfsFileInodeOperations: InodeOperations = {
  setattr(inode: Inode, attr: Iattr): number {
    if (attr.valid & ATTR_SIZE && attr.size !== undefined && attr.size !== inode.size) {
      const e = ramfsResize(inode as RamfsInode, attr.size);
      if (e < 0) return e;
      inode.touchModify();
    }
    setattrCopy(inode, attr);
    return 0;
  },
};

const ramfsSymlinkInodeOperations: InodeOperations = {};

/** A new inode in `sb` with the caller's ids (ramfs_get_inode + inode_init_owner). */
export function ramfsGetInode(
  sb: SuperBlock,
  dir: Inode | null,
  mode: number,
  rdev: number,
  cred: Cred | null,
): RamfsInode {
  const inode = new RamfsInode(sb, sb.allocIno(), mode, {}, {});
  inode.uid = cred ? cred.fsuid : 0;
  if (dir && dir.mode & S_ISGID) {
    inode.gid = dir.gid;
    if (S_ISDIR(mode)) inode.mode |= S_ISGID;
  } else {
    inode.gid = cred ? cred.fsgid : 0;
  }
  switch (mode & S_IFMT) {
    case S_IFREG:
      inode.op = ramfsFileInodeOperations;
      inode.fop = ramfsFileOperations;
      break;
    case S_IFDIR:
      inode.op = ramfsDirInodeOperations;
      inode.fop = ramfsDirOperations;
      inode.nlink = 2;
      inode.size = 4096;
      break;
    case S_IFLNK:
      inode.op = ramfsSymlinkInodeOperations;
      break;
    default:
      initSpecialInode(inode, mode, rdev);
  }
  return inode;
}

function addEntry(dir: RamfsInode, name: string, inode: RamfsInode): void {
  dir.entries.set(name, inode);
  dir.touchModify();
}

/** Directory operations (ramfs_dir_inode_operations + simple_* of fs/libfs.c). */
export const ramfsDirInodeOperations: InodeOperations = {
  lookup(dir: Inode, name: string): Inode | null {
    return (dir as RamfsInode).entries.get(name) ?? null;
  },
  create(dir: Inode, name: string, mode: number, cred: Cred): Inode | number {
    return ramfsDirInodeOperations.mknod!(dir, name, (mode & 0o7777) | S_IFREG, 0, cred);
  },
  mknod(dir: Inode, name: string, mode: number, rdev: number, cred: Cred): Inode | number {
    const d = dir as RamfsInode;
    if (d.entries.has(name)) return -EEXIST;
    const inode = ramfsGetInode(dir.sb, dir, mode, rdev, cred);
    addEntry(d, name, inode);
    return inode;
  },
  mkdir(dir: Inode, name: string, mode: number, cred: Cred): Inode | number {
    const r = ramfsDirInodeOperations.mknod!(dir, name, (mode & 0o7777) | S_IFDIR, 0, cred);
    if (typeof r !== 'number') dir.nlink++;
    return r;
  },
  symlink(dir: Inode, name: string, target: string, cred: Cred): Inode | number {
    const d = dir as RamfsInode;
    if (d.entries.has(name)) return -EEXIST;
    const inode = ramfsGetInode(dir.sb, dir, S_IFLNK | 0o777, 0, cred);
    inode.link = target;
    inode.size = target.length;
    addEntry(d, name, inode);
    return inode;
  },
  link(old: Inode, dir: Inode, name: string): number {
    const d = dir as RamfsInode;
    if (d.entries.has(name)) return -EEXIST;
    old.nlink++;
    old.touchChange();
    addEntry(d, name, old as RamfsInode);
    return 0;
  },
  unlink(dir: Inode, name: string): number {
    const d = dir as RamfsInode;
    const victim = d.entries.get(name);
    if (!victim) return -ENOENT;
    d.entries.delete(name);
    victim.nlink--;
    victim.touchChange();
    dir.touchModify();
    ramfsMaybeEvict(victim);
    return 0;
  },
  rmdir(dir: Inode, name: string): number {
    const d = dir as RamfsInode;
    const victim = d.entries.get(name);
    if (!victim) return -ENOENT;
    if (victim.entries.size > 0) return -ENOTEMPTY;
    d.entries.delete(name);
    victim.nlink = 0;
    dir.nlink--;
    dir.touchModify();
    return 0;
  },
  rename(oldDir: Inode, oldName: string, newDir: Inode, newName: string, flags: number): number {
    const od = oldDir as RamfsInode;
    const nd = newDir as RamfsInode;
    const src = od.entries.get(oldName);
    if (!src) return -ENOENT;
    const dst = nd.entries.get(newName);
    const srcIsDir = S_ISDIR(src.mode);
    if (flags & RENAME_EXCHANGE) {
      if (!dst) return -ENOENT;
      const dstIsDir = S_ISDIR(dst.mode);
      od.entries.set(oldName, dst);
      nd.entries.set(newName, src);
      if (srcIsDir !== dstIsDir && od !== nd) {
        // A directory moved between parents takes its ".." link with it.
        if (srcIsDir) {
          od.nlink--;
          nd.nlink++;
        } else {
          nd.nlink--;
          od.nlink++;
        }
      }
    } else {
      if (dst === src) return 0;
      if (dst) {
        if (S_ISDIR(dst.mode)) {
          if (dst.entries.size > 0) return -ENOTEMPTY;
          dst.nlink = 0;
          nd.nlink--;
        } else {
          dst.nlink--;
          ramfsMaybeEvict(dst);
        }
        dst.touchChange();
      }
      od.entries.delete(oldName);
      nd.entries.set(newName, src);
      if (srcIsDir && od !== nd) {
        od.nlink--;
        nd.nlink++;
      }
    }
    src.touchChange();
    oldDir.touchModify();
    newDir.touchModify();
    return 0;
  },
  setattr(inode: Inode, attr: Iattr): number {
    if (attr.valid & ATTR_SIZE) return -EINVAL;
    setattrCopy(inode, attr);
    return 0;
  },
};

export const ramfsType = { name: 'ramfs', fsFlags: 0 };
export const tmpfsType = { name: 'tmpfs', fsFlags: 0 };

/** Make a ramfs superblock with an empty root directory (ramfs_fill_super). */
export function ramfsMount(time: TimeSource, rootMode = 0o755, type = ramfsType): SuperBlock {
  const sb = new SuperBlock(type, { statfs: simpleStatfs }, getAnonDev(), time);
  sb.magic = RAMFS_MAGIC;
  const root = ramfsGetInode(sb, null, S_IFDIR | rootMode, 0, null);
  // The root's ".." is itself: nlink 2 already counts it.
  sb.root = new Dentry('/', null, root);
  return sb;
}
