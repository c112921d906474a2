/**
 * Signal numbers and their default actions (asm-generic/signal.h, include/linux/signal.h).
 * The sig_kernel_* predicates mirror the SIG_KERNEL_*_MASK tables of include/linux/signal.h.
 */
export const SIGHUP = 1;
export const SIGINT = 2;
export const SIGQUIT = 3;
export const SIGILL = 4;
export const SIGTRAP = 5;
export const SIGABRT = 6;
export const SIGBUS = 7;
export const SIGFPE = 8;
export const SIGKILL = 9;
export const SIGUSR1 = 10;
export const SIGSEGV = 11;
export const SIGUSR2 = 12;
export const SIGPIPE = 13;
export const SIGALRM = 14;
export const SIGTERM = 15;
export const SIGSTKFLT = 16;
export const SIGCHLD = 17;
export const SIGCONT = 18;
export const SIGSTOP = 19;
export const SIGTSTP = 20;
export const SIGTTIN = 21;
export const SIGTTOU = 22;
export const SIGURG = 23;
export const SIGXCPU = 24;
export const SIGXFSZ = 25;
export const SIGVTALRM = 26;
export const SIGPROF = 27;
export const SIGWINCH = 28;
export const SIGIO = 29;
export const SIGPWR = 30;
export const SIGSYS = 31;
export const SIGRTMIN = 32;
/** _NSIG: signals are 1.._NSIG. */
export const NSIG = 64;

/** Special handler values (asm-generic/signal-defs.h). */
export const SIG_DFL = 0;
export const SIG_IGN = 1;

/** sa_flags bits (asm-generic/signal-defs.h). riscv has no SA_RESTORER. */
export const SA_NOCLDSTOP = 0x00000001;
export const SA_NOCLDWAIT = 0x00000002;
export const SA_SIGINFO = 0x00000004;
export const SA_UNSUPPORTED = 0x00000400;
export const SA_EXPOSE_TAGBITS = 0x00000800;
export const SA_ONSTACK = 0x08000000;
export const SA_RESTART = 0x10000000;
export const SA_NODEFER = 0x40000000;
export const SA_RESETHAND = 0x80000000;

/** rt_sigprocmask `how`. */
export const SIG_BLOCK = 0;
export const SIG_UNBLOCK = 1;
export const SIG_SETMASK = 2;

/** sigaltstack flags and sizes. */
export const SS_ONSTACK = 1;
export const SS_DISABLE = 2;
export const SS_AUTODISARM = 0x80000000;
export const MINSIGSTKSZ = 2048;

/** si_code values used by the fault paths (asm-generic/siginfo.h). */
export const SEGV_MAPERR = 1;
export const SEGV_ACCERR = 2;
export const BUS_ADRALN = 1;
/** Nonexistent physical address: a file mapping beyond end of file (filemap_fault → VM_FAULT_SIGBUS). */
export const BUS_ADRERR = 2;
export const ILL_ILLOPC = 1;
export const TRAP_BRKPT = 1;
export const SI_USER = 0;
export const SI_KERNEL = 0x80;
export const SI_QUEUE = -1;
export const SI_TIMER = -2;
export const SI_TKILL = -6;
/** SIGCHLD si_code values. */
export const CLD_EXITED = 1;
export const CLD_KILLED = 2;
export const CLD_DUMPED = 3;
export const CLD_TRAPPED = 4;
export const CLD_STOPPED = 5;
export const CLD_CONTINUED = 6;
/** sigevent notify kinds (asm-generic/siginfo.h). */
export const SIGEV_SIGNAL = 0;
export const SIGEV_NONE = 1;
export const SIGEV_THREAD = 2;
export const SIGEV_THREAD_ID = 4;

/**
 * Synchronous signals, dequeued before any other (SYNCHRONOUS_MASK in kernel/signal.c), so a
 * fault's handler runs before an asynchronous signal that happened to arrive meanwhile.
 */
export function sigSynchronous(sig: number): boolean {
  return sig === SIGSEGV || sig === SIGBUS || sig === SIGILL || sig === SIGTRAP || sig === SIGFPE || sig === SIGSYS;
}

/** The signal as a bit of a 64-bit sigset (sigmask(sig) = 1 << (sig - 1)). */
export function sigmask(sig: number): bigint {
  return 1n << BigInt(sig - 1);
}

/** SIGKILL and SIGSTOP: cannot be caught, blocked or ignored (sig_kernel_only). */
export const UNBLOCKABLE = sigmask(SIGKILL) | sigmask(SIGSTOP);

/** Default action "ignore" (SIG_KERNEL_IGNORE_MASK). */
export function sigKernelIgnore(sig: number): boolean {
  return sig === SIGCONT || sig === SIGCHLD || sig === SIGWINCH || sig === SIGURG;
}

/** Default action "stop" (SIG_KERNEL_STOP_MASK). */
export function sigKernelStop(sig: number): boolean {
  return sig === SIGSTOP || sig === SIGTSTP || sig === SIGTTIN || sig === SIGTTOU;
}

/** Default action "terminate and dump core" (SIG_KERNEL_COREDUMP_MASK). */
export function sigKernelCoredump(sig: number): boolean {
  return (
    sig === SIGQUIT ||
    sig === SIGILL ||
    sig === SIGTRAP ||
    sig === SIGABRT ||
    sig === SIGFPE ||
    sig === SIGSEGV ||
    sig === SIGBUS ||
    sig === SIGSYS ||
    sig === SIGXCPU ||
    sig === SIGXFSZ
  );
}

const NAMES: Record<number, string> = {
  1: 'Hangup',
  2: 'Interrupt',
  3: 'Quit',
  4: 'Illegal instruction',
  5: 'Trace/breakpoint trap',
  6: 'Aborted',
  7: 'Bus error',
  8: 'Floating point exception',
  9: 'Killed',
  10: 'User defined signal 1',
  11: 'Segmentation fault',
  12: 'User defined signal 2',
  13: 'Broken pipe',
  14: 'Alarm clock',
  15: 'Terminated',
  16: 'Stack fault',
  17: 'Child exited',
  18: 'Continued',
  19: 'Stopped (signal)',
  20: 'Stopped',
  21: 'Stopped (tty input)',
  22: 'Stopped (tty output)',
  23: 'Urgent I/O condition',
  24: 'CPU time limit exceeded',
  25: 'File size limit exceeded',
  26: 'Virtual timer expired',
  27: 'Profiling timer expired',
  28: 'Window changed',
  29: 'I/O possible',
  30: 'Power failure',
  31: 'Bad system call',
};

/** The strsignal() text of glibc, as a shell prints it for a killed job. */
export function signalDescription(sig: number): string {
  return (
    NAMES[sig] ?? (sig >= SIGRTMIN && sig <= NSIG ? `Real-time signal ${sig - SIGRTMIN}` : `Unknown signal ${sig}`)
  );
}
