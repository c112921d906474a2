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
import type { SyscallHandler } from './syscall/types.js';
import { Task, TaskState } from './sched/task.js';
import { RunQueue } from './sched/runqueue.js';

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

/** printk's ring buffer (kernel/printk/printk.c: log_buf), read later by dmesg / syslog(2). */
export class LogBuffer {
  private lines: string[] = [];
  private bytes = 0;

  constructor(private readonly capacity = 128 * 1024) {}

  push(line: string): void {
    this.lines.push(line);
    this.bytes += line.length + 1;
    while (this.bytes > this.capacity && this.lines.length > 1) this.bytes -= this.lines.shift()!.length + 1;
  }

  text(): string {
    return this.lines.map((l) => l + '\n').join('');
  }
}

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
  readonly dmesg = new LogBuffer();
  private readonly warned = new Set<string>();
  /** performance.now() when the current task's slice began (0 when none is running): CPU-time clocks. */
  sliceStartMs = 0;
  private lastPid = 0;

  constructor(cfg: KernelConfig) {
    this.mem = cfg.mem;
    this.hart = cfg.hart;
    this.clock = cfg.clock;
    this.strace = cfg.strace ?? false;
    this.debug = cfg.debug ?? false;
    this.console = cfg.console;
    this.nodename = cfg.nodename ?? 'labvisor';
  }

  /** printk: into the ring buffer with a [seconds.micros] stamp; echoed to the console with --debug or --strace. */
  log(msg: string): void {
    const t = this.clock.monotonicNs() / 1e9;
    const stamp = `[${t.toFixed(6).padStart(12)}] `;
    for (const l of msg.split('\n')) {
      this.dmesg.push(stamp + l);
      if (this.debug || this.strace) this.console(stamp + l);
    }
  }

  /**
   * A kernel problem the user must see (a bug, or a feature the guest needs that is missing):
   * logged, and printed once per distinct message on the host's stderr.
   */
  warn(msg: string): void {
    this.log(msg);
    if (this.debug || this.strace || this.warned.has(msg)) return;
    this.warned.add(msg);
    this.console(`labvisor: ${msg}`);
  }

  /** alloc_pid: the next free pid, counting up. */
  allocPid(): number {
    for (;;) {
      this.lastPid = this.lastPid >= 4194304 ? 1 : this.lastPid + 1;
      if (!this.tasks.has(this.lastPid)) return this.lastPid;
    }
  }

  findTask(pid: number): Task | null {
    const t = this.tasks.get(pid);
    return t && t.state !== TaskState.DEAD ? t : null;
  }

  /** The live threads of a thread group. */
  threadGroup(tgid: number): Task[] {
    const out: Task[] = [];
    for (const t of this.tasks.values()) {
      if (t.tgid === tgid && t.state !== TaskState.ZOMBIE && t.state !== TaskState.DEAD) out.push(t);
    }
    return out;
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
