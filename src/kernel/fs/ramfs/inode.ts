import { EEXIST, EFBIG, EINVAL, ENOENT, ENOSPC, ENOTEMPTY, ENXIO, EOPNOTSUPP } from '../../errno.js';
import type { Cred } from '../../sched/task.js';
import { initSpecialInode } from '../char_dev.js';
import { Dentry } from '../dcache.js';
import type { DirEntry, File, FileOperations, Kiocb } from '../file.js';
import { ATTR_SIZE, Inode, setattrCopy, type Iattr, type InodeOperations } from '../inode.js';
import type { IovIter } from '../iov_iter.js';
import { AddressSpace } from '../../mm/filemap.js';
import type { MountContext } from '../filesystems.js';
import {
  SuperBlock,
  getAnonDev,
  simpleStatfs,
  type FileSystemType,
  type KStatfs,
  type SuperOperations,
  type TimeSource,
} from '../super.js';
import {
  O_APPEND,
  RAMFS_MAGIC,
  RENAME_EXCHANGE,
  TMPFS_MAGIC,
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
  /** An O_TMPFILE inode not linked yet (its tmpfs inode slot is returned at the last close). */
  unnamed = false;
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
  if (inode.nlink <= 0 && inode.openCount <= 0 && inode.mapping.nrpages > 0) {
    charged(inode, () => inode.mapping.release());
  }
}

function blocksFor(size: number): number {
  return Math.ceil(size / 4096) * 8;
}

/**
 * tmpfs limits (struct shmem_sb_info): pages and inodes allowed (0 = unlimited, as ramfs and
 * size=0), and in use. A ramfs superblock has none.
 */
export class ShmemSbInfo {
  usedBlocks = 0;
  usedInodes = 0;
  constructor(
    public maxBlocks: number,
    public maxInodes: number,
    public mode: number,
    public uid: number,
    public gid: number,
    readonly defaultBlocks: number,
    readonly defaultInodes: number,
  ) {}
}

export function shmemInfo(sb: SuperBlock): ShmemSbInfo | null {
  return sb.fsInfo instanceof ShmemSbInfo ? sb.fsInfo : null;
}

/** Run `fn` and charge the change in the inode's page count to its tmpfs (shmem_inode_acct_blocks). */
function charged<T>(inode: RamfsInode, fn: () => T): T {
  const info = shmemInfo(inode.sb);
  if (!info) return fn();
  const before = inode.mapping.nrpages;
  const r = fn();
  info.usedBlocks = Math.max(0, info.usedBlocks + inode.mapping.nrpages - before);
  return r;
}

/**
 * How many of `len` bytes at `pos` fit in a full tmpfs: pages already present are free, each
 * missing page needs one block (shmem_alloc_and_add_folio fails with ENOSPC past max_blocks).
 */
function shmemRoom(inode: RamfsInode, pos: number, len: number): number {
  const info = shmemInfo(inode.sb);
  if (!info || info.maxBlocks === 0 || len === 0) return len;
  let free = info.maxBlocks - info.usedBlocks;
  const first = Math.floor(pos / 4096);
  const last = Math.floor((pos + len - 1) / 4096);
  for (let idx = first; idx <= last; idx++) {
    if (inode.mapping.findPage(idx)) continue;
    if (free <= 0) return Math.max(0, idx * 4096 - pos);
    free--;
  }
  return len;
}

/** An inode was created on a tmpfs: -ENOSPC past nr_inodes (shmem_reserve_inode). */
function shmemReserveInode(sb: SuperBlock): number {
  const info = shmemInfo(sb);
  if (!info) return 0;
  if (info.maxInodes !== 0 && info.usedInodes >= info.maxInodes) return -ENOSPC;
  info.usedInodes++;
  return 0;
}

/** The last link of an inode went (shmem_free_inode). */
function shmemFreeInode(inode: Inode): void {
  const info = shmemInfo(inode.sb);
  if (info && inode.nlink <= 0) info.usedInodes = Math.max(0, info.usedInodes - 1);
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
  if (size < inode.size) charged(inode, () => inode.mapping.truncate(size));
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
    // An O_TMPFILE that never got a name gives its inode back (shmem_free_inode at evict).
    if (inode.nlink <= 0 && inode.openCount <= 0 && inode.unnamed) {
      inode.unnamed = false;
      shmemFreeInode(inode);
    }
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
      let want = Math.min(from.count, WRITE_CHUNK);
      if (iocb.pos + want > RAMFS_MAX_FILE) {
        if (done > 0) break;
        return -EFBIG;
      }
      want = shmemRoom(inode, iocb.pos, want);
      if (want === 0) {
        if (done > 0) break;
        return -ENOSPC;
      }
      const pos = iocb.pos;
      const n = charged(inode, () => inode.mapping.write(pos, want, from));
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
  /**
   * shmem_fallocate: mode 0 / KEEP_SIZE allocate the pages of the range (ENOSPC past a tmpfs
   * size) and, without KEEP_SIZE, grow i_size; PUNCH_HOLE|KEEP_SIZE drops whole pages and
   * zeroes partial ones. Other modes: EOPNOTSUPP, as tmpfs.
   */
  fallocate(file: File, mode: number, offset: number, len: number): number {
    const inode = file.inode as RamfsInode;
    const end = offset + len;
    if (mode & 0x02) {
      // PUNCH_HOLE (with KEEP_SIZE).
      const size = inode.size;
      const stop = Math.min(end, size);
      if (offset >= stop) return 0;
      const firstFull = Math.ceil(offset / 4096);
      const endFull = Math.floor(stop / 4096);
      const zero = (a: number, b: number): void => {
        if (b <= a) return;
        const idx = Math.floor(a / 4096);
        if (inode.mapping.findPage(idx)) inode.mapping.writeBytes(a, new Uint8Array(b - a));
      };
      if (firstFull >= endFull) {
        // Within one page (or two partial ones).
        const mid = Math.min(stop, firstFull * 4096);
        zero(offset, mid);
        zero(Math.max(mid, endFull * 4096), stop);
      } else {
        zero(offset, firstFull * 4096);
        charged(inode, () => inode.mapping.punchHole(firstFull, endFull));
        // A hole punched to EOF removes the last partial page's tail too.
        zero(endFull * 4096, stop);
      }
      return 0;
    }
    if (mode & ~0x01) return -EOPNOTSUPP;
    if (end > RAMFS_MAX_FILE) return -EFBIG;
    // Allocate (zeroed) pages for the range, all or nothing.
    const info = shmemInfo(inode.sb);
    const first = Math.floor(offset / 4096);
    const last = Math.floor((end - 1) / 4096);
    if (info && info.maxBlocks !== 0) {
      let missing = 0;
      for (let i = first; i <= last; i++) if (!inode.mapping.findPage(i)) missing++;
      if (info.usedBlocks + missing > info.maxBlocks) return -ENOSPC;
    }
    const r = charged(inode, () => {
      for (let i = first; i <= last; i++) {
        const p = inode.mapping.getOrCreate(i);
        if (typeof p === 'number') return p;
      }
      return 0;
    });
    if (r < 0) return r;
    if (!(mode & 0x01) && end > inode.size) {
      inode.size = end;
      inode.blocks = blocksFor(end);
    }
    return 0;
  },
  /** shmem_file_llseek: SEEK_DATA / SEEK_HOLE see the pages that exist; the rest is generic. */
  llseek(file: File, offset: number, whence: number): number {
    const inode = file.inode as RamfsInode;
    if (whence !== 3 && whence !== 4) return genericLlseek(file, offset, whence);
    const size = inode.size;
    if (offset < 0 || offset >= size) return -ENXIO;
    let idx = Math.floor(offset / 4096);
    const lastIdx = Math.floor((size - 1) / 4096);
    let pos: number;
    if (whence === 3) {
      // SEEK_DATA: the first byte at or after offset inside an existing page.
      while (idx <= lastIdx && !inode.mapping.findPage(idx)) idx++;
      if (idx > lastIdx) return -ENXIO;
      pos = Math.max(offset, idx * 4096);
    } else {
      // SEEK_HOLE: the first missing page, or EOF (the virtual hole at the end).
      while (idx <= lastIdx && inode.mapping.findPage(idx)) idx++;
      pos = Math.min(size, Math.max(offset, idx * 4096));
    }
    file.pos = pos;
    return pos;
  },
};

/** generic_file_llseek for ramfs files (SEEK_SET/CUR/END). */
function genericLlseek(file: File, offset: number, whence: number): number {
  let pos: number;
  if (whence === 0) pos = offset;
  else if (whence === 1) pos = file.pos + offset;
  else if (whence === 2) pos = file.inode.size + offset;
  else return -EINVAL;
  if (pos < 0 || pos > file.inode.sb.maxBytes) return -EINVAL;
  file.pos = pos;
  return pos;
}

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
    const e = shmemReserveInode(dir.sb);
    if (e < 0) return e;
    const inode = ramfsGetInode(dir.sb, dir, mode, rdev, cred);
    addEntry(d, name, inode);
    return inode;
  },
  /** shmem_tmpfile: an inode with no entry; its pages go at the last close unless linked. */
  tmpfile(dir: Inode, mode: number, cred: Cred): Inode | number {
    const e = shmemReserveInode(dir.sb);
    if (e < 0) return e;
    const inode = ramfsGetInode(dir.sb, dir, (mode & 0o7777) | S_IFREG, 0, cred);
    inode.nlink = 0;
    inode.unnamed = true;
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
    const e = shmemReserveInode(dir.sb);
    if (e < 0) return e;
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
    (old as RamfsInode).unnamed = false;
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
    shmemFreeInode(victim);
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
    shmemFreeInode(victim);
    victim.touchChange();
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
          shmemFreeInode(dst);
        } else {
          dst.nlink--;
          shmemFreeInode(dst);
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

/** ramfs: mount(2) makes a fresh, unlimited instance (ramfs_get_tree); `mode=` sets the root's mode. */
export const ramfsType: FileSystemType = {
  name: 'ramfs',
  fsFlags: 0,
  mount(ctx: MountContext): SuperBlock | number {
    let mode = 0o755;
    for (const opt of splitOptions(ctx.data)) {
      const [k, v] = splitKv(opt);
      // ramfs ignores options it does not know (ramfs_parse_param), as Linux does.
      if (k === 'mode' && v !== undefined) {
        const m = parseOctal(v);
        if (m < 0) return -EINVAL;
        mode = m;
      }
    }
    return ramfsMount(kernelTime(ctx), mode, ramfsType);
  },
};

/**
 * tmpfs (mm/shmem.c): ramfs with limits. Options size= (bytes with k/m/g suffix, or a % of
 * RAM), nr_blocks=, nr_inodes=, mode=, uid=, gid=; defaults are half of RAM in pages and the
 * same number of inodes (shmem_default_max_blocks/inodes). Writes past the size fail with
 * ENOSPC, creates past nr_inodes too; statfs reports the limits, /proc/mounts shows them.
 */
export const tmpfsType: FileSystemType = {
  name: 'tmpfs',
  fsFlags: 0,
  mount(ctx: MountContext): SuperBlock | number {
    const totalPages = ctx.kernel?.pageAlloc?.totalPages ?? 65536;
    const defBlocks = Math.floor(totalPages / 2);
    const defInodes = Math.floor(totalPages / 2);
    const info = new ShmemSbInfo(defBlocks, defInodes, 0o1777, 0, 0, defBlocks, defInodes);
    const e = shmemParseOptions(info, ctx.data, totalPages, false);
    if (e < 0) return e;
    const sb = ramfsMount(kernelTime(ctx), info.mode, tmpfsType);
    sb.magic = TMPFS_MAGIC;
    sb.fsInfo = info;
    sb.root.inode.uid = info.uid;
    sb.root.inode.gid = info.gid;
    info.usedInodes = 1;
    return sb;
  },
};

function kernelTime(ctx: MountContext): TimeSource {
  const k = ctx.kernel;
  if (k?.clock) return { realtimeNs: () => k.clock.realtimeNs() };
  return { realtimeNs: () => Date.now() * 1e6 };
}

function splitOptions(data: string): string[] {
  return data.split(',').filter((o) => o !== '');
}

function splitKv(opt: string): [string, string | undefined] {
  const i = opt.indexOf('=');
  return i < 0 ? [opt, undefined] : [opt.slice(0, i), opt.slice(i + 1)];
}

function parseOctal(v: string): number {
  return /^[0-7]+$/.test(v) ? parseInt(v, 8) & 0o7777 : -1;
}

/** memparse: a number (decimal, 0x hex, 0 octal) with an optional K/M/G/T/P/E suffix. */
function memparse(v: string): number {
  const m = /^(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)([kmgtpe]?)$/i.exec(v);
  if (!m) return -1;
  let n = m[1]!.toLowerCase().startsWith('0x')
    ? parseInt(m[1]!, 16)
    : m[1]!.length > 1 && m[1]![0] === '0'
      ? parseInt(m[1]!, 8)
      : parseInt(m[1]!, 10);
  const suf = m[2]!.toLowerCase();
  const shift = { '': 0, k: 10, m: 20, g: 30, t: 40, p: 50, e: 60 }[suf] ?? 0;
  n *= 2 ** shift;
  return n;
}

/**
 * shmem_parse_one: apply tmpfs options to `info`. With `remount`, mode/uid/gid are refused as
 * shmem_reconfigure does (they only apply at mount) and limits may not drop below usage.
 */
function shmemParseOptions(info: ShmemSbInfo, data: string, totalPages: number, remount: boolean): number {
  for (const opt of splitOptions(data)) {
    const [k, v] = splitKv(opt);
    if (v === undefined) return -EINVAL;
    switch (k) {
      case 'size': {
        let bytes: number;
        if (v.endsWith('%')) {
          const pct = Number(v.slice(0, -1));
          if (!Number.isInteger(pct) || pct < 0) return -EINVAL;
          bytes = Math.floor((totalPages * pct) / 100) * 4096;
        } else {
          bytes = memparse(v);
          if (bytes < 0) return -EINVAL;
        }
        const blocks = Math.ceil(bytes / 4096);
        if (remount && blocks !== 0 && blocks < info.usedBlocks) return -EINVAL;
        info.maxBlocks = blocks;
        break;
      }
      case 'nr_blocks': {
        const n = memparse(v);
        if (n < 0) return -EINVAL;
        if (remount && n !== 0 && n < info.usedBlocks) return -EINVAL;
        info.maxBlocks = n;
        break;
      }
      case 'nr_inodes': {
        const n = memparse(v);
        if (n < 0) return -EINVAL;
        if (remount && n !== 0 && n < info.usedInodes) return -EINVAL;
        info.maxInodes = n;
        break;
      }
      case 'mode': {
        if (remount) break; // ignored on remount, as Linux does
        const m = parseOctal(v);
        if (m < 0) return -EINVAL;
        info.mode = m;
        break;
      }
      case 'uid':
      case 'gid': {
        if (remount) break;
        if (!/^[0-9]+$/.test(v)) return -EINVAL;
        const id = Number(v);
        if (id > 0xfffffffe) return -EINVAL;
        if (k === 'uid') info.uid = id;
        else info.gid = id;
        break;
      }
      case 'huge':
      case 'mpol':
      case 'inode32':
      case 'inode64':
        break; // accepted, no effect here
      default:
        return -EINVAL;
    }
  }
  return 0;
}

/** statfs of tmpfs (shmem_statfs): the limits and what is left; unlimited shows zeros. */
function shmemStatfs(sb: SuperBlock): KStatfs {
  const st = simpleStatfs(sb);
  const info = shmemInfo(sb);
  st.type = TMPFS_MAGIC;
  st.bsize = 4096;
  st.frsize = 4096;
  st.namelen = 255;
  if (info) {
    if (info.maxBlocks) {
      st.blocks = info.maxBlocks;
      st.bfree = st.bavail = Math.max(0, info.maxBlocks - info.usedBlocks);
    }
    if (info.maxInodes) {
      st.files = info.maxInodes;
      st.ffree = Math.max(0, info.maxInodes - info.usedInodes);
    }
  }
  return st;
}

/** shmem_show_options: what differs from the defaults. */
function shmemShowOptions(sb: SuperBlock): string {
  const info = shmemInfo(sb);
  if (!info) return '';
  let s = '';
  if (info.maxBlocks !== info.defaultBlocks) s += `,size=${info.maxBlocks * 4}k`;
  if (info.maxInodes !== info.defaultInodes) s += `,nr_inodes=${info.maxInodes}`;
  if (info.mode !== 0o1777) s += `,mode=${info.mode.toString(8).padStart(3, '0')}`;
  if (info.uid !== 0) s += `,uid=${info.uid}`;
  if (info.gid !== 0) s += `,gid=${info.gid}`;
  return s;
}

const shmemSuperOperations: SuperOperations = {
  statfs: shmemStatfs,
  showOptions: shmemShowOptions,
  remountFs(sb: SuperBlock, _flags: number, data: string): number {
    const info = shmemInfo(sb);
    if (!info) return 0;
    // Validate on a copy so a bad option changes nothing (shmem_reconfigure).
    const copy = Object.assign(Object.create(ShmemSbInfo.prototype) as ShmemSbInfo, info);
    const e = shmemParseOptions(copy, data, info.defaultBlocks * 2, true);
    if (e < 0) return e;
    Object.assign(info, copy);
    return 0;
  },
};

/** Make a ramfs superblock with an empty root directory (ramfs_fill_super). */
export function ramfsMount(time: TimeSource, rootMode = 0o755, type: FileSystemType = ramfsType): SuperBlock {
  const ops = type.name === 'tmpfs' ? shmemSuperOperations : { statfs: simpleStatfs };
  const sb = new SuperBlock(type, ops, getAnonDev(), time);
  sb.magic = RAMFS_MAGIC;
  const root = ramfsGetInode(sb, null, S_IFDIR | rootMode, 0, null);
  // The root's ".." is itself: nlink 2 already counts it.
  sb.root = new Dentry('/', null, root);
  return sb;
}
