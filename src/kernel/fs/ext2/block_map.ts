/** ext2/ext3 indirect block mapping (ext4_ind_map_blocks / ext2_get_block, read side). */
import { EXT2_NDIR_BLOCKS, le32 } from './disk_layout.js';
import { corrupt } from './errors.js';
import type { BlockSource, Ext2Inode } from './inode.js';
import type { Ext2Fs } from './ext2fs.js';
import { freeBlocks, newBlocks } from './balloc.js';
import { put32 } from './super.js';

/**
 * Map logical block `lblk` through i_block[0..11] (direct), [12] (indirect), [13] (double)
 * and [14] (triple indirect). Returns 0 for a hole.
 */
export function blockMap(src: BlockSource, iblock: Uint8Array, lblk: number, ino: number): number {
  const per = src.info.blockSize / 4;
  if (lblk < EXT2_NDIR_BLOCKS) return le32(iblock, lblk * 4);
  let rel = lblk - EXT2_NDIR_BLOCKS;
  let level: number;
  let span = 1;
  if (rel < per) level = 1;
  else if ((rel -= per) < per * per) level = 2;
  else if ((rel -= per * per) < per * per * per) level = 3;
  else throw corrupt(`EXT2-fs error (inode ${ino}): block ${lblk} is beyond the triple-indirect range`);
  for (let i = 1; i < level; i++) span *= per;
  let blk = le32(iblock, (EXT2_NDIR_BLOCKS + level - 1) * 4);
  while (blk !== 0 && span >= 1) {
    const table = src.readBlock(blk);
    const idx = Math.floor(rel / span);
    rel %= span;
    blk = le32(table, idx * 4);
    if (span === 1) break;
    span /= per;
  }
  return blk;
}

// ---------------------------------------------------------------------------------------------
// Write side: ext4_ind_map_blocks with create (ext4_alloc_branch / ext4_splice_branch) and
// ext4_ind_truncate (ext4_free_branches).
// ---------------------------------------------------------------------------------------------

/** Which i_block slot and table indexes lead to `lblk` (ext4_block_to_path). */
function blockToPath(per: number, lblk: number): { slot: number; idx: number[]; span: number } {
  if (lblk < EXT2_NDIR_BLOCKS) return { slot: lblk, idx: [], span: 1 };
  let rel = lblk - EXT2_NDIR_BLOCKS;
  if (rel < per) return { slot: 12, idx: [rel], span: per };
  rel -= per;
  if (rel < per * per) return { slot: 13, idx: [Math.floor(rel / per), rel % per], span: per * per };
  rel -= per * per;
  if (rel < per * per * per)
    return {
      slot: 14,
      idx: [Math.floor(rel / (per * per)), Math.floor(rel / per) % per, rel % per],
      span: per * per * per,
    };
  return { slot: -1, idx: [], span: 0 };
}

/** Largest logical block count an indirect-mapped file can address. */
export const indirectMaxBlocks = (per: number): number => EXT2_NDIR_BLOCKS + per + per * per + per * per * per;

/**
 * Map (and with `create`, allocate) up to `maxLen` blocks from `lblk` of an indirect-mapped
 * inode. Returns the run { pblk, len } (pblk 0 = a hole of len blocks) or -ENOSPC / -EFBIG.
 * Modifies inode.raw.block and inode.blocks; the caller writes the inode.
 */
export function indMapBlocks(
  fs: Ext2Fs,
  inode: Ext2Inode,
  lblk: number,
  maxLen: number,
  create: boolean,
): { pblk: number; len: number; fresh: boolean } | number {
  const bs = fs.blockSize;
  const per = bs / 4;
  const path = blockToPath(per, lblk);
  if (path.slot < 0) return -27; // EFBIG
  const iblock = inode.raw.block;
  const { blocksCount, firstDataBlock } = fs.info.sb;
  const check = (b: number): number => {
    if (b !== 0 && (b < firstDataBlock || b >= blocksCount))
      throw corrupt(`EXT2-fs error (inode ${inode.ino}): block ${b} in block map is outside the filesystem`);
    return b;
  };
  // Walk down, allocating missing tables when creating.
  let table: Uint8Array = iblock;
  let tableBlk = 0; // 0 = i_block itself
  let entry = path.slot;
  let goal = fs.inodeGoal(inode.ino);
  const dirty = (t: Uint8Array, b: number): void => {
    if (b !== 0) fs.writeBlock(b, t);
  };
  for (let level = 0; level < path.idx.length; level++) {
    let next = check(le32(table, entry * 4));
    if (next === 0) {
      // A missing table: everything below it is a hole.
      if (!create) {
        const n = path.idx.length;
        let offset = 0;
        for (let k = level; k < n; k++) offset += path.idx[k] * per ** (n - 1 - k);
        const remaining = per ** (n - level) - offset;
        return { pblk: 0, len: Math.max(1, Math.min(maxLen, remaining)), fresh: false };
      }
      const r = newBlocks(fs, goal, 1);
      if (!r) return -28;
      next = r.start;
      fs.writeBlock(next, new Uint8Array(bs));
      inode.blocks += bs / 512;
      put32(table, entry * 4, next);
      dirty(table, tableBlk);
    }
    goal = next + 1;
    table = fs.readBlock(next).slice();
    tableBlk = next;
    entry = path.idx[level];
  }
  const end = tableBlk === 0 ? EXT2_NDIR_BLOCKS : per;
  const limit = Math.min(end - entry, maxLen);
  const first = check(le32(table, entry * 4));
  if (first !== 0) {
    let len = 1;
    while (len < limit && check(le32(table, (entry + len) * 4)) === first + len) len++;
    return { pblk: first, len, fresh: false };
  }
  let holeLen = 1;
  while (holeLen < limit && le32(table, (entry + holeLen) * 4) === 0) holeLen++;
  if (!create) return { pblk: 0, len: holeLen, fresh: false };
  // Goal: right after the previous mapped block in this table, else after the table itself.
  for (let k = entry - 1; k >= 0; k--) {
    const b = le32(table, k * 4);
    if (b) {
      goal = b + (entry - k);
      break;
    }
  }
  const r = newBlocks(fs, goal, holeLen);
  if (!r) return -28;
  for (let i = 0; i < r.len; i++) put32(table, (entry + i) * 4, r.start + i);
  dirty(table, tableBlk);
  inode.blocks += (r.len * bs) / 512;
  return { pblk: r.start, len: r.len, fresh: true };
}

/**
 * ext4_ind_truncate: free every data and table block mapping logical blocks >= `from`.
 * Tables that still map kept blocks stay.
 */
export function indTruncate(fs: Ext2Fs, inode: Ext2Inode, from: number): void {
  const bs = fs.blockSize;
  const per = bs / 4;
  const iblock = inode.raw.block;
  const ino = inode.ino;
  let freed = 0;
  const seen = new Set<number>();
  const free = (b: number, n: number): void => {
    freeBlocks(fs, b, n, ino);
    freed += n;
  };
  // Free a whole subtree whose root `blk` has `level` levels of tables (level 0 = a data block).
  const freeTree = (blk: number, level: number): void => {
    if (level > 0) {
      if (seen.has(blk)) throw corrupt(`EXT2-fs error (inode ${ino}): block map table ${blk} used twice`);
      seen.add(blk);
      const t = fs.readBlock(blk);
      let runStart = 0;
      let runLen = 0;
      for (let i = 0; i < per; i++) {
        const c = le32(t, i * 4);
        if (c === 0) continue;
        if (level > 1) freeTree(c, level - 1);
        else if (runLen && c === runStart + runLen) runLen++;
        else {
          if (runLen) free(runStart, runLen);
          runStart = c;
          runLen = 1;
        }
      }
      if (runLen) free(runStart, runLen);
    }
    free(blk, 1);
  };
  // Truncate inside table `blk` (level >= 1) keeping relative blocks < relFrom.
  const partial = (blk: number, level: number, relFrom: number): void => {
    const t = fs.readBlock(blk).slice();
    const span = per ** (level - 1);
    let changed = false;
    for (let i = 0; i < per; i++) {
      const c = le32(t, i * 4);
      if (c === 0) continue;
      const base = i * span;
      if (base >= relFrom) {
        freeTree(c, level - 1);
        put32(t, i * 4, 0);
        changed = true;
      } else if (level > 1 && base + span > relFrom) partial(c, level - 1, relFrom - base);
    }
    if (changed) fs.writeBlock(blk, t);
  };
  for (let i = Math.max(0, from); i < EXT2_NDIR_BLOCKS; i++) {
    const b = le32(iblock, i * 4);
    if (b) {
      free(b, 1);
      put32(iblock, i * 4, 0);
    }
  }
  let base = EXT2_NDIR_BLOCKS;
  for (let level = 1; level <= 3; level++) {
    const span = per ** level;
    const slot = 11 + level;
    const b = le32(iblock, slot * 4);
    if (b) {
      if (from <= base) {
        freeTree(b, level);
        put32(iblock, slot * 4, 0);
      } else if (from < base + span) partial(b, level, from - base);
    }
    base += span;
  }
  inode.blocks = Math.max(0, inode.blocks - (freed * bs) / 512);
}
