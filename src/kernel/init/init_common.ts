/**
 * The steps of start_kernel that a disk boot (boot.ts) and `labvisor exec` (main.ts) share.
 */
/**
 * trap_init (the system-call table), mm_init (every frame of RAM to the buddy allocator; the
 * kernel itself lives outside guest RAM), sched_init + fork_init (threads-max from RAM, the
 * futex and timer hooks of the exit path), in start_kernel's order.
 */
export function earlyInit(kernel: Kernel, mem: PhysicalMemory): void {
  kernel.syscalls = buildSyscallTable((m) => kernel.warn(m));
  kernel.log(`syscall table: ${kernel.syscalls.filter(Boolean).length} system calls`);
  kernel.pageAlloc = new BuddyAllocator(mem, 0);
  kernel.log(`Memory: ${(kernel.pageAlloc.nrFree() * 4) | 0}K/${(mem.size / 1024) | 0}K available`);
  // set_max_threads() sizes threads-max from RAM; RLIMIT_NPROC of init defaults to half of it.
  kernel.setMaxThreads(mem.size);
  kernel.onChildStateChange = wakeParent;
  // futex_init: the exit path's CLONE_CHILD_CLEARTID wake and robust-list release.
  installFutexHooks(kernel);
  installTimerHooks();
  kernel.log(`sched: CFS + RT classes, 1 CPU; pid_max ${kernel.pidMax}, threads-max ${kernel.maxThreads}`);
}

/**
 * vfs_caches_init → mnt_init → init_rootfs (fs/namespace.c, init/do_mounts.c): the in-memory
 * rootfs every boot starts from, /proc's view of the task table, and the filesystem types
 * mount(2) knows — the same for a disk boot and for `labvisor exec`.
 */
import type { Kernel } from '../kernel.js';
import type { PhysicalMemory } from '../../machine/memory.js';
import { BuddyAllocator } from '../mm/page_alloc.js';
import { buildSyscallTable } from '../syscall/table.js';
import { wakeParent } from '../sched/exit.js';
import { installFutexHooks } from '../futex/futex.js';
import { installTimerHooks } from '../time/posix-timers.js';
import type { TimeSource } from '../fs/super.js';
import { createRootFs } from '../fs/rootfs.js';
import { registerFilesystem } from '../fs/filesystems.js';
import { TaskState } from '../sched/task.js';
import type { FileSystemType } from '../fs/super.js';
import { devtmpfsType } from '../fs/devtmpfs.js';
import { ext2FsType, ext3FsType, ext4FsType } from '../fs/ext4/super.js';
import { procFsType } from '../fs/proc/root.js';
import { ramfsType, tmpfsType } from '../fs/ramfs/inode.js';
import { devptsFsType } from '../fs/devpts/inode.js';
import { sysfsType } from '../fs/sysfs/mount.js';

/**
 * The filesystem types in Linux's registration order: ramfs/tmpfs early (init_rootfs,
 * shmem_init), then sysfs, proc, devtmpfs, devpts, and ext4's three names in the order
 * fs/ext4/super.c registers them (ext3, ext2, ext4) — the order mount_block_root tries them.
 */
const FILESYSTEMS: FileSystemType[] = [
  ramfsType,
  tmpfsType,
  sysfsType,
  procFsType,
  devtmpfsType,
  devptsFsType,
  ext3FsType,
  ext2FsType,
  ext4FsType,
];

export function vfsCachesInit(kernel: Kernel, opts: { clock: TimeSource; hostLibDir?: string }): void {
  kernel.rootFs = createRootFs({ hostLibDir: opts.hostLibDir, clock: opts.clock });
  kernel.rootFs.setTaskSource({
    find: (pid) => kernel.findTask(pid),
    tgids: () =>
      [...kernel.tasks.values()]
        .filter((t) => t.pid === t.tgid && t.state !== TaskState.DEAD)
        .map((t) => t.pid)
        .sort((a, b) => a - b),
  });
  for (const t of FILESYSTEMS) registerFilesystem(t);
  kernel.log(`VFS: rootfs mounted; filesystems: ${FILESYSTEMS.map((t) => t.name).join(' ')}`);
}
