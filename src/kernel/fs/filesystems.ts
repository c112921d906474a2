import * as E from '../errno.js';
import type { Kernel } from '../kernel.js';
import { devtmpfsType } from './devtmpfs.js';
import { ramfsType, tmpfsType } from './ramfs/inode.js';
import type { FileSystemType, SuperBlock } from './super.js';

/**
 * The table of filesystem types (fs/filesystems.c: register_filesystem, get_fs_type,
 * /proc/filesystems). mount(2) finds a type here by name and calls its `mount`.
 */

/** FS_REQUIRES_DEV: the source of a mount must be a block device (ext4); others are "nodev". */
export const FS_REQUIRES_DEV = 1;
/** FS_USERNS_MOUNT and the rest are not used here. */

/**
 * A block device a filesystem is mounted from, as the block layer describes it (struct
 * gendisk). The block layer's GenDisk (src/kernel/block/genhd.ts) has these fields and more.
 */
export interface MountDisk {
  name: string;
  major: number;
  minor: number;
  readOnly: boolean;
  bdev: unknown;
}

/** What mount(2) hands a filesystem type (struct fs_context, reduced). */
export interface MountContext {
  kernel: Kernel;
  /** The source string as given ("/dev/vda", "tmpfs", "none"). */
  source: string;
  /** MS_* flags of the mount call (MS_RDONLY ...). */
  flags: number;
  /** The option string (-o), without the generic options the VFS consumed. */
  data: string;
  /** For FS_REQUIRES_DEV types: the disk the source names. */
  disk: MountDisk | null;
}

const fileSystems: FileSystemType[] = [];

/** register_filesystem: -EBUSY if another type has the name (the same object again is fine). */
export function registerFilesystem(t: FileSystemType): number {
  const old = fileSystems.find((x) => x.name === t.name);
  if (old) return old === t ? 0 : -E.EBUSY;
  fileSystems.push(t);
  return 0;
}

/** unregister_filesystem. */
export function unregisterFilesystem(t: FileSystemType): number {
  const i = fileSystems.indexOf(t);
  if (i < 0) return -E.EINVAL;
  fileSystems.splice(i, 1);
  return 0;
}

/** get_fs_type. */
export function getFsType(name: string): FileSystemType | null {
  return fileSystems.find((x) => x.name === name) ?? null;
}

/** Registered types in registration order. */
export function filesystemTypes(): readonly FileSystemType[] {
  return fileSystems;
}

/** The text of /proc/filesystems (filesystems_proc_show): "nodev\tname" or "\tname". */
export function procFilesystemsText(): string {
  return fileSystems.map((t) => `${t.fsFlags & FS_REQUIRES_DEV ? '' : 'nodev'}\t${t.name}\n`).join('');
}

/**
 * The filesystems the VFS itself provides (init_rootfs, init_tmpfs, devtmpfs_init): ramfs,
 * tmpfs and devtmpfs. Other owners' types (ext4, proc, sysfs, devpts) are registered by boot.
 */
export function registerBuiltinFilesystems(): void {
  registerFilesystem(ramfsType);
  registerFilesystem(tmpfsType);
  registerFilesystem(devtmpfsType);
}

/** Keep the SuperBlock type reachable for filesystems that import only this module. */
export type { FileSystemType, SuperBlock };
