/**
 * The kernel object: everything one machine's kernel owns. There is one per worker; the
 * subsystems hang off it the way Linux's globals do (mem_map/zones, init_task, the pid table,
 * the root mount, the log buffer). `startKernel` (init/main.ts) builds and boots it.
 */
import type { PhysicalMemory } from '../machine/memory.js';
import type { Hart } from '../machine/cpu/hart.js';
import type { Clock } from '../machine/dev/clock.js';
import type { BuddyAllocator } from './mm/page_alloc.js';
import { MmStruct } from './mm/mm_struct.js';
import type { RootFs } from './fs/rootfs.js';
import type { GenDisk } from './block/genhd.js';
import type { SyscallHandler } from './syscall/types.js';
import type { BootState } from './init/boot_state.js';
import type { NetNs } from './net/netns.js';
import { Task, TaskState } from './sched/task.js';
import { RunQueue } from './sched/runqueue.js';
import { KERN_INFO, KERN_WARNING, printk } from './printk/printk.js';

export interface KernelConfig {
  mem: PhysicalMemory;
  hart: Hart;
  clock: Clock;
  /** Print each system call like `qemu -strace` (and unknown ones once each). */
  strace?: boolean;
  /** Also print kernel messages (printk) as they are logged. */
  debug?: boolean;
  /**
   * The host's diagnostic channel (the CLI's stderr): strace lines, and kernel messages when
   * `debug` is on. Never the guest's own stdout/stderr.
   */
  console: (line: string) => void;
  /** utsname nodename (hostname). */
  nodename?: string;
}

/** PID_MAX_DEFAULT (CONFIG_BASE_SMALL=0): 32768. */
export const PID_MAX_DEFAULT = 32768;
/** RESERVED_PIDS: after pid_max wraps, allocation resumes here. */
export const RESERVED_PIDS = 300;
/** THREAD_SIZE on riscv64 (16 KiB kernel stacks) and MIN_THREADS of kernel/fork.c. */
const THREAD_SIZE = 16384;
const MIN_THREADS = 20;
const FUTEX_TID_MASK = 0x3fffffff;

export class Kernel {
  readonly mem: PhysicalMemory;
  readonly hart: Hart;
  readonly clock: Clock;
  pageAlloc!: BuddyAllocator;
  rootFs!: RootFs;
  readonly strace: boolean;
  readonly debug: boolean;
  readonly console: (line: string) => void;
  nodename: string;
  domainname = '(none)';

  /** All tasks by pid (the pid hash), zombies included until reaped. */
  readonly tasks = new Map<number, Task>();
  readonly runQueue = new RunQueue();
  /** The task whose registers are in the hart (its context is stale while it is current). */
  current: Task | null = null;
  /** The system-call table, indexed by number (syscall/table.ts). */
  syscalls: (SyscallHandler | undefined)[] = [];
  /** Unknown system-call numbers already reported. */
  readonly reportedUnknown = new Set<number>();
  private readonly warned = new Set<string>();
  /** performance.now() when the current task's slice began (0 when none is running): CPU-time clocks. */
  sliceStartMs = 0;
  /**
   * CPU time charged to tasks since boot, exited ones included (the run loop adds every slice):
   * the machine's busy time for the host's stats (sys/stats.ts).
   */
  cpuNsTotal = 0;
  /**
   * Set while the host has paused the machine (sys/stats.ts pauseMachine): the run loop waits
   * for it at its next yield point, so no guest code runs until it resolves.
   */
  pauseGate: Promise<void> | null = null;
  private lastPid = 0;

  /** The pid allocated last (pid_namespace->last_pid), shown in /proc/loadavg. */
  get lastAllocatedPid(): number {
    return this.lastPid;
  }
  /** /proc/sys/kernel/pid_max. */
  pidMax = PID_MAX_DEFAULT;
  /** nr_threads: tasks created and not yet released (zombies count, as in Linux). */
  nrThreads = 0;
  /** max_threads (/proc/sys/kernel/threads-max), set from RAM by setMaxThreads() at boot. */
  maxThreads = 20;
  /** Live processes per real uid (the ucounts UCOUNT_RLIMIT_NPROC counter that RLIMIT_NPROC checks). */
  readonly nprocByUid = new Map<number, number>();
  /** Block disks (vda, ...) registered by the boot code (block/genhd.ts), for mounts and /proc/diskstats. */
  disks: GenDisk[] = [];
  /** The network namespace of every task (init_net), set by net/init.ts netInit at boot. */
  net: NetNs | null = null;
  /** The first task (the pid namespace's child_reaper); when its process ends the machine ends. */
  initTask: Task | null = null;
  /** Set while the machine's processes are being killed after init's exit. */
  zapping = false;
  /** Boot state (init/boot_state.ts): the command line (/proc/cmdline), console loglevel, C_A_D, reboot in progress. Set by start_kernel. */
  boot: BootState | null = null;
  /**
   * A child's job-control state changed (the signal subsystem calls this after a group stop
   * or continue): its parent's wait4/waitid re-check. Set by start_kernel to exit.ts wakeParent.
   */
  onChildStateChange: ((child: Task) => void) | undefined = undefined;
  /**
   * futex_wake hook for CLONE_CHILD_CLEARTID at thread exit: set by the futex subsystem
   * (src/kernel/futex/) when it loads, so the scheduler does not depend on it at build time.
   */
  futexWake: ((task: Task, uaddr: number, nr: number) => number) | null = null;
  /** exit_robust_list hook, set by the futex subsystem. */
  exitRobustList: ((task: Task) => void) | null = null;
  /**
   * Job-control state of a child for wait4/waitid (WUNTRACED, WCONTINUED), provided by the
   * signal subsystem: the stop signal to report (0 if none; cleared when `consume`), and
   * whether a SIGCONT is to be reported (cleared when `consume`).
   */
  /**
   * Write bytes to the machine console (the serial console's uart_console_write, "\n" → "\r\n"),
   * set by tty/serial.ts consoleInit; printk prints through it when set.
   */
  consoleWrite: ((bytes: Uint8Array) => void) | null = null;
  jobControl: {
    takeStopped(child: Task, consume: boolean): number;
    takeContinued(child: Task, consume: boolean): boolean;
  } | null = null;

  constructor(cfg: KernelConfig) {
    this.mem = cfg.mem;
    this.hart = cfg.hart;
    this.clock = cfg.clock;
    this.strace = cfg.strace ?? false;
    this.debug = cfg.debug ?? false;
    this.console = cfg.console;
    this.nodename = cfg.nodename ?? 'labvisor';
  }

  /** printk(KERN_INFO): into the log buffer (printk/printk.ts); echoed to the host console with --debug or --strace. */
  log(msg: string): void {
    printk(this, KERN_INFO, msg);
  }

  /**
   * A kernel problem the user must see (a bug, or a feature the guest needs that is missing):
   * logged, and printed once per distinct message on the host's stderr.
   */
  warn(msg: string): void {
    printk(this, KERN_WARNING, msg);
    if (this.debug || this.strace || this.warned.has(msg)) return;
    this.warned.add(msg);
    this.console(`labvisor: ${msg}`);
  }

  /**
   * alloc_pid: the next free pid, counting up cyclically to pid_max; after wrapping, the
   * search restarts at RESERVED_PIDS (300) as idr_alloc_cyclic(…, RESERVED_PIDS, pid_max)
   * does. A pid is busy while a task has it or a process group or session is named by it
   * (a struct pid is alive while anything refers to it). Returns -EAGAIN when all are busy.
   */
  allocPid(): number {
    let busy: Set<number> | null = null;
    for (let tries = 0; tries < this.pidMax; tries++) {
      let p = this.lastPid + 1;
      if (p >= this.pidMax) p = this.lastPid === 0 ? 1 : RESERVED_PIDS;
      this.lastPid = p;
      if (this.tasks.has(p)) continue;
      if (!busy) {
        busy = new Set<number>();
        for (const t of this.tasks.values()) {
          busy.add(t.pgid);
          busy.add(t.sid);
        }
      }
      if (!busy.has(p)) return p;
    }
    return -11; // -EAGAIN
  }

  /** set_max_threads(): max_threads = totalram_pages / (8 * THREAD_SIZE / PAGE_SIZE), at least 20. */
  setMaxThreads(totalRamBytes: number): void {
    const pages = Math.floor(totalRamBytes / 4096);
    this.maxThreads = Math.max(MIN_THREADS, Math.min(FUTEX_TID_MASK, Math.floor(pages / ((8 * THREAD_SIZE) / 4096))));
  }

  findTask(pid: number): Task | null {
    const t = this.tasks.get(pid);
    return t && t.state !== TaskState.DEAD ? t : null;
  }

  /** The live threads of a thread group. */
  threadGroup(tgid: number): Task[] {
    const leader = this.tasks.get(tgid);
    if (!leader || leader.tgid !== tgid) return [];
    const out: Task[] = [];
    for (const t of leader.threads) {
      if (t.state !== TaskState.ZOMBIE && t.state !== TaskState.DEAD) out.push(t);
    }
    return out;
  }

  /** dup_mm for fork: a copy-on-write copy of `old` whose TLB flushes reach the hart while it is loaded. */
  dupMm(old: MmStruct): MmStruct | number {
    let child: MmStruct | null = null;
    const r = old.dup({
      mem: this.mem,
      pageAlloc: this.pageAlloc,
      flushTlb: (va?: number) => {
        if (child === null || this.current?.mm !== child) return;
        if (va === undefined) this.hart.flushTlb();
        else this.hart.flushTlbPage(va);
      },
    });
    if (typeof r === 'number') return r;
    child = r;
    return r;
  }

  /** mm_alloc: a fresh, empty address space whose TLB flushes reach the hart when it is loaded. */
  newMm(): MmStruct {
    const mm: MmStruct = new MmStruct({
      mem: this.mem,
      pageAlloc: this.pageAlloc,
      flushTlb: (va?: number) => {
        if (this.current?.mm !== mm) return;
        if (va === undefined) this.hart.flushTlb();
        else this.hart.flushTlbPage(va);
      },
    });
    return mm;
  }

  /** Is any task still alive (running or sleeping)? When none is, the machine is done. */
  hasLiveTasks(): boolean {
    for (const t of this.tasks.values()) {
      if (t.state === TaskState.RUNNING || t.state === TaskState.INTERRUPTIBLE) return true;
    }
    return false;
  }

  /** Whether a task other than `except` still uses this address space (CLONE_VM threads). */
  mmInUse(mm: MmStruct, except: Task): boolean {
    for (const t of this.tasks.values()) {
      if (t !== except && t.mm === mm && t.state !== TaskState.ZOMBIE && t.state !== TaskState.DEAD) return true;
    }
    return false;
  }
}
