import { ENXIO } from '../errno.js';
import type { Task } from '../sched/task.js';
import type { File, FileOperations } from './file.js';
import { fifoFops } from './fifo.js';
import type { Inode } from './inode.js';
import { devMajor, devMinor } from './super.js';
import { S_IFMT, S_IFBLK, S_IFCHR, S_IFIFO, S_IFSOCK } from './uapi.js';

/**
 * The character-device registry (fs/char_dev.c): major:minor → file operations. Device
 * inodes carry only a number (i_rdev); opening one finds the driver here (chrdev_open).
 */
interface ChrdevRegion {
  major: number;
  baseMinor: number;
  count: number;
  name: string;
  fops: FileOperations;
}

const chrdevs: ChrdevRegion[] = [];

/** register_chrdev_region + cdev_add. Later registrations of the same range replace earlier ones. */
export function registerChrdev(
  major: number,
  baseMinor: number,
  count: number,
  name: string,
  fops: FileOperations,
): void {
  for (let i = chrdevs.length - 1; i >= 0; i--) {
    const r = chrdevs[i]!;
    if (r.major === major && r.baseMinor === baseMinor && r.count === count) chrdevs.splice(i, 1);
  }
  chrdevs.push({ major, baseMinor, count, name, fops });
}

/** Find the driver for a device number (kobj_lookup in cdev_map). */
export function lookupChrdev(rdev: number): FileOperations | null {
  const major = devMajor(rdev);
  const minor = devMinor(rdev);
  for (const r of chrdevs) {
    if (r.major === major && minor >= r.baseMinor && minor < r.baseMinor + r.count) return r.fops;
  }
  return null;
}

/** Registered majors and names, for /proc/devices later. */
export function chrdevNames(): { major: number; name: string }[] {
  return chrdevs.map((r) => ({ major: r.major, name: r.name }));
}

/** def_chr_fops: its only job is to swap in the driver's operations on open (chrdev_open). */
export const defChrFops: FileOperations = {
  open(inode: Inode, file: File, task: Task | null): number {
    const fops = lookupChrdev(inode.rdev);
    if (!fops) return -ENXIO;
    file.op = fops;
    return fops.open ? fops.open(inode, file, task) : 0;
  },
};

/** Operations of special files whose drivers are not written yet: opening them fails (ENXIO). */
const noDeviceFops: FileOperations = {
  open(): number {
    return -ENXIO;
  },
};

/**
 * def_blk_fops (block/fops.c): the block layer installs its open/read/write for block device
 * nodes here (registerBlkdevFops); until it does, opening one is ENXIO.
 */
let defBlkFops: FileOperations | null = null;
export function registerBlkdevFops(fops: FileOperations): void {
  defBlkFops = fops;
}
const blkFopsTrampoline: FileOperations = {
  open(inode: Inode, file: File, task: Task | null): number {
    if (!defBlkFops) return -ENXIO;
    file.op = defBlkFops;
    return defBlkFops.open ? defBlkFops.open(inode, file, task) : 0;
  },
};

/**
 * init_special_inode (fs/inode.c): give a device, FIFO or socket inode its file operations.
 * Sockets are not implemented yet and refuse to open with ENXIO.
 */
export function initSpecialInode(inode: Inode, mode: number, rdev: number): void {
  inode.mode = mode;
  switch (mode & S_IFMT) {
    case S_IFCHR:
      inode.rdev = rdev;
      inode.fop = defChrFops;
      break;
    case S_IFBLK:
      inode.rdev = rdev;
      inode.fop = blkFopsTrampoline;
      break;
    case S_IFIFO:
      inode.fop = fifoFops;
      break;
    case S_IFSOCK:
      inode.fop = noDeviceFops;
      break;
  }
}
