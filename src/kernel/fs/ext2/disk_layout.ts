/**
 * ext2/ext3/ext4 on-disk structures (little-endian), after the kernel's "ext4 Data Structures and
 * Algorithms" disk-layout documentation and fs/ext4/ext4.h. Only parsing lives here.
 */

export const EXT2_SUPER_MAGIC = 0xef53;
export const SUPERBLOCK_OFFSET = 1024;
export const SUPERBLOCK_SIZE = 1024;
export const EXT2_ROOT_INO = 2;
export const EXT2_GOOD_OLD_INODE_SIZE = 128;
export const EXT2_GOOD_OLD_FIRST_INO = 11;
export const EXT2_N_BLOCKS = 15;
export const EXT2_NDIR_BLOCKS = 12;

// s_feature_compat
export const COMPAT_DIR_PREALLOC = 0x1;
export const COMPAT_IMAGIC_INODES = 0x2;
export const COMPAT_HAS_JOURNAL = 0x4;
export const COMPAT_EXT_ATTR = 0x8;
export const COMPAT_RESIZE_INODE = 0x10;
export const COMPAT_DIR_INDEX = 0x20;
export const COMPAT_SPARSE_SUPER2 = 0x200;
export const COMPAT_FAST_COMMIT = 0x400;
export const COMPAT_STABLE_INODES = 0x800;
export const COMPAT_ORPHAN_FILE = 0x1000;

// s_feature_ro_compat
export const RO_COMPAT_SPARSE_SUPER = 0x1;
export const RO_COMPAT_LARGE_FILE = 0x2;
export const RO_COMPAT_BTREE_DIR = 0x4;
export const RO_COMPAT_HUGE_FILE = 0x8;
export const RO_COMPAT_GDT_CSUM = 0x10;
export const RO_COMPAT_DIR_NLINK = 0x20;
export const RO_COMPAT_EXTRA_ISIZE = 0x40;
export const RO_COMPAT_QUOTA = 0x100;
export const RO_COMPAT_BIGALLOC = 0x200;
export const RO_COMPAT_METADATA_CSUM = 0x400;
export const RO_COMPAT_READONLY = 0x1000;
export const RO_COMPAT_PROJECT = 0x2000;
export const RO_COMPAT_VERITY = 0x8000;
export const RO_COMPAT_ORPHAN_PRESENT = 0x10000;

// s_feature_incompat
export const INCOMPAT_COMPRESSION = 0x1;
export const INCOMPAT_FILETYPE = 0x2;
export const INCOMPAT_RECOVER = 0x4;
export const INCOMPAT_JOURNAL_DEV = 0x8;
export const INCOMPAT_META_BG = 0x10;
export const INCOMPAT_EXTENTS = 0x40;
export const INCOMPAT_64BIT = 0x80;
export const INCOMPAT_MMP = 0x100;
export const INCOMPAT_FLEX_BG = 0x200;
export const INCOMPAT_EA_INODE = 0x400;
export const INCOMPAT_DIRDATA = 0x1000;
export const INCOMPAT_CSUM_SEED = 0x2000;
export const INCOMPAT_LARGEDIR = 0x4000;
export const INCOMPAT_INLINE_DATA = 0x8000;
export const INCOMPAT_ENCRYPT = 0x10000;
export const INCOMPAT_CASEFOLD = 0x20000;

export const INCOMPAT_NAMES: ReadonlyArray<[number, string]> = [
  [INCOMPAT_COMPRESSION, 'compression'],
  [INCOMPAT_FILETYPE, 'filetype'],
  [INCOMPAT_RECOVER, 'needs_recovery'],
  [INCOMPAT_JOURNAL_DEV, 'journal_dev'],
  [INCOMPAT_META_BG, 'meta_bg'],
  [INCOMPAT_EXTENTS, 'extent'],
  [INCOMPAT_64BIT, '64bit'],
  [INCOMPAT_MMP, 'mmp'],
  [INCOMPAT_FLEX_BG, 'flex_bg'],
  [INCOMPAT_EA_INODE, 'ea_inode'],
  [INCOMPAT_DIRDATA, 'dirdata'],
  [INCOMPAT_CSUM_SEED, 'metadata_csum_seed'],
  [INCOMPAT_LARGEDIR, 'large_dir'],
  [INCOMPAT_INLINE_DATA, 'inline_data'],
  [INCOMPAT_ENCRYPT, 'encrypt'],
  [INCOMPAT_CASEFOLD, 'casefold'],
];

// i_flags
export const EXT4_INDEX_FL = 0x1000;
export const EXT4_HUGE_FILE_FL = 0x40000;
export const EXT4_EXTENTS_FL = 0x80000;
export const EXT4_EA_INODE_FL = 0x200000;
export const EXT4_INLINE_DATA_FL = 0x10000000;

// Directory entry file types (with INCOMPAT_FILETYPE)
export const FT_UNKNOWN = 0;
export const FT_REG_FILE = 1;
export const FT_DIR = 2;
export const FT_CHRDEV = 3;
export const FT_BLKDEV = 4;
export const FT_FIFO = 5;
export const FT_SOCK = 6;
export const FT_SYMLINK = 7;
export const FT_DIR_CSUM = 0xde;

// i_mode uses linux/stat.h's file-type bits.
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK } from '../uapi.js';
export { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK };

/** The dirent file type that matches an inode mode (fs_umode_to_ftype). */
export function modeToFileType(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return FT_REG_FILE;
    case S_IFDIR:
      return FT_DIR;
    case S_IFCHR:
      return FT_CHRDEV;
    case S_IFBLK:
      return FT_BLKDEV;
    case S_IFIFO:
      return FT_FIFO;
    case S_IFSOCK:
      return FT_SOCK;
    case S_IFLNK:
      return FT_SYMLINK;
    default:
      return FT_UNKNOWN;
  }
}

const u16 = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number): number => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
/** A 64-bit quantity assembled from lo/hi 32-bit halves (exact up to 2^53). */
const hilo = (hi: number, lo: number): number => hi * 0x1_0000_0000 + lo;
export { u16 as le16, u32 as le32, hilo };

export interface SuperBlock {
  inodesCount: number;
  blocksCount: number;
  rBlocksCount: number;
  freeBlocksCount: number;
  freeInodesCount: number;
  firstDataBlock: number;
  logBlockSize: number;
  logClusterSize: number;
  blocksPerGroup: number;
  clustersPerGroup: number;
  inodesPerGroup: number;
  mtime: number;
  wtime: number;
  magic: number;
  state: number;
  errors: number;
  minorRevLevel: number;
  creatorOs: number;
  revLevel: number;
  firstIno: number;
  inodeSize: number;
  featureCompat: number;
  featureIncompat: number;
  featureRoCompat: number;
  uuid: Uint8Array;
  volumeName: string;
  reservedGdtBlocks: number;
  hashSeed: Uint32Array;
  defHashVersion: number;
  descSize: number;
  firstMetaBg: number;
  minExtraIsize: number;
  wantExtraIsize: number;
  checksumType: number;
  checksumSeed: number;
  checksum: number;
}

/** Parse the 1024-byte superblock (no validation). */
export function parseSuperBlock(b: Uint8Array): SuperBlock {
  const nameEnd = b.subarray(0x78, 0x88).indexOf(0);
  return {
    inodesCount: u32(b, 0x0),
    blocksCount: hilo(u32(b, 0x150), u32(b, 0x4)),
    rBlocksCount: hilo(u32(b, 0x154), u32(b, 0x8)),
    freeBlocksCount: hilo(u32(b, 0x158), u32(b, 0xc)),
    freeInodesCount: u32(b, 0x10),
    firstDataBlock: u32(b, 0x14),
    logBlockSize: u32(b, 0x18),
    logClusterSize: u32(b, 0x1c),
    blocksPerGroup: u32(b, 0x20),
    clustersPerGroup: u32(b, 0x24),
    inodesPerGroup: u32(b, 0x28),
    mtime: u32(b, 0x2c),
    wtime: u32(b, 0x30),
    magic: u16(b, 0x38),
    state: u16(b, 0x3a),
    errors: u16(b, 0x3c),
    minorRevLevel: u16(b, 0x3e),
    creatorOs: u32(b, 0x48),
    revLevel: u32(b, 0x4c),
    firstIno: u32(b, 0x54),
    inodeSize: u16(b, 0x58),
    featureCompat: u32(b, 0x5c),
    featureIncompat: u32(b, 0x60),
    featureRoCompat: u32(b, 0x64),
    uuid: b.slice(0x68, 0x78),
    volumeName: new TextDecoder().decode(b.subarray(0x78, nameEnd < 0 ? 0x88 : 0x78 + nameEnd)),
    reservedGdtBlocks: u16(b, 0xce),
    hashSeed: Uint32Array.of(u32(b, 0xec), u32(b, 0xf0), u32(b, 0xf4), u32(b, 0xf8)),
    defHashVersion: b[0xfc],
    descSize: u16(b, 0xfe),
    firstMetaBg: u32(b, 0x104),
    minExtraIsize: u16(b, 0x15c),
    wantExtraIsize: u16(b, 0x15e),
    checksumType: b[0x175],
    checksumSeed: u32(b, 0x270),
    checksum: u32(b, 0x3fc),
  };
}

export interface GroupDesc {
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
  freeBlocksCount: number;
  freeInodesCount: number;
  usedDirsCount: number;
  flags: number;
  itableUnused: number;
  checksum: number;
}

/** Parse one group descriptor: 32 bytes, or `descSize` (>= 64) with the 64bit feature. */
export function parseGroupDesc(b: Uint8Array, o: number, is64: boolean): GroupDesc {
  const hi32 = (off: number): number => (is64 ? u32(b, o + off) : 0);
  const hi16 = (off: number): number => (is64 ? u16(b, o + off) : 0);
  return {
    blockBitmap: hilo(hi32(0x20), u32(b, o + 0x0)),
    inodeBitmap: hilo(hi32(0x24), u32(b, o + 0x4)),
    inodeTable: hilo(hi32(0x28), u32(b, o + 0x8)),
    freeBlocksCount: hi16(0x2c) * 0x10000 + u16(b, o + 0xc),
    freeInodesCount: hi16(0x2e) * 0x10000 + u16(b, o + 0xe),
    usedDirsCount: hi16(0x30) * 0x10000 + u16(b, o + 0x10),
    flags: u16(b, o + 0x12),
    itableUnused: hi16(0x32) * 0x10000 + u16(b, o + 0x1c),
    checksum: u16(b, o + 0x1e),
  };
}

export interface RawInode {
  mode: number;
  uid: number;
  gid: number;
  sizeLo: number;
  sizeHigh: number;
  atime: number;
  ctime: number;
  mtime: number;
  dtime: number;
  linksCount: number;
  blocksLo: number;
  blocksHigh: number;
  flags: number;
  block: Uint8Array; // i_block, 60 bytes
  generation: number;
  fileAcl: number;
  extraIsize: number;
  ctimeExtra: number;
  mtimeExtra: number;
  atimeExtra: number;
  crtime: number;
  crtimeExtra: number;
  hasExtra: boolean;
}

/** Parse an on-disk inode of `size` bytes (128 + i_extra_isize fields when present). */
export function parseInode(b: Uint8Array, size: number): RawInode {
  const extraIsize = size > EXT2_GOOD_OLD_INODE_SIZE ? u16(b, 0x80) : 0;
  const has = (end: number): boolean => EXT2_GOOD_OLD_INODE_SIZE + extraIsize >= end && size >= end;
  return {
    mode: u16(b, 0x0),
    uid: u16(b, 0x2) | (u16(b, 0x78) << 16),
    gid: u16(b, 0x18) | (u16(b, 0x7a) << 16),
    sizeLo: u32(b, 0x4),
    sizeHigh: u32(b, 0x6c),
    atime: u32(b, 0x8) | 0,
    ctime: u32(b, 0xc) | 0,
    mtime: u32(b, 0x10) | 0,
    dtime: u32(b, 0x14),
    linksCount: u16(b, 0x1a),
    blocksLo: u32(b, 0x1c),
    blocksHigh: u16(b, 0x74),
    flags: u32(b, 0x20),
    block: b.slice(0x28, 0x28 + 60),
    generation: u32(b, 0x64),
    fileAcl: hilo(u16(b, 0x76), u32(b, 0x68)),
    extraIsize,
    ctimeExtra: has(0x88) ? u32(b, 0x84) : 0,
    mtimeExtra: has(0x8c) ? u32(b, 0x88) : 0,
    atimeExtra: has(0x90) ? u32(b, 0x8c) : 0,
    crtime: has(0x94) ? u32(b, 0x90) | 0 : 0,
    crtimeExtra: has(0x98) ? u32(b, 0x94) : 0,
    hasExtra: extraIsize > 0,
  };
}

/**
 * An ext4 timestamp: 32 signed seconds plus, in the extra field, 2 epoch bits (extending the
 * seconds to 34 bits) and 30 nanosecond bits.
 */
export function decodeTime(seconds: number, extra: number): { sec: number; nsec: number } {
  const epoch = extra & 3;
  return { sec: (seconds | 0) + epoch * 0x1_0000_0000, nsec: extra >>> 2 };
}

export interface DirEntry {
  inode: number;
  recLen: number;
  nameLen: number;
  fileType: number;
}

/** Decode a rec_len (ext4_rec_len_from_disk: 65536-byte blocks encode 0/65535 as the block size). */
export function recLenFromDisk(v: number, blockSize: number): number {
  if (blockSize < 65536) return v;
  if (v === 65535 || v === 0) return blockSize;
  return (v & 65532) | ((v & 3) << 16);
}

export const EXT4_EXT_MAGIC = 0xf30a;
export const EXT_HEADER_SIZE = 12;
export const EXT_ENTRY_SIZE = 12;
export const EXT_INIT_MAX_LEN = 32768;
