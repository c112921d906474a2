import { describe, expect, it } from 'vitest';
import * as N from '../../../src/kernel/syscall/numbers.js';
import * as E from '../../../src/kernel/errno.js';
import { AT_FDCWD, O_RDONLY, O_CREAT, O_WRONLY } from '../../../src/kernel/fs/uapi.js';
import { UBUF, makeEnv } from './helpers.js';

const BUF = UBUF + 0x80000;

describe('/proc', () => {
  it('self, exe, fd links, cwd', () => {
    const env = makeEnv();
    env.rootFs.addFile('/bin/prog', new Uint8Array([0x7f, 0x45, 0x4c, 0x46]), 0o755);
    env.task.exePath = '/bin/prog';
    const rl = (p: string): string | number => {
      const n = env.call(N.SYS_readlinkat, AT_FDCWD, env.str(p), BUF, 200);
      return n < 0 ? n : Buffer.from(env.get(BUF, n)).toString('latin1');
    };
    expect(rl('/proc/self')).toBe('1');
    expect(rl('/proc/self/exe')).toBe('/bin/prog');
    expect(rl('/proc/1/exe')).toBe('/bin/prog');
    expect(rl('/proc/2/exe')).toBe(-E.ENOENT);
    expect(rl('/proc/self/cwd')).toBe('/');
    const fd = env.call(N.SYS_openat, AT_FDCWD, env.str('/tmp/f'), O_CREAT | O_WRONLY, 0o644);
    expect(rl(`/proc/self/fd/${fd}`)).toBe('/tmp/f');
    expect(rl('/proc/self/fd/1')).toMatch(/^pipe:\[\d+\]$/);
    expect(rl('/proc/self/fd/99')).toBe(-E.ENOENT);
    expect(rl('/dev/fd')).toBe('/proc/self/fd');
    // open through the exe link reads the program
    const efd = env.call(N.SYS_openat, AT_FDCWD, env.str('/proc/self/exe'), O_RDONLY, 0);
    expect(env.call(N.SYS_read, efd, BUF, 10)).toBe(4);
    // opening /proc/self/fd/N reopens the file itself (a magic link), even after unlink
    expect(env.call(N.SYS_unlinkat, AT_FDCWD, env.str('/tmp/f'), 0)).toBe(0);
    expect(rl(`/proc/self/fd/${fd}`)).toBe('/tmp/f (deleted)');
    const again = env.call(N.SYS_openat, AT_FDCWD, env.str(`/proc/self/fd/${fd}`), O_RDONLY, 0);
    expect(again).toBeGreaterThan(2);
    // after close, the link is gone
    env.call(N.SYS_close, fd);
    expect(rl(`/proc/self/fd/${fd}`)).toBe(-E.ENOENT);
    // /proc is read-only for creation
    expect(env.call(N.SYS_openat, AT_FDCWD, env.str('/proc/x'), O_CREAT | O_WRONLY, 0o644)).toBeLessThan(0);
  });
});
