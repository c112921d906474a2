import type { Dentry } from './dcache.js';
import type { MountContext } from './filesystems.js';

/** statfs(2) numbers a filesystem reports (struct kstatfs). */
export interface KStatfs {
  type: number;
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  namelen: number;
  frsize: number;
  flags: number;
}

/** Superblock operations (struct super_operations): what a filesystem does for the whole volume. */
export interface SuperOperations {
  statfs?(sb: SuperBlock): KStatfs;
  /** Write dirty state back (sync_fs). In-memory filesystems have nothing to do. */
  syncFs?(sb: SuperBlock): number;
  /** The last mount of the superblock went away (kill_sb → put_super): flush and let go of the device. */
  putSuper?(sb: SuperBlock): void;
  /**
   * mount -o remount (reconfigure): `flags` are the new SB_* flags (SB_RDONLY ...), `data` the
   * option string. 0 or -errno; the VFS updates sb.flags after success.
   */
  remountFs?(sb: SuperBlock, flags: number, data: string): number;
  /** Filesystem-specific options shown in /proc/mounts after the generic ones (show_options): ",size=...". */
  showOptions?(sb: SuperBlock): string;
}

/** A filesystem type (struct file_system_type), registered by name for mount(2). */
export interface FileSystemType {
  name: string;
  /** FS_REQUIRES_DEV etc. */
  fsFlags: number;
  /**
   * Make (or find) a superblock for a mount (get_tree): SuperBlock or -errno. Types without it
   * cannot be mounted from user space (ENODEV).
   */
  mount?(ctx: MountContext): SuperBlock | number;
}

/** Superblock flags (SB_* in include/linux/fs.h). */
export const SB_RDONLY = 1;
export const SB_NOSUID = 2;
export const SB_NODEV = 4;
export const SB_NOEXEC = 8;

let nextAnonDev = 1;

/**
 * Allocate an anonymous device number (get_anon_bdev): major 0, minors counting up, as
 * Linux does for filesystems without a block device (tmpfs, proc, ...).
 */
export function getAnonDev(): number {
  return makeDev(0, nextAnonDev++);
}

/** dev_t encoding of the kernel's new_encode_dev (what stat reports in st_dev/st_rdev). */
export function makeDev(major: number, minor: number): number {
  // (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12); fits in 2^53 for sane values.
  return (minor & 0xff) + (major & 0xfff) * 256 + Math.floor(minor / 256) * 1048576;
}
export function devMajor(dev: number): number {
  return Math.floor(dev / 256) & 0xfff;
}
export function devMinor(dev: number): number {
  return (dev & 0xff) | (Math.floor(dev / 1048576) << 8);
}

/** Clock for inode times: realtime as seconds + nanoseconds. */
export interface TimeSource {
  realtimeNs(): number;
}

/**
 * A mounted filesystem instance (struct super_block): its type, root dentry, device number,
 * flags, operations and inode-number counter.
 */
export class SuperBlock {
  root!: Dentry;
  flags = 0;
  blocksize = 4096;
  maxBytes = Number.MAX_SAFE_INTEGER;
  /** Magic number reported by statfs (s_magic). */
  magic = 0;
  private nextIno = 1;
  /** Opaque per-filesystem data (s_fs_info). */
  fsInfo: unknown = null;
  /** Mounts using this superblock (s_active): the last umount calls putSuper. */
  activeMounts = 0;
  /** The block device a disk filesystem was mounted from (s_bdev's dev_t), 0 for none. */
  bdev = 0;

  constructor(
    readonly type: FileSystemType,
    readonly ops: SuperOperations,
    readonly dev: number,
    readonly time: TimeSource,
  ) {}

  /** Next inode number (get_next_ino for in-memory filesystems). */
  allocIno(): number {
    return this.nextIno++;
  }

  get readonly(): boolean {
    return (this.flags & SB_RDONLY) !== 0;
  }

  /** current_time(): the time stamped on changed inodes. */
  now(): { sec: number; nsec: number } {
    const ns = this.time.realtimeNs();
    const sec = Math.floor(ns / 1e9);
    return { sec, nsec: Math.floor(ns - sec * 1e9) };
  }
}

/** Filesystems that keep no count of blocks report this statfs (simple_statfs in fs/libfs.c). */
export function simpleStatfs(sb: SuperBlock): KStatfs {
  return {
    type: sb.magic,
    bsize: sb.blocksize,
    blocks: 0,
    bfree: 0,
    bavail: 0,
    files: 0,
    ffree: 0,
    namelen: 255,
    frsize: sb.blocksize,
    flags: sb.readonly ? 1 : 0,
  };
}
