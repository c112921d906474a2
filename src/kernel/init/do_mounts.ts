/**
 * Mounting the root filesystem (init/do_mounts.c: prepare_namespace, mount_root,
 * mount_block_root, do_mount_root; drivers/base/devtmpfs.c: devtmpfs_mount) and taking the
 * mounts down at shutdown.
 *
 * As in Linux, the disk's filesystem is mounted on /root of the in-memory rootfs from the
 * device node /dev/root, devtmpfs goes on its /dev (CONFIG_DEVTMPFS_MOUNT), and init is
 * chrooted into it, so /proc/mounts shows `/dev/root / ext4 rw,relatime 0 0` and the rootfs
 * stays out of sight underneath.
 */
import type { Kernel } from '../kernel.js';
import type { Task } from '../sched/task.js';
import type { Mount } from '../fs/mount.js';
import type { SuperBlock } from '../fs/super.js';
import type { BootCmdline } from './cmdline.js';
import { makeDev } from '../fs/super.js';
import { FS_REQUIRES_DEV, filesystemTypes } from '../fs/filesystems.js';
import { S_IFBLK, S_ISDIR } from '../fs/uapi.js';
import { EACCES, ENXIO } from '../errno.js';
import { doMount } from '../fs/namespace.js';
import { syncFilesystems } from '../fs/sync.js';
import { panic } from '../sys/reboot.js';

/** mount(2) flags used here (include/uapi/linux/mount.h). */
export const MS_RDONLY = 1;
export const MS_SILENT = 32768;

/** The one disk's device number (virtio_blk major 254, minor 0). */
const VDA_DEV = makeDev(254, 0);

/** name_to_dev_t() for the names this machine has: /dev/vda, vda, 254:0 (also PARTUUID-less fe00). */
export function nameToDevT(name: string): number | null {
  const n = name.startsWith('/dev/') ? name.slice(5) : name;
  if (n === 'vda' || n === 'root' || n === '254:0' || n.toLowerCase() === 'fe00') return VDA_DEV;
  return null;
}

/**
 * prepare_namespace(): mount the root, devtmpfs on its /dev, and chroot `task` (pid 1; the
 * kernel threads share its fs_struct) into it. Returns 0, or -errno after panic().
 */
export function prepareNamespace(kernel: Kernel, task: Task, cmdline: BootCmdline): number {
  const rootFs = kernel.rootFs;
  const root = cmdline.root ?? '';
  if (nameToDevT(root) === null || kernel.disks.length === 0) {
    kernel.log(`VFS: Cannot open root device "${root}" or unknown-block(0,0): error -${ENXIO}`);
    kernel.log('Please append a correct "root=" boot option; here are the available partitions:');
    for (const d of kernel.disks) kernel.log(`fe00 ${Math.floor((d.sectors * 512) / 1024)} ${d.name}`);
    panic(kernel, 'VFS: Unable to mount root fs on unknown-block(0,0)');
    return -ENXIO;
  }
  // create_dev("/dev/root", ROOT_DEV) and the /root mount point (both on the rootfs).
  try {
    rootFs.mknod('/dev/root', S_IFBLK | 0o600, VDA_DEV);
  } catch {
    // already there
  }
  rootFs.mkdirp('/root', 0o700);
  const target = rootFs.lookup('/root');
  if (typeof target === 'number') {
    panic(kernel, `VFS: cannot find /root on rootfs (error ${target})`);
    return target;
  }
  // mount_block_root(): each type of rootfstype=, or every block filesystem, until one mounts;
  // -EACCES (a read-only device) retries read-only.
  const types =
    cmdline.rootfstype !== null
      ? cmdline.rootfstype.split(',').filter(Boolean)
      : filesystemTypes()
          .filter((t) => (t.fsFlags & FS_REQUIRES_DEV) !== 0)
          .map((t) => t.name);
  let flags = MS_SILENT | (cmdline.readOnly ? MS_RDONLY : 0);
  let mounted: string | null = null;
  let lastErr = 0;
  for (let retry = 0; retry < 2 && mounted === null; retry++) {
    for (const type of types) {
      let r: number;
      try {
        r = doMount(kernel, task, '/dev/root', target, type, flags, cmdline.rootflags);
      } catch (e) {
        kernel.warn(`BUG: mounting root as ${type}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        r = -5;
      }
      if (r === 0) {
        mounted = type;
        break;
      }
      lastErr = r;
      if (r === -EACCES && !(flags & MS_RDONLY)) break;
    }
    if (mounted === null && lastErr === -EACCES && !(flags & MS_RDONLY)) flags |= MS_RDONLY;
    else break;
  }
  if (mounted === null) {
    kernel.log(`List of all partitions:\nfe00 ${Math.floor((kernel.disks[0]!.sectors * 512) / 1024)} vda`);
    kernel.log(`No filesystem could mount root, tried: ${types.join(' ')} (last error ${lastErr})`);
    panic(kernel, 'VFS: Unable to mount root fs on unknown-block(254,0)');
    return lastErr || -ENXIO;
  }
  kernel.log(`VFS: Mounted root (${mounted} filesystem)${flags & MS_RDONLY ? ' readonly' : ''} on device 254:0.`);
  const newRoot = rootFs.lookup('/root');
  if (typeof newRoot === 'number') {
    panic(kernel, `VFS: lost the root mount (error ${newRoot})`);
    return newRoot;
  }

  // devtmpfs_mount(): on the new root's /dev, when it has one.
  const dev = rootFs.lookup('/root/dev');
  if (typeof dev !== 'number' && S_ISDIR(dev.dentry.inode.mode)) {
    let r: number;
    try {
      r = doMount(kernel, task, 'devtmpfs', dev, 'devtmpfs', MS_SILENT, '');
    } catch (e) {
      kernel.warn(`BUG: mounting devtmpfs: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      r = -5;
    }
    kernel.log(r === 0 ? 'devtmpfs: mounted' : `devtmpfs: error mounting ${r}`);
  }

  // init_mount(".", "/", MS_MOVE) + init_chroot("."): init's root and cwd become the disk's root.
  task.fs.root = newRoot;
  task.fs.pwd = newRoot;
  return 0;
}

/**
 * The end of the mounts at power-off / restart: sync every filesystem (sync.ts
 * syncFilesystems), then put every superblock, the deepest
 * mounts first (umount_tree → deactivate_super → put_super), so ext4 is marked clean.
 */
export function shutdownFilesystems(kernel: Kernel): void {
  const report = (what: string, e: unknown): void =>
    kernel.warn(`BUG: ${what} at shutdown: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  try {
    syncFilesystems(kernel);
  } catch (e) {
    report('sync', e);
  }
  const seen = new Set<SuperBlock>();
  const walk = (m: Mount): void => {
    for (const c of [...m.children]) if (c !== m) walk(c);
    const sb = m.sb;
    if (seen.has(sb)) return;
    seen.add(sb);
    try {
      sb.ops.putSuper?.(sb);
    } catch (e) {
      report(`unmounting ${sb.type.name}`, e);
    }
  };
  if (kernel.rootFs) walk(kernel.rootFs.rootMnt);
}
