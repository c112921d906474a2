/**
 * Kernel threads (kernel/kthread.c): kthreadd, pid 2, the parent of every kernel thread, and
 * the threads it starts (kworker/0:0, ksoftirqd/0, kswapd0, ...). In this kernel their work
 * is done elsewhere (the run loop, timers, the page allocator), so they exist as what user
 * space sees of them: tasks with PF_KTHREAD set, no user address space, all signals
 * ignored (ignore_signals in kthreadd), asleep (state S) and never scheduled into user mode.
 * /proc lists them, and ps shows them as `[kthreadd]` because their cmdline is empty.
 */
import type { Kernel } from '../kernel.js';
import type { FsStruct } from '../fs/fs_struct.js';
import type { MmStruct } from '../mm/mm_struct.js';
import { PF_KTHREAD, Task, TaskState, makeCred, newTaskContext } from '../sched/task.js';
import { FilesStruct } from '../fs/fdtable.js';
import { NSIG, SIG_IGN } from '../signal/signum.js';

/** task->flags bits (include/linux/sched.h) that /proc/PID/stat shows for kernel threads. */
export { PF_KTHREAD };
export const PF_NOFREEZE = 0x00008000;
export const PF_WQ_WORKER = 0x00000020;
export const PF_MEMALLOC = 0x00000800;
export const PF_IDLE = 0x00000002;

/**
 * A kernel thread: a Task whose `flags` carry PF_KTHREAD (the signal code tests the flag; proc
 * code can use `isKthread(t)`). Its mm is the kernel's empty init_mm
 * (Linux's kthreads have mm == NULL): no VMAs, so VSZ/RSS read 0 and the cmdline is empty.
 */
export class KernelThread extends Task {
  constructor(kernel: Kernel, mm: MmStruct, fs: FsStruct, name: string, flags: number) {
    super(kernel, mm, new FilesStruct(), fs, makeCred(0, 0), newTaskContext());
    this.flags = PF_KTHREAD | flags;
    this.comm = name;
    // ignore_signals(): every handler SIG_IGN, so kill(-1, SIGTERM) at shutdown passes them by.
    for (let s = 1; s <= NSIG; s++) this.sighand.action[s]!.handler = SIG_IGN;
  }
}

/** Is `t` a kernel thread (PF_KTHREAD)? */
export function isKthread(t: Task): boolean {
  return (t.flags & PF_KTHREAD) !== 0;
}

/** task->flags as /proc/PID/stat field 9 shows it. */
export function taskFlags(t: Task): number {
  return t.flags;
}

/** Per-kernel kthread state: kthreadd and the shared empty address space. */
interface KthreadState {
  kthreadd: KernelThread;
  initMm: MmStruct;
}
const states = new WeakMap<Kernel, KthreadState>();

/** Install a kernel thread in the pid table, asleep and never queued (it has no user code to run). */
function attach(kernel: Kernel, t: KernelThread, parent: KernelThread | null): number {
  const pid = kernel.allocPid();
  if (pid < 0) return pid;
  t.pid = t.tgid = pid;
  t.parent = parent;
  t.ppid = parent ? parent.tgid : 0;
  // Kernel threads belong to session 0, process group 0.
  t.pgid = 0;
  t.sid = 0;
  t.state = TaskState.INTERRUPTIBLE;
  t.startTimeNs = kernel.clock.monotonicNs();
  t.counted = true;
  kernel.nrThreads++;
  kernel.nprocByUid.set(0, (kernel.nprocByUid.get(0) ?? 0) + 1);
  kernel.tasks.set(pid, t);
  parent?.children.add(t);
  return pid;
}

/**
 * rest_init's kernel_thread(kthreadd, …): pid 2 (called right after pid 1 is made).
 * `fs` is init's fs_struct, shared (CLONE_FS) so kernel threads see the root init sees.
 */
export function kthreaddStart(kernel: Kernel, fs: FsStruct): KernelThread {
  const initMm = kernel.newMm();
  const t = new KernelThread(kernel, initMm, fs, 'kthreadd', PF_NOFREEZE);
  const r = attach(kernel, t, null);
  if (r < 0) throw new Error(`kthreadd: no pid (${r})`);
  states.set(kernel, { kthreadd: t, initMm });
  return t;
}

/**
 * kthread_create(): a kernel thread made by kthreadd (ppid 2). Returns the task or -errno.
 */
export function kthreadCreate(kernel: Kernel, name: string, flags = 0): KernelThread | number {
  const st = states.get(kernel);
  if (!st) throw new Error('kthread_create before kthreadd');
  const t = new KernelThread(kernel, st.initMm, st.kthreadd.fs, name, flags);
  const r = attach(kernel, t, st.kthreadd);
  return r < 0 ? r : t;
}

/**
 * The kernel threads a small single-CPU Linux machine shows in ps after boot, in creation
 * order: workqueue rescuers and workers, the RCU and per-CPU threads, kswapd, and so on.
 */
export const BOOT_KTHREADS: ReadonlyArray<{ name: string; flags: number }> = [
  { name: 'pool_workqueue_release', flags: 0 },
  { name: 'kworker/R-rcu_g', flags: PF_WQ_WORKER },
  { name: 'kworker/0:0', flags: PF_WQ_WORKER },
  { name: 'kworker/0:0H', flags: PF_WQ_WORKER },
  { name: 'kworker/u4:0', flags: PF_WQ_WORKER },
  { name: 'ksoftirqd/0', flags: 0 },
  { name: 'rcu_sched', flags: 0 },
  { name: 'migration/0', flags: 0 },
  { name: 'cpuhp/0', flags: 0 },
  { name: 'kdevtmpfs', flags: 0 },
  { name: 'khungtaskd', flags: 0 },
  { name: 'oom_reaper', flags: 0 },
  { name: 'kblockd', flags: PF_WQ_WORKER },
  { name: 'kswapd0', flags: PF_MEMALLOC },
  { name: 'kworker/0:1', flags: PF_WQ_WORKER },
];
