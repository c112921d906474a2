/**
 * vfs_caches_init → mnt_init → init_rootfs (fs/namespace.c, init/do_mounts.c): the in-memory
 * rootfs every boot starts from, /proc's view of the task table, and the filesystem types
 * mount(2) knows — the same for a disk boot and for `labvisor exec`.
 */
import type { Kernel } from '../kernel.js';
import type { TimeSource } from '../fs/super.js';
import { createRootFs } from '../fs/rootfs.js';
import { registerFilesystem } from '../fs/filesystems.js';
import { TaskState } from '../sched/task.js';
import { bootPieces } from './pieces.js';

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
  const types = bootPieces().fsTypes;
  for (const t of types) registerFilesystem(t);
  kernel.log(`VFS: rootfs mounted; filesystems: ${types.map((t) => t.name).join(' ')}`);
}
