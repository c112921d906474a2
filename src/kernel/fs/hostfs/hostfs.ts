import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import * as E from '../../errno.js';
import { initSpecialInode } from '../char_dev.js';
import { Dentry } from '../dcache.js';
import type { DirEntry, File, FileOperations, Kiocb } from '../file.js';
import { Inode, type InodeOperations, type Timespec } from '../inode.js';
import type { IovIter } from '../iov_iter.js';
import { SB_RDONLY, SuperBlock, getAnonDev, simpleStatfs, type TimeSource } from '../super.js';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, dtType } from '../uapi.js';

/**
 * hostfs (after UML's fs/hostfs): a read-only view of one host directory, used for qemu's
 * `-L` ELF-interpreter prefix. Confinement rules:
 *  - every host path is the root directory plus names the guest's path walk produced, one
 *    component at a time (never "." or ".." or anything containing "/");
 *  - objects are examined with lstat, never stat: a host symlink becomes a guest symlink
 *    whose body (readlink) is walked by the VFS in the *guest's* namespace, so "/etc/passwd"
 *    or "../../x" resolve inside the guest root, never on the host;
 *  - files are opened with O_NOFOLLOW;
 *  - every change is refused with EROFS (the superblock is SB_RDONLY).
 * Guest names are byte strings (latin1), so host names are handled as Buffers.
 */

const READ_CHUNK = 1 << 20;

export class HostInode extends Inode {
  /** Guest-relative path inside the host root, as bytes; empty for the root. */
  rel: Buffer = Buffer.alloc(0);
}

interface HostfsInfo {
  root: Buffer;
  /** host "dev:ino" → inode, so hard links and repeated lookups share one inode. */
  inodes: Map<string, HostInode>;
}

function info(sb: SuperBlock): HostfsInfo {
  return sb.fsInfo as HostfsInfo;
}

/** Map a Node error to -errno (host errors become guest errors; unknown ones EIO). */
function hostErrno(e: unknown): number {
  const code = (e as { code?: string }).code;
  switch (code) {
    case 'ENOENT':
      return -E.ENOENT;
    case 'ENOTDIR':
      return -E.ENOTDIR;
    case 'EACCES':
    case 'EPERM':
      return -E.EACCES;
    case 'ELOOP':
      return -E.ELOOP;
    case 'ENAMETOOLONG':
      return -E.ENAMETOOLONG;
    case 'EISDIR':
      return -E.EISDIR;
    case 'ERR_INVALID_ARG_VALUE':
    case 'ERR_INVALID_ARG_TYPE':
      return -E.ENOENT;
    default:
      return -E.EIO;
  }
}

function hostPath(sb: SuperBlock, rel: Buffer): Buffer {
  const root = info(sb).root;
  return rel.length === 0 ? root : Buffer.concat([root, Buffer.from('/'), rel]);
}

function childRel(dir: HostInode, name: string): Buffer {
  const nb = Buffer.from(name, 'latin1');
  return dir.rel.length === 0 ? nb : Buffer.concat([dir.rel, Buffer.from('/'), nb]);
}

function ts(ms: number, ns: bigint | undefined): Timespec {
  if (ns !== undefined) {
    const sec = Number(ns / 1000000000n);
    return { sec, nsec: Number(ns % 1000000000n) };
  }
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.round((ms - sec * 1000) * 1e6) };
}

/** Build (or find) the inode for a host object from its lstat (hostfs_iget + read_name). */
function hostInode(sb: SuperBlock, rel: Buffer, st: fs.BigIntStats): HostInode {
  const map = info(sb).inodes;
  const ino = Number(st.ino);
  const key = `${st.dev}:${st.ino}`;
  const known = map.get(key);
  if (known) return known;
  const mode = Number(st.mode);
  const inode = new HostInode(sb, ino, mode, {}, {});
  inode.rel = rel;
  inode.nlink = Number(st.nlink);
  // Host owners mean nothing in the guest: everything belongs to root.
  inode.uid = 0;
  inode.gid = 0;
  inode.size = Number(st.size);
  inode.blocks = Number(st.blocks);
  inode.atime = ts(0, st.atimeNs);
  inode.mtime = ts(0, st.mtimeNs);
  inode.ctime = ts(0, st.ctimeNs);
  inode.btime = ts(0, st.birthtimeNs);
  switch (mode & S_IFMT) {
    case S_IFDIR:
      inode.op = hostfsDirInodeOps;
      inode.fop = hostfsDirFops;
      break;
    case S_IFREG:
      inode.fop = hostfsFileFops;
      break;
    case S_IFLNK:
      inode.op = hostfsLinkOps;
      break;
    default:
      initSpecialInode(inode, mode, 0);
  }
  map.set(key, inode);
  return inode;
}

function lstat(sb: SuperBlock, rel: Buffer): fs.BigIntStats | null | number {
  try {
    return fs.lstatSync(hostPath(sb, rel), { bigint: true, throwIfNoEntry: false }) ?? null;
  } catch (e) {
    return hostErrno(e);
  }
}

const hostfsDirInodeOps: InodeOperations = {
  lookup(dir: Inode, name: string): Inode | null | number {
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) return null;
    const rel = childRel(dir as HostInode, name);
    const st = lstat(dir.sb, rel);
    if (st === null || typeof st === 'number') return st;
    return hostInode(dir.sb, rel, st);
  },
};

const hostfsLinkOps: InodeOperations = {
  getLink(inode: Inode): string | number {
    try {
      return (fs.readlinkSync(hostPath(inode.sb, (inode as HostInode).rel), { encoding: 'buffer' }) as Buffer).toString(
        'latin1',
      );
    } catch (e) {
      return hostErrno(e);
    }
  },
};

const hostfsDirFops: FileOperations = {
  iterate(file: File): DirEntry[] | number {
    const dir = file.inode as HostInode;
    let names: Buffer[];
    try {
      names = fs.readdirSync(hostPath(dir.sb, dir.rel), { encoding: 'buffer' }) as Buffer[];
    } catch (e) {
      return hostErrno(e);
    }
    const out: DirEntry[] = [];
    for (const nb of names) {
      const name = nb.toString('latin1');
      const rel = childRel(dir, name);
      const st = lstat(dir.sb, rel);
      if (st === null || typeof st === 'number') continue; // vanished meanwhile
      out.push({ name, ino: Number(st.ino), type: dtType(Number(st.mode)) });
    }
    return out;
  },
};

/** Read with a fresh O_NOFOLLOW host fd per call: no host fds stay open, mmap page-ins work after close. */
const hostfsFileFops: FileOperations = {
  readIter(iocb: Kiocb, to: IovIter): number {
    const inode = iocb.file.inode as HostInode;
    if (to.count === 0) return 0;
    let fd: number;
    try {
      fd = fs.openSync(hostPath(inode.sb, inode.rel), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (e) {
      return hostErrno(e);
    }
    try {
      let done = 0;
      const buf = Buffer.allocUnsafe(Math.min(to.count, READ_CHUNK));
      while (to.count > 0) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, to.count), iocb.pos);
        if (n === 0) break;
        const r = to.copyTo(buf.subarray(0, n));
        if (r < 0) return done > 0 ? done : r;
        iocb.pos += r;
        done += r;
        if (r < n) break;
      }
      return done;
    } catch (e) {
      return hostErrno(e);
    } finally {
      fs.closeSync(fd);
    }
  },
};

export const hostfsType = { name: 'hostfs', fsFlags: 0 };

/**
 * Mount a host directory read-only. Throws (at setup time, not from a guest call) when
 * the directory does not exist.
 */
export function hostfsMount(hostDir: string, time: TimeSource): SuperBlock {
  const abs = nodePath.resolve(hostDir);
  const st = fs.statSync(abs, { bigint: true });
  if ((Number(st.mode) & S_IFMT) !== S_IFDIR) throw new Error(`hostfs: ${hostDir} is not a directory`);
  const sb = new SuperBlock(hostfsType, { statfs: simpleStatfs }, getAnonDev(), time);
  sb.flags |= SB_RDONLY;
  sb.fsInfo = { root: Buffer.from(abs), inodes: new Map() } satisfies HostfsInfo;
  const root = hostInode(sb, Buffer.alloc(0), st);
  sb.root = new Dentry('/', null, root);
  return sb;
}
