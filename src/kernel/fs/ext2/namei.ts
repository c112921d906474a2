/**
 * Directory entry lookup, insertion and removal (fs/ext4/namei.c): ext4_find_entry,
 * ext4_add_entry / add_dirent_to_buf, ext4_delete_entry, plus the htree paths
 * (dx_probe, ext4_dx_find_entry, ext4_dx_add_entry, do_split, make_indexed_dir).
 */
import {
  COMPAT_DIR_INDEX,
  EXT4_INDEX_FL,
  FT_DIR,
  INCOMPAT_FILETYPE,
  INCOMPAT_LARGEDIR,
  le16,
  le32,
} from './disk_layout.js';
import { dirRecLen, direntsOf, hasDirTail, initDirTail, putDirent, setDirTailCsum, verifyDirBlockTail } from './dir.js';
import { corrupt } from './errors.js';
import type { Ext2Fs } from './ext2fs.js';
import {
  DX_NODE_COUNT_OFF,
  DX_ROOT_COUNT_OFF,
  dirHash,
  dxGetBlock,
  dxGetCount,
  dxGetHash,
  dxGetLimit,
  dxLimit,
  dxSetCount,
  dxSetEntry,
  dxSetLimit,
  effectiveHashVersion,
  setDxCsum,
  verifyDxCsum,
} from './htree.js';
import { inodeCsumSeed, type Ext2Inode } from './inode.js';
import { put16, put32 } from './super.js';

const ENOSPC = 28;

/** A found directory entry and where it lives. */
export interface DirSlot {
  lblk: number;
  pblk: number;
  blk: Uint8Array;
  off: number;
  prevOff: number;
  ino: number;
  type: number;
}

/** Per-directory context for one operation. */
export interface DirCtx {
  fs: Ext2Fs;
  dir: Ext2Inode;
  seed: number;
  csum: boolean;
  tail: number; // bytes reserved for the csum tail in leaf blocks
  hasFt: boolean;
  bs: number;
}

export function dirCtx(fs: Ext2Fs, dir: Ext2Inode): DirCtx {
  const csum = fs.info.metadataCsum;
  return {
    fs,
    dir,
    seed: csum ? inodeCsumSeed(fs.info, dir.ino, dir.generation) : 0,
    csum,
    tail: csum ? 12 : 0,
    hasFt: (fs.info.sb.featureIncompat & INCOMPAT_FILETYPE) !== 0,
    bs: fs.blockSize,
  };
}

const isDx = (c: DirCtx): boolean =>
  (c.dir.flags & EXT4_INDEX_FL) !== 0 && (c.fs.info.sb.featureCompat & COMPAT_DIR_INDEX) !== 0;

export function dirBlockCount(c: DirCtx): number {
  if (c.dir.size % c.bs !== 0 || c.dir.size > 2 ** 32)
    throw corrupt(`EXT4-fs error (inode ${c.dir.ino}): directory size ${c.dir.size} is not a whole number of blocks`);
  return c.dir.size / c.bs;
}

/** Read directory block `lblk` (a copy), verifying a leaf's csum tail. Returns null for a hole. */
export function readDirBlock(c: DirCtx, lblk: number): { pblk: number; blk: Uint8Array } | null {
  const pblk = c.fs.bmapInode(c.dir, lblk);
  if (pblk === 0) return null;
  const blk = c.fs.readBlock(pblk).slice();
  if (c.csum) verifyDirBlockTail(blk, c.bs, c.seed, c.dir.ino, lblk);
  return { pblk, blk };
}

/** Write a leaf block back, refreshing its csum tail (ext4_handle_dirty_dirblock). */
export function writeLeaf(c: DirCtx, pblk: number, blk: Uint8Array): void {
  if (c.csum && hasDirTail(blk, c.bs)) setDirTailCsum(blk, c.bs, c.seed);
  c.fs.writeBlock(pblk, blk);
}

const nameEq = (blk: Uint8Array, off: number, name: Uint8Array): boolean => {
  for (let i = 0; i < name.length; i++) if (blk[off + 8 + i] !== name[i]) return false;
  return true;
};

/** search_dirblock: find `name` in one leaf block. */
function searchBlock(c: DirCtx, lblk: number, pblk: number, blk: Uint8Array, name: Uint8Array): DirSlot | null {
  let prev = -1;
  const end = c.csum && hasDirTail(blk, c.bs) ? c.bs - 12 : c.bs;
  for (const d of direntsOf(blk, end, c.bs, c.hasFt, c.dir.ino, lblk)) {
    if (d.ino !== 0 && d.nameLen === name.length && nameEq(blk, d.off, name)) {
      if (d.ino > c.fs.info.sb.inodesCount)
        throw corrupt(`EXT4-fs error (inode ${c.dir.ino}): bad inode number ${d.ino} in directory`);
      return { lblk, pblk, blk, off: d.off, prevOff: prev, ino: d.ino, type: d.type };
    }
    prev = d.off;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// htree
// ---------------------------------------------------------------------------------------------

interface DxFrame {
  lblk: number;
  pblk: number;
  blk: Uint8Array;
  co: number; // offset of the limit/count pair
  at: number; // chosen entry
}

interface DxInfo {
  frames: DxFrame[];
  hash: number;
  version: number;
  levels: number;
}

/** Index depth dx_probe accepts: 2 levels, 3 with large_dir. We only ever build 2 levels. */
function maxLevels(c: DirCtx): number {
  return c.fs.info.sb.featureIncompat & INCOMPAT_LARGEDIR ? 3 : 2;
}
const MAX_BUILD_LEVELS = 2;

/** dx_probe: validate the root (and nodes) and descend to the leaf whose range holds `hash`. */
function dxProbe(c: DirCtx, name: Uint8Array | null, hashIn?: number): DxInfo {
  const ino = c.dir.ino;
  const nblocks = dirBlockCount(c);
  const root = readIndexBlock(c, 0);
  const b = root.blk;
  if (le32(b, 24) !== 0 || b[29] !== 8 || b[28] > 2)
    throw corrupt(`EXT4-fs error (inode ${ino}): dx_probe: bad dx_root info`);
  const levels = b[30];
  if (levels >= maxLevels(c)) throw corrupt(`EXT4-fs error (inode ${ino}): dx_probe: htree depth ${levels} too large`);
  const version = effectiveHashVersion(c.fs.info, b[28]);
  const hash = name ? dirHash(name, version, c.fs.info.sb.hashSeed) : (hashIn ?? 0);
  const frames: DxFrame[] = [];
  let cur = { lblk: 0, pblk: root.pblk, blk: b, co: DX_ROOT_COUNT_OFF };
  const seen = new Set<number>([0]);
  for (let level = 0; ; level++) {
    const limit = dxGetLimit(cur.blk, cur.co);
    const count = dxGetCount(cur.blk, cur.co);
    if (limit !== dxLimit(c.bs, cur.co, c.csum) || count === 0 || count > limit)
      throw corrupt(`EXT4-fs error (inode ${ino}): dx_probe: bad dx count/limit ${count}/${limit}`);
    if (c.csum) verifyDxCsum(cur.blk, cur.co, c.seed, ino);
    let lo = 1;
    let hi = count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (dxGetHash(cur.blk, cur.co, mid) > hash) hi = mid - 1;
      else lo = mid + 1;
    }
    const at = lo - 1;
    frames.push({ ...cur, at });
    const child = dxGetBlock(cur.blk, cur.co, at);
    if (child >= nblocks || seen.has(child))
      throw corrupt(`EXT4-fs error (inode ${ino}): dx_probe: bad block ${child}`);
    seen.add(child);
    if (level === levels) return { frames, hash, version, levels };
    const node = readIndexBlock(c, child);
    if (le32(node.blk, 0) !== 0 || le16(node.blk, 4) !== (c.bs >= 65536 ? 65535 : c.bs))
      throw corrupt(`EXT4-fs error (inode ${ino}): dx_probe: bad dx_node header in block ${child}`);
    cur = { lblk: child, pblk: node.pblk, blk: node.blk, co: DX_NODE_COUNT_OFF };
  }
}

function readIndexBlock(c: DirCtx, lblk: number): { pblk: number; blk: Uint8Array } {
  const pblk = c.fs.bmapInode(c.dir, lblk);
  if (pblk === 0) throw corrupt(`EXT4-fs error (inode ${c.dir.ino}): htree index block ${lblk} is a hole`);
  return { pblk, blk: c.fs.readBlock(pblk).slice() };
}

function writeIndex(c: DirCtx, f: { pblk: number; blk: Uint8Array; co: number }): void {
  if (c.csum) setDxCsum(f.blk, f.co, c.seed);
  c.fs.writeBlock(f.pblk, f.blk);
}

/** ext4_htree_next_block: step to the next leaf if it continues `hash` (a collision run). */
function dxNextBlock(c: DirCtx, dx: DxInfo): boolean {
  let i = dx.frames.length - 1;
  while (i >= 0 && dx.frames[i].at + 1 >= dxGetCount(dx.frames[i].blk, dx.frames[i].co)) i--;
  if (i < 0) return false;
  const f = dx.frames[i];
  f.at++;
  const bhash = dxGetHash(f.blk, f.co, f.at);
  if ((bhash & ~1) >>> 0 !== dx.hash) return false;
  // Re-descend along the leftmost path below frame i.
  for (let k = i + 1; k < dx.frames.length; k++) {
    const parent = dx.frames[k - 1];
    const child = dxGetBlock(parent.blk, parent.co, parent.at);
    const node = readIndexBlock(c, child);
    dx.frames[k] = { lblk: child, pblk: node.pblk, blk: node.blk, co: DX_NODE_COUNT_OFF, at: 0 };
  }
  return true;
}

function leafOf(dx: DxInfo): number {
  const f = dx.frames[dx.frames.length - 1];
  return dxGetBlock(f.blk, f.co, f.at);
}

/** ext4_find_entry: htree lookup when indexed, else a linear scan of every block. */
export function findEntry(c: DirCtx, name: Uint8Array): DirSlot | null {
  const isDot = name.length <= 2 && name.every((ch) => ch === 0x2e);
  if (isDx(c) && isDot) {
    // "." and ".." live in the dx_root block, outside any leaf (ext4_find_entry reads block 0).
    const r = readDirBlock(c, 0);
    return r ? searchBlock(c, 0, r.pblk, r.blk, name) : null;
  }
  if (isDx(c)) {
    const dx = dxProbe(c, name);
    for (let guard = 0; guard < 1 << 20; guard++) {
      const lblk = leafOf(dx);
      const r = readDirBlock(c, lblk);
      if (r) {
        const hit = searchBlock(c, lblk, r.pblk, r.blk, name);
        if (hit) return hit;
      }
      if (!dxNextBlock(c, dx)) return null;
    }
    return null;
  }
  const n = dirBlockCount(c);
  for (let l = 0; l < n; l++) {
    const r = readDirBlock(c, l);
    if (!r) continue;
    const hit = searchBlock(c, l, r.pblk, r.blk, name);
    if (hit) return hit;
  }
  return null;
}

/**
 * add_dirent_to_buf: put (name, ino, type) into the first gap of a leaf block big enough.
 * Returns false when the block has no room.
 */
function addToBlock(c: DirCtx, lblk: number, blk: Uint8Array, name: Uint8Array, ino: number, type: number): boolean {
  const need = dirRecLen(name.length);
  const end = c.csum && hasDirTail(blk, c.bs) ? c.bs - 12 : c.bs;
  for (const d of direntsOf(blk, end, c.bs, c.hasFt, c.dir.ino, lblk)) {
    const used = d.ino !== 0 ? dirRecLen(d.nameLen) : 0;
    if (d.recLen - used < need) continue;
    if (d.ino !== 0) {
      put16(blk, d.off + 4, used);
      putDirent(blk, d.off + used, ino, d.recLen - used, name, type, c.hasFt, c.bs);
    } else putDirent(blk, d.off, ino, d.recLen, name, type, c.hasFt, c.bs);
    return true;
  }
  return false;
}

/** A fresh leaf block with one entry spanning it (and the csum tail). */
function newLeafBlock(c: DirCtx): Uint8Array {
  const blk = new Uint8Array(c.bs);
  const span = c.bs - c.tail;
  put16(blk, 4, span >= 65536 ? 65535 : span);
  if (c.csum) initDirTail(blk, c.bs);
  return blk;
}

/** Grow the directory by one block at its end (ext4_append). */
function appendBlock(c: DirCtx): { lblk: number; pblk: number } | number {
  const lblk = dirBlockCount(c);
  const r = c.fs.mapInode(c.dir, lblk, 1, true);
  if (typeof r === 'number') return r;
  c.dir.size += c.bs;
  return { lblk, pblk: r.pblk };
}

/** ext4_add_entry: insert into an existing gap, via the htree, by make_indexed_dir, or in a new block. */
export function addEntry(c: DirCtx, name: Uint8Array, ino: number, type: number): number {
  if (isDx(c)) return dxAddEntry(c, name, ino, type);
  // An index flag without the dir_index feature is ignored and dropped, as ext4_add_entry does.
  c.dir.flags &= ~EXT4_INDEX_FL;
  const n = dirBlockCount(c);
  for (let l = 0; l < n; l++) {
    const r = readDirBlock(c, l);
    if (!r) continue;
    if (addToBlock(c, l, r.blk, name, ino, type)) {
      writeLeaf(c, r.pblk, r.blk);
      return 0;
    }
  }
  if (n === 1 && c.fs.info.sb.featureCompat & COMPAT_DIR_INDEX) return makeIndexedDir(c, name, ino, type);
  const a = appendBlock(c);
  if (typeof a === 'number') return a;
  const blk = newLeafBlock(c);
  addToBlock(c, a.lblk, blk, name, ino, type);
  writeLeaf(c, a.pblk, blk);
  return 0;
}

/** ext4_delete_entry: merge the entry into its predecessor, or clear its inode if first. */
export function deleteEntry(c: DirCtx, slot: DirSlot): void {
  const { blk, off, prevOff } = slot;
  if (prevOff >= 0) {
    const prevLen = le16(blk, prevOff + 4);
    const curLen = le16(blk, off + 4);
    put16(blk, prevOff + 4, prevLen + curLen);
  } else put32(blk, off, 0);
  writeLeaf(c, slot.pblk, blk);
}

/** Point an existing entry at another inode (for rename over, RENAME_EXCHANGE, and fixing ".."). */
export function setEntry(c: DirCtx, slot: DirSlot, ino: number, type: number): void {
  put32(slot.blk, slot.off, ino);
  if (c.hasFt) slot.blk[slot.off + 7] = type;
  writeLeaf(c, slot.pblk, slot.blk);
}

interface MapEnt {
  hash: number;
  name: Uint8Array;
  ino: number;
  type: number;
}

function leafEntries(c: DirCtx, lblk: number, blk: Uint8Array, version: number): MapEnt[] {
  const out: MapEnt[] = [];
  const end = c.csum && hasDirTail(blk, c.bs) ? c.bs - 12 : c.bs;
  for (const d of direntsOf(blk, end, c.bs, c.hasFt, c.dir.ino, lblk)) {
    if (d.ino === 0) continue;
    const name = blk.slice(d.off + 8, d.off + 8 + d.nameLen);
    out.push({ hash: dirHash(name, version, c.fs.info.sb.hashSeed), name, ino: d.ino, type: d.type });
  }
  return out;
}

/** Write `ents` compactly into a fresh leaf (dx_move_dirents + dx_pack_dirents). */
function fillLeaf(c: DirCtx, ents: MapEnt[]): Uint8Array {
  const blk = newLeafBlock(c);
  let off = 0;
  const end = c.bs - c.tail;
  for (let i = 0; i < ents.length; i++) {
    const e = ents[i];
    const rl = i === ents.length - 1 ? end - off : dirRecLen(e.name.length);
    putDirent(blk, off, e.ino, rl, e.name, e.type, c.hasFt, c.bs);
    off += rl;
  }
  return blk;
}

/** dx_insert_block: add (hash, block) after frame.at. */
function dxInsert(f: DxFrame, hash: number, block: number): void {
  const count = dxGetCount(f.blk, f.co);
  const at = f.at + 1;
  f.blk.copyWithin(f.co + (at + 1) * 8, f.co + at * 8, f.co + count * 8);
  dxSetEntry(f.blk, f.co, at, hash, block);
  dxSetCount(f.blk, f.co, count + 1);
}

/** ext4_dx_add_entry: add to the leaf for the name's hash, splitting leaf and index as needed. */
function dxAddEntry(c: DirCtx, name: Uint8Array, ino: number, type: number): number {
  const dx = dxProbe(c, name);
  const leafLblk = leafOf(dx);
  const leaf = readDirBlock(c, leafLblk);
  if (!leaf) throw corrupt(`EXT4-fs error (inode ${c.dir.ino}): htree leaf ${leafLblk} is a hole`);
  if (addToBlock(c, leafLblk, leaf.blk, name, ino, type)) {
    writeLeaf(c, leaf.pblk, leaf.blk);
    return 0;
  }
  // The leaf is full: make room in the index first.
  let f = dx.frames[dx.frames.length - 1];
  if (dxGetCount(f.blk, f.co) >= dxGetLimit(f.blk, f.co)) {
    const r = growIndex(c, dx);
    if (r < 0) return r;
    f = dx.frames[dx.frames.length - 1];
  }
  // do_split: move the upper half (by hash) into a new leaf.
  const ents = leafEntries(c, leafLblk, leaf.blk, dx.version).sort((a, b) => a.hash - b.hash);
  let size = 0;
  let move = 0;
  for (let i = ents.length - 1; i > 0; i--) {
    const s = dirRecLen(ents[i].name.length);
    if (size + s / 2 > (c.bs - c.tail) / 2) break;
    size += s;
    move++;
  }
  if (move === 0) move = 1;
  const split = ents.length - move;
  const hash2 = ents[split].hash;
  const continued = split > 0 && ents[split - 1].hash === hash2 ? 1 : 0;
  const a = appendBlock(c);
  if (typeof a === 'number') return a;
  const low = ents.slice(0, split);
  const high = ents.slice(split);
  const lowBlk = fillLeaf(c, low);
  const highBlk = fillLeaf(c, high);
  const target = dx.hash >= hash2 ? { lblk: a.lblk, blk: highBlk } : { lblk: leafLblk, blk: lowBlk };
  if (!addToBlock(c, target.lblk, target.blk, name, ino, type)) {
    throw corrupt(`EXT4-fs error (inode ${c.dir.ino}): no room after splitting an htree leaf`);
  }
  writeLeaf(c, leaf.pblk, lowBlk);
  writeLeaf(c, a.pblk, highBlk);
  dxInsert(f, (hash2 + continued) >>> 0, a.lblk);
  writeIndex(c, f);
  return 0;
}

/**
 * The deepest index block is full: split it (inserting the new node into its parent), or, when
 * the root itself is full, push the root's entries down into a new node (adding a level).
 */
function growIndex(c: DirCtx, dx: DxInfo): number {
  const frames = dx.frames;
  const depth = frames.length - 1;
  // Find the lowest level with room for one more entry.
  let k = depth;
  while (k >= 0 && dxGetCount(frames[k].blk, frames[k].co) >= dxGetLimit(frames[k].blk, frames[k].co)) k--;
  if (k < 0) {
    // Root full everywhere: add a level (ext4_dx_add_entry's "add_level" path).
    if (dx.levels + 1 >= MAX_BUILD_LEVELS) return -ENOSPC;
    const root = frames[0];
    const a = appendBlock(c);
    if (typeof a === 'number') return a;
    const node = new Uint8Array(c.bs);
    put16(node, 4, c.bs >= 65536 ? 65535 : c.bs);
    const count = dxGetCount(root.blk, root.co);
    node.set(root.blk.subarray(root.co, root.co + count * 8), DX_NODE_COUNT_OFF);
    dxSetLimit(node, DX_NODE_COUNT_OFF, dxLimit(c.bs, DX_NODE_COUNT_OFF, c.csum));
    dxSetCount(node, DX_NODE_COUNT_OFF, count);
    const nf: DxFrame = { lblk: a.lblk, pblk: a.pblk, blk: node, co: DX_NODE_COUNT_OFF, at: root.at };
    dxSetCount(root.blk, root.co, 1);
    dxSetEntry(root.blk, root.co, 0, 0, a.lblk);
    root.blk[30] = dx.levels + 1;
    root.at = 0;
    dx.levels++;
    frames.splice(1, 0, nf);
    writeIndex(c, nf);
    writeIndex(c, root);
    return growIndex(c, dx);
  }
  // Split the full nodes below level k top-down, so each split's parent has room.
  for (let lv = k + 1; lv <= depth; lv++) {
    const f = frames[lv];
    const parent = frames[lv - 1];
    const count = dxGetCount(f.blk, f.co);
    const half = count >> 1;
    const a = appendBlock(c);
    if (typeof a === 'number') return a;
    const node = new Uint8Array(c.bs);
    put16(node, 4, c.bs >= 65536 ? 65535 : c.bs);
    dxSetLimit(node, DX_NODE_COUNT_OFF, dxLimit(c.bs, DX_NODE_COUNT_OFF, c.csum));
    node.set(f.blk.subarray(f.co + half * 8, f.co + count * 8), DX_NODE_COUNT_OFF);
    // The moved first entry's hash becomes the parent's key; its own slot holds limit/count.
    const hash2 = le32(f.blk, f.co + half * 8);
    dxSetLimit(node, DX_NODE_COUNT_OFF, dxLimit(c.bs, DX_NODE_COUNT_OFF, c.csum));
    dxSetCount(node, DX_NODE_COUNT_OFF, count - half);
    dxSetCount(f.blk, f.co, half);
    const nf: DxFrame = { lblk: a.lblk, pblk: a.pblk, blk: node, co: DX_NODE_COUNT_OFF, at: f.at - half };
    dxInsert(parent, hash2, a.lblk);
    writeIndex(c, f);
    writeIndex(c, nf);
    writeIndex(c, parent);
    if (f.at >= half) {
      frames[lv] = nf;
      parent.at++;
    }
  }
  return 0;
}

/**
 * make_indexed_dir: the directory's single block is full. Block 0 becomes the dx_root, its
 * entries move to a new leaf (block 1), then the normal dx insert splits that leaf.
 */
function makeIndexedDir(c: DirCtx, name: Uint8Array, ino: number, type: number): number {
  const r0 = readDirBlock(c, 0);
  if (!r0) throw corrupt(`EXT4-fs error (inode ${c.dir.ino}): directory block 0 is a hole`);
  const blk0 = r0.blk;
  const ents: MapEnt[] = [];
  let dotIno = c.dir.ino;
  let dotdotIno = 0;
  const end = c.csum && hasDirTail(blk0, c.bs) ? c.bs - 12 : c.bs;
  for (const d of direntsOf(blk0, end, c.bs, c.hasFt, c.dir.ino, 0)) {
    if (d.ino === 0) continue;
    const nm = blk0.slice(d.off + 8, d.off + 8 + d.nameLen);
    if (d.off === 0 && d.nameLen === 1 && nm[0] === 0x2e) {
      dotIno = d.ino;
      continue;
    }
    if (d.nameLen === 2 && nm[0] === 0x2e && nm[1] === 0x2e && dotdotIno === 0) {
      dotdotIno = d.ino;
      continue;
    }
    ents.push({ hash: 0, name: nm, ino: d.ino, type: d.type });
  }
  if (dotdotIno === 0) throw corrupt(`EXT4-fs error (inode ${c.dir.ino}): directory has no '..' entry`);
  const a = appendBlock(c);
  if (typeof a === 'number') return a;
  writeLeaf(c, a.pblk, ents.length ? fillLeaf(c, ents) : newLeafBlock(c));
  const root = new Uint8Array(c.bs);
  putDirent(root, 0, dotIno, 12, Uint8Array.of(0x2e), FT_DIR, c.hasFt, c.bs);
  putDirent(root, 12, dotdotIno, c.bs - 12, Uint8Array.of(0x2e, 0x2e), FT_DIR, c.hasFt, c.bs);
  const version = c.fs.info.sb.defHashVersion <= 2 ? c.fs.info.sb.defHashVersion : 1;
  root[28] = version;
  root[29] = 8;
  root[30] = 0;
  dxSetLimit(root, DX_ROOT_COUNT_OFF, dxLimit(c.bs, DX_ROOT_COUNT_OFF, c.csum));
  dxSetCount(root, DX_ROOT_COUNT_OFF, 1);
  dxSetEntry(root, DX_ROOT_COUNT_OFF, 0, 0, a.lblk);
  writeIndex(c, { pblk: r0.pblk, blk: root, co: DX_ROOT_COUNT_OFF });
  c.dir.flags |= EXT4_INDEX_FL;
  return dxAddEntry(c, name, ino, type);
}

/** Is the directory empty apart from "." and ".." (ext4_empty_dir)? */
export function isEmptyDir(c: DirCtx): boolean {
  const n = dirBlockCount(c);
  for (let l = 0; l < n; l++) {
    const r = readDirBlock(c, l);
    if (!r) continue;
    const end = c.csum && hasDirTail(r.blk, c.bs) ? c.bs - 12 : c.bs;
    for (const d of direntsOf(r.blk, end, c.bs, c.hasFt, c.dir.ino, l)) {
      if (d.ino === 0) continue;
      const isDot = d.nameLen === 1 && r.blk[d.off + 8] === 0x2e;
      const isDotDot = d.nameLen === 2 && r.blk[d.off + 8] === 0x2e && r.blk[d.off + 9] === 0x2e;
      if (!isDot && !isDotDot) return false;
    }
  }
  return true;
}
