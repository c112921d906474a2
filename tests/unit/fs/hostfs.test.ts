import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as N from '../../../src/kernel/syscall/numbers.js';
import * as E from '../../../src/kernel/errno.js';
import { AT_FDCWD, O_CREAT, O_DIRECTORY, O_RDONLY, O_WRONLY } from '../../../src/kernel/fs/uapi.js';
import { UBUF, makeEnv, type TestEnv } from './helpers.js';

const BUF = UBUF + 0x80000;
let host: string;
let outside: string;

/** Read a whole guest file through open/read; returns errno (negative) or the text. */
function readAll(env: TestEnv, p: string): string | number {
  const fd = env.call(N.SYS_openat, AT_FDCWD, env.str(p, 0), O_RDONLY, 0);
  if (fd < 0) return fd;
  const n = env.call(N.SYS_read, fd, BUF, 4096);
  env.call(N.SYS_close, fd);
  if (n < 0) return n;
  return Buffer.from(env.get(BUF, n)).toString('latin1');
}

function listDir(env: TestEnv, p: string): string[] {
  const fd = env.call(N.SYS_openat, AT_FDCWD, env.str(p, 0), O_RDONLY | O_DIRECTORY, 0);
  expect(fd).toBeGreaterThanOrEqual(0);
  const names: string[] = [];
  for (;;) {
    const n = env.call(N.SYS_getdents64, fd, BUF, 4096);
    expect(n).toBeGreaterThanOrEqual(0);
    if (n === 0) break;
    const b = env.get(BUF, n);
    const v = new DataView(b.buffer);
    for (let off = 0; off < n;) {
      const rl = v.getUint16(off + 16, true);
      const nameEnd = b.indexOf(0, off + 19);
      names.push(Buffer.from(b.subarray(off + 19, nameEnd)).toString('latin1'));
      off += rl;
    }
  }
  env.call(N.SYS_close, fd);
  return names;
}

beforeAll(() => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'labvisor-hostfs-'));
  host = path.join(base, 'root');
  outside = path.join(base, 'secret');
  fs.mkdirSync(host);
  fs.writeFileSync(outside, 'HOST SECRET');
  fs.mkdirSync(path.join(host, 'lib'));
  fs.writeFileSync(path.join(host, 'lib', 'libc.so.6'), 'LIBC');
  fs.symlinkSync('/etc/passwd', path.join(host, 'passwd_abs'));
  fs.symlinkSync('../secret', path.join(host, 'secret_rel'));
  fs.symlinkSync('../../../../../../..' + outside, path.join(host, 'lib', 'deep_rel'));
  fs.symlinkSync(outside, path.join(host, 'secret_abs'));
  fs.symlinkSync('/', path.join(host, 'slash'));
  fs.symlinkSync('..', path.join(host, 'lib', 'up'));
  fs.symlinkSync('libc.so.6', path.join(host, 'lib', 'libc.so'));
});

afterAll(() => {
  fs.rmSync(path.dirname(host), { recursive: true, force: true });
});

describe('hostfs (-L) confinement and union', () => {
  it('shows host files read-only under /, in-memory entries win', () => {
    const env = makeEnv({ hostLibDir: host });
    expect(readAll(env, '/lib/libc.so.6')).toBe('LIBC');
    expect(readAll(env, '/lib/libc.so')).toBe('LIBC'); // relative host symlink, walked in the guest
    const names = listDir(env, '/');
    expect(names).toEqual(expect.arrayContaining(['.', '..', 'tmp', 'dev', 'proc', 'lib', 'passwd_abs']));
    expect(new Set(names).size).toBe(names.length);
    expect(env.call(N.SYS_openat, AT_FDCWD, env.str('/lib/new', 0), O_CREAT | O_WRONLY, 0o644)).toBe(-E.EROFS);
    expect(env.call(N.SYS_openat, AT_FDCWD, env.str('/lib/libc.so.6', 0), O_WRONLY, 0)).toBe(-E.EROFS);
    expect(env.call(N.SYS_unlinkat, AT_FDCWD, env.str('/lib/libc.so.6', 0), 0)).toBe(-E.EROFS);
    expect(env.call(N.SYS_mkdirat, AT_FDCWD, env.str('/lib/d', 0), 0o755)).toBe(-E.EROFS);
    // The in-memory tree still takes new files at the top level, shadowing nothing.
    expect(env.call(N.SYS_openat, AT_FDCWD, env.str('/newfile', 0), O_CREAT | O_WRONLY, 0o644)).toBeGreaterThan(2);
    // addFile into a host-only directory copies the directory up; host files stay visible.
    env.rootFs.addFile('/lib/extra.so', new TextEncoder().encode('EXTRA'), 0o644);
    expect(readAll(env, '/lib/extra.so')).toBe('EXTRA');
    expect(readAll(env, '/lib/libc.so.6')).toBe('LIBC');
    expect(listDir(env, '/lib')).toEqual(expect.arrayContaining(['extra.so', 'libc.so.6', 'libc.so']));
  });

  it('host symlinks never reach host files outside the directory', () => {
    const env = makeEnv({ hostLibDir: host });
    for (const p of [
      '/passwd_abs',
      '/secret_rel',
      '/secret_abs',
      '/lib/deep_rel',
      '/slash/etc/passwd',
      '/lib/up/secret_rel',
    ]) {
      const r = readAll(env, p);
      expect(r, p).not.toBe('HOST SECRET');
      expect(r, p).toBe(-E.ENOENT);
    }
    // readlink shows the body; following it stays inside the guest.
    const n = env.call(N.SYS_readlinkat, AT_FDCWD, env.str('/passwd_abs', 0), BUF, 100);
    expect(Buffer.from(env.get(BUF, n)).toString()).toBe('/etc/passwd');
    // A guest /etc/passwd is what the absolute link finds.
    env.rootFs.addFile('/etc/passwd', new TextEncoder().encode('root:x:0:0::/root:/bin/sh\n'), 0o644);
    expect(readAll(env, '/passwd_abs')).toBe('root:x:0:0::/root:/bin/sh\n');
    expect(readAll(env, '/slash/lib/libc.so.6')).toBe('LIBC');
    // ".." through a host symlink to ".." stops at the guest root.
    expect(readAll(env, '/lib/up/../../lib/up/lib/libc.so.6')).toBe('LIBC');
  });

  it('no host directory: nothing of the host is visible', () => {
    const env = makeEnv();
    expect(readAll(env, '/etc/passwd')).toBe(-E.ENOENT);
    expect(readAll(env, '/lib/libc.so.6')).toBe(-E.ENOENT);
    expect(listDir(env, '/').sort()).toEqual(['.', '..', 'dev', 'proc', 'tmp']);
  });
});
