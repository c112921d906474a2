/** Read an inode by number (ext4_iget / __ext4_get_inode_loc). */
import { EXT4_HUGE_FILE_FL, decodeTime, le32, parseInode, type RawInode } from './disk_layout.js';
import { put16, put32 } from './super.js';
import { crc32cUpdate } from './crc32c.js';
import { corrupt } from './errors.js';
import type { FsInfo } from './super.js';

export interface BlockSource {
  readonly info: FsInfo;
  /** One filesystem block; throws Ext2Error when out of range. */
  readBlock(block: number): Uint8Array;
}

export interface Ext2Inode {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  /** Allocated space in 512-byte units, as stat's st_blocks. */
  blocks: number;
  flags: number;
  atime: { sec: number; nsec: number };
  mtime: { sec: number; nsec: number };
  ctime: { sec: number; nsec: number };
  crtime: { sec: number; nsec: number } | null;
  generation: number;
  fileAcl: number;
  /** Device number (st_rdev encoding: minor low byte, major, high minor bits) of a char/block device; 0 otherwise. */
  rdev: number;
  /** i_dtime (set when the inode was deleted). */
  dtime: number;
  raw: RawInode;
}

export function readInode(src: BlockSource, ino: number): Ext2Inode {
  const { info } = src;
  const { sb } = info;
  if (!Number.isInteger(ino) || ino < 1 || ino > sb.inodesCount) throw corrupt(`EXT4-fs: bad inode number ${ino}`);
  const group = Math.floor((ino - 1) / sb.inodesPerGroup);
  const index = (ino - 1) % sb.inodesPerGroup;
  const byteOff = index * info.inodeSize;
  const blk = src.readBlock(info.groups[group].inodeTable + Math.floor(byteOff / info.blockSize));
  const off = byteOff % info.blockSize;
  const bytes = blk.subarray(off, off + info.inodeSize);
  const raw = parseInode(bytes, info.inodeSize);
  if (info.metadataCsum && bytes.some((b) => b !== 0)) {
    const { want, stored } = inodeChecksum(info, ino, bytes, raw.extraIsize);
    if (want !== stored) {
      throw corrupt(
        `EXT4-fs error (inode ${ino}): ext4_iget: checksum invalid (stored 0x${stored.toString(16)}, computed 0x${want.toString(16)})`,
      );
    }
  }
  let blocks = raw.blocksHigh * 0x1_0000_0000 + raw.blocksLo;
  if (info.hugeFile && raw.flags & EXT4_HUGE_FILE_FL) blocks *= info.blockSize / 512;
  return {
    ino,
    mode: raw.mode,
    uid: raw.uid >>> 0,
    gid: raw.gid >>> 0,
    size: raw.sizeHigh * 0x1_0000_0000 + raw.sizeLo,
    nlink: raw.linksCount,
    blocks,
    flags: raw.flags,
    atime: decodeTime(raw.atime, raw.atimeExtra),
    mtime: decodeTime(raw.mtime, raw.mtimeExtra),
    ctime: decodeTime(raw.ctime, raw.ctimeExtra),
    crtime: raw.hasExtra && raw.extraIsize >= 0x18 ? decodeTime(raw.crtime, raw.crtimeExtra) : null,
    generation: raw.generation,
    fileAcl: raw.fileAcl,
    rdev: decodeRdev(raw.mode, raw.block),
    dtime: raw.dtime,
    raw,
  };
}

/** ext4_iget's device decoding: old 16-bit form in i_block[0], else the new 32-bit form in i_block[1]. */
function decodeRdev(mode: number, iblock: Uint8Array): number {
  const fmt = mode & 0o170000;
  if (fmt !== 0o020000 && fmt !== 0o060000) return 0;
  const b0 = le32(iblock, 0);
  if (b0) return (((b0 >>> 8) & 0xff) << 8) | (b0 & 0xff); // old_decode_dev -> new form
  return le32(iblock, 4);
}

const le32b = (v: number): Uint8Array => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);

/** The per-inode checksum seed ei->i_csum_seed: crc32c(crc32c(fs seed, le32 ino), le32 generation). */
export function inodeCsumSeed(info: FsInfo, ino: number, generation: number): number {
  return crc32cUpdate(crc32cUpdate(info.csumSeed, le32b(ino)), le32b(generation));
}

/**
 * ext4_inode_csum: crc32c seeded with (fs seed, le32 ino, le32 generation) over the inode with
 * i_checksum_lo (0x7c) and, when it fits in extra_isize, i_checksum_hi (0x82) taken as zero.
 * Only the low 16 bits are stored when i_checksum_hi does not fit.
 */
export function inodeChecksum(
  info: FsInfo,
  ino: number,
  b: Uint8Array,
  extraIsize: number,
): { want: number; stored: number } {
  const gen = (b[0x64] | (b[0x65] << 8) | (b[0x66] << 16) | (b[0x67] << 24)) >>> 0;
  let crc = inodeCsumSeed(info, ino, gen);
  const zero = new Uint8Array(2);
  crc = crc32cUpdate(crc, b, 0, 0x7c);
  crc = crc32cUpdate(crc, zero);
  crc = crc32cUpdate(crc, b, 0x7e, 128);
  const hiFits = info.inodeSize > 128 && extraIsize >= 4;
  if (info.inodeSize > 128) {
    crc = crc32cUpdate(crc, b, 128, 0x82);
    let o = 0x82;
    if (hiFits) {
      crc = crc32cUpdate(crc, zero);
      o += 2;
    }
    crc = crc32cUpdate(crc, b, o, info.inodeSize);
  }
  const lo = b[0x7c] | (b[0x7d] << 8);
  if (hiFits) return { want: crc >>> 0, stored: (lo | ((b[0x82] | (b[0x83] << 8)) << 16)) >>> 0 };
  return { want: crc & 0xffff, stored: lo };
}

/** Where inode `ino` lives: the inode-table block and the byte offset in it (__ext4_get_inode_loc). */
export function inodeLocation(info: FsInfo, ino: number): { block: number; offset: number } {
  const { sb } = info;
  if (!Number.isInteger(ino) || ino < 1 || ino > sb.inodesCount) throw corrupt(`EXT4-fs: bad inode number ${ino}`);
  const group = Math.floor((ino - 1) / sb.inodesPerGroup);
  const byteOff = ((ino - 1) % sb.inodesPerGroup) * info.inodeSize;
  return {
    block: info.groups[group].inodeTable + Math.floor(byteOff / info.blockSize),
    offset: byteOff % info.blockSize,
  };
}

/** Encode an ext4 timestamp: low 32 bits of seconds, and extra = nsec << 2 | epoch bits (ext4_encode_extra_time). */
export function encodeTime(t: { sec: number; nsec: number }): { lo: number; extra: number } {
  const sec = Math.floor(t.sec);
  const lo = ((sec % 0x1_0000_0000) + 0x1_0000_0000) % 0x1_0000_0000;
  const signedLo = lo | 0;
  const epoch = Math.round((sec - signedLo) / 0x1_0000_0000) & 3;
  return { lo, extra: (((t.nsec >>> 0) % 1_000_000_000) * 4 + epoch) >>> 0 };
}

/** Flags the filesystem owns (mapping format, htree, huge_file); a caller's writeInode cannot change them. */
export const INTERNAL_FLAGS = 0x1000 | 0x40000 | 0x80000 | 0x200000 | 0x10000000;

/**
 * Encode `inode` into the on-disk bytes `b` (ext4_do_update_inode). With `full`, the block map
 * (i_block), i_blocks, generation and dtime are written too; without it only the fields a caller
 * of writeInode may change (mode, owner, size, links, times, user flags).
 */
export function encodeInode(info: FsInfo, b: Uint8Array, inode: Ext2Inode, full: boolean): void {
  put16(b, 0x0, inode.mode & 0xffff);
  put16(b, 0x2, inode.uid & 0xffff);
  put16(b, 0x78, (inode.uid >>> 16) & 0xffff);
  put16(b, 0x18, inode.gid & 0xffff);
  put16(b, 0x7a, (inode.gid >>> 16) & 0xffff);
  put32(b, 0x4, inode.size % 0x1_0000_0000);
  put32(b, 0x6c, Math.floor(inode.size / 0x1_0000_0000));
  put16(b, 0x1a, Math.min(inode.nlink, 0xffff));
  const oldFlags = le32(b, 0x20);
  let flags = full ? inode.flags : (inode.flags & ~INTERNAL_FLAGS) | (oldFlags & INTERNAL_FLAGS);
  const extra = info.inodeSize > 128 ? b[0x80] | (b[0x81] << 8) : 0;
  const fits = (end: number): boolean => 128 + extra >= end && info.inodeSize >= end;
  const put = (t: { sec: number; nsec: number }, lo: number, ex: number): void => {
    const e = encodeTime(t);
    put32(b, lo, e.lo);
    if (fits(ex + 4)) put32(b, ex, e.extra);
  };
  put(inode.atime, 0x8, 0x8c);
  put(inode.ctime, 0xc, 0x84);
  put(inode.mtime, 0x10, 0x88);
  if (inode.crtime && fits(0x98)) put(inode.crtime, 0x90, 0x94);
  if (full) {
    b.set(inode.raw.block.subarray(0, 60), 0x28);
    put32(b, 0x64, inode.generation);
    put32(b, 0x14, inode.dtime);
    // i_blocks in 512-byte sectors; huge_file allows 48 bits, then fs-block units (ext4_inode_blocks_set).
    let blocks = inode.blocks;
    flags &= ~EXT4_HUGE_FILE_FL;
    if (blocks >= 0x1_0000_0000 && !info.hugeFile)
      throw corrupt(`EXT4-fs error (inode ${inode.ino}): i_blocks overflow`);
    if (blocks >= 0x1_0000_0000_0000) {
      flags |= EXT4_HUGE_FILE_FL;
      blocks = Math.floor(blocks / (info.blockSize / 512));
    }
    put32(b, 0x1c, blocks % 0x1_0000_0000);
    if (info.hugeFile) put16(b, 0x74, Math.floor(blocks / 0x1_0000_0000) & 0xffff);
  }
  put32(b, 0x20, flags >>> 0);
  if (info.metadataCsum) setInodeChecksum(info, inode.ino, b);
}

/** ext4_inode_csum_set: store the crc32c in i_checksum_lo and, when it fits, i_checksum_hi. */
export function setInodeChecksum(info: FsInfo, ino: number, b: Uint8Array): void {
  const extra = info.inodeSize > 128 ? b[0x80] | (b[0x81] << 8) : 0;
  const { want } = inodeChecksum(info, ino, b, extra);
  put16(b, 0x7c, want & 0xffff);
  if (info.inodeSize > 128 && extra >= 4) put16(b, 0x82, want >>> 16);
}
