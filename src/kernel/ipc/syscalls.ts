/**
 * The SysV IPC part of the system-call table (ipc/syscall.c's direct entry points on
 * riscv64): semaphores, message queues and shared memory.
 */
import * as N from '../syscall/numbers.js';
import type { SyscallTable } from '../syscall/types.js';
import { sysMsgctl, sysMsgget, sysMsgrcv, sysMsgsnd } from './msg.js';
import { sysSemctl, sysSemget, sysSemop, sysSemtimedop } from './sem.js';
import { shmSyscalls } from './shm.js';

export const ipcSyscalls: SyscallTable = {
  [N.SYS_semget]: sysSemget,
  [N.SYS_semop]: sysSemop,
  [N.SYS_semtimedop]: sysSemtimedop,
  [N.SYS_semctl]: sysSemctl,
  [N.SYS_msgget]: sysMsgget,
  [N.SYS_msgsnd]: sysMsgsnd,
  [N.SYS_msgrcv]: sysMsgrcv,
  [N.SYS_msgctl]: sysMsgctl,
  ...shmSyscalls,
};
