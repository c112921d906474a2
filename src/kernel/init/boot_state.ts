/**
 * What the kernel remembers of its boot (Linux keeps these as globals: saved_command_line,
 * console_loglevel, C_A_D, system_state, the reboot command in progress). One per Kernel,
 * in `kernel.boot`.
 */
import type { BootCmdline } from './cmdline.js';

/** How the machine stopped: what the worker reports to the host. */
export type StopReason = 'poweroff' | 'reboot' | 'halt' | 'panic' | 'init-exit';

export interface BootState {
  /** The parsed command line; `cmdline.raw` is /proc/cmdline. */
  cmdline: BootCmdline;
  /** console_loglevel chosen by quiet / loglevel= (printk prints levels below it on the console). */
  consoleLoglevel: number;
  /** C_A_D: Ctrl-Alt-Del reboots at once (1, the default) or signals init (0, after reboot(CAD_OFF)). */
  cadEnabled: boolean;
  /** system_state past SYSTEM_RUNNING: set by kernel_power_off / kernel_restart / kernel_halt / panic. */
  stopping: StopReason | null;
  /** The panic message (without the "Kernel panic - not syncing: " prefix) when stopping is 'panic'. */
  panicText: string | null;
  /** Booted from a disk (false for `labvisor exec`'s in-memory root). */
  fromDisk: boolean;
}

export function newBootState(cmdline: BootCmdline, consoleLoglevel: number, fromDisk: boolean): BootState {
  return { cmdline, consoleLoglevel, cadEnabled: true, stopping: null, panicText: null, fromDisk };
}
