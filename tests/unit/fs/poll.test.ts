import { describe, expect, it } from 'vitest';
import * as E from '../../../src/kernel/errno.js';
import * as N from '../../../src/kernel/syscall/numbers.js';
import { pollSyscalls, sysPpoll, POLLIN, POLLNVAL, POLLOUT } from '../../../src/kernel/fs/select.js';
import { EventfdCtx } from '../../../src/kernel/fs/eventfd.js';
import { EPOLLET, EPOLLIN } from '../../../src/kernel/fs/eventpoll.js';
import { getUser32 } from '../../../src/kernel/mm/uaccess.js';
import { UBUF } from './helpers.js';
import { makeIpcEnv, settle, type IpcEnv } from '../ipc/helpers.js';

const FDS = UBUF + 0x100;
const EVS = UBUF + 0x2000;
const TS = UBUF + 0x300;
const BUF = UBUF + 0x400;

function sys(env: IpcEnv, nr: number, ...args: number[]): number | Promise<number> {
  const h = pollSyscalls[nr] ?? (nr === N.SYS_ppoll ? sysPpoll : undefined);
  if (!h) return env.sys(nr, ...args);
  const a = [...args, 0, 0, 0, 0, 0, 0];
  return h(env.task, a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!);
}

function call(env: IpcEnv, nr: number, ...args: number[]): number {
  const r = sys(env, nr, ...args);
  if (typeof r !== 'number') throw new Error('unexpected Promise');
  return r;
}

function pipe2(env: IpcEnv): [number, number] {
  expect(env.call(N.SYS_pipe2, FDS, 0)).toBe(0);
  return [getUser32(env.task.mm, FDS)!, getUser32(env.task.mm, FDS + 4)!];
}

function u32s(...v: number[]): Uint8Array {
  const b = new Uint8Array(v.length * 4);
  const d = new DataView(b.buffer);
  v.forEach((x, i) => d.setUint32(i * 4, x >>> 0, true));
  return b;
}

function timespec(env: IpcEnv, sec: number, nsec: number): number {
  return env.put(u32s(sec, 0, nsec, 0), TS - UBUF);
}

describe('ppoll / pselect6 (fs/select.c)', () => {
  it('rejects nfds over RLIMIT_NOFILE with EINVAL and reports POLLNVAL for closed fds', () => {
    const env = makeIpcEnv();
    env.task.files.rlimitNofile = 16;
    expect(call(env, N.SYS_ppoll, BUF, 17, 0, 0, 0)).toBe(-E.EINVAL);
    const pfd = env.put(u32s(55, POLLIN), 0x400);
    expect(call(env, N.SYS_ppoll, pfd, 1, 0, 0, 0)).toBe(1);
    expect(new DataView(env.get(pfd, 8).buffer).getUint16(6, true)).toBe(POLLNVAL);
  });

  it('pselect6 sleeps until a pipe becomes readable and counts each ready (fd, set) pair', async () => {
    const env = makeIpcEnv();
    const [r, w] = pipe2(env);
    const set = new Uint8Array(8);
    set[r >> 3]! |= 1 << (r & 7);
    const inp = env.put(set, 0x500);
    const p = sys(env, N.SYS_pselect6, r + 1, inp, 0, 0, 0, 0);
    expect(typeof p).not.toBe('number');
    env.put(new Uint8Array([0x41]), 0x600);
    expect(env.call(N.SYS_write, w, UBUF + 0x600, 1)).toBe(1);
    expect(await p).toBe(1);
    const out = new Uint8Array(8);
    set.fill(0);
    set[r >> 3]! |= 1 << (r & 7);
    set[w >> 3]! |= 1 << (w & 7);
    const both = env.put(set, 0x500);
    const wr = env.put(set, 0x508);
    expect(call(env, N.SYS_pselect6, w + 1, both, wr, 0, timespec(env, 0, 0), 0)).toBe(2);
    out.set(env.get(wr, 8));
    expect(out[w >> 3]! & (1 << (w & 7))).not.toBe(0);
    expect(out[r >> 3]! & (1 << (r & 7))).toBe(0);
  });

  it('a signal ends the wait with -ERESTARTNOHAND', async () => {
    const env = makeIpcEnv();
    const [r] = pipe2(env);
    const pfd = env.put(u32s(r, POLLIN), 0x400);
    const p = sys(env, N.SYS_ppoll, pfd, 1, 0, 0, 0);
    await settle();
    env.interrupt(env.task);
    expect(await p).toBe(-E.ERESTARTNOHAND);
  });
});

describe('epoll (fs/eventpoll.c)', () => {
  it('epoll_pwait2 takes a timespec; zero does not wait', () => {
    const env = makeIpcEnv();
    const ep = call(env, N.SYS_epoll_create1, 0);
    const [r, w] = pipe2(env);
    const ev = env.put(u32s(EPOLLIN | EPOLLET, 0, 7, 0), 0x700);
    expect(call(env, N.SYS_epoll_ctl, ep, 1, r, ev)).toBe(0);
    expect(call(env, N.SYS_epoll_pwait2, ep, EVS, 4, timespec(env, 0, 0), 0, 8)).toBe(0);
    expect(call(env, N.SYS_epoll_pwait2, ep, EVS, 4, timespec(env, 0, 2e9), 0, 8)).toBe(-E.EINVAL);
    env.put(new Uint8Array([1]), 0x600);
    env.call(N.SYS_write, w, UBUF + 0x600, 1);
    expect(call(env, N.SYS_epoll_pwait2, ep, EVS, 4, timespec(env, 0, 0), 0, 8)).toBe(1);
    const d = new DataView(env.get(EVS, 16).buffer);
    expect(d.getUint32(0, true)).toBe(EPOLLIN);
    expect(d.getUint32(8, true)).toBe(7);
    // Edge-triggered: not again without a new wake-up.
    expect(call(env, N.SYS_epoll_pwait2, ep, EVS, 4, timespec(env, 0, 0), 0, 8)).toBe(0);
  });

  it('a pipe write wakes a sleeping epoll_wait; a signal makes it -EINTR', async () => {
    const env = makeIpcEnv();
    const ep = call(env, N.SYS_epoll_create1, 0);
    const [r, w] = pipe2(env);
    expect(call(env, N.SYS_epoll_ctl, ep, 1, w, env.put(u32s(POLLOUT, 0, 1, 0), 0x700))).toBe(0);
    expect(call(env, N.SYS_epoll_ctl, ep, 1, r, env.put(u32s(POLLIN, 0, 2, 0), 0x700))).toBe(0);
    expect(call(env, N.SYS_epoll_ctl, ep, 3, w, env.put(u32s(0, 0, 1, 0), 0x700))).toBe(0);
    // The writer (events 0) may still be on the ready list but is not reported.
    const p = sys(env, N.SYS_epoll_pwait, ep, EVS, 4, -1, 0, 8);
    expect(typeof p).not.toBe('number');
    env.put(new Uint8Array([1]), 0x600);
    env.call(N.SYS_write, w, UBUF + 0x600, 1);
    expect(await p).toBe(1);
    expect(new DataView(env.get(EVS, 16).buffer).getUint32(8, true)).toBe(2);
    const ep2 = call(env, N.SYS_epoll_create1, 0);
    const q = sys(env, N.SYS_epoll_pwait, ep2, EVS, 4, -1, 0, 8);
    await settle();
    env.interrupt(env.task);
    expect(await q).toBe(-E.EINTR);
  });
});

describe('eventfd counter halves (fs/eventfd.c)', () => {
  it('adds with carry and stops at 0xfffffffffffffffe', () => {
    const c = new EventfdCtx({} as never, 0, 0xffffffff);
    c.add(0, 1);
    expect([c.hi, c.lo]).toEqual([1, 0]);
    c.hi = 0xffffffff;
    c.lo = 0xfffffffd;
    expect(c.fits(0, 1)).toBe(true);
    expect(c.fits(0, 2)).toBe(false);
    c.add(0, 1);
    expect(c.fits(0, 1)).toBe(false);
    expect(c.fits(0, 0)).toBe(true);
    expect(c.take()).toEqual([0xffffffff, 0xfffffffe]);
    expect(c.zero).toBe(true);
  });

  it('semaphore mode borrows across the halves', () => {
    const c = new EventfdCtx({} as never, 1, 0);
    c.hi = 1;
    expect(c.take()).toEqual([0, 1]);
    expect([c.hi, c.lo]).toEqual([0, 0xffffffff]);
  });
});
