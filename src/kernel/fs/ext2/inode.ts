/** Read an inode by number (ext4_iget / __ext4_get_inode_loc). */
import { EXT4_HUGE_FILE_FL, decodeTime, parseInode, type RawInode } from './disk_layout.js';
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
    raw,
  };
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
