/**
 * Directory blocks (ext4_readdir, linear form). htree-indexed directories are read linearly too:
 * their index blocks look like a single empty entry spanning the block, as Linux relies on.
 */
import { FT_DIR_CSUM, FT_UNKNOWN, le16, le32, recLenFromDisk } from './disk_layout.js';
import { crc32cUpdate } from './crc32c.js';
import { corrupt } from './errors.js';

export interface DirEntryInfo {
  name: string;
  ino: number;
  /** FT_* file type from the entry (FT_UNKNOWN without the filetype feature). */
  type: number;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/** Parse the live entries of one directory block. */
export function parseDirBlock(
  blk: Uint8Array,
  blockSize: number,
  hasFileType: boolean,
  ino: number,
  lblk: number,
): DirEntryInfo[] {
  const out: DirEntryInfo[] = [];
  let off = 0;
  while (off < blockSize) {
    if (off + 8 > blockSize)
      throw corrupt(`EXT4-fs error (inode ${ino}): bad entry in directory block ${lblk}: offset ${off}`);
    const inode = le32(blk, off);
    const recLen = recLenFromDisk(le16(blk, off + 4), blockSize);
    const nameLen = hasFileType ? blk[off + 6] : le16(blk, off + 6);
    const fileType = hasFileType ? blk[off + 7] : FT_UNKNOWN;
    if (recLen < 8 || recLen % 4 !== 0 || off + recLen > blockSize || (inode !== 0 && 8 + nameLen > recLen)) {
      throw corrupt(
        `EXT4-fs error (inode ${ino}): bad entry in directory block ${lblk}: rec_len ${recLen}, name_len ${nameLen}, offset ${off}`,
      );
    }
    const isTail = inode === 0 && recLen === 12 && nameLen === 0 && fileType === FT_DIR_CSUM;
    if (inode !== 0 && !isTail) {
      out.push({ name: decoder.decode(blk.subarray(off + 8, off + 8 + nameLen)), ino: inode, type: fileType });
    }
    off += recLen;
  }
  return out;
}

/**
 * Verify the metadata_csum tail of a leaf directory block (ext4_dirblock_csum_verify):
 * crc32c(inode seed, block[0..bs-12]) stored in the 12-byte fake entry at the end. Blocks
 * without a tail (htree index blocks carry a dx_tail instead) are not checked here.
 */
export function verifyDirBlockTail(
  blk: Uint8Array,
  blockSize: number,
  inodeSeed: number,
  ino: number,
  lblk: number,
): void {
  const t = blockSize - 12;
  const isTail = le32(blk, t) === 0 && le16(blk, t + 4) === 12 && blk[t + 6] === 0 && blk[t + 7] === FT_DIR_CSUM;
  if (!isTail) return;
  const want = crc32cUpdate(inodeSeed, blk, 0, t);
  const stored = le32(blk, t + 8);
  if (want !== stored) {
    throw corrupt(
      `EXT4-fs error (inode ${ino}): directory block ${lblk} checksum invalid (stored 0x${stored.toString(16)}, computed 0x${want.toString(16)})`,
    );
  }
}
