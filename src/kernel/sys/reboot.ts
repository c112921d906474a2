/**
 * reboot(2) and the machine's ways of stopping (kernel/reboot.c: sys_reboot, kernel_restart,
 * kernel_halt, kernel_power_off, ctrl_alt_del; kernel/panic.c: panic).
 *
 * Linux's reboot(2) leaves killing processes and syncing to user space (busybox init does
 * both before it calls reboot). Here the machine is a worker that must end cleanly and keep
 * its disk consistent, so stopping also kills what is left (as the power going away would)
 * and start_kernel then syncs, unmounts and flushes the disk (kernel_shutdown_prepare →
 * device_shutdown) before it returns with the reason.
 */
import type { Kernel } from '../kernel.js';
import type { Task } from '../sched/task.js';
import { TaskState } from '../sched/task.js';
import type { SyscallTable } from '../syscall/types.js';
import type { StopReason } from '../init/boot_state.js';
import { SYS_reboot } from '../syscall/numbers.js';
import { EFAULT, EINVAL, EPERM } from '../errno.js';
import { strncpyFromUser } from '../mm/uaccess.js';
import { doExit } from '../sched/exit.js';
import { sendSigInfo } from '../signal/signal.js';
import { SIGINT, SIGKILL, SIGTERM, SIGUSR1, SIGUSR2 } from '../signal/signum.js';

/** include/uapi/linux/reboot.h */
export const LINUX_REBOOT_MAGIC1 = 0xfee1dead;
export const LINUX_REBOOT_MAGIC2 = 672274793;
export const LINUX_REBOOT_MAGIC2A = 85072278;
export const LINUX_REBOOT_MAGIC2B = 369367448;
export const LINUX_REBOOT_MAGIC2C = 537993216;
export const LINUX_REBOOT_CMD_RESTART = 0x01234567;
export const LINUX_REBOOT_CMD_HALT = 0xcdef0123;
export const LINUX_REBOOT_CMD_CAD_ON = 0x89abcdef;
export const LINUX_REBOOT_CMD_CAD_OFF = 0x00000000;
export const LINUX_REBOOT_CMD_POWER_OFF = 0x4321fedc;
export const LINUX_REBOOT_CMD_RESTART2 = 0xa1b2c3d4;
export const LINUX_REBOOT_CMD_SW_SUSPEND = 0xd000fce2;
export const LINUX_REBOOT_CMD_KEXEC = 0x45584543;

/** What the host may ask of a running machine (the worker's `power` message). */
export type PowerRequest = 'poweroff' | 'reboot' | 'halt' | 'ctrl-alt-del';

const live = (t: Task): boolean => t.state === TaskState.RUNNING || t.state === TaskState.INTERRUPTIBLE;

/**
 * The end of the machine's life as far as tasks go: every task, init and kernel threads
 * included, exits (SIGKILL status), so the run loop finds nothing alive and returns to
 * start_kernel, which finishes the shutdown. `zapping` keeps init's exit from being taken
 * for a crash of init (exit.ts's zap_pid_ns_processes).
 */
export function stopMachine(kernel: Kernel, reason: StopReason): void {
  const boot = kernel.boot;
  if (boot && boot.stopping === null) boot.stopping = reason;
  kernel.zapping = true;
  for (const t of [...kernel.tasks.values()]) {
    if (!live(t)) continue;
    t.signal.groupExit = true;
    t.signal.groupExitCode = SIGKILL;
    doExit(t, SIGKILL);
  }
  kernel.runQueue.kick();
}

/** kernel_restart(): "reboot: Restarting system" is printed once the devices are down (main.ts). */
export function kernelRestart(kernel: Kernel, cmd: string | null): void {
  if (cmd !== null) kernel.log(`reboot: restart command '${cmd}' (ignored: one kind of restart here)`);
  stopMachine(kernel, 'reboot');
}

/** kernel_halt(). */
export function kernelHalt(kernel: Kernel): void {
  stopMachine(kernel, 'halt');
}

/** kernel_power_off(). */
export function kernelPowerOff(kernel: Kernel): void {
  stopMachine(kernel, 'poweroff');
}

/**
 * panic(): "Kernel panic - not syncing: MSG", then the machine stops (panic_timeout 0: it
 * stays down; the worker reports reason 'panic').
 */
export function panic(kernel: Kernel, msg: string): void {
  if (kernel.boot) kernel.boot.panicText = msg;
  kernel.log(`Kernel panic - not syncing: ${msg}`);
  stopMachine(kernel, 'panic');
}

/** The message Linux prints as the machine goes down (machine_restart/halt/power_off). */
export function stopMessage(reason: StopReason): string | null {
  switch (reason) {
    case 'poweroff':
      return 'reboot: Power down';
    case 'reboot':
      return 'reboot: Restarting system';
    case 'halt':
      return 'reboot: System halted';
    default:
      return null;
  }
}

/** A signal from the kernel itself (SI_KERNEL) to init's process; false when there is no init. */
function signalInit(kernel: Kernel, sig: number): boolean {
  const init = kernel.initTask;
  if (!init || !live(init)) return false;
  sendSigInfo(init, sig, null, true);
  return true;
}

/**
 * ctrl_alt_del(): with C_A_D on (the default) the machine restarts at once; after
 * reboot(LINUX_REBOOT_CMD_CAD_OFF), as busybox init does at start, init gets SIGINT
 * (kill_cad_pid) and runs its ::ctrlaltdel action.
 */
export function ctrlAltDel(kernel: Kernel): void {
  if (kernel.boot?.cadEnabled ?? true) kernelRestart(kernel, null);
  else if (!signalInit(kernel, SIGINT)) kernelRestart(kernel, null);
}

/**
 * A stop request from the host. busybox init's signals: SIGUSR2 powers off, SIGTERM reboots,
 * SIGUSR1 halts, each after its shutdown actions (kill everything, sync, umount). Without an
 * init to ask (still booting, or init already gone) the machine stops directly.
 */
export function hostPowerRequest(kernel: Kernel, req: PowerRequest): void {
  if (kernel.boot?.stopping) return;
  switch (req) {
    case 'ctrl-alt-del':
      ctrlAltDel(kernel);
      return;
    case 'poweroff':
      if (!signalInit(kernel, SIGUSR2)) kernelPowerOff(kernel);
      return;
    case 'reboot':
      if (!signalInit(kernel, SIGTERM)) kernelRestart(kernel, null);
      return;
    case 'halt':
      if (!signalInit(kernel, SIGUSR1)) kernelHalt(kernel);
      return;
  }
}

/** sys_reboot(magic1, magic2, cmd, arg). */
function sysReboot(task: Task, magic1: number, magic2: number, cmd: number, arg: number): number {
  // "We only trust the superuser with rebooting the system." (CAP_SYS_BOOT)
  if (task.cred.euid !== 0) return -EPERM;
  magic1 >>>= 0;
  magic2 >>>= 0;
  cmd >>>= 0;
  if (
    magic1 !== LINUX_REBOOT_MAGIC1 ||
    (magic2 !== LINUX_REBOOT_MAGIC2 &&
      magic2 !== LINUX_REBOOT_MAGIC2A &&
      magic2 !== LINUX_REBOOT_MAGIC2B &&
      magic2 !== LINUX_REBOOT_MAGIC2C)
  )
    return -EINVAL;
  const kernel = task.kernel;
  switch (cmd) {
    case LINUX_REBOOT_CMD_RESTART:
      kernelRestart(kernel, null);
      return 0;
    case LINUX_REBOOT_CMD_CAD_ON:
      if (kernel.boot) kernel.boot.cadEnabled = true;
      return 0;
    case LINUX_REBOOT_CMD_CAD_OFF:
      if (kernel.boot) kernel.boot.cadEnabled = false;
      return 0;
    case LINUX_REBOOT_CMD_HALT:
      kernelHalt(kernel);
      return 0;
    case LINUX_REBOOT_CMD_POWER_OFF:
      kernelPowerOff(kernel);
      return 0;
    case LINUX_REBOOT_CMD_RESTART2: {
      const s = strncpyFromUser(task.mm, arg, 256);
      if (typeof s === 'number') return -EFAULT;
      kernelRestart(kernel, s);
      return 0;
    }
    default:
      // KEXEC and SW_SUSPEND need CONFIG_KEXEC_CORE / CONFIG_HIBERNATION, which this kernel lacks.
      return -EINVAL;
  }
}

export const rebootSyscalls: SyscallTable = {
  [SYS_reboot]: sysReboot,
};
