/**
 * Block bitmaps and block allocation (fs/ext4/balloc.c, a simplified fs/ext4/mballoc.c).
 * Bitmaps are cached per group in memory; changes mark the group dirty and Ext2Fs.flushMeta()
 * writes the bitmap, the descriptor (with bitmap checksums) and the superblock back.
 */
import { crc32cUpdate } from './crc32c.js';
import { INCOMPAT_META_BG } from './disk_layout.js';
import { corrupt } from './errors.js';
import type { Ext2Fs } from './ext2fs.js';
import { BG_BLOCK_UNINIT, groupHasSuper, hasGroupCsum, type FsInfo } from './super.js';

/** First block of group `g`. */
export const groupFirstBlock = (info: FsInfo, g: number): number => info.sb.firstDataBlock + g * info.sb.blocksPerGroup;

/** Number of blocks actually in group `g` (the last group may be short). */
export function blocksInGroup(info: FsInfo, g: number): number {
  return Math.min(info.sb.blocksPerGroup, info.sb.blocksCount - groupFirstBlock(info, g));
}

/** ext4_bg_num_gdb: group descriptor blocks (plus reserved GDT blocks) stored in group `g`. */
export function groupGdtBlocks(info: FsInfo, g: number): number {
  const { sb } = info;
  const dpb = info.blockSize / info.descSize;
  const descBlocks = Math.ceil(info.groupCount / dpb);
  if (!(sb.featureIncompat & INCOMPAT_META_BG)) return groupHasSuper(sb, g) ? descBlocks + sb.reservedGdtBlocks : 0;
  const metagroup = Math.floor(g / dpb);
  if (metagroup < sb.firstMetaBg) return groupHasSuper(sb, g) ? sb.firstMetaBg + sb.reservedGdtBlocks : 0;
  const first = metagroup * dpb;
  return g === first || g === first + 1 || g === first + dpb - 1 ? 1 : 0;
}

/** Set bits [from, to) of a bitmap. */
export function setBits(bm: Uint8Array, from: number, to: number): void {
  let i = from;
  while (i < to && i & 7) bm[i >> 3] |= 1 << (i++ & 7);
  if (i + 8 <= to) {
    bm.fill(0xff, i >> 3, to >> 3);
    i = to & ~7;
  }
  while (i < to) bm[i >> 3] |= 1 << (i++ & 7);
}

function clearBits(bm: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i++) bm[i >> 3] &= ~(1 << (i & 7));
}

export const testBit = (bm: Uint8Array, i: number): boolean => (bm[i >> 3] & (1 << (i & 7))) !== 0;

/** First zero bit in [from, to), or -1; skips full bytes (ext4_find_next_zero_bit). */
export function findZeroBit(bm: Uint8Array, from: number, to: number): number {
  let i = from;
  while (i < to) {
    if ((i & 7) === 0 && bm[i >> 3] === 0xff) {
      i += 8;
      continue;
    }
    if (!(bm[i >> 3] & (1 << (i & 7)))) return i;
    i++;
  }
  return -1;
}

/**
 * ext4_init_block_bitmap: the bitmap of a BLOCK_UNINIT group is implied by the layout — the
 * superblock backup and GDT blocks it holds, any group's bitmaps and inode table that flex_bg
 * placed in it, and the padding past the end of the filesystem.
 */
function initBlockBitmap(info: FsInfo, g: number): Uint8Array {
  const bm = new Uint8Array(info.blockSize);
  const first = groupFirstBlock(info, g);
  const n = blocksInGroup(info, g);
  const meta = (groupHasSuper(info.sb, g) ? 1 : 0) + groupGdtBlocks(info, g);
  setBits(bm, 0, Math.min(meta, n));
  const itb = Math.ceil((info.sb.inodesPerGroup * info.inodeSize) / info.blockSize);
  const mark = (b: number, count: number): void => {
    const s = Math.max(b, first);
    const e = Math.min(b + count, first + n);
    if (s < e) setBits(bm, s - first, e - first);
  };
  for (const gd of info.groups) {
    mark(gd.blockBitmap, 1);
    mark(gd.inodeBitmap, 1);
    mark(gd.inodeTable, itb);
  }
  setBits(bm, n, info.blockSize * 8);
  return bm;
}

/** ext4_read_block_bitmap: cached, initialised for BLOCK_UNINIT groups. */
export function loadBlockBitmap(fs: Ext2Fs, g: number): Uint8Array {
  let bm = fs.blockBitmaps.get(g);
  if (bm) return bm;
  const { info } = fs;
  const gd = info.groups[g];
  if (hasGroupCsum(info) && gd.flags & BG_BLOCK_UNINIT) bm = initBlockBitmap(info, g);
  else {
    bm = fs.readBlock(gd.blockBitmap).slice();
    if (info.metadataCsum && !fs.readOnly) verifyBitmapCsum(fs, g, bm, true);
  }
  fs.blockBitmaps.set(g, bm);
  return bm;
}

/** ext4_block_bitmap_csum_set / ext4_inode_bitmap_csum_set: crc32c(fs seed, bitmap bytes in use). */
export function bitmapCsum(info: FsInfo, bm: Uint8Array, bits: number): number {
  return crc32cUpdate(info.csumSeed, bm, 0, Math.ceil(bits / 8));
}

function verifyBitmapCsum(fs: Ext2Fs, g: number, bm: Uint8Array, block: boolean): void {
  const { info } = fs;
  const d = fs.gdBytes(g);
  const big = info.is64 && info.descSize >= 64;
  const lo = block ? d[0x18] | (d[0x19] << 8) : d[0x1a] | (d[0x1b] << 8);
  const hi = big ? (block ? d[0x38] | (d[0x39] << 8) : d[0x3a] | (d[0x3b] << 8)) : 0;
  const want = bitmapCsum(info, bm, block ? info.sb.blocksPerGroup : info.sb.inodesPerGroup);
  const stored = (lo | (hi << 16)) >>> 0;
  if ((big ? want : want & 0xffff) !== stored) {
    throw corrupt(`EXT4-fs error: ${block ? 'block' : 'inode'} bitmap for group ${g} checksum invalid`);
  }
}
export { verifyBitmapCsum };

/**
 * Allocate up to `want` contiguous blocks, first trying at `goal` and then forward through the
 * groups (ext4_mb_new_blocks' goal-group-first search, without buddy caches). Returns the run or
 * null when the filesystem is full.
 */
export function newBlocks(fs: Ext2Fs, goal: number, want: number): { start: number; len: number } | null {
  const { info } = fs;
  const { sb } = info;
  if (want < 1) want = 1;
  if (goal < sb.firstDataBlock || goal >= sb.blocksCount) goal = sb.firstDataBlock;
  const g0 = Math.floor((goal - sb.firstDataBlock) / sb.blocksPerGroup);
  // Two passes: first look for a run of the whole length, then take whatever is free.
  for (let pass = 0; pass < 2; pass++) {
    for (let k = 0; k <= info.groupCount; k++) {
      // k = groupCount revisits the goal group from its start (the part before the goal).
      const g = (g0 + k) % info.groupCount;
      const gd = info.groups[g];
      if (gd.freeBlocksCount === 0) continue;
      if (pass === 0 && gd.freeBlocksCount < Math.min(want, 16)) continue;
      const bm = loadBlockBitmap(fs, g);
      const n = blocksInGroup(info, g);
      let from = 0;
      let to = n;
      if (k === 0) from = goal - groupFirstBlock(info, g);
      else if (k === info.groupCount) to = goal - groupFirstBlock(info, g);
      while (from < to) {
        const s = findZeroBit(bm, from, to);
        if (s < 0) break;
        let e = s + 1;
        while (e < n && e - s < want && !testBit(bm, e)) e++;
        if (pass === 1 || e - s >= Math.min(want, 8)) return takeBlocks(fs, g, s, e - s);
        from = e;
      }
    }
  }
  return null;
}

function takeBlocks(fs: Ext2Fs, g: number, bit: number, len: number): { start: number; len: number } {
  const { info } = fs;
  const gd = info.groups[g];
  const bm = loadBlockBitmap(fs, g);
  setBits(bm, bit, bit + len);
  gd.freeBlocksCount -= len;
  gd.flags &= ~BG_BLOCK_UNINIT;
  info.sb.freeBlocksCount -= len;
  fs.dirtyBlockBitmaps.add(g);
  fs.dirtyGroups.add(g);
  return { start: groupFirstBlock(info, g) + bit, len };
}

/** ext4_free_blocks: return [start, start+count) to the bitmaps; freeing a free block is corruption. */
export function freeBlocks(fs: Ext2Fs, start: number, count: number, ino: number): void {
  const { info } = fs;
  const { sb } = info;
  if (count <= 0) return;
  if (!Number.isSafeInteger(start) || start < sb.firstDataBlock || start + count > sb.blocksCount) {
    throw corrupt(`EXT4-fs error (inode ${ino}): freeing blocks not in datazone: block ${start} count ${count}`);
  }
  const itb = Math.ceil((sb.inodesPerGroup * info.inodeSize) / info.blockSize);
  for (const gd of info.groups) {
    const hit = (b: number, n: number): boolean => start < b + n && b < start + count;
    if (hit(gd.blockBitmap, 1) || hit(gd.inodeBitmap, 1) || hit(gd.inodeTable, itb)) {
      throw corrupt(`EXT4-fs error (inode ${ino}): freeing blocks in system zone: block ${start} count ${count}`);
    }
  }
  while (count > 0) {
    const g = Math.floor((start - sb.firstDataBlock) / sb.blocksPerGroup);
    const bit = start - groupFirstBlock(info, g);
    const n = Math.min(count, blocksInGroup(info, g) - bit);
    const bm = loadBlockBitmap(fs, g);
    for (let i = bit; i < bit + n; i++) {
      if (!testBit(bm, i))
        throw corrupt(`EXT4-fs error (inode ${ino}): bit already cleared for block ${groupFirstBlock(info, g) + i}`);
    }
    clearBits(bm, bit, bit + n);
    info.groups[g].flags &= ~BG_BLOCK_UNINIT;
    info.groups[g].freeBlocksCount += n;
    sb.freeBlocksCount += n;
    fs.dirtyBlockBitmaps.add(g);
    fs.dirtyGroups.add(g);
    start += n;
    count -= n;
  }
}
