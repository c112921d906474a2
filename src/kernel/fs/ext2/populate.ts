/**
 * populate: fill an ext2/ext4 filesystem from a host directory tree, as `mke2fs -d DIR` does
 * (misc/create_inode.c: populate_fs, do_write_internal, do_mkdir_internal, do_symlink_internal, do_mknod_internal),
 * going through the Ext2Fs engine's inode-level API (createInode/link/mkdir/symlink/write) rather than writing
 * blocks itself, so the engine's allocator, htree and checksums are the ones the image gets. Owners are root
 * unless a manifest says otherwise. A manifest uses Linux's usr/gen_init_cpio list format:
 *
 *     dir   <name> <mode> <uid> <gid>
 *     file  <name> <location> <mode> <uid> <gid>        (location relative to the manifest's directory)
 *     nod   <name> <mode> <uid> <gid> <c|b> <maj> <min>
 *     slink <name> <target> <mode> <uid> <gid>
 *     pipe  <name> <mode> <uid> <gid>
 *
 * An entry naming a path that already exists (copied from the host tree) only sets its mode and owner: git
 * keeps neither empty directories nor modes other than 644/755, so the manifest is where /tmp's 1777,
 * /etc/shadow's 0600 and the static /dev nodes come from.
 *
 * Host-side code (node:fs): it runs when images are built, never inside the emulated kernel.
 * Names on disk are byte strings (latin1, one char per byte) as the engine takes them; host names are read
 * as raw bytes, and the path helpers encode their (Unicode) path arguments as UTF-8.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  EXT2_ROOT_INO,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
} from './disk_layout.js';
import type { Ext2Inode } from './inode.js';
import * as errno from '../../errno.js';
import { EEXIST, EINVAL, EIO, ELOOP, ENOENT, ENOTDIR } from '../../errno.js';

/** errno number → name (EEXIST, ...), for messages. */
const ERRNO_NAMES: Record<number, string> = {};
for (const [k, v] of Object.entries(errno)) if (typeof v === 'number' && /^E[A-Z0-9]+$/.test(k)) ERRNO_NAMES[v] ??= k;

/**
 * The part of the engine's API (class Ext2Fs in ext2fs.ts, as fixed in docs/CONTRACTS.md) populate uses.
 * Written out so populate depends on the contract, not on the engine's other members.
 */
export interface Ext2FsWriter {
  readInode(ino: number): Ext2Inode;
  writeInode(ino: number, inode: Ext2Inode): void;
  lookup(dirIno: number, name: string): number;
  readlink(ino: number): string;
  write(ino: number, pos: number, data: Uint8Array): number;
  truncate(ino: number, size: number): number;
  createInode(dirIno: number, mode: number, uid: number, gid: number, rdev?: number): number;
  link(dirIno: number, name: string, ino: number): number;
  unlink(dirIno: number, name: string): number;
  mkdir(dirIno: number, name: string, mode: number, uid: number, gid: number): number;
  symlink(dirIno: number, name: string, target: string, uid: number, gid: number): number;
  evictInode(ino: number): void;
}

/** A failed populate step: the path, and the errno the engine returned (or a host error's message). */
export class PopulateError extends Error {
  override name = 'PopulateError';
  constructor(
    message: string,
    readonly errno = 0,
  ) {
    super(message);
  }
}

export interface Owner {
  uid?: number;
  gid?: number;
}

export interface PopulateOptions extends Owner {
  /** A gen_init_cpio-style manifest applied after the tree is copied (see the file comment). */
  manifest?: string;
  /** Timestamps (seconds since the epoch) for every inode made; the host file's mtime when absent. */
  now?: number;
  /** Permission bits cleared from host modes, like a umask (0o022 keeps a group-writable checkout out). */
  modeMask?: number;
  /** Called for each host entry skipped (sockets) with the reason. */
  warn?: (msg: string) => void;
}

export interface PopulateStats {
  files: number;
  dirs: number;
  symlinks: number;
  devices: number;
  bytes: number;
}

const MAX_SYMLINK_FOLLOW = 40; // MAXSYMLINKS in Linux's namei

/** The dev_t the engine stores (new_encode_dev, what stat's st_rdev holds): minor bits split around major. */
export function makedev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/** Host st_rdev → [major, minor] (glibc gnu_dev_major/minor on a 64-bit dev_t). */
function hostMajorMinor(rdev: number): [number, number] {
  const hi = Math.floor(rdev / 0x1_0000_0000);
  const lo = rdev >>> 0;
  const major = ((lo >>> 8) & 0xfff) | ((hi & 0xfffff000) >>> 0);
  const minor = (lo & 0xff) | ((lo >>> 12) & 0xfff00);
  return [major, minor];
}

/** A Unicode string as the engine's byte string (UTF-8 bytes, one char each). */
export function toByteString(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

function check(r: number, what: string): number {
  if (r < 0) throw new PopulateError(`${what}: ${ERRNO_NAMES[-r] ?? `errno ${-r}`}`, -r);
  return r;
}

function isDir(fsw: Ext2FsWriter, ino: number): boolean {
  return (fsw.readInode(ino).mode & S_IFMT) === S_IFDIR;
}

/** Split an absolute or relative path into byte-string components. */
function components(p: string): string[] {
  return toByteString(p)
    .split('/')
    .filter((c) => c !== '' && c !== '.');
}

/**
 * Resolve `p` from `startIno` (root for absolute paths), following symlinks in every component but the last
 * (and the last too when `followLast`), as link_path_walk. Returns the inode, or 0 when a component is missing;
 * throws when a non-directory is walked through or symlinks loop.
 */
export function resolvePath(
  fsw: Ext2FsWriter,
  p: string,
  opts: { followLast?: boolean; startIno?: number } = {},
): number {
  return walk(
    fsw,
    components(p),
    p.startsWith('/') ? EXT2_ROOT_INO : (opts.startIno ?? EXT2_ROOT_INO),
    !!opts.followLast,
    p,
    { n: 0 },
  );
}

function walk(
  fsw: Ext2FsWriter,
  parts: string[],
  dir: number,
  followLast: boolean,
  p: string,
  hops: { n: number },
): number {
  let cur = dir;
  for (let i = 0; i < parts.length; i++) {
    if (!isDir(fsw, cur)) throw new PopulateError(`${p}: not a directory`, ENOTDIR);
    const next = fsw.lookup(cur, parts[i]);
    if (next <= 0) return 0;
    const last = i === parts.length - 1;
    if ((fsw.readInode(next).mode & S_IFMT) === S_IFLNK && (!last || followLast)) {
      if (++hops.n > MAX_SYMLINK_FOLLOW) throw new PopulateError(`${p}: too many levels of symbolic links`, ELOOP);
      const target = fsw.readlink(next);
      const base = target.startsWith('/') ? EXT2_ROOT_INO : cur;
      const t = walk(
        fsw,
        target.split('/').filter((c) => c !== '' && c !== '.'),
        base,
        true,
        p,
        hops,
      );
      if (t === 0) return 0;
      cur = t;
      continue;
    }
    cur = next;
  }
  return cur;
}

/** The parent directory's inode and the last name of `p`, creating missing parents (0755) when `parents`. */
function parentOf(fsw: Ext2FsWriter, p: string, parents: boolean, owner: Owner): { dir: number; name: string } {
  const parts = components(p);
  if (parts.length === 0) throw new PopulateError(`${p}: no file name`, EINVAL);
  const name = parts[parts.length - 1];
  if (name === '..' || name.length > 255) throw new PopulateError(`${p}: invalid file name`, EINVAL);
  let dir = EXT2_ROOT_INO;
  for (let i = 0; i < parts.length - 1; i++) {
    let next = walk(fsw, [parts[i]], dir, true, p, { n: 0 });
    if (next === 0) {
      if (!parents) throw new PopulateError(`${p}: parent directory does not exist`, ENOENT);
      next = check(fsw.mkdir(dir, parts[i], S_IFDIR | 0o755, owner.uid ?? 0, owner.gid ?? 0), `mkdir ${p}`);
    }
    dir = next;
  }
  if (!isDir(fsw, dir)) throw new PopulateError(`${p}: not a directory`, ENOTDIR);
  return { dir, name };
}

/** Set the exact mode, owner and (when given) times of `ino`: the engine's create path may apply its own. */
function setAttrs(fsw: Ext2FsWriter, ino: number, mode: number, owner: Owner, time?: number): void {
  const inode = fsw.readInode(ino);
  inode.mode = (inode.mode & S_IFMT) | (mode & 0o7777);
  inode.uid = owner.uid ?? 0;
  inode.gid = owner.gid ?? 0;
  if (time !== undefined) {
    const t = { sec: time, nsec: 0 };
    inode.atime = { ...t };
    inode.mtime = { ...t };
    inode.ctime = { ...t };
    if (inode.crtime) inode.crtime = { ...t };
  }
  fsw.writeInode(ino, inode);
}

/** Create an inode of `mode` and link it at (dir, name); frees it again if the link fails. */
function createLinked(
  fsw: Ext2FsWriter,
  dir: number,
  name: string,
  mode: number,
  owner: Owner,
  rdev: number | undefined,
  what: string,
): number {
  const ino = check(fsw.createInode(dir, mode, owner.uid ?? 0, owner.gid ?? 0, rdev), `create ${what}`);
  const r = fsw.link(dir, name, ino);
  if (r < 0) {
    fsw.evictInode(ino);
    check(r, `link ${what}`);
  }
  return ino;
}

/** Write all of `bytes` at offset 0 (the engine may write less than asked per call). */
function writeAll(fsw: Ext2FsWriter, ino: number, bytes: Uint8Array, what: string): void {
  const CHUNK = 1 << 20;
  for (let pos = 0; pos < bytes.length;) {
    const n = check(fsw.write(ino, pos, bytes.subarray(pos, Math.min(bytes.length, pos + CHUNK))), `write ${what}`);
    if (n === 0) throw new PopulateError(`write ${what}: no progress at offset ${pos}`, EIO);
    pos += n;
  }
}

export interface AddOptions extends Owner {
  /** Create missing parent directories (0755, root). Default true. */
  parents?: boolean;
  /** Inode times in seconds since the epoch. */
  time?: number;
  /** Replace an existing entry of the same type (a file is rewritten, a symlink re-pointed). Default true. */
  replace?: boolean;
}

/** Add (or rewrite) a regular file at absolute `p` with `bytes` and permission `mode`. Returns its inode. */
export function addFile(fsw: Ext2FsWriter, p: string, bytes: Uint8Array, mode: number, opts: AddOptions = {}): number {
  const { dir, name } = parentOf(fsw, p, opts.parents ?? true, opts);
  let ino = fsw.lookup(dir, name);
  if (ino > 0) {
    if ((fsw.readInode(ino).mode & S_IFMT) !== S_IFREG || opts.replace === false) {
      throw new PopulateError(`${p}: already exists`, EEXIST);
    }
    check(fsw.truncate(ino, 0), `truncate ${p}`);
  } else {
    ino = createLinked(fsw, dir, name, S_IFREG | (mode & 0o7777), opts, undefined, p);
  }
  writeAll(fsw, ino, bytes, p);
  setAttrs(fsw, ino, mode, opts, opts.time);
  return ino;
}

/** Add a symlink at `p` pointing at `target`. Returns its inode. */
export function addSymlink(fsw: Ext2FsWriter, p: string, target: string, opts: AddOptions = {}): number {
  const { dir, name } = parentOf(fsw, p, opts.parents ?? true, opts);
  const old = fsw.lookup(dir, name);
  if (old > 0) {
    if ((fsw.readInode(old).mode & S_IFMT) !== S_IFLNK || opts.replace === false) {
      throw new PopulateError(`${p}: already exists`, EEXIST);
    }
    removeEntry(fsw, dir, name, old, p);
  }
  const ino = check(fsw.symlink(dir, name, toByteString(target), opts.uid ?? 0, opts.gid ?? 0), `symlink ${p}`);
  if (opts.time !== undefined) setAttrs(fsw, ino, 0o777, opts, opts.time);
  return ino;
}

/** Make directory `p` (and its parents) with `mode`; an existing directory just gets the mode and owner. */
export function addDir(fsw: Ext2FsWriter, p: string, mode = 0o755, opts: AddOptions = {}): number {
  if (components(p).length === 0) {
    setAttrs(fsw, EXT2_ROOT_INO, mode, opts, opts.time);
    return EXT2_ROOT_INO;
  }
  const { dir, name } = parentOf(fsw, p, opts.parents ?? true, opts);
  let ino = walk(fsw, [name], dir, true, p, { n: 0 });
  if (ino > 0) {
    if (!isDir(fsw, ino)) throw new PopulateError(`${p}: exists and is not a directory`, EEXIST);
  } else {
    ino = check(fsw.mkdir(dir, name, S_IFDIR | (mode & 0o7777), opts.uid ?? 0, opts.gid ?? 0), `mkdir ${p}`);
  }
  setAttrs(fsw, ino, mode, opts, opts.time);
  return ino;
}

/**
 * Make a device node, FIFO or socket inode at `p`: `type` 'c' (S_IFCHR), 'b' (S_IFBLK), 'p' (S_IFIFO) or
 * 's' (S_IFSOCK), as do_mknod_internal. An existing node of the same type and number just gets mode/owner.
 */
export function addDevice(
  fsw: Ext2FsWriter,
  p: string,
  type: 'c' | 'b' | 'p' | 's',
  major: number,
  minor: number,
  mode: number,
  opts: AddOptions = {},
): number {
  const fmt = { c: S_IFCHR, b: S_IFBLK, p: S_IFIFO, s: S_IFSOCK }[type];
  const rdev = type === 'c' || type === 'b' ? makedev(major, minor) : 0;
  const { dir, name } = parentOf(fsw, p, opts.parents ?? true, opts);
  const old = fsw.lookup(dir, name);
  if (old > 0) {
    if ((fsw.readInode(old).mode & S_IFMT) !== fmt || opts.replace === false) {
      throw new PopulateError(`${p}: already exists`, EEXIST);
    }
    removeEntry(fsw, dir, name, old, p);
  }
  const ino = createLinked(fsw, dir, name, fmt | (mode & 0o7777), opts, rdev || undefined, p);
  setAttrs(fsw, ino, mode, opts, opts.time);
  return ino;
}

function removeEntry(fsw: Ext2FsWriter, dir: number, name: string, ino: number, p: string): void {
  check(fsw.unlink(dir, name), `unlink ${p}`);
  if (fsw.readInode(ino).nlink === 0) fsw.evictInode(ino);
}

/**
 * Copy the host tree `hostDir` into directory `dirIno` (populate_fs): regular files (hard links kept as
 * links), directories, symlinks (never followed), FIFOs and device nodes; sockets are skipped. Modes come from
 * the host, owners are root; then `opts.manifest` is applied.
 */
export function populate(
  fsw: Ext2FsWriter,
  dirIno: number,
  hostDir: string,
  opts: PopulateOptions = {},
): PopulateStats {
  const stats: PopulateStats = { files: 0, dirs: 0, symlinks: 0, devices: 0, bytes: 0 };
  const owner: Owner = { uid: opts.uid ?? 0, gid: opts.gid ?? 0 };
  const hardLinks = new Map<string, number>();
  const timeOf = (st: fs.Stats): number => opts.now ?? Math.floor(st.mtimeMs / 1000);

  const copyDir = (host: string, dir: number): void => {
    const names = fs.readdirSync(host, { encoding: 'buffer' }).map((b) => b.toString('latin1'));
    names.sort();
    for (const name of names) {
      const hostPath = path.join(host, Buffer.from(name, 'latin1').toString('utf8'));
      const st = fs.lstatSync(hostPath);
      const what = hostPath;
      const perm = st.mode & 0o7777 & ~(opts.modeMask ?? 0);
      const existing = fsw.lookup(dir, name);
      if (existing > 0) {
        // A directory the image already has (lost+found, or a second tree copied over the first) is merged.
        if (!st.isDirectory() || !isDir(fsw, existing)) {
          throw new PopulateError(`${what}: already exists in the image`, EEXIST);
        }
        copyDir(hostPath, existing);
        setAttrs(fsw, existing, perm, owner, timeOf(st));
        continue;
      }
      if (st.isDirectory()) {
        const ino = check(fsw.mkdir(dir, name, S_IFDIR | perm, owner.uid ?? 0, owner.gid ?? 0), `mkdir ${what}`);
        copyDir(hostPath, ino);
        setAttrs(fsw, ino, perm, owner, timeOf(st));
        stats.dirs++;
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const linked = st.nlink > 1 ? hardLinks.get(key) : undefined;
        if (linked !== undefined) {
          check(fsw.link(dir, name, linked), `link ${what}`);
          continue;
        }
        const ino = createLinked(fsw, dir, name, S_IFREG | perm, owner, undefined, what);
        const bytes = new Uint8Array(fs.readFileSync(hostPath));
        writeAll(fsw, ino, bytes, what);
        setAttrs(fsw, ino, perm, owner, timeOf(st));
        if (st.nlink > 1) hardLinks.set(key, ino);
        stats.files++;
        stats.bytes += bytes.length;
      } else if (st.isSymbolicLink()) {
        const target = fs.readlinkSync(hostPath, { encoding: 'buffer' }).toString('latin1');
        const ino = check(fsw.symlink(dir, name, target, owner.uid ?? 0, owner.gid ?? 0), `symlink ${what}`);
        setAttrs(fsw, ino, 0o777, owner, timeOf(st));
        stats.symlinks++;
      } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
        const fmt = st.isCharacterDevice() ? S_IFCHR : st.isBlockDevice() ? S_IFBLK : S_IFIFO;
        const [maj, min] = hostMajorMinor(st.rdev);
        const rdev = fmt === S_IFIFO ? undefined : makedev(maj, min);
        const ino = createLinked(fsw, dir, name, fmt | perm, owner, rdev, what);
        setAttrs(fsw, ino, perm, owner, timeOf(st));
        stats.devices++;
      } else {
        opts.warn?.(`${what}: skipped (sockets are not copied)`);
      }
    }
  };

  if (!fs.statSync(hostDir).isDirectory()) throw new PopulateError(`${hostDir}: not a directory`, ENOTDIR);
  copyDir(hostDir, dirIno);
  if (opts.manifest) applyManifest(fsw, opts.manifest, { time: opts.now }, stats);
  return stats;
}

/** Apply a gen_init_cpio-format manifest file (paths in it are absolute in the image). */
export function applyManifest(
  fsw: Ext2FsWriter,
  manifestPath: string,
  opts: { time?: number } = {},
  stats?: PopulateStats,
): void {
  const text = fs.readFileSync(manifestPath, 'utf8');
  const baseDir = path.dirname(manifestPath);
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const f = line.split(/\s+/);
    const where = `${manifestPath}:${i + 1}`;
    const num = (s: string | undefined, radix: number, what: string): number => {
      const v = s === undefined ? NaN : parseInt(s, radix);
      if (!Number.isInteger(v) || v < 0 || !/^[0-9a-fA-F]+$/.test(s ?? '')) {
        throw new PopulateError(`${where}: bad ${what} '${s ?? ''}'`, EINVAL);
      }
      return v;
    };
    const mode = (idx: number): number => num(f[idx], 8, 'mode');
    const own = (idx: number): AddOptions => ({
      uid: num(f[idx], 10, 'uid'),
      gid: num(f[idx + 1], 10, 'gid'),
      time: opts.time,
    });
    const need = (n: number): void => {
      if (f.length < n) throw new PopulateError(`${where}: '${f[0]}' needs ${n - 1} fields: ${line}`, EINVAL);
    };
    switch (f[0]) {
      case 'dir':
        need(5);
        addDir(fsw, f[1], mode(2), own(3));
        if (stats) stats.dirs++;
        return;
      case 'file': {
        need(6);
        const existing = resolvePath(fsw, f[1]);
        if (f[2] === '-') {
          if (existing === 0) throw new PopulateError(`${where}: ${f[1]} does not exist (location '-')`, ENOENT);
          setAttrs(fsw, existing, mode(3), own(4), opts.time); // mode/owner only
          return;
        }
        const bytes = new Uint8Array(fs.readFileSync(path.resolve(baseDir, f[2])));
        addFile(fsw, f[1], bytes, mode(3), own(4));
        if (stats) {
          stats.files++;
          stats.bytes += bytes.length;
        }
        return;
      }
      case 'nod': {
        need(8);
        if (f[5] !== 'c' && f[5] !== 'b') throw new PopulateError(`${where}: device type must be c or b`, EINVAL);
        addDevice(fsw, f[1], f[5], num(f[6], 10, 'major'), num(f[7], 10, 'minor'), mode(2), own(3));
        if (stats) stats.devices++;
        return;
      }
      case 'slink':
        need(6);
        addSymlink(fsw, f[1], f[2], own(4));
        if (stats) stats.symlinks++;
        return;
      case 'pipe':
        need(5);
        addDevice(fsw, f[1], 'p', 0, 0, mode(2), own(3));
        return;
      case 'sock':
        need(5);
        addDevice(fsw, f[1], 's', 0, 0, mode(2), own(3));
        return;
      default:
        throw new PopulateError(`${where}: unknown entry type '${f[0]}'`, EINVAL);
    }
  });
}
