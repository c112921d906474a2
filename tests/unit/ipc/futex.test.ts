import { describe, expect, it } from 'vitest';
import * as N from '../../../src/kernel/syscall/numbers.js';
import * as E from '../../../src/kernel/errno.js';
import {
  FUTEX_CMP_REQUEUE,
  FUTEX_OWNER_DIED,
  FUTEX_PRIVATE_FLAG,
  FUTEX_REQUEUE,
  FUTEX_WAIT,
  FUTEX_WAIT_BITSET,
  FUTEX_WAITERS,
  FUTEX_WAKE,
  FUTEX_WAKE_BITSET,
  FUTEX_WAKE_OP,
  FUTEX_CLOCK_REALTIME,
  exitRobustList,
  futexHash,
  futexSyscalls,
  futexWake,
  getFutexKey,
} from '../../../src/kernel/futex/futex.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_SHARED, PROT_READ, PROT_WRITE } from '../../../src/kernel/mm/mman.js';
import { getUser32, putUser32, putUser64 } from '../../../src/kernel/mm/uaccess.js';
import type { Task } from '../../../src/kernel/sched/task.js';
import { UBUF } from '../fs/helpers.js';
import { makeIpcEnv, settle } from './helpers.js';

const F1 = UBUF + 0x100;
const F2 = UBUF + 0x200;
const TS = UBUF + 0x300;

function futex(t: Task, uaddr: number, op: number, val: number, utime = 0, uaddr2 = 0, val3 = 0) {
  return futexSyscalls[N.SYS_futex]!(t, uaddr, op, val, utime, uaddr2, val3);
}

describe('futex keys (get_futex_key)', () => {
  it('private keys are (mm, address); shared keys on private memory differ from them', () => {
    const env = makeIpcEnv();
    const mm = env.task.mm;
    expect(getFutexKey(mm, F1, false)).not.toBe(getFutexKey(mm, F1, true));
    expect(getFutexKey(mm, F1 + 2, false)).toBe(-E.EINVAL);
    expect(getFutexKey(mm, 0x1000, true)).toBe(-E.EFAULT);
  });

  it('shared keys on MAP_SHARED pages name the frame, so other mappings of it meet', () => {
    const env = makeIpcEnv();
    const mm = env.task.mm;
    const A = 0x20000000;
    expect(mm.mmapRegion(A, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, null, 0)).toBe(A);
    const child = mm.dup();
    if (typeof child === 'number') throw new Error('dup failed');
    const k1 = getFutexKey(mm, A + 8, true);
    expect(typeof k1).toBe('string');
    expect(getFutexKey(child, A + 8, true)).toBe(k1);
    // Private keys never cross address spaces.
    expect(getFutexKey(child, A + 8, false)).not.toBe(getFutexKey(mm, A + 8, false));
  });
});

describe('futex wait/wake', () => {
  it('FUTEX_WAIT with a stale value is EAGAIN; WAKE wakes in FIFO order, up to nr', async () => {
    const env = makeIpcEnv();
    putUser32(env.task.mm, F1, 7);
    expect(futex(env.task, F1, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 6)).toBe(-E.EAGAIN);
    const ts = [env.sibling({ tgid: 1 }), env.sibling({ tgid: 1 }), env.sibling({ tgid: 1 })];
    const results: number[] = [];
    const ps = ts.map((t, i) =>
      (futex(t, F1, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 7) as Promise<number>).then((r) => results.push(i) && r),
    );
    expect(futexHash(env.task).size).toBe(3);
    // A shared wake does not reach private waiters.
    expect(futex(env.task, F1, FUTEX_WAKE, 10)).toBe(0);
    expect(futex(env.task, F1, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 2)).toBe(2);
    await settle();
    expect(results).toEqual([0, 1]);
    // nr = 0 still wakes one, as Linux's loop does.
    expect(futex(env.task, F1, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 0)).toBe(1);
    expect(await Promise.all(ps)).toEqual([0, 0, 0]);
  });

  it('bitsets select waiters; a zero bitset is EINVAL', async () => {
    const env = makeIpcEnv();
    putUser32(env.task.mm, F1, 0);
    const a = env.sibling({ tgid: 1 });
    const b = env.sibling({ tgid: 1 });
    const pa = futex(a, F1, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0b01) as Promise<number>;
    const pb = futex(b, F1, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0b10) as Promise<number>;
    expect(futex(env.task, F1, FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG, 5, 0, 0, 0b10)).toBe(1);
    expect(await pb).toBe(0);
    expect(futex(env.task, F1, FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG, 5, 0, 0, 0)).toBe(-E.EINVAL);
    expect(futex(env.task, F1, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0)).toBe(-E.EINVAL);
    expect(futex(env.task, F1, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 5)).toBe(1);
    expect(await pa).toBe(0);
  });

  it('times out: relative for FUTEX_WAIT, absolute for WAIT_BITSET', async () => {
    const env = makeIpcEnv();
    putUser32(env.task.mm, F1, 0);
    putUser64(env.task.mm, TS, 0);
    putUser64(env.task.mm, TS + 8, 20e6);
    const t0 = performance.now();
    expect(await futex(env.task, F1, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, TS)).toBe(-E.ETIMEDOUT);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(19);
    // An absolute CLOCK_MONOTONIC deadline in the past: times out at once.
    expect(await futex(env.task, F1, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 0, TS, 0, -1)).toBe(-E.ETIMEDOUT);
    // CLOCK_REALTIME is only for waits.
    expect(futex(env.task, F1, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1)).toBe(-E.ENOSYS);
    putUser64(env.task.mm, TS + 8, 1e9);
    expect(futex(env.task, F1, FUTEX_WAIT, 0, TS)).toBe(-E.EINVAL);
    expect(futexHash(env.task).size).toBe(0);
  });

  it('a signal interrupts: -ERESTARTSYS without timeout, -ERESTART_RESTARTBLOCK with one', async () => {
    const env = makeIpcEnv();
    putUser32(env.task.mm, F1, 0);
    const p = futex(env.task, F1, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0) as Promise<number>;
    await settle();
    env.interrupt(env.task);
    expect(await p).toBe(-E.ERESTARTSYS);
    env.task.pending = 0n;
    putUser64(env.task.mm, TS, 10);
    putUser64(env.task.mm, TS + 8, 0);
    const q = futex(env.task, F1, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, TS) as Promise<number>;
    await settle();
    env.interrupt(env.task);
    expect(await q).toBe(-E.ERESTART_RESTARTBLOCK);
    expect(futexHash(env.task).size).toBe(0);
  });
});

describe('futex requeue and wake_op', () => {
  it('REQUEUE wakes nr and moves the rest; CMP_REQUEUE checks the value first', async () => {
    const env = makeIpcEnv();
    putUser32(env.task.mm, F1, 1);
    const ws = [0, 1, 2, 3].map(() => env.sibling({ tgid: 1 }));
    const ps = ws.map((t) => futex(t, F1, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 1) as Promise<number>);
    expect(futex(env.task, F1, FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG, 1, 2, F2, 99)).toBe(-E.EAGAIN);
    expect(futex(env.task, F1, FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG, 1, 2, F2, 1)).toBe(3);
    // One left on F1, two moved to F2.
    expect(futex(env.task, F1, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 10)).toBe(1);
    expect(futex(env.task, F1, FUTEX_REQUEUE | FUTEX_PRIVATE_FLAG, -1, 0, F2)).toBe(-E.EINVAL);
    expect(futex(env.task, F2, FUTEX_REQUEUE | FUTEX_PRIVATE_FLAG, 0, 10, F1)).toBe(2);
    expect(futex(env.task, F1, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 10)).toBe(2);
    expect(await Promise.all(ps)).toEqual([0, 0, 0, 0]);
  });

  it('WAKE_OP applies the operation to uaddr2 and wakes there only if the comparison holds', async () => {
    const env = makeIpcEnv();
    putUser32(env.task.mm, F1, 0);
    putUser32(env.task.mm, F2, 5);
    const a = futex(env.sibling({ tgid: 1 }), F1, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0) as Promise<number>;
    const b = futex(env.sibling({ tgid: 1 }), F2, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 5) as Promise<number>;
    // op ADD 3, cmp GT 4: old value 5 > 4 → wake on F2 too.
    const encoded = (1 << 28) | (4 << 24) | (3 << 12) | 4;
    expect(futex(env.task, F1, FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG, 1, 1, F2, encoded)).toBe(2);
    expect(getUser32(env.task.mm, F2)).toBe(8);
    expect(await Promise.all([a, b])).toEqual([0, 0]);
    // OPARG_SHIFT: OR (1 << 4); cmp EQ 0 fails (old is 8).
    const enc2 = (0x8 << 28) | (2 << 28) | (0 << 24) | (4 << 12) | 0;
    expect(futex(env.task, F1, FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG, 1, 1, F2, enc2 | 0)).toBe(0);
    expect(getUser32(env.task.mm, F2)).toBe(8 | 16);
  });
});

describe('futex hooks for exit', () => {
  it('futexWake is a shared wake (CLONE_CHILD_CLEARTID) and the kernel hooks get installed', async () => {
    const env = makeIpcEnv();
    putUser32(env.task.mm, F1, 42);
    const p = futex(env.sibling({ tgid: 1 }), F1, FUTEX_WAIT, 42) as Promise<number>;
    expect(env.kernel.futexWake).toBe(futexWake);
    expect(env.kernel.exitRobustList).toBe(exitRobustList);
    expect(futexWake(env.task, F1, 1)).toBe(1);
    expect(await p).toBe(0);
  });

  it('exitRobustList marks held locks FUTEX_OWNER_DIED and wakes a waiter', async () => {
    const env = makeIpcEnv();
    const mm = env.task.mm;
    const HEAD = UBUF + 0x400;
    const ENTRY = UBUF + 0x500; // a struct robust_list; the lock word is futex_offset (8) bytes after it
    putUser64(mm, HEAD, ENTRY);
    putUser64(mm, HEAD + 8, 8);
    putUser64(mm, HEAD + 16, 0);
    putUser64(mm, ENTRY, HEAD);
    env.task.pid = 77;
    putUser32(mm, ENTRY + 8, 77 | FUTEX_WAITERS);
    env.task.robustList = HEAD;
    const waiter = futex(env.sibling({ tgid: 1 }), ENTRY + 8, FUTEX_WAIT, 77 | FUTEX_WAITERS) as Promise<number>;
    exitRobustList(env.task);
    expect(getUser32(mm, ENTRY + 8)! >>> 0).toBe((FUTEX_WAITERS | FUTEX_OWNER_DIED) >>> 0);
    expect(await waiter).toBe(0);
  });
});
