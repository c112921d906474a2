/**
 * start_kernel (init/main.c) for one machine, in Linux's order as far as the pieces exist:
 * trap_init (the system-call table), mm_init (the buddy allocator over all of RAM),
 * sched_init, vfs_caches_init (the root filesystem), time_init, then rest_init, which makes
 * the first task and executes the first program in it. Resolves when the last task is gone.
 *
 * Two ways to boot:
 *  - `labvisor exec` (BootParams): one program in an in-memory root, as qemu-user runs it;
 *  - a machine (DiskBootParams, `p.disk` set): the root is ext4 on /dev/vda, pid 1 is
 *    /sbin/init on /dev/console, kernel threads exist, and the machine ends by reboot(2),
 *    a panic, or init's exit (boot.ts).
 */
import type { PhysicalMemory } from '../../machine/memory.js';
import type { Hart } from '../../machine/cpu/hart.js';
import type { Clock } from '../../machine/dev/clock.js';
import type { CharStream } from '../../machine/dev/char-stream.js';
import { Kernel } from '../kernel.js';
import { earlyInit, vfsCachesInit } from './init_common.js';
import { Task, makeCred, newTaskContext } from '../sched/task.js';
import { runLoop, switchTo } from '../sched/core.js';
import { doExecve } from '../exec/exec.js';
import { UTS_RELEASE, UTS_VERSION } from '../sys/sys.js';
import { RLIMIT_NPROC, RLIMIT_SIGPENDING } from '../sys/resource.js';
import type { StopReason } from './boot_state.js';
import { newBootState } from './boot_state.js';
import { CONSOLE_LOGLEVEL_DEFAULT, parseCmdline } from './cmdline.js';
import { bootMachine, type DiskBootParams } from './boot.js';
import { netExit, netInit } from '../net/init.js';

export type { DiskBootParams, HostHandle } from './boot.js';

/** A file placed into the in-memory root before the first program runs. */
export interface BootFile {
  /** Absolute guest path (UTF-8). */
  path: string;
  data: Uint8Array;
  mode: number;
}

export interface BootParams {
  mem: PhysicalMemory;
  hart: Hart;
  clock: Clock;
  /** The host's diagnostic channel (strace, kernel messages with `debug`). */
  console: (line: string) => void;
  strace?: boolean;
  debug?: boolean;
  /** fds 0, 1, 2 of the first task. */
  stdio: [CharStream, CharStream, CharStream];
  /** qemu's -L: a host directory visible read-only under `/` where the in-memory root has no entry. */
  hostLibDir?: string;
  files: BootFile[];
  /** Directories to create (empty) in the root; the first task's cwd must be among them or exist. */
  dirs: string[];
  cwd: string;
  /** The first program: the path as execve gets it, argv and envp as bytes. */
  init: { filename: string; argv: Uint8Array[]; envp: Uint8Array[]; exePath?: string };
  uid: number;
  gid: number;
  nodename?: string;
}

/** How the machine ended: the first task's wait status, decoded. */
export interface ExitStatus {
  /** exit() status when it exited normally, else null. */
  code: number | null;
  /** The terminating signal, else null. */
  signal: number | null;
  /** Raw wait status (Linux encoding). */
  waitStatus: number;
  /** Set when the first program could not be executed at all (-errno from execve). */
  execError?: number;
  /** How a booted machine stopped (DiskBootParams); `init-exit` for `labvisor exec`'s program. */
  reason?: StopReason;
  /** The panic message when reason is 'panic'. */
  panicText?: string;
}

/** A UTF-8 JS string → the kernel's byte-string form (one char per byte). */
export function toByteString(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

export async function startKernel(p: BootParams | DiskBootParams): Promise<ExitStatus> {
  if ('disk' in p && p.disk) return bootMachine(p);
  return startKernelExec(p as BootParams);
}

async function startKernelExec(p: BootParams): Promise<ExitStatus> {
  const kernel = new Kernel(p); // the boot parameters carry the KernelConfig fields
  kernel.boot = newBootState(parseCmdline(''), CONSOLE_LOGLEVEL_DEFAULT, false);
  kernel.log(`Linux version ${UTS_RELEASE} (labvisor) ${UTS_VERSION}`);

  earlyInit(kernel, p.mem);

  // vfs_caches_init → mnt_init → init_rootfs: the in-memory root.
  vfsCachesInit(kernel, { clock: p.clock, hostLibDir: p.hostLibDir });
  for (const d of p.dirs) kernel.rootFs.mkdirp(d);
  for (const f of p.files) kernel.rootFs.addFile(f.path, f.data, f.mode);
  kernel.log(`VFS: in-memory root mounted${p.hostLibDir ? `, ${p.hostLibDir} visible read-only` : ''}`);

  // time_init.
  kernel.log('clocksource: host monotonic clock, timebase 10 MHz');

  // net_dev_init + inet_init: init_net with only `lo` (a program run this way has no NIC).
  netInit(kernel, []);

  // rest_init → kernel_init → run_init_process: the first task executes the program.
  const task = new Task(
    kernel,
    kernel.newMm(),
    kernel.rootFs.newFilesStruct(p.stdio),
    kernel.rootFs.newFsStruct(toByteString(p.cwd)),
    makeCred(p.uid, p.gid),
    newTaskContext(),
  );
  task.pid = task.tgid = kernel.allocPid();
  kernel.initTask = task;
  // init_task's RLIMIT_NPROC/SIGPENDING: max_threads / 2 (fork_init).
  const half = Math.floor(kernel.maxThreads / 2);
  task.signal.rlim[RLIMIT_NPROC] = { cur: half, max: half };
  task.signal.rlim[RLIMIT_SIGPENDING] = { cur: half, max: half };
  task.ppid = 0;
  // The first process leads its own session and process group (and so owns the terminal's
  // foreground group), as a program started by a shell leads its job's group.
  task.pgid = task.sid = task.pid;
  task.comm = 'init';
  task.startTimeNs = p.clock.monotonicNs();
  kernel.tasks.set(task.pid, task);
  task.counted = true;
  kernel.nrThreads++;
  kernel.nprocByUid.set(task.cred.uid, 1);
  switchTo(kernel, task);
  const r = doExecve(task, toByteString(p.init.filename), p.init.argv, p.init.envp, {
    exePath: p.init.exePath !== undefined ? toByteString(p.init.exePath) : undefined,
  });
  if (r < 0) {
    kernel.log(`Failed to execute ${p.init.filename} (error ${r})`);
    task.mm.destroy();
    task.files.closeAll();
    if (kernel.net) netExit(kernel.net);
    return { code: null, signal: null, waitStatus: 0, execError: -r };
  }
  kernel.log(`Run ${p.init.filename} as init process`);
  kernel.runQueue.enqueueNew(task);
  await runLoop(kernel);
  // The machine is done: the stack's timers and devices go with it.
  if (kernel.net) netExit(kernel.net);
  // The first process's status (an exec'ing thread may have taken over its pid: initTask follows).
  // reboot(2) by a root program ends the machine: status 0, as for a machine that powered off.
  const stopped = kernel.boot?.stopping;
  if (stopped && stopped !== 'init-exit') return { code: 0, signal: null, waitStatus: 0, reason: stopped };
  const init = kernel.initTask ?? task;
  const ws = init.signal.groupExit ? init.signal.groupExitCode : init.exitCode;
  const sig = ws & 0x7f;
  return sig === 0
    ? { code: (ws >> 8) & 0xff, signal: null, waitStatus: ws }
    : { code: null, signal: sig, waitStatus: ws };
}
