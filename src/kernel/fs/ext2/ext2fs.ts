/** A read-only ext2/ext3/ext4 filesystem over a BlockDevice: the on-disk reader the VFS glue will use. */
import type { BlockDevice } from './block_device.js';
import { blockMap } from './block_map.js';
import {
  EXT2_ROOT_INO,
  EXT4_EXTENTS_FL,
  EXT4_INLINE_DATA_FL,
  FT_UNKNOWN,
  INCOMPAT_FILETYPE,
  INCOMPAT_RECOVER,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  modeToFileType,
} from './disk_layout.js';
import { parseDirBlock, verifyDirBlockTail, type DirEntryInfo } from './dir.js';
import { Ext2Error, corrupt, ioError, invalid } from './errors.js';
import { extentMap } from './extents.js';
import { inodeCsumSeed, readInode, type BlockSource, type Ext2Inode } from './inode.js';
import { readBytes, readSuper, type FsInfo } from './super.js';
import { fastSymlinkTarget, isFastSymlink } from './symlink.js';
import { EINVAL, ENOENT, ENOTDIR } from '../../errno.js';

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

/** Run `fn`, turning any non-Ext2Error (a bug or an unexpected shape of corruption) into an Ext2Error. */
function guard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Ext2Error) throw e;
    throw ioError(`EXT4-fs: ${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export class Ext2Fs implements BlockSource {
  readonly info: FsInfo;
  /** The journal needs recovery; we read the filesystem as is (read-only, like `noload`). */
  readonly needsRecovery: boolean;

  private constructor(
    readonly dev: BlockDevice,
    info: FsInfo,
  ) {
    this.info = info;
    this.needsRecovery = (info.sb.featureIncompat & INCOMPAT_RECOVER) !== 0;
  }

  /** Read and validate the superblock and group descriptors. Throws only Ext2Error. */
  static mount(dev: BlockDevice): Ext2Fs {
    return guard('mount', () => new Ext2Fs(dev, readSuper(dev)));
  }

  get blockSize(): number {
    return this.info.blockSize;
  }

  readBlock(block: number): Uint8Array {
    if (!Number.isSafeInteger(block) || block < 0 || block >= this.info.sb.blocksCount) {
      throw corrupt(`EXT4-fs error: block ${block} is outside the filesystem (${this.info.sb.blocksCount} blocks)`);
    }
    return readBytes(this.dev, block * this.info.blockSize, this.info.blockSize);
  }

  statfs(): Ext2Statfs {
    const { sb } = this.info;
    const bfree = this.info.groups.reduce((a, g) => a + g.freeBlocksCount, 0);
    const ffree = this.info.groups.reduce((a, g) => a + g.freeInodesCount, 0);
    return {
      type: 0xef53,
      bsize: this.info.blockSize,
      frsize: this.info.blockSize,
      blocks: sb.blocksCount,
      bfree,
      bavail: Math.max(0, bfree - sb.rBlocksCount),
      files: sb.inodesCount,
      ffree,
      namelen: 255,
    };
  }

  readInode(ino: number): Ext2Inode {
    return guard(`reading inode ${ino}`, () => readInode(this, ino));
  }

  /** Physical block for logical block `lblk` of `inode`, or 0 for a hole. */
  bmap(inode: Ext2Inode, lblk: number): number {
    if (inode.flags & EXT4_INLINE_DATA_FL) throw invalid(`EXT4-fs: inode ${inode.ino}: inline data is not supported`);
    return inode.flags & EXT4_EXTENTS_FL
      ? extentMap(this, inode.raw.block, lblk, inode.ino)
      : blockMap(this, inode.raw.block, lblk, inode.ino);
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
    const bs = this.info.blockSize;
    for (let p = pos; p < end;) {
      const lblk = Math.floor(p / bs);
      const inBlk = p % bs;
      const n = Math.min(bs - inBlk, end - p);
      const phys = this.bmap(inode, lblk);
      if (phys !== 0) out.set(this.readBlock(phys).subarray(inBlk, inBlk + n), p - pos);
      p += n;
    }
    return out;
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
        if (phys === 0) continue; // a hole in a directory (large_dir/htree may leave none; ext4 skips)
        const blk = this.readBlock(phys);
        if (this.info.metadataCsum)
          verifyDirBlockTail(blk, bs, inodeCsumSeed(this.info, dirIno, dir.generation), dirIno, l);
        out.push(...parseDirBlock(blk, bs, hasFt, dirIno, l));
      }
      if (!hasFt) {
        for (const e of out) if (e.type === FT_UNKNOWN) e.type = modeToFileType(readInode(this, e.ino).mode);
      }
      return out;
    });
  }

  /** The inode number of `name` in directory `dirIno`; throws Ext2Error(ENOENT) when absent. */
  lookup(dirIno: number, name: string): number {
    const hit = this.readdir(dirIno).find((e) => e.name === name);
    if (!hit) throw new Ext2Error(`${name}: not found in directory ${dirIno}`, ENOENT);
    return hit.ino;
  }

  /** Walk an absolute path (no symlink following); convenience for tests and tools. */
  resolve(path: string): number {
    let ino = EXT2_ROOT_INO;
    for (const part of path.split('/')) if (part) ino = this.lookup(ino, part);
    return ino;
  }

  readlink(ino: number): string {
    return guard(`reading symlink ${ino}`, () => {
      const inode = readInode(this, ino);
      if ((inode.mode & S_IFMT) !== S_IFLNK) throw new Ext2Error(`inode ${ino} is not a symlink`, EINVAL);
      const bytes = isFastSymlink(inode, this.info.blockSize)
        ? fastSymlinkTarget(inode)
        : this.readInodeData(inode, 0, inode.size);
      if (bytes.length !== inode.size)
        throw corrupt(`EXT4-fs error (inode ${ino}): symlink target shorter than i_size`);
      return new TextDecoder().decode(bytes);
    });
  }

  isRegular(inode: Ext2Inode): boolean {
    return (inode.mode & S_IFMT) === S_IFREG;
  }
}
