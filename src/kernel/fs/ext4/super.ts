/**
 * The ext4 filesystem type (fs/ext4/super.c): mount (ext4_fill_super) on a disk's buffered block
 * device, mount options (ext4_parse_param), statfs, sync_fs, put_super, remount, and the
 * periodic write-back of dirty pages and inodes (the flusher threads' dirty_writeback_centisecs,
 * every 5 s). ext2 and ext3 are served by the same driver, as Linux's ext4 does for them.
 */
import { EINVAL, ENOTBLK, EROFS } from '../../errno.js';
import { GenDisk } from '../../block/genhd.js';
import type { Kernel } from '../../kernel.js';
import { Dentry } from '../dcache.js';
import { Ext2Fs } from '../ext2/ext2fs.js';
import {
  COMPAT_HAS_JOURNAL,
  INCOMPAT_FILETYPE,
  INCOMPAT_META_BG,
  INCOMPAT_RECOVER,
  RO_COMPAT_BTREE_DIR,
  RO_COMPAT_LARGE_FILE,
  RO_COMPAT_SPARSE_SUPER,
} from '../ext2/disk_layout.js';
import { FS_REQUIRES_DEV, type MountContext } from '../filesystems.js';
import {
  SB_RDONLY,
  SuperBlock,
  makeDev,
  simpleStatfs,
  type FileSystemType,
  type KStatfs,
  type SuperOperations,
} from '../super.js';
import { EXT4_SUPER_MAGIC, ST_RDONLY } from '../uapi.js';
import { Ext4SbInfo, ext4Call, sbInfo, type Ext4Engine, type Ext4EngineClass, type Ext4Options } from './ext4.js';
import { ext4Evict, ext4Iget, ext4WritebackInode } from './inode.js';

/** MS_RDONLY of mount(2). */
const MS_RDONLY = 1;
/** dirty_writeback_centisecs = 500. */
export const WRITEBACK_INTERVAL_MS = 5000;

/** The engine class, checked against the API the glue uses (docs/CONTRACTS.md). */
const Engine: Ext4EngineClass = Ext2Fs;

/** Superblocks mounted per disk: a second mount of the same disk shares it (sget). */
const mountedByDisk = new Map<GenDisk, SuperBlock>();
/** Every live ext4 superblock with the kernel it belongs to (for the periodic write-back). */
const live = new Map<Ext4SbInfo, unknown>();

/**
 * ext4_parse_param: errors=, atime handling, and options accepted for compatibility.
 * Returns the options or the unrecognized one.
 */
export function parseExt4Options(data: string, base?: Ext4Options): Ext4Options | { bad: string } {
  const o: Ext4Options = base ? { ...base } : { errors: 'remount-ro', noatime: false, strictatime: false };
  for (const raw of data.split(',')) {
    const opt = raw.trim();
    if (opt === '') continue;
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const val = eq < 0 ? null : opt.slice(eq + 1);
    switch (key) {
      case 'errors':
        if (val !== 'continue' && val !== 'remount-ro' && val !== 'panic') return { bad: opt };
        o.errors = val;
        break;
      case 'noatime':
        o.noatime = true;
        o.strictatime = false;
        break;
      case 'relatime':
      case 'atime':
        o.noatime = false;
        o.strictatime = false;
        break;
      case 'strictatime':
        o.noatime = false;
        o.strictatime = true;
        break;
      case 'data':
        // No journal: ordered and writeback mean the same here; journal needs a journal.
        if (val !== 'ordered' && val !== 'writeback') return { bad: opt };
        break;
      case 'commit':
        if (val === null || !/^\d+$/.test(val)) return { bad: opt };
        break;
      // Accepted and without effect here (no journal, xattrs, ACLs, discard or quota support).
      case 'defaults':
      case 'ro':
      case 'rw':
      case 'nodiratime':
      case 'diratime':
      case 'lazytime':
      case 'nolazytime':
      case 'delalloc':
      case 'nodelalloc':
      case 'barrier':
      case 'nobarrier':
      case 'user_xattr':
      case 'nouser_xattr':
      case 'acl':
      case 'noacl':
      case 'discard':
      case 'nodiscard':
      case 'noload':
      case 'norecovery':
      case 'auto_da_alloc':
      case 'noauto_da_alloc':
        if (val !== null) return { bad: opt };
        break;
      default:
        return { bad: opt };
    }
  }
  return o;
}

/** ext4_statfs. */
function ext4Statfs(sb: SuperBlock): KStatfs {
  const sbi = sbInfo(sb);
  const st = ext4Call(sbi, 'ext4_statfs', () => sbi.engine.statfs());
  if (typeof st === 'number') return simpleStatfs(sb);
  return {
    type: EXT4_SUPER_MAGIC,
    bsize: st.bsize,
    blocks: st.blocks,
    bfree: st.bfree,
    bavail: st.bavail,
    files: st.files,
    ffree: st.ffree,
    namelen: st.namelen,
    frsize: st.frsize,
    flags: sb.readonly ? ST_RDONLY : 0,
  };
}

/**
 * Write back every dirty page and inode, then the engine's metadata (superblock, descriptors,
 * bitmaps), then the buffer cache; `wait` adds a device flush (sync_filesystem + ext4_sync_fs).
 * Returns 0 or the first error.
 */
export function ext4SyncFs(sbi: Ext4SbInfo, wait = true): number {
  if (sbi.dead) return 0;
  let err = 0;
  if (!sbi.sb.readonly) {
    for (const inode of [...sbi.icache.values()]) {
      const r = ext4WritebackInode(inode);
      if (r < 0 && err === 0) err = r;
    }
    const s = ext4Call(sbi, 'ext4_sync_fs', () => sbi.engine.sync());
    if (typeof s === 'number' && s < 0 && err === 0) err = s;
  }
  const f = wait ? sbi.disk.bdev.flush() : sbi.disk.bdev.writeback();
  return err || f;
}

/**
 * Drop clean page-cache pages of inodes no process maps (the shrinker's share of the LRU):
 * they read back from the disk when needed. Mapped inodes keep theirs.
 */
export function ext4ShrinkCache(sbi: Ext4SbInfo): void {
  sbi.pagesAdded = 0;
  for (const inode of sbi.icache.values()) {
    const m = inode.mapping;
    if (m.nrpages === 0 || m.mms.size > 0) continue;
    if (m.dirty.size === 0) {
      m.release();
      continue;
    }
    let runStart = -1;
    let prev = -2;
    const flush = (): void => {
      if (runStart >= 0) m.punchHole(runStart, prev + 1);
      runStart = -1;
    };
    for (const idx of m.indices()) {
      if (m.dirty.has(idx)) {
        flush();
        continue;
      }
      if (runStart < 0 || idx !== prev + 1) {
        flush();
        runStart = idx;
      }
      prev = idx;
    }
    flush();
  }
}

/** ext4_put_super: write everything back, free orphans, mark the filesystem clean, flush. */
function ext4PutSuper(sb: SuperBlock): void {
  const sbi = sbInfo(sb);
  if (sbi.dead) return;
  ext4SyncFs(sbi, false);
  // Inodes unlinked while open (orphans): nobody can reach them after the unmount.
  for (const inode of [...sbi.icache.values()]) if (inode.nlink === 0) ext4Evict(inode);
  ext4Call(sbi, 'ext4_put_super', () => sbi.engine.unmount());
  sbi.disk.bdev.flush();
  sbi.dead = true;
  sbi.icache.clear();
  live.delete(sbi);
  if (mountedByDisk.get(sbi.disk) === sb) mountedByDisk.delete(sbi.disk);
  sbi.log(`EXT4-fs (${sbi.devName}): unmounting filesystem.`);
}

/** ext4_reconfigure: options, and read-only ↔ read-write (the engine is mounted again in the new mode). */
function ext4Remount(sb: SuperBlock, flags: number, data: string): number {
  const sbi = sbInfo(sb);
  const opts = parseExt4Options(data, sbi.opts);
  if ('bad' in opts) {
    sbi.log(`EXT4-fs (${sbi.devName}): Unrecognized mount option "${opts.bad}" or missing value`);
    return -EINVAL;
  }
  sbi.opts = opts;
  const wantRo = (flags & SB_RDONLY) !== 0;
  if (wantRo === sbi.engine.readOnly) return 0;
  if (!wantRo && sbi.disk.readOnly) return -EROFS;
  if (wantRo) ext4SyncFs(sbi, true);
  const r = ext4Call(sbi, 'ext4_reconfigure', () => {
    sbi.engine.unmount();
    sbi.engine = Engine.mount(sbi.disk.bdev, { readOnly: wantRo, log: sbi.log, now: () => sb.time.realtimeNs() / 1e6 });
    return 0;
  });
  if (r < 0) return r;
  if (!wantRo && sbi.engine.readOnly) return -EROFS; // the engine refused (errors, unknown features)
  return 0;
}

function ext4ShowOptions(sb: SuperBlock): string {
  const o = sbInfo(sb).opts;
  return o.errors === 'remount-ro' ? '' : `,errors=${o.errors}`;
}

export const ext4SuperOperations: SuperOperations = {
  statfs: ext4Statfs,
  syncFs: (sb) => ext4SyncFs(sbInfo(sb), true),
  putSuper: ext4PutSuper,
  remountFs: ext4Remount,
  showOptions: ext4ShowOptions,
};

/** Largest file: 2^32 - 1 blocks (ext4_max_size with extents). */
function maxFileSize(blockSize: number): number {
  return (2 ** 32 - 1) * blockSize;
}

/** ext4_fill_super (via get_tree_bdev): mount the engine on the disk and make the root dentry. */
function ext4Mount(type: FileSystemType, ctx: MountContext): SuperBlock | number {
  const kernel = ctx.kernel;
  const log = (m: string): void => kernel.log(m);
  const disk = ctx.disk;
  if (!(disk instanceof GenDisk)) return -ENOTBLK;
  const existing = mountedByDisk.get(disk);
  if (existing) return existing;
  const opts = parseExt4Options(ctx.data ?? '');
  if ('bad' in opts) {
    log(`EXT4-fs (${disk.name}): Unrecognized mount option "${opts.bad}" or missing value`);
    return -EINVAL;
  }
  const readOnly = (ctx.flags & MS_RDONLY) !== 0 || disk.readOnly;
  // The engine does not know the device's name: put it in its messages as ext4_msg does.
  const engineLog = (m: string): void => log(m.replace(/^EXT4-fs \([^)]*\)/, `EXT4-fs (${disk.name})`));
  let engine;
  try {
    engine = Engine.mount(disk.bdev, { readOnly, log: engineLog, now: () => kernel.clock.realtimeNs() / 1e6 });
  } catch (e) {
    log(`EXT4-fs (${disk.name}): ${e instanceof Error ? e.message : String(e)}`);
    log(`VFS: Can't find ${type.name} filesystem on ${disk.name}`);
    return -EINVAL;
  }
  const refused = typeRefuses(type.name, engine, readOnly);
  if (refused) {
    engine.unmount();
    log(`EXT4-fs (${disk.name}): ${refused}`);
    return -EINVAL;
  }
  return ext4FillSuper(type, kernel, disk, engine, opts);
}

/**
 * ext4_fill_super's second half: the superblock, its root inode and dentry, on an engine already
 * mounted on `disk` (split out so tests can drive the glue with any engine of the contract).
 */
export function ext4FillSuper(
  type: FileSystemType,
  kernel: Kernel,
  disk: GenDisk,
  engine: Ext4Engine,
  opts: Ext4Options,
): SuperBlock | number {
  const log = (m: string): void => kernel.log(m);
  const sbi = new Ext4SbInfo(engine, disk, opts, log, null);
  const sb = new SuperBlock(type, ext4SuperOperations, makeDev(disk.major, disk.minor), {
    realtimeNs: () => kernel.clock.realtimeNs(),
  });
  sb.fsInfo = sbi;
  sbi.sb = sb;
  sb.magic = EXT4_SUPER_MAGIC;
  sb.blocksize = engine.blockSize;
  sb.maxBytes = maxFileSize(engine.blockSize);
  sb.bdev = sb.dev;
  if (engine.readOnly) sb.flags |= SB_RDONLY;
  const root = ext4Iget(sbi, 2);
  if (typeof root === 'number') {
    ext4Call(sbi, 'ext4_fill_super', () => engine.unmount());
    log(`EXT4-fs (${disk.name}): get root inode failed`);
    return root;
  }
  sb.root = new Dentry('/', null, root);
  mountedByDisk.set(disk, sb);
  live.set(sbi, kernel);
  log(
    `EXT4-fs (${disk.name}): mounted filesystem ${engine.readOnly ? 'ro' : 'r/w'} without journal. Quota mode: none.`,
  );
  return sb;
}

// The features the ext2 and ext3 drivers knew (EXT2_FEATURE_*_SUPP, EXT3_FEATURE_*_SUPP).
const EXT2_INCOMPAT_SUPP = INCOMPAT_FILETYPE | INCOMPAT_META_BG;
const EXT3_INCOMPAT_SUPP = EXT2_INCOMPAT_SUPP | INCOMPAT_RECOVER;
const EXT2_RO_COMPAT_SUPP = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_BTREE_DIR;

/**
 * ext4_feature_set_ok for the ext2 and ext3 names (the ext4 driver serves them): a filesystem
 * using features those drivers never had is "not ext2/ext3", so mount -t ext2 fails and the
 * type probe goes on to ext4; ext3 also needs a journal. Returns the refusal message or null.
 */
function typeRefuses(name: string, engine: Ext4Engine, readOnly: boolean): string | null {
  if (name === 'ext4') return null;
  const sb = (engine as Ext2Fs).info.sb;
  const incompat = name === 'ext3' ? EXT3_INCOMPAT_SUPP : EXT2_INCOMPAT_SUPP;
  if (sb.featureIncompat & ~incompat) return `couldn't mount as ${name} due to feature incompatibilities`;
  if (name === 'ext3' && !(sb.featureCompat & COMPAT_HAS_JOURNAL))
    return "couldn't mount as ext3 due to feature incompatibilities";
  if (!readOnly && sb.featureRoCompat & ~EXT2_RO_COMPAT_SUPP)
    return `couldn't mount as ${name} due to feature incompatibilities`;
  return null;
}

/** A file_system_type with get_tree (the contract's FileSystemType.mount). */
function makeType(name: string): FileSystemType & { mount(ctx: MountContext): SuperBlock | number } {
  const t = {
    name,
    fsFlags: FS_REQUIRES_DEV,
    mount: (ctx: MountContext): SuperBlock | number => ext4Mount(t, ctx),
  };
  return t;
}

export const ext4FsType = makeType('ext4');
export const ext3FsType = makeType('ext3');
export const ext2FsType = makeType('ext2');

/** mount_root for the boot code: ext4 from `disk`, read-only or read-write. */
export function mountRootDisk(kernel: Kernel, disk: GenDisk, readOnly: boolean, data = ''): SuperBlock | number {
  return ext4FsType.mount({ kernel, source: `/dev/${disk.name}`, flags: readOnly ? MS_RDONLY : 0, data, disk });
}

/** Sync every ext4 filesystem of `kernel` (what the flusher does each interval, without device flushes). */
export function ext4WritebackAll(kernel: unknown, wait = false): number {
  let err = 0;
  for (const [sbi, k] of live) {
    if (k !== kernel) continue;
    const r = ext4SyncFs(sbi, wait);
    if (r < 0 && err === 0) err = r;
    if (sbi.pagesAdded > 0) ext4ShrinkCache(sbi);
  }
  return err;
}

const timers = new Map<unknown, ReturnType<typeof setInterval>>();

/** Start the periodic write-back (wb_workfn every dirty_writeback_centisecs) for `kernel`. */
export function startWriteback(kernel: Kernel, intervalMs = WRITEBACK_INTERVAL_MS): void {
  if (timers.has(kernel)) return;
  const t = setInterval(() => {
    try {
      ext4WritebackAll(kernel, false);
    } catch (e) {
      kernel.log(`writeback: ${e instanceof Error ? e.message : String(e)}`);
    }
  }, intervalMs);
  t.unref?.();
  timers.set(kernel, t);
}

export function stopWriteback(kernel: Kernel): void {
  const t = timers.get(kernel);
  if (t !== undefined) clearInterval(t);
  timers.delete(kernel);
}
