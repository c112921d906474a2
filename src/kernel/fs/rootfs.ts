import * as E from '../errno.js';
import type { Cred } from '../sched/task.js';
import type { CharStream } from '../../machine/dev/char-stream.js';
import { chrDevInit, memDev, memDevList } from '../drivers/mem.js';
import { StdioTty, TtyState, stdioTtyFops } from '../tty/stdio_tty.js';
import { Dentry } from './dcache.js';
import { FilesStruct } from './fdtable.js';
import { File, FMODE_READ, FMODE_STREAM, FMODE_WRITE } from './file.js';
import { FsStruct } from './fs_struct.js';
import { hostfsMount } from './hostfs/hostfs.js';
import { Inode } from './inode.js';
import { LOOKUP_FOLLOW, kernPath, lookupChild } from './namei.js';
import { utf8ToName } from './name.js';
import { MNT_NOEXEC, MNT_NOSUID, MNT_RELATIME, Mount } from './mount.js';
import { devptsMount } from './devpts/inode.js';
import { ttyInit } from '../tty/tty_io.js';
import type { Path } from './path.js';
import type { ProcTaskSource } from './proc/internal.js';
import { procInfo } from './proc/internal.js';
import { procMount } from './proc/root.js';
import { RamfsInode, ramfsMount, ramfsResize, ramfsWriteBytes, tmpfsType } from './ramfs/inode.js';
import { SuperBlock, getAnonDev, makeDev, type TimeSource } from './super.js';
import { O_RDONLY, O_WRONLY, S_IFCHR, S_IFIFO, S_IFLNK, S_IFREG, S_ISDIR, S_ISLNK } from './uapi.js';

/**
 * The root filesystem of a machine (init_rootfs + init_mount_tree, fs/namespace.c): an
 * in-memory tmpfs root holding /tmp, /dev (null, zero, full, random, urandom; fd, stdin,
 * stdout, stderr links) and /proc (procfs mounted). With `hostLibDir`, the root directory
 * is a union: names missing from the in-memory tree are looked up in that host directory,
 * read-only (qemu's -L prefix). Nothing else of the host is reachable.
 */

export interface RootFsOptions {
  /** Host directory shown read-only under `/` where the in-memory tree has no entry. */
  hostLibDir?: string;
  /** Clock for inode times (the machine's Clock); defaults to the host's real time. */
  clock?: TimeSource;
}

const kernelCred: Cred = { uid: 0, gid: 0, euid: 0, egid: 0, suid: 0, sgid: 0, fsuid: 0, fsgid: 0, groups: [] };
const hostTime: TimeSource = { realtimeNs: () => Date.now() * 1e6 };

/** Group id of "tty" on Debian, owner group of terminal devices. */
const TTY_GID = 5;
/** Unix98 pty slave major (UNIX98_PTY_SLAVE_MAJOR): stdio terminals show as /dev/pts/0. */
const PTS_MAJOR = 136;

export class RootFs {
  readonly rootMnt: Mount;
  readonly procMnt: Mount;
  private readonly procSb: SuperBlock;
  /** Superblock of the anonymous stdio inodes (what devpts / pipefs are in Linux). */
  private readonly stdioSb: SuperBlock;

  constructor(opts: RootFsOptions = {}) {
    const time = opts.clock ?? hostTime;
    chrDevInit();
    const sb = ramfsMount(time, 0o755, { ...tmpfsType, name: 'rootfs' });
    this.rootMnt = new Mount(sb, sb.root, 'rootfs', null, null);
    this.rootMnt.flags = MNT_RELATIME; // atime as a default mount keeps it
    if (opts.hostLibDir !== undefined) {
      const lower = hostfsMount(opts.hostLibDir, time);
      sb.root.lower = lower.root.inode;
    }
    this.mkdirp('/tmp', 0o1777);
    this.mkdirp('/dev', 0o755);
    const proc = this.mkdirp('/proc', 0o555);
    for (const d of memDevList) this.mknod(`/dev/${d.name}`, S_IFCHR | d.mode, memDev(d.minor));
    this.symlink('/dev/fd', '/proc/self/fd');
    this.symlink('/dev/stdin', '/proc/self/fd/0');
    this.symlink('/dev/stdout', '/proc/self/fd/1');
    this.symlink('/dev/stderr', '/proc/self/fd/2');
    this.procSb = procMount(time);
    this.procMnt = new Mount(this.procSb, this.procSb.root, 'proc', this.rootMnt, proc.dentry);
    this.procMnt.flags = MNT_RELATIME; // a default mount keeps relatime, as mount(2) without MS_NOATIME does
    // Terminals (tty_init): /dev/tty, /dev/ptmx and a devpts instance on /dev/pts, mounted
    // as systemd and busybox's init do (nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=000).
    ttyInit();
    this.mknod('/dev/tty', S_IFCHR | 0o666, makeDev(5, 0));
    this.mknod('/dev/ptmx', S_IFCHR | 0o666, makeDev(5, 2));
    const pts = this.mkdirp('/dev/pts', 0o755);
    const ptsSb = devptsMount(time, 'gid=5,mode=620,ptmxmode=000');
    if (typeof ptsSb !== 'number') {
      const m = new Mount(ptsSb, ptsSb.root, 'devpts', this.rootMnt, pts.dentry);
      m.flags = MNT_NOSUID | MNT_NOEXEC | MNT_RELATIME;
    }
    this.stdioSb = new SuperBlock({ name: 'devpts', fsFlags: 0 }, {}, getAnonDev(), time);
    this.stdioSb.blocksize = 1024;
  }

  /** `/` as a path. */
  get root(): Path {
    return { mnt: this.rootMnt, dentry: this.rootMnt.root };
  }

  /**
   * Let /proc find tasks (the kernel calls this once its task table exists). Until then
   * /proc shows only `self`, and /proc/self resolves to nothing.
   */
  setTaskSource(src: ProcTaskSource): void {
    procInfo(this.procSb).tasks = src;
  }

  /** Resolve a path as the kernel (no permission checks, following symlinks). */
  lookup(path: string, follow = true): Path | number {
    return kernPath(this.root, utf8ToName(path), follow ? LOOKUP_FOLLOW : 0);
  }

  /**
   * Make a directory and its missing parents (mkdir -p). A directory that exists only in
   * the read-only host layer is "copied up" into the in-memory tree (an empty directory
   * with the host one as its lower layer, as overlayfs does), so files can be added to it.
   */
  mkdirp(path: string, mode = 0o755): Path {
    let cur = this.root;
    for (const comp of utf8ToName(path).split('/')) {
      if (comp === '' || comp === '.') continue;
      if (comp === '..') throw new Error(`mkdirp: '..' not allowed in ${path}`);
      const found = lookupChild(cur, comp, null);
      if (typeof found === 'number') throw new Error(`mkdirp ${path}: errno ${-found}`);
      if (found && S_ISDIR(found.dentry.inode.mode)) {
        if (found.dentry.inode.sb === cur.dentry.inode.sb || found.mnt !== cur.mnt) {
          cur = found;
          continue;
        }
        // Lower-only directory: copy it up.
        const lowerDir = found.dentry.inode;
        cur.dentry.children.delete(comp);
        const up = this.mkdirIn(cur, comp, lowerDir.mode & 0o7777);
        up.dentry.lower = lowerDir;
        cur = up;
        continue;
      }
      if (found) throw new Error(`mkdirp ${path}: ${comp} exists and is not a directory`);
      cur = this.mkdirIn(cur, comp, mode);
    }
    return cur;
  }

  private mkdirIn(parent: Path, name: string, mode: number): Path {
    const dir = parent.dentry.inode;
    const r = dir.op.mkdir?.(dir, name, mode, kernelCred) ?? -E.EROFS;
    if (typeof r === 'number') throw new Error(`mkdir ${name}: errno ${-r}`);
    const p = lookupChild(parent, name, null);
    if (p === null || typeof p === 'number') throw new Error(`mkdir ${name}: vanished`);
    return p;
  }

  private parentOf(path: string): { dir: Path; name: string } {
    const p = utf8ToName(path);
    const i = p.lastIndexOf('/');
    const name = p.slice(i + 1);
    if (name === '' || name === '.' || name === '..') throw new Error(`bad file name: ${path}`);
    const dir = this.mkdirp(i <= 0 ? '/' : Buffer.from(p.slice(0, i), 'latin1').toString('utf8'));
    return { dir, name };
  }

  /** Create (or replace the contents of) a regular file with `bytes`. */
  addFile(path: string, bytes: Uint8Array, mode = 0o755): void {
    const { dir, name } = this.parentOf(path);
    const existing = lookupChild(dir, name, null);
    let inode: Inode;
    if (existing && typeof existing !== 'number' && existing.dentry.inode.sb === dir.dentry.inode.sb) {
      inode = existing.dentry.inode;
      if ((inode.mode & S_IFREG) !== S_IFREG || S_ISLNK(inode.mode)) throw new Error(`addFile ${path}: not a file`);
    } else {
      if (existing && typeof existing !== 'number') dir.dentry.children.delete(name); // shadow a host file
      const d = dir.dentry.inode;
      const r = d.op.create?.(d, name, S_IFREG | (mode & 0o7777), kernelCred) ?? -E.EROFS;
      if (typeof r === 'number') throw new Error(`addFile ${path}: errno ${-r}`);
      inode = r;
    }
    const ri = inode as RamfsInode;
    const e = ramfsResize(ri, 0);
    if (e < 0 || ramfsWriteBytes(ri, bytes, 0) < 0) throw new Error(`addFile ${path}: too large`);
    inode.mode = S_IFREG | (mode & 0o7777);
    inode.touchModify();
  }

  /** Create a symlink `path` → `target`. */
  symlink(path: string, target: string): void {
    const { dir, name } = this.parentOf(path);
    const d = dir.dentry.inode;
    const r = d.op.symlink?.(d, name, utf8ToName(target), kernelCred) ?? -E.EROFS;
    if (typeof r === 'number') throw new Error(`symlink ${path}: errno ${-r}`);
    if ((r.mode & S_IFLNK) !== S_IFLNK) throw new Error('symlink: wrong type');
  }

  /** Create a device node. */
  mknod(path: string, mode: number, rdev: number): void {
    const { dir, name } = this.parentOf(path);
    const d = dir.dentry.inode;
    const r = d.op.mknod?.(d, name, mode, rdev, kernelCred) ?? -E.EROFS;
    if (typeof r === 'number') throw new Error(`mknod ${path}: errno ${-r}`);
  }

  /** The fs_struct of init: root `/`, cwd as given (must exist; `/` otherwise). */
  newFsStruct(cwd = '/'): FsStruct {
    const p = this.lookup(cwd);
    const pwd = typeof p === 'number' || !S_ISDIR(p.dentry.inode.mode) ? this.root : p;
    return new FsStruct(this.root, pwd);
  }

  /**
   * The files_struct of init: fds 0, 1, 2 on the three host streams (stdin read-only,
   * stdout/stderr write-only). Terminal streams share one TtyState (termios, pgrp), as the
   * three fds of a shell on one terminal do.
   */
  newFilesStruct(stdio: [CharStream, CharStream, CharStream]): FilesStruct {
    const files = new FilesStruct();
    const state = new TtyState();
    stdio.forEach((stream, fd) => {
      const file = this.stdioFile(stream, state, fd === 0 ? O_RDONLY : O_WRONLY);
      files.install(file, false);
    });
    return files;
  }

  /** One stdio file: an anonymous tty (or pipe-like) inode on a host stream. */
  stdioFile(stream: CharStream, state: TtyState, flags: number): File {
    const sb = this.stdioSb;
    const ino = sb.allocIno();
    const mode = stream.isTty ? S_IFCHR | 0o620 : S_IFIFO | 0o600;
    const inode = new Inode(sb, ino, mode, {}, stdioTtyFops);
    if (stream.isTty) {
      inode.rdev = makeDev(PTS_MAJOR, 0);
      inode.gid = TTY_GID;
    }
    const name = stream.isTty ? '/dev/pts/0' : `pipe:[${ino}]`;
    const dentry = new Dentry(name, null, inode, { dname: () => name });
    const fmode = (flags === O_RDONLY ? FMODE_READ : FMODE_WRITE) | FMODE_STREAM;
    const file = new File({ mnt: this.rootMnt, dentry }, inode, stdioTtyFops, flags, fmode);
    file.private_ = new StdioTty(stream, state);
    return file;
  }
}

/** Build a machine's root filesystem. Throws if `hostLibDir` is given but is not a directory. */
export function createRootFs(opts: RootFsOptions = {}): RootFs {
  return new RootFs(opts);
}
