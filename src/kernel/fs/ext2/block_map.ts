/** ext2/ext3 indirect block mapping (ext4_ind_map_blocks / ext2_get_block, read side). */
import { EXT2_NDIR_BLOCKS, le32 } from './disk_layout.js';
import { corrupt } from './errors.js';
import type { BlockSource } from './inode.js';

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
