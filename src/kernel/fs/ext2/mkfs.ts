/**
 * mkfs: write a fresh, empty ext4 (or ext2) filesystem onto a BlockDevice, as e2fsprogs' `mke2fs -t ext4
 * -O ^has_journal,^resize_inode` does with /etc/mke2fs.conf's defaults (4 KiB blocks, 256-byte inodes,
 * inode_ratio 16384, flex_bg of 16 groups, metadata_csum with crc32c). The layout follows
 * lib/ext2fs/initialize.c (ext2fs_initialize: geometry), alloc_tables.c (ext2fs_allocate_group_table and
 * flexbg_offset: where bitmaps and inode tables go), alloc_sb.c (ext2fs_reserve_super_and_bgd: superblock
 * backups), mke2fs.c (create_root_dir, create_lost_and_found, reserve_inodes, create_bad_block_inode) and
 * closefs.c (ext2fs_flush: superblock and descriptor backups). With the same UUID, hash seed and time the
 * metadata this writes is byte-for-byte what mke2fs 1.47 writes, except s_kbytes_written and the checksum
 * that covers it (tests/unit/ext2/mkfs.test.ts compares them).
 *
 * Only metadata is written: blocks that mke2fs leaves zero are not touched unless `assumeZeroed` is false,
 * in which case the inode tables are zeroed (so the ITABLE_ZEROED flag is true and the kernel's lazy
 * itable init has nothing to do). Uninitialised groups (BLOCK_UNINIT/INODE_UNINIT) get no bitmap writes,
 * so a 512 MiB image written through a sparse device costs a few dozen KiB of disk.
 */
import type { BlockDevice } from './block_device.js';
import { SECTOR_SIZE } from './block_device.js';
import { crc32cUpdate } from './crc32c.js';
import {
  COMPAT_DIR_INDEX,
  COMPAT_EXT_ATTR,
  EXT2_ROOT_INO,
  EXT2_SUPER_MAGIC,
  EXT4_EXTENTS_FL,
  EXT4_EXT_MAGIC,
  FT_DIR,
  FT_DIR_CSUM,
  INCOMPAT_64BIT,
  INCOMPAT_CSUM_SEED,
  INCOMPAT_EXTENTS,
  INCOMPAT_FILETYPE,
  INCOMPAT_FLEX_BG,
  RO_COMPAT_DIR_NLINK,
  RO_COMPAT_EXTRA_ISIZE,
  RO_COMPAT_HUGE_FILE,
  RO_COMPAT_LARGE_FILE,
  RO_COMPAT_METADATA_CSUM,
  RO_COMPAT_SPARSE_SUPER,
  S_IFDIR,
} from './disk_layout.js';

export interface MkfsOptions {
  /** Volume label (s_volume_name), at most 16 bytes. */
  label?: string;
  /** Filesystem UUID (16 bytes); random (version 4) when absent, as uuid_generate. */
  uuid?: Uint8Array;
  /** Directory hash seed (16 bytes, s_hash_seed); random when absent, as mke2fs. */
  hashSeed?: Uint8Array;
  /** Bytes per inode (mke2fs -i); 16384 by default. */
  inodeRatio?: number;
  /** 'ext4' (default): the mke2fs.conf ext4 feature set minus the journal. 'ext2': no extents/csum/flex_bg. */
  features?: 'ext4' | 'ext2';
  /** Creation time in seconds since the epoch (s_mkfs_time, s_wtime, inode times); now by default. */
  now?: number;
  /** Block size (mke2fs -b); 4096 by default. */
  blockSize?: 1024 | 2048 | 4096;
  /** Percentage of blocks reserved for root (mke2fs -m); 5 by default. */
  reservedPercent?: number;
  /** Also set metadata_csum_seed (s_checksum_seed = crc32c(uuid)) so the UUID can change later (tune2fs -U). */
  csumSeed?: boolean;
  /** The device already reads as zeros (a fresh sparse file): skip zeroing the inode tables. */
  assumeZeroed?: boolean;
  /** Filesystem size in blocks; the whole device by default (mke2fs' fs-size argument). */
  blocks?: number;
}

export interface MkfsResult {
  blockSize: number;
  blocks: number;
  inodes: number;
  groups: number;
  inodesPerGroup: number;
  freeBlocks: number;
  freeInodes: number;
  uuid: Uint8Array;
}

/** A mkfs that cannot proceed (device too small, bad options). */
export class MkfsError extends Error {
  override name = 'MkfsError';
}

// Group descriptor flags (bg_flags).
const BG_INODE_UNINIT = 0x1;
const BG_BLOCK_UNINIT = 0x2;
const BG_INODE_ZEROED = 0x4;

const EXT2_FLAGS_SIGNED_HASH = 0x1;
const EXT2_DEFM_XATTR_USER = 0x4;
const EXT2_DEFM_ACL = 0x8;
const EXT2_HASH_HALF_MD4 = 1;
const EXT2_OS_LINUX = 0;
const EXT2_DYNAMIC_REV = 1;
const EXT2_VALID_FS = 1;
const EXT2_ERRORS_CONTINUE = 1;
const EXT2_BAD_INO = 1;
const EXT2_FIRST_INO = 11;
const INODE_SIZE = 256;
/** sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE in e2fsprogs 1.47 (through i_projid). */
const EXTRA_ISIZE = 32;
const LOG_GROUPS_PER_FLEX = 4;
const DESC_SIZE_64 = 64;
const CRC32C_CHKSUM = 1;

const put16 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
};
const put32 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
};
/** Store a 48/64-bit value as lo 32 bits at `lo` and the high bits (16 or 32 wide) at `hi`. */
const putLoHi = (b: Uint8Array, lo: number, hi: number, v: number, hiBytes: 2 | 4): void => {
  put32(b, lo, v >>> 0);
  const h = Math.floor(v / 0x1_0000_0000);
  if (hiBytes === 2) put16(b, hi, h);
  else put32(b, hi, h);
};
const le32 = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  put32(b, 0, v);
  return b;
};

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  globalThis.crypto.getRandomValues(b);
  return b;
}

/** A random (version 4, RFC 4122 variant) UUID, as libuuid's uuid_generate_random. */
export function randomUuid(): Uint8Array {
  const u = randomBytes(16);
  u[6] = (u[6] & 0x0f) | 0x40;
  u[8] = (u[8] & 0x3f) | 0x80;
  return u;
}

/** "01234567-89ab-..." → 16 bytes (uuid_parse). */
export function parseUuid(s: string): Uint8Array {
  const hex = s.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex) || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s)) {
    throw new MkfsError(`invalid UUID '${s}'`);
  }
  const u = new Uint8Array(16);
  for (let i = 0; i < 16; i++) u[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return u;
}

function isPowerOf(n: number, p: number): boolean {
  while (n > 1 && n % p === 0) n /= p;
  return n === 1;
}

/** ext2fs_bg_has_super with sparse_super: groups 0, 1 and powers of 3, 5, 7 hold a backup. */
function bgHasSuper(g: number): boolean {
  return g <= 1 || isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7);
}

/** A bitmap over all blocks of the filesystem (the in-memory fs->block_map of libext2fs). */
class BlockMap {
  readonly bits: Uint8Array;
  constructor(readonly count: number) {
    this.bits = new Uint8Array(Math.ceil(count / 8));
  }
  test(b: number): boolean {
    return (this.bits[b >>> 3] & (1 << (b & 7))) !== 0;
  }
  mark(b: number, n = 1): void {
    for (let i = b; i < b + n; i++) this.bits[i >>> 3] |= 1 << (i & 7);
  }
  /** Are blocks b .. b+num-1 all free? */
  runFree(b: number, num: number): boolean {
    for (let i = 0; i < num; i++) if (this.test(b + i)) return false;
    return true;
  }
}

/**
 * ext2fs_get_free_blocks2: the first block b, trying b = start, start+1, ... up to (not including) `finish`,
 * where `num` blocks from b are free. A run may extend past `finish` but not past the end of the filesystem;
 * with finish <= start the search wraps to the first data block, as libext2fs does. -1 when none.
 */
function getFreeBlocks(g: Geometry, map: BlockMap, start: number, finish: number, num: number): number {
  let b = start || g.firstDataBlock;
  if (!finish) finish = start;
  do {
    if (b + num - 1 >= g.blocks) {
      if (finish > start) return -1;
      b = g.firstDataBlock;
    }
    if (map.runFree(b, num)) return b;
    b++;
  } while (b !== finish);
  return -1;
}

interface Geometry {
  blockSize: number;
  logBlockSize: number;
  firstDataBlock: number;
  blocks: number;
  blocksPerGroup: number;
  groups: number;
  inodesPerGroup: number;
  inodeBlocksPerGroup: number;
  descSize: number;
  descBlocks: number;
  reservedBlocks: number;
}

/** The geometry part of ext2fs_initialize (including dropping a last group too small for its tables). */
function computeGeometry(devBlocks: number, bs: number, ext4: boolean, ratio: number, reservedPct: number): Geometry {
  const firstDataBlock = bs === 1024 ? 1 : 0;
  let blocksPerGroup = bs * 8;
  const descSize = ext4 ? DESC_SIZE_64 : 32;
  const requestedInodes = Math.floor((devBlocks * bs) / ratio);
  let blocks = devBlocks;
  const reservedReq = Math.floor((reservedPct * devBlocks) / 100);
  let reservedBlocks = reservedReq;
  for (;;) {
    if (blocks - firstDataBlock < 1) throw new MkfsError(`device of ${devBlocks} blocks is too small`);
    const groups = Math.ceil((blocks - firstDataBlock) / blocksPerGroup);
    const descPerBlock = bs / descSize;
    const descBlocks = Math.ceil(groups / descPerBlock);
    const inodes = Math.max(requestedInodes, EXT2_FIRST_INO + 1);
    let ipg = Math.ceil(inodes / groups);
    if (ipg > bs * 8) {
      // More inodes than one bitmap block can track: smaller groups (more of them), as ext2fs_initialize.
      if (blocksPerGroup < 256) throw new MkfsError(`too many inodes (inode ratio ${ratio}) for ${bs}-byte blocks`);
      blocksPerGroup -= 8;
      blocks = devBlocks; // the reserved count keeps any trim of an earlier pass, as ext2fs_initialize's retry does
      continue;
    }
    const maxIpg = 65536 - bs / INODE_SIZE; // EXT2_MAX_INODES_PER_GROUP
    if (ipg > maxIpg) ipg = maxIpg;
    // Fill the inode table blocks completely, then round down to a multiple of 8 (bitmap splicing).
    let itb = Math.ceil((ipg * INODE_SIZE) / bs);
    ipg = (itb * bs) / INODE_SIZE;
    if (ipg < 8) ipg = 8;
    ipg &= ~7;
    itb = Math.ceil((ipg * INODE_SIZE) / bs);
    const overheadFull = 3 + itb + descBlocks;
    if (overheadFull > blocksPerGroup) throw new MkfsError('too many inodes for the group size');
    // The last group must fit its bitmaps, inode table (and backup), plus 50 blocks, or it is dropped.
    let overhead = 2 + itb;
    if (bgHasSuper(groups - 1)) overhead += 1 + descBlocks;
    const rem = (blocks - firstDataBlock) % blocksPerGroup;
    if (groups === 1 && rem && rem < overhead) {
      throw new MkfsError(`filesystem too small: ${blocks} blocks of ${bs} bytes cannot hold the metadata`);
    }
    if (rem && rem < overhead + 50) {
      blocks -= rem;
      reservedBlocks = Math.floor((reservedReq * blocks) / devBlocks);
      continue;
    }
    return {
      blockSize: bs,
      logBlockSize: Math.log2(bs) - 10,
      firstDataBlock,
      blocks,
      blocksPerGroup,
      groups,
      inodesPerGroup: ipg,
      inodeBlocksPerGroup: itb,
      descSize,
      descBlocks,
      reservedBlocks,
    };
  }
}

interface GroupTables {
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
}

const groupFirst = (g: Geometry, grp: number): number => g.firstDataBlock + grp * g.blocksPerGroup;
const groupLast = (g: Geometry, grp: number): number =>
  grp === g.groups - 1 ? g.blocks - 1 : groupFirst(g, grp) + g.blocksPerGroup - 1;

/** flexbg_offset (alloc_tables.c): where the next run of `elemSize` blocks of a flex group's tables goes. */
function flexbgOffset(
  g: Geometry,
  map: BlockMap,
  group: number,
  startBlk: number,
  remGrps: number,
  elemSize: number,
): number {
  const flexSize = 1 << LOG_GROUPS_PER_FLEX;
  const flexbg = Math.floor(group / flexSize);
  let size = remGrps * elemSize;
  if (size > g.blocksPerGroup / 4) size = g.blocksPerGroup / 4;
  // Keep going where the previous group's table ended when there is room (skipping small obstructions).
  if (startBlk && startBlk < g.blocks) {
    const b = getFreeBlocks(g, map, startBlk, startBlk + size, elemSize);
    if (b >= 0) return b;
  }
  const start = groupFirst(g, flexSize * flexbg);
  const lastGrp = Math.min(group | (flexSize - 1), g.groups - 1);
  const lastBlk = groupLast(g, lastGrp);
  let b = getFreeBlocks(g, map, start, lastBlk, size);
  if (b >= 0) return b;
  b = getFreeBlocks(g, map, start, lastBlk, elemSize);
  if (b >= 0) return b;
  b = getFreeBlocks(g, map, 0, lastBlk, elemSize);
  if (b >= 0) return b;
  throw new MkfsError(`no room for the metadata of group ${group}`);
}

/** ext2fs_allocate_group_table for one group, with or without flex_bg. */
function allocateGroupTable(g: Geometry, map: BlockMap, tables: GroupTables[], group: number, flex: boolean): void {
  const itb = g.inodeBlocksPerGroup;
  if (!flex) {
    // Without flex_bg a group's bitmaps and inode table sit in the group, after its superblock backup.
    const first = groupFirst(g, group);
    const last = groupLast(g, group);
    const alloc = (from: number, num: number): number => {
      const b = getFreeBlocks(g, map, from, last, num);
      if (b < 0) throw new MkfsError(`no room for the metadata of group ${group}`);
      map.mark(b, num);
      return b;
    };
    const bb = alloc(first, 1);
    const ib = alloc(bb, 1);
    const it = alloc(ib, itb);
    tables[group] = { blockBitmap: bb, inodeBitmap: ib, inodeTable: it };
    return;
  }
  const flexSize = 1 << LOG_GROUPS_PER_FLEX;
  const lastGrp = Math.min(group | (flexSize - 1), g.groups - 1);
  const remGrps = lastGrp - group + 1;
  let tableOffset = flexSize;
  let prev = 0;
  if (group % flexSize) prev = tables[group - 1].blockBitmap + 1;
  else if (lastGrp === g.groups - 1) {
    // The last flex group keeps its metadata contiguous.
    tableOffset = lastGrp & (flexSize - 1);
    tableOffset = tableOffset === 0 ? flexSize : tableOffset + 1;
  }
  const bb = flexbgOffset(g, map, group, prev, remGrps, 1);
  map.mark(bb);
  prev = group % flexSize ? tables[group - 1].inodeBitmap + 1 : bb + tableOffset;
  const ib = flexbgOffset(g, map, group, prev, remGrps, 1);
  map.mark(ib);
  prev = group % flexSize ? tables[group - 1].inodeTable + itb : ib + tableOffset;
  const it = flexbgOffset(g, map, group, prev, remGrps, itb);
  map.mark(it, itb);
  tables[group] = { blockBitmap: bb, inodeBitmap: ib, inodeTable: it };
}

/** The mke2fs-made inodes this writes: root, lost+found, and the bad-blocks inode. */
interface NewInode {
  ino: number;
  mode: number;
  links: number;
  size: number;
  blocks: number[]; // data blocks, contiguous
  extraIsize: number;
}

export function mkfs(dev: BlockDevice, opts: MkfsOptions = {}): MkfsResult {
  const ext4 = (opts.features ?? 'ext4') === 'ext4';
  const bs = opts.blockSize ?? 4096;
  if (bs !== 1024 && bs !== 2048 && bs !== 4096) throw new MkfsError(`unsupported block size ${String(bs)}`);
  const ratio = opts.inodeRatio ?? 16384;
  if (!Number.isInteger(ratio) || ratio < 1024 || ratio > 67108864) {
    throw new MkfsError(`invalid inode ratio ${ratio} (must be 1024..67108864)`);
  }
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  if (!Number.isInteger(now) || now < 0 || now >= 2 ** 32) {
    throw new MkfsError(`opts.now must be whole seconds since the epoch (got ${now})`);
  }
  const uuid = opts.uuid ?? randomUuid();
  const hashSeed = opts.hashSeed ?? randomUuid();
  if (uuid.length !== 16 || hashSeed.length !== 16) throw new MkfsError('uuid and hashSeed must be 16 bytes');
  const label = new TextEncoder().encode(opts.label ?? '');
  if (label.length > 16) throw new MkfsError(`volume label '${opts.label}' is longer than 16 bytes`);
  const reservedPct = opts.reservedPercent ?? 5;
  if (!(reservedPct >= 0 && reservedPct <= 50)) throw new MkfsError(`invalid reserved percentage ${reservedPct}`);

  const devBlocks = Math.floor((dev.sectors * SECTOR_SIZE) / bs);
  const fsBlocks = opts.blocks ?? devBlocks;
  if (!Number.isSafeInteger(fsBlocks) || fsBlocks > devBlocks || fsBlocks < 1) {
    throw new MkfsError(`filesystem of ${fsBlocks} blocks does not fit the device (${devBlocks} blocks)`);
  }
  if (fsBlocks >= 2 ** 32 && !ext4) throw new MkfsError('ext2 is limited to 2^32 blocks');
  const g = computeGeometry(fsBlocks, bs, ext4, ratio, reservedPct);
  const csum = ext4; // metadata_csum comes with the ext4 feature set
  const seedFromUuid = crc32cUpdate(0xffffffff, uuid);
  const csumSeed = seedFromUuid; // with metadata_csum_seed, s_checksum_seed holds this same value

  // --- block map: superblock/descriptor backups, then the group tables (ext2fs_reserve_super_and_bgd,
  // ext2fs_allocate_tables). With 1 KiB blocks block 0 (the boot block) lies outside every group.
  const map = new BlockMap(g.blocks);
  if (g.firstDataBlock) map.mark(0);
  for (let grp = 0; grp < g.groups; grp++) {
    if (bgHasSuper(grp)) map.mark(groupFirst(g, grp), 1 + g.descBlocks);
  }
  const tables: GroupTables[] = new Array<GroupTables>(g.groups);
  for (let grp = 0; grp < g.groups; grp++) allocateGroupTable(g, map, tables, grp, ext4);
  let overhead = 0;
  for (let b = 0; b < g.blocks; b++) if (map.test(b)) overhead++; // with 1 KiB blocks the boot block counts too

  // --- root and lost+found (create_root_dir, create_lost_and_found): blocks from the first free one,
  // as ext2fs_new_block2 with the goal ext2fs_find_inode_goal gives (the start of the inode's flex group).
  const allocBlock = (): number => {
    const b = getFreeBlocks(g, map, g.firstDataBlock, 0, 1);
    if (b < 0) throw new MkfsError('no free block for the root directory');
    map.mark(b);
    return b;
  };
  const rootBlk = allocBlock();
  // lost+found grows to 16 KiB (at least 2 blocks, at most 12) so e2fsck never has to allocate for it.
  let lpfSize = 0;
  let lpfBlocks = 1;
  for (let i = 1; i < 12; i++) {
    lpfSize += bs;
    if (lpfSize >= 16 * 1024 && lpfSize >= 2 * bs) break;
    lpfBlocks++;
  }
  const lpfBlks: number[] = [];
  for (let i = 0; i < lpfBlocks; i++) lpfBlks.push(allocBlock());
  // write_reserved_inodes writes inodes 1..10 zeroed (each with its checksum), then the bad-blocks inode
  // (1) gets its times from create_bad_block_inode.
  const inodes: NewInode[] = [
    { ino: EXT2_BAD_INO, mode: 0, links: 0, size: 0, blocks: [], extraIsize: 0 },
    { ino: EXT2_ROOT_INO, mode: S_IFDIR | 0o755, links: 3, size: bs, blocks: [rootBlk], extraIsize: EXTRA_ISIZE },
    {
      ino: EXT2_FIRST_INO,
      mode: S_IFDIR | 0o700,
      links: 2,
      size: bs * lpfBlocks,
      blocks: lpfBlks,
      extraIsize: EXTRA_ISIZE,
    },
  ];
  for (let ino = 3; ino < EXT2_FIRST_INO; ino++)
    inodes.push({ ino, mode: 0, links: 0, size: 0, blocks: [], extraIsize: 0 });

  // --- group descriptors (ext2fs_initialize's per-group loop, then the allocations above).
  const ipg = g.inodesPerGroup;
  const usedInodesG0 = EXT2_FIRST_INO; // inodes 1..10 reserved, 11 is lost+found
  const descs = new Uint8Array(g.descBlocks * bs);
  const blockBitmaps: Uint8Array[] = [];
  const inodeBitmaps: Uint8Array[] = [];
  let freeBlocksTotal = 0;
  let freeInodesTotal = 0;
  const bbBytes = g.blocksPerGroup / 8;
  const ibBytes = ipg / 8;
  for (let grp = 0; grp < g.groups; grp++) {
    const first = groupFirst(g, grp);
    const last = groupLast(g, grp);
    const bbm = new Uint8Array(bs);
    let free = 0;
    let foreign = false; // holds a block other than its own superblock backup (so not BLOCK_UNINIT)
    const backupEnd = bgHasSuper(grp) ? first + 1 + g.descBlocks : first;
    for (let b = first; b <= last; b++) {
      if (map.test(b)) {
        const bit = b - first;
        bbm[bit >>> 3] |= 1 << (bit & 7);
        if (b >= backupEnd) foreign = true;
      } else free++;
    }
    // Bits past the end of the last group are set, as ext2fs_write_bitmaps pads them.
    for (let bit = last - first + 1; bit < bs * 8; bit++) bbm[bit >>> 3] |= 1 << (bit & 7);
    const ibm = new Uint8Array(bs).fill(0xff);
    ibm.fill(0, 0, ibBytes);
    const used = grp === 0 ? usedInodesG0 : 0;
    for (let i = 0; i < used; i++) ibm[i >>> 3] |= 1 << (i & 7);
    blockBitmaps.push(bbm);
    inodeBitmaps.push(ibm);
    // The inode tables are zero (written or assumed), which mke2fs records even without uninit_bg.
    let flags = BG_INODE_ZEROED;
    if (csum) {
      if (used === 0) flags |= BG_INODE_UNINIT;
      if (grp !== g.groups - 1 && !foreign) flags |= BG_BLOCK_UNINIT;
    }
    const d = descs.subarray(grp * g.descSize, (grp + 1) * g.descSize);
    const t = tables[grp];
    // With 64bit the 64-byte descriptor carries the high halves; a 32-byte ext2 descriptor has none.
    const hasHi = g.descSize >= DESC_SIZE_64;
    const setLoHi32 = (lo: number, hiOff: number, v: number): void => {
      put32(d, lo, v >>> 0);
      if (hasHi) put32(d, hiOff, Math.floor(v / 0x1_0000_0000));
    };
    const setLoHi16 = (lo: number, hiOff: number, v: number): void => {
      put16(d, lo, v & 0xffff);
      if (hasHi) put16(d, hiOff, v >>> 16);
    };
    setLoHi32(0x00, 0x20, t.blockBitmap);
    setLoHi32(0x04, 0x24, t.inodeBitmap);
    setLoHi32(0x08, 0x28, t.inodeTable);
    setLoHi16(0x0c, 0x2c, free);
    setLoHi16(0x0e, 0x2e, ipg - used);
    setLoHi16(0x10, 0x30, grp === 0 ? 2 : 0);
    put16(d, 0x12, flags);
    if (csum) {
      setLoHi16(0x1c, 0x32, ipg - used);
      // Bitmap checksums only for the bitmaps that are written (ext2fs_write_bitmaps skips uninit ones).
      if (!(flags & BG_BLOCK_UNINIT)) {
        const c = crc32cUpdate(csumSeed, bbm, 0, bbBytes);
        put16(d, 0x18, c & 0xffff);
        put16(d, 0x38, c >>> 16);
      }
      if (!(flags & BG_INODE_UNINIT)) {
        const c = crc32cUpdate(csumSeed, ibm, 0, ibBytes);
        put16(d, 0x1a, c & 0xffff);
        put16(d, 0x3a, c >>> 16);
      }
      // ext4_group_desc_csum: crc32c(seed, le32 group, descriptor with bg_checksum as zero), low 16 bits.
      let c = crc32cUpdate(csumSeed, le32(grp));
      c = crc32cUpdate(c, d, 0, 0x1e);
      c = crc32cUpdate(c, new Uint8Array(2));
      c = crc32cUpdate(c, d, 0x20, g.descSize);
      put16(d, 0x1e, c & 0xffff);
    }
    freeBlocksTotal += free;
    freeInodesTotal += ipg - used;
  }

  // --- the superblock (ext2fs_initialize's field settings plus mke2fs' defaults from mke2fs.conf).
  const sb = new Uint8Array(1024);
  put32(sb, 0x00, ipg * g.groups);
  putLoHi(sb, 0x04, 0x150, g.blocks, 4);
  putLoHi(sb, 0x08, 0x154, g.reservedBlocks, 4);
  putLoHi(sb, 0x0c, 0x158, freeBlocksTotal, 4);
  put32(sb, 0x10, freeInodesTotal);
  put32(sb, 0x14, g.firstDataBlock);
  put32(sb, 0x18, g.logBlockSize);
  put32(sb, 0x1c, g.logBlockSize); // s_log_cluster_size: no bigalloc
  put32(sb, 0x20, g.blocksPerGroup);
  put32(sb, 0x24, g.blocksPerGroup);
  put32(sb, 0x28, ipg);
  put32(sb, 0x30, now); // s_wtime
  put16(sb, 0x36, 0xffff); // s_max_mnt_count -1: enable_periodic_fsck = 0
  put16(sb, 0x38, EXT2_SUPER_MAGIC);
  put16(sb, 0x3a, EXT2_VALID_FS);
  put16(sb, 0x3c, EXT2_ERRORS_CONTINUE);
  put32(sb, 0x40, now); // s_lastcheck
  put32(sb, 0x48, EXT2_OS_LINUX);
  put32(sb, 0x4c, EXT2_DYNAMIC_REV);
  put32(sb, 0x54, EXT2_FIRST_INO);
  put16(sb, 0x58, INODE_SIZE);
  const compat = COMPAT_EXT_ATTR | COMPAT_DIR_INDEX;
  let incompat = INCOMPAT_FILETYPE;
  let roCompat = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE;
  if (ext4) {
    incompat |= INCOMPAT_EXTENTS | INCOMPAT_64BIT | INCOMPAT_FLEX_BG;
    roCompat |= RO_COMPAT_HUGE_FILE | RO_COMPAT_DIR_NLINK | RO_COMPAT_EXTRA_ISIZE | RO_COMPAT_METADATA_CSUM;
    if (opts.csumSeed) incompat |= INCOMPAT_CSUM_SEED;
  }
  put32(sb, 0x5c, compat);
  put32(sb, 0x60, incompat);
  put32(sb, 0x64, roCompat);
  sb.set(uuid, 0x68);
  sb.set(label, 0x78);
  sb.set(hashSeed, 0xec);
  sb[0xfc] = EXT2_HASH_HALF_MD4;
  if (ext4) put16(sb, 0xfe, DESC_SIZE_64);
  put32(sb, 0x100, EXT2_DEFM_XATTR_USER | EXT2_DEFM_ACL);
  put32(sb, 0x108, now); // s_mkfs_time
  put16(sb, 0x15c, EXTRA_ISIZE); // s_min_extra_isize
  put16(sb, 0x15e, EXTRA_ISIZE); // s_want_extra_isize
  // mke2fs on x86 (signed char) marks the directory hash signed; the kernel hashes names with that signedness.
  put32(sb, 0x160, EXT2_FLAGS_SIGNED_HASH);
  put32(sb, 0x248, overhead); // s_overhead_clusters: every block in use before root and lost+found
  if (ext4) {
    sb[0x174] = LOG_GROUPS_PER_FLEX;
    sb[0x175] = CRC32C_CHKSUM;
    if (opts.csumSeed) put32(sb, 0x270, seedFromUuid);
  }

  // --- inode table block(s) of group 0 holding inodes 1, 2 and 11 (ext2fs_write_new_inode).
  const inodesPerBlock = bs / INODE_SIZE;
  const itBlocks = new Map<number, Uint8Array>();
  const itBlock = (ino: number): { blk: Uint8Array; off: number } => {
    const idx = ino - 1; // all in group 0
    const n = Math.floor(idx / inodesPerBlock);
    let blk = itBlocks.get(n);
    if (!blk) itBlocks.set(n, (blk = new Uint8Array(bs)));
    return { blk, off: (idx % inodesPerBlock) * INODE_SIZE };
  };
  const inodeSeed = (ino: number, gen: number): number => crc32cUpdate(crc32cUpdate(csumSeed, le32(ino)), le32(gen));
  for (const n of inodes) {
    const { blk, off } = itBlock(n.ino);
    const b = blk.subarray(off, off + INODE_SIZE);
    put16(b, 0x00, n.mode);
    put32(b, 0x04, n.size);
    if (n.ino <= EXT2_ROOT_INO || n.ino === EXT2_FIRST_INO) {
      put32(b, 0x08, now); // atime
      put32(b, 0x0c, now); // ctime
      put32(b, 0x10, now); // mtime
    }
    put16(b, 0x1a, n.links);
    put32(b, 0x1c, n.blocks.length * (bs / 512));
    if (n.blocks.length) {
      if (ext4) {
        // One extent in the in-inode extent tree (ext4_extent_header + ext4_extent).
        put32(b, 0x20, EXT4_EXTENTS_FL);
        put16(b, 0x28, EXT4_EXT_MAGIC);
        put16(b, 0x2a, 1); // eh_entries
        put16(b, 0x2c, 4); // eh_max: (60 - 12) / 12
        put16(b, 0x2e, 0); // eh_depth
        put32(b, 0x34, 0); // ee_block
        put16(b, 0x38, n.blocks.length); // ee_len
        put16(b, 0x3a, Math.floor(n.blocks[0] / 0x1_0000_0000)); // ee_start_hi
        put32(b, 0x3c, n.blocks[0] >>> 0); // ee_start_lo
      } else {
        n.blocks.forEach((blkNo, i) => put32(b, 0x28 + 4 * i, blkNo)); // direct blocks (at most 12)
      }
    }
    if (n.extraIsize) {
      put16(b, 0x80, n.extraIsize);
      put32(b, 0x90, now); // i_crtime
    }
    if (csum) {
      // ext4_inode_csum: over the whole inode with i_checksum_lo/hi as zero; hi only when extra_isize covers it.
      let c = inodeSeed(n.ino, 0);
      c = crc32cUpdate(c, b, 0, INODE_SIZE);
      put16(b, 0x7c, c & 0xffff);
      if (n.extraIsize >= 4) put16(b, 0x82, c >>> 16);
    }
  }

  // --- directory blocks (ext2fs_new_dir_block, ext2fs_expand_dir), with a checksum tail when csum.
  const tail = csum ? 12 : 0;
  const dirBlock = (ino: number, entries: Array<{ ino: number; name: string; type: number }>): Uint8Array => {
    const blk = new Uint8Array(bs);
    const end = bs - tail;
    let off = 0;
    entries.forEach((e, i) => {
      const nameLen = e.name.length;
      const recLen = i === entries.length - 1 ? end - off : (8 + nameLen + 3) & ~3;
      put32(blk, off, e.ino);
      put16(blk, off + 4, recLen);
      blk[off + 6] = nameLen;
      blk[off + 7] = e.type;
      for (let k = 0; k < nameLen; k++) blk[off + 8 + k] = e.name.charCodeAt(k);
      off += recLen;
    });
    if (entries.length === 0) put16(blk, 4, end); // an empty block: one unused entry spanning it
    if (csum) {
      put16(blk, end + 4, 12);
      blk[end + 7] = FT_DIR_CSUM;
      put32(blk, end + 8, crc32cUpdate(inodeSeed(ino, 0), blk, 0, end));
    }
    return blk;
  };
  const dataBlocks = new Map<number, Uint8Array>();
  dataBlocks.set(
    rootBlk,
    dirBlock(EXT2_ROOT_INO, [
      { ino: EXT2_ROOT_INO, name: '.', type: FT_DIR },
      { ino: EXT2_ROOT_INO, name: '..', type: FT_DIR },
      { ino: EXT2_FIRST_INO, name: 'lost+found', type: FT_DIR },
    ]),
  );
  lpfBlks.forEach((b, i) =>
    dataBlocks.set(
      b,
      dirBlock(
        EXT2_FIRST_INO,
        i === 0
          ? [
              { ino: EXT2_FIRST_INO, name: '.', type: FT_DIR },
              { ino: EXT2_ROOT_INO, name: '..', type: FT_DIR },
            ]
          : [],
      ),
    ),
  );

  // --- write it out. Metadata is a few dozen blocks; the inode tables are zeroed only when needed.
  let written = 0;
  const writeBlock = (blkNo: number, data: Uint8Array): void => {
    dev.writeBlocks((blkNo * bs) / SECTOR_SIZE, data);
    written += data.length;
  };
  if (!opts.assumeZeroed) {
    const zeros = new Uint8Array(Math.min(g.inodeBlocksPerGroup, 256) * bs);
    for (const t of tables) {
      for (let b = 0; b < g.inodeBlocksPerGroup; b += 256) {
        const n = Math.min(256, g.inodeBlocksPerGroup - b);
        dev.writeBlocks(((t.inodeTable + b) * bs) / SECTOR_SIZE, zeros.subarray(0, n * bs));
      }
    }
  }
  for (const [n, blk] of itBlocks) writeBlock(tables[0].inodeTable + n, blk);
  for (const [b, blk] of dataBlocks) writeBlock(b, blk);
  for (let grp = 0; grp < g.groups; grp++) {
    const flags = descs[grp * g.descSize + 0x12] | (descs[grp * g.descSize + 0x13] << 8);
    if (!(flags & BG_BLOCK_UNINIT)) writeBlock(tables[grp].blockBitmap, blockBitmaps[grp]);
    if (!(flags & BG_INODE_UNINIT)) writeBlock(tables[grp].inodeBitmap, inodeBitmaps[grp]);
  }
  // Superblock and descriptor copies in every backup group (ext2fs_flush); s_block_group_nr names the copy.
  // s_kbytes_written counts what was written before the superblocks, as libext2fs' io statistics do.
  put32(sb, 0x178, Math.floor(written / 1024));
  for (let grp = 0; grp < g.groups; grp++) {
    if (!bgHasSuper(grp)) continue;
    const copy = sb.slice();
    put16(copy, 0x5a, grp);
    // ext2fs_flush clears EXT2_VALID_FS while it writes the backups, so only the primary says "clean".
    if (grp !== 0) put16(copy, 0x3a, 0);
    if (csum) put32(copy, 0x3fc, crc32cUpdate(0xffffffff, copy, 0, 0x3fc));
    const first = groupFirst(g, grp);
    if (grp === 0) {
      // The primary superblock lives at byte 1024 whatever the block size; bytes 0..1023 are the boot block.
      const head = new Uint8Array(bs === 1024 ? 2048 : bs);
      head.set(copy, 1024);
      dev.writeBlocks(0, head);
    } else {
      const blk = new Uint8Array(bs);
      blk.set(copy, 0);
      writeBlock(first, blk);
    }
    writeBlock(first + 1, descs);
  }

  return {
    blockSize: bs,
    blocks: g.blocks,
    inodes: ipg * g.groups,
    groups: g.groups,
    inodesPerGroup: ipg,
    freeBlocks: freeBlocksTotal,
    freeInodes: freeInodesTotal,
    uuid,
  };
}
