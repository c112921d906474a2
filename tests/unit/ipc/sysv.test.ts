import { describe, expect, it } from 'vitest';
import * as N from '../../../src/kernel/syscall/numbers.js';
import * as E from '../../../src/kernel/errno.js';
import { ipcSyscalls } from '../../../src/kernel/ipc/syscalls.js';
import {
  doSemtimedop,
  exitSem,
  GETNCNT,
  GETVAL,
  SEM_UNDO,
  SETVAL,
  semUndoOf,
  type Sembuf,
} from '../../../src/kernel/ipc/sem.js';
import { findMsg, MSG_EXCEPT, type MsgMsg } from '../../../src/kernel/ipc/msg.js';
import {
  IPC_CREAT,
  IPC_EXCL,
  IPC_NOWAIT,
  IPC_PRIVATE,
  IPC_RMID,
  IpcIds,
  KernIpcPerm,
  SEQ_MULTIPLIER,
  ipcperms,
} from '../../../src/kernel/ipc/util.js';
import type { Task } from '../../../src/kernel/sched/task.js';
import { UBUF, rootCred } from '../fs/helpers.js';
import { makeIpcEnv, settle } from './helpers.js';

function sys(t: Task, nr: number, ...a: number[]) {
  const v = [...a, 0, 0, 0, 0, 0, 0];
  return ipcSyscalls[nr]!(t, v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, v[5]!);
}
const op = (num: number, o: number, flg = 0): Sembuf => ({ num, op: o, flg });

describe('ipc ids and permissions (ipc/util.c)', () => {
  it('ids are seq * SEQ_MULTIPLIER + index, indexes cyclic, seq bumped on wrap', () => {
    const ids = new IpcIds<{ perm: KernIpcPerm }>(10);
    const mk = () => ({ perm: new KernIpcPerm(IPC_PRIVATE, 0o600, rootCred()) });
    const a = mk();
    const b = mk();
    expect(ids.add(a)).toBe(0);
    expect(ids.add(b)).toBe(1);
    ids.remove(a);
    const c = mk();
    expect(ids.add(c)).toBe(2); // not the freed index 0 at once
    expect(ids.obtainCheck(0)).toBe(-E.EINVAL);
    expect(ids.obtainCheck(2)).toBe(c);
    expect(ids.obtainCheck(2 + SEQ_MULTIPLIER)).toBe(-E.EINVAL);
  });

  it('ipcperms uses owner, group, other bits; root bypasses', () => {
    const p = new KernIpcPerm(1, 0o640, rootCred(100, 200));
    expect(ipcperms(rootCred(100, 1), p, 0o600)).toBe(0);
    expect(ipcperms(rootCred(5, 200), p, 0o400)).toBe(0);
    expect(ipcperms(rootCred(5, 200), p, 0o200)).toBe(-E.EACCES);
    expect(ipcperms(rootCred(5, 5), p, 0o004)).toBe(-E.EACCES);
    expect(ipcperms(rootCred(0, 0), p, 0o666)).toBe(0);
  });
});

describe('semaphores (ipc/sem.c)', () => {
  it('semget: IPC_PRIVATE, IPC_CREAT|IPC_EXCL, ENOENT, nsems checks', () => {
    const env = makeIpcEnv();
    expect(sys(env.task, N.SYS_semget, 1234, 2, 0o600)).toBe(-E.ENOENT);
    const id = sys(env.task, N.SYS_semget, 1234, 2, IPC_CREAT | 0o600) as number;
    expect(id).toBeGreaterThanOrEqual(0);
    expect(sys(env.task, N.SYS_semget, 1234, 2, IPC_CREAT | IPC_EXCL | 0o600)).toBe(-E.EEXIST);
    expect(sys(env.task, N.SYS_semget, 1234, 1, 0)).toBe(id);
    expect(sys(env.task, N.SYS_semget, 1234, 3, 0)).toBe(-E.EINVAL);
    expect(sys(env.task, N.SYS_semget, IPC_PRIVATE, 0, 0o600)).toBe(-E.EINVAL);
    expect(sys(env.task, N.SYS_semget, IPC_PRIVATE, 2, 0o600)).not.toBe(id);
  });

  it('semop is all-or-nothing', () => {
    const env = makeIpcEnv();
    const id = sys(env.task, N.SYS_semget, IPC_PRIVATE, 2, 0o600) as number;
    sys(env.task, N.SYS_semctl, id, 0, SETVAL, 5);
    expect(doSemtimedop(env.task, id, [op(0, -2), op(1, -1, IPC_NOWAIT)], undefined)).toBe(-E.EAGAIN);
    expect(sys(env.task, N.SYS_semctl, id, 0, GETVAL)).toBe(5);
    expect(doSemtimedop(env.task, id, [op(0, 32767)], undefined)).toBe(-E.ERANGE);
    expect(doSemtimedop(env.task, id, [op(0, -2), op(1, 1)], undefined)).toBe(0);
    expect(sys(env.task, N.SYS_semctl, id, 0, GETVAL)).toBe(3);
    expect(sys(env.task, N.SYS_semctl, id, 1, GETVAL)).toBe(1);
    expect(doSemtimedop(env.task, id, [op(2, 1)], undefined)).toBe(-E.EFBIG);
  });

  it('sleepers are served in arrival order by the task that changes the set', async () => {
    const env = makeIpcEnv();
    const id = sys(env.task, N.SYS_semget, IPC_PRIVATE, 1, 0o600) as number;
    const order: string[] = [];
    const a = env.sibling();
    const b = env.sibling();
    const pa = (doSemtimedop(a, id, [op(0, -2)], undefined) as Promise<number>).then((r) => (order.push('a'), r));
    const pb = (doSemtimedop(b, id, [op(0, -1)], undefined) as Promise<number>).then((r) => (order.push('b'), r));
    expect(sys(env.task, N.SYS_semctl, id, 0, GETNCNT)).toBe(2);
    // +1: a (wants 2) still blocks, b (wants 1) proceeds — Linux retries every waiter.
    expect(doSemtimedop(env.task, id, [op(0, 1)], undefined)).toBe(0);
    await settle();
    expect(order).toEqual(['b']);
    expect(doSemtimedop(env.task, id, [op(0, 2)], undefined)).toBe(0);
    expect(await pa).toBe(0);
    expect(await pb).toBe(0);
    expect(sys(env.task, N.SYS_semctl, id, 0, GETVAL)).toBe(0);
  });

  it('IPC_RMID wakes sleepers with EIDRM; a signal gives EINTR; a timeout EAGAIN', async () => {
    const env = makeIpcEnv();
    const id = sys(env.task, N.SYS_semget, IPC_PRIVATE, 1, 0o600) as number;
    const a = env.sibling();
    const pa = doSemtimedop(a, id, [op(0, -1)], undefined) as Promise<number>;
    const b = env.sibling();
    const pb = doSemtimedop(b, id, [op(0, -1)], undefined) as Promise<number>;
    env.interrupt(b);
    expect(await pb).toBe(-E.EINTR);
    expect(await doSemtimedop(env.task, id, [op(0, -1)], 5e6)).toBe(-E.EAGAIN);
    expect(sys(env.task, N.SYS_semctl, id, 0, IPC_RMID)).toBe(0);
    expect(await pa).toBe(-E.EIDRM);
    expect(sys(env.task, N.SYS_semctl, id, 0, GETVAL)).toBe(-E.EINVAL);
  });

  it('SEM_UNDO adjustments are applied at exit, clamped at 0, and wake sleepers', async () => {
    const env = makeIpcEnv();
    const id = sys(env.task, N.SYS_semget, IPC_PRIVATE, 2, 0o600) as number;
    const child = env.sibling();
    expect(doSemtimedop(child, id, [op(0, 3, SEM_UNDO), op(1, 1, SEM_UNDO)], undefined)).toBe(0);
    expect(semUndoOf(env.kernel, child.tgid, id)).toEqual([-3, -1]);
    expect(doSemtimedop(child, id, [op(1, -1)], undefined)).toBe(0); // no undo for this one
    const waiter = doSemtimedop(env.task, id, [op(0, 0)], undefined) as Promise<number>;
    exitSem(child);
    expect(await waiter).toBe(0);
    expect(sys(env.task, N.SYS_semctl, id, 0, GETVAL)).toBe(0);
    expect(sys(env.task, N.SYS_semctl, id, 1, GETVAL)).toBe(0);
    expect(semUndoOf(env.kernel, child.tgid, id)).toBeNull();
  });

  it('SETVAL clears the adjustments of that semaphore', () => {
    const env = makeIpcEnv();
    const id = sys(env.task, N.SYS_semget, IPC_PRIVATE, 1, 0o600) as number;
    doSemtimedop(env.task, id, [op(0, 2, SEM_UNDO)], undefined);
    sys(env.task, N.SYS_semctl, id, 0, SETVAL, 7);
    expect(semUndoOf(env.kernel, env.task.tgid, id)).toEqual([0]);
    exitSem(env.task);
    expect(sys(env.task, N.SYS_semctl, id, 0, GETVAL)).toBe(7);
  });
});

describe('message queues (ipc/msg.c)', () => {
  const msgs = (types: number[]): MsgMsg[] => types.map((type) => ({ type, data: new Uint8Array(0) }));

  it('find_msg: 0 = first, >0 = first of the type, MSG_EXCEPT, <0 = lowest type ≤ |t|', () => {
    const q = msgs([5, 2, 7, 2, 1, 9]);
    expect(findMsg(q, 0, 0)).toBe(0);
    expect(findMsg(q, 2, 0)).toBe(1);
    expect(findMsg(q, 5, MSG_EXCEPT)).toBe(1);
    expect(findMsg(q, -6, 0)).toBe(4);
    expect(findMsg(q, -3, 0)).toBe(4);
    expect(findMsg(msgs([3, 2, 2]), -2, 0)).toBe(1);
    expect(findMsg(q, 4, 0)).toBe(-1);
    expect(findMsg(msgs([]), 0, 0)).toBe(-1);
  });

  it('send/receive through user memory; E2BIG, ENOMSG, full queue, blocking receive', async () => {
    const env = makeIpcEnv();
    const id = sys(env.task, N.SYS_msgget, IPC_PRIVATE, 0o600) as number;
    const M = UBUF + 0x1000;
    const put = (type: number, text: string) => {
      const b = Buffer.alloc(8 + text.length);
      b.writeBigInt64LE(BigInt(type));
      b.write(text, 8, 'latin1');
      env.put(b, 0x1000);
    };
    put(3, 'three');
    expect(sys(env.task, N.SYS_msgsnd, id, M, 5, 0)).toBe(0);
    expect(sys(env.task, N.SYS_msgrcv, id, M, 2, 0, 0)).toBe(-E.E2BIG);
    expect(sys(env.task, N.SYS_msgrcv, id, M, 100, 4, IPC_NOWAIT)).toBe(-E.ENOMSG);
    expect(sys(env.task, N.SYS_msgrcv, id, M, 100, 3, 0)).toBe(5);
    expect(Buffer.from(env.get(M + 8, 5)).toString()).toBe('three');
    put(0, 'x');
    expect(sys(env.task, N.SYS_msgsnd, id, M, 1, 0)).toBe(-E.EINVAL);
    put(1, 'x');
    expect(sys(env.task, N.SYS_msgsnd, id, M, 8193, 0)).toBe(-E.EINVAL);
    expect(sys(env.task, N.SYS_msgsnd, id, M, 8192, IPC_NOWAIT)).toBe(0);
    expect(sys(env.task, N.SYS_msgsnd, id, M, 8192, IPC_NOWAIT)).toBe(0);
    expect(sys(env.task, N.SYS_msgsnd, id, M, 1, IPC_NOWAIT)).toBe(-E.EAGAIN);
    // A blocked sender gets in when a receiver makes room.
    const ps = sys(env.sibling(), N.SYS_msgsnd, id, M, 100, 0) as Promise<number>;
    expect(sys(env.task, N.SYS_msgrcv, id, UBUF + 0x8000, 8192, 0, 0)).toBe(8192);
    expect(await ps).toBe(0);
    // A blocked receiver of type 9 is woken by RMID with EIDRM.
    const pr = sys(env.sibling(), N.SYS_msgrcv, id, UBUF + 0x8000, 100, 9, 0) as Promise<number>;
    await settle();
    expect(sys(env.task, N.SYS_msgctl, id, IPC_RMID, 0)).toBe(0);
    expect(await pr).toBe(-E.EIDRM);
  });
});
