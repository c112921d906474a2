/**
 * The IPC namespace (struct ipc_namespace, ipc/namespace.c): the id tables of semaphore sets
 * and message queues (shared memory keeps its own in ipc/shm.ts) and their limits (the sysctls under
 * /proc/sys/kernel). One per kernel for now; CLONE_NEWIPC will make more later.
 */
import type { Kernel } from '../kernel.js';
import type { MsgQueue } from './msg.js';
import type { SemArray } from './sem.js';
import { IpcIds } from './util.js';

export const SEMMSL = 32000;
export const SEMMNS = 1024000000;
export const SEMOPM = 500;
export const SEMMNI = 32000;
export const SEMVMX = 32767;
export const SEMAEM = SEMVMX;
export const MSGMNI = 32000;
export const MSGMAX = 8192;
export const MSGMNB = 16384;

export class IpcNamespace {
  /** sc_sem: semmsl, semmns, semopm, semmni (/proc/sys/kernel/sem). */
  semCtls = { semmsl: SEMMSL, semmns: SEMMNS, semopm: SEMOPM, semmni: SEMMNI };
  /** Semaphores in all sets (used_sems). */
  usedSems = 0;
  msgCtlmax = MSGMAX;
  msgCtlmnb = MSGMNB;
  msgCtlmni = MSGMNI;
  /** Messages and bytes queued in all queues (msg_hdrs, msg_bytes). */
  msgHdrs = 0;
  msgBytes = 0;
  readonly semIds = new IpcIds<SemArray>(SEMMNI);
  readonly msgIds = new IpcIds<MsgQueue>(MSGMNI);
}

const namespaces = new WeakMap<Kernel, IpcNamespace>();

/** The namespace a task's IPC calls act in (current->nsproxy->ipc_ns). */
export function ipcNs(kernel: Kernel): IpcNamespace {
  let ns = namespaces.get(kernel);
  if (!ns) namespaces.set(kernel, (ns = new IpcNamespace()));
  return ns;
}
