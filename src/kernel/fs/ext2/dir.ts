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

/** Names are byte strings: one char per byte (latin1), as the VFS passes them. */
export function bytesToName(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}

export function nameToBytes(name: string): Uint8Array {
  const b = new Uint8Array(name.length);
  for (let i = 0; i < name.length; i++) b[i] = name.charCodeAt(i) & 0xff;
  return b;
}

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
      out.push({ name: bytesToName(blk.subarray(off + 8, off + 8 + nameLen)), ino: inode, type: fileType });
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

// ---------------------------------------------------------------------------------------------
// Write side helpers (fs/ext4/dir.c, namei.c): record sizes, the csum tail, writing entries.
// ---------------------------------------------------------------------------------------------

/** EXT4_DIR_REC_LEN: 8-byte header plus the name, rounded up to 4. */
export const dirRecLen = (nameLen: number): number => (8 + nameLen + 3) & ~3;

/** ext4_rec_len_to_disk. */
export function recLenToDisk(len: number, blockSize: number): number {
  if (blockSize < 65536) return len;
  if (len === 65536) return 65535;
  return (len & 65532) | ((len >> 16) & 3);
}

/** Does this leaf block end in a metadata_csum tail (ext4_dirent_csum_verify's get_dirent_tail)? */
export function hasDirTail(blk: Uint8Array, blockSize: number): boolean {
  const t = blockSize - 12;
  return le32(blk, t) === 0 && le16(blk, t + 4) === 12 && blk[t + 6] === 0 && blk[t + 7] === FT_DIR_CSUM;
}

/** ext4_initialize_dirent_tail. */
export function initDirTail(blk: Uint8Array, blockSize: number): void {
  const t = blockSize - 12;
  blk.fill(0, t, blockSize);
  blk[t + 4] = 12;
  blk[t + 7] = FT_DIR_CSUM;
}

/** ext4_dirblock_csum_set: crc32c(inode seed, block up to the tail). */
export function setDirTailCsum(blk: Uint8Array, blockSize: number, inodeSeed: number): void {
  const t = blockSize - 12;
  const c = crc32cUpdate(inodeSeed, blk, 0, t);
  blk[t + 8] = c & 0xff;
  blk[t + 9] = (c >>> 8) & 0xff;
  blk[t + 10] = (c >>> 16) & 0xff;
  blk[t + 11] = c >>> 24;
}

/** Write one dirent header and name at `off` (ext4_insert_dentry). */
export function putDirent(
  blk: Uint8Array,
  off: number,
  ino: number,
  recLen: number,
  name: Uint8Array,
  fileType: number,
  hasFileType: boolean,
  blockSize: number,
): void {
  blk[off] = ino & 0xff;
  blk[off + 1] = (ino >>> 8) & 0xff;
  blk[off + 2] = (ino >>> 16) & 0xff;
  blk[off + 3] = ino >>> 24;
  const rl = recLenToDisk(recLen, blockSize);
  blk[off + 4] = rl & 0xff;
  blk[off + 5] = (rl >>> 8) & 0xff;
  blk[off + 6] = name.length;
  blk[off + 7] = hasFileType ? fileType : 0;
  blk.set(name, off + 8);
  // Zero the name padding so blocks are deterministic.
  blk.fill(0, off + 8 + name.length, off + dirRecLen(name.length));
}

export interface RawDirent {
  off: number;
  ino: number;
  recLen: number;
  nameLen: number;
  type: number;
}

/**
 * Iterate the entries of [0, end) of a directory block, validating each header
 * (ext4_check_dir_entry). `end` excludes a csum tail.
 */
export function* direntsOf(
  blk: Uint8Array,
  end: number,
  blockSize: number,
  hasFileType: boolean,
  ino: number,
  lblk: number,
): Generator<RawDirent> {
  let off = 0;
  while (off < end) {
    if (off + 8 > end)
      throw corrupt(`EXT4-fs error (inode ${ino}): bad entry in directory block ${lblk}: offset ${off}`);
    const d = le32(blk, off);
    const recLen = recLenFromDisk(le16(blk, off + 4), blockSize);
    const nameLen = hasFileType ? blk[off + 6] : le16(blk, off + 6);
    if (recLen < 8 || recLen % 4 !== 0 || off + recLen > end || (d !== 0 && 8 + nameLen > recLen)) {
      throw corrupt(
        `EXT4-fs error (inode ${ino}): bad entry in directory block ${lblk}: rec_len ${recLen}, name_len ${nameLen}, offset ${off}`,
      );
    }
    yield { off, ino: d, recLen, nameLen, type: hasFileType ? blk[off + 7] : FT_UNKNOWN };
    off += recLen;
  }
}
