import { describe, expect, it } from 'vitest';
import * as N from '../../../src/kernel/syscall/numbers.js';
import * as E from '../../../src/kernel/errno.js';
import { F_GETPIPE_SZ, F_SETPIPE_SZ, FIONREAD, O_CLOEXEC, O_DIRECT, O_NONBLOCK } from '../../../src/kernel/fs/uapi.js';
import { PipeInodeInfo, pipeOf, roundPipeSize } from '../../../src/kernel/fs/pipe.js';
import { getUser32 } from '../../../src/kernel/mm/uaccess.js';
import { UBUF } from '../fs/helpers.js';
import { makeIpcEnv, settle, type IpcEnv } from './helpers.js';

const FDS = UBUF + 0x100;
const BUF = UBUF + 0x1000;
const SIGPIPE_BIT = 1n << 12n;

function pipe2(env: IpcEnv, flags = 0): [number, number] {
  expect(env.call(N.SYS_pipe2, FDS, flags)).toBe(0);
  return [getUser32(env.task.mm, FDS)!, getUser32(env.task.mm, FDS + 4)!];
}

describe('pipe ring (fs/pipe.c)', () => {
  it('holds 64 KiB: 1-byte writes merge into pages, then EAGAIN', () => {
    const env = makeIpcEnv();
    const [r, w] = pipe2(env, O_NONBLOCK);
    env.put(new Uint8Array([0x41]), 0x1000);
    let n = 0;
    for (;;) {
      const k = env.call(N.SYS_write, w, BUF, 1);
      if (k < 0) {
        expect(k).toBe(-E.EAGAIN);
        break;
      }
      n += k;
    }
    expect(n).toBe(65536);
    expect(env.call(N.SYS_ioctl, r, FIONREAD, UBUF + 0x200)).toBe(0);
    expect(getUser32(env.task.mm, UBUF + 0x200)).toBe(65536);
    expect(pipeOf(env.task.files.get(r)!)!.occupancy).toBe(16);
  });

  it('keeps writes of at most PIPE_BUF whole: no partial write when only part fits', () => {
    const env = makeIpcEnv();
    const [, w] = pipe2(env, O_NONBLOCK);
    // 15 full pages + 4000 bytes in the 16th: the ring is full, 96 bytes left in the last page.
    for (let i = 0; i < 15; i++) expect(env.call(N.SYS_write, w, BUF, 4096)).toBe(4096);
    expect(env.call(N.SYS_write, w, BUF, 4000)).toBe(4000);
    expect(env.call(N.SYS_write, w, BUF, 200)).toBe(-E.EAGAIN);
    expect(env.call(N.SYS_write, w, BUF, 96)).toBe(96);
    // A large write may be split: nothing fits now, so EAGAIN; after draining, partial.
    expect(env.call(N.SYS_write, w, BUF, 10000)).toBe(-E.EAGAIN);
  });

  it('splits a large nonblocking write at the capacity', () => {
    const env = makeIpcEnv();
    const [, w] = pipe2(env, O_NONBLOCK);
    expect(env.call(N.SYS_write, w, BUF, 100000)).toBe(65536);
  });

  it('reads what is there, EOF after the last writer, EAGAIN when empty and nonblocking', () => {
    const env = makeIpcEnv();
    const [r, w] = pipe2(env, O_NONBLOCK);
    env.str('hello world', 0x1000);
    expect(env.call(N.SYS_write, w, BUF, 11)).toBe(11);
    expect(env.call(N.SYS_read, r, UBUF + 0x8000, 5)).toBe(5);
    expect(Buffer.from(env.get(UBUF + 0x8000, 5)).toString()).toBe('hello');
    expect(env.call(N.SYS_read, r, UBUF + 0x8000, 100)).toBe(6);
    expect(env.call(N.SYS_read, r, UBUF + 0x8000, 100)).toBe(-E.EAGAIN);
    // dup keeps a writer alive; closing both gives EOF.
    const w2 = env.call(N.SYS_dup, w);
    expect(env.call(N.SYS_close, w)).toBe(0);
    expect(env.call(N.SYS_read, r, UBUF + 0x8000, 100)).toBe(-E.EAGAIN);
    expect(env.call(N.SYS_close, w2)).toBe(0);
    expect(env.call(N.SYS_read, r, UBUF + 0x8000, 100)).toBe(0);
  });

  it('blocks a reader until a writer writes (wake-up through the wait queue)', async () => {
    const env = makeIpcEnv();
    const [r, w] = pipe2(env);
    const p = env.sys(N.SYS_read, r, UBUF + 0x8000, 100);
    expect(p).toBeInstanceOf(Promise);
    let done: number | null = null;
    void (p as Promise<number>).then((v) => (done = v));
    await settle();
    expect(done).toBeNull();
    env.str('ping', 0x1000);
    expect(env.call(N.SYS_write, w, BUF, 4)).toBe(4);
    expect(await p).toBe(4);
  });

  it('a blocked reader sees EOF when the writer closes', async () => {
    const env = makeIpcEnv();
    const [r, w] = pipe2(env);
    const p = env.sys(N.SYS_read, r, UBUF + 0x8000, 100) as Promise<number>;
    await settle();
    env.call(N.SYS_close, w);
    expect(await p).toBe(0);
  });

  it('a signal ends a blocked read with -ERESTARTSYS, consuming nothing', async () => {
    const env = makeIpcEnv();
    const [r] = pipe2(env);
    const p = env.sys(N.SYS_read, r, UBUF + 0x8000, 100) as Promise<number>;
    await settle();
    env.interrupt(env.task);
    expect(await p).toBe(-E.ERESTARTSYS);
  });

  it('a blocked writer interrupted after progress returns the partial count', async () => {
    const env = makeIpcEnv();
    const [, w] = pipe2(env);
    const p = env.sys(N.SYS_write, w, BUF, 100000) as Promise<number>;
    await settle();
    env.interrupt(env.task);
    expect(await p).toBe(65536);
  });

  it('a blocked writer is woken by a reader in another task', async () => {
    const env = makeIpcEnv();
    const [r, w] = pipe2(env);
    const p = env.sys(N.SYS_write, w, BUF, 70000) as Promise<number>;
    await settle();
    const reader = env.sibling();
    env.kernel.current = reader;
    expect(env.call(N.SYS_read, r, UBUF + 0x20000, 65536)).toBe(65536);
    env.kernel.current = env.task;
    expect(await p).toBe(70000);
    expect(env.call(N.SYS_read, r, UBUF + 0x20000, 65536)).toBe(70000 - 65536);
  });

  it('writing without readers raises SIGPIPE and fails with EPIPE', () => {
    const env = makeIpcEnv();
    const [r, w] = pipe2(env);
    env.call(N.SYS_close, r);
    expect(env.call(N.SYS_write, w, BUF, 1)).toBe(-E.EPIPE);
    expect(env.task.pending & SIGPIPE_BIT).toBe(SIGPIPE_BIT);
  });

  it('F_SETPIPE_SZ rounds to a power-of-two number of pages; EBUSY, EPERM', () => {
    const env = makeIpcEnv();
    const [r, w] = pipe2(env, O_NONBLOCK);
    expect(env.call(N.SYS_fcntl, r, F_GETPIPE_SZ)).toBe(65536);
    expect(env.call(N.SYS_fcntl, w, F_SETPIPE_SZ, 1)).toBe(4096);
    expect(env.call(N.SYS_fcntl, w, F_SETPIPE_SZ, 5000)).toBe(8192);
    expect(env.call(N.SYS_fcntl, w, F_SETPIPE_SZ, 3 * 4096 + 1)).toBe(16384);
    expect(env.call(N.SYS_write, w, BUF, 16384)).toBe(16384);
    expect(env.call(N.SYS_fcntl, w, F_SETPIPE_SZ, 8192)).toBe(-E.EBUSY);
    expect(env.call(N.SYS_fcntl, w, F_SETPIPE_SZ, 2 << 20)).toBe(2 << 20); // root may exceed pipe-max-size
    expect(env.call(N.SYS_read, r, UBUF + 0x20000, 20000)).toBe(16384);
    const user = makeIpcEnv({ uid: 1000 });
    const [, uw] = pipe2(user);
    expect(user.call(N.SYS_fcntl, uw, F_SETPIPE_SZ, 1 << 20)).toBe(1 << 20);
    expect(user.call(N.SYS_fcntl, uw, F_SETPIPE_SZ, 2 << 20)).toBe(-E.EPERM);
    expect(roundPipeSize(2 ** 31 + 1)).toBe(0);
    // Not a pipe.
    expect(env.call(N.SYS_fcntl, 1, F_GETPIPE_SZ)).toBe(-E.EBADF);
  });

  it('keeps data in order across a resize', () => {
    const p = new PipeInodeInfo();
    p.head = 20;
    p.tail = 18;
    p.bufs[18 % 16] = { page: new Uint8Array(4096).fill(1), offset: 0, len: 10, canMerge: true, packet: false };
    p.bufs[19 % 16] = { page: new Uint8Array(4096).fill(2), offset: 0, len: 20, canMerge: true, packet: false };
    expect(p.resize(1)).toBe(-E.EBUSY);
    expect(p.resize(2)).toBe(0);
    expect(p.tailBuf()!.page[0]).toBe(1);
    expect(p.bytes).toBe(30);
  });

  it('O_DIRECT: each write is a packet; a short read discards the rest of it', () => {
    const env = makeIpcEnv();
    const [r, w] = pipe2(env, O_DIRECT | O_NONBLOCK);
    env.str('abcdefgh', 0x1000);
    env.call(N.SYS_write, w, BUF, 3);
    env.call(N.SYS_write, w, BUF + 3, 5);
    expect(env.call(N.SYS_read, r, UBUF + 0x8000, 2)).toBe(2);
    expect(env.call(N.SYS_read, r, UBUF + 0x8000, 100)).toBe(5);
    expect(Buffer.from(env.get(UBUF + 0x8000, 5)).toString()).toBe('defgh');
  });

  it('pipe2 flags: O_CLOEXEC marks both fds; unknown flags are EINVAL', () => {
    const env = makeIpcEnv();
    const [r, w] = pipe2(env, O_CLOEXEC);
    expect(env.task.files.getCloexec(r) && env.task.files.getCloexec(w)).toBe(true);
    expect(env.call(N.SYS_pipe2, FDS, 0x1000000)).toBe(-E.EINVAL);
    expect(env.call(N.SYS_lseek, r, 0, 0)).toBe(-E.ESPIPE);
  });

  it('readers and writers follow fork (fd table clone) and close', () => {
    const env = makeIpcEnv();
    const [r, w] = pipe2(env, O_NONBLOCK);
    const pipe = pipeOf(env.task.files.get(r)!)!;
    const child = env.task.files.clone();
    expect(pipe.readers).toBe(1); // one open file description per end, shared by both tables
    env.call(N.SYS_close, w);
    expect(pipe.writers).toBe(1); // the child's copy still holds the write end
    child.closeAll();
    expect(pipe.writers).toBe(0);
    expect(env.call(N.SYS_read, r, UBUF + 0x8000, 1)).toBe(0);
  });
});
