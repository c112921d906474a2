import { describe, expect, it } from 'vitest';
import * as N from '../../../src/kernel/syscall/numbers.js';
import * as E from '../../../src/kernel/errno.js';
import { AT_FDCWD, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, S_IFIFO } from '../../../src/kernel/fs/uapi.js';
import { fifoPipe } from '../../../src/kernel/fs/fifo.js';
import { fsSyscalls } from '../../../src/kernel/fs/syscalls.js';
import { UBUF } from '../fs/helpers.js';
import { makeIpcEnv, settle } from './helpers.js';

function mkfifo(env: ReturnType<typeof makeIpcEnv>): number {
  const path = env.str('/tmp/f', 0);
  expect(env.call(N.SYS_mknodat, AT_FDCWD, path, S_IFIFO | 0o600, 0)).toBe(0);
  return path;
}

describe('FIFO open rules (fifo_open)', () => {
  it('O_WRONLY|O_NONBLOCK without a reader is ENXIO; O_RDONLY|O_NONBLOCK opens at once', () => {
    const env = makeIpcEnv();
    const path = mkfifo(env);
    expect(env.call(N.SYS_openat, AT_FDCWD, path, O_WRONLY | O_NONBLOCK)).toBe(-E.ENXIO);
    const r = env.call(N.SYS_openat, AT_FDCWD, path, O_RDONLY | O_NONBLOCK);
    expect(r).toBeGreaterThanOrEqual(3);
    // No writer ever: reads give EOF, not EAGAIN.
    expect(env.call(N.SYS_read, r, UBUF + 0x8000, 10)).toBe(0);
    const w = env.call(N.SYS_openat, AT_FDCWD, path, O_WRONLY | O_NONBLOCK);
    expect(w).toBeGreaterThan(r);
    env.str('data', 0x1000);
    expect(env.call(N.SYS_write, w, UBUF + 0x1000, 4)).toBe(4);
    expect(env.call(N.SYS_read, r, UBUF + 0x8000, 10)).toBe(4);
  });

  it('O_RDWR never blocks and counts as both ends', () => {
    const env = makeIpcEnv();
    const path = mkfifo(env);
    const fd = env.call(N.SYS_openat, AT_FDCWD, path, O_RDWR);
    env.str('x', 0x1000);
    expect(env.call(N.SYS_write, fd, UBUF + 0x1000, 1)).toBe(1);
    expect(env.call(N.SYS_read, fd, UBUF + 0x8000, 1)).toBe(1);
  });

  it('a blocking O_RDONLY waits for a writer; a blocking O_WRONLY is released by it', async () => {
    const env = makeIpcEnv();
    const path = mkfifo(env);
    const pr = env.sys(N.SYS_openat, AT_FDCWD, path, O_RDONLY);
    expect(pr).toBeInstanceOf(Promise);
    let got: number | null = null;
    void (pr as Promise<number>).then((v) => (got = v));
    await settle();
    expect(got).toBeNull();
    const other = env.sibling({ shareFiles: false });
    const wr = fsSyscalls[N.SYS_openat]!(other, AT_FDCWD, path, O_WRONLY, 0, 0, 0);
    expect(typeof wr).toBe('number'); // a reader exists: no wait
    expect(await pr).toBeGreaterThanOrEqual(3);
  });

  it('an interrupted blocking open undoes its count and frees the pipe', async () => {
    const env = makeIpcEnv();
    const path = mkfifo(env);
    const pw = env.sys(N.SYS_openat, AT_FDCWD, path, O_WRONLY) as Promise<number>;
    await settle();
    const path2 = env.rootFs.lookup('/tmp/f');
    if (typeof path2 === 'number') throw new Error('lookup');
    expect(fifoPipe(path2.dentry.inode)!.writers).toBe(1);
    env.interrupt(env.task);
    expect(await pw).toBe(-E.ERESTARTSYS);
    expect(fifoPipe(path2.dentry.inode)).toBeNull();
    expect(env.task.files.openFds()).toEqual([0, 1, 2]);
  });
});
