/**
 * ext4 extent trees (fs/ext4/extents.c): lookup (ext4_find_extent / ext4_ext_map_blocks), and the
 * write side — insertion, growth, removal — further down.
 */
import { freeBlocks, newBlocks } from './balloc.js';
import { crc32cUpdate } from './crc32c.js';
import { EXT4_EXT_MAGIC, EXT_ENTRY_SIZE, EXT_HEADER_SIZE, EXT_INIT_MAX_LEN, le16, le32 } from './disk_layout.js';
import { corrupt } from './errors.js';
import type { Ext2Fs } from './ext2fs.js';
import { inodeCsumSeed, type BlockSource, type Ext2Inode } from './inode.js';
import { put16, put32 } from './super.js';

const MAX_DEPTH = 5;

/**
 * Map logical block `lblk` of an extent-mapped inode to a physical block. Returns 0 for a hole
 * (and for an unwritten extent, which reads as zeros).
 */
export function extentMap(src: BlockSource, iblock: Uint8Array, lblk: number, ino: number): number {
  const run = extentLookup(src, iblock, lblk, ino);
  return run.unwritten ? 0 : run.pblk;
}

// ---------------------------------------------------------------------------------------------
// Write side. The tree is handled as its flat, sorted list of leaf extents: insertion
// (ext4_ext_insert_extent with merging), removal (ext4_ext_remove_space) and growth
// (ext4_ext_grow_indepth / ext4_ext_split) all become "edit the list, then lay the tree out
// again", reusing the old index/leaf blocks first. The result is always a valid, fully packed
// tree (which is also what e2fsck's extent-tree rebuild produces), at the cost of rewriting the
// tree's few blocks on each change.
// ---------------------------------------------------------------------------------------------

export interface Extent {
  lblk: number;
  len: number;
  pblk: number;
  unwritten: boolean;
}

/** Largest initialised extent (EXT_INIT_MAX_LEN); unwritten ones hold one block less. */
export const EXT_MAX_LEN = EXT_INIT_MAX_LEN;

/** Offset of the ext4_extent_tail in a tree block (ext4_extent_block_csum_offset). */
const tailOffset = (max: number): number => EXT_HEADER_SIZE + max * EXT_ENTRY_SIZE;

/**
 * Walk the whole tree (__ext4_ext_check on every node): magic, depth, entry counts, ordering,
 * block ranges and tree-block checksums. Returns the leaf extents and the tree's own blocks.
 */
export function collectExtents(fs: Ext2Fs, inode: Ext2Inode): { extents: Extent[]; treeBlocks: number[] } {
  const ino = inode.ino;
  const extents: Extent[] = [];
  const treeBlocks: number[] = [];
  const seen = new Set<number>();
  const { blocksCount, firstDataBlock } = fs.info.sb;
  const seed = fs.info.metadataCsum ? inodeCsumSeed(fs.info, ino, inode.generation) : 0;
  const walk = (node: Uint8Array, limit: number, wantDepth: number, isRoot: boolean): void => {
    if (limit < EXT_HEADER_SIZE || le16(node, 0) !== EXT4_EXT_MAGIC)
      throw corrupt(`EXT4-fs error (inode ${ino}): bad extent header magic`);
    const entries = le16(node, 2);
    const max = le16(node, 4);
    const depth = le16(node, 6);
    if (
      entries > max ||
      max === 0 ||
      EXT_HEADER_SIZE + max * EXT_ENTRY_SIZE > limit ||
      depth > MAX_DEPTH ||
      (wantDepth >= 0 && depth !== wantDepth)
    ) {
      throw corrupt(`EXT4-fs error (inode ${ino}): bad extent header (entries ${entries}, max ${max}, depth ${depth})`);
    }
    if (!isRoot && fs.info.metadataCsum && tailOffset(max) + 4 <= limit) {
      const want = crc32cUpdate(seed, node, 0, tailOffset(max));
      if (want !== le32(node, tailOffset(max)))
        throw corrupt(`EXT4-fs error (inode ${ino}): extent tree block checksum invalid`);
    }
    let prev = -1;
    for (let i = 0; i < entries; i++) {
      const e = EXT_HEADER_SIZE + i * EXT_ENTRY_SIZE;
      const first = le32(node, e);
      if (first <= prev && !(i === 0 && prev === -1))
        throw corrupt(`EXT4-fs error (inode ${ino}): extent entries out of order`);
      if (depth === 0) {
        let len = le16(node, e + 4);
        const unwritten = len > EXT_INIT_MAX_LEN;
        if (unwritten) len -= EXT_INIT_MAX_LEN;
        const start = le16(node, e + 6) * 0x1_0000_0000 + le32(node, e + 8);
        if (len === 0 || start < firstDataBlock || start + len > blocksCount || first + len > 0x1_0000_0000) {
          throw corrupt(`EXT4-fs error (inode ${ino}): bad extent: lblk ${first} len ${len} pblk ${start}`);
        }
        const last = extents[extents.length - 1];
        if (last && first < last.lblk + last.len) throw corrupt(`EXT4-fs error (inode ${ino}): overlapping extents`);
        extents.push({ lblk: first, len, pblk: start, unwritten });
        prev = first + len - 1;
      } else {
        const leaf = le16(node, e + 8) * 0x1_0000_0000 + le32(node, e + 4);
        if (seen.has(leaf) || leaf < firstDataBlock || leaf >= blocksCount)
          throw corrupt(`EXT4-fs error (inode ${ino}): bad extent index block ${leaf}`);
        seen.add(leaf);
        treeBlocks.push(leaf);
        walk(fs.readBlock(leaf), fs.blockSize, depth - 1, false);
        prev = first;
      }
    }
  };
  walk(inode.raw.block, 60, -1, true);
  return { extents, treeBlocks };
}

/** Append `e` to `list`, merging with the previous extent when contiguous (ext4_ext_try_to_merge). */
function pushMerged(list: Extent[], e: Extent): void {
  const p = list[list.length - 1];
  if (
    p &&
    !p.unwritten &&
    !e.unwritten &&
    p.lblk + p.len === e.lblk &&
    p.pblk + p.len === e.pblk &&
    p.len + e.len <= EXT_MAX_LEN
  ) {
    p.len += e.len;
  } else list.push({ ...e });
}

/** Insert a new extent into the sorted list (no overlap allowed), merging neighbours. */
export function insertExtent(list: Extent[], e: Extent): Extent[] {
  const out: Extent[] = [];
  let done = false;
  for (const x of list) {
    if (!done && e.lblk < x.lblk) {
      pushMerged(out, e);
      done = true;
    }
    pushMerged(out, x);
  }
  if (!done) pushMerged(out, e);
  return out;
}

function writeHeader(b: Uint8Array, entries: number, max: number, depth: number): void {
  put16(b, 0, EXT4_EXT_MAGIC);
  put16(b, 2, entries);
  put16(b, 4, max);
  put16(b, 6, depth);
  put32(b, 8, 0);
}

function writeLeafEntry(b: Uint8Array, i: number, e: Extent): void {
  const o = EXT_HEADER_SIZE + i * EXT_ENTRY_SIZE;
  put32(b, o, e.lblk);
  put16(b, o + 4, e.unwritten ? e.len + EXT_INIT_MAX_LEN : e.len);
  put16(b, o + 6, Math.floor(e.pblk / 0x1_0000_0000));
  put32(b, o + 8, e.pblk % 0x1_0000_0000);
}

function writeIndexEntry(b: Uint8Array, i: number, lblk: number, blk: number): void {
  const o = EXT_HEADER_SIZE + i * EXT_ENTRY_SIZE;
  put32(b, o, lblk);
  put32(b, o + 4, blk % 0x1_0000_0000);
  put16(b, o + 8, Math.floor(blk / 0x1_0000_0000));
  put16(b, o + 10, 0);
}

/**
 * Lay out `extents` as a tree in `inode` (i_block root plus as many tree blocks as needed),
 * reusing `oldBlocks`, allocating the rest near the data, freeing what is left over. Updates
 * inode.raw.block and inode.blocks; the caller writes the inode. Returns 0 or -ENOSPC.
 */
export function writeExtentTree(fs: Ext2Fs, inode: Ext2Inode, extents: Extent[], oldBlocks: number[]): number {
  const bs = fs.blockSize;
  const cap = Math.floor((bs - EXT_HEADER_SIZE) / EXT_ENTRY_SIZE);
  // Plan: levels[0] = leaf chunks, levels[k] = index chunks; stop when a level fits the 4-entry root.
  const levels: number[] = []; // node count per level below the root
  let n = extents.length;
  while (n > 4) {
    const nodes = Math.ceil(n / cap);
    levels.push(nodes);
    n = nodes;
  }
  if (levels.length > MAX_DEPTH) throw corrupt(`EXT4-fs error (inode ${inode.ino}): extent tree would be too deep`);
  const needed = levels.reduce((a, b) => a + b, 0);
  const pool = oldBlocks.slice(0, needed);
  while (pool.length < needed) {
    const goal = extents.length ? extents[0].pblk : 0;
    const r = newBlocks(fs, goal > 0 ? goal - 1 : fs.inodeGoal(inode.ino), needed - pool.length);
    if (!r) {
      for (const b of pool.slice(Math.min(oldBlocks.length, needed))) freeBlocks(fs, b, 1, inode.ino);
      return -28; // ENOSPC
    }
    for (let i = 0; i < r.len; i++) pool.push(r.start + i);
  }
  for (const b of oldBlocks.slice(needed)) freeBlocks(fs, b, 1, inode.ino);
  inode.blocks += ((needed - oldBlocks.length) * bs) / 512;
  const seed = fs.info.metadataCsum ? inodeCsumSeed(fs.info, inode.ino, inode.generation) : 0;
  // Build bottom-up. `cur` = the entries of the current level: (first lblk, and leaf extent or block).
  let curFirst = extents.map((e) => e.lblk);
  let curBlocks: number[] | null = null; // null at the leaf level
  let p = 0;
  for (let lv = 0; lv < levels.length; lv++) {
    const nodes = levels[lv];
    const nextFirst: number[] = [];
    const nextBlocks: number[] = [];
    for (let k = 0; k < nodes; k++) {
      const from = k * cap;
      const to = Math.min(curFirst.length, from + cap);
      const blk = pool[p++];
      const b = new Uint8Array(bs);
      writeHeader(b, to - from, cap, lv);
      for (let i = from; i < to; i++) {
        if (curBlocks) writeIndexEntry(b, i - from, curFirst[i], curBlocks[i]);
        else writeLeafEntry(b, i - from, extents[i]);
      }
      if (fs.info.metadataCsum) put32(b, tailOffset(cap), crc32cUpdate(seed, b, 0, tailOffset(cap)));
      fs.writeBlock(blk, b);
      nextFirst.push(curFirst[from]);
      nextBlocks.push(blk);
    }
    curFirst = nextFirst;
    curBlocks = nextBlocks;
  }
  const root = new Uint8Array(60);
  writeHeader(root, curFirst.length, 4, levels.length);
  for (let i = 0; i < curFirst.length; i++) {
    if (curBlocks) writeIndexEntry(root, i, curFirst[i], curBlocks[i]);
    else writeLeafEntry(root, i, extents[i]);
  }
  inode.raw.block = root;
  return 0;
}

/** An empty depth-0 tree in i_block (ext4_ext_tree_init). */
export function emptyExtentRoot(): Uint8Array {
  const root = new Uint8Array(60);
  writeHeader(root, 0, 4, 0);
  return root;
}

/**
 * ext4_ext_map_blocks (lookup only): the run at `lblk` — mapped blocks to the end of the extent,
 * or a hole up to the next extent of the same leaf (Infinity when none follows in that leaf).
 */
export function extentLookup(
  src: BlockSource,
  iblock: Uint8Array,
  lblk: number,
  ino: number,
): { pblk: number; len: number; unwritten: boolean } {
  let node = iblock;
  let limit = iblock.length;
  let nextStart = Infinity;
  for (let level = 0; level <= MAX_DEPTH; level++) {
    if (limit < EXT_HEADER_SIZE || le16(node, 0) !== EXT4_EXT_MAGIC)
      throw corrupt(`EXT4-fs error (inode ${ino}): bad extent header magic`);
    const entries = le16(node, 2);
    const max = le16(node, 4);
    const depth = le16(node, 6);
    if (entries > max || EXT_HEADER_SIZE + max * EXT_ENTRY_SIZE > limit || depth > MAX_DEPTH)
      throw corrupt(`EXT4-fs error (inode ${ino}): bad extent header (entries ${entries}, max ${max}, depth ${depth})`);
    if (entries === 0) return { pblk: 0, len: nextStart - lblk, unwritten: false };
    let lo = 0;
    let hi = entries - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (le32(node, EXT_HEADER_SIZE + mid * EXT_ENTRY_SIZE) <= lblk) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found + 1 < entries)
      nextStart = Math.min(nextStart, le32(node, EXT_HEADER_SIZE + (found + 1) * EXT_ENTRY_SIZE));
    if (found < 0) return { pblk: 0, len: nextStart - lblk, unwritten: false };
    const e = EXT_HEADER_SIZE + found * EXT_ENTRY_SIZE;
    if (depth === 0) {
      const first = le32(node, e);
      let len = le16(node, e + 4);
      const unwritten = len > EXT_INIT_MAX_LEN;
      if (unwritten) len -= EXT_INIT_MAX_LEN;
      if (lblk >= first + len) return { pblk: 0, len: nextStart - lblk, unwritten: false };
      const start = le16(node, e + 6) * 0x1_0000_0000 + le32(node, e + 8);
      if (start + len > src.info.sb.blocksCount || start < src.info.sb.firstDataBlock)
        throw corrupt(`EXT4-fs error (inode ${ino}): extent points outside the filesystem (block ${start})`);
      return { pblk: start + (lblk - first), len: first + len - lblk, unwritten };
    }
    const leaf = le16(node, e + 8) * 0x1_0000_0000 + le32(node, e + 4);
    node = src.readBlock(leaf);
    limit = node.length;
    if (le16(node, 0) === EXT4_EXT_MAGIC && le16(node, 6) !== depth - 1)
      throw corrupt(`EXT4-fs error (inode ${ino}): extent tree depth mismatch`);
  }
  throw corrupt(`EXT4-fs error (inode ${ino}): extent tree too deep`);
}
