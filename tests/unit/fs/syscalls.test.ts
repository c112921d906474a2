import { describe, expect, it } from 'vitest';
import * as N from '../../../src/kernel/syscall/numbers.js';
import * as E from '../../../src/kernel/errno.js';
import {
  AT_FDCWD,
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  O_APPEND,
  SEEK_END,
  SEEK_SET,
  SEEK_HOLE,
  SEEK_DATA,
} from '../../../src/kernel/fs/uapi.js';
import { UBUF, makeEnv, text } from './helpers.js';

const BUF = UBUF + 0x80000;

describe('read/write/open/close on the in-memory root', () => {
  it('writes to stdout with one stream write', () => {
    const env = makeEnv();
    const p = env.str('hello, world\n', 0);
    expect(env.call(N.SYS_write, 1, p, 13)).toBe(13);
    expect(env.out.length).toBe(1);
    expect(text(env.out)).toBe('hello, world\n');
    expect(env.call(N.SYS_write, 2, p, 5)).toBe(5);
    expect(text(env.err)).toBe('hello');
  });

  it('creates, writes, reads back, seeks', () => {
    const env = makeEnv();
    const path = env.str('/tmp/a.txt', 0);
    const fd = env.call(N.SYS_openat, AT_FDCWD, path, O_CREAT | O_RDWR | O_EXCL, 0o644);
    expect(fd).toBe(3);
    const data = env.str('abcdefgh', 100);
    expect(env.call(N.SYS_write, fd, data, 8)).toBe(8);
    expect(env.call(N.SYS_lseek, fd, 2, SEEK_SET)).toBe(2);
    expect(env.call(N.SYS_read, fd, BUF, 100)).toBe(6);
    expect(Buffer.from(env.get(BUF, 6)).toString()).toBe('cdefgh');
    expect(env.call(N.SYS_read, fd, BUF, 100)).toBe(0);
    expect(env.call(N.SYS_lseek, fd, 0, SEEK_END)).toBe(8);
    expect(env.call(N.SYS_lseek, fd, -1, SEEK_SET)).toBe(-E.EINVAL);
    expect(env.call(N.SYS_lseek, fd, 3, SEEK_DATA)).toBe(3);
    expect(env.call(N.SYS_lseek, fd, 3, SEEK_HOLE)).toBe(8);
    expect(env.call(N.SYS_lseek, fd, 8, SEEK_DATA)).toBe(-E.ENXIO);
    expect(env.call(N.SYS_pread64, fd, BUF, 3, 1)).toBe(3);
    expect(Buffer.from(env.get(BUF, 3)).toString()).toBe('bcd');
    expect(env.call(N.SYS_close, fd)).toBe(0);
    expect(env.call(N.SYS_close, fd)).toBe(-E.EBADF);
    // O_EXCL on an existing file
    expect(env.call(N.SYS_openat, AT_FDCWD, path, O_CREAT | O_EXCL | O_WRONLY, 0o644)).toBe(-E.EEXIST);
    // O_TRUNC + O_APPEND
    const fd2 = env.call(N.SYS_openat, AT_FDCWD, path, O_WRONLY | O_TRUNC | O_APPEND, 0);
    expect(env.call(N.SYS_write, fd2, data, 3)).toBe(3);
    expect(env.call(N.SYS_lseek, fd2, 0, SEEK_SET)).toBe(0);
    expect(env.call(N.SYS_write, fd2, data, 2)).toBe(2);
    expect(env.rootFs.lookup('/tmp/a.txt')).not.toBeTypeOf('number');
    const st = BUF + 0x1000;
    expect(env.call(N.SYS_newfstatat, AT_FDCWD, path, st, 0)).toBe(0);
    const v = new DataView(env.get(st, 128).buffer);
    expect(v.getUint32(16, true)).toBe(0o100644);
    expect(Number(v.getBigInt64(48, true))).toBe(5);
  });

  it('stdio errors: write to stdin, read from stdout, bad fd, EFAULT', () => {
    const env = makeEnv();
    expect(env.call(N.SYS_write, 0, UBUF, 1)).toBe(-E.EBADF);
    expect(env.call(N.SYS_read, 1, UBUF, 1)).toBe(-E.EBADF);
    expect(env.call(N.SYS_write, 9, UBUF, 1)).toBe(-E.EBADF);
    expect(env.call(N.SYS_write, 1, 0x1000, 4)).toBe(-E.EFAULT);
    expect(env.call(N.SYS_lseek, 1, 0, SEEK_SET)).toBe(-E.ESPIPE);
    expect(env.call(N.SYS_pread64, 0, UBUF, 1, 0)).toBe(-E.ESPIPE);
  });

  it('stdin read sleeps until input arrives', async () => {
    const env = makeEnv();
    const r = env.sys(N.SYS_read, 0, BUF, 100);
    expect(r).toBeInstanceOf(Promise);
    env.stdin.push(Buffer.from('input\n'));
    expect(await r).toBe(6);
    expect(Buffer.from(env.get(BUF, 6)).toString()).toBe('input\n');
    env.stdin.end();
    expect(env.sys(N.SYS_read, 0, BUF, 100)).toBe(0);
  });

  it('open errnos: ENOENT, ENOTDIR, EISDIR, ENAMETOOLONG, trailing slash', () => {
    const env = makeEnv();
    const o = (p: string, flags: number, mode = 0o644): number =>
      env.call(N.SYS_openat, AT_FDCWD, env.str(p, 0), flags, mode);
    expect(o('/nonexistent', O_RDONLY)).toBe(-E.ENOENT);
    expect(o('/dev/null/x', O_RDONLY)).toBe(-E.ENOTDIR);
    expect(o('/tmp', O_WRONLY)).toBe(-E.EISDIR);
    expect(o('/tmp', O_CREAT | O_WRONLY)).toBe(-E.EISDIR);
    expect(o('/tmp/newfile/', O_CREAT | O_WRONLY)).toBe(-E.EISDIR);
    expect(o('/dev/null/', O_RDONLY)).toBe(-E.ENOTDIR);
    expect(o('/tmp/' + 'x'.repeat(256), O_CREAT | O_WRONLY)).toBe(-E.ENAMETOOLONG);
    expect(o('/dev/null', O_RDONLY | O_DIRECTORY)).toBe(-E.ENOTDIR);
    expect(o('', O_RDONLY)).toBe(-E.ENOENT);
    expect(o('/tmp/', O_RDONLY | O_DIRECTORY)).toBeGreaterThanOrEqual(3);
  });

  it('/dev/null, /dev/zero, /dev/full, /dev/urandom', () => {
    const env = makeEnv();
    const o = (p: string, flags: number): number => env.call(N.SYS_openat, AT_FDCWD, env.str(p, 0), flags, 0);
    const nul = o('/dev/null', O_RDWR);
    expect(env.call(N.SYS_read, nul, BUF, 10)).toBe(0);
    expect(env.call(N.SYS_write, nul, BUF, 10)).toBe(10);
    const zero = o('/dev/zero', O_RDONLY);
    env.put(new Uint8Array(16).fill(7), 0x80000);
    expect(env.call(N.SYS_read, zero, BUF, 16)).toBe(16);
    expect([...env.get(BUF, 16)]).toEqual(new Array(16).fill(0));
    const full = o('/dev/full', O_WRONLY);
    expect(env.call(N.SYS_write, full, BUF, 1)).toBe(-E.ENOSPC);
    const ur = o('/dev/urandom', O_RDONLY);
    expect(env.call(N.SYS_read, ur, BUF, 64)).toBe(64);
    expect(env.get(BUF, 64).some((b) => b !== 0)).toBe(true);
  });

  it('mkdir, rmdir, unlink, rename, link, symlink, getcwd/chdir', () => {
    const env = makeEnv();
    const s = (p: string, off = 0): number => env.str(p, off);
    expect(env.call(N.SYS_mkdirat, AT_FDCWD, s('/tmp/d'), 0o777)).toBe(0);
    expect(env.call(N.SYS_mkdirat, AT_FDCWD, s('/tmp/d'), 0o777)).toBe(-E.EEXIST);
    expect(env.call(N.SYS_mkdirat, AT_FDCWD, s('/tmp/d/sub/'), 0o777)).toBe(0);
    expect(env.call(N.SYS_unlinkat, AT_FDCWD, s('/tmp/d'), AT_REMOVEDIR)).toBe(-E.ENOTEMPTY);
    expect(env.call(N.SYS_unlinkat, AT_FDCWD, s('/tmp/d'), 0)).toBe(-E.EISDIR);
    expect(env.call(N.SYS_chdir, s('/tmp/d/sub'))).toBe(0);
    expect(env.call(N.SYS_getcwd, BUF, 100)).toBe(11);
    expect(Buffer.from(env.get(BUF, 11)).toString()).toBe('/tmp/d/sub\0');
    expect(env.call(N.SYS_getcwd, BUF, 5)).toBe(-E.ERANGE);
    const fd = env.call(N.SYS_openat, AT_FDCWD, s('f'), O_CREAT | O_WRONLY, 0o600);
    expect(fd).toBeGreaterThan(2);
    expect(env.call(N.SYS_linkat, AT_FDCWD, s('f'), AT_FDCWD, s('g', 100), 0)).toBe(0);
    const st = BUF + 0x1000;
    expect(env.call(N.SYS_fstat, fd, st)).toBe(0);
    expect(new DataView(env.get(st, 128).buffer).getUint32(20, true)).toBe(2);
    expect(env.call(N.SYS_renameat2, AT_FDCWD, s('g'), AT_FDCWD, s('/tmp/h', 100), 0)).toBe(0);
    expect(env.call(N.SYS_symlinkat, s('/tmp/h'), AT_FDCWD, s('/tmp/link', 100))).toBe(0);
    expect(env.call(N.SYS_readlinkat, AT_FDCWD, s('/tmp/link'), BUF, 100)).toBe(6);
    expect(Buffer.from(env.get(BUF, 6)).toString()).toBe('/tmp/h');
    expect(env.call(N.SYS_readlinkat, AT_FDCWD, s('/tmp/h'), BUF, 100)).toBe(-E.EINVAL);
    expect(env.call(N.SYS_newfstatat, AT_FDCWD, s('/tmp/link'), st, AT_SYMLINK_NOFOLLOW)).toBe(0);
    expect(new DataView(env.get(st, 128).buffer).getUint32(16, true)).toBe(0o120777);
    // rmdir of the cwd, then getcwd is ENOENT
    expect(env.call(N.SYS_unlinkat, AT_FDCWD, s('f'), 0)).toBe(0);
    expect(env.call(N.SYS_unlinkat, AT_FDCWD, s('/tmp/d/sub'), AT_REMOVEDIR)).toBe(0);
    expect(env.call(N.SYS_getcwd, BUF, 100)).toBe(-E.ENOENT);
    // the open file still works after unlink
    expect(env.call(N.SYS_write, fd, s('xyz', 200), 3)).toBe(3);
    // rename a dir into its own subtree
    expect(env.call(N.SYS_mkdirat, AT_FDCWD, s('/tmp/p'), 0o777)).toBe(0);
    expect(env.call(N.SYS_mkdirat, AT_FDCWD, s('/tmp/p/q'), 0o777)).toBe(0);
    expect(env.call(N.SYS_renameat2, AT_FDCWD, s('/tmp/p'), AT_FDCWD, s('/tmp/p/q/r', 100), 0)).toBe(-E.EINVAL);
    expect(env.call(N.SYS_renameat2, AT_FDCWD, s('/tmp/p/q'), AT_FDCWD, s('/tmp/q2', 100), 0)).toBe(0);
    expect(env.call(N.SYS_chdir, s('/tmp/q2'))).toBe(0);
    expect(env.call(N.SYS_getcwd, BUF, 100)).toBe(8);
  });
});

describe('ppoll', () => {
  it('reports stdout writable at once and waits for stdin input', async () => {
    const env = makeEnv();
    const pfd = (fd: number, events: number): Uint8Array => {
      const b = new Uint8Array(8);
      const v = new DataView(b.buffer);
      v.setInt32(0, fd, true);
      v.setUint16(4, events, true);
      return b;
    };
    const fds = env.put(pfd(1, 4 /* POLLOUT */), 0x100);
    expect(env.call(N.SYS_ppoll, fds, 1, 0)).toBe(1);
    expect(new DataView(env.get(fds, 8).buffer).getUint16(6, true)).toBe(4);
    const zero = env.put(new Uint8Array(16), 0x200);
    const inp = env.put(pfd(0, 1 /* POLLIN */), 0x100);
    expect(env.call(N.SYS_ppoll, inp, 1, zero)).toBe(0); // nothing buffered, zero timeout
    const r = env.sys(N.SYS_ppoll, inp, 1, 0);
    expect(r).toBeInstanceOf(Promise);
    env.stdin.push(Buffer.from('x'));
    expect(await r).toBe(1);
    expect(new DataView(env.get(inp, 8).buffer).getUint16(6, true)).toBe(1);
    const bad = env.put(pfd(77, 1), 0x100);
    expect(env.call(N.SYS_ppoll, bad, 1, 0)).toBe(1);
    expect(new DataView(env.get(bad, 8).buffer).getUint16(6, true)).toBe(0x20); // POLLNVAL
  });
});
