/**
 * Where boot meets the other subsystems' entry points, by the names docs/CONTRACTS.md fixes
 * (issue 4): the filesystem types start_kernel registers, mount(2)'s doMount for the root
 * and devtmpfs, sync for the shutdown, and the tty layer's console. Gathered in one object
 * so start_kernel (boot.ts) and prepare_namespace (do_mounts.ts) take them as a parameter
 * and a test can boot with a piece replaced.
 */
import type { Kernel } from '../kernel.js';
import type { Task } from '../sched/task.js';
import type { Path } from '../fs/path.js';
import type { CharStream } from '../../machine/dev/char-stream.js';
import type { FileSystemType } from '../fs/super.js';
import { doMount } from '../fs/namespace.js';
import { syncFilesystems } from '../fs/sync.js';
import { devtmpfsType } from '../fs/devtmpfs.js';
import { ext2FsType, ext3FsType, ext4FsType } from '../fs/ext4/super.js';
import { procFsType } from '../fs/proc/root.js';
import { ramfsType, tmpfsType } from '../fs/ramfs/inode.js';
import { devptsFsType } from '../fs/devpts/inode.js';
import { sysfsType } from '../fs/sysfs/mount.js';
import { ttyInit } from '../tty/tty_io.js';
import { consoleInit } from '../tty/serial.js';

export interface BootPieces {
  /** Pieces that are absent (reported in the log); empty when everything is there. */
  missing: string[];
  /** Filesystem types in Linux's registration order. */
  fsTypes: FileSystemType[];
  doMount:
    | ((
        kernel: Kernel,
        task: Task | null,
        source: string,
        target: Path,
        fstype: string,
        flags: number,
        data: string,
      ) => number)
    | null;
  syncFilesystems: ((kernel: Kernel) => void) | null;
  ttyInit: (() => void) | null;
  consoleInit: ((kernel: Kernel, stream: CharStream) => { resize(rows: number, cols: number): void }) | null;
}

/** Everything start_kernel needs for a disk boot. */
export function bootPieces(): BootPieces {
  return {
    missing: [],
    // ramfs/tmpfs early (init_rootfs, shmem_init), then sysfs, proc, devtmpfs, devpts, and
    // ext4's three names in the order fs/ext4/super.c registers them (ext3, ext2, ext4).
    fsTypes: [
      ramfsType,
      tmpfsType,
      sysfsType,
      procFsType,
      devtmpfsType,
      devptsFsType as FileSystemType,
      ext3FsType,
      ext2FsType,
      ext4FsType,
    ],
    doMount,
    syncFilesystems,
    ttyInit,
    consoleInit,
  };
}
