/** Read and validate the ext2/ext4 superblock and group descriptor table (fs/ext4/super.c). */
import type { BlockDevice } from './block_device.js';
import { SECTOR_SIZE } from './block_device.js';
import { crc32cUpdate } from './crc32c.js';
import {
  EXT2_GOOD_OLD_FIRST_INO,
  EXT2_GOOD_OLD_INODE_SIZE,
  EXT2_SUPER_MAGIC,
  INCOMPAT_64BIT,
  INCOMPAT_CSUM_SEED,
  INCOMPAT_EXTENTS,
  INCOMPAT_FILETYPE,
  INCOMPAT_FLEX_BG,
  INCOMPAT_LARGEDIR,
  INCOMPAT_META_BG,
  INCOMPAT_NAMES,
  INCOMPAT_RECOVER,
  RO_COMPAT_GDT_CSUM,
  RO_COMPAT_HUGE_FILE,
  RO_COMPAT_METADATA_CSUM,
  RO_COMPAT_SPARSE_SUPER,
  SUPERBLOCK_OFFSET,
  SUPERBLOCK_SIZE,
  parseGroupDesc,
  parseSuperBlock,
  type GroupDesc,
  type SuperBlock,
} from './disk_layout.js';
import { Ext2Error, corrupt, invalid, ioError } from './errors.js';

/** INCOMPAT features this reader understands. RECOVER is accepted read-only (journal not replayed). */
export const SUPPORTED_INCOMPAT =
  INCOMPAT_FILETYPE |
  INCOMPAT_RECOVER |
  INCOMPAT_META_BG |
  INCOMPAT_EXTENTS |
  INCOMPAT_64BIT |
  INCOMPAT_FLEX_BG |
  INCOMPAT_CSUM_SEED |
  INCOMPAT_LARGEDIR;

export interface FsInfo {
  sb: SuperBlock;
  blockSize: number;
  groupCount: number;
  descSize: number;
  inodeSize: number;
  firstIno: number;
  is64: boolean;
  metadataCsum: boolean;
  hugeFile: boolean;
  /** crc32c seed for metadata checksums: crc32c(~0, uuid) or s_checksum_seed. */
  csumSeed: number;
  groups: GroupDesc[];
  /** Kernel-style warnings found while mounting (e.g. group descriptor checksum mismatches). */
  warnings: string[];
  /** The superblock as read (1024 bytes); the write side patches it and writes it back. */
  sbRaw: Uint8Array;
  /** Group descriptor blocks as read: block number and contents (kept for write-back). */
  gdBlocks: { block: number; data: Uint8Array }[];
}

/** Read `len` bytes at byte offset `off` (sector-aligned helper), mapping device errors to Ext2Error. */
export function readBytes(dev: BlockDevice, off: number, len: number): Uint8Array {
  const first = Math.floor(off / SECTOR_SIZE);
  const last = Math.ceil((off + len) / SECTOR_SIZE);
  let data: Uint8Array;
  try {
    if (last > dev.sectors) throw new Error(`end of device (${dev.sectors} sectors)`);
    data = dev.readBlocks(first, last - first);
  } catch (e) {
    if (e instanceof Ext2Error) throw e;
    throw ioError(`I/O error reading ${len} bytes at offset ${off}: ${(e as Error).message}`);
  }
  const start = off - first * SECTOR_SIZE;
  return data.subarray(start, start + len);
}

/** The superblock checksum: crc32c(~0, sb[0..0x3fc]), stored raw. */
export function superblockChecksum(raw: Uint8Array): number {
  return crc32cUpdate(0xffffffff, raw, 0, 0x3fc);
}

function isPowerOf(n: number, p: number): boolean {
  while (n > 1 && n % p === 0) n /= p;
  return n === 1;
}

/** ext4_bg_has_super: with sparse_super only groups 0, 1 and powers of 3, 5, 7 keep a backup. */
export function groupHasSuper(sb: SuperBlock, group: number): boolean {
  if (group === 0) return true;
  if (!(sb.featureRoCompat & RO_COMPAT_SPARSE_SUPER)) return true;
  if (group === 1) return true;
  return isPowerOf(group, 3) || isPowerOf(group, 5) || isPowerOf(group, 7);
}

/** Validate the superblock; throws Ext2Error with a kernel-style message. */
export function validateSuperBlock(raw: Uint8Array, devBytes: number): FsInfo {
  const sb = parseSuperBlock(raw);
  if (sb.magic !== EXT2_SUPER_MAGIC) {
    throw invalid(`VFS: Can't find ext4 filesystem (bad magic 0x${sb.magic.toString(16)}, expected 0xef53)`);
  }
  const metadataCsum = (sb.featureRoCompat & RO_COMPAT_METADATA_CSUM) !== 0;
  if (metadataCsum) {
    if (sb.checksumType !== 1) throw corrupt(`EXT4-fs: unknown checksum algorithm ${sb.checksumType}`);
    const want = superblockChecksum(raw);
    if (want !== sb.checksum) {
      throw corrupt(
        `EXT4-fs: VFS: Found ext4 filesystem with invalid superblock checksum (stored 0x${sb.checksum.toString(16)}, computed 0x${want.toString(16)})`,
      );
    }
  }
  const unknown = sb.featureIncompat & ~SUPPORTED_INCOMPAT;
  if (unknown) {
    const names = INCOMPAT_NAMES.filter(([bit]) => unknown & bit).map(([, n]) => n);
    const rest = unknown & ~INCOMPAT_NAMES.reduce((a, [bit]) => a | bit, 0);
    if (rest) names.push(`0x${rest.toString(16)}`);
    throw invalid(`EXT4-fs: couldn't mount because of unsupported optional features (${names.join(', ')})`);
  }
  if (sb.logBlockSize > 6) throw corrupt(`EXT4-fs: Invalid log block size: ${sb.logBlockSize}`);
  const blockSize = 1024 << sb.logBlockSize;
  if (sb.logClusterSize !== sb.logBlockSize)
    throw invalid('EXT4-fs: bigalloc (cluster size != block size) is not supported');
  if (sb.revLevel > 1) throw invalid(`EXT4-fs: unsupported revision level ${sb.revLevel}`);
  const inodeSize = sb.revLevel === 0 ? EXT2_GOOD_OLD_INODE_SIZE : sb.inodeSize;
  const firstIno = sb.revLevel === 0 ? EXT2_GOOD_OLD_FIRST_INO : sb.firstIno;
  if (inodeSize < EXT2_GOOD_OLD_INODE_SIZE || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) !== 0) {
    throw corrupt(`EXT4-fs: unsupported inode size: ${inodeSize}`);
  }
  if (sb.blocksPerGroup === 0 || sb.blocksPerGroup > blockSize * 8) {
    throw corrupt(`EXT4-fs: #blocks per group invalid: ${sb.blocksPerGroup}`);
  }
  if (sb.inodesPerGroup === 0 || sb.inodesPerGroup > blockSize * 8) {
    throw corrupt(`EXT4-fs: invalid inodes per group: ${sb.inodesPerGroup}`);
  }
  if (sb.firstDataBlock !== (blockSize === 1024 ? 1 : 0)) {
    throw corrupt(`EXT4-fs: bad first data block ${sb.firstDataBlock} for block size ${blockSize}`);
  }
  if (sb.blocksCount <= sb.firstDataBlock) throw corrupt(`EXT4-fs: bad block count ${sb.blocksCount}`);
  const groupCount = Math.ceil((sb.blocksCount - sb.firstDataBlock) / sb.blocksPerGroup);
  if (groupCount * sb.inodesPerGroup !== sb.inodesCount) {
    throw corrupt(`EXT4-fs: inodes count not valid: ${sb.inodesCount} vs computed ${groupCount * sb.inodesPerGroup}`);
  }
  if (sb.blocksCount * blockSize > devBytes) {
    throw corrupt(
      `EXT4-fs: bad geometry: block count ${sb.blocksCount} exceeds size of device (${Math.floor(devBytes / blockSize)} blocks)`,
    );
  }
  const is64 = (sb.featureIncompat & INCOMPAT_64BIT) !== 0;
  const descSize = is64 ? sb.descSize : 32;
  if (is64 && (descSize < 64 || descSize > 1024 || (descSize & (descSize - 1)) !== 0)) {
    throw corrupt(`EXT4-fs: unsupported descriptor size ${descSize}`);
  }
  const csumSeed = sb.featureIncompat & INCOMPAT_CSUM_SEED ? sb.checksumSeed : crc32cUpdate(0xffffffff, sb.uuid);
  return {
    sb,
    blockSize,
    groupCount,
    descSize,
    inodeSize,
    firstIno,
    is64,
    metadataCsum,
    hugeFile: (sb.featureRoCompat & RO_COMPAT_HUGE_FILE) !== 0,
    csumSeed,
    groups: [],
    warnings: [],
    sbRaw: raw.slice(),
    gdBlocks: [],
  };
}

/** ext4_group_desc_csum with metadata_csum: crc32c(seed, le32 group, desc with bg_checksum zeroed) & 0xffff. */
export function groupDescChecksum(info: FsInfo, group: number, desc: Uint8Array): number {
  const le = Uint8Array.of(group & 0xff, (group >>> 8) & 0xff, (group >>> 16) & 0xff, group >>> 24);
  let crc = crc32cUpdate(info.csumSeed, le);
  crc = crc32cUpdate(crc, desc, 0, 0x1e);
  crc = crc32cUpdate(crc, new Uint8Array(2));
  crc = crc32cUpdate(crc, desc, 0x20, desc.length);
  return crc & 0xffff;
}

/** Block number of the group-descriptor block holding descriptor-block index `i` (descriptor_loc). */
export function descriptorLoc(info: FsInfo, i: number): number {
  const { sb, blockSize, descSize } = info;
  const descPerBlock = blockSize / descSize;
  if (!(sb.featureIncompat & INCOMPAT_META_BG) || i < sb.firstMetaBg) return sb.firstDataBlock + 1 + i;
  const bg = descPerBlock * i;
  const hasSuper = groupHasSuper(sb, bg) ? 1 : 0;
  return sb.firstDataBlock + bg * sb.blocksPerGroup + hasSuper;
}

/** Read the superblock at byte 1024 and all group descriptors. */
export function readSuper(dev: BlockDevice): FsInfo {
  const devBytes = dev.sectors * SECTOR_SIZE;
  if (devBytes < SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE) {
    throw invalid(`VFS: Can't find ext4 filesystem (device of ${devBytes} bytes is too small)`);
  }
  const raw = readBytes(dev, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE);
  const info = validateSuperBlock(raw, devBytes);
  const { blockSize, descSize, groupCount, sb } = info;
  const descPerBlock = blockSize / descSize;
  const descBlocks = Math.ceil(groupCount / descPerBlock);
  for (let i = 0; i < descBlocks; i++) {
    const blk = readBytes(dev, descriptorLoc(info, i) * blockSize, blockSize).slice();
    info.gdBlocks.push({ block: descriptorLoc(info, i), data: blk });
    for (let j = 0; j < descPerBlock && i * descPerBlock + j < groupCount; j++) {
      const g = i * descPerBlock + j;
      const gd = parseGroupDesc(blk, j * descSize, info.is64);
      const firstBlock = sb.firstDataBlock + g * sb.blocksPerGroup;
      const inodeTableBlocks = Math.ceil((sb.inodesPerGroup * info.inodeSize) / blockSize);
      const ok = (b: number, n = 1): boolean => b >= sb.firstDataBlock && b + n <= sb.blocksCount;
      if (!ok(gd.blockBitmap) || !ok(gd.inodeBitmap) || !ok(gd.inodeTable, inodeTableBlocks)) {
        throw corrupt(
          `EXT4-fs: ext4_check_descriptors: group descriptor ${g} (first block ${firstBlock}) has bitmap or inode table outside the filesystem`,
        );
      }
      if (hasGroupCsum(info)) {
        const raw = blk.subarray(j * descSize, (j + 1) * descSize);
        const want = info.metadataCsum ? groupDescChecksum(info, g, raw) : groupDescCrc16(info, g, raw);
        if (want !== gd.checksum) {
          // As ext4_check_descriptors on a read-only mount: warn and carry on.
          info.warnings.push(
            `EXT4-fs: ext4_check_descriptors: Checksum for group ${g} failed (0x${gd.checksum.toString(16)}!=0x${want.toString(16)})`,
          );
        }
      }
      info.groups.push(gd);
    }
  }
  return info;
}

// ---------------------------------------------------------------------------------------------
// Write side: the in-memory ext4_sb_info, group descriptor and superblock write-back.
// ---------------------------------------------------------------------------------------------

/** Group descriptor bg_flags (EXT4_BG_*). */
export const BG_INODE_UNINIT = 0x1;
export const BG_BLOCK_UNINIT = 0x2;
export const BG_INODE_ZEROED = 0x4;

/** s_state bits. */
export const EXT4_VALID_FS = 0x1;
export const EXT4_ERROR_FS = 0x2;
/** s_flags bits: which dirhash variant (signed or unsigned char) this filesystem uses. */
export const EXT2_FLAGS_SIGNED_HASH = 0x1;
export const EXT2_FLAGS_UNSIGNED_HASH = 0x2;

const CRC16_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** lib/crc16.c (polynomial 0x8005, reflected), as uninit_bg's gdt_csum uses. */
export function crc16(crc: number, buf: Uint8Array, start = 0, end = buf.length): number {
  let c = crc & 0xffff;
  for (let i = start; i < end; i++) c = (c >>> 8) ^ CRC16_TABLE[(c ^ buf[i]) & 0xff];
  return c;
}

/** ext4_group_desc_csum for uninit_bg/gdt_csum (crc16 over uuid, group, descriptor minus bg_checksum). */
export function groupDescCrc16(info: FsInfo, group: number, desc: Uint8Array): number {
  const le = Uint8Array.of(group & 0xff, (group >>> 8) & 0xff, (group >>> 16) & 0xff, group >>> 24);
  let crc = crc16(0xffff, info.sb.uuid);
  crc = crc16(crc, le);
  crc = crc16(crc, desc, 0, 0x1e);
  if (info.is64 && desc.length > 0x20) crc = crc16(crc, desc, 0x20, desc.length);
  return crc;
}

/** Does this filesystem keep group descriptor checksums (metadata_csum or gdt_csum)? */
export function hasGroupCsum(info: FsInfo): boolean {
  return info.metadataCsum || (info.sb.featureRoCompat & RO_COMPAT_GDT_CSUM) !== 0;
}

const w16 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
};
const w32 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
};
export { w16 as put16, w32 as put32 };

/** The raw bytes of descriptor `g` inside its cached descriptor block. */
export function groupDescBytes(info: FsInfo, g: number): Uint8Array {
  const dpb = info.blockSize / info.descSize;
  const gb = info.gdBlocks[Math.floor(g / dpb)];
  const o = (g % dpb) * info.descSize;
  return gb.data.subarray(o, o + info.descSize);
}

/**
 * Encode the in-memory GroupDesc `g` (counts, flags, itable_unused) and the bitmap checksums into
 * its raw descriptor, then recompute bg_checksum (ext4_group_desc_csum_set).
 */
export function encodeGroupDesc(
  info: FsInfo,
  g: number,
  blockBitmapCsum: number | null,
  inodeBitmapCsum: number | null,
): void {
  const d = groupDescBytes(info, g);
  const gd = info.groups[g];
  const big = info.is64 && info.descSize >= 64;
  w16(d, 0x0c, gd.freeBlocksCount & 0xffff);
  w16(d, 0x0e, gd.freeInodesCount & 0xffff);
  w16(d, 0x10, gd.usedDirsCount & 0xffff);
  w16(d, 0x12, gd.flags);
  w16(d, 0x1c, gd.itableUnused & 0xffff);
  if (big) {
    w16(d, 0x2c, Math.floor(gd.freeBlocksCount / 0x10000));
    w16(d, 0x2e, Math.floor(gd.freeInodesCount / 0x10000));
    w16(d, 0x30, Math.floor(gd.usedDirsCount / 0x10000));
    w16(d, 0x32, Math.floor(gd.itableUnused / 0x10000));
  }
  if (info.metadataCsum) {
    if (blockBitmapCsum !== null) {
      w16(d, 0x18, blockBitmapCsum & 0xffff);
      if (big) w16(d, 0x38, blockBitmapCsum >>> 16);
    }
    if (inodeBitmapCsum !== null) {
      w16(d, 0x1a, inodeBitmapCsum & 0xffff);
      if (big) w16(d, 0x3a, inodeBitmapCsum >>> 16);
    }
    gd.checksum = groupDescChecksum(info, g, d);
  } else if (info.sb.featureRoCompat & RO_COMPAT_GDT_CSUM) {
    gd.checksum = groupDescCrc16(info, g, d);
  } else gd.checksum = 0;
  w16(d, 0x1e, gd.checksum);
}

/**
 * Patch the live fields of the raw superblock (free counts, state, times) and its checksum
 * (ext4_commit_super / ext4_superblock_csum_set).
 */
export function encodeSuperBlock(info: FsInfo): void {
  const b = info.sbRaw;
  const { sb } = info;
  w32(b, 0x0c, sb.freeBlocksCount % 0x1_0000_0000);
  if (info.is64) w32(b, 0x158, Math.floor(sb.freeBlocksCount / 0x1_0000_0000));
  w32(b, 0x10, sb.freeInodesCount);
  w32(b, 0x2c, sb.mtime);
  w32(b, 0x30, sb.wtime);
  w16(b, 0x3a, sb.state);
  if (info.metadataCsum) {
    sb.checksum = superblockChecksum(b);
    w32(b, 0x3fc, sb.checksum);
  }
}
