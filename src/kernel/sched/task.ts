import type { Kernel } from '../kernel.js';
import type { MmStruct } from '../mm/mm_struct.js';
import type { FilesStruct } from '../fs/fdtable.js';
import type { FsStruct } from '../fs/fs_struct.js';
import { SigHand, SignalStruct } from '../signal/sighand.js';
import type { Sleeper } from './wait.js';
import { WaitQueue } from './wait.js';
import type { RbNode } from '../lib/rbtree.js';
import { NICE_0_LOAD, SCHED_NORMAL } from './prio.js';

/** Credentials (struct cred): real, effective, saved and filesystem ids. */
export interface Cred {
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  suid: number;
  sgid: number;
  fsuid: number;
  fsgid: number;
  groups: number[];
}

/** Credentials of a user with the given ids and no supplementary groups. */
export function makeCred(uid: number, gid: number): Cred {
  return { uid, gid, euid: uid, egid: gid, suid: uid, sgid: gid, fsuid: uid, fsgid: gid, groups: [] };
}

/** User-mode register state saved while a task is not on the hart (struct pt_regs + FP state). */
export interface TaskContext {
  /** x0..x31 as lo/hi int32 pairs, the layout of Hart.x (x[2i] = low half, x[2i+1] = high half). */
  x: Int32Array;
  /** f0..f31 raw bits. */
  f: Float64Array;
  pc: number;
  fflags: number;
  frm: number;
}

export function newTaskContext(): TaskContext {
  return { x: new Int32Array(66), f: new Float64Array(32), pc: 0, fflags: 0, frm: 0 };
}

/** Set register i of a saved context from a signed or unsigned double (as Hart.setReg does). */
export function setContextReg(ctx: TaskContext, i: number, v: number): void {
  if (i === 0) return;
  const lo = v % 0x1_0000_0000;
  ctx.x[2 * i] = lo | 0;
  ctx.x[2 * i + 1] = Math.floor(v / 0x1_0000_0000) | 0;
}

/** Task states (TASK_RUNNING etc. in include/linux/sched.h). */
export const enum TaskState {
  /** On the run queue or on the hart. */
  RUNNING = 0,
  /** Sleeping in a system call that returned a Promise (TASK_INTERRUPTIBLE). */
  INTERRUPTIBLE = 1,
  /** Exited, waiting to be reaped by its parent (EXIT_ZOMBIE). */
  ZOMBIE = 16,
  /** Gone (EXIT_DEAD). */
  DEAD = 32,
}

/** Alternate signal stack (struct sigaltstack as kept in task_struct: sas_ss_sp/size/flags). */
export interface AltStack {
  sp: number;
  size: number;
  flags: number;
}

/** prctl(2) state that has no other home yet. */
export interface PrctlState {
  pdeathsig: number;
  dumpable: number;
  noNewPrivs: number;
  keepCaps: number;
  childSubreaper: number;
  timerSlackNs: number;
}

/**
 * A task (task_struct): one guest thread. Owned by kernel/sched; other subsystems read the
 * fields they need (fs: files, fs, cred; mm: mm; proc: everything).
 */
/** task->flags: a kernel thread (include/linux/sched.h PF_KTHREAD). */
export const PF_KTHREAD = 0x00200000;

export class Task implements RbNode {
  /** task->flags (PF_*): PF_KTHREAD for kernel threads (kthread/kthread.ts), 0 for user tasks. */
  flags = 0;
  pid = 0;
  tgid = 0;
  ppid = 0;
  /** Process group and session (Linux keeps them as struct pid links in signal_struct). */
  pgid = 0;
  sid = 0;
  /** real_parent (null for the first task): the thread that forked it, or the reaper it was reparented to. */
  parent: Task | null = null;
  /** Processes this thread forked (or had reparented to it): thread group leaders only (p->children). */
  readonly children = new Set<Task>();
  /** The thread group leader (group_leader); itself for a process's first thread. */
  groupLeader: Task = this;
  /** On the leader: every thread of the group, the leader first, until each is released (signal->thread_head). */
  threads: Task[] = [this];
  /** exit_signal: what the parent gets when this process dies (SIGCHLD; 0 or another signal from clone; -1 for threads). */
  exitSignal = 17;
  /** wait_chldexit: this thread's wait4/waitid sleep here until a child changes state. */
  readonly waitChldexit = new WaitQueue();
  /** vfork_done: the vfork parent sleeps here until this child execs or exits. */
  vforkDone: WaitQueue | null = null;
  /** Wait status was delivered to the parent (or will never be: auto-reaped); used by the zombie leader of threads. */
  exitNotified = false;
  /** Counted in kernel.nrThreads until released (release_task). */
  counted = false;

  /* Scheduling (the sched_entity / sched_rt_entity parts of task_struct). */
  /** SCHED_NORMAL, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE. */
  policy = SCHED_NORMAL;
  /** nice -20..19 (static_prio = 120 + nice). */
  nice = 0;
  /** rt_priority 1..99 for SCHED_FIFO/RR, 0 otherwise. */
  rtPriority = 0;
  /** SCHED_RESET_ON_FORK. */
  resetOnFork = false;
  /** se.load.weight. */
  weight = NICE_0_LOAD;
  /** se.vruntime (ns of weighted CPU time). */
  vruntime = 0;
  /** se.exec_start: CLOCK_MONOTONIC ns when the task last went onto the CPU. */
  execStartNs = 0;
  /** se.sum_exec_runtime and its value when the task was last picked (prev_sum_exec_runtime), ns. */
  sumExecNs = 0;
  prevSumExecNs = 0;
  /** SCHED_RR time left in the current slice, ns. */
  rrTimeSliceNs = 0;
  /** on_rq: queued in a scheduling class (the running task is not: it is rq.curr). */
  onRq = false;
  /** Context switches (nvcsw: gave up the CPU by sleeping; nivcsw: preempted). */
  nvcsw = 0;
  nivcsw = 0;
  /** Links of the CFS timeline (struct rb_node run_node). */
  rbParent: RbNode | null = null;
  rbLeft: RbNode | null = null;
  rbRight: RbNode | null = null;
  rbRed = false;
  /** Links of an RT priority list (struct list_head run_list). */
  rtNext: Task | null = null;
  rtPrev: Task | null = null;

  /** Executable name, at most 15 bytes (TASK_COMM_LEN 16). */
  comm = '';
  /** Absolute guest path of the executable: the target of /proc/self/exe. */
  exePath = '';

  state: TaskState = TaskState.RUNNING;
  /** TIF_NEED_RESCHED: give up the hart at the next return to user mode (sched_yield, tick). */
  needResched = false;
  /** Wait status once a ZOMBIE: (code & 0xff) << 8 for exit(), the signal number (| 0x80 for core) when killed. */
  exitCode = 0;

  /** Signal dispositions (shared by threads: CLONE_SIGHAND) and process-wide signal state. */
  sighand = new SigHand();
  signal = new SignalStruct();
  /** Blocked and thread-pending signals (task->blocked, task->pending), bit sig-1. */
  blocked = 0n;
  pending = 0n;
  sas: AltStack = { sp: 0, size: 0, flags: 0 };
  /** si_code and si_addr of the last synchronous fault signal (for the siginfo of a future handler). */
  lastFault: { code: number; addr: number } | null = null;

  /** a0 at system-call entry (pt_regs.orig_a0), for restarting an interrupted call. */
  origA0 = 0;

  /** The interruptible sleep this task is in, if any (see sched/wait.ts); a signal ends it. */
  sleeper: Sleeper | null = null;

  /** set_tid_address / CLONE_CHILD_CLEARTID: cleared and futex-woken at exit. */
  clearChildTid = 0;
  /** set_robust_list: head of the robust futex list and its length. */
  robustList = 0;
  robustListLen = 0;

  prctl: PrctlState = {
    pdeathsig: 0,
    dumpable: 1,
    noNewPrivs: 0,
    keepCaps: 0,
    childSubreaper: 0,
    timerSlackNs: 50_000,
  };

  /** Host nanoseconds this thread spent on the hart (its user time; the kernel's own time is not guest-visible). */
  cpuNs = 0;
  /** CLOCK_MONOTONIC at creation (start_time). */
  startTimeNs = 0;

  constructor(
    readonly kernel: Kernel,
    public mm: MmStruct,
    public files: FilesStruct,
    public fs: FsStruct,
    public cred: Cred,
    public context: TaskContext,
  ) {}

  /** CPU time of the live threads of this task's group (exited threads are in signal.cpuNs). */
  threadGroupCpuNs(): number {
    let ns = 0;
    for (const t of this.groupLeader.threads) {
      if (t.state !== TaskState.ZOMBIE && t.state !== TaskState.DEAD) ns += t.cpuNs;
    }
    return ns;
  }

  /** Is this task alive (running or asleep)? */
  get alive(): boolean {
    return this.state === TaskState.RUNNING || this.state === TaskState.INTERRUPTIBLE;
  }
}
