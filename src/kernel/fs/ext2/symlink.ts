/** Symlink targets: fast symlinks inline in i_block (< 60 bytes), slow ones in a data block. */
import { EXT4_EXTENTS_FL, EXT4_INLINE_DATA_FL } from './disk_layout.js';
import { corrupt } from './errors.js';
import type { Ext2Inode } from './inode.js';

/** ext4_inode_is_fast_symlink: no data blocks other than an xattr block. */
export function isFastSymlink(inode: Ext2Inode, blockSize: number): boolean {
  if (inode.flags & (EXT4_EXTENTS_FL | EXT4_INLINE_DATA_FL)) return false;
  const eaBlocks = inode.fileAcl ? blockSize / 512 : 0;
  return inode.size < 60 && inode.blocks - eaBlocks === 0;
}

/** The target of a fast symlink. */
export function fastSymlinkTarget(inode: Ext2Inode): Uint8Array {
  if (inode.size >= 60) throw corrupt(`EXT4-fs error (inode ${inode.ino}): fast symlink of ${inode.size} bytes`);
  return inode.raw.block.slice(0, inode.size);
}
