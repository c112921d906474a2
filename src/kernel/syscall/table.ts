/**
 * The system-call table (arch/riscv/kernel/syscall_table.c): one handler per asm-generic
 * number, merged from the tables each subsystem contributes. Unlisted numbers are -ENOSYS.
 */
import type { SyscallHandler, SyscallTable } from './types.js';
import { fsSyscalls } from '../fs/syscalls.js';
import { mmSyscalls } from '../mm/mmap.js';
import { exitSyscalls } from '../sched/exit.js';
import { schedSyscalls } from '../sched/syscalls.js';
import { forkSyscalls } from '../sched/fork.js';
import { signalSyscalls } from '../signal/signal.js';
import { resourceSyscalls } from '../sys/resource.js';
import { sysSyscalls } from '../sys/sys.js';
import { credSyscalls } from '../sys/cred.js';
import { timeSyscalls } from '../time/syscalls.js';
import { execSyscalls } from '../exec/syscalls.js';
import { syscallName } from './strace.js';
import { futexSyscalls } from '../futex/futex.js';
import { ipcSyscalls } from '../ipc/syscalls.js';
import { pollSyscalls } from '../fs/select.js';
import { rebootSyscalls } from '../sys/reboot.js';
import { printkSyscalls } from '../printk/syscalls.js';
import { netSyscalls } from '../net/syscalls.js';

/** Every contributing table, by owner (for the duplicate check). */
export const SYSCALL_TABLES: Record<string, SyscallTable> = {
  fs: fsSyscalls,
  mm: mmSyscalls,
  exit: exitSyscalls,
  sched: schedSyscalls,
  fork: forkSyscalls,
  signal: signalSyscalls,
  resource: resourceSyscalls,
  sys: sysSyscalls,
  cred: credSyscalls,
  time: timeSyscalls,
  exec: execSyscalls,
  futex: futexSyscalls,
  ipc: ipcSyscalls,
  poll: pollSyscalls,
  reboot: rebootSyscalls,
  printk: printkSyscalls,
  net: netSyscalls,
};

/** Build the dense table. Two subsystems claiming one number is a bug: reported through `warn`. */
export function buildSyscallTable(warn: (msg: string) => void): (SyscallHandler | undefined)[] {
  const table: (SyscallHandler | undefined)[] = [];
  const owner: string[] = [];
  for (const [who, part] of Object.entries(SYSCALL_TABLES)) {
    for (const [k, fn] of Object.entries(part)) {
      const nr = Number(k);
      if (!fn) continue;
      if (table[nr])
        warn(`system call ${syscallName(nr)} (${nr}) defined by both ${owner[nr]} and ${who}; using ${owner[nr]}`);
      else {
        table[nr] = fn;
        owner[nr] = who;
      }
    }
  }
  return table;
}
