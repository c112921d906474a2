/**
 * Booting a machine from a disk (init/main.c start_kernel → rest_init → kernel_init, with
 * init/do_mounts.c's prepare_namespace in do_mounts.ts). The order is Linux's:
 *
 *   setup_arch, trap_init, mm_init, sched_init, init_IRQ/softirq/timers, console_init,
 *   vfs_caches_init (rootfs, filesystem types), signals_init, proc_root_init, rest_init:
 *   pid 1 (kernel_init) and pid 2 (kthreadd); kernel_init then makes the boot kernel
 *   threads, probes the disk (do_basic_setup), opens /dev/console as fds 0-2
 *   (console_on_rootfs), mounts the root and chroots into it (prepare_namespace), and
 *   executes init (run_init_process).
 *
 * The machine ends when reboot(2) (or the host, or a panic) stops it — sys/reboot.ts — or
 * when init exits, which Linux answers with "Attempted to kill init!". Either way the
 * filesystems are synced and unmounted and the disk flushed before startKernel returns.
 */
import type { PhysicalMemory } from '../../machine/memory.js';
import type { Hart } from '../../machine/cpu/hart.js';
import type { Clock } from '../../machine/dev/clock.js';
import type { CharStream } from '../../machine/dev/char-stream.js';
import type { DiskBackend } from '../../machine/dev/disk.js';
import type { NicDevice } from '../../machine/dev/nic.js';
import type { ExitStatus } from './main.js';
import { Kernel } from '../kernel.js';
import { FilesStruct } from '../fs/fdtable.js';
import { filpOpen } from '../fs/open.js';
import { AT_FDCWD, O_RDWR, S_IFCHR } from '../fs/uapi.js';
import { makeDev } from '../fs/super.js';
import { earlyInit, vfsCachesInit } from './init_common.js';
import { addDisk } from '../block/genhd.js';
import { Task, makeCred, newTaskContext } from '../sched/task.js';
import { runLoop, switchTo } from '../sched/core.js';
import { doExecve } from '../exec/exec.js';
import { UTS_RELEASE, UTS_VERSION } from '../sys/sys.js';
import { RLIMIT_NPROC, RLIMIT_SIGPENDING } from '../sys/resource.js';
import { setConsoleLoglevel } from '../printk/printk.js';
import { BOOT_KTHREADS, kthreadCreate, kthreaddStart } from '../kthread/kthread.js';
import { hostPowerRequest, panic, stopMessage, type PowerRequest } from '../sys/reboot.js';
import { newBootState, type StopReason } from './boot_state.js';
import { consoleLoglevel, parseCmdline, type BootCmdline } from './cmdline.js';
import { ttyInit } from '../tty/tty_io.js';
import { consoleInit } from '../tty/serial.js';
import { prepareNamespace, shutdownFilesystems } from './do_mounts.js';
import { machineStats, pauseMachine, resumeMachine, type MachineStats } from '../sys/stats.js';
import { netExit, netInit } from '../net/init.js';
import { ARPHRD_LOOPBACK, type NetDeviceStats } from '../net/core/netdevice.js';

const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
/** A UTF-8 JS string → the kernel's byte-string form (one char per byte). */
const toByteString = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

/** What the host can do to a running machine (the worker's messages land here). */
export interface HostHandle {
  /** The host terminal was resized: TIOCSWINSZ on the console tty (SIGWINCH to its foreground group). */
  resize(rows: number, cols: number): void;
  /** Ctrl-Alt-Del or a stop request (sys/reboot.ts hostPowerRequest). */
  power(req: PowerRequest): void;
  /** Stop running guest code at the next yield point, until resume() (sys/stats.ts). */
  pause(): void;
  resume(): void;
  /** The machine's figures (sys/stats.ts machineStats). */
  stats(): MachineStats;
  /** Counters of every interface but loopback (the server's VmStats.net), in ifindex order. */
  netStats(): Array<{ name: string; stats: NetDeviceStats }>;
}

export interface DiskBootParams {
  mem: PhysicalMemory;
  hart: Hart;
  clock: Clock;
  /** The host's diagnostic channel (strace, kernel messages with `debug` that reached no console). */
  console: (line: string) => void;
  strace?: boolean;
  debug?: boolean;
  nodename?: string;
  /** The disk behind /dev/vda (a DiskImage: base image + copy-on-write overlay). */
  disk: DiskBackend;
  /** The kernel command line: `root=/dev/vda rw console=ttyS0 init=… quiet …`. */
  cmdline: string;
  /** The serial line the console tty (ttyS0, /dev/console) runs on. */
  consoleStream: CharStream;
  /** More argv for init after the command line's (`labvisor run -- CMD ARGS…`: ARGS). */
  initArgs?: string[];
  /** Called once the kernel exists, with what the host may do to it. */
  onHost?: (h: HostHandle) => void;
  /** The machine's network cards: eth0, eth1 … in this order (labnic). */
  nics?: NicDevice[];
}

/** Major/minor of /dev/console (TTYAUX_MAJOR 5, minor 1). */
const CONSOLE_DEV = makeDev(5, 1);

/** start_kernel() for a machine. */
export async function bootMachine(p: DiskBootParams): Promise<ExitStatus> {
  const kernel = new Kernel(p); // the boot parameters carry the KernelConfig fields
  // The command line as the kernel holds it: bytes (one char per byte).
  const cmdline = parseCmdline(toByteString(p.cmdline));
  kernel.boot = newBootState(cmdline, consoleLoglevel(cmdline), true);
  // parse_early_param: console_loglevel from quiet / loglevel= before anything is printed.
  setConsoleLoglevel(kernel, kernel.boot.consoleLoglevel);
  let tty: { resize(rows: number, cols: number): void } | null = null;
  p.onHost?.({
    resize: (rows, cols) => {
      p.consoleStream.rows = rows;
      p.consoleStream.cols = cols;
      tty?.resize(rows, cols);
    },
    power: (req) => hostPowerRequest(kernel, req),
    pause: () => pauseMachine(kernel),
    resume: () => resumeMachine(kernel),
    stats: () => machineStats(kernel),
    netStats: () =>
      [...(kernel.net?.devices.values() ?? [])]
        .filter((d) => d.type !== ARPHRD_LOOPBACK)
        .sort((a, b) => a.ifindex - b.ifindex)
        .map((d) => ({ name: d.name, stats: d.stats })),
  });

  kernel.log(`Linux version ${UTS_RELEASE} (labvisor) ${UTS_VERSION}`);
  // setup_arch: the machine description and RAM.
  kernel.log('Machine model: labvisor,riscv-virtio');
  kernel.log(`Memory: ${(p.mem.size / 1048576) | 0} MiB of RAM at 0x80000000`);
  kernel.log(`Kernel command line: ${cmdline.raw}`);
  if (cmdline.rdinit !== null) kernel.log(`rdinit=${cmdline.rdinit} ignored: this kernel has no initramfs`);

  earlyInit(kernel, p.mem);

  // init_IRQ, softirq_init, init_timers, time_init: interrupts are the run loop's host events here.
  kernel.log('riscv-intc: 64 local interrupts mapped');
  kernel.log('clocksource: riscv_clocksource: mask: 0xffffffffffffffff, timebase 10 MHz (host monotonic clock)');

  // console_init: ttys, then the serial console (ttyS0 becomes /dev/console, printk prints on it).
  ttyInit();
  tty = consoleInit(kernel, p.consoleStream);
  kernel.log('printk: console [ttyS0] enabled');

  // vfs_caches_init → mnt_init → init_rootfs: the in-memory rootfs, and the filesystem types.
  vfsCachesInit(kernel, { clock: p.clock });

  // signals_init, proc_root_init.
  kernel.log('signals: sigqueue cache ready');
  kernel.log('proc: /proc ready (mounted by init)');

  // rest_init → kernel_init.
  const status = await restInit(kernel, p, cmdline);
  return status;
}

/** The pid-1 task before it executes init (kernel_init runs in it). */
function makeInitTask(kernel: Kernel): Task {
  const task = new Task(
    kernel,
    kernel.newMm(),
    new FilesStruct(),
    kernel.rootFs.newFsStruct('/'),
    makeCred(0, 0),
    newTaskContext(),
  );
  task.pid = task.tgid = kernel.allocPid();
  const half = Math.floor(kernel.maxThreads / 2);
  task.signal.rlim[RLIMIT_NPROC] = { cur: half, max: half };
  task.signal.rlim[RLIMIT_SIGPENDING] = { cur: half, max: half };
  task.ppid = 0;
  // init_task's session and process group are 0; init makes its own with setsid().
  task.pgid = 0;
  task.sid = 0;
  task.comm = 'swapper/0';
  task.startTimeNs = kernel.clock.monotonicNs();
  kernel.tasks.set(task.pid, task);
  task.counted = true;
  kernel.nrThreads++;
  kernel.nprocByUid.set(0, (kernel.nprocByUid.get(0) ?? 0) + 1);
  kernel.initTask = task;
  return task;
}

/**
 * console_on_rootfs(): open /dev/console on the rootfs as fd 0 and dup it to 1 and 2.
 * Linux's rootfs has the node from the default initramfs; here it is made first.
 */
function consoleOnRootfs(kernel: Kernel, task: Task): void {
  try {
    kernel.rootFs.mknod('/dev/console', S_IFCHR | 0o600, CONSOLE_DEV);
  } catch {
    // already there
  }
  const f = filpOpen(task, AT_FDCWD, '/dev/console', O_RDWR, 0);
  if (typeof f !== 'number') {
    task.files.install(f, false);
    task.files.install(f.get(), false);
    task.files.install(f.get(), false);
    return;
  }
  // Linux goes on without fds 0-2 (init then has no console).
  kernel.log(`Warning: unable to open an initial console (error ${f}).`);
}

/** The wait status of init's process. */
function initWaitStatus(init: Task): number {
  return init.signal.groupExit ? init.signal.groupExitCode : init.exitCode;
}

/**
 * rest_init(): pid 1 and pid 2, then kernel_init() in pid 1 up to the exec of init, then
 * the scheduler until the machine stops; then the shutdown of filesystems and disk.
 */
async function restInit(kernel: Kernel, p: DiskBootParams, cmdline: BootCmdline): Promise<ExitStatus> {
  const boot = kernel.boot!;
  const task = makeInitTask(kernel);
  const kthreadd = kthreaddStart(kernel, task.fs);
  kernel.log(`rest_init: init pid ${task.pid}, kthreadd pid ${kthreadd.pid}`);
  // kernel_init_freeable → workqueues, smp, do_basic_setup: the kernel threads a machine has.
  for (const k of BOOT_KTHREADS) kthreadCreate(kernel, k.name, k.flags);

  // do_basic_setup → driver init: virtio_blk probes the disk.
  const disk = addDisk(p.disk, 0);
  kernel.disks.push(disk);
  kernel.log(
    `virtio_blk virtio0: [${disk.name}] ${disk.sectors} 512-byte logical blocks (${((disk.sectors * 512) / 1e6).toFixed(1)} MB/${((disk.sectors * 512) / 1048576).toFixed(1)} MiB)`,
  );

  // do_basic_setup → net_dev_init, inet_init, then the NIC drivers probe: lo, eth0 ….
  netInit(kernel, p.nics ?? []);

  switchTo(kernel, task);
  consoleOnRootfs(kernel, task);

  // prepare_namespace(): mount the root on /root of the rootfs, devtmpfs on its /dev, chroot.
  const ns = prepareNamespace(kernel, task, cmdline);
  if (ns < 0) {
    // panic() already called: nothing runs; finish below.
  } else {
    // run_init_process: init= (execute_command), else the usual places.
    const r = runInit(kernel, task, cmdline, p.initArgs ?? []);
    if (r === 0) kernel.runQueue.enqueueNew(task);
  }
  if (!boot.stopping) await runLoop(kernel);

  // The machine is down to its last act: sync, unmount, flush (kernel_shutdown_prepare → device_shutdown).
  let reason: StopReason = boot.stopping ?? 'init-exit';
  const ws = initWaitStatus(kernel.initTask ?? task);
  if (!boot.stopping) {
    // Init itself ended (exit.ts killed the rest): Linux panics here. The host is fine, so the
    // filesystems are still written back (emergency_sync) rather than lost.
    reason = 'init-exit';
    boot.stopping = 'init-exit';
    boot.panicText = `Attempted to kill init! exitcode=0x${(ws >>> 0).toString(16).padStart(8, '0')}`;
    kernel.log(`Kernel panic - not syncing: ${boot.panicText}`);
  }
  // device_shutdown for the network: devices stopped, every protocol timer cancelled.
  if (kernel.net) netExit(kernel.net);
  shutdownFilesystems(kernel);
  for (const d of kernel.disks) {
    try {
      d.bdev.flush();
    } catch (e) {
      kernel.log(`blk_update_request: I/O error, dev ${d.name}, flush: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const msg = stopMessage(reason);
  if (msg) kernel.log(msg);
  const sig = ws & 0x7f;
  const base = { reason, ...(boot.panicText !== null ? { panicText: boot.panicText } : {}) };
  if (reason !== 'init-exit') return { code: null, signal: null, waitStatus: 0, ...base };
  return sig === 0
    ? { code: (ws >> 8) & 0xff, signal: null, waitStatus: ws, ...base }
    : { code: null, signal: sig, waitStatus: ws, ...base };
}

/**
 * kernel_init()'s choice of init: init= must work ("Requested init … failed" panics), else
 * /sbin/init, /etc/init, /bin/init, /bin/sh in turn (try_to_run_init_process), else panic.
 * Returns 0 once init is executing.
 */
function runInit(kernel: Kernel, task: Task, cmdline: BootCmdline, extraArgs: string[]): number {
  const args = [...cmdline.initArgs, ...extraArgs.map(toByteString)];
  const envp = cmdline.initEnv.map(latin1);
  const tryRun = (filename: string): number => {
    const argv = [filename, ...args].map(latin1);
    const r = doExecve(task, filename, argv, envp);
    if (r === 0) {
      kernel.log(`Run ${filename} as init process`);
      kernel.log(`  with arguments:\n${[filename, ...args].map((a) => `    ${a}`).join('\n')}`);
      kernel.log(`  with environment:\n${cmdline.initEnv.map((e) => `    ${e}`).join('\n')}`);
    }
    return r;
  };
  if (cmdline.init !== null) {
    const r = tryRun(cmdline.init);
    if (r === 0) return 0;
    panic(kernel, `Requested init ${cmdline.init} failed (error ${r}).`);
    return r;
  }
  for (const f of ['/sbin/init', '/etc/init', '/bin/init', '/bin/sh']) {
    const r = tryRun(f);
    if (r === 0) return 0;
    if (r !== -2) kernel.log(`Starting init: ${f} exists but couldn't execute it (error ${r})`);
  }
  panic(
    kernel,
    'No working init found.  Try passing init= option to kernel. See Linux Documentation/admin-guide/init.rst for guidance.',
  );
  return -2;
}
