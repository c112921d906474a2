/**
 * Signal dispositions (struct sighand_struct with its struct k_sigaction array), shared by
 * the threads of a process, and the process-wide part of signal state (struct signal_struct).
 */
import { NSIG, SIG_DFL, SIG_IGN } from './signum.js';
import { defaultRlimits, type Rlimit } from '../sys/resource.js';

/** struct k_sigaction for riscv64 (asm-generic/signal.h without SA_RESTORER): handler, flags, mask. */
export interface KSigaction {
  /** sa_handler as an unsigned address (SIG_DFL 0, SIG_IGN 1, else a user function). */
  handler: number;
  /** sa_flags, an unsigned long; the defined bits fit in 32 bits. */
  flags: number;
  mask: bigint;
}

export class SigHand {
  /** action[sig] for sig 1..NSIG (index 0 unused). */
  readonly action: KSigaction[] = [];

  constructor() {
    for (let i = 0; i <= NSIG; i++) this.action.push({ handler: SIG_DFL, flags: 0, mask: 0n });
  }

  clone(): SigHand {
    const s = new SigHand();
    for (let i = 0; i <= NSIG; i++) s.action[i] = { ...this.action[i]! };
    return s;
  }

  /** flush_signal_handlers(): at exec, caught signals revert to SIG_DFL; ignored stay ignored. */
  flushHandlers(): void {
    for (let i = 1; i <= NSIG; i++) {
      const a = this.action[i]!;
      if (a.handler !== SIG_IGN) a.handler = SIG_DFL;
      a.flags = 0;
      a.mask = 0n;
    }
  }
}

/** struct signal_struct: what the threads of one process share besides handlers. */
export class SignalStruct {
  rlim: Rlimit[] = defaultRlimits();
  /** Signals pending for the whole process (shared_pending) and their queued siginfo. */
  sharedPending = 0n;
  sharedQueue: Uint8Array[] = [];
  /**
   * Job control (signal->flags SIGNAL_STOP_STOPPED / SIGNAL_STOP_CONTINUED, group_exit_code):
   * groupStopped while the process is stopped, groupStopSig the signal that stopped it;
   * stopReportPending / continuedReportPending until wait4/waitid with WUNTRACED / WCONTINUED
   * reports the change (kernel.jobControl reads and consumes them).
   */
  groupStopped = false;
  groupStopSig = 0;
  stopReportPending = false;
  continuedReportPending = false;
  /** Set once the group is exiting (SIGNAL_GROUP_EXIT); the wait status to report. */
  groupExit = false;
  groupExitCode = 0;
  /** CPU time of threads of this group that already exited, ns. */
  cpuNs = 0;
  /** CPU time of waited-for children, ns (cutime + cstime). */
  childrenCpuNs = 0;
  /** oom_score_adj (-1000..1000): /proc/<pid>/oom_score_adj; inherited at fork. */
  oomScoreAdj = 0;

  clone(): SignalStruct {
    const s = new SignalStruct();
    s.rlim = this.rlim.map((r) => ({ ...r }));
    s.oomScoreAdj = this.oomScoreAdj;
    return s;
  }
}
