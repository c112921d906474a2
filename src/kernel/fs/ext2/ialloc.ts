/** Inode bitmaps and inode allocation (fs/ext4/ialloc.c). */
import { corrupt } from './errors.js';
import type { Ext2Fs } from './ext2fs.js';
import { findZeroBit, loadBlockBitmap, setBits, testBit, verifyBitmapCsum } from './balloc.js';
import { BG_BLOCK_UNINIT, BG_INODE_UNINIT, hasGroupCsum } from './super.js';

/** ext4_read_inode_bitmap: cached; an INODE_UNINIT group's bitmap is all free (padding bits set). */
export function loadInodeBitmap(fs: Ext2Fs, g: number): Uint8Array {
  let bm = fs.inodeBitmaps.get(g);
  if (bm) return bm;
  const { info } = fs;
  const gd = info.groups[g];
  if (hasGroupCsum(info) && gd.flags & BG_INODE_UNINIT) {
    bm = new Uint8Array(info.blockSize);
    setBits(bm, info.sb.inodesPerGroup, info.blockSize * 8);
  } else {
    bm = fs.readBlock(gd.inodeBitmap).slice();
    if (info.metadataCsum && !fs.readOnly) verifyBitmapCsum(fs, g, bm, false);
  }
  fs.inodeBitmaps.set(g, bm);
  return bm;
}

/**
 * Pick a group for a new inode. Directories spread out like find_group_orlov (a group with
 * at least average free inodes and blocks and the fewest directories, starting from the parent's);
 * files stay near the parent as find_group_other does (parent group, then a hashed probe, then linear).
 */
function findGroup(fs: Ext2Fs, parentGroup: number, isDir: boolean): number {
  const { info } = fs;
  const n = info.groupCount;
  const groups = info.groups;
  if (isDir && n > 1) {
    const avgI = info.sb.freeInodesCount / n;
    const avgB = info.sb.freeBlocksCount / n;
    let best = -1;
    for (let k = 0; k < n; k++) {
      const g = (parentGroup + k) % n;
      const gd = groups[g];
      if (gd.freeInodesCount === 0 || gd.freeInodesCount < avgI || gd.freeBlocksCount < avgB) continue;
      if (best < 0 || gd.usedDirsCount < groups[best].usedDirsCount) best = g;
    }
    if (best >= 0) return best;
  }
  const pg = groups[parentGroup];
  if (pg.freeInodesCount > 0 && (pg.freeBlocksCount > 0 || isDir)) return parentGroup;
  for (let step = 1; step < n; step <<= 1) {
    const g = (parentGroup + step) % n;
    if (groups[g].freeInodesCount > 0 && groups[g].freeBlocksCount > 0) return g;
  }
  for (let k = 0; k < n; k++) {
    const g = (parentGroup + k) % n;
    if (groups[g].freeInodesCount > 0) return g;
  }
  return -1;
}

/**
 * ext4_new_inode's bitmap side: take a free inode number near `dirIno`, update counts, clear
 * INODE_UNINIT (and initialise a BLOCK_UNINIT block bitmap), keep bg_itable_unused right.
 * Returns the inode number or 0 when no inode is free.
 */
export function newInode(fs: Ext2Fs, dirIno: number, isDir: boolean): number {
  const { info } = fs;
  const ipg = info.sb.inodesPerGroup;
  const parentGroup = Math.min(Math.floor((dirIno - 1) / ipg), info.groupCount - 1);
  let g = findGroup(fs, parentGroup, isDir);
  if (g < 0) return 0;
  for (let tries = 0; tries < info.groupCount; tries++, g = (g + 1) % info.groupCount) {
    const gd = info.groups[g];
    if (gd.freeInodesCount === 0) continue;
    const bm = loadInodeBitmap(fs, g);
    const first = g === 0 ? Math.max(0, info.firstIno - 1) : 0;
    const bit = findZeroBit(bm, first, ipg);
    if (bit < 0) continue;
    setBits(bm, bit, bit + 1);
    if (hasGroupCsum(info)) {
      if (gd.flags & BG_BLOCK_UNINIT) {
        loadBlockBitmap(fs, g);
        gd.flags &= ~BG_BLOCK_UNINIT;
        fs.dirtyBlockBitmaps.add(g);
      }
      gd.flags &= ~BG_INODE_UNINIT;
      const used = ipg - gd.itableUnused;
      if (bit + 1 > used) gd.itableUnused = ipg - (bit + 1);
    }
    gd.freeInodesCount--;
    info.sb.freeInodesCount--;
    if (isDir) gd.usedDirsCount++;
    fs.dirtyInodeBitmaps.add(g);
    fs.dirtyGroups.add(g);
    return g * ipg + bit + 1;
  }
  return 0;
}

/** ext4_free_inode: clear the bitmap bit and give the inode back to the counts. */
export function freeInode(fs: Ext2Fs, ino: number, isDir: boolean): void {
  const { info } = fs;
  const ipg = info.sb.inodesPerGroup;
  if (ino < info.firstIno || ino > info.sb.inodesCount)
    throw corrupt(`EXT4-fs error: ext4_free_inode: reserved or nonexistent inode ${ino}`);
  const g = Math.floor((ino - 1) / ipg);
  const bit = (ino - 1) % ipg;
  const bm = loadInodeBitmap(fs, g);
  if (!testBit(bm, bit)) throw corrupt(`EXT4-fs error: ext4_free_inode: bit already cleared for inode ${ino}`);
  bm[bit >> 3] &= ~(1 << (bit & 7));
  const gd = info.groups[g];
  gd.freeInodesCount++;
  info.sb.freeInodesCount++;
  if (isDir && gd.usedDirsCount > 0) gd.usedDirsCount--;
  fs.dirtyInodeBitmaps.add(g);
  fs.dirtyGroups.add(g);
}
