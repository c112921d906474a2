/**
 * /proc/net (net/core/net-procfs.c, proc_net_*): the files each protocol contributes. This
 * module has no imports besides types, so procfs can read it without loading the network
 * stack (and without an import cycle fs → net → fs); each protocol registers its show
 * function when it loads, as proc_create_net_data does at init.
 */
import type { Kernel } from '../kernel.js';

/** name under /proc/net → seq_show of the whole file. */
export const procNetFiles = new Map<string, (k: Kernel) => string>();

/** proc_create_net_data. */
export function procNetRegister(name: string, show: (k: Kernel) => string): void {
  procNetFiles.set(name, show);
}

/** Read /proc/net/<name>; empty when no protocol registered it. */
export function procNetShow(name: string, k: Kernel): string {
  return procNetFiles.get(name)?.(k) ?? '';
}
