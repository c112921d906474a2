/**
 * fs/ext4/ext4.h for the VFS glue: the engine's API as the glue uses it (the on-disk engine,
 * fs/ext2/ext2fs.ts, works at the inode-number level), the per-mount state (struct ext4_sb_info)
 * and the error path (__ext4_error / ext4_handle_error).
 */
import { EIO, EUCLEAN } from '../../errno.js';
import type { GenDisk } from '../../block/genhd.js';
import type { BlockDevice } from '../ext2/block_device.js';
import type { DirEntryInfo } from '../ext2/dir.js';
import { Ext2Error } from '../ext2/errors.js';
import type { Ext2Statfs } from '../ext2/ext2fs.js';
import type { Ext2Inode } from '../ext2/inode.js';
import { SB_RDONLY, type SuperBlock } from '../super.js';
import type { Ext4Inode } from './inode.js';

/** The engine inode, with the device number of device nodes (i_block[0..1] decoded). */
export type EngineInode = Ext2Inode & { rdev?: number };

/**
 * What the glue calls on the engine (docs/CONTRACTS.md "ext4 engine"). User-caused conditions
 * come back as -errno; corruption throws Ext2Error.
 */
export interface Ext4Engine {
  readonly readOnly: boolean;
  readonly blockSize: number;
  readInode(ino: number): EngineInode;
  writeInode(ino: number, inode: EngineInode): void;
  lookup(dirIno: number, name: string): number;
  readdir(dirIno: number): DirEntryInfo[];
  readlink(ino: number): string;
  read(ino: number, pos: number, buf: Uint8Array): number;
  write(ino: number, pos: number, data: Uint8Array): number;
  mapBlocks(ino: number, lblk: number, maxLen: number, create: boolean): { pblk: number; len: number } | number;
  truncate(ino: number, size: number): number;
  createInode(dirIno: number, mode: number, uid: number, gid: number, rdev?: number): number;
  link(dirIno: number, name: string, ino: number): number;
  unlink(dirIno: number, name: string): number;
  mkdir(dirIno: number, name: string, mode: number, uid: number, gid: number): number;
  rmdir(dirIno: number, name: string): number;
  symlink(dirIno: number, name: string, target: string, uid: number, gid: number): number;
  rename(oldDir: number, oldName: string, newDir: number, newName: string, flags: number): number;
  evictInode(ino: number): void;
  statfs(): Ext2Statfs;
  sync(): void;
  unmount(): void;
}

export interface Ext4EngineClass {
  mount(dev: BlockDevice, opts?: { readOnly?: boolean; log?: (msg: string) => void; now?: () => number }): Ext4Engine;
}

/** errors= mount option (EXT4_MOUNT_ERRORS_*). */
export type ErrorsMode = 'continue' | 'remount-ro' | 'panic';

/** Mount options the glue understands (parse_options / ext4_parse_param). */
export interface Ext4Options {
  errors: ErrorsMode;
  /** noatime: never update atime; default relatime. */
  noatime: boolean;
  /** strictatime: update atime on every read. */
  strictatime: boolean;
}

/** struct ext4_sb_info: the per-mount state hung on sb.fsInfo. */
export class Ext4SbInfo {
  /** The in-core inodes by number (the inode hash of iget_locked). */
  readonly icache = new Map<number, Ext4Inode>();
  sb!: SuperBlock;
  /** Set once putSuper ran: late calls (a timer) do nothing. */
  dead = false;
  /** Error count since mount (s_error_count), and the last message, for tests and /proc. */
  errorCount = 0;
  lastError = '';
  /** Pages read into the page cache since the last shrink (a cheap trigger for ext4ShrinkCache). */
  pagesAdded = 0;

  constructor(
    public engine: Ext4Engine,
    readonly disk: GenDisk,
    public opts: Ext4Options,
    readonly log: (msg: string) => void,
    /** kernel panic hook for errors=panic (null: log only). */
    readonly panic: ((msg: string) => void) | null,
  ) {}

  get devName(): string {
    return this.disk.name;
  }
}

export function sbInfo(sb: SuperBlock): Ext4SbInfo {
  return sb.fsInfo as Ext4SbInfo;
}

/**
 * __ext4_error + ext4_handle_error: log `EXT4-fs error (device vda): <function>: <message>`,
 * then act per errors=: remount read-only (default), continue, or panic. Returns the errno a
 * system call answers: the Ext2Error's own (EIO for I/O errors, EUCLEAN for corruption).
 */
export function ext4Error(sbi: Ext4SbInfo, fn: string, e: unknown): number {
  const msg = e instanceof Error ? e.message : String(e);
  sbi.errorCount++;
  sbi.lastError = `${fn}: ${msg}`;
  sbi.log(`EXT4-fs error (device ${sbi.devName}): ${fn}: ${msg}`);
  const sb = sbi.sb;
  if (sbi.opts.errors === 'panic') {
    const p = `EXT4-fs (device ${sbi.devName}): panic forced after error`;
    if (sbi.panic) sbi.panic(p);
    else sbi.log(`Kernel panic - not syncing: ${p}`);
  } else if (sbi.opts.errors === 'remount-ro' && sb && !(sb.flags & SB_RDONLY)) {
    sbi.log(`EXT4-fs (${sbi.devName}): Remounting filesystem read-only`);
    sb.flags |= SB_RDONLY;
  }
  if (e instanceof Ext2Error) {
    const n = Math.abs(e.errno);
    return -(n === EIO || n === EUCLEAN ? n : EUCLEAN);
  }
  return -EIO; // a bug or an unexpected shape of corruption: never thrown out of the kernel
}

/** Run an engine call, turning a throw into the error path above (the glue never throws). */
export function ext4Call<T>(sbi: Ext4SbInfo, fn: string, f: () => T): T | number {
  try {
    return f();
  } catch (e) {
    return ext4Error(sbi, fn, e);
  }
}

/** FT_* of a directory entry → DT_* for getdents (ext4_filetype_table / fs_ftype_to_dtype). */
const FT_TO_DT = [0, 8, 4, 2, 6, 1, 12, 10];
export function ftToDt(ft: number): number {
  return FT_TO_DT[ft] ?? 0;
}
