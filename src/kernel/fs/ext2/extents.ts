/** ext4 extent tree lookup (ext4_ext_find_extent / ext4_ext_map_blocks, read side). */
import { EXT4_EXT_MAGIC, EXT_ENTRY_SIZE, EXT_HEADER_SIZE, EXT_INIT_MAX_LEN, le16, le32 } from './disk_layout.js';
import { corrupt } from './errors.js';
import type { BlockSource } from './inode.js';

const MAX_DEPTH = 5;

/**
 * Map logical block `lblk` of an extent-mapped inode to a physical block. Returns 0 for a hole
 * (and for an unwritten extent, which reads as zeros).
 */
export function extentMap(src: BlockSource, iblock: Uint8Array, lblk: number, ino: number): number {
  let node = iblock;
  let limit = iblock.length;
  for (let level = 0; ; level++) {
    if (limit < EXT_HEADER_SIZE || le16(node, 0) !== EXT4_EXT_MAGIC) {
      throw corrupt(`EXT4-fs error (inode ${ino}): bad extent header magic`);
    }
    const entries = le16(node, 2);
    const max = le16(node, 4);
    const depth = le16(node, 6);
    if (entries > max || EXT_HEADER_SIZE + max * EXT_ENTRY_SIZE > limit || depth > MAX_DEPTH) {
      throw corrupt(`EXT4-fs error (inode ${ino}): bad extent header (entries ${entries}, max ${max}, depth ${depth})`);
    }
    if (entries === 0) return 0;
    // Binary search for the last entry whose first logical block is <= lblk.
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
    if (found < 0) return 0;
    const e = EXT_HEADER_SIZE + found * EXT_ENTRY_SIZE;
    if (depth === 0) {
      const first = le32(node, e);
      let len = le16(node, e + 4);
      const unwritten = len > EXT_INIT_MAX_LEN;
      if (unwritten) len -= EXT_INIT_MAX_LEN;
      if (lblk >= first + len || unwritten) return 0;
      const start = le16(node, e + 6) * 0x1_0000_0000 + le32(node, e + 8);
      return start + (lblk - first);
    }
    if (level >= MAX_DEPTH) throw corrupt(`EXT4-fs error (inode ${ino}): extent tree too deep`);
    const leaf = le16(node, e + 8) * 0x1_0000_0000 + le32(node, e + 4);
    node = src.readBlock(leaf);
    limit = node.length;
    if (le16(node, 6) !== depth - 1 && le16(node, 0) === EXT4_EXT_MAGIC) {
      throw corrupt(`EXT4-fs error (inode ${ino}): extent tree depth mismatch`);
    }
  }
}
