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
