/** The exec system calls (fs/exec.c). execveat arrives with fd-relative lookups. */
import type { SyscallTable } from '../syscall/types.js';
import { SYS_execve, SYS_execveat } from '../syscall/numbers.js';
import { sysExecve, sysExecveat } from './exec.js';

export const execSyscalls: SyscallTable = {
  [SYS_execve]: sysExecve,
  [SYS_execveat]: sysExecveat,
};
