/**
 * A read-write ext2/ext3/ext4 filesystem over a BlockDevice, at inode-number level (the engine the
 * ext4 VFS glue drives). All calls are synchronous. User-caused conditions return -errno; on-disk
 * corruption throws Ext2Error (never a raw host exception).
 *
 * Consistency model: no journal. Every changed metadata block (inode table block, directory
 * block, extent/indirect block) is written through at once; bitmaps, group descriptors and the
 * superblock are cached and written at the end of each mutating call (flushMeta), so the image
 * is consistent between calls. A clean journal is left alone, as ext4 with the journal idle.
 */
import type { BlockDevice } from './block_device.js';
import { SECTOR_SIZE } from './block_device.js';
import { bitmapCsum, freeBlocks, groupFirstBlock, newBlocks } from './balloc.js';
import { crc32cUpdate } from './crc32c.js';
import { blockMap, indMapBlocks, indTruncate, indirectMaxBlocks } from './block_map.js';
import {
  COMPAT_DIR_INDEX,
  EXT2_ROOT_INO,
  EXT4_EXTENTS_FL,
  EXT4_INDEX_FL,
  EXT4_INLINE_DATA_FL,
  FT_DIR,
  FT_UNKNOWN,
  INCOMPAT_EXTENTS,
  INCOMPAT_FILETYPE,
  INCOMPAT_RECOVER,
  RO_COMPAT_BTREE_DIR,
  RO_COMPAT_DIR_NLINK,
  RO_COMPAT_EXTRA_ISIZE,
  RO_COMPAT_GDT_CSUM,
  RO_COMPAT_HUGE_FILE,
  RO_COMPAT_LARGE_FILE,
  RO_COMPAT_METADATA_CSUM,
  RO_COMPAT_SPARSE_SUPER,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  le16,
  le32,
  modeToFileType,
} from './disk_layout.js';
import {
  bytesToName,
  dirRecLen,
  initDirTail,
  nameToBytes,
  parseDirBlock,
  putDirent,
  setDirTailCsum,
  verifyDirBlockTail,
  type DirEntryInfo,
} from './dir.js';
import { Ext2Error, corrupt, ioError, invalid } from './errors.js';
import {
  collectExtents,
  emptyExtentRoot,
  extentLookup,
  extentMap,
  insertExtent,
  writeExtentTree,
  EXT_MAX_LEN,
  type Extent,
} from './extents.js';
import { freeInode, loadInodeBitmap, newInode } from './ialloc.js';
import { DX_ROOT_COUNT_OFF, setDxCsum } from './htree.js';
import {
  encodeInode,
  inodeCsumSeed,
  inodeLocation,
  readInode,
  setInodeChecksum,
  type BlockSource,
  type Ext2Inode,
} from './inode.js';
import { addEntry, deleteEntry, dirCtx, findEntry, isEmptyDir, setEntry, type DirCtx } from './namei.js';
import {
  EXT4_ERROR_FS,
  EXT4_VALID_FS,
  encodeGroupDesc,
  encodeSuperBlock,
  groupDescBytes,
  put16,
  put32,
  readBytes,
  readSuper,
  type FsInfo,
} from './super.js';
import { fastSymlinkTarget, isFastSymlink } from './symlink.js';
import {
  EEXIST,
  EFBIG,
  EINVAL,
  EISDIR,
  EMLINK,
  ENAMETOOLONG,
  ENOENT,
  ENOSPC,
  ENOTDIR,
  ENOTEMPTY,
  EPERM,
  EROFS,
  EUCLEAN,
} from '../../errno.js';

export type { DirEntryInfo } from './dir.js';
export type { Ext2Inode } from './inode.js';

export interface Ext2Statfs {
  type: number;
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  namelen: number;
  frsize: number;
}

export interface Ext2MountOptions {
  readOnly?: boolean;
  log?: (msg: string) => void;
  /** Wall-clock source (ms since the epoch); defaults to Date.now. */
  now?: () => number;
}

/** RO_COMPAT features this engine keeps consistent when writing. Others force a read-only mount. */
const RW_RO_COMPAT =
  RO_COMPAT_SPARSE_SUPER |
  RO_COMPAT_LARGE_FILE |
  RO_COMPAT_BTREE_DIR |
  RO_COMPAT_HUGE_FILE |
  RO_COMPAT_GDT_CSUM |
  RO_COMPAT_DIR_NLINK |
  RO_COMPAT_EXTRA_ISIZE |
  RO_COMPAT_METADATA_CSUM;

/** EXT4_LINK_MAX: beyond it a directory's nlink sticks at 1 (dir_nlink). */
const EXT4_LINK_MAX = 65000;
export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;

/** Run `fn`, turning any non-Ext2Error (a bug or an unexpected shape of corruption) into an Ext2Error. */
function guard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Ext2Error) throw e;
    throw ioError(`EXT4-fs: ${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const isDirMode = (mode: number): boolean => (mode & S_IFMT) === S_IFDIR;

export class Ext2Fs implements BlockSource {
  readonly info: FsInfo;
  /** The journal needs recovery; we read the filesystem as is (read-only, like `noload`). */
  readonly needsRecovery: boolean;
  private ro: boolean;
  private mounted = true;
  private readonly logFn: (msg: string) => void;
  private readonly clock: () => number;

  // Cached bitmaps and what must be written back (internal to the ext2 modules).
  readonly blockBitmaps = new Map<number, Uint8Array>();
  readonly inodeBitmaps = new Map<number, Uint8Array>();
  readonly dirtyBlockBitmaps = new Set<number>();
  readonly dirtyInodeBitmaps = new Set<number>();
  readonly dirtyGroups = new Set<number>();
  private sbDirty = false;

  private constructor(
    readonly dev: BlockDevice,
    info: FsInfo,
    opts: Ext2MountOptions,
  ) {
    this.info = info;
    this.needsRecovery = (info.sb.featureIncompat & INCOMPAT_RECOVER) !== 0;
    this.logFn = opts.log ?? (() => {});
    this.clock = opts.now ?? Date.now;
    this.ro = opts.readOnly ?? false;
  }

  /**
   * Read and validate the superblock and group descriptors (ext4_fill_super). Throws only
   * Ext2Error. A read-write mount is downgraded to read-only (with a log line) for a journal
   * needing recovery, unknown ro_compat features or an error-marked filesystem; a read-write mount
   * with bad descriptor checksums is refused, as ext4_check_descriptors does.
   */
  static mount(dev: BlockDevice, opts: Ext2MountOptions = {}): Ext2Fs {
    return guard('mount', () => {
      const fs = new Ext2Fs(dev, readSuper(dev), opts);
      const { sb } = fs.info;
      if (!fs.ro) {
        const unknownRo = sb.featureRoCompat & ~RW_RO_COMPAT;
        if (fs.needsRecovery)
          fs.forceRo('INFO: recovery required on readonly filesystem; journal not replayed, mounting read-only');
        else if (unknownRo)
          fs.forceRo(
            `couldn't mount RDWR because of unsupported optional features (0x${unknownRo.toString(16)}); mounting read-only`,
          );
        else if (sb.state & EXT4_ERROR_FS)
          fs.forceRo('warning: mounting fs with errors, running e2fsck is recommended; mounting read-only');
      }
      if (!fs.ro) {
        const bad = fs.info.warnings.find((w) => /Checksum for group/.test(w));
        if (bad) throw corrupt(`${bad}; group descriptors corrupted!`);
        if (!(sb.state & EXT4_VALID_FS)) fs.log('warning: mounting unchecked fs, running e2fsck is recommended');
        // ext4_setup_super: count the mount, mark the filesystem not clean while mounted rw.
        const now = fs.nowSec();
        sb.state &= ~EXT4_VALID_FS;
        sb.mtime = now;
        sb.wtime = now;
        put16(fs.info.sbRaw, 0x34, (le16(fs.info.sbRaw, 0x34) + 1) & 0xffff);
        fs.sbDirty = true;
        fs.flushMeta();
      }
      return fs;
    });
  }

  private forceRo(why: string): void {
    this.ro = true;
    this.log(why);
  }

  private log(msg: string): void {
    this.logFn(`EXT4-fs (${this.info.sb.volumeName || 'dev'}): ${msg}`);
  }

  get readOnly(): boolean {
    return this.ro || !this.mounted;
  }

  get blockSize(): number {
    return this.info.blockSize;
  }

  // -------------------------------------------------------------------------------------------
  // Block and metadata I/O (shared with the other ext2 modules)
  // -------------------------------------------------------------------------------------------

  /**
   * One filesystem block. Metadata reads go through a small write-through cache (the buffer
   * heads of inode tables, directories, extent and indirect blocks); the returned array is shared,
   * so callers that modify a block take a copy first.
   */
  readBlock(block: number): Uint8Array {
    if (!Number.isSafeInteger(block) || block < 0 || block >= this.info.sb.blocksCount) {
      throw corrupt(`EXT4-fs error: block ${block} is outside the filesystem (${this.info.sb.blocksCount} blocks)`);
    }
    const hit = this.bcache.get(block);
    if (hit) {
      // refresh its place in the LRU order
      this.bcache.delete(block);
      this.bcache.set(block, hit);
      return hit;
    }
    const data = readBytes(this.dev, block * this.info.blockSize, this.info.blockSize);
    this.cachePut(block, data);
    return data;
  }

  private readonly bcache = new Map<number, Uint8Array>();
  private static readonly BCACHE_MAX = 2048;

  private cachePut(block: number, data: Uint8Array): void {
    this.bcache.delete(block);
    this.bcache.set(block, data);
    if (this.bcache.size > Ext2Fs.BCACHE_MAX) {
      const oldest = this.bcache.keys().next().value;
      if (oldest !== undefined) this.bcache.delete(oldest);
    }
  }

  /** Read `count` consecutive blocks in one device request. */
  readRun(block: number, count: number): Uint8Array {
    if (!Number.isSafeInteger(block) || block < 0 || block + count > this.info.sb.blocksCount) {
      throw corrupt(`EXT4-fs error: blocks ${block}+${count} are outside the filesystem`);
    }
    return readBytes(this.dev, block * this.info.blockSize, count * this.info.blockSize);
  }

  /** Write whole blocks starting at `block` (data.length a multiple of the block size). */
  writeBlock(block: number, data: Uint8Array): void {
    const bs = this.info.blockSize;
    if (this.readOnly) throw new Ext2Error('EXT4-fs: write to a read-only filesystem', EROFS);
    if (
      data.length % bs !== 0 ||
      !Number.isSafeInteger(block) ||
      block < this.info.sb.firstDataBlock ||
      block + data.length / bs > this.info.sb.blocksCount
    ) {
      throw corrupt(`EXT4-fs error: write of ${data.length} bytes to block ${block} is outside the filesystem`);
    }
    try {
      this.dev.writeBlocks((block * bs) / SECTOR_SIZE, data);
    } catch (e) {
      throw ioError(`EXT4-fs: I/O error writing block ${block}: ${(e as Error).message}`);
    }
    // Keep the metadata cache coherent: refresh a cached single block, drop cached blocks in a run.
    if (data.length === bs) {
      if (this.bcache.has(block)) this.bcache.set(block, data.slice());
    } else if (this.bcache.size) {
      for (let b = block; b < block + data.length / bs; b++) this.bcache.delete(b);
    }
  }

  gdBytes(g: number): Uint8Array {
    return groupDescBytes(this.info, g);
  }

  nowTime(): { sec: number; nsec: number } {
    const ms = this.clock();
    const sec = Math.floor(ms / 1000);
    return { sec, nsec: Math.floor((ms - sec * 1000) * 1e6) };
  }

  private nowSec(): number {
    return this.nowTime().sec >>> 0;
  }

  /** ext4_inode_to_goal_block: start allocating at the first block of the inode's group. */
  inodeGoal(ino: number): number {
    const g = Math.min(Math.floor((ino - 1) / this.info.sb.inodesPerGroup), this.info.groupCount - 1);
    return groupFirstBlock(this.info, g);
  }

  getInode(ino: number): Ext2Inode {
    return readInode(this, ino);
  }

  /** Write every field of `inode` (block map, i_blocks, dtime too) with its checksum. */
  putInode(inode: Ext2Inode): void {
    const loc = inodeLocation(this.info, inode.ino);
    const blk = this.readBlock(loc.block).slice();
    encodeInode(this.info, blk.subarray(loc.offset, loc.offset + this.info.inodeSize), inode, true);
    this.writeBlock(loc.block, blk);
  }

  /**
   * Write the cached bitmaps, group descriptors (with bitmap checksums and bg_checksum) and the
   * superblock that changed (ext4_commit_super and the bitmap buffer writes).
   */
  flushMeta(): void {
    if (this.ro) return;
    const info = this.info;
    const groups = new Set<number>([...this.dirtyGroups, ...this.dirtyBlockBitmaps, ...this.dirtyInodeBitmaps]);
    if (!groups.size && !this.sbDirty) return;
    const gdBlocks = new Set<number>();
    const dpb = info.blockSize / info.descSize;
    for (const g of groups) {
      const gd = info.groups[g];
      let bbc: number | null = null;
      let ibc: number | null = null;
      const bb = this.blockBitmaps.get(g);
      const ib = this.inodeBitmaps.get(g);
      if (bb && this.dirtyBlockBitmaps.has(g)) {
        this.writeBlock(gd.blockBitmap, bb);
        bbc = bitmapCsum(info, bb, info.sb.blocksPerGroup);
      }
      if (ib && this.dirtyInodeBitmaps.has(g)) {
        this.writeBlock(gd.inodeBitmap, ib);
        ibc = bitmapCsum(info, ib, info.sb.inodesPerGroup);
      }
      encodeGroupDesc(info, g, bbc, ibc);
      gdBlocks.add(Math.floor(g / dpb));
    }
    for (const i of gdBlocks) this.writeBlock(info.gdBlocks[i].block, info.gdBlocks[i].data);
    info.sb.wtime = this.nowSec();
    encodeSuperBlock(info);
    try {
      this.dev.writeBlocks(1024 / SECTOR_SIZE, info.sbRaw);
    } catch (e) {
      throw ioError(`EXT4-fs: I/O error writing the superblock: ${(e as Error).message}`);
    }
    this.dirtyBlockBitmaps.clear();
    this.dirtyInodeBitmaps.clear();
    this.dirtyGroups.clear();
    this.sbDirty = false;
  }

  /** A mutating operation: -EROFS when read-only, errors wrapped, metadata flushed afterwards. */
  private mutate(what: string, fn: () => number): number {
    if (this.readOnly) return -EROFS;
    try {
      return guard(what, () => {
        try {
          return fn();
        } finally {
          this.flushMeta();
        }
      });
    } catch (e) {
      if (e instanceof Ext2Error && e.errno === EUCLEAN) this.markErrors(e.message);
      throw e;
    }
  }

  /**
   * ext4_handle_error with errors=remount-ro: record EXT4_ERROR_FS in the superblock (so e2fsck
   * and the next mount know) and stop writing.
   */
  private markErrors(msg: string): void {
    if (this.ro) return;
    this.log(`error: ${msg}; remounting filesystem read-only`);
    try {
      this.info.sb.state |= EXT4_ERROR_FS;
      this.sbDirty = true;
      this.flushMeta();
    } catch {
      // the device itself failed; nothing more to record
    }
    this.ro = true;
  }

  // -------------------------------------------------------------------------------------------
  // Block mapping
  // -------------------------------------------------------------------------------------------

  private hasExtents(inode: Ext2Inode): boolean {
    return (inode.flags & EXT4_EXTENTS_FL) !== 0;
  }

  /** Physical block for logical block `lblk` of `inode`, or 0 for a hole. */
  bmap(inode: Ext2Inode, lblk: number): number {
    if (inode.flags & EXT4_INLINE_DATA_FL) throw invalid(`EXT4-fs: inode ${inode.ino}: inline data is not supported`);
    return inode.flags & EXT4_EXTENTS_FL
      ? extentMap(this, inode.raw.block, lblk, inode.ino)
      : blockMap(this, inode.raw.block, lblk, inode.ino);
  }

  bmapInode(inode: Ext2Inode, lblk: number): number {
    return this.bmap(inode, lblk);
  }

  /** Largest file size in bytes (ext4_max_size / ext4_max_bitmap_size). */
  maxBytes(inode: Ext2Inode): number {
    const bs = this.blockSize;
    let max = this.hasExtents(inode) ? (0x1_0000_0000 - 1) * bs : indirectMaxBlocks(bs / 4) * bs;
    if (!(this.info.sb.featureRoCompat & RO_COMPAT_LARGE_FILE)) max = Math.min(max, 0x7fffffff);
    return max;
  }

  /**
   * ext4_map_blocks on an inode held in memory: the run at `lblk` (pblk 0 = hole), allocating
   * with `create`. `fresh` says the blocks were just allocated (their contents are garbage).
   * The caller writes the inode afterwards (i_block / i_blocks may have changed).
   */
  mapInode(
    inode: Ext2Inode,
    lblk: number,
    maxLen: number,
    create: boolean,
  ): { pblk: number; len: number; fresh: boolean } | number {
    if (inode.flags & EXT4_INLINE_DATA_FL) throw invalid(`EXT4-fs: inode ${inode.ino}: inline data is not supported`);
    if (!Number.isSafeInteger(lblk) || lblk < 0) return -EINVAL;
    maxLen = Math.max(1, Math.min(maxLen, EXT_MAX_LEN));
    if (!this.hasExtents(inode)) {
      if (lblk >= indirectMaxBlocks(this.blockSize / 4)) return -EFBIG;
      return indMapBlocks(this, inode, lblk, maxLen, create);
    }
    if (lblk >= 0xffffffff) return -EFBIG;
    const run = extentLookup(this, inode.raw.block, lblk, inode.ino);
    if (run.pblk !== 0 && !run.unwritten) return { pblk: run.pblk, len: Math.min(run.len, maxLen), fresh: false };
    if (!create)
      return { pblk: run.pblk && 0, len: Math.max(1, Math.min(run.len, maxLen, 0xffffffff - lblk)), fresh: false };
    const { extents, treeBlocks } = collectExtents(this, inode);
    if (run.unwritten) {
      // Writing into an unwritten extent (ext4_ext_convert_to_initialized): split it so only the
      // written range [lblk, lblk+len) becomes initialised; the parts before and after stay
      // unwritten (they may lie past i_size, which only unwritten extents may). The range is
      // reported fresh so the caller zero-fills what it does not overwrite.
      const i = extents.findIndex((x) => x.lblk <= lblk && lblk < x.lblk + x.len);
      if (i < 0) throw corrupt(`EXT4-fs error (inode ${inode.ino}): unwritten extent vanished`);
      const e = extents[i];
      const len = Math.min(e.lblk + e.len - lblk, maxLen);
      const off = lblk - e.lblk;
      const pieces: Extent[] = [];
      if (off > 0) pieces.push({ lblk: e.lblk, len: off, pblk: e.pblk, unwritten: true });
      pieces.push({ lblk, len, pblk: e.pblk + off, unwritten: false });
      if (off + len < e.len)
        pieces.push({ lblk: lblk + len, len: e.len - off - len, pblk: e.pblk + off + len, unwritten: true });
      let list = [...extents.slice(0, i), ...extents.slice(i + 1)];
      for (const p of pieces) list = insertExtent(list, p);
      const r = writeExtentTree(this, inode, list, treeBlocks);
      if (r < 0) return r;
      return { pblk: e.pblk + off, len, fresh: true };
    }
    // A hole: allocate up to the next extent, near the previous extent's end.
    let prev: Extent | null = null;
    let next = 0xffffffff;
    for (const x of extents) {
      if (x.lblk + x.len <= lblk) prev = x;
      else if (x.lblk > lblk) {
        next = x.lblk;
        break;
      }
    }
    const want = Math.min(maxLen, next - lblk);
    const goal = prev ? prev.pblk + prev.len + (lblk - (prev.lblk + prev.len)) : this.inodeGoal(inode.ino);
    const got = newBlocks(this, goal, want);
    if (!got) return -ENOSPC;
    const list = insertExtent(extents, { lblk, len: got.len, pblk: got.start, unwritten: false });
    const oldBlocks = inode.blocks;
    const r = writeExtentTree(this, inode, list, treeBlocks);
    if (r < 0) {
      freeBlocks(this, got.start, got.len, inode.ino);
      inode.blocks = oldBlocks;
      return r;
    }
    inode.blocks += (got.len * this.blockSize) / 512;
    return { pblk: got.start, len: got.len, fresh: true };
  }

  /** ext4_map_blocks by inode number: the run at `lblk`; with `create`, new blocks are zeroed. */
  mapBlocks(ino: number, lblk: number, maxLen: number, create: boolean): { pblk: number; len: number } | number {
    if (create && this.readOnly) return -EROFS;
    const body = (): number | { pblk: number; len: number } => {
      const inode = this.getInode(ino);
      if (!this.hasBlockMap(inode)) return -EINVAL;
      const r = this.mapInode(inode, lblk, maxLen, create);
      if (typeof r === 'number') return r;
      if (r.fresh) {
        this.writeBlock(r.pblk, new Uint8Array(r.len * this.blockSize));
        this.putInode(inode);
      }
      return { pblk: r.pblk, len: r.len };
    };
    if (!create) return guard(`mapping inode ${ino}`, body);
    let out: number | { pblk: number; len: number } = 0;
    this.mutate(`mapping inode ${ino}`, () => {
      out = body();
      return 0;
    });
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Reading
  // -------------------------------------------------------------------------------------------

  statfs(): Ext2Statfs {
    const { sb } = this.info;
    const bfree = sb.freeBlocksCount;
    return {
      type: 0xef53,
      bsize: this.info.blockSize,
      frsize: this.info.blockSize,
      blocks: sb.blocksCount,
      bfree,
      bavail: Math.max(0, bfree - sb.rBlocksCount),
      files: sb.inodesCount,
      ffree: sb.freeInodesCount,
      namelen: 255,
    };
  }

  readInode(ino: number): Ext2Inode {
    return guard(`reading inode ${ino}`, () => readInode(this, ino));
  }

  /**
   * Write the caller-owned fields of an inode: mode, uid, gid, size, nlink, times and the user
   * flags (ext4_write_inode). The block map, i_blocks and the filesystem's own flags stay as on disk.
   */
  writeInode(ino: number, inode: Ext2Inode): void {
    if (this.readOnly) throw new Ext2Error('EXT4-fs: write to a read-only filesystem', EROFS);
    this.mutate(`writing inode ${ino}`, () => {
      const loc = inodeLocation(this.info, ino);
      const blk = this.readBlock(loc.block).slice();
      readInode(this, ino); // verify what we overwrite
      encodeInode(this.info, blk.subarray(loc.offset, loc.offset + this.info.inodeSize), { ...inode, ino }, false);
      this.writeBlock(loc.block, blk);
      return 0;
    });
  }

  /** Read up to `len` bytes at `pos`, clipped to i_size; holes read as zeros. */
  readFile(ino: number, pos: number, len: number): Uint8Array {
    return guard(`reading inode ${ino}`, () => this.readInodeData(readInode(this, ino), pos, len));
  }

  readInodeData(inode: Ext2Inode, pos: number, len: number): Uint8Array {
    if (pos < 0 || len < 0) throw new Ext2Error('negative position or length', EINVAL);
    const end = Math.min(inode.size, pos + len);
    if (end <= pos) return new Uint8Array(0);
    const out = new Uint8Array(end - pos);
    this.readInto(inode, pos, out);
    return out;
  }

  /** Fill `out` from byte `pos` (the caller clipped it to i_size), one device request per run. */
  private readInto(inode: Ext2Inode, pos: number, out: Uint8Array): void {
    const bs = this.info.blockSize;
    const end = pos + out.length;
    for (let p = pos; p < end;) {
      const lblk = Math.floor(p / bs);
      const inBlk = p % bs;
      const blocks = Math.ceil((inBlk + (end - p)) / bs);
      const r = this.mapInode(inode, lblk, blocks, false);
      if (typeof r === 'number') throw corrupt(`EXT4-fs error (inode ${inode.ino}): cannot map block ${lblk}`);
      const n = Math.min(r.len * bs - inBlk, end - p);
      if (r.pblk !== 0) {
        const data = this.readRun(r.pblk, Math.ceil((inBlk + n) / bs));
        out.set(data.subarray(inBlk, inBlk + n), p - pos);
      } else out.fill(0, p - pos, p - pos + n);
      p += n;
    }
  }

  /** read(2) at inode level: bytes read into `buf` (short at EOF); holes read as zeros. */
  read(ino: number, pos: number, buf: Uint8Array): number {
    return guard(`reading inode ${ino}`, () => {
      const inode = readInode(this, ino);
      if (!Number.isSafeInteger(pos) || pos < 0) return -EINVAL;
      if (isDirMode(inode.mode)) return -EISDIR;
      const n = Math.max(0, Math.min(buf.length, inode.size - pos));
      if (n <= 0) return 0;
      if (!this.hasBlockMap(inode)) {
        if ((inode.mode & S_IFMT) !== S_IFLNK) return 0;
        buf.set(fastSymlinkTarget(inode).subarray(pos, pos + n));
        return n;
      }
      this.readInto(inode, pos, buf.subarray(0, n));
      return n;
    });
  }

  readdir(dirIno: number): DirEntryInfo[] {
    return guard(`reading directory ${dirIno}`, () => {
      const dir = readInode(this, dirIno);
      if ((dir.mode & S_IFMT) !== S_IFDIR) throw new Ext2Error(`inode ${dirIno} is not a directory`, ENOTDIR);
      const hasFt = (this.info.sb.featureIncompat & INCOMPAT_FILETYPE) !== 0;
      const bs = this.info.blockSize;
      if (dir.size > 0x1_0000_0000)
        throw corrupt(`EXT4-fs error (inode ${dirIno}): directory size ${dir.size} too large`);
      const nblocks = Math.ceil(dir.size / bs);
      const out: DirEntryInfo[] = [];
      for (let l = 0; l < nblocks; l++) {
        const phys = this.bmap(dir, l);
        if (phys === 0) continue; // a hole in a directory: ext4 skips it
        const blk = this.readBlock(phys);
        if (this.info.metadataCsum)
          verifyDirBlockTail(blk, bs, inodeCsumSeed(this.info, dirIno, dir.generation), dirIno, l);
        for (const e of parseDirBlock(blk, bs, hasFt, dirIno, l)) {
          if (e.ino > this.info.sb.inodesCount)
            throw corrupt(`EXT4-fs error (inode ${dirIno}): bad inode number ${e.ino} in directory`);
          out.push(e);
        }
      }
      if (!hasFt) {
        for (const e of out) if (e.type === FT_UNKNOWN) e.type = modeToFileType(readInode(this, e.ino).mode);
      }
      return out;
    });
  }

  /** The inode number of `name` in directory `dirIno`, or 0 when absent (htree lookup when indexed). */
  lookup(dirIno: number, name: string): number {
    return guard(`lookup in directory ${dirIno}`, () => {
      const dir = readInode(this, dirIno);
      if (!isDirMode(dir.mode)) throw new Ext2Error(`inode ${dirIno} is not a directory`, ENOTDIR);
      if (name.length === 0 || name.length > 255) return 0;
      const hit = findEntry(dirCtx(this, dir), nameToBytes(name));
      return hit ? hit.ino : 0;
    });
  }

  /** Walk an absolute path (no symlink following); convenience for tests and tools. Throws ENOENT. */
  resolve(path: string): number {
    let ino = EXT2_ROOT_INO;
    for (const part of path.split('/')) {
      if (!part) continue;
      const next = this.lookup(ino, part);
      if (!next) throw new Ext2Error(`${part}: not found in directory ${ino}`, ENOENT);
      ino = next;
    }
    return ino;
  }

  readlink(ino: number): string {
    return guard(`reading symlink ${ino}`, () => {
      const inode = readInode(this, ino);
      if ((inode.mode & S_IFMT) !== S_IFLNK) throw new Ext2Error(`inode ${ino} is not a symlink`, EINVAL);
      if (inode.size > this.blockSize) throw corrupt(`EXT4-fs error (inode ${ino}): symlink of ${inode.size} bytes`);
      const bytes = isFastSymlink(inode, this.info.blockSize)
        ? fastSymlinkTarget(inode)
        : this.readInodeData(inode, 0, inode.size);
      if (bytes.length !== inode.size)
        throw corrupt(`EXT4-fs error (inode ${ino}): symlink target shorter than i_size`);
      return bytesToName(bytes);
    });
  }

  isRegular(inode: Ext2Inode): boolean {
    return (inode.mode & S_IFMT) === S_IFREG;
  }

  // -------------------------------------------------------------------------------------------
  // Writing file data
  // -------------------------------------------------------------------------------------------

  /** write(2) at inode level: allocates blocks, grows i_size; bytes written or -errno. */
  write(ino: number, pos: number, data: Uint8Array): number {
    return this.mutate(`writing inode ${ino}`, () => {
      const inode = this.getInode(ino);
      if (isDirMode(inode.mode)) return -EISDIR;
      if (!this.hasBlockMap(inode)) return -EINVAL;
      return this.writeData(inode, pos, data);
    });
  }

  /** Does i_block hold a block map (regular files, directories, slow symlinks), not a target or rdev? */
  private hasBlockMap(inode: Ext2Inode): boolean {
    const fmt = inode.mode & S_IFMT;
    return fmt === S_IFREG || fmt === S_IFDIR || (fmt === S_IFLNK && !isFastSymlink(inode, this.blockSize));
  }

  private writeData(inode: Ext2Inode, pos: number, data: Uint8Array): number {
    if (!Number.isSafeInteger(pos) || pos < 0) return -EINVAL;
    const max = this.maxBytes(inode);
    if (pos >= max && data.length > 0) return -EFBIG;
    const len = Math.min(data.length, max - pos);
    const bs = this.blockSize;
    let done = 0;
    let err = 0;
    while (done < len) {
      const p = pos + done;
      const lblk = Math.floor(p / bs);
      const inOff = p % bs;
      const want = Math.ceil((inOff + (len - done)) / bs);
      const m = this.mapInode(inode, lblk, want, true);
      if (typeof m === 'number') {
        err = m;
        break;
      }
      const n = Math.min(len - done, m.len * bs - inOff);
      const nblocks = Math.ceil((inOff + n) / bs);
      let buf: Uint8Array;
      if (inOff === 0 && n % bs === 0) buf = data.subarray(done, done + n);
      else {
        buf = new Uint8Array(nblocks * bs);
        if (!m.fresh) {
          // Read-modify-write of partial first/last blocks.
          if (inOff !== 0) buf.set(this.readRun(m.pblk, 1), 0);
          if ((inOff + n) % bs !== 0 && (nblocks > 1 || inOff === 0))
            buf.set(this.readRun(m.pblk + nblocks - 1, 1), (nblocks - 1) * bs);
        }
        buf.set(data.subarray(done, done + n), inOff);
      }
      this.writeBlock(m.pblk, buf);
      done += n;
    }
    if (done > 0) {
      if (pos + done > inode.size) inode.size = pos + done;
      const t = this.nowTime();
      inode.mtime = t;
      inode.ctime = t;
    }
    this.putInode(inode);
    return done > 0 ? done : err;
  }

  /** ftruncate at inode level: frees blocks past `size` (extents or indirect) and zeroes the tail. */
  truncate(ino: number, size: number): number {
    return this.mutate(`truncating inode ${ino}`, () => {
      const inode = this.getInode(ino);
      if (isDirMode(inode.mode)) return -EISDIR;
      if (!Number.isSafeInteger(size) || size < 0) return -EINVAL;
      if (size > this.maxBytes(inode)) return -EFBIG;
      if (!this.hasBlockMap(inode)) return -EINVAL;
      if (size < inode.size) this.freeFrom(inode, size);
      inode.size = size;
      const t = this.nowTime();
      inode.mtime = t;
      inode.ctime = t;
      this.putInode(inode);
      return 0;
    });
  }

  /** Free every block wholly past byte `size` and zero the rest of the last partial block. */
  private freeFrom(inode: Ext2Inode, size: number): void {
    const bs = this.blockSize;
    const keep = Math.ceil(size / bs);
    if (this.hasExtents(inode)) {
      const { extents, treeBlocks } = collectExtents(this, inode);
      const out: Extent[] = [];
      let freed = 0;
      for (const e of extents) {
        if (e.lblk >= keep) {
          freeBlocks(this, e.pblk, e.len, inode.ino);
          freed += e.len;
        } else if (e.lblk + e.len > keep) {
          const cut = e.lblk + e.len - keep;
          freeBlocks(this, e.pblk + e.len - cut, cut, inode.ino);
          freed += cut;
          out.push({ ...e, len: e.len - cut });
        } else out.push(e);
      }
      inode.blocks = Math.max(0, inode.blocks - (freed * bs) / 512);
      const r = writeExtentTree(this, inode, out, treeBlocks);
      if (r < 0)
        throw corrupt(`EXT4-fs error (inode ${inode.ino}): no space to rewrite the extent tree while truncating`);
    } else indTruncate(this, inode, keep);
    if (size % bs !== 0) {
      const m = this.mapInode(inode, keep - 1, 1, false);
      if (typeof m !== 'number' && m.pblk !== 0) {
        const blk = this.readBlock(m.pblk).slice();
        blk.fill(0, size % bs);
        this.writeBlock(m.pblk, blk);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Inodes and names
  // -------------------------------------------------------------------------------------------

  /** ext4_new_inode: a fresh inode near `dirIno` with nlink 0 (not linked yet), or -errno. */
  createInode(dirIno: number, mode: number, uid: number, gid: number, rdev = 0): number {
    return this.mutate(`creating an inode in ${dirIno}`, () => this.newInodeIn(dirIno, mode, uid, gid, rdev));
  }

  private newInodeIn(dirIno: number, mode: number, uid: number, gid: number, rdev: number): number {
    const dir = this.getInode(dirIno);
    if (!isDirMode(dir.mode)) return -ENOTDIR;
    const fmt = mode & S_IFMT;
    const ino = newInode(this, dirIno, fmt === S_IFDIR);
    if (!ino) return -ENOSPC;
    const info = this.info;
    const loc = inodeLocation(info, ino);
    const blk = this.readBlock(loc.block).slice();
    const b = blk.subarray(loc.offset, loc.offset + info.inodeSize);
    b.fill(0);
    if (info.inodeSize > 128) {
      const want = info.sb.wantExtraIsize || 32;
      put16(b, 0x80, Math.min(want, info.inodeSize - 128) & ~3);
    }
    const t = this.nowTime();
    let flags = 0;
    let iblock: Uint8Array = new Uint8Array(60);
    if (info.sb.featureIncompat & INCOMPAT_EXTENTS && (fmt === S_IFREG || fmt === S_IFDIR || fmt === S_IFLNK)) {
      flags |= EXT4_EXTENTS_FL;
      iblock = emptyExtentRoot();
    }
    if (fmt === S_IFCHR || fmt === S_IFBLK) {
      // ext4_iget's inverse: the old 16-bit encoding when it fits, else the new one in i_block[1].
      const major = (rdev >>> 8) & 0xfff;
      const minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
      if (major < 256 && minor < 256) put32(iblock, 0, (major << 8) | minor);
      else put32(iblock, 4, rdev >>> 0);
    }
    const gen = Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
    const inode: Ext2Inode = {
      ino,
      mode: mode & 0xffff,
      uid: uid >>> 0,
      gid: gid >>> 0,
      size: 0,
      nlink: 0,
      blocks: 0,
      flags,
      atime: t,
      mtime: t,
      ctime: t,
      crtime: t,
      generation: gen,
      fileAcl: 0,
      rdev,
      dtime: 0,
      raw: { block: iblock } as Ext2Inode['raw'],
    };
    encodeInode(info, b, inode, true);
    setInodeChecksum(info, ino, b);
    this.writeBlock(loc.block, blk);
    return ino;
  }

  /** Is `ino` allocated in its group's inode bitmap? */
  private inodeInUse(ino: number): boolean {
    const ipg = this.info.sb.inodesPerGroup;
    const g = Math.floor((ino - 1) / ipg);
    const bit = (ino - 1) % ipg;
    return (loadInodeBitmap(this, g)[bit >> 3] & (1 << (bit & 7))) !== 0;
  }

  private checkName(name: string): number {
    if (name.length === 0) return -ENOENT;
    if (name.length > 255) return -ENAMETOOLONG;
    if (name.includes('/') || name.includes('\0')) return -EINVAL;
    return 0;
  }

  private dirForUpdate(dirIno: number): Ext2Inode | number {
    const dir = this.getInode(dirIno);
    if (!isDirMode(dir.mode)) return -ENOTDIR;
    if (dir.nlink === 0) return -ENOENT;
    return dir;
  }

  /** EXT4_DIR_LINK_MAX: can this directory take one more subdirectory? */
  private dirLinkMax(dir: Ext2Inode): boolean {
    const dirNlink = (this.info.sb.featureRoCompat & RO_COMPAT_DIR_NLINK) !== 0;
    return dir.nlink >= EXT4_LINK_MAX && !(dirNlink && dir.flags & EXT4_INDEX_FL);
  }

  /**
   * ext4_inc_count: an indexed directory whose count reaches EXT4_LINK_MAX (or was already stuck at
   * 1) reports nlink 1, "many" (dir_nlink).
   */
  private incCount(inode: Ext2Inode): void {
    inode.nlink++;
    if (isDirMode(inode.mode) && inode.flags & EXT4_INDEX_FL && inode.nlink > 1) {
      if (inode.nlink >= EXT4_LINK_MAX || inode.nlink === 2) inode.nlink = 1;
    }
  }

  /** ext4_dec_count: a directory stuck at 1 (or at its own 2) stays. */
  private decCount(inode: Ext2Inode): void {
    if (!isDirMode(inode.mode) || inode.nlink > 2) inode.nlink = Math.max(0, inode.nlink - 1);
  }

  /** ext4_link: add `name` → `ino` in `dirIno` and count the link. */
  link(dirIno: number, name: string, ino: number): number {
    return this.mutate(`linking into ${dirIno}`, () => {
      const e = this.checkName(name);
      if (e) return e;
      const dir = this.dirForUpdate(dirIno);
      if (typeof dir === 'number') return dir;
      if (ino === dirIno) return -EPERM;
      const target = this.getInode(ino);
      if (target.mode === 0 || !this.inodeInUse(ino)) return -ENOENT; // freed by evictInode
      if (target.nlink === 0 && target.dtime !== 0) return -ENOENT;
      if (!isDirMode(target.mode) && target.nlink >= EXT4_LINK_MAX) return -EMLINK;
      const c = dirCtx(this, dir);
      const nb = nameToBytes(name);
      if (findEntry(c, nb)) return -EEXIST;
      const r = addEntry(c, nb, ino, modeToFileType(target.mode));
      this.touchDir(dir);
      if (r < 0) return r;
      this.incCount(target);
      target.ctime = this.nowTime();
      this.putInode(target);
      return 0;
    });
  }

  private touchDir(dir: Ext2Inode): void {
    const t = this.nowTime();
    dir.mtime = t;
    dir.ctime = t;
    this.putInode(dir);
  }

  /** ext4_unlink: remove the entry and drop a link; the inode is freed later by evictInode. */
  unlink(dirIno: number, name: string): number {
    return this.mutate(`unlinking from ${dirIno}`, () => {
      const e = this.checkName(name);
      if (e) return e;
      if (name === '.' || name === '..') return -EISDIR;
      const dir = this.dirForUpdate(dirIno);
      if (typeof dir === 'number') return dir;
      const c = dirCtx(this, dir);
      const slot = findEntry(c, nameToBytes(name));
      if (!slot) return -ENOENT;
      const target = this.getInode(slot.ino);
      if (isDirMode(target.mode)) return -EISDIR;
      deleteEntry(c, slot);
      this.touchDir(dir);
      if (target.nlink > 0) target.nlink--;
      target.ctime = this.nowTime();
      this.putInode(target);
      return 0;
    });
  }

  /** ext4_mkdir: a new directory with "." and "..", linked into `dirIno`; ino or -errno. */
  mkdir(dirIno: number, name: string, mode: number, uid: number, gid: number): number {
    return this.mutate(`mkdir in ${dirIno}`, () => {
      const e = this.checkName(name);
      if (e) return e;
      const dir = this.dirForUpdate(dirIno);
      if (typeof dir === 'number') return dir;
      if (this.dirLinkMax(dir)) return -EMLINK;
      const c = dirCtx(this, dir);
      const nb = nameToBytes(name);
      if (findEntry(c, nb)) return -EEXIST;
      const ino = this.newInodeIn(dirIno, S_IFDIR | (mode & 0o7777), uid, gid, 0);
      if (ino < 0) return ino;
      const child = this.getInode(ino);
      const m = this.mapInode(child, 0, 1, true);
      if (typeof m === 'number') {
        this.putInode(child);
        this.dropNewInode(child);
        return m;
      }
      // ext4_init_new_dir: "." and ".." (spanning the block), plus the csum tail.
      const bs = this.blockSize;
      const csum = this.info.metadataCsum;
      const blk = new Uint8Array(bs);
      const hasFt = (this.info.sb.featureIncompat & INCOMPAT_FILETYPE) !== 0;
      putDirent(blk, 0, ino, dirRecLen(1), Uint8Array.of(0x2e), FT_DIR, hasFt, bs);
      putDirent(blk, 12, dirIno, bs - 12 - (csum ? 12 : 0), Uint8Array.of(0x2e, 0x2e), FT_DIR, hasFt, bs);
      if (csum) {
        initDirTail(blk, bs);
        setDirTailCsum(blk, bs, inodeCsumSeed(this.info, ino, child.generation));
      }
      this.writeBlock(m.pblk, blk);
      child.size = bs;
      child.nlink = 2;
      this.putInode(child);
      const r = addEntry(c, nb, ino, FT_DIR);
      if (r < 0) {
        this.touchDir(dir);
        this.dropNewInode(child);
        return r;
      }
      this.incCount(dir);
      this.touchDir(dir);
      return ino;
    });
  }

  /** Undo a createInode whose linking failed. */
  private dropNewInode(inode: Ext2Inode): void {
    inode.nlink = 0;
    this.releaseInode(inode);
  }

  /** ext4_rmdir: remove an empty directory's entry; its inode gets nlink 0 (evictInode frees it). */
  rmdir(dirIno: number, name: string): number {
    return this.mutate(`rmdir in ${dirIno}`, () => {
      const e = this.checkName(name);
      if (e) return e;
      if (name === '.') return -EINVAL;
      if (name === '..') return -ENOTEMPTY;
      const dir = this.dirForUpdate(dirIno);
      if (typeof dir === 'number') return dir;
      const c = dirCtx(this, dir);
      const slot = findEntry(c, nameToBytes(name));
      if (!slot) return -ENOENT;
      if (slot.ino === dirIno) return -EINVAL;
      const child = this.getInode(slot.ino);
      if (!isDirMode(child.mode)) return -ENOTDIR;
      if (!isEmptyDir(dirCtx(this, child))) return -ENOTEMPTY;
      deleteEntry(c, slot);
      this.decCount(dir);
      this.touchDir(dir);
      child.nlink = 0;
      child.ctime = this.nowTime();
      this.putInode(child);
      return 0;
    });
  }

  /** ext4_symlink: a fast symlink in i_block (< 60 bytes) or a one-block slow one; ino or -errno. */
  symlink(dirIno: number, name: string, target: string, uid: number, gid: number): number {
    return this.mutate(`symlink in ${dirIno}`, () => {
      const e = this.checkName(name);
      if (e) return e;
      if (target.length === 0) return -ENOENT;
      if (target.length >= this.blockSize) return -ENAMETOOLONG;
      const dir = this.dirForUpdate(dirIno);
      if (typeof dir === 'number') return dir;
      const c = dirCtx(this, dir);
      const nb = nameToBytes(name);
      if (findEntry(c, nb)) return -EEXIST;
      const ino = this.newInodeIn(dirIno, S_IFLNK | 0o777, uid, gid, 0);
      if (ino < 0) return ino;
      const inode = this.getInode(ino);
      const tb = nameToBytes(target);
      if (tb.length < 60) {
        inode.flags &= ~EXT4_EXTENTS_FL;
        inode.raw.block = new Uint8Array(60);
        inode.raw.block.set(tb);
        inode.size = tb.length;
        this.putInode(inode);
      } else {
        const w = this.writeData(inode, 0, tb);
        if (w < 0) {
          this.dropNewInode(this.getInode(ino));
          return w;
        }
      }
      const r = addEntry(c, nb, ino, modeToFileType(S_IFLNK));
      this.touchDir(dir);
      if (r < 0) {
        this.dropNewInode(this.getInode(ino));
        return r;
      }
      const fresh = this.getInode(ino);
      fresh.nlink = 1;
      this.putInode(fresh);
      return ino;
    });
  }

  /** Set the ".." entry of directory `child` (block 0's second entry, htree root or not). */
  private setDotDot(child: Ext2Inode, parentIno: number): void {
    const c = dirCtx(this, child);
    const pblk = this.bmap(child, 0);
    if (!pblk) throw corrupt(`EXT4-fs error (inode ${child.ino}): directory block 0 is a hole`);
    const blk = this.readBlock(pblk).slice();
    const first = le16(blk, 4);
    if (
      first < 12 ||
      first + 12 > this.blockSize ||
      blk[first + 6] !== 2 ||
      blk[first + 8] !== 0x2e ||
      blk[first + 9] !== 0x2e
    )
      throw corrupt(`EXT4-fs error (inode ${child.ino}): bad '..' entry`);
    put32(blk, first, parentIno);
    if (c.csum) {
      if (child.flags & EXT4_INDEX_FL && this.info.sb.featureCompat & COMPAT_DIR_INDEX)
        setDxCsum(blk, DX_ROOT_COUNT_OFF, c.seed);
      else setDirTailCsum(blk, this.blockSize, c.seed);
    }
    this.writeBlock(pblk, blk);
  }

  /** Is directory `ino` equal to, or below, directory `ancestor`? Walks ".." with loop detection. */
  private isBelow(ino: number, ancestor: number): boolean {
    const seen = new Set<number>();
    let cur = ino;
    while (true) {
      if (cur === ancestor) return true;
      if (cur === EXT2_ROOT_INO) return false;
      if (seen.has(cur)) throw corrupt(`EXT4-fs error (inode ${ino}): directory loop through inode ${cur}`);
      seen.add(cur);
      const d = this.getInode(cur);
      if (!isDirMode(d.mode)) throw corrupt(`EXT4-fs error (inode ${cur}): '..' leads to a non-directory`);
      const parent = findDotDot(this, d);
      if (!parent) throw corrupt(`EXT4-fs error (inode ${cur}): no '..' entry`);
      cur = parent;
    }
  }

  /** ext4_rename / ext4_cross_rename: RENAME_NOREPLACE 1, RENAME_EXCHANGE 2; fixes "..". */
  rename(oldDir: number, oldName: string, newDir: number, newName: string, flags: number): number {
    return this.mutate(`rename in ${oldDir}`, () => {
      if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE) || (flags & RENAME_NOREPLACE && flags & RENAME_EXCHANGE))
        return -EINVAL;
      for (const n of [oldName, newName]) {
        const e = this.checkName(n);
        if (e) return e;
        if (n === '.' || n === '..') return -EINVAL;
      }
      const od = this.dirForUpdate(oldDir);
      if (typeof od === 'number') return od;
      const nd = newDir === oldDir ? od : this.dirForUpdate(newDir);
      if (typeof nd === 'number') return nd;
      const ob = nameToBytes(oldName);
      const nb = nameToBytes(newName);
      const oslot = findEntry(dirCtx(this, od), ob);
      if (!oslot) return -ENOENT;
      const nslot = findEntry(dirCtx(this, nd), nb);
      if (flags & RENAME_EXCHANGE && !nslot) return -ENOENT;
      if (flags & RENAME_NOREPLACE && nslot) return -EEXIST;
      if (nslot && nslot.ino === oslot.ino) return 0;
      const src = this.getInode(oslot.ino);
      const srcDir = isDirMode(src.mode);
      const cross = newDir !== oldDir;
      if (srcDir && cross && this.isBelow(newDir, src.ino)) return -EINVAL;
      const t = this.nowTime();
      if (flags & RENAME_EXCHANGE) {
        const dst = this.getInode(nslot!.ino);
        const dstDir = isDirMode(dst.mode);
        if (dstDir && cross && this.isBelow(oldDir, dst.ino)) return -EINVAL;
        if (cross && srcDir !== dstDir) {
          if (srcDir && this.dirLinkMax(nd)) return -EMLINK;
          if (dstDir && this.dirLinkMax(od)) return -EMLINK;
        }
        setEntry(dirCtx(this, nd), findEntry(dirCtx(this, nd), nb)!, src.ino, modeToFileType(src.mode));
        setEntry(dirCtx(this, od), findEntry(dirCtx(this, od), ob)!, dst.ino, modeToFileType(dst.mode));
        if (cross) {
          if (srcDir) this.setDotDot(src, newDir);
          if (dstDir) this.setDotDot(dst, oldDir);
          if (srcDir && !dstDir) {
            this.decCount(od);
            this.incCount(nd);
          } else if (dstDir && !srcDir) {
            this.decCount(nd);
            this.incCount(od);
          }
        }
        src.ctime = t;
        dst.ctime = t;
        this.putInode(src);
        this.putInode(dst);
      } else {
        let replacedDir = false;
        if (nslot) {
          const dst = this.getInode(nslot.ino);
          const dstDir = isDirMode(dst.mode);
          if (srcDir && !dstDir) return -ENOTDIR;
          if (!srcDir && dstDir) return -EISDIR;
          if (dstDir && !isEmptyDir(dirCtx(this, dst))) return -ENOTEMPTY;
          setEntry(dirCtx(this, nd), nslot, src.ino, modeToFileType(src.mode));
          if (dstDir) {
            dst.nlink = 0;
            replacedDir = true;
          } else if (dst.nlink > 0) dst.nlink--;
          dst.ctime = t;
          this.putInode(dst);
        } else {
          if (srcDir && cross && this.dirLinkMax(nd)) return -EMLINK;
          const r = addEntry(dirCtx(this, nd), nb, src.ino, modeToFileType(src.mode));
          if (r < 0) {
            this.putInode(nd);
            return r;
          }
        }
        // The old entry may have moved (an htree split in the same directory): find it again.
        const again = findEntry(dirCtx(this, od), ob);
        if (!again || again.ino !== src.ino)
          throw corrupt(`EXT4-fs error (inode ${oldDir}): rename source entry vanished`);
        deleteEntry(dirCtx(this, od), again);
        if (replacedDir) this.decCount(nd);
        if (srcDir && cross) {
          this.setDotDot(src, newDir);
          this.decCount(od);
          this.incCount(nd);
        }
        src.ctime = t;
        this.putInode(src);
      }
      od.mtime = t;
      od.ctime = t;
      this.putInode(od);
      if (nd !== od) {
        nd.mtime = t;
        nd.ctime = t;
        this.putInode(nd);
      }
      return 0;
    });
  }

  /** ext4_evict_inode + ext4_free_inode: free the blocks and the inode of an unlinked inode. */
  evictInode(ino: number): void {
    if (this.readOnly) return;
    this.mutate(`evicting inode ${ino}`, () => {
      const inode = this.getInode(ino);
      if (inode.nlink !== 0) {
        this.log(`evictInode: inode ${ino} still has ${inode.nlink} links; not freed`);
        return 0;
      }
      if (inode.mode === 0 || inode.dtime !== 0) return 0; // already free
      this.releaseInode(inode);
      return 0;
    });
  }

  private releaseInode(inode: Ext2Inode): void {
    const fmt = inode.mode & S_IFMT;
    if (this.hasBlockMap(inode)) {
      this.freeFrom(inode, 0);
      inode.size = 0;
    }
    if (inode.fileAcl) this.releaseXattrBlock(inode);
    inode.dtime = this.nowSec() || 1;
    this.putInode(inode);
    freeInode(this, inode.ino, fmt === S_IFDIR);
  }

  /**
   * ext4_xattr_delete_inode / ext4_xattr_release_block: drop the inode's reference to its shared
   * extended-attribute block, freeing the block with its last user. (Attributes themselves are not
   * otherwise supported yet.)
   */
  private releaseXattrBlock(inode: Ext2Inode): void {
    const blk = inode.fileAcl;
    const b = this.readBlock(blk).slice();
    if (le32(b, 0) !== 0xea020000)
      throw corrupt(`EXT4-fs error (inode ${inode.ino}): bad extended attribute block ${blk}`);
    const refs = le32(b, 4);
    if (refs > 1) {
      put32(b, 4, refs - 1);
      if (this.info.metadataCsum) put32(b, 0x10, xattrBlockCsum(this.info, blk, b));
      this.writeBlock(blk, b);
    } else freeBlocks(this, blk, 1, inode.ino);
    inode.fileAcl = 0;
    inode.blocks = Math.max(0, inode.blocks - this.blockSize / 512);
  }

  /** ext4_sync_fs: bitmaps, group descriptors and the superblock to disk. */
  sync(): void {
    if (this.readOnly) return;
    guard('sync', () => this.flushMeta());
  }

  /** ext4_put_super: sync and mark the filesystem clean (VALID) again. */
  unmount(): void {
    if (!this.mounted) return;
    if (!this.ro) {
      guard('unmount', () => {
        this.info.sb.state |= EXT4_VALID_FS;
        this.sbDirty = true;
        this.flushMeta();
      });
    }
    this.mounted = false;
  }
}

/** ext4_xattr_block_csum: crc32c(fs seed, le64 block number, block with h_checksum as zero). */
function xattrBlockCsum(info: FsInfo, blk: number, b: Uint8Array): number {
  const nr = new Uint8Array(8);
  put32(nr, 0, blk % 0x1_0000_0000);
  put32(nr, 4, Math.floor(blk / 0x1_0000_0000));
  let c = crc32cUpdate(info.csumSeed, nr);
  c = crc32cUpdate(c, b, 0, 0x10);
  c = crc32cUpdate(c, new Uint8Array(4));
  return crc32cUpdate(c, b, 0x14, b.length);
}

/** The ".." inode of a directory: the second entry of block 0 (ext4_get_parent's dotdot). */
function findDotDot(fs: Ext2Fs, dir: Ext2Inode): number {
  const pblk = fs.bmap(dir, 0);
  if (!pblk) return 0;
  const blk = fs.readBlock(pblk);
  const first = le16(blk, 4);
  if (first < 12 || first + 12 > fs.blockSize || blk[first + 8] !== 0x2e || blk[first + 9] !== 0x2e) return 0;
  const ino = (blk[first] | (blk[first + 1] << 8) | (blk[first + 2] << 16) | (blk[first + 3] << 24)) >>> 0;
  if (ino > fs.info.sb.inodesCount) throw corrupt(`EXT4-fs error (inode ${dir.ino}): bad '..' inode ${ino}`);
  return ino;
}

export type { DirCtx };
